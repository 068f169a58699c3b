/* maxpool.c - max pooling (Keras MaxPooling2D, PyTorch MaxPool2d); the
 * arithmetic is kernels/pool.c. A conv before it may absorb it (conv.c). */
#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

/* the argmax of each output, for backward */
static size_t aux_size(const mn_layer *l) { return mn_shape_size(l->out); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    mn_maxpool_forward(out, l->aux, in, B, l->in.c, l->in.h, l->in.w, w->kh, w->kw, w->sh, w->sw);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    if (a->din)
        mn_maxpool_backward(a->din, a->dout, l->aux, a->B, l->in.c, l->in.h, l->in.w, w->kh, w->kw, w->sh, w->sw);
    return 0;
}

/* ONNX: MaxPool, no padding, floor rounding (ceil_mode 0), as setup sizes it. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    return mn_pool_onnx(l, "MaxPool", g, in, out, len, e);
}

const mn_layer_kind mn_maxpool_kind = {
    .token = "maxpool",
    .usage = "maxpool:K",
    .example = "maxpool:2",
    .keras_name = "MaxPooling2D",
    .torch_name = "MaxPool2d",
    .draw = MN_DRAW_MAPS,
    .parse = mn_pool_parse,
    .setup = mn_pool_setup,
    .describe = mn_pool_describe,
    .aux_size = aux_size,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
