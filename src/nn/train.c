/* train.c - minibatch training loop (Keras's fit), evaluation, checkpoints. */
#define _POSIX_C_SOURCE 200809L
#include "mnist/train.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnist/autothreads.h"
#include "mnist/gemm.h"
#include "mnist/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void mn_evaluate(mn_model *m, const mn_dataset *ds, int first, int count, double *loss, double *acc, int *confusion,
                 int *predictions)
{
    double total = 0.0;
    long hits = 0;
    int C = m->n_classes;
    if (confusion) memset(confusion, 0, (size_t)C * (size_t)C * sizeof *confusion);
    for (int done = 0; done < count; done += m->max_batch) {
        int B = count - done < m->max_batch ? count - done : m->max_batch, correct;
        mn_dataset_batch(ds, NULL, first + done, B, m->input, m->labels);
        total += mn_model_forward(m, B, 0, &correct);
        hits += correct;
        for (int n = 0; n < B && (confusion || predictions); n++) {
            const float *p = m->probs + (size_t)n * C;
            int arg = 0;
            for (int j = 1; j < C; j++)
                if (p[j] > p[arg]) arg = j;
            if (confusion) confusion[m->labels[n] * C + arg]++;
            if (predictions) predictions[done + n] = arg;
        }
    }
    *loss = count ? total / count : 0.0;
    *acc = count ? (double)hits / count : 0.0;
}

void mn_train_state_init(mn_train_state *st, uint64_t seed)
{
    memset(st, 0, sizeof *st);
    mn_rng_seed(&st->shuffle, seed ^ 0x5EEDF00D5EEDF00Dull);
    mn_rng_seed(&st->augment, seed ^ 0xA0A0F11BA0A0F11Bull);
    st->best_val_loss = INFINITY;
}

/* From a (pct 0) to b (pct 1): PyTorch's _annealing_cos / _annealing_linear. */
static double anneal(double a, double b, double pct, int linear)
{
    return linear ? a + (b - a) * pct : b + (a - b) / 2.0 * (1.0 + cos(3.14159265358979323846 * pct));
}

/* OneCycleLR's two phases: up to step pct*T - 1, then down to step T - 1. */
static float onecycle(const mn_train_opts *opt, long t, long T)
{
    double max = opt->lr, initial = max / 25.0, min = initial / 1e4;
    double up_end = (double)opt->onecycle_pct * (double)T - 1.0, end = (double)T - 1.0;
    if ((double)t <= up_end) return (float)anneal(initial, max, up_end > 0 ? (double)t / up_end : 1.0, opt->onecycle_linear);
    double span = end - up_end;
    return (float)anneal(max, min, span > 0 ? ((double)t - up_end) / span : 1.0, opt->onecycle_linear);
}

float mn_lr_at(const mn_train_opts *opt, int epoch, long t, long T)
{
    switch (opt->schedule) {
    case MN_LR_ONECYCLE: return onecycle(opt, t, T);
    case MN_LR_STEP: return opt->lr * powf(opt->step_gamma, (float)(epoch / opt->step_every));
    case MN_LR_COSINE: return (float)(opt->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * (double)t / (double)T)));
    default: return opt->lr;
    }
}

static int nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 1;
    return 0;
}

/* A batch's mean loss this far above a uniform guess's (ln C) only comes
 * from a run that has blown up; healthy training never gets near it. */
#define DIVERGED_FACTOR 1000.0

/* After a diverged loss: which layer went bad first, in a sentence. */
static void diagnose(const mn_model *m, int B, char *buf, size_t len)
{
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        const char *what = NULL;
        if (nonfinite(m->params + l->param_off, l->n_params))
            what = "parameters";
        else if (!l->absorbed && nonfinite(m->act[i + l->n_fused], /* a fused conv's output is its last layer's */
                                           (size_t)B * mn_shape_size(m->layers[i + l->n_fused].out)))
            what = "outputs";
        if (what) {
            snprintf(buf, len, "layer %d (%s) %s are not finite", l->module, l->kind->token, what);
            return;
        }
    }
    int worst = 0;
    float worst_w = 0.0f;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        for (size_t j = 0; j < l->n_params; j++) {
            float w = fabsf(m->params[l->param_off + j]);
            if (w > worst_w) worst_w = w, worst = i;
        }
    }
    snprintf(buf, len, "the largest weights, in layer %d (%s), reach %.3g", m->layers[worst].module,
             m->layers[worst].kind->token, (double)worst_w);
}

/* Keras's EarlyStopping(monitor="val_loss", restore_best_weights=True).
 * Returns 1 when training should stop. */
