/* gzip.c - inflate (RFC 1951) and the gzip container (RFC 1952).
 *
 * Design, for speed on inputs like MNIST (10 MB -> 47 MB):
 *  - the whole input and the whole output are in memory: back-references
 *    point straight into the output buffer, no sliding window;
 *  - bits are read LSB first through a 64-bit buffer that is refilled with
 *    one unaligned 8-byte load while at least 8 input bytes remain (then it
 *    holds >= 56 bits: enough for a length code, its extra bits, a distance
 *    code and its extra bits, 48 bits at most); near the end of the input
 *    it is refilled a byte at a time, and past the end with zero bytes that
 *    are counted, so that consuming one of them is reported as truncation;
 *  - Huffman codes are decoded with one table lookup on the next 10 bits
 *    (8 for distances); longer codes go through a second-level table;
 *  - the output buffer has SLACK spare bytes past its capacity, so matches
 *    are copied 8 or 16 bytes at a time and may overshoot;
 *  - CRC-32 is slice-by-8, run after each block over that block's output
 *    while it is still in cache.
 */
#include "mnist/gzip.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CRC-32 ------------------------------------------------------------- */

typedef struct {
    uint32_t t[8][256];
} crc_tables;

static void crc_init(crc_tables *c)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (int k = 0; k < 8; k++)
            r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1u)));
        c->t[0][i] = r;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 0xFF];
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Updates a CRC register (pre-inverted, as inside the algorithm). */
static uint32_t crc_update(const crc_tables *c, uint32_t r, const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        r = (r >> 8) ^ c->t[0][(r ^ *p++) & 0xFF];
        n--;
    }
    while (n >= 8) {
        uint32_t a = r ^ load_le32(p), b = load_le32(p + 4);
        r = c->t[7][a & 0xFF] ^ c->t[6][(a >> 8) & 0xFF] ^ c->t[5][(a >> 16) & 0xFF] ^ c->t[4][a >> 24] ^
            c->t[3][b & 0xFF] ^ c->t[2][(b >> 8) & 0xFF] ^ c->t[1][(b >> 16) & 0xFF] ^ c->t[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        r = (r >> 8) ^ c->t[0][(r ^ *p++) & 0xFF];
    return r;
}

uint32_t mn_crc32(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t r = ~crc;
    if (n >= 4096) {
        /* Building the tables costs about as much as 2 KB bitwise. */
        crc_tables *c = malloc(sizeof *c);
        if (c) {
            crc_init(c);
            r = crc_update(c, r, p, n);
            free(c);
            return ~r;
        }
    }
    for (size_t i = 0; i < n; i++) {
        r ^= p[i];
        for (int k = 0; k < 8; k++)
            r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1u)));
    }
    return ~r;
}

/* ---- Huffman decoding tables -------------------------------------------- */

/* A table entry is 32 bits:
 *   bits 0-7    how many bits to drop from the bit buffer for this code
 *               (for a link to a second-level table: the first-level bits)
 *   bits 8-11   extra bits after a length or distance code, or the index
 *               width of the second-level table a link points to
 *   bits 12-15  kind (E_* below; 0 for a length or distance)
 *   bits 16-31  literal byte, base length, base distance, or the offset of
 *               the second-level table */
#define E_LIT 0x8000u
#define E_SUB 0x4000u
#define E_EOB 0x2000u
#define E_BAD 0x1000u

#define LIT_BITS 10
#define DIST_BITS 8
#define CL_BITS 7
/* First level plus, at worst, a 2^(15-first) table for every symbol. */
#define LIT_TABLE_SIZE ((1u << LIT_BITS) + 288u * (1u << (15 - LIT_BITS)))
#define DIST_TABLE_SIZE ((1u << DIST_BITS) + 32u * (1u << (15 - DIST_BITS)))
#define CL_TABLE_SIZE (1u << CL_BITS)

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

enum code_kind { CODE_LIT, CODE_DIST, CODE_CL };
static const char *const kind_name[3] = {"literal/length", "distance", "code length"};

/* What a symbol means, without its bit count. */
static uint32_t sym_entry(enum code_kind kind, unsigned sym)
{
    switch (kind) {
    case CODE_LIT:
        if (sym < 256)
            return E_LIT | (uint32_t)sym << 16;
        if (sym == 256)
            return E_EOB;
        if (sym < 286)
            return (uint32_t)len_base[sym - 257] << 16 | (uint32_t)len_extra[sym - 257] << 8;
        return E_BAD; /* 286, 287: only in the fixed code, never valid data */
    case CODE_DIST:
        if (sym < 30)
            return (uint32_t)dist_base[sym] << 16 | (uint32_t)dist_extra[sym] << 8;
        return E_BAD; /* 30, 31 */
    default:
        return (uint32_t)sym << 16;
    }
}

/* ---- the decoder state -------------------------------------------------- */

/* Bytes past the capacity that a match copy may scribble on. */
#define SLACK 64

