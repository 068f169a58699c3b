/* layer.h - the layer library.
 *
 * Each layer kind is a pair of plain functions in src/layers/<kind>.c,
 *   mn_<kind>_forward(out, in, params..., sizes...)
 *   mn_<kind>_backward(din, dparams..., dout, in/out, params..., sizes...)
 * with every shape passed explicitly, plus a small table (mn_layer_ops) that
 * lets the model drive any kind the same way. Activations are laid out
 * N x C x H x W (batch first, then channels, rows, columns), row-major.
 *
 * Backward functions write (not accumulate) parameter gradients, because in
 * a sequential model every parameter is used by exactly one layer per step.
 * `din` may be NULL (first layer: nobody needs the gradient of the input).
 */
#ifndef MNIST_LAYER_H
#define MNIST_LAYER_H

#include <stddef.h>

#include "mnist/error.h"
#include "mnist/gemm.h"
#include "mnist/kernels.h"
#include "mnist/rng.h"

/* ---- the layer table -------------------------------------------------- */

typedef enum {
    MN_FLATTEN,
    MN_DENSE,
    MN_RELU,
    MN_SIGMOID,
    MN_DROPOUT,
    MN_CONV,
    MN_MAXPOOL,
    MN_AVGPOOL,
    MN_N_KINDS
} mn_kind;

/* Per-sample shape: channels, height, width. A flat vector of n is (n,1,1). */
typedef struct {
    int c, h, w;
} mn_shape;

static inline size_t mn_shape_size(mn_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

typedef struct mn_layer mn_layer;

/* One parameter tensor of a layer, as PyTorch names and shapes it. */
typedef struct {
    const char *suffix; /* "weight" or "bias" */
    int ndim;
    int shape[4];
    size_t offset; /* floats from the start of the layer's parameters */
} mn_param_desc;

typedef struct {
    const char *token;      /* name in arch strings: "dense" */
    const char *keras_name; /* in the summary: "Dense" */
    const char *torch_name; /* torch.nn module: "Linear" */
    /* Reads "dense:128" style arguments (args is what follows the first ':',
     * or NULL), stores hyperparameters in l. */
    int (*parse)(mn_layer *l, const char *args, mn_err *e);
    /* Computes l->out and l->n_params from l->in; fails on impossible shapes. */
    int (*setup)(mn_layer *l, mn_err *e);
    /* Writes the canonical arch token, e.g. "dense:128". */
    void (*describe)(const mn_layer *l, char *buf, size_t len);
    /* Floats of per-sample scratch the layer keeps between forward and
     * backward (dropout mask, ...); 0 if none. */
    size_t (*aux_size)(const mn_layer *l);
    /* PyTorch tensors of the layer's parameters; returns how many (0..4). */
    int (*params)(const mn_layer *l, mn_param_desc *out);
    /* Initial weights (see each layer) and zero biases. May be NULL. */
    void (*init)(const mn_layer *l, float *params, mn_rng *rng);
    void (*forward)(mn_layer *l, float *out, const float *in, const float *params, int B, int training, mn_rng *rng);
    void (*backward)(mn_layer *l, float *din, float *dparams, const float *dout, const float *in, const float *out,
                     const float *params, int B);
} mn_layer_ops;

struct mn_layer {
    mn_kind kind;
    const mn_layer_ops *ops;
    mn_shape in, out;
    int units;       /* dense: output features */
    float rate;      /* dropout: fraction dropped */
    int filters;     /* conv: output channels */
    int kh, kw;      /* conv: kernel; pools: window */
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right; /* conv: zero padding */
    int pad_same;    /* conv: padding was given as 'same' */
    int glorot;      /* conv: Glorot-uniform init (option 'glorot') instead of He-uniform */
    int module;      /* index in the equivalent torch.nn.Sequential */
    size_t n_params; /* floats */
    size_t param_off;/* offset into the model's parameter buffer */
    float *aux;      /* per-layer scratch (max_batch * aux_size floats) */
    /* Fusion (set by mn_model_alloc): a conv computes the n_fused layers
     * after it too (ReLU, max pooling; see mn_conv_forward_fused), a dense
     * layer a ReLU (fuse.relu); those are marked absorbed and the model does
     * not run them. */
    int n_fused, absorbed;
    mn_conv_fuse fuse;
};

extern const mn_layer_ops mn_flatten_ops, mn_dense_ops, mn_relu_ops, mn_sigmoid_ops, mn_dropout_ops, mn_conv_ops,
    mn_maxpool_ops, mn_avgpool_ops;

/* Shared by the conv and pooling tables (conv.c, maxpool.c): parses the
 * window options above into l (conv: after FILTERS; pools: the whole args),
 * and sets up / describes a pooling layer. */
int mn_parse_window(mn_layer *l, const char *opts, int conv, mn_err *e);
int mn_pool_setup(mn_layer *l, mn_err *e);
void mn_pool_describe(const mn_layer *l, char *buf, size_t len);

/* The table for a kind, or the kind for an arch token (-1 if unknown). */
const mn_layer_ops *mn_layer_ops_of(mn_kind k);
int mn_layer_kind_of(const char *token, size_t len);

/* Glorot-uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)). */
void mn_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, mn_rng *rng);
/* He-uniform: U(-l, l) with l = sqrt(6 / fan_in). */
void mn_he_uniform(float *w, size_t n, int fan_in, mn_rng *rng);

#endif
