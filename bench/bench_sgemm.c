/* bench_sgemm.c - the ceiling: OpenBLAS sgemm (Debian libopenblas-dev) at W2's forward shape
   (64 x 256 x 784) and at 1024^3, with the given number of threads. GFLOP/s, best of 20.
   Usage: bench_sgemm THREADS */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rate(int M, int N, int K) {
    float *a = (float *)calloc((size_t)M * K, sizeof(float)), *b = (float *)calloc((size_t)K * N, sizeof(float));
    float *c = (float *)calloc((size_t)M * N, sizeof(float));
    double best = 0;
    int rep, inner = M * N * K < 100000000 ? 50 : 2, i;
    for (i = 0; i < M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (i = 0; i < K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    for (rep = 0; rep < 20; rep++) {
        double t0 = now(), g;
        for (i = 0; i < inner; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        g = 2.0 * M * N * K * inner / (now() - t0) * 1e-9;
        if (g > best) best = g;
    }
    free(a); free(b); free(c);
    return best;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    openblas_set_num_threads(threads);
    printf("sgemm%d gflops_w2 %.1f gflops_1024 %.1f\n", threads, rate(64, 256, 784), rate(1024, 1024, 1024));
    return 0;
}
