// The numeric kernels: matrix products, dot products, Adam and the single-observation forward
// pass, compiled for several instruction sets in one binary (portable, AVX2+FMA, AVX-512) and
// chosen at run time for the CPU at hand. Every set gives the same bits (see kernels_body.h).
#ifndef SWIFT_DISTILL_CKERNELS_H
#define SWIFT_DISTILL_CKERNELS_H

/// k·n up to which C = A·Bᵀ transposes B and uses the tiles (above it, dot products of rows);
/// up to the larger limit when A has at least SD_GEMM_BT_TRANSPOSE_ROWS rows to pay for the copy.
#define SD_GEMM_BT_TRANSPOSE_LIMIT 8192
#define SD_GEMM_BT_TRANSPOSE_LARGE_LIMIT 65536
#define SD_GEMM_BT_TRANSPOSE_ROWS 128

/// C (m×n) = A·B, or += when `accumulate`; A m×k (or, with `transposed_a`, stored as Aᵀ k×m and read
/// in place), B k×n, all row-major and dense.
void sd_gemm(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a);

/// A dense layer's forward pass for a batch: y = x·W + b (x m×k, W k×n, b n, y m×n), stored through
/// a ReLU (max(·, 0), -0 and NaN kept) when `relu`. The same bits as filling y with b, sd_gemm
/// accumulating onto it, then the ReLU pass.
void sd_linear(const float *x, const float *w, const float *bias, float *y, long m, long k, long n, int relu);

/// sd_gemm and sd_linear without the search for zero columns (the same bits): for dense operands
/// such as a convolution's im2col columns.
void sd_gemm_dense(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a);
void sd_linear_dense(const float *x, const float *w, const float *bias, float *y, long m, long k, long n, int relu);

/// C (m×n) = A·Bᵀ, or += when `accumulate`; A m×k, B n×k, row-major.
void sd_gemm_bt(const float *a, const float *b, float *c, long m, long k, long n, int accumulate);

/// sd_gemm_bt for the columns of C where `live` (m×n, row-major) holds a nonzero in some row; the
/// other columns are left as they were (0 unless accumulating). For input gradients that a ReLU
/// then masks: a unit inactive for the whole batch needs no gradient.
void sd_gemm_bt_live(const float *a, const float *b, float *c, long m, long k, long n, int accumulate,
                     const float *live);

/// One dense layer's backward pass, y = x·W + b with x m×k, W k×n: dW = xᵀ·dY, db = Σ rows of dY and,
/// unless dx is NULL, dX = dY·Wᵀ — with `relu`, x is a ReLU's output and dX is taken on through that
/// ReLU (kept where x > 0, else +0). The same bits as sd_gemm (transposed_a), sd_sum_rows and
/// sd_gemm_bt_live (live = x) followed by the ReLU's backward pass; the products share their scans
/// for zero columns of dY and x.
void sd_dense_backward(const float *x, const float *dy, const float *w, float *dw, float *db, float *dx, long m,
                       long k, long n, int relu);

/// out[j] = Σ_i x[i, j] for x m×n row-major, each column summed in row order (bias gradients).
void sd_sum_rows(const float *restrict x, float *restrict out, long m, long n);

/// Σ x[i]·y[i] (8 running lanes, a fixed reduction order).
float sd_dot(const float *x, const float *y, long count);

/// Σ x[i]² (32 running lanes, a fixed reduction order).
float sd_sum_squares(const float *x, long count);

/// dst (cols×rows) = srcᵀ (src rows×cols).
void sd_transpose(const float *src, float *dst, long rows, long cols);

/// One Adam step: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= step * m / (sqrt(v) * inv_sqrt_c2 + eps).
void sd_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
             float b1, float b2, float step, float inv_sqrt_c2, float eps);

/// One dense layer for one observation: y = act(x·W + b), W row-major (in × out), as the
/// model files store it; act 0 = none, 1 = ReLU, 2 = tanh.
void sd_dense_forward(const float *restrict x, long in, const float *restrict w, const float *restrict b, long out,
                      int act, float *restrict y);

/// Room for `floats` values that stays with the calling thread and is reused from call to call
/// (a single observation's activations between layers: no allocation once warm). NULL when
/// memory runs out. The next call on the thread may move it.
float *sd_thread_scratch(long floats);

/// Asks the cache for row rows[i] (stride_bytes apart from base) of a table, for every i: the
/// replay reads of the next minibatch, issued while the current one trains. Reads nothing itself.
void sd_prefetch_rows(const void *base, long stride_bytes, const long *rows, long n);

/// The instruction set in use: "avx512", "avx2" or "portable".
const char *sd_kernel_name(void);

/// The widest instruction set this CPU runs (what is used unless `sd_kernel_select` chose another).
const char *sd_kernel_best_name(void);

/// Uses the named kernels from now on, process-wide; 0 when unknown or not runnable on this CPU.
int sd_kernel_select(const char *name);

