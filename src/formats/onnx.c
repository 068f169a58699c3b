/* onnx.c - the ONNX graph builder and exporter (onnx.h).
 *
 * Field numbers are onnx.proto's (onnx/onnx.proto, IR version 8):
 *   ModelProto      1 ir_version, 2 producer_name, 3 producer_version,
 *                   6 doc_string, 7 graph, 8 opset_import, 14 metadata_props
 *   OperatorSetId   1 domain, 2 version
 *   StringString    1 key, 2 value
 *   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
 *   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute
 *   AttributeProto  1 name, 2 f, 3 i, 4 s, 8 ints, 20 type
 *   TensorProto     1 dims, 2 data_type, 8 name, 9 raw_data
 *   ValueInfoProto  1 name, 2 type
 *   TypeProto       1 tensor_type; TypeProto.Tensor 1 elem_type, 2 shape
 *   TensorShape     1 dim; Dimension 1 dim_value, 2 dim_param
 * Repeated scalars (dims, ints) are written unpacked, as proto2 does.
 */
#include "mnist/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 4096
#define NAME_LEN MN_ONNX_NAME_LEN

struct mn_onnx {
    mn_pb nodes; /* GraphProto.node fields */
    mn_pb inits; /* GraphProto.initializer fields */
    int rank;    /* of the current layer's input */
    int n_names;
    char (*names)[NAME_LEN];
    int n_nodes;
};

/* ---- names ----------------------------------------------------------------- */

static int name_used(const mn_onnx *g, const char *s)
{
    for (int i = 0; i < g->n_names; i++)
        if (!strcmp(g->names[i], s)) return 1;
    return 0;
}

static void name_take(mn_onnx *g, const char *s)
{
    if (g->n_names < MAX_NAMES) snprintf(g->names[g->n_names++], NAME_LEN, "%s", s);
}

/* base (its first 40 characters) or base_2, base_3, ...: always fits NAME_LEN */
static void unique_name(mn_onnx *g, const char *base, char *out, size_t len)
{
    char t[NAME_LEN];
    snprintf(t, sizeof t, "%.40s", base);
    for (int k = 2; name_used(g, t); k++) snprintf(t, sizeof t, "%.40s_%d", base, k);
    name_take(g, t);
    snprintf(out, len, "%s", t);
}

void mn_onnx_name(mn_onnx *g, const mn_layer *l, const char *hint, char *out, size_t len)
{
    char base[NAME_LEN];
    snprintf(base, sizeof base, "%d_%s", l->module, hint);
    unique_name(g, base, out, len);
}

/* ---- nodes and initializers ------------------------------------------------ */

static void attr_msg(mn_pb *b, const mn_onnx_attr *a)
{
    /* AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, INTS 7 */
    mn_pb_string(b, 1, a->name);
    switch (a->type) {
    case MN_ATTR_FLOAT:
        mn_pb_float(b, 2, a->f);
        mn_pb_varint(b, 20, 1);
        break;
    case MN_ATTR_INT:
        mn_pb_varint(b, 3, a->i);
        mn_pb_varint(b, 20, 2);
        break;
    case MN_ATTR_STRING:
        mn_pb_string(b, 4, a->s);
        mn_pb_varint(b, 20, 3);
        break;
    case MN_ATTR_INTS:
        for (int k = 0; k < a->n; k++) mn_pb_varint(b, 8, a->ints[k]);
        mn_pb_varint(b, 20, 7);
        break;
    }
}

int mn_onnx_node(mn_onnx *g, const char *op, const char *const *in, int n_in, const char *const *out, int n_out,
                 const mn_onnx_attr *attrs, int n_attrs, mn_err *e)
{
    mn_pb n = {0};
    for (int k = 0; k < n_in; k++) mn_pb_string(&n, 1, in[k]);
    for (int k = 0; k < n_out; k++) mn_pb_string(&n, 2, out[k]);
    char name[NAME_LEN + 16];
    snprintf(name, sizeof name, "%s", n_out ? out[0] : op);
    mn_pb_string(&n, 3, name);
    mn_pb_string(&n, 4, op);
    for (int k = 0; k < n_attrs; k++) {
        mn_pb a = {0};
        attr_msg(&a, &attrs[k]);
        mn_pb_msg(&n, 5, &a);
        mn_pb_free(&a);
    }
    mn_pb_msg(&g->nodes, 1, &n);
    mn_pb_free(&n);
    g->n_nodes++;
    return mn_pb_check(&g->nodes, e);
}

static void tensor_head(mn_pb *t, const char *name, int dtype, int ndim, const int64_t *dims)
{
    for (int k = 0; k < ndim; k++) mn_pb_varint(t, 1, dims[k]);
    mn_pb_varint(t, 2, dtype);
    mn_pb_string(t, 8, name);
}

static size_t count_of(int ndim, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < ndim; k++) n *= (size_t)dims[k];
    return n;
}

