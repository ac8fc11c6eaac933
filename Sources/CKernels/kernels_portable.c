/* Portable kernels for any CPU: the compiler's baseline (SSE2 on x86-64, NEON on arm64). Same
   results as the vector ones; on x86-64 CPUs without FMA (before 2013) fmaf is emulated, slowly. */
#define SD_ISA portable
#define SD_LANES 4
#define SD_TARGET
#define SD_DOT_COLUMNS 2
#include "kernels_body.h"
