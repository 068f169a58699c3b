/* test_image.c - zlib streams, the PGM and PNG readers, and preprocessing.
 *
 * Every PNG here is written by this test: its own packer and row filters,
 * stored-block zlib streams, and its own bitwise CRC-32 and Adler-32, so the
 * decoder is checked against an independent encoder. Each colour type and
 * bit depth, each filter type, Adam7, palettes, tRNS and alpha are decoded
 * and compared pixel by pixel with the grey value computed here; then broken
 * files (every truncation, bit flips with and without fixed-up CRCs, and one
 * file for each structural error) must fail with one line naming the input.
 * Preprocessing is checked on synthetic strokes (inversion, box <= 20x20,
 * centre of mass at (14, 14)) and, when the real MNIST test set is present,
 * on real digits, which it should leave almost unchanged.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close, unlink */

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mnist/gzip.h"
#include "mnist/dataset.h"
#include "mnist/image.h"
#include "test.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint64_t rnd(void)
{
    return splitmix64(&rng_state);
}

static unsigned rnd_below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Adler-32 straight from RFC 1950, a modulo per byte. */
static uint32_t adler_ref(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return b << 16 | a;
}

typedef struct {
    uint8_t *p;
    size_t len, cap;
} bb;

static void put(bb *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put8(bb *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_be32(bb *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, c, 4);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A zlib stream of stored blocks of at most `block` bytes. */
static void zlib_stored(bb *z, const uint8_t *d, size_t n, size_t block)
{
    put8(z, 0x78);
    put8(z, 0x01);
    uint8_t *blocks = xmalloc(n + 5 * (n / block + 1));
    put(z, blocks, deflate_stored(blocks, d, n, block));
    free(blocks);
    put_be32(z, adler_ref(d, n));
}

/* Copies n bytes to a buffer of exactly that size, so ASan sees over-reads. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *q = xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* A failure must leave a one-line message starting with "<name>: ". */
static int good_msg(const mn_err *e, const char *name)
{
    size_t k = strlen(name);
    return strncmp(e->msg, name, k) == 0 && e->msg[k] == ':' && e->msg[k + 1] == ' ' && !strchr(e->msg, '\n') &&
           strlen(e->msg) > k + 3;
}

/* ---- Adler-32 and zlib ---------------------------------------------------- */

static const uint8_t zlib_text[] =
    "MNIST digits: 0123456789. The quick brown fox jumps over the lazy dog; the quick brown fox jumps over the "
    "lazy dog again and again. 0123456789 0123456789 0123456789!";
/* zlib.compress(zlib_text, 9) from Python's zlib: a fixed-Huffman block with matches. */
static const uint8_t zlib_text_z[] = {
    0x78, 0xda, 0xf3, 0xf5, 0xf3, 0x0c, 0x0e, 0x51, 0x48, 0xc9, 0x4c, 0xcf, 0x2c, 0x29, 0xb6, 0x52, 0x30, 0x30, 0x34,
    0x32, 0x36, 0x31, 0x35, 0x33, 0xb7, 0xb0, 0xd4, 0x53, 0x08, 0xc9, 0x48, 0x55, 0x28, 0x2c, 0xcd, 0x4c, 0xce, 0x56,
    0x48, 0x2a, 0xca, 0x2f, 0xcf, 0x53, 0x48, 0xcb, 0xaf, 0x50, 0xc8, 0x2a, 0xcd, 0x2d, 0x28, 0x56, 0xc8, 0x2f, 0x4b,
    0x2d, 0x52, 0x28, 0x01, 0x4a, 0xe7, 0x24, 0x56, 0x55, 0x2a, 0xa4, 0xe4, 0xa7, 0x5b, 0x83, 0x79, 0x44, 0x2a, 0x56,
    0x48, 0x4c, 0x4f, 0xcc, 0xcc, 0x53, 0x48, 0xcc, 0x4b, 0x81, 0xb0, 0xf4, 0x90, 0x6c, 0xc5, 0xce, 0x54, 0x04, 0x00,
    0x8f, 0xfe, 0x33, 0x7b};

static void test_adler(void)
{
    CHECK(mn_adler32(1, NULL, 0) == 1);
    CHECK(mn_adler32(1, "Wikipedia", 9) == 0x11E60398u);
    size_t n = 100000;
    uint8_t *big = malloc(n);
    memset(big, 0xFF, n);
    CHECK(mn_adler32(1, big, n) == 0x149A302Cu); /* zlib.adler32(b"\xff" * 100000) */
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)rnd();
    uint32_t whole = mn_adler32(1, big, n);
    CHECK(whole == adler_ref(big, n));
    CHECK(mn_adler32(mn_adler32(1, big, 12345), big + 12345, n - 12345) == whole);
    free(big);
}

static void test_zlib(void)
{
    mn_err e;
    uint8_t *out;
    size_t len;
    /* A real zlib stream (compressed blocks). */
    size_t tn = sizeof zlib_text - 1;
    CHECK(mn_zlib_decompress(zlib_text_z, sizeof zlib_text_z, &out, &len, 1 << 20, "t.z", &e) == 0);
    CHECK(len == tn && out && memcmp(out, zlib_text, tn) == 0);
    free(out);
    /* Exactly the right limit is fine; one less is not. */
    CHECK(mn_zlib_decompress(zlib_text_z, sizeof zlib_text_z, &out, &len, tn, "t.z", &e) == 0);
    free(out);
    CHECK(mn_zlib_decompress(zlib_text_z, sizeof zlib_text_z, &out, &len, tn - 1, "t.z", &e) == -1);
    CHECK(out == NULL && len == 0 && good_msg(&e, "t.z") && strstr(e.msg, "exceeds"));

    /* Stored blocks, several of them, and an empty stream. */
    size_t n = 70000;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)rnd();
    bb z = {0};
    zlib_stored(&z, d, n, 30000);
    CHECK(mn_zlib_decompress(z.p, z.len, &out, &len, n, "s.z", &e) == 0);
    CHECK(len == n && memcmp(out, d, n) == 0);
    free(out);
    bb z0 = {0};
    zlib_stored(&z0, d, 0, 100);
    CHECK(mn_zlib_decompress(z0.p, z0.len, &out, &len, 0, "e.z", &e) == 0);
    CHECK(len == 0 && out != NULL);
    free(out);
    free(z0.p);

    /* Every truncation fails, naming the input. */
    int all = 1;
    for (size_t k = 0; k < sizeof zlib_text_z; k++) {
        uint8_t *t = exact(zlib_text_z, k);
        int r = mn_zlib_decompress(t, k, &out, &len, 1 << 20, "cut.z", &e);
        if (r != -1 || out || !good_msg(&e, "cut.z")) {
            all = 0;
            fprintf(stderr, "truncated at %zu: rc %d, %s\n", k, r, e.msg);
        }
        free(t);
    }
    CHECK(all);

    /* Header checks. */
    uint8_t h[sizeof zlib_text_z];
    struct {
        uint8_t cmf, flg;
        const char *want;
    } bad[] = {
        {0x79, 0x01 + 0, "compression method"}, /* CM 9 */
        {0x88, 0x1c, "window size"},            /* CINFO 8; 0x881c % 31 == 0 */
        {0x78, 0xdb, "header check"},           /* FCHECK off by one */
        {0x78, 0xbb, "preset dictionary"},      /* FDICT; 0x78bb % 31 == 0 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(h, zlib_text_z, sizeof h);
        h[0] = bad[i].cmf;
        h[1] = bad[i].flg;
        CHECK(mn_zlib_decompress(h, sizeof h, &out, &len, 1 << 20, "h.z", &e) == -1);
        CHECK_MSG(good_msg(&e, "h.z") && strstr(e.msg, bad[i].want), "%s", e.msg);
    }
    /* Adler-32 mismatch, trailing garbage, a bad block type. */
    memcpy(h, zlib_text_z, sizeof h);
    h[sizeof h - 1] ^= 1;
    CHECK(mn_zlib_decompress(h, sizeof h, &out, &len, 1 << 20, "a.z", &e) == -1);
    CHECK_MSG(strstr(e.msg, "Adler-32 mismatch"), "%s", e.msg);
    bb g = {0};
    put(&g, zlib_text_z, sizeof zlib_text_z);
    put8(&g, 0);
    CHECK(mn_zlib_decompress(g.p, g.len, &out, &len, 1 << 20, "g.z", &e) == -1);
    CHECK_MSG(strstr(e.msg, "trailing garbage"), "%s", e.msg);
    free(g.p);
    uint8_t bt3[] = {0x78, 0x01, 0x07, 0, 0, 0, 1};
    CHECK(mn_zlib_decompress(bt3, sizeof bt3, &out, &len, 100, "b.z", &e) == -1);
    CHECK_MSG(strstr(e.msg, "corrupt zlib data") && strstr(e.msg, "block type 3"), "%s", e.msg);
    CHECK(mn_zlib_decompress(NULL, 0, &out, &len, 100, "n.z", &e) == -1 && good_msg(&e, "n.z"));
    /* gzip's messages are unchanged by the shared inflater. */
    uint8_t gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07};
    CHECK(mn_gunzip(gz, sizeof gz, &out, &len, 100, "x.gz", &e) == -1);
    CHECK_MSG(strstr(e.msg, "corrupt gzip data") || strstr(e.msg, "truncated gzip data"), "%s", e.msg);

    free(z.p);
    free(d);
}