typedef struct {
    const uint8_t *in_start, *in, *in_end;
    uint64_t bits;     /* next bits of the stream, LSB first */
    unsigned nbits;    /* how many of them are valid (< 64) */
    size_t overrun;    /* zero bytes fed in past the end of the input */

    uint8_t *out;      /* allocated cap + SLACK bytes */
    size_t pos, cap;   /* bytes written, usable capacity */
    size_t limit;      /* never write more than this */
    int stop_at_limit; /* reaching limit ends decoding successfully */
    int stopped;       /* ... which happened */
    size_t member_start, crc_pos;
    uint32_t crc;      /* register for out[member_start..crc_pos) */

    const char *name;
    const char *fmt;   /* "gzip" or "zlib", for messages */
    int no_crc;        /* zlib: no CRC-32 (Adler-32 is checked at the end) */
    mn_err *e;
    int fixed_ready;

    crc_tables crc_t;
    uint32_t lit[LIT_TABLE_SIZE];
    uint32_t dist[DIST_TABLE_SIZE];
    uint32_t fixed_lit[LIT_TABLE_SIZE];
    uint32_t fixed_dist[DIST_TABLE_SIZE];
    uint32_t cl[CL_TABLE_SIZE];
} inflater;

static size_t in_offset(const inflater *s)
{
    /* The byte holding the next unread bit. */
    size_t held = s->nbits / 8;
    size_t real_held = held > s->overrun ? held - s->overrun : 0;
    return (size_t)(s->in - s->in_start) - real_held;
}

static int truncated(inflater *s);

static int corrupt(inflater *s, const char *what)
{
    /* Nonsense decoded from the zero bits fed in past the end of the input
     * means the input was cut short. */
    if (8 * s->overrun > s->nbits)
        return truncated(s);
    return mn_fail(s->e, "%s: corrupt %s data: %s (compressed byte %zu)", s->name, s->fmt, what, in_offset(s));
}

static int truncated(inflater *s)
{
    return mn_fail(s->e, "%s: truncated %s data (unexpected end of file)", s->name, s->fmt);
}

static int too_big(inflater *s)
{
    return mn_fail(s->e, "%s: decompressed data exceeds %zu bytes", s->name, s->limit);
}

/* ---- bits ---------------------------------------------------------------- */

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Tops the bit buffer up to at least 56 bits, with zero bytes past the end
 * of the input. Fails once a zero byte of ours has actually been consumed. */
static int refill_slow(inflater *s)
{
    if (8 * s->overrun > s->nbits)
        return truncated(s);
    while (s->nbits < 56) {
        if (s->in < s->in_end)
            s->bits |= (uint64_t)*s->in++ << s->nbits;
        else
            s->overrun++;
        s->nbits += 8;
    }
    return 0;
}

/* The fast refill (see the top of the file). Bits above nbits are either
 * zero or the true next bits of the stream, so OR-ing them in again is
 * harmless. */
#define REFILL_FAST(bits, nbits, in)                  \
    do {                                              \
        (bits) |= load_le64(in) << (nbits);           \
        (in) += (63 - (nbits)) >> 3;                  \
        (nbits) |= 56;                                \
    } while (0)

static int refill(inflater *s)
{
    if (s->in_end - s->in >= 8) {
        REFILL_FAST(s->bits, s->nbits, s->in);
        return 0;
    }
    return refill_slow(s);
}

/* Reads n <= 32 bits. */
static int get_bits(inflater *s, unsigned n, unsigned *v)
{
    if (s->nbits < n && refill(s))
        return -1;
    *v = (unsigned)(s->bits & ((1u << n) - 1u));
    s->bits >>= n;
    s->nbits -= n;
    return 0;
}

/* Drops the bits up to the next byte boundary and gives the whole bytes
 * still in the buffer back to the input, so that s->in is the next byte. */
static int align_to_byte(inflater *s)
{
    unsigned drop = s->nbits & 7u;
    s->bits >>= drop;
    s->nbits -= drop;
    size_t held = s->nbits / 8;
    if (held < s->overrun)
        return truncated(s);
    s->in -= held - s->overrun;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    return 0;
}

/* ---- table construction ------------------------------------------------- */

static unsigned reverse_bits(unsigned code, unsigned len)
{
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++) {
        r = (r << 1) | (code & 1u);
        code >>= 1;
    }
    return r;
}

/* Builds the decoding table for the canonical Huffman code with the given
 * code lengths (RFC 1951 3.2.2). */
