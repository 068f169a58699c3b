/* idx.c - the loader for folders of IDX files (MNIST, Fashion-MNIST).
 *
 * Looks for "<dir>/<prefix>-images-idx3-ubyte" and
 * "<dir>/<prefix>-labels-idx1-ubyte" (prefix "train" or "t10k"), under
 * either spelling ("train-images-idx3-ubyte" or "train-images.idx3-ubyte"),
 * each raw or gzipped: the first of "<name>", "<name>.gz", "<dotted name>",
 * "<dotted name>.gz" that exists is read. */
#include "mnist/dataset.h"
#include "mnist/idx.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MN_PATH_MAX 4096

int mn_idx_claims(const char *source);
int mn_idx_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);

int mn_idx_claims(const char *source)
{
    (void)source;
    return 1;
}

/* Joins dir and name into buf (avoiding a doubled '/'); 0 if it fits. */
static int join(char *buf, size_t cap, const char *dir, const char *name, const char *suffix)
{
    size_t len = strlen(dir);
    const char *sep = (len == 0 || dir[len - 1] == '/') ? "" : "/";
    int n = snprintf(buf, cap, "%s%s%s%s", len ? dir : ".", len ? sep : "/", name, suffix);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* 1 if path exists (or exists but cannot be opened: mn_idx_read then
 * reports the real reason). */
static int exists(const char *path)
{
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return 1;
    }
    return errno != ENOENT && errno != 0;
}

/* Finds the file to read for one array, trying in order
 *   <dir>/<stem>-<ext>   <dir>/<stem>-<ext>.gz
 *   <dir>/<stem>.<ext>   <dir>/<stem>.<ext>.gz
 * and puts the first that exists into path; 0, or 1 when none exists (path
 * then holds the first). */
static int find_file(char *path, size_t cap, const char *dir, const char *stem, const char *ext, mn_err *e)
{
    char names[2][256];
    snprintf(names[0], sizeof names[0], "%s-%s", stem, ext);
    snprintf(names[1], sizeof names[1], "%s.%s", stem, ext);
    for (int i = 0; i < 4; i++) {
        if (join(path, cap, dir, names[i / 2], i % 2 ? ".gz" : "")) return mn_fail(e, "%s: directory name too long", dir);
        if (exists(path)) return 0;
    }
    join(path, cap, dir, names[0], "");
    return 1;
}

static int missing(const char *path, const char *stem, const char *ext, mn_err *e)
{
    return mn_fail(e, "%s: No such file or directory (nor %s-%s.gz, nor %s.%s[.gz]; run scripts/fetch_mnist.sh to "
                      "download MNIST)",
                   path, stem, ext, stem, ext);
}

int mn_idx_load(const char *dir, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e)
{
    (void)o;
    const char *prefix = split == MN_SPLIT_TRAIN ? "train" : "t10k";
    char istem[64], lstem[64];
    snprintf(istem, sizeof istem, "%s-images", prefix);
    snprintf(lstem, sizeof lstem, "%s-labels", prefix);

    char ipath[MN_PATH_MAX], lpath[MN_PATH_MAX];
    int r = find_file(ipath, sizeof ipath, dir, istem, "idx3-ubyte", e);
    if (r) return r < 0 ? -1 : missing(ipath, istem, "idx3-ubyte", e);
    r = find_file(lpath, sizeof lpath, dir, lstem, "idx1-ubyte", e);
    if (r) return r < 0 ? -1 : missing(lpath, lstem, "idx1-ubyte", e);

    mn_idx img = {0}, lab = {0};
    if (mn_idx_read(ipath, 3, &img, e)) return -1;
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

    ds->n = (int)img.dims[0];
    ds->c = 1;
    ds->h = (int)img.dims[1];
    ds->w = (int)img.dims[2];
    ds->type = MN_PIX_U8;
    ds->images = img.data;
    ds->labels = lab.data;
    snprintf(ds->path, sizeof ds->path, "%s", dir);
    return mn_data_set_classes(ds, lpath, e);

fail:
    mn_idx_free(&img);
    mn_idx_free(&lab);
    return -1;
}
