/* test_model.c - architecture strings, parameter counts, a whole-network
 * gradient check, initialisation, and model files (round trip, rejection). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gradcheck.h"
#include "mnist/model.h"
#include "mnist/safetensors.h"

static const mn_shape img = {1, 28, 28};

static void test_presets(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "mlp", img, 10, &e) == 0);
    CHECK(m.n_params == 101770);
    CHECK(m.n_layers == 5 && !strcmp(m.layers[0].kind->token, "flatten") && m.layers[1].module == 1 && m.layers[4].module == 4);
    CHECK(strcmp(m.arch, "flatten,dense:128,relu,dropout:0.2,dense:10") == 0);
    CHECK(strcmp(m.name, "mlp") == 0);
    CHECK(mn_model_build(&m, "wide", img, 10, &e) == 0 && m.n_params == 407050);
    CHECK(mn_model_build(&m, "3b1b", img, 10, &e) == 0 && m.n_params == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10);
    /* the canonical string builds the same model */
    CHECK(mn_model_build(&m, "flatten,dense:128,relu,dropout:0.2,dense:10", img, 10, &e) == 0 && m.n_params == 101770);
    CHECK(mn_model_build(&m, " dense:64 , relu,dense:10,softmax", img, 10, &e) == 0 && m.n_layers == 4);

    /* the summary is Keras's table */
    mn_model_build(&m, "mlp", img, 10, &e);
    char buf[4096] = {0};
    FILE *f = tmpfile();
    mn_model_summary(&m, f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    CHECK(strstr(buf, "Total params: 101,770") != NULL);
    CHECK(strstr(buf, "dense_1 (Dense)") != NULL && strstr(buf, "(None, 128)") != NULL);
}

static void test_bad_archs(void)
{
    const char *bad[] = {"",          "dense:0,dense:10", "dense:abc,dense:10", "dense:128",      "conv9,dense:10",
                         "dense:10,softmax,relu", "dropout:1,dense:10", "dropout:-0.1,dense:10", "relu:3,dense:10",
                         "dense:999999999,dense:10", "dense:10,,", "dense:64,dense:11",
                         /* below 1 as a double, 1.0f as the float it is stored as (found by fuzz_arch) */
                         "dropout:0.99999999999999992,dense:10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mn_model m;
        mn_err e = {{0}};
        int rc = mn_model_build(&m, bad[i], img, 10, &e);
        CHECK_MSG(rc == -1 && e.msg[0] && !strchr(e.msg, '\n'), "arch '%s' accepted or bad message '%s'", bad[i], e.msg);
    }
}

/* A dropout rate's canonical form reads back as the same float, however
 * many digits that takes. */
static void test_dropout_canonical(void)
{
    const char *in[][2] = {{"dropout:0.2,dense:10", "dropout:0.2,flatten,dense:10"},
                           {"dropout:0.9999999,dense:10", "dropout:0.9999999,flatten,dense:10"},
                           {"dropout:0.123456789,dense:10", "dropout:0.12345679,flatten,dense:10"},
                           {"dropout:0,dense:10", "dropout:0,flatten,dense:10"}};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        mn_model m, again;
        mn_err e;
        CHECK_MSG(mn_model_build(&m, in[i][0], img, 10, &e) == 0, "%s: %s", in[i][0], e.msg);
        CHECK_MSG(strcmp(m.arch, in[i][1]) == 0, "'%s' is canonically '%s'", in[i][0], m.arch);
        CHECK_MSG(mn_model_build(&again, m.arch, img, 10, &e) == 0 && !memcmp(&again.layers[0].conf, &m.layers[0].conf, sizeof m.layers[0].conf),
                  "'%s' does not rebuild to the same rate", m.arch);
    }
}

/* ---- whole-network gradient check through the parameter buffer ---- */
static mn_model gm;
static int gB;

static double model_loss(void *ctx)
{
    (void)ctx;
    mn_rng save = gm.rng; /* same dropout mask for every evaluation */
    double l = mn_model_forward(&gm, gB, 1, NULL) / gB;
    gm.rng = save;
    return l;
}

/* gm := arch on a 1 x h x w input with 3 classes and batch B, initialised
 * from init_seed, with random inputs and labels from r (and, if jitter,
 * nonzero biases). */
