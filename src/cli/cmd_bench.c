/* cmd_bench.c - `mnist bench`: how fast our SGEMM and our training are.
 *
 * Two parts:
 *
 *   GEMM   GFLOP/s of mn_sgemm (mn_sgemm_bench_gflops) on the shapes the
 *          dense layers of `mlp` (batch 32, 128 units) and `wide` (batch 128,
 *          512 units) run in training, and on square NN products of 256 to
 *          2048, each with 1 thread and with N threads (--threads, default
 *          mn_get_threads()). The value is the median of --repeat calls; the
 *          rounds go over all shapes and both thread counts in turn so that
 *          machine noise is spread over all of them.
 *
 *          For a dense layer with C inputs and U outputs at batch B (row-major,
 *          W stored [U x C] as in PyTorch, see src/layers/dense.c):
 *            fwd  Y = X W^T     NT  M=B  N=U  K=C
 *            dW   dW = dY^T X   TN  M=U  N=C  K=B
 *            dX   dX = dY W     NN  M=B  N=C  K=U   (second layer only: the
 *                                                    first one's input needs none)
 *          scripts/bench_openblas.c and scripts/torch_bench.py time exactly
 *          the same list (same names); keep the three in step.
 *
 *   train  End-to-end training speed on the real data set (skipped with a
 *          one-line note when it cannot be loaded): for each of --models, the
 *          recipe of `mnist train` (mlp: adam, lr 1e-3, batch 32; wide:
 *          rmsprop, batch 128; cnn: adam, batch 128; seed 1), driven through
 *          mn_train exactly as cmd_train.c does with no output. mlp and wide
 *          time --epochs-time E full epochs (default 5) and report the median
 *          seconds per epoch; cnn, being ~100x slower, times one epoch, or with
 *          --cnn-steps S only S steps after a first warm-up step, extrapolated
 *          to a full epoch and marked so. An epoch's time includes its shuffle
 *          and batching, as it does in PyTorch. "startup" is what comes before
 *          the first step: parsing, loading train and t10k (as `mnist train`
 *          does) and building, allocating and initialising the model and
 *          optimizer.
 *
 * Output: aligned tables by default. With --json, one JSON object with one
 * record per line, which scripts/bench.sh reads with awk:
 *
 *   {"tool": "mnist", "threads": 2, "repeat": 3,
 *    "gemm": [
 *     {"name": "mlp dense1 fwd", "op": "NT", "M": 32, "N": 128, "K": 784, "gflops_1t": 41.2, "gflops_nt": 70.3},
 *     ...],
 *    "train_note": "",
 *    "train": [
 *     {"model": "mlp", "recipe": "adam lr 0.001 batch 32", "batch": 32, "steps": 1875, "epochs": 5,
 *      "extrapolated": false, "timed_steps": 9375, "sec_per_epoch": 0.612, "images_per_s": 98039, "startup_s": 0.141,
 *      "epoch_s": [0.63, 0.61, ...]},
 *     ...]}
 *
 * "train_note" is empty, or says why training was skipped ("train" is then
 * empty). Timing uses clock_gettime(CLOCK_MONOTONIC).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/gemm.h"
#include "mnist/dataset.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/train.h"
#include "base/timing.h"

static const char help[] =
    "Usage: mnist bench [options]\n"
    "\n"
    "Measures our SGEMM (GFLOP/s on the training shapes of mlp and wide, and square\n"
    "products, with 1 and N threads) and end-to-end training speed on the real data\n"
    "(median seconds per epoch, images/s, startup time).\n"
    "\n"
    "  --threads N         threads for the N-thread column and for training (default: all cores,\n"
    "                      or OMP_NUM_THREADS; training then picks 1..N by timing, as mnist train)\n"
    "  --data SOURCE       the data, as for train (default: $MNIST_DATA, else data/mnist); training is\n"
    "                      skipped with a note when the data is not there\n"
    "  --gemm-only         skip training\n"
    "  --models LIST       comma-separated, from mlp, wide, cnn (default: mlp,wide,cnn)\n"
    "  --epochs-time E     epochs timed for mlp and wide (default: 5); cnn times one epoch\n"
    "  --cnn-steps S       time only S steps of cnn (after one warm-up step) and extrapolate to\n"
    "                      an epoch (default: 0, a full epoch)\n"
    "  --repeat R          GEMM measurements per shape and thread count; the median is shown\n"
    "                      (default: 3)\n"
    "  --gemm-seconds S    time per GEMM measurement (default: 0.1)\n"
    "  --json              one JSON object, one record per line (for scripts/bench.sh)\n";

/* ---- GEMM shapes ---------------------------------------------------------- */

