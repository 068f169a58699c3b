/* convt.c - transposed 2-D convolution (PyTorch ConvTranspose2d, Keras
 * Conv2DTranspose), NCHW: the gradient of a convolution's input, run
 * forward. With W stored [C, F, KH, KW] as a C x (F*KH*KW) matrix and one
 * image's input x as C x (H*W):
 *   forward   cols = W^T x   (F*KK x HW), then each column scattered (added)
 *             into the output at oy = iy*SH - PH + ky, ox = ix*SW - PW + kx
 *   backward  dcols gathered from dout at the same places (0 outside), then
 *             dx = W dcols, dW += x dcols^T (images in order), db = sums
 * Images go one after another (the sums over the batch in a fixed order);
 * the GEMMs' threads split their outputs, so any thread count gives the
 * same bits. */
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/kernels.h"

static void scatter(float *out, const float *cols, const mn_convt_geom *g)
{
    int KK = g->kh * g->kw, HW = g->h * g->w;
    for (int f = 0; f < g->f; f++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const float *c = cols + (size_t)(f * KK + ky * g->kw + kx) * HW;
                float *o = out + (size_t)f * g->oh * g->ow;
                for (int iy = 0; iy < g->h; iy++) {
                    int oy = iy * g->sh - g->ph + ky;
                    if (oy < 0 || oy >= g->oh) continue;
                    for (int ix = 0; ix < g->w; ix++) {
                        int ox = ix * g->sw - g->pw + kx;
                        if (ox >= 0 && ox < g->ow) o[(size_t)oy * g->ow + ox] += c[(size_t)iy * g->w + ix];
                    }
                }
            }
}

static void gather(float *cols, const float *dout, const mn_convt_geom *g)
{
    int KK = g->kh * g->kw, HW = g->h * g->w;
    for (int f = 0; f < g->f; f++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                float *c = cols + (size_t)(f * KK + ky * g->kw + kx) * HW;
                const float *d = dout + (size_t)f * g->oh * g->ow;
                for (int iy = 0; iy < g->h; iy++) {
                    int oy = iy * g->sh - g->ph + ky;
                    for (int ix = 0; ix < g->w; ix++) {
                        int ox = ix * g->sw - g->pw + kx;
                        int in = oy >= 0 && oy < g->oh && ox >= 0 && ox < g->ow;
                        c[(size_t)iy * g->w + ix] = in ? d[(size_t)oy * g->ow + ox] : 0.0f;
                    }
                }
            }
}

size_t mn_convt_scratch_floats(const mn_convt_geom *g)
{
    return (size_t)g->f * g->kh * g->kw * (size_t)g->h * g->w;
}

void mn_convt_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_convt_geom *g,
                      float *scratch)
{
    int FKK = g->f * g->kh * g->kw, HW = g->h * g->w;
    size_t in_n = (size_t)g->c * HW, out_plane = (size_t)g->oh * g->ow, out_n = (size_t)g->f * out_plane;
    for (int n = 0; n < B; n++) {
        float *o = out + (size_t)n * out_n;
        for (int f = 0; f < g->f; f++)
            for (size_t i = 0; i < out_plane; i++) o[(size_t)f * out_plane + i] = b[f];
        mn_sgemm(1, 0, FKK, HW, g->c, 1.0f, w, FKK, in + (size_t)n * in_n, HW, 0.0f, scratch, HW);
        scatter(o, scratch, g);
    }
}

void mn_convt_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                       const mn_convt_geom *g, float *scratch)
{
    int FKK = g->f * g->kh * g->kw, HW = g->h * g->w;
    size_t in_n = (size_t)g->c * HW, out_plane = (size_t)g->oh * g->ow, out_n = (size_t)g->f * out_plane;
    memset(db, 0, (size_t)g->f * sizeof *db);
    for (int n = 0; n < B; n++) {
        const float *d = dout + (size_t)n * out_n;
        for (int f = 0; f < g->f; f++) {
            float s = 0.0f;
            for (size_t i = 0; i < out_plane; i++) s += d[(size_t)f * out_plane + i];
            db[f] += s;
        }
        gather(scratch, d, g);
        if (din) mn_sgemm(0, 0, g->c, HW, FKK, 1.0f, w, FKK, scratch, HW, 0.0f, din + (size_t)n * in_n, HW);
        mn_sgemm(0, 1, g->c, FKK, HW, 1.0f, in + (size_t)n * in_n, HW, scratch, HW, n ? 1.0f : 0.0f, dw, FKK);
    }
    if (B == 0) memset(dw, 0, (size_t)g->c * FKK * sizeof *dw);
}
