/* plot.c - training curves as SVG (see plot.h). */
#include "mnist/plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/png.h" /* mn_write_file_atomic */

/* ---- a growing string ---------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)k) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
}

static void sb_escaped(sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sb_printf(b, "&amp;"); break;
        case '<': sb_printf(b, "&lt;"); break;
        case '>': sb_printf(b, "&gt;"); break;
        case '"': sb_printf(b, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20) sb_printf(b, "%c", *s);
        }
    }
}

static void sb_number(sbuf *b, double v)
{
    if (isfinite(v)) sb_printf(b, "%.4f", v);
    else sb_printf(b, "n/a");
}

/* ---- layout -------------------------------------------------------------- */

#define SVG_W 900
#define SVG_H 600
#define PLOT_TOP 95.0
#define PLOT_BOTTOM 520.0
#define PAD 12.0 /* between the frame and the first/last point */

static const char *const C_TRAIN = "#1f77b4", *const C_VAL = "#ff7f0e";

typedef struct {
    double left, right;     /* frame, in SVG units */
    double xlo, xhi;        /* epochs */
    double ylo, yhi, ystep; /* values */
} panel;

static double px(const panel *p, double x)
{
    return p->left + PAD + (x - p->xlo) / (p->xhi - p->xlo) * (p->right - p->left - 2 * PAD);
}

static double py(const panel *p, double y)
{
    return PLOT_BOTTOM - PAD - (y - p->ylo) / (p->yhi - p->ylo) * (PLOT_BOTTOM - PLOT_TOP - 2 * PAD);
}

/* The 1, 2, 5 x 10^k step closest above span / target. */
static double nice_step(double span, int target)
{
    double raw = span / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

static int decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

/* Fits [lo, hi] to whole steps; clamp_one keeps an accuracy axis at <= 1. */
static void fit_y(panel *p, double lo, double hi, int clamp_one)
{
    if (!(lo <= hi)) lo = 0, hi = 1; /* no data */
    if (hi - lo < 1e-9) {
        double d = fabs(hi) > 1e-9 ? fabs(hi) * 0.05 : 0.05;
        lo -= d, hi += d;
    }
    double step = nice_step(hi - lo, 5);
    p->ylo = floor(lo / step + 1e-9) * step;
    p->yhi = ceil(hi / step - 1e-9) * step;
    if (clamp_one && p->yhi > 1.0 && hi <= 1.0) p->yhi = 1.0;
    if (p->ylo < 0 && lo >= 0) p->ylo = 0;
    p->ystep = step;
}

/* Epoch ticks: 1, then the multiples of step (1, step, 2 step, ...). */
static double next_tick(double x, double step)
{
    return step <= 1 ? x + 1 : (floor(x / step + 1e-9) + 1) * step;
}

enum { LOSS, ACC };

static double value(const mn_plot_point *pt, int what, int val)
{
    if (what == LOSS) return val ? pt->val_loss : pt->loss;
    return val ? pt->val_acc : pt->acc;
}

static void draw_panel(sbuf *b, const panel *p, const char *name, int what, const mn_plot_point *pts, int n,
                       int has_val)
{
    const char *ids[2][2] = {{"loss-train", "loss-val"}, {"acc-train", "acc-val"}};
    double w = p->right - p->left;
    /* grid and tick labels */
    sb_printf(b, "<g class=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n");
    double xstep = p->xhi - p->xlo <= 10 ? 1 : ceil(nice_step(p->xhi - p->xlo, 8));
    for (double x = p->xlo; x <= p->xhi + 1e-9; x = next_tick(x, xstep))
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(p, x), PLOT_TOP, px(p, x),
                  PLOT_BOTTOM);
    int k0 = (int)ceil(p->ylo / p->ystep - 1e-6), k1 = (int)floor(p->yhi / p->ystep + 1e-6);
    for (int k = k0; k <= k1; k++)
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", p->left, py(p, k * p->ystep),
                  p->right, py(p, k * p->ystep));
    sb_printf(b, "</g>\n<g class=\"ticks\" font-size=\"12\" fill=\"#333333\">\n");
    for (double x = p->xlo; x <= p->xhi + 1e-9; x = next_tick(x, xstep))
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", px(p, x), PLOT_BOTTOM + 18,
                  x);
    int d = decimals(p->ystep);
    for (int k = k0; k <= k1; k++)
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", p->left - 8,
                  py(p, k * p->ystep) + 4, d, k * p->ystep);
    sb_printf(b, "</g>\n");
    /* frame, axis labels, panel title */
    sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n",
              p->left, PLOT_TOP, w, PLOT_BOTTOM - PLOT_TOP);
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">epoch</text>\n",
              p->left + w / 2, PLOT_BOTTOM + 42);
    sb_printf(b,
              "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
              "font-size=\"14\">%s</text>\n",
              p->left - 52, (PLOT_TOP + PLOT_BOTTOM) / 2, name);
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", p->left,
              PLOT_TOP - 10, name);
    if (n) {
        const mn_plot_point *last = &pts[n - 1];
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\" fill=\"#555555\">", p->right,
                  PLOT_TOP - 10);
        sb_printf(b, "epoch %d: train ", last->epoch);
        sb_number(b, value(last, what, 0));
        if (last->has_val) {
            sb_printf(b, ", validation ");
            sb_number(b, value(last, what, 1));
        }
        sb_printf(b, "</text>\n");
    } else {
        sb_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" fill=\"#888888\">"
                  "waiting for the first epoch</text>\n",
                  p->left + w / 2, (PLOT_TOP + PLOT_BOTTOM) / 2);
    }
    /* the curves */
    for (int val = 0; val <= has_val; val++) {
        const char *color = val ? C_VAL : C_TRAIN, *id = ids[what][val];
        sb_printf(b, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", id, color,
                  val ? " stroke-dasharray=\"7 4\"" : "");
        int first = 1;
        for (int i = 0; i < n; i++) {
            double y = value(&pts[i], what, val);
            if ((val && !pts[i].has_val) || !isfinite(y)) continue;
            sb_printf(b, "%s%.1f,%.1f", first ? "" : " ", px(p, pts[i].epoch), py(p, y));
            first = 0;
        }
        sb_printf(b, "\"/>\n");
        for (int i = 0; i < n; i++) {
            double y = value(&pts[i], what, val);
            if ((val && !pts[i].has_val) || !isfinite(y)) continue;
            sb_printf(b, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>epoch %d: %s %.4f</title></circle>\n",
                      id, px(p, pts[i].epoch), py(p, y), color, pts[i].epoch, val ? "validation" : "train", y);
        }
    }
}

