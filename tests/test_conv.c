/* test_conv.c - convolution and pooling: forward against direct (double)
 * definitions, numerical gradient checks, arch strings and presets, a
 * whole-model gradient check of a small convnet, thread-count invariance. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gradcheck.h"
#include "mnist/gemm.h"
#include "mnist/layer.h"
#include "mnist/model.h"
#include "mnist/safetensors.h"

/* The largest error seen, NaN sticky (a NaN error fails the check, where
 * fmax would drop it). Not fmax: GCC 12 for aarch64 (Debian 12.2) dies with
 * an internal compiler error (vect_transform_reduction) vectorising an
 * fmax reduction of doubles over float data at -O3; this form vectorises
 * there and checks at least as much. */
static inline double worse(double worst, double err) { return (err <= worst || worst != worst) ? worst : err; }

static mn_rng rng;

static void fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * mn_rng_uniform(&rng);
}

static float *alloc_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- convolution ---------------------------------------------------------- */

typedef struct {
    int B, C, H, W, OC, KH, KW, SH, SW, pt, pl, pb, pr;
} conv_cfg;

static mn_conv_geom geom(const conv_cfg *c)
{
    mn_conv_geom g = {c->C, c->H, c->W, c->OC, (c->H + c->pt + c->pb - c->KH) / c->SH + 1,
                      (c->W + c->pl + c->pr - c->KW) / c->SW + 1, c->KH, c->KW, c->SH, c->SW, c->pt, c->pl};
    return g;
}

/* Direct convolution in double: out[n][o][y][x] = b[o] + sum over c, ky, kx
 * of w[o][c][ky][kx] * in[n][c][y*SH + ky - pt][x*SW + kx - pl] (0 outside). */
static double direct(const conv_cfg *c, const mn_conv_geom *g, const float *in, const float *w, const float *b, int n,
                     int o, int y, int x)
{
    double s = b[o];
    for (int ci = 0; ci < c->C; ci++)
        for (int ky = 0; ky < c->KH; ky++)
            for (int kx = 0; kx < c->KW; kx++) {
                int iy = y * c->SH + ky - c->pt, ix = x * c->SW + kx - c->pl;
                if (iy < 0 || iy >= c->H || ix < 0 || ix >= c->W) continue;
                s += (double)w[((o * c->C + ci) * c->KH + ky) * c->KW + kx] *
                     in[((size_t)(n * c->C + ci) * c->H + iy) * c->W + ix];
            }
    (void)g;
    return s;
}

static void test_conv_forward(void)
{
    const conv_cfg cfgs[] = {
        {2, 1, 7, 7, 3, 3, 3, 1, 1, 0, 0, 0, 0},    /* valid, one channel */
        {3, 2, 9, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1},    /* stride 2, padding 1 */
        {2, 3, 6, 7, 2, 5, 5, 1, 1, 2, 2, 2, 2},    /* 'same' 5x5 */
        {2, 2, 7, 9, 3, 3, 5, 1, 2, 0, 2, 0, 2},    /* rectangular kernel, rectangular stride */
        {1, 2, 6, 6, 2, 2, 2, 1, 1, 0, 0, 1, 1},    /* 'same' with an even kernel: asymmetric */
        {3, 3, 11, 13, 5, 3, 3, 2, 3, 1, 0, 1, 0},  /* odd sizes, strides 2x3 */
        {2, 2, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0},    /* 1x1 */
        {2, 1, 4, 4, 2, 3, 3, 1, 1, 4, 4, 4, 4},    /* padding beyond the kernel: all-zero rows */
        {25, 8, 20, 19, 6, 3, 3, 1, 1, 1, 1, 1, 1}, /* several chunks of images */
        {5, 1, 12, 13, 40, 3, 3, 1, 1, 0, 0, 0, 0}, /* one channel (few taps), groups and a partial one */
        {6, 32, 7, 6, 37, 3, 3, 1, 1, 0, 1, 0, 1}, /* C*KH*KW = 288: two K blocks in the GEMM */
        {2, 2, 11, 12, 3, 3, 3, 2, 1, 0, 0, 0, 0},  /* valid, row stride 2: rows of 10 copied whole */
    };
    for (size_t t = 0; t < sizeof cfgs / sizeof *cfgs; t++) {
        const conv_cfg *c = &cfgs[t];
        mn_conv_geom g = geom(c);
        size_t nin = (size_t)c->B * c->C * c->H * c->W, nw = (size_t)c->OC * c->C * c->KH * c->KW,
               nout = (size_t)c->B * c->OC * g.oh * g.ow;
        float *in = alloc_floats(nin), *w = alloc_floats(nw), *b = alloc_floats((size_t)c->OC),
              *out = alloc_floats(nout), *scratch = alloc_floats(mn_conv_scratch_floats(&g, c->B));
        CHECK(mn_conv_scratch_floats(&g, c->B) <=
              (size_t)c->B * ((size_t)c->C * c->KH * c->KW + (size_t)c->OC) * (size_t)g.oh * g.ow +
                  (size_t)c->C * c->KH * c->KW + (size_t)c->B * g.oh * g.ow);
        fill(in, nin, -1, 1), fill(w, nw, -1, 1), fill(b, (size_t)c->OC, -1, 1);
        for (size_t i = 0; i < nout; i++) out[i] = NAN; /* every output must be written */
        mn_conv_forward(out, in, w, b, c->B, &g, scratch);
        double worst = 0;
        for (int n = 0; n < c->B; n++)
            for (int o = 0; o < c->OC; o++)
                for (int y = 0; y < g.oh; y++)
                    for (int x = 0; x < g.ow; x++) {
                        double want = direct(c, &g, in, w, b, n, o, y, x);
                        double got = out[(((size_t)n * c->OC + o) * g.oh + y) * g.ow + x];
                        double err = fabs(got - want);
                        if (!(err <= worst)) worst = err;
                    }
        CHECK_MSG(worst < 1e-4, "config %zu: forward off by %g", t, worst);
        free(in), free(w), free(b), free(out), free(scratch);
    }
}

