/* reshape.c - reshape:C:H:W, a vector (or any input) of C*H*W values as C
 * maps of H x W (Keras Reshape((H, W, C)) in NCHW order, PyTorch
 * nn.Unflatten(1, (C, H, W))): on NCHW memory no work, a view like flatten.
 * A generator's dense output becomes the maps its upsampling layers grow. */
#include <stdio.h>
#include <stdlib.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

typedef struct {
    mn_shape to;
} reshape_conf;
MN_CONF_FITS(reshape_conf);

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    long v[3];
    const char *p = args;
    for (int i = 0; i < 3; i++) {
        char *end;
        if (!p || *p < '0' || *p > '9') goto bad;
        v[i] = strtol(p, &end, 10);
        if (v[i] < 1 || v[i] > 65536 || (i < 2 && *end != ':') || (i == 2 && *end)) goto bad;
        p = end + 1;
    }
    MN_CONF(l, reshape_conf)->to = (mn_shape){(int)v[0], (int)v[1], (int)v[2]};
    return 0;
bad:
    return mn_fail(e, "reshape needs C:H:W (each 1 to 65536), e.g. reshape:64:7:7");
}

static int setup(mn_layer *l, mn_err *e)
{
    mn_shape to = MN_CONF(l, reshape_conf)->to;
    if (mn_shape_size(to) != mn_shape_size(l->in))
        return mn_fail(e, "reshape:%d:%d:%d needs %zu inputs, not %zu", to.c, to.h, to.w, mn_shape_size(to),
                       mn_shape_size(l->in));
    l->out = to;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    mn_shape to = MN_CONF(l, reshape_conf)->to;
    snprintf(buf, len, "reshape:%d:%d:%d", to.c, to.h, to.w);
}

/* ONNX: Reshape to N x C x H x W (shape [-1, C, H, W]). */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    mn_shape to = MN_CONF(l, reshape_conf)->to;
    char shape[64];
    int64_t s[4] = {-1, to.c, to.h, to.w}, four = 4;
    mn_onnx_name(g, l, "shape", shape, sizeof shape);
    if (mn_onnx_init_i64(g, shape, s, 1, &four, e)) return -1;
    mn_onnx_name(g, l, "reshape", out, len);
    const char *ins[2] = {in, shape}, *o = out;
    if (mn_onnx_node(g, "Reshape", ins, 2, &o, 1, NULL, 0, e)) return -1;
    mn_onnx_set_rank(g, 4);
    return 0;
}

const mn_layer_kind mn_reshape_kind = {
    .token = "reshape",
    .usage = "reshape:C:H:W",
    .example = "reshape:8:3:3",
    .keras_name = "Reshape",
    .torch_name = "Unflatten",
    .flags = MN_KIND_VIEW,
    .draw = MN_DRAW_NONE,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .onnx = onnx,
};
