/* test_png.c - the PNG writer, its zlib/deflate encoder, the bitmap font and
 * canvas, and the SVG plot.
 *
 * Every zlib stream is decoded twice: by the project's inflater
 * (mn_zlib_decompress, gzip.h) and by a small one written here for the two
 * block types the encoder may emit (stored and fixed Huffman), which rejects
 * anything else and tells which block types it saw. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist/draw.h"
#include "mnist/gzip.h"
#include "mnist/plot.h"
#include "mnist/png.h"
#include "mnist/rng.h"
#include "test.h"

/* ---- a reference inflater for stored and fixed-Huffman blocks ------------ */

typedef struct {
    const uint8_t *p;
    size_t n, pos; /* pos in bits */
    int bad;
} bits;

static unsigned get_bit(bits *b)
{
    if (b->pos >= 8 * b->n) {
        b->bad = 1;
        return 0;
    }
    unsigned v = (b->p[b->pos / 8] >> (b->pos % 8)) & 1u;
    b->pos++;
    return v;
}

static unsigned get_bits(bits *b, int k) /* LSB first */
{
    unsigned v = 0;
    for (int i = 0; i < k; i++) v |= get_bit(b) << i;
    return v;
}

static unsigned get_code(bits *b, int k) /* MSB first (Huffman codes) */
{
    unsigned v = 0;
    for (int i = 0; i < k; i++) v = v << 1 | get_bit(b);
    return v;
}

static int fixed_litlen(bits *b)
{
    unsigned v = get_code(b, 7);
    if (v <= 0x17) return 256 + (int)v;
    v = v << 1 | get_bit(b);
    if (v >= 0x30 && v <= 0xbf) return (int)v - 0x30;
    if (v >= 0xc0 && v <= 0xc7) return 280 + (int)v - 0xc0;
    v = v << 1 | get_bit(b);
    if (v >= 0x190 && v <= 0x1ff) return 144 + (int)v - 0x190;
    return -1;
}