typedef struct {
    char name[32];
    int ta, tb, M, N, K;
} gemm_shape;

#define MAX_SHAPES 32

static int add_shape(gemm_shape *s, int n, const char *name, int ta, int tb, int M, int N, int K)
{
    snprintf(s[n].name, sizeof s[n].name, "%s", name);
    s[n].ta = ta, s[n].tb = tb, s[n].M = M, s[n].N = N, s[n].K = K;
    return n + 1;
}

/* The dense-layer shapes of a 784-U-10 network at batch B, then squares. */
static int gemm_shapes(gemm_shape *s)
{
    static const struct {
        const char *model;
        int B, U;
    } nets[] = {{"mlp", 32, 128}, {"wide", 128, 512}};
    char name[32];
    int n = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        const char *m = nets[i].model;
        int B = nets[i].B, U = nets[i].U;
        snprintf(name, sizeof name, "%s dense1 fwd", m), n = add_shape(s, n, name, 0, 1, B, U, 784);
        snprintf(name, sizeof name, "%s dense1 dW", m), n = add_shape(s, n, name, 1, 0, U, 784, B);
        snprintf(name, sizeof name, "%s dense2 fwd", m), n = add_shape(s, n, name, 0, 1, B, 10, U);
        snprintf(name, sizeof name, "%s dense2 dW", m), n = add_shape(s, n, name, 1, 0, 10, U, B);
        snprintf(name, sizeof name, "%s dense2 dX", m), n = add_shape(s, n, name, 0, 0, B, U, 10);
    }
    for (int d = 256; d <= 2048; d *= 2) {
        snprintf(name, sizeof name, "square %d", d);
        n = add_shape(s, n, name, 0, 0, d, d, d);
    }
    return n;
}

static const char *op_name(const gemm_shape *s)
{
    static const char *const ops[4] = {"NN", "NT", "TN", "TT"};
    return ops[(s->ta ? 2 : 0) + (s->tb ? 1 : 0)];
}

/* ---- training ------------------------------------------------------------ */

typedef struct {
    const char *name, *arch, *optimizer, *recipe;
    int batch;
} bench_model;

static const bench_model known_models[] = {
    {"mlp", "mlp", "adam", "adam lr 0.001 batch 32", 32},
    {"wide", "wide", "rmsprop", "rmsprop lr 0.001 batch 128", 128},
    {"cnn", "cnn", "adam", "adam lr 0.001 batch 128", 128},
};
#define N_KNOWN ((int)(sizeof known_models / sizeof known_models[0]))
#define MAX_EPOCHS 1000

typedef struct {
    int model; /* index into known_models */
    int ok;
    int epochs, steps, extrapolated;
    double startup, sec_per_epoch, images_per_s;
    double epoch_s[MAX_EPOCHS];
    char error[512];
} train_result;

/* Progress callback: records when each epoch (or the steps of a partial
 * run) ends. */
typedef struct {
    double start;     /* before mn_train */
    double *ends;     /* ends[k]: epoch k + 1 done */
    int n_ends;
    int stop_after;   /* > 0: stop after this many steps of the first epoch */
    double t_first;   /* end of the first step */
    double t_last;    /* end of step stop_after */
} bench_ctx;

static int on_step(const mn_progress *p, void *user)
{
    bench_ctx *c = user;
    double t = mn_now();
    if (c->stop_after > 0) {
        if (p->epoch == 1 && p->step == 1) c->t_first = t;
        if (p->step >= c->stop_after) {
            c->t_last = t;
            return 1;
        }
    }
    if (p->epoch_done) c->ends[c->n_ends++] = t;
    return 0;
}

