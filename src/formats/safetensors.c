/* modelfile.c - safetensors writer and validating reader.
 *
 * The reader does not build a JSON tree: it walks the header with a small
 * recursive-descent parser that knows the safetensors schema (a top-level
 * object of "__metadata__" and tensor entries) and skips, while still
 * validating, anything it does not need. So memory stays proportional to
 * what is kept, whatever the header holds, and every error can name the
 * tensor it concerns.
 */
#define _POSIX_C_SOURCE 200809L

#include "mnist/safetensors.h"

#include "mnist/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER 100000000ull /* the reference loader's limit */
#define JSON_MAX_DEPTH 64

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---- shared helpers ---------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (n bytes available), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(p + i, n - i);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

/* A name made fit for a one-line message: control bytes as \xNN, long names
 * cut (at a character boundary) with "...". */
static const char *disp(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    const size_t limit = cap - 8; /* room for one escape or "..." and the NUL */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o >= limit - 4 && (*p & 0xC0) != 0x80) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*p < 0x20 || *p == 0x7F)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", *p);
        else
            buf[o++] = (char)*p;
    }
    buf[o] = '\0';
    return buf;
}
#define DISP_LEN 72

/* Element count of a shape: 0 on success, -1 if a dimension is negative,
 * -2 if 4 * count does not fit in 64 bits. A zero dimension makes the count
 * 0 whatever the other dimensions are. */
static int elem_count(const int64_t *shape, int ndim, uint64_t *out)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *out = 0;
            return 0;
        }
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (n > UINT64_MAX / 4 / d) return -2;
        n *= d;
    }
    *out = n;
    return 0;
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t o = 0;
    buf[o++] = '[';
    for (int i = 0; i < ndim && o + 24 < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, i ? "," : "", shape[i]);
    snprintf(buf + o, cap - o, "]");
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* First string that occurs twice among v[0..n), or NULL. Sorts v. */
static const char *find_duplicate(const char **v, size_t n)
{
    if (n < 2) return NULL;
    qsort(v, n, sizeof *v, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(v[i - 1], v[i])) return v[i];
    return NULL;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64, v));
}

/* s as a JSON string: quote and backslash escaped, control bytes as \u00XX,
 * everything else (already checked to be UTF-8) as is. */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c && c != '"' && c != '\\' && c >= 0x20) continue;
        sb_put(b, run, (size_t)(p - run));
        if (!c) break;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        }
        run = p + 1;
    }
    sb_put(b, "\"", 1);
}

static unsigned dtype_size(mn_st_dtype d) { return d == MN_ST_I64 ? 8u : 4u; }
static const char *dtype_name(mn_st_dtype d) { return d == MN_ST_I64 ? "I64" : "F32"; }

/* n elements of es bytes each, little-endian in the file */
static int write_elems(FILE *f, const void *data, uint64_t n, unsigned es)
{
    if (n == 0) return 0;
    if (host_is_le()) return fwrite(data, es, (size_t)n, f) == (size_t)n ? 0 : -1;
    const unsigned char *x = data;
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof buf / es ? (size_t)n : sizeof buf / es;
        for (size_t i = 0; i < k; i++)
            for (unsigned b = 0; b < es; b++) buf[es * i + b] = x[es * i + es - 1 - b];
        if (fwrite(buf, es, k, f) != k) return -1;
        x += k * es, n -= k;
    }
    return 0;
}

