/* idx.c - the loader for folders of IDX files: MNIST, Fashion-MNIST and
 * KMNIST (the same names), QMNIST (qmnist-{train,test}-images-idx3-ubyte,
 * labels in qmnist-*-labels-idx2-int: int32 rows, the class in column 0),
 * EMNIST (emnist-<set>-{train,test}-*: images stored transposed, turned
 * back here; class names from emnist-<set>-mapping.txt; DIR/emnist-<set>
 * picks one set of a folder holding several), and torchvision's ROOT/MNIST/raw/
 * (and FashionMNIST, KMNIST, QMNIST, EMNIST) when the source is ROOT.
 *
 * Looks for "<dir>/<prefix>-images-idx3-ubyte" and
 * "<dir>/<prefix>-labels-idx1-ubyte" (prefix "train" or "t10k"), under
 * either spelling ("train-images-idx3-ubyte" or "train-images.idx3-ubyte"),
 * each raw or gzipped: the first of "<name>", "<name>.gz", "<dotted name>",
 * "<dotted name>.gz" that exists is read. */
#define _POSIX_C_SOURCE 200809L
#include "mnist/dataset.h"
#include "mnist/idx.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
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

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* EMNIST's sets in dir: names "emnist-<set>-train-images-idx3-ubyte[.gz]"
 * (either spelling). Puts the set names, sorted, into sets (up to max);
 * returns how many. */
static int emnist_sets(const char *dir, char sets[][32], int max)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name, *t;
        if (strncmp(nm, "emnist-", 7) || !(t = strstr(nm + 7, "-train-images"))) continue;
        size_t len = (size_t)(t - (nm + 7));
        if (len == 0 || len >= 32) continue;
        char s[32];
        memcpy(s, nm + 7, len);
        s[len] = 0;
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= !strcmp(sets[i], s);
        if (dup || n == max) continue;
        int at = n++;
        while (at > 0 && strcmp(sets[at - 1], s) > 0) {
            memcpy(sets[at], sets[at - 1], 32);
            at--;
        }
        memcpy(sets[at], s, 32);
    }
    closedir(d);
    return n;
}

/* Reads "<dir>/emnist-<set>-mapping.txt" ("label code" a line, the code an
 * ASCII value) into ds's class names, when it exists. */
static int read_mapping(const char *dir, const char *set, mn_dataset *ds, mn_err *e)
{
    char path[MN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/emnist-%s-mapping.txt", dir, set);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char names[MN_DATA_MAX_CLASSES][8];
    int have[MN_DATA_MAX_CLASSES] = {0}, n = 0, line = 0;
    long lab, code;
    char buf[128];
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *end;
        lab = strtol(buf, &end, 10);
        if (end == buf) continue; /* blank line */
        code = strtol(end, &end, 10);
        if (lab < 0 || lab >= MN_DATA_MAX_CLASSES || code < 0x21 || code > 0x7e) {
            fclose(f);
            return mn_fail(e, "%s: line %d: expected 'label ascii-code' (label 0..%d, a printable code)", path, line,
                           MN_DATA_MAX_CLASSES - 1);
        }
        snprintf(names[lab], sizeof names[lab], "%c", (int)code);
        have[lab] = 1;
        if (lab + 1 > n) n = (int)lab + 1;
    }
    fclose(f);
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] + 1 > n) n = ds->labels[i] + 1;
    if (n == 0) return 0;
    const char *v[MN_DATA_MAX_CLASSES];
    for (int i = 0; i < n; i++) {
        if (!have[i]) snprintf(names[i], sizeof names[i], "%d", i);
        v[i] = names[i];
    }
    return mn_data_set_names(ds, v, n, e);
}

/* QMNIST's labels: an idx2 int32 file (N, 8), the class in column 0. */
static int read_qmnist_labels(const char *path, mn_idx *lab, mn_err *e)
{
    mn_idx q;
    if (mn_idx_read_typed(path, 2, MN_IDX_TYPE_I32, &q, e)) return -1;
    memset(lab, 0, sizeof *lab);
    uint32_t n = q.dims[0], w = q.dims[1];
    uint8_t *l = malloc(n ? n : 1);
    if (!l) {
        mn_idx_free(&q);
        return mn_fail(e, "%s: out of memory", path);
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = q.data + (size_t)i * w * 4;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (v > 255) {
            free(l);
            mn_idx_free(&q);
            return mn_fail(e, "%s: class %ld of row %lu is out of range 0..255", path, (long)(int32_t)v,
                           (unsigned long)i);
        }
        l[i] = (uint8_t)v;
    }
    mn_idx_free(&q);
    lab->rank = 1, lab->type = MN_IDX_TYPE_U8, lab->dims[0] = n, lab->data = l;
    return 0;
}

