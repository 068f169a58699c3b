/* test_optim.c - each optimizer's update against values worked by hand from
 * the Keras formulas, over a few steps. */
#include <math.h>

#include "mnist/optim.h"
#include "test.h"

int main(void)
{
    mn_err e;
    mn_optim o;
    float p[2], g[2] = {0.5f, -2.0f};

    /* plain SGD */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 0.95, 1e-7);
    CHECK_NEAR(p[1], 1.2, 1e-6);
    mn_optim_free(&o);

    /* SGD with momentum 0.9: v1 = -lr g, v2 = 0.9 v1 - lr g */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    o.momentum = 0.9f;
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.05 - (0.045 + 0.05), 1e-6);
    mn_optim_free(&o);

    /* Nesterov: p += mu v - lr g, with v updated first */
    CHECK(mn_optim_init(&o, MN_SGD, 0.1f, 2, &e) == 0);
    o.momentum = 0.9f, o.nesterov = 1;
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g); /* v = -0.05; p += 0.9*-0.05 - 0.05 */
    CHECK_NEAR(p[0], 1 - 0.045 - 0.05, 1e-6);
    mn_optim_free(&o);

    /* RMSprop: s = 0.1 g^2, p -= lr g / (sqrt(s) + eps) */
    CHECK(mn_optim_init(&o, MN_RMSPROP, 0.01f, 2, &e) == 0);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.01 * 0.5 / (sqrt(0.1 * 0.25) + 1e-7), 1e-6);
    CHECK_NEAR(p[1], 1 + 0.01 * 2.0 / (sqrt(0.1 * 4.0) + 1e-7), 1e-6);
    mn_optim_free(&o);

    /* Adam: the first step moves every parameter by about lr against the sign */
    CHECK(mn_optim_init(&o, MN_ADAM, 0.001f, 2, &e) == 0);
    CHECK(o.eps == 1e-7f && o.beta1 == 0.9f && o.beta2 == 0.999f);
    p[0] = 1, p[1] = 1;
    mn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 1 - 0.001, 1e-6);
    CHECK_NEAR(p[1], 1 + 0.001, 1e-6);
    /* a second step with another gradient, from the formulas in double */
    float g2[2] = {-1.0f, 0.25f};
    mn_optim_step(&o, p, g2);
    double m = 0.9 * 0.05 + 0.1 * -1.0, v = 0.999 * 0.001 * 0.25 + 0.001 * 1.0;
    double alpha = 0.001 * sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
    CHECK_NEAR(p[0], 1 - 0.001 - alpha * m / (sqrt(v) + 1e-7), 1e-6);
    CHECK(o.step == 2);
    mn_optim_free(&o);

    CHECK(mn_optim_kind_of("adam") == MN_ADAM && mn_optim_kind_of("sgd") == MN_SGD);
    CHECK(mn_optim_kind_of("rmsprop") == MN_RMSPROP && mn_optim_kind_of("adagrad") == -1);
    CHECK(mn_optim_default_lr(MN_SGD) == 0.01f && mn_optim_default_lr(MN_ADAM) == 0.001f);
    return test_summary("test_optim");
}
