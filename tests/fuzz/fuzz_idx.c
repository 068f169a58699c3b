/* fuzz_idx.c - mn_idx_read on arbitrary files, raw and gzipped.
 *
 * The input is written to a temporary file and read as IDX arrays of every
 * supported rank, then once more under a ".gz" name. Besides "no crash, no
 * leak", the result must agree with a reference written here from the spec:
 * a read succeeds exactly when the (decompressed) bytes are 00 00 08 RANK,
 * RANK nonzero big-endian dimensions whose product is at most 2^31, and
 * exactly that many bytes of data, which are what the array then holds. */
#include "fuzz.h"

#include "mnist/gzip.h"
#include "mnist/idx.h"

#define REF_MAX_OUT ((size_t)1 << 24) /* reference decompression bound; above it, no comparison */

/* 1 if buf is a valid u8 IDX array of rank r (see above), and its payload size. */
static int ref_valid(const uint8_t *buf, size_t n, int r, uint64_t *payload)
{
    size_t header = 4 + 4 * (size_t)r;
    if (n < header || buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] != r) return 0;
    uint64_t prod = 1;
    for (int i = 0; i < r; i++) {
        const uint8_t *p = buf + 4 + 4 * i;
        uint64_t d = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
        if (d == 0) return 0;
        prod *= d;
        if (prod > ((uint64_t)1 << 31)) return 0;
    }
    *payload = prod;
    return n - header == prod;
}

/* Reads path as rank r and compares with the reference on the bytes `plain`
 * (NULL: the reference could not decide, only check the error). */
static void check_read(const char *path, int r, const uint8_t *plain, size_t plain_n, int decided)
{
    mn_idx x;
    mn_err e = {{0}};
    int rc = mn_idx_read(path, r, &x, &e);
    uint64_t payload = 0;
    int valid = decided && plain && ref_valid(plain, plain_n, r, &payload);
    if (rc == 0) {
        FZ_CHECK(!decided || valid, "rank %d read succeeded on data the reference rejects", r);
        FZ_CHECK(x.rank == r && x.data != NULL, "rank %d read: bad result (rank %d)", r, x.rank);
        uint64_t prod = 1;
        for (int i = 0; i < r; i++) {
            FZ_CHECK(x.dims[i] > 0, "zero dimension %d accepted", i);
            prod *= x.dims[i];
        }
        if (decided) {
            FZ_CHECK(prod == payload, "rank %d: dims give %llu bytes, reference %llu", r, (unsigned long long)prod,
                     (unsigned long long)payload);
            FZ_CHECK(memcmp(x.data, plain + 4 + 4 * r, (size_t)prod) == 0, "rank %d: data differs from the file", r);
        }
        mn_idx_free(&x);
        FZ_CHECK(x.data == NULL && x.rank == 0, "mn_idx_free did not clear the array");
    } else {
        FZ_CHECK(rc == -1, "mn_idx_read returned %d", rc);
        FZ_CHECK(!decided || !valid, "rank %d read failed on valid data: %s", r, e.msg);
        FZ_CHECK(x.data == NULL, "failed read left data behind");
        fz_check_msg(e.msg, path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char gz_path[600];
    const char *path = fz_tmp("idx");
    snprintf(gz_path, sizeof gz_path, "%s.gz", path);
    fz_write(path, data, size);

    /* the reference's view of the bytes: gunzipped when they look like gzip */
    const uint8_t *plain = data;
    size_t plain_n = size;
    uint8_t *unz = NULL;
    size_t unz_n = 0;
    int decided = 1, unz_ok = 0;
    mn_err e = {{0}};
    if (size >= 2 && mn_is_gzip(data, size)) {
        unz_ok = mn_gunzip_prefix(data, size, &unz, &unz_n, REF_MAX_OUT, "ref", &e) == 0;
        if (unz_ok && unz_n == REF_MAX_OUT) decided = 0;
        plain = unz_ok ? unz : NULL;
        plain_n = unz_n;
    }
    for (int r = 1; r <= MN_IDX_MAX_RANK; r++) check_read(path, r, plain, plain_n, decided);

    /* ranks we cannot read are refused up front */
    mn_idx x;
    FZ_CHECK(mn_idx_read(path, 0, &x, &e) == -1 && x.data == NULL, "rank 0 accepted");
    fz_check_msg(e.msg, path);
    FZ_CHECK(mn_idx_read(path, MN_IDX_MAX_RANK + 1, &x, &e) == -1, "rank %d accepted", MN_IDX_MAX_RANK + 1);

    /* under a .gz name the bytes must be gzip data, whatever they start with */
    if (!mn_is_gzip(data, size)) {
        free(unz);
        unz = NULL;
        unz_ok = mn_gunzip_prefix(data, size, &unz, &unz_n, REF_MAX_OUT, "ref", &e) == 0;
        decided = !(unz_ok && unz_n == REF_MAX_OUT);
    }
    FZ_CHECK(rename(path, gz_path) == 0, "cannot rename %s", path);
    check_read(gz_path, 3, unz_ok ? unz : NULL, unz_n, decided);
    check_read(gz_path, 1, unz_ok ? unz : NULL, unz_n, decided);
    FZ_CHECK(rename(gz_path, path) == 0, "cannot rename %s", gz_path);
    free(unz);
    fz_tmp_done();
    return 0;
}
