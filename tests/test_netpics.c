/* test_netpics.c - pictures of weights and features (netpics.h), terminal
 * tiles (term.h), blank images refused (mn_image_prepare).
 *
 * Models get hand-set weights, and the pictures are read back where the
 * documented layout puts each weight: positive green, negative red, zero
 * black, at the canvas and again after a PNG round trip through image.h's
 * reader (which gives luma). Tile counts, grid and canvas sizes follow the
 * layer shapes; which form a layer's weights take comes from their shapes
 * and whether only views stand before the layer. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/image.h"
#include "mnist/infer.h"
#include "mnist/model.h"
#include "mnist/netpics.h"
#include "mnist/png.h"
#include "mnist/term.h"
#include "test.h"

static uint32_t at(const mn_canvas *c, int x, int y)
{
    const uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static int built_as(mn_model *m, const char *arch, int unfused)
{
    mn_err e;
    if (mn_model_build(m, arch, (mn_shape){1, 28, 28}, 10, &e)) {
        fprintf(stderr, "%s: %s\n", arch, e.msg);
        return -1;
    }
    m->unfused = unfused;
    if (mn_model_alloc_for(m, 1, 0, &e)) {
        fprintf(stderr, "%s: %s\n", arch, e.msg);
        return -1;
    }
    memset(m->params, 0, m->n_params * sizeof(float));
    return 0;
}

static int built(mn_model *m, const char *arch) { return built_as(m, arch, 0); }

/* Top-left corner of weight (plane p, y, x) of tile t, as netpics.h says. */
static void weight_xy(const mn_weights_view *v, const mn_weights_layout *L, int t, int p, int y, int x, int *cx,
                      int *cy)
{
    *cx = L->x0 + (t % L->cols) * L->step_x + (p % L->plane_cols) * (v->wd * L->px + 2) + x * L->px;
    *cy = L->y0 + (t / L->cols) * L->step_y + (p / L->plane_cols) * (v->h * L->px + 2) + y * L->px;
}

static void test_diverging(void)
{
    CHECK(mn_diverging(0, 1) == 0);
    CHECK(mn_diverging(1, 1) == 0x00ff00);
    CHECK(mn_diverging(-1, 1) == 0xff0000);
    CHECK(mn_diverging(3, 1) == 0x00ff00);   /* clipped */
    CHECK(mn_diverging(-0.5f, 1) == 0x800000); /* 127.5 rounds to 128 */
    CHECK(mn_diverging(0.25f, 2) == 0x002000);
    CHECK(mn_diverging(NAN, 1) == 0);
    CHECK(mn_diverging(1, 0) == 0);
}