int mn_plot_svg(const char *title, int epochs, const mn_plot_point *pts, int n, char **out, size_t *out_len,
                mn_err *e)
{
    *out = NULL, *out_len = 0;
    if (n < 0 || (n && !pts)) return mn_fail(e, "plot: no points");
    int has_val = 0, xmax = epochs > 1 ? epochs : 1;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < n; i++) {
        if (pts[i].epoch > xmax) xmax = pts[i].epoch;
        has_val |= pts[i].has_val != 0;
        for (int what = LOSS; what <= ACC; what++)
            for (int val = 0; val <= (pts[i].has_val != 0); val++) {
                double v = value(&pts[i], what, val);
                if (!isfinite(v)) continue;
                if (v < lo[what]) lo[what] = v;
                if (v > hi[what]) hi[what] = v;
            }
    }
    panel pl[2];
    for (int what = LOSS; what <= ACC; what++) {
        pl[what].left = what == LOSS ? 80 : 530;
        pl[what].right = pl[what].left + 345;
        pl[what].xlo = 1;
        pl[what].xhi = xmax > 1 ? xmax : 2;
        fit_y(&pl[what], lo[what], hi[what], what == ACC);
    }

    sbuf b = {0};
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
              SVG_W, SVG_H, SVG_W, SVG_H);
    sb_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    sb_printf(&b, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">",
              SVG_W / 2);
    sb_escaped(&b, title && *title ? title : "Training curves");
    sb_printf(&b, "</text>\n");
    /* legend */
    double lx = has_val ? SVG_W / 2 - 110 : SVG_W / 2 - 40;
    sb_printf(&b, "<g class=\"legend\" font-size=\"13\">\n");
    sb_printf(&b,
              "<line x1=\"%.1f\" y1=\"55\" x2=\"%.1f\" y2=\"55\" stroke=\"%s\" stroke-width=\"2\"/>"
              "<circle cx=\"%.1f\" cy=\"55\" r=\"3.5\" fill=\"%s\"/>"
              "<text x=\"%.1f\" y=\"59\">train</text>\n",
              lx, lx + 30, C_TRAIN, lx + 15, C_TRAIN, lx + 38);
    if (has_val)
        sb_printf(&b,
                  "<line x1=\"%.1f\" y1=\"55\" x2=\"%.1f\" y2=\"55\" stroke=\"%s\" stroke-width=\"2\" "
                  "stroke-dasharray=\"7 4\"/><circle cx=\"%.1f\" cy=\"55\" r=\"3.5\" fill=\"%s\"/>"
                  "<text x=\"%.1f\" y=\"59\">validation</text>\n",
                  lx + 110, lx + 140, C_VAL, lx + 125, C_VAL, lx + 148);
    sb_printf(&b, "</g>\n");
    draw_panel(&b, &pl[LOSS], "loss", LOSS, pts, n, has_val);
    draw_panel(&b, &pl[ACC], "accuracy", ACC, pts, n, has_val);
    sb_printf(&b, "</svg>\n");
    if (b.oom) {
        free(b.p);
        return mn_fail(e, "plot: out of memory");
    }
    *out = b.p, *out_len = b.len;
    return 0;
}

