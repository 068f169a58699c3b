/* gen_common.c - the flags, checkpoints, Ctrl-C and progress lines that
 * `mnist autoencode` and `mnist gan` share (see gen_common.h). */
#define _POSIX_C_SOURCE 200809L
#include "gen_common.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/atomic.h"
#include "mnist/gemm.h"
#include "progress.h"

/* ---- the shared flags ----------------------------------------------------- */

int gen_opt(gen_opts *o, int argc, char **argv, int *i)
{
    const char *v, *cmd = o->cmd;
    int r;
#define OPT(name) ((r = cli_opt(cmd, argc, argv, i, name, &v)) != 0)
    if (OPT("--epochs")) {
        if (r < 0 || cli_int(cmd, "--epochs", v, 1, 100000, &o->epochs)) return -1;
        o->epochs_set = 1;
    } else if (OPT("--batch-size")) {
        if (r < 0 || cli_int(cmd, "--batch-size", v, 1, 65536, &o->batch)) return -1;
        o->recipe_set = 1;
    } else if (OPT("--lr")) {
        if (r < 0 || cli_float(cmd, "--lr", v, 1e-9, 10, &o->lr)) return -1;
        o->recipe_set = 1;
    } else if (OPT("--seed")) {
        if (r < 0 || cli_u64(cmd, "--seed", v, &o->seed)) return -1;
        o->recipe_set = 1;
    } else if (OPT("--threads")) {
        if (r < 0) return -1;
        if (!strcmp(v, "auto")) o->threads = 0;
        else if (cli_int(cmd, "--threads", v, 1, 1024, &o->threads)) return -1;
    } else if (OPT("--data")) {
        if (r < 0) return -1;
        o->data = v;
    } else if (OPT("--output")) {
        if (r < 0) return -1;
        o->output = v;
    } else if (OPT("--png")) {
        if (r < 0) return -1;
        o->png = v;
    } else if (OPT("--checkpoint")) {
        if (r < 0) return -1;
        o->checkpoint = v;
    } else if (OPT("--resume")) {
        if (r < 0) return -1;
        o->resume = v;
    } else {
        return 0;
    }
#undef OPT
    return 1;
}

void gen_help(FILE *f, const gen_opts *d, const char *lr_what, const char *png_what)
{
    fprintf(f,
            "  --epochs N           (default %ld; with --resume: in all, counting those done)\n"
            "  --batch-size N       (default %ld)\n"
            "  --lr X               %s (default %g)\n"
            "  --seed N             (default %llu)\n"
            "  --data DIR           data directory (default: $MNIST_DATA, else data/mnist)\n"
            "  --output FILE        the model file (default %s)\n"
            "  --png FILE           %s\n"
            "  --checkpoint FILE    save both networks, both optimizers' state, the generators and the\n"
            "                       recipe here after every epoch and on Ctrl-C\n"
            "  --resume FILE        continue from a checkpoint, with its recipe, up to --epochs in all\n"
            "                       (the same bytes as a run that never stopped)\n"
            "  --threads N|auto     threads (default auto: all cores, or OMP_NUM_THREADS); results do\n"
            "                       not depend on it\n",
            d->epochs, d->batch, lr_what, d->lr, (unsigned long long)d->seed, d->output, png_what);
}

int gen_opts_check(const gen_opts *o)
{
    if (o->resume && o->recipe_set)
        return cli_usage_error(o->cmd, "--resume continues the checkpoint's recipe; give only --epochs, --data, "
                                       "--output, --checkpoint, --threads and picture options with it");
    return 0;
}

int gen_prepare(const gen_opts *o)
{
    mn_err e;
    if (mn_atomic_probe(o->output, &e) || (o->checkpoint && mn_atomic_probe(o->checkpoint, &e))) return cli_fail(&e);
    if (o->threads) mn_set_threads((int)o->threads);
    return 0;
}

/* ---- recipe round trip ---------------------------------------------------- */

