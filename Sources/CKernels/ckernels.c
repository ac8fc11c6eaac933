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
