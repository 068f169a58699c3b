/* rnn.c - recurrent layers: lstm:UNITS and gru:UNITS (Keras LSTM / GRU,
 * PyTorch nn.LSTM / nn.GRU with batch_first=True, one layer).
 *
 *   lstm:UNITS[:seq][:cols]   gru:UNITS[:seq][:cols]
 *
 * The input is read as a sequence (seq_common.h): an image (C, H, W) is H
 * steps of C*W features (its rows), or with `cols` W steps of C*H features
 * (its columns); a sequence layer's output (1, T, F) is T steps of F. The
 * output is the last hidden state (UNITS, 1, 1), or with `seq` every step's
 * (1, T, UNITS), so that recurrent layers stack: lstm:64:seq,lstm:64.
 *
 * Tensors as PyTorch's: weight_ih_l0 [G*U, F], weight_hh_l0 [G*U, U],
 * bias_ih_l0 [G*U], bias_hh_l0 [G*U], G = 4 gates (i, f, g, o) for the
 * LSTM, 3 (r, z, n) for the GRU:
 *   LSTM: i, f, o = sigmoid(.), g = tanh(.) of W_i* x + b_i* + W_h* h + b_h*,
 *         c' = f c + i g, h' = o tanh(c')
 *   GRU:  r, z = sigmoid(W_i* x + b_i* + W_h* h + b_h*),
 *         n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h
 * Initial values as Keras's: the input weights Glorot-uniform (fan in F,
 * fan out G*U), the recurrent ones orthogonal, biases zero except the
 * LSTM's forget gate's input bias, 1 (unit_forget_bias). Keras's LSTM has
 * one bias, so its parameter count is 4*U fewer than PyTorch's and ours.
 *
 * The work: all steps' input projections are one GEMM over T*B rows;
 * each step adds the recurrent product, one GEMM over the batch, then the
 * gates element-wise. Backpropagation through time runs the steps back,
 * one GEMM per step for the hidden state's gradient, and the weight
 * gradients are one GEMM each over all steps. Everything is time-major in
 * the layer's aux, so the steps' rows are contiguous and nothing is
 * allocated. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "layer_common.h"
#include "seq_common.h"

typedef struct {
    int units;
    int seq;  /* output every step */
    int cols; /* steps are the input's columns */
    int gates; /* 4 (LSTM) or 3 (GRU) */
} rnn_conf;
MN_CONF_FITS(rnn_conf);
#define CONF(l) MN_CONF(l, rnn_conf)

extern const mn_layer_kind mn_lstm_kind, mn_gru_kind;

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    const char *tok = l->kind->token, *rest;
    long u;
    rnn_conf *c = CONF(l);
    if (mn_parse_count(args, 100000, &u, &rest))
        return mn_fail(e, "%s needs a unit count from 1 to 100000, e.g. %s:64 (options :seq, :cols)", tok, tok);
    c->units = (int)u;
    c->gates = l->kind == &mn_lstm_kind ? 4 : 3;
    while (rest) {
        const char *end = strchr(rest, ':');
        size_t len = end ? (size_t)(end - rest) : strlen(rest);
        if (len == 3 && !strncmp(rest, "seq", 3) && !c->seq)
            c->seq = 1;
        else if (len == 4 && !strncmp(rest, "cols", 4) && !c->cols)
            c->cols = 1;
        else
            return mn_fail(e, "%s: unknown option '%.*s' (known: seq, cols)", tok, (int)len, rest);
        rest = end ? end + 1 : NULL;
    }
    return 0;
}

static int setup(mn_layer *l, mn_err *e)
{
    rnn_conf *c = CONF(l);
    mn_seq_dims d = mn_seq_of(l->in, c->cols);
    if (d.T < 2)
        return mn_fail(e, "%s:%d needs a sequence of at least 2 steps, got (%d, %d, %d) (after a flatten or a dense "
                          "layer there is no sequence left)",
                       l->kind->token, c->units, l->in.c, l->in.h, l->in.w);
    size_t G = (size_t)c->gates * c->units;
    if ((double)G * ((double)d.F + c->units + 2) > 2e8)
        return mn_fail(e, "%s:%d on %d features: too many parameters", l->kind->token, c->units, d.F);
    l->out = c->seq ? (mn_shape){1, d.T, c->units} : (mn_shape){c->units, 1, 1};
    l->n_params = G * ((size_t)d.F + (size_t)c->units + 2);
    return 0;
}

