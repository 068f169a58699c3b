/* api.c - see api.h. */
#include "api.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(sbuf *b, size_t more)
{
    if (b->oom) return -1;
    if (b->n + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p, b->cap = cap;
    return 0;
}

void sb_put(sbuf *b, const void *s, size_t n)
{
    if (grow(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || grow(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void sb_float(sbuf *b, float v)
{
    char t[32];
    if (!isfinite(v)) v = 0; /* probabilities are finite; never write NaN into JSON */
    if (v == 0) {
        sb_put(b, "0", 1);
        return;
    }
    if (v >= 1e-4f && v < 1.0f) {
        /* a probability: 9 significant digits (enough for any float to read
         * back exactly) by integer arithmetic, as printf is the slowest part
         * of an answer; trailing zeros dropped */
        double d = v;
        int e = 0;
        while (d < 0.1) d *= 10, e++;
        double scaled = d * 1e9;
        uint64_t q = (uint64_t)(scaled + 0.5);
        if (q >= 100000000 && q < 1000000000) {
            char *o = t;
            *o++ = '0', *o++ = '.';
            for (int i = 0; i < e; i++) *o++ = '0';
            char dg[9];
            for (int i = 8; i >= 0; i--) dg[i] = (char)('0' + q % 10), q /= 10;
            int last = 8;
            while (last > 0 && dg[last] == '0') last--;
            memcpy(o, dg, (size_t)last + 1);
            o[last + 1] = 0;
            sb_str(b, t);
            return;
        }
    }
    snprintf(t, sizeof t, "%.9g", (double)v);
    sb_str(b, t);
}

void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            sb_put(b, t, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* ---- decoding ------------------------------------------------------------- */

#define MAX_DIMS 8

/* The shape of a nested array at node k (dims of the first elements all the
 * way down); -1 if deeper than MAX_DIMS. */
static int shape_of(const json_doc *d, int k, int *dims)
{
    int nd = 0;
    while (d->nodes[k].type == JSON_ARRAY) {
        if (nd == MAX_DIMS) return -1;
        dims[nd++] = d->nodes[k].count;
        if (d->nodes[k].count == 0) break;
        k = d->nodes[k].child;
    }
    return nd;
}

/* Is the tree at k exactly a rectangular array of dims[0..nd) numbers? */
static int rectangular(const json_doc *d, int k, const int *dims, int nd)
{
    if (nd == 0) return d->nodes[k].type == JSON_NUMBER;
    if (d->nodes[k].type != JSON_ARRAY || d->nodes[k].count != dims[0]) return 0;
    for (int c = d->nodes[k].child; c >= 0; c = d->nodes[c].next)
        if (!rectangular(d, c, dims + 1, nd - 1)) return 0;
    return 1;
}

/* Numbers of the tree at k in order into out[*at..], at most cap; -1 on a
 * non-number leaf or too many. Depth bounded by the parser's. */
static int leaves(const json_doc *d, int k, float *out, size_t cap, size_t *at)
{
    const json_node *x = &d->nodes[k];
    if (x->type == JSON_NUMBER) {
        if (*at >= cap) return -1;
        out[(*at)++] = (float)x->num;
        return 0;
    }
    if (x->type != JSON_ARRAY) return -2;
    for (int c = x->child; c >= 0; c = d->nodes[c].next) {
        int r = leaves(d, c, out, cap, at);
        if (r) return r;
    }
    return 0;
}

/* Do dims (size-1 dimensions dropped) describe one image of lim's shape? */
static int image_shape(const int *dims, int nd, const api_limits *lim)
{
    int t[MAX_DIMS], m = 0;
    for (int i = 0; i < nd; i++)
        if (dims[i] != 1) t[m++] = dims[i];
    long P = (long)lim->C * lim->H * lim->W;
    if (m == 1 && t[0] == P) return 1;
    if (P == 1 && m == 0) return 1;
    if (lim->C == 1 && m == 2 && t[0] == lim->H && t[1] == lim->W) return 1;
    if (m == 3 && t[0] == lim->C && t[1] == lim->H && t[2] == lim->W) return 1;
    return 0;
}

static void shape_text(char *s, size_t n, const int *dims, int nd)
{
    size_t at = 0;
    at += (size_t)snprintf(s + at, n - at, "[");
    for (int i = 0; i < nd && at < n; i++) at += (size_t)snprintf(s + at, n - at, i ? ", %d" : "%d", dims[i]);
    if (at < n) snprintf(s + at, n - at, "]");
}

static int in_unit(const float *x, size_t n, char *err, size_t errn, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) {
            snprintf(err, errn, "%s: value %g at index %zu is outside [0, 1] (send pixels / 255)", what, (double)x[i],
                     i);
            return 400;
        }
    return 0;
}

static int fail(char *err, size_t errn, int status, const char *msg)
{
    snprintf(err, errn, "%s", msg);
    return status;
}

static int decode_tf(const json_doc *d, const api_limits *lim, float **images, int *n, char *err, size_t errn)
{
    int list = json_get(d, 0, "instances");
    int inputs = json_get(d, 0, "inputs");
    if (d->nodes[0].type != JSON_OBJECT) return fail(err, errn, 400, "the body must be a JSON object");
    if (list >= 0 && inputs >= 0) return fail(err, errn, 400, "give \"instances\" or \"inputs\", not both");
    if (list < 0) list = inputs;
    if (list < 0) return fail(err, errn, 400, "no \"instances\" or \"inputs\" in the request");
    /* {"inputs": {"name": tensor}}: one named input */
    if (d->nodes[list].type == JSON_OBJECT) {
        if (d->nodes[list].count != 1) return fail(err, errn, 400, "this model has one input; \"inputs\" names several");
        list = d->nodes[d->nodes[list].child].next;
    }
    if (d->nodes[list].type != JSON_ARRAY) return fail(err, errn, 400, "\"instances\" must be an array");
    int count = d->nodes[list].count;
    if (count == 0) return fail(err, errn, 400, "no instances");
    if (count > lim->max_instances) {
        snprintf(err, errn, "%d instances; at most %d per request", count, lim->max_instances);
        return 413;
    }
    size_t P = (size_t)lim->C * lim->H * lim->W;
    float *x = malloc((size_t)count * P * sizeof *x);
    if (!x) return fail(err, errn, 500, "out of memory");
    int i = 0;
    for (int k = d->nodes[list].child; k >= 0; k = d->nodes[k].next, i++) {
        int v = k;
        if (d->nodes[v].type == JSON_OBJECT && d->nodes[v].count == 1) v = d->nodes[d->nodes[v].child].next;
        int dims[MAX_DIMS], nd = shape_of(d, v, dims);
        char s[96];
        if (nd < 0 || !rectangular(d, v, dims, nd) || !image_shape(dims, nd, lim)) {
            if (nd >= 0 && rectangular(d, v, dims, nd)) {
                shape_text(s, sizeof s, dims, nd);
                snprintf(err, errn, "instance %d: shape %s; this model takes %d x %d (or %zu numbers)", i, s, lim->H,
                         lim->W, P);
            } else {
                snprintf(err, errn, "instance %d: not an array of numbers of the model's input shape (%d x %d)", i,
                         lim->H, lim->W);
            }
            free(x);
            return 400;
        }
        size_t at = 0;
        leaves(d, v, x + (size_t)i * P, P, &at);
        char what[32];
        snprintf(what, sizeof what, "instance %d", i);
        int st = in_unit(x + (size_t)i * P, P, err, errn, what);
        if (st) {
            free(x);
            return st;
        }
    }
    *images = x, *n = count;
    return 0;
}

static int decode_v2(const json_doc *d, const api_limits *lim, float **images, int *n, char *err, size_t errn)
{
    if (d->nodes[0].type != JSON_OBJECT) return fail(err, errn, 400, "the body must be a JSON object");
    int inputs = json_get(d, 0, "inputs");
    if (inputs < 0 || d->nodes[inputs].type != JSON_ARRAY) return fail(err, errn, 400, "no \"inputs\" array in the request");
    if (d->nodes[inputs].count != 1) return fail(err, errn, 400, "this model has one input; give one entry in \"inputs\"");
    int in = d->nodes[inputs].child;
    if (d->nodes[in].type != JSON_OBJECT) return fail(err, errn, 400, "an input must be an object");
    int shape = json_get(d, in, "shape"), dt = json_get(d, in, "datatype"), data = json_get(d, in, "data");
    if (shape < 0 || dt < 0 || data < 0) return fail(err, errn, 400, "an input needs \"shape\", \"datatype\" and \"data\"");
    int u8;
    if (json_str_eq(&d->nodes[dt], "FP32")) u8 = 0;
    else if (json_str_eq(&d->nodes[dt], "UINT8")) u8 = 1;
    else return fail(err, errn, 400, "datatype must be FP32 or UINT8");
    if (d->nodes[shape].type != JSON_ARRAY || d->nodes[shape].count < 1 || d->nodes[shape].count > MAX_DIMS)
        return fail(err, errn, 400, "\"shape\" must be an array of 1 to 8 sizes");
    int dims[MAX_DIMS], nd = 0;
    for (int k = d->nodes[shape].child; k >= 0; k = d->nodes[k].next) {
        double v = d->nodes[k].num;
        if (d->nodes[k].type != JSON_NUMBER || v < 0 || v > 1e8 || v != floor(v))
            return fail(err, errn, 400, "\"shape\" must hold whole numbers");
        dims[nd++] = (int)v;
    }
    int batch = dims[0];
    if (batch == 0) return fail(err, errn, 400, "no instances (shape[0] is 0)");
    if (batch > lim->max_instances) {
        snprintf(err, errn, "%d instances; at most %d per request", batch, lim->max_instances);
        return 413;
    }
    if (!image_shape(dims + 1, nd - 1, lim)) {
        char s[96];
        shape_text(s, sizeof s, dims, nd);
        snprintf(err, errn, "shape %s; this model takes [n, %d, %d] or [n, %d]", s, lim->H, lim->W,
                 lim->C * lim->H * lim->W);
        return 400;
    }
    size_t P = (size_t)lim->C * lim->H * lim->W, total = (size_t)batch * P;
    if (d->nodes[data].type != JSON_ARRAY) return fail(err, errn, 400, "\"data\" must be an array");
    float *x = malloc(total * sizeof *x);
    if (!x) return fail(err, errn, 500, "out of memory");
    size_t at = 0;
    int r = leaves(d, data, x, total, &at);
    if (r == -2 || (r == 0 && at != total) || r == -1) {
        if (r == -2) snprintf(err, errn, "\"data\" holds something that is not a number");
        else snprintf(err, errn, "\"data\" has %s%zu numbers; shape says %zu", r == -1 ? "more than " : "", at, total);
        free(x);
        return 400;
    }
    if (u8) {
        for (size_t i = 0; i < total; i++) {
            if (!(x[i] >= 0 && x[i] <= 255) || x[i] != floorf(x[i])) {
                snprintf(err, errn, "UINT8 data: value %g at index %zu is not an integer 0-255", (double)x[i], i);
                free(x);
                return 400;
            }
            x[i] = x[i] * (1.0f / 255.0f); /* as mn_predict scales bytes */
        }
    } else {
        int st = in_unit(x, total, err, errn, "FP32 data");
        if (st) {
            free(x);
            return st;
        }
    }
    *images = x, *n = batch;
    return 0;
}

static int decode_draw(const json_doc *d, float **images, int *w, int *h, char *err, size_t errn)
{
    if (d->nodes[0].type != JSON_OBJECT) return fail(err, errn, 400, "the body must be a JSON object");
    int kw = json_get(d, 0, "width"), kh = json_get(d, 0, "height"), kd = json_get(d, 0, "data");
    if (kw < 0 || kh < 0 || kd < 0) return fail(err, errn, 400, "a drawing needs \"width\", \"height\" and \"data\"");
    double W = d->nodes[kw].num, H = d->nodes[kh].num;
    if (d->nodes[kw].type != JSON_NUMBER || d->nodes[kh].type != JSON_NUMBER || W < 1 || H < 1 || W > API_DRAW_MAX ||
        H > API_DRAW_MAX || W != floor(W) || H != floor(H))
        return fail(err, errn, 400, "width and height must be whole numbers from 1 to 1024");
    size_t total = (size_t)W * (size_t)H;
    if (d->nodes[kd].type != JSON_ARRAY || (size_t)d->nodes[kd].count != total)
        return fail(err, errn, 400, "\"data\" must be an array of width x height numbers");
    float *x = malloc(total * sizeof *x);
    if (!x) return fail(err, errn, 500, "out of memory");
    size_t at = 0;
    if (leaves(d, kd, x, total, &at) || at != total) {
        free(x);
        return fail(err, errn, 400, "\"data\" must be an array of width x height numbers");
    }
    for (size_t i = 0; i < total; i++)
        if (!(x[i] >= 0 && x[i] <= 255)) {
            free(x);
            return fail(err, errn, 400, "drawing values must be grey levels 0-255");
        }
    *images = x, *w = (int)W, *h = (int)H;
    return 0;
}

int api_decode(const json_doc *d, api_kind kind, const api_limits *lim, float **images, int *n, int *w, int *h,
               char *err, size_t errn)
{
    *images = NULL, *n = 0;
    if (kind == API_TF) return decode_tf(d, lim, images, n, err, errn);
    if (kind == API_V2) return decode_v2(d, lim, images, n, err, errn);
    int st = decode_draw(d, images, w, h, err, errn);
    if (!st) *n = 1;
    return st;
}

/* ---- responses ------------------------------------------------------------ */

void api_tf_response(sbuf *b, const float *probs, int n, int classes)
{
    sb_str(b, "{\"predictions\": [");
    for (int i = 0; i < n; i++) {
        sb_str(b, i ? ", [" : "[");
        for (int c = 0; c < classes; c++) {
            if (c) sb_put(b, ", ", 2);
            sb_float(b, probs[(size_t)i * classes + c]);
        }
        sb_put(b, "]", 1);
    }
    sb_str(b, "]}");
}

void api_v2_response(sbuf *b, const float *probs, int n, int classes)
{
    sb_printf(b, "{\"model_name\": \"mnist\", \"model_version\": \"1\", \"outputs\": [{\"name\": \"probabilities\", "
                 "\"shape\": [%d, %d], \"datatype\": \"FP32\", \"data\": [",
              n, classes);
    for (size_t i = 0; i < (size_t)n * classes; i++) {
        if (i) sb_put(b, ", ", 2);
        sb_float(b, probs[i]);
    }
    sb_str(b, "]}]}");
}
