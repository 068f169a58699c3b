/* test_gzip.c - our inflater and gzip reader.
 *
 * The streams are made here, by a small deflate *encoder* of the test's own
 * (stored blocks by hand; fixed- and dynamic-Huffman blocks from a token list
 * that either a greedy LZ77 matcher or a random token generator produces), so
 * that every part of the decoder is exercised with known answers: all match
 * lengths 3..258, distances up to 32768, overlapping copies, one-code and
 * no-code distance trees, every gzip header field, several members. Then
 * broken streams: truncated at every byte, thousands of seeded bit flips,
 * bad CRC / ISIZE / header fields, invalid Huffman codes. Each must fail with
 * one line naming the input, or (rarely, for a flip in a field nobody checks)
 * succeed with the original bytes.
 *
 * If the system has gzip, its output (-1 and -9) must round-trip. If the real
 * MNIST .gz files are found ($MNIST_DATA, else <srcdir>/../shared/data/mnist
 * or <srcdir>/data/mnist, srcdir being argv[1] or where this file was
 * compiled from), they are decoded and spot-checked.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir, access, clock_gettime */

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mnist/gzip.h"
#include "test.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    return splitmix64(&rng_state);
}

static unsigned rnd_below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* A growable byte buffer that also writes bits, LSB first, as deflate does. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    uint32_t acc;
    int nacc;
} buf;

static void put_byte(buf *b, uint8_t v)
{
    if (b->len == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        uint8_t *q = realloc(b->p, b->cap);
        if (!q) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->p = q;
    }
    b->p[b->len++] = v;
}

static void put_bytes(buf *b, const void *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_byte(b, ((const uint8_t *)v)[i]);
}

static void put_le(buf *b, uint32_t v, int nbytes)
{
    for (int i = 0; i < nbytes; i++)
        put_byte(b, (uint8_t)(v >> (8 * i)));
}

static void put_bits(buf *b, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        b->acc |= ((v >> i) & 1u) << b->nacc;
        if (++b->nacc == 8) {
            put_byte(b, (uint8_t)b->acc);
            b->acc = 0;
            b->nacc = 0;
        }
    }
}

/* A Huffman code goes most significant bit first. */
static void put_code(buf *b, uint32_t code, int len)
{
    for (int i = len - 1; i >= 0; i--)
        put_bits(b, (code >> i) & 1u, 1);
}

static void flush_bits(buf *b)
{
    if (b->nacc)
        put_bits(b, 0, 8 - b->nacc);
}

/* ---- deflate encoder ----------------------------------------------------- */

/* RFC 1951 3.2.5 */
static const uint16_t LBASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DBASE[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                   33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                   1025, 1537, 2049, 3073, 4097, 6145,  8193,  12289, 16385, 24577};
static const uint8_t DEXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int len_sym(int len)
{
    if (len == 258)
        return 285;
    int s = 28;
    while (LBASE[s] > len)
        s--;
    return 257 + s;
}

static int dist_sym(int dist)
{
    int s = 29;
    while (DBASE[s] > dist)
        s--;
    return s;
}

/* A literal (len == 0) or a match. */
typedef struct {
    uint16_t len, dist;
    uint8_t lit;
} token;

typedef struct {
    token *t;
    size_t n, cap;
} tokens;

static void add_token(tokens *ts, int len, int dist, int lit)
{
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? 2 * ts->cap : 1024;
        token *q = realloc(ts->t, ts->cap * sizeof *q);
        if (!q) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        ts->t = q;
    }
    ts->t[ts->n].len = (uint16_t)len;
    ts->t[ts->n].dist = (uint16_t)dist;
    ts->t[ts->n].lit = (uint8_t)lit;
    ts->n++;
}

/* Canonical codes from code lengths (RFC 1951 3.2.2). */
static void canonical(const uint8_t *lens, int n, uint16_t *codes)
{
    int count[16] = {0}, next[16];
    for (int i = 0; i < n; i++)
        count[lens[i]]++;
    count[0] = 0;
    int code = 0;
    for (int l = 1; l < 16; l++) {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    for (int i = 0; i < n; i++)
        codes[i] = lens[i] ? (uint16_t)next[lens[i]]++ : 0;
}

/* Huffman code lengths for the frequencies, no longer than `limit`; a single
 * used symbol gets length 1. O(n^2) merging: n <= 288. */
static void huff_lengths(const uint32_t *freq_in, size_t n_, int limit, uint8_t *lens)
{
    uint32_t freq[320];
    int n = n_ < 320 ? (int)n_ : 320;
    memcpy(freq, freq_in, sizeof(uint32_t) * (size_t)n);
    for (;;) {
        int parent[640], used = 0;
        uint64_t w[640];
        int alive[640];
        for (int i = 0; i < n; i++) {
            w[i] = freq[i];
            alive[i] = freq[i] > 0;
            parent[i] = -1;
            used += alive[i];
        }
        memset(lens, 0, (size_t)n);
        if (used == 0)
            return;
        if (used == 1) {
            for (int i = 0; i < n; i++)
                if (freq[i])
                    lens[i] = 1;
            return;
        }
        int nodes = n;
        for (int left = used; left > 1; left--) {
            int a = -1, b = -1;
            for (int i = 0; i < nodes; i++) {
                if (!alive[i])
                    continue;
                if (a < 0 || w[i] < w[a]) {
                    b = a;
                    a = i;
                } else if (b < 0 || w[i] < w[b]) {
                    b = i;
                }
            }
            w[nodes] = w[a] + w[b];
            alive[nodes] = 1;
            parent[nodes] = -1;
            alive[a] = alive[b] = 0;
            parent[a] = parent[b] = nodes;
            nodes++;
        }
        int too_long = 0;
        for (int i = 0; i < n; i++) {
            if (!freq[i])
                continue;
            int d = 0;
            for (int j = i; parent[j] >= 0; j = parent[j])
                d++;
            lens[i] = (uint8_t)(d > 255 ? 255 : d);
            too_long |= d > limit;
        }
        if (!too_long)
            return;
        for (int i = 0; i < n; i++)
            if (freq[i])
                freq[i] = (freq[i] >> 1) | 1u;
    }
}

static void put_stored(buf *b, const uint8_t *data, size_t n, int final)
{
    put_bits(b, (uint32_t)final, 1);
    put_bits(b, 0, 2);
    flush_bits(b);
    put_le(b, (uint32_t)n, 2);
    put_le(b, (uint32_t)(~n & 0xFFFFu), 2);
    put_bytes(b, data, n);
}

/* Data in stored blocks of at most `max` bytes (an empty input: one empty
 * block). */
static void put_stored_all(buf *b, const uint8_t *data, size_t n, size_t max, int final)
{
    do {
        size_t k = n < max ? n : max;
        put_stored(b, data, k, final && k == n);
        data += k;
        n -= k;
    } while (n);
}

static void put_symbols(buf *b, const token *t, size_t n, const uint8_t *ll, const uint16_t *lc, const uint8_t *dl,
                        const uint16_t *dc)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].len == 0) {
            put_code(b, lc[t[i].lit], ll[t[i].lit]);
            continue;
        }
        int ls = len_sym(t[i].len), ds = dist_sym(t[i].dist);
        put_code(b, lc[ls], ll[ls]);
        put_bits(b, (uint32_t)(t[i].len - LBASE[ls - 257]), LEXTRA[ls - 257]);
        put_code(b, dc[ds], dl[ds]);
        put_bits(b, (uint32_t)(t[i].dist - DBASE[ds]), DEXTRA[ds]);
    }
    put_code(b, lc[256], ll[256]);
}

