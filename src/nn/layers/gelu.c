/* gelu.c - Gaussian error linear unit, exact (erf) form as PyTorch's
 * nn.GELU() and Keras's gelu(approximate=False):
 * gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2,
 * gelu'(x) = Phi(x) + x phi(x). */
#include <math.h>

#include "mnist/layer.h"
#include "layer_common.h"

float mn_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

float mn_gelu_grad(float x)
{
    return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    size_t n = (size_t)B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) out[i] = mn_gelu(in[i]);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (!a->din) return 0;
    size_t n = (size_t)a->B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) a->din[i] = a->dout[i] * mn_gelu_grad(a->in[i]);
    return 0;
}

const mn_layer_kind mn_gelu_kind = {
    .token = "gelu",
    .usage = "gelu",
    .example = "gelu",
    .keras_name = "Activation",
    .torch_name = "GELU",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = mn_setup_same_shape,
    .describe = mn_describe_token,
    .forward = forward,
    .backward = backward,
};
