/* The numeric kernels, written once for any vector width. Each kernels_<isa>.c includes this file
   after defining SD_ISA (the name suffix), SD_LANES (floats per vector) and SD_TARGET (the clang
   target attribute), so one binary carries every instruction set and dispatch.c picks one at run
   time.

   Every output element is computed in the same order on every instruction set — a product
   C[i,j] is fma(A[i,p], B[p,j], ·) over p = 0, 1, …, k-1; a dot product keeps 8 running lanes and
   reduces them in one fixed tree — so the AVX2 and AVX-512 kernels, and the portable ones where
   the target has FMA (arm64), give the same bits (the test suite checks it). Built with
   -ffp-contract=off: only the explicit fmas fuse. */
#include <math.h>
#include "products.h"
#include <stddef.h>
#include <stdint.h>

/* The fused multiply-add every chain is made of. A set built for CPUs without FMA (the portable
   set on x86-64, where fmaf is a slow libm call) multiplies and adds instead: two roundings per
   term, so its bits differ from the FMA sets' (which agree with each other), at SSE2 speed. */
#ifdef SD_PLAIN_MULTIPLY_ADD
#define SD_VFMA(a, b, c) ((a) * (b) + (c))
#define SD_FMAF(a, b, c) ((a) * (b) + (c))
#else
#define SD_VFMA(a, b, c) __builtin_elementwise_fma(a, b, c)
#define SD_FMAF(a, b, c) fmaf(a, b, c)
#endif

#define SD_CAT2(a, b) a##_##b
#define SD_CAT(a, b) SD_CAT2(a, b)
#define SD_FN(name) SD_CAT(name, SD_ISA)
#define SD_INLINE static inline __attribute__((always_inline)) SD_TARGET

typedef float SD_FN(vec) __attribute__((vector_size(SD_LANES * 4), aligned(4)));
typedef int SD_FN(ivec) __attribute__((vector_size(SD_LANES * 4), aligned(4)));
typedef float SD_FN(v8) __attribute__((vector_size(32), aligned(4)));
#define VEC SD_FN(vec)
#define IVEC SD_FN(ivec)
#define V8 SD_FN(v8)

SD_INLINE VEC SD_FN(splat)(float s) {
    VEC v;
    for (int i = 0; i < SD_LANES; i++) v[i] = s;
    return v;
}

/* max(x, 0) as the ReLU pass computes it: +0 where x < 0, else x (so -0 and NaN stay). */
SD_INLINE VEC SD_FN(relu_vec)(VEC x) {
    const IVEC negative = x < SD_FN(splat)(0.0f);
    return (VEC)((IVEC)x & ~negative);
}

/* How a block of C starts and ends. It starts from C (load), else from the bias row (bias[j], or
   +0 without a bias: C = A·B + b with no fill first, the same bits as filling C with b and
   accumulating, since each chain starts from that value); it is stored through a ReLU when relu. */
typedef struct {
    int load, relu;
    const float *bias;
} SD_FN(ends);
#define ENDS SD_FN(ends)

/* An mr × (nv·SD_LANES) block of C held in registers for the whole k loop: per p, nv loads of
   B's row and mr broadcasts of A feed mr·nv fmas. mr and nv are constants at every call, so the
   accumulator array lives in registers. B's rows are ldb apart, C's ldc. With kidx, step q reads
   B's row kidx[q] - koff and A's column q (A packed to hold only the inner indices where these rows
   are not all zero) instead of both at q. `e` says how the block starts and ends (ENDS above);
   its bias points at the block's first column. */
#define SD_TILE_STEP(pa, pb)                                                                              \
    {                                                                                                      \
        const float *bp = b + (pb) * ldb;                                                                  \
        VEC bv[8];                                                                                         \
        for (int v = 0; v < nv; v++) bv[v] = *(const VEC *)(bp + v * SD_LANES);                            \
        const float *ap = a + (pa) * cs;                                                                   \
        for (int r = 0; r < mr; r++) {                                                                     \
            VEC av = SD_FN(splat)(ap[r * rs]);                                                             \
            for (int v = 0; v < nv; v++) acc[r][v] = SD_VFMA(av, bv[v], acc[r][v]);      \
        }                                                                                                  \
    }
SD_INLINE void SD_FN(tile)(const int mr, const int nv, const float *a, const float *b, float *c,
                           long k, long ldb, long ldc, long rs, long cs, const int *kidx, long koff, ENDS e) {
    VEC acc[6][8];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = e.load ? *(const VEC *)(c + r * ldc + v * SD_LANES)
                        : e.bias ? *(const VEC *)(e.bias + v * SD_LANES) : SD_FN(splat)(0.0f);
    if (kidx)
        for (long q = 0; q < k; q++) SD_TILE_STEP(q, kidx[q] - koff)
    else
        for (long p = 0; p < k; p++) SD_TILE_STEP(p, p)
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) *(VEC *)(c + r * ldc + v * SD_LANES) = e.relu ? SD_FN(relu_vec)(acc[r][v]) : acc[r][v];
}
#undef SD_TILE_STEP

/* Columns from..n-1 of mr rows, fewer than a vector's lanes: one vector per row whose first n-from
   lanes are used (the rest compute 0·0), so each element is the same fma chain as in the tiles,
   held in a register rather than walked through memory. */
