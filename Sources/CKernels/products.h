/* Internal to CKernels: the threaded product runner dispatch.c provides for products.c. */
#ifndef SWIFT_DISTILL_PRODUCTS_H
#define SWIFT_DISTILL_PRODUCTS_H

/* C (m×n, rows n apart) += A·B (= when !accumulate: C is only written) with the chosen kernels,
   split across the worker thread when large. kind 0: the tiles, A[r,p] = a[r·rs + p·cs], B k×n,
   which can also add a bias row (when !accumulate; NULL for none) and store through a ReLU;
   kind 1: dot products of A's rows (m×k) with B's rows (n×k), relu and bias 0. `block`: rows per
   unit of the split (6 for tiles, 4 for dots). */
void sd_products(int kind, const float *a, const float *b, float *c, long m, long k, long n, long rs, long cs,
                 long block, int accumulate, int relu, const float *bias);

/* Rows per strip of the listed tiles, as in the dense tiles. (Four rows share more zeros, but
   in a CartPole run the listed products took a larger share of the time with four than with six.) */
#define SD_LISTED_ROWS 6

/* C += A·B on the tiles where strip s (rows 6s..6s+5, SD_LISTED_ROWS = 6) of A is zero outside its inner indices
   lists[s·lstride + 0 .. counts[s]); scratch: range, 2 longs per strip, and packed, lstride·SD_LISTED_ROWS
   floats per strip. C is added to or, when !accumulate, the chains start from the bias (+0 when
   NULL); with relu, C is stored through a ReLU at the end. Split like sd_products. */
void sd_listed_products(const float *a, const float *b, float *c, long m, long k, long n, long rs, long cs,
                        const int *lists, long lstride, const long *counts, long *range, float *packed, int relu,
                        int accumulate, const float *bias);

/* C[:, cols[j]] += A·(row j of B) (= when !accumulate) for j < n by dot products (A m×k, B n×k,
   C's rows ldc apart). With strip_rows (else NULL), strip s (rows 4s..4s+3) meets only B's rows
   strip_rows[starts[s] .. starts[s+1]) and leaves its other elements as they were; rows past the
   last whole strip meet all of B. Split like sd_products. */
void sd_dots_to_columns(const float *a, const float *b, float *c, long m, long k, long n, long ldc, const int *cols,
                        int accumulate, const int *strip_rows, const long *starts);

/* C (m×n) += A·B (= when !accumulate, from the bias row or +0 when NULL) with A[r,p] =
   a[ro[r] + co[p]], on this thread with the chosen kernels; n must be a multiple of 16 (of every
   kernel set's vector width). Through a ReLU at the end with relu. */
void sd_gemm_fields(const float *a, const long *ro, const long *co, const float *b, float *c, long m, long k, long n,
                    int accumulate, int relu, const float *bias);

/* sd_gemm_fields (C = A·B + bias) for an A of a ReLU's outputs: each strip of six rows over only
   the inner indices where one of its rows is not ±0 (see kernels_body.h); co consecutive within
   runs of `run`, k a multiple of run; list: k ints of scratch. */
void sd_gemm_fields_sparse(const float *a, const long *ro, const long *co, long run, const float *b, float *c, long m,
                           long k, long n, int relu, const float *bias, int *list);

/* dst (cols×rows) = srcᵀ with the chosen kernels. */
void sd_transpose(const float *src, float *dst, long rows, long cols);

#endif
