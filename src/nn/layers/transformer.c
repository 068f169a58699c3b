/* transformer.c - a pre-norm Transformer encoder block (ViT's):
 *
 *   transformer:D:HEADS:MLP
 *   x1 = x + Attention(LayerNorm1(x)),  y = x1 + fc2(GELU(fc1(LayerNorm2(x1))))
 *
 * on a sequence (1, T, D) (patches:P:D makes one; an image (1, H, W) is H
 * steps of W = D features), multi-head self-attention with HEADS heads of
 * D/HEADS, softmax(Q K^T / sqrt(D/HEADS)) V, no mask; fc1 D -> MLP, the
 * exact GELU, fc2 MLP -> D; LayerNorms eps 1e-5. Output (1, T, D).
 *
 * Tensors as the torch module Block of scripts/torch_common.py names them:
 * ln1.weight/bias [D], attn.in_proj_weight [3D, D] and attn.in_proj_bias
 * [3D] (Q, K, V stacked, as nn.MultiheadAttention), attn.out_proj.weight
 * [D, D]/bias, ln2.weight/bias, fc1.weight [MLP, D]/bias, fc2.weight [D,
 * MLP]/bias. Initial values: the LayerNorms 1 and 0; every projection
 * Glorot-uniform (Q, K and V each as a D x D matrix, as Keras's
 * MultiHeadAttention), biases 0.
 *
 * The projections are GEMMs over all B*T rows; each (sample, head)'s
 * scores and weighted sum are two GEMMs, the (sample, head) pairs split
 * among the threads (each its own outputs). The activations backward
 * needs are kept in the layer's aux. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "layer_common.h"
#include "seq_common.h"

typedef struct {
    int d, heads, mlp;
} tf_conf;
MN_CONF_FITS(tf_conf);
#define CONF(l) MN_CONF(l, tf_conf)

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    long d, h, m;
    const char *rest = NULL;
    if (mn_parse_count(args, 100000, &d, &rest) || !rest || mn_parse_count(rest, 100000, &h, &rest) || !rest ||
        mn_parse_count(rest, 1000000, &m, &rest) || rest)
        return mn_fail(e, "transformer needs a width, a head count and an MLP width, all at least 1, e.g. "
                          "transformer:64:4:128");
    if (d % h) return mn_fail(e, "transformer:%ld:%ld:%ld: %ld heads do not divide the width %ld", d, h, m, h, d);
    CONF(l)->d = (int)d, CONF(l)->heads = (int)h, CONF(l)->mlp = (int)m;
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    tf_conf *c = CONF(l);
    if (l->in.c != 1 || l->in.w != c->d || l->in.h < 1)
        return mn_fail(e, "transformer:%d:%d:%d needs a sequence of %d features (1, T, %d), got (%d, %d, %d) "
                          "(put patches:P:%d before it)",
                       c->d, c->heads, c->mlp, c->d, c->d, l->in.c, l->in.h, l->in.w, c->d);
    double n = 4.0 * c->d * c->d + 2.0 * c->mlp * c->d;
    if (n > 2e8) return mn_fail(e, "transformer:%d:%d:%d: too many parameters", c->d, c->heads, c->mlp);
    l->out = l->in;
    size_t D = (size_t)c->d, M = (size_t)c->mlp;
    l->n_params = 4 * D * D + 2 * M * D + 9 * D + M;
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "transformer:%d:%d:%d", CONF(l)->d, CONF(l)->heads, CONF(l)->mlp);
}

/* The parameters, in tensor order. */
typedef struct {
    float *ln1w, *ln1b, *wqkv, *bqkv, *wo, *bo, *ln2w, *ln2b, *w1, *b1, *w2, *b2;
} tf_params;

/* The tensors' offsets in the layer's parameters, in tensor order. */
static void offsets(const mn_layer *l, size_t o[12])
{
    size_t D = (size_t)CONF(l)->d, M = (size_t)CONF(l)->mlp;
    const size_t n[12] = {D, D, 3 * D * D, 3 * D, D * D, D, D, D, M * D, M, D * M, D};
    o[0] = 0;
    for (int i = 1; i < 12; i++) o[i] = o[i - 1] + n[i - 1];
}

