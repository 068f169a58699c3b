/* cmd_convert.c - `mnist convert IN OUT`: a data set from one format to
 * another (IDX folder, .npz, .csv). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "mnist/csv.h"
#include "mnist/dataset.h"
#include "mnist/idx.h"
#include "mnist/npz.h"

static const char help[] =
    "Usage: mnist convert IN OUT [options]\n"
    "\n"
    "Converts a data set, its training and test sets, between formats. IN is anything\n"
    "--data takes (an IDX folder, raw or .gz, FILE.npz, FILE.csv); OUT's name says what\n"
    "to write:\n"
    "  OUT.npz         Keras's layout: x_train, y_train, x_test, y_test (uint8, stored)\n"
    "  OUT.csv         the training set; the test set goes to the name with 'test' for\n"
    "                  'train' (so OUT must contain 'train'), e.g. mnist_train.csv\n"
    "  anything else   a folder of raw IDX files (train-images-idx3-ubyte, ...; created)\n"
    "\n"
    "  --no-header     CSV without the header row (label first, then the pixels)\n"
    "  --transpose     transpose the images while reading (EMNIST's layout)\n";

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcasecmp(s + n - k, suf) == 0;
}

static int write_idx(const char *dir, const char *prefix, const mn_dataset *ds, mn_err *e)
{
    char p[4200];
    uint32_t di[3] = {(uint32_t)ds->n, (uint32_t)ds->h, (uint32_t)ds->w}, dl[1] = {(uint32_t)ds->n};
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, prefix);
    if (mn_idx_write(p, 3, di, ds->images, e)) return -1;
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, prefix);
    return mn_idx_write(p, 1, dl, ds->labels, e);
}

int cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int header = 1, transpose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--no-header")) header = 0;
        else if (!strcmp(argv[i], "--transpose")) transpose = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("convert", "unknown option '%s'", argv[i]);
        else if (!in) in = argv[i];
        else if (!out) out = argv[i];
        else return cli_usage_error("convert", "one input and one output ('%s' is a third)", argv[i]);
    }
    if (!in || !out) return cli_usage_error("convert", "convert what to what? e.g. mnist convert data/mnist mnist.npz");
    const char *slash = strrchr(out, '/');
    const char *base = slash ? slash + 1 : out;
    const char *at = NULL;
    for (const char *q = base; (q = strstr(q, "train")); q++) at = q;
    if (ends_with(out, ".csv") && !at)
        return cli_usage_error("convert", "name the CSV with 'train' in it (e.g. mnist_train.csv): its test set is "
                                          "written to the name with 'test' instead");

    mn_err e;
    mn_dataset tr = {0}, te = {0};
    mn_data_opts o = {.transpose = transpose};
    int rc = 1;
    if (mn_data_load_opts(in, MN_SPLIT_TRAIN, &o, &tr, &e)) return cli_fail(&e);
    int trc = mn_data_load_opts(in, MN_SPLIT_TEST, &o, &te, &e);
    if (trc < 0) {
        cli_fail(&e);
        goto done;
    }
    if (trc == MN_DATA_ABSENT) printf("no test set (%s); converting the training set only\n", e.msg);
    if (tr.type != MN_PIX_U8 || tr.c != 1) {
        fprintf(stderr, "mnist: %s: only one-channel byte images can be converted\n", in);
        goto done;
    }
    if (ends_with(out, ".npz")) {
        uint64_t dx[2][3] = {{(uint64_t)tr.n, (uint64_t)tr.h, (uint64_t)tr.w}, {(uint64_t)te.n, (uint64_t)te.h, (uint64_t)te.w}};
        uint64_t dy[2][1] = {{(uint64_t)tr.n}, {(uint64_t)te.n}};
        mn_npz_array a[4] = {{"x_train", 3, dx[0], tr.images}, {"y_train", 1, dy[0], tr.labels},
                             {"x_test", 3, dx[1], te.images}, {"y_test", 1, dy[1], te.labels}};
        if (mn_npz_write(out, a, te.n ? 4 : 2, &e)) {
            cli_fail(&e);
            goto done;
        }
        printf("wrote %s: %d training and %d test images\n", out, tr.n, te.n);
    } else if (ends_with(out, ".csv")) {
        char tpath[4200];
        snprintf(tpath, sizeof tpath, "%.*stest%s", (int)(at - out), out, at + 5);
        if (mn_csv_write(out, &tr, header, &e) || (te.n && mn_csv_write(tpath, &te, header, &e))) {
            cli_fail(&e);
            goto done;
        }
        printf("wrote %s (%d images)%s%s%s\n", out, tr.n, te.n ? " and " : "", te.n ? tpath : "", te.n ? "" : "");
    } else {
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "mnist: %s: %s\n", out, strerror(errno));
            goto done;
        }
        if (write_idx(out, "train", &tr, &e) || (te.n && write_idx(out, "t10k", &te, &e))) {
            cli_fail(&e);
            goto done;
        }
        printf("wrote %s/train-*%s\n", out, te.n ? " and t10k-*" : "");
    }
    rc = 0;
done:
    mn_dataset_free(&tr);
    mn_dataset_free(&te);
    return rc;
}
