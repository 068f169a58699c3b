/* dense.c - fully connected layer (Keras Dense, PyTorch Linear). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
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

typedef struct {
    int units; /* output features */
    int relu;  /* the ReLU after it absorbed (fuse): applied in the GEMM's write-back */
} dense_conf;
MN_CONF_FITS(dense_conf);

#define CONF(l) MN_CONF(l, dense_conf)

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    char *end;
    long v = args ? strtol(args, &end, 10) : 0;
    if (!args || end == args || *end || v < 1 || v > 1000000)
        return mn_fail(e, "dense needs a unit count from 1 to 1000000, e.g. dense:128");
    CONF(l)->units = (int)v;
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    size_t in = mn_shape_size(l->in);
    int units = CONF(l)->units;
    if ((double)in * (double)units > 2e8) return mn_fail(e, "dense:%d on %zu inputs: too many parameters", units, in);
    l->out = (mn_shape){units, 1, 1};
    l->n_params = in * (size_t)units + (size_t)units;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len) { snprintf(buf, len, "dense:%d", CONF(l)->units); }

/* A Flatten before a non-flat input, as Keras tutorials write it. */
static const mn_layer_kind *insert_before(mn_shape in) { return in.h != 1 || in.w != 1 ? &mn_flatten_kind : NULL; }

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    int C = (int)mn_shape_size(l->in), OC = CONF(l)->units;
    if (t) {
        t[0] = (mn_tensor_desc){"weight", MN_ST_F32, 1, 2, {OC, C, 0, 0}, 0};
        t[1] = (mn_tensor_desc){"bias", MN_ST_F32, 1, 1, {OC, 0, 0, 0}, (size_t)OC * C};
    }
    return 2;
}

/* Glorot-uniform weights (Keras's default), zero biases. */
static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    int C = (int)mn_shape_size(l->in), OC = CONF(l)->units;
    mn_glorot_uniform(p, (size_t)OC * C, C, OC, rng);
    memset(p + (size_t)OC * C, 0, (size_t)OC * sizeof *p);
}

/* A ReLU after it is applied in the GEMM's write-back (wide: 12-14 us of a
 * 1.2 ms step saved). */
static int fuse(mn_layer *l, int n_after)
{
    CONF(l)->relu = n_after >= 1 && l[1].kind == &mn_relu_kind;
    return CONF(l)->relu;
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    int C = (int)mn_shape_size(l->in), OC = CONF(l)->units;
    dense_forward(out, in, p, p + (size_t)OC * C, B, C, OC, l->n_fused ? CONF(l)->relu : 0);
}

/* The optimizer step inside the weight gradient's GEMM: updates rows
 * [i0, i1), columns [j0, j1) of W (rows of `cols` floats, at `off` in the
 * parameter buffer) as soon as their gradients are final, which the GEMM
 * passes at blk (leading dimension ld), while they are in cache. */
typedef struct {
    const mn_optim *o;
    float *params;
    size_t off;
    int cols;
} dense_update;

static void update_block(void *ctx, const float *blk, int ld, int i0, int i1, int j0, int j1)
{
    const dense_update *u = ctx;
    for (int i = i0; i < i1; i++) {
        size_t at = u->off + (size_t)i * (size_t)u->cols + (size_t)j0;
        mn_optim_update(u->o, at, u->params + at, blk + (size_t)(i - i0) * (size_t)ld, (size_t)(j1 - j0));
    }
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    int C = (int)mn_shape_size(l->in), OC = CONF(l)->units;
    const float *dout = a->dout;
    if (l->n_fused) {
        /* the absorbed ReLU's backward, into the layer's own (otherwise
         * unused) output gradient */
        mn_relu_backward(a->dself, dout, a->out, (size_t)a->B * (size_t)OC);
        dout = a->dself;
    }
    float *dw = a->dparams, *db = dw + (size_t)OC * C;
    if (!a->optim) {
        mn_dense_backward(a->din, dw, db, dout, a->in, a->params, a->B, C, OC);
        return 0;
    }
    /* the weights' blocks are updated as the GEMM finishes them; the
     * weight buffer starts the layer's parameters */
    dense_update u = {a->optim, a->params - l->param_off, l->param_off, C};
    mn_dense_backward_then(a->din, dw, db, dout, a->in, a->params, a->B, C, OC, update_block, &u);
    return (size_t)OC * C;
}

/* ONNX: Gemm(x, W, b) with transB = 1 (W is [OC, C], as PyTorch's Linear),
 * after a Flatten if its input is not flat yet. A ReLU it absorbed is the
 * next layer's own node. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    int C = (int)mn_shape_size(l->in), OC = CONF(l)->units;
    char x[64], w[64], b[64];
    int64_t wd[2] = {OC, C}, bd[1] = {OC};
    if (mn_onnx_as_2d(g, l, in, x, sizeof x, e) ||
        mn_onnx_init_param(g, l, "weight", p, 2, wd, w, sizeof w, e) ||
        mn_onnx_init_param(g, l, "bias", p + (size_t)OC * C, 1, bd, b, sizeof b, e))
        return -1;
    mn_onnx_name(g, l, "dense", out, len);
    const char *ins[3] = {x, w, b}, *o = out;
    mn_onnx_attr a[3] = {MN_ATTR_F("alpha", 1.0f), MN_ATTR_F("beta", 1.0f), MN_ATTR_I("transB", 1)};
    if (mn_onnx_node(g, "Gemm", ins, 3, &o, 1, a, 3, e)) return -1;
    mn_onnx_set_rank(g, 2);
    return 0;
}

const mn_layer_kind mn_dense_kind = {
    .token = "dense",
    .usage = "dense:N",
    .example = "dense:5",
    .keras_name = "Dense",
    .torch_name = "Linear",
    .draw = MN_DRAW_VECTOR,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .insert_before = insert_before,
    .tensors = tensors,
    .init = init,
    .fuse = fuse,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
