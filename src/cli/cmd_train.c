/* cmd_train.c - `mnist train`: Keras's fit, then evaluate and save.
 *
 * The recipe (architecture, optimizer, batch size, seed, ...) is a list of
 * metadata pairs written into checkpoints and the model file; --resume reads
 * it back, so a resumed run is the same run. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/atomic.h"
#include "mnist/gemm.h"
#include "mnist/dataset.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/plot.h"
#include "mnist/train.h"
#include "progress.h"

static const char help[] =
    "Usage: mnist train [options]\n"
    "\n"
    "Trains a model on <data>/train-*, evaluates it on <data>/t10k-* and saves it.\n"
    "\n"
    "Recipe:\n"
    "  --arch ARCH             preset (mlp, wide, 3b1b, cnn, lenet5, rnn, vit, pytorch-example, speedrun)\n"
    "                          or layers, e.g. \"dense:128,relu,dense:10\" (default: mlp; the layers: 'mnist\n"
    "                          summary --help'). rnn, vit, pytorch-example and speedrun bring their recipe\n"
    "                          (optimizer, lr, schedule, batch size, epochs, ...: 'mnist summary --arch P'), used for\n"
    "                          every flag not given\n"
    "  --epochs N              passes over the training data (default: 5)\n"
    "  --batch-size N          samples per step (default: 32)\n"
    "  --optimizer NAME        adam, adamw, rmsprop, sgd or adadelta (default: adam)\n"
    "  --lr X                  learning rate (default: 0.001; 0.01 for sgd, 1.0 for adadelta)\n"
    "  --weight-decay X        adamw's decoupled weight decay, w -= lr*X*w each step (default: 0.01)\n"
    "  --momentum X            sgd momentum (default: 0)\n"
    "  --nesterov              sgd with Nesterov momentum\n"
    "  --lr-schedule S         step:EVERY:GAMMA (lr times GAMMA every EVERY epochs), exponential:GAMMA\n"
    "                          (times GAMMA every epoch), cosine (down to 0 over the run), or\n"
    "                          onecycle[:PCT][:linear] (PyTorch's OneCycleLR: from lr/25 up to lr over\n"
    "                          the first PCT of the steps, default 0.3, then down to lr/25e4; half\n"
    "                          cosines, or lines) (default: none)\n"
    "  --validation-split X    hold out the last X of the training data (default: 0)\n"
    "  --early-stopping N      stop when val_loss has not improved for N epochs, keep the best weights\n"
    "                          (needs --validation-split)\n"
    "  --augment SPEC          random changes to each training image: shift:N (move by up to N pixels\n"
    "                          each way), flip (mirror left-right), both (shift:2,flip) or none (default)\n"
    "  --ema M                 also keep a moving average of the weights, avg = M*avg + (1-M)*w after\n"
    "                          each step (Keras's use_ema, ema_momentum); validation, the test and the\n"
    "                          saved model use it (default: off; e.g. 0.999, ~1000 steps)\n"
    "  --normalize MEAN:STD    the layers see (pixel - MEAN) / STD, pixels in [0, 1] (PyTorch's\n"
    "                          transforms.Normalize; kept in the model file, so eval, predict and\n"
    "                          infer apply it too) or none (default: none)\n"
    "  --seed N                seed for initialisation, dropout, shuffling, augmentation (default: 1)\n"
    "\n"
    "Files:\n"
    "  --data SOURCE           a folder of IDX files, raw or .gz (MNIST, Fashion-MNIST, KMNIST,\n"
    "                          EMNIST, QMNIST; ROOT for torchvision's ROOT/MNIST/raw; DIR/emnist-SET\n"
    "                          for one EMNIST set), FILE.npz (Keras's x_train, y_train, x_test,\n"
    "                          y_test) or FILE.csv (label and pixel columns; its test set is the\n"
    "                          file named with 'test' for 'train', when that has labels)\n"
    "                          (default: $MNIST_DATA, else data/mnist, else ~/.keras/datasets/mnist.npz)\n"
    "  --transpose             transpose the images (EMNIST's layout; automatic for EMNIST's names)\n"
    "  --output FILE           where to save the model (default: model.bin)\n"
    "  --checkpoint FILE       save weights and optimizer state here after every epoch and on Ctrl-C\n"
    "  --resume FILE           continue from a checkpoint, with its recipe, up to --epochs in all\n"
    "  --log FILE              write epoch,accuracy,loss,val_accuracy,val_loss per epoch (CSV)\n"
    "  --plot FILE             draw loss and accuracy curves to an SVG, rewritten after every epoch\n"
    "\n"
    "Output and speed:\n"
    "  --verbose N             0 silent, 1 progress bar (default), 2 one line per epoch\n"
    "  --quiet                 same as --verbose 0\n"
    "  --threads N|auto        threads; auto (the default) times steps now and then and uses the\n"
    "                          fastest count up to all cores (OMP_NUM_THREADS, if set, is used as\n"
    "                          is); results do not depend on it\n";

typedef struct {
    const char *arch, *data, *output, *optimizer, *checkpoint, *resume, *log, *schedule, *plot, *augment, *normalize;
    long epochs, batch, threads, patience, verbose;
    double lr, momentum, val_split, ema, wd;
    int nesterov, lr_set, epochs_set, recipe_set, wd_set, opt_set, transpose;
    double norm_mean, norm_std; /* --normalize MEAN:STD; std 0: none */
    uint64_t seed;
} train_args;

