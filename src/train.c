/* train.c - minibatch training loop (Keras's fit) and evaluation. */
#define _POSIX_C_SOURCE 200809L
#include "mnist/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnist/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mn_evaluate(mn_model *m, const mn_dataset *ds, int first, int count, double *loss, double *acc, int *confusion,
                 int *predictions)
{
    double total = 0.0;
    long hits = 0;
    int C = m->n_classes;
    if (confusion) memset(confusion, 0, (size_t)C * (size_t)C * sizeof *confusion);
    for (int done = 0; done < count; done += m->max_batch) {
        int B = count - done < m->max_batch ? count - done : m->max_batch, correct;
        mn_dataset_batch(ds, NULL, first + done, B, m->input, m->labels);
        total += mn_model_forward(m, B, 0, &correct);
        hits += correct;
        for (int n = 0; n < B && (confusion || predictions); n++) {
            const float *p = m->probs + (size_t)n * C;
            int arg = 0;
            for (int j = 1; j < C; j++)
                if (p[j] > p[arg]) arg = j;
            if (confusion) confusion[m->labels[n] * C + arg]++;
            if (predictions) predictions[done + n] = arg;
        }
    }
    *loss = count ? total / count : 0.0;
    *acc = count ? (double)hits / count : 0.0;
}

int mn_train(mn_model *m, mn_optim *o, const mn_dataset *ds, const mn_train_opts *opt, mn_progress_fn cb, void *user,
             mn_err *e)
{
    int n_val = (int)floor((double)ds->n * opt->validation_split);
    int n_train = ds->n - n_val, B = opt->batch_size;
    if (B < 1 || B > m->max_batch) return mn_fail(e, "batch size %d outside 1..%d", B, m->max_batch);
    if (n_train < 1) return mn_fail(e, "validation split %.3g leaves no training data", (double)opt->validation_split);
    int *order = malloc((size_t)n_train * sizeof *order);
    if (!order) return mn_fail(e, "out of memory for %d sample indices", n_train);
    for (int i = 0; i < n_train; i++) order[i] = i;
    mn_rng rng;
    mn_rng_seed(&rng, opt->seed ^ 0x5EEDF00D5EEDF00Dull);

    mn_progress p = {0};
    p.epochs = opt->epochs;
    p.steps = (n_train + B - 1) / B;
    p.has_val = n_val > 0;
    int rc = 0;
    for (int epoch = 1; epoch <= opt->epochs && rc == 0; epoch++) {
        mn_rng_shuffle(&rng, order, n_train);
        double t0 = now(), loss_sum = 0.0;
        long hits = 0, seen = 0;
        p.epoch = epoch;
        p.epoch_done = 0;
        for (int step = 0; step < p.steps; step++) {
            int first = step * B, b = n_train - first < B ? n_train - first : B, correct;
            mn_dataset_batch(ds, order, first, b, m->input, m->labels);
            double loss = mn_model_forward(m, b, 1, &correct);
            if (!isfinite(loss)) {
                rc = mn_fail(e, "training diverged: loss is %g at epoch %d, step %d (try a smaller --lr)", loss, epoch,
                             step + 1);
                break;
            }
            mn_model_backward(m, b);
            mn_optim_step(o, m->params, m->grads);
            loss_sum += loss;
            hits += correct;
            seen += b;
            p.step = step + 1;
            p.loss = loss_sum / (double)seen;
            p.acc = (double)hits / (double)seen;
            p.seconds = now() - t0;
            if (step + 1 == p.steps) {
                p.epoch_done = 1;
                if (n_val) mn_evaluate(m, ds, n_train, n_val, &p.val_loss, &p.val_acc, NULL, NULL);
                p.seconds = now() - t0;
            }
            if (cb && cb(&p, user)) {
                rc = mn_fail(e, "training stopped at epoch %d, step %d", epoch, step + 1);
                break;
            }
        }
    }
    free(order);
    return rc;
}
