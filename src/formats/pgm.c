/* pgm.c - PGM (netpbm greymap) reader, plain P2 and raw P5 (see image.h). */
#include <stdlib.h>
#include <string.h>

#include "mnist/image.h"

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    const char *name;
    mn_err *e;
} cursor;

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and '#' comments (to the end of the line). */
static void skip_blank(cursor *c)
{
    while (c->pos < c->n) {
        uint8_t ch = c->p[c->pos];
        if (is_space(ch)) {
            c->pos++;
        } else if (ch == '#') {
            while (c->pos < c->n && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
                c->pos++;
        } else {
            break;
        }
    }
}

/* Reads an unsigned decimal number up to `max` after optional blanks.
 * Returns 0, or -1 with an error saying what was being read. */
static int read_uint(cursor *c, const char *what, unsigned long max, unsigned long *v)
{
    skip_blank(c);
    if (c->pos >= c->n)
        return mn_fail(c->e, "%s: truncated: expected the %s, found the end of the file", c->name, what);
    size_t start = c->pos;
    unsigned long x = 0;
    while (c->pos < c->n && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        unsigned long d = (unsigned long)(c->p[c->pos] - '0');
        if (x > (max - d) / 10)
            return mn_fail(c->e, "%s: %s at byte %zu is larger than %lu", c->name, what, start, max);
        x = 10 * x + d;
        c->pos++;
    }
    if (c->pos == start)
        return mn_fail(c->e, "%s: expected the %s at byte %zu, found 0x%02x", c->name, what, start, c->p[start]);
    if (c->pos < c->n && !is_space(c->p[c->pos]) && c->p[c->pos] != '#')
        return mn_fail(c->e, "%s: junk after the %s at byte %zu (0x%02x)", c->name, what, c->pos, c->p[c->pos]);
    *v = x;
    return 0;
}

static uint8_t scale(unsigned long v, unsigned long maxval)
{
    return (uint8_t)((v * 255 + maxval / 2) / maxval);
}

int mn_pgm_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(PGM data)";
    if (!buf || n < 2 || buf[0] != 'P' || buf[1] < '1' || buf[1] > '7')
        return mn_fail(e, "%s: not a PGM file (bad magic)", name);
    if (buf[1] != '2' && buf[1] != '5')
        return mn_fail(e, "%s: netpbm format P%c is not supported (only P2 and P5 greymaps)", name, buf[1]);
    int plain = buf[1] == '2';
    if (n == 2)
        return mn_fail(e, "%s: truncated: nothing after the magic", name);
    if (!is_space(buf[2]) && buf[2] != '#')
        return mn_fail(e, "%s: not a PGM file (bad magic)", name);

    cursor c = {buf, n, 2, name, e};
    unsigned long w, h, maxval;
    if (read_uint(&c, "width", 0xFFFFFFFFul, &w) || read_uint(&c, "height", 0xFFFFFFFFul, &h) ||
        read_uint(&c, "maxval", 0xFFFFFFFFul, &maxval))
        return -1;
    if (w == 0 || h == 0)
        return mn_fail(e, "%s: image is %lux%lu: zero width or height", name, w, h);
    if (w > MN_IMAGE_MAX_DIM || h > MN_IMAGE_MAX_DIM)
        return mn_fail(e, "%s: image is %lux%lu, too large (at most %dx%d)", name, w, h, MN_IMAGE_MAX_DIM,
                       MN_IMAGE_MAX_DIM);
    if (maxval == 0 || maxval > 65535)
        return mn_fail(e, "%s: maxval %lu is not 1 to 65535", name, maxval);

    size_t count = (size_t)w * h;
    if (plain && (n - c.pos) / 2 < count - 1) /* each value takes a digit and a separator */
        return mn_fail(e, "%s: truncated: %lux%lu pixels need at least %zu bytes of values, %zu left", name, w, h,
                       2 * count - 1, n - c.pos);
    if (!plain) {
        /* Exactly one whitespace character separates maxval from the raster. */
        if (c.pos >= n)
            return mn_fail(e, "%s: truncated: no pixel data", name);
        if (!is_space(buf[c.pos]))
            return mn_fail(e, "%s: expected one whitespace character after maxval at byte %zu", name, c.pos);
        c.pos++;
        size_t bps = maxval > 255 ? 2 : 1, need = count * bps;
        if (n - c.pos < need)
            return mn_fail(e, "%s: truncated: %lux%lu pixels need %zu bytes, %zu left", name, w, h, need,
                           n - c.pos);
    }
    uint8_t *px = malloc(count);
    if (!px)
        return mn_fail(e, "%s: out of memory for %lux%lu pixels", name, w, h);
    const uint8_t *r = buf + c.pos;
    for (size_t i = 0; i < count; i++) {
        unsigned long v;
        if (plain) {
            skip_blank(&c);
            if (c.pos >= n) {
                free(px);
                return mn_fail(e, "%s: truncated: %zu of %zu pixel values", name, i, count);
            }
            if (read_uint(&c, "pixel value", 0xFFFFFFFFul, &v)) {
                free(px);
                return -1;
            }
        } else if (maxval > 255) {
            v = (unsigned long)r[2 * i] << 8 | r[2 * i + 1];
        } else {
            v = r[i];
        }
        if (v > maxval) {
            free(px);
            return mn_fail(e, "%s: pixel value %lu exceeds maxval %lu (pixel %zu)", name, v, maxval, i);
        }
        px[i] = scale(v, maxval);
    }
    out->w = (int)w;
    out->h = (int)h;
    out->px = px;
    return 0;
}