/* Parses argv into a (from the defaults with init, else on top of what a
 * holds); returns -1 to exit 0 (help shown), >0 to exit with it. */
static int parse(int argc, char **argv, train_args *a, int init)
{
    if (init)
        *a = (train_args){.arch = "mlp", .output = "model.bin", .optimizer = "adam", .epochs = 5, .batch = 32,
                          .seed = 1, .verbose = 1};
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r = 0, recipe = 1;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            return -1;
        }
#define OPT(name) ((r = cli_opt("train", argc, argv, &i, name, &v)) != 0)
#define NUM(fn, flag, lo, hi, dst) (r = r < 0 ? r : fn("train", flag, v, lo, hi, dst))
        if (!strcmp(s, "--nesterov")) a->nesterov = 1;
        else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) a->verbose = 0, recipe = 0;
        else if (OPT("--arch")) a->arch = v;
        else if (OPT("--optimizer")) a->optimizer = v, a->opt_set = 1;
        else if (OPT("--normalize")) {
            char tail;
            a->normalize = v;
            if (r > 0 && strcmp(v, "none") &&
                (sscanf(v, "%lf:%lf%c", &a->norm_mean, &a->norm_std, &tail) != 2 || !(a->norm_std > 0) ||
                 !(a->norm_std < 1e6) || !(a->norm_mean > -1e6 && a->norm_mean < 1e6)))
                return cli_usage_error("train", "--normalize needs MEAN:STD with STD > 0 (e.g. 0.1307:0.3081) or none, "
                                                "not '%s'", v);
            if (r > 0 && !strcmp(v, "none")) a->norm_mean = a->norm_std = 0;
        }
        else if (OPT("--lr-schedule")) a->schedule = v;
        else if (OPT("--augment")) a->augment = v;
        else if (OPT("--batch-size")) NUM(cli_int, "--batch-size", 1, 65536, &a->batch);
        else if (OPT("--lr")) NUM(cli_float, "--lr", 1e-12, 1e6, &a->lr), a->lr_set = 1;
        else if (OPT("--momentum")) NUM(cli_float, "--momentum", 0, 0.999999, &a->momentum);
        else if (OPT("--weight-decay")) NUM(cli_float, "--weight-decay", 0, 1e3, &a->wd), a->wd_set = 1;
        else if (OPT("--validation-split")) NUM(cli_float, "--validation-split", 0, 0.99, &a->val_split);
        else if (OPT("--ema")) NUM(cli_float, "--ema", 0.5, 0.999999, &a->ema);
        else if (OPT("--early-stopping")) NUM(cli_int, "--early-stopping", 1, 100000, &a->patience);
        else if (OPT("--seed")) r = r < 0 ? r : cli_u64("train", "--seed", v, &a->seed);
        else {
            recipe = 0;
            if (!strcmp(s, "--transpose")) a->transpose = 1;
            else if (OPT("--data")) a->data = v;
            else if (OPT("--output") || OPT("-o")) a->output = v;
            else if (OPT("--checkpoint")) a->checkpoint = v;
            else if (OPT("--resume")) a->resume = v;
            else if (OPT("--log")) a->log = v;
            else if (OPT("--plot")) a->plot = v;
            else if (OPT("--epochs")) NUM(cli_int, "--epochs", 1, 100000, &a->epochs), a->epochs_set = 1;
            else if (OPT("--threads")) {
                if (r > 0 && !strcmp(v, "auto")) a->threads = 0;
                else NUM(cli_int, "--threads", 1, 1024, &a->threads);
            }
            else if (OPT("--verbose")) NUM(cli_int, "--verbose", 0, 2, &a->verbose);
            else return cli_usage_error("train", "unknown option '%s'", s);
        }
