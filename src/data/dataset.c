/* dataset.c - the data-set type: loading through the format table, class
 * counts and names, and batches of floats for training. */
#include "mnist/dataset.h"

#include "mnist/gemm.h" /* mn_get_threads */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const mn_data_format *mn_data_format_of(const char *source)
{
    const mn_data_format *f = mn_data_formats;
    for (; f->name; f++)
        if (f->claims(source)) return f;
    return f - 1; /* the last one claims everything anyway */
}

int mn_data_load_opts(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e)
{
    static const mn_data_opts none = {0};
    memset(ds, 0, sizeof *ds);
    if (!source || !*source) source = ".";
    if (split != MN_SPLIT_TRAIN && split != MN_SPLIT_TEST) return mn_fail(e, "%s: unknown data split %d", source, (int)split);
    const mn_data_format *f = mn_data_format_of(source);
    int rc = f->load(source, split, o ? o : &none, ds, e);
    if (rc) {
        mn_dataset_free(ds);
        return rc < 0 ? -1 : (split == MN_SPLIT_TEST ? MN_DATA_ABSENT : -1);
    }
    ds->format = f->name;
    if (!ds->path[0]) snprintf(ds->path, sizeof ds->path, "%s", source);
    return 0;
}

int mn_data_load(const char *source, mn_split split, mn_dataset *ds, mn_err *e)
{
    return mn_data_load_opts(source, split, NULL, ds, e);
}

static void free_names(char **names, int n)
{
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void mn_dataset_free(mn_dataset *ds)
{
    if (!ds) return;
    free(ds->images);
    free(ds->images_f32);
    free(ds->labels);
    free_names(ds->class_names, ds->n_classes);
    memset(ds, 0, sizeof *ds);
}

int mn_data_set_classes(mn_dataset *ds, const char *path, mn_err *e)
{
    int max = -1;
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] > max) max = ds->labels[i];
    if (ds->class_names) {
        if (max >= ds->n_classes)
            return mn_fail(e, "%s: label %d is out of range: the class list has %d classes", path, max, ds->n_classes);
        return 0;
    }
    ds->n_classes = max + 1 < MN_DATA_MIN_CLASSES ? MN_DATA_MIN_CLASSES : max + 1;
    return 0;
}

int mn_data_set_names(mn_dataset *ds, const char *const *names, int n, mn_err *e)
{
    if (n < 1 || n > MN_DATA_MAX_CLASSES) return mn_fail(e, "%d class names (1 to %d allowed)", n, MN_DATA_MAX_CLASSES);
    char **v = calloc((size_t)n, sizeof *v);
    if (!v) return mn_fail(e, "out of memory for %d class names", n);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len > MN_DATA_NAME_MAX) len = MN_DATA_NAME_MAX;
        if (!(v[i] = malloc(len + 1))) {
            free_names(v, n);
            return mn_fail(e, "out of memory for class names");
        }
        for (size_t k = 0; k < len; k++) {
            unsigned char ch = (unsigned char)names[i][k];
            v[i][k] = (ch < 0x21 || ch > 0x7e || ch == ',' || ch == '"' || ch == '\\') ? '?' : (char)ch;
        }
        v[i][len] = 0;
    }
    free_names(ds->class_names, ds->n_classes);
    ds->class_names = v;
    ds->n_classes = n;
    return 0;
}

void mn_data_transpose(mn_dataset *ds)
{
    if (ds->type != MN_PIX_U8 || !ds->images) return;
    int h = ds->h, w = ds->w;
    size_t plane = (size_t)h * (size_t)w;
    uint8_t *tmp = malloc(plane);
    if (!tmp) return;
    for (size_t s = 0; s < (size_t)ds->n * (size_t)ds->c; s++) {
        uint8_t *p = ds->images + s * plane;
        memcpy(tmp, p, plane);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) p[(size_t)x * h + y] = tmp[(size_t)y * w + x];
    }
    free(tmp);
    ds->h = w, ds->w = h;
}

const char *mn_class_name(char **names, int n_names, int cls, char *buf, size_t cap)
{
    if (names && cls >= 0 && cls < n_names)
        snprintf(buf, cap, "%s", names[cls]);
    else
        snprintf(buf, cap, "%d", cls);
    return buf;
}

size_t mn_dataset_pixels(const mn_dataset *ds) { return (size_t)ds->c * (size_t)ds->h * (size_t)ds->w; }

const uint8_t *mn_dataset_image_u8(const mn_dataset *ds, int i)
{
    return ds->type == MN_PIX_U8 && ds->images ? ds->images + (size_t)i * mn_dataset_pixels(ds) : NULL;
}

/* Pixels per batch below which one thread converts it. */
#define BATCH_PAR_MIN 16384

/* One image: a plain widening loop that GCC/Clang turn into SIMD code. */
static void u8_to_unit_float(const uint8_t *restrict src, float *restrict dst, size_t n)
{
    const float scale = 1.0f / 255.0f;
    for (size_t j = 0; j < n; j++)
        dst[j] = (float)src[j] * scale;
}

void mn_dataset_prefetch(const mn_dataset *ds, const int *idx, int first, int count)
{
#if defined(__GNUC__) || defined(__clang__)
    size_t pix = mn_dataset_pixels(ds);
    size_t bytes = ds->type == MN_PIX_F32 ? pix * sizeof(float) : pix;
    const char *base = ds->type == MN_PIX_F32 ? (const char *)ds->images_f32 : (const char *)ds->images;
    for (int i = 0; i < count; i++) {
        const char *img = base + (size_t)(idx ? idx[first + i] : first + i) * bytes;
        for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(img + off, 0, 1);
        __builtin_prefetch(img + bytes - 1, 0, 1);
    }
#else
    (void)ds, (void)idx, (void)first, (void)count;
#endif
}

void mn_dataset_batch(const mn_dataset *ds, const int *idx, int first, int count, float *out, int *labels)
{
    size_t pix = mn_dataset_pixels(ds);
    /* images are independent: with threads, each converts its share of
     * them (the same floats; the other thread would otherwise wait) */
    int nt = (size_t)count * pix >= BATCH_PAR_MIN ? mn_get_threads() : 1;
    int f32 = ds->type == MN_PIX_F32;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int i = 0; i < count; i++) {
        int s = idx ? idx[first + i] : first + i;
        if (f32)
            memcpy(out + (size_t)i * pix, ds->images_f32 + (size_t)s * pix, pix * sizeof *out);
        else
            u8_to_unit_float(ds->images + (size_t)s * pix, out + (size_t)i * pix, pix);
        if (labels) labels[i] = ds->labels[s];
    }
}