static int early_stopping(mn_model *m, const mn_train_opts *opt, mn_train_state *st, double val_loss)
{
    if (val_loss < st->best_val_loss) {
        st->best_val_loss = val_loss;
        st->best_epoch = st->epoch;
        st->wait = 0;
        memcpy(opt->best, m->params, m->n_params * sizeof(float));
        memcpy(opt->best + m->n_params, m->state, m->n_state);
        return 0;
    }
    return ++st->wait >= opt->patience;
}

int mn_train(mn_model *m, mn_optim *o, const mn_dataset *ds, const mn_train_opts *opt, mn_train_state *st,
             mn_progress_fn cb, void *user, mn_err *e)
{
    int n_val = (int)floor((double)ds->n * opt->validation_split);
    int n_train = ds->n - n_val, B = opt->batch_size;
    if (B < 1 || B > m->max_batch) return mn_fail(e, "batch size %d outside 1..%d", B, m->max_batch);
    if (n_train < 1) return mn_fail(e, "validation split %.3g leaves no training data", (double)opt->validation_split);
    if (opt->patience > 0 && (n_val == 0 || !opt->best))
        return mn_fail(e, "early stopping needs a validation split");
    int *order = malloc((size_t)n_train * sizeof *order);
    if (!order) return mn_fail(e, "out of memory for %d sample indices", n_train);
    float *aug_tmp = NULL; /* one image of scratch for the augmentation */
    if (mn_augment_on(&opt->augment) && !(aug_tmp = malloc(mn_dataset_pixels(ds) * sizeof *aug_tmp))) {
        free(order);
        return mn_fail(e, "out of memory");
    }

    mn_progress p = {0};
    p.epochs = opt->epochs;
    p.steps = (n_train + B - 1) / B;
    p.has_val = n_val > 0;
    long T = (long)p.steps * opt->epochs;
    int rc = 0;
    mn_autothreads at;
    mn_autothreads_init(&at, opt->auto_threads > 1 ? opt->auto_threads : 1);
    p.threads = mn_get_threads();
    while (rc == 0 && st->epoch < opt->epochs) {
        /* the order depends only on the generator state, so a resumed run
         * rebuilds the same permutation */
        mn_rng rng = st->shuffle;
        for (int i = 0; i < n_train; i++) order[i] = i;
        mn_rng_shuffle(&rng, order, n_train);
        double t0 = now();
        p.epoch = st->epoch + 1;
        p.epoch_done = 0;
        while (st->step < p.steps) {
            int step = st->step, first = step * B, b = n_train - first < B ? n_train - first : B, correct;
            o->lr = mn_lr_at(opt, st->epoch, (long)st->epoch * p.steps + step, T);
            if (at.n_cand > 1) mn_set_threads(p.threads = mn_autothreads_next(&at));
            double ts = now();
            mn_dataset_batch(ds, order, first, b, m->input, m->labels);
            mn_augment_batch(&opt->augment, m->input, b, ds->h, ds->w, aug_tmp, &st->augment);
            if (first + b < n_train) /* the next batch's images load while this one computes */
                mn_dataset_prefetch(ds, order, first + b, n_train - first - b < B ? n_train - first - b : B);
            double loss = mn_model_forward(m, b, 1, &correct);
            if (!isfinite(loss) || loss / b > DIVERGED_FACTOR * log((double)m->n_classes)) {
                char why[160];
                diagnose(m, b, why, sizeof why);
                rc = mn_fail(e, "training diverged at epoch %d, step %d: loss is %.3g (a uniform guess scores %.2f); %s; "
                                "try a smaller --lr",
                             p.epoch, step + 1, loss / b, log((double)m->n_classes), why);
                break;
            }
            mn_model_backward_step(m, b, o);
            mn_autothreads_done(&at, now() - ts);
            st->loss_sum += loss;
            st->hits += correct;
            st->seen += b;
            st->step++;
            p.step = st->step;
            p.loss = st->loss_sum / (double)st->seen;
            p.acc = (double)st->hits / (double)st->seen;
            p.lr = o->lr;
            if (st->step == p.steps) {
                /* epoch boundary: move the state on before anyone can save
                 * it. Validation (and early stopping's best weights) see the
                 * weights that training will return: the average, if kept. */
                float *live = m->params;
                if (o->ema) m->params = o->ema;
                if (n_val) mn_evaluate(m, ds, n_train, n_val, &p.val_loss, &p.val_acc, NULL, NULL);
                st->epoch++;
                st->step = 0;
                st->shuffle = rng;
                st->loss_sum = 0, st->hits = 0, st->seen = 0;
                p.epoch_done = 1;
                p.stopped_early = opt->patience > 0 && early_stopping(m, opt, st, p.val_loss);
                m->params = live;
            }
            p.seconds = now() - t0;
            int stop = cb && cb(&p, user);
            if (p.stopped_early) {
                st->epoch = opt->epochs;
                break;
            }
            if (stop || (opt->stop && *opt->stop)) {
                rc = MN_TRAIN_STOPPED;
                break;
            }
            if (p.epoch_done) break;
        }
    }
    if (at.n_cand > 1) mn_set_threads(opt->auto_threads);
    /* restore the best weights (Keras's restore_best_weights), or else put
     * the average in place (Keras's finalize_variable_values at the end of
     * fit); a stopped run keeps its live weights, which a checkpoint needs */
    if (rc == 0 && opt->patience > 0 && isfinite(st->best_val_loss)) {
        memcpy(m->params, opt->best, m->n_params * sizeof(float));
        memcpy(m->state, opt->best + m->n_params, m->n_state); /* the moving statistics, as Keras */
    } else if (rc == 0 && o->ema)
        memcpy(m->params, o->ema, m->n_params * sizeof(float));
    free(order);
    free(aug_tmp);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------ */

static void rng_str(const mn_rng *r, char *buf, size_t len)
{
    snprintf(buf, len, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->s[0], r->s[1], r->s[2], r->s[3]);
}

static int rng_parse(const char *s, mn_rng *r)
{
    if (!s || strlen(s) != 64) return -1;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, s + 16 * i, 16);
        part[16] = '\0';
        char *end;
        r->s[i] = strtoull(part, &end, 16);
        if (*end) return -1;
    }
    return 0;
}

