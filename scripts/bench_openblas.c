/* bench_openblas.c - OpenBLAS's cblas_sgemm on the shapes `mnist bench` times.
 *
 *   cc -O3 -march=native scripts/bench_openblas.c -o bench_openblas -lopenblas
 *   ./bench_openblas [--threads N] [--repeat R] [--gemm-seconds S] [--json]
 *
 * A reference for scripts/bench.sh, not part of the product. Same shapes,
 * names and transposes as src/cli/cmd_bench.c (row-major, CblasRowMajor),
 * same method as mn_sgemm_bench_gflops (two warm-up calls, then 7 timed
 * repetitions of enough calls to last S/7 seconds; median), with 1 thread and
 * N threads (openblas_set_num_threads; N defaults to the number of cores);
 * the value is the median over R rounds, each round going over every shape
 * and both thread counts. Output: the same table, or with --json the same
 * JSON object as `mnist bench --json` with "tool": "openblas" and no
 * training records.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../src/base/timing.h"

/* Declared here too: Debian's netlib cblas.h, if it is the one found, lacks it. */
void openblas_set_num_threads(int num_threads);

typedef struct {
    char name[32];
    int ta, tb, M, N, K;
} gemm_shape;

#define MAX_SHAPES 32
#define REPS 7

static int add_shape(gemm_shape *s, int n, const char *name, int ta, int tb, int M, int N, int K)
{
    snprintf(s[n].name, sizeof s[n].name, "%s", name);
    s[n].ta = ta, s[n].tb = tb, s[n].M = M, s[n].N = N, s[n].K = K;
    return n + 1;
}

/* Keep in step with gemm_shapes() in src/cli/cmd_bench.c. */
static int gemm_shapes(gemm_shape *s)
{
    static const struct {
        const char *model;
        int B, U;
    } nets[] = {{"mlp", 32, 128}, {"wide", 128, 512}};
    char name[32];
    int n = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        const char *m = nets[i].model;
        int B = nets[i].B, U = nets[i].U;
        snprintf(name, sizeof name, "%s dense1 fwd", m), n = add_shape(s, n, name, 0, 1, B, U, 784);
        snprintf(name, sizeof name, "%s dense1 dW", m), n = add_shape(s, n, name, 1, 0, U, 784, B);
        snprintf(name, sizeof name, "%s dense2 fwd", m), n = add_shape(s, n, name, 0, 1, B, 10, U);
        snprintf(name, sizeof name, "%s dense2 dW", m), n = add_shape(s, n, name, 1, 0, 10, U, B);
        snprintf(name, sizeof name, "%s dense2 dX", m), n = add_shape(s, n, name, 0, 0, B, U, 10);
    }
    for (int d = 256; d <= 2048; d *= 2) {
        snprintf(name, sizeof name, "square %d", d);
        n = add_shape(s, n, name, 0, 0, d, d, d);
    }
    return n;
}

static const char *op_name(const gemm_shape *s)
{
    static const char *const ops[4] = {"NN", "NT", "TN", "TT"};
    return ops[(s->ta ? 2 : 0) + (s->tb ? 1 : 0)];
}

static void call(const gemm_shape *s, const float *A, const float *B, float *C)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->M, s->N,
                s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
}

/* Median GFLOP/s of REPS timed repetitions, as mn_sgemm_bench_gflops. */
static double bench(const gemm_shape *s, int threads, double min_seconds)
{
    size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = calloc(nc, sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "bench_openblas: out of memory\n");
        exit(1);
    }
    unsigned r = 12345u;
    for (size_t i = 0; i < na; i++) A[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    for (size_t i = 0; i < nb; i++) B[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
    openblas_set_num_threads(threads);

    double t0 = mn_now();
    call(s, A, B, C);
    double one = mn_now() - t0;
    t0 = mn_now();
    call(s, A, B, C);
    double t1 = mn_now() - t0;
    if (t1 < one) one = t1;
    if (one < 1e-9) one = 1e-9;
    long calls = (long)(min_seconds / REPS / one);
    if (calls < 1) calls = 1;
    double g[REPS];
    for (int k = 0; k < REPS; k++) {
        t0 = mn_now();
        for (long c = 0; c < calls; c++) call(s, A, B, C);
        double dt = mn_now() - t0;
        g[k] = 2.0 * s->M * (double)s->N * s->K * (double)calls / (dt > 1e-12 ? dt : 1e-12) * 1e-9;
    }
    free(A);
    free(B);
    free(C);
    return mn_median(g, REPS);
}

static int usage(const char *msg)
{
    fprintf(stderr, "bench_openblas: %s\nusage: bench_openblas [--threads N] [--repeat R] [--gemm-seconds S] [--json]\n",
            msg);
    return 2;
}

int main(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN), repeat = 3;
    double seconds = 0.1;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = strtol(argv[++i], &end, 10);
            if (*end || threads < 1 || threads > 1024) return usage("--threads must be an integer from 1 to 1024");
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            repeat = strtol(argv[++i], &end, 10);
            if (*end || repeat < 1 || repeat > 1000) return usage("--repeat must be an integer from 1 to 1000");
        } else if (!strcmp(argv[i], "--gemm-seconds") && i + 1 < argc) {
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds >= 0.001 && seconds <= 100)) return usage("--gemm-seconds must be from 0.001 to 100");
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%.60s'", argv[i]);
            return usage(msg);
        }
    }
    if (threads < 1) threads = 1;

    gemm_shape sh[MAX_SHAPES];
    int n = gemm_shapes(sh);
    double *r1 = malloc((size_t)n * (size_t)repeat * sizeof *r1), *rn = malloc((size_t)n * (size_t)repeat * sizeof *rn);
    if (!r1 || !rn) {
        fprintf(stderr, "bench_openblas: out of memory\n");
        return 1;
    }
    for (long r = 0; r < repeat; r++)
        for (int i = 0; i < n; i++) {
            r1[i * repeat + r] = bench(&sh[i], 1, seconds);
            rn[i * repeat + r] = bench(&sh[i], (int)threads, seconds);
        }

    char nt[32];
    snprintf(nt, sizeof nt, "%ld thread%s", threads, threads == 1 ? "" : "s");
    if (json) printf("{\"tool\": \"openblas\", \"threads\": %ld, \"repeat\": %ld,\n \"gemm\": [\n", threads, repeat);
    else
        printf("OpenBLAS cblas_sgemm, GFLOP/s (median of %ld)\n%-16s %-2s %5s %5s %5s %10s %10s\n", repeat, "shape",
               "op", "M", "N", "K", "1 thread", nt);
    for (int i = 0; i < n; i++) {
        double g1 = mn_median(r1 + i * repeat, (int)repeat), gn = mn_median(rn + i * repeat, (int)repeat);
        const gemm_shape *s = &sh[i];
        if (json)
            printf("  {\"name\": \"%s\", \"op\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"gflops_1t\": %.3f, "
                   "\"gflops_nt\": %.3f}%s\n",
                   s->name, op_name(s), s->M, s->N, s->K, g1, gn, i + 1 < n ? "," : "");
        else
            printf("%-16s %-2s %5d %5d %5d %10.1f %10.1f\n", s->name, op_name(s), s->M, s->N, s->K, g1, gn);
    }
    if (json) printf(" ],\n \"train_note\": \"\",\n \"train\": [\n ]}\n");
    free(r1);
    free(rn);
    return 0;
}
