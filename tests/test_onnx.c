/* test_onnx.c - the protobuf writer and the ONNX exporter, read back with a
 * tiny protobuf reader of its own: field numbers and wire types of the
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and
 * ValueInfoProto fields we write, the graph's ops in order, the weights'
 * bytes, names that resolve, and the error for a kind without a hook.
 * (tests/onnx.sh runs the files through onnx's checker and ONNX Runtime.) */
#include <stdint.h>
#include <string.h>

#include "mnist/model.h"
#include "mnist/onnx.h"
#include "mnist/protobuf.h"
#include "test.h"

/* ---- a tiny protobuf reader ------------------------------------------------ */

typedef struct {
    int num, wire;
    uint64_t v;             /* varint, or a fixed32's bits */
    const unsigned char *p; /* length-delimited: the bytes */
    size_t len;
} field;

typedef struct {
    const unsigned char *p, *end;
    int bad;
} reader;

static reader rd(const void *p, size_t n) { return (reader){p, (const unsigned char *)p + n, 0}; }

static int uvarint(reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* 1 and the next field in f, 0 at the end, 0 with r->bad set when malformed */
static int next(reader *r, field *f)
{
    if (r->p == r->end || r->bad) return 0;
    uint64_t key;
    memset(f, 0, sizeof *f);
    if (uvarint(r, &key)) goto bad;
    f->num = (int)(key >> 3), f->wire = (int)(key & 7);
    if (f->num < 1) goto bad;
    if (f->wire == MN_PB_VARINT) {
        if (uvarint(r, &f->v)) goto bad;
    } else if (f->wire == MN_PB_LEN) {
        if (uvarint(r, &f->v) || f->v > (uint64_t)(r->end - r->p)) goto bad;
        f->p = r->p, f->len = (size_t)f->v;
        r->p += f->len;
    } else if (f->wire == MN_PB_I32) {
        if (r->end - r->p < 4) goto bad;
        f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 | (uint64_t)r->p[3] << 24;
        r->p += 4;
    } else {
        goto bad; /* we never write fixed64 or groups */
    }
    return 1;
bad:
    r->bad = 1;
    return 0;
}

static int str_is(const field *f, const char *s) { return f->len == strlen(s) && !memcmp(f->p, s, f->len); }
static void str_copy(const field *f, char *out, size_t n)
{
    size_t k = f->len < n - 1 ? f->len : n - 1;
    memcpy(out, f->p, k);
    out[k] = '\0';
}

/* Checks every field of a message against the wire type its number must
 * have: types[num] is 'v' varint, 'l' length-delimited, 'f' fixed32; a
 * field not listed fails. */
static void check_wire_types(const char *what, const field *msg, const char *types)
{
    reader r = rd(msg->p, msg->len);
    field f;
    while (next(&r, &f)) {
        char t = f.num < (int)strlen(types) ? types[f.num] : '.';
        int want = t == 'v' ? MN_PB_VARINT : t == 'l' ? MN_PB_LEN : t == 'f' ? MN_PB_I32 : -1;
        CHECK_MSG(f.wire == want, "%s: field %d has wire type %d", what, f.num, f.wire);
    }
    CHECK_MSG(!r.bad, "%s: malformed", what);
}

/* index:                                 0123456789012345678901 */
#define MODEL_TYPES /* ModelProto */     ".vll..lll.....l"
#define GRAPH_TYPES /* GraphProto */     ".ll..l.....ll"
#define NODE_TYPES /* NodeProto */       ".lllll"
#define ATTR_TYPES /* AttributeProto */  ".lfvl...v...........v"
#define TENSOR_TYPES /* TensorProto */   ".vv.....ll"
#define OPSET_TYPES /* OperatorSetId */  ".lv"
#define META_TYPES /* StringString */    ".ll"

/* ---- the protobuf writer ---------------------------------------------------- */

static void test_writer(void)
{
    mn_pb b = {0};
    mn_pb_varint(&b, 1, 300);
    static const unsigned char want1[] = {0x08, 0xac, 0x02};
    CHECK(b.len == 3 && !memcmp(b.data, want1, 3));
    b.len = 0;
    mn_pb_varint(&b, 1, -1); /* int64 -1: ten bytes */
    CHECK(b.len == 11 && b.data[1] == 0xff && b.data[10] == 0x01);
    b.len = 0;
    mn_pb_float(&b, 2, 1.5f);
    static const unsigned char want2[] = {0x15, 0x00, 0x00, 0xc0, 0x3f};
    CHECK(b.len == 5 && !memcmp(b.data, want2, 5));
    b.len = 0;
    mn_pb_string(&b, 2, "abc");
    static const unsigned char want3[] = {0x12, 0x03, 'a', 'b', 'c'};
    CHECK(b.len == 5 && !memcmp(b.data, want3, 5));
    b.len = 0;
    float v[2] = {1.0f, -2.0f};
    mn_pb_float_bytes(&b, 9, v, 2);
    static const unsigned char want4[] = {0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0};
    CHECK(b.len == 10 && !memcmp(b.data, want4, 10));
    /* a long message: a two-byte length */
    mn_pb big = {0}, outer = {0};
    for (int i = 0; i < 100; i++) mn_pb_varint(&big, 1, i);
    mn_pb_msg(&outer, 7, &big);
    CHECK(outer.len == 3 + big.len && outer.data[0] == 0x3a && outer.data[1] == (0x80 | (big.len & 0x7f)) &&
          outer.data[2] == big.len >> 7);
    CHECK(mn_pb_check(&outer, NULL) == 0);
    mn_pb_free(&big), mn_pb_free(&outer), mn_pb_free(&b);
    CHECK(b.data == NULL && b.len == 0);
}

/* ---- the exporter ----------------------------------------------------------- */

#define MAX_OPS 64
#define MAX_VALUES 256

typedef struct {
    int ir_version, opset, n_opsets, has_graph;
    char ops[MAX_OPS][32];
    int n_ops;
    char values[MAX_VALUES][64]; /* defined so far: inputs, initializers, node outputs */
    int n_values;
    int unresolved;              /* node inputs not defined before the node */
    int n_inits, weights_match;
    char meta_arch[MN_ARCH_MAX];
    int n_meta, meta_dup;
    char meta_keys[64][64];
    char input_name[64], output_name[64];
    long long in_dims[4], out_dims[4];
    int in_rank, out_rank, batch_is_param;
    /* from the first Conv, Gemm, Reshape seen */
    long long conv_pads[4], conv_kernel[2];
    int n_conv_pads, gemm_transb;
    long long reshape_shape[4];
    int n_reshape_shape;
} parsed;

static int defined(const parsed *r, const char *name)
{
    for (int i = 0; i < r->n_values; i++)
        if (!strcmp(r->values[i], name)) return 1;
    return 0;
}

static void define(parsed *r, const field *f)
{
    if (r->n_values < MAX_VALUES) str_copy(f, r->values[r->n_values++], sizeof r->values[0]);
}

static void parse_attr(parsed *r, const char *op, const field *a)
{
    check_wire_types("AttributeProto", a, ATTR_TYPES);
    reader rr = rd(a->p, a->len);
    field f;
    char name[32] = "";
    long long ints[8];
    int n_ints = 0, type = 0;
    long long i = 0;
    while (next(&rr, &f)) {
        if (f.num == 1) str_copy(&f, name, sizeof name);
        if (f.num == 3) i = (long long)f.v;
        if (f.num == 8 && n_ints < 8) ints[n_ints++] = (long long)f.v;
        if (f.num == 20) type = (int)f.v;
    }
    CHECK_MSG(type >= 1 && type <= 8, "attribute %s: type %d", name, type);
    if (!strcmp(op, "Conv") && !r->n_conv_pads && !strcmp(name, "pads")) {
        CHECK(type == 7 && n_ints == 4);
        for (int k = 0; k < 4 && k < n_ints; k++) r->conv_pads[k] = ints[k];
        r->n_conv_pads = n_ints;
    }
    if (!strcmp(op, "Conv") && !strcmp(name, "kernel_shape") && n_ints == 2 && !r->conv_kernel[0])
        r->conv_kernel[0] = ints[0], r->conv_kernel[1] = ints[1];
    if (!strcmp(op, "Gemm") && !strcmp(name, "transB")) {
        CHECK(type == 2);
        r->gemm_transb = (int)i;
    }
}

static void parse_node(parsed *r, const field *n)
{
    check_wire_types("NodeProto", n, NODE_TYPES);
    reader rr = rd(n->p, n->len);
    field f;
    char op[32] = "";
    /* op_type first (it may come after the attributes) */
    while (next(&rr, &f))
        if (f.num == 4) str_copy(&f, op, sizeof op);
    if (r->n_ops < MAX_OPS) snprintf(r->ops[r->n_ops++], sizeof r->ops[0], "%s", op);
    rr = rd(n->p, n->len);
    while (next(&rr, &f)) {
        if (f.num == 1) {
            char name[64];
            str_copy(&f, name, sizeof name);
            if (name[0] && !defined(r, name)) r->unresolved++; /* "": an omitted optional input */
        }
        if (f.num == 5) parse_attr(r, op, &f);
    }
    rr = rd(n->p, n->len);
    while (next(&rr, &f))
        if (f.num == 2) define(r, &f);
}

static void parse_init(parsed *r, const field *t, const mn_model *m)
{
    check_wire_types("TensorProto", t, TENSOR_TYPES);
    reader rr = rd(t->p, t->len);
    field f, raw = {0};
    char name[64] = "";
    int dtype = 0;
    size_t count = 1;
    long long dims[8];
    int nd = 0;
    while (next(&rr, &f)) {
        if (f.num == 1 && nd < 8) dims[nd++] = (long long)f.v, count *= (size_t)f.v;
        if (f.num == 2) dtype = (int)f.v;
        if (f.num == 8) str_copy(&f, name, sizeof name), define(r, &f);
        if (f.num == 9) raw = f;
    }
    r->n_inits++;
    if (dtype == MN_ONNX_INT64) {
        CHECK(raw.len == 8 * count);
        if (!r->n_reshape_shape && nd == 1 && count <= 4) {
            for (size_t k = 0; k < count; k++) {
                uint64_t u = 0;
                for (int b = 0; b < 8; b++) u |= (uint64_t)raw.p[8 * k + (size_t)b] << (8 * b);
                r->reshape_shape[k] = (long long)u;
            }
            r->n_reshape_shape = (int)count;
        }
        return;
    }
    CHECK_MSG(dtype == MN_ONNX_FLOAT, "%s: data_type %d", name, dtype);
    CHECK_MSG(raw.len == 4 * count, "%s: %zu raw bytes for %zu floats", name, raw.len, count);
    /* "<module>.<suffix>": the layer's tensor of that name, with its shape;
     * other names are constants of a node (Resize's scales) */
    if (!strchr(name, '.')) return;
    int module, at;
    char suffix[32];
    if (sscanf(name, "%d.%31s%n", &module, suffix, &at) != 2) {
        CHECK_MSG(0, "initializer name '%s'", name);
        return;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        if (l->module != module || !l->kind->tensors) continue;
        mn_tensor_desc td[8];
        int nt = l->kind->tensors(l, td);
        for (int k = 0; k < nt; k++) {
            if (strcmp(td[k].suffix, suffix)) continue;
            int same_shape = td[k].ndim == nd;
            for (int d = 0; d < nd && same_shape; d++) same_shape = td[k].shape[d] == dims[d];
            CHECK_MSG(same_shape, "%s: shape", name);
            const float *want = m->params + l->param_off + td[k].offset;
            int same = raw.len == 4 * count;
            for (size_t j = 0; j < count && same; j++) {
                uint32_t u = (uint32_t)raw.p[4 * j] | (uint32_t)raw.p[4 * j + 1] << 8 |
                             (uint32_t)raw.p[4 * j + 2] << 16 | (uint32_t)raw.p[4 * j + 3] << 24;
                float v;
                memcpy(&v, &u, 4);
                same = v == want[j];
            }
            CHECK_MSG(same, "%s: the floats differ from the model's", name);
            r->weights_match += same;
        }
    }
}

/* a ValueInfoProto: name, then type.tensor_type {elem_type, shape.dim*} */
static void parse_value_info(const field *vi, char *name, size_t len, long long *dims, int max, int *rank,
                             int *batch_param)
{
    reader r = rd(vi->p, vi->len);
    field f;
    *rank = 0;
    while (next(&r, &f)) {
        if (f.num == 1) str_copy(&f, name, len);
        if (f.num != 2) continue;
        CHECK(f.wire == MN_PB_LEN);
        reader rt = rd(f.p, f.len);
        field t;
        while (next(&rt, &t)) {
            if (t.num != 1) continue; /* tensor_type */
            reader rtt = rd(t.p, t.len);
            field tt;
            while (next(&rtt, &tt)) {
                if (tt.num == 1) CHECK(tt.wire == MN_PB_VARINT && tt.v == MN_ONNX_FLOAT);
                if (tt.num != 2) continue; /* shape */
                reader rs = rd(tt.p, tt.len);
                field dim;
                while (next(&rs, &dim)) {
                    CHECK(dim.num == 1 && dim.wire == MN_PB_LEN);
                    reader rd_ = rd(dim.p, dim.len);
                    field d;
                    while (next(&rd_, &d)) {
                        if (d.num == 1 && *rank < max) dims[(*rank)++] = (long long)d.v;
                        if (d.num == 2) {
                            CHECK(d.wire == MN_PB_LEN && *rank == 0 && str_is(&d, "N"));
                            if (*rank < max) dims[(*rank)++] = -1;
                            *batch_param += 1;
                        }
                    }
                }
            }
        }
    }
}

static void parse_graph(parsed *r, const field *g, const mn_model *m)
{
    check_wire_types("GraphProto", g, GRAPH_TYPES);
    reader rr = rd(g->p, g->len);
    field f;
    /* inputs and initializers first: they are defined for every node */
    while (next(&rr, &f)) {
        if (f.num == 11) {
            int bp = 0;
            parse_value_info(&f, r->input_name, sizeof r->input_name, r->in_dims, 4, &r->in_rank, &bp);
            r->batch_is_param += bp;
            snprintf(r->values[r->n_values++], sizeof r->values[0], "%s", r->input_name);
        }
        if (f.num == 5) parse_init(r, &f, m);
    }
    rr = rd(g->p, g->len);
    while (next(&rr, &f)) {
        if (f.num == 1) parse_node(r, &f);
        if (f.num == 12) {
            int bp = 0;
            parse_value_info(&f, r->output_name, sizeof r->output_name, r->out_dims, 4, &r->out_rank, &bp);
            r->batch_is_param += bp;
        }
    }
    CHECK(!rr.bad);
}

static void parse_model(parsed *r, const mn_pb *b, const mn_model *m)
{
    memset(r, 0, sizeof *r);
    field whole = {0, MN_PB_LEN, 0, b->data, b->len};
    check_wire_types("ModelProto", &whole, MODEL_TYPES);
    reader rr = rd(b->data, b->len);
    field f;
    while (next(&rr, &f)) {
        if (f.num == 1) r->ir_version = (int)f.v;
        if (f.num == 8) {
            check_wire_types("OperatorSetIdProto", &f, OPSET_TYPES);
            reader ro = rd(f.p, f.len);
            field o;
            int default_domain = 1;
            while (next(&ro, &o)) {
                if (o.num == 1) default_domain = o.len == 0;
                if (o.num == 2) r->opset = (int)o.v;
            }
            CHECK(default_domain);
            r->n_opsets++;
        }
        if (f.num == 14) {
            check_wire_types("StringStringEntryProto", &f, META_TYPES);
            reader rm = rd(f.p, f.len);
            field kv, k = {0}, v = {0};
            while (next(&rm, &kv)) {
                if (kv.num == 1) k = kv;
                if (kv.num == 2) v = kv;
            }
            char key[64];
            str_copy(&k, key, sizeof key);
            for (int i = 0; i < r->n_meta && i < 64; i++) r->meta_dup += !strcmp(r->meta_keys[i], key);
            if (r->n_meta < 64) snprintf(r->meta_keys[r->n_meta], sizeof r->meta_keys[0], "%s", key);
            r->n_meta++;
            if (!strcmp(key, "arch")) str_copy(&v, r->meta_arch, sizeof r->meta_arch);
        }
        if (f.num == 7) {
            r->has_graph++;
            parse_graph(r, &f, m);
        }
    }
    CHECK(!rr.bad);
}

static int build(mn_model *m, const char *arch)
{
    mn_err e;
    if (mn_model_build(m, arch, (mn_shape){1, 28, 28}, 10, &e) || mn_model_alloc_for(m, 4, 0, &e)) {
        fprintf(stderr, "%s: %s\n", arch, e.msg);
        CHECK(0);
        return -1;
    }
    mn_model_init(m, 7);
    return 0;
}

static int ops_are(const parsed *r, const char *const *want, int n)
{
    if (r->n_ops != n) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(r->ops[i], want[i])) return 0;
    return 1;
}