static int build_table(inflater *s, uint32_t *table, size_t table_size, unsigned first_bits, const uint8_t *lens,
                       unsigned n, enum code_kind kind)
{
    unsigned count[16] = {0};
    for (unsigned i = 0; i < n; i++)
        count[lens[i]]++;
    count[0] = 0;

    /* Kraft: how much of the code space is left after each length. */
    long left = 1;
    for (unsigned len = 1; len <= 15; len++) {
        left = 2 * left - (long)count[len];
        if (left < 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "over-subscribed %s code", kind_name[kind]);
            return corrupt(s, msg);
        }
    }
    unsigned used = 0;
    for (unsigned len = 1; len <= 15; len++)
        used += count[len];
    if (left > 0) {
        /* RFC 1951 allows one distance code of one bit; we accept the same
         * for literal/length (then it can only be end-of-block) and no
         * distance codes at all (a block of literals). */
        int ok = kind != CODE_CL && ((used == 1 && count[1] == 1) || (used == 0 && kind == CODE_DIST));
        if (!ok) {
            char msg[64];
            snprintf(msg, sizeof msg, "incomplete %s code", kind_name[kind]);
            return corrupt(s, msg);
        }
    }

    size_t first_size = (size_t)1 << first_bits;
    for (size_t i = 0; i < first_size; i++)
        table[i] = E_BAD;

    /* First code of each length, then every symbol's (bit-reversed) code. */
    unsigned next[16];
    unsigned code = 0;
    for (unsigned len = 1; len <= 15; len++) {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    uint16_t rev[320];
    uint8_t sub_len[1u << LIT_BITS]; /* longest code under each first-level index */
    memset(sub_len, 0, first_size);
    int any_long = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned len = lens[i];
        if (!len)
            continue;
        rev[i] = (uint16_t)reverse_bits(next[len]++, len);
        if (len > first_bits) {
            unsigned pre = rev[i] & (unsigned)(first_size - 1);
            if (len > sub_len[pre])
                sub_len[pre] = (uint8_t)len;
            any_long = 1;
        }
    }

    /* Second-level tables for the first-level indexes that need one. */
    size_t next_free = first_size;
    if (any_long) {
        for (size_t pre = 0; pre < first_size; pre++) {
            if (!sub_len[pre])
                continue;
            unsigned sub_bits = sub_len[pre] - first_bits;
            size_t size = (size_t)1 << sub_bits;
            if (next_free + size > table_size || next_free > 0xFFFF)
                return corrupt(s, "Huffman table overflow"); /* cannot happen for a valid code */
            table[pre] = E_SUB | (uint32_t)next_free << 16 | (uint32_t)sub_bits << 8 | first_bits;
            for (size_t j = 0; j < size; j++)
                table[next_free + j] = E_BAD;
            next_free += size;
        }
    }

    for (unsigned i = 0; i < n; i++) {
        unsigned len = lens[i];
        if (!len)
            continue;
        uint32_t meaning = sym_entry(kind, i);
        unsigned r = rev[i];
        if (len <= first_bits) {
            for (size_t j = r; j < first_size; j += (size_t)1 << len)
                table[j] = meaning | len;
        } else {
            uint32_t link = table[r & (first_size - 1)];
            size_t base = link >> 16;
            unsigned sub_bits = (link >> 8) & 15u;
            unsigned rest = len - first_bits;
            for (size_t j = r >> first_bits; j < ((size_t)1 << sub_bits); j += (size_t)1 << rest)
                table[base + j] = meaning | rest;
        }
    }
    return 0;
}

static int build_fixed(inflater *s)
{
    uint8_t lens[288];
    for (int i = 0; i < 144; i++)
        lens[i] = 8;
    for (int i = 144; i < 256; i++)
        lens[i] = 9;
    for (int i = 256; i < 280; i++)
        lens[i] = 7;
    for (int i = 280; i < 288; i++)
        lens[i] = 8;
    if (build_table(s, s->fixed_lit, LIT_TABLE_SIZE, LIT_BITS, lens, 288, CODE_LIT))
        return -1;
    for (int i = 0; i < 32; i++)
        lens[i] = 5;
    if (build_table(s, s->fixed_dist, DIST_TABLE_SIZE, DIST_BITS, lens, 32, CODE_DIST))
        return -1;
    s->fixed_ready = 1;
    return 0;
}

/* Decodes one symbol with a table, for the (slow) header paths. */
static int decode_sym(inflater *s, const uint32_t *table, unsigned first_bits, uint32_t *entry)
{
    if (s->nbits < 15 && refill(s))
        return -1;
    uint32_t en = table[s->bits & ((1u << first_bits) - 1u)];
    if (en & E_SUB) {
        s->bits >>= first_bits;
        s->nbits -= first_bits;
        en = table[(en >> 16) + (s->bits & ((1u << ((en >> 8) & 15u)) - 1u))];
    }
    unsigned len = en & 0xFFu;
    s->bits >>= len;
    s->nbits -= len;
    *entry = en;
    return 0;
}

