/* cmd_generate.c - `mnist generate MODEL --png FILE`: new digits from a
 * saved GAN generator or VAE decoder, from seeded noise. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/draw.h"
#include "mnist/generative.h"
#include "mnist/dataset.h"
#include "mnist/infer.h"
#include "mnist/safetensors.h"

static const char help[] =
    "Usage: mnist generate MODEL --png FILE [options]\n"
    "\n"
    "Draws new digits with the generator of a model file from `mnist gan`, or the decoder\n"
    "of one from `mnist autoencode --variational` (codes drawn from N(0, 1)).\n"
    "\n"
    "  --png FILE      the picture (required)\n"
    "  --count N       digits to draw (default 100; a conditional GAN: per class without --digit)\n"
    "  --digit D       a conditional GAN: draw only class D\n"
    "  --cols C        digits per row (default 10; a conditional GAN with up to 20 per class: a row per class)\n"
    "  --seed N        the noise's seed (default 1)\n"
    "  --classify CLF  score the digits with a classifier model file: the share it puts in the\n"
    "                  class asked for (a conditional GAN), or, for a VAE, in the class whose centre\n"
    "                  (the mean code of its test images, --data) is nearest each sample's code\n"
    "  --data DIR      test images for the VAE's class centres (default: $MNIST_DATA, else data/mnist)\n";

/* The classifier's verdict on the n images: the share in the class asked for. */
static int score(const char *clf, const float *img, const int *want, int n, mn_err *e)
{
    mn_model c;
    if (mn_model_open(&c, clf, 100, e)) return -1;
    if (mn_shape_size(c.input_shape) != 784 || c.n_classes < 2) {
        mn_model_free(&c);
        return mn_fail(e, "%s: not a classifier of 28x28 images", clf);
    }
    float *p = malloc((size_t)n * c.n_classes * sizeof *p);
    int hits = 0, rc = -1, counts[256] = {0}, right[256] = {0};
    if (!p) {
        mn_fail(e, "out of memory");
        goto done;
    }
    if (mn_predict(&c, img, MN_PIXELS_F32, n, p, e)) goto done;
    for (int i = 0; i < n; i++) {
        int arg = 0;
        for (int k = 1; k < c.n_classes; k++)
            if (p[(size_t)i * c.n_classes + k] > p[(size_t)i * c.n_classes + arg]) arg = k;
        hits += arg == want[i];
        if (want[i] >= 0 && want[i] < 256) counts[want[i]]++, right[want[i]] += arg == want[i];
    }
    printf("classified by %s: %d of %d (%.1f%%) in the class asked for; per class:", clf, hits, n, 100.0 * hits / n);
    for (int k = 0; k < 256; k++)
        if (counts[k]) printf(" %d:%.0f%%", k, 100.0 * right[k] / counts[k]);
    printf("\n");
    rc = 0;
done:
    free(p);
    mn_model_free(&c);
    return rc;
}

/* A VAE's samples have no class; each one's is that of the nearest class
 * centre, the mean code of the test images of each class. */
static int vae_targets(const char *model, const char *data, const float *z, int n, int L, int *labels, mn_err *e)
{
    mn_dataset test = {0};
    mn_model enc;
    if (mn_data_load(cli_data_source(data, NULL), MN_SPLIT_TEST, &test, e)) return -1;
    if (mn_model_load_part(&enc, model, MN_AE_ENCODER, 100, 0, e)) {
        mn_dataset_free(&test);
        return -1;
    }
    int rc = -1, K = test.n_classes;
    double *centre = calloc((size_t)K * L, sizeof *centre);
    int *count = calloc((size_t)K, sizeof *count), lab[100];
    if (!centre || !count || mn_shape_size(enc.input_shape) != (size_t)test.h * test.w) {
        mn_fail(e, "%s: the encoder does not take the test images", model);
        goto done;
    }
    for (int done = 0; done < test.n; done += 100) {
        int B = test.n - done < 100 ? test.n - done : 100;
        mn_dataset_batch(&test, NULL, done, B, enc.input, lab);
        const float *h = mn_model_run(&enc, B, 0); /* means first, then log-variances */
        for (int b = 0; b < B; b++) {
            count[lab[b]]++;
            for (int j = 0; j < L; j++) centre[(size_t)lab[b] * L + j] += h[(size_t)b * 2 * L + j];
        }
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < L; j++) centre[(size_t)k * L + j] /= count[k] ? count[k] : 1;
    for (int i = 0; i < n; i++) {
        double best = 1e300;
        for (int k = 0; k < K; k++) {
            double d = 0;
            for (int j = 0; j < L; j++) d += (z[(size_t)i * L + j] - centre[(size_t)k * L + j]) * (z[(size_t)i * L + j] - centre[(size_t)k * L + j]);
            if (count[k] && d < best) best = d, labels[i] = k;
        }
    }
    rc = 0;
done:
    free(centre), free(count);
    mn_model_free(&enc);
    mn_dataset_free(&test);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *png = NULL, *clf = NULL, *data = NULL;
    long count = -1, digit = -1, cols = 10;
    int cols_given = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int r;
#define OPT(name) ((r = cli_opt("generate", argc, argv, &i, name, &v)) != 0)
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            return 0;
        } else if (OPT("--png")) {
            if (r < 0) return EXIT_USAGE;
            png = v;
        } else if (OPT("--count")) {
            if (r < 0 || cli_int("generate", "--count", v, 1, 10000, &count)) return EXIT_USAGE;
        } else if (OPT("--digit")) {
            if (r < 0 || cli_int("generate", "--digit", v, 0, 255, &digit)) return EXIT_USAGE;
        } else if (OPT("--cols")) {
            if (r < 0 || cli_int("generate", "--cols", v, 1, 1000, &cols)) return EXIT_USAGE;
            cols_given = 1;
        } else if (OPT("--classify")) {
            if (r < 0) return EXIT_USAGE;
            clf = v;
        } else if (OPT("--data")) {
            if (r < 0) return EXIT_USAGE;
            data = v;
        } else if (OPT("--seed")) {
            if (r < 0 || cli_u64("generate", "--seed", v, &seed)) return EXIT_USAGE;
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error("generate", "unknown option '%s'", s);
        } else if (!model) {
            model = s;
        } else {
            return cli_usage_error("generate", "one model file, not '%s' too", s);
        }
