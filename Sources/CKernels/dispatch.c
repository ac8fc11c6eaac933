/* Chooses the kernels for this CPU once, at first use, and holds the entry points that call them. */
#include "ckernels.h"
#include "products.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define SD_DECLARE(isa)                                                                                          \
    void sd_gemm_accumulate_##isa(const float *, const float *, float *, long, long, long, long, long, int, int, \
                                  const float *);                                                              \
    void sd_gemm_listed_accumulate_##isa(const float *, const float *, float *, long, long, long, long, long,   \
                                         const int *, long, const long *, long *, float *, int, int,           \
                                         const float *);                                                       \
    void sd_dots_accumulate_##isa(const float *, const float *, float *, long, long, long, int);                \
    void sd_dots_to_columns_accumulate_##isa(const float *, const float *, float *, long, long, long, long,      \
                                             const int *, int, const int *, const long *);                     \
    float sd_dot_##isa(const float *, const float *, long);                                                    \
    float sd_sum_squares_##isa(const float *, long);                                                           \
    void sd_adam_##isa(float *, const float *, float *, float *, long, float, float, float, float, float);      \
    void sd_dense_forward_##isa(const float *, long, const float *, const float *, long, int, float *);         \
    void sd_transpose_##isa(const float *, float *, long, long);                                                \
    void sd_gemm_fields_##isa(const float *, const long *, const long *, const float *, float *, long, long, long, \
                              int, int, const float *);                                                        \
    void sd_gemm_fields_sparse_##isa(const float *, const long *, const long *, long, const float *, float *, long, \
                                     long, long, int, const float *, int *);

SD_DECLARE(portable)
#if defined(__x86_64__)
SD_DECLARE(avx2)
SD_DECLARE(avx512)
#endif

typedef struct {
    const char *name;
    void (*gemm)(const float *, const float *, float *, long, long, long, long, long, int, int, const float *);
    void (*listed)(const float *, const float *, float *, long, long, long, long, long, const int *, long, const long *,
                   long *, float *, int, int, const float *);
    void (*dots)(const float *, const float *, float *, long, long, long, int);
    void (*dots_to_columns)(const float *, const float *, float *, long, long, long, long, const int *, int, const int *,
                            const long *);
    float (*dot)(const float *, const float *, long);
    float (*sum_squares)(const float *, long);
    void (*adam)(float *, const float *, float *, float *, long, float, float, float, float, float);
    void (*dense)(const float *, long, const float *, const float *, long, int, float *);
    void (*transpose)(const float *, float *, long, long);
    void (*fields)(const float *, const long *, const long *, const float *, float *, long, long, long, int, int,
                   const float *);
    void (*fields_sparse)(const float *, const long *, const long *, long, const float *, float *, long, long, long, int,
                          const float *, int *);
} sd_kernel_table;

#define SD_TABLE(isa) {#isa, sd_gemm_accumulate_##isa, sd_gemm_listed_accumulate_##isa, sd_dots_accumulate_##isa, sd_dots_to_columns_accumulate_##isa, sd_dot_##isa, sd_sum_squares_##isa, sd_adam_##isa, \
                       sd_dense_forward_##isa, sd_transpose_##isa, sd_gemm_fields_##isa, sd_gemm_fields_sparse_##isa}

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

int sd_portable_fuses(void);

int sd_kernel_fuses(const char *name) { return strcmp(name, "portable") != 0 || sd_portable_fuses(); }

const char *sd_kernel_names(void) {
#if defined(__x86_64__)
    return "portable, avx2, avx512";
#else
    return "portable";
#endif
}

void sd_transpose(const float *src, float *dst, long rows, long cols) { kernels()->transpose(src, dst, rows, cols); }

void sd_gemm_fields(const float *a, const long *ro, const long *co, const float *b, float *c, long m, long k, long n,
                    int accumulate, int relu, const float *bias) {
    kernels()->fields(a, ro, co, b, c, m, k, n, accumulate, relu, bias);
}

