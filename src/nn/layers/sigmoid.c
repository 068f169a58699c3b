/* sigmoid.c - logistic sigmoid activation. */
#include <math.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

void mn_sigmoid_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void mn_sigmoid_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * out[i] * (1.0f - out[i]);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_sigmoid_forward(out, in, (size_t)B * mn_shape_size(l->in));
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (a->din) mn_sigmoid_backward(a->din, a->dout, a->out, (size_t)a->B * mn_shape_size(l->in));
    return 0;
}

/* ONNX: Sigmoid. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    return mn_onnx_unary(g, l, "Sigmoid", in, out, len, e);
}

const mn_layer_kind mn_sigmoid_kind = {
    .token = "sigmoid",
    .usage = "sigmoid",
    .example = "sigmoid",
    .keras_name = "Activation",
    .torch_name = "Sigmoid",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = mn_setup_same_shape,
    .describe = mn_describe_token,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
