/* batchnorm.c - batch normalisation (Keras BatchNormalization, PyTorch
 * BatchNorm1d after a dense layer / on a flat input, BatchNorm2d on maps).
 *
 * Grammar: batchnorm (no arguments). PyTorch's defaults: momentum 0.1, eps
 * 1e-5. Per channel c (a feature of a flat input; a map of a C x H x W one,
 * over the batch and all H x W positions):
 *
 *   training:  mean, var = the batch's mean and biased variance over the
 *              channel's M = B*H*W values;
 *              y = weight * (x - mean) / sqrt(var + eps) + bias;
 *              running_mean = 0.9 * running_mean + 0.1 * mean,
 *              running_var  = 0.9 * running_var  + 0.1 * var * M / (M - 1)
 *              (the unbiased variance, as PyTorch), num_batches_tracked += 1;
 *   inference: the same with running_mean and running_var.
 *
 * Tensors as PyTorch names them: weight, bias (trainable, F32 [C]);
 * running_mean, running_var (F32 [C]) and num_batches_tracked (I64, a
 * scalar) in the layer's state (Keras's non-trainable moving_mean and
 * moving_variance). Start: weight 1, bias 0, mean 0, var 1, count 0.
 *
 * Each channel's sums run in one fixed order (sample by sample, position by
 * position, in double) on one thread; threads split the channels, so the
 * result is the same for any thread count. The backward recomputes
 * x_hat from the input and the saved mean and 1/sqrt(var + eps):
 *
 *   dweight = sum(g * x_hat), dbias = sum(g),
 *   dx = weight / sqrt(var + eps) * (g - dbias / M - x_hat * dweight / M).
 *
 * A ReLU right after it is absorbed (fuse): the normalised value is clamped
 * in the same pass and the backward masks g with the output. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mnist/gemm.h" /* mn_get_threads */
#include "mnist/layer.h"
#include "layer_common.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

typedef struct {
    int relu; /* absorbed the ReLU after it */
} bn_conf;
MN_CONF_FITS(bn_conf);

#define CONF(l) MN_CONF(l, bn_conf)

/* Below this many values a fork/join costs more than it saves. */
#define PAR_MIN (1 << 15)

static int setup(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = l->in;
    l->n_params = 2 * (size_t)l->in.c;
    l->n_state = 8 * (size_t)l->in.c + 8; /* two F32 [C], one I64 */
    return 0;
}

static int tensors(const mn_layer *l, mn_tensor_desc *t)
{
    int C = l->in.c;
    if (t) {
        t[0] = (mn_tensor_desc){"weight", MN_ST_F32, 1, 1, {C, 0, 0, 0}, 0};
        t[1] = (mn_tensor_desc){"bias", MN_ST_F32, 1, 1, {C, 0, 0, 0}, (size_t)C};
        t[2] = (mn_tensor_desc){"running_mean", MN_ST_F32, 0, 1, {C, 0, 0, 0}, 0};
        t[3] = (mn_tensor_desc){"running_var", MN_ST_F32, 0, 1, {C, 0, 0, 0}, 4 * (size_t)C};
        t[4] = (mn_tensor_desc){"num_batches_tracked", MN_ST_I64, 0, 0, {0, 0, 0, 0}, 8 * (size_t)C};
    }
    return 5;
}

static float *running_mean(const mn_layer *l) { return (float *)l->state; }
static float *running_var(const mn_layer *l) { return (float *)l->state + l->in.c; }

static void init(const mn_layer *l, float *p, mn_rng *rng)
{
    (void)rng;
    int C = l->in.c;
    for (int c = 0; c < C; c++) p[c] = 1.0f, p[C + c] = 0.0f;
    if (!l->state) return;
    float *rm = running_mean(l), *rv = running_var(l);
    for (int c = 0; c < C; c++) rm[c] = 0.0f, rv[c] = 1.0f;
    int64_t zero = 0;
    memcpy((unsigned char *)l->state + 8 * (size_t)C, &zero, sizeof zero);
}

static int fuse(mn_layer *l, int n_after)
{
    CONF(l)->relu = n_after >= 1 && l[1].kind == &mn_relu_kind;
    return CONF(l)->relu;
}

