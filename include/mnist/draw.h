/* draw.h - a pixel canvas, a built-in 5x7 bitmap font and the few drawing
 * helpers the image outputs need (digit tiles with captions; see png.h to
 * save a canvas).
 *
 * A canvas is w x h pixels of 1 (grey) or 3 (RGB) bytes, top row first,
 * exactly what mn_png_write takes. Colours are given as 0xRRGGBB; on a grey
 * canvas they become their luma (0.299 R + 0.587 G + 0.114 B). Everything
 * drawn is clipped to the canvas, so callers need not check bounds.
 *
 * The font covers digits, A-Z (lower case is drawn as upper case), space
 * and  > < : / . , - + = % ( ) # ? _ ; any other character is drawn as '?'.
 * Each glyph is 5x7 with one column of spacing: text advances 6 * scale
 * pixels per character and is 7 * scale pixels high.
 */
#ifndef MNIST_DRAW_H
#define MNIST_DRAW_H

#include <stdint.h>

#include "mnist/error.h"

#define MN_FONT_W 5
#define MN_FONT_H 7
#define MN_FONT_ADVANCE 6

typedef struct {
    int w, h, channels;
    uint8_t *px; /* h * w * channels bytes, owned */
} mn_canvas;

/* Allocates a canvas filled with colour bg. channels is 1 or 3. */
int mn_canvas_init(mn_canvas *c, int w, int h, int channels, uint32_t bg, mn_err *e);
void mn_canvas_free(mn_canvas *c);

/* Fills the rectangle [x, x+w) x [y, y+h). */
void mn_canvas_fill(mn_canvas *c, int x, int y, int w, int h, uint32_t rgb);

/* Draws a rows x cols grey image (0 black .. 255 white) with its top-left
 * corner at (x, y), each pixel as a scale x scale square. */
void mn_canvas_image(mn_canvas *c, int x, int y, const uint8_t *grey, int rows, int cols, int scale);

/* Draws s with its top-left corner at (x, y), each font pixel a scale x
 * scale square; returns the x just after the text. */
int mn_canvas_text(mn_canvas *c, int x, int y, const char *s, int scale, uint32_t rgb);

/* Width in pixels of s drawn at scale (without the spacing after the last
 * character): 0 for "", else (6 * len - 1) * scale. */
int mn_text_width(const char *s, int scale);

/* The glyph drawn for ch: 7 rows of 5 characters, '#' for ink and '.' for
 * background. Never NULL. */
const char *const *mn_font_glyph(int ch);

/* Pictures of digits (src/draw/digits.c), written as PNG:
 * n images of rows x cols floats in [0, 1] (white ink on black, as MNIST),
 * per_row to a row, each pixel scale x scale, with an optional caption per
 * grid row (labels[r], or NULL). */
int mn_draw_digit_grid(const char *path, const float *img, int n, int rows, int cols, int per_row, int scale,
                       const char *const *labels, mn_err *e);
/* n points (x, y pairs) coloured by class 0-9 on a size x size plot, axes
 * fitted to the data, with a colour legend (the VAE's latent means). */
int mn_draw_scatter(const char *path, const float *xy, const int *cls, int n, int size, mn_err *e);

#endif
