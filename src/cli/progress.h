/* progress.h - Keras-style progress output for `mnist train`.
 *
 * Per epoch: "Epoch 3/5", then
 * "1875/1875 [==============================] - 2s 1ms/step - loss: 0.0712 - accuracy: 0.9781"
 * on stdout. When stderr is a terminal a live bar with ETA and running
 * metrics redraws in place on stderr while the epoch runs. */
#ifndef MNIST_PROGRESS_H
#define MNIST_PROGRESS_H

#include "mnist/train.h"

typedef struct {
    int verbose;     /* 0 silent, 1 bar */
    int live;        /* stderr is a terminal: redraw in place */
    double last_draw;
} progress_bar;

void progress_init(progress_bar *p, int verbose, int live);
/* An mn_progress_fn: user is the progress_bar. */
int progress_update(const mn_progress *p, void *user);

#endif