static const int LB[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                           31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const int LX[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const int DB[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                           1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const int DX[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Decodes a zlib stream; returns the output (free it) or NULL if anything is
 * wrong. *types gets a bit per block type seen (1 stored, 2 fixed). */
static uint8_t *ref_unzlib(const uint8_t *z, size_t zn, size_t *out_len, int *types)
{
    *types = 0;
    if (zn < 6 || (z[0] & 0x0f) != 8 || (z[0] >> 4) > 7 || ((unsigned)z[0] << 8 | z[1]) % 31 || (z[1] & 0x20))
        return NULL;
    size_t cap = 1024, len = 0;
    uint8_t *out = malloc(cap);
    bits b = {z + 2, zn - 6, 0, 0};
    int final = 0;
    while (!final && !b.bad) {
        final = (int)get_bit(&b);
        unsigned type = get_bits(&b, 2);
        if (type == 0) {
            *types |= 1;
            b.pos = (b.pos + 7) / 8 * 8;
            unsigned l = get_bits(&b, 16), nl = get_bits(&b, 16);
            if ((l ^ 0xffffu) != nl) goto fail;
            if (b.pos / 8 + l > b.n) goto fail;
            while (len + l > cap) cap *= 2, out = realloc(out, cap);
            memcpy(out + len, b.p + b.pos / 8, l);
            len += l, b.pos += 8 * (size_t)l;
        } else if (type == 1) {
            *types |= 2;
            for (;;) {
                int s = fixed_litlen(&b);
                if (s < 0 || s > 285 || b.bad) goto fail;
                if (s == 256) break;
                if (len + 258 > cap) cap *= 2, out = realloc(out, cap);
                if (s < 256) {
                    out[len++] = (uint8_t)s;
                    continue;
                }
                int L = LB[s - 257] + (int)get_bits(&b, LX[s - 257]);
                int dc = (int)get_code(&b, 5);
                if (dc > 29) goto fail;
                size_t D = (size_t)DB[dc] + get_bits(&b, DX[dc]);
                if (D > len || D > 32768) goto fail;
                for (int k = 0; k < L; k++, len++) out[len] = out[len - D];
            }
        } else {
            goto fail;
        }
    }
    if (b.bad) goto fail;
    size_t end = (b.pos + 7) / 8; /* the Adler-32 follows the last block, byte-aligned */
    if (end != b.n) goto fail;
    const uint8_t *a = z + 2 + end;
    uint32_t adler = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    if (adler != mn_png_adler32(1, out, len)) goto fail;
    *out_len = len;
    return out;
fail:
    free(out);
    return NULL;
}

/* Adler-32 the slow way, straight from the definition. */
static uint32_t slow_adler(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) a = (a + p[i]) % 65521, b = (b + a) % 65521;
    return b << 16 | a;
}

static void test_adler(void)
{
    CHECK(mn_png_adler32(1, "", 0) == 1);
    CHECK(mn_png_adler32(1, "Wikipedia", 9) == 0x11E60398u);
    size_t n = 100000;
    uint8_t *buf = malloc(n);
    memset(buf, 0xff, n); /* the worst case for the deferred modulo */
    CHECK(mn_png_adler32(1, buf, n) == slow_adler(buf, n));
    uint32_t part = mn_png_adler32(1, buf, 12345);
    CHECK(mn_png_adler32(part, buf + 12345, n - 12345) == slow_adler(buf, n));
    CHECK(mn_png_adler32(1, buf, n) == mn_adler32(1, buf, n)); /* gzip.c's, for zlib streams */
    free(buf);
    CHECK(mn_crc32(0, "123456789", 9) == 0xCBF43926u); /* the chunk CRC we rely on */
}

/* Round-trips in[0..n) through every mode; returns the AUTO size. */
static size_t roundtrip(const char *what, const uint8_t *in, size_t n, int auto_type)
{
    size_t auto_size = 0;
    for (int mode = MN_DEFLATE_AUTO; mode <= MN_DEFLATE_FIXED; mode++) {
        uint8_t *z = NULL, *back;
        size_t zn, bn = 0;
        int types;
        mn_err e;
        CHECK_MSG(mn_png_zlib(in, n, (mn_deflate_mode)mode, &z, &zn, &e) == 0, "%s", what);
        CHECK_MSG(z[0] == 0x78 && ((unsigned)z[0] << 8 | z[1]) % 31 == 0, "%s: zlib header", what);
        back = ref_unzlib(z, zn, &bn, &types);
        CHECK_MSG(back && bn == n && (n == 0 || memcmp(back, in, n) == 0), "%s, mode %d: decodes back", what, mode);
        uint8_t *inf = NULL;
        size_t infn = 0;
        CHECK_MSG(mn_zlib_decompress(z, zn, &inf, &infn, n + 1, what, &e) == 0 && infn == n &&
                      (n == 0 || memcmp(inf, in, n) == 0),
                  "%s, mode %d: mn_zlib_decompress agrees", what, mode);
        free(inf);
        int want = mode == MN_DEFLATE_STORED ? 1 : mode == MN_DEFLATE_FIXED ? 2 : auto_type;
        CHECK_MSG(types == want, "%s, mode %d: block types %d, wanted %d", what, mode, types, want);
        if (mode == MN_DEFLATE_STORED) /* 2 + 5 per block of <= 65535 + data + 4 */
            CHECK_MSG(zn == 2 + 5 * (n ? (n + 65534) / 65535 : 1) + n + 4, "%s: stored size %zu", what, zn);
        if (mode == MN_DEFLATE_AUTO) auto_size = zn;
        free(back);
        free(z);
    }
    return auto_size;
}

static void test_deflate(void)
{
    roundtrip("empty", NULL, 0, 2);
    roundtrip("one byte", (const uint8_t *)"a", 1, 2); /* 18 bits beat a 5-byte stored header */
    const char *s = "abcabcabcabcabcabcabcabcabc hello hello hello hello hello";
    roundtrip("short repeats", (const uint8_t *)s, strlen(s), 2);

    size_t n = 200000;
    uint8_t *buf = malloc(n);
    memset(buf, 0, n);
    size_t zsize = roundtrip("zeros", buf, n, 2);
    CHECK_MSG(zsize < n / 100, "zeros compress: %zu bytes", zsize);

    mn_rng r;
    mn_rng_seed(&r, 7);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)mn_rng_below(&r, 256);
    zsize = roundtrip("noise", buf, n, 1); /* several stored blocks */
    CHECK(zsize == 2 + 5 * 4 + n + 4);

    /* text-like data with matches at all distances, some far back */
    for (size_t i = 0; i < n; i++) {
        if (i > 40000 && mn_rng_below(&r, 4) == 0) buf[i] = buf[i - 1 - mn_rng_below(&r, 32768)];
        else buf[i] = (uint8_t)('a' + mn_rng_below(&r, 6));
    }
    zsize = roundtrip("mixed", buf, n, 2);
    CHECK_MSG(zsize < n * 3 / 4, "mixed compresses: %zu bytes", zsize);
    /* long runs: matches of the maximum length 258 and distance 1 */
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i / 1000 % 3);
    roundtrip("runs", buf, n, 2);
    free(buf);
}

/* ---- PNG files ------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Parses a PNG; checks the chunk structure and CRCs and returns the pixels. */
static uint8_t *parse_png(const uint8_t *f, size_t n, int *w, int *h, int *ch, const char *what)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    CHECK_MSG(n > 8 && memcmp(f, sig, 8) == 0, "%s: signature", what);
    size_t at = 8;
    const char *order[3] = {"IHDR", "IDAT", "IEND"};
    const uint8_t *idat = NULL;
    size_t idat_len = 0;
    int k = 0;
    while (at + 12 <= n && k < 3) {
        uint32_t len = be32(f + at);
        if (at + 12 + len > n) break;
        CHECK_MSG(memcmp(f + at + 4, order[k], 4) == 0, "%s: chunk %d is %.4s", what, k, (const char *)f + at + 4);
        CHECK_MSG(be32(f + at + 8 + len) == mn_crc32(0, f + at + 4, len + 4), "%s: %s CRC", what, order[k]);
        const uint8_t *d = f + at + 8;
        if (k == 0) {
            CHECK(len == 13);
            *w = (int)be32(d), *h = (int)be32(d + 4);
            CHECK_MSG(d[8] == 8, "%s: bit depth %d", what, d[8]);
            CHECK_MSG(d[9] == 0 || d[9] == 2, "%s: colour type %d", what, d[9]);
            CHECK(d[10] == 0 && d[11] == 0 && d[12] == 0);
            *ch = d[9] == 2 ? 3 : 1;
        } else if (k == 1) {
            idat = d, idat_len = len;
        } else {
            CHECK(len == 0);
        }
        at += 12 + len, k++;
    }
    CHECK_MSG(k == 3 && at == n, "%s: IHDR, IDAT, IEND and nothing else", what);
    if (k != 3) return NULL;
    size_t raw_len;
    int types;
    uint8_t *raw = ref_unzlib(idat, idat_len, &raw_len, &types), *inf = NULL;
    size_t inf_len = 0;
    mn_err e;
    CHECK_MSG(mn_zlib_decompress(idat, idat_len, &inf, &inf_len, SIZE_MAX, what, &e) == 0 && raw &&
                  inf_len == raw_len && memcmp(inf, raw, raw_len) == 0,
              "%s: mn_zlib_decompress agrees on IDAT", what);
    free(inf);
    size_t nb = (size_t)*w * (size_t)*ch;
    CHECK_MSG(raw && raw_len == (nb + 1) * (size_t)*h, "%s: IDAT decodes to the scanlines", what);
    if (!raw || raw_len != (nb + 1) * (size_t)*h) {
        free(raw);
        return NULL;
    }
    uint8_t *px = malloc(nb * (size_t)*h);
    for (int y = 0; y < *h; y++) {
        const uint8_t *src = raw + (size_t)y * (nb + 1);
        uint8_t *row = px + (size_t)y * nb, *up = y ? row - nb : NULL;
        CHECK_MSG(src[0] <= 4, "%s: filter type %d", what, src[0]);
        for (size_t i = 0; i < nb; i++) {
            int a = i >= (size_t)*ch ? row[i - (size_t)*ch] : 0, b = up ? up[i] : 0;
            int c = up && i >= (size_t)*ch ? up[i - (size_t)*ch] : 0;
            int pred = src[0] == 1 ? a : src[0] == 2 ? b : src[0] == 3 ? (a + b) / 2 : src[0] == 4 ? paeth(a, b, c) : 0;
            row[i] = (uint8_t)(src[1 + i] + pred);
        }
    }
    free(raw);
    return px;
}

