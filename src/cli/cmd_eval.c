/* cmd_eval.c - `mnist eval`: test loss, accuracy, confusion matrix. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mnist/atomic.h"
#include "mnist/draw.h"
#include "mnist/gemm.h"
#include "mnist/dataset.h"
#include "mnist/model.h"
#include "mnist/png.h"
#include "mnist/train.h"

static const char help[] =
    "Usage: mnist eval MODEL [options]\n"
    "\n"
    "Evaluates a saved model on <data>/t10k-*: loss, accuracy, the confusion matrix and\n"
    "per-class precision and recall.\n"
    "\n"
    "  --data SOURCE    the data (as for train; default: $MNIST_DATA, else data/mnist)\n"
    "  --batch-size N   samples per forward pass (default: 32)\n"
    "  --threads N      threads (default: all cores, or OMP_NUM_THREADS)\n"
    "  --json           print the results as one JSON object\n"
    "  --transpose      transpose the images (EMNIST's layout; automatic for EMNIST's names)\n"
    "  --errors FILE    write the misclassified images to a PNG, most confident mistakes first:\n"
    "                   3x tiles captioned TRUE>PREDICTED and the confidence, 20 a row\n"
    "  --errors-max N   at most N tiles in that PNG (default: 400)\n"
    "  --probs FILE     write every test image's class probabilities to FILE: float32\n"
    "                   little-endian, images x classes, in test-set order (for comparing\n"
    "                   with another runtime, e.g. scripts/onnx_check.sh)\n";

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Width of the widest class label. */
static int label_width(char **names, int C)
{
    int w = 1;
    char buf[48];
    for (int c = 0; c < C; c++) {
        int k = (int)strlen(mn_class_name(names, C, c, buf, sizeof buf));
        if (k > w) w = k;
    }
    return w;
}

/* The confusion matrix: up to 10 classes as it always was (6-wide columns);
 * more in blocks of columns that fit in 80 characters, each block with its
 * header, so 47 or 62 classes read as three or four tables. */
static void print_confusion(int C, const int *cm, char **names)
{
    char buf[48];
    int maxv = 0;
    for (int i = 0; i < C * C; i++)
        if (cm[i] > maxv) maxv = cm[i];
    int digits = 1;
    for (int v = maxv; v >= 10; v /= 10) digits++;
    int lw = label_width(names, C);
    int cell = C <= 10 ? 6 : (digits > lw ? digits : lw) + 1, rowlab = C <= 10 ? 6 : lw + 1;
    if (cell < 6 && C <= 10) cell = 6;
    int per = C <= 10 ? C : (80 - rowlab) / cell;
    if (per < 1) per = 1;
    printf("Confusion matrix (rows: true class, columns: predicted)\n");
    for (int j0 = 0; j0 < C; j0 += per) {
        int j1 = j0 + per < C ? j0 + per : C;
        if (j0) printf("\n");
        printf("%*s", rowlab, "");
        for (int j = j0; j < j1; j++) printf("%*s", cell, mn_class_name(names, C, j, buf, sizeof buf));
        printf("\n");
        for (int i = 0; i < C; i++) {
            printf("%*s", rowlab, mn_class_name(names, C, i, buf, sizeof buf));
            for (int j = j0; j < j1; j++) printf("%*d", cell, cm[i * C + j]);
            printf("\n");
        }
    }
}

static void print_text(int C, const int *cm, char **names, int n, int batch, double secs, double loss, double acc)
{
    int steps = (n + batch - 1) / batch;
    printf("%d/%d - %.0fs - loss: %.4f - accuracy: %.4f\n\n", steps, steps, secs, loss, acc);
    print_confusion(C, cm, names);
    char buf[48];
    int lw = label_width(names, C);
    if (lw < 5) lw = 5;
    printf("\n%-*s  precision  recall  support\n", lw, "class");
    for (int c = 0; c < C; c++) {
        long tp = cm[c * C + c], pred = 0, sup = 0;
        for (int k = 0; k < C; k++) pred += cm[k * C + c], sup += cm[c * C + k];
        printf("%*s  %9.4f  %6.4f  %7ld\n", lw, mn_class_name(names, C, c, buf, sizeof buf),
               pred ? (double)tp / pred : 0.0, sup ? (double)tp / sup : 0.0, sup);
    }
}

/* ---- --errors: a grid of the misclassified images ---------------------- */

#define ERR_SCALE 3
#define ERR_MARGIN 6
#define ERR_PER_ROW 20

typedef struct {
    int index, label, pred;
    float conf; /* the model's probability of pred */
} mistake;

