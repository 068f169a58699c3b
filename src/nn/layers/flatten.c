/* flatten.c - (C, H, W) -> (C*H*W), in PyTorch's order: on NCHW memory
 * that is no work at all, so the model gives it its input's buffers
 * (MN_KIND_VIEW) and runs nothing. */
#include "mnist/layer.h"
#include "layer_common.h"

static int setup(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = (mn_shape){(int)mn_shape_size(l->in), 1, 1};
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
};
