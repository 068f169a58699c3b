/* test_npz.c - npz archives (npz.h) and the npz and CSV loaders: round
 * trips, a deflated entry, npy versions, dtypes, and the errors (float64,
 * Fortran order, CRC, truncation, missing key, CSV rows and values). */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mnist/csv.h"
#include "mnist/dataset.h"
#include "mnist/gzip.h"
#include "mnist/npz.h"
#include "test.h"
#include "testutil.h"

static char tmpdir[64];
static char pbuf[4][256];
static int pk;
static const char *tp(const char *name)
{
    char *b = pbuf[pk++ % 4];
    snprintf(b, 256, "%s/%s", tmpdir, name);
    return b;
}

/* Builds a one-entry zip of `payload` (the .npy bytes) named name; method 0
 * or 8 (a deflate stream of one stored block); crc_xor spoils the CRC. */
static size_t make_zip(uint8_t *out, const char *name, const uint8_t *payload, size_t n, int method, uint32_t crc_xor)
{
    uint8_t data[8192];
    size_t cn = n;
    if (method == 8) {
        data[0] = 1; /* final, stored */
        data[1] = (uint8_t)n, data[2] = (uint8_t)(n >> 8), data[3] = (uint8_t)~n, data[4] = (uint8_t)(~n >> 8);
        memcpy(data + 5, payload, n);
        cn = n + 5;
    } else {
        memcpy(data, payload, n);
    }
    uint32_t crc = mn_crc32(0, payload, n) ^ crc_xor;
    size_t nl = strlen(name), o = 0;
#define P16(v) (out[o++] = (uint8_t)(v), out[o++] = (uint8_t)((v) >> 8))
#define P32(v) (P16((v) & 0xFFFF), P16((uint32_t)(v) >> 16))
    P32(0x04034b50u); P16(20); P16(0); P16(method); P16(0); P16(0); P32(crc); P32(cn); P32(n); P16(nl); P16(0);
    memcpy(out + o, name, nl), o += nl;
    memcpy(out + o, data, cn), o += cn;
    size_t cd = o;
    P32(0x02014b50u); P16(20); P16(20); P16(0); P16(method); P16(0); P16(0); P32(crc); P32(cn); P32(n); P16(nl);
    P16(0); P16(0); P16(0); P16(0); P32(0); P32(0);
    memcpy(out + o, name, nl), o += nl;
    size_t cds = o - cd;
    P32(0x06054b50u); P16(0); P16(0); P16(1); P16(1); P32(cds); P32(cd); P16(0);
    return o;
}

static size_t npy(uint8_t *out, int version, const char *dict, const uint8_t *data, size_t n)
{
    size_t hl = strlen(dict), hs = version == 1 ? 10 : 12;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)version, out[7] = 0;
    if (version == 1) out[8] = (uint8_t)hl, out[9] = (uint8_t)(hl >> 8);
    else out[8] = (uint8_t)hl, out[9] = (uint8_t)(hl >> 8), out[10] = out[11] = 0;
    memcpy(out + hs, dict, hl);
    memcpy(out + hs + hl, data, n);
    return hs + hl + n;
}

static int read_key(const char *file, const char *key, mn_npy *a, mn_err *e)
{
    mn_npz z;
    if (mn_npz_open(file, &z, e)) return -1;
    int rc = mn_npz_read_u8(&z, key, a, e);
    mn_npz_close(&z);
    return rc;
}

