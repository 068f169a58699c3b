/* test_idx.c - IDX reading/writing and data set loading.
 *
 * The synthetic part writes small (good and broken) IDX files into a fresh
 * directory under /tmp and always runs; gzipped ones come from a minimal
 * gzip writer (stored blocks) of the test's own. The real-data part checks
 * the MNIST files (raw or .gz) when it finds them: in $MNIST_DATA, else in
 * <srcdir>/data/mnist or <srcdir>/../shared/data/mnist, srcdir being argv[1]
 * or where this file was compiled from; otherwise it says it skipped.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir */

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mnist/dataset.h"
#include "mnist/idx.h"
#include "test.h"
#include "testutil.h"

static char tmpdir[64];

/* The IDX loader through the one data call: prefix "train" or "t10k". */
static int mn_dataset_load(const char *dir, const char *prefix, mn_dataset *ds, mn_err *e)
{
    int rc = mn_data_load(dir, strcmp(prefix, "train") ? MN_SPLIT_TEST : MN_SPLIT_TRAIN, ds, e);
    if (rc == 0) CHECK(ds->format && strcmp(ds->format, "idx") == 0 && ds->c == 1 && ds->type == MN_PIX_U8);
    return rc;
}

/* Files this test may create, so that cleanup can remove all of them. */
static const char *const made_names[] = {
    "rt1",
    "rt2",
    "rt3",
    "bad",
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "train-images.idx3-ubyte",
    "train-labels.idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "train-images.idx3-ubyte.gz",
    "train-labels.idx1-ubyte.gz",
    "rt3.gz",
    "rt1z",
    "bad.gz",
};

