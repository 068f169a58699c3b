/* cmd_autoencode.c - `mnist autoencode`: trains an autoencoder (denoising
 * with --noise, variational with --variational) on the training images,
 * reports the test reconstruction loss per epoch, draws test digits beside
 * their reconstructions, and saves encoder and decoder in one file. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen_common.h"
#include "mnist/draw.h"
#include "mnist/generative.h"
#include "mnist/dataset.h"

static const char help_head[] =
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
    "  --noise STD          a denoising autoencoder: Gaussian noise added to the inputs only\n";
static const char help_tail[] =
    "  --grid FILE          VAE with L = 2: decoded digits over the latent plane [-2, 2]^2\n"
    "  --scatter FILE       VAE with L = 2: the test set's latent means coloured by class\n"
    "\n"
    "Ctrl-C finishes the step, saves the checkpoint (with --checkpoint) and exits with 130;\n"
    "a loss that stops being finite ends the run with an error and no model written.\n";

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
    gen_opts g; /* epochs, batch size, lr, seed, threads, data, output, png, checkpoint, resume */
    const char *arch, *grid, *scatter;
    long latent;
    double noise;
    int variational;
} ae_args;

static const ae_args defaults = {.g = {.cmd = "autoencode", .output = "autoencoder.bin", .epochs = 5, .batch = 128,
                                       .lr = 0.001, .seed = 1},
                                 .arch = "dense", .latent = -1};

static int parse_args(int argc, char **argv, void *args, int init)
{
    ae_args *a = args;
    if (init) *a = defaults;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help_head, stdout);
            gen_help(stdout, &defaults.g, "Adam's learning rate",
                     "after each epoch: test digits (top rows) over their reconstructions");
            fputs(help_tail, stdout);
            exit(0);
        }
        if ((r = gen_opt(&a->g, argc, argv, &i))) {
            if (r < 0) return -1;
            continue;
        }
#define OPT(name) ((r = cli_opt("autoencode", argc, argv, &i, name, &v)) != 0)
        if (!strcmp(s, "--variational")) {
            a->variational = 1, a->g.recipe_set = 1;
        } else if (OPT("--arch")) {
            if (r < 0) return -1;
            a->arch = v, a->g.recipe_set = 1;
        } else if (OPT("--latent")) {
            if (r < 0 || cli_int("autoencode", "--latent", v, 1, 4096, &a->latent)) return -1;
            a->g.recipe_set = 1;
        } else if (OPT("--noise")) {
            if (r < 0 || cli_float("autoencode", "--noise", v, 0, 10, &a->noise)) return -1;
            a->g.recipe_set = 1;
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
    return 0;
}

/* The defaults that depend on other flags, and the checks across flags. */
static int finish_args(ae_args *a)
{
    if (!strcmp(a->arch, "vae")) a->variational = 1;
    if (a->latent < 0) a->latent = a->variational ? 2 : !strcmp(a->arch, "conv") ? 1568 : 32;
    if (!strcmp(a->arch, "conv") && a->latent != 1568)
        return cli_usage_error("autoencode", "--arch conv's code is its 32x7x7 maps: --latent must be 1568"), -1;
    if ((a->grid || a->scatter) && !(a->variational && a->latent == 2))
        return cli_usage_error("autoencode", "--grid and --scatter draw a 2-D latent space: add --variational --latent 2"),
               -1;
    return 0;
}

/* The recipe as "recipe.<flag>" metadata: what --resume reads back. */
/* and the final file's metadata (kind, latent, seed), so that `mnist generate`
 * draws from a VAE's checkpoint too */
enum { R_ARCH, R_LATENT, R_NOISE, R_VAR, R_BATCH, R_LR, R_SEED, R_KIND, R_MLATENT, R_MSEED, R_EPOCHS, R_N };
typedef struct {
    const char *keys[R_N], *vals[R_N];
    char buf[R_N][40];
} ae_recipe;