/* ---- PGM ---------------------------------------------------------------------- */

static int decode_str(const char *s, size_t n, mn_image *im, mn_err *e, const char *name)
{
    uint8_t *b = exact((const uint8_t *)s, n);
    int r = mn_image_decode(b, n, name, im, e);
    free(b);
    return r;
}

#define S(lit) lit, sizeof(lit) - 1

static void test_pgm(void)
{
    mn_image im;
    mn_err e;
    const char p2[] = "P2\n# a comment\n3 2 # another\n10\n0 5 10\n# mid-raster comment\n 1  2\n3\n";
    CHECK(decode_str(p2, sizeof p2 - 1, &im, &e, "a.pgm") == 0);
    CHECK(im.w == 3 && im.h == 2);
    static const uint8_t want2[6] = {0, 128, 255, 26, 51, 77}; /* round(v * 255 / 10) */
    CHECK(im.px && memcmp(im.px, want2, 6) == 0);
    mn_image_free(&im);
    CHECK(im.px == NULL && im.w == 0);

    const char p5[] = "P5 2 2 255\n\x00\x7f\xff\x10";
    CHECK(decode_str(p5, sizeof p5 - 1, &im, &e, "b.pgm") == 0);
    CHECK(im.w == 2 && im.h == 2 && im.px[0] == 0 && im.px[1] == 127 && im.px[2] == 255 && im.px[3] == 16);
    mn_image_free(&im);

    /* 16-bit samples, big-endian; maxval 1000 and 65535. */
    const char p16[] = "P5\n3 1\n1000\n\x00\x00\x01\xf4\x03\xe8"; /* 0, 500, 1000 */
    CHECK(decode_str(p16, sizeof p16 - 1, &im, &e, "c.pgm") == 0);
    CHECK(im.w == 3 && im.px[0] == 0 && im.px[1] == 128 && im.px[2] == 255);
    mn_image_free(&im);
    const char p65[] = "P5\n2 1\n65535\n\x80\x00\xff\xff";
    CHECK(decode_str(p65, sizeof p65 - 1, &im, &e, "d.pgm") == 0);
    CHECK(im.px[0] == 128 && im.px[1] == 255);
    mn_image_free(&im);
    /* maxval 1: a bitmap-like greymap; trailing data (a second image) ignored */
    const char p1[] = "P5 2 1 1\n\x01\x00P5 1 1 1\n\x01";
    CHECK(decode_str(p1, sizeof p1 - 1, &im, &e, "e.pgm") == 0);
    CHECK(im.w == 2 && im.px[0] == 255 && im.px[1] == 0);
    mn_image_free(&im);

    struct {
        const char *s;
        size_t n;
        const char *want;
    } bad[] = {
        {S("P5 2 2 255\n\x01\x02\x03"), "truncated"},
        {S("P2 2 2 255\n1 2 3"), "truncated"},
        {S("P2 2 1 100\n1 101"), "exceeds maxval"},
        {S("P5 2 1 100\n\x01\x65"), "exceeds maxval"},
        {S("P5 0 2 255\n"), "zero width"},
        {S("P5 16385 1 255\n"), "too large"},
        {S("P5 2 1 0\n\x00\x00"), "maxval"},
        {S("P5 2 1 65536\n\x00\x00\x00\x00"), "maxval"},
        {S("P5 2 1 99999999999999999999\n"), "larger than"},
        {S("P6 1 1 255\n\x00\x00\x00"), "not supported"},
        {S("P5 2x 1 255\n"), "junk"},
        {S("P5 2 1 255"), "no pixel data"},
        {S("P5 2 1 255#x\n\x00\x00"), "whitespace"},
        {S("P5"), "truncated"},
        {S("P5 "), "truncated"},
        {S("P2 2 1 255\n1 x"), "pixel value"},
        {S("P52 1"), "not a PGM"},
        {S("GIF89a"), "not a PNG or PGM"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = decode_str(bad[i].s, bad[i].n, &im, &e, "bad.pgm");
        CHECK_MSG(r == -1 && im.px == NULL && good_msg(&e, "bad.pgm") && strstr(e.msg, bad[i].want),
                  "case %zu: rc %d, '%s'", i, r, r ? e.msg : "");
    }
    CHECK(mn_image_decode(NULL, 0, "z.pgm", &im, &e) == -1 && good_msg(&e, "z.pgm"));
    /* Every truncation of a valid P2 and P5 fails cleanly. */
    int all = 1;
    for (size_t k = 0; k + 1 < sizeof p2 - 1; k++)
        if (decode_str(p2, k, &im, &e, "t.pgm") != -1 || !good_msg(&e, "t.pgm"))
            all = 0, fprintf(stderr, "P2 cut at %zu accepted\n", k);
    for (size_t k = 0; k < sizeof p5 - 1; k++)
        if (decode_str(p5, k, &im, &e, "t.pgm") != -1 || !good_msg(&e, "t.pgm"))
            all = 0, fprintf(stderr, "P5 cut at %zu accepted\n", k);
    CHECK(all);
}

/* ---- PNG writer ----------------------------------------------------------------- */

typedef struct {
    int w, h, depth, ctype, interlace;
    const uint16_t *s;       /* h * w * channels samples */
    int filter;              /* 0..4 for every row, -1: cycle 0..4 row by row, 5+: that (invalid) type */
    const uint8_t *plte;     /* plte_n RGB entries */
    int plte_n;
    const uint8_t *trns;     /* trns_n bytes, as stored */
    int trns_n;
    int n_idat;              /* split the zlib stream into this many IDATs (>= 1) */
    const char *extra;       /* a chunk of this type before the first IDAT, or NULL */
    int gap;                 /* put a tEXt between the first two IDATs */
    int raw_delta;           /* bytes added to (> 0) or cut from (< 0) the image data */
} png_spec;

static int channels_of(int ctype)
{
    return ctype == 2 ? 3 : ctype == 4 ? 2 : ctype == 6 ? 4 : 1;
}

static void put_chunk(bb *b, const char *type, const uint8_t *d, size_t n)
{
    put_be32(b, (uint32_t)n);
    size_t at = b->len;
    put(b, type, 4);
    put(b, d, n);
    put_be32(b, crc32_ref(b->p + at, n + 4));
}

static int paeth_ref(int a, int b, int c)
{
    int p = a + b - c, pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
    return (pa <= pb && pa <= pc) ? a : pb <= pc ? b : c;
}

/* Packs one row of a pass: pixels (x0 + k*dx, y) for k < pw. */
static void pack_row(const png_spec *sp, int y, int x0, int dx, int pw, uint8_t *row, size_t rb)
{
    int ch = channels_of(sp->ctype);
    memset(row, 0, rb);
    size_t bit = 0;
    for (int k = 0; k < pw; k++) {
        const uint16_t *px = sp->s + ((size_t)y * sp->w + x0 + (size_t)k * dx) * ch;
        for (int c = 0; c < ch; c++) {
            unsigned v = px[c];
            if (sp->depth == 16) {
                row[bit / 8] = (uint8_t)(v >> 8);
                row[bit / 8 + 1] = (uint8_t)v;
            } else if (sp->depth == 8) {
                row[bit / 8] = (uint8_t)v;
            } else {
                row[bit / 8] |= (uint8_t)(v << (8 - sp->depth - bit % 8));
            }
            bit += (size_t)sp->depth;
        }
    }
}

static void filter_row(int f, const uint8_t *cur, const uint8_t *prev, size_t n, size_t bpp, uint8_t *outp)
{
    for (size_t i = 0; i < n; i++) {
        int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0, c = (prev && i >= bpp) ? prev[i - bpp] : 0;
        int pred = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : f == 4 ? paeth_ref(a, b, c) : 0;
        outp[i] = (uint8_t)(cur[i] - pred);
    }
}

static void build_png(const png_spec *sp, bb *out)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    static const int a7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                 {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    out->len = 0;
    put(out, sig, 8);
    uint8_t ihdr[13] = {0};
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)((unsigned)sp->w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)((unsigned)sp->h >> (24 - 8 * i));
    }
    ihdr[8] = (uint8_t)sp->depth;
    ihdr[9] = (uint8_t)sp->ctype;
    ihdr[12] = (uint8_t)sp->interlace;
    put_chunk(out, "IHDR", ihdr, 13);
    if (sp->plte_n)
        put_chunk(out, "PLTE", sp->plte, 3 * (size_t)sp->plte_n);
    if (sp->trns_n)
        put_chunk(out, "tRNS", sp->trns, (size_t)sp->trns_n);
    if (sp->extra)
        put_chunk(out, sp->extra, (const uint8_t *)"abc", 3);

    /* The filtered image data. */
    bb raw = {0};
    int bits = sp->depth * channels_of(sp->ctype);
    size_t bpp = bits >= 8 ? (size_t)bits / 8 : 1;
    int row_no = 0;
    for (int p = 0; p < (sp->interlace ? 7 : 1); p++) {
        int x0 = sp->interlace ? a7[p][0] : 0, y0 = sp->interlace ? a7[p][1] : 0;
        int dx = sp->interlace ? a7[p][2] : 1, dy = sp->interlace ? a7[p][3] : 1;
        int pw = sp->w > x0 ? (sp->w - x0 + dx - 1) / dx : 0, ph = sp->h > y0 ? (sp->h - y0 + dy - 1) / dy : 0;
        if (!pw || !ph)
            continue;
        size_t rb = ((size_t)pw * bits + 7) / 8;
        uint8_t *cur = malloc(rb), *prev = malloc(rb), *f = malloc(rb);
        for (int r = 0; r < ph; r++) {
            pack_row(sp, y0 + r * dy, x0, dx, pw, cur, rb);
            int ft = sp->filter < 0 ? row_no % 5 : sp->filter;
            row_no++;
            if (ft <= 4)
                filter_row(ft, cur, r ? prev : NULL, rb, bpp, f);
            else
                memcpy(f, cur, rb);
            put8(&raw, (unsigned)ft);
            put(&raw, f, rb);
            memcpy(prev, cur, rb);
        }
        free(cur);
        free(prev);
        free(f);
    }
    if (sp->raw_delta > 0)
        for (int i = 0; i < sp->raw_delta; i++)
            put8(&raw, 0);
    else
        raw.len -= (size_t)-sp->raw_delta;
    bb z = {0};
    zlib_stored(&z, raw.p, raw.len, 97); /* small blocks: many of them */
    int parts = sp->n_idat > 0 ? sp->n_idat : 1;
    size_t off = 0;
    for (int i = 0; i < parts; i++) {
        size_t k = i == parts - 1 ? z.len - off : z.len / (size_t)parts;
        put_chunk(out, "IDAT", z.p + off, k);
        off += k;
        if (i == 0 && sp->gap)
            put_chunk(out, "tEXt", (const uint8_t *)"k\0v", 3);
    }
    put_chunk(out, "IEND", NULL, 0);
    free(raw.p);
    free(z.p);
}

