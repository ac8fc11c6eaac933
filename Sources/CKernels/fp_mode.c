#include "ckernels.h"
#include <math.h>

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

