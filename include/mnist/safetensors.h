/* modelfile.h - safetensors files: the model file and the checkpoint.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 little-endian
 * header length N; N bytes of JSON (padded with spaces to a multiple of 8):
 *   {"__metadata__": {"k": "v", ...},
 *    "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the data buffer, F32 little-endian, tensors contiguous, no gaps and no
 * trailing bytes. This module knows the format only; which tensors a model
 * has is model.c's business.
 */
#ifndef MNIST_MODELFILE_H
#define MNIST_MODELFILE_H

#include <stdio.h>
#include <stdint.h>

#include "mnist/error.h"

#define MN_ST_MAX_DIMS 8
#define MN_ST_MAX_NAME 128

/* Element types: F32 (the zero value, so a zeroed tensor is F32) and I64
 * (PyTorch's int64, e.g. BatchNorm's num_batches_tracked). */
typedef enum { MN_ST_F32, MN_ST_I64 } mn_st_dtype;

typedef struct {
    char name[MN_ST_MAX_NAME];
    int ndim;
    int64_t shape[MN_ST_MAX_DIMS];
    mn_st_dtype dtype;
    /* on write: caller's; on read: points into the file's buffer (F32 data
     * 4-byte aligned; I64 data possibly only 4-byte aligned: memcpy it) */
    union {
        float *data;
        void *raw;
    };
} mn_st_tensor;

typedef struct {
    int n_tensors;
    mn_st_tensor *tensors;
    int n_meta;
    char **meta_keys, **meta_vals;
    void *blob; /* owned storage behind the tensors */
} mn_safetensors;

/* Writes atomically: to "<path>.tmp.<pid>", fsync, then rename over path, so
 * a crash never leaves a half-written file at path. Tensors go out in the
 * order given (ndim 0..MN_ST_MAX_DIMS; data may be NULL when a dimension is
 * 0); names must be non-empty, unique, UTF-8 and not "__metadata__";
 * metadata (omitted when n_meta is 0) must be UTF-8 with unique keys. */
int mn_st_write(const char *path, const mn_st_tensor *tensors, int n_tensors, const char *const *meta_keys,
                const char *const *meta_vals, int n_meta, mn_err *e);

/* Reads and validates like the reference loader: header length within the
 * file and below 100 MB, valid JSON, dtype F32 or I64, shape product matches
 * data_offsets, offsets contiguous from 0 covering the whole buffer, no
 * trailing bytes, metadata string->string. Errors name the file. */
int mn_st_read(const char *path, mn_safetensors *st, mn_err *e);
/* st needn't be initialised; on failure it is left zeroed. Tensors come in
 * header order; their data are 4-byte aligned, in host byte order. */
void mn_st_free(mn_safetensors *st); /* safe on a zeroed struct; idempotent */

const mn_st_tensor *mn_st_find(const mn_safetensors *st, const char *name);
const char *mn_st_meta(const mn_safetensors *st, const char *key); /* NULL if absent */

#endif
