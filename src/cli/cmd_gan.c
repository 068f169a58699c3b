/* cmd_gan.c - `mnist gan`: trains a generator and a discriminator against
 * each other (conditional on the class with --conditional), draws a fixed
 * noise batch after every epoch so the digits can be watched appearing,
 * reports a collapse instead of hiding it, and saves both networks in one
 * file (generator.*, discriminator.*). */
#define _POSIX_C_SOURCE 200809L
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
    "Usage: mnist gan [options]\n"
    "\n"
    "Trains a GAN on the training images: Adam for both networks (beta1 0.5, as DCGAN),\n"
    "one discriminator step (a real and a generated batch) and one generator step per batch.\n"
    "\n"
    "  --arch A             dense (default: 3 hidden layers of LeakyReLU each side) or dcgan\n"
    "                       (transposed convolutions; a strided-conv discriminator), or\n"
    "                       GENERATOR/DISCRIMINATOR as two arch strings (the generator ends\n"
    "                       with tanh, the discriminator with dense:1)\n"
    "  --conditional        the class is an input of both networks; samples come one row per class\n"
    "  --latent L           noise values per image (default 100)\n"
    "  --smooth X           one-sided label smoothing: the real images' target (default 1; 0.9 is usual)\n";
static const char help_tail[] =
    "\n"
    "A collapse (the discriminator telling every generated image apart, or the generator\n"
    "drawing one image for any noise) or a loss that stops being finite ends the run with an\n"
    "error and no model written. Ctrl-C finishes the step, saves the checkpoint (with\n"
    "--checkpoint) and exits with 130.\n";

typedef struct {
    gen_opts g; /* epochs, batch size, lr, seed, threads, data, output, png, checkpoint, resume */
    const char *arch;
    long latent;
    double smooth;
    int conditional;
} gan_args;

static const gan_args defaults = {.g = {.cmd = "gan", .output = "gan.bin", .epochs = 20, .batch = 64, .lr = 2e-4,
                                        .seed = 1},
                                  .arch = "dense", .latent = 100, .smooth = 1.0};

static int parse_args(int argc, char **argv, void *args, int init)
{
    gan_args *a = args;
    if (init) *a = defaults;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help_head, stdout);
            gen_help(stdout, &defaults.g, "both optimizers", "after each epoch: the same noise batch's images");
            fputs(help_tail, stdout);
            exit(0);
        }
        if ((r = gen_opt(&a->g, argc, argv, &i))) {
            if (r < 0) return -1;
            continue;
        }
#define OPT(name) ((r = cli_opt("gan", argc, argv, &i, name, &v)) != 0)
        if (!strcmp(s, "--conditional")) {
            a->conditional = 1, a->g.recipe_set = 1;
        } else if (OPT("--arch")) {
            if (r < 0) return -1;
            a->arch = v, a->g.recipe_set = 1;
        } else if (OPT("--latent")) {
            if (r < 0 || cli_int("gan", "--latent", v, 1, 4096, &a->latent)) return -1;
            a->g.recipe_set = 1;
        } else if (OPT("--smooth")) {
            if (r < 0 || cli_float("gan", "--smooth", v, 0.5, 1, &a->smooth)) return -1;
            a->g.recipe_set = 1;
        } else {
            cli_usage_error("gan", "unknown option '%s'", s);
            return -1;
        }
#undef OPT
    }
    return 0;
}

/* The recipe as "recipe.<flag>" metadata: what --resume reads back. */
/* and the final file's metadata (kind, latent, conditional_classes, seed), so
 * that `mnist generate` draws from a checkpoint too */
enum { R_ARCH, R_LATENT, R_SMOOTH, R_COND, R_BATCH, R_LR, R_SEED, R_KIND, R_MLATENT, R_MCLASSES, R_MSEED, R_EPOCHS, R_N };
typedef struct {
    const char *keys[R_N], *vals[R_N];
    char buf[R_N][40];
} gan_recipe;