/* Times one model; base_startup is the time spent before it (parse, load). */
static void bench_train(const mn_dataset *train, int which, int epochs, int cnn_steps, int auto_threads,
                        double base_startup, train_result *r)
{
    const bench_model *bm = &known_models[which];
    mn_model m = {0};
    mn_optim o = {0};
    mn_err e;
    memset(r, 0, sizeof *r);
    r->model = which;
    double t0 = mn_now();
    mn_optim_kind kind = (mn_optim_kind)mn_optim_kind_of(bm->optimizer);
    float lr = mn_optim_default_lr(kind);
    if (mn_model_build(&m, bm->arch, (mn_shape){train->c, train->h, train->w}, train->n_classes, &e) ||
        mn_model_alloc(&m, bm->batch, &e) || mn_optim_init(&o, kind, lr, m.n_params, &e)) {
        snprintf(r->error, sizeof r->error, "%s", e.msg);
        goto out;
    }
    mn_model_init(&m, 1);
    mn_train_state st;
    mn_train_state_init(&st, 1);
    mn_train_opts to = {0};
    to.batch_size = bm->batch;
    to.lr = lr;
    to.schedule = MN_LR_CONSTANT;
    to.auto_threads = auto_threads;
    r->startup = base_startup + (mn_now() - t0);
    r->steps = (train->n + bm->batch - 1) / bm->batch;

    int partial = !strcmp(bm->name, "cnn") && cnn_steps > 0 && cnn_steps + 1 < r->steps;
    if (!strcmp(bm->name, "cnn")) epochs = 1;
    to.epochs = epochs;
    double ends[MAX_EPOCHS];
    bench_ctx ctx = {.ends = ends, .stop_after = partial ? cnn_steps + 1 : 0};
    ctx.start = mn_now();
    int rc = mn_train(&m, &o, train, &to, &st, on_step, &ctx, &e);
    if (rc < 0) {
        snprintf(r->error, sizeof r->error, "%s", e.msg);
        goto out;
    }
    if (partial) {
        r->extrapolated = 1;
        r->epochs = 0;
        r->sec_per_epoch = (ctx.t_last - ctx.t_first) / cnn_steps * r->steps;
        r->epoch_s[0] = r->sec_per_epoch;
    } else {
        double sorted[MAX_EPOCHS];
        r->epochs = ctx.n_ends;
        for (int k = 0; k < ctx.n_ends; k++) {
            r->epoch_s[k] = ends[k] - (k ? ends[k - 1] : ctx.start);
            sorted[k] = r->epoch_s[k];
        }
        r->sec_per_epoch = mn_median(sorted, ctx.n_ends);
    }
    r->images_per_s = r->sec_per_epoch > 0 ? train->n / r->sec_per_epoch : 0.0;
    r->ok = 1;
out:
    mn_optim_free(&o);
    mn_model_free(&m);
}

/* ---- options ------------------------------------------------------------- */

typedef struct {
    const char *data;
    long threads, epochs, cnn_steps, repeat;
    double gemm_seconds;
    int gemm_only, json;
    int models[N_KNOWN], n_models;
} bench_args;

static int parse_models(const char *list, bench_args *a)
{
    a->n_models = 0;
    const char *s = list;
    for (;;) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int k = 0; k < N_KNOWN; k++)
            if (strlen(known_models[k].name) == len && !strncmp(s, known_models[k].name, len)) found = k;
        if (found < 0) return cli_usage_error("bench", "--models takes a list of mlp, wide, cnn, not '%s'", list);
        for (int k = 0; k < a->n_models; k++)
            if (a->models[k] == found)
                return cli_usage_error("bench", "--models lists '%s' twice", known_models[found].name);
        a->models[a->n_models++] = found;
        if (!s[len]) break;
        s += len + 1;
    }
    return 0;
}

/* Returns -1 to exit 0 (help shown), >0 to exit with it. */
static int parse(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.epochs = 5, .repeat = 3, .gemm_seconds = 0.1, .n_models = N_KNOWN};
    for (int k = 0; k < N_KNOWN; k++) a->models[k] = k;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r = 0;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            return -1;
        }
#define OPT(name) ((r = cli_opt("bench", argc, argv, &i, name, &v)) != 0)
#define NUM(fn, flag, lo, hi, dst) (r = r < 0 ? r : fn("bench", flag, v, lo, hi, dst))
        if (!strcmp(s, "--gemm-only")) a->gemm_only = 1;
        else if (!strcmp(s, "--json")) a->json = 1;
        else if (OPT("--data")) a->data = v;
        else if (OPT("--models")) r = r < 0 ? r : (parse_models(v, a) ? -1 : 0);
        else if (OPT("--threads")) NUM(cli_int, "--threads", 1, 1024, &a->threads);
        else if (OPT("--epochs-time")) NUM(cli_int, "--epochs-time", 1, MAX_EPOCHS, &a->epochs);
        else if (OPT("--cnn-steps")) NUM(cli_int, "--cnn-steps", 0, 1000000, &a->cnn_steps);
        else if (OPT("--repeat")) NUM(cli_int, "--repeat", 1, 1000, &a->repeat);
        else if (OPT("--gemm-seconds")) NUM(cli_float, "--gemm-seconds", 0.001, 100, &a->gemm_seconds);
        else return cli_usage_error("bench", "unknown option '%s'", s);
