/* upsample.c - upsample:S, nearest-neighbour upsampling of each map by S in
 * both directions (Keras UpSampling2D, PyTorch nn.Upsample(scale_factor=S,
 * mode='nearest')); backward sums each S x S block's gradients. */
#include <stdio.h>
#include <stdlib.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

typedef struct {
    int s;
} upsample_conf;
MN_CONF_FITS(upsample_conf);

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    char *end;
    long v = args ? strtol(args, &end, 10) : 0;
    if (!args || args[0] < '0' || args[0] > '9' || *end || v < 1 || v > 64)
        return mn_fail(e, "upsample needs a factor from 1 to 64, e.g. upsample:2");
    MN_CONF(l, upsample_conf)->s = (int)v;
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    int s = MN_CONF(l, upsample_conf)->s;
    if ((double)mn_shape_size(l->in) * s * s > 1e8)
        return mn_fail(e, "upsample:%d on a %dx%dx%d input: too large", s, l->in.c, l->in.h, l->in.w);
    l->out = (mn_shape){l->in.c, l->in.h * s, l->in.w * s};
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "upsample:%d", MN_CONF(l, upsample_conf)->s);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    int s = MN_CONF(l, upsample_conf)->s, H = l->in.h, W = l->in.w, OW = W * s;
    size_t planes = (size_t)B * (size_t)l->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *x = in + pl * (size_t)H * W;
        float *o = out + pl * (size_t)H * W * s * s;
        for (int y = 0; y < H * s; y++)
            for (int xo = 0; xo < OW; xo++) o[(size_t)y * OW + xo] = x[(size_t)(y / s) * W + xo / s];
    }
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (!a->din) return 0;
    int s = MN_CONF(l, upsample_conf)->s, H = l->in.h, W = l->in.w, OW = W * s;
    size_t planes = (size_t)a->B * (size_t)l->in.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *g = a->dout + pl * (size_t)H * W * s * s;
        float *d = a->din + pl * (size_t)H * W;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float sum = 0.0f;
                for (int dy = 0; dy < s; dy++)
                    for (int dx = 0; dx < s; dx++) sum += g[(size_t)(y * s + dy) * OW + x * s + dx];
                d[(size_t)y * W + x] = sum;
            }
    }
    return 0;
}

/* ONNX: Resize by scales [1, 1, S, S], nearest with asymmetric coordinates
 * and floor rounding: output (y, x) = input (floor(y / S), floor(x / S)). */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    float s = (float)MN_CONF(l, upsample_conf)->s, scales[4] = {1.0f, 1.0f, s, s};
    char x[64], sc[64];
    int64_t four = 4;
    if (mn_onnx_as_4d(g, l, in, x, sizeof x, e)) return -1;
    mn_onnx_name(g, l, "scales", sc, sizeof sc);
    if (mn_onnx_init_f32(g, sc, scales, 1, &four, e)) return -1;
    mn_onnx_name(g, l, "upsample", out, len);
    const char *ins[3] = {x, "", sc}, *o = out;
    mn_onnx_attr a[3] = {MN_ATTR_S("mode", "nearest"), MN_ATTR_S("coordinate_transformation_mode", "asymmetric"),
                         MN_ATTR_S("nearest_mode", "floor")};
    return mn_onnx_node(g, "Resize", ins, 3, &o, 1, a, 3, e);
}

const mn_layer_kind mn_upsample_kind = {
    .token = "upsample",
    .usage = "upsample:S",
    .example = "upsample:2",
    .keras_name = "UpSampling2D",
    .torch_name = "Upsample",
    .draw = MN_DRAW_MAPS,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
