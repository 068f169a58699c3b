/* layer_common.h - small pieces the layer tables share (internal). */
#ifndef MNIST_LAYER_COMMON_H
#define MNIST_LAYER_COMMON_H

#include "mnist/layer.h"

int mn_parse_no_args(mn_layer *l, const char *args, mn_err *e);
int mn_setup_same_shape(mn_layer *l, mn_err *e);
size_t mn_no_aux(const mn_layer *l);
int mn_no_params(const mn_layer *l, mn_param_desc *out);
void mn_copy_token(char *buf, size_t len, const char *token);

/* Max pooling of one H x W plane (maxpool.c; the fused conv uses them too).
 * Backward writes the whole plane d; with gate non-NULL (the ReLU before the
 * pooling, fused), a window's gradient only flows where gate (its pooled
 * output) is > 0, exactly as a separate ReLU backward would let it. */
void mn_maxpool_plane_forward(float *o, float *a, const float *x, int H, int W, int KH, int KW, int SH, int SW);
void mn_maxpool_plane_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int KH,
                               int KW, int SH, int SW);

#endif
