/* cmd_eval.c - `mnist eval`: test loss, accuracy, confusion matrix. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mnist/gemm.h"
#include "mnist/idx.h"
#include "mnist/model.h"
#include "mnist/train.h"

static const char help[] =
    "Usage: mnist eval MODEL [options]\n"
    "\n"
    "Evaluates a saved model on <data>/t10k-*: loss, accuracy, the confusion matrix and\n"
    "per-class precision and recall.\n"
    "\n"
    "  --data DIR       data directory (default: $MNIST_DATA, else data/mnist)\n"
    "  --batch-size N   samples per forward pass (default: 32)\n"
    "  --threads N      threads (default: all cores, or OMP_NUM_THREADS)\n"
    "  --json           print the results as one JSON object\n";

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_text(int C, const int *cm, int n, int batch, double secs, double loss, double acc)
{
    int steps = (n + batch - 1) / batch;
    printf("%d/%d - %.0fs - loss: %.4f - accuracy: %.4f\n\n", steps, steps, secs, loss, acc);
    printf("Confusion matrix (rows: true class, columns: predicted)\n      ");
    for (int j = 0; j < C; j++) printf("%6d", j);
    printf("\n");
    for (int i = 0; i < C; i++) {
        printf("%6d", i);
        for (int j = 0; j < C; j++) printf("%6d", cm[i * C + j]);
        printf("\n");
    }
    printf("\nclass  precision  recall  support\n");
    for (int c = 0; c < C; c++) {
        long tp = cm[c * C + c], pred = 0, sup = 0;
        for (int k = 0; k < C; k++) pred += cm[k * C + c], sup += cm[c * C + k];
        printf("%5d  %9.4f  %6.4f  %7ld\n", c, pred ? (double)tp / pred : 0.0, sup ? (double)tp / sup : 0.0, sup);
    }
}

static void print_json(const char *path, int C, const int *cm, int n, double loss, double acc)
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
        printf("%s{\"class\": %d, \"precision\": %.6f, \"recall\": %.6f, \"support\": %ld}", c ? ", " : "", c,
               pred ? (double)tp / pred : 0.0, sup ? (double)tp / sup : 0.0, sup);
    }
    printf("]}\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *v;
    long batch = 32, threads = 0;
    int json = 0;
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
        if ((r = cli_opt("eval", argc, argv, &i, "--data", &v))) {
            if (r < 0) return EXIT_USAGE;
            data = v;
        } else if ((r = cli_opt("eval", argc, argv, &i, "--batch-size", &v))) {
            if (r < 0 || cli_int("eval", "--batch-size", v, 1, 65536, &batch)) return EXIT_USAGE;
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
    const char *dir = cli_data_dir(data);
    mn_dataset test = {0};
    int rc = 1, *cm = NULL;
    if (mn_dataset_load(dir, "t10k", &test, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (test.rows != m.input_shape.h || test.cols != m.input_shape.w || test.n_classes != m.n_classes) {
        fprintf(stderr, "mnist: %s: model expects %dx%d images and %d classes; %s has %dx%d and %d\n", model_path,
                m.input_shape.h, m.input_shape.w, m.n_classes, dir, test.rows, test.cols, test.n_classes);
        goto out;
    }
    cm = calloc((size_t)m.n_classes * (size_t)m.n_classes, sizeof *cm);
    if (!cm) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    double loss, acc, t0 = seconds();
    mn_evaluate(&m, &test, 0, test.n, &loss, &acc, cm, NULL);
    if (json)
        print_json(model_path, m.n_classes, cm, test.n, loss, acc);
    else
        print_text(m.n_classes, cm, test.n, (int)batch, seconds() - t0, loss, acc);
    rc = 0;
out:
    free(cm);
    mn_dataset_free(&test);
    mn_model_free(&m);
    return rc;
}