#undef OPT
#undef NUM
        if (r < 0) return EXIT_USAGE;
        a->recipe_set |= recipe;
    }
    if (a->resume && a->recipe_set)
        return cli_usage_error("train", "--resume continues the checkpoint's recipe; give only --epochs, --data, "
                                        "--output, --checkpoint, --log, --threads and output options with it");
    return 0;
}

/* ---- a preset's recipe ---------------------------------------------------- */

/* A preset that carries a recipe (mn_preset_recipe): its flags first, then
 * the user's on top, so every flag the user gives wins. An optimizer the
 * user names comes with its own defaults: the recipe's lr, momentum and
 * weight decay are then dropped too. */
static int apply_preset_recipe(int argc, char **argv, train_args *a)
{
    const char *recipe = a->resume ? NULL : mn_preset_recipe(a->arch);
    if (!recipe) return 0;
    static char buf[512];
    char *args[64] = {"train"};
    int n = 1;
    snprintf(buf, sizeof buf, "%s", recipe);
    for (char *t = strtok(buf, " "); t && n < 63; t = strtok(NULL, " ")) args[n++] = t;
    train_args r;
    int rc = parse(n, args, &r, 1);
    if (rc) return rc < 0 ? EXIT_USAGE : rc; /* a bad table row: the tests catch it */
    int user_opt = a->opt_set;
    const char *arch = a->arch;
    if (user_opt) r.lr = 0, r.lr_set = 0, r.momentum = 0, r.nesterov = 0, r.wd = 0, r.wd_set = 0;
    r.recipe_set = 0;
    rc = parse(argc, argv, &r, 0);
    if (rc) return rc;
    r.arch = arch;
    *a = r;
    if (a->verbose) printf("%s's recipe: %s (flags given override it)\n", arch, recipe);
    return 0;
}

/* ---- the recipe as metadata pairs -------------------------------------- */

enum { R_EPOCHS, R_SEED, R_OPT, R_LR, R_MOMENTUM, R_NESTEROV, R_SCHEDULE, R_BATCH, R_SPLIT, R_PATIENCE, R_AUGMENT,
       R_EMA, R_WD, R_NORM, R_N };
static const char *const recipe_keys[R_N] = {"epochs",   "seed",        "optimizer",  "lr",
                                             "momentum", "nesterov",    "lr_schedule", "batch_size",
                                             "validation_split", "early_stopping", "augment", "ema",
                                             "weight_decay", "normalize"};
typedef struct {
    char v[R_N][64];
} recipe;