static int read_dynamic_header(inflater *s)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned hlit, hdist, hclen;
    if (get_bits(s, 5, &hlit) || get_bits(s, 5, &hdist) || get_bits(s, 4, &hclen))
        return -1;
    hlit += 257;
    hdist += 1;
    hclen += 4;
    if (hlit > 286)
        return corrupt(s, "too many literal/length codes");
    if (hdist > 30)
        return corrupt(s, "too many distance codes");

    uint8_t cl_lens[19] = {0};
    for (unsigned i = 0; i < hclen; i++) {
        unsigned v;
        if (get_bits(s, 3, &v))
            return -1;
        cl_lens[order[i]] = (uint8_t)v;
    }
    if (build_table(s, s->cl, CL_TABLE_SIZE, CL_BITS, cl_lens, 19, CODE_CL))
        return -1;

    uint8_t lens[286 + 30];
    unsigned total = hlit + hdist, i = 0;
    while (i < total) {
        uint32_t en;
        if (decode_sym(s, s->cl, CL_BITS, &en))
            return -1;
        if (en & E_BAD)
            return corrupt(s, "invalid code length code"); /* not reachable: the code is complete */
        unsigned sym = en >> 16, rep, val = 0, v;
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0)
                return corrupt(s, "repeated code length with no previous length");
            val = lens[i - 1];
            if (get_bits(s, 2, &v))
                return -1;
            rep = 3 + v;
        } else if (sym == 17) {
            if (get_bits(s, 3, &v))
                return -1;
            rep = 3 + v;
        } else {
            if (get_bits(s, 7, &v))
                return -1;
            rep = 11 + v;
        }
        if (rep > total - i)
            return corrupt(s, "too many code lengths");
        memset(lens + i, (int)val, rep);
        i += rep;
    }
    if (lens[256] == 0)
        return corrupt(s, "missing end-of-block code");
    if (build_table(s, s->lit, LIT_TABLE_SIZE, LIT_BITS, lens, hlit, CODE_LIT) ||
        build_table(s, s->dist, DIST_TABLE_SIZE, DIST_BITS, lens + hlit, hdist, CODE_DIST))
        return -1;
    return 0;
}

/* ---- output ------------------------------------------------------------- */

/* Makes room for `need` more bytes. Returns 0 if there is room now, 1 if
 * the limit was reached in stop-at-limit mode (the caller writes what fits
 * and stops), -1 on error. */
static int make_room(inflater *s, size_t need)
{
    if (need <= s->cap - s->pos)
        return 0;
    if (s->cap < s->limit) {
        size_t want = need > s->limit - s->pos ? s->limit : s->pos + need;
        size_t cap = s->cap < 4096 ? 8192 : s->cap;
        while (cap < want)
            cap = cap > s->limit / 2 ? s->limit : 2 * cap;
        if (cap > s->limit)
            cap = s->limit;
        uint8_t *p = realloc(s->out, cap + SLACK);
        if (!p)
            return mn_fail(s->e, "%s: out of memory for %zu bytes of decompressed data", s->name, cap);
        s->out = p;
        s->cap = cap;
        if (need <= s->cap - s->pos)
            return 0;
    }
    return s->stop_at_limit ? 1 : too_big(s);
}

/* Copies len bytes from dist bytes back; may write up to 15 bytes past the
 * end (into the slack). */
static inline void copy_match(uint8_t *dst, size_t dist, size_t len)
{
    const uint8_t *src = dst - dist;
    uint8_t *end = dst + len;
    if (dist >= 16) {
        do {
            uint64_t a, b;
            memcpy(&a, src, 8);
            memcpy(&b, src + 8, 8);
            memcpy(dst, &a, 8);
            memcpy(dst + 8, &b, 8);
            src += 16;
            dst += 16;
        } while (dst < end);
    } else if (dist >= 8) {
        do {
            uint64_t a;
            memcpy(&a, src, 8);
            memcpy(dst, &a, 8);
            src += 8;
            dst += 8;
        } while (dst < end);
    } else if (dist == 1) {
        uint64_t v = (uint64_t)src[0] * 0x0101010101010101u;
        do {
            memcpy(dst, &v, 8);
            dst += 8;
        } while (dst < end);
    } else {
        /* Period 2..7: write bytes until a multiple of the period that is
         * >= 8 can serve as the distance for word copies. */
        size_t d2 = dist;
        while (d2 < 8)
            d2 += dist;
        for (size_t w = d2 - dist; w && dst < end; w--)
            *dst++ = *src++;
        src = dst - d2;
        while (dst < end) {
            uint64_t a;
            memcpy(&a, src, 8);
            memcpy(dst, &a, 8);
            src += 8;
            dst += 8;
        }
    }
}

/* Exact byte copy for the (rare) partial match at the stop limit. */
static void copy_exact(uint8_t *dst, size_t dist, size_t len)
{
    const uint8_t *src = dst - dist;
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i];
}

static void crc_catch_up(inflater *s)
{
    if (s->no_crc)
        return;
    s->crc = crc_update(&s->crc_t, s->crc, s->out + s->crc_pos, s->pos - s->crc_pos);
    s->crc_pos = s->pos;
}

/* ---- blocks ------------------------------------------------------------- */

