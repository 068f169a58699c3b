/* layernorm.c - layer normalisation over the last axis (Keras
 * LayerNormalization, PyTorch nn.LayerNorm(last) with eps 1e-5): each step
 * of a sequence (1, T, F) or row of an image (C, H, W) is normalised over
 * its W features, a flat vector (N, 1, 1) over its N; then times `weight`
 * plus `bias` (one per feature, initially 1 and 0). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnist/layer.h"
#include "layer_common.h"
#include "seq_common.h"

#define LN_EPS 1e-5f

/* The normalised axis: W, or C for a flat vector. */
static int axis_of(mn_shape s) { return s.h == 1 && s.w == 1 ? s.c : s.w; }

static int setup(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = l->in;
    l->n_params = 2 * (size_t)axis_of(l->in);
    return 0;
}

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    int n = axis_of(l->in);
    if (t) {
        t[0] = (mn_tensor_desc){"weight", MN_ST_F32, 1, 1, {n, 0, 0, 0}, 0};
        t[1] = (mn_tensor_desc){"bias", MN_ST_F32, 1, 1, {n, 0, 0, 0}, (size_t)n};
    }
    return 2;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    (void)rng;
    int n = axis_of(l->in);
    for (int i = 0; i < n; i++) p[i] = 1.0f, p[n + i] = 0.0f;
}

/* x-hat, then 1/sigma per row */
static size_t aux_size(const mn_layer *l)
{
    size_t n = mn_shape_size(l->in);
    return n + n / (size_t)axis_of(l->in);
}

void mn_layernorm_rows(float *out, float *xhat, float *rstd, const float *in, const float *w, const float *b,
                       size_t rows, int n)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * (size_t)n;
        float mean = 0, var = 0;
        for (int i = 0; i < n; i++) mean += x[i];
        mean /= (float)n;
        for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
        float rs = 1.0f / sqrtf(var / (float)n + LN_EPS);
        rstd[r] = rs;
        float *xh = xhat + r * (size_t)n, *o = out + r * (size_t)n;
        for (int i = 0; i < n; i++) {
            xh[i] = (x[i] - mean) * rs;
            o[i] = xh[i] * w[i] + b[i];
        }
    }
}

/* din (+= when accumulate) from dout; dw, db summed over the rows (they
 * are zeroed first). */
void mn_layernorm_rows_backward(float *din, float *dw, float *db, const float *dout, const float *xhat,
                                const float *rstd, const float *w, size_t rows, int n, int accumulate)
{
    memset(dw, 0, (size_t)n * sizeof *dw);
    memset(db, 0, (size_t)n * sizeof *db);
    for (size_t r = 0; r < rows; r++) {
        const float *g = dout + r * (size_t)n, *xh = xhat + r * (size_t)n;
        float s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            float d = g[i] * w[i];
            s1 += d, s2 += d * xh[i];
            dw[i] += g[i] * xh[i], db[i] += g[i];
        }
        if (!din) continue;
        s1 /= (float)n, s2 /= (float)n;
        float *dx = din + r * (size_t)n;
        for (int i = 0; i < n; i++) {
            float v = rstd[r] * (g[i] * w[i] - s1 - xh[i] * s2);
            dx[i] = accumulate ? dx[i] + v : v;
        }
    }
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    int n = axis_of(l->in);
    size_t size = mn_shape_size(l->in), rows = (size_t)B * size / (size_t)n;
    mn_layernorm_rows(out, l->aux, l->aux + (size_t)B * size, in, p, p + n, rows, n);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    int n = axis_of(l->in);
    size_t size = mn_shape_size(l->in), rows = (size_t)a->B * size / (size_t)n;
    mn_layernorm_rows_backward(a->din, a->dparams, a->dparams + n, a->dout, l->aux, l->aux + (size_t)a->B * size,
                               a->params, rows, n, 0);
    return 0;
}

const mn_layer_kind mn_layernorm_kind = {
    .token = "layernorm",
    .usage = "layernorm",
    .example = "layernorm",
    .keras_name = "LayerNormalization",
    .torch_name = "LayerNorm",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = setup,
    .describe = mn_describe_token,
    .aux_size = aux_size,
    .tensors = tensors,
    .init = init,
    .forward = forward,
    .backward = backward,
};
