/* image.c - image files in, MNIST-style 28x28 digits out (see image.h). */
#include "mnist/image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decoding ------------------------------------------------------------- */

int mn_image_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(image)";
    if (!buf || n == 0)
        return mn_fail(e, "%s: empty file, not an image", name);
    if (n >= 4 && buf[0] == 0x89 && buf[1] == 'P' && buf[2] == 'N' && buf[3] == 'G')
        return mn_png_decode(buf, n, name, out, e);
    if (n >= 2 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7')
        return mn_pgm_decode(buf, n, name, out, e);
    return mn_fail(e, "%s: not a PNG or PGM image", name);
}

int mn_image_read(const char *path, mn_image *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mn_fail(e, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len == cap) {
            if (cap >= MN_IMAGE_MAX_FILE) {
                mn_fail(e, "%s: file too large for an image (more than %zu bytes)", path, MN_IMAGE_MAX_FILE);
                goto out;
            }
            size_t ncap = cap ? 2 * cap : 65536;
            if (ncap > MN_IMAGE_MAX_FILE)
                ncap = MN_IMAGE_MAX_FILE;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                mn_fail(e, "%s: out of memory reading the file", path);
                goto out;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len < cap) {
            if (ferror(f)) {
                mn_fail(e, "%s: read error: %s", path, errno ? strerror(errno) : "unknown error");
                goto out;
            }
            if (feof(f))
                break;
        }
    }
    rc = mn_image_decode(buf, len, path, out, e);
out:
    free(buf);
    fclose(f);
    return rc;
}