static tf_params params_at(const mn_layer *l, const float *p)
{
    size_t o[12];
    offsets(l, o);
    float *q = (float *)p;
    return (tf_params){q + o[0], q + o[1], q + o[2], q + o[3], q + o[4],  q + o[5],
                       q + o[6], q + o[7], q + o[8], q + o[9], q + o[10], q + o[11]};
}

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    int D = CONF(l)->d, M = CONF(l)->mlp;
    if (t) {
        size_t o[12];
        offsets(l, o);
        t[0] = (mn_tensor_desc){"ln1.weight", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[0]};
        t[1] = (mn_tensor_desc){"ln1.bias", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[1]};
        t[2] = (mn_tensor_desc){"attn.in_proj_weight", MN_ST_F32, 1, 2, {3 * D, D, 0, 0}, o[2]};
        t[3] = (mn_tensor_desc){"attn.in_proj_bias", MN_ST_F32, 1, 1, {3 * D, 0, 0, 0}, o[3]};
        t[4] = (mn_tensor_desc){"attn.out_proj.weight", MN_ST_F32, 1, 2, {D, D, 0, 0}, o[4]};
        t[5] = (mn_tensor_desc){"attn.out_proj.bias", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[5]};
        t[6] = (mn_tensor_desc){"ln2.weight", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[6]};
        t[7] = (mn_tensor_desc){"ln2.bias", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[7]};
        t[8] = (mn_tensor_desc){"fc1.weight", MN_ST_F32, 1, 2, {M, D, 0, 0}, o[8]};
        t[9] = (mn_tensor_desc){"fc1.bias", MN_ST_F32, 1, 1, {M, 0, 0, 0}, o[9]};
        t[10] = (mn_tensor_desc){"fc2.weight", MN_ST_F32, 1, 2, {D, M, 0, 0}, o[10]};
        t[11] = (mn_tensor_desc){"fc2.bias", MN_ST_F32, 1, 1, {D, 0, 0, 0}, o[11]};
    }
    return 12;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    int D = CONF(l)->d, M = CONF(l)->mlp;
    memset(p, 0, l->n_params * sizeof *p);
    tf_params q = params_at(l, p);
    for (int i = 0; i < D; i++) q.ln1w[i] = q.ln2w[i] = 1.0f;
    for (int k = 0; k < 3; k++) mn_glorot_uniform(q.wqkv + (size_t)k * D * D, (size_t)D * D, D, D, rng);
    mn_glorot_uniform(q.wo, (size_t)D * D, D, D, rng);
    mn_glorot_uniform(q.w1, (size_t)M * D, D, M, rng);
    mn_glorot_uniform(q.w2, (size_t)D * M, M, D, rng);
}

/* aux blocks, each B times its per-sample size */
typedef struct {
    float *xh1, *rs1, *a1, *qkv, *P, *O, *x1, *xh2, *rs2, *a2, *u, *g; /* forward */
    float *dx1, *dO, *dqkv, *dP, *dtmp;                                  /* backward */
} tf_bufs;

#define TF_BLOCKS(X, T, D, H, M)                                                                                   \
    X(xh1, T *D) X(rs1, T) X(a1, T *D) X(qkv, 3 * T * D) X(P, H *T *T) X(O, T *D) X(x1, T *D) X(xh2, T *D)         \
        X(rs2, T) X(a2, T *D) X(u, T *M) X(g, T *M) X(dx1, T *D) X(dO, T *D) X(dqkv, 3 * T * D) X(dP, H *T *T)   \
            X(dtmp, T *D)

static size_t aux_size(const mn_layer *l)
{
    size_t T = (size_t)l->in.h, D = (size_t)CONF(l)->d, H = (size_t)CONF(l)->heads, M = (size_t)CONF(l)->mlp, n = 0;
#define ADD(name, size) n += (size);
    TF_BLOCKS(ADD, T, D, H, M)
#undef ADD
    return n;
}