SD_INLINE void SD_FN(tail)(const int mr, const float *a, const float *b, float *c, long k, long n, long ldb, long ldc,
                           long rs, long cs, long from, const int *kidx, long koff, ENDS e) {
    const long w = n - from;
    VEC acc[6];
    for (int r = 0; r < mr; r++) {
        acc[r] = SD_FN(splat)(0.0f);
        for (long j = 0; j < w; j++) acc[r][j] = e.load ? c[r * ldc + from + j] : e.bias ? e.bias[from + j] : 0.0f;
    }
    for (long q = 0; q < k; q++) {
        const float *bp = b + (kidx ? kidx[q] - koff : q) * ldb + from;
        VEC bv = SD_FN(splat)(0.0f);
        for (long j = 0; j < w; j++) bv[j] = bp[j];
        const float *ap = a + q * cs;
        for (int r = 0; r < mr; r++) acc[r] = SD_VFMA(SD_FN(splat)(ap[r * rs]), bv, acc[r]);
    }
    for (int r = 0; r < mr; r++) {
        if (e.relu) acc[r] = SD_FN(relu_vec)(acc[r]);
        for (long j = 0; j < w; j++) c[r * ldc + from + j] = acc[r][j];
    }
}

/* `e` for the block from column j. */
SD_INLINE ENDS SD_FN(from_column)(ENDS e, long j) {
    if (e.bias) e.bias += j;
    return e;
}

/* Columns 0..n-1 of mr rows of C. */
SD_INLINE void SD_FN(rows)(const int mr, const float *a, const float *b, float *c, long k, long n, long ldb,
                           long ldc, long rs, long cs, const int *kidx, long koff, ENDS e) {
    long j = 0;
    if (mr == 1)  /* one row (a single observation): many accumulators hide the fma latency */
        for (; j + 8 * SD_LANES <= n; j += 8 * SD_LANES)
            SD_FN(tile)(1, 8, a, b + j, c + j, k, ldb, ldc, rs, cs, kidx, koff, SD_FN(from_column)(e, j));
    for (; j + 2 * SD_LANES <= n; j += 2 * SD_LANES)
        SD_FN(tile)(mr, 2, a, b + j, c + j, k, ldb, ldc, rs, cs, kidx, koff, SD_FN(from_column)(e, j));
    for (; j + SD_LANES <= n; j += SD_LANES)
        SD_FN(tile)(mr, 1, a, b + j, c + j, k, ldb, ldc, rs, cs, kidx, koff, SD_FN(from_column)(e, j));
    if (j < n) SD_FN(tail)(mr, a, b, c, k, n, ldb, ldc, rs, cs, j, kidx, koff, e);
}

