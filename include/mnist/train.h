/* train.h - the minibatch training loop and evaluation.
 *
 * mn_train runs Keras's model.fit: each epoch reshuffles the training part
 * with a seeded generator, walks it in batches (the last, partial batch is
 * kept), takes one optimizer step per batch and reports progress through a
 * callback (the library never prints). With validation_split v, the last
 * v fraction of the data set is held out before shuffling, as Keras does,
 * and evaluated at the end of each epoch.
 */
#ifndef MNIST_TRAIN_H
#define MNIST_TRAIN_H

#include <stdint.h>

#include "mnist/error.h"
#include "mnist/idx.h"
#include "mnist/model.h"
#include "mnist/optim.h"

typedef struct {
    int epochs;
    int batch_size;         /* <= the model's max_batch */
    float validation_split; /* 0 <= v < 1 */
    uint64_t seed;          /* shuffling; the model's init and dropout have their own */
} mn_train_opts;

typedef struct {
    int epoch, epochs;  /* 1-based */
    int step, steps;    /* batches done in this epoch, and per epoch */
    double loss, acc;   /* running means over this epoch's samples so far */
    double seconds;     /* since the epoch started */
    int epoch_done;     /* the epoch's last call: val fields are set */
    int has_val;
    double val_loss, val_acc;
} mn_progress;

/* Called after every step; return nonzero to stop training early. */
typedef int (*mn_progress_fn)(const mn_progress *p, void *user);

/* Returns 0, or -1 with e set (including when the loss stops being finite). */
int mn_train(mn_model *m, mn_optim *o, const mn_dataset *ds, const mn_train_opts *opt, mn_progress_fn cb, void *user,
             mn_err *e);

/* Evaluates samples [first, first + count) in batches of the model's
 * max_batch: mean loss, accuracy, and (if non-NULL) the confusion matrix
 * confusion[true * n_classes + predicted] and each sample's prediction. */
void mn_evaluate(mn_model *m, const mn_dataset *ds, int first, int count, double *loss, double *acc, int *confusion,
                 int *predictions);

#endif