static void check_image(int w, int h, int ch, const uint8_t *px, const char *what)
{
    uint8_t *f;
    size_t n;
    mn_err e;
    CHECK_MSG(mn_png_encode(w, h, ch, px, &f, &n, &e) == 0, "%s", what);
    int pw = 0, ph = 0, pch = 0;
    uint8_t *back = parse_png(f, n, &pw, &ph, &pch, what);
    CHECK_MSG(pw == w && ph == h && pch == ch, "%s: IHDR %dx%dx%d", what, pw, ph, pch);
    CHECK_MSG(back && memcmp(back, px, (size_t)w * (size_t)h * (size_t)ch) == 0, "%s: same pixels", what);
    free(back);
    free(f);
}

static void test_png(void)
{
    mn_rng r;
    mn_rng_seed(&r, 3);
    uint8_t px[64 * 48 * 3];
    /* a gradient with noise exercises every filter type */
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64 * 3; x++) px[y * 64 * 3 + x] = (uint8_t)(x * 2 + y * 3 + mn_rng_below(&r, 4));
    check_image(64, 48, 3, px, "rgb gradient");
    check_image(64, 48, 1, px, "grey gradient");
    check_image(1, 1, 1, px, "1x1 grey");
    check_image(7, 5, 3, px, "7x5 rgb");
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)mn_rng_below(&r, 256);
    check_image(64, 48, 3, px, "rgb noise");

    /* files: same bytes as in memory, atomically, errors name the file */
    char path[64];
    snprintf(path, sizeof path, "test_png_%ld.png", (long)getpid());
    mn_err e;
    CHECK(mn_png_write(path, 7, 5, 3, px, &e) == 0);
    uint8_t *mem;
    size_t n;
    CHECK(mn_png_encode(7, 5, 3, px, &mem, &n, &e) == 0);
    FILE *f = fopen(path, "rb");
    uint8_t *disk = malloc(n + 1);
    size_t got = f ? fread(disk, 1, n + 1, f) : 0;
    if (f) fclose(f);
    CHECK(got == n && memcmp(disk, mem, n) == 0);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    remove(path);
    free(disk);
    free(mem);

    CHECK(mn_png_write("no/such/dir/x.png", 7, 5, 3, px, &e) == -1);
    CHECK_MSG(strstr(e.msg, "no/such/dir/x.png: cannot create") == e.msg, "%s", e.msg);
    CHECK(mn_png_write("x.png", 0, 5, 3, px, &e) == -1);
    CHECK_MSG(strstr(e.msg, "x.png: image size 0x5") == e.msg, "%s", e.msg);
    CHECK(mn_png_write("x.png", 7, 5, 2, px, &e) == -1);
    CHECK_MSG(strstr(e.msg, "x.png: 2 channels") == e.msg, "%s", e.msg);
    CHECK(access("x.png", F_OK) != 0);
}

