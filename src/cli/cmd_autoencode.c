/* cmd_autoencode.c - `mnist autoencode`: trains an autoencoder (denoising
 * with --noise, variational with --variational) on the training images,
 * reports the test reconstruction loss per epoch, draws test digits beside
 * their reconstructions, and saves encoder and decoder in one file. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/draw.h"
#include "mnist/generative.h"
#include "mnist/dataset.h"

static const char help[] =
    "Usage: mnist autoencode [options]\n"
    "\n"
    "Trains an autoencoder on the training images (the decoder's output is compared with\n"
    "the input by binary cross-entropy), reports the test reconstruction loss per epoch\n"
    "and saves encoder and decoder in one safetensors file (tensors encoder.* and decoder.*).\n"
    "\n"
    "  --arch A             dense (default), conv (Keras's convolutional denoising example),\n"
    "                       vae (Keras's VAE example; implies --variational), or ENCODER/DECODER\n"
    "                       as two arch strings, e.g. \"dense:128,relu,dense:32/dense:128,relu,dense:784\"\n"
    "  --latent L           code size (default 32; 2 with --variational; conv: 1568, its 32x7x7 maps)\n"
    "  --variational        a VAE: the encoder gives 2L means and log-variances, the loss adds the\n"
    "                       KL term and is reported per image (reconstruction + KL)\n"
    "  --noise STD          a denoising autoencoder: Gaussian noise added to the inputs only\n"
    "  --epochs N           (default 5)\n"
    "  --batch-size N       (default 128)\n"
    "  --lr X               Adam's learning rate (default 0.001)\n"
    "  --seed N             (default 1)\n"
    "  --data DIR           data directory (default: $MNIST_DATA, else data/mnist)\n"
    "  --output FILE        the model file (default autoencoder.bin)\n"
    "  --png FILE           after each epoch: test digits (top rows) over their reconstructions\n"
    "  --grid FILE          VAE with L = 2: decoded digits over the latent plane [-2, 2]^2\n"
    "  --scatter FILE       VAE with L = 2: the test set's latent means coloured by class\n";

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

/* 8 test digits, then their reconstructions */
static int draw_recon(mn_ae *a, const float *test, const char *path, mn_err *e)
{
    enum { K = 8 };
    size_t pix = mn_shape_size(a->enc.input_shape);
    float *img = malloc(2 * K * pix * sizeof *img);
    if (!img) return mn_fail(e, "%s: out of memory", path);
    memcpy(img, test, K * pix * sizeof *img);
    mn_ae_reconstruct(a, test, K, img + K * pix);
    const char *labels[2] = {"in", "out"};
    int rc = mn_draw_digit_grid(path, img, 2 * K, a->enc.input_shape.h, a->enc.input_shape.w, K, 2, labels, e);
    free(img);
    return rc;
}

/* Keras's picture: digits decoded at a 15 x 15 grid of points of [-2, 2]^2 */
static int draw_grid(mn_ae *a, const char *path, mn_err *e)
{
    enum { G = 15 };
    size_t pix = mn_shape_size(a->dec.output_shape);
    float z[2 * G * G], *img = malloc((size_t)G * G * pix * sizeof *img);
    if (!img) return mn_fail(e, "%s: out of memory", path);
    for (int r = 0; r < G; r++)
        for (int c = 0; c < G; c++) {
            z[2 * (r * G + c)] = -2.0f + 4.0f * (float)c / (G - 1);
            z[2 * (r * G + c) + 1] = 2.0f - 4.0f * (float)r / (G - 1);
        }
    mn_ae_decode(a, z, G * G, img);
    int rc = mn_draw_digit_grid(path, img, G * G, a->enc.input_shape.h, a->enc.input_shape.w, G, 1, NULL, e);
    free(img);
    return rc;
}

static int draw_scatter(mn_ae *a, const float *test, const int *labels, int n, const char *path, mn_err *e)
{
    float *z = malloc((size_t)n * 2 * sizeof *z);
    if (!z) return mn_fail(e, "%s: out of memory", path);
    mn_ae_encode(a, test, n, z);
    int rc = mn_draw_scatter(path, z, labels, n, 600, e);
    free(z);
    return rc;
}

typedef struct {
    const char *arch, *data, *output, *png, *grid, *scatter;
    long latent, epochs, batch;
    double lr, noise;
    uint64_t seed;
    int variational;
} ae_args;

