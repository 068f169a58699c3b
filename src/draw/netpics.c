/* netpics.c - pictures of weights and feature maps (see netpics.h). */
#include "mnist/netpics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/plot.h"

#define BG 0x505050u     /* around the tiles */
#define GRID 0x282828u   /* lines between enlarged pixels, gaps between planes */
#define TEXT 0xffffffu
#define DIM 0xb0b0b0u
#define M 10             /* margin */
#define TILE_GAP 6
#define PLANE_GAP 2

uint32_t mn_diverging(float v, float s)
{
    if (!(s > 0) || !isfinite(v) || !isfinite(s)) return 0;
    double t = v / s;
    if (t > 1) t = 1;
    if (t < -1) t = -1;
    unsigned k = (unsigned)lround(255.0 * fabs(t));
    return t > 0 ? k << 8 : k << 16;
}

/* ---- finding the weights ------------------------------------------------- */

static int pick_tensor(const mn_layer *l, mn_tensor_desc *out)
{
    int n = l->kind->tensors ? l->kind->tensors(l, NULL) : 0;
    if (n <= 0) return -1;
    mn_tensor_desc *d = malloc((size_t)n * sizeof *d);
    if (!d) return -1;
    l->kind->tensors(l, d);
    int pick = -1;
    for (int j = 0; j < n && pick < 0; j++)
        if (d[j].trainable && d[j].dtype == MN_ST_F32 && d[j].ndim >= 2 && !strcmp(d[j].suffix, "weight")) pick = j;
    for (int j = 0; j < n && pick < 0; j++)
        if (d[j].trainable && d[j].dtype == MN_ST_F32 && d[j].ndim >= 2) pick = j;
    if (pick >= 0) *out = d[pick];
    free(d);
    return pick < 0 ? -1 : 0;
}

int mn_weights_find(const mn_model *m, int layer, mn_weights_view *v, mn_err *e)
{
    memset(v, 0, sizeof *v);
    if (layer < 0 || layer >= m->n_layers)
        return mn_fail(e, "layer %d does not exist: the model has layers 0 to %d", layer, m->n_layers - 1);
    const mn_layer *l = &m->layers[layer];
    mn_tensor_desc d;
    char label[64];
    mn_model_layer_label(m, layer, label, sizeof label);
    if (pick_tensor(l, &d)) {
        int first = mn_weights_first(m);
        return mn_fail(e, "layer %d, %s, has no weights (%s%d)", layer, label,
                       first >= 0 ? "the first with weights is layer " : "no layer has any", first >= 0 ? first : 0);
    }
    v->layer = layer;
    v->ndim = d.ndim;
    for (int k = 0; k < d.ndim; k++) v->shape[k] = d.shape[k];
    snprintf(v->name, sizeof v->name, "%d.%s", l->module, d.suffix);
    v->w = m->params + l->param_off + d.offset;
    /* fed by the image: nothing but views before it */
    int image_fed = 1;
    for (int j = 0; j < layer; j++) image_fed &= (m->layers[j].kind->flags & MN_KIND_VIEW) != 0;
    mn_shape in = m->input_shape;
    if (d.ndim == 4) {
        v->form = MN_WEIGHTS_FILTERS;
        v->n = d.shape[0], v->c = d.shape[1], v->h = d.shape[2], v->wd = d.shape[3];
    } else if (d.ndim == 2 && image_fed && (size_t)d.shape[1] == mn_shape_size(in) && (in.h > 1 || in.w > 1)) {
        v->form = MN_WEIGHTS_IMAGE;
        v->n = d.shape[0], v->c = in.c, v->h = in.h, v->wd = in.w;
    } else {
        v->form = MN_WEIGHTS_MATRIX;
        int rest = 1;
        for (int k = 1; k < d.ndim; k++) rest *= d.shape[k];
        v->n = 1, v->c = 1, v->h = d.shape[0], v->wd = rest;
    }
    return 0;
}

int mn_weights_first(const mn_model *m)
{
    mn_tensor_desc d;
    for (int i = 0; i < m->n_layers; i++)
        if (!pick_tensor(&m->layers[i], &d)) return i;
    return -1;
}

