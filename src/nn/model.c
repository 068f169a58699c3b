/* model.c - a sequential model: architecture strings, buffers, passes, files. */
#include "base/alloc64.h"
#include "mnist/model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/safetensors.h"

/* The presets; %d is the data's class count. A preset may carry its
 * training recipe: `mnist train` flags, used where the user gives none of
 * the kind (mn_preset_recipe). */
static const struct {
    const char *name, *arch, *recipe;
} presets[] = {
    {"mlp", "dense:128,relu,dropout:0.2,dense:%d", NULL},
    {"wide", "dense:512,relu,dense:%d", NULL},
    {"3b1b", "dense:16,sigmoid,dense:16,sigmoid,dense:%d", NULL},
    {"cnn", "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dropout:0.5,dense:%d", NULL},
    {"lenet5", "conv:6:5:same,relu,maxpool:2,conv:16:5,relu,maxpool:2,flatten,dense:120,relu,dense:84,relu,dense:%d",
     NULL},
    /* an LSTM over the 28 rows: PyTorch's mnist_rnn example (LSTM 64,
     * BatchNorm1d, dense 32) without its dropouts, which cost accuracy in 5
     * epochs, and with a one-cycle schedule. On a 10% validation split, 5
     * epochs: this 99.28%; no batchnorm, Adam 1e-3 98.13%; batchnorm, Adam
     * 1e-3 98.53%; lstm:128,dense:10 with this recipe 99.27% */
    {"rnn", "lstm:64,batchnorm,dense:32,relu,dense:%d", "--optimizer adam --lr 0.005 --lr-schedule onecycle --epochs 5"},
    {"vit", "patches:7:64,transformer:64:4:128,transformer:64:4:128,layernorm,mean,dense:%d",
     "--optimizer adam --lr 0.001 --lr-schedule cosine --epochs 10 --batch-size 64"},
    /* PyTorch's examples/mnist/main.py: its Net and its defaults */
    {"pytorch-example",
     "conv:32:3,relu,conv:64:3,relu,maxpool:2,dropout:0.25,flatten,dense:128,relu,dropout:0.5,dense:%d",
     "--optimizer adadelta --lr 1.0 --lr-schedule step:1:0.7 --epochs 14 --batch-size 64 --normalize 0.1307:0.3081"},
    /* the fastest recipe to 99% we found on two cores (README.md): BatchNorm
     * after the pooling, so that each conv still computes its ReLU and
     * pooling, on maps a quarter the size */
    {"speedrun",
     "conv:16:3,relu,maxpool:2,batchnorm,conv:32:3,relu,maxpool:2,batchnorm,flatten,dense:64,batchnorm,relu,dense:%d",
     "--optimizer adam --lr 0.01 --lr-schedule onecycle --epochs 3 --batch-size 128"},
};
#define N_PRESETS (sizeof presets / sizeof *presets)

/* The preset arch names (or the arch itself) in buf, for n_classes; the
 * preset's name, or "custom". */
static const char *expand(const char *arch, int n_classes, char *buf, size_t len)
{
    const char *name = "custom";
    snprintf(buf, len, "%s", arch);
    for (size_t i = 0; i < N_PRESETS; i++) {
        char full[MN_ARCH_MAX];
        snprintf(full, sizeof full, presets[i].arch, n_classes);
        if (strcmp(arch, presets[i].name) == 0) snprintf(buf, len, "%s", full);
        if (strcmp(arch, presets[i].name) == 0 || strcmp(arch, full) == 0) name = presets[i].name;
    }
    return name;
}

const char *mn_preset_name(int i) { return i >= 0 && (size_t)i < N_PRESETS ? presets[i].name : NULL; }

const char *mn_preset_recipe(const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(name, presets[i].name) == 0) return presets[i].recipe;
    return NULL;
}

/* What the first layer reads: the normalised copy of the input, if any. */
static float *first_input(const mn_model *m) { return m->norm ? m->norm : m->input; }