int mn_onnx_init_f32(mn_onnx *g, const char *name, const float *data, int ndim, const int64_t *dims, mn_err *e)
{
    mn_pb t = {0};
    tensor_head(&t, name, MN_ONNX_FLOAT, ndim, dims);
    mn_pb_float_bytes(&t, 9, data, count_of(ndim, dims));
    mn_pb_msg(&g->inits, 5, &t);
    mn_pb_free(&t);
    return mn_pb_check(&g->inits, e);
}

int mn_onnx_init_i64(mn_onnx *g, const char *name, const int64_t *data, int ndim, const int64_t *dims, mn_err *e)
{
    mn_pb t = {0}, raw = {0};
    tensor_head(&t, name, MN_ONNX_INT64, ndim, dims);
    size_t n = count_of(ndim, dims);
    for (size_t i = 0; i < n; i++) {
        uint64_t u = (uint64_t)data[i];
        unsigned char b[8];
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)(u >> (8 * k));
        mn_pb_raw(&raw, b, 8);
    }
    if (raw.failed) t.failed = 1;
    mn_pb_bytes(&t, 9, raw.data, raw.len);
    mn_pb_free(&raw);
    mn_pb_msg(&g->inits, 5, &t);
    mn_pb_free(&t);
    return mn_pb_check(&g->inits, e);
}

int mn_onnx_init_param(mn_onnx *g, const mn_layer *l, const char *suffix, const float *data, int ndim,
                       const int64_t *dims, char *name, size_t len, mn_err *e)
{
    char base[NAME_LEN];
    snprintf(base, sizeof base, "%d.%s", l->module, suffix);
    unique_name(g, base, name, len);
    return mn_onnx_init_f32(g, name, data, ndim, dims, e);
}

int mn_onnx_rank(const mn_onnx *g) { return g->rank; }
void mn_onnx_set_rank(mn_onnx *g, int rank) { g->rank = rank; }

int mn_onnx_as_2d(mn_onnx *g, const mn_layer *l, const char *in, char *out, size_t len, mn_err *e)
{
    if (g->rank == 2) {
        snprintf(out, len, "%s", in);
        return 0;
    }
    mn_onnx_name(g, l, "flat", out, len);
    const char *o = out;
    mn_onnx_attr axis = MN_ATTR_I("axis", 1);
    if (mn_onnx_node(g, "Flatten", &in, 1, &o, 1, &axis, 1, e)) return -1;
    g->rank = 2;
    return 0;
}

int mn_onnx_as_4d(mn_onnx *g, const mn_layer *l, const char *in, char *out, size_t len, mn_err *e)
{
    if (g->rank == 4) {
        snprintf(out, len, "%s", in);
        return 0;
    }
    char shape[NAME_LEN];
    int64_t s[4] = {-1, l->in.c, l->in.h, l->in.w}, four = 4;
    mn_onnx_name(g, l, "shape", shape, sizeof shape);
    if (mn_onnx_init_i64(g, shape, s, 1, &four, e)) return -1;
    mn_onnx_name(g, l, "maps", out, len);
    const char *ins[2] = {in, shape}, *o = out;
    if (mn_onnx_node(g, "Reshape", ins, 2, &o, 1, NULL, 0, e)) return -1;
    g->rank = 4;
    return 0;
}

int mn_onnx_unary(mn_onnx *g, const mn_layer *l, const char *op, const char *in, char *out, size_t len, mn_err *e)
{
    mn_onnx_name(g, l, l->kind->token, out, len);
    const char *o = out;
    return mn_onnx_node(g, op, &in, 1, &o, 1, NULL, 0, e);
}

/* ---- the model --------------------------------------------------------------- */

/* A ValueInfoProto of a float tensor: dims[k] < 0 is the batch dimension "N". */
static void value_info(mn_pb *b, int field, const char *name, int ndim, const int64_t *dims)
{
    mn_pb vi = {0}, type = {0}, tensor = {0}, shape = {0};
    for (int k = 0; k < ndim; k++) {
        mn_pb d = {0};
        if (dims[k] < 0)
            mn_pb_string(&d, 2, "N");
        else
            mn_pb_varint(&d, 1, dims[k]);
        mn_pb_msg(&shape, 1, &d);
        mn_pb_free(&d);
    }
    mn_pb_varint(&tensor, 1, MN_ONNX_FLOAT);
    mn_pb_msg(&tensor, 2, &shape);
    mn_pb_msg(&type, 1, &tensor);
    mn_pb_string(&vi, 1, name);
    mn_pb_msg(&vi, 2, &type);
    mn_pb_msg(b, field, &vi);
    mn_pb_free(&vi), mn_pb_free(&type), mn_pb_free(&tensor), mn_pb_free(&shape);
}

static void meta_prop(mn_pb *b, const char *key, const char *val)
{
    mn_pb p = {0};
    mn_pb_string(&p, 1, key);
    mn_pb_string(&p, 2, val);
    mn_pb_msg(b, 14, &p);
    mn_pb_free(&p);
}