/* gradient check of conv: loss = sum(out * r) */
static conv_cfg gc;
static mn_conv_geom gg;
static float *g_in, *g_w, *g_b, *g_out, *g_r, *g_scratch;

static double conv_loss(void *ctx)
{
    (void)ctx;
    mn_conv_forward(g_out, g_in, g_w, g_b, gc.B, &gg, g_scratch);
    size_t n = (size_t)gc.B * gc.OC * gg.oh * gg.ow;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g_out[i] * g_r[i];
    return s;
}

static void conv_gradcheck(const char *name, conv_cfg c)
{
    gc = c;
    gg = geom(&c);
    size_t nin = (size_t)c.B * c.C * c.H * c.W, nw = (size_t)c.OC * c.C * c.KH * c.KW,
           nout = (size_t)c.B * c.OC * gg.oh * gg.ow;
    g_in = alloc_floats(nin), g_w = alloc_floats(nw), g_b = alloc_floats((size_t)c.OC), g_out = alloc_floats(nout),
    g_r = alloc_floats(nout), g_scratch = alloc_floats(mn_conv_scratch_floats(&gg, c.B));
    float *din = alloc_floats(nin), *dw = alloc_floats(nw), *db = alloc_floats((size_t)c.OC);
    fill(g_in, nin, -1, 1), fill(g_w, nw, -1, 1), fill(g_b, (size_t)c.OC, -1, 1), fill(g_r, nout, -1, 1);
    /* stale values in the outputs must not leak in: backward overwrites */
    for (size_t i = 0; i < nin; i++) din[i] = 1e3f;
    for (size_t i = 0; i < nw; i++) dw[i] = -1e3f;
    mn_conv_backward(din, dw, db, g_r, g_in, g_w, c.B, &gg, g_scratch);
    char what[96];
    snprintf(what, sizeof what, "%s d_in", name);
    gradcheck(what, g_in, din, nin, conv_loss, NULL, 1e-2f);
    snprintf(what, sizeof what, "%s d_w", name);
    gradcheck(what, g_w, dw, nw, conv_loss, NULL, 1e-2f);
    snprintf(what, sizeof what, "%s d_b", name);
    gradcheck(what, g_b, db, (size_t)c.OC, conv_loss, NULL, 1e-2f);
    /* din NULL (the first layer): the parameter gradients again, by the
     * direct weight gradient where the geometry allows it (few taps, every
     * window inside), so summed in another order: checked on their own */
    float *dw2 = alloc_floats(nw), *db2 = alloc_floats((size_t)c.OC);
    for (size_t i = 0; i < nw; i++) dw2[i] = -1e3f;
    for (int i = 0; i < c.OC; i++) db2[i] = 1e3f;
    mn_conv_backward(NULL, dw2, db2, g_r, g_in, g_w, c.B, &gg, g_scratch);
    snprintf(what, sizeof what, "%s d_w (no d_in)", name);
    gradcheck(what, g_w, dw2, nw, conv_loss, NULL, 1e-2f);
    snprintf(what, sizeof what, "%s d_b (no d_in)", name);
    gradcheck(what, g_b, db2, (size_t)c.OC, conv_loss, NULL, 1e-2f);
    double worst = 0;
    for (size_t i = 0; i < nw; i++) worst = worse(worst, fabs(dw[i] - dw2[i]) / fmax(1.0, fabs(dw[i])));
    for (int i = 0; i < c.OC; i++) worst = worse(worst, fabs(db[i] - db2[i]) / fmax(1.0, fabs(db[i])));
    CHECK_MSG(worst < 1e-5, "%s: parameter gradients with and without d_in differ by %g", name, worst);
    free(g_in), free(g_w), free(g_b), free(g_out), free(g_r), free(g_scratch), free(din), free(dw), free(db);
    free(dw2), free(db2);
}

