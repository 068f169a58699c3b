/* train.h - the minibatch training loop and evaluation.
 *
 * mn_train runs Keras's model.fit: each epoch reshuffles the training part
 * with a seeded generator, walks it in batches (the last, partial batch is
 * kept), takes one optimizer step per batch and reports progress through a
 * callback (the library never prints). With validation_split v, the last
 * v fraction of the data set is held out before shuffling, as Keras does,
 * and evaluated at the end of each epoch.
 *
 * Everything that decides what happens next lives in mn_train_state (with
 * the model's parameters and dropout generator and the optimizer's moments),
 * so a run saved at any step boundary and resumed gives the same bytes as a
 * run that never stopped.
 */
#ifndef MNIST_TRAIN_H
#define MNIST_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "mnist/augment.h"
#include "mnist/error.h"
#include "mnist/dataset.h"
#include "mnist/model.h"
#include "mnist/optim.h"

/* MN_LR_STEP: lr * gamma^(epoch / every) (PyTorch's StepLR; "exponential:G"
 * is every 1, ExponentialLR stepped per epoch); MN_LR_COSINE: half a cosine
 * from lr to 0 over all steps; MN_LR_ONECYCLE: PyTorch's OneCycleLR per step
 * (max_lr = lr, div_factor 25, final_div_factor 1e4): from lr/25 up to lr
 * over the first onecycle_pct of the steps, then down to lr/25e4, along a
 * half cosine or (onecycle_linear) a line. The momentum is not cycled. */
typedef enum { MN_LR_CONSTANT, MN_LR_STEP, MN_LR_COSINE, MN_LR_ONECYCLE } mn_lr_schedule;

typedef struct {
    int epochs;             /* total epochs, counting those already done (Keras's initial_epoch) */
    int batch_size;         /* <= the model's max_batch */
    float validation_split; /* 0 <= v < 1 */
    float lr;               /* base learning rate; the schedule scales it */
    mn_lr_schedule schedule;
    int step_every;         /* MN_LR_STEP: multiply by step_gamma every step_every epochs */
    float step_gamma;
    float onecycle_pct;     /* MN_LR_ONECYCLE: fraction of the steps going up (PyTorch's pct_start, 0.3) */
    int onecycle_linear;    /* MN_LR_ONECYCLE: straight lines instead of half cosines */
    int patience;           /* > 0: early stopping on val_loss, restoring the best weights */
    float *best;            /* with patience: caller's buffer of mn_train_best_floats(m) floats for the
                             * best weights and, after them, the layers' state (BatchNorm's running
                             * statistics: Keras's restore_best_weights restores them too) */
    volatile sig_atomic_t *stop; /* if non-NULL and set, stop after the current step */
    mn_augment augment;     /* random shifts / flips of training images (augment.h); zero: off */
    int auto_threads;       /* > 1: choose between 1 and this many threads by timing steps
                             * (see autothreads.h; results are the same); else keep mn_get_threads() */
} mn_train_opts;

/* Where training is, besides the model and optimizer. Plain data: saved in
 * checkpoints as is. */
typedef struct {
    int epoch;              /* epochs completed */
    int step;               /* steps completed in the current epoch (0 at a boundary) */
    mn_rng shuffle;         /* generator state before the current epoch's shuffle */
    mn_rng augment;         /* draws of the data augmentation */
    double loss_sum;        /* running sums of the current epoch */
    long hits, seen;
    double best_val_loss;   /* early stopping */
    int best_epoch, wait;
} mn_train_state;

typedef struct {
    int epoch, epochs;  /* 1-based */
    int step, steps;    /* batches done in this epoch, and per epoch */
    double loss, acc;   /* running means over this epoch's samples so far */
    double seconds;     /* since the epoch (or the resumed part of it) started */
    double lr;          /* learning rate of the last step */
    int epoch_done;     /* the epoch's last call: val fields are set */
    int has_val;
    double val_loss, val_acc;
    int stopped_early;  /* early stopping ended training after this epoch */
    int threads;        /* threads the last step ran on */
} mn_progress;

/* Called after every step; return nonzero to stop training. */
typedef int (*mn_progress_fn)(const mn_progress *p, void *user);

/* Return codes of mn_train besides 0 and -1. */
#define MN_TRAIN_STOPPED 1 /* *opt->stop was set, or the callback asked to stop */

void mn_train_state_init(mn_train_state *st, uint64_t seed);

/* Trains from *st to opt->epochs. Returns 0 when done (also after early
 * stopping, with the best weights restored), MN_TRAIN_STOPPED when asked to
 * stop (the state is at a step boundary and can be saved), or -1 with e set,
 * e.g. when the loss stops being finite. Allocates only before the first
 * step. With the optimizer's moving average on (mn_optim_use_ema), the
 * validation measures the average, and a finished run leaves it in the
 * model; a stopped one leaves the live weights, which a checkpoint needs. */
int mn_train(mn_model *m, mn_optim *o, const mn_dataset *ds, const mn_train_opts *opt, mn_train_state *st,
             mn_progress_fn cb, void *user, mn_err *e);

/* The learning rate at a step (global step t of T in all, epoch 0-based). */
float mn_lr_at(const mn_train_opts *opt, int epoch, long t, long T);

/* Evaluates samples [first, first + count) in batches of the model's
 * max_batch: mean loss, accuracy, and (if non-NULL) the confusion matrix
 * confusion[true * n_classes + predicted] and each sample's prediction. */
void mn_evaluate(mn_model *m, const mn_dataset *ds, int first, int count, double *loss, double *acc, int *confusion,
                 int *predictions);

/* Checkpoints: the model file plus opt.m, opt.v (optimizer moments),
 * opt.ema (the weights' moving average, if kept), es.best (best weights,
 * with early stopping), es.best_state (the layers' state then, as I64) and
 * the optimizer step, RNG
 * states and training state in the metadata. Written atomically. */
int mn_checkpoint_save(const char *path, const mn_model *m, const mn_optim *o, const mn_train_state *st,
                       const float *best, const char *const *keys, const char *const *vals, int n_meta, mn_err *e);
/* Floats of early stopping's buffer (mn_train_opts.best): the parameters,
 * then the layers' state (n_state bytes, a multiple of 8). */
size_t mn_train_best_floats(const mn_model *m);
/* True if a loaded model file is a checkpoint. */
int mn_is_checkpoint(const mn_model *m);
/* Loads into a model and optimizer already built and allocated for the same
 * architecture and optimizer (mn_model_load the file first to learn them). */
int mn_checkpoint_load(const char *path, mn_model *m, mn_optim *o, mn_train_state *st, float *best, mn_err *e);

#endif