static float max_abs(const float *w, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(w[i]) && fabsf(w[i]) > s) s = fabsf(w[i]);
    return s;
}

static void fmt_scale(char *buf, size_t len, float s)
{
    if (s >= 0.01f && s < 1000)
        snprintf(buf, len, "%.3g", (double)s);
    else
        snprintf(buf, len, "%.2e", (double)s);
}

/* ---- the weights on a canvas --------------------------------------------- */

static int div_up(int a, int b) { return (a + b - 1) / b; }

static void layout_weights(const mn_weights_view *v, const mn_weights_opts *o, mn_weights_layout *L)
{
    memset(L, 0, sizeof *L);
    if (v->form == MN_WEIGHTS_MATRIX) {
        int sx = 1200 / v->wd, sy = 600 / v->h, s = sx < sy ? sx : sy;
        L->px = s < 1 ? 1 : s > 16 ? 16 : s;
        L->plane_cols = 1, L->cols = 1, L->rows = 1;
        L->tile_w = v->wd * L->px, L->tile_h = v->h * L->px;
        return;
    }
    L->plane_cols = (int)ceil(sqrt((double)v->c));
    int plane_rows = div_up(v->c, L->plane_cols), side = v->h > v->wd ? v->h : v->wd;
    int px = 96 / (side * L->plane_cols);
    L->px = px < 2 ? 2 : px > 16 ? 16 : px;
    L->tile_w = L->plane_cols * v->wd * L->px + (L->plane_cols - 1) * PLANE_GAP;
    L->tile_h = plane_rows * v->h * L->px + (plane_rows - 1) * PLANE_GAP;
    L->cols = o->cols > 0 ? o->cols : (int)ceil(sqrt((double)v->n));
    if (L->cols > v->n) L->cols = v->n;
    L->rows = div_up(v->n, L->cols);
}

/* One plane of h x wd weights at (x, y), px a weight. */
static void draw_plane(mn_canvas *c, int x, int y, const float *w, int h, int wd, int px, float s)
{
    int grid = px >= 6;
    if (grid) mn_canvas_fill(c, x, y, wd * px, h * px, GRID);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < wd; j++)
            mn_canvas_fill(c, x + j * px, y + i * px, px - grid, px - grid, mn_diverging(w[(size_t)i * wd + j], s));
}

/* The colour bar: -s red ... black ... +s green, with its values. */
static int draw_colour_bar(mn_canvas *c, int x, int y, float s, int unit)
{
    const int W = 256, H = 12;
    char lo[32], hi[32];
    if (unit) {
        snprintf(lo, sizeof lo, "-MAX");
        snprintf(hi, sizeof hi, "+MAX");
    } else {
        char t[24];
        fmt_scale(t, sizeof t, s);
        snprintf(lo, sizeof lo, "-%s", t);
        snprintf(hi, sizeof hi, "+%s", t);
    }
    int bx = x + mn_text_width(lo, 2) + 8;
    mn_canvas_text(c, x, y, lo, 2, TEXT);
    for (int i = 0; i < W; i++) mn_canvas_fill(c, bx + i, y, 1, H, mn_diverging((float)(2 * i - (W - 1)), (float)(W - 1)));
    mn_canvas_text(c, bx + W / 2 - 2, y + H + 3, "0", 1, TEXT);
    int end = mn_canvas_text(c, bx + W + 8, y, hi, 2, TEXT);
    if (unit) end = mn_canvas_text(c, end + 10, y, "(MAX OF EACH TILE UNDER IT)", 1, DIM);
    return end;
}

static void weights_title(const mn_model *m, const mn_weights_view *v, char *buf, size_t len)
{
    char label[64], shape[64];
    mn_model_layer_label(m, v->layer, label, sizeof label);
    int o = snprintf(shape, sizeof shape, "(");
    for (int k = 0; k < v->ndim; k++) o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%d", k ? ", " : "", v->shape[k]);
    snprintf(shape + o, sizeof shape - (size_t)o, ")"); /* the font has no brackets */
    const char *what = v->form == MN_WEIGHTS_FILTERS ? "filters" : v->form == MN_WEIGHTS_IMAGE ? "units" : "matrix";
    snprintf(buf, len, "layer %d: %s, %s %s, %s", v->layer, label, v->name, shape, what);
}