static int inflate_stored(inflater *s)
{
    if (align_to_byte(s))
        return -1;
    if (s->in_end - s->in < 4)
        return truncated(s);
    unsigned len = s->in[0] | (unsigned)s->in[1] << 8;
    unsigned nlen = s->in[2] | (unsigned)s->in[3] << 8;
    if (len != (~nlen & 0xFFFFu))
        return corrupt(s, "stored block length does not match its complement");
    s->in += 4;
    if ((size_t)(s->in_end - s->in) < len)
        return truncated(s);
    size_t take = len;
    int r = make_room(s, len);
    if (r < 0)
        return -1;
    if (r > 0) {
        take = s->cap - s->pos;
        s->stopped = 1;
    }
    memcpy(s->out + s->pos, s->in, take);
    s->pos += take;
    s->in += take;
    return 0;
}

/* Decodes the symbols of one Huffman block. The hot loop keeps the state in
 * locals; everything unusual goes through the slow paths below it. */
static int inflate_huffman(inflater *s, const uint32_t *lt, const uint32_t *dt)
{
    const uint8_t *in = s->in;
    const uint8_t *const in_end = s->in_end;
    uint64_t bits = s->bits;
    unsigned nbits = s->nbits;
    uint8_t *out = s->out;
    size_t pos = s->pos, cap = s->cap;
    const size_t wstart = s->member_start;
    int rc = 0;

#define SAVE()            \
    do {                  \
        s->in = in;       \
        s->bits = bits;   \
        s->nbits = nbits; \
        s->pos = pos;     \
    } while (0)
#define LOAD()            \
    do {                  \
        in = s->in;       \
        bits = s->bits;   \
        nbits = s->nbits; \
        out = s->out;     \
        cap = s->cap;     \
    } while (0)
#define DROP(n)          \
    do {                 \
        bits >>= (n);    \
        nbits -= (n);    \
    } while (0)

    for (;;) {
        if (in_end - in >= 8) {
            REFILL_FAST(bits, nbits, in);
        } else {
            SAVE();
            if (refill_slow(s))
                return -1;
            LOAD();
        }
        uint32_t en = lt[bits & ((1u << LIT_BITS) - 1u)];
        if (en & E_LIT) {
            /* Up to three literals per refill: 3 x 15 bits < 56. */
            DROP(en & 0xFFu);
            if (pos >= cap)
                goto lit_room;
            out[pos++] = (uint8_t)(en >> 16);
            en = lt[bits & ((1u << LIT_BITS) - 1u)];
            if (!(en & E_LIT))
                goto not_lit;
            DROP(en & 0xFFu);
            if (pos >= cap)
                goto lit_room;
            out[pos++] = (uint8_t)(en >> 16);
            en = lt[bits & ((1u << LIT_BITS) - 1u)];
            if (!(en & E_LIT))
                goto not_lit;
            DROP(en & 0xFFu);
            if (pos >= cap)
                goto lit_room;
            out[pos++] = (uint8_t)(en >> 16);
            continue;
        not_lit:
            /* A length code after literals: make sure its 48 bits are there. */
            if (nbits < 48) {
                if (in_end - in >= 8) {
                    REFILL_FAST(bits, nbits, in);
                } else {
                    SAVE();
                    if (refill_slow(s))
                        return -1;
                    LOAD();
                }
            }
        }
        if (en & E_SUB) {
            DROP(LIT_BITS);
            en = lt[(en >> 16) + (bits & ((1u << ((en >> 8) & 15u)) - 1u))];
            if (en & E_LIT) {
                DROP(en & 0xFFu);
                if (pos >= cap)
                    goto lit_room;
                out[pos++] = (uint8_t)(en >> 16);
                continue;
            }
        }
        DROP(en & 0xFFu);
        if (en & (E_EOB | E_BAD)) {
            SAVE();
            if (en & E_BAD)
                return corrupt(s, "invalid literal/length code");
            break;
        }
        unsigned extra = (en >> 8) & 15u;
        size_t length = (en >> 16) + (size_t)(bits & ((1u << extra) - 1u));
        DROP(extra);

        uint32_t de = dt[bits & ((1u << DIST_BITS) - 1u)];
        if (de & E_SUB) {
            DROP(DIST_BITS);
            de = dt[(de >> 16) + (bits & ((1u << ((de >> 8) & 15u)) - 1u))];
        }
        DROP(de & 0xFFu);
        if (de & E_BAD) {
            SAVE();
            return corrupt(s, "invalid distance code");
        }
        extra = (de >> 8) & 15u;
        size_t dist = (de >> 16) + (size_t)(bits & ((1u << extra) - 1u));
        DROP(extra);
        if (dist > pos - wstart) {
            SAVE();
            return corrupt(s, "invalid distance too far back");
        }
        if (length > cap - pos) {
            SAVE();
            rc = make_room(s, length);
            if (rc < 0)
                return -1;
            LOAD();
            if (rc > 0) {
                size_t take = cap - pos;
                copy_exact(out + pos, dist, take);
                pos += take;
                s->stopped = 1;
                break;
            }
        }
        copy_match(out + pos, dist, length);
        pos += length;
        continue;

    lit_room:
        /* The literal was already consumed from the bit buffer. */
        SAVE();
        rc = make_room(s, 1);
        if (rc < 0)
            return -1;
        LOAD();
        if (rc > 0) {
            s->stopped = 1;
            break;
        }
        out[pos++] = (uint8_t)(en >> 16);
    }
    SAVE();
    if (!s->stopped && 8 * s->overrun > s->nbits)
        return truncated(s);
    return 0;
#undef SAVE
#undef LOAD
#undef DROP
}

