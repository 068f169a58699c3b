/* progress.h - Keras-style progress output for `mnist train`.
 *
 * Per epoch: "Epoch 3/5", then
 * "1875/1875 [==============================] - 2s 1ms/step - loss: 0.0712 - accuracy: 0.9781"
 * on stdout. When stderr is a terminal a live bar with ETA and running
 * metrics redraws in place on stderr while the epoch runs. */
#ifndef MNIST_PROGRESS_H
#define MNIST_PROGRESS_H

#include <stddef.h>

#include "mnist/train.h"

typedef struct {
    int verbose;     /* 0 silent, 1 bar */
    int live;        /* stderr is a terminal: redraw in place */
    double last_draw;
} progress_bar;

void progress_init(progress_bar *p, int verbose, int live);
/* An mn_progress_fn: user is the progress_bar. */
int progress_update(const mn_progress *p, void *user);

/* The pieces, for commands with other metrics (gen_common.c): Keras's bar
 * "[=====>....]" (30 wide, buf of 33 or more) for done of total, and the
 * time per step in its largest unit that is >= 1 ("3ms/step"). */
void progress_bar_text(char *buf, int done, int total);
void progress_per_step(char *buf, size_t len, double seconds);

#endif