int mn_weights_canvas(const mn_model *m, const mn_weights_view *v, const mn_weights_opts *o, mn_canvas *c,
                      mn_weights_layout *lay, mn_err *e)
{
    mn_weights_layout L;
    layout_weights(v, o, &L);
    size_t per_tile = (size_t)v->c * v->h * v->wd;
    float s = max_abs(v->w, per_tile * (size_t)v->n);
    char title[256];
    weights_title(m, v, title, sizeof title);
    int cap_h = v->form == MN_WEIGHTS_MATRIX ? 0 : 11, top = M + 14 + 8 + 22 + 8;
    int left = M + (v->form == MN_WEIGHTS_MATRIX ? 6 * 5 + 4 : 0);
    L.step_x = L.tile_w + TILE_GAP, L.step_y = L.tile_h + cap_h + TILE_GAP;
    L.x0 = left, L.y0 = top;
    int grid_w = L.cols * L.step_x - TILE_GAP, grid_h = L.rows * L.step_y - TILE_GAP;
    if (v->form == MN_WEIGHTS_MATRIX) grid_h += 24;
    int w = left + grid_w + M, tw = M + mn_text_width(title, 2) + M, bw = M + 480 + M;
    if (tw > w) w = tw;
    if (bw > w) w = bw;
    if (mn_canvas_init(c, w, top + grid_h + M, 3, BG, e)) return -1;
    mn_canvas_text(c, M, M, title, 2, TEXT);
    draw_colour_bar(c, M, M + 22, s, o->unit_scale);
    if (v->form == MN_WEIGHTS_MATRIX) {
        for (int r = 0; r < v->h; r++) {
            const float *row = v->w + (size_t)r * v->wd;
            float rs = o->unit_scale ? max_abs(row, (size_t)v->wd) : s;
            draw_plane(c, L.x0, L.y0 + r * L.px, row, 1, v->wd, L.px, rs);
        }
        for (int r = 0; r < v->h; r++)
            if (L.px >= 8 || r % div_up(8, L.px) == 0) {
                char t[16];
                snprintf(t, sizeof t, "%d", r);
                mn_canvas_text(c, L.x0 - 4 - mn_text_width(t, 1), L.y0 + r * L.px, t, 1, DIM);
            }
        char t[64];
        snprintf(t, sizeof t, "INPUTS 0 TO %d ACROSS, UNITS DOWN", v->wd - 1);
        mn_canvas_text(c, L.x0, L.y0 + L.tile_h + 6, t, 1, DIM);
    } else {
        int plane_rows = div_up(v->c, L.plane_cols);
        (void)plane_rows;
        for (int t = 0; t < v->n; t++) {
            int x = L.x0 + (t % L.cols) * L.step_x, y = L.y0 + (t / L.cols) * L.step_y;
            const float *tw8 = v->w + (size_t)t * per_tile;
            float ts = o->unit_scale ? max_abs(tw8, per_tile) : s;
            mn_canvas_fill(c, x, y, L.tile_w, L.tile_h, GRID);
            for (int p = 0; p < v->c; p++)
                draw_plane(c, x + (p % L.plane_cols) * (v->wd * L.px + PLANE_GAP),
                           y + (p / L.plane_cols) * (v->h * L.px + PLANE_GAP), tw8 + (size_t)p * v->h * v->wd, v->h,
                           v->wd, L.px, ts);
            char cap[64], sc[24];
            snprintf(cap, sizeof cap, "%d", t);
            if (o->unit_scale) {
                fmt_scale(sc, sizeof sc, ts);
                char both[64];
                snprintf(both, sizeof both, "%d %s", t, sc);
                if (mn_text_width(both, 1) <= L.tile_w) snprintf(cap, sizeof cap, "%s", both);
            }
            mn_canvas_text(c, x, y + L.tile_h + 3, cap, 1, DIM);
        }
    }
    if (lay) *lay = L;
    return 0;
}

