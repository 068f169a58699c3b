/* relu.c - rectified linear unit. */
#include "mnist/gemm.h" /* mn_get_threads */
#include "mnist/kernels.h"
#include "mnist/layer.h"
#include "mnist/onnx.h"
#include "layer_common.h"

/* Element-wise, so threads (over whole 16 KiB slices) change nothing in the
 * result; below PAR_MIN elements a fork/join costs more than it saves (a
 * dense layer's 32 x 128 stays on one thread, a conv layer's 128 x 32 x 26
 * x 26 splits). */
#define PAR_MIN (1 << 16)
#define SLICE 4096

static int threads_for(size_t n) { return n < PAR_MIN ? 1 : mn_get_threads(); }

void mn_relu_forward(float *out, const float *in, size_t n)
{
    long slices = (long)((n + SLICE - 1) / SLICE);
    int nt = threads_for(n);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long k = 0; k < slices; k++) {
        size_t i1 = (size_t)(k + 1) * SLICE < n ? (size_t)(k + 1) * SLICE : n;
        for (size_t i = (size_t)k * SLICE; i < i1; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
    }
}

void mn_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    long slices = (long)((n + SLICE - 1) / SLICE);
    int nt = threads_for(n);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long k = 0; k < slices; k++) {
        size_t i1 = (size_t)(k + 1) * SLICE < n ? (size_t)(k + 1) * SLICE : n;
        for (size_t i = (size_t)k * SLICE; i < i1; i++) din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    }
}

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_relu_forward(out, in, (size_t)B * mn_shape_size(l->in));
}

static size_t backward(mn_layer *l, const mn_backward_args *a)
{
    if (a->din) mn_relu_backward(a->din, a->dout, a->out, (size_t)a->B * mn_shape_size(l->in));
    return 0;
}

/* dense and conv absorb a ReLU after them (dense.c, conv.c) */
/* ONNX: Relu. */
static int onnx(const mn_layer *l, const float *p, mn_onnx *g, const char *in, char *out, size_t len, mn_err *e)
{
    (void)p;
    return mn_onnx_unary(g, l, "Relu", in, out, len, e);
}

const mn_layer_kind mn_relu_kind = {
    .token = "relu",
    .usage = "relu",
    .example = "relu",
    .keras_name = "ReLU",
    .torch_name = "ReLU",
    .draw = MN_DRAW_VECTOR,
    .parse = mn_parse_no_args,
    .setup = mn_setup_same_shape,
    .describe = mn_describe_token,
    .forward = forward,
    .backward = backward,
    .onnx = onnx,
};