int mn_model_set_normalize(mn_model *m, float mean, float std, mn_err *e)
{
    if (!(std > 0.0f && std < 1e6f) || !(mean > -1e6f && mean < 1e6f))
        return mn_fail(e, "input normalisation mean %g, std %g: the std must be positive, both finite", (double)mean,
                       (double)std);
    m->input_mean = mean, m->input_std = std;
    return 0;
}

/* Appends a layer of kind k with input shape `in`; args as in the arch string. */
static int add_layer(mn_model *m, const mn_layer_kind *k, const char *args, mn_shape in, mn_err *e)
{
    if (m->n_layers == MN_MAX_LAYERS) return mn_fail(e, "architecture has more than %d layers", MN_MAX_LAYERS);
    mn_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->kind = k;
    l->in = in;
    l->module = m->n_layers;
    if (k->parse(l, args, e) || k->setup(l, e)) return -1;
    l->param_off = m->n_params;
    m->n_params += l->n_params;
    /* every layer's state starts 8-aligned, for I64 tensors */
    l->state_off = m->n_state;
    m->n_state += (l->n_state + 7) / 8 * 8;
    m->n_layers++;
    return 0;
}

int mn_model_build(mn_model *m, const char *arch, mn_shape input, int n_classes, mn_err *e)
{
    memset(m, 0, sizeof *m);
    if (strlen(arch) >= MN_ARCH_MAX) return mn_fail(e, "architecture string too long");
    char spec[MN_ARCH_MAX];
    snprintf(m->name, sizeof m->name, "%s", expand(arch, n_classes, spec, sizeof spec));
    /* Errors quote the string, and it may come from a model file: a newline
     * or an escape sequence in it would break the one-line error rule (and
     * could forge a second "mnist: ..." line), so only printable ASCII and
     * spaces are accepted. */
    for (const char *c = spec; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            return mn_fail(e, "architecture string has a non-printable byte 0x%02x at position %d",
                           (unsigned)(unsigned char)*c, (int)(c - spec));
    char buf[MN_ARCH_MAX];
    strcpy(buf, spec);

    mn_shape shape = input;
    int saw_softmax = 0;
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = '\0';
        while (isspace((unsigned char)*tok)) tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1])) *--end = '\0';
        if (!*tok) return mn_fail(e, "architecture '%s' has an empty layer (two commas?)", spec);
        if (saw_softmax) return mn_fail(e, "architecture '%s': softmax must be the last layer", spec);
        char *colon = strchr(tok, ':');
        size_t len = colon ? (size_t)(colon - tok) : strlen(tok);
        const mn_layer_kind *k = mn_layer_kind_find(tok, len);
        if (!k) {
            char known[512];
            mn_layer_kinds_usage(known, sizeof known);
            return mn_fail(e, "architecture '%s': unknown layer '%.*s' (known: %s)", spec, (int)len, tok, known);
        }
        if (k->flags & MN_KIND_SOFTMAX) {
            mn_layer probe = {.kind = k};
            if (k->parse(&probe, colon ? colon + 1 : NULL, e)) {
                char inner[sizeof e->msg];
                snprintf(inner, sizeof inner, "%s", e->msg);
                return mn_fail(e, "architecture '%s': %s", spec, inner);
            }
            saw_softmax = 1;
            continue;
        }
        const mn_layer_kind *pre = k->insert_before ? k->insert_before(shape) : NULL;
        if (pre) {
            if (add_layer(m, pre, NULL, shape, e)) return -1;
            shape = m->layers[m->n_layers - 1].out;
        }
        if (add_layer(m, k, colon ? colon + 1 : NULL, shape, e)) {
            char inner[sizeof e->msg];
            snprintf(inner, sizeof inner, "%s", e->msg);
            return mn_fail(e, "architecture '%s': %s", spec, inner);
        }
        shape = m->layers[m->n_layers - 1].out;
    }
    if (m->n_layers == 0) return mn_fail(e, "architecture '%s' has no layers", spec);
    if (n_classes < 0) return mn_fail(e, "class count %d is negative", n_classes);
    if (n_classes && (mn_shape_size(shape) != (size_t)n_classes || shape.h != 1 || shape.w != 1))
        return mn_fail(e, "architecture '%s' ends with %zu outputs; the data has %d classes (end with dense:%d)", spec,
                       mn_shape_size(shape), n_classes, n_classes);
    if (m->n_params > (size_t)1 << 28) return mn_fail(e, "architecture '%s' has too many parameters (%zu)", spec, m->n_params);
    if (m->n_state > (size_t)1 << 30) return mn_fail(e, "architecture '%s' has too much layer state (%zu bytes)", spec, m->n_state);
    m->input_shape = input;
    m->output_shape = shape;
    m->n_classes = n_classes;
    /* the canonical string: every layer, including inserted flattens */
    size_t used = 0;
    for (int i = 0; i < m->n_layers; i++) {
        char tok[64];
        m->layers[i].kind->describe(&m->layers[i], tok, sizeof tok);
        used += (size_t)snprintf(m->arch + used, sizeof m->arch - used, "%s%s", i ? "," : "", tok);
        if (used >= sizeof m->arch) return mn_fail(e, "architecture string too long");
    }
    return 0;
}

