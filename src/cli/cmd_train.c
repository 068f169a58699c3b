/* cmd_train.c - `mnist train`: Keras's fit, then evaluate and save. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/gemm.h"
#include "mnist/idx.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/train.h"
#include "progress.h"

static const char help[] =
    "Usage: mnist train [options]\n"
    "\n"
    "Trains a model on <data>/train-*, evaluates it on <data>/t10k-* and saves it.\n"
    "\n"
    "  --arch ARCH             preset (mlp, wide, 3b1b) or layers, e.g. \"dense:128,relu,dropout:0.2,dense:10\"\n"
    "                          (default: mlp)\n"
    "  --epochs N              passes over the training data (default: 5)\n"
    "  --batch-size N          samples per step (default: 32)\n"
    "  --optimizer NAME        adam, rmsprop or sgd (default: adam)\n"
    "  --lr X                  learning rate (default: 0.001; 0.01 for sgd)\n"
    "  --momentum X            sgd momentum (default: 0)\n"
    "  --nesterov              sgd with Nesterov momentum\n"
    "  --validation-split X    hold out the last X of the training data (default: 0)\n"
    "  --seed N                seed for initialisation, dropout and shuffling (default: 1)\n"
    "  --threads N             threads (default: all cores, or OMP_NUM_THREADS)\n"
    "  --data DIR              data directory (default: $MNIST_DATA, else data/mnist)\n"
    "  --output FILE           where to save the model (default: model.bin)\n"
    "  --quiet                 print only errors and the final test line\n";

typedef struct {
    const char *arch, *data, *output, *optimizer;
    long epochs, batch, threads;
    double lr, momentum, val_split;
    int nesterov, quiet, lr_set;
    uint64_t seed;
} train_args;

/* Parses argv into a; returns -1 to exit 0 (help shown), >0 to exit with it. */
static int parse(int argc, char **argv, train_args *a)
{
    *a = (train_args){.arch = "mlp", .output = "model.bin", .optimizer = "adam", .epochs = 5, .batch = 32, .seed = 1};
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r = 0;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            return -1;
        }
        if (!strcmp(s, "--nesterov")) { a->nesterov = 1; continue; }
        if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) { a->quiet = 1; continue; }
#define OPT(name) ((r = cli_opt("train", argc, argv, &i, name, &v)) != 0)
        if (OPT("--arch")) a->arch = v;
        else if (OPT("--data")) a->data = v;
        else if (OPT("--output") || OPT("-o")) a->output = v;
        else if (OPT("--optimizer")) a->optimizer = v;
        else if (OPT("--epochs")) r = r < 0 ? r : cli_int("train", "--epochs", v, 1, 100000, &a->epochs);
        else if (OPT("--batch-size")) r = r < 0 ? r : cli_int("train", "--batch-size", v, 1, 65536, &a->batch);
        else if (OPT("--threads")) r = r < 0 ? r : cli_int("train", "--threads", v, 1, 1024, &a->threads);
        else if (OPT("--lr")) { r = r < 0 ? r : cli_float("train", "--lr", v, 1e-12, 1e6, &a->lr); a->lr_set = 1; }
        else if (OPT("--momentum")) r = r < 0 ? r : cli_float("train", "--momentum", v, 0, 0.999999, &a->momentum);
        else if (OPT("--validation-split")) r = r < 0 ? r : cli_float("train", "--validation-split", v, 0, 0.99, &a->val_split);
        else if (OPT("--seed")) r = r < 0 ? r : cli_u64("train", "--seed", v, &a->seed);
        else return cli_usage_error("train", "unknown option '%s'", s);
#undef OPT
        if (r < 0) return EXIT_USAGE;
    }
    if (mn_optim_kind_of(a->optimizer) < 0)
        return cli_usage_error("train", "--optimizer must be adam, rmsprop or sgd, not '%s'", a->optimizer);
    if ((a->momentum > 0 || a->nesterov) && mn_optim_kind_of(a->optimizer) != MN_SGD)
        return cli_usage_error("train", "--momentum and --nesterov apply to --optimizer sgd only");
    if (a->nesterov && a->momentum == 0) return cli_usage_error("train", "--nesterov needs --momentum > 0");
    return 0;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    mn_err e;
    mn_model m;
    /* the architecture is checked before the data is read: a typo should not
     * cost the time of loading 60,000 images */
    if (mn_model_build(&m, a.arch, (mn_shape){1, 28, 28}, 10, &e)) return cli_usage_error("train", "%s", e.msg);
    if (a.threads) mn_set_threads((int)a.threads);

    const char *dir = cli_data_dir(a.data);
    mn_dataset train = {0}, test = {0};
    if (mn_dataset_load(dir, "train", &train, &e) || mn_dataset_load(dir, "t10k", &test, &e)) {
        mn_dataset_free(&train);
        return cli_fail(&e);
    }
    rc = 1;
    mn_optim opt = {0};
    mn_optim_kind kind = (mn_optim_kind)mn_optim_kind_of(a.optimizer);
    float lr = a.lr_set ? (float)a.lr : mn_optim_default_lr(kind);
    /* images may not be 28x28 (any IDX set): rebuild for the real shape */
    if (mn_model_build(&m, a.arch, (mn_shape){1, train.rows, train.cols}, train.n_classes, &e) ||
        mn_model_alloc(&m, (int)a.batch, &e) || mn_optim_init(&opt, kind, lr, m.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    opt.momentum = (float)a.momentum;
    opt.nesterov = a.nesterov;
    mn_model_init(&m, a.seed);

    mn_train_opts to = {(int)a.epochs, (int)a.batch, (float)a.val_split, a.seed};
    progress_bar bar;
    progress_init(&bar, a.quiet ? 0 : 1, isatty(fileno(stderr)));
    if (mn_train(&m, &opt, &train, &to, progress_update, &bar, &e)) {
        cli_fail(&e);
        goto out;
    }
    double loss, acc;
    mn_evaluate(&m, &test, 0, test.n, &loss, &acc, NULL, NULL);
    printf("test loss: %.4f - test accuracy: %.4f\n", loss, acc);

    char epochs[32], seed[32], lrs[32], batch[32], split[32], tacc[32], tloss[32];
    snprintf(epochs, sizeof epochs, "%ld", a.epochs);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a.seed);
    snprintf(lrs, sizeof lrs, "%g", (double)lr);
    snprintf(batch, sizeof batch, "%ld", a.batch);
    snprintf(split, sizeof split, "%g", a.val_split);
    snprintf(tacc, sizeof tacc, "%.4f", acc);
    snprintf(tloss, sizeof tloss, "%.4f", loss);
    const char *keys[] = {"epochs", "seed", "optimizer", "lr", "batch_size", "validation_split", "test_accuracy",
                          "test_loss", "mnist_version"};
    const char *vals[] = {epochs, seed, mn_optim_name(kind), lrs, batch, split, tacc, tloss, MNIST_VERSION};
    if (mn_model_save(&m, a.output, keys, vals, (int)(sizeof keys / sizeof *keys), &e)) {
        cli_fail(&e);
        goto out;
    }
    if (!a.quiet) printf("saved %s\n", a.output);
    rc = 0;
out:
    mn_optim_free(&opt);
    mn_model_free(&m);
    mn_dataset_free(&train);
    mn_dataset_free(&test);
    return rc;
}
