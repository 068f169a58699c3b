/* optim.c - SGD (momentum, Nesterov), RMSprop and Adam, one loop each. */
#include "mnist/optim.h"

#include "mnist/gemm.h" /* mn_get_threads */

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"sgd", "rmsprop", "adam"};

int mn_optim_kind_of(const char *name)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

const char *mn_optim_name(mn_optim_kind k) { return names[k]; }

float mn_optim_default_lr(mn_optim_kind k) { return k == MN_SGD ? 0.01f : 0.001f; }

int mn_optim_init(mn_optim *o, mn_optim_kind kind, float lr, size_t n, mn_err *e)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->rho = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-7f;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        mn_optim_free(o);
        return mn_fail(e, "out of memory for optimizer state");
    }
    return 0;
}

void mn_optim_free(mn_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

/* The update of each parameter depends on nothing but its own gradient and
 * state, so splitting the buffer among threads gives the same bytes for any
 * thread count. Below PAR_MIN floats a fork/join costs more than it saves. */
#define PAR_MIN 32768
#define SLICE 4096 /* floats per work item: whole cache lines, 16 KiB */

static void sgd(const mn_optim *o, float *restrict p, const float *restrict g, size_t i0, size_t i1)
{
    float lr = o->lr, mu = o->momentum;
    float *restrict vel = o->m;
    if (mu == 0.0f) {
        for (size_t i = i0; i < i1; i++) p[i] -= lr * g[i];
    } else if (o->nesterov) {
        for (size_t i = i0; i < i1; i++) {
            vel[i] = mu * vel[i] - lr * g[i];
            p[i] += mu * vel[i] - lr * g[i];
        }
    } else {
        for (size_t i = i0; i < i1; i++) {
            vel[i] = mu * vel[i] - lr * g[i];
            p[i] += vel[i];
        }
    }
}

static void rmsprop(const mn_optim *o, float *restrict p, const float *restrict g, size_t i0, size_t i1)
{
    float lr = o->lr, rho = o->rho, eps = o->eps;
    float *restrict s = o->v;
    for (size_t i = i0; i < i1; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        p[i] -= lr * g[i] / (sqrtf(s[i]) + eps);
    }
}

static void adam(const mn_optim *o, float alpha, float *restrict p, const float *restrict g, size_t i0, size_t i1)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    float *restrict m = o->m, *restrict v = o->v;
    for (size_t i = i0; i < i1; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

static void update(const mn_optim *o, float alpha, float *p, const float *g, size_t i0, size_t i1)
{
    switch (o->kind) {
    case MN_SGD: sgd(o, p, g, i0, i1); break;
    case MN_RMSPROP: rmsprop(o, p, g, i0, i1); break;
    case MN_ADAM: adam(o, alpha, p, g, i0, i1); break;
    }
}

void mn_optim_step(mn_optim *o, float *params, const float *grads)
{
    o->step++;
    float alpha = 0.0f;
    if (o->kind == MN_ADAM) {
        /* Keras: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t) */
        double t = (double)o->step;
        alpha = (float)(o->lr * sqrt(1.0 - pow(o->beta2, t)) / (1.0 - pow(o->beta1, t)));
    }
    long slices = (long)((o->n + SLICE - 1) / SLICE);
    int nt = o->n < PAR_MIN ? 1 : mn_get_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long k = 0; k < slices; k++) {
        size_t i0 = (size_t)k * SLICE, i1 = i0 + SLICE < o->n ? i0 + SLICE : o->n;
        update(o, alpha, params, grads, i0, i1);
    }
}
