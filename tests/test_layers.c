/* test_layers.c - forward values and numerical gradient checks of every layer
 * and of the fused softmax-cross-entropy loss. */
#include <string.h>

#include "gradcheck.h"
#include "mnist/layer.h"
#include "mnist/rng.h"

#define B 3

static mn_rng rng;

static void fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * mn_rng_uniform(&rng);
}

/* Inputs bounded away from 0 so no finite difference straddles ReLU's kink. */
static void fill_away_from_zero(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = 0.1f + mn_rng_uniform(&rng);
        x[i] = mn_rng_uniform(&rng) < 0.5f ? -v : v;
    }
}

/* ---- dense ---- */
enum { C = 7, OC = 5 };
static float d_in[B * C], d_w[OC * C], d_b[OC], d_out[B * OC], d_r[B * OC];

static double dense_loss(void *ctx)
{
    (void)ctx;
    mn_dense_forward(d_out, d_in, d_w, d_b, B, C, OC);
    double s = 0;
    for (int i = 0; i < B * OC; i++) s += (double)d_out[i] * d_r[i];
    return s;
}

static void test_dense(void)
{
    fill(d_in, B * C, -1, 1), fill(d_w, OC * C, -1, 1), fill(d_b, OC, -1, 1), fill(d_r, B * OC, -1, 1);
    /* forward against the definition */
    mn_dense_forward(d_out, d_in, d_w, d_b, B, C, OC);
    for (int n = 0; n < B; n++)
        for (int j = 0; j < OC; j++) {
            double s = d_b[j];
            for (int k = 0; k < C; k++) s += (double)d_in[n * C + k] * d_w[j * C + k];
            CHECK_NEAR(d_out[n * OC + j], s, 1e-5);
        }
    float din[B * C], dw[OC * C], db[OC];
    mn_dense_backward(din, dw, db, d_r, d_in, d_w, B, C, OC);
    gradcheck("dense d_in", d_in, din, B * C, dense_loss, NULL, 1e-2f);
    gradcheck("dense d_w", d_w, dw, OC * C, dense_loss, NULL, 1e-2f);
    gradcheck("dense d_b", d_b, db, OC, dense_loss, NULL, 1e-2f);
    /* din may be NULL for the first layer: parameter gradients unchanged */
    float dw2[OC * C], db2[OC];
    mn_dense_backward(NULL, dw2, db2, d_r, d_in, d_w, B, C, OC);
    CHECK(memcmp(dw, dw2, sizeof dw) == 0 && memcmp(db, db2, sizeof db) == 0);
}

/* ---- elementwise activations ---- */
#define N 40
static float a_in[N], a_out[N], a_r[N];
static void (*act_fwd)(float *, const float *, size_t);

static double act_loss(void *ctx)
{
    (void)ctx;
    act_fwd(a_out, a_in, N);
    double s = 0;
    for (int i = 0; i < N; i++) s += (double)a_out[i] * a_r[i];
    return s;
}

static void test_activation(const char *name, void (*fwd)(float *, const float *, size_t),
                            void (*bwd)(float *, const float *, const float *, size_t))
{
    float din[N];
    act_fwd = fwd;
    fill_away_from_zero(a_in, N);
    fill(a_r, N, -1, 1);
    fwd(a_out, a_in, N);
    bwd(din, a_r, a_out, N);
    gradcheck(name, a_in, din, N, act_loss, NULL, 1e-3f);
}

static void test_activation_values(void)
{
    float in[4] = {-2, -0.0f, 0.5f, 3}, out[4];
    mn_relu_forward(out, in, 4);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0.5f && out[3] == 3);
    mn_sigmoid_forward(out, in, 4);
    CHECK_NEAR(out[0], 1 / (1 + exp(2.0)), 1e-6);
    CHECK_NEAR(out[1], 0.5, 1e-7);
    float big[2] = {-100, 100};
    mn_sigmoid_forward(out, big, 2);
    CHECK(out[0] >= 0 && out[0] < 1e-30 && out[1] == 1.0f);
}

/* ---- dropout ---- */
static float r_in[N], r_out[N], r_mask[N], r_r[N];
static mn_rng r_rng;

static double dropout_loss(void *ctx)
{
    (void)ctx;
    mn_rng_seed(&r_rng, 99); /* the same mask on every evaluation */
    mn_dropout_forward(r_out, r_mask, r_in, N, 0.3f, 1, &r_rng);
    double s = 0;
    for (int i = 0; i < N; i++) s += (double)r_out[i] * r_r[i];
    return s;
}

