/* The matrix products' entry points: which kernel each shape takes, the copies it needs, and
   compaction — a product skips the inner indices, rows and columns that can only add exact zeros.

   A ReLU network's batches are full of them: in a CartPole DQN most second-layer units are
   inactive for every row of a batch (their gradient columns are all zero) and a fifth of the
   first layer's are too. Skipping a term A[i,p]·B[p,j] whose A[i,p] is zero leaves every fma
   chain with the same value, so the compacted product has the same bits as the full one: the
   tiles' chains keep their order over the remaining p, and the dot products keep each remaining
   term in its lane (pos[] below), padding short lanes with zeros. (The one difference: a zero
   times an infinite or NaN weight counts as zero here.) */
#include "ckernels.h"
#include "products.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SD_COMPACT_KEEP_EIGHTHS 7

/* One growable buffer per thread for transposed and compacted copies: allocation-free once warm. */
static _Thread_local unsigned char *arena = NULL;
static _Thread_local size_t arena_size = 0;

/* Room for the whole call's copies, carved with `take` (64-byte aligned pieces). */
static unsigned char *reserve(size_t bytes) {
    if (bytes > arena_size) {
        unsigned char *grown = realloc(arena, bytes);
        if (grown == NULL) abort(); /* out of memory for a few hundred kilobytes: nothing sensible remains */
        arena = grown;
        arena_size = bytes;
    }
    return arena;
}

static size_t take(size_t *used, size_t bytes) {
    size_t at = (*used + 63) & ~(size_t)63;
    *used = at + bytes;
    return at;
}

/* The columns of X (rows × cols, rows ld apart) holding a value other than ±0, ascending, into
   idx; returns how many. `bits`: cols words of scratch. */
/* A float's bits, read through a type that may alias it. */
typedef uint32_t sd_word __attribute__((may_alias));

static long live_columns(const float *restrict x, long rows, long cols, long ld, uint32_t *restrict bits,
                         int *restrict idx) {
    memset(bits, 0, (size_t)cols * sizeof(uint32_t));
    for (long i = 0; i < rows; i++) {
        const sd_word *restrict r = (const sd_word *)(x + i * ld);
        for (long p = 0; p < cols; p++) bits[p] |= r[p] & 0x7fffffffu;
    }
    long count = 0;
    for (long p = 0; p < cols; p++) {  /* without a branch: live and dead columns interleave at random */
        idx[count] = (int)p;
        count += bits[p] != 0;
    }
    return count;
}

static void identity(int *idx, long n) {
    for (long j = 0; j < n; j++) idx[j] = (int)j;
}

/* dst (rows × count) = the columns idx of src (rows × …, rows ld apart). */
static void gather_columns(const float *src, long rows, long ld, const int *idx, long count, float *dst) {
    for (long i = 0; i < rows; i++) {
        const float *s = src + i * ld;
        float *d = dst + i * count;
        for (long q = 0; q < count; q++) d[q] = s[idx[q]];
    }
}

/* The compacted block of C (rows ri, or all when ri is NULL; columns ci): in, when accumulating
   onto C, else zeros; and back out. */
static void gather_block(const float *c, long n, const int *ri, long mr, const int *ci, long nc, int accumulate,
                         float *block) {
    if (!accumulate) {
        memset(block, 0, (size_t)(mr * nc) * sizeof(float));
        return;
    }
    for (long r = 0; r < mr; r++)
        for (long q = 0; q < nc; q++) block[r * nc + q] = c[(ri ? ri[r] : r) * n + ci[q]];
}

static void scatter_block(const float *block, float *c, long n, const int *ri, long mr, const int *ci, long nc) {
    for (long r = 0; r < mr; r++) {
        float *cr = c + (ri ? ri[r] : r) * n;
        const float *br = block + r * nc;
        for (long q = 0; q < nc; q++) cr[ci[q]] = br[q];
    }
}

/* Compaction pays when it leaves at most 7/8 of the work and the multiply-adds it saves outweigh
   the floats it copies (a copied float costs about what 32 multiply-adds do on these kernels). */
static int pays(long kept, long total, long per_unit, long copied) {
    return kept * 8 <= total * SD_COMPACT_KEEP_EIGHTHS && (total - kept) * per_unit >= 32 * copied;
}

/* C += A·B on the tiles, A m×k row-major: each strip of six rows of A over only the inner indices
   where it is not all zero (a ReLU layer's inputs: units off for all six observations). */