static int parse_args(int argc, char **argv, ae_args *a)
{
    *a = (ae_args){.arch = "dense", .output = "autoencoder.bin", .latent = -1, .epochs = 5, .batch = 128,
                   .lr = 0.001, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
#define OPT(name) ((r = cli_opt("autoencode", argc, argv, &i, name, &v)) != 0)
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            exit(0);
        } else if (!strcmp(s, "--variational")) {
            a->variational = 1;
        } else if (OPT("--arch")) {
            if (r < 0) return -1;
            a->arch = v;
        } else if (OPT("--latent")) {
            if (r < 0 || cli_int("autoencode", "--latent", v, 1, 4096, &a->latent)) return -1;
        } else if (OPT("--noise")) {
            if (r < 0 || cli_float("autoencode", "--noise", v, 0, 10, &a->noise)) return -1;
        } else if (OPT("--epochs")) {
            if (r < 0 || cli_int("autoencode", "--epochs", v, 1, 100000, &a->epochs)) return -1;
        } else if (OPT("--batch-size")) {
            if (r < 0 || cli_int("autoencode", "--batch-size", v, 1, 65536, &a->batch)) return -1;
        } else if (OPT("--lr")) {
            if (r < 0 || cli_float("autoencode", "--lr", v, 1e-9, 10, &a->lr)) return -1;
        } else if (OPT("--seed")) {
            if (r < 0 || cli_u64("autoencode", "--seed", v, &a->seed)) return -1;
        } else if (OPT("--data")) {
            if (r < 0) return -1;
            a->data = v;
        } else if (OPT("--output")) {
            if (r < 0) return -1;
            a->output = v;
        } else if (OPT("--png")) {
            if (r < 0) return -1;
            a->png = v;
        } else if (OPT("--grid")) {
            if (r < 0) return -1;
            a->grid = v;
        } else if (OPT("--scatter")) {
            if (r < 0) return -1;
            a->scatter = v;
        } else {
            cli_usage_error("autoencode", "unknown option '%s'", s);
            return -1;
        }
#undef OPT
    }
    if (!strcmp(a->arch, "vae")) a->variational = 1;
    if (a->latent < 0) a->latent = a->variational ? 2 : !strcmp(a->arch, "conv") ? 1568 : 32;
    if (!strcmp(a->arch, "conv") && a->latent != 1568)
        return cli_usage_error("autoencode", "--arch conv's code is its 32x7x7 maps: --latent must be 1568"), -1;
    if ((a->grid || a->scatter) && !(a->variational && a->latent == 2))
        return cli_usage_error("autoencode", "--grid and --scatter draw a 2-D latent space: add --variational --latent 2"),
               -1;
    return 0;
}

/* The encoder and decoder strings of a preset or of "ENC/DEC". */
static int archs(const ae_args *a, int pix, char *enc, char *dec, size_t len)
{
    int L = (int)a->latent, out = a->variational ? 2 * L : L;
    if (!strcmp(a->arch, "dense")) {
        snprintf(enc, len, "dense:128,relu,dense:%d", out);
        snprintf(dec, len, "dense:128,relu,dense:%d", pix);
    } else if (!strcmp(a->arch, "conv")) {
        snprintf(enc, len, "conv:32:3:same,relu,maxpool:2,conv:32:3:same,relu,maxpool:2%s",
                 a->variational ? ",flatten,dense:3136" : "");
        snprintf(dec, len, "reshape:32:7:7,convtranspose:32:4:s2:p1,relu,convtranspose:32:4:s2:p1,relu,conv:1:3:same");
    } else if (!strcmp(a->arch, "vae")) {
        snprintf(enc, len, "conv:32:3:s2:p1,relu,conv:64:3:s2:p1,relu,flatten,dense:16,relu,dense:%d", out);
        snprintf(dec, len,
                 "dense:3136,relu,reshape:64:7:7,convtranspose:64:4:s2:p1,relu,convtranspose:32:4:s2:p1,relu,"
                 "conv:1:3:same");
    } else {
        const char *slash = strchr(a->arch, '/');
        if (!slash || strchr(slash + 1, '/') || (size_t)(slash - a->arch) >= len || strlen(slash + 1) >= len)
            return cli_usage_error("autoencode", "--arch takes dense, conv, vae or ENCODER/DECODER, not '%s'", a->arch);
        snprintf(enc, len, "%.*s", (int)(slash - a->arch), a->arch);
        snprintf(dec, len, "%s", slash + 1);
    }
    return 0;
}