/* The grey value the decoder should produce for pixel i (0..255, unrounded). */
static double expected_grey(const png_spec *sp, size_t i)
{
    int ch = channels_of(sp->ctype);
    const uint16_t *v = sp->s + i * ch;
    double maxv = (double)((1u << sp->depth) - 1u), grey, alpha = 1.0;
    switch (sp->ctype) {
    case 0:
        grey = 255.0 * v[0] / maxv;
        if (sp->trns_n == 2 && v[0] == ((unsigned)sp->trns[0] << 8 | sp->trns[1]))
            alpha = 0.0;
        break;
    case 2:
        grey = 255.0 * (0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]) / maxv;
        if (sp->trns_n == 6 && v[0] == ((unsigned)sp->trns[0] << 8 | sp->trns[1]) &&
            v[1] == ((unsigned)sp->trns[2] << 8 | sp->trns[3]) && v[2] == ((unsigned)sp->trns[4] << 8 | sp->trns[5]))
            alpha = 0.0;
        break;
    case 3: {
        const uint8_t *c = sp->plte + 3 * v[0];
        grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        if (v[0] < sp->trns_n)
            alpha = sp->trns[v[0]] / 255.0;
        break;
    }
    case 4:
        grey = 255.0 * v[0] / maxv;
        alpha = v[1] / maxv;
        break;
    default:
        grey = 255.0 * (0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]) / maxv;
        alpha = v[3] / maxv;
        break;
    }
    return grey * alpha + 255.0 * (1.0 - alpha);
}