static void recipe_of(const ae_args *a, ae_recipe *r)
{
    static const char *const keys[R_N] = {"recipe.arch", "recipe.latent", "recipe.noise", "recipe.variational",
                                          "recipe.batch-size", "recipe.lr", "recipe.seed", "kind", "latent", "seed", "epochs"};
    for (int i = 0; i < R_N; i++) r->keys[i] = keys[i], r->vals[i] = r->buf[i];
    r->vals[R_ARCH] = a->arch;
    snprintf(r->buf[R_LATENT], 40, "%ld", a->latent);
    snprintf(r->buf[R_NOISE], 40, "%.17g", a->noise);
    snprintf(r->buf[R_VAR], 40, "%d", a->variational);
    snprintf(r->buf[R_BATCH], 40, "%ld", a->g.batch);
    snprintf(r->buf[R_LR], 40, "%.17g", a->g.lr);
    snprintf(r->buf[R_SEED], 40, "%llu", (unsigned long long)a->g.seed);
    r->vals[R_KIND] = a->variational ? "vae" : "autoencoder";
    snprintf(r->buf[R_MLATENT], 40, "%ld", a->latent);
    snprintf(r->buf[R_MSEED], 40, "%llu", (unsigned long long)a->g.seed);
    snprintf(r->buf[R_EPOCHS], 40, "%ld", (long)a->g.epochs);
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

/* What a checkpoint needs, for the epoch's end and for Ctrl-C. */
typedef struct {
    const ae_args *a;
    mn_ae *ae;
    mn_optim *oe, *od;
    gen_state *st;
    ae_recipe *r;
} ae_run;

static int save_checkpoint(void *user, mn_err *e)
{
    ae_run *c = user;
    gen_part parts[2] = {{MN_AE_ENCODER, &c->ae->enc, c->oe}, {MN_AE_DECODER, &c->ae->dec, c->od}};
    return gen_checkpoint_save(c->a->g.checkpoint, parts, 2, c->st, NULL, 0, c->r->keys, c->r->vals, R_N, e);
}

int cmd_autoencode(int argc, char **argv)
{
    ae_args a;
    mn_safetensors recipe_file;
    static const char *const kinds[] = {"autoencoder", "vae"}, *const bools[] = {"--variational"},
                             *const flags[] = {"--arch", "--latent", "--noise", "--batch-size", "--lr", "--seed"};
    int prc = gen_parse(argc, argv, &a, &a.g, parse_args, kinds, 2, flags, 6, bools, 1, &recipe_file);
    if (prc) return prc;
    char enc[MN_ARCH_MAX], dec[MN_ARCH_MAX];
    mn_err e;
    mn_dataset train = {0}, test = {0};
    mn_ae ae = {0};
    mn_optim oe = {0}, od = {0};
    float *x = NULL, *tx = NULL;
    int *order = NULL, *tl = NULL, rc = EXIT_USAGE;
    if (finish_args(&a) || archs(&a, 784, enc, dec, sizeof enc)) goto out; /* the form, before reading data */
    rc = 1;
    if (gen_prepare(&a.g)) goto out;
    const char *dir = cli_data_source(a.g.data, stdout);
    if (mn_data_load(dir, MN_SPLIT_TRAIN, &train, &e) < 0 || mn_data_load(dir, MN_SPLIT_TEST, &test, &e)) {
        cli_fail(&e);
        goto out;
    }
    mn_shape img = {train.c, train.h, train.w};
    int pix = train.c * train.h * train.w;
    archs(&a, pix, enc, dec, sizeof enc);
    if (mn_ae_init(&ae, enc, dec, img, (int)a.latent, a.variational, (int)a.g.batch, a.g.seed, &e)) {
        fprintf(stderr, "mnist autoencode: %s\n", e.msg);
        rc = EXIT_USAGE;
        goto out;
    }
    ae.noise = (float)a.noise;
    if (mn_optim_init(&oe, MN_ADAM, (float)a.g.lr, ae.enc.n_params, &e) ||
        mn_optim_init(&od, MN_ADAM, (float)a.g.lr, ae.dec.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    x = malloc((size_t)a.g.batch * pix * sizeof *x);
    tx = malloc((size_t)test.n * pix * sizeof *tx);
    tl = malloc((size_t)test.n * sizeof *tl);
    order = malloc((size_t)train.n * sizeof *order);
    if (!x || !tx || !tl || !order) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    mn_dataset_batch(&test, NULL, 0, test.n, tx, tl);
    long steps = (train.n + a.g.batch - 1) / a.g.batch;
    gen_state st = {0};
    mn_rng_seed(&st.shuffle, a.g.seed ^ 0x5AFF1E0AE5AFF1E0ull);
    mn_rng_seed(&st.draw, a.g.seed ^ 0xAE0AE0AE0AE0AE0Aull);
    ae_recipe r;
    recipe_of(&a, &r);
    ae_run run = {&a, &ae, &oe, &od, &st, &r};
    if (a.g.resume) {
        gen_part parts[2] = {{MN_AE_ENCODER, &ae.enc, &oe}, {MN_AE_DECODER, &ae.dec, &od}};
        if (gen_checkpoint_load(a.g.resume, parts, 2, &st, NULL, 0, &e)) {
            cli_fail(&e);
            goto out;
        }
        if (st.step > steps) {
            fprintf(stderr, "mnist: %s: the checkpoint is at step %ld of an epoch; this data has %ld steps per epoch\n",
                    a.g.resume, st.step, steps);
            goto out;
        }
        printf("resuming %s after epoch %d%s\n", a.g.resume, st.epoch, st.step ? " (and part of the next)" : "");
    }
    printf("encoder: %s\ndecoder: %s\n", ae.enc.arch, ae.dec.arch);
    gen_sigint_on();
    mn_rng eval_rng, next;
    while (st.epoch < a.g.epochs && !gen_interrupted) {
        int ep = st.epoch + 1;
        gen_progress pr;
        gen_progress_epoch(&pr, ep, a.g.epochs);
        gen_epoch_order(&st, order, train.n, &next);
        while (st.step < steps && !gen_interrupted) {
            int first = (int)(st.step * a.g.batch), B = train.n - first < a.g.batch ? train.n - first : (int)a.g.batch;
            mn_dataset_batch(&train, order, first, B, x, NULL);
            mn_ae_stats s = {0};
            mn_ae_step(&ae, &oe, &od, x, B, &st.draw, &s);
            if (!isfinite(s.loss) || s.loss / B > 1e6) { /* per pixel, or per image (VAE): a blow-up */
                fprintf(stderr, "mnist: autoencode diverged at epoch %d, step %ld: the loss is %g; try a smaller --lr\n",
                        ep, st.step + 1, s.loss / B);
                goto out;
            }
            st.sums[0] += s.loss, st.sums[1] += s.recon, st.sums[2] += s.kl, st.count += B;
            st.step++;
            char text[48];
            snprintf(text, sizeof text, " - loss: %.4f", st.sums[0] / (double)st.count);
            gen_progress_step(&pr, st.step, steps, text);
        }
        if (st.step < steps) break; /* interrupted mid-epoch */
        mn_ae_stats ts = {0};
        mn_rng_seed(&eval_rng, a.g.seed + 7); /* the same test draws every epoch */
        mn_ae_eval(&ae, tx, test.n, &eval_rng, &ts);
        double loss = st.sums[0] / (double)st.count, vloss = ts.loss / test.n;
        gen_progress_done(&pr, steps);
        printf(" - loss: %.4f - val_loss: %.4f", loss, vloss);
        if (a.variational)
            printf(" - val_reconstruction: %.2f - val_kl: %.2f", ts.recon / test.n, ts.kl / test.n);
        printf("\n");
        fflush(stdout);
        if (!isfinite(loss) || !isfinite(vloss) || loss > 1e6) {
            fprintf(stderr, "mnist: autoencode diverged at epoch %d (loss %g): try a smaller --lr\n", ep, loss);
            goto out;
        }
        st.epoch++, st.step = 0, st.shuffle = next;
        memset(st.sums, 0, sizeof st.sums), st.count = 0;
        if (a.g.png && draw_recon(&ae, tx, a.g.png, &e)) {
            cli_fail(&e);
            goto out;
        }
        if (a.g.checkpoint && save_checkpoint(&run, &e)) {
            cli_fail(&e);
            goto out;
        }
    }
    gen_sigint_off();
    if (gen_interrupted) {
        rc = gen_interrupted_exit(&a.g, &st, steps, save_checkpoint, &run);
        goto out;
    }
    if ((a.grid && draw_grid(&ae, a.grid, &e)) || (a.scatter && draw_scatter(&ae, tx, tl, test.n, a.scatter, &e))) {
        cli_fail(&e);
        goto out;
    }
    const mn_model *models[] = {&ae.enc, &ae.dec};
    const char *prefixes[] = {MN_AE_ENCODER, MN_AE_DECODER};
    if (mn_models_save(a.g.output, models, prefixes, 2, NULL, 0, r.keys, r.vals, R_N,
                       &e)) {
        cli_fail(&e);
        goto out;
    }
    if (a.g.png) printf("saved %s\n", a.g.png);
    if (a.grid) printf("saved %s\n", a.grid);
    if (a.scatter) printf("saved %s\n", a.scatter);
    printf("saved %s\n", a.g.output);
    rc = 0;
out:
    gen_sigint_off();
    free(x), free(tx), free(tl), free(order);
    mn_optim_free(&oe), mn_optim_free(&od);
    mn_ae_free(&ae);
    mn_dataset_free(&train), mn_dataset_free(&test);
    mn_st_free(&recipe_file);
    return rc;
}
