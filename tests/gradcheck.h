/* gradcheck.h - numerical gradient checking shared by the layer tests.
 *
 * For a function f(x) -> scalar we compare an analytic gradient g with the
 * central difference (f(x+h) - f(x-h)) / 2h, element by element. Layers
 * compute in float, so h and the tolerance are sized for float rounding. */
#ifndef MNIST_GRADCHECK_H
#define MNIST_GRADCHECK_H

#include <math.h>
#include <stddef.h>

#include "test.h"

typedef double (*gc_fn)(void *ctx);

/* Perturbs each x[i] by +-h, evaluates f, and checks against g[i]. Returns
 * the worst relative error seen. */
static inline double gradcheck(const char *what, float *x, const float *g, size_t n, gc_fn f, void *ctx, float h)
{
    double worst = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        x[i] = save + h;
        double fp = f(ctx);
        x[i] = save - h;
        double fm = f(ctx);
        x[i] = save;
        double num = (fp - fm) / (2.0 * (double)h), ana = g[i];
        double err = fabs(num - ana) / fmax(1e-2, fabs(num) + fabs(ana));
        if (err > worst) worst = err;
        if (err > 2e-2 && bad++ < 5)
            fprintf(stderr, "%s[%zu]: analytic %.6g numeric %.6g (rel err %.3g)\n", what, i, ana, num, err);
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu gradients off (worst rel err %.3g)", what, bad, n, worst);
    return worst;
}

/* The same, but an element that disagrees passes if one of its one-sided
 * differences agrees: with ReLUs and max pooling a step of h may cross a
 * kink on one side (the analytic gradient is then the other side's). */
static inline void gradcheck_kinks(const char *what, float *x, const float *g, size_t n, gc_fn f, void *ctx, float h)
{
    int bad = 0;
    double f0 = f(ctx);
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        x[i] = save + h;
        double fp = f(ctx);
        x[i] = save - h;
        double fm = f(ctx);
        x[i] = save;
        double ana = g[i], best = 1e300;
        double nums[3] = {(fp - fm) / (2.0 * (double)h), (fp - f0) / (double)h, (f0 - fm) / (double)h};
        for (int k = 0; k < 3; k++) {
            /* gradients below 0.02 are compared in absolute terms (4e-4): a
             * float forward pass through attention leaves that much noise in
             * the differences (one element of 753 failed at 1e-2 on aarch64) */
            double err = fabs(nums[k] - ana) / fmax(2e-2, fabs(nums[k]) + fabs(ana));
            if (err < best) best = err;
        }
        if (best > 2e-2 && bad++ < 5)
            fprintf(stderr, "%s[%zu]: analytic %.6g numeric %.6g (rel err %.3g)\n", what, i, ana, nums[0], best);
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu gradients off", what, bad, n);
}

#endif