static size_t aux_of(const mn_layer *l) { return l->kind->aux_size ? l->kind->aux_size(l) : 0; }

/* Each kind may take over the work of layers after it (see layer.h's
 * fuse): a conv its ReLU and pooling, a dense layer its ReLU. */
static void fuse_layers(mn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) m->layers[i].n_fused = m->layers[i].absorbed = 0;
    for (int i = 0; i < m->n_layers; i++) {
        mn_layer *l = &m->layers[i];
        if (!l->kind->fuse) continue;
        int n = l->kind->fuse(l, m->n_layers - 1 - i);
        l->n_fused = n;
        for (int j = 1; j <= n; j++) l[j].absorbed = 1;
        i += n;
    }
}

size_t mn_model_floats_per_sample(const mn_model *m, int training)
{
    size_t total = mn_shape_size(m->input_shape);
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        total += (training ? 2 : 1) * mn_shape_size(l->out) + aux_of(l);
    }
    return total;
}

int mn_model_alloc(mn_model *m, int max_batch, mn_err *e) { return mn_model_alloc_for(m, max_batch, 1, e); }

int mn_model_alloc_for(mn_model *m, int max_batch, int training, mn_err *e)
{
    if (max_batch < 1) return mn_fail(e, "batch size must be at least 1");
    size_t in_size = mn_shape_size(m->input_shape), total = mn_model_floats_per_sample(m, training);
    if ((double)total * max_batch * sizeof(float) > 8e9)
        return mn_fail(e, "batch size %d needs more than 8 GB of activations", max_batch);
    size_t B = (size_t)max_batch;
    m->max_batch = max_batch;
    m->training = training;
    m->params = mn_zalloc64(m->n_params ? m->n_params : 1, sizeof(float));
    m->state = mn_zalloc64(m->n_state ? m->n_state : 1, 1);
    m->act = calloc((size_t)m->n_layers, sizeof(float *));
    m->input = mn_zalloc64(B * in_size, sizeof(float));
    if (m->input_std > 0.0f) m->norm = mn_zalloc64(B * in_size, sizeof(float));
    m->probs = mn_zalloc64(B * mn_shape_size(m->output_shape), sizeof(float));
    int ok = m->params && m->state && m->act && m->input && m->probs && (m->input_std <= 0.0f || m->norm);
    if (training) {
        /* inference (mn_model_open) needs no gradients and no labels */
        m->grads = mn_zalloc64(m->n_params ? m->n_params : 1, sizeof(float));
        m->dact = calloc((size_t)m->n_layers, sizeof(float *));
        m->labels = calloc(B, sizeof(int));
        m->dinput = mn_zalloc64(B * in_size, sizeof(float));
        ok = ok && m->grads && m->dact && m->labels && m->dinput;
    }
    for (int i = 0; ok && i < m->n_layers; i++) {
        mn_layer *l = &m->layers[i];
        size_t n = B * mn_shape_size(l->out), aux = B * aux_of(l);
        l->state = (unsigned char *)m->state + l->state_off;
        if (l->kind->flags & MN_KIND_VIEW) {
            /* NCHW memory is already flat: the output is the input, and the
             * gradient its output's, so flatten copies nothing. mlp's copied
             * 100 KB per step into lines the other core had just read (both
             * pack X from them): 12-14% of a 2-thread step, A/B in one
             * process (1 thread: 2%) */
            m->act[i] = i ? m->act[i - 1] : first_input(m);
            if (training) {
                m->dact[i] = i ? m->dact[i - 1] : m->dinput;
                ok = m->dact[i] != NULL;
            }
            continue;
        }
        m->act[i] = mn_zalloc64(n, sizeof(float));
        if (training) m->dact[i] = mn_zalloc64(n, sizeof(float));
        l->aux = aux ? mn_zalloc64(aux, sizeof(float)) : NULL;
        ok = m->act[i] && (!training || m->dact[i]) && (!aux || l->aux);
    }
    if (!ok) {
        mn_model_free(m);
        return mn_fail(e, "out of memory allocating the model for batch size %d", max_batch);
    }
    if (!m->unfused) fuse_layers(m);
    return 0;
}

