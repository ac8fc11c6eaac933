// im2col and its adjoint for channels-last (N, H, W, C) images: each output position's receptive
// field becomes one row of KH·KW·C values. In HWC, the kx-neighbours of a field row are contiguous
// in memory, so each (position, ky) copies one run of (valid kx)·C floats; im2col writes zeros
// where the field covers padding, so `cols` needs no zero fill first. Plain copies and adds: the
// same bits on every instruction set. The products themselves mostly skip the copies: without
// padding they read the columns in place (sd_gemm_fields through offset tables).
#include "ckernels.h"
#include "products.h"
#include <stdlib.h>
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

/* Rows [row0, row0 + rows) of the im2col matrix into cols (row r: image r / (oh·ow), output
   position r mod (oh·ow)), zeros where the field covers padding. */
static void im2col_rows(const float *images, float *cols, long row0, long rows, long h, long w, long c, long kh, long kw,
                        long stride, long pad, long oh, long ow) {
    long k = kh * kw * c;
    for (long r = row0; r < row0 + rows; r++) {
        long b = r / (oh * ow), y = r / ow % oh, x = r % ow;
        float *row = cols + (r - row0) * k;
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

void sd_im2col(const float *images, float *cols, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow) {
    im2col_rows(images, cols, 0, n * oh * ow, h, w, c, kh, kw, stride, pad, oh, ow);
}

/* The columns a strip at a time: rows of about 64 KB (they stay in L2 between their im2col and
   their product), a multiple of the tiles' 6 rows. Per thread, reused from call to call. */
static _Thread_local float *strip_buffer;
static _Thread_local long strip_floats;

static long strip_rows(long k) {
    long r = 16384 / k / 6 * 6;
    return r < 6 ? 6 : r;
}

static float *strip_scratch(long floats) {
    if (floats > strip_floats) {
        float *grown = realloc(strip_buffer, (size_t)floats * sizeof(float));
        if (grown == NULL) return NULL;
        strip_buffer = grown;
        strip_floats = floats;
    }
    return strip_buffer;
}

/* Whether the strip products apply: one thread (two split whole products instead) and outputs
   wide enough for the tiles (narrower ones are dot products). */
static int strips_apply(long out) { return out >= 16 && sd_threads() == 1; }

/* Whether the products can read the im2col matrix where the images lie (sd_gemm_fields): no
   padding (a field never leaves its image) and outputs a multiple of every vector width. */
static int fields_apply(long pad, long out) { return pad == 0 && out % 16 == 0; }

/* The offsets sd_gemm_fields reads the im2col matrix through (no padding): corner[r], where
   output position r's field starts in the images, for every row; patch[p], patch index p's
   offset from it (kernel row ky = p / (kw·c) lies ky image rows further down). Per thread,
   reused from call to call. */
static _Thread_local long *offsets_buffer;
static _Thread_local long offsets_count;

static long *field_offsets(long n, long h, long w, long c, long kh, long kw, long stride, long oh, long ow) {
    const long total = n * oh * ow, k = kh * kw * c;
    /* and, after them, k ints for sd_gemm_fields_sparse's lists */
    const long longs = total + k + (k + 1) / 2;
    if (longs > offsets_count) {
        long *grown = realloc(offsets_buffer, (size_t)longs * sizeof(long));
        if (grown == NULL) return NULL;
        offsets_buffer = grown;
        offsets_count = longs;
    }
    long *corner = offsets_buffer, *patch = offsets_buffer + total;
    for (long b = 0, r = 0; b < n; b++)
        for (long y = 0; y < oh; y++)
            for (long x = 0; x < ow; x++) corner[r++] = ((b * h + y * stride) * w + x * stride) * c;
    for (long ky = 0; ky < kh; ky++)
        for (long q = 0; q < kw * c; q++) patch[ky * kw * c + q] = ky * w * c + q;
    return offsets_buffer;
}

int sd_conv_forward(const float *images, const float *weight, const float *bias, float *y, long n, long h, long w,
                    long c, long kh, long kw, long stride, long pad, long oh, long ow, long out, int relu) {
    const long k = kh * kw * c, total = n * oh * ow, step = strip_rows(k);
    if (!strips_apply(out) || total <= 0) return 0;
    if (fields_apply(pad, out)) {
        long *corner = field_offsets(n, h, w, c, kh, kw, stride, oh, ow);
        if (corner == NULL) return 0;
        /* each strip of six neighbouring positions skips the patch values zero in all six (images
           that are a ReLU's outputs are mostly off, in patches) */
        sd_gemm_fields_sparse(images, corner, corner + total, kw * c, weight, y, total, k, out, relu, bias,
                              (int *)(corner + total + k));
        return 1;
    }
    float *strip = strip_scratch(step * k);
    if (strip == NULL) return 0;
    for (long r0 = 0; r0 < total; r0 += step) {
        const long rows = total - r0 < step ? total - r0 : step;
        im2col_rows(images, strip, r0, rows, h, w, c, kh, kw, stride, pad, oh, ow);
        sd_products(0, strip, weight, y + r0 * out, rows, k, out, k, 1, 6, 0, relu, bias);
    }
    return 1;
}

int sd_conv_weight_gradient(const float *images, const float *dy, float *dw, long n, long h, long w, long c, long kh,
                            long kw, long stride, long pad, long oh, long ow, long out) {
    const long k = kh * kw * c, total = n * oh * ow, step = strip_rows(k);
    if (!strips_apply(out) || total <= 0) return 0;
    if (fields_apply(pad, out)) {
        /* dW (k × out) = im2colᵀ·dY: the transpose's row p is patch index p, its column r position
           r. (Skipping the positions where dY's row is all zero saves nothing: in Pong training no
           position has every channel off, though most channels are off at most positions.) */
        const long *corner = field_offsets(n, h, w, c, kh, kw, stride, oh, ow);
        if (corner == NULL) return 0;
        sd_gemm_fields(images, corner + total, corner, dy, dw, k, total, out, 0, 0, NULL);
        return 1;
    }
    float *strip = strip_scratch(step * k);
    if (strip == NULL) return 0;
    for (long r0 = 0; r0 < total; r0 += step) {
        const long rows = total - r0 < step ? total - r0 : step;
        im2col_rows(images, strip, r0, rows, h, w, c, kh, kw, stride, pad, oh, ow);
        /* dW (k × out) += stripᵀ·dY's rows: each element's chain goes on over the rows in order */
        sd_products(0, strip, dy + r0 * out, dw, k, rows, out, 1, k, 6, r0 > 0, 0, NULL);
    }
    return 1;
}

/* The adjoint of im2col_rows: adds rows [row0, row0 + rows) of the columns (cols holds those rows
   only) onto the images they came from, row after row. */
static void col2im_rows(const float *cols, float *images, long row0, long rows, long h, long w, long c, long kh, long kw,
                        long stride, long pad, long oh, long ow) {
    long k = kh * kw * c;
    for (long r = row0; r < row0 + rows; r++) {
        long b = r / (oh * ow), y = r / ow % oh, x = r % ow;
        const float *row = cols + (r - row0) * k;
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

void sd_col2im(const float *cols, float *images, long n, long h, long w, long c, long kh, long kw, long stride,
               long pad, long oh, long ow) {
    col2im_rows(cols, images, 0, n * oh * ow, h, w, c, kh, kw, stride, pad, oh, ow);
}

int sd_conv_input_gradient(const float *dy, const float *weight, float *dx, long n, long h, long w, long c, long kh,
                           long kw, long stride, long pad, long oh, long ow, long out) {
    const long k = kh * kw * c, total = n * oh * ow, step = strip_rows(k);
    if (!strips_apply(k) || total <= 0 || out <= 0) return 0;
    float *strip = strip_scratch(step * k + out * k);
    if (strip == NULL) return 0;
    float *wt = strip + step * k; /* Wᵀ: out × k */
    sd_transpose(weight, wt, k, out);
    for (long r0 = 0; r0 < total; r0 += step) {
        const long rows = total - r0 < step ? total - r0 : step;
        /* the strip's columns' gradient dY·Wᵀ (each six rows over the channels not all zero in
           them: dY came through a ReLU), then onto the images */
        sd_gemm(dy + r0 * out, wt, strip, rows, out, k, 0, 0);
        col2im_rows(strip, dx, r0, rows, h, w, c, kh, kw, stride, pad, oh, ow);
    }
    return 1;
}

void sd_encode_bytes(const float *restrict x, unsigned char *restrict out, long n, float scale) {
    for (long i = 0; i < n; i++) {
        float v = x[i] / scale;
        v = v > 0.0f ? v : 0.0f; /* NaN too */
        v = v < 255.0f ? v : 255.0f;
        /* adding 2^23 leaves no bits below the unit: the sum is rounded to a whole number, ties
           to even, and subtracting gives it back exactly (0 ≤ v < 2^23) */
        v = (v + 8388608.0f) - 8388608.0f;
        out[i] = (unsigned char)(int)v;
    }
}

/* With C a constant the compiler converts each plane's bytes a vector at a time and writes the
   groups of C interleaved. */
#define SD_FEW_CHANNELS(C)                                                                        \
    if (channels == C) {                                                                          \
        for (long p = 0; p < plane; p++)                                                          \
            for (long c = 0; c < C; c++) out[p * C + c] = (float)planes[c * plane + p] * scale;   \
        return;                                                                                   \
    }

void sd_decode_bytes_channels_last(const unsigned char *restrict planes, float *restrict out, long channels, long plane,
                                   float scale) {
    SD_FEW_CHANNELS(1)
    SD_FEW_CHANNELS(2)
    SD_FEW_CHANNELS(3)
    SD_FEW_CHANNELS(4)
    for (long c = 0; c < channels; c++)
        for (long p = 0; p < plane; p++) out[p * channels + c] = (float)planes[c * plane + p] * scale;
}