/* Inflates one deflate stream (a gzip member's body). */
static int inflate_stream(inflater *s)
{
    for (;;) {
        unsigned hdr;
        if (get_bits(s, 3, &hdr))
            return -1;
        int final = (int)(hdr & 1u);
        int r;
        switch (hdr >> 1) {
        case 0:
            r = inflate_stored(s);
            break;
        case 1:
            r = (s->fixed_ready || build_fixed(s) == 0) ? inflate_huffman(s, s->fixed_lit, s->fixed_dist) : -1;
            break;
        case 2:
            r = read_dynamic_header(s) ? -1 : inflate_huffman(s, s->lit, s->dist);
            break;
        default:
            return corrupt(s, "invalid block type 3");
        }
        if (r)
            return -1;
        crc_catch_up(s);
        if (s->stopped || final)
            return 0;
    }
}

/* ---- the gzip container ------------------------------------------------- */

#define FTEXT 0x01u
#define FHCRC 0x02u
#define FEXTRA 0x04u
#define FNAME 0x08u
#define FCOMMENT 0x10u
#define FRESERVED 0xE0u

int mn_is_gzip(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == MN_GZIP_ID1 && p[1] == MN_GZIP_ID2;
}

/* Skips a gzip member header at s->in (byte aligned). */
static int read_member_header(inflater *s, int member)
{
    const uint8_t *p = s->in, *end = s->in_end;
    size_t avail = (size_t)(end - p);
    if (avail < 10) {
        if (member == 1 && avail == 0)
            return mn_fail(s->e, "%s: empty file, not gzip data", s->name);
        int prefix_ok = p[0] == MN_GZIP_ID1 && (avail < 2 || p[1] == MN_GZIP_ID2);
        if (member == 1 && !prefix_ok && avail >= 2)
            return mn_fail(s->e, "%s: not in gzip format (bad magic 0x%02x%02x)", s->name, p[0], p[1]);
        if (member == 1 && !prefix_ok)
            return mn_fail(s->e, "%s: not in gzip format (1 byte, 0x%02x)", s->name, p[0]);
        return mn_fail(s->e, "%s: truncated gzip data (member %d header)", s->name, member);
    }
    if (!mn_is_gzip(p, avail))
        return mn_fail(s->e, "%s: not in gzip format (bad magic 0x%02x%02x)", s->name, p[0], p[1]);
    if (p[2] != 8)
        return mn_fail(s->e, "%s: unsupported gzip compression method %u (only 8, deflate)", s->name, p[2]);
    unsigned flg = p[3];
    if (flg & FRESERVED)
        return mn_fail(s->e, "%s: gzip header has reserved flag bits set (0x%02x)", s->name, flg);
    const uint8_t *q = p + 10;
    if (flg & FEXTRA) {
        if (end - q < 2)
            return mn_fail(s->e, "%s: truncated gzip data (member %d header)", s->name, member);
        size_t xlen = (size_t)q[0] | (size_t)q[1] << 8;
        q += 2;
        if ((size_t)(end - q) < xlen)
            return mn_fail(s->e, "%s: truncated gzip data (member %d header)", s->name, member);
        q += xlen;
    }
    for (unsigned f = FNAME; f <= FCOMMENT; f <<= 1) {
        if (!(flg & f))
            continue;
        const uint8_t *z = memchr(q, 0, (size_t)(end - q));
        if (!z)
            return mn_fail(s->e, "%s: truncated gzip data (member %d header)", s->name, member);
        q = z + 1;
    }
    if (flg & FHCRC) {
        if (end - q < 2)
            return mn_fail(s->e, "%s: truncated gzip data (member %d header)", s->name, member);
        unsigned want = q[0] | (unsigned)q[1] << 8;
        unsigned got = ~crc_update(&s->crc_t, 0xFFFFFFFFu, p, (size_t)(q - p)) & 0xFFFFu;
        if (want != got)
            return mn_fail(s->e, "%s: gzip header CRC mismatch in member %d (stored 0x%04x, computed 0x%04x)",
                           s->name, member, want, got);
        q += 2;
    }
    s->in = q;
    return 0;
}

