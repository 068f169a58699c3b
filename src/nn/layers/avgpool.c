/* avgpool.c - average pooling (Keras AveragePooling2D, PyTorch AvgPool2d);
 * the arithmetic is kernels/pool.c. */
#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    mn_avgpool_forward(out, in, B, l->in.c, l->in.h, l->in.w, w->kh, w->kw, w->sh, w->sw);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    if (a->din) mn_avgpool_backward(a->din, a->dout, a->B, l->in.c, l->in.h, l->in.w, w->kh, w->kw, w->sh, w->sw);
    return 0;
}

/* ONNX: AveragePool, no padding, floor rounding (ceil_mode 0), as setup sizes it. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    return mn_pool_onnx(l, "AveragePool", g, in, out, len, e);
}

const mn_layer_kind mn_avgpool_kind = {
    .token = "avgpool",
    .usage = "avgpool:K",
    .example = "avgpool:2:s1",
    .keras_name = "AveragePooling2D",
    .torch_name = "AvgPool2d",
    .draw = MN_DRAW_MAPS,
    .parse = mn_pool_parse,
    .setup = mn_pool_setup,
    .describe = mn_pool_describe,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
