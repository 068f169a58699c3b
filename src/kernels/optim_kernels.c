/* optim_kernels.c - the per-element arithmetic of RMSprop and Adam (from
 * src/nn/optim.c, which calls it through kernels/isa.h), compiled once per
 * instruction set. */
#include "kernels/isa_rename.h"

#include "kernels/isa.h"
#include "kernels/simd.h"

#include <math.h>

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
static void rmsprop_simd(float lr_, float rho_, float eps_, float *p, const float *g, float *s, size_t n)
{
    const vf rho = vf_set1(rho_), rho1 = vf_set1(1.0f - rho_), lr = vf_set1(lr_), eps = vf_set1(eps_);
    for (size_t i = 0; i < n; i += MN_VL) {
        vmask k = vmask_first(n - i < MN_VL ? (int)(n - i) : MN_VL);
        vf gv = vf_maskz_loadu(k, g + i), sv = vf_maskz_loadu(k, s + i);
        sv = vf_fmadd(rho, sv, vf_mul(rho1, vf_mul(gv, gv)));
        vf_mask_storeu(s + i, k, sv);
        vf step = vf_mul(vf_mul(lr, gv), inv_sqrt_eps(sv, eps));
        vf_mask_storeu(p + i, k, vf_sub(vf_maskz_loadu(k, p + i), step));
    }
}

static void adam_simd(float alpha, float b1_, float b2_, float eps_, float *p, const float *g, float *m, float *v,
                      size_t n)
{
    const vf b1 = vf_set1(b1_), b11 = vf_set1(1.0f - b1_), b2 = vf_set1(b2_), b21 = vf_set1(1.0f - b2_),
             a = vf_set1(alpha), eps = vf_set1(eps_);
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

void mn_k_rmsprop(float lr, float rho, float eps, float *restrict p, const float *restrict g, float *restrict s,
                  size_t n)
{
#if MN_VL == 16
    rmsprop_simd(lr, rho, eps, p, g, s, n);
    return;
#endif
    for (size_t i = 0; i < n; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        p[i] -= lr * g[i] / (sqrtf(s[i]) + eps);
    }
}

void mn_k_adam(float alpha, float b1, float b2, float eps, float *restrict p, const float *restrict g,
               float *restrict m, float *restrict v, size_t n)
{
#if MN_VL == 16
    adam_simd(alpha, b1, b2, eps, p, g, m, v, n);
    return;
#endif
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

