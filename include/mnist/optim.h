/* optim.h - optimizers over one flat parameter buffer, with Keras semantics.
 *
 *   SGD      v = momentum*v - lr*g;  p += v            (momentum 0: p -= lr*g)
 *            Nesterov: p += momentum*v - lr*g
 *   RMSprop  s = rho*s + (1-rho)*g^2;  p -= lr*g / (sqrt(s) + eps)
 *   Adam     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 *            p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
 *   AdamW    p *= 1 - lr*weight_decay, then Adam (decoupled weight decay,
 *            Loshchilov & Hutter; PyTorch's default weight_decay 0.01)
 *   Adadelta v = rho*v + (1-rho)*g^2;  d = sqrt(u+eps)/sqrt(v+eps) * g;
 *            u = rho*u + (1-rho)*d^2;  p -= lr*d
 *            (PyTorch's: rho 0.9, eps 1e-6, lr 1.0)
 *
 * eps is 1e-7 as in Keras (Adadelta: 1e-6). The state (m, v) is two more buffers the size of
 * the parameters, so a step is a single loop and a checkpoint is a write.
 *
 * Optionally (Keras's use_ema=True) the step also keeps an exponential
 * moving average of the weights, after each update:
 *
 *   ema = p on the first step;  ema = mom*ema + (1-mom)*p after it
 *
 * Averaging the last ~1/(1-mom) steps' weights smooths out the noise of the
 * final steps; the trainer evaluates and saves the average (Keras's fit()
 * overwrites the weights with it at the end). Only the trainable weights are
 * averaged, as in Keras (its EMA covers trainable_variables): a layer's state
 * (BatchNorm's running statistics) stays the live one, which was measured
 * on the live weights' activations and is what Keras keeps too.
 */
#ifndef MNIST_OPTIM_H
#define MNIST_OPTIM_H

#include <stddef.h>

#include "mnist/error.h"

typedef enum { MN_SGD, MN_RMSPROP, MN_ADAM, MN_ADAMW, MN_ADADELTA, MN_N_OPTIM } mn_optim_kind;

typedef struct {
    mn_optim_kind kind;
    float lr;
    float momentum; /* SGD */
    int nesterov;   /* SGD */
    float rho;      /* RMSprop, Adadelta: 0.9 */
    float beta1, beta2; /* Adam, 0.9 / 0.999 */
    float eps;      /* 1e-7 (Adadelta 1e-6) */
    float weight_decay; /* AdamW: 0.01 */
    long step;      /* steps taken */
    size_t n;
    float *m, *v;   /* state: SGD velocity in m; RMSprop mean square in v;
                       Adadelta squared updates' average in m, squared gradients' in v */
    float alpha;    /* this step's rate (Adam: lr with the bias corrections) */
    float ema_momentum; /* 0: no moving average */
    float *ema;     /* the moving average of the weights, or NULL */
} mn_optim;

/* Name <-> kind: "sgd", "rmsprop", "adam", "adamw", "adadelta". Returns -1
 * for unknown names. */
int mn_optim_kind_of(const char *name);
const char *mn_optim_name(mn_optim_kind k);
/* Keras's default learning rate: 0.01 for SGD, 0.001 otherwise (Adadelta:
 * PyTorch's 1.0). */
float mn_optim_default_lr(mn_optim_kind k);

/* Sets Keras defaults for kind with learning rate lr and allocates state for
 * n parameters. Adjust momentum/nesterov/... after this. */
int mn_optim_init(mn_optim *o, mn_optim_kind kind, float lr, size_t n, mn_err *e);
/* Turns on the moving average of the weights with momentum 0 < mom < 1
 * (allocates o->ema; its contents are set by the first step). */
int mn_optim_use_ema(mn_optim *o, float mom, mn_err *e);
/* One step over all parameters: mn_optim_begin_step, then
 * mn_optim_update_all over [0, n). */
void mn_optim_step(mn_optim *o, float *params, const float *grads);

/* A step in parts, for updating parameters as soon as their gradients are
 * ready (the dense layer does it in its weight gradient's write-back): begin
 * the step once, then update every index in [0, n) exactly once, in any
 * order and from any thread. Each parameter's update reads only its own
 * gradient and state, so the result has the same bits as mn_optim_step.
 * mn_optim_update runs on the calling thread; mn_optim_update_all, over
 * [i0, i1) of the whole buffers, splits its range among the threads when it
 * is long enough. */
void mn_optim_begin_step(mn_optim *o);
/* Parameters [at, at + n): values p[0..n) (params + at), gradients g[0..n)
 * (which need not live in a gradient buffer). */
void mn_optim_update(const mn_optim *o, size_t at, float *p, const float *g, size_t n);
void mn_optim_update_all(const mn_optim *o, float *params, const float *grads, size_t i0, size_t i1);
void mn_optim_free(mn_optim *o);

#endif