int mn_idx_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e)
{
    char dir[MN_PATH_MAX], set[32] = "";
    snprintf(dir, sizeof dir, "%s", source);
    /* DIR/emnist-<set>: one EMNIST set of a folder that holds several */
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    if (!is_dir(source) && !strncmp(base, "emnist-", 7) && strlen(base + 7) < sizeof set) {
        snprintf(set, sizeof set, "%s", base + 7);
        if (base == source) snprintf(dir, sizeof dir, ".");
        else snprintf(dir, sizeof dir, "%.*s", (int)(base - source - 1), source);
    }
    /* torchvision's layout: ROOT/MNIST/raw/ (and its siblings) */
    static const char *const tv[] = {"MNIST/raw", "FashionMNIST/raw", "KMNIST/raw", "QMNIST/raw", "EMNIST/raw"};
    char stems[2][128];
    const char *lext = "idx1-ubyte";
    int qmnist = 0, emnist = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *sp = split == MN_SPLIT_TRAIN ? "train" : "t10k";
        char path[MN_PATH_MAX];
        snprintf(stems[0], sizeof stems[0], "%s-images", sp);
        if (!set[0] && find_file(path, sizeof path, dir, stems[0], "idx3-ubyte", e) == 0) break;
        snprintf(stems[0], sizeof stems[0], "qmnist-%s-images", split == MN_SPLIT_TRAIN ? "train" : "test");
        if (!set[0] && find_file(path, sizeof path, dir, stems[0], "idx3-ubyte", e) == 0) {
            qmnist = 1;
            break;
        }
        char sets[16][32];
        int ns = set[0] ? 1 : emnist_sets(dir, sets, 16);
        if (set[0]) snprintf(sets[0], sizeof sets[0], "%s", set);
        if (ns > 1) {
            char list[400] = "";
            size_t used = 0;
            for (int i = 0; i < ns && used < sizeof list - 40; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", sets[i]);
            return mn_fail(e, "%s: holds several EMNIST sets (%s): choose one, e.g. --data %s/emnist-%s", dir, list,
                           dir, sets[0]);
        }
        if (ns == 1) {
            snprintf(set, sizeof set, "%s", sets[0]);
            emnist = 1;
            break;
        }
        if (pass == 0) {
            size_t i;
            for (i = 0; i < sizeof tv / sizeof tv[0]; i++) {
                char sub[MN_PATH_MAX];
                if (snprintf(sub, sizeof sub, "%s/%s", source, tv[i]) < (int)sizeof sub && is_dir(sub)) {
                    snprintf(dir, sizeof dir, "%s", sub);
                    break;
                }
            }
            if (i == sizeof tv / sizeof tv[0]) break;
        }
    }
    const char *sp = split == MN_SPLIT_TRAIN ? "train" : split == MN_SPLIT_TEST && (qmnist || emnist) ? "test" : "t10k";
    if (emnist) {
        snprintf(stems[0], sizeof stems[0], "emnist-%s-%s-images", set, sp);
        snprintf(stems[1], sizeof stems[1], "emnist-%s-%s-labels", set, sp);
    } else if (qmnist) {
        snprintf(stems[0], sizeof stems[0], "qmnist-%s-images", sp);
        snprintf(stems[1], sizeof stems[1], "qmnist-%s-labels", sp);
        lext = "idx2-int";
    } else {
        snprintf(stems[0], sizeof stems[0], "%s-images", sp);
        snprintf(stems[1], sizeof stems[1], "%s-labels", sp);
    }

    char ipath[MN_PATH_MAX], lpath[MN_PATH_MAX];
    int r = find_file(ipath, sizeof ipath, dir, stems[0], "idx3-ubyte", e);
    if (r) return r < 0 ? -1 : missing(ipath, stems[0], "idx3-ubyte", e);
    r = find_file(lpath, sizeof lpath, dir, stems[1], lext, e);
    if (r) return r < 0 ? -1 : missing(lpath, stems[1], lext, e);

    mn_idx img = {0}, lab = {0};
    if (mn_idx_read(ipath, 3, &img, e)) return -1;
    if (qmnist ? read_qmnist_labels(lpath, &lab, e) : mn_idx_read(lpath, 1, &lab, e)) {
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
    /* EMNIST stores each image transposed (column by column) */
    if (emnist != (o->transpose != 0)) mn_data_transpose(ds);
    if (emnist && read_mapping(dir, set, ds, e)) return -1;
    return mn_data_set_classes(ds, lpath, e);

fail:
    mn_idx_free(&img);
    mn_idx_free(&lab);
    return -1;
}
