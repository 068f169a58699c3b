/* augment.h - random transformations of training images (data augmentation).
 *
 * What Keras's RandomTranslation and RandomFlip preprocessing layers (or
 * ImageDataGenerator's width/height_shift_range and horizontal_flip) do,
 * in whole pixels: each training image of each epoch is moved by a random
 * offset, the uncovered border filled with 0 (black, as MNIST's background),
 * and optionally mirrored left-right. The model sees a slightly different
 * image every time, which helps it generalise in long runs. Evaluation and
 * validation data are never transformed.
 *
 * Spec strings (`mnist train --augment SPEC`): "none", "shift:N" (offsets
 * from -N to N pixels along each axis, independently, N from 1 to 8),
 * "flip", or both, comma-separated: "shift:2,flip". */
#ifndef MNIST_AUGMENT_H
#define MNIST_AUGMENT_H

#include <stddef.h>

#include "mnist/error.h"
#include "mnist/rng.h"

#define MN_AUGMENT_MAX_SHIFT 8

typedef struct {
    int shift; /* largest offset in pixels along each axis; 0: none */
    int flip;  /* mirror left-right with probability 1/2 */
} mn_augment;

/* Parses a spec (see above); on failure *a is left off and e says why. */
int mn_augment_parse(mn_augment *a, const char *spec, mn_err *e);

/* The canonical spec of a: "none", "shift:2", "flip", "shift:2,flip". */
void mn_augment_describe(const mn_augment *a, char *buf, size_t len);

static inline int mn_augment_on(const mn_augment *a) { return a && (a->shift > 0 || a->flip); }

/* Transforms B images of rows x cols floats at x in place, drawing from rng
 * (the same draws in the same order whatever the batch holds, so a resumed
 * run repeats them). tmp: rows * cols floats of scratch. */
void mn_augment_batch(const mn_augment *a, float *x, int B, int rows, int cols, float *tmp, mn_rng *rng);

#endif