static void test_conv_gradients(void)
{
    conv_gradcheck("conv s2 p1 odd", (conv_cfg){2, 2, 7, 6, 3, 3, 2, 2, 2, 1, 1, 1, 1});
    conv_gradcheck("conv same even", (conv_cfg){2, 3, 5, 5, 2, 2, 4, 1, 1, 0, 1, 1, 2});
    conv_gradcheck("conv s2x3 asym", (conv_cfg){3, 2, 9, 10, 2, 3, 3, 2, 3, 2, 0, 1, 1});
    conv_gradcheck("conv 1 channel", (conv_cfg){6, 1, 8, 9, 5, 3, 3, 1, 1, 0, 0, 0, 0});
    conv_gradcheck("conv deep K", (conv_cfg){5, 30, 5, 6, 3, 3, 3, 1, 1, 1, 0, 1, 0});
    /* row stride 2 with unit column stride and padding, rows of 9 and 13
     * floats: the vector col2im's row selection and its lane masks */
    conv_gradcheck("conv s2x1 p1", (conv_cfg){2, 2, 9, 13, 3, 3, 4, 2, 1, 1, 2, 1, 1});
    /* no padding, 18 taps: the weight gradient gathers its columns from the input */
    conv_gradcheck("conv s2x1 valid", (conv_cfg){2, 2, 11, 12, 3, 3, 3, 2, 1, 0, 0, 0, 0});
    /* few taps, no padding, stride 1: without d_in the direct weight
     * gradient, with rows of 26 (cnn's first conv: whole vectors and a
     * partial one), 8 and 16 (whole vectors only) and 16 taps (two passes);
     * with row stride 2 the general path */
    conv_gradcheck("conv 28x28 3x3", (conv_cfg){3, 1, 28, 28, 4, 3, 3, 1, 1, 0, 0, 0, 0});
    conv_gradcheck("conv rows of 8", (conv_cfg){2, 2, 5, 10, 3, 2, 3, 1, 1, 0, 0, 0, 0});
    conv_gradcheck("conv rows of 16", (conv_cfg){2, 1, 6, 18, 3, 3, 3, 1, 1, 0, 0, 0, 0});
    conv_gradcheck("conv s2 1 channel", (conv_cfg){2, 1, 13, 12, 3, 3, 3, 2, 1, 0, 0, 0, 0});
    conv_gradcheck("conv 16 taps", (conv_cfg){2, 1, 9, 21, 3, 4, 4, 1, 1, 0, 0, 0, 0});
}

/* A batch big enough to be cut into several chunks of images gives what
 * the images give one at a time. */
static void test_conv_chunks(void)
{
    conv_cfg c = {25, 8, 20, 19, 6, 3, 3, 1, 1, 1, 1, 1, 1};
    mn_conv_geom g = geom(&c);
    size_t isz = (size_t)c.C * c.H * c.W, osz = (size_t)c.OC * g.oh * g.ow, nw = (size_t)c.OC * c.C * c.KH * c.KW;
    float *in = alloc_floats(c.B * isz), *w = alloc_floats(nw), *d = alloc_floats(c.B * osz),
          *din = alloc_floats(c.B * isz), *dw = alloc_floats(nw), *db = alloc_floats((size_t)c.OC),
          *din1 = alloc_floats(isz), *dw1 = alloc_floats(nw), *db1 = alloc_floats((size_t)c.OC),
          *s = alloc_floats(mn_conv_scratch_floats(&g, c.B));
    double *sw = calloc(nw, sizeof *sw), *sb = calloc((size_t)c.OC, sizeof *sb), worst = 0;
    fill(in, c.B * isz, -1, 1), fill(w, nw, -1, 1), fill(d, c.B * osz, -1, 1);
    mn_conv_backward(din, dw, db, d, in, w, c.B, &g, s);
    for (int n = 0; n < c.B; n++) {
        mn_conv_backward(din1, dw1, db1, d + n * osz, in + n * isz, w, 1, &g, s);
        for (size_t i = 0; i < isz; i++) worst = worse(worst, fabs(din1[i] - din[n * isz + i]));
        for (size_t i = 0; i < nw; i++) sw[i] += dw1[i];
        for (int i = 0; i < c.OC; i++) sb[i] += db1[i];
    }
    CHECK_MSG(worst < 1e-5, "chunked d_in off by %g", worst);
    worst = 0;
    for (size_t i = 0; i < nw; i++) worst = worse(worst, fabs(sw[i] - dw[i]));
    for (int i = 0; i < c.OC; i++) worst = worse(worst, fabs(sb[i] - db[i]));
    CHECK_MSG(worst < 1e-3, "chunked d_w / d_b off by %g", worst);
    free(in), free(w), free(d), free(din), free(dw), free(db), free(din1), free(dw1), free(db1), free(s), free(sw);
    free(sb);
}

/* ---- pooling ------------------------------------------------------------------ */

typedef struct {
    int B, C, H, W, KH, KW, SH, SW;
} pool_cfg;

static pool_cfg pc;
static int p_max;
static float *p_in, *p_out, *p_arg, *p_r;

static void pool_fwd(const pool_cfg *c, float *out, float *arg, const float *in)
{
    if (p_max)
        mn_maxpool_forward(out, arg, in, c->B, c->C, c->H, c->W, c->KH, c->KW, c->SH, c->SW);
    else
        mn_avgpool_forward(out, in, c->B, c->C, c->H, c->W, c->KH, c->KW, c->SH, c->SW);
}

static double pool_loss(void *ctx)
{
    (void)ctx;
    pool_fwd(&pc, p_out, p_arg, p_in);
    size_t n = (size_t)pc.B * pc.C * ((pc.H - pc.KH) / pc.SH + 1) * ((pc.W - pc.KW) / pc.SW + 1);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)p_out[i] * p_r[i];
    return s;
}