static void put_fixed(buf *b, const token *t, size_t n, int final)
{
    uint8_t ll[288], dl[30];
    uint16_t lc[288], dc[30];
    for (int i = 0; i < 288; i++)
        ll[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    for (int i = 0; i < 30; i++)
        dl[i] = 5;
    canonical(ll, 288, lc);
    canonical(dl, 30, dc);
    put_bits(b, (uint32_t)final, 1);
    put_bits(b, 1, 2);
    put_symbols(b, t, n, ll, lc, dl, dc);
}

static const uint8_t CL_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* A dynamic-Huffman block with codes fitted to the tokens. */
static void put_dynamic(buf *b, const token *t, size_t n, int final)
{
    uint32_t lf[286] = {0}, df[30] = {0};
    for (size_t i = 0; i < n; i++) {
        if (t[i].len == 0) {
            lf[t[i].lit]++;
        } else {
            lf[len_sym(t[i].len)]++;
            df[dist_sym(t[i].dist)]++;
        }
    }
    lf[256] = 1;
    uint8_t ll[286], dl[30];
    uint16_t lc[286], dc[30];
    huff_lengths(lf, 286, 15, ll);
    huff_lengths(df, 30, 15, dl);
    canonical(ll, 286, lc);
    canonical(dl, 30, dc);
    int hlit = 286, hdist = 30;
    while (hlit > 257 && ll[hlit - 1] == 0)
        hlit--;
    while (hdist > 1 && dl[hdist - 1] == 0)
        hdist--;

    /* Run-length code the lengths (runs may cross from one table into the
     * other, as RFC 1951 allows). */
    uint8_t all[316];
    memcpy(all, ll, (size_t)hlit);
    memcpy(all + hlit, dl, (size_t)hdist);
    int total = hlit + hdist;
    int sym[316], ext[316], ns = 0;
    for (int i = 0; i < total;) {
        int run = 1;
        while (i + run < total && all[i + run] == all[i])
            run++;
        if (all[i] == 0 && run >= 11) {
            int k = run > 138 ? 138 : run;
            sym[ns] = 18, ext[ns++] = k - 11;
            i += k;
        } else if (all[i] == 0 && run >= 3) {
            sym[ns] = 17, ext[ns++] = run - 3;
            i += run;
        } else if (all[i] != 0 && run >= 4) {
            sym[ns] = all[i], ext[ns++] = 0;
            int k = run - 1 > 6 ? 6 : run - 1;
            sym[ns] = 16, ext[ns++] = k - 3;
            i += 1 + k;
        } else {
            sym[ns] = all[i], ext[ns++] = 0;
            i++;
        }
    }
    uint32_t cf[19] = {0};
    for (int i = 0; i < ns; i++)
        cf[sym[i]]++;
    /* A code-length code must be complete: make sure two symbols are used. */
    int cused = 0;
    for (int i = 0; i < 19; i++)
        cused += cf[i] > 0;
    if (cused < 2)
        cf[sym[0] == 0 ? 1 : 0] = 1;
    uint8_t cl[19];
    uint16_t cc[19];
    huff_lengths(cf, 19, 7, cl);
    canonical(cl, 19, cc);
    int hclen = 19;
    while (hclen > 4 && cl[CL_ORDER[hclen - 1]] == 0)
        hclen--;

    put_bits(b, (uint32_t)final, 1);
    put_bits(b, 2, 2);
    put_bits(b, (uint32_t)(hlit - 257), 5);
    put_bits(b, (uint32_t)(hdist - 1), 5);
    put_bits(b, (uint32_t)(hclen - 4), 4);
    for (int i = 0; i < hclen; i++)
        put_bits(b, cl[CL_ORDER[i]], 3);
    for (int i = 0; i < ns; i++) {
        put_code(b, cc[sym[i]], cl[sym[i]]);
        if (sym[i] == 16)
            put_bits(b, (uint32_t)ext[i], 2);
        else if (sym[i] == 17)
            put_bits(b, (uint32_t)ext[i], 3);
        else if (sym[i] == 18)
            put_bits(b, (uint32_t)ext[i], 7);
    }
    put_symbols(b, t, n, ll, lc, dl, dc);
}

/* Greedy LZ77 with hash chains: not a good compressor, a correct one. */
static void lz77(const uint8_t *d, size_t n, tokens *ts)
{
    enum { HBITS = 15, WIN = 32768 };
    int32_t *head = xmalloc(sizeof(int32_t) << HBITS);
    int32_t *prev = xmalloc(sizeof(int32_t) * WIN);
    for (size_t i = 0; i < ((size_t)1 << HBITS); i++)
        head[i] = -1;
    size_t i = 0;
#define HASH3(p) ((((uint32_t)(p)[0] << 16 | (uint32_t)(p)[1] << 8 | (p)[2]) * 2654435761u) >> (32 - HBITS))
    while (i < n) {
        int best = 0, bestd = 0;
        if (i + 3 <= n) {
            uint32_t h = HASH3(d + i);
            int32_t c = head[h];
            for (int tries = 0; c >= 0 && tries < 64 && i - (size_t)c <= WIN; tries++) {
                int m = 0, lim = (int)(n - i < 258 ? n - i : 258);
                while (m < lim && d[(size_t)c + (size_t)m] == d[i + (size_t)m])
                    m++;
                if (m > best) {
                    best = m;
                    bestd = (int)(i - (size_t)c);
                }
                int32_t pc = prev[c % WIN];
                if (pc >= c)
                    break;
                c = pc;
            }
        }
        size_t step = best >= 3 ? (size_t)best : 1;
        if (best >= 3)
            add_token(ts, best, bestd, 0);
        else
            add_token(ts, 0, 0, d[i]);
        for (size_t k = 0; k < step; k++, i++) {
            if (i + 3 <= n) {
                uint32_t h = HASH3(d + i);
                prev[i % WIN] = head[h];
                head[h] = (int32_t)i;
            }
        }
    }
#undef HASH3
    free(head);
    free(prev);
}

/* Random tokens and the data they decode to: literals, and matches of any
 * length 3..258 at any distance that is valid so far. */
static uint8_t *random_tokens(size_t target, tokens *ts, size_t *out_n, int literal_pct)
{
    uint8_t *d = xmalloc(target + 300);
    size_t n = 0;
    while (n < target) {
        unsigned r = rnd_below(100);
        if (n == 0 || (int)r < literal_pct) {
            int lit = rnd_below(4) ? (int)rnd_below(16) : (int)rnd_below(256);
            d[n++] = (uint8_t)lit;
            add_token(ts, 0, 0, lit);
            continue;
        }
        int len;
        unsigned k = rnd_below(8);
        len = k == 0 ? 258 : k < 3 ? 3 + (int)rnd_below(8) : 3 + (int)rnd_below(256);
        unsigned maxd = n < 32768 ? (unsigned)n : 32768u;
        size_t dist;
        switch (rnd_below(6)) {
        case 0: /* runs */
            dist = 1;
            break;
        case 1: /* short periods */
            dist = 1 + rnd_below(maxd < 8 ? maxd : 8);
            break;
        case 2: /* as far back as possible */
            dist = maxd;
            break;
        default:
            dist = 1 + rnd_below(maxd);
        }
        for (int j = 0; j < len; j++, n++)
            d[n] = d[n - dist];
        add_token(ts, len, (int)dist, 0);
    }
    *out_n = n;
    return d;
}

/* ---- gzip container ------------------------------------------------------ */

typedef struct {
    int ftext;
    const uint8_t *extra;
    size_t extra_len;
    int has_extra;
    const char *name, *comment;
    int hcrc;          /* 1: correct header CRC, 2: wrong one */
    int bad_crc;       /* store a wrong CRC-32 */
    int bad_isize;     /* store a wrong ISIZE */
    uint8_t method;    /* 0 means 8 */
    uint8_t reserved;  /* extra FLG bits */
} gzopt;

/* Appends one member holding `deflate` (whose data is `orig`) to b. */
static void put_member(buf *b, const uint8_t *deflate, size_t dn, const uint8_t *orig, size_t on, const gzopt *o)
{
    static const gzopt none;
    if (!o)
        o = &none;
    size_t start = b->len;
    uint8_t flg = (uint8_t)((o->ftext ? 1 : 0) | (o->hcrc ? 2 : 0) | (o->has_extra ? 4 : 0) | (o->name ? 8 : 0) |
                            (o->comment ? 16 : 0) | o->reserved);
    uint8_t head[10] = {0x1f, 0x8b, o->method ? o->method : 8, flg, 0x78, 0x56, 0x34, 0x12, 0, 3};
    put_bytes(b, head, 10);
    if (o->has_extra) {
        put_le(b, (uint32_t)o->extra_len, 2);
        put_bytes(b, o->extra, o->extra_len);
    }
    if (o->name)
        put_bytes(b, o->name, strlen(o->name) + 1);
    if (o->comment)
        put_bytes(b, o->comment, strlen(o->comment) + 1);
    if (o->hcrc) {
        uint32_t c = crc32_ref(b->p + start, b->len - start);
        put_le(b, (c & 0xFFFFu) ^ (o->hcrc == 2 ? 1u : 0u), 2);
    }
    put_bytes(b, deflate, dn);
    put_le(b, crc32_ref(orig, on) ^ (o->bad_crc ? 0x100u : 0u), 4);
    put_le(b, (uint32_t)on + (o->bad_isize ? 1u : 0u), 4);
}

enum { ENC_STORED, ENC_FIXED, ENC_DYNAMIC, ENC_MIXED };

/* The deflate stream of d in the given style (one or more blocks). */
static buf deflate_buf(const uint8_t *d, size_t n, int style)
{
    buf b = {0};
    if (style == ENC_STORED) {
        put_stored_all(&b, d, n, 65535, 1);
        return b;
    }
    tokens ts = {0};
    lz77(d, n, &ts);
    if (style == ENC_FIXED) {
        put_fixed(&b, ts.t, ts.n, 1);
    } else if (style == ENC_DYNAMIC) {
        put_dynamic(&b, ts.t, ts.n, 1);
    } else {
        /* Blocks of ~1000 tokens in turn dynamic, fixed, stored (a stored
         * block holds the bytes its tokens decode to); matches reach back
         * across block boundaries. */
        size_t pos = 0;
        for (size_t i = 0, blk = 0; i < ts.n || blk == 0; blk++) {
            size_t k = ts.n - i < 1000 ? ts.n - i : 1000;
            int final = i + k == ts.n;
            size_t bytes = 0;
            for (size_t j = i; j < i + k; j++)
                bytes += ts.t[j].len ? ts.t[j].len : 1;
            if (blk % 3 == 0)
                put_dynamic(&b, ts.t + i, k, final);
            else if (blk % 3 == 1)
                put_fixed(&b, ts.t + i, k, final);
            else
                put_stored_all(&b, d + pos, bytes, 65535, final);
            pos += bytes;
            i += k;
        }
    }
    free(ts.t);
    flush_bits(&b);
    return b;
}

static buf gzip_buf(const uint8_t *d, size_t n, int style, const gzopt *o)
{
    buf df = deflate_buf(d, n, style);
    buf g = {0};
    put_member(&g, df.p, df.len, d, n, o);
    free(df.p);
    return g;
}

/* ---- checks --------------------------------------------------------------- */

static int one_line(const char *m)
{
    return m[0] && !strchr(m, '\n');
}

/* mn_gunzip must give back exactly d[0..n). */
static int expect_ok(const uint8_t *gz, size_t gn, const uint8_t *d, size_t n, const char *what)
{
    mn_err e = {{0}};
    uint8_t *out = (uint8_t *)"x";
    size_t len = 12345;
    int rc = mn_gunzip(gz, gn, &out, &len, (size_t)1 << 30, what, &e);
    int ok = rc == 0 && len == n && out != NULL && (n == 0 || memcmp(out, d, n) == 0);
    CHECK_MSG(ok, "%s: rc %d, %zu bytes (want %zu): %s", what, rc, len, n, rc ? e.msg : "data differs");
    if (rc == 0)
        free(out);
    return ok;
}

/* mn_gunzip must fail with one line that names the input and says `word`. */
static void expect_fail(const uint8_t *gz, size_t gn, const char *word, const char *what)
{
    mn_err e = {{0}};
    uint8_t *out = (uint8_t *)"x";
    size_t len = 12345;
    int rc = mn_gunzip(gz, gn, &out, &len, (size_t)1 << 30, "stream.gz", &e);
    CHECK_MSG(rc == -1, "%s: accepted (expected \"%s\")", what, word);
    if (rc == 0) {
        free(out);
        return;
    }
    CHECK_MSG(out == NULL && len == 0, "%s: outputs not cleared", what);
    CHECK_MSG(one_line(e.msg) && strncmp(e.msg, "stream.gz: ", 11) == 0, "%s: message: %s", what, e.msg);
    CHECK_MSG(strstr(e.msg, word) != NULL, "%s: message lacks \"%s\": %s", what, word, e.msg);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_crc(void)
{
    CHECK(mn_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(mn_crc32(0, "", 0) == 0);
    uint8_t *d = xmalloc(20000);
    for (int i = 0; i < 20000; i++)
        d[i] = (uint8_t)rnd();
    int ok = 1;
    size_t sizes[] = {1, 7, 8, 9, 63, 4095, 4096, 4097, 19990};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (size_t off = 0; off < 9; off++)
            ok &= mn_crc32(0, d + off, sizes[k]) == crc32_ref(d + off, sizes[k]);
    CHECK(ok);
    /* continuing a CRC */
    CHECK(mn_crc32(mn_crc32(0, d, 5000), d + 5000, 15000) == crc32_ref(d, 20000));
    free(d);
}

static void test_stored(void)
{
    uint8_t *d = xmalloc(200000);
    for (int i = 0; i < 200000; i++)
        d[i] = (uint8_t)rnd();

    /* empty data: one empty final stored block */
    buf g = gzip_buf(d, 0, ENC_STORED, NULL);
    expect_ok(g.p, g.len, d, 0, "empty stored");
    free(g.p);

    /* exactly 65535 bytes: one block of the maximum length */
    g = gzip_buf(d, 65535, ENC_STORED, NULL);
    CHECK(g.len == 10 + 5 + 65535 + 8);
    expect_ok(g.p, g.len, d, 65535, "max stored block");
    free(g.p);

    /* 200000 bytes: 4 blocks */
    g = gzip_buf(d, 200000, ENC_STORED, NULL);
    expect_ok(g.p, g.len, d, 200000, "4 stored blocks");
    free(g.p);

    /* many small blocks, with empty non-final ones between them */
    buf df = {0};
    size_t pos = 0;
    for (int i = 0; pos < 3000; i++) {
        size_t k = i % 3 == 0 ? 0 : (size_t)rnd_below(200);
        if (pos + k > 3000)
            k = 3000 - pos;
        put_stored(&df, d + pos, k, 0);
        pos += k;
    }
    put_stored(&df, d, 0, 1);
    g = (buf){0};
    put_member(&g, df.p, df.len, d, 3000, NULL);
    expect_ok(g.p, g.len, d, 3000, "small and empty stored blocks");
    free(g.p);
    free(df.p);

    /* LEN and NLEN disagree */
    g = gzip_buf(d, 100, ENC_STORED, NULL);
    g.p[10 + 3] ^= 1; /* NLEN low byte */
    expect_fail(g.p, g.len, "stored block length", "LEN/NLEN");
    free(g.p);
    /* a stored block longer than the rest of the file */
    g = gzip_buf(d, 100, ENC_STORED, NULL);
    g.p[10 + 2] = 1, g.p[10 + 4] = 0xFE; /* LEN 356, NLEN to match */
    expect_fail(g.p, g.len, "truncated", "stored block past the end");
    free(g.p);
    free(d);
}

/* Round trips of token streams made to hit every length and distance. */
static void test_huffman(void)
{
    /* all lengths 3..258 at assorted distances, after 40000 literals so that
     * every distance up to 32768 is valid; then every distance code at the
     * bottom and top of its range, with distance 32768 itself */
    tokens ts = {0};
    uint8_t *d = xmalloc(200000);
    size_t n = 0;
    for (int i = 0; i < 40000; i++) {
        d[n++] = (uint8_t)rnd_below(256);
        add_token(&ts, 0, 0, d[n - 1]);
    }
    for (int len = 3; len <= 258; len++) {
        int dist = 1 + (int)rnd_below(32768);
        if (len % 17 == 0)
            dist = 1;
        for (int j = 0; j < len; j++, n++)
            d[n] = d[n - (size_t)dist];
        add_token(&ts, len, dist, 0);
    }
    for (int c = 0; c < 30; c++) {
        int ds[2] = {DBASE[c], DBASE[c] + (1 << DEXTRA[c]) - 1};
        for (int k = 0; k < 2; k++) {
            int len = 3 + (int)rnd_below(256);
            for (int j = 0; j < len; j++, n++)
                d[n] = d[n - (size_t)ds[k]];
            add_token(&ts, len, ds[k], 0);
            d[n++] = (uint8_t)c;
            add_token(&ts, 0, 0, c);
        }
    }
    CHECK(ts.t[ts.n - 2].dist == 32768);
    /* overlapping copies: every period 1..20 with lengths across 3..258 */
    for (int dist = 1; dist <= 20; dist++) {
        for (int len = 3; len <= 258; len += 51) {
            for (int j = 0; j < len; j++, n++)
                d[n] = d[n - (size_t)dist];
            add_token(&ts, len, dist, 0);
        }
    }

    for (int style = 1; style <= 2; style++) {
        buf df = {0};
        if (style == 1)
            put_fixed(&df, ts.t, ts.n, 1);
        else
            put_dynamic(&df, ts.t, ts.n, 1);
        flush_bits(&df);
        buf g = {0};
        put_member(&g, df.p, df.len, d, n, NULL);
        expect_ok(g.p, g.len, d, n, style == 1 ? "fixed: all lengths and distances" : "dynamic: all lengths and distances");
        free(g.p);
        free(df.p);
    }
    free(ts.t);
    free(d);

    /* random token streams, fixed and dynamic, more and fewer literals */
    for (int trial = 0; trial < 12; trial++) {
        tokens t2 = {0};
        size_t m;
        uint8_t *r = random_tokens(1000 + rnd_below(100000), &t2, &m, trial % 3 == 0 ? 90 : trial % 3 == 1 ? 50 : 5);
        buf df = {0};
        if (trial % 2)
            put_fixed(&df, t2.t, t2.n, 1);
        else
            put_dynamic(&df, t2.t, t2.n, 1);
        flush_bits(&df);
        buf g = {0};
        put_member(&g, df.p, df.len, r, m, NULL);
        char what[64];
        snprintf(what, sizeof what, "random tokens #%d", trial);
        expect_ok(g.p, g.len, r, m, what);
        free(g.p);
        free(df.p);
        free(t2.t);
        free(r);
    }

    /* literals only: a dynamic block with no distance codes at all; one
     * distance code only (a one-bit incomplete code); only end-of-block */
    {
        uint8_t lit[300];
        tokens t3 = {0};
        for (int i = 0; i < 300; i++) {
            lit[i] = (uint8_t)(i * 7);
            add_token(&t3, 0, 0, lit[i]);
        }
        buf df = {0};
        put_dynamic(&df, t3.t, t3.n, 1);
        flush_bits(&df);
        buf g = {0};
        put_member(&g, df.p, df.len, lit, 300, NULL);
        expect_ok(g.p, g.len, lit, 300, "dynamic, no distance codes");
        free(g.p);
        free(df.p);

        t3.n = 0;
        uint8_t run[1 + 258 * 4];
        run[0] = 42;
        add_token(&t3, 0, 0, 42);
        for (int i = 1; i < 1 + 258 * 4; i++)
            run[i] = 42;
        for (int i = 0; i < 4; i++)
            add_token(&t3, 258, 1, 0);
        df = (buf){0};
        put_dynamic(&df, t3.t, t3.n, 1);
        flush_bits(&df);
        g = (buf){0};
        put_member(&g, df.p, df.len, run, sizeof run, NULL);
        expect_ok(g.p, g.len, run, sizeof run, "dynamic, one distance code");
        free(g.p);
        free(df.p);

        t3.n = 0;
        df = (buf){0};
        put_dynamic(&df, t3.t, 0, 0); /* only end-of-block, not final */
        put_fixed(&df, t3.t, 0, 1);   /* an empty fixed block */
        flush_bits(&df);
        g = (buf){0};
        put_member(&g, df.p, df.len, run, 0, NULL);
        expect_ok(g.p, g.len, run, 0, "empty Huffman blocks");
        free(g.p);
        free(df.p);
        free(t3.t);
    }

    /* structured data through the LZ77 encoder in all styles */
    static const char *const words[] = {"the ", "quick ", "brown ", "fox ", "jumps\n", "over ", "lazy ", "dogs. "};
    size_t tn = 300000;
    uint8_t *text = xmalloc(tn);
    for (size_t i = 0; i < tn;) {
        const char *w = words[rnd_below(8)];
        for (size_t j = 0; w[j] && i < tn; j++)
            text[i++] = (uint8_t)w[j];
    }
    uint8_t *img = xmalloc(tn); /* MNIST-like: mostly zero rows, some blobs */
    for (size_t i = 0; i < tn; i++) {
        size_t r = (i / 28) % 28, c = i % 28;
        img[i] = (r > 6 && r < 22 && c > 8 && c < 20 && rnd_below(3)) ? (uint8_t)rnd_below(256) : 0;
    }
    uint8_t *rnd_bytes = xmalloc(tn);
    for (size_t i = 0; i < tn; i++)
        rnd_bytes[i] = (uint8_t)rnd();
    const uint8_t *sets[3] = {text, img, rnd_bytes};
    static const char *const set_names[3] = {"text", "image-like", "random"};
    static const char *const style_names[4] = {"stored", "fixed", "dynamic", "mixed blocks"};
    for (int s = 0; s < 3; s++) {
        for (int style = 0; style < 4; style++) {
            size_t len = s == 2 ? 70000 : tn;
            buf g = gzip_buf(sets[s], len, style, NULL);
            char what[64];
            snprintf(what, sizeof what, "%s, %s", set_names[s], style_names[style]);
            expect_ok(g.p, g.len, sets[s], len, what);
            free(g.p);
        }
    }
    free(text);
    free(img);
    free(rnd_bytes);
}

static void test_header_fields(void)
{
    const char *msg = "hello, hello, hello, gzip!\n";
    size_t n = strlen(msg);
    const uint8_t *d = (const uint8_t *)msg;
    uint8_t extra[300];
    for (int i = 0; i < 300; i++)
        extra[i] = (uint8_t)i;

    /* every combination of FTEXT, FHCRC, FEXTRA, FNAME, FCOMMENT */
    int ok = 1;
    for (int f = 0; f < 32; f++) {
        gzopt o = {0};
        o.ftext = f & 1;
        o.hcrc = (f & 2) ? 1 : 0;
        o.has_extra = (f & 4) != 0;
        o.extra = extra;
        o.extra_len = (size_t)(f * 9);
        o.name = (f & 8) ? "file.txt" : NULL;
        o.comment = (f & 16) ? "a comment" : NULL;
        buf g = gzip_buf(d, n, f % 3, &o);
        ok &= expect_ok(g.p, g.len, d, n, "header flags");
        free(g.p);
    }
    CHECK(ok);

    gzopt o = {0};
    o.hcrc = 2;
    o.name = "x";
    buf g = gzip_buf(d, n, ENC_FIXED, &o);
    expect_fail(g.p, g.len, "header CRC", "bad FHCRC");
    free(g.p);

    for (int bit = 5; bit < 8; bit++) {
        o = (gzopt){0};
        o.reserved = (uint8_t)(1u << bit);
        g = gzip_buf(d, n, ENC_FIXED, &o);
        expect_fail(g.p, g.len, "reserved flag", "reserved FLG bit");
        free(g.p);
    }
    o = (gzopt){0};
    o.method = 7;
    g = gzip_buf(d, n, ENC_FIXED, &o);
    expect_fail(g.p, g.len, "compression method 7", "method 7");
    free(g.p);

    o = (gzopt){0};
    o.bad_crc = 1;
    g = gzip_buf(d, n, ENC_DYNAMIC, &o);
    expect_fail(g.p, g.len, "CRC-32 mismatch", "bad CRC-32");
    free(g.p);
    o = (gzopt){0};
    o.bad_isize = 1;
    g = gzip_buf(d, n, ENC_DYNAMIC, &o);
    expect_fail(g.p, g.len, "ISIZE mismatch", "bad ISIZE");
    free(g.p);

    /* not gzip at all */
    expect_fail((const uint8_t *)"", 0, "empty", "empty input");
    expect_fail((const uint8_t *)"PK\3\4 this is a zip file", 24, "not in gzip format", "zip magic");
    expect_fail((const uint8_t *)"\0\0\x08\x03\0\0\0\x02", 8, "not in gzip format", "IDX, not gzip");
    expect_fail((const uint8_t *)"x", 1, "not in gzip format", "one byte");
    expect_fail((const uint8_t *)"\x1f", 1, "truncated", "half a magic");
    expect_fail((const uint8_t *)"\x1f\x8b\x08\x08", 4, "truncated", "header cut");
    expect_fail((const uint8_t *)"\x1f\x8b\x08\x08\0\0\0\0\0\3name-without-end", 26, "truncated", "FNAME unterminated");
    expect_fail((const uint8_t *)"\x1f\x8b\x08\x04\0\0\0\0\0\3\xff\x00"
                "abc", 15, "truncated", "FEXTRA too long");
}

static void test_members(void)
{
    uint8_t d[3000];
    for (int i = 0; i < 3000; i++)
        d[i] = (uint8_t)(i % 251 ^ i / 7);

    /* three members (one empty) in different styles, plus header fields */
    buf all = {0};
    gzopt o = {0};
    o.name = "part";
    static const size_t offs[4] = {0, 1000, 1000, 2000}, lens[4] = {1000, 1000, 0, 1000};
    static const int styles[4] = {ENC_FIXED, ENC_DYNAMIC, ENC_STORED, ENC_MIXED};
    for (int m = 0; m < 4; m++) {
        buf g = gzip_buf(d + offs[m], lens[m], styles[m], m == 1 ? &o : NULL);
        put_bytes(&all, g.p, g.len);
        free(g.p);
    }
    expect_ok(all.p, all.len, d, 3000, "4 members");

    /* trailing garbage, and a partial member after the last */
    buf t = {0};
    put_bytes(&t, all.p, all.len);
    put_bytes(&t, "junk", 4);
    expect_fail(t.p, t.len, "trailing garbage", "trailing junk");
    t.len = all.len;
    put_bytes(&t, "\0\0\0\0", 4);
    expect_fail(t.p, t.len, "trailing garbage", "trailing zeros");
    t.len = all.len;
    put_byte(&t, 0x1f);
    expect_fail(t.p, t.len, "truncated", "one byte of a member");
    t.len = all.len;
    put_bytes(&t, "\x1f\x8b\x08\0\0\0", 6);
    expect_fail(t.p, t.len, "truncated", "member header cut");
    free(t.p);
    free(all.p);

    /* a member cannot refer back into the previous one */
    buf g1 = gzip_buf(d, 100, ENC_FIXED, NULL);
    tokens ts = {0};
    add_token(&ts, 10, 5, 0); /* first thing in the member: a match */
    buf df = {0};
    put_fixed(&df, ts.t, ts.n, 1);
    flush_bits(&df);
    put_member(&g1, df.p, df.len, d + 95, 10, NULL);
    expect_fail(g1.p, g1.len, "invalid distance too far back", "match into the previous member");
    free(g1.p);
    free(df.p);
    free(ts.t);
}

/* Hand-made broken Huffman blocks. */
static void test_bad_codes(void)
{
    buf b;
#define START_DYNAMIC(hlit, hdist, hclen)        \
    do {                                         \
        b = (buf){0};                            \
        put_bits(&b, 1, 1);                      \
        put_bits(&b, 2, 2);                      \
        put_bits(&b, (uint32_t)(hlit) - 257, 5); \
        put_bits(&b, (uint32_t)(hdist) - 1, 5);  \
        put_bits(&b, (uint32_t)(hclen) - 4, 4);  \
    } while (0)
#define FAIL_WITH(word, what)                                   \
    do {                                                        \
        for (int pad = 0; pad < 64; pad++)                      \
            put_bits(&b, 0, 1);                                 \
        flush_bits(&b);                                         \
        buf g_ = {0};                                           \
        put_member(&g_, b.p, b.len, (const uint8_t *)"", 0, NULL); \
        expect_fail(g_.p, g_.len, word, what);                  \
        free(g_.p);                                             \
        free(b.p);                                              \
    } while (0)

    /* block type 3 */
    b = (buf){0};
    put_bits(&b, 1, 1);
    put_bits(&b, 3, 2);
    FAIL_WITH("invalid block type 3", "BTYPE 3");

    /* too many literal/length codes (HLIT = 287) / distance codes (31) */
    START_DYNAMIC(287, 1, 4);
    FAIL_WITH("too many literal/length codes", "HLIT 30");
    START_DYNAMIC(257, 31, 4);
    FAIL_WITH("too many distance codes", "HDIST 31");

    /* code-length code over-subscribed: three codes of length 1 */
    START_DYNAMIC(257, 1, 4);
    put_bits(&b, 1, 3), put_bits(&b, 1, 3), put_bits(&b, 1, 3), put_bits(&b, 0, 3);
    FAIL_WITH("over-subscribed code length code", "CL over-subscribed");
    /* code-length code incomplete: a single code of length 1 is not allowed here */
    START_DYNAMIC(257, 1, 4);
    put_bits(&b, 1, 3), put_bits(&b, 0, 3), put_bits(&b, 0, 3), put_bits(&b, 0, 3);
    FAIL_WITH("incomplete code length code", "CL incomplete");

    /* code length codes: 18 and 0..15 as needed. Use symbols 0, 1, 2, 16,
     * 17, 18 and 8 with lengths giving a complete code:
     * 16:3 17:3 18:3 0:3 8:3 1:3 2:2 ... easier: all of 16,17,18,0,8,7,9,6 at
     * length 3 (8 codes of 3 bits, complete). */
    uint8_t cl[19] = {0};
    int cl_syms[8] = {16, 17, 18, 0, 8, 7, 9, 6};
    for (int i = 0; i < 8; i++)
        cl[cl_syms[i]] = 3;
    uint16_t cc[19];
    canonical(cl, 19, cc);
#define PUT_CL_HEADER()                             \
    do {                                            \
        for (int i_ = 0; i_ < 8; i_++)              \
            put_bits(&b, 3, 3);                     \
    } while (0)
#define SYM(s) put_code(&b, cc[s], 3)

    /* repeat (16) with nothing before it */
    START_DYNAMIC(257, 1, 8);
    PUT_CL_HEADER();
    SYM(16);
    put_bits(&b, 0, 2);
    FAIL_WITH("no previous length", "16 first");

    /* a run past the end of the lengths: 257 + 1 = 258 lengths, 18 x 138 x 2 = 276 */
    START_DYNAMIC(257, 1, 8);
    PUT_CL_HEADER();
    SYM(18), put_bits(&b, 127, 7);
    SYM(18), put_bits(&b, 127, 7);
    FAIL_WITH("too many code lengths", "run overflows");

    /* no end-of-block code: 256 literals of length 8, 256 and the distance 0 */
    START_DYNAMIC(257, 1, 8);
    PUT_CL_HEADER();
    for (int i = 0; i < 256; i++)
        SYM(8);
    SYM(0), SYM(0);
    FAIL_WITH("missing end-of-block", "no EOB");

    /* over-subscribed literal/length code: 256 x 8 bits + EOB at 8 bits */
    START_DYNAMIC(257, 1, 8);
    PUT_CL_HEADER();
    for (int i = 0; i < 257; i++)
        SYM(8);
    SYM(0);
    FAIL_WITH("over-subscribed literal/length code", "lit over-subscribed");

    /* incomplete literal/length code: 128 x 8 bits + EOB at 8 bits */
    START_DYNAMIC(257, 1, 8);
    PUT_CL_HEADER();
    for (int i = 0; i < 128; i++)
        SYM(8);
    SYM(17), put_bits(&b, 7, 3); /* 10 zeros */
    SYM(18), put_bits(&b, 107, 7); /* 118 zeros -> 256 */
    SYM(8);                         /* EOB */
    SYM(0);
    FAIL_WITH("incomplete literal/length code", "lit incomplete");

    /* a complete literal/length code (255 x 8 bits, 2 x 9 bits), but an
     * incomplete distance code of two codes (6 and 7 bits) */
    START_DYNAMIC(257, 2, 8);
    PUT_CL_HEADER();
    for (int i = 0; i < 255; i++)
        SYM(8);
    SYM(9), SYM(9);
    SYM(6), SYM(7);
    FAIL_WITH("incomplete distance code", "dist incomplete");

    /* fixed code: distance codes 30 and 31, literal/length codes 286, 287 */
    static const int bad_d[2] = {30, 31};
    for (int k = 0; k < 2; k++) {
        b = (buf){0};
        put_bits(&b, 1, 1);
        put_bits(&b, 1, 2);
        put_code(&b, 0x30 + 'a', 8);   /* literal 'a' */
        put_code(&b, 1, 7);            /* length 3 (symbol 257) */
        put_code(&b, (uint32_t)bad_d[k], 5);
        FAIL_WITH("invalid distance code", "fixed distance 30/31");
    }
    for (int k = 0; k < 2; k++) {
        b = (buf){0};
        put_bits(&b, 1, 1);
        put_bits(&b, 1, 2);
        put_code(&b, 0xC0 + 6 + (uint32_t)k, 8); /* 286 / 287 */
        FAIL_WITH("invalid literal/length code", "fixed 286/287");
    }

    /* distance too far back: one literal, then distance 2 */
    b = (buf){0};
    put_bits(&b, 1, 1);
    put_bits(&b, 1, 2);
    put_code(&b, 0x30 + 'a', 8);
    put_code(&b, 1, 7);
    put_code(&b, 1, 5); /* distance 2 */
    FAIL_WITH("invalid distance too far back", "too far back");
#undef START_DYNAMIC
#undef FAIL_WITH
#undef PUT_CL_HEADER
#undef SYM
}

static void test_limits(void)
{
    uint8_t d[5000];
    for (int i = 0; i < 5000; i++)
        d[i] = (uint8_t)(i * i);
    for (int style = 0; style < 4; style++) {
        buf g = gzip_buf(d, 5000, style, NULL);
        mn_err e = {{0}};
        uint8_t *out;
        size_t len;
        CHECK(mn_gunzip(g.p, g.len, &out, &len, 5000, "x", &e) == 0 && len == 5000);
        free(out);
        CHECK(mn_gunzip(g.p, g.len, &out, &len, 4999, "x", &e) == -1 && strstr(e.msg, "exceeds 4999 bytes"));
        CHECK(out == NULL && len == 0);
        size_t wants[] = {0, 1, 4, 16, 1000, 4999, 5000, 5001, 100000};
        for (size_t k = 0; k < sizeof wants / sizeof wants[0]; k++) {
            size_t w = wants[k];
            int rc = mn_gunzip_prefix(g.p, g.len, &out, &len, w, "x", &e);
            size_t want_len = w < 5000 ? w : 5000;
            CHECK_MSG(rc == 0 && len == want_len && (len == 0 || memcmp(out, d, len) == 0), "prefix %zu: %s", w,
                      rc ? e.msg : "wrong data");
            if (rc == 0)
                free(out);
        }
        /* the prefix of a stream with a bad CRC is fine; all of it is not */
        g.p[g.len - 8] ^= 1;
        CHECK(mn_gunzip_prefix(g.p, g.len, &out, &len, 100, "x", &e) == 0 && len == 100);
        free(out);
        CHECK(mn_gunzip_prefix(g.p, g.len, &out, &len, 6000, "x", &e) == -1 && strstr(e.msg, "CRC"));
        free(g.p);
    }
    /* a gzip "bomb": 1 MB of zeros, limited to 64 KB */
    uint8_t *z = calloc(1 << 20, 1);
    buf g = gzip_buf(z, 1 << 20, ENC_DYNAMIC, NULL);
    CHECK(g.len < 4000);
    mn_err e = {{0}};
    uint8_t *out;
    size_t len;
    CHECK(mn_gunzip(g.p, g.len, &out, &len, 65536, "bomb.gz", &e) == -1 && strstr(e.msg, "exceeds"));
    /* a lying ISIZE (4 GB) does not make it allocate 4 GB */
    g.p[g.len - 1] = 0xFF;
    CHECK(mn_gunzip(g.p, g.len, &out, &len, (size_t)1 << 40, "bomb.gz", &e) == -1 && strstr(e.msg, "ISIZE"));
    free(g.p);
    free(z);
}

/* Every proper prefix of a single member must fail, saying "truncated". */
static void test_truncation(void)
{
    uint8_t d[2000];
    for (int i = 0; i < 2000; i++)
        d[i] = (uint8_t)(i % 13 == 0 ? rnd() : (uint64_t)i / 100);
    gzopt o = {0};
    o.name = "trunc";
    o.comment = "c";
    o.hcrc = 1;
    o.has_extra = 1;
    o.extra = d;
    o.extra_len = 5;
    int bad = 0, total = 0;
    for (int style = 0; style < 4; style++) {
        buf g = gzip_buf(d, 2000, style, style ? &o : NULL);
        for (size_t cut = 0; cut < g.len; cut++) {
            uint8_t *copy = xmalloc(cut); /* exact size: ASan sees any over-read */
            memcpy(copy, g.p, cut);
            mn_err e = {{0}};
            uint8_t *out;
            size_t len;
            int rc = mn_gunzip(copy, cut, &out, &len, 1 << 20, "cut.gz", &e);
            total++;
            if (rc == 0 || !one_line(e.msg) || (cut > 0 && !strstr(e.msg, "truncated"))) {
                if (bad++ < 5)
                    fprintf(stderr, "cut at %zu of %zu (style %d): rc %d: %s\n", cut, g.len, style, rc, e.msg);
            }
            if (rc == 0)
                free(out);
            free(copy);
        }
        free(g.p);
    }
    CHECK_MSG(bad == 0, "%d of %d truncations not reported as such", bad, total);
}

/* Seeded random corruption: each must fail cleanly or give the original. */
static void test_bit_flips(void)
{
    uint8_t d[4000];
    for (int i = 0; i < 4000; i++)
        d[i] = (uint8_t)(i % 7 == 0 ? rnd() : (uint64_t)i / 50 * 3);
    buf streams[5];
    gzopt o = {0};
    o.name = "flip";
    o.hcrc = 1;
    for (int s = 0; s < 4; s++)
        streams[s] = gzip_buf(d, 4000, s, s == 3 ? &o : NULL);
    streams[4] = (buf){0}; /* two members */
    put_bytes(&streams[4], streams[2].p, streams[2].len);
    put_bytes(&streams[4], streams[1].p, streams[1].len);
    uint8_t d2[8000];
    memcpy(d2, d, 4000);
    memcpy(d2 + 4000, d, 4000);

    int failed = 0, succeeded = 0, bad = 0;
    for (int trial = 0; trial < 5000; trial++) {
        int s = trial % 5;
        buf *g = &streams[s];
        uint8_t *m = xmalloc(g->len);
        memcpy(m, g->p, g->len);
        int flips = 1 + (int)rnd_below(3);
        for (int f = 0; f < flips; f++) {
            size_t at = rnd_below((unsigned)g->len);
            if (rnd_below(4))
                m[at] ^= (uint8_t)(1u << rnd_below(8));
            else
                m[at] = (uint8_t)rnd();
        }
        mn_err e = {{0}};
        uint8_t *out;
        size_t len;
        int rc = mn_gunzip(m, g->len, &out, &len, 1 << 20, "flip.gz", &e);
        if (rc == 0) {
            succeeded++;
            const uint8_t *want = s == 4 ? d2 : d;
            size_t want_n = s == 4 ? 8000 : 4000;
            if (len != want_n || memcmp(out, want, len) != 0)
                bad++;
            free(out);
        } else {
            failed++;
            if (!one_line(e.msg) || strncmp(e.msg, "flip.gz: ", 9) != 0 || out != NULL || len != 0) {
                if (bad++ < 5)
                    fprintf(stderr, "bad failure: %s\n", e.msg);
            }
        }
        free(m);
    }
    printf("test_gzip: 5000 corrupted streams: %d rejected, %d accepted (changes in unchecked header bytes)\n",
           failed, succeeded);
    CHECK(bad == 0);
    CHECK(failed > 4000);
    for (int s = 0; s < 5; s++)
        free(streams[s].p);

    /* random bytes after a valid header */
    int ok = 1;
    for (int trial = 0; trial < 500; trial++) {
        uint8_t junk[600];
        memcpy(junk, "\x1f\x8b\x08\0\0\0\0\0\0\3", 10);
        size_t jn = 10 + rnd_below(590);
        for (size_t i = 10; i < jn; i++)
            junk[i] = (uint8_t)rnd();
        mn_err e = {{0}};
        uint8_t *out;
        size_t len;
        if (mn_gunzip(junk, jn, &out, &len, 1 << 20, "junk.gz", &e) == 0) {
            free(out);
            ok = 0; /* a CRC-32 and ISIZE match by chance: practically impossible */
        } else {
            ok &= one_line(e.msg);
        }
    }
    CHECK(ok);
}

static int have_gzip(void)
{
    return access("/usr/bin/gzip", X_OK) == 0 || access("/bin/gzip", X_OK) == 0;
}

static void test_system_gzip(void)
{
    if (!have_gzip()) {
        printf("test_gzip: no gzip in /usr/bin or /bin; system-gzip part skipped\n");
        return;
    }
    char dir[] = "/tmp/test_gzip.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        CHECK(0);
        return;
    }
    char raw[64], raw2[64], gz[64], cmd[512];
    snprintf(raw, sizeof raw, "%s/data", dir);
    snprintf(raw2, sizeof raw2, "%s/data2", dir);
    snprintf(gz, sizeof gz, "%s/data.gz", dir);

    size_t n = 1500000;
    uint8_t *d = xmalloc(n);
    for (int kind = 0; kind < 4; kind++) {
        for (size_t i = 0; i < n; i++) {
            size_t r = (i / 28) % 28, c = i % 28;
            switch (kind) {
            case 0: /* random: gzip stores it */
                d[i] = (uint8_t)rnd();
                break;
            case 1: /* zeros */
                d[i] = 0;
                break;
            case 2: /* image-like */
                d[i] = (r > 5 && r < 23 && c > 6 && c < 22 && rnd_below(2)) ? (uint8_t)(255 - rnd_below(40)) : 0;
                break;
            default: /* text-like with a small alphabet */
                d[i] = (uint8_t)("abcdefgh \n"[rnd_below(10)]);
            }
        }
        size_t len = kind == 0 ? 200000 : n;
        write_file(raw, d, len);
        for (int level = 1; level <= 9; level += 8) {
            snprintf(cmd, sizeof cmd, "gzip -c -%d '%s' > '%s'", level, raw, gz);
            int rc = system(cmd);
            uint8_t *g = NULL;
            size_t gn = 0;
            CHECK_MSG(rc == 0 && read_file(gz, &g, &gn) == 0, "%s failed", cmd);
            char what[64];
            snprintf(what, sizeof what, "gzip -%d of data kind %d", level, kind);
            expect_ok(g, gn, d, len, what);
            free(g);
        }
    }
    /* members from two gzip runs, with a file name stored (-N) */
    write_file(raw, d, 1000);
    write_file(raw2, d + 1000, 5000);
    snprintf(cmd, sizeof cmd, "gzip -c -N -9 '%s' > '%s' && gzip -c -1 '%s' >> '%s'", raw, gz, raw2, gz);
    uint8_t *g = NULL;
    size_t gn = 0;
    CHECK(system(cmd) == 0 && read_file(gz, &g, &gn) == 0);
    expect_ok(g, gn, d, 6000, "two gzip members");
    free(g);
    free(d);
    remove(raw);
    remove(raw2);
    remove(gz);
    rmdir(dir);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_real(const char *srcdir)
{
    /* the .gz files only: they are what this test decodes */
    static const char *const subdirs[2] = {"../shared/data/mnist", "data/mnist"};
    static const char *const probe[1] = {"t10k-labels-idx1-ubyte.gz"};
    char dir[600];
    if (!find_mnist(dir, sizeof dir, srcdir, subdirs, probe, 1)) {
        printf("test_gzip: no MNIST .gz files (set MNIST_DATA, or pass the source dir); real-data part skipped\n");
        return;
    }
    static const struct {
        const char *name;
        size_t size;
        uint8_t rank, l0, l1, l2;
    } files[4] = {{"train-images-idx3-ubyte", 47040016, 3, 0, 0, 0},
                  {"train-labels-idx1-ubyte", 60008, 1, 5, 0, 4},
                  {"t10k-images-idx3-ubyte", 7840016, 3, 0, 0, 0},
                  {"t10k-labels-idx1-ubyte", 10008, 1, 7, 2, 1}};
    double total = 0;
    size_t in_total = 0, out_total = 0;
    for (int i = 0; i < 4; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s.gz", dir, files[i].name);
        uint8_t *g;
        size_t gn;
        if (read_file(path, &g, &gn)) {
            CHECK_MSG(0, "cannot read %s", path);
            continue;
        }
        mn_err e = {{0}};
        uint8_t *out;
        size_t len;
        double t0 = now();
        int rc = mn_gunzip(g, gn, &out, &len, (size_t)1 << 31, path, &e);
        total += now() - t0;
        CHECK_MSG(rc == 0, "%s", e.msg);
        if (rc == 0) {
            in_total += gn;
            out_total += len;
            CHECK_MSG(len == files[i].size, "%s: %zu bytes", path, len);
            CHECK(len > 16 && out[0] == 0 && out[1] == 0 && out[2] == 8 && out[3] == files[i].rank);
            uint32_t count = len > 16 ? (uint32_t)out[4] << 24 | (uint32_t)out[5] << 16 | (uint32_t)out[6] << 8 | out[7] : 0;
            CHECK(count == (i < 2 ? 60000u : 10000u));
            if (files[i].rank == 3) /* 28 x 28, the first pixel is background */
                CHECK(len > 16 && out[11] == 28 && out[15] == 28 && out[16] == 0 && out[10] == 0 && out[14] == 0);
            else /* the first labels */
                CHECK(len > 10 && out[8] == files[i].l0 && out[9] == files[i].l1 && out[10] == files[i].l2);
            free(out);
        }
        free(g);
    }
    printf("test_gzip: real MNIST in %s: %zu -> %zu bytes in %.3f s\n", dir, in_total, out_total, total);
}

int main(int argc, char **argv)
{
    test_crc();
    test_stored();
    test_huffman();
    test_header_fields();
    test_members();
    test_bad_codes();
    test_limits();
    test_truncation();
    test_bit_flips();
    test_system_gzip();
    test_real(source_dir(argc, argv));
    return test_summary("test_gzip");
}
