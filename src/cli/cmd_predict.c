/* cmd_predict.c - `mnist predict`: classify image files (PNG, PGM) or test-set images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/atomic.h"
#include "mnist/csv.h"
#include "mnist/dataset.h"
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
    "  --csv FILE      classify every row of a CSV of images (as Kaggle's test.csv: pixel\n"
    "                  columns, a label column if any is ignored) and write a submission:\n"
    "                  ImageId,Label with 1-based ids\n"
    "  --submission F  where that goes (default: -, standard output); written atomically\n"
    "  --transpose     transpose the images of --index/--csv data (EMNIST's layout)\n"
    "  --data SOURCE   the data for --index (as for train; default: $MNIST_DATA, else data/mnist)\n"
    "\n"
    "An image that cannot be read is reported (one line naming it) and skipped; the exit\n"
    "code is then 1.\n";

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
static void predict_one(mn_model *m, const uint8_t *px, const char *label, int top, int truth, char **names)
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
    char buf[48];
    for (int i = 0; i < top; i++)
        printf("%s%s (%.1f%%)", i ? "  " : " ", mn_class_name(names, C, order[i], buf, sizeof buf),
               100.0 * p[order[i]]);
    if (truth >= 0) printf("  (label %s)", mn_class_name(names, C, truth, buf, sizeof buf));
    printf("\n");
}

/* --csv: every row of csv through the model, "ImageId,Label" to out. */
static int write_submission(mn_model *m, const char *model_path, const char *csv, const char *out, int transpose)
{
    mn_err e;
    mn_dataset ds;
    if (mn_csv_read(csv, 1, &ds, NULL, &e)) return cli_fail(&e);
    if (transpose) mn_data_transpose(&ds);
    if (ds.c != m->input_shape.c || ds.h != m->input_shape.h || ds.w != m->input_shape.w) {
        fprintf(stderr, "mnist: %s: images are %dx%d, the model %s expects %dx%d\n", csv, ds.h, ds.w, model_path,
                m->input_shape.h, m->input_shape.w);
        mn_dataset_free(&ds);
        return 1;
    }
    FILE *f = stdout;
    char *tmp = NULL;
    int to_stdout = !strcmp(out, "-");
    if (!to_stdout && !(f = mn_atomic_open(out, &tmp, &e))) {
        mn_dataset_free(&ds);
        return cli_fail(&e);
    }
    int ok = fputs("ImageId,Label\n", f) >= 0, C = m->n_classes;
    for (int done = 0; done < ds.n && ok; done += m->max_batch) {
        int B = ds.n - done < m->max_batch ? ds.n - done : m->max_batch;
        mn_dataset_batch(&ds, NULL, done, B, m->input, NULL);
        const float *p = mn_model_infer(m, B);
        for (int i = 0; i < B && ok; i++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (p[(size_t)i * C + c] > p[(size_t)i * C + best]) best = c;
            ok = fprintf(f, "%d,%d\n", done + i + 1, best) > 0;
        }
    }
    int rc = 0;
    if (to_stdout) {
        if (fflush(stdout) != 0 || !ok) rc = 1, fprintf(stderr, "mnist: standard output: write error\n");
    } else if (mn_atomic_commit(f, out, tmp, ok, &e)) {
        rc = cli_fail(&e);
    } else {
        fprintf(stderr, "wrote %s: %d predictions\n", out, ds.n);
    }
    mn_dataset_free(&ds);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *csv = NULL, *submission = NULL, *v;
    int raw = 0, want_show = 0, transpose = 0, n_items = 0, n_index = 0, rc = 0;
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
        } else if (!strcmp(argv[i], "--transpose")) {
            transpose = 1;
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
        } else if ((r = cli_opt("predict", argc, argv, &i, "--csv", &v))) {
            if (r < 0) goto usage;
            csv = v;
        } else if ((r = cli_opt("predict", argc, argv, &i, "--submission", &v))) {
            if (r < 0) goto usage;
            submission = v;
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
    if (submission && !csv) {
        cli_usage_error("predict", "--submission writes the predictions of --csv FILE");
        goto usage;
    }
    if (csv && n_items) {
        cli_usage_error("predict", "--csv predicts a whole file; give images or --index without it");
        goto usage;
    }
    if (csv) {
        mn_err e;
        mn_model m;
        free(items);
        if (mn_model_load(&m, model_path, 256, &e)) return cli_fail(&e);
        int rc2 = write_submission(&m, model_path, csv, submission ? submission : "-", transpose);
        mn_model_free(&m);
        return rc2;
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
    char **names = NULL;
    int names_borrowed = 0;
    if (m.input_shape.c != 1 || m.input_shape.h != MN_MNIST_SIDE || m.input_shape.w != MN_MNIST_SIDE ||
        m.n_classes > 1024) {
        fprintf(stderr, "mnist: %s: model expects %dx%dx%d inputs; predict makes 1x%dx%d images\n", model_path,
                m.input_shape.c, m.input_shape.h, m.input_shape.w, MN_MNIST_SIDE, MN_MNIST_SIDE);
        rc = 1;
        goto out;
    }
    if (top > m.n_classes) top = m.n_classes;
    cli_names_of_model(mn_model_meta(&m, "class_names"), m.n_classes, &names);
    if (n_index) {
        const char *dir = cli_data_source(data, stdout);
        mn_data_opts dopt = {.transpose = transpose};
        if (mn_data_load_opts(dir, MN_SPLIT_TEST, &dopt, &test, &e)) {
            rc = cli_fail(&e);
            goto out;
        }
        if (test.c != 1 || test.h != MN_MNIST_SIDE || test.w != MN_MNIST_SIDE || test.n_classes != m.n_classes ||
            test.type != MN_PIX_U8) {
            fprintf(stderr, "mnist: %s: model expects %dx%d images and %d classes; %s has %dx%d and %d\n",
                    model_path, m.input_shape.h, m.input_shape.w, m.n_classes, test.path, test.h, test.w,
                    test.n_classes);
            rc = 1;
            goto out;
        }
        if (!names && test.class_names) names = test.class_names, names_borrowed = 1;
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
            int bad = raw ? mn_image_resize28(&im, x, &e) : mn_image_mnist(&im, x, NULL, &e);
            mn_image_free(&im);
            if (bad) {
                fprintf(stderr, "mnist: %s: %s\n", items[k].path, e.msg);
                rc = 1;
                continue;
            }
        } else {
            long s = items[k].index;
            memcpy(x, mn_dataset_image_u8(&test, (int)s), MN_MNIST_PIXELS);
            truth = test.labels[s];
            snprintf(label, sizeof label, "t10k[%ld]", s);
        }
        if (want_show) show(x);
        predict_one(&m, x, name, (int)top, truth, names);
    }
out:
    if (!names_borrowed) cli_names_free(names, m.n_classes);
    mn_dataset_free(&test);
    mn_model_free(&m);
    free(items);
    return rc;
usage:
    free(items);
    return EXIT_USAGE;
}
