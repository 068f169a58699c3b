/* pngread.c - a PNG decoder to 8-bit grey (see image.h).
 *
 * The whole file is in memory. Chunks are walked once, checking each CRC
 * and the chunk order, and the IDAT payloads are gathered into one zlib
 * stream, which is inflated (gzip.c) to exactly the size the header implies.
 * Then each pass (one, or Adam7's seven) is unfiltered in place, row by row,
 * and converted pixel by pixel to grey composited on white.
 */
#include <stdlib.h>
#include <string.h>

#include "mnist/gzip.h"
#include "mnist/image.h"

static const uint8_t png_sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};

typedef struct {
    const char *name;
    mn_err *e;
    uint32_t w, h;
    unsigned depth, ctype, interlace;
    unsigned channels;     /* samples per pixel */
    unsigned pixel_bits;   /* depth * channels */
    uint8_t pal[256][4];   /* RGBA */
    unsigned pal_n;        /* palette entries, 0 if none */
    int have_trns;
    uint16_t trns[3];      /* grey, or R G B, for colour types 0 and 2 */
} png;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Bytes of one row of `width` pixels, without the filter byte. */
static uint64_t row_bytes(const png *g, uint64_t width)
{
    return (width * g->pixel_bits + 7) / 8;
}

static int check_ihdr(png *g, const uint8_t *d, uint32_t len)
{
    if (len != 13)
        return mn_fail(g->e, "%s: IHDR chunk has %lu bytes, not 13", g->name, (unsigned long)len);
    g->w = be32(d);
    g->h = be32(d + 4);
    g->depth = d[8];
    g->ctype = d[9];
    g->interlace = d[12];
    if (g->w == 0 || g->h == 0)
        return mn_fail(g->e, "%s: image is %lux%lu: zero width or height", g->name, (unsigned long)g->w,
                       (unsigned long)g->h);
    if (g->w > 0x7FFFFFFFu || g->h > 0x7FFFFFFFu)
        return mn_fail(g->e, "%s: invalid image size %lux%lu (at most 2^31-1)", g->name, (unsigned long)g->w,
                       (unsigned long)g->h);
    if (g->w > MN_IMAGE_MAX_DIM || g->h > MN_IMAGE_MAX_DIM)
        return mn_fail(g->e, "%s: image is %lux%lu, too large (at most %dx%d)", g->name, (unsigned long)g->w,
                       (unsigned long)g->h, MN_IMAGE_MAX_DIM, MN_IMAGE_MAX_DIM);
    int ok;
    switch (g->ctype) {
    case 0:
        ok = g->depth == 1 || g->depth == 2 || g->depth == 4 || g->depth == 8 || g->depth == 16;
        g->channels = 1;
        break;
    case 3:
        ok = g->depth == 1 || g->depth == 2 || g->depth == 4 || g->depth == 8;
        g->channels = 1;
        break;
    case 2:
    case 4:
    case 6:
        ok = g->depth == 8 || g->depth == 16;
        g->channels = g->ctype == 2 ? 3 : g->ctype == 4 ? 2 : 4;
        break;
    default:
        return mn_fail(g->e, "%s: invalid PNG colour type %u", g->name, g->ctype);
    }
    if (!ok)
        return mn_fail(g->e, "%s: bit depth %u is not allowed for colour type %u", g->name, g->depth, g->ctype);
    if (d[10] != 0)
        return mn_fail(g->e, "%s: unknown PNG compression method %u", g->name, d[10]);
    if (d[11] != 0)
        return mn_fail(g->e, "%s: unknown PNG filter method %u", g->name, d[11]);
    if (g->interlace > 1)
        return mn_fail(g->e, "%s: unknown PNG interlace method %u", g->name, g->interlace);
    g->pixel_bits = g->depth * g->channels;
    return 0;
}

static int read_plte(png *g, const uint8_t *d, uint32_t len)
{
    if (g->ctype == 0 || g->ctype == 4)
        return mn_fail(g->e, "%s: PLTE chunk in a greyscale image (colour type %u)", g->name, g->ctype);
    if (len == 0 || len % 3 != 0 || len > 768)
        return mn_fail(g->e, "%s: PLTE chunk length %lu is not 3 to 768 bytes in threes", g->name,
                       (unsigned long)len);
    g->pal_n = len / 3;
    if (g->ctype == 3 && g->pal_n > (1u << g->depth))
        return mn_fail(g->e, "%s: palette has %u entries, more than bit depth %u allows", g->name, g->pal_n,
                       g->depth);
    for (unsigned i = 0; i < g->pal_n; i++) {
        g->pal[i][0] = d[3 * i];
        g->pal[i][1] = d[3 * i + 1];
        g->pal[i][2] = d[3 * i + 2];
        g->pal[i][3] = 255;
    }
    return 0;
}