void sd_gemm_fields_sparse(const float *a, const long *ro, const long *co, long run, const float *b, float *c, long m,
                           long k, long n, int relu, const float *bias, int *list) {
    kernels()->fields_sparse(a, ro, co, run, b, c, m, k, n, relu, bias, list);
}

/* ---- A second core for large products ----------------------------------------------------
   With two threads (sd_set_threads(2), or SWIFT_DISTILL_THREADS=2), a product of at least
   SD_PARALLEL_MIN_FMAS multiply-adds is split by rows of C: the caller computes the first half,
   one persistent worker the second. Each element is still one thread's fma chain over k, so the
   bits are the same as with one thread. The worker spins briefly after each job (a training round
   posts them microseconds apart) and then sleeps; it runs with the caller's floating-point mode
   (FTZ/DAZ) so subnormals are treated alike on both halves. One caller at a time uses it: a
   thread that finds it busy computes alone. */
#define SD_PARALLEL_MIN_FMAS (1024L * 1024)
#define SD_SPIN_ROUNDS 20000

typedef struct {
    int kind; /* 0 tiles, 1 dots, 2 adam, 3 tiles over listed inner indices, 4 dots into listed columns */
    const sd_kernel_table *table;
    const float *a, *b;
    float *c;
    long m, k, n, rs, cs;
    int accumulate; /* tiles and dots: C += (1) or C = (0) */
    int relu;       /* tiles: C stored through a ReLU */
    const float *bias; /* tiles, not accumulating: C = A·B + bias */
    const int *lists; /* listed tiles; dots: the columns */
    const int *strip_rows; /* dots: each strip's rows of B (counts: where each strip's start) */
    long lstride;
    const long *counts;
    long *range;
    float *packed;
    float *p, *m1, *v; /* Adam */
    const float *g;
    float b1, b2, step, inv_sqrt_c2, eps;
    unsigned long fp_mode;
} sd_job;

static int thread_count = 0; /* 0: not read from the environment yet */
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t worker_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_wake = PTHREAD_COND_INITIALIZER;
static sd_job worker_job;
static unsigned long posted = 0, finished = 0; /* job sequence numbers (atomics) */
static int worker_claimed = 0;
static int worker_started = 0;

static unsigned long current_fp_mode(void) {
#if defined(__x86_64__)
    return _mm_getcsr();
#else
    return 0;
#endif
}

static void set_fp_mode(unsigned long mode) {
#if defined(__x86_64__)
    _mm_setcsr((unsigned int)mode);
#else
    (void)mode;
#endif
}

static void run_job(const sd_job *j) {
    if (j->kind == 0) j->table->gemm(j->a, j->b, j->c, j->m, j->k, j->n, j->rs, j->cs, j->accumulate, j->relu, j->bias);
    else if (j->kind == 1) j->table->dots(j->a, j->b, j->c, j->m, j->k, j->n, j->accumulate);
    else if (j->kind == 4) j->table->dots_to_columns(j->a, j->b, j->c, j->m, j->k, j->n, j->rs, j->lists, j->accumulate,
                                                      j->strip_rows, j->counts);
    else if (j->kind == 3)
        j->table->listed(j->a, j->b, j->c, j->m, j->k, j->n, j->rs, j->cs, j->lists, j->lstride, j->counts, j->range, j->packed,
                         j->relu, j->accumulate, j->bias);
    else j->table->adam(j->p, j->g, j->m1, j->v, j->n, j->b1, j->b2, j->step, j->inv_sqrt_c2, j->eps);
}

