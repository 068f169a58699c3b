/* test_infer.c - the inference API (infer.h): mn_predict's probabilities are
 * the training-side forward's (mn_model_forward's m->probs) bit for bit, for
 * bytes and floats, in batches of any size; non-finite floats and bad
 * arguments are refused; a model opened with mn_model_open has no training
 * buffers; two models used from two POSIX threads at once give what each
 * gives alone. The model files are written here, into a temp directory. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mnist/image.h"
#include "mnist/infer.h"
#include "mnist/model.h"
#include "test.h"
#include "testutil.h"

static const mn_shape img = {1, 28, 28};
#define N 37 /* images: not a multiple of the batch sizes used */
#define PIX MN_MNIST_PIXELS

/* Two architectures: a dense one with dropout (inactive in inference) and a
 * conv one whose conv+relu+maxpool run fused. */
static const char *const archs[] = {
    "mlp",
    "conv:6:3,relu,maxpool:2,conv:8:3:same,relu,avgpool:2,flatten,dropout:0.3,dense:24,relu,dense:10",
};
#define N_ARCH 2

static char dir[256], paths[N_ARCH][300];
static uint8_t pix_u8[N * PIX];
static float pix_f32[N * PIX], pix_rand[N * PIX];
/* reference probabilities from the training-side forward */
static float ref_u8[N_ARCH][N * 10], ref_rand[N_ARCH][N * 10];

/* A model of arch with seeded weights and biases made non-zero (so every
 * parameter matters), saved to path. */
static void write_model(const char *arch, uint64_t seed, const char *path)
{
    mn_model m;
    mn_err e;
    if (mn_model_build(&m, arch, img, 10, &e) || mn_model_alloc(&m, 4, &e)) {
        fprintf(stderr, "%s: %s\n", arch, e.msg);
        exit(1);
    }
    mn_model_init(&m, seed);
    uint64_t s = seed;
    for (size_t i = 0; i < m.n_params; i++)
        m.params[i] += (float)((double)(splitmix64(&s) >> 11) / 9007199254740992.0 - 0.5) * 0.05f;
    CHECK(mn_model_save(&m, path, NULL, NULL, 0, &e) == 0);
    mn_model_free(&m);
}

/* The training-side path: a model loaded for training, m->input filled as
 * training does, mn_model_forward (not training), m->probs. */
static void forward_ref(const char *path, const float *x, float *out)
{
    mn_model m;
    mn_err e;
    if (mn_model_load(&m, path, N, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    CHECK(m.training && m.grads != NULL);
    memcpy(m.input, x, sizeof(float) * N * PIX);
    for (int i = 0; i < N; i++) m.labels[i] = i % 10;
    int correct;
    double loss = mn_model_forward(&m, N, 0, &correct);
    CHECK(isfinite(loss));
    memcpy(out, m.probs, sizeof(float) * N * 10);
    mn_model_free(&m);
}

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void test_open(void)
{
    for (int a = 0; a < N_ARCH; a++) {
        mn_model m, t;
        mn_err e;
        CHECK(mn_model_open(&m, paths[a], 8, &e) == 0);
        /* inference only: no gradients, no activation gradients, no labels */
        CHECK(m.training == 0);
        CHECK(m.grads == NULL);
        CHECK(m.dact == NULL);
        CHECK(m.labels == NULL);
        CHECK(m.params != NULL && m.input != NULL && m.probs != NULL && m.max_batch == 8);
        CHECK(m.n_classes == 10 && m.input_shape.c == 1 && m.input_shape.h == 28 && m.input_shape.w == 28);
        /* the same weights as a model loaded for training */
        CHECK(mn_model_load(&t, paths[a], 8, &e) == 0);
        CHECK(t.n_params == m.n_params && same_bits(t.params, m.params, m.n_params));
        mn_model_free(&t);
        mn_model_free(&m);
    }
    mn_model m;
    mn_err e;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.bin", dir);
    CHECK(mn_model_open(&m, missing, 8, &e) == -1 && strstr(e.msg, "none.bin") != NULL);
    CHECK(mn_model_open(&m, paths[0], 0, &e) == -1);
}

static void test_equal_to_forward(void)
{
    static const int batches[] = {1, 8, N, 64};
    for (int a = 0; a < N_ARCH; a++) {
        for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
            mn_model m;
            mn_err e;
            float p[N * 10];
            if (mn_model_open(&m, paths[a], batches[k], &e)) {
                CHECK_MSG(0, "%s", e.msg);
                continue;
            }
            memset(p, 0xFF, sizeof p);
            CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, N, p, &e) == 0);
            CHECK_MSG(same_bits(p, ref_u8[a], N * 10), "%s, u8, batch %d", archs[a], batches[k]);
            /* floats equal to bytes / 255 give the bytes' result */
            memset(p, 0xFF, sizeof p);
            CHECK(mn_predict(&m, pix_f32, MN_PIXELS_F32, N, p, &e) == 0);
            CHECK_MSG(same_bits(p, ref_u8[a], N * 10), "%s, f32, batch %d", archs[a], batches[k]);
            /* any other floats: the forward's result on them */
            memset(p, 0xFF, sizeof p);
            CHECK(mn_predict(&m, pix_rand, MN_PIXELS_F32, N, p, &e) == 0);
            CHECK_MSG(same_bits(p, ref_rand[a], N * 10), "%s, random f32, batch %d", archs[a], batches[k]);
            /* a prefix of the images: the same rows */
            CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, 5, p, &e) == 0);
            CHECK(same_bits(p, ref_u8[a], 5 * 10));
            mn_model_free(&m);
        }
        /* they are probabilities, and not all the same */
        int differ = 0;
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int c = 0; c < 10; c++) s += ref_u8[a][i * 10 + c];
            CHECK_NEAR(s, 1.0, 1e-5);
            differ += ref_u8[a][i * 10] != ref_u8[a][0];
        }
        CHECK(differ > 0);
    }
}