static int read_trns(png *g, const uint8_t *d, uint32_t len)
{
    switch (g->ctype) {
    case 0:
        if (len != 2)
            return mn_fail(g->e, "%s: tRNS chunk has %lu bytes, not 2 (greyscale)", g->name, (unsigned long)len);
        g->trns[0] = (uint16_t)be16(d);
        break;
    case 2:
        if (len != 6)
            return mn_fail(g->e, "%s: tRNS chunk has %lu bytes, not 6 (RGB)", g->name, (unsigned long)len);
        for (int i = 0; i < 3; i++)
            g->trns[i] = (uint16_t)be16(d + 2 * i);
        break;
    case 3:
        if (!g->pal_n)
            return mn_fail(g->e, "%s: tRNS chunk before PLTE", g->name);
        if (len > g->pal_n)
            return mn_fail(g->e, "%s: tRNS chunk has %lu entries, more than the palette's %u", g->name,
                           (unsigned long)len, g->pal_n);
        for (uint32_t i = 0; i < len; i++)
            g->pal[i][3] = d[i];
        break;
    default:
        return mn_fail(g->e, "%s: tRNS chunk not allowed with an alpha channel (colour type %u)", g->name,
                       g->ctype);
    }
    g->have_trns = 1;
    return 0;
}

/* ---- filters ------------------------------------------------------------- */

static uint8_t paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return (uint8_t)a;
    return (uint8_t)(pb <= pc ? b : c);
}

/* Undoes the filter of one row in place; prev is the unfiltered previous
 * row of the same pass, or NULL for its first row. */
static int unfilter(png *g, unsigned type, uint8_t *row, const uint8_t *prev, size_t n, size_t bpp, uint32_t y)
{
    switch (type) {
    case 0:
        break;
    case 1:
        for (size_t i = bpp; i < n; i++)
            row[i] = (uint8_t)(row[i] + row[i - bpp]);
        break;
    case 2:
        if (prev)
            for (size_t i = 0; i < n; i++)
                row[i] = (uint8_t)(row[i] + prev[i]);
        break;
    case 3:
        for (size_t i = 0; i < n; i++) {
            unsigned a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
            row[i] = (uint8_t)(row[i] + ((a + b) >> 1));
        }
        break;
    case 4:
        for (size_t i = 0; i < n; i++) {
            int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
            row[i] = (uint8_t)(row[i] + paeth(a, b, c));
        }
        break;
    default:
        return mn_fail(g->e, "%s: invalid filter type %u in row %lu", g->name, type, (unsigned long)y);
    }
    return 0;
}

/* ---- pixels to grey -------------------------------------------------------- */

static unsigned sample(const png *g, const uint8_t *row, uint32_t x, unsigned c)
{
    if (g->depth == 8)
        return row[(size_t)x * g->channels + c];
    if (g->depth == 16)
        return be16(row + 2 * ((size_t)x * g->channels + c));
    /* 1, 2, 4 bits: one channel, packed from the most significant bit. */
    size_t bit = (size_t)x * g->depth;
    unsigned shift = 8u - g->depth - (unsigned)(bit & 7u);
    return (row[bit >> 3] >> shift) & ((1u << g->depth) - 1u);
}

static uint8_t to_u8(double v)
{
    if (v <= 0.0)
        return 0;
    if (v >= 255.0)
        return 255;
    return (uint8_t)(v + 0.5);
}

/* Converts one unfiltered row of a pass to grey in out (every dx-th pixel). */
static int convert_row(const png *g, const uint8_t *row, uint32_t width, uint8_t *out, size_t dx, uint32_t y)
{
    const double maxv = (double)((1u << g->depth) - 1u);
    for (uint32_t x = 0; x < width; x++) {
        double grey, alpha = 1.0; /* grey in 0..255 */
        switch (g->ctype) {
        case 0: {
            unsigned v = sample(g, row, x, 0);
            grey = 255.0 * v / maxv;
            if (g->have_trns && v == g->trns[0])
                alpha = 0.0;
            break;
        }
        case 2: {
            unsigned r = sample(g, row, x, 0), gr = sample(g, row, x, 1), b = sample(g, row, x, 2);
            grey = 255.0 * (0.299 * r + 0.587 * gr + 0.114 * b) / maxv;
            if (g->have_trns && r == g->trns[0] && gr == g->trns[1] && b == g->trns[2])
                alpha = 0.0;
            break;
        }
        case 3: {
            unsigned i = sample(g, row, x, 0);
            if (i >= g->pal_n)
                return mn_fail(g->e, "%s: palette index %u out of range (%u entries) at pixel (%lu, %lu)", g->name,
                               i, g->pal_n, (unsigned long)x, (unsigned long)y);
            grey = 0.299 * g->pal[i][0] + 0.587 * g->pal[i][1] + 0.114 * g->pal[i][2];
            alpha = g->pal[i][3] / 255.0;
            break;
        }
        case 4:
            grey = 255.0 * sample(g, row, x, 0) / maxv;
            alpha = sample(g, row, x, 1) / maxv;
            break;
        default: { /* 6 */
            unsigned r = sample(g, row, x, 0), gr = sample(g, row, x, 1), b = sample(g, row, x, 2);
            grey = 255.0 * (0.299 * r + 0.587 * gr + 0.114 * b) / maxv;
            alpha = sample(g, row, x, 3) / maxv;
            break;
        }
        }
        out[(size_t)x * dx] = to_u8(grey * alpha + 255.0 * (1.0 - alpha));
    }
    return 0;
}

