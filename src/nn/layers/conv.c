/* conv.c - 2-D convolution (Keras Conv2D, PyTorch Conv2d): the layer kind; the arithmetic is kernels/conv.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "layer_common.h"

/* ---- the layer table ------------------------------------------------------ */

static void geom_of(const mn_layer *l, mn_conv_geom *g)
{
    *g = (mn_conv_geom){l->in.c, l->in.h, l->in.w, l->out.c, l->out.h, l->out.w, l->kh, l->kw,
                        l->stride_h,  l->stride_w, l->pad_top, l->pad_left};
}

/* "N" or "NxM" (each 1..max, or 0..max when zero_ok) spanning s[0..len). */
static int parse_dims(const char *s, size_t len, int zero_ok, int max, int *a, int *b)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    long v[2];
    int n = 0;
    char *p = buf;
    for (;;) {
        if (*p < '0' || *p > '9') return -1; /* no signs or spaces */
        char *end;
        v[n] = strtol(p, &end, 10);
        if (v[n] < (zero_ok ? 0 : 1) || v[n] > max) return -1;
        n++;
        if (*end == '\0') break;
        if (*end != 'x' || n == 2) return -1;
        p = end + 1;
    }
    *a = (int)v[0];
    *b = n == 2 ? (int)v[1] : (int)v[0];
    return 0;
}

#define MAX_WINDOW 1024
#define CONV_USAGE \
    "conv needs FILTERS:KERNEL[:sS][:same|:valid|:pP][:he|:glorot], e.g. conv:32:3 or conv:16:3x5:s2:p1"

int mn_parse_window(mn_layer *l, const char *opts, int conv, mn_err *e)
{
    const char *tok = l->ops->token;
    const char *usage = conv ? CONV_USAGE : NULL;
    char pool_usage[96];
    if (!conv) {
        snprintf(pool_usage, sizeof pool_usage, "%s needs SIZE[:sS], e.g. %s:2 or %s:3:s2", tok, tok, tok);
        usage = pool_usage;
    }
    if (!opts || !*opts) return mn_fail(e, "%s", usage);
    const char *p = opts, *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    if (parse_dims(p, len, 0, MAX_WINDOW, &l->kh, &l->kw))
        return mn_fail(e, "%s: bad %s size '%.*s' (want N or NxM, 1 to %d): %s", tok, conv ? "kernel" : "window",
                       (int)len, p, MAX_WINDOW, usage);
    int have_stride = 0, have_pad = 0, have_init = 0;
    l->stride_h = conv ? 1 : l->kh;
    l->stride_w = conv ? 1 : l->kw;
    l->pad_top = l->pad_left = l->pad_bottom = l->pad_right = 0;
    l->pad_same = 0;
    l->glorot = 0;
    while (colon) {
        p = colon + 1;
        colon = strchr(p, ':');
        len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && p[0] == 's' && !(len == 4 && !strncmp(p, "same", 4))) {
            if (have_stride++) return mn_fail(e, "%s: stride given twice: %s", tok, usage);
            if (parse_dims(p + 1, len - 1, 0, MAX_WINDOW, &l->stride_h, &l->stride_w))
                return mn_fail(e, "%s: bad stride '%.*s' (want sN or sNxM, N from 1 to %d)", tok, (int)len, p,
                               MAX_WINDOW);
        } else if (len == 5 && !strncmp(p, "valid", 5)) {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
        } else if (conv && len == 4 && !strncmp(p, "same", 4)) {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
            l->pad_same = 1;
        } else if (conv && len > 0 && p[0] == 'p') {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
            int ph, pw;
            if (parse_dims(p + 1, len - 1, 1, MAX_WINDOW, &ph, &pw))
                return mn_fail(e, "%s: bad padding '%.*s' (want pN or pNxM, N from 0 to %d)", tok, (int)len, p,
                               MAX_WINDOW);
            l->pad_top = l->pad_bottom = ph;
            l->pad_left = l->pad_right = pw;
        } else if (conv && ((len == 2 && !strncmp(p, "he", 2)) || (len == 6 && !strncmp(p, "glorot", 6)))) {
            if (have_init++) return mn_fail(e, "%s: initialisation given twice: %s", tok, usage);
            l->glorot = len == 6;
        } else {
            return mn_fail(e, "%s: unknown option '%.*s': %s", tok, (int)len, p, usage);
        }
    }
    if (l->pad_same && (l->stride_h != 1 || l->stride_w != 1))
        return mn_fail(e, "%s: 'same' padding needs stride 1 (PyTorch cannot express Keras's asymmetric 'same' "
                          "padding of a strided convolution); give explicit padding instead, e.g. :p1",
                       tok);
    return 0;
}

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    const char *usage = CONV_USAGE;
    if (!args) return mn_fail(e, "%s", usage);
    char *end;
    long f = strtol(args, &end, 10);
    if (end == args || args[0] < '0' || args[0] > '9' || f < 1 || f > 65536 || (*end && *end != ':'))
        return mn_fail(e, "conv: bad filter count in '%s' (want 1 to 65536): %s", args, usage);
    if (*end != ':') return mn_fail(e, "conv:%ld: no kernel size: %s", f, usage);
    l->filters = (int)f;
    return mn_parse_window(l, end + 1, 1, e);
}

