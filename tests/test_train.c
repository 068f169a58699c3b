/* test_train.c - the training loop on a small in-memory data set: it learns,
 * it is deterministic, it keeps the last partial batch, it honours the
 * validation split, and a training step never touches the heap (malloc,
 * calloc, realloc and free are wrapped at link time and counted). */
#include <stdlib.h>
#include <string.h>

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
    ds->n = n, ds->rows = 12, ds->cols = 12, ds->n_classes = 10;
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
    mn_train_opts opt = {3, batch, split, 5};
    CHECK(mn_train(&m, &o, ds, &opt, on_progress, w, &e) == 0);
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
        for (int k = 0; k < 3; k++) {
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
                mn_model_backward(&m, B);
                mn_optim_step(&o, m.params, m.grads);
                if (step > 0) CHECK_MSG(allocs == before, "%s/%d: %ld allocations in step %d", archs[a], k, allocs - before, step);
            }
            mn_optim_free(&o);
            mn_model_free(&m);
        }
    }
    mn_dataset_free(&ds);
}

int main(void)
{
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