static void print_ops(const parsed *r)
{
    for (int i = 0; i < r->n_ops; i++) fprintf(stderr, "%s%s", i ? "," : "  ops: ", r->ops[i]);
    fprintf(stderr, "\n");
}

static void test_every_kind(void)
{
    /* every kind that has an onnx hook, each layer on its own (the conv's
     * fused relu and maxpool are nodes of their own) */
    const char *arch = "conv:3:3:p1,relu,maxpool:2,conv:4:3x5:s2:p1x2,avgpool:2:s1,flatten,dense:8,sigmoid,tanh,"
                       "dropout:0.5,dense:10";
    mn_model m;
    if (build(&m, arch)) return;
    mn_pb b = {0};
    mn_err e;
    CHECK(mn_onnx_export(&m, 0, &b, &e) == 0);
    parsed r;
    parse_model(&r, &b, &m);
    CHECK(r.ir_version == 8);
    CHECK(r.n_opsets == 1 && r.opset == 13);
    CHECK(r.has_graph == 1);
    static const char *const want[] = {"Conv",    "Relu", "MaxPool", "Conv",    "AveragePool", "Flatten",
                                       "Gemm",    "Sigmoid", "Tanh", "Gemm", "Softmax"};
    CHECK(ops_are(&r, want, (int)(sizeof want / sizeof *want)));
    if (!ops_are(&r, want, (int)(sizeof want / sizeof *want))) print_ops(&r);
    CHECK(r.unresolved == 0);
    CHECK(r.n_inits == 8 && r.weights_match == 8); /* 2 convs, 2 denses: weight and bias */
    CHECK(r.n_conv_pads == 4 && r.conv_pads[0] == 1 && r.conv_pads[1] == 1 && r.conv_pads[2] == 1 &&
          r.conv_pads[3] == 1);
    CHECK(r.conv_kernel[0] == 3 && r.conv_kernel[1] == 3);
    CHECK(r.gemm_transb == 1);
    CHECK(!strcmp(r.input_name, "input") && r.in_rank == 4 && r.in_dims[0] == -1 && r.in_dims[1] == 1 &&
          r.in_dims[2] == 28 && r.in_dims[3] == 28);
    CHECK(!strcmp(r.output_name, "probabilities") && r.out_rank == 2 && r.out_dims[0] == -1 && r.out_dims[1] == 10);
    CHECK(r.batch_is_param == 2);
    CHECK(!strcmp(r.meta_arch, m.arch));
    CHECK(r.n_meta >= 3 && r.meta_dup == 0);
    /* the graph's last tensor is the output */
    CHECK(defined(&r, "probabilities"));
    mn_pb_free(&b);

    /* --logits: no Softmax; the output is "logits" */
    CHECK(mn_onnx_export(&m, 1, &b, &e) == 0);
    parse_model(&r, &b, &m);
    CHECK(r.n_ops == 11 && !strcmp(r.ops[10], "Identity"));
    CHECK(!strcmp(r.output_name, "logits") && defined(&r, "logits"));
    mn_pb_free(&b);
    mn_model_free(&m);
}

