/* gemm_vs_openblas.c - our SGEMM and OpenBLAS's in one process, turn about.
 *
 *   cc -O2 -march=native -fopenmp -Iinclude scripts/gemm_vs_openblas.c build/libmnist.a \
 *      -lopenblas -lm -o build/gemm_vs_openblas
 *   build/gemm_vs_openblas [--rounds R] [--threads N] [tA tB M N K]...
 *
 * Not part of the product or of the tests. scripts/bench.sh runs `mnist bench`
 * and OpenBLAS in separate processes a minute apart; on a shared machine whose
 * speed drifts, that cannot settle a few percent on a product that takes a
 * microsecond. Here each round times a batch of our calls, then a batch of
 * OpenBLAS's on the same operands, and the line shows the medians over the
 * rounds and the median of the rounds' own ratios (> 1: ours is faster).
 * Without shapes it takes the output layers' products of mlp and wide (the
 * smallest of bench's training shapes, where call overhead shows most).
 * Row-major, alpha 1, beta 0, as the layers call it.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnist/gemm.h"
#include "../src/base/timing.h"

void openblas_set_num_threads(int num_threads);

#define MAX_ROUNDS 101

static float *random_matrix(size_t n, unsigned *s)
{
    float *m = malloc((n ? n : 1) * sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < n; i++) m[i] = (float)((*s = *s * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    return m;
}

static int compare(int tA, int tB, int M, int N, int K, int rounds)
{
    unsigned seed = 12345u;
    float *A = random_matrix((size_t)M * K, &seed), *B = random_matrix((size_t)K * N, &seed);
    float *C = random_matrix((size_t)M * N, &seed);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        fprintf(stderr, "gemm_vs_openblas: out of memory for %dx%dx%d\n", M, N, K);
        return 1;
    }
    const int lda = tA ? M : K, ldb = tB ? K : N;
    /* calls per timed batch: about 2 ms of work at 100 GFLOP/s */
    long calls = (long)(2e8 / (2.0 * M * N * K));
    if (calls < 1) calls = 1;
    double ours[MAX_ROUNDS], theirs[MAX_ROUNDS], ratio[MAX_ROUNDS];
    for (int r = -1; r < rounds; r++) { /* round -1 warms both up */
        double t0 = mn_now();
        for (long c = 0; c < calls; c++) mn_sgemm(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        double t1 = mn_now();
        for (long c = 0; c < calls; c++)
            cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                        A, lda, B, ldb, 0.0f, C, N);
        double t2 = mn_now();
        if (r < 0) continue;
        ours[r] = (t1 - t0) / (double)calls;
        theirs[r] = (t2 - t1) / (double)calls;
        ratio[r] = theirs[r] / ours[r];
    }
    double o = mn_median(ours, rounds), t = mn_median(theirs, rounds), q = mn_median(ratio, rounds);
    printf("%c%c %5d x %5d x %5d   ours %10.2f us %7.1f GFLOP/s   OpenBLAS %10.2f us   per round %.2f\n",
           tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, o * 1e6, 2.0 * M * N * K / o * 1e-9, t * 1e6, q);
    free(A), free(B), free(C);
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = 21, threads = 1, a = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
        if (a + 1 >= argc) break;
        if (strcmp(argv[a], "--rounds") == 0) rounds = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--threads") == 0) threads = atoi(argv[a + 1]);
        else break;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || threads < 1 || (argc - a) % 5) {
        fprintf(stderr, "usage: gemm_vs_openblas [--rounds R (1-%d)] [--threads N] [tA tB M N K]...\n", MAX_ROUNDS);
        return 2;
    }
    mn_set_threads(threads);
    openblas_set_num_threads(threads);
    printf("median of %d rounds, %d thread%s; per round: OpenBLAS's time / ours (> 1: ours is faster)\n", rounds,
           threads, threads > 1 ? "s" : "");
    static const int dflt[][5] = {{0, 1, 32, 10, 128}, {1, 0, 10, 128, 32}, {0, 0, 32, 128, 10},
                                  {0, 1, 128, 10, 512}, {1, 0, 10, 512, 128}, {0, 0, 128, 512, 10}};
    int rc = 0;
    if (a == argc)
        for (size_t i = 0; i < sizeof dflt / sizeof dflt[0]; i++)
            rc |= compare(dflt[i][0], dflt[i][1], dflt[i][2], dflt[i][3], dflt[i][4], rounds);
    for (; a + 5 <= argc; a += 5) {
        int v[5];
        for (int j = 0; j < 5; j++) v[j] = atoi(argv[a + j]);
        if (v[2] < 1 || v[3] < 1 || v[4] < 1) {
            fprintf(stderr, "gemm_vs_openblas: M, N, K must be positive\n");
            return 2;
        }
        rc |= compare(v[0] != 0, v[1] != 0, v[2], v[3], v[4], rounds);
    }
    return rc;
}
