/* digits.c - grids of generated or reconstructed digits and a latent-space
 * scatter plot, as PNG (see draw.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/draw.h"
#include "mnist/png.h"

#define GAP 2

int mn_draw_digit_grid(const char *path, const float *img, int n, int rows, int cols, int per_row, int scale,
                       const char *const *labels, mn_err *e)
{
    if (n < 1 || per_row < 1 || rows < 1 || cols < 1 || scale < 1) return mn_fail(e, "%s: nothing to draw", path);
    int grid_rows = (n + per_row - 1) / per_row, label_w = 0;
    if (labels)
        for (int r = 0; r < grid_rows; r++) {
            int w = labels[r] ? mn_text_width(labels[r], 2) + 6 : 0;
            if (w > label_w) label_w = w;
        }
    int tw = cols * scale, th = rows * scale;
    int W = label_w + GAP + per_row * (tw + GAP), H = GAP + grid_rows * (th + GAP);
    if ((double)W * H > 1e8) return mn_fail(e, "%s: a %d x %d picture is too large", path, W, H);
    mn_canvas c;
    if (mn_canvas_init(&c, W, H, 1, 0x404040, e)) return -1;
    uint8_t *tile = malloc((size_t)rows * cols);
    if (!tile) {
        mn_canvas_free(&c);
        return mn_fail(e, "%s: out of memory", path);
    }
    for (int i = 0; i < n; i++) {
        const float *x = img + (size_t)i * rows * cols;
        for (int p = 0; p < rows * cols; p++) {
            float v = x[p] < 0.0f ? 0.0f : x[p] > 1.0f ? 1.0f : x[p];
            tile[p] = (uint8_t)(v * 255.0f + 0.5f);
        }
        int r = i / per_row, k = i % per_row;
        mn_canvas_image(&c, label_w + GAP + k * (tw + GAP), GAP + r * (th + GAP), tile, rows, cols, scale);
    }
    if (labels)
        for (int r = 0; r < grid_rows; r++)
            if (labels[r]) mn_canvas_text(&c, 3, GAP + r * (th + GAP) + (th - 2 * MN_FONT_H) / 2, labels[r], 2, 0xFFFFFF);
    free(tile);
    int rc = mn_png_write(path, c.w, c.h, c.channels, c.px, e);
    mn_canvas_free(&c);
    return rc;
}

/* ten colours that stay apart (Tableau's palette) */
static const uint32_t palette[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

int mn_draw_scatter(const char *path, const float *xy, const int *cls, int n, int size, mn_err *e)
{
    if (n < 1 || size < 64 || size > 4096) return mn_fail(e, "%s: nothing to draw", path);
    float lo[2] = {xy[0], xy[1]}, hi[2] = {xy[0], xy[1]};
    for (int i = 0; i < n; i++)
        for (int d = 0; d < 2; d++) {
            if (xy[2 * i + d] < lo[d]) lo[d] = xy[2 * i + d];
            if (xy[2 * i + d] > hi[d]) hi[d] = xy[2 * i + d];
        }
    int legend = 60, W = size + legend, H = size;
    mn_canvas c;
    if (mn_canvas_init(&c, W, H, 3, 0xFFFFFF, e)) return -1;
    for (int i = 0; i < n; i++) {
        float u = hi[0] > lo[0] ? (xy[2 * i] - lo[0]) / (hi[0] - lo[0]) : 0.5f;
        float v = hi[1] > lo[1] ? (xy[2 * i + 1] - lo[1]) / (hi[1] - lo[1]) : 0.5f;
        int x = 4 + (int)(u * (float)(size - 10)), y = size - 6 - (int)(v * (float)(size - 10));
        mn_canvas_fill(&c, x, y, 2, 2, palette[(cls[i] % 10 + 10) % 10]);
    }
    for (int k = 0; k < 10; k++) {
        char t[4];
        snprintf(t, sizeof t, "%d", k);
        mn_canvas_fill(&c, size + 10, 10 + k * 20, 10, 10, palette[k]);
        mn_canvas_text(&c, size + 26, 11 + k * 20, t, 1, 0x000000);
    }
    int rc = mn_png_write(path, c.w, c.h, c.channels, c.px, e);
    mn_canvas_free(&c);
    return rc;
}
