/* The matrix products' entry points: which kernel each shape takes, the copies it needs, and
   compaction — a product skips the inner indices, rows and columns that can only add exact zeros.

   A ReLU network's batches are full of them: in a CartPole DQN most second-layer units are
   inactive for every row of a batch (their gradient columns are all zero) and a fifth of the
   first layer's are too. Skipping a term A[i,p]·B[p,j] whose A[i,p] is zero leaves every fma
   chain with the same value, so the compacted product has the same bits as the full one: the
   tiles' chains keep their order over the remaining p, and the dot products keep each remaining
   term in its lane (pos[] below), padding a short lane with one of its own dead indices. (The one
   difference: a zero times an infinite or NaN weight counts as zero here.) */
#include "ckernels.h"
#include "products.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SD_COMPACT_KEEP_EIGHTHS 7
/* Products under this many multiply-adds are not worth scanning for zeros. */
#define SD_COMPACT_MIN_FMAS (1L << 17)

/* One growable buffer per thread for transposed and compacted copies: allocation-free once warm. */
static _Thread_local unsigned char *arena = NULL;
static _Thread_local size_t arena_size = 0;

/* A second one for what a caller computes before the products and hands to them (their own
   scratch comes from `arena`, which they may grow and so move). */
static _Thread_local unsigned char *held = NULL;
static _Thread_local size_t held_size = 0;

/* Live columns found beforehand (one scan shared by two products); NULL where not known. */
typedef struct {
    const int *idx;
    long count;
} sd_live;

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

static unsigned char *reserve_held(size_t bytes) {
    if (bytes > held_size) {
        unsigned char *grown = realloc(held, bytes);
        if (grown == NULL) abort();
        held = grown;
        held_size = bytes;
    }
    return held;
}

static size_t take(size_t *used, size_t bytes) {
    size_t at = (*used + 63) & ~(size_t)63;
    *used = at + bytes;
    return at;
}

/* A float's bits, and four of them, read through types that may alias floats. */
typedef uint32_t sd_word __attribute__((may_alias));
typedef uint32_t sd_words4 __attribute__((vector_size(16), aligned(4), may_alias));

/* The columns of X (rows × cols, rows ld apart) holding a value other than ±0, ascending, into
   idx; returns how many. Sixteen columns at a time, their bits OR-ed down the rows in vector
   registers, and the indices written without a branch (live and dead columns interleave at random). */
static long live_columns(const float *restrict x, long rows, long cols, long ld, int *restrict idx) {
    long count = 0, p = 0;
    for (; p + 16 <= cols; p += 16) {
        sd_words4 any[4] = {{0}};
        for (long i = 0; i < rows; i++) {
            const sd_words4 *r = (const sd_words4 *)(x + i * ld + p);
            for (int v = 0; v < 4; v++) any[v] |= r[v];
        }
        for (int t = 0; t < 16; t++) {
            idx[count] = (int)(p + t);
            count += (any[t / 4][t % 4] & 0x7fffffffu) != 0;
        }
    }
    for (; p < cols; p++) {
        uint32_t any = 0;
        for (long i = 0; i < rows; i++) any |= *(const sd_word *)(x + i * ld + p);
        idx[count] = (int)p;
        count += (any & 0x7fffffffu) != 0;
    }
    return count;
}

/* live_columns, or the known list copied. */
static long live_or_known(const float *x, long rows, long cols, long ld, int *idx, const sd_live *known) {
    if (known == NULL) return live_columns(x, rows, cols, ld, idx);
    memcpy(idx, known->idx, (size_t)known->count * sizeof(int));
    return known->count;
}

/* live_columns of X (rows × cols, row-major), and out[j] = Σ_i X[i, j] summed in row order (as
   sd_sum_rows), in one pass. */
