/* relu.c - rectified linear unit. */
#include "mnist/layer.h"
#include "layer_common.h"

void mn_relu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void mn_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_relu_forward(out, in, (size_t)B * mn_shape_size(l->in));
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)p;
    if (din) mn_relu_backward(din, dout, out, (size_t)B * mn_shape_size(l->in));
}

static void describe(const mn_layer *l, char *buf, size_t len) { (void)l; mn_copy_token(buf, len, "relu"); }

const mn_layer_ops mn_relu_ops = {"relu", "ReLU", "ReLU", mn_parse_no_args, mn_setup_same_shape, describe,
                                  mn_no_aux, mn_no_params, NULL, forward, backward};
