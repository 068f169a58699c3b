/* avgpool.c - average pooling (Keras AveragePooling2D, PyTorch AvgPool2d): the layer kind; kernels/pool.c computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "layer_common.h"


static int parse(mn_layer *l, const char *args, mn_err *e) { return mn_parse_window(l, args, 0, e); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_avgpool_forward(out, in, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h, l->stride_w);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)out, (void)p;
    if (din) mn_avgpool_backward(din, dout, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h, l->stride_w);
}

const mn_layer_ops mn_avgpool_ops = {"avgpool", "AveragePooling2D", "AvgPool2d", parse,   mn_pool_setup, mn_pool_describe,
                                     mn_no_aux, mn_no_params,       NULL,        forward, backward};