static void *worker_main(void *unused) {
    (void)unused;
    unsigned long seen = 0;
    for (;;) {
        int spins = 0;
        while (__atomic_load_n(&posted, __ATOMIC_ACQUIRE) == seen) {
            if (++spins < SD_SPIN_ROUNDS) {
#if defined(__x86_64__)
                _mm_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&worker_mutex);
            while (__atomic_load_n(&posted, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&worker_wake, &worker_mutex);
            pthread_mutex_unlock(&worker_mutex);
        }
        seen = __atomic_load_n(&posted, __ATOMIC_ACQUIRE);
        set_fp_mode(worker_job.fp_mode);
        run_job(&worker_job);
        __atomic_store_n(&finished, seen, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void start_worker(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    /* Signals stay with the host's threads: the worker blocks them all. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    worker_started = pthread_create(&thread, &attr, worker_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attr);
}

static int threads(void) {
    int t = __atomic_load_n(&thread_count, __ATOMIC_RELAXED);
    if (t == 0) {
        const char *text = getenv("SWIFT_DISTILL_THREADS");
        t = text && atoi(text) >= 2 ? 2 : 1;
        __atomic_store_n(&thread_count, t, __ATOMIC_RELAXED);
    }
    return t;
}

int sd_threads(void) { return threads(); }

int sd_set_threads(int count) {
    if (count < 1) return 0;
    __atomic_store_n(&thread_count, count >= 2 ? 2 : 1, __ATOMIC_RELAXED);
    return 1;
}

/* Runs `second` on the worker and `first` here; false (nothing run) when the worker is not
   available to this caller. */
static int run_split(const sd_job *first, const sd_job *second) {
    if (threads() < 2) return 0;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&worker_claimed, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
    pthread_once(&worker_once, start_worker);
    if (!worker_started) {
        __atomic_store_n(&worker_claimed, 0, __ATOMIC_RELEASE);
        return 0;
    }
    worker_job = *second;
    worker_job.fp_mode = current_fp_mode();
    pthread_mutex_lock(&worker_mutex);
    unsigned long ticket = __atomic_add_fetch(&posted, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&worker_wake);
    pthread_mutex_unlock(&worker_mutex);
    run_job(first);
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != ticket) {
#if defined(__x86_64__)
        _mm_pause();
#endif
    }
    __atomic_store_n(&worker_claimed, 0, __ATOMIC_RELEASE);
    return 1;
}

/* Splits rows [0, m) at a multiple of `block` near the middle and runs both halves (kind 0: the
   tiles, C += A·B with A[r,p] = a[r·rs + p·cs]; kind 1: dot products, C += A·Bᵀ; = for both
   when !accumulate, the tiles adding `bias` and storing through a ReLU when asked). */
void sd_products(int kind, const float *a, const float *b, float *c, long m, long k, long n, long rs, long cs,
                 long block, int accumulate, int relu, const float *bias) {
    const sd_kernel_table *t = kernels();
    long split = (m / 2 + block - 1) / block * block;
    if (m * k * n >= SD_PARALLEL_MIN_FMAS && split > 0 && split < m) {
        long arow = kind == 0 ? rs : k;
        sd_job first = {.kind = kind, .table = t, .a = a, .b = b, .c = c, .m = split, .k = k, .n = n, .rs = rs, .cs = cs,
                        .accumulate = accumulate, .relu = relu, .bias = bias};
        sd_job second = first;
        second.a = a + split * arow;
        second.c = c + split * n;
        second.m = m - split;
        if (run_split(&first, &second)) return;
    }
    if (kind == 0) t->gemm(a, b, c, m, k, n, rs, cs, accumulate, relu, bias);
    else t->dots(a, b, c, m, k, n, accumulate);
}

void sd_listed_products(const float *a, const float *b, float *c, long m, long k, long n, long rs, long cs,
                        const int *lists, long lstride, const long *counts, long *range, float *packed, int relu,
                        int accumulate, const float *bias) {
    const sd_kernel_table *t = kernels();
    long split = (m / 2 + SD_LISTED_ROWS - 1) / SD_LISTED_ROWS * SD_LISTED_ROWS;
    if (m * k * n >= SD_PARALLEL_MIN_FMAS && split > 0 && split < m) {
        sd_job first = {.kind = 3, .table = t, .a = a, .b = b, .c = c, .m = split, .k = k, .n = n, .rs = rs, .cs = cs,
                        .lists = lists, .lstride = lstride, .counts = counts, .range = range, .packed = packed, .relu = relu,
                        .accumulate = accumulate, .bias = bias};
        sd_job second = first;
        const long strips = split / SD_LISTED_ROWS;
        second.a = a + split * rs;
        second.c = c + split * n;
        second.m = m - split;
        second.lists = lists + strips * lstride;
        second.counts = counts + strips;
        second.range = range + 2 * strips;
        second.packed = packed + strips * lstride * SD_LISTED_ROWS;
        if (run_split(&first, &second)) return;
    }
    t->listed(a, b, c, m, k, n, rs, cs, lists, lstride, counts, range, packed, relu, accumulate, bias);
}

void sd_dots_to_columns(const float *a, const float *b, float *c, long m, long k, long n, long ldc, const int *cols,
                        int accumulate, const int *strip_rows, const long *starts) {
    const sd_kernel_table *t = kernels();
    long split = (m / 2 + 3) / 4 * 4;
    const long fmas = strip_rows ? (starts[m / 4] - starts[0]) * 4 * k : m * k * n;
    if (fmas >= SD_PARALLEL_MIN_FMAS && split > 0 && split < m) {
        sd_job first = {.kind = 4, .table = t, .a = a, .b = b, .c = c, .m = split, .k = k, .n = n, .rs = ldc, .lists = cols,
                        .accumulate = accumulate, .strip_rows = strip_rows, .counts = starts};
        sd_job second = first;
        second.a = a + split * k;
        second.c = c + split * ldc;
        second.m = m - split;
        second.counts = starts ? starts + split / 4 : NULL;
        if (run_split(&first, &second)) return;
    }
    t->dots_to_columns(a, b, c, m, k, n, ldc, cols, accumulate, strip_rows, starts);
}

float sd_dot(const float *x, const float *y, long count) { return kernels()->dot(x, y, count); }

float sd_sum_squares(const float *x, long count) { return kernels()->sum_squares(x, count); }

void sd_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n, float b1,
             float b2, float step, float inv_sqrt_c2, float eps) {
    const sd_kernel_table *t = kernels();
    long half = (n / 2 + 63) / 64 * 64;
    if (n >= 2 * SD_PARALLEL_MIN_FMAS / 8 && half < n) {
        sd_job first = {.kind = 2, .table = t, .p = p, .g = g, .m1 = m, .v = v, .n = half,
                        .b1 = b1, .b2 = b2, .step = step, .inv_sqrt_c2 = inv_sqrt_c2, .eps = eps};
        sd_job second = first;
        second.p = p + half;
        second.g = g + half;
        second.m1 = m + half;
        second.v = v + half;
        second.n = n - half;
        if (run_split(&first, &second)) return;
    }
    t->adam(p, g, m, v, n, b1, b2, step, inv_sqrt_c2, eps);
}

void sd_dense_forward(const float *restrict x, long in, const float *restrict w, const float *restrict b, long out,
                      int act, float *restrict y) {
    kernels()->dense(x, in, w, b, out, act, y);
}

void sd_prefetch_rows(const void *base, long stride_bytes, const long *rows, long n) {
    const char *b = (const char *)base;
    for (long i = 0; i < n; i++) __builtin_prefetch(b + rows[i] * stride_bytes, 0, 3);
}

static _Thread_local float *thread_scratch = NULL;
static _Thread_local long thread_scratch_floats = 0;

float *sd_thread_scratch(long floats) {
    if (floats > thread_scratch_floats) {
        float *grown = realloc(thread_scratch, (size_t)floats * sizeof(float));
        if (grown == NULL) return NULL;
        thread_scratch = grown;
        thread_scratch_floats = floats;
    }
    return thread_scratch;
}
