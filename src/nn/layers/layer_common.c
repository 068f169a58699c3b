/* layer_common.c - the kind registry and helpers shared by the layer tables. */
#include <math.h>
#include <string.h>

#include "mnist/layer.h"
#include "layer_common.h"

static const mn_layer_ops *const kinds[MN_N_KINDS] = {
    [MN_FLATTEN] = &mn_flatten_ops, [MN_DENSE] = &mn_dense_ops,     [MN_RELU] = &mn_relu_ops,
    [MN_SIGMOID] = &mn_sigmoid_ops, [MN_DROPOUT] = &mn_dropout_ops, [MN_CONV] = &mn_conv_ops,
    [MN_MAXPOOL] = &mn_maxpool_ops, [MN_AVGPOOL] = &mn_avgpool_ops,
};

const mn_layer_ops *mn_layer_ops_of(mn_kind k) { return (unsigned)k < MN_N_KINDS ? kinds[k] : NULL; }

int mn_layer_kind_of(const char *token, size_t len)
{
    for (int k = 0; k < MN_N_KINDS; k++)
        if (strlen(kinds[k]->token) == len && memcmp(kinds[k]->token, token, len) == 0) return k;
    return -1;
}

static void uniform(float *w, size_t n, float limit, mn_rng *rng)
{
    for (size_t i = 0; i < n; i++) w[i] = (2.0f * mn_rng_uniform(rng) - 1.0f) * limit;
}

void mn_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, mn_rng *rng)
{
    uniform(w, n, sqrtf(6.0f / (float)(fan_in + fan_out)), rng);
}

void mn_he_uniform(float *w, size_t n, int fan_in, mn_rng *rng) { uniform(w, n, sqrtf(6.0f / (float)fan_in), rng); }

int mn_parse_no_args(mn_layer *l, const char *args, mn_err *e)
{
    if (args) return mn_fail(e, "%s takes no arguments", l->ops->token);
    return 0;
}

int mn_setup_same_shape(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = l->in;
    l->n_params = 0;
    return 0;
}

size_t mn_no_aux(const mn_layer *l)
{
    (void)l;
    return 0;
}

int mn_no_params(const mn_layer *l, mn_param_desc *out)
{
    (void)l, (void)out;
    return 0;
}

void mn_copy_token(char *buf, size_t len, const char *token)
{
    if (len == 0) return;
    strncpy(buf, token, len - 1);
    buf[len - 1] = '\0';
}
