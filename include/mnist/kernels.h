/* kernels.h - the plain functions under the layer kinds.
 *
 * Each layer kind's arithmetic is a pair of plain functions,
 *   mn_<kind>_forward(out, in, params..., sizes...)
 *   mn_<kind>_backward(din, dparams..., dout, in/out, params..., sizes...)
 * with every shape passed explicitly and no model, table or allocation
 * behind them: usable on their own, and what the layer kinds (layer.h)
 * call. Activations are laid out N x C x H x W (batch first, then
 * channels, rows, columns), row-major.
 *
 * Backward functions write (not accumulate) parameter gradients, because in
 * a sequential model every parameter is used by exactly one layer per step.
 * `din` may be NULL (first layer: nobody needs the gradient of the input).
 */
#ifndef MNIST_KERNELS_H
#define MNIST_KERNELS_H

#include <stddef.h>

#include "mnist/gemm.h"
#include "mnist/rng.h"

/* Dense (PyTorch Linear): out[B,OC] = in[B,C] * W^T + b, W stored [OC, C]. */
void mn_dense_forward(float *out, const float *in, const float *w, const float *b, int B, int C, int OC);
void mn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                       int C, int OC);
/* The same, computing din first (from W as it is) and then dW, handing each
 * block of dW to dw_done as soon as it is final (mn_sgemm_then), so that the
 * caller may update those weights at once, in the GEMM's threads. */
void mn_dense_backward_then(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                            int B, int C, int OC, mn_gemm_done_fn *dw_done, void *ctx);

/* ReLU: out = max(in, 0); backward passes dout where out > 0. */
void mn_relu_forward(float *out, const float *in, size_t n);
void mn_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* Logistic sigmoid; backward uses the output: din = dout * out * (1 - out). */
void mn_sigmoid_forward(float *out, const float *in, size_t n);
void mn_sigmoid_backward(float *din, const float *dout, const float *out, size_t n);

/* Inverted dropout: in training each element is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate), so inference is the identity.
 * mask[i] holds the factor applied (0 or 1/(1-rate)). A training call takes
 * one draw from rng, the key its mask is hashed from, so the mask depends on
 * the seed and the call's place in the sequence, never on the thread count. */
void mn_dropout_forward(float *out, float *mask, const float *in, size_t n, float rate, int training, mn_rng *rng);
void mn_dropout_backward(float *din, const float *dout, const float *mask, size_t n);

/* Softmax + cross-entropy, fused, from logits (log-sum-exp with the max
 * subtracted, so large logits cannot overflow). Writes probabilities, returns
 * the summed (not mean) loss over the batch; *correct (if non-NULL) gets the
 * number of argmax hits. Backward: dlogits = (probs - onehot(label)) * scale,
 * where scale is normally 1/B (the gradient of the mean loss). */
double mn_softmax_xent_forward(float *probs, const float *logits, const int *labels, int B, int C, int *correct);
/* Transposed convolution (PyTorch ConvTranspose2d), NCHW, no dilation or
 * groups: input C x H x W, F filters of KH x KW, stride SH x SW, padding
 * PH x PW taken off each side of the full output, so
 * OH = (H - 1) * SH - 2 * PH + KH. Weights [C, F, KH, KW] (PyTorch's),
 * bias [F]. scratch holds mn_convt_scratch_floats(g) floats. */
typedef struct {
    int c, h, w, f, oh, ow, kh, kw, sh, sw, ph, pw;
} mn_convt_geom;
size_t mn_convt_scratch_floats(const mn_convt_geom *g);
void mn_convt_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_convt_geom *g,
                      float *scratch);
void mn_convt_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                       const mn_convt_geom *g, float *scratch);

/* Losses on outputs that are not classes, summed over n elements against
 * targets t; with d non-NULL, also the gradient times scale (1/B for the
 * gradient of the mean over a batch of B). Mean squared error:
 * sum (y - t)^2. Sigmoid binary cross-entropy from logits z (Keras's
 * from_logits, PyTorch's BCEWithLogitsLoss): targets in [0, 1]. */
double mn_mse_loss(const float *y, const float *t, size_t n, float *dy, float scale);
double mn_sigmoid_bce_loss(const float *z, const float *t, size_t n, float *dz, float scale);

/* Softmax alone (inference): the same probabilities as the fused call. */
void mn_softmax_forward(float *probs, const float *logits, int B, int C);
void mn_softmax_xent_backward(float *dlogits, const float *probs, const int *labels, int B, int C, float scale);

