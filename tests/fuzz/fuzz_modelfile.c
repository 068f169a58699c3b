/* fuzz_modelfile.c - model files and checkpoints: mn_st_read, mn_model_load,
 * mn_checkpoint_load, on arbitrary files.
 *
 * The input is written to a temporary file. Invariants besides "no crash,
 * no leak": failures leave a zeroed result and a one-line message naming the
 * file; a safetensors file that reads has unique tensor names that
 * mn_st_find finds, shapes whose sizes tile the data buffer, and metadata
 * that mn_st_meta finds; a model that loads has tensors exactly its
 * architecture's (so writing it back and reading it again gives the same
 * parameters), and a small one runs forward to a probability distribution. */
#include "fuzz.h"

#include <math.h>

#include "mnist/gemm.h"
#include "mnist/model.h"
#include "mnist/safetensors.h"
#include "mnist/optim.h"
#include "mnist/train.h"

#define RUN_MAX_FLOATS ((size_t)1 << 22)

static char out_path[600];

static void remove_out(void) { remove(out_path); }

static void check_st(const mn_safetensors *st, const char *path)
{
    FZ_CHECK(st->n_tensors >= 0 && st->n_meta >= 0, "negative counts");
    for (int i = 0; i < st->n_tensors; i++) {
        const mn_st_tensor *t = &st->tensors[i];
        FZ_CHECK(t->ndim >= 0 && t->ndim <= MN_ST_MAX_DIMS, "%s: tensor %d has %d dims", path, i, t->ndim);
        FZ_CHECK(t->name[0] && memchr(t->name, 0, MN_ST_MAX_NAME), "%s: tensor %d name", path, i);
        FZ_CHECK(mn_st_find(st, t->name) == t, "%s: tensor '%s' is not unique or not found", path, t->name);
        uint64_t count = 1;
        for (int k = 0; k < t->ndim; k++) {
            FZ_CHECK(t->shape[k] >= 0, "negative dimension");
            count *= (uint64_t)t->shape[k];
        }
        FZ_CHECK(count == 0 || t->data != NULL, "%s: tensor '%s' without data", path, t->name);
        FZ_CHECK(((uintptr_t)t->data & 3) == 0, "%s: tensor '%s' data is not aligned", path, t->name);
        /* touch every element: ASan checks the data lies inside the buffer */
        volatile float acc = 0;
        for (uint64_t j = 0; j < count; j++) acc += t->data[j] * 0.0f;
        (void)acc;
    }
    for (int i = 0; i < st->n_meta; i++) {
        FZ_CHECK(st->meta_keys[i] && st->meta_vals[i], "NULL metadata");
        const char *v = mn_st_meta(st, st->meta_keys[i]);
        FZ_CHECK(v == st->meta_vals[i], "%s: metadata key '%s' is not unique or not found", path, st->meta_keys[i]);
    }
}

static size_t act_floats(const mn_model *m)
{
    return mn_model_floats_per_sample(m, 1);
}

static void check_model(mn_model *m, const char *path)
{
    const char *arch = mn_model_meta(m, "arch");
    FZ_CHECK(arch != NULL && m->params != NULL && m->max_batch == 1, "%s: loaded model lacks arch or buffers", path);
    for (size_t i = 0; i < m->n_params; i++) {
        volatile float x = m->params[i];
        (void)x;
    }

    /* round trip: save, load, same parameters and architecture */
    mn_err e;
    mn_model back;
    FZ_CHECK(mn_model_save(m, out_path, NULL, NULL, 0, &e) == 0, "cannot save a loaded model: %s", e.msg);
    FZ_CHECK(mn_model_load(&back, out_path, 1, &e) == 0, "saved model does not load: %s", e.msg);
    FZ_CHECK(strcmp(back.arch, m->arch) == 0 && back.n_params == m->n_params, "round trip changed '%s' to '%s'",
             m->arch, back.arch);
    FZ_CHECK(memcmp(back.params, m->params, m->n_params * sizeof(float)) == 0, "round trip changed the parameters");
    mn_model_free(&back);

    if (m->n_params > RUN_MAX_FLOATS || act_floats(m) > RUN_MAX_FLOATS) return;
    size_t in = mn_shape_size(m->input_shape);
    for (size_t i = 0; i < in; i++) m->input[i] = (float)(i % 7) / 7.0f;
    m->labels[0] = 0;
    int correct;
    mn_model_forward(m, 1, 0, &correct);
    int finite = 1;
    for (size_t i = 0; i < m->n_params; i++) finite &= isfinite(m->params[i]) != 0;
    if (finite) { /* garbage weights may overflow; sane ones give a distribution */
        double sum = 0;
        int ok = 1;
        for (int j = 0; j < m->n_classes; j++) ok &= isfinite(m->probs[j]) != 0, sum += m->probs[j];
        if (ok) FZ_CHECK(fabs(sum - 1) < 1e-3, "probabilities sum to %g", sum);
    }
}

static void try_checkpoint(mn_model *m, const char *path)
{
    const char *name = mn_model_meta(m, "optimizer");
    int kind = name ? mn_optim_kind_of(name) : MN_ADAM;
    if (kind < 0) kind = MN_ADAM;
    mn_optim o;
    mn_err e;
    mn_train_state st;
    memset(&o, 0, sizeof o);
    if (mn_optim_init(&o, (mn_optim_kind)kind, 0.001f, m->n_params, &e)) return;
    float *best = calloc(m->n_params ? m->n_params : 1, sizeof *best);
    FZ_CHECK(best != NULL, "out of memory");
    mn_train_state_init(&st, 1);
    if (mn_checkpoint_load(path, m, &o, &st, best, &e) == 0) {
        FZ_CHECK(o.step >= 0 && st.epoch >= 0 && st.step >= 0 && st.seen >= 0, "%s: negative state loaded", path);
    } else {
        fz_check_msg(e.msg, path);
    }
    free(best);
    mn_optim_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    const char *path = fz_tmp("model");
    if (!once) {
        once = 1;
        mn_set_threads(1);
        snprintf(out_path, sizeof out_path, "%s.out", path);
        atexit(remove_out);
    }
    fz_write(path, data, size);

    mn_safetensors st;
    mn_err e = {{0}};
    if (mn_st_read(path, &st, &e) == 0) {
        check_st(&st, path);
        mn_st_free(&st);
        mn_st_free(&st); /* idempotent */
    } else {
        FZ_CHECK(st.n_tensors == 0 && st.tensors == NULL && st.blob == NULL && st.n_meta == 0, "failed read left data");
        fz_check_msg(e.msg, path);
        fz_tmp_done();
        return 0; /* mn_model_load reads it with mn_st_read: it fails the same way */
    }

    mn_model m;
    if (mn_model_load(&m, path, 1, &e) == 0) {
        check_model(&m, path);
        if (mn_is_checkpoint(&m)) try_checkpoint(&m, path);
        mn_model_free(&m);
    } else {
        FZ_CHECK(m.params == NULL && m.file.blob == NULL, "failed load left data");
        fz_check_msg(e.msg, NULL);
    }
    remove(out_path);
    fz_tmp_done();
    return 0;
}
