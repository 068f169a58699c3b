/* mean.c - the mean over a sequence's steps (Keras GlobalAveragePooling1D):
 * a sequence (1, T, F), or an image (C, H, W) read as H steps of C*W
 * features (seq_common.h), to its F features (F, 1, 1). A vision
 * transformer's classifier reads it. */
#include <stdio.h>
#include <string.h>

#include "mnist/layer.h"
#include "layer_common.h"
#include "seq_common.h"

static int setup(mn_layer *l, mn_err *e)
{
    mn_seq_dims d = mn_seq_of(l->in, 0);
    if (d.T < 2)
        return mn_fail(e, "mean needs a sequence of at least 2 steps, got (%d, %d, %d)", l->in.c, l->in.h, l->in.w);
    l->out = (mn_shape){d.F, 1, 1};
    return 0;
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_seq_dims d = mn_seq_of(l->in, 0);
    float inv = 1.0f / (float)d.T;
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * d.F;
        memset(o, 0, (size_t)d.F * sizeof *o);
        for (int t = 0; t < d.T; t++)
            for (int f = 0; f < d.F; f++) o[f] += in[mn_seq_index(l->in, 0, b, t, f)];
        for (int f = 0; f < d.F; f++) o[f] *= inv;
    }
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (!a->din) return 0;
    mn_seq_dims d = mn_seq_of(l->in, 0);
    float inv = 1.0f / (float)d.T;
    for (int b = 0; b < a->B; b++)
        for (int t = 0; t < d.T; t++)
            for (int f = 0; f < d.F; f++) a->din[mn_seq_index(l->in, 0, b, t, f)] = a->dout[(size_t)b * d.F + f] * inv;
    return 0;
}

const mn_layer_kind mn_mean_kind = {
    .token = "mean",
    .usage = "mean",
    .example = "mean",
    .keras_name = "GlobalAveragePooling1D",
    .torch_name = "SeqMean",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = setup,
    .describe = mn_describe_token,
    .forward = forward,
    .backward = backward,
};
