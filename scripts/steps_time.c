/* steps_time.c - milliseconds per training step (forward, backward, Adam)
 * of any arch on 1x28x28 inputs, our library: the C side of
 * scripts/seq_bench.sh (scripts/torch_steps.py is the PyTorch side).
 *
 *   cc -O3 -march=native -fopenmp -Iinclude scripts/steps_time.c build/libmnistlib.a -lm -o /tmp/steps_time
 *   /tmp/steps_time ARCH [BATCH=32] [STEPS=100] [THREADS=2]
 *
 * Prints the median over 5 runs of STEPS steps (after 3 warm-up steps). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mnist/gemm.h"
#include "mnist/model.h"
#include "mnist/optim.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: steps_time ARCH [BATCH] [STEPS] [THREADS]\n");
        return 2;
    }
    int B = argc > 2 ? atoi(argv[2]) : 32, S = argc > 3 ? atoi(argv[3]) : 100, nt = argc > 4 ? atoi(argv[4]) : 2;
    mn_model m;
    mn_optim o;
    mn_err e;
    if (mn_model_build(&m, argv[1], (mn_shape){1, 28, 28}, 10, &e) || mn_model_alloc(&m, B, &e) ||
        mn_optim_init(&o, MN_ADAM, 0.001f, m.n_params, &e)) {
        fprintf(stderr, "steps_time: %s\n", e.msg);
        return 1;
    }
    mn_set_threads(nt);
    mn_model_init(&m, 1);
    mn_rng r;
    mn_rng_seed(&r, 2);
    for (size_t i = 0; i < (size_t)B * 784; i++) m.input[i] = mn_rng_uniform(&r);
    for (int i = 0; i < B; i++) m.labels[i] = (int)(mn_rng_next(&r) % 10);
    for (int s = 0; s < 3; s++) mn_model_forward(&m, B, 1, NULL), mn_model_backward_step(&m, B, &o);
    double t[5];
    for (int k = 0; k < 5; k++) {
        double t0 = now();
        for (int s = 0; s < S; s++) mn_model_forward(&m, B, 1, NULL), mn_model_backward_step(&m, B, &o);
        t[k] = (now() - t0) / S * 1e3;
    }
    qsort(t, 5, sizeof *t, cmp);
    printf("%.4f\n", t[2]);
    mn_optim_free(&o);
    mn_model_free(&m);
    return 0;
}
