// im2col and its adjoint for channels-last (N, H, W, C) images: each output position's receptive
// field becomes one row of KH·KW·C values. In HWC, the kx-neighbours of a field row are contiguous
// in memory, so each (position, ky) copies one run of (valid kx)·C floats; im2col writes zeros
// where the field covers padding, so `cols` needs no zero fill first. Plain copies and adds: the
// same bits on every instruction set.
#include "ckernels.h"
#include <string.h>

static inline void field_run(long y, long x, long ky, long h, long w, long kw, long stride, long pad,
                             long *iy, long *kx0, long *kx1) {
    *iy = y * stride + ky - pad;
    long ix0 = x * stride - pad;
    *kx0 = ix0 < 0 ? -ix0 : 0;
    long last = ix0 + kw;  // one past the field's last column
    *kx1 = last > w ? kw - (last - w) : kw;
    (void)h;
}

void sd_im2col(const float *images, float *cols, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow) {
    long k = kh * kw * c;
    for (long b = 0; b < n; b++)
        for (long y = 0; y < oh; y++)
            for (long x = 0; x < ow; x++) {
                float *row = cols + ((b * oh + y) * ow + x) * k;
                for (long ky = 0; ky < kh; ky++) {
                    long iy, kx0, kx1;
                    field_run(y, x, ky, h, w, kw, stride, pad, &iy, &kx0, &kx1);
                    float *run = row + ky * kw * c;
                    if (iy < 0 || iy >= h || kx1 <= kx0) {
                        memset(run, 0, (size_t)(kw * c) * sizeof(float));
                        continue;
                    }
                    long ix = x * stride - pad + kx0;
                    if (kx0 > 0) memset(run, 0, (size_t)(kx0 * c) * sizeof(float));
                    memcpy(run + kx0 * c, images + ((b * h + iy) * w + ix) * c, (size_t)((kx1 - kx0) * c) * sizeof(float));
                    if (kx1 < kw) memset(run + kx1 * c, 0, (size_t)((kw - kx1) * c) * sizeof(float));
                }
            }
}

void sd_col2im(const float *cols, float *images, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow) {
    long k = kh * kw * c;
    for (long b = 0; b < n; b++)
        for (long y = 0; y < oh; y++)
            for (long x = 0; x < ow; x++) {
                const float *row = cols + ((b * oh + y) * ow + x) * k;
                for (long ky = 0; ky < kh; ky++) {
                    long iy, kx0, kx1;
                    field_run(y, x, ky, h, w, kw, stride, pad, &iy, &kx0, &kx1);
                    if (iy < 0 || iy >= h || kx1 <= kx0) continue;
                    long ix = x * stride - pad + kx0;
                    float *dst = images + ((b * h + iy) * w + ix) * c;
                    const float *src = row + (ky * kw + kx0) * c;
                    for (long i = 0; i < (kx1 - kx0) * c; i++) dst[i] += src[i];
                }
            }
}