static void test_pool(const char *name, int is_max, pool_cfg c)
{
    pc = c;
    p_max = is_max;
    int OH = (c.H - c.KH) / c.SH + 1, OW = (c.W - c.KW) / c.SW + 1;
    size_t nin = (size_t)c.B * c.C * c.H * c.W, nout = (size_t)c.B * c.C * OH * OW;
    p_in = alloc_floats(nin), p_out = alloc_floats(nout), p_arg = alloc_floats(nout), p_r = alloc_floats(nout);
    float *din = alloc_floats(nin);
    /* distinct values at least 0.01 apart: a finite difference of 1e-3
     * never changes which element is the maximum */
    for (size_t i = 0; i < nin; i++) p_in[i] = 0.01f * (float)i - 0.005f * (float)nin;
    for (size_t i = nin - 1; i > 0; i--) { /* shuffle */
        size_t j = (size_t)(mn_rng_uniform(&rng) * (float)(i + 1));
        if (j > i) j = i;
        float t = p_in[i];
        p_in[i] = p_in[j], p_in[j] = t;
    }
    fill(p_r, nout, -1, 1);
    pool_loss(NULL);
    /* forward against the definition */
    double worst = 0;
    for (int pl = 0; pl < c.B * c.C; pl++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
                double want = is_max ? -1e30 : 0;
                for (int ky = 0; ky < c.KH; ky++)
                    for (int kx = 0; kx < c.KW; kx++) {
                        double v = p_in[((size_t)pl * c.H + y * c.SH + ky) * c.W + x * c.SW + kx];
                        want = is_max ? (v > want ? v : want) : want + v / (c.KH * c.KW); /* not fmax: see worse() */
                    }
                worst = worse(worst, fabs(want - p_out[((size_t)pl * OH + y) * OW + x]));
            }
    CHECK_MSG(worst < 1e-5, "%s: forward off by %g", name, worst);
    for (size_t i = 0; i < nin; i++) din[i] = 1e3f;
    if (is_max)
        mn_maxpool_backward(din, p_r, p_arg, c.B, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW);
    else
        mn_avgpool_backward(din, p_r, c.B, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW);
    gradcheck(name, p_in, din, nin, pool_loss, NULL, 1e-3f);
    free(p_in), free(p_out), free(p_arg), free(p_r), free(din);
}

static void test_pools(void)
{
    for (int m = 0; m <= 1; m++) {
        const char *n = m ? "maxpool" : "avgpool";
        char name[64];
        snprintf(name, sizeof name, "%s 2 on 7x7", n);
        test_pool(name, m, (pool_cfg){2, 3, 7, 7, 2, 2, 2, 2});
        /* rows of 18 windows: whole vectors of windows and a partial one */
        snprintf(name, sizeof name, "%s 2 on 21x37", n);
        test_pool(name, m, (pool_cfg){1, 2, 21, 37, 2, 2, 2, 2});
        snprintf(name, sizeof name, "%s 3 s2 (overlapping)", n);
        test_pool(name, m, (pool_cfg){2, 2, 9, 8, 3, 3, 2, 2});
        snprintf(name, sizeof name, "%s 2 s3 (gaps)", n);
        test_pool(name, m, (pool_cfg){1, 2, 8, 7, 2, 2, 3, 3});
        snprintf(name, sizeof name, "%s 2x3 s1x2", n);
        test_pool(name, m, (pool_cfg){2, 1, 5, 9, 2, 3, 1, 2});
    }
    /* ties: the first maximum (row-major in the window) gets the gradient */
    float in[16] = {1, 1, 0, 0, 1, 1, 0, 0, 5, 2, 3, 3, 5, 5, 3, 3}, out[4], arg[4], d[4] = {1, 2, 3, 4}, din[16];
    mn_maxpool_forward(out, arg, in, 1, 1, 4, 4, 2, 2, 2, 2);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == 5 && out[3] == 3);
    CHECK(arg[0] == 0 && arg[1] == 0 && arg[2] == 0 && arg[3] == 0);
    mn_maxpool_backward(din, d, arg, 1, 1, 4, 4, 2, 2, 2, 2);
    float want[16] = {1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    CHECK(memcmp(din, want, sizeof din) == 0);
}

/* ---- arch strings and presets ---------------------------------------------- */

static const mn_shape img = {1, 28, 28};

typedef struct {
    const char *name;
    int ndim, shape[4];
} tensor_want;

/* Saves m (initialised) and checks the file's tensors, in PyTorch's names. */
static void check_tensors(mn_model *m, const tensor_want *want, int n)
{
    char path[64];
    snprintf(path, sizeof path, "test_conv_%d.bin", (int)getpid());
    mn_err e;
    CHECK(mn_model_alloc(m, 2, &e) == 0);
    mn_model_init(m, 1);
    CHECK(mn_model_save(m, path, NULL, NULL, 0, &e) == 0);
    mn_safetensors st;
    memset(&st, 0, sizeof st);
    CHECK(mn_st_read(path, &st, &e) == 0);
    CHECK(st.n_tensors == n);
    for (int i = 0; i < n; i++) {
        const mn_st_tensor *t = mn_st_find(&st, want[i].name);
        int ok = t && t->ndim == want[i].ndim;
        for (int k = 0; ok && k < t->ndim; k++) ok = t->shape[k] == want[i].shape[k];
        CHECK_MSG(ok, "tensor %s missing or misshapen", want[i].name);
    }
    /* and it loads back */
    mn_model b;
    CHECK(mn_model_load(&b, path, 4, &e) == 0);
    CHECK(b.n_params == m->n_params && memcmp(b.params, m->params, m->n_params * sizeof(float)) == 0);
    CHECK(strcmp(b.arch, m->arch) == 0);
    mn_model_free(&b);
    mn_st_free(&st);
    mn_model_free(m);
    remove(path);
}