static tf_bufs bufs(const mn_layer *l, int B)
{
    size_t T = (size_t)l->in.h, D = (size_t)CONF(l)->d, H = (size_t)CONF(l)->heads, M = (size_t)CONF(l)->mlp;
    tf_bufs r;
    float *q = l->aux;
#define SET(name, size) r.name = q, q += (size_t)B * (size);
    TF_BLOCKS(SET, T, D, H, M)
#undef SET
    return r;
}

static int threads_for(int pairs, int T) { return (size_t)pairs * T * T < 4096 ? 1 : mn_get_threads(); }

/* Scores, softmax and weighted sums of every (sample, head). */
static void attention_forward(const tf_bufs *r, int B, int T, int D, int H)
{
    int dh = D / H, pairs = B * H, nt = threads_for(pairs, T);
    float scale = 1.0f / sqrtf((float)dh);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int k = 0; k < pairs; k++) {
        int b = k / H, h = k % H;
        const float *Q = r->qkv + (size_t)b * T * 3 * D + (size_t)h * dh, *K = Q + D, *V = Q + 2 * D;
        float *P = r->P + (size_t)k * T * T;
        mn_sgemm(0, 1, T, T, dh, scale, Q, 3 * D, K, 3 * D, 0.0f, P, T);
        for (int i = 0; i < T; i++) {
            float *row = P + (size_t)i * T, mx = row[0], sum = 0;
            for (int j = 1; j < T; j++) mx = row[j] > mx ? row[j] : mx;
            for (int j = 0; j < T; j++) sum += row[j] = expf(row[j] - mx);
            float inv = 1.0f / sum;
            for (int j = 0; j < T; j++) row[j] *= inv;
        }
        mn_sgemm(0, 0, T, dh, T, 1.0f, P, T, V, 3 * D, 0.0f, r->O + (size_t)b * T * D + (size_t)h * dh, D);
    }
}

