/* Two versions of the kernels in one process, timed in alternating 20 ms slices, so a shared VM's
   drifting clock (±10–30% between runs here) affects both alike. Built by ../kernels-ab.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The last argument (accumulate, 1 here) is ignored by revisions from before it existed: on x86-64
   an extra trailing argument is harmless to a callee that does not read it. */
void sd_gemm_accumulate_old(const float *, const float *, float *, long, long, long, long, long, int);
void sd_gemm_accumulate_new(const float *, const float *, float *, long, long, long, long, long, int);
void sd_dots_accumulate_old(const float *, const float *, float *, long, long, long, int);
void sd_dots_accumulate_new(const float *, const float *, float *, long, long, long, int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int ascending(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* kind 0: C = A·B, 1: C = Aᵀ·B with Aᵀ read in place, 2: C = A·Bᵀ by dot products. */
static void run(int version, int kind, const float *a, const float *b, float *c, long m, long k, long n) {
    memset(c, 0, sizeof(float) * m * n);
    if (kind == 2) (version ? sd_dots_accumulate_new : sd_dots_accumulate_old)(a, b, c, m, k, n, 1);
    else (version ? sd_gemm_accumulate_new : sd_gemm_accumulate_old)(a, b, c, m, k, n, kind ? 1 : k, kind ? m : 1, 1);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: ab M K N KIND (0 A·B, 1 Aᵀ·B, 2 A·Bᵀ)\n");
        return 2;
    }
    long m = atol(argv[1]), k = atol(argv[2]), n = atol(argv[3]);
    int kind = atoi(argv[4]);
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
    float *c = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
    for (long i = 0; i < m * k; i++) a[i] = sinf(i * 0.37f);
    for (long i = 0; i < k * n; i++) b[i] = cosf(i * 0.11f);
    run(0, kind, a, b, c, m, k, n);
    run(1, kind, a, b, c2, m, k, n);
    const char *bits = memcmp(c, c2, sizeof(float) * m * n) ? "DIFFER" : "same";
    enum { SLICES = 60 };
    double t[2][SLICES];
    for (int s = 0; s < SLICES; s++)
        for (int v = 0; v < 2; v++) {
            int reps = 0;
            double t0 = now(), t1;
            do {
                run(v, kind, a, b, c, m, k, n);
                reps++;
                t1 = now();
            } while (t1 - t0 < 0.02);
            t[v][s] = (t1 - t0) / reps;
        }
    qsort(t[0], SLICES, sizeof(double), ascending);
    qsort(t[1], SLICES, sizeof(double), ascending);
    double flop = 2.0 * m * k * n;
    static const char *names[] = {"A·B", "Aᵀ·B", "A·Bᵀ"};
    printf("%-5s %4ld×%4ld×%4ld  old %6.1f  new %6.1f GFLOP/s (medians of %d slices)  new/old %.3f  bits %s\n",
           names[kind], m, k, n, flop / t[0][SLICES / 2] / 1e9, flop / t[1][SLICES / 2] / 1e9, SLICES,
           t[0][SLICES / 2] / t[1][SLICES / 2], bits);
    return 0;
}
