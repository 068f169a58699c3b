/* test_batchnorm.c - batch normalisation by itself: the gradients through the
 * batch statistics (its weight, bias and input, BatchNorm1d and 2d, with and
 * without the ReLU it absorbs) against central differences; the statistics
 * it normalises with and the running ones it keeps (PyTorch's update:
 * momentum 0.1, the unbiased variance, num_batches_tracked), and inference
 * with the running statistics. (tests/test_registry.c checks it inside a
 * model: after a conv, saved and loaded, at 1 and 2 threads.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "mnist/model.h"
#include "test.h"

typedef struct {
    mn_model *m;
    int B;
    const float *r; /* loss = sum(out * r) */
} ctx_t;

static double loss_of(void *p)
{
    ctx_t *c = p;
    const float *out = mn_model_run(c->m, c->B, 1);
    size_t n = (size_t)c->B * mn_shape_size(c->m->output_shape);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * c->r[i];
    return s;
}

static void fill(float *x, size_t n, mn_rng *r, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * mn_rng_uniform(r);
}

/* Gradients of weight, bias and input for arch on input shape `in`. */
static void check_gradients(const char *arch, mn_shape in, int B)
{
    mn_model m;
    mn_err e;
    CHECK_MSG(mn_model_build(&m, arch, in, 0, &e) == 0, "%s: %s", arch, e.msg);
    CHECK(mn_model_alloc(&m, B, &e) == 0);
    mn_model_init(&m, 5);
    mn_rng r;
    mn_rng_seed(&r, 77);
    size_t nin = (size_t)B * mn_shape_size(in), nout = (size_t)B * mn_shape_size(m.output_shape);
    fill(m.input, nin, &r, -2, 3);
    fill(m.params, m.n_params, &r, 0.5f, 1.5f); /* weights and biases away from their start */
    float *rr = malloc(nout * sizeof *rr);
    fill(rr, nout, &r, -1, 1);
    ctx_t c = {&m, B, rr};
    loss_of(&c);
    mn_model_backward_from(&m, B, rr, 1);
    float *g = malloc(m.n_params * sizeof *g), *gi = malloc(nin * sizeof *gi);
    memcpy(g, m.grads, m.n_params * sizeof *g);
    memcpy(gi, m.dinput, nin * sizeof *gi);
    char what[128];
    snprintf(what, sizeof what, "%s parameters", arch);
    gradcheck(what, m.params, g, m.n_params, loss_of, &c, 1e-2f);
    snprintf(what, sizeof what, "%s input", arch);
    gradcheck(what, m.input, gi, nin, loss_of, &c, 1e-2f);
    free(g), free(gi), free(rr);
    mn_model_free(&m);
}

/* The statistics: a training forward normalises each channel to mean 0 and
 * (biased) variance 1, and moves the running ones as PyTorch does; an
 * inference forward uses the running ones. */
static void check_statistics(mn_shape in, int B)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "batchnorm", in, 0, &e) == 0);
    CHECK(mn_model_alloc(&m, B, &e) == 0);
    mn_model_init(&m, 1);
    const int C = in.c;
    const size_t HW = (size_t)in.h * in.w, M = (size_t)B * HW;
    float *rm = m.layers[0].state, *rv = rm + C;
    int64_t count;
    memcpy(&count, rv + C, 8);
    CHECK(rm[0] == 0.0f && rv[0] == 1.0f && count == 0);
    mn_rng r;
    mn_rng_seed(&r, 3);
    size_t n = (size_t)B * mn_shape_size(in);
    for (int step = 1; step <= 2; step++) {
        fill(m.input, n, &r, -1, 5);
        float rm0[64], rv0[64];
        memcpy(rm0, rm, C * sizeof *rm), memcpy(rv0, rv, C * sizeof *rv);
        const float *out = mn_model_run(&m, B, 1);
        for (int c = 0; c < C; c++) {
            double s = 0, q = 0, so = 0, qo = 0;
            for (int b = 0; b < B; b++)
                for (size_t i = 0; i < HW; i++) s += m.input[((size_t)b * C + c) * HW + i];
            double mean = s / M;
            for (int b = 0; b < B; b++)
                for (size_t i = 0; i < HW; i++) {
                    size_t at = ((size_t)b * C + c) * HW + i;
                    q += (m.input[at] - mean) * (m.input[at] - mean);
                    so += out[at], qo += (double)out[at] * out[at];
                }
            CHECK_NEAR(so / M, 0.0, 1e-5);
            CHECK_NEAR(qo / M, q / M / (q / M + 1e-5), 1e-4);
            CHECK_NEAR(rm[c], 0.9 * rm0[c] + 0.1 * mean, 1e-5);
            CHECK_NEAR(rv[c], 0.9 * rv0[c] + 0.1 * q / (M - 1), 1e-5);
        }
        memcpy(&count, rv + C, 8);
        CHECK(count == step);
    }
    /* inference: the running statistics, and nothing moves */
    float rm1[64], rv1[64];
    memcpy(rm1, rm, C * sizeof *rm), memcpy(rv1, rv, C * sizeof *rv);
    const float *out = mn_model_run(&m, B, 0);
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            for (size_t i = 0; i < HW; i++) {
                size_t at = ((size_t)b * C + c) * HW + i;
                CHECK_NEAR(out[at], (m.input[at] - rm[c]) / sqrt(rv[c] + 1e-5), 1e-5);
            }
    CHECK(!memcmp(rm1, rm, C * sizeof *rm) && !memcmp(rv1, rv, C * sizeof *rv));
    memcpy(&count, rv + C, 8);
    CHECK(count == 2);
    mn_model_free(&m);
}

static void check_errors(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "batchnorm:0.1,dense:10", (mn_shape){1, 28, 28}, 10, &e) != 0);
    CHECK(strstr(e.msg, "batchnorm takes no arguments") && !strchr(e.msg, '\n'));
    /* a flat input is BatchNorm1d, maps BatchNorm2d: 2C weights either way */
    CHECK(mn_model_build(&m, "dense:16,batchnorm,dense:10", (mn_shape){1, 28, 28}, 10, &e) == 0);
    CHECK(m.layers[2].n_params == 32 && m.layers[2].in.h == 1);
    CHECK(mn_model_build(&m, "conv:8:3,batchnorm,relu,dense:10", (mn_shape){1, 28, 28}, 10, &e) == 0);
    CHECK(m.layers[1].n_params == 16 && m.layers[1].n_state == 8 * 8 + 8);
}

int main(void)
{
    check_gradients("batchnorm", (mn_shape){5, 1, 1}, 4);        /* 1d */
    check_gradients("batchnorm", (mn_shape){3, 4, 5}, 2);        /* 2d */
    check_gradients("batchnorm,relu", (mn_shape){3, 4, 5}, 2);   /* the ReLU absorbed */
    check_gradients("dense:6,batchnorm,dense:4", (mn_shape){5, 1, 1}, 3);
    check_statistics((mn_shape){5, 1, 1}, 7);
    check_statistics((mn_shape){3, 4, 4}, 3);
    check_errors();
    return test_summary("test_batchnorm");
}