/* ---- the weights in a terminal ------------------------------------------- */

typedef struct {
    mn_term_tile *t;
    uint8_t **px;
    char (*cap)[48];
    int n;
} tileset;

static int tiles_alloc(tileset *ts, int n)
{
    ts->n = n;
    ts->t = calloc((size_t)n, sizeof *ts->t);
    ts->px = calloc((size_t)n, sizeof *ts->px);
    ts->cap = calloc((size_t)n, sizeof *ts->cap);
    return ts->t && ts->px && ts->cap ? 0 : -1;
}

static void tiles_free(tileset *ts)
{
    for (int i = 0; ts->px && i < ts->n; i++) free(ts->px[i]);
    free(ts->t), free(ts->px), free(ts->cap);
    memset(ts, 0, sizeof *ts);
}

/* An RGB tile of w x h, filled with rgb; NULL when out of memory. */
static uint8_t *tile_new(tileset *ts, int i, int w, int h, uint32_t rgb)
{
    uint8_t *p = malloc((size_t)w * (size_t)h * 3);
    if (!p) return NULL;
    for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
        p[3 * k] = (uint8_t)(rgb >> 16), p[3 * k + 1] = (uint8_t)(rgb >> 8), p[3 * k + 2] = (uint8_t)rgb;
    ts->px[i] = p;
    ts->t[i] = (mn_term_tile){p, w, h, ts->cap[i]};
    return p;
}

static void tile_set(uint8_t *p, int w, int x, int y, uint32_t rgb)
{
    uint8_t *q = p + ((size_t)y * (size_t)w + (size_t)x) * 3;
    q[0] = (uint8_t)(rgb >> 16), q[1] = (uint8_t)(rgb >> 8), q[2] = (uint8_t)rgb;
}

static void colour_bar_line(FILE *f, float s, int unit, mn_term_mode mode)
{
    char t[24];
    fmt_scale(t, sizeof t, s);
    if (unit) snprintf(t, sizeof t, "MAX");
    fprintf(f, "scale: -%s ", t);
    if (mode == MN_TERM_PLAIN) {
        fprintf(f, "%%=- 0 +*# +%s%s\n", t, unit ? " (MAX: each tile's own)" : "");
        return;
    }
    for (int i = 0; i < 24; i++) {
        uint32_t rgb = mn_diverging((float)(2 * i - 23), 23.0f);
        if (mode == MN_TERM_24BIT)
            fprintf(f, "\033[48;2;%u;%u;%um ", rgb >> 16 & 255, rgb >> 8 & 255, rgb & 255);
        else
            fprintf(f, "\033[48;5;%dm ", mn_term_rgb256(rgb));
    }
    fprintf(f, "\033[0m +%s%s\n", t, unit ? " (MAX: each tile's own)" : "");
}

