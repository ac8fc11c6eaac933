/* Portable kernels for any CPU: the compiler's baseline (SSE2 on x86-64, NEON on arm64). Where
   the baseline has FMA (arm64) they give the vector sets' bits; on x86-64 the baseline has none
   and fmaf would be a libm call per term (0.6 GFLOP/s), so they multiply and add instead
   (SD_PLAIN_MULTIPLY_ADD): other bits, the speed of SSE2. `sd_kernel_fuses` says which. */
#define SD_ISA portable
#define SD_LANES 4
#define SD_TARGET
#define SD_DOT_COLUMNS 2
#if !defined(__FMA__) && !defined(__aarch64__)
#define SD_PLAIN_MULTIPLY_ADD 1
#endif
#include "kernels_body.h"

/* 1 when the portable set fuses its multiply-adds (the FMA sets' bits), 0 when it rounds twice. */
int sd_portable_fuses(void) {
#ifdef SD_PLAIN_MULTIPLY_ADD
    return 0;
#else
    return 1;
#endif
}