/* A conv after a dense layer gets a Reshape to N x C x 1 x 1, and a dense
 * after a conv whose output is 1x1 (no flatten inserted) a Flatten. */
static void test_ranks(void)
{
    mn_model m;
    if (build(&m, "dense:16,relu,conv:2:1,dense:10")) return;
    mn_pb b = {0};
    mn_err e;
    CHECK(mn_onnx_export(&m, 0, &b, &e) == 0);
    parsed r;
    parse_model(&r, &b, &m);
    static const char *const want[] = {"Flatten", "Gemm", "Relu", "Reshape", "Conv", "Flatten", "Gemm", "Softmax"};
    CHECK(ops_are(&r, want, (int)(sizeof want / sizeof *want)));
    if (!ops_are(&r, want, (int)(sizeof want / sizeof *want))) print_ops(&r);
    CHECK(r.n_reshape_shape == 4 && r.reshape_shape[0] == -1 && r.reshape_shape[1] == 16 &&
          r.reshape_shape[2] == 1 && r.reshape_shape[3] == 1);
    CHECK(r.unresolved == 0);
    mn_pb_free(&b);
    mn_model_free(&m);

    /* a model ending in a conv with a 1x1 output: flattened before the Softmax */
    if (build(&m, "conv:10:28")) return;
    CHECK(mn_onnx_export(&m, 0, &b, &e) == 0);
    parse_model(&r, &b, &m);
    static const char *const want2[] = {"Conv", "Flatten", "Softmax"};
    CHECK(ops_are(&r, want2, 3));
    CHECK(r.out_rank == 2 && r.out_dims[1] == 10);
    mn_pb_free(&b);
    mn_model_free(&m);
}