static void recipe_from_args(const train_args *a, const mn_augment *aug, recipe *r)
{
    mn_optim_kind k = (mn_optim_kind)mn_optim_kind_of(a->optimizer);
    snprintf(r->v[R_EPOCHS], 64, "%ld", a->epochs);
    snprintf(r->v[R_SEED], 64, "%llu", (unsigned long long)a->seed);
    snprintf(r->v[R_OPT], 64, "%s", a->optimizer);
    snprintf(r->v[R_LR], 64, "%.9g", a->lr_set ? a->lr : (double)mn_optim_default_lr(k));
    snprintf(r->v[R_MOMENTUM], 64, "%.9g", a->momentum);
    snprintf(r->v[R_NESTEROV], 64, "%d", a->nesterov);
    snprintf(r->v[R_SCHEDULE], 64, "%s", a->schedule ? a->schedule : "none");
    snprintf(r->v[R_BATCH], 64, "%ld", a->batch);
    snprintf(r->v[R_SPLIT], 64, "%.9g", a->val_split);
    snprintf(r->v[R_PATIENCE], 64, "%ld", a->patience);
    mn_augment_describe(aug, r->v[R_AUGMENT], 64);
    snprintf(r->v[R_EMA], 64, "%.9g", a->ema);
    if (a->norm_std > 0)
        snprintf(r->v[R_NORM], 64, "%.9g:%.9g", a->norm_mean, a->norm_std);
    else
        snprintf(r->v[R_NORM], 64, "none");
    snprintf(r->v[R_WD], 64, "%.9g", a->wd_set ? a->wd : k == MN_ADAMW ? 0.01 : 0.0);
}

/* Fills a's recipe fields from a checkpoint's metadata. */
static int recipe_from_model(const mn_model *m, const char *path, train_args *a)
{
    const char *v[R_N];
    for (int i = 0; i < R_N; i++)
        if (!(v[i] = mn_model_meta(m, recipe_keys[i])) && i != R_AUGMENT && i != R_EMA && i != R_WD && i != R_NORM) { /* newer than some checkpoints */
            fprintf(stderr, "mnist: %s: checkpoint metadata lacks '%s'\n", path, recipe_keys[i]);
            return -1;
        }
    /* copies: the strings die with the model that is read only to learn them */
    static char schedule[64], optimizer[16], augment[64];
    snprintf(schedule, sizeof schedule, "%s", v[R_SCHEDULE]);
    snprintf(optimizer, sizeof optimizer, "%s", v[R_OPT]);
    a->optimizer = optimizer;
    a->schedule = strcmp(schedule, "none") ? schedule : NULL;
    snprintf(augment, sizeof augment, "%s", v[R_AUGMENT] ? v[R_AUGMENT] : "none");
    a->augment = augment;
    mn_augment aug;
    mn_err e;
    a->seed = strtoull(v[R_SEED], NULL, 10);
    a->lr = atof(v[R_LR]), a->lr_set = 1;
    a->momentum = atof(v[R_MOMENTUM]);
    a->nesterov = atoi(v[R_NESTEROV]);
    a->batch = atol(v[R_BATCH]);
    a->val_split = atof(v[R_SPLIT]);
    a->patience = atol(v[R_PATIENCE]);
    a->ema = v[R_EMA] ? atof(v[R_EMA]) : 0;
    /* the model file itself carries the normalisation (input_mean, input_std) */
    if (!v[R_NORM] || sscanf(v[R_NORM], "%lf:%lf", &a->norm_mean, &a->norm_std) != 2) a->norm_mean = a->norm_std = 0;
    a->wd = v[R_WD] ? atof(v[R_WD]) : 0, a->wd_set = mn_optim_kind_of(a->optimizer) == MN_ADAMW;
    if (a->wd_set && !v[R_WD]) a->wd = 0.01;
    if (!a->epochs_set) a->epochs = atol(v[R_EPOCHS]);
    if (mn_optim_kind_of(a->optimizer) < 0 || a->batch < 1 || a->batch > 65536 || a->val_split < 0 ||
        a->val_split >= 1 || !(a->lr > 0 && a->lr <= 1e6) || a->patience < 0 || a->patience > 100000 ||
        !(a->momentum >= 0 && a->momentum < 1) || !(a->wd >= 0 && a->wd <= 1e3) || !(a->ema == 0 || (a->ema >= 0.5 && a->ema < 1)) || a->epochs < 1 || a->epochs > 100000 ||
        mn_augment_parse(&aug, a->augment, &e)) {
        fprintf(stderr, "mnist: %s: checkpoint recipe is malformed\n", path);
        return -1;
    }
    return 0;
}

