/* cmd_predict.c - `mnist predict`: classify image files (PNG, PGM) or test-set images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/idx.h"
#include "mnist/image.h"
#include "mnist/model.h"

static const char help[] =
    "Usage: mnist predict MODEL IMAGE... [options]\n"
    "\n"
    "Classifies pictures of digits (PNG or PGM, any size, dark on light or light on\n"
    "dark) and prints the most likely classes, e.g.\n"
    "  digit.png: 7 (98.1%)  1 (1.2%)  9 (0.3%)\n"
    "Each image is prepared as MNIST was: inverted if the background is light, cropped\n"
    "to the ink, scaled to fit 20x20 (keeping the aspect ratio) and centred by its centre\n"
    "of mass in a 28x28 field.\n"
    "\n"
    "  --raw           only convert to grey and resize to 28x28 (no invert, crop, centring)\n"
    "  --show          print the 28x28 input as ASCII art before the prediction\n"
    "  --top K         how many classes to print (default: 3)\n"
    "  --index N       predict test-set image N (<data>/t10k-*) and print its label;\n"
    "                  may be repeated, and mixed with image files\n"
    "  --data DIR      data directory for --index (default: $MNIST_DATA, else data/mnist)\n"
    "\n"
    "An image that cannot be read, or has no digit in it (blank, one flat colour: \"no digit\n"
    "found\", not a guess), is reported (one line naming it) and skipped; the exit code is\n"
    "then 1.\n";

typedef struct {
    const char *path; /* an image file, or NULL for a test-set index */
    long index;
} item;

/* Prints x (28x28, 0..255) as ASCII art, two characters per pixel. */
static void show(const uint8_t *x)
{
    static const char ramp[] = " .:-=+*#%@";
    const int levels = (int)sizeof ramp - 1;
    printf("+");
    for (int i = 0; i < 2 * MN_MNIST_SIDE; i++) putchar('-');
    printf("+\n");
    for (int y = 0; y < MN_MNIST_SIDE; y++) {
        putchar('|');
        for (int xx = 0; xx < MN_MNIST_SIDE; xx++) {
            char ch = ramp[x[y * MN_MNIST_SIDE + xx] * levels / 256];
            putchar(ch);
            putchar(ch);
        }
        printf("|\n");
    }
    printf("+");
    for (int i = 0; i < 2 * MN_MNIST_SIDE; i++) putchar('-');
    printf("+\n");
}

