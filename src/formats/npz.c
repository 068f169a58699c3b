/* npz.c - reading and writing NumPy .npz archives (see npz.h). */
#include "mnist/npz.h"

#include "mnist/atomic.h"
#include "mnist/gzip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest archive and entry we accept (Keras's mnist.npz is 11 MB). */
#define NPZ_MAX_FILE ((uint64_t)1 << 32)
#define NPZ_MAX_ENTRY ((uint64_t)1 << 31)
#define NPZ_MAX_ENTRIES 4096

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

void mn_npz_close(mn_npz *z)
{
    if (!z) return;
    free(z->file);
    free(z->entries);
    memset(z, 0, sizeof *z);
}

static int read_whole(const char *path, uint8_t **buf, size_t *size, mn_err *e)
{
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_fail(e, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return mn_fail(e, "%s: cannot determine file size (not a regular file?)", path);
    }
    if (n == 0) {
        fclose(f);
        return mn_fail(e, "%s: empty file, not an npz archive", path);
    }
    if ((uint64_t)n > NPZ_MAX_FILE) {
        fclose(f);
        return mn_fail(e, "%s: file too large for an npz data set (%ld bytes)", path, n);
    }
    uint8_t *b = malloc((size_t)n);
    if (!b) {
        fclose(f);
        return mn_fail(e, "%s: out of memory for %ld bytes", path, n);
    }
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return mn_fail(e, "%s: read error", path);
    }
    fclose(f);
    *buf = b, *size = (size_t)n;
    return 0;
}

/* Zip64 extra field: replaces the 32-bit fields that are 0xFFFFFFFF, in
 * the order usize, csize, offset. */
static int zip64_extra(const uint8_t *x, size_t len, uint64_t *usize, uint64_t *csize, uint64_t *off, int need_u,
                       int need_c, int need_o)
{
    while (len >= 4) {
        unsigned id = le16(x), sz = le16(x + 2);
        if (sz > len - 4) return -1;
        if (id == 1) {
            const uint8_t *p = x + 4, *end = x + 4 + sz;
            if (need_u) { if (end - p < 8) return -1; *usize = le64(p), p += 8; }
            if (need_c) { if (end - p < 8) return -1; *csize = le64(p), p += 8; }
            if (need_o) { if (end - p < 8) return -1; *off = le64(p), p += 8; }
            return 0;
        }
        x += 4 + sz, len -= 4 + sz;
    }
    return need_u || need_c || need_o ? -1 : 0;
}