/* A dense layer fed by the image: one 28x28 tile per unit. */
static void test_dense_image(void)
{
    mn_model m;
    if (built(&m, "dense:5,relu,dense:10")) {
        CHECK(0);
        return;
    }
    mn_err e;
    CHECK(mn_weights_first(&m) == 1); /* layer 0 is the inserted flatten */
    mn_weights_view v;
    CHECK(mn_weights_find(&m, 0, &v, &e) == -1 && strstr(e.msg, "has no weights") && strstr(e.msg, "layer 1"));
    CHECK(mn_weights_find(&m, 2, &v, &e) == -1 && strstr(e.msg, "relu"));
    CHECK(mn_weights_find(&m, 5, &v, &e) == -1 && strstr(e.msg, "does not exist"));
    CHECK(mn_weights_find(&m, -1, &v, &e) == -1);
    CHECK(mn_weights_find(&m, 1, &v, &e) == 0);
    CHECK(v.form == MN_WEIGHTS_IMAGE && v.n == 5 && v.c == 1 && v.h == 28 && v.wd == 28);
    CHECK(!strcmp(v.name, "1.weight") && v.ndim == 2 && v.shape[0] == 5 && v.shape[1] == 784);
    float *w = m.params + m.layers[1].param_off; /* [5, 784] */
    w[0 * 784 + 0] = 2.0f;              /* unit 0, pixel (0, 0): the layer's maximum */
    w[0 * 784 + 1] = -2.0f;             /* unit 0, pixel (0, 1) */
    w[3 * 784 + 27 * 28 + 27] = 1.0f;   /* unit 3, pixel (27, 27): half the scale */
    w[4 * 784 + 10 * 28 + 3] = -0.5f;   /* unit 4, pixel (10, 3) */
    mn_weights_opts o = {0, 0};
    mn_canvas c;
    mn_weights_layout L;
    CHECK(mn_weights_canvas(&m, &v, &o, &c, &L, &e) == 0);
    /* 5 tiles: a 3-column grid of 2 rows; 28x28 at 3 px a weight */
    CHECK(L.cols == 3 && L.rows == 2 && L.px == 3 && L.tile_w == 84 && L.tile_h == 84);
    CHECK(c.w >= L.x0 + L.cols * L.step_x - 6 && c.h >= L.y0 + L.rows * L.step_y - 6 && c.channels == 3);
    int x, y;
    weight_xy(&v, &L, 0, 0, 0, 0, &x, &y);
    CHECK(at(&c, x, y) == 0x00ff00 && at(&c, x + 2, y + 2) == 0x00ff00);
    weight_xy(&v, &L, 0, 0, 0, 1, &x, &y);
    CHECK(at(&c, x, y) == 0xff0000);
    weight_xy(&v, &L, 0, 0, 5, 5, &x, &y);
    CHECK(at(&c, x, y) == 0x000000);
    weight_xy(&v, &L, 3, 0, 27, 27, &x, &y);
    CHECK(at(&c, x + 1, y + 1) == 0x008000);
    weight_xy(&v, &L, 4, 0, 10, 3, &x, &y);
    CHECK(at(&c, x, y) == 0x400000);
    /* the PNG file holds the same pixels (the reader gives luma) */
    uint8_t *png;
    size_t n;
    mn_image im;
    CHECK(mn_png_encode(c.w, c.h, 3, c.px, &png, &n, &e) == 0);
    CHECK(mn_image_decode(png, n, "w.png", &im, &e) == 0 && im.w == c.w && im.h == c.h);
    weight_xy(&v, &L, 0, 0, 0, 0, &x, &y);
    CHECK(im.px[(size_t)y * im.w + x] == 150);     /* green: 0.587 * 255 */
    CHECK(im.px[(size_t)y * im.w + x + 3] == 76);  /* red: 0.299 * 255 */
    CHECK(im.px[(size_t)y * im.w + x + 6] == 0);   /* zero */
    mn_image_free(&im);
    free(png);
    mn_canvas_free(&c);

    /* per-unit scale: unit 3's largest weight is full green, unit 4's full red */
    o.unit_scale = 1;
    o.cols = 5;
    CHECK(mn_weights_canvas(&m, &v, &o, &c, &L, &e) == 0);
    CHECK(L.cols == 5 && L.rows == 1);
    weight_xy(&v, &L, 3, 0, 27, 27, &x, &y);
    CHECK(at(&c, x, y) == 0x00ff00);
    weight_xy(&v, &L, 4, 0, 10, 3, &x, &y);
    CHECK(at(&c, x, y) == 0xff0000);
    mn_canvas_free(&c);

    /* the second dense layer is not fed by the image: a heat map [10, 5] */
    CHECK(mn_weights_find(&m, 3, &v, &e) == 0);
    CHECK(v.form == MN_WEIGHTS_MATRIX && v.n == 1 && v.h == 10 && v.wd == 5 && !strcmp(v.name, "3.weight"));
    w = m.params + m.layers[3].param_off;
    w[2 * 5 + 4] = -1.0f; /* unit 2, input 4 */
    w[9 * 5 + 0] = 0.5f;  /* unit 9, input 0 */
    o.unit_scale = 0;
    CHECK(mn_weights_canvas(&m, &v, &o, &c, &L, &e) == 0);
    CHECK(L.px == 16 && L.tile_w == 5 * 16 && L.tile_h == 10 * 16);
    weight_xy(&v, &L, 0, 0, 2, 4, &x, &y);
    CHECK(at(&c, x, y) == 0xff0000);
    weight_xy(&v, &L, 0, 0, 9, 0, &x, &y);
    CHECK(at(&c, x + 3, y + 3) == 0x008000);
    weight_xy(&v, &L, 0, 0, 0, 0, &x, &y);
    CHECK(at(&c, x + 3, y + 3) == 0);
    mn_canvas_free(&c);
    mn_model_free(&m);

    /* a layer before it that is not a view (dropout): a matrix, not tiles */
    CHECK(built(&m, "dropout:0.5,dense:10") == 0);
    CHECK(mn_weights_find(&m, 2, &v, &e) == 0 && v.form == MN_WEIGHTS_MATRIX && v.h == 10 && v.wd == 784);
    mn_model_free(&m);
}

