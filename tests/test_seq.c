/* test_seq.c - the sequence kinds beyond the registry's contract test:
 * gradients through time (stacked, columns, GRU, long sequences) and
 * through attention (several blocks and heads), the forward against values
 * computed by hand, Keras's initial values, 1 vs 2 threads on a vision
 * transformer big enough to split the attention, and the one-line errors of
 * impossible arch strings. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gradcheck.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "testutil.h"

typedef struct {
    mn_model *m;
    mn_rng rng;
    int B;
} loss_ctx;

static double model_loss(void *ctx)
{
    loss_ctx *c = ctx;
    c->m->rng = c->rng;
    return mn_model_forward(c->m, c->B, 1, NULL) / c->B;
}

static void fill(mn_model *m, int B, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    size_t n = (size_t)B * mn_shape_size(m->input_shape);
    for (size_t i = 0; i < n; i++) m->input[i] = 2.0f * mn_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < B; i++) m->labels[i] = (int)(mn_rng_next(&r) % (uint64_t)m->n_classes);
}

/* every parameter's gradient against central differences; the conv in
 * front of the kinds checks their input gradient too */
static void grads(const char *arch, mn_shape in)
{
    mn_model m;
    mn_err e;
    enum { B = 3 };
    CHECK_MSG(mn_model_build(&m, arch, in, 3, &e) == 0, "%s: %s", arch, e.msg);
    CHECK(mn_model_alloc(&m, B, &e) == 0);
    mn_model_init(&m, 5);
    fill(&m, B, 17);
    loss_ctx c = {&m, m.rng, B};
    model_loss(&c);
    m.rng = c.rng;
    mn_model_forward(&m, B, 1, NULL);
    mn_model_backward(&m, B);
    float *g = malloc(m.n_params * sizeof *g);
    memcpy(g, m.grads, m.n_params * sizeof *g);
    gradcheck(arch, m.params, g, m.n_params, model_loss, &c, 1e-3f);
    free(g);
    mn_model_free(&m);
}

static float sig(float x) { return 1.0f / (1.0f + expf(-x)); }

/* lstm:1 and gru:1 over two steps of one feature, against the equations */
static void by_hand(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "lstm:1:seq,flatten,dense:2", (mn_shape){1, 2, 1}, 2, &e) == 0);
    CHECK(mn_model_alloc(&m, 1, &e) == 0);
    /* weight_ih [4,1], weight_hh [4,1], bias_ih [4], bias_hh [4]: i f g o */
    const float p[16] = {0.5f, -0.3f, 0.8f, 0.2f, 0.1f, 0.4f, -0.6f, 0.7f,
                         0.05f, 0.1f, -0.2f, 0.3f, 0.0f, -0.1f, 0.15f, 0.02f};
    memcpy(m.params, p, sizeof p);
    m.input[0] = 0.9f, m.input[1] = -0.4f;
    mn_model_forward(&m, 1, 0, NULL);
    float h = 0, c = 0;
    for (int t = 0; t < 2; t++) {
        float x = m.input[t], a[4];
        for (int k = 0; k < 4; k++) a[k] = p[k] * x + p[4 + k] * h + p[8 + k] + p[12 + k];
        c = sig(a[1]) * c + sig(a[0]) * tanhf(a[2]);
        h = sig(a[3]) * tanhf(c);
        CHECK_NEAR(m.act[0][t], h, 1e-6);
    }
    mn_model_free(&m);

    CHECK(mn_model_build(&m, "gru:1:seq,flatten,dense:2", (mn_shape){1, 2, 1}, 2, &e) == 0);
    CHECK(mn_model_alloc(&m, 1, &e) == 0);
    /* weight_ih [3,1], weight_hh [3,1], bias_ih [3], bias_hh [3]: r z n */
    const float q[12] = {0.5f, -0.3f, 0.8f, 0.2f, 0.1f, 0.4f, 0.05f, 0.1f, -0.2f, 0.3f, 0.0f, -0.1f};
    memcpy(m.params, q, sizeof q);
    m.input[0] = 0.9f, m.input[1] = -0.4f;
    mn_model_forward(&m, 1, 0, NULL);
    h = 0;
    for (int t = 0; t < 2; t++) {
        float x = m.input[t];
        float r = sig(q[0] * x + q[6] + q[3] * h + q[9]), z = sig(q[1] * x + q[7] + q[4] * h + q[10]);
        float n = tanhf(q[2] * x + q[8] + r * (q[5] * h + q[11]));
        h = (1 - z) * n + z * h;
        CHECK_NEAR(m.act[0][t], h, 1e-6);
    }
    mn_model_free(&m);
}