#undef OPT
#undef NUM
        if (r < 0) return EXIT_USAGE;
    }
    return 0;
}

/* ---- output -------------------------------------------------------------- */

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        putchar((unsigned char)*s < 0x20 ? ' ' : *s);
    }
    putchar('"');
}

static int g_auto; /* training chose its thread count, up to this many */

static void print_json(const bench_args *a, int nthreads, const gemm_shape *sh, int n_shapes, const double *g1,
                       const double *gn, const char *note, const train_result *tr, int n_tr)
{
    printf("{\"tool\": \"mnist\", \"threads\": %d, \"train_threads\": \"%s\", \"repeat\": %ld,\n \"gemm\": [\n",
           nthreads, g_auto ? "auto" : "fixed", a->repeat);
    for (int i = 0; i < n_shapes; i++)
        printf("  {\"name\": \"%s\", \"op\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"gflops_1t\": %.3f, "
               "\"gflops_nt\": %.3f}%s\n",
               sh[i].name, op_name(&sh[i]), sh[i].M, sh[i].N, sh[i].K, g1[i], gn[i], i + 1 < n_shapes ? "," : "");
    printf(" ],\n \"train_note\": ");
    json_string(note);
    printf(",\n \"train\": [\n");
    for (int i = 0; i < n_tr; i++) {
        const train_result *r = &tr[i];
        const bench_model *bm = &known_models[r->model];
        printf("  {\"model\": \"%s\", \"recipe\": \"%s\", \"batch\": %d, \"steps\": %d, \"epochs\": %d, "
               "\"extrapolated\": %s, \"timed_steps\": %d, \"sec_per_epoch\": %.4f, \"images_per_s\": %.0f, "
               "\"startup_s\": %.4f, \"epoch_s\": [",
               bm->name, bm->recipe, bm->batch, r->steps, r->epochs, r->extrapolated ? "true" : "false",
               r->extrapolated ? (int)a->cnn_steps : r->epochs * r->steps, r->sec_per_epoch, r->images_per_s,
               r->startup);
        int n = r->extrapolated ? 1 : r->epochs;
        for (int k = 0; k < n; k++) printf("%s%.4f", k ? ", " : "", r->epoch_s[k]);
        printf("]}%s\n", i + 1 < n_tr ? "," : "");
    }
    printf(" ]}\n");
}

static void print_text(const bench_args *a, int nthreads, const gemm_shape *sh, int n_shapes, const double *g1,
                       const double *gn, const char *note, const train_result *tr, int n_tr, int train_skipped)
{
    printf("SGEMM, GFLOP/s (median of %ld)\n", a->repeat);
    char nt[32];
    snprintf(nt, sizeof nt, "%d thread%s", nthreads, nthreads == 1 ? "" : "s");
    printf("%-16s %-2s %5s %5s %5s %10s %10s\n", "shape", "op", "M", "N", "K", "1 thread", nt);
    for (int i = 0; i < n_shapes; i++)
        printf("%-16s %-2s %5d %5d %5d %10.1f %10.1f\n", sh[i].name, op_name(&sh[i]), sh[i].M, sh[i].N, sh[i].K,
               g1[i], gn[i]);
    if (a->gemm_only) return;
    if (g_auto)
        printf("\nTraining, real data, 1 to %d threads chosen by timing steps (as mnist train; --threads N fixes it)\n",
               nthreads);
    else
        printf("\nTraining, real data, %d thread%s\n", nthreads, nthreads == 1 ? "" : "s");
    if (train_skipped) {
        printf("skipped: %s\n", note);
        return;
    }
    printf("%-5s %-26s %6s %10s %10s %10s\n", "model", "recipe", "epochs", "s/epoch", "images/s", "startup s");
    for (int i = 0; i < n_tr; i++) {
        const train_result *r = &tr[i];
        const bench_model *bm = &known_models[r->model];
        char ep[32];
        if (r->extrapolated) snprintf(ep, sizeof ep, "%d st", (int)a->cnn_steps);
        else snprintf(ep, sizeof ep, "%d", r->epochs);
        printf("%-5s %-26s %6s %10.3f %10.0f %10.3f%s\n", bm->name, bm->recipe, ep, r->sec_per_epoch,
               r->images_per_s, r->startup, r->extrapolated ? "  (extrapolated from a partial epoch)" : "");
    }
}

