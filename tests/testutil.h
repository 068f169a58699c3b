/* testutil.h - helpers several unit tests share: a reference CRC-32 and a
 * stored-block deflate writer, both independent of the library; a seeded
 * generator; whole-file I/O; a scratch directory; and finding the source tree
 * and the real MNIST files.
 *
 * All static inline, so a test that uses only some of them gets no
 * unused-function warnings. Include after defining _POSIX_C_SOURCE 200809L
 * (for mkdtemp). */
#ifndef MNIST_TESTUTIL_H
#define MNIST_TESTUTIL_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "testutil.h needs _POSIX_C_SOURCE 200809L, defined before the first #include"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 on the caller's state, so each test keeps its own sequence. */
static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A bit-at-a-time CRC-32, independent of the library's tables. */
static inline uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t r = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        r ^= p[i];
        for (int k = 0; k < 8; k++)
            r = (r & 1u) ? (r >> 1) ^ 0xEDB88320u : r >> 1;
    }
    return ~r;
}

/* d[0..n) as deflate stored blocks of at most `block` bytes, the last one
 * final (an empty input: one empty block), into out, which must hold
 * n + 5 * (n / block + 1) bytes. Returns the bytes written. */
static inline size_t deflate_stored(uint8_t *out, const uint8_t *d, size_t n, size_t block)
{
    size_t k = 0, done = 0;
    do {
        size_t len = n - done < block ? n - done : block;
        out[k++] = done + len == n ? 1 : 0; /* BFINAL, BTYPE 00 */
        out[k++] = (uint8_t)len;
        out[k++] = (uint8_t)(len >> 8);
        out[k++] = (uint8_t)~len;
        out[k++] = (uint8_t)(~len >> 8);
        if (len)
            memcpy(out + k, d + done, len);
        k += len;
        done += len;
    } while (done < n);
    return k;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* Writes p[0..n) to path; a test cannot go on without its files. */
static inline void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* The whole file: 0 with a new buffer in *p and its size in *n, or -1 with
 * *p NULL when it cannot be read. */
static inline int read_file(const char *path, uint8_t **p, size_t *n)
{
    *p = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0, got;
    uint8_t *b = xmalloc(cap);
    while ((got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *q = realloc(b, cap *= 2);
            if (!q) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            b = q;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(b);
        return -1;
    }
    *p = b;
    *n = len;
    return 0;
}

/* A fresh directory /tmp/<name>.XXXXXX in dir (cap bytes). */
static inline void make_tmpdir(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* The source directory: argv[1], or the one this header was compiled from. */
static inline const char *source_dir(int argc, char **argv)
{
    static char buf[600];
    if (argc > 1)
        return argv[1];
    const char *f = __FILE__;
    const char *end = strstr(f, "/tests/testutil.h");
    if (f[0] != '/' || !end || (size_t)(end - f) >= sizeof buf)
        return NULL;
    memcpy(buf, f, (size_t)(end - f));
    buf[end - f] = 0;
    return buf;
}

/* Where the real MNIST files are: the first of $MNIST_DATA, srcdir/sub[0] and
 * srcdir/sub[1] (in that order) that holds a readable file named in
 * probes[0..np). 1 with it in dir, or 0. */
static inline int find_mnist(char *dir, size_t cap, const char *srcdir, const char *const sub[2],
                             const char *const *probes, int np)
{
    char cands[3][600];
    int nc = 0;
    const char *env = getenv("MNIST_DATA");
    if (env && env[0])
        snprintf(cands[nc++], sizeof cands[0], "%s", env);
    for (int i = 0; srcdir && i < 2; i++)
        snprintf(cands[nc++], sizeof cands[0], "%s/%s", srcdir, sub[i]);
    for (int c = 0; c < nc; c++) {
        if (strlen(cands[c]) >= cap)
            continue;
        for (int i = 0; i < np; i++) {
            char probe[700];
            snprintf(probe, sizeof probe, "%.600s/%s", cands[c], probes[i]);
            FILE *f = fopen(probe, "rb");
            if (f) {
                fclose(f);
                memcpy(dir, cands[c], strlen(cands[c]) + 1);
                return 1;
            }
        }
    }
    return 0;
}

#endif
