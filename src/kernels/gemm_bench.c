/* gemm_bench.c - GFLOP/s of mn_sgemm on one shape (for the CLI's bench). */
#define _POSIX_C_SOURCE 200809L

#include "mnist/gemm.h"
#include "base/alloc64.h"
#include "base/timing.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_REPS 7

double mn_sgemm_bench_gflops(int transA, int transB, int M, int N, int K, int threads, double min_seconds)
{
    if (M <= 0 || N <= 0 || K <= 0) return 0.0;
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    /* aligned as the trainer's activations and weights are (alloc64.h) */
    float *A = mn_zalloc64(na, sizeof *A), *B = mn_zalloc64(nb, sizeof *B), *C = mn_zalloc64(nc, sizeof *C);
    if (!A || !B || !C) {
        mn_free64(A);
        mn_free64(B);
        mn_free64(C);
        return 0.0;
    }
    unsigned s = 12345u;
    for (size_t i = 0; i < na; i++) A[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    for (size_t i = 0; i < nb; i++) B[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    memset(C, 0, nc * sizeof *C);
    int lda = transA ? M : K, ldb = transB ? K : N;

    int saved = mn_get_threads();
    if (threads > 0) mn_set_threads(threads);
    if (min_seconds <= 0.0) min_seconds = 0.5;

    /* warm up (fills the packing buffers, spins up the threads) and find
     * how many calls make one timed repetition last min_seconds / REPS */
    double t0 = mn_now();
    mn_sgemm(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    double one = mn_now() - t0;
    t0 = mn_now();
    mn_sgemm(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    double t1 = mn_now() - t0;
    if (t1 < one) one = t1;
    if (one < 1e-9) one = 1e-9;
    double per_rep = min_seconds / BENCH_REPS;
    long calls = (long)(per_rep / one);
    if (calls < 1) calls = 1;

    double g[BENCH_REPS];
    for (int r = 0; r < BENCH_REPS; r++) {
        t0 = mn_now();
        for (long c = 0; c < calls; c++) mn_sgemm(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        double dt = mn_now() - t0;
        g[r] = 2.0 * (double)M * (double)N * (double)K * (double)calls / (dt > 1e-12 ? dt : 1e-12) * 1e-9;
    }
    qsort(g, BENCH_REPS, sizeof g[0], mn_cmp_double);

    if (threads > 0) mn_set_threads(saved);
    mn_free64(A);
    mn_free64(B);
    mn_free64(C);
    return g[BENCH_REPS / 2];
}
