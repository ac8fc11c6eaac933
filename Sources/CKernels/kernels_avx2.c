/* AVX2 + FMA kernels: 8-float vectors (x86-64 since Intel Haswell and AMD Zen). */
#if defined(__x86_64__)
#define SD_ISA avx2
#define SD_LANES 8
#define SD_TARGET __attribute__((target("avx2,fma")))
#define SD_DOT_COLUMNS 3
#include "kernels_body.h"
#endif