static int read_member_trailer(inflater *s, int member)
{
    if (align_to_byte(s))
        return -1;
    if (s->in_end - s->in < 8)
        return truncated(s);
    uint32_t want_crc = load_le32(s->in), want_size = load_le32(s->in + 4);
    s->in += 8;
    uint32_t crc = ~s->crc;
    if (crc != want_crc)
        return mn_fail(s->e, "%s: gzip CRC-32 mismatch in member %d (stored 0x%08lx, computed 0x%08lx)", s->name,
                       member, (unsigned long)want_crc, (unsigned long)crc);
    uint32_t size = (uint32_t)(s->pos - s->member_start); /* ISIZE is modulo 2^32 */
    if (size != want_size)
        return mn_fail(s->e, "%s: gzip ISIZE mismatch in member %d (stored %lu, decompressed %lu bytes mod 2^32)",
                       s->name, member, (unsigned long)want_size, (unsigned long)size);
    return 0;
}

static int gunzip_all(inflater *s)
{
    for (int member = 1;; member++) {
        if (member > 1) {
            size_t rest = (size_t)(s->in_end - s->in);
            if (rest == 0)
                return 0;
            /* Another member, or a piece of one, or garbage. */
            int looks = s->in[0] == MN_GZIP_ID1 && (rest == 1 || s->in[1] == MN_GZIP_ID2);
            if (!looks)
                return mn_fail(s->e, "%s: trailing garbage after gzip data (%zu bytes at byte %zu)", s->name, rest,
                               (size_t)(s->in - s->in_start));
        }
        if (read_member_header(s, member))
            return -1;
        s->member_start = s->pos;
        s->crc_pos = s->pos;
        s->crc = 0xFFFFFFFFu;
        if (inflate_stream(s))
            return -1;
        if (s->stopped)
            return 0;
        if (read_member_trailer(s, member))
            return -1;
    }
}

static int run(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t limit, int stop, const char *name,
               mn_err *e)
{
    *out = NULL;
    *out_len = 0;
    if (!name)
        name = "(gzip data)";
    if (!in && n)
        return mn_fail(e, "%s: no input", name);
    inflater *s = malloc(sizeof *s);
    if (!s)
        return mn_fail(e, "%s: out of memory", name);
    s->in_start = s->in = in ? in : (const uint8_t *)"";
    s->in_end = s->in + n;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    s->limit = limit;
    s->stop_at_limit = stop;
    s->stopped = 0;
    s->pos = s->member_start = s->crc_pos = 0;
    s->crc = 0xFFFFFFFFu;
    s->name = name;
    s->fmt = "gzip";
    s->no_crc = 0;
    s->e = e;
    s->fixed_ready = 0;
    crc_init(&s->crc_t);

    /* First guess at the size: the last member's ISIZE (exact for one
     * member under 4 GiB), unless that is more than deflate could produce
     * from this input (at most 1032:1) or more than the limit. */
    size_t cap = n / 4 + 1024;
    if (n >= 18) {
        uint32_t isize = load_le32(in + n - 4);
        if ((uint64_t)isize <= (uint64_t)n * 1032u)
            cap = isize;
    }
    if (cap > limit)
        cap = limit;
    s->cap = cap;
    s->out = malloc(cap + SLACK);
    if (!s->out) {
        free(s);
        return mn_fail(e, "%s: out of memory for %zu bytes of decompressed data", name, cap);
    }

    int rc = gunzip_all(s);
    if (rc) {
        free(s->out);
    } else {
        uint8_t *p = realloc(s->out, s->pos ? s->pos : 1);
        *out = p ? p : s->out;
        *out_len = s->pos;
    }
    free(s);
    return rc;
}

int mn_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t max_out, const char *name,
              mn_err *e)
{
    if (max_out > SIZE_MAX - SLACK)
        max_out = SIZE_MAX - SLACK;
    return run(in, n, out, out_len, max_out, 0, name, e);
}

int mn_gunzip_prefix(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t want, const char *name,
                     mn_err *e)
{
    if (want > SIZE_MAX - SLACK)
        want = SIZE_MAX - SLACK;
    return run(in, n, out, out_len, want, 1, name, e);
}

/* ---- the zlib container (RFC 1950) -------------------------------------- */

#define ADLER_BASE 65521u
/* The most bytes that can be summed before s2 could overflow 32 bits. */
#define ADLER_NMAX 5552u

