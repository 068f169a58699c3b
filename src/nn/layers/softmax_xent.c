/* softmax_xent.c - softmax and cross-entropy fused, computed from logits. */
#include <math.h>

#include "mnist/kernels.h"

/* One row's softmax into p; returns the argmax and leaves in *sum the sum
 * of exp(z - max), the loss's log-sum-exp. */
static int softmax_row(float *p, const float *z, int C, float *sum_out)
{
    int arg = 0;
    for (int j = 1; j < C; j++)
        if (z[j] > z[arg]) arg = j;
    float max = z[arg], sum = 0.0f;
    for (int j = 0; j < C; j++) {
        p[j] = expf(z[j] - max);
        sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < C; j++) p[j] *= inv;
    *sum_out = sum;
    return arg;
}

double mn_softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int C, int *correct)
{
    double loss = 0.0;
    int hits = 0;
    for (int n = 0; n < B; n++) {
        const float *z = logits + (size_t)n * C;
        float sum;
        int arg = softmax_row(probs + (size_t)n * C, z, C, &sum);
        /* -log softmax(z)[y] = log(sum) - (z[y] - max): exact even when p[y] underflows */
        loss += (double)logf(sum) - (double)(z[labels[n]] - z[arg]);
        hits += arg == labels[n];
    }
    if (correct) *correct = hits;
    return loss;
}

void mn_softmax_forward(float *probs, const float *logits, int B, int C)
{
    float sum;
    for (int n = 0; n < B; n++) softmax_row(probs + (size_t)n * C, logits + (size_t)n * C, C, &sum);
}

void mn_softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int B, int C, float scale)
{
    for (int n = 0; n < B; n++) {
        const float *p = probs + (size_t)n * C;
        float *d = dlogits + (size_t)n * C;
        for (int j = 0; j < C; j++) d[j] = p[j] * scale;
        d[labels[n]] -= scale;
    }
}
