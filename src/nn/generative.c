/* generative.c - autoencoders, VAEs and GANs on two sequential models each
 * (see generative.h). */
#include "mnist/generative.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc64.h"
#include "mnist/kernels.h"

void mn_rng_gauss(mn_rng *r, float *out, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        /* u1 in (0, 1]: log never sees 0 */
        double u1 = ((double)(mn_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
        double u2 = (double)(mn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        out[i] = (float)(rad * cos(th));
        if (i + 1 < n) out[i + 1] = (float)(rad * sin(th));
    }
}

static float sigmoid(float z) { return z >= 0.0f ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); }

/* ---- autoencoders ---------------------------------------------------------- */

int mn_ae_init(mn_ae *a, const char *enc_arch, const char *dec_arch, mn_shape image, int latent, int variational,
               int max_batch, uint64_t seed, mn_err *e)
{
    memset(a, 0, sizeof *a);
    if (latent < 1 || latent > 4096) return mn_fail(e, "latent size %d (want 1 to 4096)", latent);
    size_t pix = mn_shape_size(image);
    char err[sizeof e->msg];
    if (mn_model_build(&a->enc, enc_arch, image, 0, e)) goto prefixed_enc;
    if (mn_shape_size(a->enc.output_shape) != (size_t)(variational ? 2 : 1) * (size_t)latent)
        return mn_fail(e, "encoder '%s' ends with %zu outputs; %s needs %d (end it with dense:%d)", a->enc.arch,
                       mn_shape_size(a->enc.output_shape), variational ? "a VAE with this latent size" : "the code",
                       (variational ? 2 : 1) * latent, (variational ? 2 : 1) * latent);
    if (mn_model_build(&a->dec, dec_arch, (mn_shape){latent, 1, 1}, 0, e)) goto prefixed_dec;
    if (mn_shape_size(a->dec.output_shape) != pix)
        return mn_fail(e, "decoder '%s' ends with %zu outputs; the images have %zu pixels (end it with dense:%zu)",
                       a->dec.arch, mn_shape_size(a->dec.output_shape), pix, pix);
    a->latent = latent;
    a->variational = variational;
    a->max_batch = max_batch;
    if (mn_model_alloc(&a->enc, max_batch, e) || mn_model_alloc(&a->dec, max_batch, e)) {
        mn_ae_free(a);
        return -1;
    }
    size_t B = (size_t)max_batch;
    a->x = mn_zalloc64(B * pix, sizeof(float));
    a->denc = mn_zalloc64(B * 2 * (size_t)latent, sizeof(float));
    a->eps = mn_zalloc64(B * (size_t)latent, sizeof(float));
    a->dz = mn_zalloc64(B * pix, sizeof(float));
    if (!a->x || !a->denc || !a->eps || !a->dz) {
        mn_ae_free(a);
        return mn_fail(e, "out of memory for the autoencoder");
    }
    mn_model_init(&a->enc, seed);
    mn_model_init(&a->dec, seed + 1);
    return 0;
prefixed_enc:
    snprintf(err, sizeof err, "%s", e->msg);
    return mn_fail(e, "encoder: %s", err);
prefixed_dec:
    snprintf(err, sizeof err, "%s", e->msg);
    return mn_fail(e, "decoder: %s", err);
}

void mn_ae_free(mn_ae *a)
{
    mn_model_free(&a->enc);
    mn_model_free(&a->dec);
    mn_free64(a->x), mn_free64(a->denc), mn_free64(a->eps), mn_free64(a->dz);
    a->x = a->denc = a->eps = a->dz = NULL;
}

/* Encoder forward on enc.input, the code into dec.input; returns the KL sum
 * (VAE). With rng NULL a VAE's code is its mean. */
static double encode(mn_ae *a, int B, int training, mn_rng *rng)
{
    int L = a->latent;
    const float *h = mn_model_run(&a->enc, B, training);
    if (!a->variational) {
        memcpy(a->dec.input, h, (size_t)B * L * sizeof(float));
        return 0.0;
    }
    double kl = 0.0;
    if (rng) mn_rng_gauss(rng, a->eps, (size_t)B * L);
    for (int n = 0; n < B; n++) {
        const float *mu = h + (size_t)n * 2 * L, *lv = mu + L;
        for (int j = 0; j < L; j++) {
            float eps = rng ? a->eps[(size_t)n * L + j] : 0.0f;
            a->dec.input[(size_t)n * L + j] = mu[j] + expf(0.5f * lv[j]) * eps;
            kl += -0.5 * (1.0 + (double)lv[j] - (double)mu[j] * mu[j] - exp((double)lv[j]));
        }
    }
    return kl;
}

static void add_noise(mn_ae *a, const float *x, int B, mn_rng *rng)
{
    size_t n = (size_t)B * mn_shape_size(a->enc.input_shape);
    memcpy(a->enc.input, x, n * sizeof(float));
    if (a->noise <= 0.0f || !rng) return;
    mn_rng_gauss(rng, a->dz, n); /* dz is free until the backward pass */
    for (size_t i = 0; i < n; i++) {
        float v = x[i] + a->noise * a->dz[i];
        a->enc.input[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
}

/* The step's or the evaluation's losses into st; with o, the step. */
static void ae_pass(mn_ae *a, mn_optim *oe, mn_optim *od, const float *x, int B, mn_rng *rng, mn_ae_stats *st)
{
    int L = a->latent, train = oe != NULL;
    size_t pix = mn_shape_size(a->enc.input_shape);
    add_noise(a, x, B, train ? rng : NULL);
    double kl = encode(a, B, train, rng);
    const float *y = mn_model_run(&a->dec, B, train);
    /* the VAE's loss is per image (summed over pixels), the plain one per pixel */
    float scale = a->variational ? 1.0f / (float)B : 1.0f / ((float)B * (float)pix);
    double rec = mn_sigmoid_bce_loss(y, x, (size_t)B * pix, train ? a->dz : NULL, scale);
    st->recon += rec;
    st->kl += kl;
    st->loss += a->variational ? rec + kl : rec / (double)pix;
    if (!train) return;
    mn_model_backward_from(&a->dec, B, a->dz, 1);
    const float *dzc = a->dec.dinput, *h = a->enc.act[a->enc.n_layers - 1];
    if (!a->variational) {
        memcpy(a->denc, dzc, (size_t)B * L * sizeof(float));
    } else {
        for (int n = 0; n < B; n++) {
            const float *mu = h + (size_t)n * 2 * L, *lv = mu + L, *dz = dzc + (size_t)n * L;
            float *dmu = a->denc + (size_t)n * 2 * L, *dlv = dmu + L;
            for (int j = 0; j < L; j++) {
                float s = expf(0.5f * lv[j]), eps = a->eps[(size_t)n * L + j];
                /* z = mu + s eps; KL' = mu (mean), (e^lv - 1) / 2 (log-variance) */
                dmu[j] = dz[j] + mu[j] * scale;
                dlv[j] = dz[j] * eps * 0.5f * s + 0.5f * (s * s - 1.0f) * scale;
            }
        }
    }
    mn_model_backward_from(&a->enc, B, a->denc, 0);
    mn_optim_step(od, a->dec.params, a->dec.grads);
    mn_optim_step(oe, a->enc.params, a->enc.grads);
}

void mn_ae_step(mn_ae *a, mn_optim *oe, mn_optim *od, const float *x, int B, mn_rng *rng, mn_ae_stats *st)
{
    ae_pass(a, oe, od, x, B, rng, st);
}

void mn_ae_eval(mn_ae *a, const float *x, int n, mn_rng *rng, mn_ae_stats *st)
{
    for (int done = 0; done < n;) {
        int B = n - done < a->max_batch ? n - done : a->max_batch;
        ae_pass(a, NULL, NULL, x + (size_t)done * mn_shape_size(a->enc.input_shape), B, rng, st);
        done += B;
    }
}

void mn_ae_encode(mn_ae *a, const float *x, int n, float *z)
{
    size_t pix = mn_shape_size(a->enc.input_shape);
    int L = a->latent;
    for (int done = 0; done < n;) {
        int B = n - done < a->max_batch ? n - done : a->max_batch;
        memcpy(a->enc.input, x + (size_t)done * pix, (size_t)B * pix * sizeof(float));
        encode(a, B, 0, NULL);
        memcpy(z + (size_t)done * L, a->dec.input, (size_t)B * L * sizeof(float));
        done += B;
    }
}

/* The decoder on dec.input[0..B): images in [0, 1] into out. */
static void decode_batch(mn_ae *a, int B, float *out)
{
    const float *y = mn_model_run(&a->dec, B, 0);
    for (size_t i = 0; i < (size_t)B * mn_shape_size(a->dec.output_shape); i++) out[i] = sigmoid(y[i]);
}

void mn_ae_decode(mn_ae *a, const float *z, int n, float *out)
{
    size_t pix = mn_shape_size(a->dec.output_shape);
    int L = a->latent;
    for (int done = 0; done < n;) {
        int B = n - done < a->max_batch ? n - done : a->max_batch;
        memcpy(a->dec.input, z + (size_t)done * L, (size_t)B * L * sizeof(float));
        decode_batch(a, B, out + (size_t)done * pix);
        done += B;
    }
}

void mn_ae_reconstruct(mn_ae *a, const float *x, int n, float *out)
{
    size_t pix = mn_shape_size(a->enc.input_shape);
    for (int done = 0; done < n;) {
        int B = n - done < a->max_batch ? n - done : a->max_batch;
        memcpy(a->enc.input, x + (size_t)done * pix, (size_t)B * pix * sizeof(float));
        encode(a, B, 0, NULL);
        decode_batch(a, B, out + (size_t)done * pix);
        done += B;
    }
}

/* ---- GANs ------------------------------------------------------------------- */

int mn_gan_init(mn_gan *gan, const char *g_arch, const char *d_arch, mn_shape image, int latent, int n_classes,
                int max_batch, uint64_t seed, mn_err *e)
{
    memset(gan, 0, sizeof *gan);
    if (latent < 1 || latent > 4096) return mn_fail(e, "latent size %d (want 1 to 4096)", latent);
    size_t pix = mn_shape_size(image);
    char err[sizeof e->msg];
    mn_shape gin = {latent + n_classes, 1, 1};
    /* a conditional discriminator: the classes after a flat image, or as
     * maps after C x H x W channels */
    int flat = image.h == 1 && image.w == 1;
    mn_shape din = image;
    if (n_classes) din = flat ? (mn_shape){image.c + n_classes, 1, 1} : (mn_shape){image.c + n_classes, image.h, image.w};
    if (mn_model_build(&gan->g, g_arch, gin, 0, e)) {
        snprintf(err, sizeof err, "%s", e->msg);
        return mn_fail(e, "generator: %s", err);
    }
    if (mn_shape_size(gan->g.output_shape) != pix)
        return mn_fail(e, "generator '%s' ends with %zu outputs; the images have %zu pixels", gan->g.arch,
                       mn_shape_size(gan->g.output_shape), pix);
    if (mn_model_build(&gan->d, d_arch, din, 0, e)) {
        snprintf(err, sizeof err, "%s", e->msg);
        return mn_fail(e, "discriminator: %s", err);
    }
    if (mn_shape_size(gan->d.output_shape) != 1)
        return mn_fail(e, "discriminator '%s' ends with %zu outputs; it needs 1 (end it with dense:1)", gan->d.arch,
                       mn_shape_size(gan->d.output_shape));
    gan->latent = latent;
    gan->n_classes = n_classes;
    gan->real_target = 1.0f;
    gan->max_batch = max_batch;
    if (mn_model_alloc(&gan->g, max_batch, e) || mn_model_alloc(&gan->d, 2 * max_batch, e)) {
        mn_gan_free(gan);
        return -1;
    }
    size_t B = (size_t)max_batch;
    gan->real = mn_zalloc64(B * pix, sizeof(float));
    gan->fake = mn_zalloc64(B * pix, sizeof(float));
    gan->dlogit = mn_zalloc64(2 * B, sizeof(float));
    gan->target = mn_zalloc64(2 * B, sizeof(float));
    if (!gan->real || !gan->fake || !gan->dlogit || !gan->target) {
        mn_gan_free(gan);
        return mn_fail(e, "out of memory for the GAN");
    }
    mn_model_init(&gan->g, seed);
    mn_model_init(&gan->d, seed + 1);
    return 0;
}

void mn_gan_free(mn_gan *gan)
{
    mn_model_free(&gan->g);
    mn_model_free(&gan->d);
    mn_free64(gan->real), mn_free64(gan->fake), mn_free64(gan->dlogit), mn_free64(gan->target);
    gan->real = gan->fake = gan->dlogit = gan->target = NULL;
}

/* Row `row` of the discriminator's input: image img (in [-1, 1]) and, when
 * conditional, its class. */
static void d_input(mn_gan *gan, int row, const float *img, int cls)
{
    const mn_shape in = gan->d.input_shape;
    size_t pix = mn_shape_size(gan->g.output_shape), per = mn_shape_size(in);
    float *dst = gan->d.input + (size_t)row * per;
    memcpy(dst, img, pix * sizeof(float));
    if (!gan->n_classes) return;
    size_t plane = (size_t)in.h * in.w, rest = per - pix; /* n_classes values or maps */
    memset(dst + pix, 0, rest * sizeof(float));
    for (size_t i = 0; i < plane; i++) dst[pix + (size_t)cls * plane + i] = 1.0f;
}

/* The generator on noise (and classes) for B images: gan->fake in [-1, 1]. */
static const float *g_forward(mn_gan *gan, const float *z, const int *labels, int B, int training)
{
    int L = gan->latent, K = gan->n_classes, per = L + K;
    for (int n = 0; n < B; n++) {
        float *dst = gan->g.input + (size_t)n * per;
        memcpy(dst, z + (size_t)n * L, (size_t)L * sizeof(float));
        for (int k = 0; k < K; k++) dst[L + k] = k == labels[n] ? 1.0f : 0.0f;
    }
    return mn_model_run(&gan->g, B, training);
}

void mn_gan_step(mn_gan *gan, mn_optim *og, mn_optim *od, const float *x, const int *labels, int B, mn_rng *rng,
                 mn_gan_stats *st)
{
    int L = gan->latent, K = gan->n_classes;
    size_t pix = mn_shape_size(gan->g.output_shape);
    /* noise and (conditional) classes for the generated half: the
     * classes of the real batch, so both halves have the same mix */
    float *z = gan->fake; /* holds the noise until the generator overwrites it below */
    mn_rng_gauss(rng, z, (size_t)B * L);
    const float *img = g_forward(gan, z, labels, B, 1);
    memcpy(gan->fake, img, (size_t)B * pix * sizeof(float));
    for (size_t i = 0; i < (size_t)B * pix; i++) gan->real[i] = 2.0f * x[i] - 1.0f;

    /* discriminator: real then generated in one batch of 2B */
    for (int n = 0; n < B; n++) {
        d_input(gan, n, gan->real + (size_t)n * pix, K ? labels[n] : 0);
        d_input(gan, B + n, gan->fake + (size_t)n * pix, K ? labels[n] : 0);
        gan->target[n] = gan->real_target;
        gan->target[B + n] = 0.0f;
    }
    const float *logit = mn_model_run(&gan->d, 2 * B, 1);
    st->d_loss += mn_sigmoid_bce_loss(logit, gan->target, (size_t)2 * B, gan->dlogit, 1.0f / (float)(2 * B)) / (2 * B);
    for (int n = 0; n < B; n++) st->d_real += sigmoid(logit[n]) / B, st->d_fake += sigmoid(logit[B + n]) / B;
    mn_model_backward_from(&gan->d, 2 * B, gan->dlogit, 0);
    mn_optim_step(od, gan->d.params, gan->d.grads);

    /* generator: fresh noise, through the discriminator, target 1 */
    mn_rng_gauss(rng, gan->real, (size_t)B * L); /* real is free now: the noise */
    img = g_forward(gan, gan->real, labels, B, 1);
    for (int n = 0; n < B; n++) {
        d_input(gan, n, img + (size_t)n * pix, K ? labels[n] : 0);
        gan->target[n] = 1.0f;
    }
    logit = mn_model_run(&gan->d, B, 1);
    st->g_loss += mn_sigmoid_bce_loss(logit, gan->target, (size_t)B, gan->dlogit, 1.0f / (float)B) / B;
    mn_model_backward_from(&gan->d, B, gan->dlogit, 1);
    /* the image part of the discriminator's input gradient */
    size_t per = mn_shape_size(gan->d.input_shape);
    float *dimg = gan->fake;
    for (int n = 0; n < B; n++) memcpy(dimg + (size_t)n * pix, gan->d.dinput + (size_t)n * per, pix * sizeof(float));
    mn_model_backward_from(&gan->g, B, dimg, 0);
    mn_optim_step(og, gan->g.params, gan->g.grads);
    st->steps++;
}

void mn_gan_generate(mn_gan *gan, const float *z, const int *labels, int n, float *out)
{
    size_t pix = mn_shape_size(gan->g.output_shape);
    int L = gan->latent;
    for (int done = 0; done < n;) {
        int B = n - done < gan->max_batch ? n - done : gan->max_batch;
        const float *img = g_forward(gan, z + (size_t)done * L, labels ? labels + done : NULL, B, 0);
        for (size_t i = 0; i < (size_t)B * pix; i++) {
            float v = 0.5f * (img[i] + 1.0f);
            out[(size_t)done * pix + i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        done += B;
    }
}
