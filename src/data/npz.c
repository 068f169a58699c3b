/* npz.c - the loader for NumPy .npz files holding Keras's arrays: x_train
 * (N, H, W) or (N, H, W, 1) uint8 pixels, y_train (N,) integer labels, and
 * x_test, y_test. Chosen for a source ending in ".npz". */
#include "mnist/dataset.h"
#include "mnist/npz.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int mn_npz_claims(const char *source);
int mn_npz_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);

int mn_npz_claims(const char *source)
{
    size_t n = strlen(source);
    return n > 4 && strcasecmp(source + n - 4, ".npz") == 0;
}

int mn_npz_load(const char *path, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e)
{
    const char *xk = split == MN_SPLIT_TRAIN ? "x_train" : "x_test", *yk = split == MN_SPLIT_TRAIN ? "y_train" : "y_test";
    mn_npz z;
    if (mn_npz_open(path, &z, e)) return -1;
    mn_npy x = {0}, y = {0};
    int rc = -1;
    if (mn_npz_find(&z, xk) < 0 || mn_npz_find(&z, yk) < 0) {
        char have[512] = "";
        size_t used = 0;
        for (int i = 0; i < z.n && used < sizeof have - 40; i++)
            used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", z.entries[i].name);
        mn_fail(e, "%s: no array '%s' (Keras's keys are x_train, y_train, x_test, y_test; the archive has %s)", path,
                mn_npz_find(&z, xk) < 0 ? xk : yk, have);
        goto out;
    }
    if (mn_npz_read_u8(&z, xk, &x, e) || mn_npz_read_u8(&z, yk, &y, e)) goto out;
    if (x.dtype[1] != 'u' || x.dtype[2] != '1') {
        mn_fail(e, "%s: %s has dtype %s; pixels must be uint8", path, xk, x.dtype);
        goto out;
    }
    int r3 = x.rank == 3 || (x.rank == 4 && x.dims[3] == 1);
    if (!r3 || x.dims[0] == 0 || x.dims[1] == 0 || x.dims[2] == 0 || x.dims[0] > INT_MAX || x.dims[1] > 4096 ||
        x.dims[2] > 4096) {
        mn_fail(e, "%s: %s must have shape (N, H, W) with N, H, W > 0 (has rank %d)", path, xk, x.rank);
        goto out;
    }
    if (!(y.rank == 1 || (y.rank == 2 && y.dims[1] == 1)) || y.dims[0] != x.dims[0]) {
        mn_fail(e, "%s: %s must have shape (%llu,): one label per image", path, yk, (unsigned long long)x.dims[0]);
        goto out;
    }
    ds->n = (int)x.dims[0], ds->c = 1, ds->h = (int)x.dims[1], ds->w = (int)x.dims[2];
    ds->type = MN_PIX_U8;
    ds->images = x.u8, x.u8 = NULL;
    ds->labels = y.u8, y.u8 = NULL;
    snprintf(ds->path, sizeof ds->path, "%s", path);
    if (o->transpose) mn_data_transpose(ds);
    rc = mn_data_set_classes(ds, path, e);
out:
    mn_npy_free(&x);
    mn_npy_free(&y);
    mn_npz_close(&z);
    return rc;
}