void mn_model_init(mn_model *m, uint64_t seed)
{
    mn_rng init;
    mn_rng_seed(&init, seed);
    /* dropout draws from its own stream, so changing the architecture's
     * initialisation never shifts the masks and vice versa */
    mn_rng_seed(&m->rng, seed ^ 0xD50F0D50F0D50F0Dull);
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        if (l->kind->init) l->kind->init(l, m->params + l->param_off, &init);
    }
}

void mn_model_free(mn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        /* a view's buffers are its input's (mn_model_alloc) */
        if (m->act && m->act[i] != (i ? m->act[i - 1] : first_input(m))) mn_free64(m->act[i]);
        if (m->dact && m->dact[i] != (i ? m->dact[i - 1] : m->dinput)) mn_free64(m->dact[i]);
        mn_free64(m->layers[i].aux);
        m->layers[i].aux = NULL;
        m->layers[i].state = NULL;
    }
    free(m->act);
    free(m->dact);
    mn_free64(m->params);
    mn_free64(m->grads);
    mn_free64(m->state);
    mn_free64(m->input);
    mn_free64(m->norm);
    m->norm = NULL;
    mn_free64(m->dinput);
    mn_free64(m->probs);
    free(m->labels);
    m->act = m->dact = NULL;
    m->params = m->grads = m->input = m->dinput = m->probs = NULL;
    m->state = NULL;
    m->labels = NULL;
    mn_st_free(&m->file);
}

/* The layers on m->input[0..B); returns the logits. */
static const float *run_layers(mn_model *m, int B, int training)
{
    const float *in = m->input;
    if (m->norm) {
        size_t n = (size_t)B * mn_shape_size(m->input_shape);
        const float mean = m->input_mean, inv = 1.0f / m->input_std;
        for (size_t i = 0; i < n; i++) m->norm[i] = (m->input[i] - mean) * inv;
        in = m->norm;
    }
    for (int i = 0; i < m->n_layers; i += 1 + m->layers[i].n_fused) {
        mn_layer *l = &m->layers[i];
        float *out = m->act[i + l->n_fused];
        if (!(l->kind->flags & MN_KIND_VIEW)) l->kind->forward(l, out, in, m->params + l->param_off, B, training, &m->rng);
        in = out;
    }
    return in;
}

double mn_model_forward(mn_model *m, int B, int training, int *correct)
{
    const float *logits = run_layers(m, B, training);
    return mn_softmax_xent_forward(m->probs, logits, m->labels, B, m->n_classes, correct);
}

const float *mn_model_run(mn_model *m, int B, int training) { return run_layers(m, B, training); }

const float *mn_model_infer(mn_model *m, int B)
{
    mn_softmax_forward(m->probs, run_layers(m, B, 0), B, m->n_classes);
    return m->probs;
}

/* The backward pass from the gradient in m->dact[L - 1]; with o, also the
 * optimizer step of the parameters the layers update themselves (updated[i]
 * of layer i's, leading ones); with want_dinput, down to m->dinput. */
