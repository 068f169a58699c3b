/* dropout.c - inverted dropout (Keras Dropout, PyTorch Dropout). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

/* A bijective 32-bit mix in which every input bit flips each output bit
 * with probability close to 1/2 (xorshift-multiply rounds; the shifts and
 * multipliers are those of Chris Wellons' published "lowbias32"). */
static inline uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    return x ^ (x >> 16);
}

void mn_dropout_forward(float *out, float *mask, const float *in, size_t n, float rate, int training, mn_rng *rng)
{
    if (!training || rate <= 0.0f) {
        if (out != in) memcpy(out, in, n * sizeof *out);
        for (size_t i = 0; i < n && mask; i++) mask[i] = 1.0f;
        return;
    }
    float scale = 1.0f / (1.0f - rate);
    /* keep when the element's 24-bit uniform u (u * 2^-24 in [0, 1)) is >=
     * rate, decided on the integer (u >= ceil(rate * 2^24), exact), which
     * saves a conversion per element */
    const uint32_t keep_from = (uint32_t)ceil((double)rate * 16777216.0);
    /* One draw from the generator per call is the key; element i's u is
     * the top 24 bits of hash(hash(i + key_lo) ^ key_hi), a counter-based
     * stream. A draw per element from the generator itself was one serial
     * dependency chain (mlp: 7 us of a 126 us step, with the other core
     * waiting); these are independent, and the loop vectorises. The hash
     * works on 32 bits because AVX2 has no 64-bit multiply (emulated, a
     * 64-bit hash cost as much as the chain). */
    const uint64_t key = mn_rng_next(rng);
    const uint32_t klo = (uint32_t)key, khi = (uint32_t)(key >> 32);
    uint32_t u[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t m = n - i0 < 256 ? n - i0 : 256;
        for (size_t j = 0; j < m; j++) u[j] = mix32(mix32((uint32_t)(i0 + j) + klo) ^ khi) >> 8;
        for (size_t j = 0; j < m; j++) {
            float k = u[j] >= keep_from ? scale : 0.0f;
            mask[i0 + j] = k;
            out[i0 + j] = in[i0 + j] * k;
        }
    }
}

void mn_dropout_backward(float *din, const float *dout, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}

typedef struct {
    float rate; /* fraction dropped */
} dropout_conf;
MN_CONF_FITS(dropout_conf);

static int parse(mn_layer *l, const char *args, mn_err *e)
{
    char *end;
    double v = args ? strtod(args, &end) : -1;
    /* checked as the float it is stored as: 0.99999999999999992 is below 1
     * but rounds to 1.0f, which would scale by 1 / (1 - rate) = inf */
    float r = (float)v;
    if (!args || end == args || *end || !(r >= 0.0f && r < 1.0f))
        return mn_fail(e, "dropout needs a rate in [0, 1), e.g. dropout:0.2");
    MN_CONF(l, dropout_conf)->rate = r;
    return 0;
}

/* The shortest %g form that reads back as the same float ("dropout:0.2",
 * "dropout:0.9999999"): the canonical string must build the same model. */
static void describe(const mn_layer *l, char *buf, size_t len)
{
    char num[32];
    mn_float_str(num, sizeof num, MN_CONF(l, dropout_conf)->rate);
    snprintf(buf, len, "dropout:%s", num);
}

/* the mask */
static size_t aux(const mn_layer *l) { return mn_shape_size(l->in); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p;
    mn_dropout_forward(out, l->aux, in, (size_t)B * mn_shape_size(l->in), MN_CONF(l, dropout_conf)->rate, training,
                       rng);
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (a->din) mn_dropout_backward(a->din, a->dout, l->aux, (size_t)a->B * mn_shape_size(l->in));
    return 0;
}

/* ONNX: nothing at inference, so no node (as PyTorch's export in eval mode). */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)l, (void)p, (void)g, (void)e;
    snprintf(out, len, "%s", in);
    return 0;
}

const mn_layer_kind mn_dropout_kind = {
    .token = "dropout",
    .usage = "dropout:R",
    .example = "dropout:0.5",
    .keras_name = "Dropout",
    .torch_name = "Dropout",
    .draw = MN_DRAW_NONE,
    .parse = parse,
    .setup = mn_setup_same_shape,
    .describe = describe,
    .aux_size = aux,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