int mn_npz_open(const char *path, mn_npz *z, mn_err *e)
{
    memset(z, 0, sizeof *z);
    snprintf(z->path, sizeof z->path, "%s", path);
    if (read_whole(path, &z->file, &z->size, e)) return -1;
    const uint8_t *f = z->file;
    size_t n = z->size;
    if (n < 4 || le32(f) != 0x04034b50u) {
        int empty_zip = n >= 4 && le32(f) == 0x06054b50u;
        mn_npz_close(z);
        if (empty_zip) return mn_fail(e, "%s: empty zip archive (no arrays)", path);
        return mn_fail(e, "%s: not a zip archive (an npz file starts with PK\\3\\4)", path);
    }
    /* the end of central directory record: the last 22+ bytes */
    size_t eocd = (size_t)-1;
    for (size_t k = n >= 22 ? n - 22 : 0, stop = n > 22 + 65535 ? n - 22 - 65535 : 0; n >= 22; k--) {
        if (le32(f + k) == 0x06054b50u && k + 22 + le16(f + k + 20) == n) {
            eocd = k;
            break;
        }
        if (k == stop) break;
    }
    if (eocd == (size_t)-1) {
        mn_npz_close(z);
        return mn_fail(e, "%s: truncated or not a zip archive (no end of central directory record)", path);
    }
    uint64_t count = le16(f + eocd + 10), cd_size = le32(f + eocd + 12), cd_off = le32(f + eocd + 16);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        /* zip64: the locator sits just before the record */
        if (eocd < 20 || le32(f + eocd - 20) != 0x07064b50u) {
            mn_npz_close(z);
            return mn_fail(e, "%s: corrupt zip archive (zip64 locator missing)", path);
        }
        uint64_t z64 = le64(f + eocd - 12);
        if (z64 > n || n - z64 < 56 || le32(f + z64) != 0x06064b50u) {
            mn_npz_close(z);
            return mn_fail(e, "%s: corrupt zip archive (bad zip64 end of central directory)", path);
        }
        count = le64(f + z64 + 32), cd_size = le64(f + z64 + 40), cd_off = le64(f + z64 + 48);
    }
    if (cd_off > n || cd_size > n - cd_off || count > NPZ_MAX_ENTRIES || count * 46 > cd_size) {
        mn_npz_close(z);
        return mn_fail(e, "%s: truncated or corrupt zip archive (central directory of %llu entries at byte %llu "
                          "does not fit in %zu bytes)",
                       path, (unsigned long long)count, (unsigned long long)cd_off, n);
    }
    if (count == 0) {
        mn_npz_close(z);
        return mn_fail(e, "%s: empty zip archive (no arrays)", path);
    }
    z->entries = calloc((size_t)count, sizeof *z->entries);
    if (!z->entries) {
        mn_npz_close(z);
        return mn_fail(e, "%s: out of memory", path);
    }
    const uint8_t *p = f + cd_off, *end = f + cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || le32(p) != 0x02014b50u) {
            mn_npz_close(z);
            return mn_fail(e, "%s: corrupt zip central directory (entry %llu)", path, (unsigned long long)i);
        }
        unsigned flags = le16(p + 8), method = le16(p + 10), nlen = le16(p + 28), xlen = le16(p + 30),
                 clen = le16(p + 32);
        if ((size_t)(end - p) < 46u + nlen + xlen + clen) {
            mn_npz_close(z);
            return mn_fail(e, "%s: corrupt zip central directory (entry %llu)", path, (unsigned long long)i);
        }
        struct mn_npz_entry *en = &z->entries[i];
        en->crc = le32(p + 16);
        en->csize = le32(p + 20), en->usize = le32(p + 24), en->offset = le32(p + 42);
        en->method = (int)method;
        size_t keep = nlen < sizeof en->name - 1 ? nlen : sizeof en->name - 1;
        memcpy(en->name, p + 46, keep);
        for (size_t k = 0; k < keep; k++)
            if ((unsigned char)en->name[k] < 0x20 || (unsigned char)en->name[k] > 0x7e) en->name[k] = '?';
        if (zip64_extra(p + 46 + nlen, xlen, &en->usize, &en->csize, &en->offset, en->usize == 0xFFFFFFFFu,
                        en->csize == 0xFFFFFFFFu, en->offset == 0xFFFFFFFFu)) {
            mn_npz_close(z);
            return mn_fail(e, "%s: corrupt zip64 extra field for %s", path, en->name);
        }
        if (flags & 1u) {
            int rc = mn_fail(e, "%s: %s is encrypted (not supported)", path, en->name);
            mn_npz_close(z);
            return rc;
        }
        p += 46 + nlen + xlen + clen;
    }
    z->n = (int)count;
    return 0;
}

int mn_npz_find(const mn_npz *z, const char *key)
{
    char want[140];
    snprintf(want, sizeof want, "%s.npy", key);
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->entries[i].name, want) || !strcmp(z->entries[i].name, key)) return i;
    return -1;
}

void mn_npy_free(mn_npy *a)
{
    if (!a) return;
    free(a->u8);
    memset(a, 0, sizeof *a);
}

/* The bytes of entry i, decompressed and checked: *data (free() it when
 * *owned) of *len bytes. */