static void backward_layers(mn_model *m, int B, const mn_optim *o, size_t *updated, int want_dinput)
{
    int L = m->n_layers;
    /* Below the first layer with parameters, no gradient is needed: its input
     * gradient would only flow back into parameter-free layers (mlp's flatten)
     * and be dropped. Skipping it saves dense1's dX GEMM, a third of mlp's
     * and wide's multiply-adds. */
    int first = want_dinput ? -1 : L;
    for (int i = 0; i < L && first == L; i++)
        if (m->layers[i].n_params) first = i;
    for (int i = L - 1; i >= 0; i--) {
        mn_layer *l = &m->layers[i];
        updated[i] = 0;
        if (l->absorbed || (l->kind->flags & MN_KIND_VIEW)) continue; /* done by the layer before it / nothing to do */
        int last = i + l->n_fused;
        mn_backward_args a = {
            .B = B,
            .in = i ? m->act[i - 1] : first_input(m),
            .out = m->act[last],
            .dout = m->dact[last],
            .params = m->params + l->param_off,
            .din = i > first ? (i ? m->dact[i - 1] : m->dinput) : NULL,
            .dparams = m->grads + l->param_off,
            .dself = m->dact[i],
            .optim = o,
        };
        updated[i] = l->kind->backward(l, &a);
    }
}

static void loss_gradient(mn_model *m, int B)
{
    mn_softmax_xent_backward(m->dact[m->n_layers - 1], m->probs, m->labels, B, m->n_classes, 1.0f / (float)B);
}

void mn_model_backward(mn_model *m, int B)
{
    size_t updated[MN_MAX_LAYERS];
    loss_gradient(m, B);
    backward_layers(m, B, NULL, updated, 0);
}

void mn_model_backward_from(mn_model *m, int B, const float *dout, int want_dinput)
{
    size_t updated[MN_MAX_LAYERS];
    float *d = m->dact[m->n_layers - 1];
    if (dout != d) memcpy(d, dout, (size_t)B * mn_shape_size(m->output_shape) * sizeof *d);
    backward_layers(m, B, NULL, updated, want_dinput);
}

void mn_model_backward_step(mn_model *m, int B, mn_optim *o)
{
    size_t updated[MN_MAX_LAYERS];
    mn_optim_begin_step(o);
    loss_gradient(m, B);
    backward_layers(m, B, o, updated, 0);
    /* everything the layers did not update themselves */
    size_t done = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        if (!updated[i]) continue;
        mn_optim_update_all(o, m->params, m->grads, done, l->param_off);
        done = l->param_off + updated[i];
    }
    mn_optim_update_all(o, m->params, m->grads, done, m->n_params);
}

void mn_model_layer_label(const mn_model *m, int i, char *buf, size_t len)
{
    const mn_layer *l = &m->layers[i];
    int n = 0; /* Keras numbers the second dense layer dense_1 */
    for (int j = 0; j < i; j++) n += m->layers[j].kind == l->kind;
    if (n)
        snprintf(buf, len, "%s_%d (%s)", l->kind->token, n, l->kind->keras_name);
    else
        snprintf(buf, len, "%s (%s)", l->kind->token, l->kind->keras_name);
}

void mn_shape_str(mn_shape s, char *buf, size_t len)
{
    if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "(None, %d)", s.c);
    else
        snprintf(buf, len, "(None, %d, %d, %d)", s.c, s.h, s.w);
}

