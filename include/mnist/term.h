/* term.h - pictures in a terminal: rows of small RGB tiles printed with
 * half blocks (each character cell two pixels, the upper-half block in the
 * upper pixel's colour on the lower one's) in 24-bit or 256 colours, or as
 * plain characters (two a pixel) when colour is off.
 *
 * Plain characters: a grey pixel (r = g = b) is one of " .:-=+*#%@" by its
 * level; a pixel that is mostly green (positive values in the diverging map
 * of netpics.h) one of " +*#", mostly red (negative) one of " -=%", by its
 * brightness. In 256 colours, greys use the 24-step grey ramp (16 black,
 * 231 white) and other colours the 6x6x6 cube. */
#ifndef MNIST_TERM_H
#define MNIST_TERM_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    MN_TERM_PLAIN, /* characters only: no escape codes */
    MN_TERM_256,   /* xterm 256-colour half blocks */
    MN_TERM_24BIT, /* 24-bit ("truecolor") half blocks */
} mn_term_mode;

/* The mode for writing to f: plain unless f is a terminal and NO_COLOR is
 * unset (or force_color), then 24-bit when $COLORTERM says "truecolor" or
 * "24bit", else 256 colours; force_plain wins over everything. */
mn_term_mode mn_term_mode_for(FILE *f, int force_color, int force_plain);

/* Columns of the terminal f is (its window size), else $COLUMNS, else 80. */
int mn_term_columns(FILE *f);

/* xterm-256 colour of a grey level: 16 is black, 231 white, 232..255 the
 * ramp 8, 18, ..., 238 in between. */
int mn_term_grey256(int v);
/* xterm-256 colour of an RGB colour (greys as mn_term_grey256). */
int mn_term_rgb256(uint32_t rgb);

/* One tile: w x h pixels of RGB (3 bytes each, top row first), and a
 * caption printed above it (cut to the tile's width; NULL for none). */
typedef struct {
    const uint8_t *rgb;
    int w, h;
    const char *caption;
} mn_term_tile;

/* Prints tiles side by side, as many a row as fit in `columns`, `gap`
 * columns apart: a caption line (when any tile of the row has one), then
 * the pixels (ceil(h / 2) lines of half blocks, or h lines of two
 * characters a pixel when plain; a tile is 2w columns wide when plain, w
 * otherwise), rows of tiles separated by a blank line. Shorter tiles are
 * padded with black. Each line of a tile ends with a colour reset. */
void mn_term_tiles(FILE *f, const mn_term_tile *t, int n, int columns, int gap, mn_term_mode mode);

#endif