static int by_confidence(const void *pa, const void *pb)
{
    const mistake *a = pa, *b = pb;
    if (a->conf != b->conf) return a->conf > b->conf ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Runs the model over ds again, keeping each mistake and the probability of
 * its wrong answer, and draws the max most confident ones. */
static int write_errors(mn_model *m, const mn_dataset *ds, char **names, const char *path, int max, int *n_err,
                        int *n_drawn, mn_err *e)
{
    int C = m->n_classes, n = 0, correct;
    *n_err = *n_drawn = 0;
    if (ds->type != MN_PIX_U8) return mn_fail(e, "%s: --errors draws byte images; %s has float pixels", path, ds->path);
    mistake *ms = malloc((size_t)ds->n * sizeof *ms);
    if (!ms) return mn_fail(e, "%s: out of memory", path);
    for (int done = 0; done < ds->n; done += m->max_batch) {
        int B = ds->n - done < m->max_batch ? ds->n - done : m->max_batch;
        mn_dataset_batch(ds, NULL, done, B, m->input, m->labels);
        mn_model_forward(m, B, 0, &correct);
        for (int i = 0; i < B; i++) {
            const float *p = m->probs + (size_t)i * C;
            int arg = 0;
            for (int j = 1; j < C; j++)
                if (p[j] > p[arg]) arg = j;
            if (arg != m->labels[i]) ms[n++] = (mistake){done + i, m->labels[i], arg, p[arg]};
        }
    }
    qsort(ms, (size_t)n, sizeof *ms, by_confidence);
    int k = n < max ? n : max, cols = k < ERR_PER_ROW ? (k ? k : 1) : ERR_PER_ROW, rows = k ? (k + cols - 1) / cols : 1;
    int tw = ds->w * ERR_SCALE, th = ds->h * ERR_SCALE, cw = tw + ERR_MARGIN, ch = th + 4 + 14 + ERR_MARGIN;
    mn_canvas cv;
    if (mn_canvas_init(&cv, ERR_MARGIN + cols * cw, ERR_MARGIN + rows * ch, 3, 0x303030, e)) {
        free(ms);
        mn_err inner = *e;
        return mn_fail(e, "%s: %s", path, inner.msg);
    }
    if (!k) mn_canvas_text(&cv, ERR_MARGIN, ERR_MARGIN + th / 2, "NO ERRORS", 1, 0xffffff);
    for (int i = 0; i < k; i++) {
        int x = ERR_MARGIN + (i % cols) * cw, y = ERR_MARGIN + (i / cols) * ch;
        mn_canvas_image(&cv, x, y, mn_dataset_image_u8(ds, ms[i].index), ds->h, ds->w, ERR_SCALE);
        char t[16], pct[16];
        int ty = y + th + 4;
        mn_class_name(names, C, ms[i].label, t, sizeof t);
        int tx = mn_canvas_text(&cv, x, ty, t, 2, 0x7ed87e);
        tx = mn_canvas_text(&cv, tx, ty, ">", 2, 0xd0d0d0);
        mn_class_name(names, C, ms[i].pred, t, sizeof t);
        mn_canvas_text(&cv, tx, ty, t, 2, 0xff7070);
        snprintf(pct, sizeof pct, "%d%%", (int)(100.0f * ms[i].conf + 0.5f));
        mn_canvas_text(&cv, x + tw - mn_text_width(pct, 1), ty + 7, pct, 1, 0xb0b0b0);
    }
    free(ms);
    int rc = mn_png_write(path, cv.w, cv.h, cv.channels, cv.px, e);
    mn_canvas_free(&cv);
    *n_err = n, *n_drawn = k;
    return rc;
}

/* ---- --probs: the raw probabilities ------------------------------------ */

static int write_probs(mn_model *m, const mn_dataset *ds, const char *path, mn_err *e)
{
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    int C = m->n_classes, correct, ok = 1;
    for (int done = 0; done < ds->n && ok; done += m->max_batch) {
        int B = ds->n - done < m->max_batch ? ds->n - done : m->max_batch;
        mn_dataset_batch(ds, NULL, done, B, m->input, m->labels);
        mn_model_forward(m, B, 0, &correct);
        for (size_t i = 0; i < (size_t)B * (size_t)C && ok; i++) {
            uint32_t u;
            unsigned char b[4];
            memcpy(&u, &m->probs[i], 4);
            b[0] = (unsigned char)u, b[1] = (unsigned char)(u >> 8), b[2] = (unsigned char)(u >> 16),
            b[3] = (unsigned char)(u >> 24);
            ok = fwrite(b, 1, 4, f) == 4;
        }
    }
    return mn_atomic_commit(f, path, tmp, ok, e);
}

static void print_json(const char *path, int C, const int *cm, char **names, int n, double loss, double acc)
{
    printf("{\"model\": \"");
    for (const char *s = path; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    printf("\", \"samples\": %d, \"loss\": %.6f, \"accuracy\": %.6f, \"confusion\": [", n, loss, acc);
    for (int i = 0; i < C; i++) {
        printf("%s[", i ? ", " : "");
        for (int j = 0; j < C; j++) printf("%s%d", j ? ", " : "", cm[i * C + j]);
        printf("]");
    }
    printf("], \"per_class\": [");
    for (int c = 0; c < C; c++) {
        long tp = cm[c * C + c], pred = 0, sup = 0;
        for (int k = 0; k < C; k++) pred += cm[k * C + c], sup += cm[c * C + k];
        printf("%s{\"class\": %d, ", c ? ", " : "", c);
        if (names) printf("\"name\": \"%s\", ", names[c]); /* printable, no '"' or '\\' (dataset.h) */
        printf("\"precision\": %.6f, \"recall\": %.6f, \"support\": %ld}", pred ? (double)tp / pred : 0.0,
               sup ? (double)tp / sup : 0.0, sup);
    }
    printf("]}\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *errors = NULL, *probs = NULL, *v;
    long batch = 32, threads = 0, errors_max = 400;
    int json = 0, transpose = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(argv[i], "--transpose")) {
            transpose = 1;
            continue;
        }
        if ((r = cli_opt("eval", argc, argv, &i, "--data", &v))) {
            if (r < 0) return EXIT_USAGE;
            data = v;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--batch-size", &v))) {
            if (r < 0 || cli_int("eval", "--batch-size", v, 1, 65536, &batch)) return EXIT_USAGE;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--errors-max", &v))) {
            if (r < 0 || cli_int("eval", "--errors-max", v, 1, 10000, &errors_max)) return EXIT_USAGE;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--errors", &v))) {
            if (r < 0) return EXIT_USAGE;
            errors = v;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--probs", &v))) {
            if (r < 0) return EXIT_USAGE;
            probs = v;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_int("eval", "--threads", v, 1, 1024, &threads)) return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("eval", "unknown option '%s'", argv[i]);
        } else if (model_path) {
            return cli_usage_error("eval", "one model file at a time ('%s' and '%s')", model_path, argv[i]);
        } else {
            model_path = argv[i];
        }
    }
    if (!model_path) return cli_usage_error("eval", "which model? e.g. mnist eval model.bin");
    if (threads) mn_set_threads((int)threads);

    mn_err e;
    mn_model m;
    if (mn_model_load(&m, model_path, (int)batch, &e)) return cli_fail(&e);
    const char *dir = cli_data_source(data, json ? stderr : stdout);
    mn_dataset test = {0};
    char **names = NULL;
    int rc = 1, *cm = NULL;
    mn_data_opts dopt = {.transpose = transpose};
    int lr = mn_data_load_opts(dir, MN_SPLIT_TEST, &dopt, &test, &e);
    if (lr) {
        cli_fail(&e);
        goto out;
    }
    if (test.c != m.input_shape.c || test.h != m.input_shape.h || test.w != m.input_shape.w ||
        test.n_classes != m.n_classes) {
        fprintf(stderr, "mnist: %s: model expects %dx%d images and %d classes; %s has %dx%d and %d\n", model_path,
                m.input_shape.h, m.input_shape.w, m.n_classes, test.path, test.h, test.w, test.n_classes);
        goto out;
    }
    cli_names_of_model(mn_model_meta(&m, "class_names"), m.n_classes, &names);
    char **shown = names ? names : test.class_names;
    cm = calloc((size_t)m.n_classes * (size_t)m.n_classes, sizeof *cm);
    if (!cm) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    double loss, acc, t0 = seconds();
    mn_evaluate(&m, &test, 0, test.n, &loss, &acc, cm, NULL);
    if (json)
        print_json(model_path, m.n_classes, cm, shown, test.n, loss, acc);
    else
        print_text(m.n_classes, cm, shown, test.n, (int)batch, seconds() - t0, loss, acc);
    if (errors) {
        int n_err, n_drawn;
        if (write_errors(&m, &test, shown, errors, (int)errors_max, &n_err, &n_drawn, &e)) {
            cli_fail(&e);
            goto out;
        }
        if (!json) printf("\nsaved %s: %d of %d misclassified images\n", errors, n_drawn, n_err);
    }
    if (probs) {
        if (write_probs(&m, &test, probs, &e)) {
            cli_fail(&e);
            goto out;
        }
        if (!json) printf("\nsaved %s: %d x %d probabilities (float32)\n", probs, test.n, m.n_classes);
    }
    rc = 0;
out:
    cli_names_free(names, m.n_classes);
    free(cm);
    mn_dataset_free(&test);
    mn_model_free(&m);
    return rc;
}