/* ---- font and canvas ------------------------------------------------------ */

static int ink(const char *const *g)
{
    int k = 0;
    for (int r = 0; r < MN_FONT_H; r++)
        for (int c = 0; c < MN_FONT_W; c++) k += g[r][c] == '#';
    return k;
}

static int same_glyph(const char *const *a, const char *const *b)
{
    for (int r = 0; r < MN_FONT_H; r++)
        if (strcmp(a[r], b[r])) return 0;
    return 1;
}

static void test_font(void)
{
    const char *chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ><:/.,-+=%()#?_abdefghnqrt";
    for (const char *c = chars; *c; c++) {
        const char *const *g = mn_font_glyph(*c);
        int ok = 1;
        for (int r = 0; r < MN_FONT_H; r++) {
            ok &= strlen(g[r]) == MN_FONT_W;
            for (int k = 0; k < MN_FONT_W; k++) ok &= g[r][k] == '#' || g[r][k] == '.';
        }
        CHECK_MSG(ok, "glyph '%c' is 7 rows of 5", *c);
        CHECK_MSG((*c == ' ') == (ink(g) == 0), "glyph '%c' has ink unless a space", *c);
        CHECK_MSG(*c == '?' || g != mn_font_glyph('?'), "glyph '%c' exists", *c);
        for (const char *d = chars; d < c; d++) /* no two glyphs look alike */
            CHECK_MSG(!same_glyph(g, mn_font_glyph(*d)), "'%c' and '%c' look alike", *c, *d);
    }
    CHECK(mn_font_glyph('c') == mn_font_glyph('C')); /* lower case without a glyph of its own */
    CHECK(mn_font_glyph('a') != mn_font_glyph('A')); /* EMNIST's 11 distinct lower-case letters have one */
    CHECK(mn_font_glyph('~') == mn_font_glyph('?'));
    CHECK(mn_font_glyph('\n') == mn_font_glyph('?'));
    CHECK(mn_text_width("", 3) == 0);
    CHECK(mn_text_width("7>2", 2) == (3 * 6 - 1) * 2);

    mn_canvas c;
    mn_err e;
    CHECK(mn_canvas_init(&c, 40, 20, 3, 0x102030, &e) == 0);
    CHECK(c.px[0] == 0x10 && c.px[1] == 0x20 && c.px[2] == 0x30);
    int end = mn_canvas_text(&c, 2, 3, "1", 2, 0xff0000);
    CHECK(end == 2 + 12);
    int red = 0;
    for (int i = 0; i < 40 * 20; i++) red += c.px[3 * i] == 0xff && c.px[3 * i + 1] == 0;
    CHECK_MSG(red == 4 * ink(mn_font_glyph('1')), "'1' at scale 2: %d red pixels", red);
    /* the top-left of '1' (".", "..#..") sits at (2 + 2*2, 3) */
    CHECK(c.px[3 * (3 * 40 + 6)] == 0xff && c.px[3 * (3 * 40 + 5)] == 0x10);
    /* clipping: drawing past every edge is harmless */
    mn_canvas_text(&c, 35, 15, "888", 3, 0xffffff);
    mn_canvas_text(&c, -10, -10, "888", 3, 0xffffff);
    mn_canvas_fill(&c, -5, -5, 1000, 1000, 0x000000);
    CHECK(c.px[0] == 0 && c.px[3 * 40 * 20 - 1] == 0);
    mn_canvas_free(&c);

    /* a grey canvas takes the luma; an image is scaled up */
    CHECK(mn_canvas_init(&c, 6, 4, 1, 0xffffff, &e) == 0);
    CHECK(c.px[0] == 255);
    uint8_t img[2] = {0, 100};
    mn_canvas_image(&c, 1, 1, img, 1, 2, 2);
    CHECK(c.px[0] == 255 && c.px[1 * 6 + 1] == 0 && c.px[2 * 6 + 2] == 0 && c.px[2 * 6 + 3] == 100 &&
          c.px[1 * 6 + 4] == 100 && c.px[1 * 6 + 5] == 255 && c.px[3 * 6 + 3] == 255);
    mn_canvas_fill(&c, 0, 0, 1, 1, 0x00ff00);
    CHECK(c.px[0] == 150); /* 0.587 * 255 */
    mn_canvas_free(&c);
    CHECK(mn_canvas_init(&c, 0, 4, 1, 0, &e) == -1);
    CHECK(mn_canvas_init(&c, 4, 4, 2, 0, &e) == -1);
}