/* Runs the model on one 28x28 grey image and prints "<label>: c (p%) ...". */
static void predict_one(mn_model *m, const uint8_t *px, const char *label, int top, int truth)
{
    mn_image_to_float(px, MN_MNIST_PIXELS, m->input);
    m->labels[0] = 0;
    int correct;
    mn_model_forward(m, 1, 0, &correct);
    const float *p = m->probs;
    int C = m->n_classes, order[1024];
    for (int c = 0; c < C; c++) order[c] = c;
    /* Selection sort of the first `top` places: C is small. */
    for (int i = 0; i < top; i++) {
        int best = i;
        for (int j = i + 1; j < C; j++)
            if (p[order[j]] > p[order[best]]) best = j;
        int t = order[i];
        order[i] = order[best];
        order[best] = t;
    }
    printf("%s:", label);
    for (int i = 0; i < top; i++) printf("%s%d (%.1f%%)", i ? "  " : " ", order[i], 100.0 * p[order[i]]);
    if (truth >= 0) printf("  (label %d)", truth);
    printf("\n");
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *v;
    int raw = 0, want_show = 0, n_items = 0, n_index = 0, rc = 0;
    long top = 3;
    item *items = calloc((size_t)argc, sizeof *items);
    if (!items) {
        fprintf(stderr, "mnist: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            free(items);
            return 0;
        }
        if (!strcmp(argv[i], "--raw")) {
            raw = 1;
        } else if (!strcmp(argv[i], "--show")) {
            want_show = 1;
        } else if ((r = cli_opt("predict", argc, argv, &i, "--top", &v))) {
            if (r < 0 || cli_int("predict", "--top", v, 1, 1024, &top)) goto usage;
        } else if ((r = cli_opt("predict", argc, argv, &i, "--index", &v))) {
            long idx;
            if (r < 0 || cli_int("predict", "--index", v, 0, 0x7FFFFFFFL, &idx)) goto usage;
            items[n_items].path = NULL;
            items[n_items++].index = idx;
            n_index++;
        } else if ((r = cli_opt("predict", argc, argv, &i, "--data", &v))) {
            if (r < 0) goto usage;
            data = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_usage_error("predict", "unknown option '%s'", argv[i]);
            goto usage;
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            items[n_items++].path = argv[i];
        }
    }
    if (!model_path) {
        cli_usage_error("predict", "which model? e.g. mnist predict model.bin digit.png");
        goto usage;
    }
    if (!n_items) {
        cli_usage_error("predict", "which images? e.g. mnist predict %s digit.png (or --index N)", model_path);
        goto usage;
    }

    mn_err e;
    mn_model m;
    if (mn_model_load(&m, model_path, 1, &e)) {
        free(items);
        return cli_fail(&e);
    }
    mn_dataset test = {0};
    if (m.input_shape.c != 1 || m.input_shape.h != MN_MNIST_SIDE || m.input_shape.w != MN_MNIST_SIDE ||
        m.n_classes > 1024) {
        fprintf(stderr, "mnist: %s: model expects %dx%dx%d inputs; predict makes 1x%dx%d images\n", model_path,
                m.input_shape.c, m.input_shape.h, m.input_shape.w, MN_MNIST_SIDE, MN_MNIST_SIDE);
        rc = 1;
        goto out;
    }
    if (top > m.n_classes) top = m.n_classes;
    if (n_index) {
        const char *dir = cli_data_dir(data);
        if (mn_dataset_load(dir, "t10k", &test, &e)) {
            rc = cli_fail(&e);
            goto out;
        }
        if (test.rows != MN_MNIST_SIDE || test.cols != MN_MNIST_SIDE || test.n_classes != m.n_classes) {
            fprintf(stderr, "mnist: %s: model expects %dx%d images and %d classes; %s has %dx%d and %d\n",
                    model_path, m.input_shape.h, m.input_shape.w, m.n_classes, dir, test.rows, test.cols,
                    test.n_classes);
            rc = 1;
            goto out;
        }
        for (int k = 0; k < n_items; k++) {
            if (!items[k].path && items[k].index >= test.n) {
                rc = cli_usage_error("predict", "--index %ld is out of range: %s has %d test images (0 to %d)",
                                     items[k].index, dir, test.n, test.n - 1);
                goto out;
            }
        }
    }

    for (int k = 0; k < n_items; k++) {
        uint8_t x[MN_MNIST_PIXELS];
        char label[64];
        const char *name = label;
        int truth = -1;
        if (items[k].path) {
            mn_image im;
            name = items[k].path;
            if (mn_image_read(items[k].path, &im, &e)) {
                rc = cli_fail(&e);
                continue;
            }
            int bad = mn_image_prepare(&im, raw, x, &e); /* fails on a blank image: no guess */
            mn_image_free(&im);
            if (bad) {
                fprintf(stderr, "mnist: %s: %s\n", items[k].path, e.msg);
                rc = 1;
                continue;
            }
        } else {
            long s = items[k].index;
            memcpy(x, test.images + (size_t)s * MN_MNIST_PIXELS, MN_MNIST_PIXELS);
            truth = test.labels[s];
            snprintf(label, sizeof label, "t10k[%ld]", s);
        }
        if (want_show) show(x);
        predict_one(&m, x, name, (int)top, truth);
    }
out:
    mn_dataset_free(&test);
    mn_model_free(&m);
    free(items);
    return rc;
usage:
    free(items);
    return EXIT_USAGE;
}
