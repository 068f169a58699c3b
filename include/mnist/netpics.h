/* netpics.h - pictures of what a network learned: its weights as images
 * (mnist weights) and one image's path through it (mnist features), as a
 * canvas (for png.h) or as terminal tiles (term.h).
 *
 * Nothing here asks which kind a layer is. Weights are found and laid out
 * from the layer's tensor descriptors (layer.h): its trainable tensor
 * "weight" (else the first trainable one with two or more dimensions):
 *   - 4-D [OC, C, KH, KW] (a convolution's filters): one tile per filter,
 *     C planes of KH x KW each, enlarged with the pixels visible;
 *   - 2-D [units, inputs] in a layer whose input is the image (only views
 *     such as flatten before it) and as long as it: one tile per unit, its
 *     weights laid out as the input image (C planes of H x W);
 *   - any other (2-D, or more folded to [shape0, rest]): a heat map of the
 *     matrix, units down and inputs across.
 * Weights use a diverging map (mn_diverging): green positive, red
 * negative, black at zero, brighter with the magnitude, on one scale for
 * the layer (the largest magnitude) or one per tile (unit_scale).
 *
 * A layer's output is drawn as its kind's `draw` says, and as its shape
 * has room for: MN_DRAW_NONE not at all; otherwise C maps of H x W (each
 * on its own grey scale, from its minimum black to its maximum white)
 * when H x W > 1, a row of bars (one per value, green up for positive, red
 * down for negative) when flat. The input comes first as maps, the class
 * probabilities last as a labelled bar chart with the predicted class
 * marked.
 */
#ifndef MNIST_NETPICS_H
#define MNIST_NETPICS_H

#include <stdint.h>
#include <stdio.h>

#include "mnist/draw.h"
#include "mnist/error.h"
#include "mnist/model.h"
#include "mnist/term.h"

/* The diverging colour of v on scale s (0xRRGGBB): t = v / s clipped to
 * [-1, 1]; (0, 255 t, 0) for t > 0, (255 |t|, 0, 0) for t < 0, rounded;
 * black for 0, a non-finite v or s <= 0. */
uint32_t mn_diverging(float v, float s);

typedef enum {
    MN_WEIGHTS_IMAGE,   /* a unit's weights as the input image */
    MN_WEIGHTS_FILTERS, /* conv filters */
    MN_WEIGHTS_MATRIX,  /* a heat map */
} mn_weights_form;

/* A layer's weights and how they are drawn. */
typedef struct {
    mn_weights_form form;
    int layer;
    char name[64];       /* as in the model file: "1.weight" */
    int ndim, shape[4];
    const float *w;      /* in the model's parameters */
    int n;               /* tiles: units or filters (1 for a matrix) */
    int c, h, wd;        /* a tile: c planes of h x wd (a matrix: 1 x units x inputs) */
} mn_weights_view;

/* Layer `layer`'s weights into *v: 0, or -1 (e set) when it has none or is
 * out of range. */
int mn_weights_find(const mn_model *m, int layer, mn_weights_view *v, mn_err *e);
/* The first layer with weights, or -1. */
int mn_weights_first(const mn_model *m);

typedef struct {
    int cols;       /* tiles a row (0: about a square grid) */
    int unit_scale; /* each tile (a matrix: each row) on its own scale */
} mn_weights_opts;

/* Geometry of the tile grid mn_weights_canvas draws, for tests. */
typedef struct {
    int px;            /* screen pixels a weight */
    int tile_w, tile_h;/* one tile's pixels (planes and their gaps) */
    int cols, rows;    /* of tiles */
    int x0, y0;        /* top-left corner of tile 0 */
    int step_x, step_y;/* from one tile to the next */
    int plane_cols;    /* planes a row inside a tile */
} mn_weights_layout;

/* The picture of v: a title, a colour bar with the scale's values, and the
 * tiles (numbered) or the heat map. *lay (may be NULL) receives where the
 * weights went: weight (plane p, row y, col x) of tile t is the px x px
 * square (less its 1-pixel grid line when px >= 6) at
 *   x0 + (t % cols) * step_x + (p % plane_cols) * (wd * px + 2) + x * px,
 *   y0 + (t / cols) * step_y + (p / plane_cols) * (h * px + 2) + y * px. */
int mn_weights_canvas(const mn_model *m, const mn_weights_view *v, const mn_weights_opts *o, mn_canvas *c,
                      mn_weights_layout *lay, mn_err *e);
/* The same in a terminal `columns` wide. */
int mn_weights_print(FILE *f, const mn_model *m, const mn_weights_view *v, const mn_weights_opts *o,
                     mn_term_mode mode, int columns, mn_err *e);

/* ---- one image through the network ---------------------------------------
 * The model is one opened with mn_model_open_unfused on which mn_model_infer
 * has just run one image: m->input, m->act[i] and m->probs are read. */

/* The class with the highest probability. */
int mn_features_predicted(const mn_model *m);
/* Everything, top to bottom, each layer captioned with its summary label
 * and output shape. */
int mn_features_canvas(const mn_model *m, mn_canvas *c, mn_err *e);
int mn_features_print(FILE *f, const mn_model *m, mn_term_mode mode, int columns, mn_err *e);
/* The dense activations' bars and the probability chart as SVG (plot.h's
 * mn_plot_bars_svg), written atomically to path. */
int mn_features_svg(const mn_model *m, const char *path, mn_err *e);

#endif
