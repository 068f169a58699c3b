/* softmax.c - the trailing "softmax" token of an arch string. The model's
 * outputs are logits and its loss is softmax + cross-entropy fused
 * (softmax_xent.c), as Keras's from_logits, so the token adds no layer: it
 * only says what the model computes anyway, and must come last. */
#include "mnist/layer.h"
#include "layer_common.h"

const mn_layer_kind mn_softmax_kind = {
    .token = "softmax",
    .usage = "softmax",
    .example = NULL, /* adds no layer: the contract test has nothing to run */
    .keras_name = "Softmax",
    .torch_name = "Softmax",
    .flags = MN_KIND_SOFTMAX,
    .draw = MN_DRAW_NONE,
    .parse = mn_parse_no_args,
};