static long live_columns_and_sums(const float *restrict x, long rows, long cols, int *restrict idx, float *restrict out) {
    typedef float f4 __attribute__((vector_size(16), aligned(4)));
    long count = 0, p = 0;
    for (; p + 16 <= cols; p += 16) {
        sd_words4 any[4] = {{0}};
        f4 sum[4] = {{0}};
        for (long i = 0; i < rows; i++) {
            const sd_words4 *r = (const sd_words4 *)(x + i * cols + p);
            const f4 *v = (const f4 *)(x + i * cols + p);
            for (int q = 0; q < 4; q++) {
                any[q] |= r[q];
                sum[q] += v[q];
            }
        }
        for (int q = 0; q < 4; q++) *(f4 *)(out + p + 4 * q) = sum[q];
        for (int t = 0; t < 16; t++) {
            idx[count] = (int)(p + t);
            count += (any[t / 4][t % 4] & 0x7fffffffu) != 0;
        }
    }
    for (; p < cols; p++) {
        uint32_t any = 0;
        float sum = 0;
        for (long i = 0; i < rows; i++) {
            any |= *(const sd_word *)(x + i * cols + p);
            sum += x[i * cols + p];
        }
        out[p] = sum;
        idx[count] = (int)p;
        count += (any & 0x7fffffffu) != 0;
    }
    return count;
}

static void identity(int *idx, long n) {
    for (long j = 0; j < n; j++) idx[j] = (int)j;
}

/* Appends dead columns (not among the count ascending live ones in idx) until count is a multiple
   of 16 or all n are listed; returns the new count. A column of B that is all zero adds exact
   zeros to C — the product it gives is what the whole product gives there — so padding costs a
   few multiply-adds and spares the tiles their slow column remainder. */
static long pad_columns(int *idx, long count, long n) {
    long target = (count + 15) / 16 * 16;
    if (target > n) target = n;
    for (long j = 0, q = 0, live = count; count < target && j < n; j++) {
        if (q < live && idx[q] == j) {
            q++;
            continue;
        }
        idx[count++] = (int)j;
    }
    return count;
}

/* dst (rows × count) = the columns idx of src (rows × …, rows ld apart). */
static void gather_columns(const float *src, long rows, long ld, const int *idx, long count, float *dst) {
    for (long i = 0; i < rows; i++) {
        const float *s = src + i * ld;
        float *d = dst + i * count;
        for (long q = 0; q < count; q++) d[q] = s[idx[q]];
    }
}

/* The compacted block of C (rows ri, or all when ri is NULL; columns ci), to accumulate onto; and
   back out. */