static void test_npy(void)
{
    mn_err e;
    mn_npy a;
    uint8_t p[4096], zbuf[8192];
    uint8_t v[6] = {0, 1, 2, 250, 255, 7};
    /* u1, version 1 and 3, stored and deflated */
    for (int ver = 1; ver <= 3; ver += 2)
        for (int m = 0; m <= 8; m += 8) {
            size_t n = npy(p, ver, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }\n", v, 6);
            write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, m, 0));
            CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == 0, "%s", e.msg);
            CHECK(a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.count == 6 && !memcmp(a.u8, v, 6));
            mn_npy_free(&a);
        }
    /* int64 labels, little and big endian */
    uint8_t l8[16] = {9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
    size_t n = npy(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", l8, 16);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "y.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "y", &a, &e) == -1 && strstr(e.msg, "out of range"), "%s", e.msg); /* 3<<56 */
    n = npy(p, 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }\n", l8, 16);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "y.npy", p, n, 0, 0));
    CHECK(read_key(tp("a.npz"), "y", &a, &e) == -1); /* 9<<56 */
    uint8_t l4[8] = {9, 0, 0, 0, 3, 0, 0, 0};
    n = npy(p, 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", l4, 8);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "y.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "y", &a, &e) == 0 && a.u8[0] == 9 && a.u8[1] == 3, "%s", e.msg);
    mn_npy_free(&a);
    uint8_t neg[4] = {0xff, 0xff, 0xff, 0xff};
    n = npy(p, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }\n", neg, 4);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "y.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "y", &a, &e) == -1 && strstr(e.msg, "value -1 at index 0"), "%s", e.msg);

    /* the errors, each naming the file and entry */
    uint8_t f8[16] = {0};
    n = npy(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", f8, 16);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "a.npz: x.npy: dtype <f8 (float64)"), "%s", e.msg);
    n = npy(p, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }\n", v, 6);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "Fortran-order"), "%s", e.msg);
    n = npy(p, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 4), }\n", v, 6);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "needs 8 bytes"), "%s", e.msg);
    n = npy(p, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4000000000, 4000000000), }\n", v, 6);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "absurd"), "%s", e.msg);
    n = npy(p, 4, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }\n", v, 6);
    write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, 0, 0));
    CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "version 4"), "%s", e.msg);
    n = npy(p, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }\n", v, 6);
    for (int m = 0; m <= 8; m += 8) {
        write_file(tp("a.npz"), zbuf, make_zip(zbuf, "x.npy", p, n, m, 1));
        CHECK_MSG(read_key(tp("a.npz"), "x", &a, &e) == -1 && strstr(e.msg, "a.npz: x.npy: zip CRC-32 mismatch"), "%s", e.msg);
    }
    size_t zn = make_zip(zbuf, "x.npy", p, n, 0, 0);
    CHECK_MSG(read_key(tp("a.npz"), "nope", &a, &e) == -1, "%s", e.msg);
    write_file(tp("a.npz"), zbuf, zn);
    CHECK_MSG(read_key(tp("a.npz"), "nope", &a, &e) == -1 && strstr(e.msg, "no array 'nope'"), "%s", e.msg);
    /* every truncation of a good archive fails cleanly */
    int all = 1;
    for (size_t k = 0; k < zn; k++) {
        write_file(tp("t.npz"), zbuf, k);
        mn_npz z;
        int rc = mn_npz_open(tp("t.npz"), &z, &e);
        if (rc == 0) {
            rc = mn_npz_read_u8(&z, "x", &a, &e);
            mn_npz_close(&z);
        }
        all &= rc == -1 && strstr(e.msg, "t.npz") != NULL;
    }
    CHECK(all);
}