static mn_st_tensor flat(const char *name, float *data, size_t n)
{
    mn_st_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.ndim = 1;
    t.shape[0] = (int64_t)n;
    t.data = data;
    return t;
}

int mn_checkpoint_save(const char *path, const mn_model *m, const mn_optim *o, const mn_train_state *st,
                       const float *best, const char *const *keys, const char *const *vals, int n_meta, mn_err *e)
{
    enum { OWN = 13 };
    const char **k = calloc((size_t)n_meta + OWN, sizeof *k), **v = calloc((size_t)n_meta + OWN, sizeof *v);
    if (!k || !v) {
        free(k), free(v);
        return mn_fail(e, "%s: out of memory", path);
    }
    char s[OWN][80];
    int nm = 0;
#define META(key, ...) (snprintf(s[nm], sizeof s[nm], __VA_ARGS__), k[nm] = key, v[nm] = s[nm], nm++)
    META("checkpoint", "1");
    META("opt.step", "%ld", o->step);
    rng_str(&m->rng, s[nm], sizeof s[nm]), k[nm] = "rng.dropout", v[nm] = s[nm], nm++;
    rng_str(&st->shuffle, s[nm], sizeof s[nm]), k[nm] = "rng.shuffle", v[nm] = s[nm], nm++;
    rng_str(&st->augment, s[nm], sizeof s[nm]), k[nm] = "rng.augment", v[nm] = s[nm], nm++;
    META("train.epoch", "%d", st->epoch);
    META("train.step", "%d", st->step);
    META("train.loss_sum", "%.17g", st->loss_sum);
    META("train.hits", "%ld", st->hits);
    META("train.seen", "%ld", st->seen);
    META("es.best_val_loss", "%.17g", st->best_val_loss);
    META("es.best_epoch", "%d", st->best_epoch);
    META("es.wait", "%d", st->wait);
#undef META
    for (int i = 0; i < n_meta; i++) k[nm] = keys[i], v[nm++] = vals[i];
    mn_st_tensor extra[5] = {flat("opt.m", o->m, o->n), flat("opt.v", o->v, o->n)};
    int n_extra = 2;
    if (best) extra[n_extra++] = flat("es.best", (float *)best, m->n_params);
    if (best && m->n_state) { /* the layers' state at the best epoch, as the model keeps it */
        mn_st_tensor t = flat("es.best_state", NULL, m->n_state / 8);
        t.dtype = MN_ST_I64;
        t.raw = (void *)(best + m->n_params);
        extra[n_extra++] = t;
    }
    if (o->ema) extra[n_extra++] = flat("opt.ema", o->ema, o->n);
    int rc = mn_model_save_ext(m, path, extra, n_extra, k, v, nm, e);
    free(k), free(v);
    return rc;
}

size_t mn_train_best_floats(const mn_model *m) { return m->n_params + m->n_state / sizeof(float); }

int mn_is_checkpoint(const mn_model *m) { return mn_model_meta(m, "checkpoint") != NULL; }

