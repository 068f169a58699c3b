/* leakyrelu.c - leaky ReLU (Keras LeakyReLU, PyTorch LeakyReLU):
 * out = in > 0 ? in : alpha * in. Grammar leakyrelu[:ALPHA], ALPHA in
 * [0, 1), default 0.01 as PyTorch's negative_slope (DCGAN uses 0.2). */
#include <stdio.h>
#include <stdlib.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

typedef struct {
    float alpha;
} leaky_conf;
MN_CONF_FITS(leaky_conf);

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    float a = 0.01f;
    if (args) {
        char *end;
        double v = strtod(args, &end);
        a = (float)v;
        if (end == args || *end || !(a >= 0.0f && a < 1.0f))
            return mn_fail(e, "leakyrelu takes a negative slope in [0, 1), e.g. leakyrelu:0.2");
    }
    MN_CONF(l, leaky_conf)->alpha = a;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    char num[32];
    mn_float_str(num, sizeof num, MN_CONF(l, leaky_conf)->alpha);
    snprintf(buf, len, "leakyrelu:%s", num);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    float a = MN_CONF(l, leaky_conf)->alpha;
    size_t n = (size_t)B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : a * in[i];
}

/* from the output: out > 0 exactly where in > 0 (alpha >= 0) */
static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (!a->din) return 0;
    float al = MN_CONF(l, leaky_conf)->alpha;
    size_t n = (size_t)a->B * mn_shape_size(l->in);
    for (size_t i = 0; i < n; i++) a->din[i] = a->out[i] > 0.0f ? a->dout[i] : al * a->dout[i];
    return 0;
}

/* ONNX: LeakyRelu with its alpha. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    mn_onnx_name(g, l, "leakyrelu", out, len);
    const char *o = out;
    mn_onnx_attr a = MN_ATTR_F("alpha", MN_CONF(l, leaky_conf)->alpha);
    return mn_onnx_node(g, "LeakyRelu", &in, 1, &o, 1, &a, 1, e);
}

const mn_layer_kind mn_leakyrelu_kind = {
    .token = "leakyrelu",
    .usage = "leakyrelu[:A]",
    .example = "leakyrelu:0.2",
    .keras_name = "LeakyReLU",
    .torch_name = "LeakyReLU",
    .draw = MN_DRAW_VECTOR,
    .parse = parse,
    .setup = mn_setup_same_shape,
    .describe = describe,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
