/* idx.c - reading and writing IDX files, loading MNIST-style data sets.
 *
 * Every header field and the file length are checked before any memory is
 * allocated for the payload, so a corrupt or hostile header can never make
 * us allocate more than the file actually holds (and never more than
 * MN_IDX_MAX_BYTES). Gzipped files (by name, "*.gz", or by content) are
 * decompressed with our own inflater (gzip.c) and then checked the same way;
 * the decompressed size is bounded by what the header promises.
 */
#include "mnist/idx.h"

#include "mnist/gemm.h" /* mn_get_threads */
#include "mnist/gzip.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest payload we accept: real MNIST is 47 MB, so 2 GiB is absurd. */
#define MN_IDX_MAX_BYTES ((uint64_t)1 << 31)
#define MN_IDX_TYPE_U8 0x08
#define MN_PATH_MAX 4096

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Size of an open file in bytes, or -1. Leaves the position at the start. */
static long file_size(FILE *f)
{
    if (fseek(f, 0, SEEK_END) != 0)
        return -1;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        return -1;
    return n;
}

static int read_fail(FILE *f, const char *path, mn_err *e)
{
    int err = errno;
    int eof = feof(f);
    fclose(f);
    if (eof)
        return mn_fail(e, "%s: file shrank while being read", path);
    return mn_fail(e, "%s: read error: %s", path, err ? strerror(err) : "unknown error");
}

/* Checks the 4-byte magic of an IDX array; returns its rank, or -1. */
static int check_magic(const uint8_t *head, int want_rank, const char *path, mn_err *e)
{
    if (head[0] != 0 || head[1] != 0)
        return mn_fail(e, "%s: bad magic 0x%08lx, not an IDX file", path, (unsigned long)get_be32(head));
    if (head[2] != MN_IDX_TYPE_U8)
        return mn_fail(e, "%s: type code 0x%02x is not unsigned byte (0x08)", path, (unsigned)head[2]);
    if (head[3] != want_rank)
        return mn_fail(e, "%s: rank %d, expected rank %d", path, head[3], want_rank);
    return head[3];
}

/* Reads the dimensions after the magic into out->dims and sets *bytes to
 * their product. Each factor is < 2^32 and the running product stays
 * <= 2^31, so the 64-bit product cannot overflow before we notice it is
 * absurd. */
static int check_dims(const uint8_t *head, int rank, mn_idx *out, uint64_t *bytes, const char *path, mn_err *e)
{
    uint64_t prod = 1;
    for (int i = 0; i < rank; i++) {
        uint32_t d = get_be32(head + 4 + 4 * i);
        if (d == 0) {
            memset(out, 0, sizeof *out);
            return mn_fail(e, "%s: dimension %d is zero (empty array)", path, i);
        }
        out->dims[i] = d;
        prod *= d;
        if (prod > MN_IDX_MAX_BYTES) {
            memset(out, 0, sizeof *out);
            return mn_fail(e, "%s: absurd dimensions: more than %llu bytes of data", path,
                           (unsigned long long)MN_IDX_MAX_BYTES);
        }
    }
    *bytes = prod;
    return 0;
}