static void describe(const mn_layer *l, char *buf, size_t len)
{
    const rnn_conf *c = CONF(l);
    snprintf(buf, len, "%s:%d%s%s", l->kind->token, c->units, c->seq ? ":seq" : "", c->cols ? ":cols" : "");
}

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    const rnn_conf *c = CONF(l);
    int F = mn_seq_of(l->in, c->cols).F, U = c->units, G = c->gates * U;
    if (t) {
        size_t o = 0;
        t[0] = (mn_tensor_desc){"weight_ih_l0", MN_ST_F32, 1, 2, {G, F, 0, 0}, o};
        o += (size_t)G * F;
        t[1] = (mn_tensor_desc){"weight_hh_l0", MN_ST_F32, 1, 2, {G, U, 0, 0}, o};
        o += (size_t)G * U;
        t[2] = (mn_tensor_desc){"bias_ih_l0", MN_ST_F32, 1, 1, {G, 0, 0, 0}, o};
        t[3] = (mn_tensor_desc){"bias_hh_l0", MN_ST_F32, 1, 1, {G, 0, 0, 0}, o + (size_t)G};
    }
    return 4;
}

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    const rnn_conf *c = CONF(l);
    int F = mn_seq_of(l->in, c->cols).F, U = c->units, G = c->gates * U;
    float *wih = p, *whh = wih + (size_t)G * F, *bih = whh + (size_t)G * U, *bhh = bih + G;
    mn_glorot_uniform(wih, (size_t)G * F, F, G, rng);
    mn_orthogonal(whh, G, U, rng);
    memset(bih, 0, 2 * (size_t)G * sizeof *bih);
    if (c->gates == 4)
        for (int j = 0; j < U; j++) bih[U + j] = 1.0f;
    (void)bhh;
}

/* Per-sample aux floats, time-major blocks (each B times its per-sample
 * size): X [T][F] the input, A [T][G*U] the gates (then their gradients),
 * S [T][U] (LSTM: cell states) or [T][3U] (GRU: the recurrent products,
 * then their gradients), H [T+1][U] the hidden states from h_-1 = 0, and
 * dh, dc [U] the recurrent gradients. */
typedef struct {
    float *X, *A, *S, *H, *dh, *dc;
} rnn_bufs;

static size_t aux_size(const mn_layer *l)
{
    const rnn_conf *c = CONF(l);
    mn_seq_dims d = mn_seq_of(l->in, c->cols);
    size_t T = (size_t)d.T, U = (size_t)c->units, G = (size_t)c->gates * U;
    return T * (size_t)d.F + T * G + T * (c->gates == 4 ? U : 3 * U) + (T + 1) * U + 2 * U;
}

