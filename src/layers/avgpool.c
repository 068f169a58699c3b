/* avgpool.c - average pooling (Keras AveragePooling2D, PyTorch AvgPool2d). */
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "layer_common.h"

#define PAR_MIN_FLOATS 32768

static int pool_threads(size_t floats, long planes)
{
    int nt = mn_get_threads();
    if (floats < PAR_MIN_FLOATS) nt = 1;
    return nt < planes ? nt : (int)planes;
}

void mn_avgpool_forward(float *out, const float *in, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    const float n = (float)(KH * KW);
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * H * W;
        float *o = out + (size_t)pl * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *win = x + (size_t)(oy * SH) * W + (size_t)ox * SW;
                float s = 0.0f;
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++) s += win[(size_t)ky * W + kx];
                o[(size_t)oy * OW + ox] = s / n;
            }
    }
}

void mn_avgpool_backward(float *din, const float *dout, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    const float n = (float)(KH * KW);
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++) {
        float *d = din + (size_t)pl * H * W;
        const float *g = dout + (size_t)pl * OH * OW;
        memset(d, 0, (size_t)H * W * sizeof *d);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float v = g[(size_t)oy * OW + ox] / n;
                float *win = d + (size_t)(oy * SH) * W + (size_t)ox * SW;
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++) win[(size_t)ky * W + kx] += v;
            }
    }
}

static int parse(mn_layer *l, const char *args, mn_err *e) { return mn_parse_window(l, args, 0, e); }

static void forward(mn_layer *l, float *out, const float *in, const float *p, int B, int training, mn_rng *rng)
{
    (void)p, (void)training, (void)rng;
    mn_avgpool_forward(out, in, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h, l->stride_w);
}

static void backward(mn_layer *l, float *din, float *dp, const float *dout, const float *in, const float *out,
                     const float *p, int B)
{
    (void)dp, (void)in, (void)out, (void)p;
    if (din) mn_avgpool_backward(din, dout, B, l->in.c, l->in.h, l->in.w, l->kh, l->kw, l->stride_h, l->stride_w);
}

const mn_layer_ops mn_avgpool_ops = {"avgpool", "AveragePooling2D", "AvgPool2d", parse,   mn_pool_setup, mn_pool_describe,
                                     mn_no_aux, mn_no_params,       NULL,        forward, backward};