uint32_t mn_adler32(uint32_t a, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t s1 = (a & 0xFFFFu) % ADLER_BASE, s2 = (a >> 16) % ADLER_BASE;
    while (n) {
        size_t k = n < ADLER_NMAX ? n : ADLER_NMAX;
        n -= k;
        while (k--) {
            s1 += *p++;
            s2 += s1;
        }
        s1 %= ADLER_BASE;
        s2 %= ADLER_BASE;
    }
    return s2 << 16 | s1;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int zlib_header(const uint8_t *in, size_t n, const char *name, mn_err *e)
{
    if (n == 0)
        return mn_fail(e, "%s: empty zlib stream", name);
    if (n < 2)
        return mn_fail(e, "%s: truncated zlib data (header)", name);
    unsigned cmf = in[0], flg = in[1];
    if ((cmf & 15u) != 8)
        return mn_fail(e, "%s: unsupported zlib compression method %u (only 8, deflate)", name, cmf & 15u);
    if ((cmf >> 4) > 7)
        return mn_fail(e, "%s: invalid zlib window size (CINFO %u > 7)", name, cmf >> 4);
    if ((cmf * 256u + flg) % 31u != 0)
        return mn_fail(e, "%s: zlib header check failed (CMF 0x%02x, FLG 0x%02x)", name, cmf, flg);
    if (flg & 0x20u)
        return mn_fail(e, "%s: zlib stream needs a preset dictionary (not supported)", name);
    return 0;
}

int mn_zlib_decompress(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t max_out, const char *name,
                       mn_err *e)
{
    *out = NULL;
    *out_len = 0;
    if (!name)
        name = "(zlib data)";
    if (!in && n)
        return mn_fail(e, "%s: no input", name);
    if (!in)
        in = (const uint8_t *)"";
    if (zlib_header(in, n, name, e))
        return -1;
    if (max_out > SIZE_MAX - SLACK)
        max_out = SIZE_MAX - SLACK;
    inflater *s = malloc(sizeof *s);
    if (!s)
        return mn_fail(e, "%s: out of memory", name);
    s->in_start = in;
    s->in = in + 2;
    s->in_end = in + n;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    s->limit = max_out;
    s->stop_at_limit = 0;
    s->stopped = 0;
    s->pos = s->member_start = s->crc_pos = 0;
    s->crc = 0xFFFFFFFFu;
    s->name = name;
    s->fmt = "zlib";
    s->no_crc = 1;
    s->e = e;
    s->fixed_ready = 0;

    /* No size in the stream: start modestly (callers such as the PNG reader
     * pass the exact expected size as max_out) and grow. */
    size_t cap = n < (SIZE_MAX - 4096) / 16 ? 16 * n + 4096 : SIZE_MAX - SLACK;
    if (cap > max_out)
        cap = max_out;
    s->cap = cap;
    s->out = malloc(cap + SLACK);
    if (!s->out) {
        free(s);
        return mn_fail(e, "%s: out of memory for %zu bytes of decompressed data", name, cap);
    }

    int rc = inflate_stream(s);
    if (!rc && align_to_byte(s))
        rc = -1;
    if (!rc && s->in_end - s->in < 4)
        rc = mn_fail(e, "%s: truncated zlib data (Adler-32 trailer)", name);
    if (!rc) {
        uint32_t want = load_be32(s->in), got = mn_adler32(1, s->out, s->pos);
        s->in += 4;
        if (want != got)
            rc = mn_fail(e, "%s: zlib Adler-32 mismatch (stored 0x%08lx, computed 0x%08lx)", name,
                         (unsigned long)want, (unsigned long)got);
        else if (s->in != s->in_end)
            rc = mn_fail(e, "%s: trailing garbage after zlib data (%zu bytes at byte %zu)", name,
                         (size_t)(s->in_end - s->in), (size_t)(s->in - s->in_start));
    }
    if (rc) {
        free(s->out);
    } else {
        uint8_t *p = realloc(s->out, s->pos ? s->pos : 1);
        *out = p ? p : s->out;
        *out_len = s->pos;
    }
    free(s);
    return rc;
}

/* ---- raw deflate (RFC 1951), as in zip entries -------------------------- */

int mn_inflate(const uint8_t *in, size_t n, size_t max_out, uint8_t **out, size_t *out_len, const char *name,
               mn_err *e)
{
    *out = NULL;
    *out_len = 0;
    if (!name)
        name = "(deflate data)";
    if (!in && n)
        return mn_fail(e, "%s: no input", name);
    if (!in)
        in = (const uint8_t *)"";
    if (max_out > SIZE_MAX - SLACK)
        max_out = SIZE_MAX - SLACK;
    inflater *s = malloc(sizeof *s);
    if (!s)
        return mn_fail(e, "%s: out of memory", name);
    s->in_start = s->in = in;
    s->in_end = in + n;
    s->bits = 0;
    s->nbits = 0;
    s->overrun = 0;
    s->limit = max_out;
    s->stop_at_limit = 0;
    s->stopped = 0;
    s->pos = s->member_start = s->crc_pos = 0;
    s->crc = 0xFFFFFFFFu;
    s->name = name;
    s->fmt = "deflate";
    s->no_crc = 1;
    s->e = e;
    s->fixed_ready = 0;
    /* deflate expands at most 1032:1: never start bigger than that */
    size_t cap = n < SIZE_MAX / 1032 ? n * 1032 + 64 : max_out;
    if (cap > max_out)
        cap = max_out;
    s->cap = cap;
    s->out = malloc(cap + SLACK);
    if (!s->out) {
        free(s);
        return mn_fail(e, "%s: out of memory for %zu bytes of decompressed data", name, cap);
    }
    int rc = inflate_stream(s);
    if (rc) {
        free(s->out);
    } else {
        uint8_t *p = realloc(s->out, s->pos ? s->pos : 1);
        *out = p ? p : s->out;
        *out_len = s->pos;
    }
    free(s);
    return rc;
}