static void tiles_ab(const float *a, const float *b, float *c, long m, long k, long n) {
    if (m < 12 || k < 16) return sd_products(0, a, b, c, m, k, n, k, 1, 6);
    const long strips = (m + 5) / 6;
    size_t used = 0;
    const size_t o_bits = take(&used, (size_t)k * 4), o_lists = take(&used, (size_t)(strips * k) * 4),
                 o_counts = take(&used, (size_t)strips * sizeof(long)),
                 o_range = take(&used, (size_t)(2 * strips) * sizeof(long));
    unsigned char *s = reserve(used);
    int *lists = (int *)(s + o_lists);
    long *counts = (long *)(s + o_counts), kept = 0;
    for (long t = 0; t < strips; t++) {
        const long rows = m - 6 * t < 6 ? m - 6 * t : 6;
        counts[t] = live_columns(a + 6 * t * k, rows, k, k, (uint32_t *)(s + o_bits), lists + t * k);
        kept += counts[t];
    }
    if (kept * 8 > strips * k * SD_COMPACT_KEEP_EIGHTHS) return sd_products(0, a, b, c, m, k, n, k, 1, 6);
    sd_listed_products(a, b, c, m, k, n, k, 1, lists, k, counts, (long *)(s + o_range));
}

/* C += Aᵀ·B on the tiles, `a` holding Aᵀ (k×m) and B k×n (weight gradients Xᵀ·dY): only the
   rows of C whose column of `a` is live, and the columns whose column of B is. */
static void tiles_atb(const float *a, const float *b, float *c, long m, long k, long n, int accumulate) {
    size_t used = 0;
    const size_t o_bits = take(&used, (size_t)(m > n ? m : n) * 4), o_ri = take(&used, (size_t)m * 4),
                 o_ci = take(&used, (size_t)n * 4), o_a = take(&used, (size_t)(k * m) * 4),
                 o_b = take(&used, (size_t)(k * n) * 4), o_c = take(&used, (size_t)(m * n) * 4);
    unsigned char *s = reserve(used);
    int *ri = (int *)(s + o_ri), *ci = (int *)(s + o_ci);
    uint32_t *bits = (uint32_t *)(s + o_bits);
    const long ml = live_columns(a, k, m, m, bits, ri), nl = live_columns(b, k, n, n, bits, ci);
    if (!pays(ml * nl, m * n, k, k * (ml + nl) + ml * nl * (accumulate ? 2 : 1))) return sd_products(0, a, b, c, m, k, n, 1, m, 6);
    if (ml == 0 || nl == 0) return;
    float *ac = (float *)(s + o_a), *bc = (float *)(s + o_b), *cc = (float *)(s + o_c);
    gather_columns(a, k, m, ri, ml, ac);
    gather_columns(b, k, n, ci, nl, bc);
    gather_block(c, n, ri, ml, ci, nl, accumulate, cc);
    sd_products(0, ac, bc, cc, ml, k, nl, 1, ml, 6);
    scatter_block(cc, c, n, ri, ml, ci, nl);
}

void sd_gemm(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a) {
    if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
    if (m <= 0 || n <= 0 || k <= 0) return;
    if (n < 16) {
        /* Narrow outputs (Q-value heads): dot products of A's rows with Bᵀ's rows, both contiguous. */
        size_t used = 0;
        const size_t o_bt = take(&used, (size_t)(k * n) * 4), o_at = take(&used, transposed_a ? (size_t)(m * k) * 4 : 0);
        unsigned char *s = reserve(used);
        float *bt = (float *)(s + o_bt);
        sd_transpose(b, bt, k, n);
        const float *rows = a;
        if (transposed_a) {
            float *at = (float *)(s + o_at);
            sd_transpose(a, at, k, m);
            rows = at;
        }
        sd_products(1, rows, bt, c, m, k, n, 0, 0, 4);
        return;
    }
    if (transposed_a) tiles_atb(a, b, c, m, k, n, accumulate);
    else tiles_ab(a, b, c, m, k, n);
}

/* The inner indices a compacted A·Bᵀ walks, into pos; returns how many. The tiles' chains run over p
   in order: the live indices as they are. A dot product keeps 8 lanes, p going to lane p mod 8,
   then adds the k mod 8 last terms one by one: each live index keeps its lane (position
   8q + lane), a short lane is padded with one of its own dead indices (A's column there is zero,
   so the term adds nothing, as it did in the full product), and the tail is kept whole. */
