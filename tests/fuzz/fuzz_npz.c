/* fuzz_npz.c - npz archives (npz.h) and the npz data loader on arbitrary
 * files. The archive is opened, every entry read as u8 values, then loaded
 * as a data set (both splits). Besides "no crash, no leak": a failure is a
 * one-line message naming the file; an array read has count = product of
 * dims bytes; a data set has consistent sizes and labels < n_classes. */
#include "fuzz.h"

#include "mnist/dataset.h"
#include "mnist/npz.h"

int mn_npz_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_tmp("npz");
    fz_write(path, data, size);
    mn_npz z;
    mn_err e = {{0}};
    if (mn_npz_open(path, &z, &e) == 0) {
        FZ_CHECK(z.n > 0 && z.entries != NULL, "opened archive without entries");
        for (int i = 0; i < z.n; i++) {
            mn_npy a;
            char key[140];
            snprintf(key, sizeof key, "%s", z.entries[i].name);
            if (mn_npz_read_u8(&z, key, &a, &e) == 0) {
                uint64_t prod = 1;
                for (int r = 0; r < a.rank; r++) prod *= a.dims[r];
                FZ_CHECK(prod == a.count && a.u8 != NULL, "array count %llu, dims give %llu",
                         (unsigned long long)a.count, (unsigned long long)prod);
                if (a.count) (void)*(volatile uint8_t *)&a.u8[a.count - 1];
                mn_npy_free(&a);
            } else {
                FZ_CHECK(a.u8 == NULL, "failed read left data");
                fz_check_msg(e.msg, path);
            }
        }
        mn_npz_close(&z);
    } else {
        FZ_CHECK(z.file == NULL && z.entries == NULL, "failed open left memory");
        fz_check_msg(e.msg, path);
    }
    for (int s = 0; s < 2; s++) {
        mn_dataset ds;
        mn_data_opts o = {0};
        memset(&ds, 0, sizeof ds);
        if (mn_npz_load(path, s ? MN_SPLIT_TEST : MN_SPLIT_TRAIN, &o, &ds, &e) == 0) {
            FZ_CHECK(ds.n > 0 && ds.c == 1 && ds.h > 0 && ds.w > 0 && ds.images && ds.labels, "bad data set");
            for (int i = 0; i < ds.n; i++) FZ_CHECK(ds.labels[i] < ds.n_classes, "label %d >= %d", ds.labels[i], ds.n_classes);
            (void)*(volatile uint8_t *)&ds.images[mn_dataset_pixels(&ds) * (size_t)ds.n - 1];
        } else {
            fz_check_msg(e.msg, path);
        }
        mn_dataset_free(&ds);
    }
    return 0;
}
