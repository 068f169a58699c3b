/* dataset.h - labelled image sets, whatever file format they come in.
 *
 * A data set is N samples of C x H x W pixels (u8 0..255 or f32), one label
 * per sample below n_classes, and optionally a printable name per class.
 * The class count is the data's: the largest label + 1, at least 10 (the
 * digits: a small sample without 9s still has ten classes), or the size of
 * a class-name list that comes with the data.
 *
 * One call loads any format: mn_data_load(source, split, ...). The source
 * is what `--data` points at; the loader table (src/data/formats.c, one line
 * per format, one file each: src/data/idx.c, npz.c, csv.c) picks the first
 * loader that claims it:
 *   FILE.npz          Keras's mnist.npz: x_train, y_train, x_test, y_test
 *   FILE.csv          one label column and H*W pixel columns (Kaggle's)
 *   anything else     a folder of IDX files (MNIST, Fashion-MNIST, KMNIST,
 *                     EMNIST, QMNIST, torchvision's MNIST/raw/)
 * Errors are one line naming the file ("<file>: <problem>").
 */
#ifndef MNIST_DATASET_H
#define MNIST_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

/* Labels are stored as bytes: up to 256 classes (EMNIST has 62). */
#define MN_DATA_MAX_CLASSES 256
#define MN_DATA_MIN_CLASSES 10
/* Longest class name kept (bytes, without the terminating zero). */
#define MN_DATA_NAME_MAX 31

typedef enum { MN_SPLIT_TRAIN, MN_SPLIT_TEST } mn_split;
typedef enum { MN_PIX_U8, MN_PIX_F32 } mn_pixel_type;

typedef struct {
    int n, c, h, w;        /* samples, and each one's channels, rows, columns */
    int n_classes;         /* labels are 0 .. n_classes-1 */
    char **class_names;    /* NULL, or n_classes printable strings, owned */
    mn_pixel_type type;    /* which of the two pixel arrays is set */
    uint8_t *images;       /* MN_PIX_U8: n*c*h*w bytes, owned */
    float *images_f32;     /* MN_PIX_F32: n*c*h*w floats (already scaled), owned */
    uint8_t *labels;       /* n, owned */
    const char *format;    /* the loader's name: "idx", "npz", "csv" */
    char path[4096];       /* the file (or folder) read, for messages */
} mn_dataset;

/* Load options. Zero is the default for every field. */
typedef struct {
    int transpose; /* 1: transpose every image (EMNIST's layout) whatever the names say */
} mn_data_opts;

/* mn_data_load's result when the source has no such split (e.g. a CSV
 * training file with no labelled test file beside it): not an error, but
 * e->msg says why (one line, naming the file). Only for MN_SPLIT_TEST. */
#define MN_DATA_ABSENT 1

/* Loads one split of source into ds (zeroed first; freed on failure).
 * Returns 0, MN_DATA_ABSENT (see above) or -1 with e set. */
int mn_data_load(const char *source, mn_split split, mn_dataset *ds, mn_err *e);
int mn_data_load_opts(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);
void mn_dataset_free(mn_dataset *ds); /* safe on a zeroed struct */

/* A loader: claims(source) says whether it reads source; load as above. */
typedef struct {
    const char *name;
    int (*claims)(const char *source);
    int (*load)(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);
} mn_data_format;
/* The table, ended by a zero entry; the last entry claims everything. */
extern const mn_data_format mn_data_formats[];
/* The loader that would read source. */
const mn_data_format *mn_data_format_of(const char *source);

/* For loaders: sets ds->n_classes from the labels (max + 1, at least MN_DATA_MIN_CLASSES),
 * or checks them against a count already set (names given). Fails naming
 * path when a label is out of range. */
int mn_data_set_classes(mn_dataset *ds, const char *path, mn_err *e);
/* Sets ds->class_names from n strings (copied; non-printable bytes become
 * '?', longer than MN_DATA_NAME_MAX cut). 0 or -1 (out of memory). */
int mn_data_set_names(mn_dataset *ds, const char *const *names, int n, mn_err *e);
/* Transposes every image in place (H x W to W x H; u8 only). */
void mn_data_transpose(mn_dataset *ds);

/* A class's printable name: its name if the data has names, else its
 * number, written into buf. Returns buf. */
const char *mn_class_name(char **names, int n_names, int cls, char *buf, size_t cap);

/* Pixels per sample: c * h * w. */
size_t mn_dataset_pixels(const mn_dataset *ds);

/* The u8 pixels of sample i, or NULL for f32 data. */
const uint8_t *mn_dataset_image_u8(const mn_dataset *ds, int i);

/* Converts samples [first, first+count) of ds, in the order given by idx
 * (or in order when idx is NULL), to floats in [0,1] into out (u8 data:
 * x * (1.0f/255.0f); f32 data: copied), and their labels into labels
 * (optional). */
void mn_dataset_batch(const mn_dataset *ds, const int *idx, int first, int count, float *out, int *labels);

/* Hints the CPU to start loading the images mn_dataset_batch would read for
 * the same arguments (no effect on results). The training loop calls it for
 * the next batch, so a shuffled batch's cache misses overlap this step's
 * arithmetic instead of stalling the next one. */
void mn_dataset_prefetch(const mn_dataset *ds, const int *idx, int first, int count);

#endif
