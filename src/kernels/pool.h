/* pool.h - max pooling of one plane (internal: kernels/pool.c; the fused
 * convolution in kernels/conv.c pools its tiles with them too).
 * Backward writes the whole plane d; with gate non-NULL (the ReLU before the
 * pooling, fused), a window's gradient only flows where gate (its pooled
 * output) is > 0, exactly as a separate ReLU backward would let it. */
#ifndef MNIST_KERNELS_POOL_H
#define MNIST_KERNELS_POOL_H

void mn_maxpool_plane_forward(float *o, float *a, const float *x, int H, int W, int KH, int KW, int SH, int SW);
void mn_maxpool_plane_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int KH,
                               int KW, int SH, int SW);

#endif
