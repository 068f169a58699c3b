/* plot.h - training curves as an SVG image.
 *
 * Two panels side by side, loss and accuracy against the epoch, each with a
 * frame, grid lines, tick labels and axis labels; the training curve is a
 * solid line and the validation curve (when there is one) a dashed line,
 * with a dot per epoch and a legend under the title. The x axis runs from 1
 * to the planned number of epochs, so it stays put while training goes on;
 * the y axes fit the data with round tick steps (1, 2, 5 x 10^k).
 *
 * The SVG is plain SVG 1.1 (browsers, Inkscape, rsvg), 900 x 600 user units.
 * Element names a test or script can count on: one <polyline> per curve,
 * with id "loss-train", "loss-val", "acc-train" or "acc-val", and one
 * <circle> per point with that id as its class.
 */
#ifndef MNIST_PLOT_H
#define MNIST_PLOT_H

#include <stddef.h>

#include "mnist/error.h"

/* One epoch's metrics. Non-finite values are left out of the curves. */
typedef struct {
    int epoch;        /* 1-based */
    double loss, acc; /* on the training data */
    int has_val;
    double val_loss, val_acc;
} mn_plot_point;

/* Renders the SVG for pts[0..n) (n may be 0: empty axes) into *out
 * (NUL-terminated, release with free()), *out_len bytes without the NUL.
 * epochs is the planned number of epochs (the x range); title may be NULL. */
int mn_plot_svg(const char *title, int epochs, const mn_plot_point *pts, int n, char **out, size_t *out_len,
                mn_err *e);

/* Renders and writes it to path atomically (see mn_write_file_atomic). */
int mn_plot_write(const char *path, const char *title, int epochs, const mn_plot_point *pts, int n, mn_err *e);

/* A plot that grows an epoch at a time, rewriting its file each time. */
typedef struct {
    const char *path; /* not copied: must outlive the plot */
    char title[256];
    int epochs;
    int n, cap;
    mn_plot_point *pts;
} mn_plot;

void mn_plot_init(mn_plot *p, const char *path, const char *title, int epochs);
/* Appends pt (replacing a point of the same epoch, as after a resume) and
 * rewrites the file. */
int mn_plot_add(mn_plot *p, const mn_plot_point *pt, mn_err *e);
void mn_plot_free(mn_plot *p);

/* ---- bar charts (mnist features --svg) ------------------------------------
 * Panels stacked top to bottom, 900 user units wide and 230 high each
 * (plus 50 for the title): a frame, a zero line, y ticks, one <rect> per
 * value with class "bar" (or "bar predicted" for the highlighted one) and
 * a <title> tooltip "i: value"; each panel is a <g> with the given id.
 * Positive values are green, negative red (as the weight pictures);
 * percent panels (probabilities) are blue with the highlighted bar orange,
 * a 0-100% axis, and each bar labelled with its index and percentage. */
typedef struct {
    const char *title;
    const char *id;
    const float *v;
    int n;
    int highlight; /* a bar to mark, or -1 */
    int percent;   /* values are probabilities */
} mn_bar_panel;

int mn_plot_bars_svg(const char *title, const mn_bar_panel *p, int n, char **out, size_t *out_len, mn_err *e);
int mn_plot_bars_write(const char *path, const char *title, const mn_bar_panel *p, int n, mn_err *e);

#endif