static void test_npz_loader(void)
{
    mn_err e;
    uint8_t img[2 * 4 * 4], lab[2] = {3, 11};
    for (int i = 0; i < 32; i++) img[i] = (uint8_t)(i * 8);
    uint64_t dx[3] = {2, 4, 4}, dy[1] = {2};
    mn_npz_array a[4] = {{"x_train", 3, dx, img}, {"y_train", 1, dy, lab}, {"x_test", 3, dx, img}, {"y_test", 1, dy, lab}};
    CHECK_MSG(mn_npz_write(tp("d.npz"), a, 4, &e) == 0, "%s", e.msg);
    mn_dataset ds;
    CHECK(strcmp(mn_data_format_of(tp("d.npz"))->name, "npz") == 0);
    CHECK(strcmp(mn_data_format_of("X.NPZ")->name, "npz") == 0);
    CHECK_MSG(mn_data_load(tp("d.npz"), MN_SPLIT_TEST, &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 2 && ds.h == 4 && ds.w == 4 && ds.n_classes == 12 && ds.labels[1] == 11 && !memcmp(ds.images, img, 32));
    CHECK(strcmp(ds.format, "npz") == 0);
    mn_dataset_free(&ds);
    CHECK_MSG(mn_npz_write(tp("t.npz"), a, 2, &e) == 0, "%s", e.msg);
    CHECK(mn_data_load(tp("t.npz"), MN_SPLIT_TEST, &ds, &e) == -1 && strstr(e.msg, "no array 'x_test'"));
}

static void test_csv(void)
{
    mn_err e;
    mn_dataset ds;
    CHECK(strcmp(mn_data_format_of("a/train.csv")->name, "csv") == 0);
    /* header with the label column last; CRLF; a blank line */
    const char *good = "p0,p1,p2,p3,label\r\n0,255,3,4,7\r\n\r\n9,8,7,6,1\r\n";
    write_file(tp("g_train.csv"), good, strlen(good));
    CHECK_MSG(mn_data_load(tp("g_train.csv"), MN_SPLIT_TRAIN, &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 2 && ds.h == 2 && ds.w == 2 && ds.labels[0] == 7 && ds.labels[1] == 1 && ds.images[1] == 255 &&
          ds.images[4] == 9 && ds.n_classes == 10);
    mn_dataset_free(&ds);
    /* no sibling test file: absent, with the reason */
    CHECK(mn_data_load(tp("g_train.csv"), MN_SPLIT_TEST, &ds, &e) == MN_DATA_ABSENT && strstr(e.msg, "g_test.csv"));
    /* no header: label first */
    write_file(tp("g_test.csv"), "5,1,2,3,4\n6,1,2,3,4", 19);
    CHECK_MSG(mn_data_load(tp("g_train.csv"), MN_SPLIT_TEST, &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 2 && ds.labels[0] == 5 && ds.labels[1] == 6 && ds.images[7] == 4);
    mn_dataset_free(&ds);
    /* unlabelled (Kaggle's test.csv): absent as a test set, readable for predict */
    write_file(tp("g_test.csv"), "pixel0,pixel1,pixel2,pixel3\n1,2,3,4\n", 36);
    CHECK(mn_data_load(tp("g_train.csv"), MN_SPLIT_TEST, &ds, &e) == MN_DATA_ABSENT && strstr(e.msg, "no label column"));
    int hl = -1;
    CHECK(mn_csv_read(tp("g_test.csv"), 1, &ds, &hl, &e) == 0 && hl == 0 && ds.n == 1 && ds.images[3] == 4);
    mn_dataset_free(&ds);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "empty file"},
        {"label,a,b,c,d\n1,2,3,4\n", "line 2: 4 columns, line 1 has 5"},
        {"label,a,b,c,d\n1,2,3,4,5,6\n", "line 2: more than the 5 columns"},
        {"label,a,b,c,d\n1,2,3,256,5\n", "line 2, column 4: pixel 256 is out of range"},
        {"label,a,b,c,d\n1,2,3,-1,5\n", "line 2, column 4: pixel -1 is out of range"},
        {"label,a,b,c,d\n1.5,2,3,4,5\n", "line 2, column 1: label is not an integer"},
        {"label,a,b,c,d\n1,2,,4,5\n", "line 2, column 3: empty field"},
        {"label,a,b,c\n1,2,3,4\n", "3 pixel columns besides the label is not a square"},
        {"label,a,b,c,d\n", "no data rows"},
        {"label,a,b,c,d\n1,2,3,4,5\n300,1,1,1,1\n", "line 3, column 1: label 300 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(tp("b.csv"), bad[i].text, strlen(bad[i].text));
        memset(&e, 0, sizeof e);
        int rc = mn_data_load(tp("b.csv"), MN_SPLIT_TRAIN, &ds, &e);
        CHECK_MSG(rc == -1 && strstr(e.msg, "b.csv: ") && strstr(e.msg, bad[i].want), "case %zu: %s", i, e.msg);
        CHECK(ds.images == NULL && ds.labels == NULL);
    }
    /* a writer/reader round trip, both styles */
    uint8_t img[2 * 9], lab[2] = {4, 0};
    for (int i = 0; i < 18; i++) img[i] = (uint8_t)(i * 15);
    mn_dataset w = {.n = 2, .c = 1, .h = 3, .w = 3, .n_classes = 10, .type = MN_PIX_U8, .images = img, .labels = lab};
    for (int h = 0; h <= 1; h++) {
        CHECK(mn_csv_write(tp("w.csv"), &w, h, &e) == 0);
        CHECK_MSG(mn_csv_read(tp("w.csv"), 0, &ds, NULL, &e) == 0, "%s", e.msg);
        CHECK(ds.n == 2 && ds.h == 3 && !memcmp(ds.images, img, 18) && !memcmp(ds.labels, lab, 2));
        mn_dataset_free(&ds);
    }
}

int main(void)
{
    make_tmpdir(tmpdir, sizeof tmpdir, "test_npz");
    test_npy();
    test_npz_loader();
    test_csv();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_npz");
}