/* Random samples for a spec (palette indexes below plte_n). */
static uint16_t *random_samples(int w, int h, int depth, int ctype, int plte_n)
{
    size_t n = (size_t)w * h * channels_of(ctype);
    uint16_t *s = malloc(n * sizeof *s);
    unsigned lim = ctype == 3 ? (unsigned)plte_n : 1u << depth;
    for (size_t i = 0; i < n; i++) {
        unsigned r = rnd_below(4);
        /* Extremes often, so that alpha 0 and full scale are covered. */
        s[i] = (uint16_t)(r == 0 ? 0 : r == 1 ? lim - 1 : rnd_below(lim));
    }
    return s;
}

/* Decodes a spec's PNG and compares every pixel; returns the worst error. */
static double roundtrip(const png_spec *sp, int *ok)
{
    bb f = {0};
    build_png(sp, &f);
    uint8_t *b = exact(f.p, f.len);
    mn_image im;
    mn_err e;
    double worst = 1e9;
    *ok = mn_image_decode(b, f.len, "rt.png", &im, &e) == 0;
    if (!*ok) {
        fprintf(stderr, "decode failed: %s\n", e.msg);
    } else if (im.w != sp->w || im.h != sp->h) {
        *ok = 0;
    } else {
        worst = 0;
        for (size_t i = 0; i < (size_t)sp->w * sp->h; i++) {
            double d = fabs(im.px[i] - expected_grey(sp, i));
            if (d > worst)
                worst = d;
        }
    }
    mn_image_free(&im);
    free(b);
    free(f.p);
    return worst;
}

static uint8_t palette[256 * 3];
static uint8_t palette_alpha[256];