static int has_gz_suffix(const char *path)
{
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* The rest of mn_idx_read for gzip data: f is open and `size` bytes long.
 *
 * The IDX header is decompressed first (a prefix of the data) and checked as
 * for a raw file; then exactly header + product(dims) bytes are wanted, and
 * the data is decompressed with a limit of one byte more, so that a gzip
 * bomb or a lying header never makes us hold more than the header promised
 * (itself capped at MN_IDX_MAX_BYTES). The compressed copy is freed as soon
 * as the decompressed one exists, and the payload is moved to the front of
 * its buffer, which is then trimmed. */
static int read_gz(FILE *f, long size, const char *path, int want_rank, mn_idx *out, mn_err *e)
{
    if (fseek(f, 0, SEEK_SET) != 0) {
        int err = errno;
        fclose(f);
        return mn_fail(e, "%s: cannot seek: %s", path, err ? strerror(err) : "unknown error");
    }
    if ((unsigned long)size > (unsigned long)SIZE_MAX) {
        fclose(f);
        return mn_fail(e, "%s: file too large (%ld bytes)", path, size);
    }
    size_t n = (size_t)size;
    uint8_t *gz = malloc(n ? n : 1);
    if (!gz) {
        fclose(f);
        return mn_fail(e, "%s: out of memory for %zu bytes", path, n);
    }
    if (fread(gz, 1, n, f) != n) {
        free(gz);
        return read_fail(f, path, e);
    }
    fclose(f);

    uint8_t *head = NULL;
    size_t got = 0;
    if (mn_gunzip_prefix(gz, n, &head, &got, 4 + 4 * MN_IDX_MAX_RANK, path, e))
        goto fail;
    if (got < 4) {
        mn_fail(e, "%s: truncated: expected at least 4 bytes of IDX header, decompressed data has %zu", path, got);
        goto fail;
    }
    int rank = check_magic(head, want_rank, path, e);
    if (rank < 0)
        goto fail;
    size_t header = 4 + 4 * (size_t)rank;
    if (got < header) {
        mn_fail(e, "%s: truncated: expected at least %zu bytes of IDX header, decompressed data has %zu", path,
                header, got);
        goto fail;
    }
    uint64_t bytes;
    if (check_dims(head, rank, out, &bytes, path, e))
        goto fail;
    free(head);
    head = NULL;

    uint64_t expected = (uint64_t)header + bytes;
    uint8_t *all = NULL;
    if (mn_gunzip_prefix(gz, n, &all, &got, (size_t)expected + 1, path, e)) {
        memset(out, 0, sizeof *out);
        goto fail;
    }
    free(gz);
    gz = NULL;
    if (got != expected) {
        free(all);
        memset(out, 0, sizeof *out);
        if (got < expected)
            return mn_fail(e, "%s: truncated: expected %llu bytes, decompressed data has %zu", path,
                           (unsigned long long)expected, got);
        return mn_fail(e, "%s: trailing bytes: expected %llu bytes, decompressed data has more", path,
                       (unsigned long long)expected);
    }
    memmove(all, all + header, (size_t)bytes);
    uint8_t *data = realloc(all, (size_t)bytes);
    out->rank = rank;
    out->data = data ? data : all;
    return 0;

fail:
    free(head);
    free(gz);
    return -1;
}

int mn_idx_read(const char *path, int want_rank, mn_idx *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    if (want_rank < 1 || want_rank > MN_IDX_MAX_RANK)
        return mn_fail(e, "%s: cannot read IDX arrays of rank %d (supported: 1..%d)", path, want_rank,
                       MN_IDX_MAX_RANK);

    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mn_fail(e, "%s: %s", path, errno ? strerror(errno) : "cannot open");

    long size = file_size(f);
    if (size < 0) {
        int err = errno;
        fclose(f);
        return mn_fail(e, "%s: cannot determine file size: %s", path, err ? strerror(err) : "not a regular file");
    }

    /* gzip data, by name or by content (an IDX file starts with 0 0). */
    if (has_gz_suffix(path))
        return read_gz(f, size, path, want_rank, out, e);
    uint8_t head[4 + 4 * MN_IDX_MAX_RANK];
    if (size >= 2) {
        if (fread(head, 1, 2, f) != 2)
            return read_fail(f, path, e);
        if (mn_is_gzip(head, 2))
            return read_gz(f, size, path, want_rank, out, e);
        if (fseek(f, 0, SEEK_SET) != 0)
            return read_fail(f, path, e);
    }

    /* The magic first: a file that is not IDX at all gets the clearest message. */
    if (size < 4) {
        fclose(f);
        return mn_fail(e, "%s: truncated: expected at least 4 bytes of IDX header, file has %ld", path, size);
    }
    if (fread(head, 1, 4, f) != 4)
        return read_fail(f, path, e);
    int rank = check_magic(head, want_rank, path, e);
    if (rank < 0) {
        fclose(f);
        return -1;
    }

    long header = 4 + 4L * rank;
    if (size < header) {
        fclose(f);
        return mn_fail(e, "%s: truncated: expected at least %ld bytes of IDX header, file has %ld", path, header,
                       size);
    }
    if (fread(head + 4, 1, (size_t)(4 * rank), f) != (size_t)(4 * rank))
        return read_fail(f, path, e);

    uint64_t bytes;
    if (check_dims(head, rank, out, &bytes, path, e)) {
        fclose(f);
        return -1;
    }

    uint64_t expected = (uint64_t)header + bytes;
    if ((uint64_t)size != expected) {
        fclose(f);
        memset(out, 0, sizeof *out);
        return mn_fail(e, "%s: %s: expected %llu bytes, file has %ld", path,
                       (uint64_t)size < expected ? "truncated" : "trailing bytes", (unsigned long long)expected,
                       size);
    }

    uint8_t *data = malloc((size_t)bytes);
    if (!data) {
        fclose(f);
        memset(out, 0, sizeof *out);
        return mn_fail(e, "%s: out of memory for %llu bytes", path, (unsigned long long)bytes);
    }
    if (fread(data, 1, (size_t)bytes, f) != (size_t)bytes) {
        free(data);
        memset(out, 0, sizeof *out);
        return read_fail(f, path, e);
    }
    fclose(f);
    out->rank = rank;
    out->data = data;
    return 0;
}

void mn_idx_free(mn_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

int mn_idx_write(const char *path, int rank, const uint32_t *dims, const uint8_t *data, mn_err *e)
{
    if (rank < 1 || rank > MN_IDX_MAX_RANK)
        return mn_fail(e, "%s: cannot write IDX arrays of rank %d (supported: 1..%d)", path, rank, MN_IDX_MAX_RANK);

    uint8_t head[4 + 4 * MN_IDX_MAX_RANK];
    head[0] = 0;
    head[1] = 0;
    head[2] = MN_IDX_TYPE_U8;
    head[3] = (uint8_t)rank;
    uint64_t bytes = 1;
    for (int i = 0; i < rank; i++) {
        put_be32(head + 4 + 4 * i, dims[i]);
        bytes *= dims[i];
        if (bytes > MN_IDX_MAX_BYTES)
            return mn_fail(e, "%s: absurd dimensions: more than %llu bytes of data", path,
                           (unsigned long long)MN_IDX_MAX_BYTES);
    }
    if (bytes > 0 && !data)
        return mn_fail(e, "%s: no data to write", path);

    errno = 0;
    FILE *f = fopen(path, "wb");
    if (!f)
        return mn_fail(e, "%s: %s", path, errno ? strerror(errno) : "cannot create");
    size_t hlen = (size_t)(4 + 4 * rank);
    int ok = fwrite(head, 1, hlen, f) == hlen;
    if (ok && bytes > 0)
        ok = fwrite(data, 1, (size_t)bytes, f) == (size_t)bytes;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        return mn_fail(e, "%s: write error: %s", path, err ? strerror(err) : "unknown error");
    return 0;
}

/* ---- data sets ---------------------------------------------------------- */

/* Joins dir and name into buf (avoiding a doubled '/'); 0 if it fits. */
static int join(char *buf, size_t cap, const char *dir, const char *name, const char *suffix)
{
    size_t len = strlen(dir);
    const char *sep = (len == 0 || dir[len - 1] == '/') ? "" : "/";
    int n = snprintf(buf, cap, "%s%s%s%s", len ? dir : ".", len ? sep : "/", name, suffix);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Finds the file to read for one array, trying in order
 *   <dir>/<prefix>-<kind>-<ext>   <dir>/<prefix>-<kind>-<ext>.gz
 *   <dir>/<prefix>-<kind>.<ext>   <dir>/<prefix>-<kind>.<ext>.gz
 * and puts the first that exists into path. If none does, fails naming the
 * first. A file that exists but cannot be opened (e.g. permissions) is
 * returned so that mn_idx_read reports the real reason. */
static int find_file(char *path, size_t cap, const char *dir, const char *prefix, const char *kind, const char *ext,
                     mn_err *e)
{
    char names[2][128];
    snprintf(names[0], sizeof names[0], "%s-%s-%s", prefix, kind, ext);
    snprintf(names[1], sizeof names[1], "%s-%s.%s", prefix, kind, ext);

    for (int i = 0; i < 4; i++) {
        if (join(path, cap, dir, names[i / 2], i % 2 ? ".gz" : ""))
            return mn_fail(e, "%s: directory name too long", dir);
        errno = 0;
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            return 0;
        }
        if (errno != ENOENT && errno != 0)
            return 0; /* exists (or something odd): let mn_idx_read explain */
    }

    join(path, cap, dir, names[0], "");
    return mn_fail(e, "%s: No such file or directory (nor %s.gz, nor %s[.gz]; run scripts/fetch_mnist.sh to "
                   "download MNIST)",
                   path, names[0], names[1]);
}

int mn_dataset_load(const char *dir, const char *prefix, mn_dataset *ds, mn_err *e)
{
    memset(ds, 0, sizeof *ds);
    if (!prefix || (strcmp(prefix, "train") != 0 && strcmp(prefix, "t10k") != 0))
        return mn_fail(e, "unknown data set prefix \"%s\" (use \"train\" or \"t10k\")", prefix ? prefix : "(null)");
    if (!dir)
        dir = ".";

    char ipath[MN_PATH_MAX], lpath[MN_PATH_MAX];
    if (find_file(ipath, sizeof ipath, dir, prefix, "images", "idx3-ubyte", e) ||
        find_file(lpath, sizeof lpath, dir, prefix, "labels", "idx1-ubyte", e))
        return -1;

    mn_idx img = {0}, lab = {0};
    if (mn_idx_read(ipath, 3, &img, e))
        return -1;
    if (mn_idx_read(lpath, 1, &lab, e)) {
        mn_idx_free(&img);
        return -1;
    }

    /* mn_idx_read caps the payload at 2^31 bytes, so only n == 2^31 with
     * 1x1 images could overflow an int. */
    if (img.dims[0] > (uint32_t)INT_MAX) {
        mn_fail(e, "%s: too many images (%lu)", ipath, (unsigned long)img.dims[0]);
        goto fail;
    }
    if (img.dims[0] != lab.dims[0]) {
        mn_fail(e, "%s: %lu images, but %s has %lu labels (counts differ)", ipath, (unsigned long)img.dims[0], lpath,
                (unsigned long)lab.dims[0]);
        goto fail;
    }
    for (uint32_t i = 0; i < lab.dims[0]; i++) {
        if (lab.data[i] >= 10) {
            mn_fail(e, "%s: label %u at index %lu is out of range (must be 0..9)", lpath, (unsigned)lab.data[i],
                    (unsigned long)i);
            goto fail;
        }
    }

    ds->n = (int)img.dims[0];
    ds->rows = (int)img.dims[1];
    ds->cols = (int)img.dims[2];
    ds->n_classes = 10;
    ds->images = img.data;
    ds->labels = lab.data;
    return 0;

fail:
    mn_idx_free(&img);
    mn_idx_free(&lab);
    return -1;
}

void mn_dataset_free(mn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* Pixels per batch below which one thread converts it. */
#define BATCH_PAR_MIN 16384

/* One image: a plain widening loop that GCC/Clang turn into SIMD code. */
static void u8_to_unit_float(const uint8_t *restrict src, float *restrict dst, size_t n)
{
    const float scale = 1.0f / 255.0f;
    for (size_t j = 0; j < n; j++)
        dst[j] = (float)src[j] * scale;
}

void mn_dataset_prefetch(const mn_dataset *ds, const int *idx, int first, int count)
{
#if defined(__GNUC__) || defined(__clang__)
    size_t pix = (size_t)ds->rows * (size_t)ds->cols;
    for (int i = 0; i < count; i++) {
        const uint8_t *img = ds->images + (size_t)(idx ? idx[first + i] : first + i) * pix;
        for (size_t off = 0; off < pix; off += 64) __builtin_prefetch(img + off, 0, 1);
        __builtin_prefetch(img + pix - 1, 0, 1);
    }
#else
    (void)ds, (void)idx, (void)first, (void)count;
#endif
}

void mn_dataset_batch(const mn_dataset *ds, const int *idx, int first, int count, float *out, int *labels)
{
    size_t pix = (size_t)ds->rows * (size_t)ds->cols;
    /* images are independent: with threads, each converts its share of
     * them (the same floats; the other thread would otherwise wait) */
    int nt = (size_t)count * pix >= BATCH_PAR_MIN ? mn_get_threads() : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int i = 0; i < count; i++) {
        int s = idx ? idx[first + i] : first + i;
        u8_to_unit_float(ds->images + (size_t)s * pix, out + (size_t)i * pix, pix);
        if (labels)
            labels[i] = ds->labels[s];
    }
}