/* Everything the writer checks before touching the disk. */
static int check_write_args(const char *path, const mn_st_tensor *t, int nt, const char *const *mk,
                            const char *const *mv, int nm, mn_err *e)
{
    char nb[DISP_LEN];
    if (nt < 0 || nm < 0 || (nt && !t) || (nm && (!mk || !mv)))
        return mn_fail(e, "%s: invalid tensor or metadata list", path);
    uint64_t total = 0;
    for (int i = 0; i < nt; i++) {
        const char *name = t[i].name;
        uint64_t n = 0;
        if (!memchr(name, '\0', MN_ST_MAX_NAME))
            return mn_fail(e, "%s: tensor %d: name is not terminated within %d bytes", path, i, MN_ST_MAX_NAME);
        if (!name[0]) return mn_fail(e, "%s: tensor %d has an empty name", path, i);
        if (!utf8_valid(name)) return mn_fail(e, "%s: tensor %d: name is not valid UTF-8", path, i);
        if (!strcmp(name, "__metadata__"))
            return mn_fail(e, "%s: tensor %d: the name '__metadata__' is reserved", path, i);
        disp(name, nb, sizeof nb);
        if (t[i].ndim < 0 || t[i].ndim > MN_ST_MAX_DIMS)
            return mn_fail(e, "%s: tensor '%s': %d dimensions (at most %d)", path, nb, t[i].ndim, MN_ST_MAX_DIMS);
        int rc = elem_count(t[i].shape, t[i].ndim, &n);
        if (rc == -1) return mn_fail(e, "%s: tensor '%s': negative dimension in shape", path, nb);
        unsigned es = dtype_size(t[i].dtype);
        if (t[i].dtype != MN_ST_F32 && t[i].dtype != MN_ST_I64)
            return mn_fail(e, "%s: tensor '%s': unknown dtype %d", path, nb, (int)t[i].dtype);
        if (rc == -2 || n > (uint64_t)SIZE_MAX / es || total + es * n < total)
            return mn_fail(e, "%s: tensor '%s': shape too large", path, nb);
        if (n && !t[i].data) return mn_fail(e, "%s: tensor '%s': no data", path, nb);
        total += es * n;
    }
    for (int i = 0; i < nm; i++) {
        if (!mk[i] || !mv[i]) return mn_fail(e, "%s: metadata entry %d is NULL", path, i);
        if (!utf8_valid(mk[i]) || !utf8_valid(mv[i]))
            return mn_fail(e, "%s: metadata entry '%s' is not valid UTF-8", path, disp(mk[i], nb, sizeof nb));
    }

    /* Unique names and keys. */
    size_t nv = (size_t)(nt > nm ? nt : nm);
    const char **v = malloc((nv ? nv : 1) * sizeof *v);
    if (!v) return mn_fail(e, "%s: out of memory", path);
    for (int i = 0; i < nt; i++) v[i] = t[i].name;
    const char *dup = find_duplicate(v, (size_t)nt);
    if (dup) {
        free(v);
        return mn_fail(e, "%s: duplicate tensor name '%s'", path, disp(dup, nb, sizeof nb));
    }
    for (int i = 0; i < nm; i++) v[i] = mk[i];
    dup = find_duplicate(v, (size_t)nm);
    free(v);
    if (dup) return mn_fail(e, "%s: duplicate metadata key '%s'", path, disp(dup, nb, sizeof nb));
    return 0;
}

/* The header: JSON padded with spaces so that 8 + its length is a multiple
 * of 8 (the data buffer then starts 8-aligned in the file). */
static int build_header(sbuf *b, const mn_st_tensor *t, int nt, const char *const *mk, const char *const *mv,
                        int nm)
{
    sb_put(b, "{", 1);
    if (nm) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < nm; i++) {
            if (i) sb_put(b, ",", 1);
            sb_json_str(b, mk[i]);
            sb_put(b, ":", 1);
            sb_json_str(b, mv[i]);
        }
        sb_put(b, "}", 1);
    }
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        uint64_t n = 0;
        elem_count(t[i].shape, t[i].ndim, &n);
        if (nm || i) sb_put(b, ",", 1);
        sb_json_str(b, t[i].name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, dtype_name(t[i].dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++) {
            if (d) sb_put(b, ",", 1);
            sb_u64(b, (uint64_t)t[i].shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, off);
        sb_put(b, ",", 1);
        sb_u64(b, off + dtype_size(t[i].dtype) * n);
        sb_str(b, "]}");
        off += dtype_size(t[i].dtype) * n;
    }
    sb_put(b, "}", 1);
    while (!b->oom && b->len % 8) sb_put(b, " ", 1);
    return b->oom ? -1 : 0;
}

