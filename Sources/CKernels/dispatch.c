/* Chooses the kernels for this CPU once, at first use, and holds the entry points that call them. */
#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

#define SD_DECLARE(isa)                                                                                          \
    void sd_gemm_accumulate_##isa(const float *, const float *, float *, long, long, long, long, long);         \
    void sd_dots_accumulate_##isa(const float *, const float *, float *, long, long, long);                     \
    float sd_dot_##isa(const float *, const float *, long);                                                    \
    void sd_adam_##isa(float *, const float *, float *, float *, long, float, float, float, float, float);      \
    void sd_dense_forward_##isa(const float *, long, const float *, const float *, long, int, float *);

SD_DECLARE(portable)
#if defined(__x86_64__)
SD_DECLARE(avx2)
SD_DECLARE(avx512)
#endif

typedef struct {
    const char *name;
    void (*gemm)(const float *, const float *, float *, long, long, long, long, long);
    void (*dots)(const float *, const float *, float *, long, long, long);
    float (*dot)(const float *, const float *, long);
    void (*adam)(float *, const float *, float *, float *, long, float, float, float, float, float);
    void (*dense)(const float *, long, const float *, const float *, long, int, float *);
} sd_kernel_table;

#define SD_TABLE(isa) {#isa, sd_gemm_accumulate_##isa, sd_dots_accumulate_##isa, sd_dot_##isa, sd_adam_##isa, \
                       sd_dense_forward_##isa}

static const sd_kernel_table tables[] = {
    SD_TABLE(portable),
#if defined(__x86_64__)
    SD_TABLE(avx2),
    SD_TABLE(avx512),
#endif
};

static int supported(int index) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (index == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (index == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return index == 0;
}

static int best(void) {
    for (int i = (int)(sizeof tables / sizeof tables[0]) - 1; i > 0; i--)
        if (supported(i)) return i;
    return 0;
}

/* -1 until first use; a plain int read and written whole, and every thread that races to set it
   writes the same value. */
static int selected = -1;

/* A choice for the calling thread only (tests compare instruction sets side by side with it). */
static _Thread_local int thread_selected = -1;

static int runnable_index(const char *name);

static const sd_kernel_table *kernels(void) {
    if (thread_selected >= 0) return &tables[thread_selected];
    int s = __atomic_load_n(&selected, __ATOMIC_RELAXED);
    if (s < 0) {
        /* SWIFT_DISTILL_KERNELS names a set to use instead of the widest (ignored when this CPU
           cannot run it; front ends check `sd_kernel_requested_is_usable` and say so). */
        const char *requested = getenv("SWIFT_DISTILL_KERNELS");
        s = requested && *requested && runnable_index(requested) >= 0 ? runnable_index(requested) : best();
        __atomic_store_n(&selected, s, __ATOMIC_RELAXED);
    }
    return &tables[s];
}

const char *sd_kernel_name(void) { return kernels()->name; }

const char *sd_kernel_best_name(void) { return tables[best()].name; }

static int runnable_index(const char *name) {
    for (int i = 0; i < (int)(sizeof tables / sizeof tables[0]); i++)
        if (strcmp(tables[i].name, name) == 0) return supported(i) ? i : -1;
    return -1;
}

int sd_kernel_requested_is_usable(void) {
    const char *requested = getenv("SWIFT_DISTILL_KERNELS");
    return requested == NULL || *requested == 0 || runnable_index(requested) >= 0;
}

int sd_kernel_select(const char *name) {
    int i = runnable_index(name);
    if (i < 0) return 0;
    __atomic_store_n(&selected, i, __ATOMIC_RELAXED);
    return 1;
}

int sd_kernel_select_for_thread(const char *name) {
    if (name == NULL) {
        thread_selected = -1;
        return 1;
    }
    int i = runnable_index(name);
    if (i < 0) return 0;
    thread_selected = i;
    return 1;
}

const char *sd_kernel_names(void) {
#if defined(__x86_64__)
    return "portable, avx2, avx512";
#else
    return "portable";
#endif
}

/* One growable scratch buffer per thread for transposed copies: allocation-free once warm. */
static _Thread_local float *scratch_buffer = NULL;
static _Thread_local size_t scratch_count = 0;

static float *scratch(size_t count) {
    if (count > scratch_count) {
        float *grown = realloc(scratch_buffer, count * sizeof(float));
        if (grown == NULL) abort(); /* out of memory for a few hundred kilobytes: nothing sensible remains */
        scratch_buffer = grown;
        scratch_count = count;
    }
    return scratch_buffer;
}

static void transpose(const float *src, float *dst, long rows, long cols) {
    const long block = 32;
    for (long i0 = 0; i0 < rows; i0 += block)
        for (long j0 = 0; j0 < cols; j0 += block) {
            long i1 = i0 + block < rows ? i0 + block : rows, j1 = j0 + block < cols ? j0 + block : cols;
            for (long i = i0; i < i1; i++)
                for (long j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
        }
}

void sd_transpose(const float *src, float *dst, long rows, long cols) { transpose(src, dst, rows, cols); }

void sd_gemm(const float *a, const float *b, float *c, long m, long k, long n, int accumulate, int transposed_a) {
    if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
    if (m <= 0 || n <= 0 || k <= 0) return;
    const sd_kernel_table *t = kernels();
    if (n < 16) {
        /* Narrow outputs (Q-value heads): dot products of A's rows with Bᵀ's rows, both contiguous. */
        float *bt = scratch((size_t)(k * n) + (transposed_a ? (size_t)(m * k) : 0));
        transpose(b, bt, k, n);
        const float *rows = a;
        if (transposed_a) {
            float *at = bt + k * n;
            transpose(a, at, k, m);
            rows = at;
        }
        t->dots(rows, bt, c, m, k, n);
        return;
    }
    if (transposed_a) t->gemm(a, b, c, m, k, n, 1, m);
    else t->gemm(a, b, c, m, k, n, k, 1);
}

void sd_gemm_bt(const float *a, const float *b, float *c, long m, long k, long n, int accumulate) {
    if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
    if (m <= 0 || n <= 0 || k <= 0) return;
    const sd_kernel_table *t = kernels();
    if (n >= 16 && (k < 16 || k * n <= SD_GEMM_BT_TRANSPOSE_LIMIT)) {
        /* Short dot products or a small B: transposing B and using the tiles is faster (measured). */
        float *bt = scratch((size_t)(k * n));
        transpose(b, bt, n, k);
        t->gemm(a, bt, c, m, k, n, k, 1);
        return;
    }
    t->dots(a, b, c, m, k, n);
}

float sd_dot(const float *x, const float *y, long count) { return kernels()->dot(x, y, count); }

void sd_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n, float b1,
             float b2, float step, float inv_sqrt_c2, float eps) {
    kernels()->adam(p, g, m, v, n, b1, b2, step, inv_sqrt_c2, eps);
}

void sd_dense_forward(const float *restrict x, long in, const float *restrict w, const float *restrict b, long out,
                      int act, float *restrict y) {
    kernels()->dense(x, in, w, b, out, act, y);
}