void mn_image_free(mn_image *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* ---- resampling ------------------------------------------------------------ */

/* Resamples n samples (src[0], src[ss], ...) to m (dst[0], dst[ds], ...):
 * each output sample is the mean of the source interval it covers when
 * shrinking (n > m), and linear interpolation at its centre otherwise. */
static void resample_1d(const float *src, size_t ss, int n, float *dst, size_t ds, int m)
{
    double step = (double)n / m;
    if (n > m) {
        for (int o = 0; o < m; o++) {
            double a = (double)o * n / m, b = (double)(o + 1) * n / m;
            int i = (int)a;
            double acc = 0.0;
            for (; i < n && i < b; i++) {
                double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
                acc += src[(size_t)i * ss] * (hi - lo);
            }
            dst[(size_t)o * ds] = (float)(acc / step);
        }
    } else {
        for (int o = 0; o < m; o++) {
            double p = (o + 0.5) * step - 0.5;
            if (p < 0)
                p = 0;
            if (p > n - 1)
                p = n - 1;
            int i = (int)p, j = i + 1 < n ? i + 1 : i;
            double f = p - i;
            dst[(size_t)o * ds] = (float)(src[(size_t)i * ss] * (1.0 - f) + src[(size_t)j * ss] * f);
        }
    }
}

/* Resizes the sw x sh region at px (rows `stride` bytes apart) to dw x dh
 * floats (0..255) in out: rows first, then columns. */
static int resize_region(const uint8_t *px, size_t stride, int sw, int sh, float *out, int dw, int dh, mn_err *e)
{
    float *row = malloc(sizeof(float) * (size_t)sw);
    float *tmp = malloc(sizeof(float) * (size_t)sh * (size_t)dw);
    if (!row || !tmp) {
        free(row);
        free(tmp);
        return mn_fail(e, "out of memory resizing a %dx%d image", sw, sh);
    }
    for (int y = 0; y < sh; y++) {
        const uint8_t *s = px + (size_t)y * stride;
        for (int x = 0; x < sw; x++)
            row[x] = s[x];
        resample_1d(row, 1, sw, tmp + (size_t)y * dw, 1, dw);
    }
    for (int x = 0; x < dw; x++)
        resample_1d(tmp + x, (size_t)dw, sh, out + x, (size_t)dw, dh);
    free(row);
    free(tmp);
    return 0;
}

static uint8_t round_u8(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 255;
    return (uint8_t)(v + 0.5f);
}

int mn_image_resize(const mn_image *im, int w, int h, uint8_t *out, mn_err *e)
{
    if (!im->px || im->w <= 0 || im->h <= 0 || w <= 0 || h <= 0)
        return mn_fail(e, "cannot resize an empty image");
    float *f = malloc(sizeof(float) * (size_t)w * (size_t)h);
    if (!f)
        return mn_fail(e, "out of memory resizing to %dx%d", w, h);
    if (resize_region(im->px, (size_t)im->w, im->w, im->h, f, w, h, e)) {
        free(f);
        return -1;
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        out[i] = round_u8(f[i]);
    free(f);
    return 0;
}

int mn_image_resize28(const mn_image *im, uint8_t out[MN_MNIST_PIXELS], mn_err *e)
{
    return mn_image_resize(im, MN_MNIST_SIDE, MN_MNIST_SIDE, out, e);
}

void mn_image_to_float(const uint8_t *px, size_t n, float *out)
{
    const float scale = 1.0f / 255.0f; /* as mn_dataset_batch */
    for (size_t i = 0; i < n; i++)
        out[i] = (float)px[i] * scale;
}

/* ---- MNIST-style preprocessing ---------------------------------------------- */

int mn_image_mnist(const mn_image *im, uint8_t out[MN_MNIST_PIXELS], mn_prep_info *info, mn_err *e)
{
    mn_prep_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    memset(out, 0, MN_MNIST_PIXELS);
    if (!im->px || im->w <= 0 || im->h <= 0)
        return mn_fail(e, "cannot preprocess an empty image");
    const int W = im->w, H = im->h;

    /* 1. Background from the border. */
    double border = 0.0;
    size_t nb = 0;
    for (int y = 0; y < H; y++) {
        const uint8_t *r = im->px + (size_t)y * W;
        if (y == 0 || y == H - 1) {
            for (int x = 0; x < W; x++)
                border += r[x];
            nb += (size_t)W;
        } else {
            border += r[0];
            nb++;
            if (W > 1) {
                border += r[W - 1];
                nb++;
            }
        }
    }
    double bg = border / (double)nb;
    info->background = (int)(bg + 0.5);
    info->inverted = bg > 127.5;
    double bg_ink = info->inverted ? 255.0 - bg : bg;

    /* 2. Contrast: ink levels [background, brightest] -> [0, 255]. */
    uint8_t lut[256];
    int hi = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        int v = info->inverted ? 255 - im->px[i] : im->px[i];
        if (v > hi)
            hi = v;
    }
    if (hi - bg_ink < 16.0) { /* nothing stands out from the background */
        info->blank = 1;
        return 0;
    }
    for (int v = 0; v < 256; v++) {
        int ink = info->inverted ? 255 - v : v;
        double s = (ink - bg_ink) * 255.0 / (hi - bg_ink);
        lut[v] = s <= 0.0 ? 0 : s >= 255.0 ? 255 : (uint8_t)(s + 0.5);
    }

    /* 3. Bounding box of the ink. */
    int x0 = W, y0 = H, x1 = -1, y1 = -1;
    for (int y = 0; y < H; y++) {
        const uint8_t *r = im->px + (size_t)y * W;
        for (int x = 0; x < W; x++) {
            if (lut[r[x]] >= MN_INK_THRESHOLD) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    }
    if (x1 < 0) {
        info->blank = 1;
        return 0;
    }
    info->x0 = x0;
    info->y0 = y0;
    info->x1 = x1;
    info->y1 = y1;
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;

    /* 4. Scale the crop to fit 20x20, keeping the aspect ratio. */
    int longest = bw > bh ? bw : bh;
    int nw = (int)((double)bw * MN_MNIST_BOX / longest + 0.5), nh = (int)((double)bh * MN_MNIST_BOX / longest + 0.5);
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    info->box_w = nw;
    info->box_h = nh;
    uint8_t *crop = malloc((size_t)bw * (size_t)bh);
    if (!crop)
        return mn_fail(e, "out of memory preprocessing a %dx%d image", W, H);
    for (int y = 0; y < bh; y++) {
        const uint8_t *r = im->px + (size_t)(y0 + y) * W + x0;
        for (int x = 0; x < bw; x++)
            crop[(size_t)y * bw + x] = lut[r[x]];
    }
    float digit[MN_MNIST_BOX * MN_MNIST_BOX];
    int rc = resize_region(crop, (size_t)bw, bw, bh, digit, nw, nh, e);
    free(crop);
    if (rc)
        return -1;

    /* 5. Centre of mass to (14, 14), in whole pixels; clip. */
    uint8_t q[MN_MNIST_BOX * MN_MNIST_BOX];
    double mass = 0.0, mx = 0.0, my = 0.0;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            uint8_t v = round_u8(digit[y * nw + x]);
            q[y * nw + x] = v;
            mass += v;
            mx += (double)v * x;
            my += (double)v * y;
        }
    double cx = mass > 0 ? mx / mass : (nw - 1) / 2.0, cy = mass > 0 ? my / mass : (nh - 1) / 2.0;
    int ox = (int)floor(MN_MNIST_SIDE / 2.0 - cx + 0.5), oy = (int)floor(MN_MNIST_SIDE / 2.0 - cy + 0.5);
    info->shift_x = ox;
    info->shift_y = oy;
    for (int y = 0; y < nh; y++) {
        int ty = y + oy;
        if (ty < 0 || ty >= MN_MNIST_SIDE)
            continue;
        for (int x = 0; x < nw; x++) {
            int tx = x + ox;
            if (tx >= 0 && tx < MN_MNIST_SIDE)
                out[ty * MN_MNIST_SIDE + tx] = q[y * nw + x];
        }
    }
    return 0;
}

int mn_image_prepare(const mn_image *im, int raw, uint8_t out[MN_MNIST_PIXELS], mn_err *e)
{
    if (raw) {
        size_t n = im->px ? (size_t)im->w * (size_t)im->h : 0, i = 1;
        while (i < n && im->px[i] == im->px[0]) i++;
        if (n && i == n) return mn_fail(e, "no digit found: the image is one flat grey level (%d)", im->px[0]);
        return mn_image_resize28(im, out, e);
    }
    mn_prep_info info;
    if (mn_image_mnist(im, out, &info, e)) return -1;
    if (info.blank)
        return mn_fail(e, "no digit found: nothing stands out from the background (grey %d): a blank or flat image",
                       info.background);
    return 0;
}
