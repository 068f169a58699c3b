/* sigmoid.c - logistic sigmoid activation. */
#include <math.h>

#include "mnist/layer.h"
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

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)p;
    if (din) mn_sigmoid_backward(din, dout, out, (size_t)B * mn_shape_size(l->in));
}

static void describe(const mn_layer *l, char *buf, size_t len) { (void)l; mn_copy_token(buf, len, "sigmoid"); }

const mn_layer_ops mn_sigmoid_ops = {"sigmoid", "Activation", "Sigmoid", mn_parse_no_args, mn_setup_same_shape,
                                     describe, mn_no_aux, mn_no_params, NULL, forward, backward};
