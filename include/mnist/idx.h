/* idx.h - the IDX file format (MNIST's). Data sets are dataset.h's.
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
#define MN_IDX_TYPE_U8 0x08
#define MN_IDX_TYPE_I32 0x0C

/* One IDX array of unsigned bytes (or big-endian int32s, type 0x0C). */
typedef struct {
    int rank;
    int type;      /* MN_IDX_TYPE_U8 or MN_IDX_TYPE_I32 */
    uint32_t dims[MN_IDX_MAX_RANK];
    uint8_t *data; /* product(dims) elements (4 bytes each for int32, as stored), owned */
} mn_idx;

/* Reads a u8 IDX file of the given rank (type code 0x08). Fails, naming the
 * file, on: missing/unreadable file, wrong magic, wrong type or rank, zero or
 * absurd dimensions, length != header + product(dims). A path ending in
 * ".gz", or a file starting with the gzip magic (1f 8b), is gunzipped first;
 * then corrupt gzip data (bad CRC, truncation, ...) is an error too, and the
 * length checked is that of the decompressed data. */
int mn_idx_read(const char *path, int want_rank, mn_idx *out, mn_err *e);
/* The same for a given type code: MN_IDX_TYPE_U8 or MN_IDX_TYPE_I32 (as
 * QMNIST's label files); the size limits count bytes. */
int mn_idx_read_typed(const char *path, int want_rank, int want_type, mn_idx *out, mn_err *e);
void mn_idx_free(mn_idx *x);

/* Writes a u8 IDX file (used by tests and tools). */
int mn_idx_write(const char *path, int rank, const uint32_t *dims, const uint8_t *data, mn_err *e);

#endif
