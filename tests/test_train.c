/* test_train.c - the training loop on a small in-memory data set: it learns,
 * it is deterministic, it keeps the last partial batch, it honours the
 * validation split, and a training step never touches the heap (malloc,
 * calloc, realloc and free are wrapped at link time and counted). */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "mnist/gemm.h"
#include "mnist/train.h"
#include "test.h"

/* ---- allocation counting (linked with -Wl,--wrap=malloc,...) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
static long allocs;
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { allocs++; return __real_calloc(n, s); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { allocs++; return __real_aligned_alloc(a, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { allocs++; return __real_posix_memalign(p, a, n); }

/* Each class lights its own 4x4 patch of a noisy 12x12 image. */
static void make_data(mn_dataset *ds, int n, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    memset(ds, 0, sizeof *ds);
    ds->n = n, ds->c = 1, ds->h = 12, ds->w = 12, ds->n_classes = 10, ds->type = MN_PIX_U8;
    ds->images = malloc((size_t)n * 144);
    ds->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int c = (int)mn_rng_below(&r, 10);
        ds->labels[i] = (uint8_t)c;
        uint8_t *p = ds->images + (size_t)i * 144;
        for (int k = 0; k < 144; k++) p[k] = (uint8_t)mn_rng_below(&r, 80);
        int y0 = (c / 3) * 3, x0 = (c % 3) * 4;
        for (int y = y0; y < y0 + 3; y++)
            for (int x = x0; x < x0 + 4; x++) p[y * 12 + x] = 255;
    }
}

typedef struct {
    int calls, last_steps, last_step, epochs_done;
    double last_val_acc;
} watch;

static int on_progress(const mn_progress *p, void *user)
{
    watch *w = user;
    w->calls++;
    w->last_steps = p->steps;
    w->last_step = p->step;
    if (p->epoch_done) w->epochs_done++, w->last_val_acc = p->has_val ? p->val_acc : -1;
    return 0;
}

static float *train_once(const mn_dataset *ds, const char *arch, mn_optim_kind k, int batch, float split,
                         double *acc, watch *w, size_t *n_params)
{
    mn_model m;
    mn_optim o;
    mn_err e;
    CHECK(mn_model_build(&m, arch, (mn_shape){1, 12, 12}, 10, &e) == 0);
    CHECK(mn_model_alloc(&m, batch, &e) == 0);
    CHECK(mn_optim_init(&o, k, mn_optim_default_lr(k), m.n_params, &e) == 0);
    mn_model_init(&m, 5);
    mn_train_opts opt = {.epochs = 3, .batch_size = batch, .validation_split = split, .lr = mn_optim_default_lr(k)};
    mn_train_state st;
    mn_train_state_init(&st, 5);
    CHECK(mn_train(&m, &o, ds, &opt, &st, on_progress, w, &e) == 0);
    double loss;
    mn_evaluate(&m, ds, 0, ds->n, &loss, acc, NULL, NULL);
    float *copy = malloc(m.n_params * sizeof(float));
    memcpy(copy, m.params, m.n_params * sizeof(float));
    *n_params = m.n_params;
    mn_optim_free(&o);
    mn_model_free(&m);
    return copy;
}

static void test_learns_and_repeats(void)
{
    mn_dataset ds;
    make_data(&ds, 1000, 1);
    watch w1 = {0}, w2 = {0};
    double acc1, acc2;
    size_t n;
    float *p1 = train_once(&ds, "mlp", MN_ADAM, 30, 0.0f, &acc1, &w1, &n);
    float *p2 = train_once(&ds, "mlp", MN_ADAM, 30, 0.0f, &acc2, &w2, &n);
    CHECK_MSG(acc1 > 0.95, "accuracy %.4f", acc1);
    CHECK(memcmp(p1, p2, n * sizeof(float)) == 0);
    /* 1000 / 30: 33 full batches and a partial one of 10 */
    CHECK(w1.last_steps == 34 && w1.last_step == 34 && w1.epochs_done == 3 && w1.calls == 3 * 34);
    CHECK(w1.last_val_acc == -1);
    free(p1), free(p2);

    /* validation split: last 20% held out (800 train -> 27 batches of 30) */
    watch w3 = {0};
    float *p3 = train_once(&ds, "dense:32,relu,dense:10", MN_RMSPROP, 30, 0.2f, &acc1, &w3, &n);
    CHECK(w3.last_steps == 27 && w3.last_val_acc > 0.9);
    free(p3);
    mn_dataset_free(&ds);
}

