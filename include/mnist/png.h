/* png.h - writing PNG images (grey or RGB, 8 bits per sample), without zlib.
 *
 * A PNG written here is: the signature, IHDR, one IDAT holding a zlib
 * stream (RFC 1950) of the filtered scanlines, and IEND. Each row gets the
 * PNG filter (None, Sub, Up, Average, Paeth) with the smallest sum of
 * absolute values, the usual heuristic. The zlib stream is our own deflate
 * (RFC 1951) encoder: one fixed-Huffman block with LZ77 matches (hash
 * chains over a 32 KiB window), or stored blocks when those come out
 * smaller (noise does not compress). Non-interlaced; no ancillary chunks.
 *
 * Files are written atomically: to "<path>.tmp.<pid>", flushed to disk,
 * then renamed over path, so a reader (an image viewer watching the file)
 * never sees half an image and a failed write leaves the old file alone.
 * Errors name the file, e.g. "out/x.png: cannot create out/x.png.tmp.42:
 * No such file or directory". Nothing is printed.
 */
#ifndef MNIST_PNG_H
#define MNIST_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

/* Largest width or height accepted (PNG itself allows 2^31 - 1). */
#define MN_PNG_MAX_DIM 65535

/* Writes a w x h image with `channels` samples per pixel: 1 (greyscale,
 * colour type 0) or 3 (RGB, colour type 2). pixels holds h rows of
 * w * channels bytes, top row first. */
int mn_png_write(const char *path, int w, int h, int channels, const uint8_t *pixels, mn_err *e);

/* The same PNG file in memory: *out (release with free()) of *out_len bytes. */
int mn_png_encode(int w, int h, int channels, const uint8_t *pixels, uint8_t **out, size_t *out_len, mn_err *e);

/* How mn_png_zlib may encode its deflate blocks. */
typedef enum {
    MN_DEFLATE_AUTO,   /* fixed Huffman, or stored if that is smaller */
    MN_DEFLATE_STORED, /* stored blocks only (at most 65535 bytes each) */
    MN_DEFLATE_FIXED   /* one fixed-Huffman block with LZ77 matches */
} mn_deflate_mode;

/* Compresses in[0..n) into a zlib stream: the 2-byte header (deflate, 32 KiB
 * window), the deflate blocks, and the big-endian Adler-32 of the input.
 * *out is released with free(). Fails only when out of memory. */
int mn_png_zlib(const uint8_t *in, size_t n, mn_deflate_mode mode, uint8_t **out, size_t *out_len, mn_err *e);

/* Adler-32 (RFC 1950): a = mn_png_adler32(1, buf, n) for a whole buffer;
 * pass the previous result to continue over more data. */
uint32_t mn_png_adler32(uint32_t adler, const void *buf, size_t n);

/* Writes data[0..n) to path atomically (temp file, fsync, rename), as above.
 * Used for the PNG and SVG outputs. */
int mn_write_file_atomic(const char *path, const void *data, size_t n, mn_err *e);

#endif
