/* losses.c - losses on outputs that are not classes: mean squared error and
 * sigmoid binary cross-entropy from logits (autoencoders, GAN
 * discriminators). The softmax cross-entropy of classifiers is
 * nn/layers/softmax_xent.c. */
#include <math.h>

#include "mnist/kernels.h"

double mn_mse_loss(const float *y, const float *t, size_t n, float *dy, float scale)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = y[i] - t[i];
        sum += (double)d * (double)d;
        if (dy) dy[i] = 2.0f * d * scale;
    }
    return sum;
}

double mn_sigmoid_bce_loss(const float *z, const float *t, size_t n, float *dz, float scale)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* -t log s(z) - (1-t) log(1-s(z)) = max(z, 0) - z t + log(1 + e^-|z|):
         * no overflow for any z, and exact where s(z) rounds to 0 or 1 */
        float a = fabsf(z[i]);
        sum += (double)(z[i] > 0.0f ? z[i] : 0.0f) - (double)z[i] * (double)t[i] + log1p(exp(-(double)a));
        if (dz) {
            float s = z[i] >= 0.0f ? 1.0f / (1.0f + expf(-z[i])) : expf(z[i]) / (1.0f + expf(z[i]));
            dz[i] = (s - t[i]) * scale;
        }
    }
    return sum;
}
