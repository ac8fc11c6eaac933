/* AVX-512 kernels: 16-float vectors (x86-64 with AVX-512 F/VL). */
#if defined(__x86_64__)
#define SD_ISA avx512
#define SD_LANES 16
#define SD_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define SD_DOT_COLUMNS 4
#include "kernels_body.h"
#endif