/// Uses the named kernels on the calling thread only (NULL: back to the process-wide choice);
/// 0 when unknown or not runnable on this CPU.
int sd_kernel_select_for_thread(const char *name);

/// 0 when the environment variable SWIFT_DISTILL_KERNELS names a set that is unknown or that
/// this CPU cannot run (the widest set is used instead).
int sd_kernel_requested_is_usable(void);

/// Threads the products and Adam use: 1, or 2 (a persistent worker takes half the rows of large
/// products; same bits). Initially from SWIFT_DISTILL_THREADS (default 1).
int sd_threads(void);

/// Sets the thread count (values above 2 mean 2); 0 for a count below 1.
int sd_set_threads(int count);

/// 1 when the named set fuses each multiply-add (one rounding: the FMA sets, and the portable set
/// where the target has FMA, e.g. arm64), 0 when it multiplies and adds (the portable set on
/// x86-64: other bits than the FMA sets').
int sd_kernel_fuses(const char *name);

/// The kernel names this build carries, comma-separated.
const char *sd_kernel_names(void);

/// Sets flush-to-zero and denormals-are-zero (MXCSR FTZ/DAZ on x86-64, FPCR.FZ on arm64) for
/// this thread and returns the previous floating-point control word for `sd_restore_fp_mode`.
unsigned long sd_flush_subnormals(void);

/// Restores a control word returned by `sd_flush_subnormals`.
void sd_restore_fp_mode(unsigned long previous);

/// The current control bits, without the sticky exception flags (for tests).
unsigned long sd_fp_mode(void);
// Relational distillation loops over Gram matrices gs, gt (row stride n): the distance-wise
// loss over n rows and the angle-wise loss over the first m rows. Each returns the loss and
// adds scale × dL/dG into dG (n × n; used symmetrised, dG + dGᵀ). work: 3n² + 3n floats (distance)
// or 2*m*m + 2*m floats (angle) of scratch.
float sd_rkd_distance(const float *gs, const float *gt, int n, float scale, float *dG, float *work);
float sd_rkd_angle(const float *gs, const float *gt, int n, int m, float scale, float *dG, float *work);
// a ← a + aᵀ for an n × n matrix, in place.
void sd_symmetrize(float *a, int n);

// im2col for channels-last images (n, h, w, c) and a kh×kw kernel: cols is (n·oh·ow) × (kh·kw·c),
// every entry written (zeros where the field covers padding). col2im adds cols back onto images (its adjoint).
void sd_im2col(const float *images, float *cols, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow);
void sd_col2im(const float *cols, float *images, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow);

// A convolution's forward product y = im2col(images)·W + b (through a ReLU when relu) and its
// weight gradient dW = im2col(images)ᵀ·dY without the whole columns: without padding and with
// outputs a multiple of 16, the tiles read the columns' values where they lie in the images;
// otherwise the columns are built a strip of rows at a time in a cache-sized buffer. Either way
// the same products, so the same bits as sd_linear_dense and sd_gemm_dense on the whole columns
// — but for the sign of a zero where the forward product skips terms that are exact zeros (each
// strip of six positions over the patch values not zero in all six: a ReLU's outputs). W and dW are (kh·kw·c) × out. 0 (nothing written)
// where they do not apply — outputs narrower than 16, two threads, no memory for the strip —
// and the caller multiplies whole columns instead.
int sd_conv_forward(const float *images, const float *weight, const float *bias, float *y, long n, long h, long w,
                    long c, long kh, long kw, long stride, long pad, long oh, long ow, long out, int relu);
int sd_conv_weight_gradient(const float *images, const float *dy, float *dw, long n, long h, long w, long c, long kh,
                            long kw, long stride, long pad, long oh, long ow, long out);
// Its input gradient dX += col2im(dY·Wᵀ) a strip of rows at a time (dx must hold zeros, or what
// to add onto): the same product (the tiles over Wᵀ) and the same additions in the same order as
// sd_col2im of the whole columns' gradient. 0 (nothing written) for patches narrower than 16 or
// two threads.
int sd_conv_input_gradient(const float *dy, const float *weight, float *dx, long n, long h, long w, long c, long kh,
                           long kw, long stride, long pad, long oh, long ow, long out);

// Byte storage of observation values that are whole multiples of scale (uint8 frames over 255):
// out[i] = x[i] / scale rounded to nearest (ties to even), clamped to 0–255 (NaN → 0). Plain
// float adds, no libm rounding call, so it vectorises on every instruction set.
void sd_encode_bytes(const float *x, unsigned char *out, long n, float scale);
// The inverse for one (C, H, W) image of bytes, written channels last: out[p·C + c] =
// planes[c·plane + p] · scale, the layout the convolutions read.
void sd_decode_bytes_channels_last(const unsigned char *planes, float *out, long channels, long plane, float scale);

#endif