static void test_png_formats(void)
{
    for (int i = 0; i < 256 * 3; i++)
        palette[i] = (uint8_t)rnd();
    for (int i = 0; i < 256; i++)
        palette_alpha[i] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : rnd());
    static const int combos[][2] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
                                    {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    static const int sizes[][2] = {{1, 1}, {13, 11}, {3, 9}, {33, 7}};
    for (size_t c = 0; c < sizeof combos / sizeof combos[0]; c++) {
        int ctype = combos[c][0], depth = combos[c][1];
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            for (int il = 0; il <= 1; il++) {
                int w = sizes[z][0], h = sizes[z][1];
                int pn = ctype == 3 ? (depth == 8 ? 200 : 1 << depth) : 0;
                uint16_t *s = random_samples(w, h, depth, ctype, pn);
                png_spec sp = {w, h, depth, ctype, il, s, -1, palette, pn, NULL, 0, 1 + (int)z, NULL, 0, 0};
                int ok;
                double worst = roundtrip(&sp, &ok);
                CHECK_MSG(ok && worst <= 0.5 + 1e-9, "colour type %d, depth %d, %dx%d, interlace %d: worst %g",
                          ctype, depth, w, h, il, worst);
                free(s);
            }
        }
    }
    /* Each filter type on its own, for every byte-per-pixel step. */
    static const int fcombos[][2] = {{0, 1}, {0, 8}, {4, 8}, {2, 8}, {6, 8}, {2, 16}, {6, 16}};
    for (int ft = 0; ft <= 4; ft++) {
        for (size_t c = 0; c < sizeof fcombos / sizeof fcombos[0]; c++) {
            int ctype = fcombos[c][0], depth = fcombos[c][1], w = 17, h = 9;
            uint16_t *s = random_samples(w, h, depth, ctype, 0);
            png_spec sp = {w, h, depth, ctype, 0, s, ft, NULL, 0, NULL, 0, 1, NULL, 0, 0};
            int ok;
            double worst = roundtrip(&sp, &ok);
            CHECK_MSG(ok && worst <= 0.5 + 1e-9, "filter %d, colour type %d, depth %d: worst %g", ft, ctype, depth,
                      worst);
            free(s);
        }
    }
    /* Transparency: tRNS for grey, RGB and palette (composited on white). */
    {
        int w = 8, h = 8;
        uint16_t *s = random_samples(w, h, 8, 0, 0);
        s[5] = 77;
        uint8_t t0[2] = {0, 77};
        png_spec sp = {w, h, 8, 0, 0, s, -1, NULL, 0, t0, 2, 1, NULL, 0, 0};
        int ok;
        CHECK(roundtrip(&sp, &ok) <= 0.5 + 1e-9 && ok);
        free(s);
        s = random_samples(w, h, 16, 2, 0);
        s[3] = 1000, s[4] = 2000, s[5] = 3000;
        uint8_t t2[6] = {1000 >> 8, 1000 & 255, 2000 >> 8, 2000 & 255, 3000 >> 8, 3000 & 255};
        png_spec sp2 = {w, h, 16, 2, 1, s, -1, NULL, 0, t2, 6, 2, NULL, 0, 0};
        CHECK(roundtrip(&sp2, &ok) <= 0.5 + 1e-9 && ok);
        free(s);
        s = random_samples(w, h, 4, 3, 16);
        png_spec sp3 = {w, h, 4, 3, 0, s, -1, palette, 16, palette_alpha, 10, 3, NULL, 0, 0};
        CHECK(roundtrip(&sp3, &ok) <= 0.5 + 1e-9 && ok);
        free(s);
    }
    /* Known values, independent of expected_grey: a 2x2 RGBA image. */
    {
        uint16_t s[16] = {255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128, 10, 20, 30, 255};
        png_spec sp = {2, 2, 8, 6, 0, s, 0, NULL, 0, NULL, 0, 1, "tEXt", 0, 0};
        bb f = {0};
        build_png(&sp, &f);
        mn_image im;
        mn_err e;
        CHECK(mn_image_decode(f.p, f.len, "k.png", &im, &e) == 0);
        /* red: 0.299*255 = 76.2; transparent: white; black at 128/255: 127; (10,20,30): 18.2 */
        CHECK(im.px && im.px[0] == 76 && im.px[1] == 255 && im.px[2] == 127 && im.px[3] == 18);
        mn_image_free(&im);
        free(f.p);
    }
}

/* ---- broken PNGs ------------------------------------------------------------------- */

/* Recomputes every chunk's CRC (after a deliberate change). */
static void fix_crcs(uint8_t *p, size_t n)
{
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = get_be32(p + pos);
        if (len > n - pos - 12)
            break;
        uint32_t c = crc32_ref(p + pos + 4, (size_t)len + 4);
        p[pos + 8 + len] = (uint8_t)(c >> 24);
        p[pos + 9 + len] = (uint8_t)(c >> 16);
        p[pos + 10 + len] = (uint8_t)(c >> 8);
        p[pos + 11 + len] = (uint8_t)c;
        pos += 12 + (size_t)len;
    }
}

static int expect_fail(const bb *f, const char *want)
{
    uint8_t *b = exact(f->p, f->len);
    mn_image im;
    mn_err e;
    int r = mn_image_decode(b, f->len, "bad.png", &im, &e);
    free(b);
    if (r == 0) {
        mn_image_free(&im);
        fprintf(stderr, "accepted, wanted an error with '%s'\n", want);
        return 0;
    }
    if (!good_msg(&e, "bad.png") || im.px || (want && !strstr(e.msg, want))) {
        fprintf(stderr, "wanted '%s', got '%s'\n", want ? want : "", e.msg);
        return 0;
    }
    return 1;
}