static void test_presets(void)
{
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "cnn", img, 10, &e) == 0);
    CHECK(m.n_params == 34826);
    CHECK(strcmp(m.name, "cnn") == 0);
    CHECK(strcmp(m.arch, "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dropout:0.5,dense:10") == 0);
    CHECK(m.n_layers == 9 && !strcmp(m.layers[0].kind->token, "conv") && !strcmp(m.layers[2].kind->token, "maxpool") &&
          !strcmp(m.layers[3].kind->token, "conv") && !strcmp(m.layers[6].kind->token, "flatten") &&
          !strcmp(m.layers[8].kind->token, "dense"));
    CHECK(m.layers[0].out.c == 32 && m.layers[0].out.h == 26 && m.layers[2].out.h == 13 && m.layers[3].out.h == 11 &&
          m.layers[5].out.h == 5 && m.layers[6].out.c == 1600);
    CHECK(m.layers[0].module == 0 && m.layers[3].module == 3 && m.layers[8].module == 8);
    tensor_want cnn[] = {{"0.weight", 4, {32, 1, 3, 3}}, {"0.bias", 1, {32}},  {"3.weight", 4, {64, 32, 3, 3}},
                         {"3.bias", 1, {64}},           {"8.weight", 2, {10, 1600}}, {"8.bias", 1, {10}}};
    check_tensors(&m, cnn, 6);

    CHECK(mn_model_build(&m, "lenet5", img, 10, &e) == 0);
    CHECK(m.n_params == 61706);
    CHECK(strcmp(m.name, "lenet5") == 0);
    CHECK(m.layers[0].out.c == 6 && m.layers[0].out.h == 28 && m.layers[0].out.w == 28 && m.layers[3].out.h == 10 &&
          m.layers[5].out.h == 5 && m.layers[6].out.c == 400);
    tensor_want lenet[] = {{"0.weight", 4, {6, 1, 5, 5}}, {"0.bias", 1, {6}},         {"3.weight", 4, {16, 6, 5, 5}},
                           {"3.bias", 1, {16}},          {"7.weight", 2, {120, 400}}, {"7.bias", 1, {120}},
                           {"9.weight", 2, {84, 120}},   {"9.bias", 1, {84}},         {"11.weight", 2, {10, 84}},
                           {"11.bias", 1, {10}}};
    check_tensors(&m, lenet, 10);

    /* He-uniform limits (fan_in = C*KH*KW) by default, Keras's Glorot-uniform
     * with 'glorot' (fan_out = OC*KH*KW); zero biases either way */
    const char *inits[] = {"cnn", "conv:32:3:glorot,relu,maxpool:2,conv:64:3:glorot,relu,maxpool:2,dense:10"};
    for (int gl = 0; gl < 2; gl++) {
        CHECK(mn_model_build(&m, inits[gl], img, 10, &e) == 0 && mn_model_alloc(&m, 1, &e) == 0);
        CHECK((strstr(m.arch, "glorot") != NULL) == gl);
        mn_model_init(&m, 5);
        for (int li = 0; li < 2; li++) {
            const mn_layer *l = &m.layers[li ? 3 : 0];
            int C = li ? 32 : 1, OC = li ? 64 : 32;
            size_t nw = (size_t)OC * C * 9;
            float lim = gl ? sqrtf(6.0f / (float)(C * 9 + OC * 9)) : sqrtf(6.0f / (float)(C * 9)), mx = 0;
            for (size_t i = 0; i < nw; i++) mx = fmaxf(mx, fabsf(m.params[l->param_off + i]));
            CHECK_MSG(mx <= lim && mx > 0.9f * lim, "%s layer %d: max |w| %g, limit %g", inits[gl], li, mx, lim);
            int zero = 1;
            for (int i = 0; i < OC; i++) zero &= m.params[l->param_off + nw + (size_t)i] == 0.0f;
            CHECK(zero);
        }
        mn_model_free(&m);
    }

    /* canonical strings: defaults dropped, the inserted flatten shown, and
     * the canonical string builds the same model */
    const char *pairs[][2] = {
        {"conv:16:3x5:s2:p1,relu,maxpool:3:s2,avgpool:2x1,dense:10",
         "conv:16:3x5:s2:p1,relu,maxpool:3:s2,avgpool:2x1,flatten,dense:10"},
        {"conv:4:3:valid:s1,maxpool:2:s2,dense:10", "conv:4:3,maxpool:2,flatten,dense:10"},
        {"conv:4:3:p0,avgpool:2:s1x2,dense:10", "conv:4:3,avgpool:2:s1x2,flatten,dense:10"},
        {"conv:4:3x3:same,conv:2:2:same:s1,dense:10", "conv:4:3:same,conv:2:2:same,flatten,dense:10"},
        {"conv:4:3:p2x1:s1x2,dense:10", "conv:4:3:s1x2:p2x1,flatten,dense:10"},
        {"conv:4:3:he,conv:2:3:glorot:p1,dense:10", "conv:4:3,conv:2:3:p1:glorot,flatten,dense:10"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        mn_model a, b;
        CHECK_MSG(mn_model_build(&a, pairs[i][0], img, 10, &e) == 0, "%s: %s", pairs[i][0], e.msg);
        CHECK_MSG(strcmp(a.arch, pairs[i][1]) == 0, "'%s' -> '%s'", pairs[i][0], a.arch);
        CHECK(mn_model_build(&b, a.arch, img, 10, &e) == 0 && b.n_params == a.n_params && b.n_layers == a.n_layers);
    }
    /* 'same' with an even kernel pads the extra row and column at the end */
    CHECK(mn_model_build(&m, "conv:3:2:same,dense:10", img, 10, &e) == 0);
    CHECK(m.layers[0].out.h == 28 && m.layers[0].out.w == 28);
    {
        /* the same model as PyTorch's explicit padding would give it: the
         * outputs of a 2x2 all-ones kernel on an all-ones image are 4
         * inside and 2 along the bottom row and right column, 1 in the
         * bottom-right corner, as when the zero row/column is at the end */
        mn_model s;
        mn_shape one = {1, 3, 3};
        CHECK(mn_model_build(&s, "conv:1:2:same,dense:2", one, 2, &e) == 0 && mn_model_alloc(&s, 1, &e) == 0);
        for (int i = 0; i < 4; i++) s.params[i] = 1.0f; /* weights; bias 0 */
        s.params[4] = 0.0f;
        for (int i = 0; i < 9; i++) s.input[i] = 1.0f;
        s.labels[0] = 0;
        mn_model_forward(&s, 1, 0, NULL);
        const float want[9] = {4, 4, 2, 4, 4, 2, 2, 2, 1};
        for (int i = 0; i < 9; i++) CHECK_MSG(s.act[0][i] == want[i], "same padding: output %d is %g", i, s.act[0][i]);
        mn_model_free(&s);
    }
}

