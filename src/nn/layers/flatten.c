/* flatten.c - (C, H, W) -> (C*H*W), in PyTorch's order: on NCHW memory
 * that is no work at all, so the model gives it its input's buffers
 * (MN_KIND_VIEW) and runs nothing. */
#include <stdio.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

static int setup(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = (mn_shape){(int)mn_shape_size(l->in), 1, 1};
    return 0;
}

/* ONNX: Flatten (axis 1), to N x C*H*W in the same NCHW order. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    if (mn_onnx_rank(g) == 2) { /* already flat: nothing to do */
        snprintf(out, len, "%s", in);
        return 0;
    }
    mn_onnx_name(g, l, "flatten", out, len);
    const char *o = out;
    mn_onnx_attr axis = MN_ATTR_I("axis", 1);
    if (mn_onnx_node(g, "Flatten", &in, 1, &o, 1, &axis, 1, e)) return -1;
    mn_onnx_set_rank(g, 2);
    return 0;
}

const mn_layer_kind mn_flatten_kind = {
    .token = "flatten",
    .usage = "flatten",
    .example = "flatten",
    .keras_name = "Flatten",
    .torch_name = "Flatten",
    .flags = MN_KIND_VIEW,
    .draw = MN_DRAW_NONE,
    .parse = mn_parse_no_args,
    .setup = setup,
    .describe = mn_describe_token,
    .onnx = onnx,
};
