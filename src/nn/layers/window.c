/* window.c - the window options conv and the pooling kinds share (their
 * grammar is in layer_common.h), and the pooling kinds' parse, setup and
 * describe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

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

int mn_window_parse(mn_window *w, const char *tok, const char *opts, int conv, mn_err *e)
{
    const char *usage = conv ? CONV_USAGE : NULL;
    char pool_usage[96];
    if (!conv) {
        snprintf(pool_usage, sizeof pool_usage, "%s needs SIZE[:sS], e.g. %s:2 or %s:3:s2", tok, tok, tok);
        usage = pool_usage;
    }
    if (!opts || !*opts) return mn_fail(e, "%s", usage);
    const char *p = opts, *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    memset(w, 0, sizeof *w);
    if (parse_dims(p, len, 0, MAX_WINDOW, &w->kh, &w->kw))
        return mn_fail(e, "%s: bad %s size '%.*s' (want N or NxM, 1 to %d): %s", tok, conv ? "kernel" : "window",
                       (int)len, p, MAX_WINDOW, usage);
    int have_stride = 0, have_pad = 0, have_init = 0;
    w->sh = conv ? 1 : w->kh;
    w->sw = conv ? 1 : w->kw;
    while (colon) {
        p = colon + 1;
        colon = strchr(p, ':');
        len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && p[0] == 's' && !(len == 4 && !strncmp(p, "same", 4))) {
            if (have_stride++) return mn_fail(e, "%s: stride given twice: %s", tok, usage);
            if (parse_dims(p + 1, len - 1, 0, MAX_WINDOW, &w->sh, &w->sw))
                return mn_fail(e, "%s: bad stride '%.*s' (want sN or sNxM, N from 1 to %d)", tok, (int)len, p,
                               MAX_WINDOW);
        } else if (len == 5 && !strncmp(p, "valid", 5)) {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
        } else if (conv && len == 4 && !strncmp(p, "same", 4)) {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
            w->same = 1;
        } else if (conv && len > 0 && p[0] == 'p') {
            if (have_pad++) return mn_fail(e, "%s: padding given twice: %s", tok, usage);
            int ph, pw;
            if (parse_dims(p + 1, len - 1, 1, MAX_WINDOW, &ph, &pw))
                return mn_fail(e, "%s: bad padding '%.*s' (want pN or pNxM, N from 0 to %d)", tok, (int)len, p,
                               MAX_WINDOW);
            w->pad_top = w->pad_bottom = ph;
            w->pad_left = w->pad_right = pw;
        } else if (conv && ((len == 2 && !strncmp(p, "he", 2)) || (len == 6 && !strncmp(p, "glorot", 6)))) {
            if (have_init++) return mn_fail(e, "%s: initialisation given twice: %s", tok, usage);
            w->glorot = len == 6;
        } else {
            return mn_fail(e, "%s: unknown option '%.*s': %s", tok, (int)len, p, usage);
        }
    }
    if (w->same && (w->sh != 1 || w->sw != 1))
        return mn_fail(e, "%s: 'same' padding needs stride 1 (PyTorch cannot express Keras's asymmetric 'same' "
                          "padding of a strided convolution); give explicit padding instead, e.g. :p1",
                       tok);
    return 0;
}

int mn_dims_str(char *buf, size_t len, const char *prefix, int a, int b)
{
    return a == b ? snprintf(buf, len, ":%s%d", prefix, a) : snprintf(buf, len, ":%s%dx%d", prefix, a, b);
}

/* ---- the pooling kinds ------------------------------------------------------ */

int mn_pool_parse(mn_layer *l, const char *args, mn_err *e)
{
    return mn_window_parse(&MN_CONF(l, mn_pool_conf)->win, l->kind->token, args, 0, e);
}

int mn_pool_setup(mn_layer *l, mn_err *e)
{
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    char d[64];
    l->kind->describe(l, d, sizeof d);
    if (l->in.h < w->kh || l->in.w < w->kw)
        return mn_fail(e, "%s on a %dx%dx%d input: the window is larger than the input", d, l->in.c, l->in.h,
                       l->in.w);
    l->out = (mn_shape){l->in.c, (l->in.h - w->kh) / w->sh + 1, (l->in.w - w->kw) / w->sw + 1};
    return 0;
}

void mn_pool_describe(const mn_layer *l, char *buf, size_t len)
{
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    char k[32], s[32] = "";
    if (w->kh == w->kw)
        snprintf(k, sizeof k, "%d", w->kh);
    else
        snprintf(k, sizeof k, "%dx%d", w->kh, w->kw);
    if (w->sh != w->kh || w->sw != w->kw) {
        if (w->sh == w->sw)
            snprintf(s, sizeof s, ":s%d", w->sh);
        else
            snprintf(s, sizeof s, ":s%dx%d", w->sh, w->sw);
    }
    snprintf(buf, len, "%s:%s%s", l->kind->token, k, s);
}

int mn_pool_onnx(const mn_layer *l, const char *op, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    const mn_window *w = &MN_CONF(l, mn_pool_conf)->win;
    char x[64];
    if (mn_onnx_as_4d(g, l, in, x, sizeof x, e)) return -1;
    int64_t k[2] = {w->kh, w->kw}, s[2] = {w->sh, w->sw}, pads[4] = {0, 0, 0, 0};
    mn_onnx_attr a[3] = {MN_ATTR_IS("kernel_shape", k, 2), MN_ATTR_IS("strides", s, 2), MN_ATTR_IS("pads", pads, 4)};
    mn_onnx_name(g, l, l->kind->token, out, len);
    const char *x_ = x, *o = out;
    return mn_onnx_node(g, op, &x_, 1, &o, 1, a, 3, e);
}