/* 101770 -> "101,770" */
static void thousands(size_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

static int n_tensors_of(const mn_layer *l) { return l->kind->tensors ? l->kind->tensors(l, NULL) : 0; }

/* Elements of layer l's non-trainable F32 tensors (Keras counts BatchNorm's
 * moving mean and variance as non-trainable parameters; PyTorch's int64
 * num_batches_tracked has no Keras counterpart and is not counted). */
static size_t non_trainable(const mn_layer *l)
{
    int n = n_tensors_of(l);
    if (!n) return 0;
    mn_tensor_desc d[n];
    l->kind->tensors(l, d);
    size_t total = 0;
    for (int j = 0; j < n; j++) {
        if (d[j].trainable || d[j].dtype != MN_ST_F32) continue;
        size_t c = 1;
        for (int k = 0; k < d[j].ndim; k++) c *= (size_t)d[j].shape[k];
        total += c;
    }
    return total;
}

void mn_model_summary(const mn_model *m, FILE *f)
{
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    fprintf(f, "Model: \"%s\"\n%s\n %-28s%-26sParam #\n%s\n", m->name, rule, "Layer (type)", "Output Shape", dbl);
    size_t fixed = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        char label[80], shape[48], count[32];
        mn_model_layer_label(m, i, label, sizeof label);
        mn_shape_str(l->out, shape, sizeof shape);
        size_t nt = non_trainable(l);
        fixed += nt;
        thousands(l->n_params + nt, count, sizeof count);
        int w = (int)strlen(label) < 28 ? 28 : (int)strlen(label) + 1; /* "convtranspose (Conv2DTranspose)" */
        fprintf(f, " %-*s%-26s%s\n", w, label, shape, count);
        if (i + 1 < m->n_layers) fprintf(f, "\n");
    }
    char total[32], trainable[32], other[32];
    thousands(m->n_params + fixed, total, sizeof total);
    thousands(m->n_params, trainable, sizeof trainable);
    thousands(fixed, other, sizeof other);
    fprintf(f, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n%s\n", dbl, total, trainable,
            other, rule);
}

/* The PyTorch state-dict entries of layer l, named "<module>.<suffix>"
 * (after "<prefix>." when prefix is not empty), pointing at the model's
 * buffers; returns how many. */
static int layer_tensors(const mn_model *m, const mn_layer *l, mn_st_tensor *t, const char *prefix)
{
    int n = n_tensors_of(l);
    if (!n) return 0;
    mn_tensor_desc d[n];
    l->kind->tensors(l, d);
    for (int j = 0; j < n; j++) {
        memset(&t[j], 0, sizeof t[j]);
        snprintf(t[j].name, sizeof t[j].name, "%s%s%d.%s", prefix, *prefix ? "." : "", l->module, d[j].suffix);
        t[j].ndim = d[j].ndim;
        t[j].dtype = d[j].dtype;
        for (int k = 0; k < d[j].ndim; k++) t[j].shape[k] = d[j].shape[k];
        if (d[j].trainable)
            t[j].data = m->params + l->param_off + d[j].offset;
        else
            t[j].raw = (unsigned char *)m->state + l->state_off + d[j].offset;
    }
    return n;
}

/* Every layer's tensors into t (count_tensors of them). */
static void layer_tensors_all(const mn_model *m, mn_st_tensor *t, const char *prefix)
{
    for (int i = 0, j = 0; i < m->n_layers; i++) j += layer_tensors(m, &m->layers[i], t + j, prefix);
}

static int count_tensors(const mn_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) n += n_tensors_of(&m->layers[i]);
    return n;
}

int mn_model_save(const mn_model *m, const char *path, const char *const *keys, const char *const *vals, int n_meta,
                  mn_err *e)
{
    return mn_model_save_ext(m, path, NULL, 0, keys, vals, n_meta, e);
}

/* Tensors a checkpoint adds to a model file. */
static int is_extra(const char *name) { return strncmp(name, "opt.", 4) == 0 || strncmp(name, "es.", 3) == 0; }

int mn_model_save_ext(const mn_model *m, const char *path, const mn_st_tensor *extra, int n_extra,
                      const char *const *keys, const char *const *vals, int n_meta, mn_err *e)
{
    const char *none = "";
    return mn_models_save(path, &m, &none, 1, extra, n_extra, keys, vals, n_meta, e);
}

/* "<prefix>.<key>", or key when prefix is empty */
static void meta_key(char *buf, size_t len, const char *prefix, const char *key)
{
    snprintf(buf, len, "%s%s%s", prefix, *prefix ? "." : "", key);
}

#define MODEL_META 5 /* arch, input_shape, classes (input_mean, input_std) of each model */