static rnn_bufs bufs(const mn_layer *l, int B)
{
    const rnn_conf *c = CONF(l);
    mn_seq_dims d = mn_seq_of(l->in, c->cols);
    size_t T = (size_t)d.T, U = (size_t)c->units, G = (size_t)c->gates * U, b = (size_t)B;
    rnn_bufs r;
    r.X = l->aux;
    r.A = r.X + b * T * (size_t)d.F;
    r.S = r.A + b * T * G;
    r.H = r.S + b * T * (c->gates == 4 ? U : 3 * U);
    r.dh = r.H + b * (T + 1) * U;
    r.dc = r.dh + b * U;
    return r;
}

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)training, (void)rng;
    const rnn_conf *c = CONF(l);
    mn_seq_dims d = mn_seq_of(l->in, c->cols);
    int T = d.T, F = d.F, U = c->units, G = c->gates * U;
    const float *wih = p, *whh = wih + (size_t)G * F, *bih = whh + (size_t)G * U, *bhh = bih + G;
    rnn_bufs r = bufs(l, B);
    size_t BU = (size_t)B * U, BG = (size_t)B * G;
    mn_seq_gather_tm(r.X, in, l->in, c->cols, B);
    /* every step's input projection at once */
    mn_sgemm_ex(0, 1, T * B, G, F, 1.0f, r.X, F, wih, F, 0.0f, r.A, G, bih, 0);
    memset(r.H, 0, BU * sizeof *r.H);
    for (int t = 0; t < T; t++) {
        float *A = r.A + (size_t)t * BG, *hp = r.H + (size_t)t * BU, *h = hp + BU;
        if (c->gates == 4) {
            float *cs = r.S + (size_t)t * BU;
            const float *cp = t ? cs - BU : NULL;
            if (t)
                mn_sgemm_ex(0, 1, B, G, U, 1.0f, hp, U, whh, U, 1.0f, A, G, bhh, 0);
            else
                for (int b = 0; b < B; b++)
                    for (int j = 0; j < G; j++) A[(size_t)b * G + j] += bhh[j];
            for (int b = 0; b < B; b++) {
                float *a = A + (size_t)b * G;
                for (int j = 0; j < U; j++) {
                    float i = sigm(a[j]), f = sigm(a[U + j]), g = tanhf(a[2 * U + j]), o = sigm(a[3 * U + j]);
                    float cv = i * g + (cp ? f * cp[(size_t)b * U + j] : 0.0f);
                    a[j] = i, a[U + j] = f, a[2 * U + j] = g, a[3 * U + j] = o;
                    cs[(size_t)b * U + j] = cv;
                    h[(size_t)b * U + j] = o * tanhf(cv);
                }
            }
        } else {
            float *S = r.S + (size_t)t * BG; /* W_hh h + b_hh */
            if (t)
                mn_sgemm_ex(0, 1, B, G, U, 1.0f, hp, U, whh, U, 0.0f, S, G, bhh, 0);
            else
                for (int b = 0; b < B; b++) memcpy(S + (size_t)b * G, bhh, (size_t)G * sizeof *S);
            for (int b = 0; b < B; b++) {
                float *a = A + (size_t)b * G;
                const float *s = S + (size_t)b * G;
                for (int j = 0; j < U; j++) {
                    float rr = sigm(a[j] + s[j]), z = sigm(a[U + j] + s[U + j]);
                    float n = tanhf(a[2 * U + j] + rr * s[2 * U + j]);
                    a[j] = rr, a[U + j] = z, a[2 * U + j] = n;
                    h[(size_t)b * U + j] = (1.0f - z) * n + z * hp[(size_t)b * U + j];
                }
            }
        }
    }
    if (c->seq) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                memcpy(out + ((size_t)b * T + t) * U, r.H + ((size_t)(t + 1) * B + b) * U, (size_t)U * sizeof *out);
    } else {
        memcpy(out, r.H + (size_t)T * BU, BU * sizeof *out);
    }
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    const rnn_conf *c = CONF(l);
    mn_seq_dims d = mn_seq_of(l->in, c->cols);
    int B = a->B, T = d.T, F = d.F, U = c->units, G = c->gates * U;
    const float *wih = a->params, *whh = wih + (size_t)G * F;
    float *dwih = a->dparams, *dwhh = dwih + (size_t)G * F, *dbih = dwhh + (size_t)G * U, *dbhh = dbih + G;
    rnn_bufs r = bufs(l, B);
    size_t BU = (size_t)B * U, BG = (size_t)B * G;
    memset(r.dh, 0, BU * sizeof *r.dh);
    memset(r.dc, 0, BU * sizeof *r.dc);
    for (int t = T - 1; t >= 0; t--) {
        float *A = r.A + (size_t)t * BG, *dh = r.dh, *dc = r.dc;
        const float *hp = r.H + (size_t)t * BU;
        /* the output's gradient at this step */
        if (c->seq) {
            for (int b = 0; b < B; b++) {
                const float *g = a->dout + ((size_t)b * T + t) * U;
                for (int j = 0; j < U; j++) dh[(size_t)b * U + j] += g[j];
            }
        } else if (t == T - 1) {
            for (size_t k = 0; k < BU; k++) dh[k] += a->dout[k];
        }
        if (c->gates == 4) {
            const float *cs = r.S + (size_t)t * BU, *cp = t ? cs - BU : NULL;
            for (int b = 0; b < B; b++) {
                float *g4 = A + (size_t)b * G;
                for (int j = 0; j < U; j++) {
                    size_t k = (size_t)b * U + j;
                    float i = g4[j], f = g4[U + j], g = g4[2 * U + j], o = g4[3 * U + j];
                    float tc = tanhf(cs[k]), dhv = dh[k];
                    float dcv = dc[k] + dhv * o * (1.0f - tc * tc);
                    float cpv = cp ? cp[k] : 0.0f;
                    g4[j] = dcv * g * i * (1.0f - i);
                    g4[U + j] = dcv * cpv * f * (1.0f - f);
                    g4[2 * U + j] = dcv * i * (1.0f - g * g);
                    g4[3 * U + j] = dhv * tc * o * (1.0f - o);
                    dc[k] = dcv * f;
                }
            }
            /* dh_{t-1} = dA_t W_hh */
            if (t) mn_sgemm(0, 0, B, U, G, 1.0f, A, G, whh, U, 0.0f, dh, U);
        } else {
            float *S = r.S + (size_t)t * BG;
            for (int b = 0; b < B; b++) {
                float *g3 = A + (size_t)b * G, *s = S + (size_t)b * G;
                for (int j = 0; j < U; j++) {
                    size_t k = (size_t)b * U + j;
                    float rr = g3[j], z = g3[U + j], n = g3[2 * U + j], hn = s[2 * U + j], dhv = dh[k];
                    float dnp = dhv * (1.0f - z) * (1.0f - n * n);
                    float drp = dnp * hn * rr * (1.0f - rr), dzp = dhv * (hp[k] - n) * z * (1.0f - z);
                    g3[j] = s[j] = drp;
                    g3[U + j] = s[U + j] = dzp;
                    g3[2 * U + j] = dnp;
                    s[2 * U + j] = dnp * rr;
                    dh[k] = dhv * z;
                }
            }
            /* dh_{t-1} = dh z + dS_t W_hh */
            if (t) mn_sgemm(0, 0, B, U, G, 1.0f, S, G, whh, U, 1.0f, dh, U);
        }
    }
    const float *dA = r.A, *dS = c->gates == 4 ? r.A : r.S;
    /* weight gradients over all steps at once: rows t*B + b */
    mn_sgemm(1, 0, G, F, T * B, 1.0f, dA, G, r.X, F, 0.0f, dwih, F);
    mn_sgemm(1, 0, G, U, T * B, 1.0f, dS, G, r.H, U, 0.0f, dwhh, U);
    memset(dbih, 0, 2 * (size_t)G * sizeof *dbih);
    for (size_t row = 0; row < (size_t)T * B; row++) {
        const float *x = dA + row * G, *y = dS + row * G;
        for (int j = 0; j < G; j++) dbih[j] += x[j], dbhh[j] += y[j];
    }
    if (a->din) {
        mn_sgemm(0, 0, T * B, F, G, 1.0f, dA, G, wih, F, 0.0f, r.X, F);
        mn_seq_scatter_tm(a->din, r.X, l->in, c->cols, B);
    }
    return 0;
}

#define RNN_KIND(name, keras, torch)        \
    const mn_layer_kind mn_##name##_kind = { \
        .token = #name,                      \
        .usage = #name ":UNITS[:seq][:cols]", \
        .example = #name ":3:seq",           \
        .keras_name = keras,                 \
        .torch_name = torch,                 \
        .draw = MN_DRAW_VECTOR,              \
        .parse = parse,                      \
        .setup = setup,                      \
        .describe = describe,                \
        .aux_size = aux_size,                \
        .tensors = tensors,                  \
        .init = init,                        \
        .forward = forward,                  \
        .backward = backward,                \
    };
RNN_KIND(lstm, "LSTM", "LSTM")
RNN_KIND(gru, "GRU", "GRU")
