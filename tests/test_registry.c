/* test_registry.c - the contract every registered layer kind keeps.
 *
 * For each kind in the registry with an example token, inside a small model
 * (a 1x1 conv before it, so that its input gradient is needed, and a dense
 * layer after it; the example must fit a 2 x 6 x 6 input), fused and unfused:
 *   - the gradients of every parameter against central differences of the
 *     loss (through the kind's backward and its input gradient);
 *   - the canonical string: describe -> parse gives the same layers;
 *   - save -> load gives the same tensors, names and shapes;
 *   - the tensors are PyTorch's: "<module>.<suffix>", trainable ones
 *     tiling the parameters exactly, the others the state;
 *   - inference (mn_model_infer) gives the training forward's probabilities;
 *   - training steps give the same bits with 1 and 2 threads.
 * A new kind that registers passes through all of it with no edit here. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <stdlib.h>

#include "gradcheck.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "testutil.h"

#define NB 3 /* batch of the gradient check */

typedef struct {
    mn_model *m;
    mn_rng rng; /* the dropout stream at the start: each evaluation sees the same masks */
    int B;
} loss_ctx;

static double model_loss(void *ctx)
{
    loss_ctx *c = ctx;
    c->m->rng = c->rng;
    return mn_model_forward(c->m, c->B, 1, NULL) / c->B;
}

static void fill_input(mn_model *m, int B, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    size_t n = (size_t)B * mn_shape_size(m->input_shape);
    for (size_t i = 0; i < n; i++) m->input[i] = mn_rng_uniform(&r);
    for (int i = 0; i < B; i++) m->labels[i] = (int)(mn_rng_next(&r) % (uint64_t)m->n_classes);
}

/* Every parameter's gradient (through the kind's input gradient too, since
 * a conv comes first) against differences of the loss; kinks tolerated. */
static void check_gradients(const char *arch, int unfused)
{
    mn_model m;
    mn_err e;
    mn_shape in = {2, 6, 6};
    CHECK_MSG(mn_model_build(&m, arch, in, 3, &e) == 0, "%s: %s", arch, e.msg);
    m.unfused = unfused;
    CHECK(mn_model_alloc(&m, NB, &e) == 0);
    mn_model_init(&m, 7);
    fill_input(&m, NB, 11);
    loss_ctx c = {&m, m.rng, NB};
    model_loss(&c);
    c.m->rng = c.rng;
    mn_model_forward(&m, NB, 1, NULL);
    mn_model_backward(&m, NB);
    float *g = malloc(m.n_params * sizeof *g);
    memcpy(g, m.grads, m.n_params * sizeof *g);
    char what[160];
    snprintf(what, sizeof what, "%s (%s) parameters", arch, unfused ? "unfused" : "fused");
    gradcheck_kinks(what, m.params, g, m.n_params, model_loss, &c, 1e-3f);
    free(g);
    mn_model_free(&m);
}

/* Same kinds, same settings, layer by layer. */
static int same_layers(const mn_model *a, const mn_model *b)
{
    if (a->n_layers != b->n_layers || a->n_params != b->n_params || a->n_state != b->n_state) return 0;
    for (int i = 0; i < a->n_layers; i++)
        if (a->layers[i].kind != b->layers[i].kind || memcmp(&a->layers[i].conf, &b->layers[i].conf,
                                                             sizeof a->layers[i].conf))
            return 0;
    return 1;
}

