/* maxpool.c - max pooling (Keras MaxPooling2D, PyTorch MaxPool2d): the layer kind; kernels/pool.c computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "layer_common.h"

/* ---- the tables (shared with avgpool.c) ------------------------------------ */

int mn_pool_setup(mn_layer *l, mn_err *e)
{
    char d[64];
    l->ops->describe(l, d, sizeof d);
    if (l->in.h < l->kh || l->in.w < l->kw)
        return mn_fail(e, "%s on a %dx%dx%d input: the window is larger than the input", d, l->in.c, l->in.h,
                       l->in.w);
    l->out = (mn_shape){l->in.c, (l->in.h - l->kh) / l->stride_h + 1, (l->in.w - l->kw) / l->stride_w + 1};
    l->n_params = 0;
    return 0;
}

void mn_pool_describe(const mn_layer *l, char *buf, size_t len)
{
    char k[32], s[32] = "";
    if (l->kh == l->kw)
        snprintf(k, sizeof k, "%d", l->kh);
    else
        snprintf(k, sizeof k, "%dx%d", l->kh, l->kw);
    if (l->stride_h != l->kh || l->stride_w != l->kw) {
        if (l->stride_h == l->stride_w)
            snprintf(s, sizeof s, ":s%d", l->stride_h);
        else
            snprintf(s, sizeof s, ":s%dx%d", l->stride_h, l->stride_w);
    }
    snprintf(buf, len, "%s:%s%s", l->ops->token, k, s);
}

static int parse(mn_layer *l, const char *args, mn_err *e) { return mn_parse_window(l, args, 0, e); }

static size_t aux_size(const mn_layer *l) { return mn_shape_size(l->out); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_maxpool_forward(out, l->aux, in, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h, l->stride_w);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)out, (void)p;
    if (din)
        mn_maxpool_backward(din, dout, l->aux, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h,
                            l->stride_w);
}

const mn_layer_ops mn_maxpool_ops = {"maxpool", "MaxPooling2D", "MaxPool2d", parse,   mn_pool_setup, mn_pool_describe,
                                     aux_size,  mn_no_params,  NULL,        forward, backward};