static void test_no_allocation_in_step(void)
{
    mn_dataset ds;
    long at_start = allocs;
    make_data(&ds, 256, 2);
    CHECK(allocs == at_start + 2); /* the wrapping sees our calls */
    const char *archs[] = {"mlp", "wide", "3b1b"};
    for (int a = 0; a < 3; a++) {
        for (int k = 0; k < MN_N_OPTIM; k++) {
            mn_model m;
            mn_optim o;
            mn_err e;
            mn_model_build(&m, archs[a], (mn_shape){1, 12, 12}, 10, &e);
            mn_model_alloc(&m, 64, &e);
            mn_optim_init(&o, (mn_optim_kind)k, 0.01f, m.n_params, &e);
            mn_model_init(&m, 1);
            int idx[64];
            for (int i = 0; i < 64; i++) idx[i] = 255 - i;
            /* the first step may size GEMM's packing buffers; steps after it may not allocate */
            for (int step = 0; step < 4; step++) {
                int B = step == 3 ? 17 : 64;
                long before = allocs;
                mn_dataset_batch(&ds, idx, 0, B, m.input, m.labels);
                mn_model_forward(&m, B, 1, NULL);
                mn_model_backward_step(&m, B, &o);
                if (step > 0) CHECK_MSG(allocs == before, "%s/%d: %ld allocations in step %d", archs[a], k, allocs - before, step);
            }
            mn_optim_free(&o);
            mn_model_free(&m);
        }
    }
    mn_dataset_free(&ds);
}

/* The fused step (dense weights updated in their gradient's GEMM) must give
 * the parameters and optimizer state of backward-then-step, bit for bit, for
 * each optimizer, with the moving average, with a batch beyond one K block
 * (300: the GEMM then works in the gradient buffer, not a scratch panel), on
 * 1 and 2 threads. */
static void test_backward_step(void)
{
    static const char *const archs[] = {"mlp", "dense:40,relu,dense:30,sigmoid,dense:10",
                                        "conv:4:3,relu,maxpool:2,dense:10",
                                        "conv:4:3,batchnorm,relu,maxpool:2,dense:16,batchnorm,dense:10"};
    mn_dataset ds;
    make_data(&ds, 300, 5);
    int idx[300];
    for (int i = 0; i < 300; i++) idx[i] = (i * 7) % 300;
    for (int th = 1; th <= 2; th++) {
        mn_set_threads(th);
        for (int a = 0; a < 4; a++)
            for (int k = 0; k < MN_N_OPTIM; k++) {
                int B = a == 1 ? 300 : 32;
                mn_model m[2];
                mn_optim o[2];
                mn_err e;
                for (int f = 0; f < 2; f++) {
                    mn_model_build(&m[f], archs[a], (mn_shape){1, 12, 12}, 10, &e);
                    mn_model_alloc(&m[f], B, &e);
                    mn_optim_init(&o[f], (mn_optim_kind)k, 0.01f, m[f].n_params, &e);
                    o[f].momentum = 0.9f;
                    if (a == 0) mn_optim_use_ema(&o[f], 0.9f, &e);
                    mn_model_init(&m[f], 3);
                }
                for (int step = 0; step < 3; step++)
                    for (int f = 0; f < 2; f++) {
                        mn_dataset_batch(&ds, idx, step, B - step, m[f].input, m[f].labels);
                        mn_model_forward(&m[f], B - step, 1, NULL);
                        if (f) {
                            mn_model_backward_step(&m[f], B - step, &o[f]);
                        } else {
                            mn_model_backward(&m[f], B - step);
                            mn_optim_step(&o[f], m[f].params, m[f].grads);
                        }
                    }
                size_t bytes = m[0].n_params * sizeof(float);
                int same = memcmp(m[0].params, m[1].params, bytes) == 0 && memcmp(o[0].m, o[1].m, bytes) == 0 &&
                           memcmp(o[0].v, o[1].v, bytes) == 0 && o[0].step == o[1].step &&
                           (!o[0].ema || memcmp(o[0].ema, o[1].ema, bytes) == 0) &&
                           memcmp(m[0].state, m[1].state, m[0].n_state) == 0;
                CHECK_MSG(same, "fused step differs: %s, %s, %d threads", archs[a], mn_optim_name((mn_optim_kind)k), th);
                for (int f = 0; f < 2; f++) mn_optim_free(&o[f]), mn_model_free(&m[f]);
            }
    }
    mn_set_threads(0);
    mn_dataset_free(&ds);
}