static void test_bad_archs(void)
{
    const char *bad[] = {"conv,dense:10",          "conv:8,dense:10",        "conv:0:3,dense:10",
                         "conv:8:0,dense:10",      "conv:8:3x,dense:10",     "conv:8:x3,dense:10",
                         "conv:8:3x3x3,dense:10",  "conv:-8:3,dense:10",     "conv:8:3:s0,dense:10",
                         "conv:8:3:s2:same,dense:10", "conv:8:3:same:p1,dense:10", "conv:8:3:s1:s1,dense:10",
                         "conv:8:3:q1,dense:10",   "conv:8:3:,dense:10",     "conv:8:29,dense:10",
                         "conv:8:3:p-1,dense:10",  "conv:8: 3,dense:10",     "maxpool,dense:10",
                         "maxpool:0,dense:10",     "maxpool:29,dense:10",    "maxpool:2:same,dense:10",
                         "maxpool:2:p1,dense:10",  "avgpool:2:s,dense:10",   "dense:16,conv:4:3,dense:10",
                         "dense:16,maxpool:2,dense:10", "conv:8:3:s2x0,dense:10", "avgpool:2:s2:s2,dense:10",
                         "conv:8:3:he:glorot,dense:10", "conv:8:3:glorot:glorot,dense:10", "maxpool:2:he,dense:10",
                         "conv:8:3:hex,dense:10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mn_model m;
        mn_err e = {{0}};
        int rc = mn_model_build(&m, bad[i], img, 10, &e);
        CHECK_MSG(rc == -1 && e.msg[0] && !strchr(e.msg, '\n'), "arch '%s' accepted or bad message '%s'", bad[i],
                  e.msg);
    }
}

/* ---- a whole convnet through the model API ---------------------------------- */

static mn_model gm;
static int gB;

static double model_loss(void *ctx)
{
    (void)ctx;
    mn_rng save = gm.rng;
    double l = mn_model_forward(&gm, gB, 1, NULL) / gB;
    gm.rng = save;
    return l;
}

static void test_model_gradients(void)
{
    mn_err e;
    gB = 3;
    const char *arch = "conv:3:3:s2:p1,relu,maxpool:2:s1,conv:4:2:same,avgpool:2,conv:5:3x1:p1x0,dense:4";
    CHECK_MSG(mn_model_build(&gm, arch, (mn_shape){2, 9, 8}, 4, &e) == 0, "%s", e.msg);
    CHECK(mn_model_alloc(&gm, gB, &e) == 0);
    mn_model_init(&gm, 3);
    mn_rng r;
    mn_rng_seed(&r, 5);
    for (int i = 0; i < gB * 2 * 9 * 8; i++) gm.input[i] = mn_rng_uniform(&r) * 2 - 1;
    for (int i = 0; i < gB; i++) gm.labels[i] = i % 4;
    for (size_t i = 0; i < gm.n_params; i++) gm.params[i] += 0.2f * (mn_rng_uniform(&r) - 0.5f);
    mn_model_forward(&gm, gB, 1, NULL);
    mn_model_backward(&gm, gB);
    gradcheck("convnet params", gm.params, gm.grads, gm.n_params, model_loss, NULL, 1e-3f);
    mn_model_free(&gm);
}