int mn_weights_print(FILE *f, const mn_model *m, const mn_weights_view *v, const mn_weights_opts *o,
                     mn_term_mode mode, int columns, mn_err *e)
{
    size_t per_tile = (size_t)v->c * v->h * v->wd;
    float s = max_abs(v->w, per_tile * (size_t)v->n);
    char title[256];
    weights_title(m, v, title, sizeof title);
    fprintf(f, "%s\n", title);
    colour_bar_line(f, s, o->unit_scale, mode);
    fputc('\n', f);
    int plain = mode == MN_TERM_PLAIN, room = plain ? columns / 2 : columns;
    if (room < 8) room = 8;
    tileset ts = {0};
    if (v->form == MN_WEIGHTS_MATRIX) {
        /* slices of the columns, each as wide as the terminal */
        int n = div_up(v->wd, room);
        if (tiles_alloc(&ts, n)) goto oom;
        for (int k = 0; k < n; k++) {
            int a = k * room, b = a + room < v->wd ? a + room : v->wd;
            uint8_t *p = tile_new(&ts, k, b - a, v->h, 0);
            if (!p) goto oom;
            snprintf(ts.cap[k], sizeof ts.cap[k], "inputs %d-%d (units down)", a, b - 1);
            for (int r = 0; r < v->h; r++) {
                const float *row = v->w + (size_t)r * v->wd;
                float rs = o->unit_scale ? max_abs(row, (size_t)v->wd) : s;
                for (int j = a; j < b; j++) tile_set(p, b - a, j - a, r, mn_diverging(row[j], rs));
            }
        }
        mn_term_tiles(f, ts.t, n, columns, 2, mode);
    } else {
        int side = v->h > v->wd ? v->h : v->wd, z = side < 6 && !plain ? 2 : 1; /* enlarge small kernels (half blocks) */
        int pc = (int)ceil(sqrt((double)v->c)), pr = div_up(v->c, pc);
        int w = pc * v->wd * z + (pc - 1), h = pr * v->h * z + (pr - 1);
        if (tiles_alloc(&ts, v->n)) goto oom;
        for (int t = 0; t < v->n; t++) {
            uint8_t *p = tile_new(&ts, t, w, h, plain ? 0 : BG); /* plain: gaps are spaces */
            if (!p) goto oom;
            const float *tw8 = v->w + (size_t)t * per_tile;
            float us = o->unit_scale ? max_abs(tw8, per_tile) : s;
            if (o->unit_scale) {
                char sc[24];
                fmt_scale(sc, sizeof sc, us);
                snprintf(ts.cap[t], sizeof ts.cap[t], "%d %s", t, sc);
            } else {
                snprintf(ts.cap[t], sizeof ts.cap[t], "%d", t);
            }
            for (int pl = 0; pl < v->c; pl++) {
                int x0 = (pl % pc) * (v->wd * z + 1), y0 = (pl / pc) * (v->h * z + 1);
                const float *q = tw8 + (size_t)pl * v->h * v->wd;
                for (int y = 0; y < v->h * z; y++)
                    for (int x = 0; x < v->wd * z; x++)
                        tile_set(p, w, x0 + x, y0 + y, mn_diverging(q[(size_t)(y / z) * v->wd + x / z], us));
            }
        }
        mn_term_tiles(f, ts.t, v->n, columns, 2, mode);
    }
    tiles_free(&ts);
    return 0;
oom:
    tiles_free(&ts);
    return mn_fail(e, "out of memory drawing %s", v->name);
}

/* ---- features -------------------------------------------------------------- */

int mn_features_predicted(const mn_model *m)
{
    int best = 0;
    for (int c = 1; c < m->n_classes; c++)
        if (m->probs[c] > m->probs[best]) best = c;
    return best;
}

/* A section of the features picture: the input (layer -1), a layer's
 * output, or the probabilities (layer n_layers). */
typedef struct {
    int layer;
    const float *v;
    mn_shape shape;
    int maps; /* C maps of H x W; else bars */
    char caption[128];
} section;

/* The sections in order; returns how many (at most n_layers + 2). */
static int sections(const mn_model *m, section *s)
{
    int n = 0;
    s[n] = (section){-1, m->input, m->input_shape, m->input_shape.h * m->input_shape.w > 1, ""};
    char shape[48];
    mn_shape_str(m->input_shape, shape, sizeof shape);
    snprintf(s[n].caption, sizeof s[n].caption, "input %s", shape);
    n++;
    for (int i = 0; i < m->n_layers; i++) {
        const mn_layer *l = &m->layers[i];
        if (l->kind->draw == MN_DRAW_NONE) continue;
        char label[64];
        mn_model_layer_label(m, i, label, sizeof label);
        mn_shape_str(l->out, shape, sizeof shape);
        s[n] = (section){i, m->act[i], l->out, l->out.h * l->out.w > 1, ""};
        snprintf(s[n].caption, sizeof s[n].caption, "%d: %s %s", i, label, shape);
        n++;
    }
    if (m->n_classes > 0) {
        s[n] = (section){m->n_layers, m->probs, {m->n_classes, 1, 1}, 0, ""};
        int p = mn_features_predicted(m);
        snprintf(s[n].caption, sizeof s[n].caption, "probabilities: predicted %d (%.1f%%)", p, 100.0 * m->probs[p]);
        n++;
    }
    return n;
}

