/* test_optim.c - each optimizer's update against values worked by hand from
 * the Keras formulas, over a few steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/optim.h"
#include "test.h"

/* A long buffer goes through the vector paths (AVX-512 where built) and the
 * thread split. Each step, every element's change of p must be the formula's
 * update computed in double from the optimizer's own (float) state, to a
 * relative 2e-5 plus the rounding of storing p (one ulp); the state must
 * follow the recurrences to a relative 1e-4 (float rounding). Elements whose gradient is always
 * 0 (state 0: the 1/sqrt path's edge case) and a length that is no multiple of
 * 16 are included. 1 and 2 threads must give the same bytes. */
static void check_long(mn_optim_kind kind)
{
    enum { N = 70001, STEPS = 5 };
    float *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g), *p2 = malloc(N * sizeof *p2),
          *before = malloc(N * sizeof *before);
    double *rm = calloc(N, sizeof *rm), *rv = calloc(N, sizeof *rv), *rs = calloc(N, sizeof *rs);
    mn_optim o, o2;
    mn_err e;
    CHECK(mn_optim_init(&o, kind, 0.01f, N, &e) == 0 && mn_optim_init(&o2, kind, 0.01f, N, &e) == 0);
    for (int i = 0; i < N; i++) p[i] = p2[i] = (float)sin(i * 0.37);
    double worst = 0, worst_state = 0;
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = i % 97 == 0 ? 0.0f : (float)(cos(i * 1.3 + t) * pow(10.0, -(i % 7)));
        memcpy(before, p, N * sizeof *p);
        if (kind == MN_ADADELTA)
            for (int i = 0; i < N; i++) rs[i] = o.m[i]; /* u before the step */
        mn_set_threads(1);
        mn_optim_step(&o, p, g);
        mn_set_threads(2);
        mn_optim_step(&o2, p2, g);
        double alpha = 0.01 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t));
        for (int i = 0; i < N; i++) {
            double gi = g[i], upd, sm = 0, sv, scale = -1, ulps = 1;
            if (kind == MN_ADADELTA) {
                rv[i] = 0.9 * rv[i] + 0.1 * gi * gi;
                double d = sqrt(rs[i] + 1e-6) / sqrt((double)o.v[i] + 1e-6) * gi;
                upd = 0.01 * d;
                rm[i] = 0.9 * rs[i] + 0.1 * d * d;
                sm = fabs(o.m[i] - rm[i]) / (rm[i] + 1e-30);
            } else if (kind == MN_ADAM || kind == MN_ADAMW) {
                rm[i] = 0.9 * rm[i] + 0.1 * gi;
                rs[i] = 0.9 * rs[i] + 0.1 * fabs(gi); /* m's scale: its terms cancel when g changes sign */
                rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
                upd = alpha * o.m[i] / (sqrt(o.v[i]) + 1e-7);
                if (kind == MN_ADAMW) { /* decoupled decay, lr * 0.01, rounded once more */
                    scale = fabs(upd) + fabs(before[i] * 1e-4);
                    upd += before[i] * 0.01 * 0.01;
                    ulps = 2;
                }
                sm = fabs(o.m[i] - rm[i]) / (rs[i] + 1e-30);
            } else {
                rv[i] = 0.9 * rv[i] + 0.1 * gi * gi;
                upd = 0.01 * gi / (sqrt(o.v[i]) + 1e-7);
            }
            sv = fabs(o.v[i] - rv[i]) / (fabs(rv[i]) + 1e-30);
            if (sm > worst_state) worst_state = sm;
            if (sv > worst_state) worst_state = sv;
            double got = (double)before[i] - (double)p[i];
            double ulp = fabs((double)nextafterf(before[i], INFINITY) - before[i]);
            double err = (fabs(got - upd) - ulps * ulp) / ((scale >= 0 ? scale : fabs(upd)) + 1e-30);
            if (err > worst) worst = err;
        }
    }
    CHECK(worst < 2e-5);
    CHECK(worst_state < 1e-4);
    printf("  %s: worst relative error of an update %.2g, of the state %.2g, over %d steps\n", mn_optim_name(kind),
           worst, worst_state, STEPS);
    CHECK(memcmp(p, p2, N * sizeof *p) == 0);
    mn_set_threads(0);
    mn_optim_free(&o), mn_optim_free(&o2);
    free(p), free(g), free(p2), free(before), free(rm), free(rv), free(rs);
}

/* The weights' moving average: the first step's weights, then
 * avg = mom*avg + (1-mom)*p after each step, checked in double against the
 * weights the optimizer produced; long enough to take the thread split, and
 * 1 and 2 threads must give the same bytes. Bad momenta are refused. */
