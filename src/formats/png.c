/* png.c - PNG writer with its own zlib/deflate encoder (see png.h). */
#define _POSIX_C_SOURCE 200809L
#include "mnist/png.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist/atomic.h"
#include "mnist/gzip.h" /* mn_crc32 */

/* ---- Adler-32 ------------------------------------------------------------ */

uint32_t mn_png_adler32(uint32_t adler, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n) {
        /* 5552 bytes is the most that cannot overflow 32 bits before the modulo */
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return (b << 16) | a;
}

/* ---- a growing byte buffer with an LSB-first bit writer ------------------ */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    uint64_t acc; /* pending bits, the first to go out in bit 0 */
    int nbits;
    int oom;
} obuf;

static void ob_reserve(obuf *b, size_t more)
{
    if (b->oom || b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->p = p, b->cap = cap;
}

static void ob_bytes(obuf *b, const void *src, size_t n)
{
    ob_reserve(b, n);
    if (b->oom) return;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void ob_byte(obuf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    ob_bytes(b, &c, 1);
}

static void ob_be32(obuf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    ob_bytes(b, q, 4);
}

/* n <= 32 bits of v, least significant first (deflate's order for everything
 * but Huffman codes). */
static void put_bits(obuf *b, uint32_t v, int n)
{
    b->acc |= (uint64_t)v << b->nbits;
    b->nbits += n;
    while (b->nbits >= 8) {
        ob_byte(b, (unsigned)(b->acc & 0xff));
        b->acc >>= 8;
        b->nbits -= 8;
    }
}

/* A Huffman code goes out most significant bit first. */
static void put_code(obuf *b, uint32_t code, int len)
{
    uint32_t r = 0;
    for (int i = 0; i < len; i++) r |= ((code >> i) & 1u) << (len - 1 - i);
    put_bits(b, r, len);
}

static void flush_bits(obuf *b)
{
    if (b->nbits) put_bits(b, 0, 8 - b->nbits);
}

/* ---- deflate ------------------------------------------------------------- */

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* The fixed literal/length code of RFC 1951 section 3.2.6. */
static void put_litlen(obuf *b, int sym)
{
    if (sym < 144) put_code(b, 0x30u + (uint32_t)sym, 8);
    else if (sym < 256) put_code(b, 0x190u + (uint32_t)(sym - 144), 9);
    else if (sym < 280) put_code(b, (uint32_t)(sym - 256), 7);
    else put_code(b, 0xc0u + (uint32_t)(sym - 280), 8);
}

static void put_match(obuf *b, int len, int dist)
{
    int s = 28;
    while (len_base[s] > len) s--;
    put_litlen(b, 257 + s);
    if (len_extra[s]) put_bits(b, (uint32_t)(len - len_base[s]), len_extra[s]);
    int d = 29;
    while (dist_base[d] > dist) d--;
    put_code(b, (uint32_t)d, 5);
    if (dist_extra[d]) put_bits(b, (uint32_t)(dist - dist_base[d]), dist_extra[d]);
}

#define WSIZE 32768
#define HBITS 15
#define MAX_CHAIN 128
#define MIN_MATCH 3
#define MAX_MATCH 258

static unsigned hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (unsigned)((v * 2654435761u) >> (32 - HBITS));
}

/* One final fixed-Huffman block: greedy LZ77 over hash chains. */
static int deflate_fixed(obuf *b, const uint8_t *in, size_t n)
{
    int32_t *head = malloc(sizeof(int32_t) << HBITS), *prev = malloc(sizeof(int32_t) * WSIZE);
    if (!head || !prev) {
        free(head), free(prev);
        return -1;
    }
    for (size_t i = 0; i < (size_t)1 << HBITS; i++) head[i] = -1;
    put_bits(b, 1, 1); /* BFINAL */
    put_bits(b, 1, 2); /* BTYPE 01: fixed Huffman */
    /* positions are held as int32: longer inputs restart the window */
    size_t base = 0;
    size_t pos = 0;
    while (pos < n && !b->oom) {
        if (pos - base >= (size_t)1 << 30) {
            for (size_t i = 0; i < (size_t)1 << HBITS; i++) head[i] = -1;
            base = pos;
        }
        int best_len = 0, best_dist = 0;
        size_t avail = n - pos < MAX_MATCH ? n - pos : MAX_MATCH;
        if (avail >= MIN_MATCH) {
            int32_t cur = (int32_t)(pos - base);
            int32_t cand = head[hash3(in + pos)];
            for (int chain = 0; cand >= 0 && cur - cand <= WSIZE && chain < MAX_CHAIN; chain++) {
                const uint8_t *a = in + base + (size_t)cand, *c = in + pos;
                if (a[best_len] == c[best_len]) {
                    int l = 0;
                    while ((size_t)l < avail && a[l] == c[l]) l++;
                    if (l > best_len) {
                        best_len = l, best_dist = cur - cand;
                        if ((size_t)l == avail) break;
                    }
                }
                int32_t next = prev[cand & (WSIZE - 1)];
                if (next >= cand) break; /* a slot reused by a newer position */
                cand = next;
            }
        }
        size_t adv = best_len >= MIN_MATCH ? (size_t)best_len : 1;
        if (best_len >= MIN_MATCH) put_match(b, best_len, best_dist);
        else put_litlen(b, in[pos]);
        for (size_t k = 0; k < adv; k++, pos++) {
            if (n - pos < MIN_MATCH) continue;
            unsigned h = hash3(in + pos);
            int32_t cur = (int32_t)(pos - base);
            prev[cur & (WSIZE - 1)] = head[h];
            head[h] = cur;
        }
    }
    put_litlen(b, 256); /* end of block */
    flush_bits(b);
    free(head);
    free(prev);
    return b->oom ? -1 : 0;
}

static void deflate_stored(obuf *b, const uint8_t *in, size_t n)
{
    size_t done = 0;
    do {
        size_t k = n - done < 65535 ? n - done : 65535;
        int last = done + k == n;
        put_bits(b, (uint32_t)last, 1);
        put_bits(b, 0, 2); /* BTYPE 00: stored */
        flush_bits(b);
        uint8_t hdr[4] = {(uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8)};
        ob_bytes(b, hdr, 4);
        ob_bytes(b, in + done, k);
        done += k;
    } while (done < n);
}

int mn_png_zlib(const uint8_t *in, size_t n, mn_deflate_mode mode, uint8_t **out, size_t *out_len, mn_err *e)
{
    *out = NULL, *out_len = 0;
    obuf b = {0};
    ob_byte(&b, 0x78); /* CM 8 (deflate), CINFO 7 (32 KiB window) */
    ob_byte(&b, 0x01); /* FLEVEL 0, no dictionary; 0x7801 % 31 == 0 */
    int stored = mode == MN_DEFLATE_STORED;
    if (!stored) {
        if (deflate_fixed(&b, in, n)) {
            free(b.p);
            return mn_fail(e, "png: out of memory compressing %zu bytes", n);
        }
        size_t blocks = n ? (n + 65534) / 65535 : 1;
        if (mode == MN_DEFLATE_AUTO && b.len - 2 > n + 5 * blocks) {
            b.len = 2, b.acc = 0, b.nbits = 0; /* noise: stored is smaller */
            stored = 1;
        }
    }
    if (stored) deflate_stored(&b, in, n);
    ob_be32(&b, mn_png_adler32(1, in, n));
    if (b.oom) {
        free(b.p);
        return mn_fail(e, "png: out of memory compressing %zu bytes", n);
    }
    *out = b.p, *out_len = b.len;
    return 0;
}

/* ---- PNG ------------------------------------------------------------------ */

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

/* Filters row (with prior row up, NULL for the first) with filter type ft
 * into dst; returns the sum of |signed byte| the heuristic minimises. */
static unsigned long filter_row(int ft, const uint8_t *row, const uint8_t *up, size_t nb, int bpp, uint8_t *dst)
{
    unsigned long cost = 0;
    for (size_t i = 0; i < nb; i++) {
        int a = i >= (size_t)bpp ? row[i - (size_t)bpp] : 0, b = up ? up[i] : 0;
        int c = up && i >= (size_t)bpp ? up[i - (size_t)bpp] : 0, pred;
        switch (ft) {
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: pred = paeth(a, b, c); break;
        default: pred = 0; break;
        }
        uint8_t v = (uint8_t)(row[i] - pred);
        dst[i] = v;
        cost += v < 128 ? v : 256u - v;
    }
    return cost;
}

static void chunk(obuf *b, const char type[4], const uint8_t *data, size_t n)
{
    ob_be32(b, (uint32_t)n);
    size_t at = b->len;
    ob_bytes(b, type, 4);
    ob_bytes(b, data, n);
    if (!b->oom) ob_be32(b, mn_crc32(0, b->p + at, n + 4));
}

int mn_png_encode(int w, int h, int channels, const uint8_t *pixels, uint8_t **out, size_t *out_len, mn_err *e)
{
    *out = NULL, *out_len = 0;
    if (channels != 1 && channels != 3) return mn_fail(e, "png: %d channels (1 grey or 3 RGB)", channels);
    if (w < 1 || h < 1 || w > MN_PNG_MAX_DIM || h > MN_PNG_MAX_DIM)
        return mn_fail(e, "png: image size %dx%d outside 1 to %d", w, h, MN_PNG_MAX_DIM);
    if (!pixels) return mn_fail(e, "png: no pixels");
    size_t nb = (size_t)w * (size_t)channels, rows = (size_t)h;
    uint8_t *filt = malloc((nb + 1) * rows), *trial = malloc(nb);
    if (!filt || !trial) {
        free(filt), free(trial);
        return mn_fail(e, "png: out of memory for a %dx%d image", w, h);
    }
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *row = pixels + y * nb, *up = y ? row - nb : NULL;
        uint8_t *dst = filt + y * (nb + 1);
        unsigned long best = 0;
        int best_ft = 0;
        for (int ft = 0; ft < 5; ft++) {
            unsigned long cost = filter_row(ft, row, up, nb, channels, trial);
            if (ft == 0 || cost < best) {
                best = cost, best_ft = ft;
                memcpy(dst + 1, trial, nb);
            }
        }
        dst[0] = (uint8_t)best_ft;
    }
    free(trial);
    uint8_t *z;
    size_t zn;
    int rc = mn_png_zlib(filt, (nb + 1) * rows, MN_DEFLATE_AUTO, &z, &zn, e);
    free(filt);
    if (rc) return -1;
    if (zn > 0x7fffffffu) {
        free(z);
        return mn_fail(e, "png: compressed image too large for one chunk");
    }

    obuf b = {0};
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ob_bytes(&b, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        8,                   /* bit depth */
                        channels == 3 ? 2 : 0, /* colour type: RGB or grey */
                        0, 0, 0};            /* deflate, adaptive filtering, no interlace */
    chunk(&b, "IHDR", ihdr, sizeof ihdr);
    chunk(&b, "IDAT", z, zn);
    chunk(&b, "IEND", NULL, 0);
    free(z);
    if (b.oom) {
        free(b.p);
        return mn_fail(e, "png: out of memory for a %dx%d image", w, h);
    }
    *out = b.p, *out_len = b.len;
    return 0;
}

/* ---- files --------------------------------------------------------------- */

int mn_write_file_atomic(const char *path, const void *data, size_t n, mn_err *e)
{
    if (!path || !*path) return mn_fail(e, "no output path");
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    return mn_atomic_commit(f, path, tmp, fwrite(data, 1, n, f) == n, e);
}

int mn_png_write(const char *path, int w, int h, int channels, const uint8_t *pixels, mn_err *e)
{
    uint8_t *png;
    size_t n;
    if (mn_png_encode(w, h, channels, pixels, &png, &n, e)) {
        /* the message says "png: ..."; name the file instead */
        if (!e) return -1;
        mn_err inner = *e;
        const char *what = strncmp(inner.msg, "png: ", 5) ? inner.msg : inner.msg + 5;
        return mn_fail(e, "%s: %s", path, what);
    }
    int rc = mn_write_file_atomic(path, png, n, e);
    free(png);
    return rc;
}