/* ---- SVG plot ------------------------------------------------------------- */

static int count(const char *s, const char *needle)
{
    int k = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) k++;
    return k;
}

static void test_plot(void)
{
    mn_plot_point pts[3] = {{1, 0.30, 0.91, 1, 0.20, 0.94}, {2, 0.15, 0.95, 1, 0.12, 0.96},
                            {3, 0.10, 0.97, 1, 0.11, 0.965}};
    char *svg;
    size_t n;
    mn_err e;
    CHECK(mn_plot_svg("a <b> & \"c\"", 5, pts, 3, &svg, &n, &e) == 0);
    CHECK(strlen(svg) == n);
    CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(svg, "</svg>\n") == svg + n - 7);
    CHECK(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot;") != NULL);
    CHECK(count(svg, "<polyline") == 4);
    CHECK(count(svg, "class=\"loss-train\"") == 3 && count(svg, "class=\"loss-val\"") == 3);
    CHECK(count(svg, "class=\"acc-train\"") == 3 && count(svg, "class=\"acc-val\"") == 3);
    CHECK(strstr(svg, ">validation</text>") != NULL && strstr(svg, ">train</text>") != NULL);
    CHECK(strstr(svg, ">epoch</text>") != NULL && strstr(svg, ">accuracy</text>") != NULL);
    /* the x axis runs to the planned 5 epochs: a tick label for each */
    CHECK(strstr(svg, "text-anchor=\"middle\">5</text>") != NULL);
    /* the training loss polyline has three points, descending on screen */
    const char *pl = strstr(svg, "id=\"loss-train\"");
    float x[3], y[3];
    CHECK(pl && sscanf(strstr(pl, "points=\""), "points=\"%f,%f %f,%f %f,%f\"", &x[0], &y[0], &x[1], &y[1], &x[2],
                       &y[2]) == 6);
    CHECK(x[0] < x[1] && x[1] < x[2] && y[0] < y[1] && y[1] < y[2]);
    free(svg);

    /* empty (before the first epoch), no validation, a non-finite loss */
    CHECK(mn_plot_svg(NULL, 3, NULL, 0, &svg, &n, &e) == 0);
    CHECK(count(svg, "<circle class=") == 0 && strstr(svg, "waiting for the first epoch"));
    free(svg);
    mn_plot_point nv[2] = {{1, 0.5, 0.8, 0, 0, 0}, {2, INFINITY, 0.85, 0, 0, 0}};
    CHECK(mn_plot_svg("t", 2, nv, 2, &svg, &n, &e) == 0);
    CHECK(count(svg, "<polyline") == 2 && count(svg, "class=\"loss-train\"") == 1 &&
          count(svg, "class=\"acc-train\"") == 2 && !strstr(svg, "validation"));
    CHECK(!strstr(svg, "nan") && !strstr(svg, "inf"));
    free(svg);

    /* a growing plot rewrites its file; a point of the same epoch replaces */
    char path[64];
    snprintf(path, sizeof path, "test_plot_%ld.svg", (long)getpid());
    mn_plot p;
    mn_plot_init(&p, path, "growing", 3);
    CHECK(mn_plot_add(&p, &pts[0], &e) == 0 && mn_plot_add(&p, &pts[1], &e) == 0 && mn_plot_add(&p, &pts[1], &e) == 0);
    CHECK(p.n == 2);
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[got] = 0;
    CHECK(count(buf, "class=\"acc-val\"") == 2 && strstr(buf, ">growing</text>"));
    mn_plot_free(&p);
    remove(path);
    mn_plot_init(&p, "no/such/dir/c.svg", "x", 3);
    CHECK(mn_plot_add(&p, &pts[0], &e) == -1);
    CHECK_MSG(strstr(e.msg, "no/such/dir/c.svg: cannot create") == e.msg, "%s", e.msg);
    mn_plot_free(&p);
}

int main(void)
{
    test_adler();
    test_deflate();
    test_png();
    test_font();
    test_plot();
    return test_summary("test_png");
}