/* Builds an mlp for 12x12 inputs, seeded, with Adam. */
static void setup(mn_model *m, mn_optim *o, int batch)
{
    mn_err e;
    mn_model_build(m, "mlp", (mn_shape){1, 12, 12}, 10, &e);
    mn_model_alloc(m, batch, &e);
    mn_optim_init(o, MN_ADAM, 0.001f, m->n_params, &e);
    mn_model_init(m, 9);
}

static int stop_after;
static int stop_at_step(const mn_progress *p, void *user)
{
    (void)user;
    return --stop_after == 0 && p->step > 0;
}

/* 4 epochs straight, or stopped mid-epoch, checkpointed, reloaded into fresh
 * objects and continued: the same parameters, bit for bit; with the weights'
 * moving average (ema), the average rides in the checkpoint too and is what
 * training returns. */
static void test_resume(int ema)
{
    mn_dataset ds;
    make_data(&ds, 500, 4);
    mn_err e;
    mn_train_opts opt = {.epochs = 4, .batch_size = 32, .validation_split = 0.2f, .lr = 0.001f,
                         .schedule = MN_LR_COSINE};
    mn_model a, b, c;
    mn_optim oa, ob, oc;
    mn_train_state sa, sb, sc;
    setup(&a, &oa, 32);
    if (ema) CHECK(mn_optim_use_ema(&oa, 0.9f, &e) == 0);
    mn_train_state_init(&sa, 9);
    CHECK(mn_train(&a, &oa, &ds, &opt, &sa, NULL, NULL, &e) == 0);
    CHECK(sa.epoch == 4 && sa.step == 0);
    if (ema) CHECK(memcmp(a.params, oa.ema, a.n_params * sizeof(float)) == 0);

    setup(&b, &ob, 32);
    if (ema) CHECK(mn_optim_use_ema(&ob, 0.9f, &e) == 0);
    mn_train_state_init(&sb, 9);
    stop_after = 13 * 2 + 5; /* 13 steps per epoch: stop in the third epoch */
    CHECK(mn_train(&b, &ob, &ds, &opt, &sb, stop_at_step, NULL, &e) == MN_TRAIN_STOPPED);
    CHECK(sb.epoch == 2 && sb.step == 5);
    char path[64];
    snprintf(path, sizeof path, "test_train_ckpt_%d.bin", (int)getpid());
    CHECK(mn_checkpoint_save(path, &b, &ob, &sb, NULL, NULL, NULL, 0, &e) == 0);

    CHECK(mn_model_load(&c, path, 32, &e) == 0);
    CHECK(mn_is_checkpoint(&c));
    mn_optim_init(&oc, MN_ADAM, 0.001f, c.n_params, &e);
    if (ema) { /* the recipe and the file must agree on the average */
        CHECK(mn_checkpoint_load(path, &c, &oc, &sc, NULL, &e) == -1 && strstr(e.msg, "opt.ema"));
        CHECK(mn_optim_use_ema(&oc, 0.9f, &e) == 0);
    }
    CHECK(mn_checkpoint_load(path, &c, &oc, &sc, NULL, &e) == 0);
    CHECK(sc.epoch == 2 && sc.step == 5 && sc.seen == sb.seen && sc.loss_sum == sb.loss_sum && oc.step == ob.step);
    CHECK(mn_train(&c, &oc, &ds, &opt, &sc, NULL, NULL, &e) == 0);
    CHECK(memcmp(a.params, c.params, a.n_params * sizeof(float)) == 0);
    CHECK(memcmp(oa.m, oc.m, a.n_params * sizeof(float)) == 0);
    if (ema) {
        /* the stopped run kept its live weights for the checkpoint */
        CHECK(memcmp(b.params, ob.ema, b.n_params * sizeof(float)) != 0);
        /* and the average did not stay at the start: the weights it returns differ from the last step's */
        mn_model d;
        mn_optim od;
        mn_train_state sd;
        setup(&d, &od, 32);
        mn_train_state_init(&sd, 9);
        CHECK(mn_train(&d, &od, &ds, &opt, &sd, NULL, NULL, &e) == 0);
        CHECK(memcmp(d.params, a.params, d.n_params * sizeof(float)) != 0);
        mn_model_free(&d), mn_optim_free(&od);
    }

    /* a plain model file is not a checkpoint */
    CHECK(mn_model_save(&a, path, NULL, NULL, 0, &e) == 0);
    CHECK(mn_checkpoint_load(path, &c, &oc, &sc, NULL, &e) == -1 && strstr(e.msg, "not a checkpoint"));
    remove(path);
    mn_model_free(&a), mn_model_free(&b), mn_model_free(&c);
    mn_optim_free(&oa), mn_optim_free(&ob), mn_optim_free(&oc);
    mn_dataset_free(&ds);
}

