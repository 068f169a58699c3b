/* idx.c - reading and writing IDX files (the file format; the data-set
 * loader for folders of them is src/data/idx.c).
 *
 * Every header field and the file length are checked before any memory is
 * allocated for the payload, so a corrupt or hostile header can never make
 * us allocate more than the file actually holds (and never more than
 * MN_IDX_MAX_BYTES). Gzipped files (by name, "*.gz", or by content) are
 * decompressed with our own inflater (gzip.c) and then checked the same way;
 * the decompressed size is bounded by what the header promises.
 */
#include "mnist/idx.h"

#include "mnist/gzip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest payload we accept: real MNIST is 47 MB, so 2 GiB is absurd. */
#define MN_IDX_MAX_BYTES ((uint64_t)1 << 31)

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
static int check_magic(const uint8_t *head, int want_rank, int want_type, const char *path, mn_err *e)
{
    if (head[0] != 0 || head[1] != 0)
        return mn_fail(e, "%s: bad magic 0x%08lx, not an IDX file", path, (unsigned long)get_be32(head));
    if (head[2] != want_type)
        return mn_fail(e, "%s: type code 0x%02x is not %s (0x%02x)", path, (unsigned)head[2],
                       want_type == MN_IDX_TYPE_I32 ? "int32" : "unsigned byte", (unsigned)want_type);
    if (head[3] != want_rank)
        return mn_fail(e, "%s: rank %d, expected rank %d", path, head[3], want_rank);
    return head[3];
}

/* Reads the dimensions after the magic into out->dims and sets *bytes to
 * their product. Each factor is < 2^32 and the running product stays
 * <= 2^31, so the 64-bit product cannot overflow before we notice it is
 * absurd. */
static int check_dims(const uint8_t *head, int rank, int type, mn_idx *out, uint64_t *bytes, const char *path,
                      mn_err *e)
{
    uint64_t prod = type == MN_IDX_TYPE_I32 ? 4 : 1;
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
static int read_gz(FILE *f, long size, const char *path, int want_rank, int want_type, mn_idx *out, mn_err *e)
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
    int rank = check_magic(head, want_rank, want_type, path, e);
    if (rank < 0)
        goto fail;
    size_t header = 4 + 4 * (size_t)rank;
    if (got < header) {
        mn_fail(e, "%s: truncated: expected at least %zu bytes of IDX header, decompressed data has %zu", path,
                header, got);
        goto fail;
    }
    uint64_t bytes;
    if (check_dims(head, rank, want_type, out, &bytes, path, e))
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
    out->type = want_type;
    out->data = data ? data : all;
    return 0;

fail:
    free(head);
    free(gz);
    return -1;
}

int mn_idx_read(const char *path, int want_rank, mn_idx *out, mn_err *e)
{
    return mn_idx_read_typed(path, want_rank, MN_IDX_TYPE_U8, out, e);
}

int mn_idx_read_typed(const char *path, int want_rank, int want_type, mn_idx *out, mn_err *e)
{
    memset(out, 0, sizeof *out);
    if (want_rank < 1 || want_rank > MN_IDX_MAX_RANK)
        return mn_fail(e, "%s: cannot read IDX arrays of rank %d (supported: 1..%d)", path, want_rank,
                       MN_IDX_MAX_RANK);
    if (want_type != MN_IDX_TYPE_U8 && want_type != MN_IDX_TYPE_I32)
        return mn_fail(e, "%s: cannot read IDX type code 0x%02x", path, (unsigned)want_type);

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
        return read_gz(f, size, path, want_rank, want_type, out, e);
    uint8_t head[4 + 4 * MN_IDX_MAX_RANK];
    if (size >= 2) {
        if (fread(head, 1, 2, f) != 2)
            return read_fail(f, path, e);
        if (mn_is_gzip(head, 2))
            return read_gz(f, size, path, want_rank, want_type, out, e);
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
    int rank = check_magic(head, want_rank, want_type, path, e);
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
    if (check_dims(head, rank, want_type, out, &bytes, path, e)) {
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
    out->type = want_type;
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
