/* test_dataset.c - the data-source seam (dataset.h): the loader is chosen by
 * the source, the class count comes from the labels, class names are kept
 * printable, f32 and u8 batches, transposition. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mnist/dataset.h"
#include "mnist/idx.h"
#include "test.h"
#include "testutil.h"

static char tmpdir[64];

static void write_idx_set(const char *prefix, int n, const uint8_t *labels)
{
    mn_err e;
    char p[256];
    uint8_t img[64 * 6];
    for (int i = 0; i < n * 6; i++) img[i] = (uint8_t)(i * 13);
    uint32_t di[3] = {(uint32_t)n, 2, 3}, dl[1] = {(uint32_t)n};
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", tmpdir, prefix);
    CHECK_MSG(mn_idx_write(p, 3, di, img, &e) == 0, "%s", e.msg);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", tmpdir, prefix);
    CHECK_MSG(mn_idx_write(p, 1, dl, labels, &e) == 0, "%s", e.msg);
}

static void test_choice(void)
{
    /* a folder goes to the IDX loader, the table ends with it */
    CHECK(strcmp(mn_data_format_of(tmpdir)->name, "idx") == 0);
    CHECK(strcmp(mn_data_format_of("no/such/dir")->name, "idx") == 0);
    int n = 0;
    for (const mn_data_format *f = mn_data_formats; f->name; f++) n++;
    CHECK(n >= 1 && strcmp(mn_data_formats[n - 1].name, "idx") == 0);
}

static void test_classes(void)
{
    mn_err e;
    mn_dataset ds;
    /* labels up to 46: 47 classes (EMNIST balanced) */
    uint8_t lab[5] = {0, 46, 3, 12, 7};
    write_idx_set("train", 5, lab);
    CHECK_MSG(mn_data_load(tmpdir, MN_SPLIT_TRAIN, &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n == 5 && ds.c == 1 && ds.h == 2 && ds.w == 3 && ds.n_classes == 47);
    CHECK(ds.type == MN_PIX_U8 && ds.images && !ds.images_f32 && ds.labels[1] == 46);
    CHECK(strcmp(ds.format, "idx") == 0 && strcmp(ds.path, tmpdir) == 0);
    CHECK(mn_dataset_pixels(&ds) == 6 && mn_dataset_image_u8(&ds, 1) == ds.images + 6);

    /* names: copied, non-printable bytes, quotes and commas become '?' */
    const char *names[47];
    char buf[47][8];
    for (int i = 0; i < 47; i++) snprintf(buf[i], sizeof buf[i], "c%d", i), names[i] = buf[i];
    names[2] = "a,b\"\n";
    CHECK(mn_data_set_names(&ds, names, 47, &e) == 0);
    CHECK(ds.n_classes == 47 && strcmp(ds.class_names[2], "a?b??") == 0 && strcmp(ds.class_names[46], "c46") == 0);
    char nb[48];
    CHECK(strcmp(mn_class_name(ds.class_names, ds.n_classes, 46, nb, sizeof nb), "c46") == 0);
    CHECK(strcmp(mn_class_name(NULL, 0, 46, nb, sizeof nb), "46") == 0);
    CHECK(mn_data_set_classes(&ds, "x", &e) == 0); /* within the names */
    ds.labels[0] = 47;
    CHECK(mn_data_set_classes(&ds, "x", &e) == -1 && strstr(e.msg, "x: label 47"));
    mn_dataset_free(&ds);
    CHECK(ds.class_names == NULL && ds.images == NULL && ds.n == 0);

    /* a small digit sample without 8s and 9s still has 10 classes */
    uint8_t lab2[3] = {0, 1, 7};
    write_idx_set("t10k", 3, lab2);
    CHECK_MSG(mn_data_load(tmpdir, MN_SPLIT_TEST, &ds, &e) == 0, "%s", e.msg);
    CHECK(ds.n_classes == 10);
    mn_dataset_free(&ds);
}

static void test_batch_transpose(void)
{
    mn_dataset ds = {0};
    ds.n = 2, ds.c = 1, ds.h = 2, ds.w = 3, ds.n_classes = 10, ds.type = MN_PIX_U8;
    ds.images = xmalloc(12), ds.labels = xmalloc(2);
    for (int i = 0; i < 12; i++) ds.images[i] = (uint8_t)(i * 20);
    ds.labels[0] = 4, ds.labels[1] = 9;
    float out[12];
    int lab[2];
    mn_dataset_batch(&ds, NULL, 0, 2, out, lab);
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= out[i] == (float)(i * 20) * (1.0f / 255.0f);
    CHECK(ok && lab[0] == 4 && lab[1] == 9);
    /* transpose: 2x3 -> 3x2, pixel (y, x) moves to (x, y) */
    mn_data_transpose(&ds);
    CHECK(ds.h == 3 && ds.w == 2);
    CHECK(ds.images[0] == 0 && ds.images[1] == 60 && ds.images[2] == 20 && ds.images[3] == 80);
    CHECK(ds.images[6 + 1] == 180); /* second image: (0,0)=120, (1,0)=180 */
    mn_dataset_free(&ds);

    /* f32 data is copied as it is */
    ds.n = 1, ds.c = 1, ds.h = 1, ds.w = 3, ds.n_classes = 10, ds.type = MN_PIX_F32;
    ds.images_f32 = xmalloc(3 * sizeof(float)), ds.labels = xmalloc(1);
    ds.images_f32[0] = 0.25f, ds.images_f32[1] = -1.5f, ds.images_f32[2] = 3.0f, ds.labels[0] = 2;
    int order[1] = {0};
    mn_dataset_batch(&ds, order, 0, 1, out, lab);
    CHECK(out[0] == 0.25f && out[1] == -1.5f && out[2] == 3.0f && lab[0] == 2);
    CHECK(mn_dataset_image_u8(&ds, 0) == NULL);
    mn_dataset_free(&ds);
}

int main(void)
{
    make_tmpdir(tmpdir, sizeof tmpdir, "test_dataset");
    test_choice();
    test_classes();
    test_batch_transpose();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_dataset");
}