static void test_schedules_and_stops(void)
{
    mn_train_opts o = {.lr = 0.1f, .schedule = MN_LR_STEP, .step_every = 2, .step_gamma = 0.5f};
    CHECK_NEAR(mn_lr_at(&o, 0, 0, 10), 0.1, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 1, 5, 10), 0.1, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 2, 6, 10), 0.05, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 5, 9, 10), 0.025, 1e-7);
    o.schedule = MN_LR_COSINE;
    CHECK_NEAR(mn_lr_at(&o, 0, 0, 10), 0.1, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 5, 10), 0.05, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 10, 10), 0.0, 1e-7);
    /* OneCycleLR, against torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1,
     * total_steps=100, cycle_momentum=False) stepped 100 times */
    o.schedule = MN_LR_ONECYCLE, o.onecycle_pct = 0.3f;
    CHECK_NEAR(mn_lr_at(&o, 0, 0, 100), 0.004, 1e-8);
    CHECK_NEAR(mn_lr_at(&o, 0, 10, 100), 0.029516395, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 29, 100), 0.1, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 30, 100), 0.099949654, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 3, 50, 100), 0.079389345, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 9, 99, 100), 4e-7, 1e-10);
    o.onecycle_pct = 0.25f, o.onecycle_linear = 1; /* pct_start=0.25, anneal_strategy='linear' */
    CHECK_NEAR(mn_lr_at(&o, 0, 10, 100), 0.044, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 24, 100), 0.1, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 30, 100), 0.092000032, 1e-7);
    CHECK_NEAR(mn_lr_at(&o, 0, 50, 100), 0.065333472, 1e-7);
    /* exponential:0.7 is step:1:0.7 */
    o = (mn_train_opts){.lr = 1.0f, .schedule = MN_LR_STEP, .step_every = 1, .step_gamma = 0.7f};
    CHECK_NEAR(mn_lr_at(&o, 3, 300, 1000), 0.343, 1e-6);

    /* divergence: a huge learning rate ends with an error naming a layer */
    mn_dataset ds;
    make_data(&ds, 300, 6);
    mn_model m;
    mn_optim opt;
    mn_err e;
    mn_train_state st;
    setup(&m, &opt, 32);
    opt.lr = 1e3f;
    mn_train_opts to = {.epochs = 3, .batch_size = 32, .lr = 1e3f};
    mn_train_state_init(&st, 1);
    CHECK(mn_train(&m, &opt, &ds, &to, &st, NULL, NULL, &e) == -1);
    CHECK_MSG(strstr(e.msg, "diverged") && strstr(e.msg, "layer ") && strstr(e.msg, "(dense)"), "%s", e.msg);
    mn_model_free(&m), mn_optim_free(&opt);

    /* early stopping: when no epoch beats the best val_loss seen (here an
     * impossible -1), training stops after `patience` epochs and the best
     * weights (preloaded) come back */
    setup(&m, &opt, 32);
    float *best = calloc(mn_train_best_floats(&m), sizeof *best), *after1 = malloc(m.n_params * sizeof *after1);
    for (size_t i = 0; i < m.n_params; i++) after1[i] = (float)i;
    memcpy(best, after1, m.n_params * sizeof(float));
    watch w = {0};
    mn_train_opts t2 = {.epochs = 20, .batch_size = 32, .validation_split = 0.3f, .lr = 0.001f, .patience = 3, .best = best};
    mn_train_state s2;
    mn_train_state_init(&s2, 1);
    s2.best_val_loss = -1;
    CHECK(mn_train(&m, &opt, &ds, &t2, &s2, on_progress, &w, &e) == 0);
    CHECK_MSG(w.epochs_done == 3, "epochs_done %d", w.epochs_done);
    CHECK(memcmp(m.params, after1, m.n_params * sizeof(float)) == 0);
    /* and when val_loss improves, the best epoch's weights are kept */
    mn_model_init(&m, 9);
    mn_train_state_init(&s2, 1);
    t2.epochs = 4;
    CHECK(mn_train(&m, &opt, &ds, &t2, &s2, NULL, NULL, &e) == 0);
    CHECK(s2.best_epoch >= 1 && isfinite(s2.best_val_loss));
    free(best), free(after1);
    mn_model_free(&m), mn_optim_free(&opt);

    /* with BatchNorm, the best epoch's running statistics come back with its
     * weights (Keras's restore_best_weights), and ride in a checkpoint */
    mn_model_build(&m, "conv:4:3,batchnorm,relu,maxpool:2,dense:10", (mn_shape){1, 12, 12}, 10, &e);
    mn_model_alloc(&m, 32, &e);
    mn_optim_init(&opt, MN_ADAM, 0.001f, m.n_params, &e);
    mn_model_init(&m, 9);
    size_t nb = mn_train_best_floats(&m);
    CHECK(nb == m.n_params + m.n_state / 4 && m.n_state > 0);
    best = calloc(nb, sizeof *best);
    for (size_t i = 0; i < nb; i++) best[i] = (float)i;
    float *want = malloc(nb * sizeof *want);
    memcpy(want, best, nb * sizeof *want);
    mn_train_state_init(&s2, 1);
    s2.best_val_loss = -1;
    t2.epochs = 20, t2.best = best;
    CHECK(mn_train(&m, &opt, &ds, &t2, &s2, NULL, NULL, &e) == 0);
    CHECK(!memcmp(m.params, want, m.n_params * sizeof(float)) && !memcmp(m.state, want + m.n_params, m.n_state));
    char path[64];
    snprintf(path, sizeof path, "test_train_bn_%d.bin", (int)getpid());
    CHECK(mn_checkpoint_save(path, &m, &opt, &s2, best, NULL, NULL, 0, &e) == 0);
    memset(best, 0, nb * sizeof *best);
    mn_model c;
    mn_optim oc;
    CHECK(mn_model_load(&c, path, 32, &e) == 0);
    mn_optim_init(&oc, MN_ADAM, 0.001f, c.n_params, &e);
    CHECK(mn_checkpoint_load(path, &c, &oc, &s2, best, &e) == 0);
    CHECK(!memcmp(best, want, nb * sizeof *best) && !memcmp(c.state, m.state, m.n_state));
    remove(path);
    free(best), free(want);
    mn_model_free(&c), mn_optim_free(&oc);
    mn_model_free(&m), mn_optim_free(&opt);
    mn_dataset_free(&ds);
}

int main(void)
{
    test_backward_step();
    test_resume(0);
    test_resume(1);
    test_schedules_and_stops();
    test_no_allocation_in_step();
    test_learns_and_repeats();
    /* the same with one thread: bit-identical parameters */
    mn_dataset ds;
    make_data(&ds, 600, 3);
    watch w = {0};
    double acc;
    size_t n;
    float *a = train_once(&ds, "wide", MN_ADAM, 50, 0, &acc, &w, &n);
    mn_set_threads(1);
    float *b = train_once(&ds, "wide", MN_ADAM, 50, 0, &acc, &w, &n);
    mn_set_threads(0);
    CHECK(memcmp(a, b, n * sizeof(float)) == 0);
    free(a), free(b);
    mn_dataset_free(&ds);
    return test_summary("test_train");
}