static void test_png_errors(void)
{
    int w = 10, h = 6;
    uint16_t *s = random_samples(w, h, 8, 2, 0);
    png_spec base = {w, h, 8, 2, 0, s, -1, NULL, 0, NULL, 0, 2, NULL, 0, 0};
    bb f = {0};
    build_png(&base, &f);
    size_t good_len = f.len;
    uint8_t *good = exact(f.p, f.len);

    /* Every truncation, and garbage. */
    int all = 1;
    for (size_t k = 0; k < good_len; k++) {
        bb t = {good, k, k};
        if (!expect_fail(&t, NULL))
            all = 0, fprintf(stderr, "  (truncated at %zu)\n", k);
    }
    CHECK(all);
    bb g = {(uint8_t *)"\x89PNG\r\n\x1a\x0b", 8, 8};
    CHECK(expect_fail(&g, "bad signature"));

    /* A CRC error in each chunk; bytes after IEND are ignored. */
    for (size_t pos = 8; pos < good_len;) {
        uint32_t len = get_be32(good + pos);
        memcpy(f.p, good, good_len);
        f.len = good_len;
        f.p[pos + 8 + len / 2] ^= 0x10; /* in the data, or the CRC of an empty chunk */
        CHECK(expect_fail(&f, "CRC mismatch"));
        pos += 12 + len;
    }
    memcpy(f.p, good, good_len);
    put(&f, "junk", 4);
    {
        mn_image im;
        mn_err e;
        CHECK(mn_image_decode(f.p, f.len, "x.png", &im, &e) == 0);
        mn_image_free(&im);
    }

    /* IHDR fields: patch and fix the CRC. */
    struct {
        int off;
        uint8_t v;
        const char *want;
    } ih[] = {
        {16 + 8, 4, "bit depth 4 is not allowed for colour type 2"},
        {16 + 9, 5, "colour type 5"},
        {16 + 9, 1, "colour type 1"},
        {16 + 10, 1, "compression method"},
        {16 + 11, 1, "filter method"},
        {16 + 12, 2, "interlace method"},
        {16 + 3, 0, "zero width"},       /* width 10 -> 0 */
        {16 + 0, 0x80, "2^31-1"},         /* width >= 2^31 */
        {16 + 6, 0x40, "too large"},      /* height 16384+ */
    };
    for (size_t i = 0; i < sizeof ih / sizeof ih[0]; i++) {
        memcpy(f.p, good, good_len);
        f.len = good_len;
        f.p[ih[i].off] = ih[i].v;
        fix_crcs(f.p, f.len);
        CHECK_MSG(expect_fail(&f, ih[i].want), "IHDR case %zu", i);
    }
    /* The first chunk must be IHDR. */
    memcpy(f.p, good, good_len);
    memcpy(f.p + 12, "IHDX", 4);
    fix_crcs(f.p, f.len);
    CHECK(expect_fail(&f, "first chunk"));
    memcpy(f.p, good, good_len);
    f.p[12] = '1';
    CHECK(expect_fail(&f, "invalid chunk type"));
    memcpy(f.p, good, good_len);
    f.p[8] = 0x80; /* IHDR length >= 2^31 */
    CHECK(expect_fail(&f, "too large"));
    memcpy(f.p, good, good_len);
    f.p[11] = 14; /* IHDR length 14, the CRC then runs into the next chunk */
    CHECK(expect_fail(&f, NULL));

    png_spec sp;
    /* Too little and too much image data, a bad filter type. */
    sp = base, sp.raw_delta = -1;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "too short"));
    sp = base, sp.raw_delta = 1;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "exceeds"));
    sp = base, sp.filter = 5;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "filter type 5"));
    /* Chunk order and presence. */
    sp = base, sp.extra = "QUUX";
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "unknown critical chunk QUUX"));
    sp = base, sp.extra = "quUX";
    build_png(&sp, &f);
    {
        mn_image im;
        mn_err e;
        CHECK(mn_image_decode(f.p, f.len, "anc.png", &im, &e) == 0); /* ancillary: skipped */
        mn_image_free(&im);
    }
    sp = base, sp.extra = "IHDR";
    build_png(&sp, &f);
    CHECK(expect_fail(&f, NULL));
    sp = base, sp.gap = 1;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "not consecutive"));
    memcpy(f.p, good, good_len);
    f.len = good_len - 12; /* no IEND */
    CHECK(expect_fail(&f, "no IEND"));
    {
        /* Only IHDR and IEND. */
        bb t = {0};
        put(&t, good, 33);
        put_chunk(&t, "IEND", NULL, 0);
        CHECK(expect_fail(&t, "no image data"));
        free(t.p);
    }
    uint16_t *ps = random_samples(w, h, 8, 3, 4);
    sp = base, sp.s = ps, sp.ctype = 3, sp.plte = palette, sp.plte_n = 0;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "without a PLTE"));
    sp.plte_n = 4;
    ps[7] = 4; /* an index past the palette */
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "palette index 4 out of range"));
    sp = base, sp.s = ps, sp.ctype = 3, sp.depth = 1, sp.plte = palette, sp.plte_n = 3;
    for (int i = 0; i < w * h; i++)
        ps[i] &= 1;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "more than bit depth 1 allows"));
    sp.plte_n = 2, sp.trns = palette_alpha, sp.trns_n = 3;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "more than the palette"));
    free(ps);
    uint16_t *gs = random_samples(w, h, 8, 0, 0);
    sp = base, sp.s = gs, sp.ctype = 0, sp.plte = palette, sp.plte_n = 3;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "PLTE chunk in a greyscale image"));
    sp = base, sp.s = gs, sp.ctype = 0, sp.trns = palette_alpha, sp.trns_n = 3;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "not 2"));
    free(gs);
    uint16_t *as = random_samples(w, h, 8, 6, 0);
    sp = base, sp.s = as, sp.ctype = 6, sp.trns = palette_alpha, sp.trns_n = 6;
    build_png(&sp, &f);
    CHECK(expect_fail(&f, "alpha channel"));
    free(as);
    sp = base, sp.plte = palette, sp.plte_n = 0;
    sp.plte_n = 1; /* a suggested palette in RGB is fine */
    build_png(&sp, &f);
    {
        mn_image im;
        mn_err e;
        CHECK(mn_image_decode(f.p, f.len, "sp.png", &im, &e) == 0);
        mn_image_free(&im);
    }

    /* Random damage: with the CRCs left as they are (must fail), and with
     * them recomputed so the damage reaches the parser and the inflater
     * (must fail or decode, never crash; ASan checks the rest). */
    int ok_all = 1, decoded = 0;
    for (int t = 0; t < 3000; t++) {
        memcpy(f.p, good, good_len);
        f.len = good_len;
        int flips = 1 + (int)rnd_below(3);
        for (int k = 0; k < flips; k++) {
            size_t at = 8 + rnd_below((unsigned)good_len - 8);
            f.p[at] ^= (uint8_t)(1u << rnd_below(8));
        }
        if (!memcmp(f.p, good, good_len))
            continue; /* two flips undid each other */
        int fix = t & 1;
        if (fix)
            fix_crcs(f.p, f.len);
        uint8_t *b = exact(f.p, f.len);
        mn_image im;
        mn_err e;
        int r = mn_image_decode(b, f.len, "fz.png", &im, &e);
        free(b);
        if (r == 0) {
            decoded++;
            if (!fix || im.w <= 0 || im.h <= 0 || !im.px)
                ok_all = 0, fprintf(stderr, "damaged file accepted without fixed CRCs\n");
            mn_image_free(&im);
        } else if (!good_msg(&e, "fz.png")) {
            ok_all = 0, fprintf(stderr, "bad message: %s\n", e.msg);
        }
    }
    CHECK(ok_all);
    printf("damaged PNGs: %d of 3000 still decoded (CRCs fixed, damage in unchecked bytes)\n", decoded);

    free(good);
    free(f.p);
    free(s);
}

