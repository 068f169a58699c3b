/* layer.h - the layer interface: what a layer kind says about itself.
 *
 * A layer kind is one file, src/nn/layers/<kind>.c, defining one
 * mn_layer_kind: its arch token and names, how it parses its arguments,
 * sizes itself, describes itself canonically, which tensors it has (as
 * PyTorch names them), how it initialises, runs forward and backward, and
 * how it fuses with the layers after it. The list of kinds is
 * src/nn/layers/registry.c, one line per kind. The model (model.h) walks
 * a list of layers through these hooks and never asks which kind a layer
 * is; the arithmetic itself is in the plain functions of kernels.h.
 *
 * Activations are N x C x H x W, row-major. A layer's trainable tensors
 * live in the model's one parameter buffer (floats, from param_off) and
 * their gradients at the same offsets in the gradient buffer; its
 * non-trainable tensors (BatchNorm's running statistics) in the model's
 * state buffer (bytes, from state_off), saved but never trained.
 */
#ifndef MNIST_LAYER_H
#define MNIST_LAYER_H

#include <stddef.h>

#include "mnist/error.h"
#include "mnist/gemm.h"
#include "mnist/kernels.h"
#include "mnist/optim.h"
#include "mnist/rng.h"
#include "mnist/safetensors.h"

/* Per-sample shape: channels, height, width. A flat vector of n is (n,1,1). */
typedef struct {
    int c, h, w;
} mn_shape;

