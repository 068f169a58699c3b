/* onnx.h - exporting a model to ONNX (https://onnx.ai), and the graph
 * builder a layer kind's `onnx` hook (layer.h) emits its nodes through.
 *
 * The file is a ModelProto written with our own protobuf writer
 * (protobuf.h): IR version 8, the default domain at opset 13, one graph
 * whose input "input" is N x C x H x W floats in [0, 1] (the model's input
 * shape, N a dynamic batch dimension named "N"; N x C when the input is
 * a vector, C x 1 x 1, as a generator's noise) and whose output is
 * "probabilities" (a Softmax node after the last layer) or, with logits,
 * "logits", N x classes (a model that is no classifier, n_classes 0:
 * "output", the last layer's output as it is). Weights are initializers named as PyTorch's
 * nn.Sequential names them ("0.weight"), their floats in raw_data. The
 * model file's metadata (arch, recipe, test accuracy, ...) goes into
 * metadata_props.
 *
 * Every layer is exported on its own (the fusions the model runs for speed
 * are not looked at): the exporter walks m->layers in order, giving each
 * kind's hook the name of its input tensor. A kind without a hook makes
 * the export fail with an error naming the layer.
 */
#ifndef MNIST_ONNX_H
#define MNIST_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "mnist/protobuf.h"

#define MN_ONNX_IR_VERSION 8
#define MN_ONNX_OPSET 13

/* TensorProto.DataType values we use. */
enum { MN_ONNX_FLOAT = 1, MN_ONNX_INT64 = 7 };

/* ---- the graph builder ------------------------------------------------- */

typedef struct mn_onnx mn_onnx;

/* A node attribute: an int, a list of ints, a float, or a string. */
typedef enum { MN_ATTR_INT, MN_ATTR_INTS, MN_ATTR_FLOAT, MN_ATTR_STRING } mn_onnx_attr_type;
typedef struct {
    const char *name;
    mn_onnx_attr_type type;
    int64_t i;           /* MN_ATTR_INT */
    const int64_t *ints; /* MN_ATTR_INTS: n of them */
    int n;
    float f;             /* MN_ATTR_FLOAT */
    const char *s;       /* MN_ATTR_STRING */
} mn_onnx_attr;

#define MN_ATTR_I(nm, v) ((mn_onnx_attr){.name = (nm), .type = MN_ATTR_INT, .i = (v)})
#define MN_ATTR_IS(nm, arr, cnt) ((mn_onnx_attr){.name = (nm), .type = MN_ATTR_INTS, .ints = (arr), .n = (cnt)})
#define MN_ATTR_F(nm, v) ((mn_onnx_attr){.name = (nm), .type = MN_ATTR_FLOAT, .f = (v)})
#define MN_ATTR_S(nm, v) ((mn_onnx_attr){.name = (nm), .type = MN_ATTR_STRING, .s = (v)})

/* Names fit in this many bytes (hooks' name buffers are at least this). */
#define MN_ONNX_NAME_LEN 64

/* A new tensor name into out (len >= MN_ONNX_NAME_LEN): "<layer
 * module>_<hint>" ("3_relu"), made unique within the graph. Hooks name
 * every tensor they create with it. */
void mn_onnx_name(mn_onnx *g, const mn_layer *l, const char *hint, char *out, size_t len);

/* A node of the default domain: op_type op, inputs in[0..n_in) (an empty
 * string for an omitted optional input), outputs out[0..n_out). */
int mn_onnx_node(mn_onnx *g, const char *op, const char *const *in, int n_in, const char *const *out, int n_out,
                 const mn_onnx_attr *attrs, int n_attrs, mn_err *e);

/* Initializers (constant tensors): dims[0..ndim), data in row-major order. */
int mn_onnx_init_f32(mn_onnx *g, const char *name, const float *data, int ndim, const int64_t *dims, mn_err *e);
int mn_onnx_init_i64(mn_onnx *g, const char *name, const int64_t *data, int ndim, const int64_t *dims, mn_err *e);
/* A layer's initializer named as PyTorch's state_dict names it:
 * "<module>.<suffix>" ("0.weight"). */
int mn_onnx_init_param(mn_onnx *g, const mn_layer *l, const char *suffix, const float *data, int ndim,
                       const int64_t *dims, char *name, size_t len, mn_err *e);

/* The rank of the hook's input tensor: 4 (N x C x H x W, as the graph's
 * input and conv/pool outputs), 2 (N x features, after flatten or dense),
 * or whatever the layer before it set. A hook whose output has another
 * rank than its input says so with mn_onnx_set_rank. */
int mn_onnx_rank(const mn_onnx *g);
void mn_onnx_set_rank(mn_onnx *g, int rank);

/* The hook's input as N x features (a Flatten node when it is not rank 2),
 * or as N x C x H x W of the layer's input shape (a Reshape node when it
 * is not rank 4); out receives the name to use (the input's own when no
 * node was needed). */
int mn_onnx_as_2d(mn_onnx *g, const mn_layer *l, const char *in, char *out, size_t len, mn_err *e);
int mn_onnx_as_4d(mn_onnx *g, const mn_layer *l, const char *in, char *out, size_t len, mn_err *e);

/* A one-input, one-output node with no attributes (Relu, Tanh, ...): the
 * whole hook of an elementwise kind. */
int mn_onnx_unary(mn_onnx *g, const mn_layer *l, const char *op, const char *in, char *out, size_t len, mn_err *e);

/* ---- the exporter -------------------------------------------------------- */

/* The ONNX file of m (parameters as they are in m->params and the layers'
 * state) into out (zeroed by the caller; mn_pb_free it after): outputs
 * logits instead of probabilities when logits is non-zero. Fails, naming
 * the layer, on a kind without an onnx hook. */
int mn_onnx_export(const mn_model *m, int logits, mn_pb *out, mn_err *e);

#endif
