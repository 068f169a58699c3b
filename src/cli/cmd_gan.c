/* cmd_gan.c - `mnist gan`: trains a generator and a discriminator against
 * each other (conditional on the class with --conditional), draws a fixed
 * noise batch after every epoch so the digits can be watched appearing,
 * reports a collapse instead of hiding it, and saves both networks in one
 * file (generator.*, discriminator.*). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/draw.h"
#include "mnist/generative.h"
#include "mnist/dataset.h"

static const char help[] =
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
    "  --smooth X           one-sided label smoothing: the real images' target (default 1; 0.9 is usual)\n"
    "  --epochs N           (default 20)\n"
    "  --batch-size N       (default 64)\n"
    "  --lr X               both optimizers (default 0.0002)\n"
    "  --seed N             (default 1)\n"
    "  --data DIR           data directory (default: $MNIST_DATA, else data/mnist)\n"
    "  --output FILE        the model file (default gan.bin)\n"
    "  --png FILE           after each epoch: the same noise batch's images\n";

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

typedef struct {
    const char *arch, *data, *output, *png;
    long latent, epochs, batch;
    double lr, smooth;
    uint64_t seed;
    int conditional;
} gan_args;

static int parse_args(int argc, char **argv, gan_args *a)
{
    *a = (gan_args){.arch = "dense", .output = "gan.bin", .latent = 100, .epochs = 20, .batch = 64, .lr = 2e-4,
                    .smooth = 1.0, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
#define OPT(name) ((r = cli_opt("gan", argc, argv, &i, name, &v)) != 0)
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            exit(0);
        } else if (!strcmp(s, "--conditional")) {
            a->conditional = 1;
        } else if (OPT("--arch")) {
            if (r < 0) return -1;
            a->arch = v;
        } else if (OPT("--latent")) {
            if (r < 0 || cli_int("gan", "--latent", v, 1, 4096, &a->latent)) return -1;
        } else if (OPT("--smooth")) {
            if (r < 0 || cli_float("gan", "--smooth", v, 0.5, 1, &a->smooth)) return -1;
        } else if (OPT("--epochs")) {
            if (r < 0 || cli_int("gan", "--epochs", v, 1, 100000, &a->epochs)) return -1;
        } else if (OPT("--batch-size")) {
            if (r < 0 || cli_int("gan", "--batch-size", v, 1, 65536, &a->batch)) return -1;
        } else if (OPT("--lr")) {
            if (r < 0 || cli_float("gan", "--lr", v, 1e-9, 10, &a->lr)) return -1;
        } else if (OPT("--seed")) {
            if (r < 0 || cli_u64("gan", "--seed", v, &a->seed)) return -1;
        } else if (OPT("--data")) {
            if (r < 0) return -1;
            a->data = v;
        } else if (OPT("--output")) {
            if (r < 0) return -1;
            a->output = v;
        } else if (OPT("--png")) {
            if (r < 0) return -1;
            a->png = v;
        } else {
            cli_usage_error("gan", "unknown option '%s'", s);
            return -1;
        }
#undef OPT
    }
    return 0;
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

int cmd_gan(int argc, char **argv)
{
    gan_args a;
    if (parse_args(argc, argv, &a)) return EXIT_USAGE;
    {
        char g0[MN_ARCH_MAX], d0[MN_ARCH_MAX];
        mn_shape i0;
        if (archs(&a, 28, 28, g0, d0, sizeof g0, &i0)) return EXIT_USAGE; /* the form, before reading data */
    }
    mn_err e;
    mn_dataset train = {0};
    const char *dir = cli_data_source(a.data, stdout);
    if (mn_data_load(dir, MN_SPLIT_TRAIN, &train, &e) < 0) return cli_fail(&e);
    if (train.c != 1) {
        fprintf(stderr, "mnist: %s: gan draws one-channel images; these have %d channels\n", dir, train.c);
        mn_dataset_free(&train);
        return 1;
    }
    int rows = train.h, cols = train.w, K = a.conditional ? train.n_classes : 0, rc = 1;
    size_t pix = (size_t)rows * cols;
    char g[MN_ARCH_MAX], d[MN_ARCH_MAX];
    mn_shape img;
    if (archs(&a, rows, cols, g, d, sizeof g, &img)) {
        mn_dataset_free(&train);
        return EXIT_USAGE;
    }
    mn_gan gan;
    mn_optim og = {0}, od = {0};
    if (mn_gan_init(&gan, g, d, img, (int)a.latent, K, (int)a.batch, a.seed, &e)) {
        mn_dataset_free(&train);
        fprintf(stderr, "mnist gan: %s\n", e.msg);
        return EXIT_USAGE;
    }
    gan.real_target = (float)a.smooth;
    /* fixed samples: 10 rows of 10 (one row per class when conditional) */
    enum { NS = 100 };
    float *x = malloc((size_t)a.batch * pix * sizeof *x), *zs = malloc((size_t)NS * a.latent * sizeof *zs);
    float *samples = malloc(NS * pix * sizeof *samples);
    int *labels = malloc((size_t)a.batch * sizeof *labels), *order = malloc((size_t)train.n * sizeof *order);
    int sl[NS];
    if (!x || !zs || !samples || !labels || !order) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    if (mn_optim_init(&og, MN_ADAM, (float)a.lr, gan.g.n_params, &e) ||
        mn_optim_init(&od, MN_ADAM, (float)a.lr, gan.d.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    og.beta1 = od.beta1 = 0.5f; /* DCGAN's */
    mn_rng rng, fixed;
    mn_rng_seed(&rng, a.seed ^ 0x6A06A06A06A06A06ull);
    mn_rng_seed(&fixed, a.seed + 11);
    mn_rng_gauss(&fixed, zs, (size_t)NS * a.latent);
    for (int i = 0; i < NS; i++) sl[i] = K ? (i / 10) % K : 0;
    for (int i = 0; i < train.n; i++) order[i] = i;
    printf("generator: %s\ndiscriminator: %s\n", gan.g.arch, gan.d.arch);
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    long steps = train.n / a.batch; /* whole batches: both halves of the discriminator's batch match */
    if (steps < 1) {
        fprintf(stderr, "mnist: %s: %d training images, fewer than --batch-size %ld\n", dir, train.n, a.batch);
        goto out;
    }
    for (long ep = 1; ep <= a.epochs && !interrupted; ep++) {
        double t0 = cli_seconds();
        mn_rng_shuffle(&rng, order, train.n);
        mn_gan_stats st = {0};
        for (long s = 0; s < steps && !interrupted; s++) {
            mn_dataset_batch(&train, order, (int)(s * a.batch), (int)a.batch, x, labels);
            mn_gan_step(&gan, &og, &od, x, K ? labels : NULL, (int)a.batch, &rng, &st);
        }
        if (interrupted) break;
        mn_gan_generate(&gan, zs, K ? sl : NULL, NS, samples);
        double dl = st.d_loss / st.steps, gl = st.g_loss / st.steps, dr = st.d_real / st.steps,
               df = st.d_fake / st.steps, sp = spread(samples, NS, pix);
        printf("Epoch %ld/%ld\n%ld/%ld - %.0fs - d_loss: %.4f - g_loss: %.4f - D(real): %.3f - D(fake): %.3f - "
               "spread: %.3f\n",
               ep, a.epochs, steps, steps, cli_seconds() - t0, dl, gl, dr, df, sp);
        fflush(stdout);
        if (a.png) {
            const char *names[NS / 10];
            char buf[NS / 10][8];
            for (int r = 0; r < NS / 10; r++) snprintf(buf[r], sizeof buf[r], "%d", sl[10 * r]), names[r] = buf[r];
            if (mn_draw_digit_grid(a.png, samples, NS, rows, cols, 10, 2, K ? names : NULL, &e)) {
                cli_fail(&e);
                goto out;
            }
        }
        /* a collapse is reported, not hidden */
        if (!(dl == dl) || !(gl == gl)) {
            fprintf(stderr, "mnist: gan diverged at epoch %ld (losses not finite): try a smaller --lr\n", ep);
            goto out;
        }
        if (ep >= 2 && df < 0.01 && dr > 0.99) {
            fprintf(stderr, "mnist: gan collapsed at epoch %ld: the discriminator tells every generated image apart "
                            "(D(real) %.3f, D(fake) %.4f); try --smooth 0.9 or another --seed\n",
                    ep, dr, df);
            goto out;
        }
        if (ep >= 2 && sp < 0.02) {
            fprintf(stderr, "mnist: gan collapsed at epoch %ld: the generator draws nearly the same image for any "
                            "noise (mean difference between samples %.4f)\n",
                    ep, sp);
            goto out;
        }
    }
    if (interrupted) {
        fprintf(stderr, "mnist: interrupted; no model written\n");
        rc = 130;
        goto out;
    }
    char latent[16], classes[16], seed[24];
    snprintf(latent, sizeof latent, "%ld", a.latent);
    snprintf(classes, sizeof classes, "%d", K);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a.seed);
    const char *keys[] = {"kind", "latent", "conditional_classes", "seed"},
               *vals[] = {"gan", latent, classes, seed};
    const mn_model *models[] = {&gan.g, &gan.d};
    const char *prefixes[] = {MN_GAN_GENERATOR, MN_GAN_DISCRIMINATOR};
    if (mn_models_save(a.output, models, prefixes, 2, NULL, 0, keys, vals, 4, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (a.png) printf("saved %s\n", a.png);
    printf("saved %s\n", a.output);
    rc = 0;
out:
    signal(SIGINT, SIG_DFL);
    free(x), free(zs), free(samples), free(labels), free(order);
    mn_optim_free(&og), mn_optim_free(&od);
    mn_gan_free(&gan);
    mn_dataset_free(&train);
    return rc;
}
