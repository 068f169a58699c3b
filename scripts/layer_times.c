/* layer_times.c - median time of each layer's forward and backward for one
 * batch, for finding where a training step goes (not part of the product or
 * of the tests). Random inputs, so it needs no data. Build against the
 * library after a normal build:
 *
 *   cc -O2 -march=native -fopenmp -Iinclude scripts/layer_times.c build/libmnist.a -lm -o build/layer_times
 *   build/layer_times [THREADS [ARCH [BATCH [REPS]]]]      (defaults: 1 cnn 128 40)
 *
 * Prints one line: the whole forward and backward (mn_model_forward /
 * mn_model_backward), then each layer that runs on its own (a conv that
 * absorbed the ReLU and pooling after it stands for all three), backward
 * first in the order the model runs it. Machines that share cores are noisy:
 * compare two builds by running them alternately, several times. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "../src/base/timing.h"

#define MAX_REPS 1000

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, B = argc > 3 ? atoi(argv[3]) : 128,
        reps = argc > 4 ? atoi(argv[4]) : 40;
    const char *arch = argc > 2 ? argv[2] : "cnn";
    if (threads < 1 || B < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: layer_times [THREADS [ARCH [BATCH [REPS <= %d]]]]\n", MAX_REPS);
        return 2;
    }
    mn_set_threads(threads);
    mn_model m;
    mn_err e;
    if (mn_model_build(&m, arch, (mn_shape){1, 28, 28}, 10, &e) || mn_model_alloc(&m, B, &e)) {
        fprintf(stderr, "layer_times: %s\n", e.msg);
        return 1;
    }
    mn_model_init(&m, 1);
    srand(1);
    for (int i = 0; i < B * 784; i++) m.input[i] = rand() % 3 ? 0.0f : (float)(rand() % 256) / 255.0f;
    for (int i = 0; i < B; i++) m.labels[i] = rand() % 10;

    const int L = m.n_layers;
    static double fwd[MAX_REPS], bwd[MAX_REPS];
    double(*lf)[MAX_REPS] = calloc((size_t)L, sizeof *lf), (*lb)[MAX_REPS] = calloc((size_t)L, sizeof *lb);
    if (!lf || !lb) return 1;
    for (int r = 0; r < reps; r++) {
        double t0 = mn_now();
        mn_model_forward(&m, B, 1, NULL);
        double t1 = mn_now();
        mn_model_backward(&m, B);
        fwd[r] = t1 - t0;
        bwd[r] = mn_now() - t1;
        /* each layer again on its own, as the model runs it (the dropout
         * generator is put back, so every repetition sees the same masks) */
        const float *in = m.input;
        for (int i = 0; i < L; i += 1 + m.layers[i].n_fused) {
            mn_layer *l = &m.layers[i];
            float *out = m.act[i + l->n_fused];
            mn_rng saved = m.rng;
            double a = mn_now();
            l->ops->forward(l, out, in, m.params + l->param_off, B, 1, &m.rng);
            lf[i][r] = mn_now() - a;
            m.rng = saved;
            in = out;
        }
        int first = L; /* the first layer with parameters gets no input gradient */
        for (int i = 0; i < L && first == L; i++)
            if (m.layers[i].n_params) first = i;
        for (int i = L - 1; i >= 0; i--) {
            mn_layer *l = &m.layers[i];
            if (l->absorbed) continue;
            int last = i + l->n_fused;
            double a = mn_now();
            const float *dout = m.dact[last];
            if (l->kind == MN_DENSE && l->n_fused) { /* its ReLU's backward, as mn_model_backward */
                mn_relu_backward(m.dact[i], dout, m.act[last], (size_t)B * (size_t)l->units);
                dout = m.dact[i];
            }
            l->ops->backward(l, i > first ? m.dact[i - 1] : NULL, m.grads + l->param_off, dout,
                             i ? m.act[i - 1] : m.input, m.act[last], m.params + l->param_off, B);
            lb[i][r] = mn_now() - a;
        }
    }
    printf("%s batch %d, %d thread%s: forward %.3f ms, backward %.3f ms\n", arch, B, threads, threads > 1 ? "s" : "",
           mn_median(fwd, reps) * 1e3, mn_median(bwd, reps) * 1e3);
    for (int i = 0; i < L; i += 1 + m.layers[i].n_fused) {
        char d[64];
        m.layers[i].ops->describe(&m.layers[i], d, sizeof d);
        printf("  %2d %-24s forward %7.3f ms  backward %7.3f ms%s\n", i, d, mn_median(lf[i], reps) * 1e3,
               mn_median(lb[i], reps) * 1e3, m.layers[i].n_fused ? "  (with the fused layers after it)" : "");
    }
    free(lf);
    free(lb);
    mn_model_free(&m);
    return 0;
}
