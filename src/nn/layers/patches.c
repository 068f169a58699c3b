/* patches.c - a vision transformer's patch embedding: patches:P:D cuts the
 * image (C, H, W) into (H/P) x (W/P) patches of P x P (a PxP convolution
 * with stride P to D channels, PyTorch Conv2d(C, D, P, stride=P); rows
 * and columns past the last whole patch are dropped, as the conv does),
 * and returns them as a sequence (1, T, D), T = (H/P)(W/P) in row-major
 * patch order, plus a learned position embedding [1, T, D].
 *
 * Tensors: proj.weight [D, C, P, P], proj.bias [D], pos [1, T, D] (the
 * torch module Patches of scripts/torch_common.py). Initial values: the
 * projection Glorot-uniform (Keras's Conv2D default), bias 0, positions
 * U(-0.05, 0.05) (Keras's Embedding default). The projection is one GEMM
 * over all B*T patches; the patch matrix (a permutation of the input) is
 * kept in the layer's aux. */
#include <stdio.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "layer_common.h"
#include "seq_common.h"

typedef struct {
    int p, d;
} patches_conf;
MN_CONF_FITS(patches_conf);
#define CONF(l) MN_CONF(l, patches_conf)

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    long p, d;
    const char *rest = NULL;
    if (mn_parse_count(args, 1000, &p, &rest) || !rest || mn_parse_count(rest, 100000, &d, &rest) || rest)
        return mn_fail(e, "patches needs a patch size and a width, both at least 1, e.g. patches:4:64");
    CONF(l)->p = (int)p, CONF(l)->d = (int)d;
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    int P = CONF(l)->p, D = CONF(l)->d;
    if (P > l->in.h || P > l->in.w)
        return mn_fail(e, "patches:%d:%d: the patch is larger than the input (%d, %d, %d)", P, D, l->in.c, l->in.h,
                       l->in.w);
    int T = (l->in.h / P) * (l->in.w / P);
    size_t K = (size_t)l->in.c * P * P;
    if ((double)D * ((double)K + 1 + T) > 2e8) return mn_fail(e, "patches:%d:%d: too many parameters", P, D);
    l->out = (mn_shape){1, T, D};
    l->n_params = (size_t)D * K + (size_t)D + (size_t)T * D;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len) { snprintf(buf, len, "patches:%d:%d", CONF(l)->p, CONF(l)->d); }

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    int P = CONF(l)->p, D = CONF(l)->d, C = l->in.c, T = l->out.h;
    size_t K = (size_t)C * P * P;
    if (t) {
        t[0] = (mn_tensor_desc){"proj.weight", MN_ST_F32, 1, 4, {D, C, P, P}, 0};
        t[1] = (mn_tensor_desc){"proj.bias", MN_ST_F32, 1, 1, {D, 0, 0, 0}, (size_t)D * K};
        t[2] = (mn_tensor_desc){"pos", MN_ST_F32, 1, 3, {1, T, D, 0}, (size_t)D * K + (size_t)D};
    }
    return 3;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    int P = CONF(l)->p, D = CONF(l)->d, C = l->in.c, T = l->out.h;
    size_t K = (size_t)C * P * P;
    mn_glorot_uniform(p, (size_t)D * K, (int)K, D * P * P, rng);
    memset(p + (size_t)D * K, 0, (size_t)D * sizeof *p);
    float *pos = p + (size_t)D * K + D;
    for (size_t i = 0; i < (size_t)T * D; i++) pos[i] = (2.0f * mn_rng_uniform(rng) - 1.0f) * 0.05f;
}

static size_t aux_size(const mn_layer *l) { return (size_t)l->out.h * l->in.c * CONF(l)->p * CONF(l)->p; }

/* patch matrix row (b, t), column c*P*P + ky*P + kx <-> input element */
static inline size_t src_index(const mn_layer *l, int b, int t, size_t k)
{
    int P = CONF(l)->p, Wp = l->in.w / P;
    int c = (int)(k / ((size_t)P * P)), ky = (int)(k / P % P), kx = (int)(k % P);
    int y = t / Wp * P + ky, x = t % Wp * P + kx;
    return (size_t)b * mn_shape_size(l->in) + ((size_t)c * l->in.h + y) * l->in.w + x;
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    int P = CONF(l)->p, D = CONF(l)->d, T = l->out.h;
    size_t K = (size_t)l->in.c * P * P;
    float *pm = l->aux;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (size_t k = 0; k < K; k++) pm[((size_t)b * T + t) * K + k] = in[src_index(l, b, t, k)];
    const float *w = p, *bias = p + (size_t)D * K, *pos = bias + D;
    mn_sgemm_ex(0, 1, B * T, D, (int)K, 1.0f, pm, (int)K, w, (int)K, 0.0f, out, D, bias, 0);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)T * D; i++) out[(size_t)b * T * D + i] += pos[i];
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    int P = CONF(l)->p, D = CONF(l)->d, T = l->out.h, B = a->B;
    size_t K = (size_t)l->in.c * P * P;
    float *dw = a->dparams, *db = dw + (size_t)D * K, *dpos = db + D, *pm = l->aux;
    mn_sgemm(1, 0, D, (int)K, B * T, 1.0f, a->dout, D, pm, (int)K, 0.0f, dw, (int)K);
    mn_col_sums(db, a->dout, (size_t)B * T, D);
    memset(dpos, 0, (size_t)T * D * sizeof *dpos);
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)T * D; i++) dpos[i] += a->dout[(size_t)b * T * D + i];
    if (a->din) {
        mn_sgemm(0, 0, B * T, (int)K, D, 1.0f, a->dout, D, a->params, (int)K, 0.0f, pm, (int)K);
        memset(a->din, 0, (size_t)B * mn_shape_size(l->in) * sizeof *a->din);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (size_t k = 0; k < K; k++) a->din[src_index(l, b, t, k)] = pm[((size_t)b * T + t) * K + k];
    }
    return 0;
}

const mn_layer_kind mn_patches_kind = {
    .token = "patches",
    .usage = "patches:P:D",
    .example = "patches:2:4",
    .keras_name = "PatchEmbedding",
    .torch_name = "Patches",
    .draw = MN_DRAW_VECTOR,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .aux_size = aux_size,
    .tensors = tensors,
    .init = init,
    .forward = forward,
    .backward = backward,
};