/* A status line on a terminal while the long parts run. */
static void status(int on, const char *what)
{
    if (!on) return;
    fprintf(stderr, "\r\033[Kbench: %s", what);
    fflush(stderr);
}

int cmd_bench(int argc, char **argv)
{
    double t_start = mn_now();
    bench_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.threads) mn_set_threads((int)a.threads);
    int nthreads = mn_get_threads();
    /* training as `mnist train` runs it: without --threads, the count is
     * chosen by timing steps (autothreads.h) */
    int auto_threads = !a.threads && !getenv("OMP_NUM_THREADS") && nthreads > 1 ? nthreads : 0;
    g_auto = auto_threads;
    int live = isatty(fileno(stderr));
    double t_parsed = mn_now();

    /* training first: it reads the data and reports startup the way `mnist
     * train` starts; the GEMM part comes after but is printed first */
    mn_dataset train = {0}, test = {0};
    train_result tr[N_KNOWN];
    int n_tr = 0, train_skipped = 0;
    char note[512] = "";
    rc = 0;
    if (!a.gemm_only) {
        mn_err e;
        const char *dir = cli_data_source(a.data, NULL);
        double t0 = mn_now();
        if (mn_data_load(dir, MN_SPLIT_TRAIN, &train, &e) || mn_data_load(dir, MN_SPLIT_TEST, &test, &e) < 0) {
            snprintf(note, sizeof note, "%s", e.msg);
            train_skipped = 1;
        } else {
            double base = (t_parsed - t_start) + (mn_now() - t0);
            for (int i = 0; i < a.n_models; i++) {
                char what[64];
                snprintf(what, sizeof what, "training %s", known_models[a.models[i]].name);
                status(live, what);
                bench_train(&train, a.models[i], (int)a.epochs, (int)a.cnn_steps, auto_threads, base, &tr[n_tr]);
                if (!tr[n_tr].ok) {
                    if (live) fputs("\r\033[K", stderr);
                    fprintf(stderr, "mnist: bench %s: %s\n", known_models[a.models[i]].name, tr[n_tr].error);
                    rc = 1;
                    goto out;
                }
                n_tr++;
            }
        }
        mn_dataset_free(&test);
    }

    gemm_shape sh[MAX_SHAPES];
    int n_shapes = gemm_shapes(sh);
    double g1[MAX_SHAPES], gn[MAX_SHAPES];
    double *r1 = malloc((size_t)n_shapes * (size_t)a.repeat * sizeof *r1);
    double *rn = malloc((size_t)n_shapes * (size_t)a.repeat * sizeof *rn);
    if (!r1 || !rn) {
        free(r1);
        free(rn);
        fprintf(stderr, "mnist: out of memory\n");
        rc = 1;
        goto out;
    }
    /* rounds over all shapes and both thread counts: drift hits them alike */
    for (long r = 0; r < a.repeat; r++) {
        char what[64];
        snprintf(what, sizeof what, "SGEMM round %ld/%ld", r + 1, a.repeat);
        status(live, what);
        for (int i = 0; i < n_shapes; i++) {
            const gemm_shape *s = &sh[i];
            r1[i * a.repeat + r] = mn_sgemm_bench_gflops(s->ta, s->tb, s->M, s->N, s->K, 1, a.gemm_seconds);
            rn[i * a.repeat + r] = mn_sgemm_bench_gflops(s->ta, s->tb, s->M, s->N, s->K, nthreads, a.gemm_seconds);
        }
    }
    for (int i = 0; i < n_shapes; i++) {
        g1[i] = mn_median(r1 + i * a.repeat, (int)a.repeat);
        gn[i] = mn_median(rn + i * a.repeat, (int)a.repeat);
    }
    free(r1);
    free(rn);
    if (live) fputs("\r\033[K", stderr);

    if (a.json) print_json(&a, nthreads, sh, n_shapes, g1, gn, note, tr, n_tr);
    else print_text(&a, nthreads, sh, n_shapes, g1, gn, note, tr, n_tr, train_skipped);
out:
    mn_dataset_free(&train);
    mn_dataset_free(&test);
    return rc;
}