static int entry_bytes(const mn_npz *z, int i, uint8_t **data, size_t *len, int *owned, mn_err *e)
{
    const struct mn_npz_entry *en = &z->entries[i];
    const char *path = z->path;
    if (en->offset > z->size || z->size - en->offset < 30 || le32(z->file + en->offset) != 0x04034b50u)
        return mn_fail(e, "%s: %s: truncated or corrupt zip (no local header at byte %llu)", path, en->name,
                       (unsigned long long)en->offset);
    const uint8_t *lh = z->file + en->offset;
    uint64_t start = en->offset + 30 + le16(lh + 26) + le16(lh + 28);
    if (start > z->size || en->csize > z->size - start)
        return mn_fail(e, "%s: %s: truncated zip entry (%llu compressed bytes at byte %llu, file has %zu)", path,
                       en->name, (unsigned long long)en->csize, (unsigned long long)start, z->size);
    if (en->usize > NPZ_MAX_ENTRY)
        return mn_fail(e, "%s: %s: entry too large (%llu bytes)", path, en->name, (unsigned long long)en->usize);
    const uint8_t *c = z->file + start;
    if (en->method == 0) {
        if (en->csize != en->usize)
            return mn_fail(e, "%s: %s: stored entry with sizes %llu and %llu", path, en->name,
                           (unsigned long long)en->csize, (unsigned long long)en->usize);
        *data = (uint8_t *)c, *len = (size_t)en->usize, *owned = 0;
    } else if (en->method == 8) {
        if (en->usize > en->csize * 1032 + 1032)
            return mn_fail(e, "%s: %s: corrupt zip entry (%llu bytes cannot deflate to %llu)", path, en->name,
                           (unsigned long long)en->usize, (unsigned long long)en->csize);
        char name[4300];
        snprintf(name, sizeof name, "%s: %s", path, en->name);
        uint8_t *out;
        size_t got;
        if (mn_inflate(c, (size_t)en->csize, (size_t)en->usize, &out, &got, name, e)) return -1;
        if (got != en->usize) {
            free(out);
            return mn_fail(e, "%s: %s: zip entry inflates to %zu bytes, directory says %llu", path, en->name, got,
                           (unsigned long long)en->usize);
        }
        *data = out, *len = got, *owned = 1;
    } else {
        return mn_fail(e, "%s: %s: zip compression method %d not supported (only stored and deflated)", path,
                       en->name, en->method);
    }
    uint32_t crc = mn_crc32(0, *data, *len);
    if (crc != en->crc) {
        if (*owned) free(*data);
        return mn_fail(e, "%s: %s: zip CRC-32 mismatch (stored 0x%08lx, computed 0x%08lx)", path, en->name,
                       (unsigned long)en->crc, (unsigned long)crc);
    }
    return 0;
}

/* Parses the .npy header in d[0..n): dtype, order and shape into a; sets
 * *data_off. */
static int npy_header(const uint8_t *d, size_t n, mn_npy *a, size_t *data_off, const char *where, mn_err *e)
{
    if (n < 10 || memcmp(d, "\x93NUMPY", 6) != 0) return mn_fail(e, "%s: not an .npy array (bad magic)", where);
    unsigned major = d[6];
    size_t hl, hs;
    if (major == 1) {
        hl = le16(d + 8), hs = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) return mn_fail(e, "%s: truncated .npy header", where);
        hl = le32(d + 8), hs = 12;
    } else {
        return mn_fail(e, "%s: .npy version %u not supported (1 to 3)", where, major);
    }
    if (hl > n - hs) return mn_fail(e, "%s: truncated .npy header (%zu bytes promised)", where, hl);
    char h[1024];
    if (hl >= sizeof h) return mn_fail(e, "%s: .npy header too long (%zu bytes)", where, hl);
    memcpy(h, d + hs, hl);
    h[hl] = 0;
    *data_off = hs + hl;
    const char *q = strstr(h, "'descr'");
    if (!q || !(q = strchr(q + 7, ':'))) return mn_fail(e, "%s: .npy header lacks 'descr'", where);
    while (*++q == ' ') {}
    if (*q != '\'' && *q != '"') return mn_fail(e, "%s: .npy 'descr' is not a simple dtype", where);
    char quote = *q++;
    size_t k = 0;
    while (*q && *q != quote && k < sizeof a->dtype - 1) a->dtype[k++] = *q++;
    a->dtype[k] = 0;
    if (*q != quote) return mn_fail(e, "%s: .npy 'descr' is not a simple dtype", where);
    const char *fo = strstr(h, "'fortran_order'");
    if (!fo || !(fo = strchr(fo, ':'))) return mn_fail(e, "%s: .npy header lacks 'fortran_order'", where);
    while (*++fo == ' ') {}
    if (!strncmp(fo, "True", 4)) return mn_fail(e, "%s: Fortran-order array not supported (save it in C order)", where);
    if (strncmp(fo, "False", 5)) return mn_fail(e, "%s: bad 'fortran_order' in .npy header", where);
    const char *sh = strstr(h, "'shape'");
    if (!sh || !(sh = strchr(sh, '('))) return mn_fail(e, "%s: .npy header lacks 'shape'", where);
    sh++;
    a->rank = 0;
    a->count = 1;
    for (;;) {
        while (*sh == ' ' || *sh == ',') sh++;
        if (*sh == ')') break;
        if (*sh < '0' || *sh > '9') return mn_fail(e, "%s: bad 'shape' in .npy header", where);
        if (a->rank == MN_NPY_MAX_RANK) return mn_fail(e, "%s: .npy array of rank > %d", where, MN_NPY_MAX_RANK);
        uint64_t v = 0;
        while (*sh >= '0' && *sh <= '9') {
            v = v * 10 + (uint64_t)(*sh++ - '0');
            if (v > NPZ_MAX_ENTRY) return mn_fail(e, "%s: absurd .npy shape", where);
        }
        a->dims[a->rank++] = v;
        a->count *= v;
        if (a->count > NPZ_MAX_ENTRY) return mn_fail(e, "%s: absurd .npy shape", where);
    }
    return 0;
}

