/* layer_common.c - helpers the layer kinds share, and weight initialisers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/layer.h"
#include "layer_common.h"

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
    if (args) return mn_fail(e, "%s takes no arguments", l->kind->token);
    return 0;
}

int mn_setup_same_shape(mn_layer *l, mn_err *e)
{
    (void)e;
    l->out = l->in;
    return 0;
}

void mn_describe_token(const mn_layer *l, char *buf, size_t len)
{
    if (len == 0) return;
    strncpy(buf, l->kind->token, len - 1);
    buf[len - 1] = '\0';
}

void mn_float_str(char *buf, size_t len, float v)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, len, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v) return;
    }
}