/* `rows` for a run-time mr (1–6), each case with its constant. */
SD_INLINE void SD_FN(rows_of)(long mr, const float *a, const float *b, float *c, long k, long n, long ldb, long ldc,
                              long rs, long cs, const int *kidx, long koff, ENDS e) {
    switch (mr) {
    case 6: SD_FN(rows)(6, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    case 5: SD_FN(rows)(5, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    case 4: SD_FN(rows)(4, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    case 3: SD_FN(rows)(3, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    case 2: SD_FN(rows)(2, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    case 1: SD_FN(rows)(1, a, b, c, k, n, ldb, ldc, rs, cs, kidx, koff, e); break;
    default: break;
    }
}

/* Every row of C (m×n), six at a time, over columns 0..n-1. */
SD_INLINE void SD_FN(strips)(const float *a, const float *b, float *c, long m, long k, long n, long ldb, long ldc,
                             long rs, long cs, ENDS e) {
    long i = 0;
    for (; i + 6 <= m; i += 6) SD_FN(rows)(6, a + i * rs, b, c + i * ldc, k, n, ldb, ldc, rs, cs, 0, 0, e);
    SD_FN(rows_of)(m - i, a + i * rs, b, c + i * ldc, k, n, ldb, ldc, rs, cs, 0, 0, e);
}

/* C = max(C, 0) over rows × n (rows ldc apart), as relu_vec. */
SD_INLINE void SD_FN(relu_rows)(float *c, long rows, long n, long ldc) {
    for (long r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        long j = 0;
        for (; j + SD_LANES <= n; j += SD_LANES) *(VEC *)(row + j) = SD_FN(relu_vec)(*(const VEC *)(row + j));
        for (; j < n; j++) row[j] = row[j] < 0 ? 0.0f : row[j];
    }
}

/* Rows of C (rows ldc apart, n wide) set to the bias (+0 when NULL), through a ReLU with relu:
   what a chain with nothing to add stores. */
SD_INLINE void SD_FN(start_rows)(float *c, long rows, long n, long ldc, const float *bias, int relu) {
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < n; j++) {
            const float v = bias ? bias[j] : 0.0f;
            c[r * ldc + j] = relu && v < 0 ? 0.0f : v;
        }
}

/* As `strips`, each strip s of SD_LISTED_ROWS rows over its own inner indices lists[s·lstride + q]
   for q in range[2s] .. range[2s+1] (absolute; koff is subtracted), its values packed in `packed`
   (strip s from s·lstride·SD_LISTED_ROWS, one column of the strip after another): the loop reads
   A at constant offsets from one moving pointer. The chains start and end as e says, a strip
   with nothing to add included. */
SD_INLINE void SD_FN(listed_strips)(const float *packed, const float *b, float *c, long m, long n, long ldb, long ldc,
                                    const int *lists, long lstride, const long *range, long koff, ENDS e) {
    for (long i = 0, s = 0; i < m; i += SD_LISTED_ROWS, s++) {
        const long from = range[2 * s], count = range[2 * s + 1] - from, rows = m - i < SD_LISTED_ROWS ? m - i : SD_LISTED_ROWS;
        if (count == 0) {
            if (!e.load) SD_FN(start_rows)(c + i * ldc, rows, n, ldc, e.bias, e.relu);
            else if (e.relu) SD_FN(relu_rows)(c + i * ldc, rows, n, ldc);
            continue;
        }
        SD_FN(rows_of)(rows, packed + (s * lstride + from) * SD_LISTED_ROWS, b, c + i * ldc, count, n, ldb, ldc, 1,
                       SD_LISTED_ROWS, lists + s * lstride + from, koff, e);
    }
}

/* Columns per packed panel of B, and B's rows per panel (16 KB: half of a 32 KB L1). */
#define SD_PANEL (2 * SD_LANES)
#define SD_PANEL_K (4096 / SD_PANEL)

/* Rows 0..kc-1 of B's SD_PANEL columns from bp (rows n apart) into a contiguous panel. */
SD_INLINE void SD_FN(pack_panel)(float *panel, const float *bp, long kc, long n) {
    for (long p = 0; p < kc; p++)
        for (int v = 0; v < 2; v++) *(VEC *)(panel + p * SD_PANEL + v * SD_LANES) = *(const VEC *)(bp + p * n + v * SD_LANES);
}

/* C (m×n) += A·B (or, when !accumulate, C = A·B + bias, bias NULL meaning 0: C is not read) with
   A[r,p] = a[r·rs + p·cs] (row-major A or, read in place, Aᵀ) and B k×n; with relu, C is stored
   through a ReLU at the end.
   When B outgrows half of L1 and A has rows enough to reuse it, B is copied panel by panel (SD_PANEL_K rows × SD_PANEL columns)
   into a contiguous buffer that stays in L1 while every strip of A passes over it: B read in
   place walks rows n floats apart, and at n = 256 or 512 those rows fall into a handful of L1
   sets and evict each other. Each C element is still one fma chain over p = 0, 1, …, k-1 (the
   tiles store it between panels of k and load it back), so the bits do not change. */
SD_TARGET void SD_FN(sd_gemm_accumulate)(const float *a, const float *b, float *c, long m, long k, long n,
                                         long rs, long cs, int accumulate, int relu, const float *bias) {
    if (m < 12 || n < SD_PANEL || k * n <= SD_PANEL_K * SD_PANEL) {
        const ENDS e = {.load = accumulate, .relu = relu, .bias = bias};
        SD_FN(strips)(a, b, c, m, k, n, n, n, rs, cs, e);
        return;
    }
    float panel[SD_PANEL_K * SD_PANEL] __attribute__((aligned(64)));
    const long full = n / SD_PANEL * SD_PANEL;
    for (long p0 = 0; p0 < k; p0 += SD_PANEL_K) {
        const long kc = k - p0 < SD_PANEL_K ? k - p0 : SD_PANEL_K;
        const float *ap = a + p0 * cs, *bp = b + p0 * n;
        /* the first panel of k starts from C or the bias, later ones from what it stored; the last applies the ReLU */
        const ENDS e = {.load = accumulate || p0 > 0, .relu = relu && p0 + kc >= k, .bias = p0 > 0 ? NULL : bias};
        for (long j = 0; j < full; j += SD_PANEL) {
            SD_FN(pack_panel)(panel, bp + j, kc, n);
            SD_FN(strips)(ap, panel, c + j, m, kc, SD_PANEL, SD_PANEL, n, rs, cs, SD_FN(from_column)(e, j));
        }
        if (full < n) SD_FN(strips)(ap, bp + full, c + full, m, kc, n - full, n, n, rs, cs, SD_FN(from_column)(e, full));
    }
}

/* The tiles over a matrix A that is never built: A[r,p] = a[ro[r] + co[p]]. A convolution's im2col
   matrix is of this form (row r an output position, its field's corner at ro[r] in the images;
   column p a patch index, co[p] from that corner), and so is its transpose, which the weight
   gradient multiplies (ro and co swapped). Reading the images in place saves writing the columns
   and reading them back. The fma chains are those of `tile` over the same A, so the bits are the
   im2col product's. n is a multiple of SD_LANES; B's rows are ldb apart, C's ldc. */
#define SD_FIELD_STEP(p)                                                                                  \
    {                                                                                                      \
        const float *bp = b + (p) * ldb;                                                                   \
        VEC bv[2];                                                                                         \
        for (int v = 0; v < nv; v++) bv[v] = *(const VEC *)(bp + v * SD_LANES);                            \
        const float *ap = a + co[p];                                                                       \
        for (int r = 0; r < mr; r++) {                                                                     \
            VEC av = SD_FN(splat)(ap[at[r]]);                                                              \
            for (int v = 0; v < nv; v++) acc[r][v] = SD_VFMA(av, bv[v], acc[r][v]);                        \
        }                                                                                                  \
    }
SD_INLINE void SD_FN(field_tile)(const int mr, const int nv, const float *a, const long *ro, const long *co,
                                 const float *b, float *c, long k, long ldb, long ldc, const int *list, ENDS e) {
    VEC acc[6][2];
    long at[6];
    for (int r = 0; r < mr; r++) at[r] = ro[r];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = e.load ? *(const VEC *)(c + r * ldc + v * SD_LANES)
                        : e.bias ? *(const VEC *)(e.bias + v * SD_LANES) : SD_FN(splat)(0.0f);
    if (list)  /* only the inner indices listed: the others' terms are exact zeros */
        for (long q = 0; q < k; q++) SD_FIELD_STEP(list[q])
    else
        for (long p = 0; p < k; p++) SD_FIELD_STEP(p)
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) *(VEC *)(c + r * ldc + v * SD_LANES) = e.relu ? SD_FN(relu_vec)(acc[r][v]) : acc[r][v];
}
#undef SD_FIELD_STEP

/* field_tile over columns 0..n-1 of mr rows (over the inner indices `list` when not NULL). */
SD_INLINE void SD_FN(field_rows)(const int mr, const float *a, const long *ro, const long *co, const float *b, float *c,
                                 long k, long n, long ldb, long ldc, const int *list, ENDS e) {
    long j = 0;
    for (; j + 2 * SD_LANES <= n; j += 2 * SD_LANES)
        SD_FN(field_tile)(mr, 2, a, ro, co, b + j, c + j, k, ldb, ldc, list, SD_FN(from_column)(e, j));
    for (; j < n; j += SD_LANES) SD_FN(field_tile)(mr, 1, a, ro, co, b + j, c + j, k, ldb, ldc, list, SD_FN(from_column)(e, j));
}

/* field_rows for a run-time mr (1–6). */
SD_INLINE void SD_FN(field_rows_of)(long mr, const float *a, const long *ro, const long *co, const float *b, float *c,
                                    long k, long n, long ldb, long ldc, const int *list, ENDS e) {
    switch (mr) {
    case 6: SD_FN(field_rows)(6, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    case 5: SD_FN(field_rows)(5, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    case 4: SD_FN(field_rows)(4, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    case 3: SD_FN(field_rows)(3, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    case 2: SD_FN(field_rows)(2, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    case 1: SD_FN(field_rows)(1, a, ro, co, b, c, k, n, ldb, ldc, list, e); break;
    default: break;
    }
}

/* Every row of C (m × n), six at a time. */
SD_INLINE void SD_FN(field_strips)(const float *a, const long *ro, const long *co, const float *b, float *c, long m,
                                   long k, long n, long ldb, long ldc, ENDS e) {
    long i = 0;
    for (; i + 6 <= m; i += 6) SD_FN(field_rows)(6, a, ro + i, co, b, c + i * ldc, k, n, ldb, ldc, NULL, e);
    SD_FN(field_rows_of)(m - i, a, ro + i, co, b, c + i * ldc, k, n, ldb, ldc, NULL, e);
}

/* C (m×n) += A·B (or, when !accumulate, C = A·B + bias) with A[r,p] = a[ro[r] + co[p]], n a
   multiple of SD_LANES; with relu, C is stored through a ReLU at the end. B is packed in panels
   as in sd_gemm_accumulate, once for all of A's rows (there are thousands: every output position
   of a batch), and each C element is one fma chain over p = 0, 1, …, k-1 as there. */
SD_TARGET void SD_FN(sd_gemm_fields)(const float *a, const long *ro, const long *co, const float *b, float *c, long m,
                                     long k, long n, int accumulate, int relu, const float *bias) {
    if (n < SD_PANEL || k * n <= SD_PANEL_K * SD_PANEL) {
        const ENDS e = {.load = accumulate, .relu = relu, .bias = accumulate ? NULL : bias};
        SD_FN(field_strips)(a, ro, co, b, c, m, k, n, n, n, e);
        return;
    }
    float panel[SD_PANEL_K * SD_PANEL] __attribute__((aligned(64)));
    const long full = n / SD_PANEL * SD_PANEL;
    for (long p0 = 0; p0 < k; p0 += SD_PANEL_K) {
        const long kc = k - p0 < SD_PANEL_K ? k - p0 : SD_PANEL_K;
        const float *bp = b + p0 * n;
        const ENDS e = {.load = accumulate || p0 > 0, .relu = relu && p0 + kc >= k, .bias = accumulate || p0 > 0 ? NULL : bias};
        for (long j = 0; j < full; j += SD_PANEL) {
            SD_FN(pack_panel)(panel, bp + j, kc, n);
            SD_FN(field_strips)(a, ro, co + p0, panel, c + j, m, kc, SD_PANEL, SD_PANEL, n, SD_FN(from_column)(e, j));
        }
        if (full < n) SD_FN(field_strips)(a, ro, co + p0, bp + full, c + full, m, kc, n - full, n, n, SD_FN(from_column)(e, full));
    }
}

/* Strips of six rows tried before sd_gemm_fields_sparse decides whether listing pays. */
#define SD_FIELD_TRIAL_STRIPS 16

/* sd_gemm_fields (not accumulating) for an A of a ReLU's outputs, where a strip of six rows is
   often zero at most inner indices at once (a convolution over the previous layer's activations:
   neighbouring positions share their inactive channels). Each strip is scanned for the indices
   where one of its rows is not ±0 and its chains run over those only — skipping only exact-zero
   terms, so each element is the dense chain's value (up to the sign of a zero). The scan reads
   A's rows in runs: co[p] for p in run·u .. run·u + run - 1 must be consecutive (a field row),
   k a multiple of run. If the first strips keep more than 7/8 of the indices, the rest go
   through sd_gemm_fields. B is read in place. list: k ints of scratch. */
SD_TARGET void SD_FN(sd_gemm_fields_sparse)(const float *a, const long *ro, const long *co, long run, const float *b,
                                            float *c, long m, long k, long n, int relu, const float *bias, int *list) {
    typedef uint32_t SD_FN(uvec) __attribute__((vector_size(SD_LANES * 4), aligned(4), may_alias));
    typedef uint32_t SD_FN(uword) __attribute__((may_alias));
    const ENDS e = {.load = 0, .relu = relu, .bias = bias};
    long kept = 0, i = 0;
    for (; i < m; i += 6) {
        if (i == 6 * SD_FIELD_TRIAL_STRIPS && kept * 8 > SD_FIELD_TRIAL_STRIPS * k * 7) break;
        const long rows = m - i < 6 ? m - i : 6;
        long count = 0;
        for (long u = 0; u < k; u += run) {
            long t = 0;
            for (; t + SD_LANES <= run; t += SD_LANES) {
                SD_FN(uvec) any = {0};
                for (long r = 0; r < rows; r++) any |= *(const SD_FN(uvec) *)(a + ro[i + r] + co[u] + t);
                for (int l = 0; l < SD_LANES; l++) {
                    list[count] = (int)(u + t + l);
                    count += (any[l] & 0x7fffffffu) != 0;
                }
            }
            for (; t < run; t++) {
                uint32_t any = 0;
                for (long r = 0; r < rows; r++) any |= *(const SD_FN(uword) *)(a + ro[i + r] + co[u] + t);
                list[count] = (int)(u + t);
                count += (any & 0x7fffffffu) != 0;
            }
        }
        kept += count;
        if (count == 0) SD_FN(start_rows)(c + i * n, rows, n, n, bias, relu);
        else SD_FN(field_rows_of)(rows, a, ro + i, co, b, c + i * n, count, n, n, n, list, e);
    }
    if (i < m) SD_FN(sd_gemm_fields)(a, ro + i, co, b, c + i * n, m - i, k, n, 0, relu, bias);
}

/* sd_gemm_accumulate where strip s (SD_LISTED_ROWS rows from SD_LISTED_ROWS·s) of A is zero outside the inner indices
   lists[s·lstride + 0 .. counts[s]) (ascending): each strip's fma chains skip only terms that are
   exact zeros, so the bits are those of the full product. A is row-major (rows rs apart; cs must
   be 1). Scratch: range, 2 longs per strip; packed, lstride·SD_LISTED_ROWS floats per strip, where
   each strip's listed columns of A are copied. B is packed in panels as above, all of its rows
   (some strip may need any of them). As sd_gemm_accumulate, C is added to or, when !accumulate,
   the chains start from the bias (+0 when NULL); with relu, C is stored through a ReLU at the end. */
SD_TARGET void SD_FN(sd_gemm_listed_accumulate)(const float *a, const float *b, float *c, long m, long k, long n,
                                                long rs, long cs, const int *lists, long lstride, const long *counts,
                                                long *range, float *packed, int relu, int accumulate,
                                                const float *bias) {
    (void)cs;
    const long strips = (m + SD_LISTED_ROWS - 1) / SD_LISTED_ROWS;
    const int in_place = m < 12 || n < SD_PANEL || k * n <= SD_PANEL_K * SD_PANEL; /* as sd_gemm_accumulate */
    for (long s = 0; s < strips; s++) {
        range[2 * s + 1] = 0;
        const long rows = m - s * SD_LISTED_ROWS < SD_LISTED_ROWS ? m - s * SD_LISTED_ROWS : SD_LISTED_ROWS;
        const int *list = lists + s * lstride;
        float *to = packed + s * lstride * SD_LISTED_ROWS;
        const float *from = a + s * SD_LISTED_ROWS * rs;
        for (long q = 0; q < counts[s]; q++)
            for (long r = 0; r < SD_LISTED_ROWS; r++) to[q * SD_LISTED_ROWS + r] = r < rows ? from[r * rs + list[q]] : 0.0f;
    }
    if (in_place) {  /* few rows or a small B: B read where it is */
        for (long s = 0; s < strips; s++) {
            range[2 * s] = 0;
            range[2 * s + 1] = counts[s];
        }
        const ENDS e = {.load = accumulate, .relu = relu, .bias = accumulate ? NULL : bias};
        SD_FN(listed_strips)(packed, b, c, m, n, n, n, lists, lstride, range, 0, e);
        return;
    }
    float panel[SD_PANEL_K * SD_PANEL] __attribute__((aligned(64)));
    const long full = n / SD_PANEL * SD_PANEL;
    for (long p0 = 0; p0 < k; p0 += SD_PANEL_K) {
        const long kc = k - p0 < SD_PANEL_K ? k - p0 : SD_PANEL_K;
        for (long s = 0; s < strips; s++) {  /* each strip's indices in [p0, p0 + kc) */
            long end = range[2 * s] = range[2 * s + 1];
            while (end < counts[s] && lists[s * lstride + end] < p0 + kc) end++;
            range[2 * s + 1] = end;
        }
        const float *bp = b + p0 * n;
        /* the first panel of k starts from C or the bias, later ones from what it stored; the last applies the ReLU */
        const ENDS e = {.load = accumulate || p0 > 0, .relu = relu && p0 + kc >= k, .bias = accumulate || p0 > 0 ? NULL : bias};
        for (long j = 0; j < full; j += SD_PANEL) {
            SD_FN(pack_panel)(panel, bp + j, kc, n);
            SD_FN(listed_strips)(packed, panel, c + j, m, SD_PANEL, SD_PANEL, n, lists, lstride, range, p0,
                                 SD_FN(from_column)(e, j));
        }
        if (full < n)
            SD_FN(listed_strips)(packed, bp + full, c + full, m, n - full, n, n, lists, lstride, range, p0,
                                 SD_FN(from_column)(e, full));
    }
}

/* The fixed reduction of 8 lanes (the tree an x86 horizontal sum takes). */
SD_INLINE float SD_FN(reduce8)(V8 s) {
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

SD_INLINE float SD_FN(dot_one)(const float *x, const float *y, long k) {
    V8 s = {0};
    long p = 0;
    for (; p + 8 <= k; p += 8) s = SD_VFMA(*(const V8 *)(x + p), *(const V8 *)(y + p), s);
    float t = SD_FN(reduce8)(s);
    for (; p < k; p++) t = SD_FMAF(x[p], y[p], t);
    return t;
}

/* Σ x[p]·y[p]. */
SD_TARGET float SD_FN(sd_dot)(const float *x, const float *y, long k) { return SD_FN(dot_one)(x, y, k); }

/* Σ x[p]²: four running 8-lane sums (p mod 32; one sum's fma latency would bound a long vector),
   added pairwise, reduced like dot_one's lanes, then the tail: one order on every instruction set. */
SD_TARGET float SD_FN(sd_sum_squares)(const float *x, long n) {
    V8 s[4] = {{0}, {0}, {0}, {0}};
    long p = 0;
    for (; p + 32 <= n; p += 32)
        for (int u = 0; u < 4; u++) {
            const V8 v = *(const V8 *)(x + p + 8 * u);
            s[u] = SD_VFMA(v, v, s[u]);
        }
    for (; p + 8 <= n; p += 8) {
        const V8 v = *(const V8 *)(x + p);
        s[0] = SD_VFMA(v, v, s[0]);
    }
    float t = SD_FN(reduce8)((s[0] + s[1]) + (s[2] + s[3]));
    for (; p < n; p++) t = SD_FMAF(x[p], x[p], t);
    return t;
}

typedef float SD_FN(v4) __attribute__((vector_size(16), aligned(4)));

/* reduce8 of four vectors at once: the same tree, lane by lane, so the same bits. */
SD_INLINE SD_FN(v4) SD_FN(reduce8x4)(V8 a, V8 b, V8 c, V8 d) {
    typedef SD_FN(v4) V4;
    V4 xa = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    V4 xb = __builtin_shufflevector(b, b, 0, 1, 2, 3) + __builtin_shufflevector(b, b, 4, 5, 6, 7);
    V4 xc = __builtin_shufflevector(c, c, 0, 1, 2, 3) + __builtin_shufflevector(c, c, 4, 5, 6, 7);
    V4 xd = __builtin_shufflevector(d, d, 0, 1, 2, 3) + __builtin_shufflevector(d, d, 4, 5, 6, 7);
    /* (s0+s4)+(s2+s6) and (s1+s5)+(s3+s7) of a and b, then of c and d */
    V4 u = __builtin_shufflevector(xa, xb, 0, 1, 4, 5) + __builtin_shufflevector(xa, xb, 2, 3, 6, 7);
    V4 v = __builtin_shufflevector(xc, xd, 0, 1, 4, 5) + __builtin_shufflevector(xc, xd, 2, 3, 6, 7);
    return __builtin_shufflevector(u, v, 0, 2, 4, 6) + __builtin_shufflevector(u, v, 1, 3, 5, 7);
}

/* Four rows of A against nb rows of B: 4·nb running dot products, each the same sum as dot_one
   (the lanes reduced four accumulators at a time, then any tail of k, then added to C). Row t of
   the block is B's row brows[t] (t when brows is NULL); its results go to row r of c (rows ldc
   apart), column cols[that row] (or that row when cols is NULL), added to what C holds or, when
   !accumulate, to +0 (as onto a zeroed C: the same bits, -0 included). */
SD_INLINE void SD_FN(dot_block)(const int nb, const float *a, const float *b, const int *brows, float *c, long k,
                                long ldc, const int *cols, int accumulate) {
    V8 s[4][4];
    const float *bt[4];
    long to_col[4];
    for (int t = 0; t < nb; t++) {
        const long row = brows ? brows[t] : t;
        bt[t] = b + row * k;
        to_col[t] = cols ? cols[row] : row;
    }
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < nb; t++) s[r][t] = (V8){0};
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        V8 bv[4];
        for (int t = 0; t < nb; t++) bv[t] = *(const V8 *)(bt[t] + p);
        for (int r = 0; r < 4; r++) {
            V8 ar = *(const V8 *)(a + r * k + p);
            for (int t = 0; t < nb; t++) s[r][t] = SD_VFMA(ar, bv[t], s[r][t]);
        }
    }
    float totals[16];
    for (int q = 0; q < 4 * nb; q += 4)
        *(SD_FN(v4) *)(totals + q) = SD_FN(reduce8x4)(s[q / nb][q % nb], s[(q + 1) / nb][(q + 1) % nb],
                                                      s[(q + 2) / nb][(q + 2) % nb], s[(q + 3) / nb][(q + 3) % nb]);
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < nb; t++) {
            float total = totals[r * nb + t];
            const float *ar = a + r * k;
            for (long q = p; q < k; q++) total = SD_FMAF(ar[q], bt[t][q], total);
            float *to = c + r * ldc + to_col[t];
            *to = (accumulate ? *to : 0.0f) + total;
        }
}

/* dot_block on B's rows j .. j+nb of the list brows (of B itself when brows is NULL). */
SD_INLINE void SD_FN(dot_group)(const int nb, const float *a, const float *b, const int *brows, long j, float *c,
                                long k, long ldc, const int *cols, int accumulate) {
    if (brows) SD_FN(dot_block)(nb, a, b, brows + j, c, k, ldc, cols, accumulate);
    else SD_FN(dot_block)(nb, a, b + j * k, NULL, cols ? c : c + j, k, ldc, cols ? cols + j : NULL, accumulate);
}

/* Four rows of A (a, rows k apart) against B's rows brows[0 .. count) (0 .. count when NULL), in
   blocks of SD_DOT_COLUMNS and then the last few (all of a two-action Q head). */
SD_INLINE void SD_FN(dot_strip)(const float *a, const float *b, const int *brows, long count, float *c, long k,
                                long ldc, const int *cols, int accumulate) {
    long j = 0;
    for (; j + SD_DOT_COLUMNS <= count; j += SD_DOT_COLUMNS)
        SD_FN(dot_group)(SD_DOT_COLUMNS, a, b, brows, j, c, k, ldc, cols, accumulate);
    switch (count - j) {
    case 3: SD_FN(dot_group)(3, a, b, brows, j, c, k, ldc, cols, accumulate); break;
    case 2: SD_FN(dot_group)(2, a, b, brows, j, c, k, ldc, cols, accumulate); break;
    case 1: SD_FN(dot_group)(1, a, b, brows, j, c, k, ldc, cols, accumulate); break;
    default: break;
    }
}

/* C += A·Bᵀ for A m×k and B n×k, both row-major: dot products of contiguous rows, four rows
   of A against SD_DOT_COLUMNS rows of B at a time (as many accumulators as the registers hold).
   B is walked in blocks of rows that fit in half of L1, each block meeting every row of A before
   the next: B is read from L2 once rather than once per four rows of A. Every element is the
   same dot product (dot_one's sum) whatever the block, so blocking does not change the bits.
   Row j of B's results go to column cols[j] of C (j when cols is NULL); C's rows are ldc apart. */
SD_INLINE void SD_FN(dots)(const float *a, const float *b, float *c, long m, long k, long n, long ldc, const int *cols,
                           int accumulate) {
    long block = 4096 / (k > 0 ? k : 1) / SD_DOT_COLUMNS * SD_DOT_COLUMNS;
    if (block < SD_DOT_COLUMNS) block = SD_DOT_COLUMNS;
    for (long j0 = 0; j0 < n; j0 += block) {
        const long j1 = j0 + block < n ? j0 + block : n;
        long i = 0;
        for (; i + 4 <= m; i += 4)
            SD_FN(dot_strip)(a + i * k, b + j0 * k, NULL, j1 - j0, cols ? c + i * ldc : c + i * ldc + j0, k, ldc,
                             cols ? cols + j0 : NULL, accumulate);
        for (; i < m; i++)
            for (long j = j0; j < j1; j++) {
                float *to = c + i * ldc + (cols ? cols[j] : j);
                *to = (accumulate ? *to : 0.0f) + SD_FN(dot_one)(a + i * k, b + j * k, k);
            }
    }
}

/* C (m×n) += A·Bᵀ (= when !accumulate), A m×k and B n×k row-major. */
SD_TARGET void SD_FN(sd_dots_accumulate)(const float *a, const float *b, float *c, long m, long k, long n,
                                         int accumulate) {
    SD_FN(dots)(a, b, c, m, k, n, n, NULL, accumulate);
}

/* C[:, cols[j]] += A·(row j of B) (= when !accumulate) for j < n, C's rows ldc apart: a product
   whose columns were compacted, written straight back to where they belong. With strip lists,
   strip s (rows 4s..4s+3 of A) meets only B's rows strip_rows[starts[s] .. starts[s+1]) (the
   others' elements are left as they were: the caller masks them); rows past the last whole strip
   meet every row of B. */
SD_TARGET void SD_FN(sd_dots_to_columns_accumulate)(const float *a, const float *b, float *c, long m, long k, long n,
                                                    long ldc, const int *cols, int accumulate, const int *strip_rows,
                                                    const long *starts) {
    if (strip_rows == NULL) {
        SD_FN(dots)(a, b, c, m, k, n, ldc, cols, accumulate);
        return;
    }
    const long strips = m / 4;
    for (long s = 0; s < strips; s++)
        SD_FN(dot_strip)(a + 4 * s * k, b, strip_rows + starts[s], starts[s + 1] - starts[s], c + 4 * s * ldc, k, ldc,
                         cols, accumulate);
    if (strips * 4 < m) SD_FN(dots)(a + strips * 4 * k, b, c + strips * 4 * ldc, m - strips * 4, k, n, ldc, cols, accumulate);
}

/* One Adam step: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= step·m / (√v·inv_sqrt_c2 + eps). */
SD_TARGET void SD_FN(sd_adam)(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                              long n, float b1, float b2, float step, float inv_sqrt_c2, float eps) {
    const float ob1 = 1.0f - b1, ob2 = 1.0f - b2;
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + ob1 * gi;
        float vi = b2 * v[i] + ob2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) * inv_sqrt_c2 + eps);
    }
}

/* A few long rows (the channel planes of a frame stack, RGB) into interleaved columns: with R a
   constant the compiler writes each group of R as one interleaved store. */
#define SD_FEW_ROWS(R)                                                                \
    if (rows == R) {                                                                  \
        for (long j = 0; j < cols; j++)                                               \
            for (long i = 0; i < R; i++) dst[j * R + i] = src[i * cols + j];          \
        return;                                                                       \
    }

/* dst (cols×rows) = srcᵀ for src rows×cols, row-major: 8×8 blocks through registers, walked down
   src's columns so each block's eight stores continue the previous block's rows of dst (walking
   along src's rows instead writes 8 rows a power of two apart and is twice as slow at 256×256). */
SD_TARGET void SD_FN(sd_transpose)(const float *restrict src, float *restrict dst, long rows, long cols) {
    SD_FEW_ROWS(2)
    SD_FEW_ROWS(3)
    SD_FEW_ROWS(4)
    long r8 = rows / 8 * 8, c8 = cols / 8 * 8;
    for (long j = 0; j < c8; j += 8)
        for (long i = 0; i < r8; i += 8) {
            V8 r[8], t[8], u[8];
            for (int q = 0; q < 8; q++) r[q] = *(const V8 *)(src + (i + q) * cols + j);
            for (int q = 0; q < 8; q += 2) {
                t[q] = __builtin_shufflevector(r[q], r[q + 1], 0, 8, 1, 9, 4, 12, 5, 13);
                t[q + 1] = __builtin_shufflevector(r[q], r[q + 1], 2, 10, 3, 11, 6, 14, 7, 15);
            }
            /* u[2p] and u[2p+1]: the low and high pairs of t[a] with t[a+2] (a = 0, 1, 4, 5). */
            static const int pair[4] = {0, 1, 4, 5};
            for (int p = 0; p < 4; p++) {
                int a = pair[p];
                u[2 * p] = __builtin_shufflevector(t[a], t[a + 2], 0, 1, 8, 9, 4, 5, 12, 13);
                u[2 * p + 1] = __builtin_shufflevector(t[a], t[a + 2], 2, 3, 10, 11, 6, 7, 14, 15);
            }
            for (int q = 0; q < 4; q++) {
                *(V8 *)(dst + (j + q) * rows + i) = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
                *(V8 *)(dst + (j + q + 4) * rows + i) = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
            }
        }
    if (c8 == 0) { /* a few columns (a Q head's weights): each column of src in turn, dst written in order */
        for (long j = 0; j < cols; j++)
            for (long i = 0; i < rows; i++) dst[j * rows + i] = src[i * cols + j];
        return;
    }
    for (long i = 0; i < rows; i++)  /* the edges */
        for (long j = i < r8 ? c8 : 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}

#define SD_DENSE_CHUNK 512

/* nv vectors of one observation's outputs (y, carrying each chain so far; w offset to their first
   column) held in registers while the chains run over the inputs live[0 .. count): W's rows are
   read once per block instead of the outputs once per input. */
SD_INLINE void SD_FN(dense_block)(const int nv, const float *x, const int *live, long count, const float *w, long out,
                                  float *y) {
    VEC acc[8];
    for (int v = 0; v < nv; v++) acc[v] = *(const VEC *)(y + v * SD_LANES);
    for (long q = 0; q < count; q++) {
        const long i = live[q];
        const VEC xi = SD_FN(splat)(x[i]);
        const float *row = w + i * out;
        for (int v = 0; v < nv; v++) acc[v] = SD_VFMA(xi, *(const VEC *)(row + v * SD_LANES), acc[v]);
    }
    for (int v = 0; v < nv; v++) *(VEC *)(y + v * SD_LANES) = acc[v];
}

/* One observation through one dense layer, with the batched forward pass's bits (sd_linear on one
   row): an output of 16 or more is the tiles' chain, the bias then fmas over the inputs in order,
   skipping zero inputs (a ReLU's inactive units, often half of them: their terms add exact zeros,
   as the listed tiles skip them); a narrower one (a Q head) is the bias plus dot_one of the input
   with the weights' column. ReLU keeps -0 and NaN as the tiles' store does. */
SD_TARGET void SD_FN(sd_dense_forward)(const float *restrict x, long in, const float *restrict w,
                                       const float *restrict b, long out, int act, float *restrict y) {
    if (out >= 16) {
        for (long j = 0; j < out; j++) y[j] = b[j];
        int live[SD_DENSE_CHUNK];
        for (long i0 = 0; i0 < in; i0 += SD_DENSE_CHUNK) {
            const long i1 = in - i0 < SD_DENSE_CHUNK ? in : i0 + SD_DENSE_CHUNK;
            long count = 0;
            for (long i = i0; i < i1; i++) { /* without a branch: zeros fall at random */
                live[count] = (int)i;
                count += x[i] != 0;
            }
            long j = 0;
            for (; j + 8 * SD_LANES <= out; j += 8 * SD_LANES) SD_FN(dense_block)(8, x, live, count, w + j, out, y + j);
            for (int nv = 4; nv >= 1; nv /= 2)
                if (j + nv * SD_LANES <= out) {
                    SD_FN(dense_block)(nv, x, live, count, w + j, out, y + j);
                    j += nv * SD_LANES;
                }
            for (; j < out; j++)
                for (long q = 0; q < count; q++) y[j] = SD_FMAF(x[live[q]], w[(long)live[q] * out + j], y[j]);
        }
    } else {
        const long in8 = in / 8 * 8;
        for (long j = 0; j < out; j++) {
            V8 s = {0};
            for (long p = 0; p < in8; p += 8) {
                V8 column;
                for (int l = 0; l < 8; l++) column[l] = w[(p + l) * out + j];
                s = SD_VFMA(*(const V8 *)(x + p), column, s);
            }
            float t = SD_FN(reduce8)(s);
            for (long p = in8; p < in; p++) t = SD_FMAF(x[p], w[p * out + j], t);
            y[j] = b[j] + t;
        }
    }
    if (act == 1) {
        for (long j = 0; j < out; j++) y[j] = y[j] < 0 ? 0.0f : y[j];
    } else if (act == 2) {
        for (long j = 0; j < out; j++) y[j] = tanhf(y[j]);
    }
}

#undef VEC
#undef IVEC
#undef V8
#undef ENDS
#undef SD_DENSE_CHUNK
#undef SD_FEW_ROWS
