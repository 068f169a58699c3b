/* generative.h - networks that draw digits: autoencoders, variational
 * autoencoders and GANs, built from two sequential models each.
 *
 * Autoencoder: an encoder (image -> code) and a decoder (code -> image
 * logits; the loss applies the sigmoid). The loss is the binary
 * cross-entropy of the reconstruction against the clean image, reported
 * per pixel as Keras's binary_crossentropy does. A denoising autoencoder
 * adds Gaussian noise (std `noise`, clipped to [0, 1]) to its inputs only.
 *
 * Variational autoencoder (Kingma & Welling): the encoder outputs 2L
 * numbers per image, the means and log-variances of a Gaussian code; the
 * decoder gets z = mean + exp(logvar / 2) * eps, eps ~ N(0, 1) (the
 * reparameterisation trick); the loss per image is the reconstruction's
 * binary cross-entropy summed over pixels plus the KL divergence
 * -1/2 sum(1 + logvar - mean^2 - exp(logvar)), as in Keras's VAE example.
 *
 * GAN (Goodfellow et al.): a generator (L noise values, plus a one-hot class
 * when conditional -> an image in [-1, 1]: end it with tanh) and a
 * discriminator (an image in [-1, 1], plus the class when conditional ->
 * one logit). Alternating steps with their own optimizers: the
 * discriminator on a batch of real and a batch of generated images
 * (targets `real_target` — 1, or 0.9 with one-sided label smoothing — and
 * 0), then the generator through the discriminator (target 1, the
 * non-saturating loss). A conditional discriminator takes the class as
 * n_classes more inputs after a flat image, or as n_classes more channels
 * of constant maps after a C x H x W one.
 *
 * All randomness comes from the mn_rng given, so a seed gives the same
 * models at any thread count. Nothing allocates in a step: the work buffers
 * are sized once by mn_ae_init / mn_gan_init.
 */
#ifndef MNIST_GENERATIVE_H
#define MNIST_GENERATIVE_H

#include "mnist/dataset.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/rng.h"

typedef struct {
    mn_model enc, dec;
    int latent;      /* L: the decoder's inputs */
    int variational; /* the encoder outputs 2L: means, then log-variances */
    float noise;     /* std of the noise added to inputs (denoising), 0: none */
    int max_batch;
    float *x, *dz, *denc, *eps; /* clean batch, code gradient, encoder output gradient, eps */
} mn_ae;

typedef struct {
    double loss;  /* the reported loss: per pixel (autoencoder) or per image (VAE) */
    double recon; /* VAE: reconstruction part, per image */
    double kl;    /* VAE: KL part, per image */
} mn_ae_stats;

/* Builds and allocates both models (enc_arch on the image shape, dec_arch
 * on L x 1 x 1 with the image's size as output) and inits them from seed. */
int mn_ae_init(mn_ae *a, const char *enc_arch, const char *dec_arch, mn_shape image, int latent, int variational,
               int max_batch, uint64_t seed, mn_err *e);
void mn_ae_free(mn_ae *a);
/* One optimizer step on images x[0..B) (floats in [0, 1]); adds the batch's
 * summed losses into *st (divide by the images seen). */
void mn_ae_step(mn_ae *a, mn_optim *oe, mn_optim *od, const float *x, int B, mn_rng *rng, mn_ae_stats *st);
/* Losses on x[0..n) without training (a VAE's code sampled from rng, as
 * Keras's example evaluates it; no noise added). */
void mn_ae_eval(mn_ae *a, const float *x, int n, mn_rng *rng, mn_ae_stats *st);
/* Reconstructions (in [0, 1]) of x[0..n) into out; VAE codes are the means. */
void mn_ae_reconstruct(mn_ae *a, const float *x, int n, float *out);
/* The codes of x[0..n) into z[n x L] (VAE: the means). */
void mn_ae_encode(mn_ae *a, const float *x, int n, float *z);
/* Images (in [0, 1]) decoded from codes z[n x L]. */
void mn_ae_decode(mn_ae *a, const float *z, int n, float *out);

typedef struct {
    mn_model g, d;
    int latent;        /* L: noise values per generated image */
    int n_classes;     /* conditional: the classes (one-hot inputs); 0: unconditional */
    float real_target; /* 1, or 0.9 with label smoothing */
    int max_batch;
    float *real, *fake, *dlogit, *target; /* work buffers */
} mn_gan;

typedef struct {
    double d_loss, g_loss; /* summed BCE (divide by the steps) */
    double d_real, d_fake; /* summed mean D(x) on real and generated images */
    int steps;
} mn_gan_stats;

/* g_arch on (L + n_classes) x 1 x 1 inputs, its output the image's size;
 * d_arch on the image (+ class inputs) with 1 output. The image shape says
 * how a conditional discriminator gets the class: (P, 1, 1) for a flat
 * image (P + n_classes inputs), C x H x W for maps (C + n_classes maps). */
int mn_gan_init(mn_gan *gan, const char *g_arch, const char *d_arch, mn_shape image, int latent, int n_classes,
                int max_batch, uint64_t seed, mn_err *e);
void mn_gan_free(mn_gan *gan);
/* One discriminator step and one generator step on real images x[0..B)
 * (floats in [0, 1]) with classes labels[0..B) (conditional only). */
void mn_gan_step(mn_gan *gan, mn_optim *og, mn_optim *od, const float *x, const int *labels, int B, mn_rng *rng,
                 mn_gan_stats *st);
/* Images (in [0, 1]) from noise z[n x L] (and classes, conditional). */
void mn_gan_generate(mn_gan *gan, const float *z, const int *labels, int n, float *out);

/* Standard normal samples (Box-Muller on the generator's draws). */
void mn_rng_gauss(mn_rng *r, float *out, size_t n);

/* The layout of a model file holding such a pair: the models' prefixes. */
#define MN_AE_ENCODER "encoder"
#define MN_AE_DECODER "decoder"
#define MN_GAN_GENERATOR "generator"
#define MN_GAN_DISCRIMINATOR "discriminator"

#endif
