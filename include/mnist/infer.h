/* infer.h - classifying images with a trained model.
 *
 *   mn_model m;
 *   mn_err e;
 *   if (mn_model_open(&m, "model.bin", 64, &e)) { fprintf(stderr, "%s\n", e.msg); ... }
 *   float probs[10 * n];
 *   if (mn_predict(&m, pixels, MN_PIXELS_U8, n, probs, &e)) ...
 *   mn_model_free(&m);
 *
 * Images are n x C x H x W in the model's input shape (mn_model's
 * input_shape; (1, 28, 28) for MNIST), row-major, either bytes 0-255 (as
 * the data sets store them; scaled by 1/255 exactly as training does) or
 * floats in [0, 1]. No labels, no loss and no training buffers are
 * involved. A model is not to be used by two threads at once, but two
 * models (each opened on its own) may be used from two threads at once:
 * the library keeps no other state between calls.
 */
#ifndef MNIST_INFER_H
#define MNIST_INFER_H

#include "mnist/error.h"
#include "mnist/model.h"

typedef enum {
    MN_PIXELS_U8,  /* uint8_t, 0-255 */
    MN_PIXELS_F32, /* float, 0-1 (any finite value is accepted) */
} mn_pixels;

/* Class probabilities of n images into probs[n x m->n_classes], computed in
 * batches of up to m->max_batch. Fails (and writes nothing defined into
 * probs) on n < 0 or a float pixel that is NaN or infinite. */
int mn_predict(mn_model *m, const void *images, mn_pixels type, int n, float *probs, mn_err *e);

#endif