static void gather_block(const float *c, long n, const int *ri, long mr, const int *ci, long nc, float *block) {
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

/* C (m×n) = the block where it belongs (rows ri, ascending, or all when ri is NULL; columns ci)
   and +0 elsewhere, each row of C written while it is in L1. */
static void expand_block(const float *block, float *c, long m, long n, const int *ri, long mr, const int *ci, long nc) {
    for (long i = 0, r = 0; i < m; i++) {
        float *cr = c + i * n;
        memset(cr, 0, (size_t)n * sizeof(float));
        if (r < mr && (ri == NULL || ri[r] == i)) {
            const float *br = block + r++ * nc;
            for (long q = 0; q < nc; q++) cr[ci[q]] = br[q];
        }
    }
}

/* Zeros the columns of C (m×n) not among the nl ascending indices ci (keep: n words of scratch):
   a bit mask per column, so each row is one vector pass. */
static void zero_other_columns(float *c, long m, long n, const int *ci, long nl, uint32_t *restrict keep) {
    memset(keep, 0, (size_t)n * sizeof(uint32_t));
    for (long q = 0; q < nl; q++) keep[ci[q]] = 0xffffffffu;
    for (long i = 0; i < m; i++) {
        sd_word *restrict row = (sd_word *)(c + i * n);
        for (long j = 0; j < n; j++) row[j] &= keep[j];
    }
}

/* Compaction pays when it leaves at most 7/8 of the work and the multiply-adds it saves outweigh
   the floats it copies (a copied float costs about what 32 multiply-adds do on these kernels). */
static int pays(long kept, long total, long per_unit, long copied) {
    return kept * 8 <= total * SD_COMPACT_KEEP_EIGHTHS && (total - kept) * per_unit >= 32 * copied;
}

/* C += A·B (= A·B + bias when !accumulate, bias NULL meaning 0; stored through a ReLU when relu)
   on the tiles, A m×k row-major: each strip of SD_LISTED_ROWS rows of A over only the inner
   indices where it is not all zero (a ReLU layer's inputs: units off for all six observations). */
static void tiles_ab(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int relu,
                     const float *bias) {
    if (k < 16 || n < 8 || m * k * n < SD_COMPACT_MIN_FMAS / 4)
        return sd_products(0, a, b, c, m, k, n, k, 1, 6, accumulate, relu, bias);
    const long strips = (m + SD_LISTED_ROWS - 1) / SD_LISTED_ROWS;
    size_t used = 0;
    const size_t o_lists = take(&used, (size_t)(strips * k) * 4),
                 o_counts = take(&used, (size_t)strips * sizeof(long)),
                 o_range = take(&used, (size_t)(2 * strips) * sizeof(long)),
                 o_packed = take(&used, (size_t)(strips * k * SD_LISTED_ROWS) * sizeof(float));
    unsigned char *s = reserve(used);
    int *lists = (int *)(s + o_lists);
    long *counts = (long *)(s + o_counts), kept = 0;
    for (long t = 0; t < strips; t++) {
        const long rows = m - SD_LISTED_ROWS * t < SD_LISTED_ROWS ? m - SD_LISTED_ROWS * t : SD_LISTED_ROWS;
        counts[t] = live_columns(a + SD_LISTED_ROWS * t * k, rows, k, k, lists + t * k);
        kept += counts[t];
    }
    if (kept * 8 > strips * k * SD_COMPACT_KEEP_EIGHTHS) return sd_products(0, a, b, c, m, k, n, k, 1, 6, accumulate, relu, bias);
    sd_listed_products(a, b, c, m, k, n, k, 1, lists, k, counts, (long *)(s + o_range), (float *)(s + o_packed), relu,
                       accumulate, bias);
}

/* C += Aᵀ·B on the tiles, `a` holding Aᵀ (k×m) and B k×n (weight gradients Xᵀ·dY): only the
   columns of C whose column of B is live, and only the rows whose column of `a` is, when that
   saves more than gathering `a`'s live columns costs. */
static void tiles_atb(const float *a, const float *b, float *c, long m, long k, long n, int accumulate,
                      const sd_live *known_a, const sd_live *known_b) {
    if (m * k * n < SD_COMPACT_MIN_FMAS) return sd_products(0, a, b, c, m, k, n, 1, m, 6, accumulate, 0, NULL);
    size_t used = 0;
    const size_t o_ri = take(&used, (size_t)m * 4),
                 o_ci = take(&used, (size_t)n * 4), o_a = take(&used, (size_t)(k * m) * 4),
                 o_b = take(&used, (size_t)(k * n) * 4), o_c = take(&used, (size_t)(m * n) * 4);
    unsigned char *s = reserve(used);
    int *ri = (int *)(s + o_ri), *ci = (int *)(s + o_ci);
    long ml = live_or_known(a, k, m, m, ri, known_a);
    long nl = live_or_known(b, k, n, n, ci, known_b);
    if (ml == 0 || nl == 0) {
        if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    /* rows: the fmas saved (16 a cycle) against the floats gathered (about one a cycle) */
    nl = pad_columns(ci, nl, n);
    const int rows_too = (m - ml) * nl > 16 * ml;
    if (!rows_too) ml = m;
    if (!pays(ml * nl, m * n, k, k * ((rows_too ? ml : 0) + nl) + ml * nl * (accumulate ? 2 : 1)))
        return sd_products(0, a, b, c, m, k, n, 1, m, 6, accumulate, 0, NULL);
    float *ac = (float *)(s + o_a), *bc = (float *)(s + o_b), *cc = (float *)(s + o_c);
    if (rows_too) gather_columns(a, k, m, ri, ml, ac);
    gather_columns(b, k, n, ci, nl, bc);
    if (accumulate) gather_block(c, n, rows_too ? ri : NULL, ml, ci, nl, cc);
    sd_products(0, rows_too ? ac : a, bc, cc, ml, k, nl, 1, ml, 6, accumulate, 0, NULL);
    if (accumulate) scatter_block(cc, c, n, rows_too ? ri : NULL, ml, ci, nl);
    else expand_block(cc, c, m, n, rows_too ? ri : NULL, ml, ci, nl);
}

void sd_gemm(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* an empty sum */
        if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
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
        sd_products(1, rows, bt, c, m, k, n, 0, 0, 4, accumulate, 0, NULL);
        return;
    }
    if (transposed_a) tiles_atb(a, b, c, m, k, n, accumulate, NULL, NULL);
    else tiles_ab(a, b, c, m, k, n, accumulate, 0, NULL);
}

void sd_linear(const float *x, const float *w, const float *bias, float *y, long m, long k, long n, int relu) {
    if (m <= 0 || n <= 0) return;
    if (k > 0 && n >= 16) return tiles_ab(x, w, y, m, k, n, 0, relu, bias);
    /* narrow outputs (dot products) and empty sums: the bias rows, the product added, then the ReLU */
    for (long i = 0; i < m; i++) memcpy(y + i * n, bias, (size_t)n * sizeof(float));
    if (k > 0) sd_gemm(x, w, y, m, k, n, 1, 0);
    if (relu)
        for (long i = 0; i < m * n; i++) y[i] = y[i] < 0 ? 0.0f : y[i];
}

/* The products without looking for zero columns, for dense operands (a convolution's im2col
   columns), where the scan and the packing cost more than they save: the same bits as sd_gemm and
   sd_linear, which skip only terms that add exact zeros. */
void sd_gemm_dense(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a) {
    if (m <= 0 || n < 16 || k <= 0) return sd_gemm(a, b, c, m, k, n, accumulate, transposed_a);
    if (transposed_a) sd_products(0, a, b, c, m, k, n, 1, m, 6, accumulate, 0, NULL);
    else sd_products(0, a, b, c, m, k, n, k, 1, 6, accumulate, 0, NULL);
}

void sd_linear_dense(const float *x, const float *w, const float *bias, float *y, long m, long k, long n, int relu) {
    if (m > 0 && k > 0 && n >= 16) return sd_products(0, x, w, y, m, k, n, k, 1, 6, 0, relu, bias);
    sd_linear(x, w, bias, y, m, k, n, relu);
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

/* Where each strip of four rows of the mask X (m×n, row-major) holds a value other than ±0,
   among its live columns ci[0 .. nl): the positions j in ci, strip s's at rows[starts[s] ..
   starts[s+1]). A ReLU's layer is far sparser by rows than by columns (in a CartPole run 65% of
   a row's units are inactive, 48% of a batch's), so a strip's elements the mask zeroes are
   left out of its dot products. */
static void strip_lists(const float *x, long m, long n, const int *ci, long nl, int *rows, long *starts,
                        uint32_t *any) {
    long count = 0;
    for (long s = 0; s < m / 4; s++) {
        starts[s] = count;
        const float *r0 = x + 4 * s * n;
        long p = 0;
        for (; p + 4 <= n; p += 4) { /* the four rows' bits OR-ed, four columns at a time */
            sd_words4 v = *(const sd_words4 *)(r0 + p) | *(const sd_words4 *)(r0 + n + p) |
                          *(const sd_words4 *)(r0 + 2 * n + p) | *(const sd_words4 *)(r0 + 3 * n + p);
            *(sd_words4 *)(any + p) = v;
        }
        for (; p < n; p++)
            any[p] = *(const sd_word *)(r0 + p) | *(const sd_word *)(r0 + n + p) | *(const sd_word *)(r0 + 2 * n + p) |
                     *(const sd_word *)(r0 + 3 * n + p);
        for (long j = 0; j < nl; j++) {
            rows[count] = (int)j;
            count += (any[ci[j]] & 0x7fffffffu) != 0;
        }
    }
    starts[m / 4] = count;
}

/* Whether bt_live takes wide_fields: one thread, a wide layer (Bᵀ too large to transpose for the
   tiles each call, so it would take the dot products) and a batch of whole vectors. */
static int wide_fields_apply(int tiles, int accumulate, long m, long k, long n) {
    return !tiles && !accumulate && m >= 16 && m % 16 == 0 && k * n > SD_GEMM_BT_TRANSPOSE_LARGE_LIMIT && sd_threads() == 1;
}

/* C (m×n) = A·Bᵀ (A m×k, B n×k) for a wide layer's input gradient (dX = dY·Wᵀ, W stored n×k as
   in × out), as Cᵀ = B·Aᵀ on the tiles: B's rows read in place at the live columns ci (the rows
   of Cᵀ) and the live inner indices ik (A's columns that are not all zero), through offset tables
   (sd_gemm_fields), so neither B's transpose nor a gathered copy of it is made. Each element is
   the tiles' one fma chain over the inner indices in order, skipping exact zeros: the bits of the
   full tile product. C's other columns are +0, or left as they are when masked_later. Scratch:
   at, k·m floats; ro, n longs; co, k longs; ct and rows, n·m floats each. */
static void wide_fields(const float *a, const float *b, float *c, long m, long k, long n, const int *ik, long kl,
                        const int *ci, long nl, int masked_later, float *at, long *ro, long *co, float *ct, float *rows) {
    for (long q = 0; q < kl; q++) {
        co[q] = ik[q];
        for (long r = 0; r < m; r++) at[q * m + r] = a[r * k + ik[q]];
    }
    for (long i = 0; i < nl; i++) ro[i] = (long)ci[i] * k;
    sd_gemm_fields(b, ro, co, at, ct, nl, kl, m, 0, 0, NULL);
    if (nl == n) {
        sd_transpose(ct, c, nl, m);
        return;
    }
    sd_transpose(ct, rows, nl, m);
    if (!masked_later) memset(c, 0, (size_t)(m * n) * sizeof(float));
    for (long r = 0; r < m; r++) {
        float *cr = c + r * n;
        const float *from = rows + r * nl;
        for (long i = 0; i < nl; i++) cr[ci[i]] = from[i];
    }
}

/* sd_gemm_bt_live with the scans the caller may already have made; with live_masked_later (not
   accumulating), the masked columns, and a strip of four rows' elements where all four are
   masked, may be left as garbage: the caller zeroes them. */
static void bt_live(const float *a, const float *b, float *c, long m, long k, long n, int accumulate,
                    const float *live, const sd_live *known_a, const sd_live *known_live, int live_masked_later) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* an empty sum */
        if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    /* Short dot products, a small B, or a B that fits in L2 (256×256 floats is 256 KB) with rows
       enough to repay its copy: transposing B and using the tiles is faster (measured with
       `distill bench gemm`: 1.4–1.7× on 128–256 rows at 256 wide, ~1.1× on 32–64 rows, where the
       copy is most of the gain, so those keep the dot products and their bits). */
    const int tiles = n >= 16 && (k < 16 || k * n <= SD_GEMM_BT_TRANSPOSE_LIMIT ||
                                  (k * n <= SD_GEMM_BT_TRANSPOSE_LARGE_LIMIT && m >= SD_GEMM_BT_TRANSPOSE_ROWS));
    size_t used = 0;
    const size_t o_live = take(&used, (size_t)k), o_ik = take(&used, (size_t)k * 4),
                 o_ci = take(&used, (size_t)n * 4), o_keep = take(&used, (size_t)n * 4), o_pos = take(&used, (size_t)k * 4),
                 o_a = take(&used, (size_t)(m * k) * 4), o_b = take(&used, (size_t)(n * k) * 4),
                 o_c = take(&used, (size_t)(m * n + (tiles ? k * n : 0)) * 4), /* C', then Bᵀ for the tiles */
                 o_rows = take(&used, live_masked_later ? (size_t)(m / 4 * n) * 4 : 0),
                 o_starts = take(&used, live_masked_later ? (size_t)(m / 4 + 1) * 8 : 0),
                 o_any = take(&used, live_masked_later ? (size_t)n * 4 : 0);
    const int wide = wide_fields_apply(tiles, accumulate, m, k, n);
    const size_t o_wat = take(&used, wide ? (size_t)(k * m) * 4 : 0), o_wro = take(&used, wide ? (size_t)n * sizeof(long) : 0),
                 o_wco = take(&used, wide ? (size_t)k * sizeof(long) : 0), o_wct = take(&used, wide ? (size_t)(n * m) * 4 : 0),
                 o_wrows = take(&used, wide ? (size_t)(n * m) * 4 : 0);
    unsigned char *s = reserve(used);
    /* Accumulating under a live mask takes the compacted path whatever the shape, so masked
       columns keep what they held; otherwise small products run whole and are masked after. */
    if ((live && accumulate) || (m >= 8 && m * k * n >= SD_COMPACT_MIN_FMAS)) {
        int *ik = (int *)(s + o_ik), *ci = (int *)(s + o_ci), *pos = (int *)(s + o_pos);
        const long kl = live_or_known(a, m, k, k, ik, known_a);
        long nl = n;
        if (live) nl = live_or_known(live, m, n, n, ci, known_live);
        else identity(ci, n);
        if (kl == 0 || nl == 0) { /* the product is 0, or every column masked */
            if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
            return;
        }
        if (wide)
            return wide_fields(a, b, c, m, k, n, ik, kl, ci, nl, live_masked_later, (float *)(s + o_wat), (long *)(s + o_wro),
                               (long *)(s + o_wco), (float *)(s + o_wct), (float *)(s + o_wrows));
        const long kp = inner_positions(tiles, ik, kl, k, s + o_live, pos);
        if ((live && accumulate) || pays(kp * nl, k * n, m, kp * (m + nl) + (tiles ? m * nl * (accumulate ? 2 : 1) : 0))) {
            float *ac = (float *)(s + o_a), *bc = (float *)(s + o_b), *cc = (float *)(s + o_c);
            gather_columns(a, m, k, pos, kp, ac);
            if (tiles) {
                /* Bᵀ by the register-block transpose, then its live rows and columns row by row */
                float *bt = cc + m * n;
                sd_transpose(b, bt, n, k);
                if (accumulate) gather_block(c, n, NULL, m, ci, nl, cc);
                for (long q = 0; q < kp; q++) {
                    const float *row = bt + (long)pos[q] * n;
                    float *to = bc + q * nl;
                    if (nl == n) memcpy(to, row, (size_t)n * sizeof(float));
                    else for (long j = 0; j < nl; j++) to[j] = row[ci[j]];
                }
                sd_products(0, ac, bc, cc, m, kp, nl, kp, 1, 6, accumulate, 0, NULL);
                if (accumulate) scatter_block(cc, c, n, NULL, m, ci, nl);
                else expand_block(cc, c, m, n, NULL, m, ci, nl);
            } else {
                for (long j = 0; j < nl; j++) gather_columns(b + (long)ci[j] * k, 1, k, pos, kp, bc + j * kp);
                if (live_masked_later && m >= 4) {
                    /* each strip of four rows only where the mask keeps one of its elements */
                    int *rows = (int *)(s + o_rows);
                    long *starts = (long *)(s + o_starts);
                    strip_lists(live, m, n, ci, nl, rows, starts, (uint32_t *)(s + o_any));
                    sd_dots_to_columns(ac, bc, c, m, kp, nl, n, ci, accumulate, rows, starts);
                } else {
                    if (!accumulate && nl < n && !live_masked_later) zero_other_columns(c, m, n, ci, nl, (uint32_t *)(s + o_keep));
                    sd_dots_to_columns(ac, bc, c, m, kp, nl, n, ci, accumulate, NULL, NULL);
                }
            }
            return;
        }
    }
    if (tiles) {
        float *bt = (float *)(s + o_b);
        sd_transpose(b, bt, n, k);
        sd_products(0, a, bt, c, m, k, n, k, 1, 6, accumulate, 0, NULL);
    } else {
        sd_products(1, a, b, c, m, k, n, 0, 0, 4, accumulate, 0, NULL);
    }
    if (live) { /* not accumulating: zero the masked columns */
        int *ci = (int *)(s + o_ci);
        const long nl = live_or_known(live, m, n, n, ci, known_live);
        if (nl < n && !live_masked_later) zero_other_columns(c, m, n, ci, nl, (uint32_t *)(s + o_keep));
    }
}

void sd_gemm_bt_live(const float *a, const float *b, float *c, long m, long k, long n, int accumulate,
                     const float *live) {
    bt_live(a, b, c, m, k, n, accumulate, live, NULL, NULL, 0);
}

void sd_gemm_bt(const float *a, const float *b, float *c, long m, long k, long n, int accumulate) {
    bt_live(a, b, c, m, k, n, accumulate, NULL, NULL, NULL, 0);
}

/* The ReLU's backward pass in place: g where the ReLU's output y is positive, else +0 (a select
   the compiler vectorises; NaN outputs pass nothing). */
static void through_relu(float *restrict g, const float *restrict y, long count) {
    for (long i = 0; i < count; i++) {
        const float v = g[i]; /* read whatever y says, so the loop has no branch */
        g[i] = y[i] > 0 ? v : 0.0f;
    }
}

void sd_dense_backward(const float *x, const float *dy, const float *w, float *dw, float *db, float *dx, long m,
                       long k, long n, int relu) {
    if (m <= 0 || n <= 0 || k <= 0) { /* empty sums */
        memset(dw, 0, (size_t)(k * n) * sizeof(float));
        memset(db, 0, (size_t)n * sizeof(float));
        if (dx) memset(dx, 0, (size_t)(m * k) * sizeof(float));
        return;
    }
    size_t used = 0;
    const size_t o_x = take(&used, (size_t)k * 4), o_dy = take(&used, (size_t)n * 4);
    unsigned char *s = reserve_held(used);
    int *x_idx = (int *)(s + o_x), *dy_idx = (int *)(s + o_dy);
    const sd_live dy_live = {dy_idx, live_columns_and_sums(dy, m, n, dy_idx, db)};
    const sd_live x_live = {x_idx, live_columns(x, m, k, k, x_idx)};
    /* dW = Xᵀ·dY: X read in place as Aᵀ (what sd_gemm does with transposed_a) */
    if (n < 16) sd_gemm(x, dy, dw, k, m, n, 0, 1);
    else tiles_atb(x, dy, dw, k, m, n, 0, &x_live, &dy_live);
    if (dx == NULL) return;
    /* with relu, the ReLU's mask below zeroes the columns where x is all zero: bt_live need not */
    bt_live(dy, w, dx, m, n, k, 0, relu ? x : NULL, &dy_live, relu ? &x_live : NULL, relu);
    if (relu) through_relu(dx, x, m * k);
}

void sd_sum_rows(const float *restrict x, float *restrict out, long m, long n) {
    memset(out, 0, (size_t)n * sizeof(float));
    for (long i = 0; i < m; i++) {
        const float *restrict row = x + i * n;
        for (long j = 0; j < n; j++) out[j] += row[j];
    }
}