int mn_st_write(const char *path, const mn_st_tensor *tensors, int n_tensors, const char *const *meta_keys,
                const char *const *meta_vals, int n_meta, mn_err *e)
{
    if (!path || !*path) return mn_fail(e, "safetensors: no output path");
    if (check_write_args(path, tensors, n_tensors, meta_keys, meta_vals, n_meta, e)) return -1;

    sbuf hdr = {0};
    if (build_header(&hdr, tensors, n_tensors, meta_keys, meta_vals, n_meta)) {
        free(hdr.p);
        return mn_fail(e, "%s: out of memory", path);
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));

    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) {
        free(hdr.p);
        return -1;
    }
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr.p, 1, hdr.len, f) == hdr.len;
    for (int i = 0; ok && i < n_tensors; i++) {
        uint64_t n = 0;
        elem_count(tensors[i].shape, tensors[i].ndim, &n);
        ok = write_elems(f, tensors[i].raw, n, dtype_size(tensors[i].dtype)) == 0;
    }
    free(hdr.p);
    return mn_atomic_commit(f, path, tmp, ok, e);
}

/* ---- JSON reader -------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t n, i;
    const char *path;
    mn_err *e;
    mn_safetensors *st;
    int cap_t, cap_m;
    uint64_t *offs; /* begin, end of tensor k at [2k], [2k+1] */
    uint64_t buflen;
    int seen_meta;
} reader;

static int jerr(reader *r, size_t at, const char *what)
{
    return mn_fail(r->e, "%s: invalid JSON header at byte %zu: %s", r->path, at, what);
}