/* Conv filters: [OC, C, KH, KW], one tile per filter, a plane per channel. */
static void test_conv(void)
{
    mn_model m;
    if (built(&m, "conv:4:3,relu,conv:3:3x2,flatten,dense:10")) {
        CHECK(0);
        return;
    }
    mn_err e;
    mn_weights_view v;
    CHECK(mn_weights_first(&m) == 0);
    CHECK(mn_weights_find(&m, 0, &v, &e) == 0 && v.form == MN_WEIGHTS_FILTERS && v.n == 4 && v.c == 1 && v.h == 3 &&
          v.wd == 3);
    float *w = m.params + m.layers[0].param_off; /* [4, 1, 3, 3] */
    w[1 * 9 + 2 * 3 + 1] = -0.25f;               /* filter 1, (2, 1) */
    w[3 * 9 + 0] = 0.5f;                         /* filter 3, (0, 0): the maximum */
    mn_weights_opts o = {0, 0};
    mn_canvas c;
    mn_weights_layout L;
    CHECK(mn_weights_canvas(&m, &v, &o, &c, &L, &e) == 0);
    CHECK(L.cols == 2 && L.rows == 2 && L.px == 16 && L.tile_w == 48);
    int x, y;
    weight_xy(&v, &L, 1, 0, 2, 1, &x, &y);
    CHECK(at(&c, x, y) == 0x800000);
    CHECK(at(&c, x + 15, y + 5) != 0x800000); /* the visible grid line between pixels */
    weight_xy(&v, &L, 3, 0, 0, 0, &x, &y);
    CHECK(at(&c, x + 7, y + 7) == 0x00ff00);
    mn_canvas_free(&c);

    CHECK(mn_weights_find(&m, 2, &v, &e) == 0 && v.form == MN_WEIGHTS_FILTERS && v.n == 3 && v.c == 4 && v.h == 3 &&
          v.wd == 2);
    w = m.params + m.layers[2].param_off; /* [3, 4, 3, 2] */
    w[((2 * 4 + 3) * 3 + 1) * 2 + 1] = 1.0f;  /* filter 2, channel 3, (1, 1) */
    w[((0 * 4 + 1) * 3 + 2) * 2 + 0] = -1.0f; /* filter 0, channel 1, (2, 0) */
    CHECK(mn_weights_canvas(&m, &v, &o, &c, &L, &e) == 0);
    CHECK(L.plane_cols == 2 && L.cols == 2 && L.rows == 2);
    CHECK(L.tile_w == 2 * 2 * L.px + 2 && L.tile_h == 2 * 3 * L.px + 2);
    weight_xy(&v, &L, 2, 3, 1, 1, &x, &y);
    CHECK(at(&c, x, y) == 0x00ff00);
    weight_xy(&v, &L, 0, 1, 2, 0, &x, &y);
    CHECK(at(&c, x, y) == 0xff0000);
    weight_xy(&v, &L, 0, 0, 2, 0, &x, &y);
    CHECK(at(&c, x, y) == 0);
    mn_canvas_free(&c);

    /* in a terminal, plain: a '+' run where the positive weight is, '-' for the negative */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f && mn_weights_print(f, &m, &v, &o, MN_TERM_PLAIN, 80, &e) == 0);
    fclose(f);
    CHECK(strstr(buf, "layer 2: conv_1 (Conv2D), 2.weight (3, 4, 3, 2), filters") == buf);
    CHECK(strstr(buf, "scale: -1 ") && strstr(buf, " +1\n"));
    CHECK(strstr(buf, "##") && strstr(buf, "%%"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK(f && mn_weights_print(f, &m, &v, &o, MN_TERM_24BIT, 80, &e) == 0);
    fclose(f);
    CHECK(strstr(buf, "\033[38;2;0;255;0;") || strstr(buf, ";48;2;0;255;0m"));
    free(buf);
    mn_model_free(&m);
}

/* Terminal tiles: rows as wide as fit, captions, half blocks. */
static void test_term(void)
{
    uint8_t px[4 * 3 * 3];
    for (int i = 0; i < 12; i++) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = (uint8_t)(i * 20);
    mn_term_tile t[3] = {{px, 4, 3, "a"}, {px, 4, 3, "bbbbbbbbbbb"}, {px, 4, 3, NULL}};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mn_term_tiles(f, t, 3, 18, 2, MN_TERM_PLAIN); /* 8 + 2 + 8 columns: two a row */
    fclose(f);
    /* row 1: captions, 3 pixel lines; blank; row 2 (no caption): 3 lines */
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    CHECK(lines == 4 + 1 + 3);
    CHECK(!strncmp(buf, "a         bbbbbbbb\n", 19));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    mn_term_tiles(f, t, 1, 80, 2, MN_TERM_256);
    fclose(f);
    /* 2 lines of half blocks (rows 0/1, then 2 over black): 8 blocks */
    int blocks = 0;
    for (const char *p = buf; (p = strstr(p, "\xe2\x96\x80")); p++) blocks++;
    CHECK(blocks == 8);
    CHECK(strstr(buf, "\033[38;5;16;48;5;") != NULL); /* pixel 0 black over pixel 4 */
    free(buf);
    CHECK(mn_term_grey256(0) == 16 && mn_term_grey256(255) == 231);
    CHECK(mn_term_rgb256(0x00ff00) == 16 + 6 * 5 && mn_term_rgb256(0xff0000) == 16 + 36 * 5);
}

/* One image through an unfused model: every layer's output drawn. */
static void test_features(void)
{
    const char *path = "test_netpics_model.bin";
    mn_model m;
    mn_err e;
    if (built(&m, "conv:3:3,relu,maxpool:2,flatten,dense:10")) {
        CHECK(0);
        return;
    }
    mn_model_init(&m, 5);
    CHECK(mn_model_save(&m, path, NULL, NULL, 0, &e) == 0);
    mn_model_free(&m);
    mn_model fused;
    CHECK(mn_model_open(&fused, path, 1, &e) == 0 && fused.layers[0].n_fused == 2);
    CHECK(mn_model_open_unfused(&m, path, 1, &e) == 0 && m.unfused && m.layers[0].n_fused == 0);
    uint8_t img[784] = {0};
    for (int y = 6; y < 22; y++) img[y * 28 + 13] = img[y * 28 + 14] = 255;
    float p1[10], p2[10];
    CHECK(mn_predict(&m, img, MN_PIXELS_U8, 1, p1, &e) == 0);
    CHECK(mn_predict(&fused, img, MN_PIXELS_U8, 1, p2, &e) == 0);
    CHECK(!memcmp(p1, p2, sizeof p1)); /* the same results, fused or not */
    mn_model_free(&fused);
    /* the ReLU's output is there: conv's output with negatives set to 0 */
    int same = 1;
    for (int i = 0; i < 3 * 26 * 26; i++) same &= m.act[1][i] == (m.act[0][i] > 0 ? m.act[0][i] : 0);
    CHECK(same);
    int pred = mn_features_predicted(&m);
    for (int c = 0; c < 10; c++) CHECK(p1[pred] >= p1[c]);
    mn_canvas c;
    CHECK(mn_features_canvas(&m, &c, &e) == 0);
    /* the input comes first, at 4 px a pixel under its caption */
    CHECK(at(&c, 10 + 13 * 4, 30 + 10 * 4) == 0xffffff && at(&c, 10 + 3 * 4, 30 + 10 * 4) == 0);
    int h1 = c.h;
    mn_canvas_free(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f && mn_features_print(f, &m, MN_TERM_PLAIN, 200, &e) == 0);
    fclose(f);
    CHECK(strstr(buf, "input (None, 1, 28, 28)\n") == buf);
    CHECK(strstr(buf, "\n0: conv (Conv2D) (None, 3, 26, 26)\n"));
    CHECK(strstr(buf, "\n1: relu (ReLU) (None, 3, 26, 26)\n"));
    CHECK(strstr(buf, "\n2: maxpool (MaxPooling2D) (None, 3, 13, 13)\n"));
    CHECK(!strstr(buf, "flatten")); /* MN_DRAW_NONE */
    CHECK(strstr(buf, "\n4: dense (Dense) (None, 10)\n"));
    char want[64];
    snprintf(want, sizeof want, "%3d ", pred);
    const char *pl = strstr(buf, "<- predicted");
    CHECK(pl && !strstr(pl + 1, "<- predicted"));
    const char *line = pl;
    while (line > buf && line[-1] != '\n') line--;
    CHECK(!strncmp(line, want, strlen(want)));
    free(buf);
    mn_model_free(&m);

    /* more channels, more rows of maps: a taller picture */
    CHECK(built_as(&m, "conv:40:3,relu,maxpool:2,flatten,dense:10", 1) == 0);
    mn_model_init(&m, 5);
    CHECK(mn_predict(&m, img, MN_PIXELS_U8, 1, p1, &e) == 0);
    CHECK(mn_features_canvas(&m, &c, &e) == 0 && c.h > h1);
    mn_canvas_free(&c);
    CHECK(mn_features_svg(&m, "test_netpics.svg", &e) == 0);
    f = fopen("test_netpics.svg", "r");
    char svg[1 << 16];
    size_t got = f ? fread(svg, 1, sizeof svg - 1, f) : 0;
    if (f) fclose(f);
    svg[got] = 0;
    int bars = 0, predicted = 0;
    for (const char *p = svg; (p = strstr(p, "<rect class=\"bar")); p++) bars++;
    for (const char *p = svg; (p = strstr(p, "class=\"bar predicted\"")); p++) predicted++;
    CHECK(bars == 10 + 10 && predicted == 1); /* the dense logits and the probabilities */
    CHECK(strstr(svg, "id=\"probabilities\"") && strstr(svg, "id=\"layer-4\"") && strstr(svg, "</svg>\n"));
    mn_model_free(&m);
    remove("test_netpics.svg");
    remove(path);
}

static void test_blank(void)
{
    uint8_t px[50 * 50];
    mn_image im = {50, 50, px};
    uint8_t out[784];
    mn_err e;
    memset(px, 255, sizeof px);
    CHECK(mn_image_prepare(&im, 0, out, &e) == -1 && strstr(e.msg, "no digit found"));
    CHECK(mn_image_prepare(&im, 1, out, &e) == -1 && strstr(e.msg, "no digit found"));
    memset(px, 128, sizeof px);
    CHECK(mn_image_prepare(&im, 0, out, &e) == -1 && strstr(e.msg, "no digit found"));
    memset(px, 0, sizeof px);
    CHECK(mn_image_prepare(&im, 0, out, &e) == -1);
    for (int y = 10; y < 40; y++) px[y * 50 + 25] = 255;
    CHECK(mn_image_prepare(&im, 0, out, &e) == 0);
    CHECK(mn_image_prepare(&im, 1, out, &e) == 0);
}

int main(void)
{
    test_diverging();
    test_dense_image();
    test_conv();
    test_term();
    test_features();
    test_blank();
    return test_summary("test_netpics");
}