/* Channel c's values of sample n start at x + (n*C + c)*HW. */
static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)rng;
    const int C = l->in.c, relu = l->n_fused ? CONF(l)->relu : 0;
    const size_t HW = (size_t)l->in.h * l->in.w, M = (size_t)B * HW;
    float *rm = running_mean(l), *rv = running_var(l);
    float *mean = l->aux, *inv = l->aux + C; /* saved for the backward */
    int nt = (size_t)C * M < PAR_MIN || C < 2 ? 1 : mn_get_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int c = 0; c < C; c++) {
        float mu, is;
        if (training) {
            double s = 0.0, q = 0.0;
            for (int n = 0; n < B; n++) {
                const float *x = in + ((size_t)n * C + c) * HW;
                for (size_t i = 0; i < HW; i++) s += x[i];
            }
            double dm = s / (double)M;
            for (int n = 0; n < B; n++) {
                const float *x = in + ((size_t)n * C + c) * HW;
                for (size_t i = 0; i < HW; i++) q += (x[i] - dm) * (x[i] - dm);
            }
            double var = q / (double)M, unbiased = M > 1 ? q / (double)(M - 1) : var;
            mu = (float)dm;
            is = (float)(1.0 / sqrt(var + (double)BN_EPS));
            mean[c] = mu, inv[c] = is;
            rm[c] = (1.0f - BN_MOMENTUM) * rm[c] + BN_MOMENTUM * mu;
            rv[c] = (1.0f - BN_MOMENTUM) * rv[c] + BN_MOMENTUM * (float)unbiased;
        } else {
            mu = rm[c];
            is = 1.0f / sqrtf(rv[c] + BN_EPS);
        }
        /* y = x * scale + shift */
        const float scale = p[c] * is, shift = p[C + c] - mu * scale;
        for (int n = 0; n < B; n++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            float *y = out + ((size_t)n * C + c) * HW;
            if (relu)
                for (size_t i = 0; i < HW; i++) {
                    float v = x[i] * scale + shift;
                    y[i] = v > 0.0f ? v : 0.0f;
                }
            else
                for (size_t i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
        }
    }
    if (training) {
        int64_t count;
        unsigned char *at = (unsigned char *)l->state + 8 * (size_t)C;
        memcpy(&count, at, sizeof count);
        count++;
        memcpy(at, &count, sizeof count);
    }
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    const int C = l->in.c, B = a->B, relu = l->n_fused ? CONF(l)->relu : 0;
    const size_t HW = (size_t)l->in.h * l->in.w, M = (size_t)B * HW;
    const float *mean = l->aux, *inv = l->aux + C, *w = a->params;
    float *dw = a->dparams, *db = a->dparams + C;
    int nt = (size_t)C * M < PAR_MIN || C < 2 ? 1 : mn_get_threads();
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int c = 0; c < C; c++) {
        const float mu = mean[c], is = inv[c];
        double sg = 0.0, sgx = 0.0;
        for (int n = 0; n < B; n++) {
            size_t at = ((size_t)n * C + c) * HW;
            const float *x = a->in + at, *g = a->dout + at, *y = a->out + at;
            for (size_t i = 0; i < HW; i++) {
                float gi = relu && !(y[i] > 0.0f) ? 0.0f : g[i];
                sg += gi;
                sgx += gi * ((x[i] - mu) * is);
            }
        }
        dw[c] = (float)sgx;
        db[c] = (float)sg;
        if (!a->din) continue;
        const float k = w[c] * is, mg = (float)(sg / (double)M), mgx = (float)(sgx / (double)M);
        for (int n = 0; n < B; n++) {
            size_t at = ((size_t)n * C + c) * HW;
            const float *x = a->in + at, *g = a->dout + at, *y = a->out + at;
            float *dx = a->din + at;
            for (size_t i = 0; i < HW; i++) {
                float gi = relu && !(y[i] > 0.0f) ? 0.0f : g[i];
                dx[i] = k * (gi - mg - (x[i] - mu) * is * mgx);
            }
        }
    }
    return 0;
}

/* mean and 1/sqrt(var + eps) per channel: 2C floats in all, which any
 * batch size's allocation (B times this) holds. */
static size_t aux_size(const mn_layer *l) { return 2 * (size_t)l->in.c; }

const mn_layer_kind mn_batchnorm_kind = {
    .token = "batchnorm",
    .usage = "batchnorm",
    .example = "batchnorm",
    .keras_name = "BatchNormalization",
    .torch_name = "BatchNorm2d", /* BatchNorm1d on a flat input (scripts/torch_common.py chooses by shape) */
    .draw = MN_DRAW_MAPS,
    .parse = mn_parse_no_args,
    .setup = setup,
    .describe = mn_describe_token,
    .aux_size = aux_size,
    .tensors = tensors,
    .init = init,
    .fuse = fuse,
    .forward = forward,
    .backward = backward,
};
