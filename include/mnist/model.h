/* model.h - a sequential model of layers, built from an architecture string.
 *
 * Architecture strings are comma-separated layer tokens, e.g.
 *   "dense:128,relu,dropout:0.2,dense:10"
 * or a preset name: mlp (the default), wide, 3b1b, cnn, lenet5, whose last
 * layer has as many units as the data has classes. A layer kind may ask for
 * a layer before it (a Flatten wherever a dense layer meets a non-flat
 * input, as Keras tutorials start with Flatten(input_shape=(28, 28))).
 * The last layer's outputs are logits; softmax and cross-entropy are fused
 * into the loss (a trailing "softmax" token is accepted and means just that).
 *
 * Memory: all parameters live in one contiguous buffer (params), their
 * gradients in a second of the same size (grads); activations and their
 * gradients are allocated once for max_batch samples. Nothing in
 * forward/backward allocates.
 */
#ifndef MNIST_MODEL_H
#define MNIST_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "mnist/error.h"
#include "mnist/layer.h"
#include "mnist/safetensors.h"
#include "mnist/optim.h"
#include "mnist/rng.h"

#define MN_MAX_LAYERS 64
#define MN_ARCH_MAX 1024

typedef struct {
    int n_layers;
    mn_layer layers[MN_MAX_LAYERS];
    mn_shape input_shape;  /* per-sample input shape, e.g. (1, 28, 28) */
    mn_shape output_shape; /* the last layer's: (n_classes, 1, 1) for a classifier */
    int n_classes;         /* outputs of the last layer; 0: not a classifier (see mn_model_run) */
    char arch[MN_ARCH_MAX];/* canonical architecture string */
    char name[32];         /* preset name, or "custom" */

    size_t n_params;       /* trainable floats */
    float *params, *grads;
    size_t n_state;        /* bytes of the layers' non-trainable tensors */
    void *state;

    int max_batch;
    int training;  /* allocated for training (gradients, labels), or for inference only */
    float **act;   /* act[i]: output of layer i, [max_batch x out size]; act[-1] is the input */
    float **dact;  /* dact[i]: gradient of the loss w.r.t. act[i]; mn_model_backward leaves it
                      alone below the first layer with parameters (nothing there needs it) */
    float *input;  /* [max_batch x input size] */
    float input_mean, input_std; /* std > 0: the layers see (input - mean) / std (mn_model_set_normalize) */
    float *norm;   /* [max_batch x input size]: that normalised copy, or NULL */
    float *dinput; /* [max_batch x input size]: the input's gradient (mn_model_backward_from) */
    float *probs;  /* [max_batch x n_classes] (x output size when n_classes is 0) */
    int *labels;   /* [max_batch] */
    mn_rng rng;    /* dropout masks */
    mn_safetensors file; /* metadata of the file it was loaded from, if any */
    int unfused;   /* set before mn_model_alloc: run every layer by itself, no
                    * conv+relu+maxpool fusion (same results; for tests) */
} mn_model;

/* The i-th preset's name (mlp, wide, 3b1b, cnn, lenet5), NULL past the
 * last: an arch string may be one of them. */
const char *mn_preset_name(int i);

/* The recipe a preset carries (`mnist train` flags, e.g. "--optimizer
 * adadelta --lr 1.0 ..."), or NULL. */
const char *mn_preset_recipe(const char *name);

/* Between mn_model_build and mn_model_alloc: the layers see
 * (input - mean) / std instead of the input (PyTorch's
 * transforms.Normalize), computed into a copy at the start of each pass, so
 * m->input is left as given. Saved in the model file's metadata (input_mean,
 * input_std) and applied again when it is loaded. */
int mn_model_set_normalize(mn_model *m, float mean, float std, mn_err *e);

/* Parses arch for the given input shape, computes all shapes and parameter
 * offsets. Does not allocate buffers. The last layer must produce exactly
 * n_classes outputs, or, with n_classes 0, anything (an autoencoder's
 * images, a generator's; output_shape says what). */
int mn_model_build(mn_model *m, const char *arch, mn_shape input, int n_classes, mn_err *e);

/* Allocates parameters, gradients and activations for batches of up to
 * max_batch samples. */
int mn_model_alloc(mn_model *m, int max_batch, mn_err *e);
/* Floats of activations (and, training, their gradients) and scratch per
 * sample that mn_model_alloc_for allocates, times max_batch. */
