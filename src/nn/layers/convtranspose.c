/* convtranspose.c - transposed convolution (PyTorch ConvTranspose2d, Keras
 * Conv2DTranspose), the upsampling layer of DCGAN-style generators; the
 * arithmetic is kernels/convt.c.
 *
 * Grammar: convtranspose:FILTERS:KERNEL[:sS][:pP] (KERNEL, S and P being N or
 * NHxNW; stride 1 and padding 0 by default), e.g. convtranspose:32:4:s2:p1,
 * which doubles 7x7 maps to 14x14: OH = (H - 1) * S - 2P + K, as PyTorch.
 * Weights [C_in, F, KH, KW] as PyTorch stores them, Glorot-uniform with
 * PyTorch's fans for that shape (fan_in = F*KH*KW, fan_out = C_in*KH*KW);
 * zero bias. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

typedef struct {
    int filters;
    mn_window win;
} convt_conf;
MN_CONF_FITS(convt_conf);

#define CONF(l) MN_CONF(l, convt_conf)

static void geom_of(const mn_layer *l, mn_convt_geom *g)
{
    const mn_window *w = &CONF(l)->win;
    *g = (mn_convt_geom){l->in.c, l->in.h, l->in.w, l->out.c, l->out.h, l->out.w,
                         w->kh,   w->kw,   w->sh,   w->sw,    w->pad_top, w->pad_left};
}

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    const char *usage = "convtranspose needs FILTERS:KERNEL[:sS][:pP], e.g. convtranspose:32:4:s2:p1";
    char *end;
    long f = args ? strtol(args, &end, 10) : 0;
    if (!args || args[0] < '0' || args[0] > '9' || f < 1 || f > 65536 || *end != ':') return mn_fail(e, "%s", usage);
    CONF(l)->filters = (int)f;
    mn_window *w = &CONF(l)->win;
    if (mn_window_parse(w, "convtranspose", end + 1, 1, e)) return -1;
    if (w->same || w->glorot) return mn_fail(e, "convtranspose takes no 'same', 'he' or 'glorot': %s", usage);
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    const mn_window *w = &CONF(l)->win;
    long oh = (long)(l->in.h - 1) * w->sh - 2L * w->pad_top + w->kh;
    long ow = (long)(l->in.w - 1) * w->sw - 2L * w->pad_left + w->kw;
    char d[64];
    l->kind->describe(l, d, sizeof d);
    if (oh < 1 || ow < 1)
        return mn_fail(e, "%s on a %dx%dx%d input: the padding leaves no output", d, l->in.c, l->in.h, l->in.w);
    int F = CONF(l)->filters;
    double KK = (double)w->kh * w->kw;
    if ((double)l->in.c * F * KK > 2e8 || (double)F * oh * ow > 1e8 || (double)F * KK * l->in.h * l->in.w > 1e9)
        return mn_fail(e, "%s on a %dx%dx%d input: too large", d, l->in.c, l->in.h, l->in.w);
    l->out = (mn_shape){F, (int)oh, (int)ow};
    l->n_params = (size_t)l->in.c * F * (size_t)KK + (size_t)F;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    const mn_window *w = &CONF(l)->win;
    char k[32], s[32] = "", p[32] = "";
    mn_dims_str(k, sizeof k, "", w->kh, w->kw);
    if (w->sh != 1 || w->sw != 1) mn_dims_str(s, sizeof s, "s", w->sh, w->sw);
    if (w->pad_top || w->pad_left) mn_dims_str(p, sizeof p, "p", w->pad_top, w->pad_left);
    snprintf(buf, len, "convtranspose:%d%s%s%s", CONF(l)->filters, k, s, p);
}

/* one image's columns (the kernel runs images one after another) */
static size_t aux_size(const mn_layer *l)
{
    mn_convt_geom g;
    geom_of(l, &g);
    return mn_convt_scratch_floats(&g);
}

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    const mn_window *w = &CONF(l)->win;
    int F = CONF(l)->filters;
    if (t) {
        t[0] = (mn_tensor_desc){"weight", MN_ST_F32, 1, 4, {l->in.c, F, w->kh, w->kw}, 0};
        t[1] = (mn_tensor_desc){"bias", MN_ST_F32, 1, 1, {F, 0, 0, 0}, (size_t)l->in.c * F * w->kh * w->kw};
    }
    return 2;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    const mn_window *w = &CONF(l)->win;
    int F = CONF(l)->filters, k = w->kh * w->kw;
    size_t nw = (size_t)l->in.c * F * k;
    mn_glorot_uniform(p, nw, F * k, l->in.c * k, rng);
    memset(p + nw, 0, (size_t)F * sizeof *p);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    mn_convt_geom g;
    geom_of(l, &g);
    mn_convt_forward(out, in, p, p + (size_t)g.c * g.f * g.kh * g.kw, B, &g, l->aux);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    mn_convt_geom g;
    geom_of(l, &g);
    size_t nw = (size_t)g.c * g.f * g.kh * g.kw;
    mn_convt_backward(a->din, a->dparams, a->dparams + nw, a->dout, a->in, a->params, a->B, &g, l->aux);
    return 0;
}

/* ONNX: ConvTranspose, W [C, F, KH, KW] (ONNX's layout too), B [F],
 * symmetric pads; output (H - 1) * S - 2P + K, as setup sizes it. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    const mn_window *win = &CONF(l)->win;
    int F = CONF(l)->filters;
    char x[64], w[64], b[64];
    int64_t wd[4] = {l->in.c, F, win->kh, win->kw}, bd[1] = {F};
    if (mn_onnx_as_4d(g, l, in, x, sizeof x, e) ||
        mn_onnx_init_param(g, l, "weight", p, 4, wd, w, sizeof w, e) ||
        mn_onnx_init_param(g, l, "bias", p + (size_t)l->in.c * F * win->kh * win->kw, 1, bd, b, sizeof b, e))
        return -1;
    int64_t k[2] = {win->kh, win->kw}, s[2] = {win->sh, win->sw}, one[2] = {1, 1},
            pads[4] = {win->pad_top, win->pad_left, win->pad_top, win->pad_left};
    mn_onnx_attr a[5] = {MN_ATTR_IS("kernel_shape", k, 2), MN_ATTR_IS("strides", s, 2), MN_ATTR_IS("pads", pads, 4),
                         MN_ATTR_IS("dilations", one, 2), MN_ATTR_I("group", 1)};
    mn_onnx_name(g, l, "convtranspose", out, len);
    const char *ins[3] = {x, w, b}, *o = out;
    return mn_onnx_node(g, "ConvTranspose", ins, 3, &o, 1, a, 5, e);
}

const mn_layer_kind mn_convtranspose_kind = {
    .token = "convtranspose",
    .usage = "convtranspose:F:K",
    .example = "convtranspose:3:3:s2:p1",
    .keras_name = "Conv2DTranspose",
    .torch_name = "ConvTranspose2d",
    .draw = MN_DRAW_MAPS,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .aux_size = aux_size,
    .tensors = tensors,
    .init = init,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
