/* npz.h - NumPy's .npz files (a zip archive of .npy arrays), as Keras's
 * mnist.npz: read, and write (stored entries).
 *
 * Reading: the zip's central directory (zip64 sizes and offsets included)
 * gives each entry's name, method (0 stored or 8 deflated, inflated with
 * our own inflater), sizes and CRC-32; every size and offset is checked
 * against the file before anything is allocated, and each entry's CRC-32
 * and length after it is decompressed. An .npy entry has a version 1, 2 or
 * 3 header; C order only; integer dtypes (|u1, |i1, and <,> i2 u2 i4 u4 i8
 * u8). Errors are one line naming the file (and entry).
 */
#ifndef MNIST_NPZ_H
#define MNIST_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

#define MN_NPY_MAX_RANK 4

/* An opened .npz: the file's bytes and its directory. */
typedef struct {
    char path[4096];
    uint8_t *file;
    size_t size;
    int n;
    struct mn_npz_entry {
        char name[128];
        int method;
        uint64_t csize, usize, offset;
        uint32_t crc;
    } *entries;
} mn_npz;

/* One integer array converted to what the caller asked for. */
typedef struct {
    int rank;
    uint64_t dims[MN_NPY_MAX_RANK];
    uint64_t count;     /* product of dims */
    char dtype[8];      /* as in the header, e.g. "|u1", "<i8" */
    uint8_t *u8;        /* the values, each checked to be 0..255 (owned) */
} mn_npy;

int mn_npz_open(const char *path, mn_npz *z, mn_err *e);
void mn_npz_close(mn_npz *z);
/* Index of entry "<key>.npy" (or "<key>"), or -1. */
int mn_npz_find(const mn_npz *z, const char *key);
/* Reads array `key` (which must exist): values must fit in 0..255 (pixels,
 * labels). Fails naming the file, key and problem. */
int mn_npz_read_u8(const mn_npz *z, const char *key, mn_npy *a, mn_err *e);
void mn_npy_free(mn_npy *a);

/* Writes an .npz of n u8 arrays (stored entries, npy version 1), atomically. */
typedef struct {
    const char *key;
    int rank;
    const uint64_t *dims;
    const uint8_t *data;
} mn_npz_array;
int mn_npz_write(const char *path, const mn_npz_array *arrays, int n, mn_err *e);

#endif
