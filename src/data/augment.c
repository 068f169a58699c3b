/* augment.c - see include/mnist/augment.h. */
#include "mnist/augment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mn_augment_parse(mn_augment *a, const char *spec, mn_err *e)
{
    *a = (mn_augment){0};
    if (!spec || !strcmp(spec, "none")) return 0;
    mn_augment r = {0};
    const char *p = spec;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 4 && !strncmp(p, "flip", 4) && !r.flip) {
            r.flip = 1;
        } else if (n > 6 && !strncmp(p, "shift:", 6) && !r.shift) {
            char *end;
            long v = strtol(p + 6, &end, 10);
            if (end != p + n || p[6] < '0' || p[6] > '9' || v < 1 || v > MN_AUGMENT_MAX_SHIFT)
                return mn_fail(e, "--augment: shift needs a whole number of pixels from 1 to %d, e.g. shift:2",
                               MN_AUGMENT_MAX_SHIFT);
            r.shift = (int)v;
        } else {
            return mn_fail(e, "--augment: '%.*s' is not shift:N or flip (each at most once), e.g. shift:2,flip",
                           (int)(n < 40 ? n : 40), p);
        }
        if (!p[n]) break;
        p += n + 1;
    }
    *a = r;
    return 0;
}

void mn_augment_describe(const mn_augment *a, char *buf, size_t len)
{
    if (!mn_augment_on(a))
        snprintf(buf, len, "none");
    else if (a->shift && a->flip)
        snprintf(buf, len, "shift:%d,flip", a->shift);
    else if (a->shift)
        snprintf(buf, len, "shift:%d", a->shift);
    else
        snprintf(buf, len, "flip");
}

/* out = img moved by (dy, dx), zeros where nothing moved in. */
static void shift_image(float *out, const float *img, int rows, int cols, int dy, int dx)
{
    memset(out, 0, (size_t)rows * cols * sizeof *out);
    int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? cols + dx : cols; /* destination columns */
    for (int y = 0; y < rows; y++) {
        int sy = y - dy;
        if (sy < 0 || sy >= rows || x1 <= x0) continue;
        memcpy(out + (size_t)y * cols + x0, img + (size_t)sy * cols + (x0 - dx), (size_t)(x1 - x0) * sizeof *out);
    }
}

static void flip_image(float *img, int rows, int cols)
{
    for (int y = 0; y < rows; y++) {
        float *r = img + (size_t)y * cols;
        for (int i = 0, j = cols - 1; i < j; i++, j--) {
            float t = r[i];
            r[i] = r[j];
            r[j] = t;
        }
    }
}

void mn_augment_batch(const mn_augment *a, float *x, int B, int rows, int cols, float *tmp, mn_rng *rng)
{
    if (!mn_augment_on(a)) return;
    size_t pix = (size_t)rows * cols;
    for (int i = 0; i < B; i++) {
        float *img = x + (size_t)i * pix;
        /* the draws per image are fixed: two offsets (if shifting), one coin (if flipping) */
        if (a->shift) {
            int span = 2 * a->shift + 1;
            int dy = (int)mn_rng_below(rng, (uint32_t)span) - a->shift;
            int dx = (int)mn_rng_below(rng, (uint32_t)span) - a->shift;
            if (dy || dx) {
                shift_image(tmp, img, rows, cols, dy, dx);
                memcpy(img, tmp, pix * sizeof *img);
            }
        }
        if (a->flip && (mn_rng_next(rng) >> 63)) flip_image(img, rows, cols);
    }
}