static int one_of(const char *flag, const char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(flag, list[i])) return 1;
    return 0;
}

int gen_recipe_read(const char *path, const char *cmd, const char *const *kinds, int n_kinds,
                    const char *const *flags, int n_flags, const char *const *bools, int n_bools,
                    mn_safetensors *file, char **args, int max_args, int *n,
                    mn_err *e)
{
    if (mn_st_read(path, file, e)) return -1;
    const char *kind = mn_st_meta(file, "kind"), *ck = mn_st_meta(file, "checkpoint");
    int ok = 0;
    for (int i = 0; kind && i < n_kinds; i++) ok |= !strcmp(kind, kinds[i]);
    if (!ck || !ok) {
        if (!ck)
            mn_fail(e, "%s: not a checkpoint (no training state); write one with `mnist %s --checkpoint`", path, cmd);
        else
            mn_fail(e, "%s: a checkpoint of kind '%s', not one of `mnist %s`", path, kind ? kind : "none", cmd);
        mn_st_free(file);
        return -1;
    }
    int k = 0;
    args[k++] = (char *)cmd;
    for (int i = 0; i < file->n_meta; i++) {
        char *key = file->meta_keys[i], *val = file->meta_vals[i];
        if (strncmp(key, "recipe.", 7)) continue;
        /* "recipe.NAME" becomes "--NAME" in place: the file's copy is ours */
        char *flag = key + 5;
        flag[0] = flag[1] = '-';
        int is_bool = one_of(flag, bools, n_bools);
        if (k + 3 > max_args || (!is_bool && !one_of(flag, flags, n_flags)) ||
            (is_bool && strcmp(val, "0") && strcmp(val, "1"))) {
            mn_fail(e, "%s: checkpoint recipe is malformed", path);
            mn_st_free(file);
            return -1;
        }
        if (is_bool) {
            if (!strcmp(val, "1")) args[k++] = flag;
        } else {
            args[k++] = flag;
            args[k++] = val;
        }
    }
    args[k] = NULL;
    *n = k;
    return 0;
}

int gen_parse(int argc, char **argv, void *args, gen_opts *g, gen_parse_fn *parse, const char *const *kinds,
              int n_kinds, const char *const *flags, int n_flags, const char *const *bools, int n_bools,
              mn_safetensors *file)
{
    memset(file, 0, sizeof *file);
    if (parse(argc, argv, args, 1) || gen_opts_check(g)) return EXIT_USAGE;
    if (!g->resume) return 0;
    const char *resume = g->resume, *cmd = g->cmd;
    enum { MAX = 64 };
    char *rargs[MAX + 1];
    int n;
    mn_err e;
    if (gen_recipe_read(resume, cmd, kinds, n_kinds, flags, n_flags, bools, n_bools, file, rargs, MAX, &n, &e))
        return cli_fail(&e);
    if (parse(n, rargs, args, 1)) {
        fprintf(stderr, "mnist: %s: checkpoint recipe is malformed\n", resume);
        mn_st_free(file);
        return 1;
    }
    g->recipe_set = 0;
    if (parse(argc, argv, args, 0)) { /* cannot fail: it passed once */
        mn_st_free(file);
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- where a run is -------------------------------------------------------- */

void gen_epoch_order(const gen_state *st, int *order, int n, mn_rng *next)
{
    *next = st->shuffle;
    for (int i = 0; i < n; i++) order[i] = i;
    mn_rng_shuffle(next, order, n);
}

static void rng_str(const mn_rng *r, char *buf, size_t len)
{
    snprintf(buf, len, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->s[0], r->s[1], r->s[2], r->s[3]);
}

static int rng_parse(const char *s, mn_rng *r)
{
    if (!s || strlen(s) != 64) return -1;
    for (int i = 0; i < 4; i++) {
        char part[17], *end;
        memcpy(part, s + 16 * i, 16);
        part[16] = '\0';
        if (!strchr("0123456789abcdefABCDEF", part[0]) || !part[0]) return -1;
        r->s[i] = strtoull(part, &end, 16);
        if (*end) return -1;
    }
    return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) ? 0 : -1; /* xoshiro's one bad state */
}

static mn_st_tensor flat(const char *name, const char *part, float *data, size_t n)
{
    mn_st_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "opt.%s.%s", part, name);
    t.ndim = 1;
    t.shape[0] = (int64_t)n;
    t.data = data;
    return t;
}

