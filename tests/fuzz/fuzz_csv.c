/* fuzz_csv.c - the CSV reader (csv.h) on arbitrary files, labelled or not.
 * Besides "no crash, no leak": a failure is a one-line message naming the
 * file; a success has n > 0 square images of h*w bytes, labels < n_classes,
 * and, written back (mn_csv_write) and read again, the same images and
 * labels. */
#include "fuzz.h"

#include "mnist/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_tmp("csv");
    fz_write(path, data, size);
    for (int unl = 0; unl < 2; unl++) {
        mn_dataset ds;
        mn_err e = {{0}};
        int has = -1;
        if (mn_csv_read(path, unl, &ds, &has, &e) == 0) {
            FZ_CHECK(ds.n > 0 && ds.h > 0 && ds.h == ds.w && ds.c == 1 && ds.images && ds.labels, "bad data set");
            FZ_CHECK(unl || has == 1, "unlabelled file accepted without unlabelled_ok");
            for (int i = 0; i < ds.n; i++) FZ_CHECK(ds.labels[i] < ds.n_classes, "label %d >= %d", ds.labels[i], ds.n_classes);
            if (has) {
                char back[600];
                snprintf(back, sizeof back, "%s.back", path);
                mn_dataset d2;
                FZ_CHECK(mn_csv_write(back, &ds, unl, &e) == 0, "write back: %s", e.msg);
                FZ_CHECK(mn_csv_read(back, 0, &d2, NULL, &e) == 0, "read back: %s", e.msg);
                FZ_CHECK(d2.n == ds.n && d2.h == ds.h && !memcmp(d2.images, ds.images, mn_dataset_pixels(&ds) * (size_t)ds.n) &&
                             !memcmp(d2.labels, ds.labels, (size_t)ds.n),
                         "round trip differs");
                mn_dataset_free(&d2);
                remove(back);
            }
        } else {
            FZ_CHECK(ds.images == NULL && ds.labels == NULL, "failed read left data");
            fz_check_msg(e.msg, path);
        }
        mn_dataset_free(&ds);
    }
    return 0;
}
