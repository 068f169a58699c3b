/* alloc64.h - zeroed buffers aligned to a cache line (64 bytes, one AVX-512
 * vector), for the model's parameters, gradients, activations and optimizer
 * state. calloc only promises 16 bytes, and then every other vector load of
 * a row straddles two cache lines; the small-N GEMM path (which reads its
 * operands in place) ran 30% slower on such rows. Built on calloc, so large
 * buffers still come as untouched zero pages (fused-away activations cost no
 * memory). Free with mn_free64, never free(). Private to the library. */
#ifndef MNIST_ALLOC64_H
#define MNIST_ALLOC64_H

#include <stdint.h>
#include <stdlib.h>

static inline void *mn_zalloc64(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - 64) / size) return NULL;
    unsigned char *raw = calloc(n * size + 64, 1);
    if (!raw) return NULL;
    /* the gap (1..64 bytes) is recorded in the byte just before the buffer */
    unsigned char *p = raw + (64 - ((uintptr_t)raw & 63));
    p[-1] = (unsigned char)(p - raw);
    return p;
}

static inline void mn_free64(void *p)
{
    if (p) {
        unsigned char *q = p;
        free(q - q[-1]);
    }
}

#endif