int cmd_autoencode(int argc, char **argv)
{
    ae_args a;
    if (parse_args(argc, argv, &a)) return EXIT_USAGE;
    char enc[MN_ARCH_MAX], dec[MN_ARCH_MAX];
    if (archs(&a, 784, enc, dec, sizeof enc)) return EXIT_USAGE; /* the form, before reading data */
    mn_err e;
    mn_dataset train = {0}, test = {0};
    const char *dir = cli_data_source(a.data, stdout);
    if (mn_data_load(dir, MN_SPLIT_TRAIN, &train, &e) < 0 || mn_data_load(dir, MN_SPLIT_TEST, &test, &e)) {
        mn_dataset_free(&train);
        return cli_fail(&e);
    }
    mn_shape img = {train.c, train.h, train.w};
    int pix = train.c * train.h * train.w, rc = 1;
    archs(&a, pix, enc, dec, sizeof enc);
    mn_ae ae;
    mn_optim oe = {0}, od = {0};
    float *x = NULL, *tx = NULL;
    int *order = NULL, *tl = NULL;
    if (mn_ae_init(&ae, enc, dec, img, (int)a.latent, a.variational, (int)a.batch, a.seed, &e)) {
        mn_dataset_free(&train), mn_dataset_free(&test);
        fprintf(stderr, "mnist autoencode: %s\n", e.msg);
        return EXIT_USAGE;
    }
    ae.noise = (float)a.noise;
    if (mn_optim_init(&oe, MN_ADAM, (float)a.lr, ae.enc.n_params, &e) ||
        mn_optim_init(&od, MN_ADAM, (float)a.lr, ae.dec.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    x = malloc((size_t)a.batch * pix * sizeof *x);
    tx = malloc((size_t)test.n * pix * sizeof *tx);
    tl = malloc((size_t)test.n * sizeof *tl);
    order = malloc((size_t)train.n * sizeof *order);
    if (!x || !tx || !tl || !order) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    mn_dataset_batch(&test, NULL, 0, test.n, tx, tl);
    for (int i = 0; i < train.n; i++) order[i] = i;
    mn_rng rng, eval_rng;
    mn_rng_seed(&rng, a.seed ^ 0xAE0AE0AE0AE0AE0Aull);
    printf("encoder: %s\ndecoder: %s\n", ae.enc.arch, ae.dec.arch);
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    long steps = (train.n + a.batch - 1) / a.batch;
    for (long ep = 1; ep <= a.epochs && !interrupted; ep++) {
        double t0 = cli_seconds();
        mn_rng_shuffle(&rng, order, train.n);
        mn_ae_stats st = {0};
        int seen = 0;
        for (long s = 0; s < steps && !interrupted; s++) {
            int first = (int)(s * a.batch), B = train.n - first < a.batch ? train.n - first : (int)a.batch;
            mn_dataset_batch(&train, order, first, B, x, NULL);
            mn_ae_step(&ae, &oe, &od, x, B, &rng, &st);
            seen += B;
        }
        if (interrupted) break;
        mn_ae_stats ts = {0};
        mn_rng_seed(&eval_rng, a.seed + 7); /* the same test draws every epoch */
        mn_ae_eval(&ae, tx, test.n, &eval_rng, &ts);
        double loss = st.loss / seen, vloss = ts.loss / test.n;
        printf("Epoch %ld/%ld\n%ld/%ld - %.0fs - loss: %.4f - val_loss: %.4f", ep, a.epochs, steps, steps,
               cli_seconds() - t0, loss, vloss);
        if (a.variational)
            printf(" - val_reconstruction: %.2f - val_kl: %.2f", ts.recon / test.n, ts.kl / test.n);
        printf("\n");
        fflush(stdout);
        if (loss != loss || loss > 1e6) {
            fprintf(stderr, "mnist: autoencode diverged at epoch %ld (loss %g): try a smaller --lr\n", ep, loss);
            goto out;
        }
        if (a.png && draw_recon(&ae, tx, a.png, &e)) {
            cli_fail(&e);
            goto out;
        }
    }
    if (interrupted) {
        fprintf(stderr, "mnist: interrupted; no model written\n");
        rc = 130;
        goto out;
    }
    if ((a.grid && draw_grid(&ae, a.grid, &e)) || (a.scatter && draw_scatter(&ae, tx, tl, test.n, a.scatter, &e))) {
        cli_fail(&e);
        goto out;
    }
    char latent[16], seed[24];
    snprintf(latent, sizeof latent, "%ld", a.latent);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a.seed);
    const char *keys[] = {"kind", "latent", "seed"}, *vals[] = {a.variational ? "vae" : "autoencoder", latent, seed};
    const mn_model *models[] = {&ae.enc, &ae.dec};
    const char *prefixes[] = {MN_AE_ENCODER, MN_AE_DECODER};
    if (mn_models_save(a.output, models, prefixes, 2, NULL, 0, keys, vals, 3, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (a.png) printf("saved %s\n", a.png);
    if (a.grid) printf("saved %s\n", a.grid);
    if (a.scatter) printf("saved %s\n", a.scatter);
    printf("saved %s\n", a.output);
    rc = 0;
out:
    signal(SIGINT, SIG_DFL);
    free(x), free(tx), free(tl), free(order);
    mn_optim_free(&oe), mn_optim_free(&od);
    mn_ae_free(&ae);
    mn_dataset_free(&train), mn_dataset_free(&test);
    return rc;
}