int mn_plot_write(const char *path, const char *title, int epochs, const mn_plot_point *pts, int n, mn_err *e)
{
    char *svg;
    size_t len;
    if (mn_plot_svg(title, epochs, pts, n, &svg, &len, e)) {
        if (!e) return -1;
        mn_err inner = *e;
        return mn_fail(e, "%s: %s", path, strncmp(inner.msg, "plot: ", 6) ? inner.msg : inner.msg + 6);
    }
    int rc = mn_write_file_atomic(path, svg, len, e);
    free(svg);
    return rc;
}

void mn_plot_init(mn_plot *p, const char *path, const char *title, int epochs)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    snprintf(p->title, sizeof p->title, "%s", title ? title : "");
    p->epochs = epochs;
}

int mn_plot_add(mn_plot *p, const mn_plot_point *pt, mn_err *e)
{
    int i = 0;
    while (i < p->n && p->pts[i].epoch < pt->epoch) i++;
    if (i < p->n && p->pts[i].epoch == pt->epoch) {
        p->pts[i] = *pt;
    } else {
        if (p->n == p->cap) {
            int cap = p->cap ? 2 * p->cap : 16;
            mn_plot_point *q = realloc(p->pts, (size_t)cap * sizeof *q);
            if (!q) return mn_fail(e, "%s: out of memory", p->path);
            p->pts = q, p->cap = cap;
        }
        memmove(p->pts + i + 1, p->pts + i, (size_t)(p->n - i) * sizeof *p->pts);
        p->pts[i] = *pt;
        p->n++;
    }
    return mn_plot_write(p->path, p->title, p->epochs, p->pts, p->n, e);
}

void mn_plot_free(mn_plot *p)
{
    free(p->pts);
    memset(p, 0, sizeof *p);
}

/* ---- bar charts ---------------------------------------------------------- */

#define BAR_W 900
#define BAR_PANEL_H 230
#define BAR_TOP 50