static void setup_gm(const char *arch, int h, int w, int B, uint64_t init_seed, mn_rng *r, int jitter)
{
    mn_err e;
    gB = B;
    CHECK(mn_model_build(&gm, arch, (mn_shape){1, h, w}, 3, &e) == 0);
    CHECK(mn_model_alloc(&gm, gB, &e) == 0);
    mn_model_init(&gm, init_seed);
    for (int i = 0; i < gB * h * w; i++) gm.input[i] = mn_rng_uniform(r) * 2 - 1;
    for (int i = 0; i < gB; i++) gm.labels[i] = i % 3;
    for (size_t i = 0; jitter && i < gm.n_params; i++) gm.params[i] += 0.1f * (mn_rng_uniform(r) - 0.5f);
}

/* One training pass's gradients into gm.grads (the dropout mask kept for
 * model_loss); `before` runs between the forward and the backward. */
static void gm_gradients(void (*before)(void))
{
    mn_rng save = gm.rng;
    mn_model_forward(&gm, gB, 1, NULL);
    if (before) before();
    mn_model_backward(&gm, gB);
    gm.rng = save;
}

static void test_model_gradients(void)
{
    mn_rng r;
    mn_rng_seed(&r, 5);
    setup_gm("dense:6,sigmoid,dense:5,relu,dropout:0.25,dense:3", 3, 3, 4, 3, &r, 1);
    model_loss(NULL);
    gm_gradients(NULL);
    gradcheck("model params", gm.params, gm.grads, gm.n_params, model_loss, NULL, 1e-3f);
    mn_model_free(&gm);
}

#define SENTINEL 12345.0f

static void fill_dact_sentinel(void)
{
    for (int l = 0; l < gm.n_layers; l++)
        for (size_t i = 0; i < (size_t)gB * mn_shape_size(gm.layers[l].out); i++) gm.dact[l][i] = SENTINEL;
}

/* Layers before the first one with parameters get no input gradient (mlp's
 * flatten would only drop it), the rest do, and the parameter gradients are
 * still right. */
static void test_backward_skips_free_prefix(void)
{
    mn_rng r;
    mn_rng_seed(&r, 11);
    setup_gm("flatten,dropout:0.5,dense:6,relu,dense:3", 3, 3, 3, 9, &r, 0);
    gm_gradients(fill_dact_sentinel);
    int untouched = 1, written = 0;
    for (int i = 0; i < gB * 9; i++) untouched &= gm.dact[0][i] == SENTINEL && gm.dact[1][i] == SENTINEL;
    for (int i = 0; i < gB * 6; i++) written |= gm.dact[2][i] != SENTINEL;
    CHECK_MSG(untouched, "flatten's and dropout's output gradients were computed");
    CHECK_MSG(written, "dense:6's output gradient was not computed");
    gradcheck("params after a parameter-free prefix", gm.params, gm.grads, gm.n_params, model_loss, NULL, 1e-3f);
    mn_model_free(&gm);

    /* a parameter-free layer between two dense layers still passes the gradient on */
    setup_gm("dense:4,relu,dropout:0.25,dense:3", 2, 3, 2, 4, &r, 1);
    gm_gradients(NULL);
    gradcheck("params through relu and dropout", gm.params, gm.grads, gm.n_params, model_loss, NULL, 1e-3f);
    mn_model_free(&gm);
}

static void test_init(void)
{
    mn_model a, b;
    mn_err e;
    mn_model_build(&a, "mlp", img, 10, &e), mn_model_alloc(&a, 8, &e), mn_model_init(&a, 42);
    mn_model_build(&b, "mlp", img, 10, &e), mn_model_alloc(&b, 8, &e), mn_model_init(&b, 42);
    CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0);
    /* Glorot-uniform limits, zero biases */
    float limit = sqrtf(6.0f / (784 + 128)), max = 0;
    for (size_t i = 0; i < 784 * 128; i++) max = fmaxf(max, fabsf(a.params[i]));
    CHECK(max <= limit && max > 0.9f * limit);
    int zero_bias = 1;
    for (size_t i = 784 * 128; i < 784 * 128 + 128; i++) zero_bias &= a.params[i] == 0.0f;
    CHECK(zero_bias);
    mn_model_init(&b, 43);
    CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) != 0);
    mn_model_free(&a);
    mn_model_free(&b);
}