/* The generative models' kinds, and a model that is no classifier. */
static void test_generative(void)
{
    mn_model m;
    if (build(&m, "dense:196,leakyrelu:0.2,reshape:4:7:7,upsample:2,convtranspose:3:4:s2:p1,relu,maxpool:4,dense:10"))
        return;
    mn_pb b = {0};
    mn_err e;
    CHECK(mn_onnx_export(&m, 0, &b, &e) == 0);
    parsed r;
    parse_model(&r, &b, &m);
    static const char *const want[] = {"Flatten", "Gemm", "LeakyRelu", "Reshape", "Resize", "ConvTranspose",
                                       "Relu",    "MaxPool", "Flatten", "Gemm",  "Softmax"};
    CHECK(ops_are(&r, want, (int)(sizeof want / sizeof *want)));
    if (!ops_are(&r, want, (int)(sizeof want / sizeof *want))) print_ops(&r);
    CHECK(r.n_reshape_shape == 4 && r.reshape_shape[0] == -1 && r.reshape_shape[1] == 4 &&
          r.reshape_shape[2] == 7 && r.reshape_shape[3] == 7);
    CHECK(r.unresolved == 0);
    CHECK(r.weights_match == 6); /* 2 denses, the convtranspose */
    mn_pb_free(&b);
    mn_model_free(&m);

    /* n_classes 0: the output is the last layer's, N x 1 x 28 x 28, no Softmax */
    if (mn_model_build(&m, "dense:16,relu,dense:784,sigmoid,reshape:1:28:28", (mn_shape){1, 28, 28}, 0, &e) ||
        mn_model_alloc_for(&m, 2, 0, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        CHECK(0);
        return;
    }
    mn_model_init(&m, 3);
    CHECK(mn_onnx_export(&m, 0, &b, &e) == 0);
    parse_model(&r, &b, &m);
    CHECK(r.n_ops >= 1 && !strcmp(r.ops[r.n_ops - 1], "Identity"));
    CHECK(!strcmp(r.output_name, "output") && r.out_rank == 4 && r.out_dims[0] == -1 && r.out_dims[1] == 1 &&
          r.out_dims[2] == 28 && r.out_dims[3] == 28);
    mn_pb_free(&b);
    mn_model_free(&m);
}

/* A kind without a hook: the export fails, naming the layer. */
static void test_no_hook(void)
{
    mn_model m;
    if (build(&m, "dense:16,relu,dense:10")) return;
    mn_layer_kind k = *m.layers[2].kind; /* the relu (after the inserted flatten and the dense) */
    CHECK(!strcmp(k.token, "relu"));
    k.onnx = NULL;
    m.layers[2].kind = &k;
    mn_pb b = {0};
    mn_err e;
    CHECK(mn_onnx_export(&m, 0, &b, &e) == -1);
    CHECK_MSG(strstr(e.msg, "layer 3 (relu)") && strstr(e.msg, "no onnx hook"), "%s", e.msg);
    CHECK(strchr(e.msg, '\n') == NULL);
    mn_pb_free(&b);
    mn_model_free(&m);
    /* the kinds this exporter was written with all have one */
    static const char *const kinds[] = {"conv", "maxpool", "avgpool", "flatten", "dense", "relu", "sigmoid", "tanh",
                                        "dropout", "leakyrelu", "reshape", "upsample", "convtranspose"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const mn_layer_kind *kk = mn_layer_kind_find(kinds[i], strlen(kinds[i]));
        CHECK_MSG(kk && kk->onnx, "%s has no onnx hook", kinds[i]);
    }
}

int main(void)
{
    test_writer();
    test_every_kind();
    test_ranks();
    test_generative();
    test_no_hook();
    return test_summary("test_onnx");
}