int mn_models_save(const char *path, const mn_model *const *models, const char *const *prefixes, int n_models,
                   const mn_st_tensor *extra, int n_extra, const char *const *keys, const char *const *vals,
                   int n_meta, mn_err *e)
{
    int nt = 0;
    for (int i = 0; i < n_models; i++) nt += count_tensors(models[i]);
    size_t nk = (size_t)n_meta + 1 + MODEL_META * (size_t)n_models;
    mn_st_tensor *t = calloc((size_t)(nt + n_extra + 1), sizeof *t);
    const char **k = calloc(nk, sizeof *k), **v = calloc(nk, sizeof *v);
    char(*text)[2][64] = calloc((size_t)n_models * MODEL_META + 1, sizeof *text);
    if (!t || !k || !v || !text) {
        free(t), free(k), free(v), free(text);
        return mn_fail(e, "%s: out of memory", path);
    }
    int nm = 0, j = 0;
    k[nm] = "format", v[nm++] = "pt";
    for (int i = 0; i < n_models; i++) {
        const mn_model *m = models[i];
        layer_tensors_all(m, t + j, prefixes[i]);
        j += count_tensors(m);
        char(*s5)[2][64] = text + MODEL_META * i;
        meta_key(s5[0][0], 64, prefixes[i], "arch");
        meta_key(s5[1][0], 64, prefixes[i], "input_shape");
        snprintf(s5[1][1], 64, "%d,%d,%d", m->input_shape.c, m->input_shape.h, m->input_shape.w);
        meta_key(s5[2][0], 64, prefixes[i], "classes");
        snprintf(s5[2][1], 64, "%d", m->n_classes);
        k[nm] = s5[0][0], v[nm++] = m->arch;
        k[nm] = s5[1][0], v[nm++] = s5[1][1];
        k[nm] = s5[2][0], v[nm++] = s5[2][1];
        if (m->input_std > 0.0f) {
            meta_key(s5[3][0], 64, prefixes[i], "input_mean");
            snprintf(s5[3][1], 64, "%.9g", (double)m->input_mean);
            meta_key(s5[4][0], 64, prefixes[i], "input_std");
            snprintf(s5[4][1], 64, "%.9g", (double)m->input_std);
            k[nm] = s5[3][0], v[nm++] = s5[3][1];
            k[nm] = s5[4][0], v[nm++] = s5[4][1];
        }
    }
    for (int i = 0; i < n_extra; i++) t[j++] = extra[i];
    for (int i = 0; i < n_meta; i++) k[nm] = keys[i], v[nm++] = vals[i];
    int rc = mn_st_write(path, t, nt + n_extra, k, v, nm, e);
    free(t), free(k), free(v), free(text);
    return rc;
}

int mn_model_load(mn_model *m, const char *path, int max_batch, mn_err *e)
{
    return mn_model_load_for(m, path, max_batch, 1, e);
}

int mn_model_open(mn_model *m, const char *path, int max_batch, mn_err *e)
{
    return mn_model_load_for(m, path, max_batch, 0, e);
}

static int load(mn_model *m, const char *path, const char *prefix, int max_batch, int training, int unfused,
                mn_err *e);

int mn_model_open_unfused(mn_model *m, const char *path, int max_batch, mn_err *e)
{
    return load(m, path, "", max_batch, 0, 1, e);
}

int mn_model_load_for(mn_model *m, const char *path, int max_batch, int training, mn_err *e)
{
    return mn_model_load_part(m, path, "", max_batch, training, e);
}

/* A tensor of the model named by prefix (all but a checkpoint's extras when
 * prefix is empty). */
static int in_part(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (!n) return !is_extra(name);
    return strncmp(name, prefix, n) == 0 && name[n] == '.';
}

int mn_model_load_part(mn_model *m, const char *path, const char *prefix, int max_batch, int training, mn_err *e)
{
    return load(m, path, prefix, max_batch, training, 0, e);
}