/* The fused paths (conv+relu+maxpool, conv+relu, conv+maxpool, leftover
 * rows and columns the pooling drops) through the gradient check too. */
static void test_fused_gradients(void)
{
    /* the first with Glorot weights: at this seed He's larger ones put a
     * ReLU kink within h of the point for 3 of its 160 differences */
    const char *archs[] = {"conv:3:3:glorot,relu,maxpool:2,conv:4:2:glorot,relu,dense:3",
                           "conv:4:2:p1,maxpool:3,relu,dense:3"};
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        mn_err e;
        gB = 2;
        CHECK_MSG(mn_model_build(&gm, archs[a], (mn_shape){2, 9, 8}, 3, &e) == 0, "%s", e.msg);
        CHECK(mn_model_alloc(&gm, gB, &e) == 0);
        CHECK_MSG(gm.layers[0].n_fused >= 1, "%s: the first conv is not fused", archs[a]);
        mn_model_init(&gm, 4);
        mn_rng r;
        mn_rng_seed(&r, 6);
        for (int i = 0; i < gB * 2 * 9 * 8; i++) gm.input[i] = mn_rng_uniform(&r) * 2 - 1;
        for (int i = 0; i < gB; i++) gm.labels[i] = i % 3;
        for (size_t i = 0; i < gm.n_params; i++) gm.params[i] += 0.2f * (mn_rng_uniform(&r) - 0.5f);
        mn_model_forward(&gm, gB, 1, NULL);
        mn_model_backward(&gm, gB);
        gradcheck(archs[a], gm.params, gm.grads, gm.n_params, model_loss, NULL, 1e-3f);
        mn_model_free(&gm);
    }
}

/* Fused and layer-by-layer give the same bits: loss, probabilities and
 * every gradient, for the patterns that fuse and some that must not
 * (overlapping pooling, avgpool, a relu that is not after a conv). */
static void test_fusion_identical(void)
{
    /* cnn's first block (and the last three, on 11x20, 40x37 and 7x7 inputs:
     * odd conv rows, pooled rows of 9, 17 and 2) takes the direct conv+ReLU+pool
     * forward, the unfused model the GEMM */
    const char *archs[] = {"cnn",
                           "conv:32:3,relu,conv:64:3,relu,maxpool:2,dropout:0.25,flatten,dense:128,relu,dense:10",
                           "conv:6:5:same,relu,maxpool:3,conv:4:3,maxpool:2,dense:10",
                           "conv:5:3:s2,relu,maxpool:2:s1,conv:4:3,relu,avgpool:2,dense:10",
                           "conv:4:4,maxpool:5x2,relu,dense:10",
                           "conv:5:3,relu,maxpool:2,dense:10",
                           "conv:3:3,maxpool:2,relu,conv:2:3,relu,maxpool:2,dense:10",
                           "conv:3:3,relu,maxpool:2,dense:10",
                           "dense:37,relu,dropout:0.3,dense:16,sigmoid,dense:24,relu,dense:10,relu"};
    /* the 8th: pooled 2x2 planes, an image's output (12 floats) shorter than
     * two vectors; the last: dense layers that absorb their ReLU (37 and 24
     * units: partial vectors; the output layer's too) and one that must not */
    const mn_shape shapes[] = {img, img, img, img, img, {1, 11, 20}, {1, 40, 37}, {1, 7, 7}, img};
    const int B = 20;
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        mn_model m[2];
        mn_err e;
        double loss[2];
        const int isz = shapes[a].c * shapes[a].h * shapes[a].w;
        for (int k = 0; k < 2; k++) {
            CHECK_MSG(mn_model_build(&m[k], archs[a], shapes[a], 10, &e) == 0, "%s: %s", archs[a], e.msg);
            m[k].unfused = k;
            CHECK(mn_model_alloc(&m[k], B, &e) == 0);
            mn_model_init(&m[k], 21);
            mn_rng r;
            mn_rng_seed(&r, 22);
            /* centred inputs, so that ReLUs see both signs */
            for (int i = 0; i < B * isz; i++) m[k].input[i] = mn_rng_uniform(&r) - 0.4f;
            for (int i = 0; i < B; i++) m[k].labels[i] = i % 10;
            for (size_t i = 0; i < m[k].n_params; i++) m[k].params[i] += 0.1f * (mn_rng_uniform(&r) - 0.5f);
            loss[k] = mn_model_forward(&m[k], B, 1, NULL);
            mn_model_backward(&m[k], B);
        }
        int fused = 0;
        for (int i = 0; i < m[0].n_layers; i++) {
            fused += m[0].layers[i].n_fused;
            CHECK(m[1].layers[i].n_fused == 0 && !m[1].layers[i].absorbed);
        }
        CHECK_MSG(fused > 0, "%s: nothing fused", archs[a]);
        CHECK_MSG(loss[0] == loss[1] && memcmp(m[0].probs, m[1].probs, (size_t)B * 10 * sizeof(float)) == 0 &&
                      memcmp(m[0].grads, m[1].grads, m[0].n_params * sizeof(float)) == 0,
                  "%s: fused and unfused differ (loss %.9g vs %.9g)", archs[a], loss[0], loss[1]);
        mn_model_free(&m[0]);
        mn_model_free(&m[1]);
    }
    /* what fuses: conv+relu+maxpool (window = stride), not overlapping pools */
    mn_model m;
    mn_err e;
    CHECK(mn_model_build(&m, "conv:5:3:s2,relu,maxpool:2:s1,conv:4:3,relu,maxpool:2,dense:10", img, 10, &e) == 0);
    CHECK(mn_model_alloc(&m, 2, &e) == 0);
    CHECK(m.layers[0].n_fused == 1 && m.layers[1].absorbed && !m.layers[2].absorbed);
    CHECK(m.layers[3].n_fused == 2 && m.layers[4].absorbed && m.layers[5].absorbed && !m.layers[6].absorbed);
    mn_model_free(&m);
    /* a dense layer absorbs a ReLU right after it, nothing else */
    CHECK(mn_model_build(&m, "dense:8,relu,dense:8,sigmoid,relu,dense:10", img, 10, &e) == 0);
    CHECK(mn_model_alloc(&m, 2, &e) == 0);
    /* layer 0 is the inserted flatten */
    CHECK(m.layers[1].n_fused == 1 && m.layers[2].absorbed);
    CHECK(m.layers[3].n_fused == 0 && !m.layers[4].absorbed && !m.layers[5].absorbed && m.layers[6].n_fused == 0);
    mn_model_free(&m);
}