enum { MAX_PARTS = 2, MAX_EXTRA = 4, OWN_META = 8 + 2 * MAX_PARTS };

int gen_checkpoint_save(const char *path, const gen_part *parts, int n_parts, const gen_state *st,
                        const mn_st_tensor *extra, int n_extra, const char *const *keys, const char *const *vals,
                        int n_meta, mn_err *e)
{
    if (n_parts > MAX_PARTS || n_extra > MAX_EXTRA) return mn_fail(e, "%s: too many tensors for a checkpoint", path);
    const mn_model *models[MAX_PARTS];
    const char *prefixes[MAX_PARTS];
    mn_st_tensor t[2 * MAX_PARTS + MAX_EXTRA];
    int nt = 0;
    const char **k = calloc((size_t)n_meta + OWN_META, sizeof *k), **v = calloc((size_t)n_meta + OWN_META, sizeof *v);
    char s[OWN_META][2][96];
    if (!k || !v) {
        free(k), free(v);
        return mn_fail(e, "%s: out of memory", path);
    }
    int nm = 0;
#define META(key, ...) (snprintf(s[nm][0], 96, "%s", key), snprintf(s[nm][1], 96, __VA_ARGS__), \
                        k[nm] = s[nm][0], v[nm] = s[nm][1], nm++)
    META("checkpoint", "1");
    META("train.epoch", "%d", st->epoch);
    META("train.step", "%ld", st->step);
    META("train.count", "%ld", st->count);
    META("train.sums", "%.17g,%.17g,%.17g,%.17g", st->sums[0], st->sums[1], st->sums[2], st->sums[3]);
    rng_str(&st->shuffle, s[nm][1], 96), k[nm] = "rng.shuffle", v[nm] = s[nm][1], nm++;
    rng_str(&st->draw, s[nm][1], 96), k[nm] = "rng.draw", v[nm] = s[nm][1], nm++;
    for (int i = 0; i < n_parts; i++) {
        models[i] = parts[i].m, prefixes[i] = parts[i].prefix;
        t[nt++] = flat("m", parts[i].prefix, parts[i].o->m, parts[i].o->n);
        t[nt++] = flat("v", parts[i].prefix, parts[i].o->v, parts[i].o->n);
        char key[96];
        snprintf(key, sizeof key, "opt.%s.step", parts[i].prefix);
        META(key, "%ld", parts[i].o->step);
        snprintf(key, sizeof key, "rng.%s.dropout", parts[i].prefix);
        snprintf(s[nm][0], 96, "%s", key);
        rng_str(&parts[i].m->rng, s[nm][1], 96), k[nm] = s[nm][0], v[nm] = s[nm][1], nm++;
    }
#undef META
    for (int i = 0; i < n_extra; i++) t[nt++] = extra[i];
    for (int i = 0; i < n_meta; i++) k[nm] = keys[i], v[nm++] = vals[i];
    int rc = mn_models_save(path, models, prefixes, n_parts, t, nt, k, v, nm, e);
    free(k), free(v);
    return rc;
}

static int meta_long(const mn_safetensors *f, const char *key, double lo, double hi, double *out)
{
    const char *s = mn_st_meta(f, key);
    char *end;
    if (!s) return -1;
    *out = strtod(s, &end);
    return *end || end == s || !(*out >= lo && *out <= hi) || *out != floor(*out) ? -1 : 0;
}

/* A part's parameters and layer state from the file, into a model built
 * and allocated the same way. */
