/* flatten.c - (C, H, W) -> (C*H*W): a no-op on NCHW memory, in PyTorch's order. */
#include <string.h>

#include "mnist/layer.h"
#include "layer_common.h"

static int setup(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = (mn_shape){(int)mn_shape_size(l->in), 1, 1};
    l->n_params = 0;
    return 0;
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    if (out != in) memcpy(out, in, (size_t)B * mn_shape_size(l->in) * sizeof *out);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)out, (void)p;
    if (din && din != dout) memcpy(din, dout, (size_t)B * mn_shape_size(l->in) * sizeof *din);
}

static void describe(const mn_layer *l, char *buf, size_t len) { (void)l; mn_copy_token(buf, len, "flatten"); }

const mn_layer_ops mn_flatten_ops = {"flatten", "Flatten", "Flatten", mn_parse_no_args, setup, describe, mn_no_aux,
                                     mn_no_params, NULL, forward, backward};