int mn_npz_read_u8(const mn_npz *z, const char *key, mn_npy *a, mn_err *e)
{
    memset(a, 0, sizeof *a);
    int i = mn_npz_find(z, key);
    if (i < 0) return mn_fail(e, "%s: no array '%s' in the archive", z->path, key);
    char where[4300];
    snprintf(where, sizeof where, "%s: %s", z->path, z->entries[i].name);
    uint8_t *d = NULL;
    size_t n = 0, off = 0;
    int owned = 0, rc = -1;
    if (entry_bytes(z, i, &d, &n, &owned, e)) return -1;
    if (npy_header(d, n, a, &off, where, e)) goto out;
    const char *t = a->dtype;
    int size = 0, sgn = 0, big = 0;
    if ((t[0] == '|' || t[0] == '<' || t[0] == '>' || t[0] == '=') && (t[1] == 'u' || t[1] == 'i') &&
        (t[2] == '1' || t[2] == '2' || t[2] == '4' || t[2] == '8') && !t[3]) {
        size = t[2] - '0', sgn = t[1] == 'i', big = t[0] == '>';
    } else if (!strcmp(t, "|b1")) {
        size = 1;
    } else {
        const char *what = t[1] == 'f' ? (t[2] == '8' ? " (float64)" : t[2] == '4' ? " (float32)" : " (float)") : "";
        mn_fail(e, "%s: dtype %s%s not supported: pixels and labels must be integers (uint8 pixels)", where, t, what);
        goto out;
    }
    if ((n - off) / (size_t)size != a->count || (n - off) % (size_t)size) {
        mn_fail(e, "%s: %s: shape needs %llu bytes of data, entry has %zu", where, "truncated or padded",
                (unsigned long long)(a->count * (uint64_t)size), n - off);
        goto out;
    }
    if (!(a->u8 = malloc(a->count ? (size_t)a->count : 1))) {
        mn_fail(e, "%s: out of memory", where);
        goto out;
    }
    const uint8_t *p = d + off;
    if (size == 1 && !sgn) {
        memcpy(a->u8, p, (size_t)a->count);
    } else {
        for (uint64_t j = 0; j < a->count; j++, p += size) {
            uint64_t v = 0;
            for (int b = 0; b < size; b++) v |= (uint64_t)p[big ? b : size - 1 - b] << (8 * (size - 1 - b));
            int neg = sgn && (v >> (8 * size - 1)) & 1u;
            if (neg || v > 255) {
                long long sv = neg ? (long long)(v | (size < 8 ? ~(uint64_t)0 << (8 * size) : 0)) : (long long)v;
                mn_fail(e, "%s: value %lld at index %llu is out of range 0..255", where, sv, (unsigned long long)j);
                free(a->u8);
                a->u8 = NULL;
                goto out;
            }
            a->u8[j] = (uint8_t)v;
        }
    }
    rc = 0;
out:
    if (owned) free(d);
    if (rc) mn_npy_free(a);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xFFFFu), put16(p + 2, v >> 16); }