/* Checks the recipe flags that need more than a range check. */
static int check_recipe(train_args *a, mn_train_opts *to)
{
    if (mn_optim_kind_of(a->optimizer) < 0)
        return cli_usage_error("train", "--optimizer must be adam, adamw, rmsprop, sgd or adadelta, not '%s'",
                               a->optimizer);
    if (a->wd_set && mn_optim_kind_of(a->optimizer) != MN_ADAMW)
        return cli_usage_error("train", "--weight-decay applies to --optimizer adamw only");
    if ((a->momentum > 0 || a->nesterov) && mn_optim_kind_of(a->optimizer) != MN_SGD)
        return cli_usage_error("train", "--momentum and --nesterov apply to --optimizer sgd only");
    if (a->nesterov && a->momentum == 0) return cli_usage_error("train", "--nesterov needs --momentum > 0");
    if (a->patience && a->val_split <= 0)
        return cli_usage_error("train", "--early-stopping watches val_loss: give --validation-split too");
    mn_err e;
    if (mn_augment_parse(&to->augment, a->augment, &e)) return cli_usage_error("train", "%s", e.msg);
    to->schedule = MN_LR_CONSTANT;
    if (a->schedule) {
        long every;
        double gamma;
        char tail;
        double pct = 0.3;
        int n = 0;
        if (!strcmp(a->schedule, "cosine")) {
            to->schedule = MN_LR_COSINE;
        } else if (sscanf(a->schedule, "exponential:%lf%c", &gamma, &tail) == 1 && gamma > 0 && gamma <= 1) {
            to->schedule = MN_LR_STEP, to->step_every = 1, to->step_gamma = (float)gamma;
        } else if (!strncmp(a->schedule, "onecycle", 8) &&
                   (!a->schedule[8] || !strcmp(a->schedule + 8, ":linear") ||
                    (sscanf(a->schedule + 8, ":%lf%n", &pct, &n) == 1 && pct > 0 && pct < 1 &&
                     (!a->schedule[8 + n] || !strcmp(a->schedule + 8 + n, ":linear"))))) {
            to->schedule = MN_LR_ONECYCLE, to->onecycle_pct = (float)pct;
            to->onecycle_linear = strstr(a->schedule, ":linear") != NULL;
        } else if (sscanf(a->schedule, "step:%ld:%lf%c", &every, &gamma, &tail) == 2 && every >= 1 &&
                   every <= 100000 && gamma > 0 && gamma <= 1) {
            to->schedule = MN_LR_STEP, to->step_every = (int)every, to->step_gamma = (float)gamma;
        } else {
            return cli_usage_error("train",
                                   "--lr-schedule must be step:EVERY:GAMMA (EVERY 1 to 100000, GAMMA in (0, 1], "
                                   "e.g. step:2:0.5), exponential:GAMMA, cosine or onecycle[:PCT][:linear] "
                                   "(PCT in (0, 1)), not '%s'",
                                   a->schedule);
        }
    }
    return 0;
}

/* Resource limit: refuses, before any data is read or buffer allocated, a
 * batch size for which the model's activations (as mn_model_alloc counts
 * them) and its parameters, gradients and optimizer state would need more
 * than MEMORY_LIMIT bytes. */
#define MEMORY_LIMIT 8e9
static int check_memory(const mn_model *m, long batch)
{
    double act = (double)mn_model_floats_per_sample(m, 1);
    double act_bytes = act * (double)batch * sizeof(float), param_bytes = 4.0 * (double)m->n_params * sizeof(float);
    if (act_bytes + param_bytes > MEMORY_LIMIT)
        return cli_usage_error("train", "--batch-size %ld with this architecture needs %.1f GB (activations %.1f GB, "
                               "parameters and optimizer state %.1f GB), more than the limit of %.0f GB",
                               batch, (act_bytes + param_bytes) / 1e9, act_bytes / 1e9, param_bytes / 1e9,
                               MEMORY_LIMIT / 1e9);
    return 0;
}