size_t mn_model_floats_per_sample(const mn_model *m, int training);
/* The same; with training 0, for inference only: no gradients, no
 * activation gradients, no labels (mn_model_forward and the backward
 * passes are then not to be called; mn_model_infer is). */
int mn_model_alloc_for(mn_model *m, int max_batch, int training, mn_err *e);

/* Initialisation from a seed: dense layers Glorot-uniform (Keras's default),
 * conv layers He-uniform unless given 'glorot'; zero biases. */
void mn_model_init(mn_model *m, uint64_t seed);

void mn_model_free(mn_model *m);

/* Forward pass on m->input[0..B). Returns the summed loss over the batch
 * (labels from m->labels) and sets *correct; m->probs holds the softmax. */
double mn_model_forward(mn_model *m, int B, int training, int *correct);

/* Inference on m->input[0..B): the class probabilities (softmax of the
 * logits, the same floats mn_model_forward puts in m->probs), in m->probs,
 * which it returns. No labels, no loss; works on a model allocated either
 * way. See infer.h for the call that takes images. */
const float *mn_model_infer(mn_model *m, int B);

/* The layers alone on m->input[0..B): the last layer's output (logits for a
 * classifier), no loss. For models whose loss is not the softmax
 * cross-entropy (autoencoders, GANs), with mn_model_backward_from. */
const float *mn_model_run(mn_model *m, int B, int training);
/* The backward pass from dout, the gradient of the loss with respect to the
 * output of the last mn_model_run (B x output size): fills m->grads; with
 * want_dinput, also m->dinput, the gradient with respect to the input (a
 * GAN's generator learns from its discriminator's). */
void mn_model_backward_from(mn_model *m, int B, const float *dout, int want_dinput);

/* Backward pass after a training forward: fills m->grads with the gradient
 * of the mean loss over the B samples. */
void mn_model_backward(mn_model *m, int B);

/* The backward pass and an optimizer step in one: the same gradients and the
 * same new parameters as mn_model_backward then mn_optim_step, bit for bit,
 * but each dense layer's weights are updated in its weight gradient's GEMM,
 * block by block while the gradient is in cache (the rest after the pass).
 * The dense weights' gradients need not reach m->grads: the GEMM may hand
 * them over from a scratch panel. */
void mn_model_backward_step(mn_model *m, int B, mn_optim *o);

/* Prints a Keras-style summary table. */
void mn_model_summary(const mn_model *m, FILE *f);

/* Saves to a safetensors file with PyTorch's nn.Sequential names, plus
 * metadata pairs (arch, input shape and format are added here). */
int mn_model_save(const mn_model *m, const char *path, const char *const *keys, const char *const *vals, int n_meta,
                  mn_err *e);
/* The same with extra tensors after the model's (checkpoints: "opt.*", "es.*";
 * mn_model_load ignores tensors with those prefixes). */
int mn_model_save_ext(const mn_model *m, const char *path, const mn_st_tensor *extra, int n_extra,
                      const char *const *keys, const char *const *vals, int n_meta, mn_err *e);

/* Loads a model file: rebuilds the architecture from its metadata, checks
 * that the tensors are exactly the architecture's (names and shapes), and
 * allocates for max_batch. */
int mn_model_load(mn_model *m, const char *path, int max_batch, mn_err *e);
/* The same for inference only (mn_model_alloc_for with training 0). */
int mn_model_open(mn_model *m, const char *path, int max_batch, mn_err *e);
int mn_model_load_for(mn_model *m, const char *path, int max_batch, int training, mn_err *e);

/* Several models in one file (an autoencoder's encoder and decoder, a GAN's
 * generator and discriminator): each model's tensors named
 * "<prefix>.<module>.<suffix>" (so a PyTorch user loads each part with the
 * prefix stripped), its arch, input_shape and classes under
 * "<prefix>.arch" etc.; extra tensors and metadata pairs as in
 * mn_model_save_ext. An empty prefix is the one-model file of
 * mn_model_save. */
int mn_models_save(const char *path, const mn_model *const *models, const char *const *prefixes, int n_models,
                   const mn_st_tensor *extra, int n_extra, const char *const *keys, const char *const *vals,
                   int n_meta, mn_err *e);
/* Loads the model named by prefix from such a file ("" for a one-model
 * file); training as in mn_model_alloc_for. */
int mn_model_load_part(mn_model *m, const char *path, const char *prefix, int max_batch, int training, mn_err *e);

/* Metadata value of a loaded model file (NULL if absent); kept after load. */
const char *mn_model_meta(const mn_model *m, const char *key);

#endif
