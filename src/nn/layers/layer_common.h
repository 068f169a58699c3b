/* layer_common.h - what the layer kinds share (internal to src/nn/layers). */
#ifndef MNIST_LAYER_COMMON_H
#define MNIST_LAYER_COMMON_H

#include "mnist/layer.h"

/* The kinds other kinds refer to: dense and conv absorb a ReLU after them,
 * conv a max pooling; dense asks for a flatten before a non-flat input. */
extern const mn_layer_kind mn_relu_kind, mn_maxpool_kind, mn_flatten_kind;

/* For kinds without arguments / that keep their input's shape. */
int mn_parse_no_args(mn_layer *l, const char *args, mn_err *e);
int mn_setup_same_shape(mn_layer *l, mn_err *e);
/* Writes the kind's bare token (kinds without arguments). */
void mn_describe_token(const mn_layer *l, char *buf, size_t len);

/* The shortest %g form of v that reads back as the same float ("0.2",
 * "0.9999999"): canonical strings must build the same model. */
void mn_float_str(char *buf, size_t len, float v);

/* A window (conv kernel or pool) with stride and padding, as the arch
 * options give it (window.c):
 *   conv:FILTERS:KERNEL[:sS][:same|:valid|:pP][:he|:glorot]
 *   maxpool:SIZE[:sS], avgpool:SIZE[:sS]
 * SIZE, S and P being N or NHxNW. The stride defaults to 1 for a conv and
 * to the window for a pool. */
typedef struct {
    int kh, kw; /* kernel / window */
    int sh, sw; /* stride */
    int pad_top, pad_left, pad_bottom, pad_right;
    int same;   /* padding was given as 'same' (conv) */
    int glorot; /* Glorot-uniform init instead of He-uniform (conv) */
} mn_window;

/* conv: options after FILTERS; pools: the whole args. */
int mn_window_parse(mn_window *w, const char *token, const char *opts, int conv, mn_err *e);
/* ":3" or ":3x5", with a prefix: ":s2". */
int mn_dims_str(char *buf, size_t len, const char *prefix, int a, int b);

/* The pooling kinds' settings (maxpool.c, avgpool.c; conv.c reads a
 * max pooling's to fuse it). */
typedef struct {
    mn_window win;
} mn_pool_conf;
MN_CONF_FITS(mn_pool_conf);

int mn_pool_parse(mn_layer *l, const char *args, mn_err *e);
int mn_pool_setup(mn_layer *l, mn_err *e);
void mn_pool_describe(const mn_layer *l, char *buf, size_t len);
/* The pooling kinds' onnx hook: op ("MaxPool", "AveragePool") on the window. */
int mn_pool_onnx(const mn_layer *l, const char *op, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e);

#endif