static void recipe_of(const gan_args *a, int n_classes, gan_recipe *r)
{
    static const char *const keys[R_N] = {"recipe.arch", "recipe.latent", "recipe.smooth", "recipe.conditional",
                                          "recipe.batch-size", "recipe.lr", "recipe.seed", "kind", "latent",
                                          "conditional_classes", "seed", "epochs"};
    for (int i = 0; i < R_N; i++) r->keys[i] = keys[i], r->vals[i] = r->buf[i];
    r->vals[R_ARCH] = a->arch;
    snprintf(r->buf[R_LATENT], 40, "%ld", a->latent);
    snprintf(r->buf[R_SMOOTH], 40, "%.17g", a->smooth);
    snprintf(r->buf[R_COND], 40, "%d", a->conditional);
    snprintf(r->buf[R_BATCH], 40, "%ld", a->g.batch);
    snprintf(r->buf[R_LR], 40, "%.17g", a->g.lr);
    snprintf(r->buf[R_SEED], 40, "%llu", (unsigned long long)a->g.seed);
    r->vals[R_KIND] = "gan";
    snprintf(r->buf[R_MLATENT], 40, "%ld", a->latent);
    snprintf(r->buf[R_MCLASSES], 40, "%d", n_classes);
    snprintf(r->buf[R_MSEED], 40, "%llu", (unsigned long long)a->g.seed);
    snprintf(r->buf[R_EPOCHS], 40, "%ld", (long)a->g.epochs);
}

/* Generator and discriminator strings, and the image shape the
 * discriminator takes (flat for dense ones, maps for convolutional ones). */
static int archs(const gan_args *a, int rows, int cols, char *g, char *d, size_t len, mn_shape *img)
{
    int pix = rows * cols;
    if (!strcmp(a->arch, "dense")) {
        snprintf(g, len, "dense:256,leakyrelu:0.2,dense:512,leakyrelu:0.2,dense:1024,leakyrelu:0.2,dense:%d,tanh", pix);
        snprintf(d, len, "dense:1024,leakyrelu:0.2,dense:512,leakyrelu:0.2,dense:256,leakyrelu:0.2,dense:1");
        *img = (mn_shape){pix, 1, 1};
    } else if (!strcmp(a->arch, "dcgan")) {
        if (rows != 28 || cols != 28) return cli_usage_error("gan", "--arch dcgan is laid out for 28x28 images");
        snprintf(g, len, "dense:6272,leakyrelu:0.2,reshape:128:7:7,convtranspose:64:4:s2:p1,leakyrelu:0.2,"
                         "convtranspose:1:4:s2:p1,tanh");
        snprintf(d, len, "conv:64:4:s2:p1,leakyrelu:0.2,conv:128:4:s2:p1,leakyrelu:0.2,flatten,dropout:0.3,dense:1");
        *img = (mn_shape){1, rows, cols};
    } else {
        const char *slash = strchr(a->arch, '/');
        if (!slash || strchr(slash + 1, '/') || (size_t)(slash - a->arch) >= len || strlen(slash + 1) >= len)
            return cli_usage_error("gan", "--arch takes dense, dcgan or GENERATOR/DISCRIMINATOR, not '%s'", a->arch);
        snprintf(g, len, "%.*s", (int)(slash - a->arch), a->arch);
        snprintf(d, len, "%s", slash + 1);
        *img = (mn_shape){1, rows, cols};
    }
    return 0;
}

/* Mean absolute difference between consecutive samples: near 0 when the
 * generator draws the same image whatever the noise (mode collapse). */
static double spread(const float *img, int n, size_t pix)
{
    double s = 0.0;
    for (int i = 1; i < n; i++)
        for (size_t p = 0; p < pix; p++) {
            double d = (double)img[(size_t)i * pix + p] - img[(size_t)(i - 1) * pix + p];
            s += d < 0 ? -d : d;
        }
    return s / ((double)(n - 1) * (double)pix);
}

#define DIVERGED 1e6 /* a step's loss beyond this: diverged */
enum { NS = 100 }; /* fixed samples: 10 rows of 10 (one row per class when conditional) */

/* What a checkpoint needs, for the epoch's end and for Ctrl-C. */
typedef struct {
    const gan_args *a;
    mn_gan *gan;
    mn_optim *og, *od;
    gen_state *st;
    gan_recipe *r;
    mn_st_tensor noise; /* the fixed noise batch */
} gan_run;

static int save_checkpoint(void *user, mn_err *e)
{
    gan_run *c = user;
    gen_part parts[2] = {{MN_GAN_GENERATOR, &c->gan->g, c->og}, {MN_GAN_DISCRIMINATOR, &c->gan->d, c->od}};
    return gen_checkpoint_save(c->a->g.checkpoint, parts, 2, c->st, &c->noise, 1, c->r->keys, c->r->vals, R_N, e);
}