static void check_ema(void)
{
    enum { N = 40003, STEPS = 4 };
    float *p = malloc(N * sizeof *p), *p2 = malloc(N * sizeof *p2), *g = malloc(N * sizeof *g);
    double *avg = malloc(N * sizeof *avg);
    mn_optim o, o2;
    mn_err e;
    CHECK(mn_optim_init(&o, MN_ADAM, 0.01f, N, &e) == 0 && mn_optim_init(&o2, MN_ADAM, 0.01f, N, &e) == 0);
    CHECK(mn_optim_use_ema(&o, 1.0f, &e) == -1 && strstr(e.msg, "EMA momentum"));
    CHECK(mn_optim_use_ema(&o, 0.0f, &e) == -1 && !o.ema);
    CHECK(mn_optim_use_ema(&o, 0.75f, &e) == 0 && mn_optim_use_ema(&o2, 0.75f, &e) == 0 && o.ema);
    for (int i = 0; i < N; i++) p[i] = p2[i] = (float)sin(i * 0.11);
    double worst = 0;
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = (float)cos(i * 0.7 + 3 * t);
        mn_set_threads(1);
        mn_optim_step(&o, p, g);
        mn_set_threads(2);
        mn_optim_step(&o2, p2, g);
        for (int i = 0; i < N; i++) {
            avg[i] = t == 1 ? p[i] : 0.75 * avg[i] + 0.25 * p[i];
            double err = fabs(o.ema[i] - avg[i]) / (fabs(avg[i]) + 1e-3);
            if (err > worst) worst = err;
        }
        if (t == 1) CHECK(memcmp(o.ema, p, N * sizeof *p) == 0);
    }
    CHECK(worst < 1e-6);
    CHECK(memcmp(o.ema, p, N * sizeof *p) != 0); /* it lags the weights */
    CHECK(memcmp(o.ema, o2.ema, N * sizeof *p) == 0 && memcmp(p, p2, N * sizeof *p) == 0);
    printf("  ema: worst relative error %.2g over %d steps\n", worst, STEPS);
    mn_set_threads(0);
    mn_optim_free(&o), mn_optim_free(&o2);
    CHECK(!o.ema);
    free(p), free(p2), free(g), free(avg);
}

int main(void)
{
    mn_err e;
    mn_optim o;
    float p[2], g[2] = {0.5f, -2.0f};

    /* plain SGD */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 0.95, 1e-7);
    CHECK_NEAR(p[1], 1.2, 1e-6);
    mn_optim_free(&o);

    /* SGD with momentum 0.9: v1 = -lr g, v2 = 0.9 v1 - lr g */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    o.momentum = 0.9f;
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.05 - (0.045 + 0.05), 1e-6);
    mn_optim_free(&o);

    /* Nesterov: p += mu v - lr g, with v updated first */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    o.momentum = 0.9f, o.nesterov = 1;
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g); /* v = -0.05; p += 0.9*-0.05 - 0.05 */
    CHECK_NEAR(p[0], 1 - 0.045 - 0.05, 1e-6);
    mn_optim_free(&o);

    /* RMSprop: s = 0.1 g^2, p -= lr g / (sqrt(s) + eps) */
    CHECK(mn_optim_init(&o, MN_RMSPROP, 0.01f, 2, &e) == 0);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.01 * 0.5 / (sqrt(0.1 * 0.25) + 1e-7), 1e-6);
    CHECK_NEAR(p[1], 1 + 0.01 * 2.0 / (sqrt(0.1 * 4.0) + 1e-7), 1e-6);
    mn_optim_free(&o);

    /* Adam: the first step moves every parameter by about lr against the sign */
    CHECK(mn_optim_init(&o, MN_ADAM, 0.001f, 2, &e) == 0);
    CHECK(o.eps == 1e-7f && o.beta1 == 0.9f && o.beta2 == 0.999f);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.001, 1e-6);
    CHECK_NEAR(p[1], 1 + 0.001, 1e-6);
    /* a second step with another gradient, from the formulas in double */
    float g2[2] = {-1.0f, 0.25f};
    mn_optim_step(&o, p, g2);
    double m = 0.9 * 0.05 + 0.1 * -1.0, v = 0.999 * 0.001 * 0.25 + 0.001 * 1.0;
    double alpha = 0.001 * sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
    CHECK_NEAR(p[0], 1 - 0.001 - alpha * m / (sqrt(v) + 1e-7), 1e-6);
    CHECK(o.step == 2);
    mn_optim_free(&o);

    CHECK(mn_optim_kind_of("adam") == MN_ADAM && mn_optim_kind_of("sgd") == MN_SGD);
    CHECK(mn_optim_kind_of("rmsprop") == MN_RMSPROP && mn_optim_kind_of("adagrad") == -1);
    CHECK(mn_optim_default_lr(MN_SGD) == 0.01f && mn_optim_default_lr(MN_ADAM) == 0.001f);
    /* Adadelta's first step, PyTorch's defaults: rho 0.9, eps 1e-6, lr 1 */
    CHECK(mn_optim_init(&o, MN_ADADELTA, mn_optim_default_lr(MN_ADADELTA), 2, &e) == 0);
    CHECK(o.lr == 1.0f && o.rho == 0.9f && o.eps == 1e-6f && mn_optim_kind_of("adadelta") == MN_ADADELTA);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    double d0 = sqrt(1e-6) / sqrt(0.1 * 0.25 + 1e-6) * 0.5;
    CHECK_NEAR(p[0], 1 - d0, 1e-6);
    CHECK_NEAR(o.m[0], 0.1 * d0 * d0, 1e-9);
    mn_optim_free(&o);
    /* AdamW: the first step is Adam's after p *= 1 - lr*wd */
    CHECK(mn_optim_init(&o, MN_ADAMW, 0.001f, 2, &e) == 0);
    CHECK(o.weight_decay == 0.01f && mn_optim_kind_of("adamw") == MN_ADAMW);
    o.weight_decay = 0.5f;
    p[0] = 2, p[1] = 2;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 2 * (1 - 0.001 * 0.5) - 0.001, 1e-6);
    CHECK_NEAR(p[1], 2 * (1 - 0.001 * 0.5) + 0.001, 1e-6);
    mn_optim_free(&o);
    check_long(MN_ADAM);
    check_long(MN_RMSPROP);
    check_long(MN_ADAMW);
    check_long(MN_ADADELTA);
    check_ema();
    return test_summary("test_optim");
}
