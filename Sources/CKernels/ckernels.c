#include "ckernels.h"
#include <math.h>

void sd_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
             float b1, float b2, float step, float inv_sqrt_c2, float eps) {
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

int sd_cpu_supported(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 1;
#endif
}

#if defined(__x86_64__)
#include <xmmintrin.h>
#define SD_FTZ_DAZ 0x8040u /* MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero) */

unsigned long sd_fp_mode(void) { return _mm_getcsr() & ~0x3Fu; /* control bits; 0–5 are sticky status flags */ }

unsigned long sd_flush_subnormals(void) {
    unsigned int previous = _mm_getcsr();
    _mm_setcsr(previous | SD_FTZ_DAZ);
    return previous;
}

void sd_restore_fp_mode(unsigned long previous) { _mm_setcsr((unsigned int)previous); }
#elif defined(__aarch64__)
unsigned long sd_fp_mode(void) {
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}

unsigned long sd_flush_subnormals(void) {
    unsigned long previous = sd_fp_mode();
    __asm__ volatile("msr fpcr, %0" : : "r"(previous | (1ul << 24)));
    return previous;
}

void sd_restore_fp_mode(unsigned long previous) { __asm__ volatile("msr fpcr, %0" : : "r"(previous)); }
#else
unsigned long sd_fp_mode(void) { return 0; }
unsigned long sd_flush_subnormals(void) { return 0; }
void sd_restore_fp_mode(unsigned long previous) { (void)previous; }
#endif

#include <math.h>

void sd_dense_forward(const float *restrict x, long in, const float *restrict w, const float *restrict b, long out,
                      int act, float *restrict y) {
    /* The same order as the batched path (x·W accumulated over i with FMA, then + b), so both
       paths give the same bits. */
    for (long j = 0; j < out; j++) y[j] = 0;
    for (long i = 0; i < in; i++) {
        const float xi = x[i];
        const float *row = w + i * out;
        for (long j = 0; j < out; j++) y[j] = fmaf(xi, row[j], y[j]);
    }
    for (long j = 0; j < out; j++) y[j] += b[j];
    if (act == 1) {
        for (long j = 0; j < out; j++) y[j] = y[j] > 0 ? y[j] : 0;
    } else if (act == 2) {
        for (long j = 0; j < out; j++) y[j] = tanhf(y[j]);
    }
}
