/* fuzz_arch.c - the architecture-string parser (mn_model_build), and the
 * layers it builds.
 *
 * The input is an architecture string (bytes up to the first NUL), built for
 * three input shapes. A string that builds must give a consistent model
 * (positive shapes, contiguous parameters, the right number of outputs,
 * within the size limits), and its canonical form (m.arch, which model files
 * store) must build to the same model. A small enough model is then
 * allocated and run forward and backward on two samples: the loss must be
 * finite, the probabilities a distribution, and sample 1's result the same
 * whether it is evaluated alone or in a batch. */
#include "fuzz.h"

#include <math.h>

#include "mnist/gemm.h"
#include "mnist/model.h"

#define RUN_MAX_FLOATS ((size_t)1 << 22) /* run models up to 16 MB of parameters and activations */

static const struct {
    mn_shape in;
    int classes;
} shapes[] = {{{1, 28, 28}, 10}, {{3, 13, 17}, 10}, {{1, 5, 5}, 3}};

static FILE *sink;

static size_t act_floats(const mn_model *m)
{
    return mn_model_floats_per_sample(m, 1);
}

static void check_model(const mn_model *m, mn_shape in, int classes, const char *arch)
{
    FZ_CHECK(m->n_layers >= 1 && m->n_layers <= MN_MAX_LAYERS, "%d layers", m->n_layers);
    FZ_CHECK(m->n_classes == classes, "n_classes %d", m->n_classes);
    FZ_CHECK(m->n_params <= (size_t)1 << 28, "'%s' has %zu parameters", arch, m->n_params);
    FZ_CHECK(strlen(m->arch) < MN_ARCH_MAX && m->arch[0], "bad canonical arch");
    mn_shape s = in;
    size_t off = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        FZ_CHECK(l->in.c == s.c && l->in.h == s.h && l->in.w == s.w, "layer %d input shape is not the previous output", i);
        FZ_CHECK(l->out.c > 0 && l->out.h > 0 && l->out.w > 0, "'%s': layer %d has output %dx%dx%d", arch, i, l->out.c,
                 l->out.h, l->out.w);
        FZ_CHECK(l->param_off == off, "layer %d parameters are not contiguous", i);
        FZ_CHECK(l->kind != NULL && l->module == i, "layer %d: kind or module index", i);
        off += l->n_params;
        s = l->out;
    }
    FZ_CHECK(off == m->n_params, "parameter count %zu != sum of layers %zu", m->n_params, off);
    FZ_CHECK(s.c == classes && s.h == 1 && s.w == 1, "'%s' ends with %dx%dx%d", arch, s.c, s.h, s.w);
}

static void fill_input(float *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u + salt) % 256u) / 255.0f;
}

static void run_model(mn_model *m, const char *arch)
{
    mn_err e;
    if (mn_model_alloc(m, 2, &e)) {
        fz_check_msg(e.msg, NULL);
        return;
    }
    mn_model_init(m, 7);
    size_t in = mn_shape_size(m->input_shape);
    int C = m->n_classes, correct = -1;
    fill_input(m->input, 2 * in, 1);
    m->labels[0] = 0, m->labels[1] = C - 1;

    double loss = mn_model_forward(m, 2, 1, &correct);
    FZ_CHECK(isfinite(loss) && loss >= 0, "'%s': training loss %g", arch, loss);
    FZ_CHECK(correct >= 0 && correct <= 2, "correct = %d", correct);
    mn_model_backward(m, 2);
    for (size_t i = 0; i < m->n_params; i++) FZ_CHECK(isfinite(m->grads[i]), "'%s': gradient %zu is %g", arch, i, m->grads[i]);

    loss = mn_model_forward(m, 2, 0, &correct);
    FZ_CHECK(isfinite(loss), "'%s': inference loss %g", arch, loss);
    float p1[1024];
    double sum = 0;
    for (int j = 0; j < C; j++) {
        float p = m->probs[C + j];
        FZ_CHECK(p >= 0 && p <= 1, "probability %g", p);
        if (j < 1024) p1[j] = p;
        sum += p;
    }
    FZ_CHECK(fabs(sum - 1) < 1e-3, "'%s': probabilities sum to %g", arch, sum);

    /* sample 1 alone gives what it gave in the batch */
    memmove(m->input, m->input + in, in * sizeof(float));
    m->labels[0] = C - 1;
    mn_model_forward(m, 1, 0, NULL);
    for (int j = 0; j < C && j < 1024; j++)
        FZ_CHECK(fabsf(m->probs[j] - p1[j]) <= 1e-4f, "'%s': class %d: %g alone, %g in a batch", arch, j, m->probs[j],
                 p1[j]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        mn_set_threads(1);
        sink = tmpfile();
    }
    if (size > 4 * MN_ARCH_MAX) return 0; /* longer strings are refused by length alone */
    char *arch = malloc(size + 1);
    FZ_CHECK(arch != NULL, "out of memory");
    memcpy(arch, data, size);
    arch[size] = '\0';
    /* messages quote the string; with a line break in it they cannot be one line */
    int printable = 1;
    for (size_t i = 0; i < size && arch[i]; i++) printable &= arch[i] != '\n' && arch[i] != '\r';

    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        mn_model m, again;
        mn_err e = {{0}};
        if (mn_model_build(&m, arch, shapes[k].in, shapes[k].classes, &e)) {
            FZ_CHECK(m.params == NULL, "failed build allocated");
            if (printable) fz_check_msg(e.msg, NULL);
            mn_model_free(&m);
            continue;
        }
        check_model(&m, shapes[k].in, shapes[k].classes, arch);
        /* the canonical string is a fixed point */
        FZ_CHECK(mn_model_build(&again, m.arch, shapes[k].in, shapes[k].classes, &e) == 0,
                 "canonical '%s' of '%s' does not build: %s", m.arch, arch, e.msg);
        FZ_CHECK(strcmp(again.arch, m.arch) == 0, "canonical '%s' rebuilds as '%s'", m.arch, again.arch);
        FZ_CHECK(again.n_params == m.n_params && again.n_layers == m.n_layers, "canonical '%s' differs", m.arch);
        for (int i = 0; i < m.n_layers; i++)
            FZ_CHECK(again.layers[i].kind == m.layers[i].kind && again.layers[i].out.c == m.layers[i].out.c &&
                         again.layers[i].out.h == m.layers[i].out.h && again.layers[i].out.w == m.layers[i].out.w,
                     "canonical '%s': layer %d differs", m.arch, i);
        mn_model_free(&again);
        if (sink) {
            rewind(sink);
            mn_model_summary(&m, sink);
        }
        if (m.n_params <= RUN_MAX_FLOATS && act_floats(&m) * 2 <= RUN_MAX_FLOATS) run_model(&m, arch);
        mn_model_free(&m);
    }
    free(arch);
    return 0;
}
