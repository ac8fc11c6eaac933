// Element-wise loops that Swift cannot vectorise itself: it has no `restrict`, so LLVM must
// assume the arrays alias, and Swift's SIMD squareRoot() is split into scalar lanes.
#ifndef SWIFT_DISTILL_CKERNELS_H
#define SWIFT_DISTILL_CKERNELS_H

/// One Adam step: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= step * m / (sqrt(v) * inv_sqrt_c2 + eps).
void sd_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
             float b1, float b2, float step, float inv_sqrt_c2, float eps);

/// One dense layer for one observation: y = act(x·W + b), W row-major (in × out), as the
/// model files store it; act 0 = none, 1 = ReLU, 2 = tanh. The loop over outputs is contiguous
/// in W's rows, so it vectorises for any width.
void sd_dense_forward(const float *restrict x, long in, const float *restrict w, const float *restrict b, long out,
                      int act, float *restrict y);

/// 1 when this CPU has the AVX2 and FMA instructions the numeric modules are compiled for.
int sd_cpu_supported(void);

/// Sets flush-to-zero and denormals-are-zero (MXCSR FTZ/DAZ on x86-64, FPCR.FZ on arm64) for
/// this thread and returns the previous floating-point control word for `sd_restore_fp_mode`.
unsigned long sd_flush_subnormals(void);

/// Restores a control word returned by `sd_flush_subnormals`.
void sd_restore_fp_mode(unsigned long previous);

/// The current control bits, without the sticky exception flags (for tests).
unsigned long sd_fp_mode(void);
#endif
