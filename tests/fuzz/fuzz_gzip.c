/* fuzz_gzip.c - mn_gunzip and mn_gunzip_prefix on arbitrary bytes.
 *
 * Invariants checked besides "no crash, no leak":
 *  - failure leaves *out NULL, *out_len 0 and a one-line message naming the input;
 *  - success gives a non-NULL buffer of at most max_out bytes;
 *  - mn_gunzip_prefix(want) agrees with mn_gunzip: when the whole stream
 *    decompresses to L bytes, every prefix call succeeds with min(want, L)
 *    identical bytes (and the whole call with a limit below L fails);
 *  - a prefix that reaches `want` bytes is the start of the full output. */
#include "fuzz.h"

#include "mnist/gzip.h"

#define MAX_OUT ((size_t)1 << 22)

static void check_fail(int rc, const uint8_t *out, size_t out_len, const mn_err *e)
{
    FZ_CHECK(rc == -1, "returned %d", rc);
    FZ_CHECK(out == NULL && out_len == 0, "failure left output behind");
    fz_check_msg(e->msg, "in.gz");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *full = NULL, *part = NULL;
    size_t full_n = 0, part_n = 0;
    mn_err e = {{0}};

    int rc = mn_gunzip(data, size, &full, &full_n, MAX_OUT, "in.gz", &e);
    if (rc == 0) {
        FZ_CHECK(full != NULL, "success with a NULL buffer");
        FZ_CHECK(full_n <= MAX_OUT, "output of %zu bytes exceeds the limit", full_n);
        FZ_CHECK(size >= 18 && mn_is_gzip(data, size), "%zu bytes that are not a gzip member decompressed", size);
    } else {
        check_fail(rc, full, full_n, &e);
    }

    /* prefixes of two sizes (picked by the input's length, to keep runs fast):
     * one of 0, 1, 8 and 20 (IDX header sizes), and one just around the
     * full output's length */
    size_t small[4] = {0, 1, 8, 20}, around[3] = {full_n ? full_n - 1 : 2, full_n, full_n + 1};
    size_t wants[2] = {small[size % 4], around[size % 3]};
    for (size_t i = 0; i < 2; i++) {
        size_t want = wants[i];
        int prc = mn_gunzip_prefix(data, size, &part, &part_n, want, "in.gz", &e);
        if (prc == 0) {
            FZ_CHECK(part != NULL && part_n <= want, "prefix(%zu) gave %zu bytes", want, part_n);
            if (rc == 0) {
                size_t exp = want < full_n ? want : full_n;
                FZ_CHECK(part_n == exp, "prefix(%zu) gave %zu bytes, full output is %zu", want, part_n, full_n);
                FZ_CHECK(memcmp(part, full, part_n) == 0, "prefix(%zu) differs from the full output", want);
            } else {
                /* the whole stream is bad (or too big), so the prefix stopped before seeing it all */
                FZ_CHECK(part_n == want, "prefix(%zu) succeeded with %zu bytes on data that fails: %s", want, part_n,
                         e.msg);
            }
            free(part);
        } else {
            check_fail(prc, part, part_n, &e);
            FZ_CHECK(rc != 0, "prefix(%zu) failed on data that decompresses to %zu bytes: %s", want, full_n, e.msg);
        }
        part = NULL;
    }

    /* a limit one byte short of the output must be refused */
    if (rc == 0 && full_n > 0) {
        int lrc = mn_gunzip(data, size, &part, &part_n, full_n - 1, "in.gz", &e);
        check_fail(lrc, part, part_n, &e);
    }

    /* the CRC helper: incremental equals one-shot */
    if (rc == 0 && full_n > 1) {
        uint32_t a = mn_crc32(0, full, full_n);
        uint32_t b = mn_crc32(mn_crc32(0, full, full_n / 2), full + full_n / 2, full_n - full_n / 2);
        FZ_CHECK(a == b, "crc32 split 0x%08lx != 0x%08lx", (unsigned long)a, (unsigned long)b);
    }
    free(full);
    return 0;
}