static const char *tpath(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static void cleanup(void)
{
    if (!tmpdir[0])
        return;
    for (size_t i = 0; i < sizeof made_names / sizeof made_names[0]; i++)
        remove(tpath(made_names[i]));
    rmdir(tmpdir);
}

/* ---- a minimal gzip writer: one member of stored blocks ---- */

/* Gzips bytes[0..n) into a new buffer (*out_n bytes). Blocks of at most
 * 1000 bytes, so that small tests still get several. */
static uint8_t *gzip_stored(const uint8_t *bytes, size_t n, size_t *out_n)
{
    size_t blocks = n / 1000 + 1;
    uint8_t *g = xmalloc(10 + 5 * blocks + n + 8);
    static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(g, head, 10);
    size_t k = 10 + deflate_stored(g + 10, bytes, n, 1000);
    uint32_t crc = crc32_ref(bytes, n);
    for (int i = 0; i < 4; i++)
        g[k++] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        g[k++] = (uint8_t)(n >> (8 * i));
    *out_n = k;
    return g;
}

/* Writes bytes[0..n) gzipped to path. */
static void write_gz(const char *path, const uint8_t *bytes, size_t n)
{
    size_t gn;
    uint8_t *g = gzip_stored(bytes, n, &gn);
    write_file(path, g, gn);
    free(g);
}

/* Reads a whole (small) file. */
static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

/* A header for a u8 array: magic 0 0 type rank, then big-endian dims. */
static size_t header(uint8_t *h, int type, int rank, const uint32_t *dims)
{
    h[0] = 0;
    h[1] = 0;
    h[2] = (uint8_t)type;
    h[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++) {
        h[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        h[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        h[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        h[7 + 4 * i] = (uint8_t)dims[i];
    }
    return (size_t)(4 + 4 * rank);
}

/* Writes header + `payload` data bytes (all 1) to the file "bad". */
static const char *write_bad(int type, int rank, const uint32_t *dims, size_t payload)
{
    static uint8_t buf[4096];
    size_t h = header(buf, type, rank, dims);
    memset(buf + h, 1, payload);
    const char *p = tpath("bad");
    write_file(p, buf, h + payload);
    return p;
}

/* mn_idx_read must fail, naming the file and saying `word`, and leave out empty. */
static void expect_read_fail(const char *path, int rank, const char *word)
{
    mn_err e = {{0}};
    mn_idx x;
    memset(&x, 0xAB, sizeof x);
    int rc = mn_idx_read(path, rank, &x, &e);
    CHECK_MSG(rc == -1, "%s accepted (expected: %s)", path, word);
    CHECK_MSG(strstr(e.msg, path) != NULL, "message lacks file name: %s", e.msg);
    CHECK_MSG(strstr(e.msg, word) != NULL, "message lacks \"%s\": %s", word, e.msg);
    CHECK_MSG(strchr(e.msg, '\n') == NULL, "message is not one line: %s", e.msg);
    CHECK(x.data == NULL);
    mn_idx_free(&x);
}

static void expect_load_fail(const char *prefix, const char *w1, const char *w2, const char *w3)
{
    mn_err e = {{0}};
    mn_dataset ds;
    memset(&ds, 0xAB, sizeof ds);
    int rc = mn_dataset_load(tmpdir, prefix, &ds, &e);
    CHECK_MSG(rc == -1, "data set accepted (expected: %s)", w1);
    const char *w[3] = {w1, w2, w3};
    for (int i = 0; i < 3; i++)
        if (w[i])
            CHECK_MSG(strstr(e.msg, w[i]) != NULL, "message lacks \"%s\": %s", w[i], e.msg);
    CHECK(ds.images == NULL && ds.labels == NULL);
    mn_dataset_free(&ds);
}

static void test_round_trip(void)
{
    mn_err e = {{0}};
    uint8_t data[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        data[i] = (uint8_t)(i * 11);
    uint32_t d3[3] = {2, 3, 4}, d2[2] = {4, 6}, d1[1] = {24};
    CHECK(mn_idx_write(tpath("rt3"), 3, d3, data, &e) == 0);
    CHECK(mn_idx_write(tpath("rt2"), 2, d2, data, &e) == 0);
    CHECK(mn_idx_write(tpath("rt1"), 1, d1, data, &e) == 0);

    mn_idx x = {0};
    CHECK_MSG(mn_idx_read(tpath("rt3"), 3, &x, &e) == 0, "%s", e.msg);
    CHECK(x.rank == 3 && x.dims[0] == 2 && x.dims[1] == 3 && x.dims[2] == 4);
    CHECK(x.data && memcmp(x.data, data, 24) == 0);
    mn_idx_free(&x);
    CHECK(x.data == NULL && x.rank == 0);
    mn_idx_free(&x); /* twice is fine */

    CHECK_MSG(mn_idx_read(tpath("rt2"), 2, &x, &e) == 0, "%s", e.msg);
    CHECK(x.rank == 2 && x.dims[0] == 4 && x.dims[1] == 6 && memcmp(x.data, data, 24) == 0);
    mn_idx_free(&x);
    CHECK_MSG(mn_idx_read(tpath("rt1"), 1, &x, &e) == 0, "%s", e.msg);
    CHECK(x.rank == 1 && x.dims[0] == 24 && memcmp(x.data, data, 24) == 0);
    mn_idx_free(&x);

    /* the exact bytes on disk: 16-byte header, big-endian dims */
    FILE *f = fopen(tpath("rt3"), "rb");
    uint8_t raw[64];
    size_t n = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f)
        fclose(f);
    static const uint8_t want[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    CHECK(n == 40 && memcmp(raw, want, 16) == 0);

    /* writing into a missing directory fails with a message naming it */
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x", tmpdir);
    CHECK(mn_idx_write(nodir, 1, d1, data, &e) == -1);
    CHECK(strstr(e.msg, nodir) != NULL);
}

static void test_malformed(void)
{
    uint32_t d3[3] = {2, 2, 2};

    /* missing file: the system's reason */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nothing-here", tmpdir);
    expect_read_fail(missing, 3, "No such file");

    /* wrong magic: a text file */
    write_file(tpath("bad"), (const uint8_t *)"hello, world, this is text", 26);
    expect_read_fail(tpath("bad"), 3, "bad magic 0x68656c6c");
    expect_read_fail(tpath("bad"), 3, "not an IDX file");

    expect_read_fail(write_bad(0x0D, 3, d3, 8), 3, "type code 0x0d"); /* float data */
    expect_read_fail(write_bad(0x08, 3, d3, 8), 1, "rank");
    expect_read_fail(write_bad(0x08, 2, d3, 4), 3, "rank");

    uint32_t zero[3] = {2, 0, 2};
    expect_read_fail(write_bad(0x08, 3, zero, 0), 3, "zero");

    expect_read_fail(write_bad(0x08, 3, d3, 7), 3, "truncated: expected 24 bytes, file has 23");
    expect_read_fail(write_bad(0x08, 3, d3, 9), 3, "trailing bytes: expected 24 bytes, file has 25");
    expect_read_fail(write_bad(0x08, 3, d3, 0), 3, "truncated");

    /* header cut short */
    write_file(tpath("bad"), (const uint8_t *)"\0\0", 2);
    expect_read_fail(tpath("bad"), 3, "truncated");
    write_file(tpath("bad"), (const uint8_t *)"\0\0\x08\x03\0\0\0\x02", 8);
    expect_read_fail(tpath("bad"), 3, "truncated");
    write_file(tpath("bad"), (const uint8_t *)"", 0);
    expect_read_fail(tpath("bad"), 1, "truncated");

    /* absurd dimensions on a tiny file: rejected before any allocation
     * (under ASan a multi-GB malloc would abort the test) */
    uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    expect_read_fail(write_bad(0x08, 3, huge, 16), 3, "absurd");
    uint32_t big[3] = {65536, 65536, 2}; /* 8 GiB, no overflow but too big */
    expect_read_fail(write_bad(0x08, 3, big, 0), 3, "absurd");
    uint32_t plausible[3] = {60000, 28, 28}; /* real MNIST header, no data */
    expect_read_fail(write_bad(0x08, 3, plausible, 4), 3, "truncated: expected 47040016 bytes, file has 20");
    uint32_t huge1[1] = {0xFFFFFFFFu};
    expect_read_fail(write_bad(0x08, 1, huge1, 3), 1, "absurd");
    uint32_t four[4] = {0xFFFFFFFFu, 1, 1, 1};
    expect_read_fail(write_bad(0x08, 4, four, 0), 4, "absurd");
    expect_read_fail(write_bad(0x08, 3, d3, 8), 5, "rank 5");
    remove(tpath("bad"));
}

/* Writes an n-image data set of 2x3 images, with the given spellings. */
static void write_set(const char *prefix, int dotted, int n_img, int n_lab, int bad_label_at)
{
    mn_err e = {{0}};
    uint8_t img[16 * 6], lab[16];
    for (int i = 0; i < n_img * 6; i++)
        img[i] = (uint8_t)(i * 37 % 256);
    img[0] = 0;
    img[1] = 255;
    for (int i = 0; i < n_lab; i++)
        lab[i] = (uint8_t)(i % 10);
    if (bad_label_at >= 0)
        lab[bad_label_at] = 10;
    char iname[64], lname[64];
    snprintf(iname, sizeof iname, dotted ? "%s-images.idx3-ubyte" : "%s-images-idx3-ubyte", prefix);
    snprintf(lname, sizeof lname, dotted ? "%s-labels.idx1-ubyte" : "%s-labels-idx1-ubyte", prefix);
    uint32_t di[3] = {(uint32_t)n_img, 2, 3}, dl[1] = {(uint32_t)n_lab};
    CHECK_MSG(mn_idx_write(tpath(iname), 3, di, img, &e) == 0, "%s", e.msg);
    CHECK_MSG(mn_idx_write(tpath(lname), 1, dl, lab, &e) == 0, "%s", e.msg);
}

static void remove_set(void)
{
    for (size_t i = 4; i < sizeof made_names / sizeof made_names[0]; i++)
        remove(tpath(made_names[i]));
}

static void test_dataset(void)
{
    mn_err e = {{0}};
    mn_dataset ds = {0};
    mn_dataset_free(&ds); /* safe on a zeroed struct */
    CHECK(ds.images == NULL && ds.labels == NULL);

    /* missing files: first spelling named, fetch script mentioned */
    char want[300];
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte: No such file or directory", tmpdir);
    expect_load_fail("train", want, "scripts/fetch_mnist.sh", NULL);

    expect_load_fail("train", ".gz", "train-images.idx3-ubyte", NULL); /* says what else it tried */

    /* dash spelling */
    write_set("train", 0, 5, 5, -1);
    CHECK_MSG(mn_dataset_load(tmpdir, "train", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 5 && ds.h == 2 && ds.w == 3 && ds.n_classes == 10);
    CHECK(ds.images && ds.labels && ds.labels[4] == 4);

    /* batch: 0 -> 0, 255 -> 1, x -> x/255, labels follow */
    float out[3 * 6];
    int labels[3];
    mn_dataset_batch(&ds, NULL, 0, 2, out, labels);
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 1.0f);
    int all_ok = 1;
    for (int i = 2; i < 12; i++)
        all_ok &= fabsf(out[i] - ds.images[i] / 255.0f) < 1e-7f && out[i] >= 0.0f && out[i] <= 1.0f;
    CHECK(all_ok);
    CHECK(labels[0] == 0 && labels[1] == 1);

    /* index mapping: positions first..first+count-1 of idx */
    int order[5] = {4, 0, 3, 1, 2};
    mn_dataset_batch(&ds, order, 2, 3, out, labels);
    CHECK(labels[0] == 3 && labels[1] == 1 && labels[2] == 2);
    all_ok = 1;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 6; j++)
            all_ok &= out[k * 6 + j] == ds.images[order[2 + k] * 6 + j] * (1.0f / 255.0f);
    CHECK(all_ok);
    mn_dataset_batch(&ds, order, 1, 1, out, NULL); /* labels optional */
    CHECK(out[0] == 0.0f && out[1] == 1.0f);
    mn_dataset_free(&ds);
    CHECK(ds.images == NULL && ds.labels == NULL && ds.n == 0);
    mn_dataset_free(&ds);

    /* trailing slash on the directory */
    char slashed[80];
    snprintf(slashed, sizeof slashed, "%s/", tmpdir);
    CHECK_MSG(mn_dataset_load(slashed, "train", &ds, &e) == 0, "%s", e.msg);
    mn_dataset_free(&ds);
    remove_set();

    /* dot spelling */
    write_set("train", 1, 4, 4, -1);
    CHECK_MSG(mn_dataset_load(tmpdir, "train", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 4 && ds.h == 2 && ds.w == 3);
    mn_dataset_free(&ds);
    remove_set();

    /* count mismatch names both files */
    write_set("t10k", 0, 5, 4, -1);
    char f1[300], f2[300];
    snprintf(f1, sizeof f1, "%s/t10k-images-idx3-ubyte", tmpdir);
    snprintf(f2, sizeof f2, "%s/t10k-labels-idx1-ubyte", tmpdir);
    expect_load_fail("t10k", f1, f2, "counts differ");
    remove_set();

    /* the class count is the data's: a label 10 makes 11 classes */
    write_set("t10k", 0, 6, 6, 3);
    CHECK_MSG(mn_dataset_load(tmpdir, "t10k", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n_classes == 11 && ds.labels[3] == 10 && ds.class_names == NULL);
    mn_dataset_free(&ds);
    remove_set();

    /* labels missing while images present */
    write_set("t10k", 0, 3, 3, -1);
    remove(f2);
    expect_load_fail("t10k", f2, "No such file or directory", NULL);
    remove_set();

    /* wrong rank: labels file in the images slot */
    uint32_t dl[1] = {3};
    uint8_t lab[3] = {1, 2, 3};
    CHECK(mn_idx_write(f1, 1, dl, lab, &e) == 0);
    CHECK(mn_idx_write(f2, 1, dl, lab, &e) == 0);
    expect_load_fail("t10k", f1, "rank", NULL);
    remove_set();
}

/* Gzipped IDX files: read like raw ones, errors name the .gz file. */
static void test_gzipped(void)
{
    mn_err e = {{0}};
    uint8_t file[4096];
    uint8_t data[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        data[i] = (uint8_t)(i * 11 + 3);
    uint32_t d3[3] = {2, 3, 4};
    CHECK(mn_idx_write(tpath("rt3"), 3, d3, data, &e) == 0);
    size_t n = slurp(tpath("rt3"), file, sizeof file);
    CHECK(n == 40);

    /* by name */
    write_gz(tpath("rt3.gz"), file, n);
    mn_idx x = {0};
    CHECK_MSG(mn_idx_read(tpath("rt3.gz"), 3, &x, &e) == 0, "%s", e.msg);
    CHECK(x.rank == 3 && x.dims[0] == 2 && x.dims[1] == 3 && x.dims[2] == 4);
    CHECK(x.data && memcmp(x.data, data, 24) == 0);
    mn_idx_free(&x);
    /* by content, whatever the name */
    write_gz(tpath("rt1z"), file, n);
    CHECK_MSG(mn_idx_read(tpath("rt1z"), 3, &x, &e) == 0, "%s", e.msg);
    CHECK(x.data && memcmp(x.data, data, 24) == 0);
    mn_idx_free(&x);
    /* a bigger one: several stored blocks */
    static uint8_t big[3 * 28 * 28];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 % 253);
    uint32_t db[3] = {3, 28, 28};
    CHECK(mn_idx_write(tpath("rt3"), 3, db, big, &e) == 0);
    static uint8_t bigfile[sizeof big + 16];
    CHECK(slurp(tpath("rt3"), bigfile, sizeof bigfile) == sizeof bigfile);
    write_gz(tpath("rt3.gz"), bigfile, sizeof bigfile);
    CHECK_MSG(mn_idx_read(tpath("rt3.gz"), 3, &x, &e) == 0, "%s", e.msg);
    CHECK(x.dims[0] == 3 && x.data && memcmp(x.data, big, sizeof big) == 0);
    mn_idx_free(&x);

    /* corrupt gzip: a bad CRC-32, cut short, not gzip at all, empty */
    const char *bad = tpath("bad.gz");
    size_t gn;
    uint8_t *g = gzip_stored(file, n, &gn);
    g[gn - 6] ^= 0x40;
    write_file(bad, g, gn);
    expect_read_fail(bad, 3, "gzip CRC-32 mismatch");
    g[gn - 6] ^= 0x40;
    write_file(bad, g, gn - 3);
    expect_read_fail(bad, 3, "truncated gzip data");
    write_file(bad, g, 20);
    expect_read_fail(bad, 3, "truncated");
    g[10] = 0x07; /* BTYPE 3 */
    write_file(bad, g, gn);
    expect_read_fail(bad, 3, "corrupt gzip data: invalid block type 3");
    free(g);
    write_file(bad, file, n); /* a raw IDX file named .gz */
    expect_read_fail(bad, 3, "not in gzip format");
    write_file(bad, (const uint8_t *)"", 0);
    expect_read_fail(bad, 3, "empty");

    /* IDX problems inside good gzip data: same checks as for raw files */
    write_gz(bad, file, n - 1);
    expect_read_fail(bad, 3, "truncated: expected 40 bytes, decompressed data has 39");
    uint8_t more[41];
    memcpy(more, file, 40);
    more[40] = 9;
    write_gz(bad, more, 41);
    expect_read_fail(bad, 3, "trailing bytes: expected 40 bytes");
    write_gz(bad, file, 10);
    expect_read_fail(bad, 3, "truncated: expected at least 16 bytes of IDX header, decompressed data has 10");
    write_gz(bad, file, 0);
    expect_read_fail(bad, 3, "truncated: expected at least 4 bytes");
    write_gz(bad, (const uint8_t *)"hello, world", 12);
    expect_read_fail(bad, 3, "bad magic 0x68656c6c");
    expect_read_fail(tpath("rt3.gz"), 1, "rank 3, expected rank 1");
    uint8_t huge[16] = {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    write_gz(bad, huge, 16);
    expect_read_fail(bad, 3, "absurd");
    remove(bad);
    remove(tpath("rt3.gz"));
    remove(tpath("rt1z"));
    remove(tpath("rt3"));
}

/* Gzips a file of the test directory in place: name -> name.gz. */
static void gzip_in_place(const char *name)
{
    static uint8_t buf[8192];
    char gz[128];
    snprintf(gz, sizeof gz, "%s.gz", name);
    size_t n = slurp(tpath(name), buf, sizeof buf);
    write_gz(tpath(gz), buf, n);
    remove(tpath(name));
}

static void test_dataset_gz(void)
{
    mn_err e = {{0}};
    mn_dataset ds = {0};

    /* only .gz files, dash spelling */
    write_set("train", 0, 5, 5, -1);
    gzip_in_place("train-images-idx3-ubyte");
    gzip_in_place("train-labels-idx1-ubyte");
    CHECK_MSG(mn_dataset_load(tmpdir, "train", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 5 && ds.h == 2 && ds.w == 3 && ds.labels && ds.labels[4] == 4);
    CHECK(ds.images && ds.images[0] == 0 && ds.images[1] == 255 && ds.images[7] == (uint8_t)(7 * 37));
    mn_dataset_free(&ds);
    remove_set();

    /* dot spelling, gzipped */
    write_set("train", 1, 4, 4, -1);
    gzip_in_place("train-images.idx3-ubyte");
    gzip_in_place("train-labels.idx1-ubyte");
    CHECK_MSG(mn_dataset_load(tmpdir, "train", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 4);
    mn_dataset_free(&ds);
    remove_set();

    /* raw images with gzipped labels */
    write_set("t10k", 0, 3, 3, -1);
    gzip_in_place("t10k-labels-idx1-ubyte");
    CHECK_MSG(mn_dataset_load(tmpdir, "t10k", &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 3 && ds.labels && ds.labels[2] == 2);
    mn_dataset_free(&ds);

    /* a raw file wins over a .gz beside it (here a broken one) */
    write_file(tpath("t10k-images-idx3-ubyte.gz"), (const uint8_t *)"\x1f\x8b", 2);
    CHECK_MSG(mn_dataset_load(tmpdir, "t10k", &ds, &e) == 0, "%s", e.msg);
    mn_dataset_free(&ds);

    /* a corrupt .gz is named in the error */
    remove(tpath("t10k-images-idx3-ubyte"));
    char want[300];
    snprintf(want, sizeof want, "%s/t10k-images-idx3-ubyte.gz: truncated gzip data", tmpdir);
    expect_load_fail("t10k", want, NULL, NULL);
    write_set("t10k", 0, 3, 3, -1);
    gzip_in_place("t10k-images-idx3-ubyte");
    {
        static uint8_t g[8192];
        size_t gn = slurp(tpath("t10k-images-idx3-ubyte.gz"), g, sizeof g);
        g[gn - 8] ^= 1; /* the CRC */
        write_file(tpath("t10k-images-idx3-ubyte.gz"), g, gn);
    }
    snprintf(want, sizeof want, "%s/t10k-images-idx3-ubyte.gz: gzip CRC-32 mismatch", tmpdir);
    expect_load_fail("t10k", want, NULL, NULL);

    /* counts that differ name both files, .gz or not */
    write_set("t10k", 0, 3, 2, -1);
    gzip_in_place("t10k-images-idx3-ubyte");
    char f1[300];
    snprintf(f1, sizeof f1, "%s/t10k-images-idx3-ubyte.gz", tmpdir);
    expect_load_fail("t10k", f1, "t10k-labels-idx1-ubyte", "counts differ");
    remove_set();
}

static void test_real(const char *srcdir)
{
    static const char *const subdirs[2] = {"data/mnist", "../shared/data/mnist"};
    static const char *const probes[4] = {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte",
                                          "t10k-labels-idx1-ubyte.gz", "t10k-labels.idx1-ubyte.gz"};
    char dir[512];
    if (!find_mnist(dir, sizeof dir, srcdir, subdirs, probes, 4)) {
        printf("test_idx: real MNIST not found (set MNIST_DATA, or pass the source dir holding data/mnist or "
               "beside ../shared/data/mnist); real-data part skipped\n");
        return;
    }
    printf("test_idx: checking real MNIST in %s\n", dir);
    static const struct {
        const char *prefix;
        int n, first_label;
    } sets[2] = {{"train", 60000, 5}, {"t10k", 10000, 7}};
    for (int s = 0; s < 2; s++) {
        mn_err e = {{0}};
        mn_dataset ds = {0};
        int rc = mn_dataset_load(dir, sets[s].prefix, &ds, &e);
        CHECK_MSG(rc == 0, "%s", e.msg);
        if (rc)
            continue;
        CHECK(ds.n == sets[s].n && ds.h == 28 && ds.w == 28 && ds.n_classes == 10);
        CHECK(ds.labels[0] == sets[s].first_label);
        int counts[10] = {0};
        for (int i = 0; i < ds.n; i++)
            counts[ds.labels[i]]++;
        int balanced = 1;
        for (int k = 0; k < 10; k++)
            balanced &= counts[k] > ds.n / 20;
        CHECK(balanced);
        float *out = malloc(sizeof(float) * 784 * 8);
        int labels[8];
        mn_dataset_batch(&ds, NULL, ds.n - 8, 8, out, labels);
        float lo = 1, hi = 0;
        for (int i = 0; i < 784 * 8; i++) {
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
        }
        CHECK(lo == 0.0f && hi == 1.0f);
        free(out);
        mn_dataset_free(&ds);
    }
}

int main(int argc, char **argv)
{
    make_tmpdir(tmpdir, sizeof tmpdir, "test_idx");
    test_round_trip();
    test_malformed();
    test_dataset();
    test_gzipped();
    test_dataset_gz();
    cleanup();
    test_real(source_dir(argc, argv));
    return test_summary("test_idx");
}