/* Grey level of x on [lo, hi]. */
static uint8_t grey_of(float x, float lo, float hi)
{
    if (!(hi > lo) || !isfinite(x)) return 0;
    double t = (x - lo) / (hi - lo);
    return (uint8_t)lround(255.0 * (t < 0 ? 0 : t > 1 ? 1 : t));
}

static void min_max(const float *v, size_t n, float *lo, float *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
        }
    if (*lo > *hi) *lo = *hi = 0;
}

#define FEAT_W 1000 /* content width of the PNG */
#define BAR_H 50    /* bars' height each way */

static int map_px(const section *s)
{
    int side = s->shape.h > s->shape.w ? s->shape.h : s->shape.w, p = (s->layer < 0 ? 112 : 64) / side;
    return p < 1 ? 1 : p > 8 ? 8 : p;
}

static int has_negative(const section *s)
{
    for (size_t i = 0; i < mn_shape_size(s->shape); i++)
        if (s->v[i] < 0) return 1;
    return 0;
}

static int bar_width(int n)
{
    int bw = FEAT_W / n;
    return bw > 24 ? 24 : bw < 1 ? 1 : bw;
}

static int prob_slot(int C)
{
    int slot = FEAT_W / C;
    return slot > 48 ? 48 : slot < 2 ? 2 : slot;
}

/* Size of a section's content, and its map grid's columns. */
static int section_size(const mn_model *m, const section *s, int *cols, int *width)
{
    if (s->maps) {
        int px = map_px(s), tw = s->shape.w * px;
        *cols = (FEAT_W + 4) / (tw + 4);
        if (*cols < 1) *cols = 1;
        if (*cols > s->shape.c) *cols = s->shape.c;
        *width = *cols * (tw + 4) - 4;
        return div_up(s->shape.c, *cols) * (s->shape.h * px + 4 + 9) - 4;
    }
    *cols = 0;
    if (s->layer == m->n_layers) {
        *width = m->n_classes * prob_slot(m->n_classes);
        return 150 + 2 * 10 + 8;
    }
    *width = (int)mn_shape_size(s->shape) * bar_width((int)mn_shape_size(s->shape)) + 8 + 6 * 16;
    return (has_negative(s) ? 2 : 1) * BAR_H + 10;
}

static void draw_maps(mn_canvas *c, const section *s, int x, int y, int cols)
{
    int px = map_px(s), tw = s->shape.w * px, th = s->shape.h * px;
    size_t hw = (size_t)s->shape.h * s->shape.w;
    uint8_t *g = malloc(hw);
    if (!g) return;
    for (int ch = 0; ch < s->shape.c; ch++) {
        const float *v = s->v + (size_t)ch * hw;
        float lo, hi;
        min_max(v, hw, &lo, &hi);
        for (size_t k = 0; k < hw; k++) g[k] = grey_of(v[k], lo, hi);
        int tx = x + (ch % cols) * (tw + 4), ty = y + (ch / cols) * (th + 4 + 9);
        mn_canvas_image(c, tx, ty, g, s->shape.h, s->shape.w, px);
        if (s->shape.c > 1) {
            char t[16];
            snprintf(t, sizeof t, "%d", ch);
            if (mn_text_width(t, 1) <= tw + 2) mn_canvas_text(c, tx, ty + th + 2, t, 1, DIM);
        }
    }
    free(g);
}

