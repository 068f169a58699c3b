/* protobuf.h - a small Protocol Buffers writer (the wire format only).
 *
 * A message is a sequence of fields, each a key varint (field number << 3 |
 * wire type) and a value: wire type 0 a varint (int32, int64, enums),
 * 2 length-delimited (strings, bytes, nested messages, packed repeats),
 * 5 a fixed 32-bit little-endian value (float). A repeated field is the
 * same field written once per element. Nested messages are written into a
 * buffer of their own and added as bytes (mn_pb_msg).
 *
 *   mn_pb m = {0};
 *   mn_pb_varint(&m, 1, 8);         // field 1 = 8
 *   mn_pb_string(&m, 2, "mnist");   // field 2 = "mnist"
 *   ... m.data[0..m.len) ...
 *   mn_pb_free(&m);
 *
 * A failed allocation sets `failed`; every later call is then a no-op, so
 * a writer checks once at the end (mn_pb_check).
 */
#ifndef MNIST_PROTOBUF_H
#define MNIST_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed; /* an allocation failed: data is incomplete */
} mn_pb;

enum { MN_PB_VARINT = 0, MN_PB_I64 = 1, MN_PB_LEN = 2, MN_PB_I32 = 5 };

/* Raw bytes, a bare varint, a key. */
void mn_pb_raw(mn_pb *b, const void *p, size_t n);
void mn_pb_uvarint(mn_pb *b, uint64_t v);
void mn_pb_key(mn_pb *b, int field, int wire_type);

/* Fields. Negative int64 values take 10 bytes (two's complement), as
 * protobuf's int64 does. */
void mn_pb_varint(mn_pb *b, int field, int64_t v);
void mn_pb_float(mn_pb *b, int field, float v);
void mn_pb_bytes(mn_pb *b, int field, const void *p, size_t n);
void mn_pb_string(mn_pb *b, int field, const char *s);
/* A nested message: its bytes, length-delimited. */
void mn_pb_msg(mn_pb *b, int field, const mn_pb *msg);
/* Floats as little-endian bytes in a bytes field (ONNX raw_data). */
void mn_pb_float_bytes(mn_pb *b, int field, const float *v, size_t n);

/* 0, or -1 with "out of memory" in e when an allocation failed. */
int mn_pb_check(const mn_pb *b, mn_err *e);
void mn_pb_free(mn_pb *b); /* and zeroes it; safe on a zeroed one */

#endif