static void test_refusals(void)
{
    mn_model m;
    mn_err e;
    float p[N * 10], x[N * PIX];
    CHECK(mn_model_open(&m, paths[1], 8, &e) == 0);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int b = 0; b < 3; b++) {
        memcpy(x, pix_f32, sizeof x);
        x[20 * PIX + 300] = bad[b]; /* image 20, pixel 300: past the first batch */
        e.msg[0] = 0;
        CHECK(mn_predict(&m, x, MN_PIXELS_F32, N, p, &e) == -1);
        CHECK_MSG(strstr(e.msg, "image 20") && strstr(e.msg, "pixel 300") && strstr(e.msg, "finite"), "%s",
                  e.msg);
    }
    /* the same bytes as u8 are fine: only floats can be non-finite */
    CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, N, p, &e) == 0);
    CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, -1, p, &e) == -1 && strstr(e.msg, "negative"));
    CHECK(mn_predict(&m, pix_u8, (mn_pixels)7, N, p, &e) == -1 && strstr(e.msg, "pixel type"));
    /* no images: nothing to do, nothing written */
    memset(p, 0x5A, sizeof p);
    CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, 0, p, &e) == 0);
    CHECK(((uint8_t *)p)[0] == 0x5A);
    /* after a refusal the model still works */
    CHECK(mn_predict(&m, pix_u8, MN_PIXELS_U8, N, p, &e) == 0 && same_bits(p, ref_u8[1], N * 10));
    mn_model_free(&m);
}

/* ---- two models from two threads at once --------------------------------- */

#define ROUNDS 50

typedef struct {
    int arch;         /* which model file */
    pthread_barrier_t *start;
    int opened, calls_ok, mismatches;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    mn_model m;
    mn_err e;
    /* each thread opens its own model (open is part of what runs at once) */
    j->opened = mn_model_open(&m, paths[j->arch], 8, &e) == 0;
    pthread_barrier_wait(j->start);
    if (!j->opened) return NULL;
    float p[N * 10];
    for (int r = 0; r < ROUNDS; r++) {
        int u8 = r % 2 == 0;
        memset(p, 0xFF, sizeof p);
        if (mn_predict(&m, u8 ? (const void *)pix_u8 : (const void *)pix_rand, u8 ? MN_PIXELS_U8 : MN_PIXELS_F32, N,
                       p, &e) == 0)
            j->calls_ok++;
        j->mismatches += !same_bits(p, u8 ? ref_u8[j->arch] : ref_rand[j->arch], N * 10);
    }
    mn_model_free(&m);
    return NULL;
}

static void run_pair(int a0, int a1)
{
    pthread_barrier_t start;
    pthread_t t[2];
    job jobs[2] = {{a0, &start, 0, 0, 0}, {a1, &start, 0, 0, 0}};
    CHECK(pthread_barrier_init(&start, NULL, 2) == 0);
    int made[2];
    for (int i = 0; i < 2; i++) made[i] = pthread_create(&t[i], NULL, run_job, &jobs[i]) == 0;
    CHECK(made[0] && made[1]);
    if (!made[0] || !made[1]) exit(1); /* the other waits at the barrier forever */
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        CHECK(jobs[i].opened);
        CHECK_MSG(jobs[i].calls_ok == ROUNDS, "%s: %d of %d calls", archs[jobs[i].arch], jobs[i].calls_ok, ROUNDS);
        CHECK_MSG(jobs[i].mismatches == 0, "%s (with %s in the other thread): %d of %d results differ",
                  archs[jobs[i].arch], archs[jobs[1 - i].arch], jobs[i].mismatches, ROUNDS);
    }
}

static void test_threads(void)
{
    run_pair(0, 1); /* two different models */
    run_pair(1, 1); /* two models of the same file */
}

int main(void)
{
    make_tmpdir(dir, sizeof dir, "test_infer");
    uint64_t s = 17;
    for (int i = 0; i < N * PIX; i++) {
        uint64_t r = splitmix64(&s);
        /* mostly dark with light strokes, like digits, plus all 256 levels */
        pix_u8[i] = i < 256 ? (uint8_t)i : (r & 3) ? 0 : (uint8_t)(r >> 56);
        pix_rand[i] = (float)((double)(r >> 11) / 9007199254740992.0);
    }
    mn_image_to_float(pix_u8, N * PIX, pix_f32);
    for (int a = 0; a < N_ARCH; a++) {
        snprintf(paths[a], sizeof paths[a], "%s/model%d.bin", dir, a);
        write_model(archs[a], 100 + (uint64_t)a, paths[a]);
        forward_ref(paths[a], pix_f32, ref_u8[a]);
        forward_ref(paths[a], pix_rand, ref_rand[a]);
    }

    test_open();
    test_equal_to_forward();
    test_refusals();
    test_threads();

    for (int a = 0; a < N_ARCH; a++) unlink(paths[a]);
    rmdir(dir);
    return test_summary("test_infer");
}