static void draw_bars(mn_canvas *c, const section *s, int x, int y)
{
    int n = (int)mn_shape_size(s->shape), bw = bar_width(n);
    int gap = bw >= 3, base = y + BAR_H;
    float sc = max_abs(s->v, (size_t)n);
    mn_canvas_fill(c, x, base, n * bw, 1, DIM);
    for (int i = 0; i < n; i++) {
        float v = isfinite(s->v[i]) ? s->v[i] : 0;
        int len = sc > 0 ? (int)lround(fabs(v) / sc * BAR_H) : 0;
        if (v > 0) mn_canvas_fill(c, x + i * bw, base - len, bw - gap, len, 0x2ca02c);
        if (v < 0) mn_canvas_fill(c, x + i * bw, base + 1, bw - gap, len, 0xd62728);
    }
    char t[48], sv[24];
    fmt_scale(sv, sizeof sv, sc);
    snprintf(t, sizeof t, "MAX ABS %s", sv);
    mn_canvas_text(c, x + n * bw + 8, base - 3, t, 1, DIM);
}

static void draw_probs(mn_canvas *c, const mn_model *m, int x, int y)
{
    int C = m->n_classes, slot = prob_slot(C), pred = mn_features_predicted(m);
    int bw = slot * 3 / 4 > 0 ? slot * 3 / 4 : 1, base = y + 10 + 150;
    mn_canvas_fill(c, x, base, C * slot, 1, DIM);
    for (int k = 0; k < C; k++) {
        float p = isfinite(m->probs[k]) ? m->probs[k] : 0;
        int len = (int)lround(p * 150), bx = x + k * slot;
        mn_canvas_fill(c, bx, base - len, bw, len, k == pred ? 0xff7f0e : 0x1f77b4);
        char t[24];
        snprintf(t, sizeof t, "%d", k);
        if (slot >= 12) mn_canvas_text(c, bx + (bw - mn_text_width(t, k == pred ? 2 : 1)) / 2, base + 4, t,
                                       k == pred ? 2 : 1, k == pred ? 0xff7f0eu : TEXT);
        snprintf(t, sizeof t, slot >= 36 ? "%.1f%%" : "%.0f%%", 100.0 * p);
        if (slot >= 30 && (p >= 0.005 || k == pred)) mn_canvas_text(c, bx, base - len - 9, t, 1, TEXT);
    }
}

int mn_features_canvas(const mn_model *m, mn_canvas *c, mn_err *e)
{
    section *s = malloc(((size_t)m->n_layers + 2) * sizeof *s);
    if (!s) return mn_fail(e, "out of memory");
    int n = sections(m, s), h = M, w = 0, cols[MN_MAX_LAYERS + 2], hs[MN_MAX_LAYERS + 2];
    for (int i = 0; i < n; i++) {
        int sw;
        hs[i] = section_size(m, &s[i], &cols[i], &sw);
        h += 14 + 6 + hs[i] + 16;
        if (sw > w) w = sw;
        if (mn_text_width(s[i].caption, 2) > w) w = mn_text_width(s[i].caption, 2);
    }
    w += 2 * M;
    if (mn_canvas_init(c, w, h, 3, 0x202020, e)) {
        free(s);
        return -1;
    }
    int y = M;
    for (int i = 0; i < n; i++) {
        mn_canvas_text(c, M, y, s[i].caption, 2, TEXT);
        y += 14 + 6;
        if (s[i].maps)
            draw_maps(c, &s[i], M, y, cols[i]);
        else if (s[i].layer == m->n_layers)
            draw_probs(c, m, M, y);
        else
            draw_bars(c, &s[i], M, y);
        y += hs[i] + 16;
    }
    free(s);
    return 0;
}