/* 2-D convolution (Keras Conv2D, PyTorch Conv2d), NCHW, with bias.
 *
 * Arch grammar: conv:FILTERS:KERNEL[:OPTION]...  where KERNEL is K (square)
 * or KHxKW, and the options, in any order, at most one of each kind, are
 *   sS or sSHxSW     stride (default 1)
 *   valid            no padding (the default, as in Keras)
 *   same             Keras 'same': output size = input size; stride 1 only
 *                    (PyTorch's padding='same' is stride 1 only too; for an
 *                    even kernel the extra row/column goes at the bottom/right,
 *                    as both Keras and PyTorch do)
 *   pP or pPHxPW     explicit zero padding, P on every side, or PH rows at
 *                    top and bottom and PW columns left and right (PyTorch's
 *                    padding=(PH, PW))
 *   he               He-uniform weights (the default; Keras's he_uniform)
 *   glorot           Glorot-uniform weights (Keras's Conv2D default)
 * e.g. conv:32:3, conv:6:5:same, conv:16:3x5:s2:p1. Output size per axis:
 * floor((H + pad_top + pad_bottom - KH) / SH) + 1.
 * Weights are PyTorch's [OC, C, KH, KW], bias [OC] (zeros at init). Weights
 * start He-uniform, U(-l, l) with l = sqrt(6 / fan_in), fan_in = C*KH*KW:
 * scaled for the ReLU that follows a conv in every preset, and better than
 * Keras's Glorot default here (cnn, 5 epochs: test accuracy 98.99% against
 * 98.83%, median of 3 seeds). 'glorot' gives Keras's Glorot-uniform with
 * fan_out = OC*KH*KW.
 *
 * Computed as im2col + mn_sgemm (the weight gradient, where no padding is
 * involved, as mn_sgemm_nt_gather straight from the input); `scratch` must
 * hold mn_conv_scratch_floats(g, B) = B * (C*KH*KW + OC) * OH*OW + C*KH*KW +
 * B * OH*OW floats (the layer's aux). Backward writes dw and db, and din
 * unless it is NULL; it recomputes what it needs rather than relying on a
 * previous forward. */
typedef struct {
    int c, h, w;    /* input channels, rows, columns */
    int oc, oh, ow; /* output channels (filters), rows, columns */
    int kh, kw;     /* kernel */
    int sh, sw;     /* stride */
    int pt, pl;     /* zero padding at the top and left; bottom/right follow from oh, ow */
} mn_conv_geom;

size_t mn_conv_scratch_floats(const mn_conv_geom *g, int B);
void mn_conv_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                     float *scratch);
void mn_conv_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                      const mn_conv_geom *g, float *scratch);

/* The same convolution with the ReLU and/or the max pooling that follow it
 * done on each GEMM tile while it is still in cache, so the full-size
 * feature maps never go to memory: `out` is then the ReLU's output (no
 * pooling) or the pooled maps [B, OC, OH/PH, OW/PW], and the pool's argmax
 * is recorded as mn_maxpool_forward does. Backward takes the gradient and
 * the output of the last fused layer (dout, out) and builds the conv's
 * output gradient from them. Results are bit-identical to calling the
 * layers one after another. Pooling here is non-overlapping (stride =
 * window); f == NULL is the plain convolution. */
typedef struct {
    int relu;           /* max(x, 0) on the conv's output */
    int pool_h, pool_w; /* then max pooling, window = stride (0: none) */
    float *argmax;      /* the pooling's argmax, one float per pooled output */
} mn_conv_fuse;

void mn_conv_forward_fused(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                           const mn_conv_fuse *f, float *scratch);
void mn_conv_backward_fused(float *din, float *dw, float *db, const float *dout, const float *out, const float *in,
                            const float *w, int B, const mn_conv_geom *g, const mn_conv_fuse *f, float *scratch);

/* Pooling (Keras MaxPooling2D / AveragePooling2D, PyTorch MaxPool2d /
 * AvgPool2d) over KH x KW windows with stride SH x SW, no padding: the output
 * is floor((H - KH) / SH) + 1 rows (Keras's 'valid'), so rows and columns
 * that do not fill a window are dropped.
 * Arch grammar: maxpool:SIZE[:sS], avgpool:SIZE[:sS], SIZE and S being N or
 * NHxNW; the stride defaults to the pool size; e.g. maxpool:2, maxpool:3:s2.
 * Max pooling records in argmax (if non-NULL; one float per output) the
 * position within its window (ky*KW + kx) of the first maximum, and its
 * backward routes each gradient there. Average pooling divides by KH*KW.
 * Backward overwrites din. */
void mn_maxpool_forward(float *out, float *argmax, const float *in, int B, int C, int H, int W, int KH, int KW, int SH,
                        int SW);
void mn_maxpool_backward(float *din, const float *dout, const float *argmax, int B, int C, int H, int W, int KH, int KW,
                         int SH, int SW);
void mn_avgpool_forward(float *out, const float *in, int B, int C, int H, int W, int KH, int KW, int SH, int SW);
void mn_avgpool_backward(float *din, const float *dout, int B, int C, int H, int W, int KH, int KW, int SH, int SW);

#endif