static int setup(mn_layer *l, mn_err *e)
{
    char d[64];
    l->ops->describe(l, d, sizeof d);
    if (l->pad_same) {
        /* stride 1: Keras pads kernel - 1 in total, the odd one at the end */
        l->pad_top = (l->kh - 1) / 2, l->pad_bottom = l->kh - 1 - l->pad_top;
        l->pad_left = (l->kw - 1) / 2, l->pad_right = l->kw - 1 - l->pad_left;
    }
    long ph = (long)l->in.h + l->pad_top + l->pad_bottom, pw = (long)l->in.w + l->pad_left + l->pad_right;
    if (ph < l->kh || pw < l->kw)
        return mn_fail(e, "%s on a %dx%dx%d input: the kernel is larger than the (padded) input", d, l->in.c,
                       l->in.h, l->in.w);
    l->out = (mn_shape){l->filters, (int)((ph - l->kh) / l->stride_h + 1), (int)((pw - l->kw) / l->stride_w + 1)};
    double KK = (double)l->in.c * l->kh * l->kw, P = (double)l->out.h * l->out.w;
    if (KK * l->filters > 2e8) return mn_fail(e, "%s on %d channels: too many parameters", d, l->in.c);
    if (KK * P > 1e9 || (double)l->filters * P > 1e9)
        return mn_fail(e, "%s on a %dx%dx%d input: too large", d, l->in.c, l->in.h, l->in.w);
    l->n_params = (size_t)KK * (size_t)l->filters + (size_t)l->filters;
    return 0;
}

static int dims_str(char *buf, size_t len, const char *prefix, int a, int b)
{
    return a == b ? snprintf(buf, len, ":%s%d", prefix, a) : snprintf(buf, len, ":%s%dx%d", prefix, a, b);
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    char k[32], s[32] = "", p[32] = "";
    dims_str(k, sizeof k, "", l->kh, l->kw);
    if (l->stride_h != 1 || l->stride_w != 1) dims_str(s, sizeof s, "s", l->stride_h, l->stride_w);
    if (l->pad_same)
        snprintf(p, sizeof p, ":same");
    else if (l->pad_top || l->pad_left)
        dims_str(p, sizeof p, "p", l->pad_top, l->pad_left);
    snprintf(buf, len, "conv:%d%s%s%s%s", l->filters, k, s, p, l->glorot ? ":glorot" : "");
}

static size_t aux_size(const mn_layer *l)
{
    /* per image (the model multiplies by the batch size): at least
     * mn_conv_scratch_floats(g, B) / B, since KK <= B * KK */
    size_t KK = (size_t)l->in.c * l->kh * l->kw, P = (size_t)l->out.h * l->out.w;
    return (KK + (size_t)l->filters) * P + P + KK;
}

static int params(const mn_layer *l, mn_param_desc *p)
{
    int OC = l->filters;
    p[0] = (mn_param_desc){"weight", 4, {OC, l->in.c, l->kh, l->kw}, 0};
    p[1] = (mn_param_desc){"bias", 1, {OC, 0, 0, 0}, (size_t)OC * l->in.c * l->kh * l->kw};
    return 2;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    int OC = l->filters, k = l->kh * l->kw;
    size_t nw = (size_t)OC * l->in.c * k;
    if (l->glorot)
        mn_glorot_uniform(p, nw, l->in.c * k, OC * k, rng);
    else
        mn_he_uniform(p, nw, l->in.c * k, rng);
    memset(p + nw, 0, (size_t)OC * sizeof *p);
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    mn_conv_geom g;
    geom_of(l, &g);
    mn_conv_forward_fused(out, in, p, p + (size_t)g.oc * g.c * g.kh * g.kw, B, &g, l->n_fused ? &l->fuse : NULL,
                          l->aux);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    mn_conv_geom g;
    geom_of(l, &g);
    mn_conv_backward_fused(din, dp, dp + (size_t)g.oc * g.c * g.kh * g.kw, dout, out, in, p, B, &g,
                           l->n_fused ? &l->fuse : NULL, l->aux);
}

const mn_layer_ops mn_conv_ops = {"conv", "Conv2D", "Conv2d", parse, setup, describe, aux_size, params, init, forward,
                                  backward};