int mn_features_print(FILE *f, const mn_model *m, mn_term_mode mode, int columns, mn_err *e)
{
    section *s = malloc(((size_t)m->n_layers + 2) * sizeof *s);
    if (!s) return mn_fail(e, "out of memory");
    int n = sections(m, s), plain = mode == MN_TERM_PLAIN, rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        fprintf(f, "%s%s\n", i ? "\n" : "", s[i].caption);
        if (s[i].layer == m->n_layers) {
            int pred = mn_features_predicted(m), width = columns - 20;
            if (width < 10) width = 10;
            for (int k = 0; k < m->n_classes; k++) {
                float p = isfinite(m->probs[k]) ? m->probs[k] : 0;
                int len = (int)lround(p * width);
                fprintf(f, "%3d %6.2f%% ", k, 100.0 * p);
                for (int j = 0; j < len; j++) fputs(plain ? "#" : "\xe2\x96\x88", f);
                fprintf(f, "%s\n", k == pred ? " <- predicted" : "");
            }
            continue;
        }
        tileset ts = {0};
        if (s[i].maps) {
            size_t hw = (size_t)s[i].shape.h * s[i].shape.w;
            if (tiles_alloc(&ts, s[i].shape.c)) rc = -1;
            for (int ch = 0; !rc && ch < s[i].shape.c; ch++) {
                uint8_t *p = tile_new(&ts, ch, s[i].shape.w, s[i].shape.h, 0);
                if (!p) {
                    rc = -1;
                    break;
                }
                const float *v = s[i].v + (size_t)ch * hw;
                float lo, hi;
                min_max(v, hw, &lo, &hi);
                for (size_t k = 0; k < hw; k++) p[3 * k] = p[3 * k + 1] = p[3 * k + 2] = grey_of(v[k], lo, hi);
                if (s[i].shape.c > 1) snprintf(ts.cap[ch], sizeof ts.cap[ch], "%d", ch);
                else ts.t[ch].caption = NULL;
            }
            if (!rc) mn_term_tiles(f, ts.t, s[i].shape.c, columns, 1, mode);
        } else {
            /* bars: a line of eighth blocks (plain: digits 0-9 of |x| / max, '-' marks negatives below) */
            int nv = (int)mn_shape_size(s[i].shape), room = columns > 10 ? columns : 10;
            float sc = max_abs(s[i].v, (size_t)nv);
            char sv[24];
            fmt_scale(sv, sizeof sv, sc);
            for (int a = 0; a < nv; a += room) {
                int b = a + room < nv ? a + room : nv;
                for (int j = a; j < b; j++) {
                    float v = isfinite(s[i].v[j]) ? s[i].v[j] : 0, t = sc > 0 ? fabsf(v) / sc : 0;
                    if (plain) {
                        fputc(v < 0 ? '-' : t == 0 ? ' ' : '0' + (int)lround(t * 9), f);
                    } else {
                        static const char *const eighth[] = {" ", "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
                                                             "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
                                                             "\xe2\x96\x87", "\xe2\x96\x88"};
                        int k = (int)lround(t * 8);
                        if (mode == MN_TERM_24BIT)
                            fprintf(f, "\033[38;2;%s", v < 0 ? "214;39;40m" : "44;160;44m");
                        else
                            fprintf(f, "\033[38;5;%dm", v < 0 ? 160 : 34);
                        fputs(eighth[k], f);
                    }
                }
                fputs(plain ? "\n" : "\033[0m\n", f);
            }
            fprintf(f, "(%d values, max |x| %s%s)\n", nv, sv, plain ? "; digits 0-9 of |x|/max, - negative" : "");
        }
        tiles_free(&ts);
    }
    free(s);
    return rc ? mn_fail(e, "out of memory") : 0;
}

int mn_features_svg(const mn_model *m, const char *path, mn_err *e)
{
    section *s = malloc(((size_t)m->n_layers + 2) * sizeof *s);
    mn_bar_panel *p = malloc(((size_t)m->n_layers + 2) * sizeof *p);
    char(*ids)[32] = malloc(((size_t)m->n_layers + 2) * sizeof *ids);
    if (!s || !p || !ids) {
        free(s), free(p), free(ids);
        return mn_fail(e, "%s: out of memory", path);
    }
    int n = sections(m, s), k = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].maps) continue;
        int probs = s[i].layer == m->n_layers;
        if (probs)
            snprintf(ids[k], sizeof ids[k], "probabilities");
        else
            snprintf(ids[k], sizeof ids[k], "layer-%d", s[i].layer);
        p[k] = (mn_bar_panel){s[i].caption, ids[k], s[i].v, (int)mn_shape_size(s[i].shape),
                              probs ? mn_features_predicted(m) : -1, probs};
        k++;
    }
    int rc = mn_plot_bars_write(path, "Activations and class probabilities", p, k, e);
    free(s), free(p), free(ids);
    return rc;
}