/* ---- files ----------------------------------------------------------------------- */

static void test_files(void)
{
    char path[] = "/tmp/test_image_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        CHECK(!"mkstemp");
        return;
    }
    const char p5[] = "P5 2 1 255\n\x10\x20";
    CHECK(write(fd, p5, sizeof p5 - 1) == (ssize_t)(sizeof p5 - 1));
    close(fd);
    mn_image im;
    mn_err e;
    CHECK(mn_image_read(path, &im, &e) == 0 && im.w == 2 && im.px[1] == 0x20);
    mn_image_free(&im);
    unlink(path);
    CHECK(mn_image_read(path, &im, &e) == -1 && good_msg(&e, path) && im.px == NULL);
    CHECK(mn_image_read("/", &im, &e) == -1 && good_msg(&e, "/"));
}

/* ---- preprocessing ------------------------------------------------------------------- */

static void com(const uint8_t *x, double *cx, double *cy)
{
    double m = 0, sx = 0, sy = 0;
    for (int y = 0; y < 28; y++)
        for (int k = 0; k < 28; k++) {
            m += x[y * 28 + k];
            sx += (double)x[y * 28 + k] * k;
            sy += (double)x[y * 28 + k] * y;
        }
    *cx = m > 0 ? sx / m : -1;
    *cy = m > 0 ? sy / m : -1;
}

static void nonzero_box(const uint8_t *x, int *bw, int *bh)
{
    int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
    for (int y = 0; y < 28; y++)
        for (int k = 0; k < 28; k++)
            if (x[y * 28 + k]) {
                if (k < x0) x0 = k;
                if (k > x1) x1 = k;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
    *bw = x1 < 0 ? 0 : x1 - x0 + 1;
    *bh = y1 < 0 ? 0 : y1 - y0 + 1;
}

/* Draws a thick stroke from (ax, ay) to (bx, by) of value v. */
static void stroke(mn_image *im, double ax, double ay, double bx, double by, double r, uint8_t v)
{
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            double dx = bx - ax, dy = by - ay, t = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = ax + t * dx - x, ey = ay + t * dy - y;
            if (ex * ex + ey * ey <= r * r)
                im->px[(size_t)y * im->w + x] = v;
        }
}

static mn_image blank(int w, int h, uint8_t v)
{
    mn_image im = {w, h, malloc((size_t)w * h)};
    memset(im.px, v, (size_t)w * h);
    return im;
}