static int meta_num(const mn_model *m, const char *key, double *out)
{
    const char *s = mn_model_meta(m, key);
    char *end;
    if (!s) return -1;
    *out = strtod(s, &end);
    return *end || end == s ? -1 : 0;
}

/* A counter read back from a checkpoint is cast to an integer: it must be a
 * whole number in range (a file saying "1e300" must not wrap around). */
static int whole(double x, double lo, double hi) { return x >= lo && x <= hi && x == floor(x); }

int mn_checkpoint_load(const char *path, mn_model *m, mn_optim *o, mn_train_state *st, float *best, mn_err *e)
{
    mn_safetensors f;
    if (mn_st_read(path, &f, e)) return -1;
    const mn_st_tensor *tm = mn_st_find(&f, "opt.m"), *tv = mn_st_find(&f, "opt.v"), *tb = mn_st_find(&f, "es.best"),
                       *ta = mn_st_find(&f, "opt.ema");
    int rc = -1;
    double step, epoch, tstep, loss_sum, hits, seen, bvl, bep, wait;
    mn_rng drop, shuf;
    if (!mn_st_meta(&f, "checkpoint") || !tm || !tv) {
        mn_fail(e, "%s: not a checkpoint (no optimizer state); write one with --checkpoint", path);
        goto out;
    }
    if (tm->ndim != 1 || tv->ndim != 1 || (size_t)tm->shape[0] != o->n || (size_t)tv->shape[0] != o->n ||
        (tb && (tb->ndim != 1 || (size_t)tb->shape[0] != m->n_params))) {
        mn_fail(e, "%s: optimizer state does not match the model's %zu parameters", path, m->n_params);
        goto out;
    }
    if (!o->ema != !ta || (ta && (ta->ndim != 1 || (size_t)ta->shape[0] != o->n))) {
        mn_fail(e, "%s: the weights' moving average (opt.ema) is %s", path,
                !ta ? "missing" : o->ema ? "malformed" : "there, but the recipe has no --ema");
        goto out;
    }
    if (meta_num(m, "opt.step", &step) || meta_num(m, "train.epoch", &epoch) || meta_num(m, "train.step", &tstep) ||
        meta_num(m, "train.loss_sum", &loss_sum) || meta_num(m, "train.hits", &hits) ||
        meta_num(m, "train.seen", &seen) || meta_num(m, "es.best_val_loss", &bvl) ||
        meta_num(m, "es.best_epoch", &bep) || meta_num(m, "es.wait", &wait) ||
        rng_parse(mn_model_meta(m, "rng.dropout"), &drop) || rng_parse(mn_model_meta(m, "rng.shuffle"), &shuf) ||
        !whole(step, 0, 1e15) || !whole(epoch, 0, 1e5) || !whole(tstep, 0, 1e9) || !whole(hits, 0, 1e15) ||
        !whole(seen, 0, 1e15) || !whole(bep, -1, 1e5) || !whole(wait, 0, 1e5) || isnan(loss_sum)) {
        mn_fail(e, "%s: checkpoint metadata is missing or malformed", path);
        goto out;
    }
    /* checkpoints before data augmentation existed lack its generator: the
     * caller's freshly seeded one stands */
    mn_rng aug = st->augment;
    const char *aug_s = mn_model_meta(m, "rng.augment");
    if (aug_s && rng_parse(aug_s, &aug)) {
        mn_fail(e, "%s: checkpoint metadata is missing or malformed", path);
        goto out;
    }
    memcpy(o->m, tm->data, o->n * sizeof(float));
    memcpy(o->v, tv->data, o->n * sizeof(float));
    if (best && tb) {
        memcpy(best, tb->data, m->n_params * sizeof(float));
        /* checkpoints before layers had state lack es.best_state: then
         * the current state stands for the best one */
        const mn_st_tensor *ts = mn_st_find(&f, "es.best_state");
        int ok = ts && ts->dtype == MN_ST_I64 && ts->ndim == 1 && (size_t)ts->shape[0] * 8 == m->n_state;
        memcpy(best + m->n_params, ok ? ts->raw : m->state, m->n_state);
    }
    if (ta) memcpy(o->ema, ta->data, o->n * sizeof(float));
    o->step = (long)step;
    m->rng = drop;
    memset(st, 0, sizeof *st);
    st->shuffle = shuf;
    st->augment = aug;
    st->epoch = (int)epoch, st->step = (int)tstep;
    st->loss_sum = loss_sum, st->hits = (long)hits, st->seen = (long)seen;
    st->best_val_loss = bvl, st->best_epoch = (int)bep, st->wait = (int)wait;
    rc = 0;
out:
    mn_st_free(&f);
    return rc;
}