/* ---- thread-count invariance ---------------------------------------------------- */

static void run_model(const char *arch, int threads, float *grads, float *probs, int B)
{
    mn_model m;
    mn_err e;
    mn_set_threads(threads);
    CHECK(mn_model_build(&m, arch, img, 10, &e) == 0 && mn_model_alloc(&m, B, &e) == 0);
    mn_model_init(&m, 11);
    mn_rng r;
    mn_rng_seed(&r, 12);
    for (int i = 0; i < B * 784; i++) m.input[i] = mn_rng_uniform(&r);
    for (int i = 0; i < B; i++) m.labels[i] = i % 10;
    mn_model_forward(&m, B, 1, NULL);
    mn_model_backward(&m, B);
    memcpy(grads, m.grads, m.n_params * sizeof *grads);
    memcpy(probs, m.probs, (size_t)B * 10 * sizeof *probs);
    mn_model_free(&m);
}

static void test_threads(void)
{
    const char *archs[] = {"cnn", "lenet5", "conv:8:3:s2:p1,avgpool:3:s2,conv:16:3:p1,maxpool:2,dense:10"};
    const int B = 48;
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        mn_model m;
        mn_err e;
        CHECK(mn_model_build(&m, archs[a], img, 10, &e) == 0);
        float *g1 = alloc_floats(m.n_params), *g2 = alloc_floats(m.n_params), *p1 = alloc_floats(B * 10),
              *p2 = alloc_floats(B * 10);
        run_model(archs[a], 1, g1, p1, B);
        run_model(archs[a], 2, g2, p2, B);
        CHECK_MSG(memcmp(g1, g2, m.n_params * sizeof *g1) == 0 && memcmp(p1, p2, B * 10 * sizeof *p1) == 0,
                  "%s: 1 and 2 threads differ", archs[a]);
        free(g1), free(g2), free(p1), free(p2);
    }
    mn_set_threads(0);
    /* the plain conv functions too, input gradient included */
    conv_cfg c = {32, 8, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1};
    mn_conv_geom g = geom(&c);
    size_t nin = (size_t)c.B * c.C * c.H * c.W, nw = (size_t)c.OC * c.C * 9, nout = (size_t)c.B * c.OC * 400;
    float *in = alloc_floats(nin), *w = alloc_floats(nw), *b = alloc_floats(16), *d = alloc_floats(nout),
          *s = alloc_floats(mn_conv_scratch_floats(&g, c.B));
    fill(in, nin, -1, 1), fill(w, nw, -1, 1), fill(b, 16, -1, 1), fill(d, nout, -1, 1);
    float *res[2][4];
    for (int t = 0; t < 2; t++) {
        mn_set_threads(t + 1);
        res[t][0] = alloc_floats(nout), res[t][1] = alloc_floats(nin), res[t][2] = alloc_floats(nw),
        res[t][3] = alloc_floats(16);
        mn_conv_forward(res[t][0], in, w, b, c.B, &g, s);
        mn_conv_backward(res[t][1], res[t][2], res[t][3], d, in, w, c.B, &g, s);
    }
    CHECK(memcmp(res[0][0], res[1][0], nout * sizeof(float)) == 0);
    CHECK(memcmp(res[0][1], res[1][1], nin * sizeof(float)) == 0);
    CHECK(memcmp(res[0][2], res[1][2], nw * sizeof(float)) == 0);
    CHECK(memcmp(res[0][3], res[1][3], 16 * sizeof(float)) == 0);
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 4; k++) free(res[t][k]);
    free(in), free(w), free(b), free(d), free(s);
    mn_set_threads(0);
}

int main(void)
{
    mn_rng_seed(&rng, 2024);
    test_conv_forward();
    test_conv_gradients();
    test_conv_chunks();
    test_pools();
    test_presets();
    test_bad_archs();
    test_model_gradients();
    test_fused_gradients();
    test_fusion_identical();
    test_threads();
    return test_summary("test_conv");
}