int mn_npz_write(const char *path, const mn_npz_array *arrays, int n, mn_err *e)
{
    if (n < 1 || n > 64) return mn_fail(e, "%s: cannot write %d arrays", path, n);
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    int ok = 1;
    uint8_t cd[64][46 + 140];
    size_t cdlen[64];
    uint64_t off = 0;
    for (int i = 0; i < n && ok; i++) {
        const mn_npz_array *a = &arrays[i];
        char hdr[256];
        int hl = snprintf(hdr, sizeof hdr, "{'descr': '|u1', 'fortran_order': False, 'shape': (");
        uint64_t count = 1;
        for (int r = 0; r < a->rank; r++) {
            hl += snprintf(hdr + hl, sizeof hdr - (size_t)hl, "%llu%s", (unsigned long long)a->dims[r],
                           a->rank == 1 ? "," : r + 1 < a->rank ? ", " : "");
            count *= a->dims[r];
        }
        hl += snprintf(hdr + hl, sizeof hdr - (size_t)hl, "), }");
        while ((10 + hl + 1) % 64) hdr[hl++] = ' ';
        hdr[hl++] = '\n';
        uint8_t npy[10];
        memcpy(npy, "\x93NUMPY\x01\x00", 8);
        put16(npy + 8, (unsigned)hl);
        uint64_t usize = 10 + (uint64_t)hl + count;
        if (usize > 0xFFFFFFF0u || off > 0xFFFFFFF0u - usize) {
            ok = 0;
            break;
        }
        uint32_t crc = mn_crc32(mn_crc32(mn_crc32(0, npy, 10), hdr, (size_t)hl), a->data, (size_t)count);
        char name[140];
        int nl = snprintf(name, sizeof name, "%s.npy", a->key);
        uint8_t lh[30] = {0};
        put32(lh, 0x04034b50u), put16(lh + 4, 20), put16(lh + 8, 0), put16(lh + 12, 0x21);
        put32(lh + 14, crc), put32(lh + 18, (uint32_t)usize), put32(lh + 22, (uint32_t)usize);
        put16(lh + 26, (unsigned)nl);
        uint8_t *c = cd[i];
        memset(c, 0, 46);
        put32(c, 0x02014b50u), put16(c + 4, 20), put16(c + 6, 20), put16(c + 14, 0x21);
        put32(c + 16, crc), put32(c + 20, (uint32_t)usize), put32(c + 24, (uint32_t)usize);
        put16(c + 28, (unsigned)nl), put32(c + 42, (uint32_t)off);
        memcpy(c + 46, name, (size_t)nl);
        cdlen[i] = 46 + (size_t)nl;
        ok = fwrite(lh, 1, 30, f) == 30 && fwrite(name, 1, (size_t)nl, f) == (size_t)nl &&
             fwrite(npy, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)hl, f) == (size_t)hl &&
             fwrite(a->data, 1, (size_t)count, f) == (size_t)count;
        off += 30 + (uint64_t)nl + usize;
    }
    uint64_t cd_start = off, cd_size = 0;
    for (int i = 0; i < n && ok; i++) ok = fwrite(cd[i], 1, cdlen[i], f) == cdlen[i], cd_size += cdlen[i];
    uint8_t end[22] = {0};
    put32(end, 0x06054b50u), put16(end + 8, (unsigned)n), put16(end + 10, (unsigned)n);
    put32(end + 12, (uint32_t)cd_size), put32(end + 16, (uint32_t)cd_start);
    if (ok) ok = fwrite(end, 1, 22, f) == 22;
    if (!ok) mn_fail(e, "%s: write error (or arrays too large for a zip without zip64)", path);
    mn_err e2;
    int rc = mn_atomic_commit(f, path, tmp, ok, ok ? e : &e2);
    return ok ? rc : -1;
}