static void test_preprocess(const char *srcdir)
{
    mn_err e;
    mn_prep_info info;
    uint8_t out[784], out2[784];

    /* A dark "7" off-centre (upper left) on light grey paper, 160x120. */
    mn_image im = blank(160, 120, 225);
    stroke(&im, 20, 15, 60, 15, 3.5, 30);
    stroke(&im, 60, 15, 35, 70, 3.5, 30);
    CHECK(mn_image_mnist(&im, out, &info, &e) == 0);
    CHECK(info.inverted && !info.blank && info.background == 225);
    CHECK(info.x0 >= 16 && info.x0 <= 18 && info.x1 >= 62 && info.x1 <= 64);
    CHECK(info.y0 >= 11 && info.y0 <= 12 && info.y1 >= 72 && info.y1 <= 74);
    CHECK(info.box_h == 20 && info.box_w >= 14 && info.box_w <= 16); /* ~48 wide, ~63 high */
    int bw, bh;
    nonzero_box(out, &bw, &bh);
    CHECK_MSG(bw <= 20 && bh <= 20 && bh >= 19, "%dx%d", bw, bh);
    double cx, cy;
    com(out, &cx, &cy);
    CHECK_NEAR(cx, 14.0, 0.51);
    CHECK_NEAR(cy, 14.0, 0.51);
    /* Light ink on a black ground, background 0, full contrast. */
    int maxv = 0;
    for (int i = 0; i < 784; i++)
        maxv = out[i] > maxv ? out[i] : maxv;
    CHECK(maxv == 255 && out[0] == 0 && out[27] == 0 && out[783] == 0);
    /* A corner stroke must not pull the result: moving the digit changes nothing. */
    mn_image moved = blank(160, 120, 225);
    stroke(&moved, 100, 45, 140, 45, 3.5, 30);
    stroke(&moved, 140, 45, 115, 100, 3.5, 30);
    CHECK(mn_image_mnist(&moved, out2, NULL, &e) == 0);
    CHECK(memcmp(out, out2, 784) == 0);
    /* The negative (light on dark) gives the same result, without inverting. */
    for (size_t i = 0; i < (size_t)moved.w * moved.h; i++)
        moved.px[i] = (uint8_t)(255 - moved.px[i]);
    CHECK(mn_image_mnist(&moved, out2, &info, &e) == 0);
    CHECK(!info.inverted && memcmp(out, out2, 784) == 0);
    mn_image_free(&moved);
    mn_image_free(&im);

    /* A tall thin "1": aspect kept (8x80 -> 2x20). */
    im = blank(50, 100, 255);
    stroke(&im, 25, 10, 25, 89, 3.6, 0);
    CHECK(mn_image_mnist(&im, out, &info, &e) == 0);
    CHECK(info.box_h == 20 && info.box_w == 2);
    nonzero_box(out, &bw, &bh);
    CHECK(bw == 2 && bh == 20);
    com(out, &cx, &cy);
    CHECK_NEAR(cx, 14.0, 0.51);
    CHECK_NEAR(cy, 14.0, 0.51);
    mn_image_free(&im);

    /* A tiny 5x7 glyph is enlarged (bilinear) to 20 high. */
    im = blank(12, 12, 0);
    for (int y = 2; y < 9; y++)
        for (int x = 3; x < 8; x++)
            im.px[y * 12 + x] = (x == 3 || x == 7 || y == 2 || y == 8) ? 255 : 0;
    CHECK(mn_image_mnist(&im, out, &info, &e) == 0);
    CHECK(!info.inverted && info.box_h == 20 && info.box_w == 14);
    nonzero_box(out, &bw, &bh);
    CHECK(bw == 14 && bh == 20);
    /* Enlarged smoothly: intermediate grey levels appear. */
    int mids = 0;
    for (int i = 0; i < 784; i++)
        mids += out[i] > 20 && out[i] < 235;
    CHECK(mids > 10);
    mn_image_free(&im);

    /* Nothing on the page. */
    im = blank(40, 30, 250);
    CHECK(mn_image_mnist(&im, out, &info, &e) == 0);
    int zeros = 0;
    for (int i = 0; i < 784; i++)
        zeros += out[i] == 0;
    CHECK(info.blank && zeros == 784);
    mn_image_free(&im);
    /* 1x1 images do not break anything. */
    im = blank(1, 1, 0);
    CHECK(mn_image_mnist(&im, out, &info, &e) == 0 && info.blank);
    CHECK(mn_image_resize28(&im, out, &e) == 0 && out[0] == 0 && out[783] == 0);
    mn_image_free(&im);

    /* Resizing: 2x2 blocks average exactly; same size is the identity. */
    im = blank(56, 56, 0);
    uint8_t want[784];
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            uint8_t v = (uint8_t)rnd();
            want[y * 28 + x] = v;
            for (int k = 0; k < 4; k++)
                im.px[(2 * y + k / 2) * 56 + 2 * x + k % 2] = v;
        }
    CHECK(mn_image_resize28(&im, out, &e) == 0 && memcmp(out, want, 784) == 0);
    mn_image_free(&im);
    im = blank(28, 28, 0);
    memcpy(im.px, want, 784);
    CHECK(mn_image_resize28(&im, out, &e) == 0 && memcmp(out, want, 784) == 0);
    /* --raw keeps a light background light (no inversion). */
    memset(im.px, 240, 784);
    CHECK(mn_image_resize28(&im, out, &e) == 0 && out[0] == 240 && out[400] == 240);
    mn_image_free(&im);
    /* Odd shrink factor: 3 -> 2 pixels by area: (a + b/2) / 1.5. */
    im = blank(3, 1, 0);
    im.px[0] = 90, im.px[1] = 30, im.px[2] = 150;
    uint8_t two[2];
    CHECK(mn_image_resize(&im, 2, 1, two, &e) == 0 && two[0] == 70 && two[1] == 110);
    mn_image_free(&im);

    float f[3];
    uint8_t px3[3] = {0, 51, 255};
    mn_image_to_float(px3, 3, f);
    CHECK(f[0] == 0.0f && f[1] == 51.0f * (1.0f / 255.0f) && f[2] == 1.0f);

    /* Real MNIST digits are already prepared this way: preprocessing them
     * again should change little. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/mnist", srcdir);
    mn_dataset ds;
    if (mn_data_load(dir, MN_SPLIT_TEST, &ds, &e) != 0) {
        printf("no MNIST test set in %s: real-digit check skipped\n", dir);
        return;
    }
    double total = 0;
    int n = 200, close = 0;
    for (int i = 0; i < n; i++) {
        mn_image d = {28, 28, ds.images + (size_t)i * 784};
        CHECK(mn_image_mnist(&d, out, &info, &e) == 0);
        double num = 0, da = 0, db = 0;
        for (int k = 0; k < 784; k++) {
            num += (double)out[k] * d.px[k];
            da += (double)out[k] * out[k];
            db += (double)d.px[k] * d.px[k];
        }
        double cosine = num / sqrt(da * db + 1e-9);
        total += cosine;
        close += cosine > 0.8;
    }
    printf("real MNIST digits re-preprocessed: mean cosine similarity %.3f, %d of %d above 0.8\n", total / n, close,
           n);
    CHECK(total / n > 0.85);
    CHECK(close >= n * 9 / 10);
    mn_dataset_free(&ds);
}

int main(int argc, char **argv)
{
    const char *srcdir = argc > 1 ? argv[1] : ".";
    test_adler();
    test_zlib();
    test_pgm();
    test_png_formats();
    test_png_errors();
    test_files();
    test_preprocess(srcdir);
    return test_summary("test_image");
}