/* ---- passes ---------------------------------------------------------------- */

typedef struct {
    uint32_t x0, y0, dx, dy;
} pass_geom;

static const pass_geom adam7[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                   {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
static const pass_geom whole = {0, 0, 1, 1};

static uint32_t pass_len(uint32_t size, uint32_t start, uint32_t step)
{
    return size > start ? (size - start + step - 1) / step : 0;
}

/* Bytes of filtered data all passes need. */
static uint64_t raw_size(const png *g)
{
    int np = g->interlace ? 7 : 1;
    uint64_t total = 0;
    for (int p = 0; p < np; p++) {
        const pass_geom *pg = g->interlace ? &adam7[p] : &whole;
        uint32_t pw = pass_len(g->w, pg->x0, pg->dx), ph = pass_len(g->h, pg->y0, pg->dy);
        if (pw && ph)
            total += (uint64_t)ph * (1 + row_bytes(g, pw));
    }
    return total;
}

static int decode_passes(png *g, uint8_t *raw, uint8_t *px)
{
    int np = g->interlace ? 7 : 1;
    size_t bpp = g->pixel_bits >= 8 ? g->pixel_bits / 8 : 1;
    uint8_t *p = raw;
    for (int k = 0; k < np; k++) {
        const pass_geom *pg = g->interlace ? &adam7[k] : &whole;
        uint32_t pw = pass_len(g->w, pg->x0, pg->dx), ph = pass_len(g->h, pg->y0, pg->dy);
        if (!pw || !ph)
            continue;
        size_t rb = (size_t)row_bytes(g, pw);
        const uint8_t *prev = NULL;
        for (uint32_t r = 0; r < ph; r++) {
            uint32_t y = pg->y0 + r * pg->dy;
            if (unfilter(g, p[0], p + 1, prev, rb, bpp, y))
                return -1;
            if (convert_row(g, p + 1, pw, px + (size_t)y * g->w + pg->x0, pg->dx, y))
                return -1;
            prev = p + 1;
            p += 1 + rb;
        }
    }
    return 0;
}

/* ---- chunks ---------------------------------------------------------------- */

static int is_letter(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int mn_png_decode(const uint8_t *buf, size_t n, const char *name, mn_image *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(PNG data)";
    if (!buf || n < 8 || memcmp(buf, png_sig, 8) != 0)
        return mn_fail(e, "%s: not a PNG file (bad signature)", name);

    png *g = calloc(1, sizeof *g);
    if (!g)
        return mn_fail(e, "%s: out of memory", name);
    g->name = name;
    g->e = e;

    uint8_t *idat = NULL, *raw = NULL;
    size_t idat_len = 0, idat_cap = 0, pos = 8;
    int have_ihdr = 0, have_plte = 0, seen_idat = 0, idat_done = 0, have_iend = 0, rc = -1;
    unsigned chunk_no = 0;

    while (!have_iend) {
        if (pos == n) {
            mn_fail(e, "%s: truncated: no IEND chunk", name);
            goto out;
        }
        if (n - pos < 12) {
            mn_fail(e, "%s: truncated: chunk header at byte %zu needs 12 bytes, %zu left", name, pos, n - pos);
            goto out;
        }
        const uint8_t *c = buf + pos;
        uint32_t len = be32(c);
        char type[5];
        memcpy(type, c + 4, 4);
        type[4] = '\0';
        if (!is_letter(c[4]) || !is_letter(c[5]) || !is_letter(c[6]) || !is_letter(c[7])) {
            mn_fail(e, "%s: invalid chunk type 0x%02x%02x%02x%02x at byte %zu", name, c[4], c[5], c[6], c[7], pos);
            goto out;
        }
        if (len > 0x7FFFFFFFu) {
            mn_fail(e, "%s: chunk %s at byte %zu: length %lu is too large", name, type, pos, (unsigned long)len);
            goto out;
        }
        if (n - pos - 12 < len) {
            mn_fail(e, "%s: truncated: chunk %s needs %lu bytes, %zu left", name, type, (unsigned long)len + 12,
                    n - pos);
            goto out;
        }
        const uint8_t *d = c + 8;
        uint32_t want = be32(d + len), got = mn_crc32(0, c + 4, (size_t)len + 4);
        if (want != got) {
            mn_fail(e, "%s: chunk %s: CRC mismatch (stored 0x%08lx, computed 0x%08lx)", name, type,
                    (unsigned long)want, (unsigned long)got);
            goto out;
        }
        chunk_no++;
        if (chunk_no == 1 && strcmp(type, "IHDR") != 0) {
            mn_fail(e, "%s: first chunk is %s, not IHDR", name, type);
            goto out;
        }
        int is_idat = !strcmp(type, "IDAT");
        if (seen_idat && !is_idat)
            idat_done = 1;
        if (!strcmp(type, "IHDR")) {
            if (have_ihdr) {
                mn_fail(e, "%s: more than one IHDR chunk", name);
                goto out;
            }
            if (check_ihdr(g, d, len))
                goto out;
            have_ihdr = 1;
        } else if (!strcmp(type, "PLTE")) {
            if (have_plte || seen_idat || g->have_trns) {
                mn_fail(e, "%s: PLTE chunk %s", name,
                        have_plte ? "repeated" : seen_idat ? "after the image data" : "after tRNS");
                goto out;
            }
            if (read_plte(g, d, len))
                goto out;
            have_plte = 1;
        } else if (!strcmp(type, "tRNS")) {
            if (g->have_trns || seen_idat) {
                mn_fail(e, "%s: tRNS chunk %s", name, g->have_trns ? "repeated" : "after the image data");
                goto out;
            }
            if (read_trns(g, d, len))
                goto out;
        } else if (is_idat) {
            if (idat_done) {
                mn_fail(e, "%s: IDAT chunks are not consecutive", name);
                goto out;
            }
            if (g->ctype == 3 && !have_plte) {
                mn_fail(e, "%s: palette image without a PLTE chunk", name);
                goto out;
            }
            seen_idat = 1;
            if (len > idat_cap - idat_len) {
                size_t cap = idat_cap ? idat_cap : 4096;
                while (cap - idat_len < len)
                    cap *= 2;
                uint8_t *p = realloc(idat, cap);
                if (!p) {
                    mn_fail(e, "%s: out of memory for image data", name);
                    goto out;
                }
                idat = p;
                idat_cap = cap;
            }
            if (len)
                memcpy(idat + idat_len, d, len);
            idat_len += len;
        } else if (!strcmp(type, "IEND")) {
            if (len != 0) {
                mn_fail(e, "%s: IEND chunk is not empty (%lu bytes)", name, (unsigned long)len);
                goto out;
            }
            have_iend = 1;
        } else if (!(c[4] & 0x20)) {
            mn_fail(e, "%s: unknown critical chunk %s", name, type);
            goto out;
        }
        pos += 12 + (size_t)len;
    }
    /* Bytes after IEND are ignored, as other decoders do. */
    if (!seen_idat) {
        mn_fail(e, "%s: no image data (IDAT chunk)", name);
        goto out;
    }

    uint64_t want_raw = raw_size(g);
    if (want_raw > SIZE_MAX / 2) {
        mn_fail(e, "%s: image too large for this machine", name);
        goto out;
    }
    size_t raw_len;
    if (mn_zlib_decompress(idat, idat_len, &raw, &raw_len, (size_t)want_raw, name, e))
        goto out;
    if (raw_len != want_raw) {
        mn_fail(e, "%s: image data too short: %zu bytes, expected %llu for %lux%lu pixels", name, raw_len,
                (unsigned long long)want_raw, (unsigned long)g->w, (unsigned long)g->h);
        goto out;
    }
    uint8_t *px = malloc((size_t)g->w * g->h);
    if (!px) {
        mn_fail(e, "%s: out of memory for %lux%lu pixels", name, (unsigned long)g->w, (unsigned long)g->h);
        goto out;
    }
    if (decode_passes(g, raw, px)) {
        free(px);
        goto out;
    }
    out->w = (int)g->w;
    out->h = (int)g->h;
    out->px = px;
    rc = 0;
out:
    free(raw);
    free(idat);
    free(g);
    return rc;
}
