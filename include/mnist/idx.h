/* idx.h - MNIST-format (IDX) data sets.
 *
 * IDX is the format of MNIST and Fashion-MNIST: a 4-byte magic
 * (0, 0, type code, rank), then `rank` big-endian u32 dimensions, then the
 * data. The trainer needs u8 images of rank 3 (n, rows, cols) and u8 labels
 * of rank 1 (n). Everything is validated before anything is allocated.
 *
 * Files may be gzipped, as MNIST and Fashion-MNIST are distributed: they are
 * decompressed in memory (see gzip.h) and then validated exactly like a raw
 * file, with errors naming the .gz file.
 */
#ifndef MNIST_IDX_H
#define MNIST_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

#define MN_IDX_MAX_RANK 4

/* One IDX array of unsigned bytes. */
typedef struct {
    int rank;
    uint32_t dims[MN_IDX_MAX_RANK];
    uint8_t *data; /* product(dims) bytes, owned */
} mn_idx;

/* Reads a u8 IDX file of the given rank (type code 0x08). Fails, naming the
 * file, on: missing/unreadable file, wrong magic, wrong type or rank, zero or
 * absurd dimensions, length != header + product(dims). A path ending in
 * ".gz", or a file starting with the gzip magic (1f 8b), is gunzipped first;
 * then corrupt gzip data (bad CRC, truncation, ...) is an error too, and the
 * length checked is that of the decompressed data. */
int mn_idx_read(const char *path, int want_rank, mn_idx *out, mn_err *e);
void mn_idx_free(mn_idx *x);

/* Writes a u8 IDX file (used by tests and tools). */
int mn_idx_write(const char *path, int rank, const uint32_t *dims, const uint8_t *data, mn_err *e);

/* A labelled image set: n images of rows x cols bytes, n labels < n_classes. */
typedef struct {
    int n, rows, cols;
    int n_classes; /* 10 for MNIST */
    uint8_t *images; /* n * rows * cols, owned */
    uint8_t *labels; /* n, owned */
} mn_dataset;

/* Loads "<dir>/<prefix>-images-idx3-ubyte" and "<dir>/<prefix>-labels-idx1-ubyte"
 * where prefix is "train" or "t10k". Both spellings of the names are accepted
 * ("train-images-idx3-ubyte" and "train-images.idx3-ubyte"), each raw or
 * gzipped; the first of "<name>", "<name>.gz", "<dotted name>",
 * "<dotted name>.gz" that exists is read. Checks that the counts agree and
 * every label is below 10. When none exists, the error names the first
 * spelling and points to scripts/fetch_mnist.sh. */
int mn_dataset_load(const char *dir, const char *prefix, mn_dataset *ds, mn_err *e);
void mn_dataset_free(mn_dataset *ds);

/* Converts images [first, first+count) of ds, in the order given by idx (or
 * in order when idx is NULL), to floats in [0,1] (x/255) into out, and their
 * labels into labels. */
void mn_dataset_batch(const mn_dataset *ds, const int *idx, int first, int count, float *out, int *labels);

/* Hints the CPU to start loading the images mn_dataset_batch would read for
 * the same arguments (no effect on results). The training loop calls it for
 * the next batch, so a shuffled batch's cache misses overlap this step's
 * arithmetic instead of stalling the next one. */
void mn_dataset_prefetch(const mn_dataset *ds, const int *idx, int first, int count);

#endif