static void check_strings_and_files(const char *arch, const mn_layer_kind *k, const char *dir)
{
    mn_model m, again, loaded;
    mn_err e;
    mn_shape in = {2, 6, 6};
    CHECK(mn_model_build(&m, arch, in, 3, &e) == 0);
    CHECK_MSG(mn_model_build(&again, m.arch, in, 3, &e) == 0 && same_layers(&m, &again) &&
                  !strcmp(again.arch, m.arch),
              "%s: the canonical string '%s' does not rebuild the same model", arch, m.arch);
    CHECK(k->keras_name && *k->keras_name && k->torch_name && *k->torch_name && k->usage && *k->usage);

    /* PyTorch's names and a tiling of the buffers */
    CHECK(mn_model_alloc(&m, 2, &e) == 0);
    mn_model_init(&m, 3);
    for (int i = 0; i < m.n_layers; i++) {
        const mn_layer *l = &m.layers[i];
        int n = l->kind->tensors ? l->kind->tensors(l, NULL) : 0;
        CHECK_MSG(n >= 0 && n < 64, "%s: layer %d has %d tensors", arch, i, n);
        mn_tensor_desc d[64];
        if (n) l->kind->tensors(l, d);
        size_t params = 0, state = 0;
        for (int j = 0; j < n; j++) {
            size_t count = 1;
            CHECK(d[j].suffix && *d[j].suffix && d[j].ndim >= 0 && d[j].ndim <= 4);
            for (int a = 0; a < d[j].ndim; a++) count *= (size_t)d[j].shape[a];
            if (d[j].trainable) {
                CHECK_MSG(d[j].dtype == MN_ST_F32 && d[j].offset == params, "%s: layer %d tensor %s is not next",
                          arch, i, d[j].suffix);
                params += count;
            } else {
                size_t es = d[j].dtype == MN_ST_I64 ? 8 : 4;
                CHECK_MSG(d[j].offset % es == 0 && d[j].offset == state, "%s: layer %d state tensor %s", arch, i,
                          d[j].suffix);
                state += count * es;
            }
        }
        CHECK_MSG(params == l->n_params && state == l->n_state, "%s: layer %d tensors cover %zu of %zu params, %zu of %zu state bytes",
                  arch, i, params, l->n_params, state, l->n_state);
    }

    /* save -> load: the same tensors (and state), the same model */
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", dir, k->token);
    for (size_t i = 0; i < m.n_state; i++) ((unsigned char *)m.state)[i] = (unsigned char)(i * 7 + 1);
    CHECK_MSG(mn_model_save(&m, path, NULL, NULL, 0, &e) == 0, "%s: %s", arch, e.msg);
    CHECK_MSG(mn_model_load(&loaded, path, 2, &e) == 0, "%s: %s", arch, e.msg);
    CHECK(same_layers(&m, &loaded) && !strcmp(m.arch, loaded.arch));
    CHECK(!memcmp(m.params, loaded.params, m.n_params * sizeof(float)));
    CHECK(!memcmp(m.state, loaded.state, m.n_state));
    for (int i = 0; i < loaded.file.n_tensors; i++) {
        const char *name = loaded.file.tensors[i].name, *dot = strchr(name, '.');
        CHECK_MSG(dot && dot > name && atoi(name) >= 0 && atoi(name) < m.n_layers, "tensor name '%s'", name);
    }

    /* inference = the training forward's probabilities */
    fill_input(&m, 2, 5);
    mn_model_forward(&m, 2, 0, NULL);
    float probs[2 * 3];
    memcpy(probs, m.probs, sizeof probs);
    mn_model_infer(&loaded, 2);
    memcpy(loaded.input, m.input, 2 * mn_shape_size(in) * sizeof(float));
    CHECK(!memcmp(mn_model_infer(&loaded, 2), probs, sizeof probs));
    mn_model_free(&loaded);
    mn_model_free(&m);
    unlink(path);
}

/* A few Adam steps on a larger input, with t threads: the parameters' bits. */
static float *train_steps(const char *arch, int threads)
{
    mn_model m;
    mn_optim o;
    mn_err e;
    mn_shape in = {2, 6, 6}; /* the examples' input, as in the other checks */
    enum { BT = 256 };       /* large enough for the GEMMs and loops to split */
    mn_set_threads(threads);
    if (mn_model_build(&m, arch, in, 3, &e) || mn_model_alloc(&m, BT, &e) ||
        mn_optim_init(&o, MN_ADAM, 0.01f, m.n_params, &e)) {
        CHECK_MSG(0, "%s: %s", arch, e.msg);
        return NULL;
    }
    mn_model_init(&m, 9);
    for (int s = 0; s < 3; s++) {
        fill_input(&m, BT, 100 + (uint64_t)s);
        mn_model_forward(&m, BT, 1, NULL);
        mn_model_backward_step(&m, BT, &o);
    }
    float *p = malloc(m.n_params * sizeof *p + m.n_state + 1);
    memcpy(p, m.params, m.n_params * sizeof *p);
    memcpy((char *)(p + m.n_params), m.state, m.n_state);
    mn_optim_free(&o);
    mn_model_free(&m);
    return p;
}

static void check_threads(const char *arch)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, arch, (mn_shape){2, 6, 6}, 3, &e) == 0);
    float *a = train_steps(arch, 1), *b = train_steps(arch, 2);
    CHECK_MSG(a && b && !memcmp(a, b, m.n_params * sizeof(float) + m.n_state), "%s: 1 and 2 threads differ", arch);
    free(a), free(b);
}

int main(void)
{
    char dir[256];
    make_tmpdir(dir, sizeof dir, "test_registry");
    int tried = 0;
    for (int i = 0; i < mn_n_layer_kinds; i++) {
        const mn_layer_kind *k = mn_layer_kinds[i];
        CHECK_MSG(mn_layer_kind_find(k->token, strlen(k->token)) == k, "%s: not found by its token", k->token);
        if (!k->example) continue; /* adds no layer (softmax) */
        char arch[256];
        snprintf(arch, sizeof arch, "conv:2:1,%s,dense:3", k->example);
        check_gradients(arch, 1);
        check_gradients(arch, 0);
        /* and followed by a ReLU, which some kinds absorb */
        snprintf(arch, sizeof arch, "conv:2:1,%s,relu,dense:3", k->example);
        check_gradients(arch, 0);
        snprintf(arch, sizeof arch, "%s,dense:3", k->example);
        check_strings_and_files(arch, k, dir);
        snprintf(arch, sizeof arch, "conv:2:1,%s,relu,dense:3", k->example);
        check_threads(arch);
        tried++;
    }
    CHECK(tried >= 8);
    rmdir(dir);
    return test_summary("test_registry");
}