static long inner_positions(int tiles, const int *ik, long kl, long k, unsigned char *live, int *pos) {
    if (tiles) {
        memcpy(pos, ik, (size_t)kl * sizeof(int));
        return kl;
    }
    const long k8 = k / 8 * 8;
    long lane_count[8] = {0}, longest = 0;
    int dead[8] = {0};
    memset(live, 0, (size_t)k);
    for (long q = 0; q < kl; q++) live[ik[q]] = 1;
    for (long q = 0; q < kl && ik[q] < k8; q++) lane_count[ik[q] % 8]++;
    for (int l = 0; l < 8; l++) longest = lane_count[l] > longest ? lane_count[l] : longest;
    for (int l = 0; l < 8; l++)
        for (long p = l; p < k8; p += 8)
            if (!live[p]) {
                dead[l] = (int)p;
                break;
            }
    long filled[8] = {0};
    for (long q = 0; q < kl && ik[q] < k8; q++) {
        const int l = ik[q] % 8;
        pos[8 * filled[l]++ + l] = ik[q];
    }
    for (int l = 0; l < 8; l++)
        for (long f = filled[l]; f < longest; f++) pos[8 * f + l] = dead[l];
    for (long p = k8; p < k; p++) pos[8 * longest + (p - k8)] = (int)p;
    return 8 * longest + (k - k8);
}

void sd_gemm_bt_live(const float *a, const float *b, float *c, long m, long k, long n, int accumulate,
                     const float *live) {
    if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
    if (m <= 0 || n <= 0 || k <= 0) return;
    /* Short dot products, a small B, or a B that fits in L2 (256×256 floats is 256 KB) with rows
       enough to repay its copy: transposing B and using the tiles is faster (measured with
       `distill bench gemm`: 1.4–1.7× on 128–256 rows at 256 wide, ~1.1× on 32–64 rows, where the
       copy is most of the gain, so those keep the dot products and their bits). */
    const int tiles = n >= 16 && (k < 16 || k * n <= SD_GEMM_BT_TRANSPOSE_LIMIT ||
                                  (k * n <= SD_GEMM_BT_TRANSPOSE_LARGE_LIMIT && m >= SD_GEMM_BT_TRANSPOSE_ROWS));
    size_t used = 0;
    const size_t o_bits = take(&used, (size_t)(k > n ? k : n) * 4), o_ik = take(&used, (size_t)k * 4),
                 o_ci = take(&used, (size_t)n * 4), o_pos = take(&used, (size_t)k * 4),
                 o_a = take(&used, (size_t)(m * k) * 4), o_b = take(&used, (size_t)(n * k) * 4),
                 o_c = take(&used, (size_t)(m * n) * 4);
    unsigned char *s = reserve(used);
    if (m >= 8) {
        int *ik = (int *)(s + o_ik), *ci = (int *)(s + o_ci), *pos = (int *)(s + o_pos);
        uint32_t *bits = (uint32_t *)(s + o_bits);
        const long kl = live_columns(a, m, k, k, bits, ik);
        long nl = n;
        if (live) nl = live_columns(live, m, n, n, bits, ci);
        else identity(ci, n);
        if (kl == 0 || nl == 0) return;
        const long kp = inner_positions(tiles, ik, kl, k, (unsigned char *)bits, pos);
        if (pays(kp * nl, k * n, m, kp * (m + nl) + (tiles ? m * nl * (accumulate ? 2 : 1) : 0))) {
            float *ac = (float *)(s + o_a), *bc = (float *)(s + o_b), *cc = (float *)(s + o_c);
            gather_columns(a, m, k, pos, kp, ac);
            if (tiles) {
                gather_block(c, n, NULL, m, ci, nl, accumulate, cc);
                for (long q = 0; q < kp; q++)
                    for (long j = 0; j < nl; j++) bc[q * nl + j] = b[(long)ci[j] * k + pos[q]];
                sd_products(0, ac, bc, cc, m, kp, nl, kp, 1, 6);
                scatter_block(cc, c, n, NULL, m, ci, nl);
            } else {
                for (long j = 0; j < nl; j++) gather_columns(b + (long)ci[j] * k, 1, k, pos, kp, bc + j * kp);
                sd_dots_to_columns(ac, bc, c, m, kp, nl, n, ci);
            }
            return;
        }
    }
    if (tiles) {
        float *bt = (float *)(s + o_b);
        sd_transpose(b, bt, n, k);
        sd_products(0, a, bt, c, m, k, n, k, 1, 6);
    } else {
        sd_products(1, a, b, c, m, k, n, 0, 0, 4);
    }
}

void sd_gemm_bt(const float *a, const float *b, float *c, long m, long k, long n, int accumulate) {
    sd_gemm_bt_live(a, b, c, m, k, n, accumulate, NULL);
}
