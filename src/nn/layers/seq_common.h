/* seq_common.h - how the sequence kinds (lstm, gru, layernorm, mean,
 * patches, transformer) read an activation as a sequence.
 *
 * A per-sample shape (C, H, W) is a sequence of T = H steps of F = C*W
 * features: feature c*W + w of step t is element (c, t, w), i.e. PyTorch's
 * x.permute(0, 2, 1, 3).flatten(2). A sequence made by a sequence kind is
 * (1, T, F), so its steps are contiguous rows. With the recurrent kinds'
 * `cols` option the sequence is the W columns of C*H features instead
 * (feature c*H + h of step t is (c, h, t): x.permute(0, 3, 1, 2).flatten(2)).
 */
#ifndef MNIST_SEQ_COMMON_H
#define MNIST_SEQ_COMMON_H

#include <stddef.h>
#include <string.h>

#include "mnist/layer.h"

typedef struct {
    int T, F;
} mn_seq_dims;

static inline mn_seq_dims mn_seq_of(mn_shape s, int cols)
{
    return cols ? (mn_seq_dims){s.w, s.c * s.h} : (mn_seq_dims){s.h, s.c * s.w};
}

/* Element (b, t, f) of the sequence view of `in` (batch-major, shape s). */
static inline size_t mn_seq_index(mn_shape s, int cols, int b, int t, int f)
{
    size_t base = (size_t)b * mn_shape_size(s);
    if (cols) return base + (size_t)(f / s.h) * s.h * s.w + (size_t)(f % s.h) * s.w + (size_t)t;
    return base + (size_t)(f / s.w) * s.h * s.w + (size_t)t * s.w + (size_t)(f % s.w);
}

/* The input as a time-major matrix X[(t*B + b)*F + f] (gather), and a
 * time-major gradient back into the input's layout (scatter). */
static inline void mn_seq_gather_tm(float *X, const float *in, mn_shape s, int cols, int B)
{
    mn_seq_dims d = mn_seq_of(s, cols);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < d.T; t++) {
            float *x = X + ((size_t)t * B + b) * d.F;
            if (!cols && s.c == 1)
                memcpy(x, in + (size_t)b * mn_shape_size(s) + (size_t)t * s.w, (size_t)d.F * sizeof *x);
            else
                for (int f = 0; f < d.F; f++) x[f] = in[mn_seq_index(s, cols, b, t, f)];
        }
}

static inline void mn_seq_scatter_tm(float *din, const float *dX, mn_shape s, int cols, int B)
{
    mn_seq_dims d = mn_seq_of(s, cols);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < d.T; t++) {
            const float *x = dX + ((size_t)t * B + b) * d.F;
            if (!cols && s.c == 1)
                memcpy(din + (size_t)b * mn_shape_size(s) + (size_t)t * s.w, x, (size_t)d.F * sizeof *x);
            else
                for (int f = 0; f < d.F; f++) din[mn_seq_index(s, cols, b, t, f)] = x[f];
        }
}

/* A strictly positive integer argument; returns the rest of args after
 * its ':' (or NULL at the end) in *rest, -1 when it is not one. */
int mn_parse_count(const char *args, long max, long *v, const char **rest);

/* Orthogonal initial matrix (Keras's Orthogonal): rows x cols with
 * orthonormal columns (rows >= cols) or rows (rows < cols). */
void mn_orthogonal(float *w, int rows, int cols, mn_rng *rng);

#endif

/* layernorm.c: rows of n features normalised (eps 1e-5), x-hat and 1/sigma
 * kept; the backward zeroes and sums dw, db and writes (or adds to) din. */
void mn_layernorm_rows(float *out, float *xhat, float *rstd, const float *in, const float *w, const float *b,
                       size_t rows, int n);
void mn_layernorm_rows_backward(float *din, float *dw, float *db, const float *dout, const float *xhat,
                                const float *rstd, const float *w, size_t rows, int n, int accumulate);
/* gelu.c: the exact GELU and its derivative. */
float mn_gelu(float x);
float mn_gelu_grad(float x);

/* dst[j] = sum over rows of src[r * n + j] (a bias's gradient), in row
 * order whatever the thread count. */
static inline void mn_col_sums(float *dst, const float *src, size_t rows, int n)
{
    memset(dst, 0, (size_t)n * sizeof *dst);
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) dst[j] += src[r * (size_t)n + j];
}