static void test_files(void)
{
    char path[64], bad[64];
    snprintf(path, sizeof path, "test_model_%d.bin", (int)getpid());
    snprintf(bad, sizeof bad, "test_model_bad_%d.bin", (int)getpid());
    mn_model a, b;
    mn_err e;
    mn_model_build(&a, "mlp", img, 10, &e), mn_model_alloc(&a, 8, &e), mn_model_init(&a, 7);
    const char *k[] = {"epochs"}, *v[] = {"5"};
    CHECK(mn_model_save(&a, path, k, v, 1, &e) == 0);
    CHECK(mn_model_load(&b, path, 16, &e) == 0);
    CHECK(b.n_params == a.n_params && memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0);
    CHECK(strcmp(a.arch, b.arch) == 0);
    CHECK(mn_model_meta(&b, "epochs") && strcmp(mn_model_meta(&b, "epochs"), "5") == 0);
    CHECK(mn_model_meta(&b, "format") && strcmp(mn_model_meta(&b, "format"), "pt") == 0);

    /* PyTorch names and shapes */
    mn_safetensors st;
    CHECK(mn_st_read(path, &st, &e) == 0);
    const mn_st_tensor *w = mn_st_find(&st, "1.weight"), *bias = mn_st_find(&st, "4.bias");
    CHECK(w && w->ndim == 2 && w->shape[0] == 128 && w->shape[1] == 784);
    CHECK(bias && bias->ndim == 1 && bias->shape[0] == 10);
    CHECK(st.n_tensors == 4);

    /* a file whose tensors do not fit its architecture is refused, naming the file */
    mn_st_tensor t = st.tensors[0];
    t.shape[0] = 127;
    const char *mk[] = {"arch", "input_shape", "classes"}, *mv[] = {"mlp", "1,28,28", "10"};
    mn_st_tensor four[4] = {t, st.tensors[1], st.tensors[2], st.tensors[3]};
    CHECK(mn_st_write(bad, four, 4, mk, mv, 3, &e) == 0);
    mn_model c;
    CHECK(mn_model_load(&c, bad, 8, &e) == -1 && strstr(e.msg, bad) && strstr(e.msg, "shape"));
    /* missing tensor */
    CHECK(mn_st_write(bad, st.tensors, 3, mk, mv, 3, &e) == 0);
    CHECK(mn_model_load(&c, bad, 8, &e) == -1 && strstr(e.msg, bad));
    /* no architecture in the metadata */
    CHECK(mn_st_write(bad, st.tensors, 4, NULL, NULL, 0, &e) == 0);
    CHECK(mn_model_load(&c, bad, 8, &e) == -1 && strstr(e.msg, "arch"));
    /* an unknown architecture */
    const char *mv2[] = {"dense:10,warp", "1,28,28", "10"};
    CHECK(mn_st_write(bad, st.tensors, 4, mk, mv2, 3, &e) == 0);
    CHECK(mn_model_load(&c, bad, 8, &e) == -1 && strstr(e.msg, "warp"));
    /* not a file at all */
    CHECK(mn_model_load(&c, "no/such/model.bin", 8, &e) == -1 && strstr(e.msg, "no/such/model.bin"));

    mn_st_free(&st);
    mn_model_free(&a);
    mn_model_free(&b);
    remove(path);
    remove(bad);
}

/* A flatten shares its input's buffers (NCHW memory is already flat), at
 * the input and in the middle; freeing such a model frees each buffer once
 * (the sanitizer build would catch a double free). */
static void test_flatten_aliases(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "mlp", (mn_shape){1, 28, 28}, 10, &e) == 0 && mn_model_alloc(&m, 4, &e) == 0);
    CHECK(!strcmp(m.layers[0].kind->token, "flatten") && m.act[0] == m.input && m.dact[0] != NULL);
    mn_model_free(&m);
    CHECK(mn_model_build(&m, "conv:2:3,relu,dense:3", (mn_shape){1, 6, 6}, 3, &e) == 0 &&
          mn_model_alloc(&m, 4, &e) == 0);
    CHECK(!strcmp(m.layers[2].kind->token, "flatten") && m.act[2] == m.act[1] && m.dact[2] == m.dact[1]);
    mn_model_free(&m);
}

int main(void)
{
    test_presets();
    test_bad_archs();
    test_dropout_canonical();
    test_model_gradients();
    test_backward_skips_free_prefix();
    test_flatten_aliases();
    test_init();
    test_files();
    return test_summary("test_model");
}