static void test_dropout(void)
{
    fill(r_in, N, -1, 1), fill(r_r, N, -1, 1);
    dropout_loss(NULL);
    float din[N];
    mn_dropout_backward(din, r_r, r_mask, N);
    gradcheck("dropout", r_in, din, N, dropout_loss, NULL, 1e-2f);
    /* inverted: kept elements scaled by 1/(1-rate), dropped are 0 */
    dropout_loss(NULL);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        CHECK(r_mask[i] == 0.0f || fabsf(r_mask[i] - 1.0f / 0.7f) < 1e-6f);
        CHECK(r_out[i] == r_in[i] * r_mask[i]);
        kept += r_mask[i] != 0;
    }
    CHECK(kept > 0 && kept < N);
    /* inference: identity */
    mn_dropout_forward(r_out, r_mask, r_in, N, 0.3f, 0, &r_rng);
    CHECK(memcmp(r_out, r_in, sizeof r_in) == 0);
    /* the keep rate over many draws is close to 1 - rate */
    static float big_in[100000], big_out[100000], big_mask[100000];
    for (int i = 0; i < 100000; i++) big_in[i] = 1;
    mn_dropout_forward(big_out, big_mask, big_in, 100000, 0.2f, 1, &rng);
    double mean = 0;
    for (int i = 0; i < 100000; i++) mean += big_out[i];
    CHECK_NEAR(mean / 100000, 1.0, 0.01); /* expectation preserved */
    /* each call hashes its mask from a new key: the next call's mask
     * differs, and neighbours are independent (both kept about (1 - rate)^2
     * of the time, one kept and the next dropped (1 - rate) rate) */
    static float next_mask[100000];
    mn_dropout_forward(big_out, next_mask, big_in, 100000, 0.2f, 1, &rng);
    int same = 0, both = 0, kept_dropped = 0;
    kept = 0;
    for (int i = 0; i < 100000; i++) {
        same += (big_mask[i] != 0) == (next_mask[i] != 0);
        kept += next_mask[i] != 0;
        if (i + 1 < 100000) {
            both += next_mask[i] != 0 && next_mask[i + 1] != 0;
            kept_dropped += next_mask[i] != 0 && next_mask[i + 1] == 0;
        }
    }
    CHECK_NEAR(kept / 1e5, 0.8, 0.01);
    CHECK_NEAR(same / 1e5, 0.8 * 0.8 + 0.2 * 0.2, 0.01); /* independent of the last call's */
    CHECK_NEAR(both / 99999.0, 0.64, 0.01);
    CHECK_NEAR(kept_dropped / 99999.0, 0.16, 0.01);
    /* a rate of 0.5 keeps half */
    mn_dropout_forward(big_out, big_mask, big_in, 100000, 0.5f, 1, &rng);
    kept = 0;
    for (int i = 0; i < 100000; i++) kept += big_mask[i] != 0;
    CHECK_NEAR(kept / 1e5, 0.5, 0.01);
}

/* ---- softmax + cross-entropy ---- */
enum { K = 6 };
static float s_logits[B * K], s_probs[B * K];
static int s_labels[B] = {0, 5, 2};

static double xent_loss(void *ctx)
{
    (void)ctx;
    return mn_softmax_xent_forward(s_probs, s_logits, s_labels, B, K, NULL) / B;
}

static void test_softmax_xent(void)
{
    fill(s_logits, B * K, -3, 3);
    double loss = xent_loss(NULL);
    /* against the textbook formula in double */
    double ref = 0;
    for (int n = 0; n < B; n++) {
        double sum = 0;
        for (int j = 0; j < K; j++) sum += exp(s_logits[n * K + j]);
        ref -= log(exp(s_logits[n * K + s_labels[n]]) / sum);
        double ps = 0;
        for (int j = 0; j < K; j++) ps += s_probs[n * K + j];
        CHECK_NEAR(ps, 1.0, 1e-6);
    }
    CHECK_NEAR(loss, ref / B, 1e-5);
    float d[B * K];
    mn_softmax_xent_backward(d, s_probs, s_labels, B, K, 1.0f / B);
    gradcheck("softmax_xent", s_logits, d, B * K, xent_loss, NULL, 1e-2f);

    /* stable for huge logits: finite loss, right argmax count */
    float big[2 * 3] = {1000, 0, -1000, 0, 800, 900}, p[6];
    int lab[2] = {0, 1}, correct = -1;
    double l = mn_softmax_xent_forward(p, big, lab, 2, 3, &correct);
    CHECK(isfinite(l));
    CHECK_NEAR(l, 0 + 100, 1e-3); /* sample 1: log(1+e^-100+...) ~ 0; sample 2: 900-800 = 100 */
    CHECK(correct == 1);
}

int main(void)
{
    mn_rng_seed(&rng, 12345);
    test_dense();
    test_activation_values();
    test_activation("relu", mn_relu_forward, mn_relu_backward);
    test_activation("sigmoid", mn_sigmoid_forward, mn_sigmoid_backward);
    test_dropout();
    test_softmax_xent();
    return test_summary("test_layers");
}
