/* tanh.c - hyperbolic tangent (Keras Activation('tanh'), PyTorch Tanh);
 * backward uses the output: din = dout * (1 - out^2). */
#include <math.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    size_t n = (size_t)B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) out[i] = tanhf(in[i]);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (!a->din) return 0;
    size_t n = (size_t)a->B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) a->din[i] = a->dout[i] * (1.0f - a->out[i] * a->out[i]);
    return 0;
}

/* ONNX: Tanh. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    return mn_onnx_unary(g, l, "Tanh", in, out, len, e);
}

const mn_layer_kind mn_tanh_kind = {
    .token = "tanh",
    .usage = "tanh",
    .example = "tanh",
    .keras_name = "Activation",
    .torch_name = "Tanh",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = mn_setup_same_shape,
    .describe = mn_describe_token,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
