/* dense.c - fully connected layer (Keras Dense, PyTorch Linear). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "layer_common.h"

/* The bias (and a ReLU the model fused into the layer) are applied in the
 * GEMM's write-back, while the tile is hot. */
static void dense_forward(float *out, const float *in, const float *w, const float *b, int B, int C, int OC, int relu)
{
    mn_sgemm_ex(0, 1, B, OC, C, 1.0f, in, C, w, C, 0.0f, out, OC, b, relu);
}

void mn_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int C, int OC)
{
    dense_forward(out, in, w, b, B, C, OC, 0);
}

void mn_dense_backward_then(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                            int B, int C, int OC, mn_gemm_done_fn *dw_done, void *ctx)
{
    /* din[B,C] = dout[B,OC] * W[OC,C], before anyone may change W */
    if (din) mn_sgemm(0, 0, B, C, OC, 1.0f, dout, OC, w, C, 0.0f, din, C);
    memset(db, 0, (size_t)OC * sizeof *db);
    for (int n = 0; n < B; n++) {
        const float *d = dout + (size_t)n * OC;
        for (int j = 0; j < OC; j++) db[j] += d[j];
    }
    /* dW[OC,C] = dout^T[OC,B] * in[B,C] */
    mn_sgemm_then(1, 0, OC, C, B, 1.0f, dout, OC, in, C, 0.0f, dw, C, dw_done, ctx);
}

void mn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                       int C, int OC)
{
    mn_dense_backward_then(din, dw, db, dout, in, w, B, C, OC, NULL, NULL);
}

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    char *end;
    long v = args ? strtol(args, &end, 10) : 0;
    if (!args || end == args || *end || v < 1 || v > 1000000)
        return mn_fail(e, "dense needs a unit count from 1 to 1000000, e.g. dense:128");
    l->units = (int)v;
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    size_t in = mn_shape_size(l->in);
    if ((double)in * (double)l->units > 2e8) return mn_fail(e, "dense:%d on %zu inputs: too many parameters", l->units, in);
    l->out = (mn_shape){l->units, 1, 1};
    l->n_params = in * (size_t)l->units + (size_t)l->units;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len) { snprintf(buf, len, "dense:%d", l->units); }

static int params(const mn_layer *l, mn_param_desc *p)
{
    int C = (int)mn_shape_size(l->in), OC = l->units;
    p[0] = (mn_param_desc){"weight", 2, {OC, C, 0, 0}, 0};
    p[1] = (mn_param_desc){"bias", 1, {OC, 0, 0, 0}, (size_t)OC * C};
    return 2;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    int C = (int)mn_shape_size(l->in), OC = l->units;
    mn_glorot_uniform(p, (size_t)OC * C, C, OC, rng);
    memset(p + (size_t)OC * C, 0, (size_t)OC * sizeof *p);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    int C = (int)mn_shape_size(l->in), OC = l->units;
    dense_forward(out, in, p, p + (size_t)OC * C, B, C, OC, l->n_fused ? l->fuse.relu : 0);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)out;
    int C = (int)mn_shape_size(l->in), OC = l->units;
    mn_dense_backward(din, dp, dp + (size_t)OC * C, dout, in, p, B, C, OC);
}



const mn_layer_ops mn_dense_ops = {"dense", "Dense", "Linear", parse, setup, describe, mn_no_aux, params, init, forward, backward};
