/* protobuf.c - the Protocol Buffers wire format, writing only (protobuf.h). */
#include "mnist/protobuf.h"

#include <stdlib.h>
#include <string.h>

static int grow(mn_pb *b, size_t n)
{
    if (b->failed) return -1;
    if (b->len + n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    unsigned char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d, b->cap = cap;
    return 0;
}

void mn_pb_raw(mn_pb *b, const void *p, size_t n)
{
    if (!n || grow(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void mn_pb_uvarint(mn_pb *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    mn_pb_raw(b, t, n);
}

void mn_pb_key(mn_pb *b, int field, int wire_type) { mn_pb_uvarint(b, ((uint64_t)field << 3) | (uint64_t)wire_type); }

void mn_pb_varint(mn_pb *b, int field, int64_t v)
{
    mn_pb_key(b, field, MN_PB_VARINT);
    mn_pb_uvarint(b, (uint64_t)v);
}

static void put_le32(unsigned char *t, uint32_t u)
{
    t[0] = (unsigned char)u, t[1] = (unsigned char)(u >> 8), t[2] = (unsigned char)(u >> 16),
    t[3] = (unsigned char)(u >> 24);
}

void mn_pb_float(mn_pb *b, int field, float v)
{
    uint32_t u;
    unsigned char t[4];
    memcpy(&u, &v, 4);
    put_le32(t, u);
    mn_pb_key(b, field, MN_PB_I32);
    mn_pb_raw(b, t, 4);
}

void mn_pb_bytes(mn_pb *b, int field, const void *p, size_t n)
{
    mn_pb_key(b, field, MN_PB_LEN);
    mn_pb_uvarint(b, n);
    mn_pb_raw(b, p, n);
}

void mn_pb_string(mn_pb *b, int field, const char *s) { mn_pb_bytes(b, field, s, strlen(s)); }

void mn_pb_msg(mn_pb *b, int field, const mn_pb *msg)
{
    if (msg->failed) {
        b->failed = 1;
        return;
    }
    mn_pb_bytes(b, field, msg->data, msg->len);
}

void mn_pb_float_bytes(mn_pb *b, int field, const float *v, size_t n)
{
    mn_pb_key(b, field, MN_PB_LEN);
    mn_pb_uvarint(b, (uint64_t)n * 4);
    if (grow(b, n * 4)) return;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_le32(b->data + b->len + 4 * i, u);
    }
    b->len += n * 4;
}

int mn_pb_check(const mn_pb *b, mn_err *e) { return b->failed ? mn_fail(e, "out of memory") : 0; }

void mn_pb_free(mn_pb *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