/* Keras's initial values: orthogonal recurrent weights, forget bias 1 */
static void initial_values(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "lstm:8,dense:2", (mn_shape){1, 5, 6}, 2, &e) == 0);
    CHECK(mn_model_alloc(&m, 1, &e) == 0);
    mn_model_init(&m, 3);
    const float *whh = m.params + 32 * 6, *bih = whh + 32 * 8, *bhh = bih + 32;
    double worst = 0;
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++) {
            double dot = 0;
            for (int i = 0; i < 32; i++) dot += (double)whh[i * 8 + a] * whh[i * 8 + b];
            worst = fmax(worst, fabs(dot - (a == b)));
        }
    CHECK_MSG(worst < 1e-5, "W_hh^T W_hh is off the identity by %g", worst);
    for (int j = 0; j < 32; j++) CHECK(bih[j] == (j >= 8 && j < 16 ? 1.0f : 0.0f) && bhh[j] == 0.0f);
    mn_model_free(&m);
}

static float *steps(const char *arch, mn_shape in, int threads, size_t *n)
{
    mn_model m;
    mn_optim o;
    mn_err e;
    enum { BT = 32 };
    mn_set_threads(threads);
    if (mn_model_build(&m, arch, in, 10, &e) || mn_model_alloc(&m, BT, &e) ||
        mn_optim_init(&o, MN_ADAM, 0.01f, m.n_params, &e)) {
        CHECK_MSG(0, "%s: %s", arch, e.msg);
        return NULL;
    }
    mn_model_init(&m, 9);
    for (int s = 0; s < 3; s++) {
        fill(&m, BT, 100 + (uint64_t)s);
        mn_model_forward(&m, BT, 1, NULL);
        mn_model_backward_step(&m, BT, &o);
    }
    *n = m.n_params;
    float *p = malloc(m.n_params * sizeof *p);
    memcpy(p, m.params, m.n_params * sizeof *p);
    mn_optim_free(&o);
    mn_model_free(&m);
    mn_set_threads(0);
    return p;
}

static void threads(const char *arch, mn_shape in)
{
    size_t n1 = 0, n2 = 0;
    float *a = steps(arch, in, 1, &n1), *b = steps(arch, in, 2, &n2);
    CHECK_MSG(a && b && n1 == n2 && !memcmp(a, b, n1 * sizeof *a), "%s: 1 and 2 threads differ", arch);
    free(a), free(b);
}

static void bad(const char *arch, const char *says)
{
    mn_model m;
    mn_err e;
    int rc = mn_model_build(&m, arch, (mn_shape){1, 28, 28}, 10, &e);
    CHECK_MSG(rc != 0 && strstr(e.msg, says) && !strchr(e.msg, '\n'), "'%s': rc %d, '%s' (wanted '%s')", arch, rc,
              rc ? e.msg : "", says);
}

int main(void)
{
    by_hand();
    initial_values();
    /* through time: stacked, columns, several channels, longer sequences */
    grads("conv:1:1,lstm:4:seq,lstm:3,dense:3", (mn_shape){1, 7, 5});
    grads("conv:2:1,lstm:3:cols,dense:3", (mn_shape){1, 4, 6});
    grads("conv:1:1,gru:4:seq,gru:3,dense:3", (mn_shape){1, 7, 5});
    grads("conv:2:1,gru:3:cols:seq,dense:3", (mn_shape){1, 4, 5});
    grads("conv:1:1,lstm:2,dense:3", (mn_shape){1, 16, 2});
    /* through attention: two blocks, a final LayerNorm, the mean */
    grads("conv:1:1,patches:2:8,transformer:8:2:6,transformer:8:4:5,layernorm,mean,dense:3", (mn_shape){1, 6, 6});
    grads("conv:2:1,layernorm,gelu,mean,dense:3", (mn_shape){1, 5, 4});
    grads("conv:1:1,transformer:5:1:4,dense:3", (mn_shape){1, 4, 5});
    /* 1 vs 2 threads where the attention's (sample, head) loop splits */
    threads("patches:4:16,transformer:16:4:32,layernorm,mean,dense:10", (mn_shape){1, 28, 28});
    threads("lstm:16:seq,gru:8,dense:10", (mn_shape){1, 28, 28});
    /* impossible strings: one line each */
    bad("lstm:0", "unit count");
    bad("gru:x", "unit count");
    bad("lstm:8:bogus", "unknown option");
    bad("flatten,lstm:8,dense:10", "at least 2 steps");
    bad("dense:64,gru:8,dense:10", "at least 2 steps");
    bad("patches:29:16,mean,dense:10", "larger than the input");
    bad("patches:0:16", "patch size");
    bad("patches:4", "patch size");
    bad("patches:4:16,transformer:16:3:32,mean,dense:10", "do not divide");
    bad("patches:4:16,transformer:0:4:32", "width");
    bad("patches:4:16,transformer:32:4:32", "needs a sequence of 32");
    bad("flatten,mean,dense:10", "at least 2 steps");
    bad("layernorm:3", "takes no arguments");
    bad("gelu:1", "takes no arguments");
    return test_summary("test_seq");
}
