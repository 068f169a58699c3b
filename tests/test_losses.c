/* test_losses.c - the losses on non-class outputs and the model's path for
 * them (mn_model_run, mn_model_backward_from with the input's gradient):
 * values against direct formulas, gradients against central differences. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "mnist/kernels.h"
#include "mnist/model.h"

#define N 7
static float z[N], t[N] = {0, 1, 0.5f, 1, 0, 0.25f, 1}, g[N];
static int which; /* 0: mse, 1: bce */

static double loss_of(void *ctx)
{
    (void)ctx;
    return which ? mn_sigmoid_bce_loss(z, t, N, NULL, 1) : mn_mse_loss(z, t, N, NULL, 1);
}

static void test_values(void)
{
    float y[3] = {1, -2, 30}, tt[3] = {0, 1, 1}, d[3];
    CHECK_NEAR(mn_mse_loss(y, tt, 3, d, 0.5f), 1 + 9 + 29.0 * 29.0, 1e-9);
    CHECK(d[0] == 1.0f && d[1] == -3.0f && d[2] == 29.0f);
    /* BCE: -log s(1) for t=0 is log(1+e), etc.; large logits stay finite */
    double want = log1p(exp(1.0)) + log1p(exp(2.0)) + log1p(exp(-30.0));
    CHECK_NEAR(mn_sigmoid_bce_loss(y, tt, 3, d, 1), want, 1e-6);
    float big[2] = {1000, -1000}, tb[2] = {0, 1};
    CHECK_NEAR(mn_sigmoid_bce_loss(big, tb, 2, d, 1), 2000.0, 1e-3);
    CHECK(d[0] == 1.0f && d[1] == -1.0f);
}

static void test_loss_gradients(void)
{
    for (which = 0; which < 2; which++) {
        for (int i = 0; i < N; i++) z[i] = (float)(i - 3) * 0.7f;
        if (which)
            mn_sigmoid_bce_loss(z, t, N, g, 1);
        else
            mn_mse_loss(z, t, N, g, 1);
        gradcheck(which ? "bce" : "mse", z, g, N, loss_of, NULL, 1e-3f);
    }
}

/* An autoencoder-shaped model: image in, image out, MSE against the input. */
static mn_model m;
static float target[2 * 16];

static double model_loss(void *ctx)
{
    (void)ctx;
    return 0.5 * mn_mse_loss(mn_model_run(&m, 2, 1), target, 2 * 16, NULL, 0.5f); /* the mean over 2 */
}

static void check_model_path(const char *arch, float h)
{
    mn_err e;
    CHECK_MSG(mn_model_build(&m, arch, (mn_shape){1, 4, 4}, 0, &e) == 0, "%s", e.msg);
    CHECK(m.output_shape.c == 16 && m.n_classes == 0);
    CHECK(mn_model_alloc(&m, 2, &e) == 0);
    mn_model_init(&m, 3);
    mn_rng r;
    mn_rng_seed(&r, 9);
    for (int i = 0; i < 32; i++) m.input[i] = mn_rng_uniform(&r), target[i] = mn_rng_uniform(&r);
    float dout[32];
    mn_mse_loss(mn_model_run(&m, 2, 1), target, 32, dout, 0.5f);
    mn_model_backward_from(&m, 2, dout, 1);
    float *gp = malloc(m.n_params * sizeof *gp), gi[32];
    memcpy(gp, m.grads, m.n_params * sizeof *gp);
    memcpy(gi, m.dinput, sizeof gi);
    gradcheck("autoencoder params", m.params, gp, m.n_params, model_loss, NULL, h);
    gradcheck("autoencoder input", m.input, gi, 32, model_loss, NULL, h);
    free(gp);
    mn_model_free(&m);
}

static void test_model_path(void)
{
    mn_err e;
    check_model_path("conv:2:3:p1,relu,dense:16", 1e-3f);
    check_model_path("dense:8,sigmoid,dense:16", 5e-3f); /* a flatten (a view) first: its gradient is m->dinput */
    /* a classifier must still end with its class count; 0 takes anything */
    CHECK(mn_model_build(&m, "dense:16", (mn_shape){1, 4, 4}, 10, &e) != 0);
    CHECK(mn_model_build(&m, "dense:16", (mn_shape){1, 4, 4}, -1, &e) != 0);
}

int main(void)
{
    test_values();
    test_loss_gradients();
    test_model_path();
    return test_summary("test_losses");
}