static int load_part(const char *path, const gen_part *p, mn_err *e)
{
    mn_model tmp;
    if (mn_model_load_part(&tmp, path, p->prefix, 1, 1, e)) return -1;
    int same = !strcmp(tmp.arch, p->m->arch) && tmp.n_params == p->m->n_params && tmp.n_state == p->m->n_state;
    if (same) {
        memcpy(p->m->params, tmp.params, tmp.n_params * sizeof(float));
        if (tmp.n_state) memcpy(p->m->state, tmp.state, tmp.n_state);
    }
    mn_model_free(&tmp);
    if (!same) return mn_fail(e, "%s: the %s is not the one its recipe builds", path, p->prefix);
    return 0;
}

int gen_checkpoint_load(const char *path, const gen_part *parts, int n_parts, gen_state *st, mn_st_tensor *extra,
                        int n_extra, mn_err *e)
{
    for (int i = 0; i < n_parts; i++)
        if (load_part(path, &parts[i], e)) return -1;
    mn_safetensors f;
    if (mn_st_read(path, &f, e)) return -1;
    int rc = -1;
    double epoch, step, count, ostep[MAX_PARTS];
    gen_state s = {0};
    mn_rng drop[MAX_PARTS];
    const char *sums = mn_st_meta(&f, "train.sums");
    char tail;
    int bad = meta_long(&f, "train.epoch", 0, 1e5, &epoch) || meta_long(&f, "train.step", 0, 1e9, &step) ||
              meta_long(&f, "train.count", 0, 1e15, &count) || !sums ||
              sscanf(sums, "%lf,%lf,%lf,%lf%c", &s.sums[0], &s.sums[1], &s.sums[2], &s.sums[3], &tail) != 4 ||
              rng_parse(mn_st_meta(&f, "rng.shuffle"), &s.shuffle) || rng_parse(mn_st_meta(&f, "rng.draw"), &s.draw);
    for (int i = 0; i < 4 && !bad; i++) bad = !isfinite(s.sums[i]);
    for (int i = 0; i < n_parts && !bad; i++) {
        char key[96];
        snprintf(key, sizeof key, "opt.%s.step", parts[i].prefix);
        bad = meta_long(&f, key, 0, 1e15, &ostep[i]);
        snprintf(key, sizeof key, "rng.%s.dropout", parts[i].prefix);
        bad = bad || rng_parse(mn_st_meta(&f, key), &drop[i]);
    }
    if (bad) {
        mn_fail(e, "%s: checkpoint metadata is missing or malformed", path);
        goto out;
    }
    for (int i = 0; i < n_parts; i++) {
        char mname[MN_ST_MAX_NAME], vname[MN_ST_MAX_NAME];
        snprintf(mname, sizeof mname, "opt.%s.m", parts[i].prefix);
        snprintf(vname, sizeof vname, "opt.%s.v", parts[i].prefix);
        const mn_st_tensor *tm = mn_st_find(&f, mname), *tv = mn_st_find(&f, vname);
        size_t n = parts[i].o->n;
        if (!tm || !tv || tm->dtype != MN_ST_F32 || tv->dtype != MN_ST_F32 || tm->ndim != 1 || tv->ndim != 1 ||
            (size_t)tm->shape[0] != n || (size_t)tv->shape[0] != n) {
            mn_fail(e, "%s: the %s's optimizer state is missing or does not match its %zu parameters", path,
                    parts[i].prefix, n);
            goto out;
        }
    }
    for (int i = 0; i < n_extra; i++) {
        const mn_st_tensor *t = mn_st_find(&f, extra[i].name);
        int same = t && t->dtype == extra[i].dtype && t->ndim == extra[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == extra[i].shape[d];
        if (!same) {
            mn_fail(e, "%s: tensor '%s' is %s", path, extra[i].name, t ? "the wrong shape" : "missing");
            goto out;
        }
    }
    /* all checked: the optimizers and generators change only when the whole file is good (the
     * parameters were read first; on an error the run ends anyway) */
    for (int i = 0; i < n_parts; i++) {
        char mname[MN_ST_MAX_NAME], vname[MN_ST_MAX_NAME];
        snprintf(mname, sizeof mname, "opt.%s.m", parts[i].prefix);
        snprintf(vname, sizeof vname, "opt.%s.v", parts[i].prefix);
        memcpy(parts[i].o->m, mn_st_find(&f, mname)->data, parts[i].o->n * sizeof(float));
        memcpy(parts[i].o->v, mn_st_find(&f, vname)->data, parts[i].o->n * sizeof(float));
        parts[i].o->step = (long)ostep[i];
        parts[i].m->rng = drop[i];
    }
    for (int i = 0; i < n_extra; i++) {
        const mn_st_tensor *t = mn_st_find(&f, extra[i].name);
        size_t cnt = 1;
        for (int d = 0; d < t->ndim; d++) cnt *= (size_t)t->shape[d];
        memcpy(extra[i].raw, t->raw, cnt * (t->dtype == MN_ST_I64 ? 8 : 4));
    }
    s.epoch = (int)epoch, s.step = (long)step, s.count = (long)count;
    *st = s;
    rc = 0;
out:
    mn_st_free(&f);
    return rc;
}

/* ---- Ctrl-C -------------------------------------------------------------- */

volatile sig_atomic_t gen_interrupted;

static void on_sigint(int sig)
{
    gen_interrupted = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

void gen_sigint_on(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

void gen_sigint_off(void) { signal(SIGINT, SIG_DFL); }

int gen_interrupted_exit(const gen_opts *o, const gen_state *st, long steps, int (*save)(void *user, mn_err *e),
                         void *user)
{
    char where[64];
    if (st->step && st->step < steps)
        snprintf(where, sizeof where, "at epoch %d, step %ld", st->epoch + 1, st->step);
    else
        snprintf(where, sizeof where, "after epoch %d", st->epoch);
    mn_err e;
    if (!o->checkpoint)
        fprintf(stderr, "mnist: interrupted %s; no model written (run with --checkpoint FILE to resume)\n", where);
    else if (save(user, &e))
        fprintf(stderr, "mnist: interrupted %s; %s\n", where, e.msg);
    else
        fprintf(stderr, "mnist: interrupted %s; checkpoint saved to %s (continue: mnist %s --resume %s)\n", where,
                o->checkpoint, o->cmd, o->checkpoint);
    return 130;
}

/* ---- progress ------------------------------------------------------------ */

void gen_progress_epoch(gen_progress *p, int epoch, long epochs)
{
    p->live = isatty(fileno(stderr));
    p->t0 = cli_seconds();
    p->last = 0;
    printf("Epoch %d/%ld\n", epoch, epochs);
    fflush(stdout);
}

void gen_progress_step(gen_progress *p, long step, long steps, const char *text)
{
    double t = cli_seconds() - p->t0;
    if (!p->live || step >= steps || t - p->last < 0.1) return;
    p->last = t;
    char b[40];
    progress_bar_text(b, (int)step, (int)steps);
    int width = snprintf(NULL, 0, "%ld", steps);
    double eta = t / (double)step * (double)(steps - step);
    fprintf(stderr, "\r%*ld/%ld %s - ETA: %.0fs%s\033[K", width, step, steps, b, eta, text);
    fflush(stderr);
}

void gen_progress_done(gen_progress *p, long steps)
{
    double t = cli_seconds() - p->t0;
    if (p->live) fputs("\r\033[K", stderr), fflush(stderr);
    char b[40], ps[32];
    progress_bar_text(b, (int)steps, (int)steps);
    progress_per_step(ps, sizeof ps, steps ? t / (double)steps : 0.0);
    printf("%ld/%ld %s - %.0fs %s", steps, steps, b, t, ps);
}