#undef OPT
    }
    if (!model) return cli_usage_error("generate", "which model? e.g. mnist generate gan.bin --png digits.png");
    if (!png) return cli_usage_error("generate", "--png FILE is required: where to draw the digits");

    mn_err e;
    mn_safetensors st;
    if (mn_st_read(model, &st, &e)) return cli_fail(&e);
    const char *kind = mn_st_meta(&st, "kind"), *lat = mn_st_meta(&st, "latent"),
               *cc = mn_st_meta(&st, "conditional_classes");
    int is_gan = kind && !strcmp(kind, "gan"), is_vae = kind && !strcmp(kind, "vae");
    long L = lat ? strtol(lat, NULL, 10) : 0, K = is_gan && cc ? strtol(cc, NULL, 10) : 0;
    mn_st_free(&st);
    if (!is_gan && !is_vae) {
        fprintf(stderr, "mnist: %s: not a generator: make one with mnist gan or mnist autoencode --variational\n", model);
        return 1;
    }
    if (L < 1 || L > 4096 || K < 0 || K > 256) {
        fprintf(stderr, "mnist: %s: bad latent or conditional_classes in metadata\n", model);
        return 1;
    }
    if (digit >= 0 && !K)
        return cli_usage_error("generate", "--digit needs a conditional GAN (mnist gan --conditional); %s is not one",
                               model);
    if (digit >= K && K) return cli_usage_error("generate", "--digit %ld: the model has classes 0 to %ld", digit, K - 1);
    int n = count > 0 ? (int)count : K && digit < 0 ? (int)(10 * K) : 100;
    if (count > 0 && K && digit < 0) n = (int)(count * K);
    if (n > 10000) return cli_usage_error("generate", "at most 10000 digits at once");

    mn_model g;
    if (mn_model_load_part(&g, model, is_gan ? MN_GAN_GENERATOR : MN_AE_DECODER, 100, 0, &e)) return cli_fail(&e);
    int rc = 1;
    size_t pix = mn_shape_size(g.output_shape), in = mn_shape_size(g.input_shape);
    int rows = 28, colsz = 28;
    if (pix != 784) rows = 1, colsz = (int)pix;
    if (in != (size_t)(L + K)) {
        fprintf(stderr, "mnist: %s: the generator takes %zu inputs, not latent %ld + classes %ld\n", model, in, L, K);
        mn_model_free(&g);
        return 1;
    }
    float *z = malloc((size_t)n * L * sizeof *z), *img = malloc((size_t)n * pix * sizeof *img);
    int *labels = malloc((size_t)n * sizeof *labels);
    if (!z || !img || !labels) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    mn_rng rng;
    mn_rng_seed(&rng, seed);
    mn_rng_gauss(&rng, z, (size_t)n * L);
    int per_class = K && digit < 0 ? n / (int)K : n;
    for (int i = 0; i < n; i++) labels[i] = digit >= 0 ? (int)digit : K ? i / per_class : 0;
    /* the generator's (or decoder's) forward, batch by batch, as mn_gan_generate / mn_ae_decode do */
    for (int done = 0; done < n;) {
        int B = n - done < g.max_batch ? n - done : g.max_batch;
        for (int b = 0; b < B; b++) {
            float *dst = g.input + (size_t)b * in;
            memcpy(dst, z + (size_t)(done + b) * L, (size_t)L * sizeof *dst);
            for (int k = 0; k < K; k++) dst[L + k] = k == labels[done + b] ? 1.0f : 0.0f;
        }
        const float *y = mn_model_run(&g, B, 0);
        for (size_t i = 0; i < (size_t)B * pix; i++) {
            float v = is_gan ? 0.5f * (y[i] + 1.0f) : y[i] >= 0 ? 1.0f / (1.0f + expf(-y[i])) : expf(y[i]) / (1.0f + expf(y[i]));
            img[(size_t)done * pix + i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        done += B;
    }
    /* A conditional grid gives each class its own row when the rows stay short;
     * with more per class, each class fills whole rows of --cols (classes stay
     * apart when per_class is a multiple of it). An explicit --cols always wins. */
    int per_row = K && digit < 0 && !cols_given && per_class <= 20 ? per_class : (int)cols;
    if (mn_draw_digit_grid(png, img, n, rows, colsz, per_row, 2, NULL, &e)) {
        cli_fail(&e);
        goto out;
    }
    printf("saved %s (%d digits)\n", png, n);
    if (clf && (is_vae ? vae_targets(model, data, z, n, (int)L, labels, &e) : 0)) {
        cli_fail(&e);
        goto out;
    }
    if (clf && (K || is_vae) && score(clf, img, labels, n, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (clf && !K && !is_vae) printf("--classify: an unconditional GAN asks for no class; nothing to score\n");
    rc = 0;
out:
    free(z), free(img), free(labels);
    mn_model_free(&g);
    return rc;
}