static inline size_t mn_shape_size(mn_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

/* One tensor of a layer, as PyTorch's state_dict names and shapes it
 * ("<module>.<suffix>"). */
typedef struct {
    const char *suffix; /* "weight", "bias", "running_mean", ... */
    mn_st_dtype dtype;  /* trainable tensors are F32 */
    int trainable;      /* 1: in the parameter buffer, updated by the optimizer;
                           0: in the state buffer, saved and loaded, not trained */
    int ndim;
    int shape[4];
    size_t offset; /* trainable: floats from the layer's parameters; else bytes from its state */
} mn_tensor_desc;

/* How pictures of a network (mnist features) draw a layer's output. */
typedef enum {
    MN_DRAW_NONE,   /* not drawn (flatten, dropout: nothing new to see) */
    MN_DRAW_MAPS,   /* C maps of H x W (conv, pooling) */
    MN_DRAW_VECTOR, /* a row of C*H*W bars (dense, activations of a vector) */
} mn_draw_as;

/* Flags of a kind. */
enum {
    MN_KIND_VIEW = 1,    /* its output is its input's memory, reshaped (flatten): no buffer,
                            forward and backward are not run */
    MN_KIND_SOFTMAX = 2, /* the trailing "softmax" token: the loss's softmax, adds no layer */
};

typedef struct mn_layer mn_layer;
typedef struct mn_layer_kind mn_layer_kind;
typedef struct mn_onnx mn_onnx; /* the ONNX graph builder (onnx.h) */

/* What a backward hook is given. `out` and `dout` are the output and its
 * gradient of the last layer the kind absorbed (its own when none). */
typedef struct {
    int B;
    const float *in, *out, *dout;
    float *params;  /* its parameters (written only when it updates them, see optim) */
    float *din;     /* the input's gradient, or NULL when nobody needs it */
    float *dparams; /* the gradients of its trainable tensors */
    float *dself;   /* its own output's gradient buffer: free scratch when it absorbed layers */
    /* Non-NULL in mn_model_backward_step: the kind may update leading
     * parameters itself as their gradients become final (mn_optim_update),
     * and returns how many it updated; the model updates the rest. */
    const mn_optim *optim;
} mn_backward_args;

struct mn_layer_kind {
    const char *token;      /* in arch strings: "dense" */
    const char *usage;      /* its grammar, for errors: "dense:N" */
    const char *example;    /* a valid token, for the contract test: "dense:5" */
    const char *keras_name; /* in the summary: "Dense" */
    const char *torch_name; /* torch.nn module: "Linear" */
    unsigned flags;         /* MN_KIND_* */
    mn_draw_as draw;
    /* Reads what follows the first ':' of its token (NULL if nothing) into
     * the layer's conf. */
    int (*parse)(mn_layer *l, const char *args, mn_err *e);
    /* Sets l->out, l->n_params (trainable floats), l->n_state (bytes) from
     * l->in; fails on impossible shapes. */
    int (*setup)(mn_layer *l, mn_err *e);
    /* The canonical token, e.g. "dense:128": parsing it gives the same layer. */
    void (*describe)(const mn_layer *l, char *buf, size_t len);
    /* A kind to insert before this one for input `in` (dense: a flatten on a
     * non-flat input, as Keras tutorials start with Flatten), or NULL. */
    const mn_layer_kind *(*insert_before)(mn_shape in);
    /* Floats of per-sample scratch kept between forward and backward. */
    size_t (*aux_size)(const mn_layer *l);
    /* Its tensors, in state_dict order, into out (when non-NULL); returns
     * how many. */
    int (*tensors)(const mn_layer *l, mn_tensor_desc *out);
    /* Initial values of its tensors (trainable ones at p, the others in
     * l->state); NULL when it has none. */
    void (*init)(const mn_layer *l, float *p, mn_rng *rng);
    /* The layers after it are l[1..n_after]: it may take over the next
     * ones' work (a conv computes the ReLU and pooling after it). Returns
     * how many it absorbs; those are then not run, and its forward writes
     * the last absorbed one's output. NULL: never fuses. */
    int (*fuse)(mn_layer *l, int n_after);
    void (*forward)(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng);
    /* Returns the number of leading parameters it updated (see optim). */
    size_t (*backward)(mn_layer *l, const mn_backward_args *a);
    /* How it exports to ONNX (`mnist export --onnx`; the builder's calls are
     * in onnx.h): emits the nodes and initializers that compute its output
     * from the tensor named `input` (N x C x H x W floats, or N x features:
     * mn_onnx_rank(g) says which; mn_onnx_as_2d/as_4d convert), with its
     * parameters at p (its state at l->state), and writes its output's name
     * into output[0..len) (names from mn_onnx_name; initializers named by
     * mn_onnx_init_param as PyTorch names them). A kind whose output has
     * another rank calls mn_onnx_set_rank. A kind that computes nothing at
     * inference (dropout) copies input to output and emits no node. The
     * layer is exported on its own: fusion (n_fused, absorbed) is ignored,
     * every layer gets its hook called. Standard ops of the default domain
     * at opset 13 only (MN_ONNX_OPSET). NULL: the export fails naming the
     * layer. */
    int (*onnx)(const mn_layer *l, const float *p, mn_onnx *g, const char *input, char *output, size_t len,
                mn_err *e);
};

/* Room for a kind's own settings in a layer (its parse writes them). */
#define MN_LAYER_CONF 96

struct mn_layer {
    const mn_layer_kind *kind;
    mn_shape in, out;
    int module;       /* index in the equivalent torch.nn.Sequential */
    size_t n_params;  /* trainable floats */
    size_t param_off; /* into the model's parameter buffer */
    size_t n_state;   /* bytes of non-trainable tensors */
    size_t state_off; /* into the model's state buffer */
    void *state;      /* its non-trainable tensors (set by mn_model_alloc) */
    float *aux;       /* per-layer scratch (max_batch * aux_size floats) */
    int n_fused;      /* layers after it that it absorbed */
    int absorbed;     /* absorbed by the layer before it: not run */
    union {
        unsigned char bytes[MN_LAYER_CONF];
        long double align_ld;
        void *align_p;
    } conf;
};

/* A kind's settings: `MN_CONF(l, dense_conf)` is l's conf as a dense_conf. */
#define MN_CONF(l, type) ((type *)(void *)(l)->conf.bytes)
#define MN_CONF_FITS(type) _Static_assert(sizeof(type) <= MN_LAYER_CONF, #type " does not fit in a layer's conf")

/* The registry: every kind, in the order --help lists them. */
extern const mn_layer_kind *const mn_layer_kinds[];
extern const int mn_n_layer_kinds;
/* The kind of an arch token (its part before ':'), or NULL. */
const mn_layer_kind *mn_layer_kind_find(const char *token, size_t len);
/* "conv:F:K, maxpool:K, ..., softmax": every kind's usage, for errors. */
void mn_layer_kinds_usage(char *buf, size_t len);

/* Glorot-uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)). */
void mn_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, mn_rng *rng);
/* He-uniform: U(-l, l) with l = sqrt(6 / fan_in). */
void mn_he_uniform(float *w, size_t n, int fan_in, mn_rng *rng);

#endif