static int load(mn_model *m, const char *path, const char *prefix, int max_batch, int training, int unfused,
                mn_err *e)
{
    mn_safetensors st;
    memset(m, 0, sizeof *m);
    if (mn_st_read(path, &st, e)) return -1;
    char ka[80], ks[80], kc[80];
    meta_key(ka, sizeof ka, prefix, "arch");
    meta_key(ks, sizeof ks, prefix, "input_shape");
    meta_key(kc, sizeof kc, prefix, "classes");
    const char *arch = mn_st_meta(&st, ka), *shape = mn_st_meta(&st, ks), *classes = mn_st_meta(&st, kc);
    mn_shape in;
    int nc;
    if (!arch || !shape || !classes) {
        mn_st_free(&st);
        if (*prefix)
            return mn_fail(e, "%s: has no model '%s' (metadata lacks %s, %s or %s)", path, prefix, ka, ks, kc);
        return mn_fail(e, "%s: not an mnist model file (metadata lacks arch, input_shape or classes)", path);
    }
    if (sscanf(shape, "%d,%d,%d", &in.c, &in.h, &in.w) != 3 || in.c < 1 || in.h < 1 || in.w < 1 ||
        (double)in.c * in.h * in.w > 1e8 || sscanf(classes, "%d", &nc) != 1 || nc < 0 || nc == 1 || nc > 100000) {
        /* the message quotes the metadata: format it before freeing it */
        int rc = mn_fail(e, "%s: bad input_shape '%s' or classes '%s' in metadata", path, shape, classes);
        mn_st_free(&st);
        return rc;
    }
    if (mn_model_build(m, arch, in, nc, e)) {
        char inner[sizeof e->msg];
        snprintf(inner, sizeof inner, "%s", e->msg);
        mn_st_free(&st);
        return mn_fail(e, "%s: %s", path, inner);
    }
    char km[80], kd[80];
    meta_key(km, sizeof km, prefix, "input_mean");
    meta_key(kd, sizeof kd, prefix, "input_std");
    const char *mean = mn_st_meta(&st, km), *std = mn_st_meta(&st, kd);
    if (mean || std) {
        char *end1 = NULL, *end2 = NULL;
        double mu = mean ? strtod(mean, &end1) : 0, sd = std ? strtod(std, &end2) : 0;
        if (!mean || !std || *end1 || *end2 || end1 == mean || end2 == std ||
            mn_model_set_normalize(m, (float)mu, (float)sd, e)) {
            mn_st_free(&st);
            return mn_fail(e, "%s: bad input_mean or input_std in metadata", path);
        }
    }
    m->unfused = unfused;
    if (mn_model_alloc_for(m, max_batch, training, e)) {
        mn_st_free(&st);
        return -1;
    }
    int nt = count_tensors(m), have = 0;
    for (int i = 0; i < st.n_tensors; i++) have += in_part(st.tensors[i].name, prefix);
    if (nt != have) {
        mn_fail(e, "%s: has %d tensors, architecture '%s' needs %d", path, have, m->arch, nt);
        mn_st_free(&st);
        mn_model_free(m);
        return -1;
    }
    mn_st_tensor *want = calloc((size_t)nt + 1, sizeof *want);
    if (!want) {
        mn_st_free(&st);
        mn_model_free(m);
        return mn_fail(e, "%s: out of memory", path);
    }
    layer_tensors_all(m, want, prefix);
    for (int j = 0; j < nt; j++) {
        const mn_st_tensor *got = mn_st_find(&st, want[j].name);
        int same = got && got->ndim == want[j].ndim && got->dtype == want[j].dtype;
        for (int k = 0; same && k < got->ndim; k++) same = got->shape[k] == want[j].shape[k];
        if (!same) {
            int rc = mn_fail(e, "%s: tensor '%s' is %s for architecture '%s'", path, want[j].name,
                             !got ? "missing" : got->dtype != want[j].dtype ? "of the wrong dtype" : "the wrong shape",
                             m->arch);
            free(want);
            mn_st_free(&st);
            mn_model_free(m);
            return rc;
        }
        size_t count = 1;
        for (int k = 0; k < got->ndim; k++) count *= (size_t)got->shape[k];
        memcpy(want[j].raw, got->raw, count * (got->dtype == MN_ST_I64 ? 8 : 4));
    }
    free(want);
    m->file = st;
    return 0;
}

const char *mn_model_meta(const mn_model *m, const char *key) { return mn_st_meta(&m->file, key); }