/* ---- Ctrl-C ------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

/* ---- per-epoch work: progress, CSV log, checkpoint ------------------------ */

typedef struct {
    progress_bar bar;
    FILE *log;
    mn_plot *plot;
    int plot_warned;
    const char *checkpoint;
    mn_model *m;
    mn_optim *o;
    mn_train_state *st;
    const float *best;
    recipe *r;
    int failed;
    mn_err e;
} run_ctx;

static int save_checkpoint(run_ctx *c)
{
    const char *vals[R_N];
    for (int i = 0; i < R_N; i++) vals[i] = c->r->v[i];
    return mn_checkpoint_save(c->checkpoint, c->m, c->o, c->st, c->best, recipe_keys, vals, R_N, &c->e);
}

static int on_step(const mn_progress *p, void *user)
{
    run_ctx *c = user;
    progress_update(p, &c->bar);
    if (!p->epoch_done) return 0;
    if (c->log) {
        fprintf(c->log, "%d,%.6f,%.6f,", p->epoch - 1, p->acc, p->loss);
        if (p->has_val) fprintf(c->log, "%.6f,%.6f\n", p->val_acc, p->val_loss);
        else fprintf(c->log, ",\n");
        fflush(c->log);
    }
    if (c->plot) {
        mn_plot_point pt = {p->epoch, p->loss, p->acc, p->has_val, p->val_loss, p->val_acc};
        mn_err pe;
        if (mn_plot_add(c->plot, &pt, &pe) && !c->plot_warned) {
            if (c->bar.live) fputs("\r\033[K", stderr);
            fprintf(stderr, "mnist: %s (training goes on)\n", pe.msg);
            c->plot_warned = 1;
        }
    }
    if (p->stopped_early && c->bar.verbose)
        printf("Epoch %d: early stopping; restoring the weights of epoch %d (val_loss %.4f)\n", p->epoch,
               c->st->best_epoch, c->st->best_val_loss);
    if (c->checkpoint && save_checkpoint(c)) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static FILE *open_log(const char *path, int append)
{
    FILE *f = fopen(path, append ? "a" : "w");
    if (f && (!append || ftell(f) == 0)) fprintf(f, "epoch,accuracy,loss,val_accuracy,val_loss\n");
    return f;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    int rc = parse(argc, argv, &a, 1);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = apply_preset_recipe(argc, argv, &a))) return rc < 0 ? 0 : rc;
    mn_err e;
    mn_model m = {0};
    mn_optim opt = {0};
    mn_train_state st;
    mn_train_opts to = {0};
    mn_dataset train = {0}, test = {0};
    float *best = NULL;
    FILE *log = NULL;
    mn_plot plot = {0};

    if (a.resume) {
        /* the checkpoint says what to build; read it once to learn the batch size */
        if (mn_model_load(&m, a.resume, 1, &e)) return cli_fail(&e);
        if (!mn_is_checkpoint(&m)) {
            fprintf(stderr, "mnist: %s: not a checkpoint (no optimizer state); write one with --checkpoint\n", a.resume);
            mn_model_free(&m);
            return 1;
        }
        static char arch[MN_ARCH_MAX];
        rc = recipe_from_model(&m, a.resume, &a);
        snprintf(arch, sizeof arch, "%s", m.arch);
        a.arch = arch;
        mn_model_free(&m);
        if (rc) return 1;
    }
    if ((rc = check_recipe(&a, &to))) return rc;
    /* the architecture is checked before the data is read: a typo should not
     * cost the time of loading 60,000 images. The check assumes MNIST's
     * shape and 10 classes; when only that assumption fails (a model for
     * other data), it is made again once the data is loaded. */
    if (mn_model_build(&m, a.arch, (mn_shape){1, 28, 28}, 10, &e)) {
        if (!strstr(e.msg, "the data has")) return cli_usage_error("train", "%s", e.msg);
    } else if ((rc = check_memory(&m, a.batch))) {
        return rc;
    }
    /* an unwritable --output or --checkpoint fails now, not after the training */
    if (mn_atomic_probe(a.output, &e) || (a.checkpoint && mn_atomic_probe(a.checkpoint, &e))) {
        mn_model_free(&m);
        return cli_fail(&e);
    }
    if (a.threads) mn_set_threads((int)a.threads);
    to.auto_threads = !a.threads && !getenv("OMP_NUM_THREADS") ? mn_get_threads() : 0;

    rc = 1;
    const char *dir = cli_data_source(a.data, stdout);
    mn_data_opts dopt = {.transpose = a.transpose};
    if (mn_data_load_opts(dir, MN_SPLIT_TRAIN, &dopt, &train, &e)) {
        cli_fail(&e);
        goto out;
    }
    int trc0 = mn_data_load_opts(dir, MN_SPLIT_TEST, &dopt, &test, &e);
    if (trc0 < 0 || (trc0 == 0 && cli_data_match(&train, &test, &e))) {
        cli_fail(&e);
        goto out;
    }
    if (trc0 == MN_DATA_ABSENT) printf("no test figures: %s\n", e.msg);
    mn_optim_kind kind = (mn_optim_kind)mn_optim_kind_of(a.optimizer);
    float lr = a.lr_set ? (float)a.lr : mn_optim_default_lr(kind);
    if (a.resume) {
        if (mn_model_load(&m, a.resume, (int)a.batch, &e)) {
            cli_fail(&e);
            goto out;
        }
    } else if (mn_model_build(&m, a.arch, (mn_shape){train.c, train.h, train.w}, train.n_classes, &e) ||
               (a.norm_std > 0 && mn_model_set_normalize(&m, (float)a.norm_mean, (float)a.norm_std, &e))) {
        rc = cli_usage_error("train", "%s", e.msg);
        goto out;
    } else if ((rc = check_memory(&m, a.batch))) {
        goto out;
    } else if (mn_model_alloc(&m, (int)a.batch, &e)) {
        rc = 1;
        cli_fail(&e);
        goto out;
    }
    rc = 1;
    if (m.input_shape.c != train.c || m.input_shape.h != train.h || m.input_shape.w != train.w ||
        m.n_classes != train.n_classes) {
        fprintf(stderr, "mnist: %s: images are %dx%dx%d with %d classes, the model expects %dx%dx%d and %d\n", dir,
                train.c, train.h, train.w, train.n_classes, m.input_shape.c, m.input_shape.h, m.input_shape.w,
                m.n_classes);
        goto out;
    }
    if (mn_optim_init(&opt, kind, lr, m.n_params, &e)) {
        cli_fail(&e);
        goto out;
    }
    opt.momentum = (float)a.momentum;
    opt.nesterov = a.nesterov;
    if (a.wd_set) opt.weight_decay = (float)a.wd;
    if (a.ema > 0 && mn_optim_use_ema(&opt, (float)a.ema, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (a.patience && !(best = calloc(mn_train_best_floats(&m), sizeof *best))) {
        fprintf(stderr, "mnist: out of memory\n");
        goto out;
    }
    mn_train_state_init(&st, a.seed);
    if (a.resume) {
        if (mn_checkpoint_load(a.resume, &m, &opt, &st, best, &e)) {
            cli_fail(&e);
            goto out;
        }
    } else {
        mn_model_init(&m, a.seed);
    }
    if (a.log && !(log = open_log(a.log, a.resume != NULL))) {
        perror(a.log);
        goto out;
    }

    recipe r;
    recipe_from_args(&a, &to.augment, &r);
    if (a.plot) {
        char title[256];
        char split[48] = "";
        if (a.val_split > 0) snprintf(split, sizeof split, ", validation split %g", a.val_split);
        snprintf(title, sizeof title, "mnist train --arch %s: %s, lr %g, batch %ld%s", a.arch, a.optimizer,
                 (double)lr, a.batch, split);
        mn_plot_init(&plot, a.plot, title, (int)a.epochs);
        /* an empty plot now: a bad path fails before the training, not after */
        if (mn_plot_write(a.plot, plot.title, plot.epochs, NULL, 0, &e)) {
            cli_fail(&e);
            goto out;
        }
    }
    run_ctx ctx = {.log = log, .plot = a.plot ? &plot : NULL, .checkpoint = a.checkpoint, .m = &m, .o = &opt, .st = &st, .best = best, .r = &r};
    progress_init(&ctx.bar, (int)a.verbose, a.verbose == 1 && isatty(fileno(stderr)));
    to.epochs = (int)a.epochs;
    to.batch_size = (int)a.batch;
    to.validation_split = (float)a.val_split;
    to.lr = lr;
    to.patience = (int)a.patience;
    to.best = best;
    to.stop = &interrupted;
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    int trc = mn_train(&m, &opt, &train, &to, &st, on_step, &ctx, &e);
    signal(SIGINT, SIG_DFL);
    if (trc == MN_TRAIN_STOPPED && ctx.failed) {
        cli_fail(&ctx.e);
        goto out;
    }
    if (trc == MN_TRAIN_STOPPED) {
        if (ctx.bar.live) fputs("\r\033[K", stderr);
        char where[64];
        if (st.step)
            snprintf(where, sizeof where, "at epoch %d, step %d", st.epoch + 1, st.step);
        else
            snprintf(where, sizeof where, "after epoch %d", st.epoch);
        if (!a.checkpoint)
            fprintf(stderr, "mnist: interrupted %s; no model written (train with --checkpoint FILE to resume)\n", where);
        else if (save_checkpoint(&ctx))
            fprintf(stderr, "mnist: interrupted %s; %s\n", where, ctx.e.msg);
        else
            fprintf(stderr, "mnist: interrupted %s; checkpoint saved to %s (continue: mnist train --resume %s)\n",
                    where, a.checkpoint, a.checkpoint);
        rc = 130;
        goto out;
    }
    if (trc) {
        cli_fail(&e);
        goto out;
    }
    char tacc[32] = "", tloss[32] = "";
    if (test.n) {
        double loss, acc;
        mn_evaluate(&m, &test, 0, test.n, &loss, &acc, NULL, NULL);
        printf("test loss: %.4f - test accuracy: %.4f\n", loss, acc);
        snprintf(tacc, sizeof tacc, "%.4f", acc);
        snprintf(tloss, sizeof tloss, "%.4f", loss);
    }
    snprintf(r.v[R_EPOCHS], 64, "%ld", a.epochs);
    const char *keys[R_N + 6], *vals[R_N + 6];
    int nk = 0;
    for (int i = 0; i < R_N; i++) keys[nk] = recipe_keys[i], vals[nk++] = r.v[i];
    if (test.n) {
        keys[nk] = "test_accuracy", vals[nk++] = tacc;
        keys[nk] = "test_loss", vals[nk++] = tloss;
    }
    keys[nk] = "mnist_version", vals[nk++] = MNIST_VERSION;
    keys[nk] = "mnist_isa", vals[nk++] = mn_isa(); /* the kernels that trained it */
    /* the data's class names, when it has them: eval, predict and show print them */
    char *names = cli_names_join(&train);
    if (names) keys[nk] = "class_names", vals[nk++] = names;
    int src = mn_model_save(&m, a.output, keys, vals, nk, &e);
    free(names);
    if (src) {
        cli_fail(&e);
        goto out;
    }
    if (a.verbose) printf("saved %s\n", a.output);
    rc = 0;
out:
    if (log) fclose(log);
    mn_plot_free(&plot);
    free(best);
    mn_optim_free(&opt);
    mn_model_free(&m);
    mn_dataset_free(&train);
    mn_dataset_free(&test);
    return rc;
}