static int build_graph(const mn_model *m, int logits, mn_onnx *g, mn_pb *graph, mn_err *e)
{
    int flat_input;
    char cur[NAME_LEN] = "input", next[NAME_LEN];
    name_take(g, "input");
    name_take(g, "logits");
    name_take(g, "probabilities");
    name_take(g, "output");
    /* images N x C x H x W; vectors (a generator's noise) N x C */
    flat_input = m->input_shape.h == 1 && m->input_shape.w == 1;
    g->rank = flat_input ? 2 : 4;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        char d[64];
        l->kind->describe(l, d, sizeof d);
        if (!l->kind->onnx)
            return mn_fail(e, "layer %d (%s) cannot be exported to ONNX yet: the %s kind has no onnx hook", i + 1, d,
                           l->kind->token);
        next[0] = '\0';
        if (l->kind->onnx(l, m->params + l->param_off, g, cur, next, sizeof next, e)) {
            mn_err inner = *e;
            return mn_fail(e, "layer %d (%s): %s", i + 1, d, inner.msg);
        }
        if (!next[0]) return mn_fail(e, "layer %d (%s): its onnx hook named no output", i + 1, d);
        memcpy(cur, next, sizeof cur);
    }
    const char *in = cur, *out;
    int64_t out_dims[4] = {-1, 0, 0, 0};
    int out_rank = 2;
    if (!m->n_classes) {
        /* not a classifier (an autoencoder, a generator): the last layer's
         * output as it is */
        out = "output";
        mn_shape s = m->output_shape;
        if (g->rank == 4)
            out_rank = 4, out_dims[1] = s.c, out_dims[2] = s.h, out_dims[3] = s.w;
        else
            out_dims[1] = (int64_t)mn_shape_size(s);
        if (mn_onnx_node(g, "Identity", &in, 1, &out, 1, NULL, 0, e)) return -1;
    } else {
        /* N x classes */
        mn_layer last = {0};
        last.module = m->n_layers ? m->layers[m->n_layers - 1].module + 1 : 0;
        last.in = (mn_shape){m->n_classes, 1, 1};
        if (mn_onnx_as_2d(g, &last, cur, next, sizeof next, e)) return -1;
        in = next, out = logits ? "logits" : "probabilities";
        out_dims[1] = m->n_classes;
        if (logits) {
            if (mn_onnx_node(g, "Identity", &in, 1, &out, 1, NULL, 0, e)) return -1;
        } else {
            mn_onnx_attr axis = MN_ATTR_I("axis", 1);
            if (mn_onnx_node(g, "Softmax", &in, 1, &out, 1, &axis, 1, e)) return -1;
        }
    }

    mn_pb_raw(graph, g->nodes.data, g->nodes.len);
    if (g->nodes.failed) graph->failed = 1;
    mn_pb_string(graph, 2, m->name[0] ? m->name : "mnist");
    mn_pb_raw(graph, g->inits.data, g->inits.len);
    if (g->inits.failed) graph->failed = 1;
    int64_t in_dims[4] = {-1, m->input_shape.c, m->input_shape.h, m->input_shape.w};
    value_info(graph, 11, "input", flat_input ? 2 : 4, in_dims);
    value_info(graph, 12, out, out_rank, out_dims);
    return mn_pb_check(graph, e);
}

int mn_onnx_export(const mn_model *m, int logits, mn_pb *out, mn_err *e)
{
    mn_onnx g = {0};
    mn_pb graph = {0};
    g.names = calloc(MAX_NAMES, sizeof *g.names);
    if (!g.names) return mn_fail(e, "out of memory");
    int rc = build_graph(m, logits, &g, &graph, e);
    if (!rc) {
        mn_pb opset = {0};
        mn_pb_string(&opset, 1, "");
        mn_pb_varint(&opset, 2, MN_ONNX_OPSET);
        mn_pb_varint(out, 1, MN_ONNX_IR_VERSION);
        mn_pb_string(out, 2, "mnist");
        mn_pb_string(out, 3, MNIST_VERSION);
        char doc[MN_ARCH_MAX + 64];
        snprintf(doc, sizeof doc, "mnist model %s: %s", m->name, m->arch);
        mn_pb_string(out, 6, doc);
        mn_pb_msg(out, 7, &graph);
        mn_pb_msg(out, 8, &opset);
        mn_pb_free(&opset);
        /* the model file's metadata, with the arch and preset name first;
         * keys are unique, as the checker wants */
        meta_prop(out, "arch", m->arch);
        meta_prop(out, "preset", m->name);
        meta_prop(out, "output", !m->n_classes ? "output" : logits ? "logits" : "probabilities");
        const mn_safetensors *f = &m->file;
        for (int k = 0; k < f->n_meta; k++) {
            const char *key = f->meta_keys[k];
            if (!strcmp(key, "arch") || !strcmp(key, "preset") || !strcmp(key, "output")) continue;
            meta_prop(out, key, f->meta_vals[k]);
        }
        rc = mn_pb_check(out, e);
    }
    mn_pb_free(&graph);
    mn_pb_free(&g.nodes);
    mn_pb_free(&g.inits);
    free(g.names);
    return rc;
}
