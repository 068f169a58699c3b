/* image.h - reading PNG and PGM images, and MNIST-style preprocessing.
 *
 * Readers (our own; nothing but the C library and gzip.h's inflater):
 *   - PGM, plain (P2, ASCII) and raw (P5, binary), maxval 1..65535 (two
 *     big-endian bytes per sample when maxval > 255), '#' comments in the
 *     header. Only the first image of a multi-image file is read.
 *   - PNG: every colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha,
 *     6 RGBA) at every bit depth the spec allows for it (1, 2, 4, 8, 16),
 *     the five filter types, Adam7 interlacing, tRNS transparency. Chunk
 *     CRCs, IHDR fields, chunk order (PLTE before IDAT, consecutive IDATs,
 *     IEND), the zlib stream and the exact amount of image data are checked;
 *     unknown ancillary chunks are skipped, unknown critical ones rejected.
 * Either way the result is 8-bit grey (0 black, 255 white): colour becomes
 * luma (0.299 R + 0.587 G + 0.114 B, as ITU-R BT.601 and PIL's "L"), samples
 * are rescaled to 0..255 with rounding, and alpha is composited on white.
 * Images may be at most MN_IMAGE_MAX_DIM pixels on a side.
 *
 * Every malformed input is an error with one line naming the input, e.g.
 *   "d.png: chunk IHDR: CRC mismatch (stored 0x..., computed 0x...)"
 *   "d.png: truncated: chunk IDAT needs 8192 bytes, 100 left"
 *   "d.pgm: pixel value 300 exceeds maxval 255 (pixel 17)"
 * and never a crash: the decoder takes a memory buffer so that it can be
 * fuzzed directly.
 *
 * Preprocessing turns a picture of one digit into what an MNIST model was
 * trained on, the way MNIST itself was made: light ink on a black ground,
 * the digit scaled (anti-aliased) to fit a 20x20 box keeping its aspect
 * ratio, placed in a 28x28 field so that its centre of mass is at the centre
 * (pixel coordinates (14, 14), as in MNIST where the mean is 14.0). Library
 * code: nothing is printed.
 */
#ifndef MNIST_IMAGE_H
#define MNIST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

#define MN_IMAGE_MAX_DIM 16384
/* Largest image file mn_image_read accepts. */
#define MN_IMAGE_MAX_FILE ((size_t)1 << 30)

/* An 8-bit grey image, row-major, w * h bytes (owned). */
typedef struct {
    int w, h;
    uint8_t *px;
} mn_image;

/* Decodes a PNG or PGM image (told apart by their signatures) held in
 * buf[0..n) into *out (release with mn_image_free). name is used only in
 * error messages. On failure *out is empty ({0, 0, NULL}). */
int mn_image_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e);

/* The same for a file (at most MN_IMAGE_MAX_FILE bytes); errors name path. */
int mn_image_read(const char *path, mn_image *out, mn_err *e);

/* The two formats separately (mn_image_decode dispatches to them). */
int mn_png_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e);
int mn_pgm_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e);

void mn_image_free(mn_image *im);

/* ---- preprocessing ------------------------------------------------------ */

#define MN_MNIST_SIDE 28
#define MN_MNIST_BOX 20
#define MN_MNIST_PIXELS (MN_MNIST_SIDE * MN_MNIST_SIDE)

/* Pixels at or above this (after inversion and contrast stretch) are ink
 * for the bounding box. */
#define MN_INK_THRESHOLD 64

/* What mn_image_mnist did, for reports and tests. */
typedef struct {
    int inverted;           /* the background was light, so grey was inverted */
    int background;         /* mean border grey, 0..255, before inversion */
    int blank;              /* no ink found: the output is all black */
    int x0, y0, x1, y1;     /* ink bounding box in the input, inclusive */
    int box_w, box_h;       /* size of the scaled digit, each <= 20 */
    int shift_x, shift_y;   /* top-left corner of the scaled digit in the 28x28 field */
} mn_prep_info;

/* MNIST-style preprocessing of im into out[28*28] (0 background, 255 ink):
 *  1. background: the mean of the border pixels; if it is light (> 127.5)
 *     the image is inverted so that ink is light on dark;
 *  2. contrast: grey levels from the background level up to the brightest
 *     pixel are stretched to 0..255 (anything darker than the background
 *     becomes 0), so a grey paper or a faint pencil look like MNIST;
 *  3. crop to the bounding box of the pixels >= MN_INK_THRESHOLD;
 *  4. scale the crop so its longer side is 20 pixels, keeping the aspect
 *     ratio: area averaging (a box filter) when shrinking, bilinear
 *     interpolation when enlarging, each axis separately;
 *  5. paste into a black 28x28 field, shifted (by whole pixels) so that the
 *     centre of mass of the grey levels lands at (14, 14), clipping what
 *     falls outside.
 * An image without ink gives an all-black field (info->blank = 1). info may
 * be NULL. Fails only when out of memory. */
int mn_image_mnist(const mn_image *im, uint8_t out[MN_MNIST_PIXELS], mn_prep_info *info, mn_err *e);

/* The input a classifier is given for a user's picture: mn_image_mnist, or
 * with raw mn_image_resize28; but an image with no digit (no ink: blank, or
 * a single flat colour; with raw, every pixel the same grey) is an error,
 * "no digit found: ...", rather than an all-black field to guess at. */
int mn_image_prepare(const mn_image *im, int raw, uint8_t out[MN_MNIST_PIXELS], mn_err *e);

/* Just resizes the whole image to 28x28 (each axis on its own; area
 * averaging when shrinking, bilinear when enlarging): no inversion, crop or
 * centring. */
int mn_image_resize28(const mn_image *im, uint8_t out[MN_MNIST_PIXELS], mn_err *e);

/* General resize of im to w x h into out (w*h bytes), as above. */
int mn_image_resize(const mn_image *im, int w, int h, uint8_t *out, mn_err *e);

/* Grey levels to the floats a model is fed, exactly as in training
 * (mn_dataset_batch): out[i] = px[i] / 255. */
void mn_image_to_float(const uint8_t *px, size_t n, float *out);

#endif
