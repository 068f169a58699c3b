/* optim.c - SGD (momentum, Nesterov), RMSprop, Adam, AdamW and Adadelta, one
 * loop each. */
#include "base/alloc64.h"
#include "mnist/optim.h"

#include "mnist/gemm.h" /* mn_get_threads */
#include "kernels/simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[MN_N_OPTIM] = {"sgd", "rmsprop", "adam", "adamw", "adadelta"};

int mn_optim_kind_of(const char *name)
{
    for (int k = 0; k < MN_N_OPTIM; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

const char *mn_optim_name(mn_optim_kind k) { return names[k]; }

float mn_optim_default_lr(mn_optim_kind k) { return k == MN_SGD ? 0.01f : k == MN_ADADELTA ? 1.0f : 0.001f; }

int mn_optim_init(mn_optim *o, mn_optim_kind kind, float lr, size_t n, mn_err *e)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->rho = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-7f;
    if (kind == MN_ADADELTA) o->eps = 1e-6f; /* PyTorch's Adadelta: rho 0.9, eps 1e-6 */
    o->weight_decay = kind == MN_ADAMW ? 0.01f : 0.0f;
    o->n = n;
    o->m = mn_zalloc64(n ? n : 1, sizeof(float));
    o->v = mn_zalloc64(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        mn_optim_free(o);
        return mn_fail(e, "out of memory for optimizer state");
    }
    return 0;
}

int mn_optim_use_ema(mn_optim *o, float mom, mn_err *e)
{
    if (!(mom > 0.0f && mom < 1.0f)) return mn_fail(e, "EMA momentum %g outside (0, 1)", (double)mom);
    if (!o->ema && !(o->ema = mn_zalloc64(o->n ? o->n : 1, sizeof(float))))
        return mn_fail(e, "out of memory for the weights' moving average");
    o->ema_momentum = mom;
    return 0;
}

void mn_optim_free(mn_optim *o)
{
    mn_free64(o->m);
    mn_free64(o->v);
    mn_free64(o->ema);
    o->m = o->v = o->ema = NULL;
}

/* The update of each parameter depends on nothing but its own gradient and
 * state, so splitting the buffer among threads gives the same bytes for any
 * thread count. Below PAR_MIN floats a fork/join costs more than it saves. */
#define PAR_MIN 32768
#define SLICE 4096 /* floats per work item: whole cache lines, 16 KiB */

/* Each update below works on n parameters whose values, gradients and
 * state start at p, g, m and v (the state pointers already offset to the
 * same parameter index as p). */
static void sgd(const mn_optim *o, float *restrict p, const float *restrict g, float *restrict vel, size_t n)
{
    float lr = o->lr, mu = o->momentum;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
    } else if (o->nesterov) {
        for (size_t i = 0; i < n; i++) {
            vel[i] = mu * vel[i] - lr * g[i];
            p[i] += mu * vel[i] - lr * g[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            vel[i] = mu * vel[i] - lr * g[i];
            p[i] += vel[i];
        }
    }
}

/* RMSprop and Adam divide by sqrt(x) + eps for every parameter in every
 * step. With AVX-512 a square root and a division per 16 floats cost more
 * than the memory traffic of the update (we measured Adam at ~2 cycles per
 * parameter, compute-bound), so there we compute 1 / (sqrt(x) + eps) from
 * the 14-bit reciprocal estimates, each refined by one Newton step, to a
 * relative error below 1e-5 (tests/test_optim.c measures 7e-6): 2.5x fewer
 * cycles for the whole Adam step. x is clamped to 1e-30 first so that x = 0
 * (a weight that never had a gradient) gives 1 / (1e-15 + eps) instead of
 * 0 * inf. The result depends only on the element's own values, so it is the
 * same for any thread split or range; it differs in the last bits from the
 * loop below. With AVX2 the compiler vectorises that loop (exact square root and
 * division) and it measured as fast as the estimates on Zen 3 (mlp at 1
 * thread: 298-378 against 306-332 us/step, interleaved; the update is
 * memory-bound there), so AVX2 builds keep it and its exact bits. */
#if MN_VL == 16
static inline vf inv_sqrt_eps(vf x, vf eps)
{
    const vf half = vf_set1(0.5f), three_halves = vf_set1(1.5f), two = vf_set1(2.0f);
    x = vf_max(x, vf_set1(1e-30f));
    vf r = vf_rsqrt_est(x);                                       /* ~1/sqrt(x) */
    vf hxr = vf_mul(vf_mul(half, x), r);
    r = vf_mul(r, vf_fnmadd(hxr, r, three_halves));               /* r (1.5 - x r^2 / 2) */
    vf d = vf_fmadd(x, r, eps);                                   /* sqrt(x) + eps */
    vf q = vf_rcp_est(d);
    return vf_mul(q, vf_fnmadd(d, q, two));                       /* q (2 - d q) */
}

/* Every element goes through the same lanes' arithmetic: the last partial
 * vector is loaded and stored under a mask rather than left to a scalar
 * loop, so an element's bits do not depend on where the range it is
 * updated in starts or ends (the fused step updates panel rows, the plain
 * step slices; tests/test_train.c checks they agree bit for bit). */
static void rmsprop_simd(const mn_optim *o, float *p, const float *g, float *s, size_t n)
{
    const vf rho = vf_set1(o->rho), rho1 = vf_set1(1.0f - o->rho), lr = vf_set1(o->lr), eps = vf_set1(o->eps);
    for (size_t i = 0; i < n; i += MN_VL) {
        vmask k = vmask_first(n - i < MN_VL ? (int)(n - i) : MN_VL);
        vf gv = vf_maskz_loadu(k, g + i), sv = vf_maskz_loadu(k, s + i);
        sv = vf_fmadd(rho, sv, vf_mul(rho1, vf_mul(gv, gv)));
        vf_mask_storeu(s + i, k, sv);
        vf step = vf_mul(vf_mul(lr, gv), inv_sqrt_eps(sv, eps));
        vf_mask_storeu(p + i, k, vf_sub(vf_maskz_loadu(k, p + i), step));
    }
}

static void adam_simd(const mn_optim *o, float alpha, float *p, const float *g, float *m, float *v, size_t n)
{
    const vf b1 = vf_set1(o->beta1), b11 = vf_set1(1.0f - o->beta1), b2 = vf_set1(o->beta2),
             b21 = vf_set1(1.0f - o->beta2), a = vf_set1(alpha), eps = vf_set1(o->eps);
    for (size_t i = 0; i < n; i += MN_VL) {
        vmask k = vmask_first(n - i < MN_VL ? (int)(n - i) : MN_VL);
        vf gv = vf_maskz_loadu(k, g + i), mv = vf_maskz_loadu(k, m + i), vv = vf_maskz_loadu(k, v + i);
        mv = vf_fmadd(b1, mv, vf_mul(b11, gv));
        vv = vf_fmadd(b2, vv, vf_mul(b21, vf_mul(gv, gv)));
        vf_mask_storeu(m + i, k, mv);
        vf_mask_storeu(v + i, k, vv);
        vf step = vf_mul(vf_mul(a, mv), inv_sqrt_eps(vv, eps));
        vf_mask_storeu(p + i, k, vf_sub(vf_maskz_loadu(k, p + i), step));
    }
}
#endif

static void rmsprop(const mn_optim *o, float *restrict p, const float *restrict g, float *restrict s, size_t n)
{
    float lr = o->lr, rho = o->rho, eps = o->eps;
#if MN_VL == 16
    rmsprop_simd(o, p, g, s, n);
    return;
#endif
    for (size_t i = 0; i < n; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        p[i] -= lr * g[i] / (sqrtf(s[i]) + eps);
    }
}

static void adam(const mn_optim *o, float alpha, float *restrict p, const float *restrict g, float *restrict m,
                 float *restrict v, size_t n)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
#if MN_VL == 16
    adam_simd(o, alpha, p, g, m, v, n);
    return;
#endif
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

/* AdamW's decoupled decay, before the Adam update (PyTorch: p *= 1 - lr*wd,
 * with the step's scheduled lr). */
static void decay(const mn_optim *o, float *restrict p, size_t n)
{
    float keep = 1.0f - o->lr * o->weight_decay;
    for (size_t i = 0; i < n; i++) p[i] *= keep;
}

/* Adadelta (PyTorch's): v = rho*v + (1-rho)*g^2;
 * d = sqrt(u + eps) / sqrt(v + eps) * g;  u = rho*u + (1-rho)*d^2;
 * p -= lr*d. v (the squared gradients' average) in o->v, u (the squared
 * updates') in o->m. */
static void adadelta(const mn_optim *o, float *restrict p, const float *restrict g, float *restrict u,
                     float *restrict v, size_t n)
{
    float lr = o->lr, rho = o->rho, rho1 = 1.0f - o->rho, eps = o->eps;
    for (size_t i = 0; i < n; i++) {
        v[i] = rho * v[i] + rho1 * g[i] * g[i];
        float d = sqrtf(u[i] + eps) / sqrtf(v[i] + eps) * g[i];
        u[i] = rho * u[i] + rho1 * d * d;
        p[i] -= lr * d;
    }
}

/* Keras's _update_model_variables_moving_average: the momentum is 0 on the
 * first step, so the average starts at the first step's weights. */
static void ema(const mn_optim *o, const float *restrict p, float *restrict a, size_t n)
{
    if (o->step == 1) {
        memcpy(a, p, n * sizeof *a);
        return;
    }
    float mom = o->ema_momentum, rest = 1.0f - mom;
    for (size_t i = 0; i < n; i++) a[i] = mom * a[i] + rest * p[i];
}

/* Parameters [at, at + n), whose values and gradients are p[0..n) and
 * g[0..n). */
static void update(const mn_optim *o, size_t at, float *p, const float *g, size_t n)
{
    switch (o->kind) {
    case MN_SGD: sgd(o, p, g, o->m + at, n); break;
    case MN_RMSPROP: rmsprop(o, p, g, o->v + at, n); break;
    case MN_ADAM: adam(o, o->alpha, p, g, o->m + at, o->v + at, n); break;
    case MN_ADAMW:
        decay(o, p, n);
        adam(o, o->alpha, p, g, o->m + at, o->v + at, n);
        break;
    case MN_ADADELTA: adadelta(o, p, g, o->m + at, o->v + at, n); break;
    case MN_N_OPTIM: break;
    }
    if (o->ema) ema(o, p, o->ema + at, n); /* while the run is in cache */
}

void mn_optim_begin_step(mn_optim *o)
{
    o->step++;
    o->alpha = 0.0f;
    if (o->kind == MN_ADAM || o->kind == MN_ADAMW) {
        /* Keras: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t) */
        double t = (double)o->step;
        o->alpha = (float)(o->lr * sqrt(1.0 - pow(o->beta2, t)) / (1.0 - pow(o->beta1, t)));
    }
}

void mn_optim_update(const mn_optim *o, size_t at, float *p, const float *g, size_t n)
{
    if (n) update(o, at, p, g, n);
}

void mn_optim_update_all(const mn_optim *o, float *params, const float *grads, size_t i0, size_t i1)
{
    if (i0 >= i1) return;
    size_t n = i1 - i0;
    long slices = (long)((n + SLICE - 1) / SLICE);
    int nt = n < PAR_MIN ? 1 : mn_get_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long k = 0; k < slices; k++) {
        size_t a = i0 + (size_t)k * SLICE, len = i1 - a < SLICE ? i1 - a : SLICE;
        update(o, a, params + a, grads + a, len);
    }
}

void mn_optim_step(mn_optim *o, float *params, const float *grads)
{
    mn_optim_begin_step(o);
    mn_optim_update_all(o, params, grads, 0, o->n);
}