static void bar_panel(sbuf *b, const mn_bar_panel *p, double top)
{
    const double left = 70, right = BAR_W - 20, ftop = top + 30, fbot = top + BAR_PANEL_H - 40;
    double lo = 0, hi = p->percent ? 1 : 0;
    for (int i = 0; i < p->n; i++) {
        double v = p->v[i];
        if (!isfinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (hi - lo < 1e-12) hi = lo + 1;
    panel pl = {.left = left, .right = right};
    double step = nice_step(hi - lo, 4);
    pl.ylo = floor(lo / step + 1e-9) * step, pl.yhi = ceil(hi / step - 1e-9) * step, pl.ystep = step;
    if (p->percent) pl.ylo = 0, pl.yhi = 1, pl.ystep = 0.25;
#define BY(y) (fbot - ((y) - pl.ylo) / (pl.yhi - pl.ylo) * (fbot - ftop))
    sb_printf(b, "<g id=\"");
    sb_escaped(b, p->id ? p->id : "bars");
    sb_printf(b, "\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" font-weight=\"bold\">", left, top + 20);
    sb_escaped(b, p->title ? p->title : "");
    sb_printf(b, "</text>\n<g class=\"ticks\" font-size=\"12\" fill=\"#333333\">\n");
    int k0 = (int)ceil(pl.ylo / pl.ystep - 1e-6), k1 = (int)floor(pl.yhi / pl.ystep + 1e-6);
    int d = p->percent ? 0 : decimals(pl.ystep);
    for (int k = k0; k <= k1; k++) {
        double y = k * pl.ystep;
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>", left, BY(y),
                  right, BY(y));
        if (p->percent)
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>\n", left - 8, BY(y) + 4,
                      100 * y);
        else
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", left - 8, BY(y) + 4, d, y);
    }
    sb_printf(b, "</g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n",
              left, ftop, right - left, fbot - ftop);
    double slot = (right - left - 2) / (p->n ? p->n : 1), bw = slot > 3 ? slot * 0.8 : slot;
    for (int i = 0; i < p->n; i++) {
        double v = isfinite(p->v[i]) ? p->v[i] : 0, y0 = BY(0), y1 = BY(v);
        const char *fill = p->percent ? (i == p->highlight ? "#ff7f0e" : "#1f77b4") : v >= 0 ? "#2ca02c" : "#d62728";
        double x = left + 1 + i * slot + (slot - bw) / 2;
        sb_printf(b, "<rect class=\"bar%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                  "<title>%d: %.4g</title></rect>\n", i == p->highlight ? " predicted" : "", x, y1 < y0 ? y1 : y0,
                  bw, fabs(y0 - y1), fill, i, p->v[i]);
        if (!p->percent && slot >= 14)
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555555\">%d</text>\n",
                      x + bw / 2, fbot + 14, i);
        if (p->percent && slot >= 14) {
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\"%s>%d</text>\n",
                      x + bw / 2, fbot + 16, i == p->highlight ? " font-weight=\"bold\"" : "", i);
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555555\">%.1f%%</text>\n",
                      x + bw / 2, y1 - 4, 100 * v);
        }
    }
    if (!p->percent && pl.ylo < 0)
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", left, BY(0), right,
                  BY(0));
    if (!p->percent)
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555555\">"
                  "%d values</text>\n", (left + right) / 2, fbot + (slot >= 14 ? 30 : 18), p->n);
#undef BY
    sb_printf(b, "</g>\n");
}

int mn_plot_bars_svg(const char *title, const mn_bar_panel *p, int n, char **out, size_t *out_len, mn_err *e)
{
    *out = NULL, *out_len = 0;
    if (n < 0 || (n && !p)) return mn_fail(e, "plot: no panels");
    int h = BAR_TOP + n * BAR_PANEL_H;
    sbuf b = {0};
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
              BAR_W, h, BAR_W, h);
    sb_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    sb_printf(&b, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-size=\"18\" font-weight=\"bold\">", BAR_W / 2);
    sb_escaped(&b, title && *title ? title : "Activations");
    sb_printf(&b, "</text>\n");
    for (int i = 0; i < n; i++) bar_panel(&b, &p[i], BAR_TOP + (double)i * BAR_PANEL_H);
    sb_printf(&b, "</svg>\n");
    if (b.oom) {
        free(b.p);
        return mn_fail(e, "plot: out of memory");
    }
    *out = b.p, *out_len = b.len;
    return 0;
}

int mn_plot_bars_write(const char *path, const char *title, const mn_bar_panel *p, int n, mn_err *e)
{
    char *svg;
    size_t len;
    if (mn_plot_bars_svg(title, p, n, &svg, &len, e)) {
        mn_err inner = *e;
        return mn_fail(e, "%s: %s", path, strncmp(inner.msg, "plot: ", 6) ? inner.msg : inner.msg + 6);
    }
    int rc = mn_write_file_atomic(path, svg, len, e);
    free(svg);
    return rc;
}
