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

/* --- shared by the sequence kinds (seq_common.h) --- */
#include <stdlib.h>

#include "seq_common.h"

int mn_parse_count(const char *args, long max, long *v, const char **rest)
{
    char *end;
    if (!args) return -1;
    long n = strtol(args, &end, 10);
    if (end == args || n < 1 || n > max || (*end && *end != ':')) return -1;
    *v = n;
    *rest = *end == ':' ? end + 1 : NULL;
    return 0;
}

/* Normal deviates (Box-Muller), Gram-Schmidt (each column twice) over the
 * columns of a tall matrix: the Q of its QR with R's diagonal positive, as
 * Keras's Orthogonal takes it; a wide one is the transpose of a tall one. */
void mn_orthogonal(float *w, int rows, int cols, mn_rng *rng)
{
    int tall = rows >= cols, R = tall ? rows : cols, C = tall ? cols : rows;
    double *q = malloc((size_t)R * (size_t)C * sizeof *q);
    if (!q) {
        mn_glorot_uniform(w, (size_t)rows * cols, cols, rows, rng);
        return;
    }
    for (size_t i = 0; i < (size_t)R * C; i += 2) {
        /* u1 in (0, 1], u2 in [0, 1) */
        double u1 = (double)((mn_rng_next(rng) >> 11) + 1) * 0x1p-53, u2 = (double)(mn_rng_next(rng) >> 11) * 0x1p-53;
        double rad = sqrt(-2.0 * log(u1));
        q[i] = rad * cos(6.283185307179586 * u2);
        if (i + 1 < (size_t)R * C) q[i + 1] = rad * sin(6.283185307179586 * u2);
    }
    for (int j = 0; j < C; j++)
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < R; i++) dot += q[(size_t)i * C + j] * q[(size_t)i * C + k];
                for (int i = 0; i < R; i++) q[(size_t)i * C + j] -= dot * q[(size_t)i * C + k];
            }
            double norm = 0;
            for (int i = 0; i < R; i++) norm += q[(size_t)i * C + j] * q[(size_t)i * C + j];
            norm = sqrt(norm);
            if (norm < 1e-12) norm = 1e-12;
            for (int i = 0; i < R; i++) q[(size_t)i * C + j] /= norm;
        }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            float v = (float)q[(size_t)i * C + j];
            if (tall)
                w[(size_t)i * cols + j] = v;
            else
                w[(size_t)j * cols + i] = v;
        }
    free(q);
}