static void attention_backward(const tf_bufs *r, int B, int T, int D, int H)
{
    int dh = D / H, pairs = B * H, nt = threads_for(pairs, T);
    float scale = 1.0f / sqrtf((float)dh);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int k = 0; k < pairs; k++) {
        int b = k / H, h = k % H;
        size_t at = (size_t)b * T * 3 * D + (size_t)h * dh;
        const float *Q = r->qkv + at, *K = Q + D, *V = Q + 2 * D, *P = r->P + (size_t)k * T * T;
        const float *dO = r->dO + (size_t)b * T * D + (size_t)h * dh;
        float *dQ = r->dqkv + at, *dK = dQ + D, *dV = dQ + 2 * D, *dS = r->dP + (size_t)k * T * T;
        mn_sgemm(1, 0, T, dh, T, 1.0f, P, T, dO, D, 0.0f, dV, 3 * D);
        mn_sgemm(0, 1, T, T, dh, 1.0f, dO, D, V, 3 * D, 0.0f, dS, T);
        for (int i = 0; i < T; i++) {
            const float *p = P + (size_t)i * T;
            float *s = dS + (size_t)i * T, dot = 0;
            for (int j = 0; j < T; j++) dot += s[j] * p[j];
            for (int j = 0; j < T; j++) s[j] = p[j] * (s[j] - dot);
        }
        mn_sgemm(0, 0, T, dh, T, scale, dS, T, K, 3 * D, 0.0f, dQ, 3 * D);
        mn_sgemm(1, 0, T, dh, T, scale, dS, T, Q, 3 * D, 0.0f, dK, 3 * D);
    }
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    int T = l->in.h, D = CONF(l)->d, H = CONF(l)->heads, M = CONF(l)->mlp, BT = B * T;
    tf_params w = params_at(l, p);
    tf_bufs r = bufs(l, B);
    mn_layernorm_rows(r.a1, r.xh1, r.rs1, in, w.ln1w, w.ln1b, (size_t)BT, D);
    mn_sgemm_ex(0, 1, BT, 3 * D, D, 1.0f, r.a1, D, w.wqkv, D, 0.0f, r.qkv, 3 * D, w.bqkv, 0);
    attention_forward(&r, B, T, D, H);
    memcpy(r.x1, in, (size_t)BT * D * sizeof *r.x1);
    mn_sgemm_ex(0, 1, BT, D, D, 1.0f, r.O, D, w.wo, D, 1.0f, r.x1, D, w.bo, 0);
    mn_layernorm_rows(r.a2, r.xh2, r.rs2, r.x1, w.ln2w, w.ln2b, (size_t)BT, D);
    mn_sgemm_ex(0, 1, BT, M, D, 1.0f, r.a2, D, w.w1, D, 0.0f, r.u, M, w.b1, 0);
    for (size_t i = 0; i < (size_t)BT * M; i++) r.g[i] = mn_gelu(r.u[i]);
    memcpy(out, r.x1, (size_t)BT * D * sizeof *out);
    mn_sgemm_ex(0, 1, BT, D, M, 1.0f, r.g, M, w.w2, M, 1.0f, out, D, w.b2, 0);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    int B = a->B, T = l->in.h, D = CONF(l)->d, H = CONF(l)->heads, M = CONF(l)->mlp, BT = B * T;
    tf_params w = params_at(l, a->params), g = params_at(l, a->dparams);
    tf_bufs r = bufs(l, B);
    const float *dy = a->dout;
    /* MLP: out = x1 + fc2(gelu(fc1(a2))) */
    mn_sgemm(1, 0, D, M, BT, 1.0f, dy, D, r.g, M, 0.0f, g.w2, M);
    mn_col_sums(g.b2, dy, (size_t)BT, D);
    mn_sgemm(0, 0, BT, M, D, 1.0f, dy, D, w.w2, M, 0.0f, r.g, M);
    for (size_t i = 0; i < (size_t)BT * M; i++) r.g[i] *= mn_gelu_grad(r.u[i]);
    mn_sgemm(1, 0, M, D, BT, 1.0f, r.g, M, r.a2, D, 0.0f, g.w1, D);
    mn_col_sums(g.b1, r.g, (size_t)BT, M);
    mn_sgemm(0, 0, BT, D, M, 1.0f, r.g, M, w.w1, D, 0.0f, r.dtmp, D);
    memcpy(r.dx1, dy, (size_t)BT * D * sizeof *r.dx1);
    mn_layernorm_rows_backward(r.dx1, g.ln2w, g.ln2b, r.dtmp, r.xh2, r.rs2, w.ln2w, (size_t)BT, D, 1);
    /* attention: x1 = x + out_proj(attn(a1)) */
    mn_sgemm(1, 0, D, D, BT, 1.0f, r.dx1, D, r.O, D, 0.0f, g.wo, D);
    mn_col_sums(g.bo, r.dx1, (size_t)BT, D);
    mn_sgemm(0, 0, BT, D, D, 1.0f, r.dx1, D, w.wo, D, 0.0f, r.dO, D);
    attention_backward(&r, B, T, D, H);
    mn_sgemm(1, 0, 3 * D, D, BT, 1.0f, r.dqkv, 3 * D, r.a1, D, 0.0f, g.wqkv, D);
    mn_col_sums(g.bqkv, r.dqkv, (size_t)BT, 3 * D);
    mn_sgemm(0, 0, BT, D, 3 * D, 1.0f, r.dqkv, 3 * D, w.wqkv, D, 0.0f, r.dtmp, D);
    if (a->din) memcpy(a->din, r.dx1, (size_t)BT * D * sizeof *a->din);
    mn_layernorm_rows_backward(a->din, g.ln1w, g.ln1b, r.dtmp, r.xh1, r.rs1, w.ln1w, (size_t)BT, D, 1);
    return 0;
}

const mn_layer_kind mn_transformer_kind = {
    .token = "transformer",
    .usage = "transformer:D:HEADS:MLP",
    .example = "patches:3:8,transformer:8:4:8",
    .keras_name = "TransformerEncoder",
    .torch_name = "Block",
    .draw = MN_DRAW_VECTOR,
    .parse = parse,
    .setup = setup,
    .describe = describe,
    .aux_size = aux_size,
    .tensors = tensors,
    .init = init,
    .forward = forward,
    .backward = backward,
};