int cmd_gan(int argc, char **argv)
{
    gan_args a;
    mn_safetensors recipe_file;
    static const char *const kinds[] = {"gan"}, *const bools[] = {"--conditional"},
                             *const flags[] = {"--arch", "--latent", "--smooth", "--batch-size", "--lr", "--seed"};
    int prc = gen_parse(argc, argv, &a, &a.g, parse_args, kinds, 1, flags, 6, bools, 1, &recipe_file);
    if (prc) return prc;
    mn_err e;
    mn_dataset train = {0};
    mn_gan gan = {0};
    mn_optim og = {0}, od = {0};
    float *x = NULL, *zs = NULL, *samples = NULL;
    int *labels = NULL, *order = NULL, rc = EXIT_USAGE;
    {
        char g0[MN_ARCH_MAX], d0[MN_ARCH_MAX];
        mn_shape i0;
        if (archs(&a, 28, 28, g0, d0, sizeof g0, &i0)) goto out; /* the form, before reading data */
    }
    rc = 1;
    if (gen_prepare(&a.g)) goto out;
    const char *dir = cli_data_source(a.g.data, stdout);
    if (mn_data_load(dir, MN_SPLIT_TRAIN, &train, &e) < 0) {
        cli_fail(&e);
        goto out;
    }
    if (train.c != 1) {
        fprintf(stderr, "mnist: %s: gan draws one-channel images; these have %d channels\n", dir, train.c);
        goto out;
    }
    int rows = train.h, cols = train.w, K = a.conditional ? train.n_classes : 0;
    size_t pix = (size_t)rows * cols;
    char g[MN_ARCH_MAX], d[MN_ARCH_MAX];
    mn_shape img;
    if (archs(&a, rows, cols, g, d, sizeof g, &img)) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (mn_gan_init(&gan, g, d, img, (int)a.latent, K, (int)a.g.batch, a.g.seed, &e)) {
        fprintf(stderr, "mnist gan: %s\n", e.msg);
        rc = EXIT_USAGE;
        goto out;
    }
    gan.real_target = (float)a.smooth;
    x = malloc((size_t)a.g.batch * pix * sizeof *x), zs = malloc((size_t)NS * a.latent * sizeof *zs);
    samples = malloc(NS * pix * sizeof *samples);
    labels = malloc((size_t)a.g.batch * sizeof *labels), order = malloc((size_t)train.n * sizeof *order);
    int sl[NS];
    if (!x || !zs || !samples || !labels || !order) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    if (mn_optim_init(&og, MN_ADAM, (float)a.g.lr, gan.g.n_params, &e) ||
        mn_optim_init(&od, MN_ADAM, (float)a.g.lr, gan.d.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    og.beta1 = od.beta1 = 0.5f; /* DCGAN's */
    long steps = train.n / a.g.batch; /* whole batches: both halves of the discriminator's batch match */
    if (steps < 1) {
        fprintf(stderr, "mnist: %s: %d training images, fewer than --batch-size %ld\n", dir, train.n, a.g.batch);
        goto out;
    }
    gen_state st = {0};
    mn_rng fixed;
    mn_rng_seed(&st.shuffle, a.g.seed ^ 0x5AFF1E06A5AFF1E0ull);
    mn_rng_seed(&st.draw, a.g.seed ^ 0x6A06A06A06A06A06ull);
    mn_rng_seed(&fixed, a.g.seed + 11);
    mn_rng_gauss(&fixed, zs, (size_t)NS * a.latent);
    for (int i = 0; i < NS; i++) sl[i] = K ? (i / 10) % K : 0;
    gan_recipe r;
    recipe_of(&a, K, &r);
    gan_run run = {&a, &gan, &og, &od, &st, &r, {.name = "gan.fixed_noise", .ndim = 2, .shape = {NS, a.latent}}};
    run.noise.data = zs;
    if (a.g.resume) {
        gen_part parts[2] = {{MN_GAN_GENERATOR, &gan.g, &og}, {MN_GAN_DISCRIMINATOR, &gan.d, &od}};
        if (gen_checkpoint_load(a.g.resume, parts, 2, &st, &run.noise, 1, &e)) {
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
    printf("generator: %s\ndiscriminator: %s\n", gan.g.arch, gan.d.arch);
    gen_sigint_on();
    mn_rng next;
    while (st.epoch < a.g.epochs && !gen_interrupted) {
        int ep = st.epoch + 1;
        gen_progress pr;
        gen_progress_epoch(&pr, ep, a.g.epochs);
        gen_epoch_order(&st, order, train.n, &next);
        while (st.step < steps && !gen_interrupted) {
            mn_dataset_batch(&train, order, (int)(st.step * a.g.batch), (int)a.g.batch, x, labels);
            mn_gan_stats s = {0};
            mn_gan_step(&gan, &og, &od, x, K ? labels : NULL, (int)a.g.batch, &st.draw, &s);
            /* a discriminator at chance scores ln 2; a confident one tens: 1e6 is a blow-up */
            if (!isfinite(s.d_loss) || !isfinite(s.g_loss) || s.d_loss > DIVERGED || s.g_loss > DIVERGED) {
                fprintf(stderr, "mnist: gan diverged at epoch %d, step %ld: d_loss %g, g_loss %g; try a smaller --lr\n",
                        ep, st.step + 1, s.d_loss, s.g_loss);
                goto out;
            }
            st.sums[0] += s.d_loss, st.sums[1] += s.g_loss, st.sums[2] += s.d_real, st.sums[3] += s.d_fake;
            st.count += s.steps;
            st.step++;
            char text[64];
            snprintf(text, sizeof text, " - d_loss: %.4f - g_loss: %.4f", st.sums[0] / (double)st.count,
                     st.sums[1] / (double)st.count);
            gen_progress_step(&pr, st.step, steps, text);
        }
        if (st.step < steps) break; /* interrupted mid-epoch */
        mn_gan_generate(&gan, zs, K ? sl : NULL, NS, samples);
        double n = (double)st.count, dl = st.sums[0] / n, gl = st.sums[1] / n, dr = st.sums[2] / n,
               df = st.sums[3] / n, sp = spread(samples, NS, pix);
        gen_progress_done(&pr, steps);
        printf(" - d_loss: %.4f - g_loss: %.4f - D(real): %.3f - D(fake): %.3f - spread: %.3f\n", dl, gl, dr, df, sp);
        fflush(stdout);
        st.epoch++, st.step = 0, st.shuffle = next;
        memset(st.sums, 0, sizeof st.sums), st.count = 0;
        if (a.g.png) {
            const char *names[NS / 10];
            char buf[NS / 10][8];
            for (int i = 0; i < NS / 10; i++) snprintf(buf[i], sizeof buf[i], "%d", sl[10 * i]), names[i] = buf[i];
            if (mn_draw_digit_grid(a.g.png, samples, NS, rows, cols, 10, 2, K ? names : NULL, &e)) {
                cli_fail(&e);
                goto out;
            }
        }
        /* a collapse is reported, not hidden */
        if (ep >= 2 && df < 0.01 && dr > 0.99) {
            fprintf(stderr, "mnist: gan collapsed at epoch %d: the discriminator tells every generated image apart "
                            "(D(real) %.3f, D(fake) %.4f); try --smooth 0.9 or another --seed\n",
                    ep, dr, df);
            goto out;
        }
        if (ep >= 2 && sp < 0.02) {
            fprintf(stderr, "mnist: gan collapsed at epoch %d: the generator draws nearly the same image for any "
                            "noise (mean difference between samples %.4f)\n",
                    ep, sp);
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
    const mn_model *models[] = {&gan.g, &gan.d};
    const char *prefixes[] = {MN_GAN_GENERATOR, MN_GAN_DISCRIMINATOR};
    if (mn_models_save(a.g.output, models, prefixes, 2, NULL, 0, r.keys, r.vals, R_N,
                       &e)) {
        cli_fail(&e);
        goto out;
    }
    if (a.g.png) printf("saved %s\n", a.g.png);
    printf("saved %s\n", a.g.output);
    rc = 0;
out:
    gen_sigint_off();
    free(x), free(zs), free(samples), free(labels), free(order);
    mn_optim_free(&og), mn_optim_free(&od);
    mn_gan_free(&gan);
    mn_dataset_free(&train);
    mn_st_free(&recipe_file);
    return rc;
}