static void ws(reader *r)
{
    while (r->i < r->n) {
        unsigned char c = r->p[r->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        r->i++;
    }
}

static int peek(reader *r) { return r->i < r->n ? r->p[r->i] : -1; }

static int expect(reader *r, char c, const char *what)
{
    ws(r);
    if (peek(r) != c) {
        if (peek(r) < 0) return jerr(r, r->i, "unexpected end of header");
        return jerr(r, r->i, what);
    }
    r->i++;
    return 0;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string at r->i (which is a quote), decoded to a NUL-terminated UTF-8
 * string in *out (malloc'd). *has_nul tells whether it contained \u0000,
 * which a C string cannot hold. */
static int parse_string(reader *r, char **out, int *has_nul)
{
    const unsigned char *p = r->p;
    size_t start = r->i + 1, end = start;
    *out = NULL;
    *has_nul = 0;
    for (;;) { /* find the closing quote; escapes are checked below */
        if (end >= r->n) return jerr(r, r->i, "unterminated string");
        if (p[end] == '"') break;
        end += p[end] == '\\' ? 2 : 1;
    }
    char *s = malloc(end - start + 1); /* decoding never lengthens */
    if (!s) return mn_fail(r->e, "%s: out of memory", r->path);
    size_t o = 0;
    for (size_t q = start; q < end;) {
        unsigned char c = p[q];
        if (c < 0x20) {
            free(s);
            return jerr(r, q, "control character in string (must be escaped)");
        }
        if (c >= 0x80) {
            size_t l = utf8_seq(p + q, end - q);
            if (!l) {
                free(s);
                return jerr(r, q, "invalid UTF-8 in string");
            }
            memcpy(s + o, p + q, l);
            o += l, q += l;
            continue;
        }
        if (c != '\\') {
            s[o++] = (char)c, q++;
            continue;
        }
        unsigned char x = p[q + 1]; /* q + 1 < end: the scan skipped whole escapes */
        const char *simple = strchr("\"\\/bfnrt", x);
        if (x && simple) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            s[o++] = to[simple - "\"\\/bfnrt"];
            q += 2;
            continue;
        }
        uint32_t cp, lo;
        if (x != 'u') {
            free(s);
            return jerr(r, q, "invalid escape in string");
        }
        if (q + 6 > end || hex4(p + q + 2, &cp)) {
            free(s);
            return jerr(r, q, "invalid \\u escape in string");
        }
        q += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (q + 6 > end || p[q] != '\\' || p[q + 1] != 'u' || hex4(p + q + 2, &lo) || lo < 0xDC00 ||
                lo > 0xDFFF) {
                free(s);
                return jerr(r, q - 6, "unpaired surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            q += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(s);
            return jerr(r, q - 6, "unpaired surrogate in \\u escape");
        }
        if (cp == 0) *has_nul = 1;
        o += put_utf8(s + o, cp);
    }
    s[o] = '\0';
    r->i = end + 1;
    *out = s;
    return 0;
}

enum { NUM_UINT, NUM_NEG, NUM_FRAC, NUM_BIG };

/* A JSON number at r->i. *kind says whether it is a non-negative integer
 * that fits in 63 bits (then *v holds it). */
static int parse_number(reader *r, uint64_t *v, int *kind)
{
    const unsigned char *p = r->p;
    size_t i = r->i, n = r->n;
    int neg = 0, frac = 0, big = 0;
    uint64_t x = 0;
    if (i < n && p[i] == '-') neg = 1, i++;
    if (i >= n || p[i] < '0' || p[i] > '9') return jerr(r, r->i, "invalid number");
    if (p[i] == '0')
        i++;
    else
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
            unsigned d = p[i] - '0';
            if (x > ((uint64_t)INT64_MAX - d) / 10)
                big = 1;
            else
                x = x * 10 + d;
        }
    if (i < n && p[i] == '.') {
        frac = 1, i++;
        if (i >= n || p[i] < '0' || p[i] > '9') return jerr(r, i, "invalid number");
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        frac = 1, i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        if (i >= n || p[i] < '0' || p[i] > '9') return jerr(r, i, "invalid number");
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    r->i = i;
    *v = x;
    *kind = frac ? NUM_FRAC : neg ? NUM_NEG : big ? NUM_BIG : NUM_UINT;
    return 0;
}

/* Checks and steps over any JSON value. */
static int skip_value(reader *r, int depth)
{
    ws(r);
    int c = peek(r);
    if (c < 0) return jerr(r, r->i, "unexpected end of header");
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        if (depth >= JSON_MAX_DEPTH) return jerr(r, r->i, "nested too deeply");
        r->i++;
        ws(r);
        if (peek(r) == close) {
            r->i++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                char *key;
                int nul;
                ws(r);
                if (peek(r) != '"') return jerr(r, r->i, peek(r) < 0 ? "unexpected end of header" : "expected a key");
                if (parse_string(r, &key, &nul)) return -1;
                free(key);
                if (expect(r, ':', "expected ':'")) return -1;
            }
            if (skip_value(r, depth + 1)) return -1;
            ws(r);
            if (peek(r) == ',') {
                r->i++;
                continue;
            }
            return expect(r, close, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == '"') {
        char *s;
        int nul;
        if (parse_string(r, &s, &nul)) return -1;
        free(s);
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        uint64_t v;
        int kind;
        return parse_number(r, &v, &kind);
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(lits[k]);
        if (r->n - r->i >= l && !memcmp(r->p + r->i, lits[k], l)) {
            r->i += l;
            return 0;
        }
    }
    return jerr(r, r->i, "unexpected character");
}

/* "__metadata__": an object of string values. */
static int parse_meta(reader *r)
{
    mn_safetensors *st = r->st;
    char nb[DISP_LEN];
    ws(r);
    if (peek(r) != '{') return mn_fail(r->e, "%s: __metadata__ is not an object", r->path);
    r->i++;
    ws(r);
    if (peek(r) == '}') {
        r->i++;
        return 0;
    }
    for (;;) {
        char *key, *val;
        int nul;
        ws(r);
        if (peek(r) != '"') return jerr(r, r->i, peek(r) < 0 ? "unexpected end of header" : "expected a key");
        if (parse_string(r, &key, &nul)) return -1;
        if (nul) {
            free(key);
            return mn_fail(r->e, "%s: metadata key contains a NUL character", r->path);
        }
        if (expect(r, ':', "expected ':'")) {
            free(key);
            return -1;
        }
        ws(r);
        if (peek(r) != '"') {
            int rc = mn_fail(r->e, "%s: metadata value for '%s' is not a string", r->path, disp(key, nb, sizeof nb));
            free(key);
            return rc;
        }
        if (parse_string(r, &val, &nul)) {
            free(key);
            return -1;
        }
        if (nul) {
            int rc = mn_fail(r->e, "%s: metadata value for '%s' contains a NUL character", r->path,
                             disp(key, nb, sizeof nb));
            free(key), free(val);
            return rc;
        }
        if (st->n_meta == r->cap_m) {
            int cap = r->cap_m ? 2 * r->cap_m : 8;
            char **k = realloc(st->meta_keys, (size_t)cap * sizeof *k);
            if (k) st->meta_keys = k;
            char **v = k ? realloc(st->meta_vals, (size_t)cap * sizeof *v) : NULL;
            if (v) st->meta_vals = v;
            if (!k || !v) {
                free(key), free(val);
                return mn_fail(r->e, "%s: out of memory", r->path);
            }
            r->cap_m = cap;
        }
        st->meta_keys[st->n_meta] = key;
        st->meta_vals[st->n_meta++] = val;
        ws(r);
        if (peek(r) == ',') {
            r->i++;
            continue;
        }
        return expect(r, '}', "expected ',' or '}'");
    }
}

/* An array of at most max non-negative integers into v; *n gets the count.
 * what names the field in messages. */
static int parse_uint_array(reader *r, const char *tname, const char *what, uint64_t *v, int max, int *n)
{
    *n = 0;
    ws(r);
    if (peek(r) != '[') return mn_fail(r->e, "%s: tensor '%s': %s is not an array", r->path, tname, what);
    r->i++;
    ws(r);
    if (peek(r) == ']') {
        r->i++;
        return 0;
    }
    for (;;) {
        uint64_t x;
        int kind;
        ws(r);
        int c = peek(r);
        if (c != '-' && (c < '0' || c > '9')) {
            if (c < 0) return jerr(r, r->i, "unexpected end of header");
            return mn_fail(r->e, "%s: tensor '%s': %s holds a non-number", r->path, tname, what);
        }
        if (parse_number(r, &x, &kind)) return -1;
        if (kind == NUM_NEG) return mn_fail(r->e, "%s: tensor '%s': %s holds a negative number", r->path, tname, what);
        if (kind == NUM_FRAC) return mn_fail(r->e, "%s: tensor '%s': %s holds a non-integer", r->path, tname, what);
        if (kind == NUM_BIG) return mn_fail(r->e, "%s: tensor '%s': %s holds a number too large", r->path, tname, what);
        if (*n == max)
            return mn_fail(r->e, "%s: tensor '%s': %s has more than %d entries", r->path, tname, what, max);
        v[(*n)++] = x;
        ws(r);
        if (peek(r) == ',') {
            r->i++;
            continue;
        }
        return expect(r, ']', "expected ',' or ']'");
    }
}

static const char *const known_dtypes[] = {"BOOL", "F4",   "F6_E2M3", "F6_E3M2", "U8",      "I8",      "F8_E5M2",
                                           "F8_E4M3", "F8_E8M0", "I16",  "U16",     "F16",  "BF16", "I32",
                                           "U32",  "F32",     "F64",     "C64",     "I64",  "U64"};

/* One tensor entry; the name (malloc'd) is owned by the caller. */
static int parse_tensor(reader *r, const char *name)
{
    char nb[DISP_LEN];
    const char *dn = disp(name, nb, sizeof nb);
    const char *path = r->path;
    mn_safetensors *st = r->st;
    if (!name[0]) return mn_fail(r->e, "%s: tensor with an empty name", path);
    if (strlen(name) >= MN_ST_MAX_NAME)
        return mn_fail(r->e, "%s: tensor '%s': name longer than %d bytes", path, dn, MN_ST_MAX_NAME - 1);
    ws(r);
    if (peek(r) != '{') return mn_fail(r->e, "%s: tensor '%s' is not an object", path, dn);
    r->i++;
    int have_dtype = 0, have_shape = 0, have_offs = 0, ndim = 0, noff = 0;
    mn_st_dtype dtype = MN_ST_F32;
    uint64_t shape[MN_ST_MAX_DIMS], off[2];
    ws(r);
    if (peek(r) == '}')
        r->i++;
    else
        for (;;) {
            char *key;
            int nul;
            ws(r);
            if (peek(r) != '"') return jerr(r, r->i, peek(r) < 0 ? "unexpected end of header" : "expected a key");
            if (parse_string(r, &key, &nul)) return -1;
            if (expect(r, ':', "expected ':'")) {
                free(key);
                return -1;
            }
            int *have = nul                            ? NULL
                        : !strcmp(key, "dtype")        ? &have_dtype
                        : !strcmp(key, "shape")        ? &have_shape
                        : !strcmp(key, "data_offsets") ? &have_offs
                                                       : NULL;
            if (have && *have) {
                int rc = mn_fail(r->e, "%s: tensor '%s': duplicate field '%s'", path, dn, key);
                free(key);
                return rc;
            }
            int rc = 0;
            if (have == &have_dtype) {
                char *dt;
                ws(r);
                if (peek(r) != '"') {
                    free(key);
                    return mn_fail(r->e, "%s: tensor '%s': dtype is not a string", path, dn);
                }
                rc = parse_string(r, &dt, &nul);
                if (!rc && !nul && !strcmp(dt, "I64")) dtype = MN_ST_I64;
                if (!rc && (nul || (strcmp(dt, "F32") && strcmp(dt, "I64")))) {
                    int known = 0;
                    for (size_t k = 0; k < sizeof known_dtypes / sizeof *known_dtypes; k++)
                        known |= !strcmp(dt, known_dtypes[k]);
                    char db[DISP_LEN];
                    if (known && !nul)
                        rc = mn_fail(r->e, "%s: tensor '%s': dtype %s not supported (only F32 and I64)", path, dn, dt);
                    else
                        rc = mn_fail(r->e, "%s: tensor '%s': unknown dtype '%s'", path, dn, disp(dt, db, sizeof db));
                }
                free(dt);
            } else if (have == &have_shape) {
                rc = parse_uint_array(r, dn, "shape", shape, MN_ST_MAX_DIMS, &ndim);
            } else if (have == &have_offs) {
                rc = parse_uint_array(r, dn, "data_offsets", off, 2, &noff);
                if (!rc && noff != 2)
                    rc = mn_fail(r->e, "%s: tensor '%s': data_offsets must be [begin,end]", path, dn);
            } else {
                rc = skip_value(r, 3); /* unknown fields are ignored, as the reference does */
            }
            free(key);
            if (rc) return -1;
            if (have) *have = 1;
            ws(r);
            if (peek(r) == ',') {
                r->i++;
                continue;
            }
            if (expect(r, '}', "expected ',' or '}'")) return -1;
            break;
        }
    if (!have_dtype || !have_shape || !have_offs)
        return mn_fail(r->e, "%s: tensor '%s': missing %s", path, dn,
                       !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");

    /* Consistency of this entry on its own. */
    mn_st_tensor t;
    memset(&t, 0, sizeof t);
    memcpy(t.name, name, strlen(name) + 1);
    t.ndim = ndim;
    t.dtype = dtype;
    for (int d = 0; d < ndim; d++) t.shape[d] = (int64_t)shape[d];
    char sb[8 * 24 + 8];
    shape_str(t.shape, ndim, sb, sizeof sb);
    uint64_t count;
    if (elem_count(t.shape, ndim, &count)) return mn_fail(r->e, "%s: tensor '%s': shape %s too large", path, dn, sb);
    if (count > UINT64_MAX / 8 || off[1] < off[0] || off[1] - off[0] != dtype_size(dtype) * count)
        return mn_fail(r->e, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] do not match shape %s (%s)", path,
                       dn, off[0], off[1], sb, dtype_name(dtype));
    if (off[1] > r->buflen)
        return mn_fail(r->e,
                       "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] exceed the data buffer (%" PRIu64
                       " bytes)",
                       path, dn, off[0], off[1], r->buflen);

    if (st->n_tensors == r->cap_t) {
        int cap = r->cap_t ? 2 * r->cap_t : 16;
        mn_st_tensor *nt = realloc(st->tensors, (size_t)cap * sizeof *nt);
        if (nt) st->tensors = nt;
        uint64_t *no = nt ? realloc(r->offs, (size_t)cap * 2 * sizeof *no) : NULL;
        if (no) r->offs = no;
        if (!nt || !no) return mn_fail(r->e, "%s: out of memory", path);
        r->cap_t = cap;
    }
    r->offs[2 * st->n_tensors] = off[0];
    r->offs[2 * st->n_tensors + 1] = off[1];
    st->tensors[st->n_tensors++] = t;
    return 0;
}

static int parse_header(reader *r)
{
    ws(r);
    if (peek(r) != '{') {
        if (peek(r) < 0) return jerr(r, r->i, "empty header");
        return mn_fail(r->e, "%s: header is not a JSON object", r->path);
    }
    r->i++;
    ws(r);
    if (peek(r) == '}')
        r->i++;
    else
        for (;;) {
            char *key;
            int nul, rc;
            ws(r);
            if (peek(r) != '"') return jerr(r, r->i, peek(r) < 0 ? "unexpected end of header" : "expected a key");
            if (parse_string(r, &key, &nul)) return -1;
            if (expect(r, ':', "expected ':'")) {
                free(key);
                return -1;
            }
            if (nul) {
                rc = mn_fail(r->e, "%s: tensor name contains a NUL character", r->path);
            } else if (!strcmp(key, "__metadata__")) {
                rc = r->seen_meta++ ? mn_fail(r->e, "%s: duplicate __metadata__", r->path) : parse_meta(r);
            } else {
                rc = parse_tensor(r, key);
            }
            free(key);
            if (rc) return -1;
            ws(r);
            if (peek(r) == ',') {
                r->i++;
                continue;
            }
            if (expect(r, '}', "expected ',' or '}'")) return -1;
            break;
        }
    ws(r);
    if (r->i != r->n) return jerr(r, r->i, "trailing characters after the JSON object");
    return 0;
}

typedef struct {
    uint64_t b, e;
    int idx;
} range;

static int cmp_range(const void *x, const void *y)
{
    const range *a = x, *b = y;
    if (a->b != b->b) return a->b < b->b ? -1 : 1;
    if (a->e != b->e) return a->e < b->e ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Names and keys unique; tensors tile the data buffer exactly. */
static int check_layout(reader *r)
{
    mn_safetensors *st = r->st;
    char nb[DISP_LEN], pb[DISP_LEN];
    size_t n = (size_t)st->n_tensors, nv = n > (size_t)st->n_meta ? n : (size_t)st->n_meta;
    const char **v = malloc((nv ? nv : 1) * sizeof *v);
    range *rg = malloc((n ? n : 1) * sizeof *rg);
    if (!v || !rg) {
        free(v), free(rg);
        return mn_fail(r->e, "%s: out of memory", r->path);
    }
    int rc = 0;
    for (size_t k = 0; k < n; k++) v[k] = st->tensors[k].name;
    const char *dup = find_duplicate(v, n);
    if (dup) rc = mn_fail(r->e, "%s: duplicate tensor name '%s'", r->path, disp(dup, nb, sizeof nb));
    for (int k = 0; !rc && k < st->n_meta; k++) v[k] = st->meta_keys[k];
    if (!rc && (dup = find_duplicate(v, (size_t)st->n_meta)))
        rc = mn_fail(r->e, "%s: duplicate metadata key '%s'", r->path, disp(dup, nb, sizeof nb));

    for (size_t k = 0; k < n; k++) rg[k] = (range){r->offs[2 * k], r->offs[2 * k + 1], (int)k};
    qsort(rg, n, sizeof *rg, cmp_range);
    uint64_t pos = 0;
    for (size_t k = 0; !rc && k < n; k++) {
        const char *name = disp(st->tensors[rg[k].idx].name, nb, sizeof nb);
        const char *prev = k ? disp(st->tensors[rg[k - 1].idx].name, pb, sizeof pb) : "";
        if (rg[k].b > pos && !k)
            rc = mn_fail(r->e, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] leave a gap at the start of the data",
                         r->path, name, rg[k].b, rg[k].e);
        else if (rg[k].b > pos)
            rc = mn_fail(r->e, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] leave a gap after tensor '%s' (ends at %" PRIu64 ")",
                         r->path, name, rg[k].b, rg[k].e, prev, pos);
        else if (rg[k].b < pos)
            rc = mn_fail(r->e, "%s: tensor '%s': data_offsets [%" PRIu64 ",%" PRIu64 "] overlap tensor '%s' (ends at %" PRIu64 ")",
                         r->path, name, rg[k].b, rg[k].e, prev, pos);
        pos = rg[k].e;
    }
    if (!rc && pos != r->buflen)
        rc = mn_fail(r->e, "%s: %" PRIu64 " trailing bytes after the tensor data (data buffer is %" PRIu64 " bytes)",
                     r->path, r->buflen - pos, r->buflen);
    free(v), free(rg);
    return rc;
}

int mn_st_read(const char *path, mn_safetensors *st, mn_err *e)
{
    if (!st) return mn_fail(e, "%s: no result struct", path ? path : "safetensors");
    memset(st, 0, sizeof *st);
    if (!path) return mn_fail(e, "safetensors: no input path");
    FILE *f = fopen(path, "rb");
    if (!f) return mn_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int rc = mn_fail(e, "%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return rc;
    }
    if (!S_ISREG(sb.st_mode)) {
        fclose(f);
        return mn_fail(e, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (size < 8) {
        fclose(f);
        if (!size) return mn_fail(e, "%s: empty file, not safetensors", path);
        return mn_fail(e, "%s: file too short for safetensors (%" PRIu64 " bytes, need at least 8)", path, size);
    }
    if (fread(len8, 1, 8, f) != 8) {
        fclose(f);
        return mn_fail(e, "%s: read error (file truncated?)", path);
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | len8[i];
    if (hlen > ST_MAX_HEADER) {
        fclose(f);
        return mn_fail(e, "%s: header length %" PRIu64 " exceeds the limit of %llu bytes", path, hlen, ST_MAX_HEADER);
    }
    if (hlen > size - 8) {
        fclose(f);
        return mn_fail(e, "%s: header length %" PRIu64 " exceeds file size (%" PRIu64 " bytes)", path, hlen, size);
    }
    uint64_t buflen = size - 8 - hlen;
    if (buflen > SIZE_MAX - 8) {
        fclose(f);
        return mn_fail(e, "%s: data too large for this machine (%" PRIu64 " bytes)", path, buflen);
    }
    unsigned char *hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        fclose(f);
        return mn_fail(e, "%s: out of memory for a %" PRIu64 "-byte header", path, hlen);
    }
    if (fread(hdr, 1, (size_t)hlen, f) != (size_t)hlen) {
        free(hdr);
        fclose(f);
        return mn_fail(e, "%s: read error in header (file truncated?)", path);
    }

    reader r;
    memset(&r, 0, sizeof r);
    r.p = hdr, r.n = (size_t)hlen, r.path = path, r.e = e, r.st = st, r.buflen = buflen;
    int rc = parse_header(&r);
    if (!rc) rc = check_layout(&r);
    free(hdr);
    if (rc) {
        free(r.offs);
        fclose(f);
        mn_st_free(st);
        return -1;
    }

    /* The data, in a buffer of our own so the floats are aligned. */
    unsigned char *blob = malloc(buflen ? (size_t)buflen : 4);
    if (!blob) rc = mn_fail(e, "%s: out of memory for %" PRIu64 " bytes of tensor data", path, buflen);
    if (!rc && fread(blob, 1, (size_t)buflen, f) != (size_t)buflen)
        rc = mn_fail(e, "%s: read error in tensor data (file truncated?)", path);
    fclose(f);
    st->blob = blob;
    if (rc) {
        free(r.offs);
        mn_st_free(st);
        return -1;
    }
    if (!host_is_le())
        for (int k = 0; k < st->n_tensors; k++) {
            unsigned es = dtype_size(st->tensors[k].dtype);
            for (uint64_t at = r.offs[2 * k]; at + es <= r.offs[2 * k + 1]; at += es)
                for (unsigned b = 0; b < es / 2; b++) {
                    unsigned char t0 = blob[at + b];
                    blob[at + b] = blob[at + es - 1 - b], blob[at + es - 1 - b] = t0;
                }
        }
    /* Contiguous tensors of 4- and 8-byte elements from 0 all begin 4-aligned. */
    for (int k = 0; k < st->n_tensors; k++) st->tensors[k].raw = blob + r.offs[2 * k];
    free(r.offs);
    return 0;
}

void mn_st_free(mn_safetensors *st)
{
    if (!st) return;
    for (int i = 0; i < st->n_meta; i++) {
        if (st->meta_keys) free(st->meta_keys[i]);
        if (st->meta_vals) free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->tensors);
    free(st->blob);
    memset(st, 0, sizeof *st);
}

const mn_st_tensor *mn_st_find(const mn_safetensors *st, const char *name)
{
    if (!st || !name) return NULL;
    for (int i = 0; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

const char *mn_st_meta(const mn_safetensors *st, const char *key)
{
    if (!st || !key) return NULL;
    for (int i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_vals[i];
    return NULL;
}
