/* gen_seeds.c - writes the fuzz targets' seed corpus.
 *
 *   gen_seeds OUTDIR
 *
 * creates OUTDIR/{idx,gzip,modelfile,arch,image,npz,csv}/ (the directories must not need
 * creating above OUTDIR; they are made with the library's writers' paths, so
 * CMake creates them first) and fills them with small valid inputs and a few
 * near misses: IDX arrays of every rank, raw and gzipped; gzip members with
 * stored and fixed-Huffman blocks (with back-references), every header flag,
 * several members; tiny model files and checkpoints of every layer kind;
 * architecture strings; PNG images of every colour type and bit depth
 * (every filter type, Adam7) and PGM images. The gzip writer here is our own (deflate with fixed
 * Huffman codes and greedy LZ77), so no tool is needed; dynamic-Huffman
 * streams come from tests/fuzz/regress/ (made with gzip -9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/gzip.h"
#include "mnist/csv.h"
#include "mnist/idx.h"
#include "mnist/npz.h"
#ifdef MNIST_FUZZ_HAVE_IMAGE
#include "mnist/image.h"
#endif
#include "mnist/model.h"
#include "mnist/safetensors.h"
#include "mnist/optim.h"
#include "mnist/rng.h"
#include "mnist/train.h"

static const char *outdir;
static int failures;

static void put_file(const char *sub, const char *name, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "gen_seeds: cannot write %s\n", path);
        failures++;
    }
}

/* ---- a growable byte buffer and an LSB-first bit writer ---------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    uint32_t bits;
    int nbits;
} buf;

static void put_byte(buf *b, uint8_t v)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            fprintf(stderr, "gen_seeds: out of memory\n");
            exit(1);
        }
    }
    b->p[b->n++] = v;
}

static void put_bytes(buf *b, const void *d, size_t n)
{
    for (size_t i = 0; i < n; i++) put_byte(b, ((const uint8_t *)d)[i]);
}

static void put_le32(buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) put_byte(b, (uint8_t)(v >> (8 * i)));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put_bits(buf *b, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        b->bits |= ((v >> i) & 1u) << b->nbits;
        if (++b->nbits == 8) put_byte(b, (uint8_t)b->bits), b->bits = 0, b->nbits = 0;
    }
}

static void flush_bits(buf *b)
{
    if (b->nbits) put_byte(b, (uint8_t)b->bits), b->bits = 0, b->nbits = 0;
}

/* Huffman codes go out most significant bit first. */
static void put_code(buf *b, uint32_t code, int len)
{
    for (int i = len - 1; i >= 0; i--) put_bits(b, (code >> i) & 1u, 1);
}

/* ---- deflate ----------------------------------------------------------- */

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void fixed_lit(buf *b, unsigned v)
{
    if (v < 144) put_code(b, 0x30 + v, 8);
    else if (v < 256) put_code(b, 0x190 + (v - 144), 9);
    else if (v < 280) put_code(b, v - 256, 7);
    else put_code(b, 0xC0 + (v - 280), 8);
}

static void fixed_match(buf *b, unsigned len, unsigned dist)
{
    int i = 28;
    while (len_base[i] > len) i--;
    fixed_lit(b, 257 + (unsigned)i);
    put_bits(b, len - len_base[i], len_extra[i]);
    int j = 29;
    while (dist_base[j] > dist) j--;
    put_code(b, (uint32_t)j, 5);
    put_bits(b, dist - dist_base[j], dist_extra[j]);
}

/* One final fixed-Huffman block with greedy LZ77 matches (window 4096). */
static void deflate_fixed(buf *b, const uint8_t *d, size_t n, int final)
{
    put_bits(b, final ? 1 : 0, 1);
    put_bits(b, 1, 2);
    for (size_t i = 0; i < n;) {
        size_t best = 0, bdist = 0;
        for (size_t dist = 1; dist <= i && dist <= 4096; dist++) {
            size_t l = 0;
            while (l < 258 && i + l < n && d[i + l] == d[i + l - dist]) l++;
            if (l > best) best = l, bdist = dist;
        }
        if (best >= 3) {
            fixed_match(b, (unsigned)best, (unsigned)bdist);
            i += best;
        } else {
            fixed_lit(b, d[i++]);
        }
    }
    fixed_lit(b, 256);
}

/* Stored blocks of at most `chunk` bytes (at least one block). */
static void deflate_stored(buf *b, const uint8_t *d, size_t n, size_t chunk)
{
    size_t i = 0;
    do {
        size_t len = n - i < chunk ? n - i : chunk;
        put_bits(b, i + len == n ? 1 : 0, 1);
        put_bits(b, 0, 2);
        flush_bits(b);
        put_byte(b, (uint8_t)len), put_byte(b, (uint8_t)(len >> 8));
        put_byte(b, (uint8_t)~len), put_byte(b, (uint8_t)(~len >> 8));
        put_bytes(b, d + i, len);
        i += len;
    } while (i < n);
}

enum { STORED, FIXED, MIXED };

/* One gzip member: header with flags (FTEXT 1, FHCRC 2, FEXTRA 4, FNAME 8,
 * FCOMMENT 16), deflate data of the given kind, trailer. */
static void gzip_member(buf *b, const uint8_t *d, size_t n, int kind, unsigned flags)
{
    size_t start = b->n;
    put_byte(b, 0x1f), put_byte(b, 0x8b), put_byte(b, 8), put_byte(b, (uint8_t)flags);
    put_le32(b, 0), put_byte(b, 0), put_byte(b, 3);
    if (flags & 4) put_byte(b, 4), put_byte(b, 0), put_bytes(b, "ab\0\0", 4);
    if (flags & 8) put_bytes(b, "seed\0", 5);
    if (flags & 16) put_bytes(b, "a comment\0", 10);
    if (flags & 2) {
        uint32_t c = mn_crc32(0, b->p + start, b->n - start);
        put_byte(b, (uint8_t)c), put_byte(b, (uint8_t)(c >> 8));
    }
    if (kind == STORED) {
        deflate_stored(b, d, n, 100);
    } else if (kind == FIXED) {
        deflate_fixed(b, d, n, 1);
    } else { /* a fixed block, then a stored one */
        deflate_fixed(b, d, n / 2, 0);
        deflate_stored(b, d + n / 2, n - n / 2, 65535);
    }
    flush_bits(b);
    put_le32(b, mn_crc32(0, d, n));
    put_le32(b, (uint32_t)n);
}

/* Writes the gzip of d to <sub>/<name>, and checks that we read it back. */
static void put_gzip(const char *sub, const char *name, const uint8_t *d, size_t n, int kind, unsigned flags,
                     int members)
{
    buf b = {0};
    for (int m = 0; m < members; m++) {
        size_t lo = n * (size_t)m / (size_t)members, hi = n * (size_t)(m + 1) / (size_t)members;
        gzip_member(&b, d + lo, hi - lo, kind, flags);
    }
    uint8_t *out;
    size_t out_n;
    mn_err e;
    if (mn_gunzip(b.p, b.n, &out, &out_n, n + 1, name, &e) || out_n != n || (n && memcmp(out, d, n))) {
        fprintf(stderr, "gen_seeds: %s does not round-trip: %s\n", name, e.msg);
        failures++;
    } else {
        free(out);
    }
    put_file(sub, name, b.p, b.n);
    free(b.p);
}

/* ---- IDX ---------------------------------------------------------------- */

/* An IDX array in memory: rank, dims, bytes from a pattern. */
static size_t make_idx(uint8_t *dst, int rank, const uint32_t *dims)
{
    dst[0] = 0, dst[1] = 0, dst[2] = 8, dst[3] = (uint8_t)rank;
    size_t n = 1;
    for (int i = 0; i < rank; i++) put_be32(dst + 4 + 4 * i, dims[i]), n *= dims[i];
    size_t h = 4 + 4 * (size_t)rank;
    for (size_t i = 0; i < n; i++) dst[h + i] = (uint8_t)(rank == 1 ? i % 10 : (i * 37) % 256 / (i % 5 + 1));
    return h + n;
}

/* Writes a valid IDX seed and checks that mn_idx_read accepts it. */
static void put_idx(const char *name, const uint8_t *d, size_t n)
{
    char path[4096];
    mn_idx x;
    mn_err e;
    put_file("idx", name, d, n);
    snprintf(path, sizeof path, "%s/idx/%s", outdir, name);
    if (mn_idx_read(path, d[3], &x, &e)) {
        fprintf(stderr, "gen_seeds: valid seed rejected: %s\n", e.msg);
        failures++;
    }
    mn_idx_free(&x);
}

static void gen_idx(void)
{
    static uint8_t d[8192];
    size_t n;
    uint32_t l[1] = {10}, i2[2] = {4, 6}, i3[3] = {3, 4, 5}, i4[4] = {2, 2, 3, 3}, big[3] = {4, 28, 28};

    n = make_idx(d, 1, l);
    put_idx("labels.idx1", d, n);
    put_gzip("idx", "labels.idx1.gz", d, n, STORED, 0, 1);
    put_file("idx", "labels-trailing.idx1", d, n + 1); /* one byte too many */
    put_file("idx", "labels-short.idx1", d, n - 1);
    n = make_idx(d, 2, i2);
    put_idx("array.idx2", d, n);
    n = make_idx(d, 4, i4);
    put_idx("array.idx4", d, n);
    put_gzip("idx", "array.idx4.gz", d, n, MIXED, 8, 1);
    n = make_idx(d, 3, i3);
    put_idx("images.idx3", d, n);
    put_file("idx", "images-header-only.idx3", d, 16);
    put_gzip("idx", "images.idx3.gz", d, n, FIXED, 8, 1);
    put_gzip("idx", "images-2members.idx3.gz", d, n, FIXED, 0, 2);
    n = make_idx(d, 3, big); /* four 28x28 images: blocks on a dark canvas, compressible */
    for (size_t k = 16; k < n; k++) d[k] = (uint8_t)((k - 16) % 28 > 8 && (k - 16) % 28 < 14 ? 250 : (k % 3) * 7);
    put_idx("mnist-like.idx3", d, n);
    put_gzip("idx", "mnist-like.idx3.gz", d, n, FIXED, 0, 1);
    uint8_t zero[16];
    n = make_idx(zero, 3, (uint32_t[]){0, 28, 28});
    put_file("idx", "zero-dim.idx3", zero, n);
    uint8_t absurd[17]; /* header and one byte of payload, before the dimensions are made absurd */
    n = make_idx(absurd, 3, (uint32_t[]){1, 1, 1});
    put_be32(absurd + 4, 0xffffffffu), put_be32(absurd + 8, 0xffffffffu);
    put_file("idx", "absurd-dims.idx3", absurd, 16);
}

static void gen_gzip(void)
{
    static const char text[] = "dense:128,relu,dropout:0.2,dense:10 dense:128,relu,dropout:0.2,dense:10 "
                               "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dropout:0.5,dense:10 "
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const uint8_t *t = (const uint8_t *)text;
    size_t n = sizeof text - 1;
    put_gzip("gzip", "empty.gz", t, 0, FIXED, 0, 1);
    put_gzip("gzip", "empty-stored.gz", t, 0, STORED, 0, 1);
    put_gzip("gzip", "text-stored.gz", t, n, STORED, 0, 1);
    put_gzip("gzip", "text-fixed.gz", t, n, FIXED, 0, 1);
    put_gzip("gzip", "text-mixed.gz", t, n, MIXED, 0, 1);
    put_gzip("gzip", "text-3members.gz", t, n, FIXED, 0, 3);
    put_gzip("gzip", "flags-name.gz", t, n, FIXED, 8, 1);
    put_gzip("gzip", "flags-all.gz", t, n, FIXED, 1 | 2 | 4 | 8 | 16, 1);
    put_gzip("gzip", "flags-hcrc.gz", t, 40, STORED, 2, 1);
    put_gzip("gzip", "flags-extra-comment.gz", t, n, MIXED, 4 | 16, 1);
    static uint8_t run[3000];
    for (size_t i = 0; i < sizeof run; i++) run[i] = (uint8_t)(i < 1500 ? 0 : i % 251);
    put_gzip("gzip", "long-matches.gz", run, sizeof run, FIXED, 0, 1);
    put_gzip("gzip", "stored-blocks.gz", run, sizeof run, STORED, 0, 2);
}

/* ---- model files and checkpoints --------------------------------------- */

static void gen_model(const char *name, const char *arch, mn_shape in, int classes, int checkpoint, int opt_kind,
                      int with_best)
{
    mn_model m;
    mn_err e;
    char path[4096];
    snprintf(path, sizeof path, "%s/modelfile/%s", outdir, name);
    if (mn_model_build(&m, arch, in, classes, &e) || mn_model_alloc(&m, 1, &e)) {
        fprintf(stderr, "gen_seeds: %s: %s\n", name, e.msg);
        failures++;
        return;
    }
    mn_model_init(&m, 5);
    const char *keys[] = {"optimizer", "lr", "batch_size", "epochs", "seed", "test_accuracy"};
    const char *vals[] = {mn_optim_name((mn_optim_kind)opt_kind), "0.001", "32", "2", "1", "0.5"};
    int rc;
    if (!checkpoint) {
        rc = mn_model_save(&m, path, keys, vals, 6, &e);
    } else {
        mn_optim o;
        mn_train_state st;
        memset(&o, 0, sizeof o);
        rc = mn_optim_init(&o, (mn_optim_kind)opt_kind, 0.001f, m.n_params, &e);
        if (!rc) {
            for (size_t i = 0; i < o.n; i++) o.m[i] = 0.01f * (float)(i % 5), o.v[i] = 0.001f * (float)(i % 3);
            o.step = 40;
            mn_train_state_init(&st, 3);
            st.epoch = 1, st.step = 2, st.seen = 64, st.hits = 20, st.loss_sum = 12.5;
            rc = mn_checkpoint_save(path, &m, &o, &st, with_best ? m.params : NULL, keys, vals, 6, &e);
            mn_optim_free(&o);
        }
    }
    mn_model back;
    if (!rc && !(rc = mn_model_load(&back, path, 1, &e))) {
        if (strcmp(back.arch, m.arch) || back.n_params != m.n_params || mn_is_checkpoint(&back) != checkpoint)
            rc = mn_fail(&e, "%s: reads back as another model", path);
        mn_model_free(&back);
    }
    if (rc) {
        fprintf(stderr, "gen_seeds: %s\n", e.msg);
        failures++;
    }
    mn_model_free(&m);
}

static void gen_models(void)
{
    gen_model("mlp-4x4.safetensors", "dense:4,relu,dropout:0.2,dense:3", (mn_shape){1, 4, 4}, 3, 0, MN_ADAM, 0);
    gen_model("3layer-sigmoid.safetensors", "dense:3,sigmoid,dense:3,sigmoid,dense:2,softmax", (mn_shape){1, 3, 2},
              2, 0, MN_SGD, 0);
    gen_model("cnn-6x6.safetensors", "conv:2:3,relu,maxpool:2,flatten,dense:3", (mn_shape){1, 6, 6}, 3, 0, MN_ADAM,
              0);
    gen_model("conv-options.safetensors", "conv:2:2x3:s2:p1,avgpool:2,sigmoid,dense:2", (mn_shape){2, 7, 7}, 2, 0,
              MN_RMSPROP, 0);
    gen_model("conv-same.safetensors", "conv:1:3:same,maxpool:3:s2,dense:2", (mn_shape){1, 5, 5}, 2, 0, MN_ADAM, 0);
    gen_model("ckpt-adam.safetensors", "dense:3,relu,dense:2", (mn_shape){1, 2, 2}, 2, 1, MN_ADAM, 0);
    gen_model("ckpt-sgd-best.safetensors", "dense:2", (mn_shape){1, 3, 1}, 2, 1, MN_SGD, 1);
    gen_model("ckpt-cnn-rmsprop.safetensors", "conv:1:2,relu,dense:2", (mn_shape){1, 3, 3}, 2, 1, MN_RMSPROP, 0);

    /* plain safetensors the model loader rejects, for the format parser */
    mn_err e;
    char path[4096];
    float w[6] = {1, 2, 3, 4, 5, 6};
    mn_st_tensor t[3];
    memset(t, 0, sizeof t);
    snprintf(t[0].name, sizeof t[0].name, "weight"), t[0].ndim = 2, t[0].shape[0] = 2, t[0].shape[1] = 3, t[0].data = w;
    snprintf(t[1].name, sizeof t[1].name, "scalar"), t[1].ndim = 0, t[1].data = w + 5;
    snprintf(t[2].name, sizeof t[2].name, "empty\xc3\xa9"), t[2].ndim = 1, t[2].shape[0] = 0;
    const char *k[] = {"note", "format"}, *v[] = {"caf\xc3\xa9 \"quoted\" \\ \t", "pt"};
    snprintf(path, sizeof path, "%s/modelfile/%s", outdir, "plain.safetensors");
    if (mn_st_write(path, t, 3, k, v, 2, &e)) fprintf(stderr, "gen_seeds: %s\n", e.msg), failures++;
    snprintf(path, sizeof path, "%s/modelfile/%s", outdir, "no-metadata.safetensors");
    if (mn_st_write(path, t, 1, NULL, NULL, 0, &e)) fprintf(stderr, "gen_seeds: %s\n", e.msg), failures++;
    snprintf(path, sizeof path, "%s/modelfile/%s", outdir, "no-tensors.safetensors");
    if (mn_st_write(path, NULL, 0, k, v, 2, &e)) fprintf(stderr, "gen_seeds: %s\n", e.msg), failures++;
}

/* ---- images: PNG (our own encoder: every filter, Adam7) and PGM --------- */

static void put_be32b(buf *b, uint32_t v)
{
    uint8_t q[4];
    put_be32(q, v);
    put_bytes(b, q, 4);
}

static void png_chunk(buf *b, const char *type, const uint8_t *d, size_t n)
{
    put_be32b(b, (uint32_t)n);
    size_t start = b->n;
    put_bytes(b, type, 4);
    if (n) put_bytes(b, d, n);
    put_be32b(b, mn_crc32(0, b->p + start, b->n - start));
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* A test pattern sample (channel ch of pixel x, y) of `depth` bits. */
static unsigned sample(unsigned x, unsigned y, unsigned ch, unsigned depth, unsigned limit)
{
    unsigned v = (x * 7 + y * 13 + ch * 5 + (x > 2 && x < 6 ? 200 : 0)) * (depth == 16 ? 331u : 1u);
    v &= (1u << depth) - 1;
    return limit ? v % limit : v;
}

/* A w x h PNG of colour type ct and bit depth bd (interlaced with Adam7 when
 * il), rows filtered with types cycling 0..4. */
static void gen_png(const char *name, unsigned w, unsigned h, unsigned ct, unsigned bd, int il, int trns)
{
    static const unsigned chans[7] = {1, 0, 3, 1, 2, 0, 4};
    static const unsigned a7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                      {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    unsigned spp = chans[ct], pbits = spp * bd, bpp = pbits < 8 ? 1 : pbits / 8, pal_n = ct != 3 ? 0 : bd == 8 ? 200 : 1u << bd;
    buf raw = {0};
    int ftype = 0;
    for (int pass = 0; pass < (il ? 7 : 1); pass++) {
        unsigned x0 = il ? a7[pass][0] : 0, y0 = il ? a7[pass][1] : 0, dx = il ? a7[pass][2] : 1,
                 dy = il ? a7[pass][3] : 1;
        unsigned pw = w > x0 ? (w - x0 + dx - 1) / dx : 0, ph = h > y0 ? (h - y0 + dy - 1) / dy : 0;
        if (!pw || !ph) continue;
        size_t rb = ((size_t)pw * pbits + 7) / 8;
        uint8_t *prev = calloc(rb, 1), *cur = calloc(rb, 1);
        for (unsigned r = 0; r < ph; r++) {
            memset(cur, 0, rb);
            for (unsigned i = 0; i < pw; i++) {
                unsigned x = x0 + i * dx, y = y0 + r * dy;
                for (unsigned ch = 0; ch < spp; ch++) {
                    unsigned v = sample(x, y, ch, bd, pal_n), bit = (i * spp + ch) * bd;
                    if (bd == 16) cur[bit / 8] = (uint8_t)(v >> 8), cur[bit / 8 + 1] = (uint8_t)v;
                    else cur[bit / 8] |= (uint8_t)(v << (8 - bd - bit % 8));
                }
            }
            put_byte(&raw, (uint8_t)ftype);
            for (size_t k = 0; k < rb; k++) {
                int a = k >= bpp ? cur[k - bpp] : 0, b = prev[k], c = k >= bpp ? prev[k - bpp] : 0, x = cur[k];
                int pred = ftype == 0 ? 0 : ftype == 1 ? a : ftype == 2 ? b : ftype == 3 ? (a + b) / 2 : paeth(a, b, c);
                put_byte(&raw, (uint8_t)(x - pred));
            }
            ftype = (ftype + 1) % 5;
            memcpy(prev, cur, rb);
        }
        free(prev), free(cur);
    }
    /* zlib: header, deflate (fixed Huffman), Adler-32 */
    buf z = {0};
    put_byte(&z, 0x78), put_byte(&z, 0x01);
    deflate_fixed(&z, raw.p, raw.n, 1);
    flush_bits(&z);
    uint32_t s1 = 1, s2 = 0;
    for (size_t i = 0; i < raw.n; i++) s1 = (s1 + raw.p[i]) % 65521, s2 = (s2 + s1) % 65521;
    put_be32b(&z, s2 << 16 | s1);

    buf b = {0};
    put_bytes(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13];
    put_be32(ihdr, w), put_be32(ihdr + 4, h);
    ihdr[8] = (uint8_t)bd, ihdr[9] = (uint8_t)ct, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = (uint8_t)il;
    png_chunk(&b, "IHDR", ihdr, 13);
    png_chunk(&b, "tEXt", (const uint8_t *)"Comment\0seed", 12); /* ancillary: skipped */
    if (ct == 3) {
        uint8_t pal[768];
        for (unsigned i = 0; i < 3 * pal_n; i++) pal[i] = (uint8_t)(i * 53);
        png_chunk(&b, "PLTE", pal, 3 * pal_n);
        if (trns) png_chunk(&b, "tRNS", (const uint8_t *)"\x00\x80\xff", pal_n < 3 ? pal_n : 3);
    } else if (trns && (ct == 0 || ct == 2)) {
        png_chunk(&b, "tRNS", (const uint8_t *)"\x00\x01\x00\x01\x00\x02", ct == 0 ? 2 : 6);
    }
    /* the image data in two IDAT chunks */
    png_chunk(&b, "IDAT", z.p, z.n / 2);
    png_chunk(&b, "IDAT", z.p + z.n / 2, z.n - z.n / 2);
    png_chunk(&b, "IEND", NULL, 0);
    put_file("image", name, b.p, b.n);
#ifdef MNIST_FUZZ_HAVE_IMAGE
    mn_image im;
    mn_err e;
    if (mn_image_decode(b.p, b.n, name, &im, &e) || im.w != (int)w || im.h != (int)h) {
        fprintf(stderr, "gen_seeds: valid seed rejected: %s\n", e.msg);
        failures++;
    }
    mn_image_free(&im);
#endif
    free(raw.p), free(z.p), free(b.p);
}

static void gen_images(void)
{
    gen_png("grey8.png", 9, 7, 0, 8, 0, 0);
    gen_png("grey1-adam7.png", 11, 10, 0, 1, 1, 0);
    gen_png("grey2-trns.png", 5, 3, 0, 2, 0, 1);
    gen_png("grey16.png", 4, 4, 0, 16, 1, 0);
    gen_png("rgb8-trns.png", 6, 5, 2, 8, 0, 1);
    gen_png("rgb16-adam7.png", 3, 9, 2, 16, 1, 0);
    gen_png("palette4-trns.png", 7, 6, 3, 4, 0, 1);
    gen_png("palette1-adam7.png", 9, 9, 3, 1, 1, 0);
    gen_png("palette8.png", 4, 2, 3, 8, 0, 0);
    gen_png("greyalpha8.png", 5, 5, 4, 8, 0, 0);
    gen_png("greyalpha16-adam7.png", 3, 3, 4, 16, 1, 0);
    gen_png("rgba8.png", 8, 8, 6, 8, 0, 0);
    gen_png("rgba16.png", 2, 3, 6, 16, 0, 0);
    gen_png("digit28.png", 28, 28, 0, 8, 0, 0);
    gen_png("one-pixel.png", 1, 1, 0, 8, 1, 0);

    static const char p2[] = "P2\n# a plain PGM\n4 3\n# comment between fields\n15\n"
                             "0 1 2 3\n4 5 6 7\n8 9 10 15\n";
    put_file("image", "plain.pgm", p2, sizeof p2 - 1);
    buf b = {0};
    put_bytes(&b, "P5\n6 5\n255\n", 11);
    for (int i = 0; i < 30; i++) put_byte(&b, (uint8_t)(i == 14 ? 255 : i * 3));
    put_file("image", "raw8.pgm", b.p, b.n);
    b.n = 0;
    put_bytes(&b, "P5 3 2 65535\n", 13);
    for (int i = 0; i < 6; i++) put_byte(&b, (uint8_t)(i * 40)), put_byte(&b, (uint8_t)i);
    put_file("image", "raw16.pgm", b.p, b.n);
    b.n = 0;
    put_bytes(&b, "P5\n28 28\n255\n", 13);
    for (int i = 0; i < 784; i++) put_byte(&b, (uint8_t)(i % 28 > 10 && i % 28 < 15 && i / 28 > 4 && i / 28 < 24 ? 0 : 255));
    put_file("image", "digit-dark-on-light.pgm", b.p, b.n);
    free(b.p);
}

/* ---- architecture strings ---------------------------------------------- */

static void gen_arch(void)
{
    static const char *const arch[] = {
        "mlp", "wide", "3b1b", "cnn", "lenet5",
        "dense:128,relu,dropout:0.2,dense:10",
        "dense:10",
        "flatten,dense:10,softmax",
        "dense:16,sigmoid,dense:16,sigmoid,dense:10",
        "conv:4:3,relu,maxpool:2,dense:10",
        "conv:2:5:same,avgpool:2,conv:3:3x2:s2:p1x0,relu,flatten,dense:10",
        "conv:2:3:valid,maxpool:3:s2,dense:10",
        "conv:1:2x3:s1x2:p2,avgpool:2x1:s1,sigmoid,dropout:0.5,dense:10",
        " dense:32 , relu , dense:10 ",
        "dense:128,,dense:10",
        "dense:0,dense:10",
        "dense:10,softmax,relu",
        "conv:8:29,dense:10",
        "maxpool:28,dense:10",
        "conv:3:3:same:s2,dense:10",
        "dense:10,dense:10,dense:10,dense:10,dense:10,dense:10,dense:10,dense:10,dense:10,dense:10",
    };
    for (size_t i = 0; i < sizeof arch / sizeof *arch; i++) {
        char name[32];
        snprintf(name, sizeof name, "arch-%02zu.txt", i);
        put_file("arch", name, arch[i], strlen(arch[i]));
    }
}

/* ---- npz and CSV data sets ---------------------------------------------- */

static void gen_npz(void)
{
    uint8_t img[3 * 4 * 4], lab[3] = {1, 0, 9};
    for (int i = 0; i < 48; i++) img[i] = (uint8_t)(i * 5);
    uint64_t dx[3] = {3, 4, 4}, dy[1] = {3};
    mn_npz_array a[4] = {{"x_train", 3, dx, img}, {"y_train", 1, dy, lab}, {"x_test", 3, dx, img}, {"y_test", 1, dy, lab}};
    char path[4096];
    mn_err e;
    snprintf(path, sizeof path, "%s/npz/keras.npz", outdir);
    if (mn_npz_write(path, a, 4, &e)) fprintf(stderr, "gen_seeds: %s\n", e.msg), failures++;
    snprintf(path, sizeof path, "%s/npz/train-only.npz", outdir);
    if (mn_npz_write(path, a, 2, &e)) fprintf(stderr, "gen_seeds: %s\n", e.msg), failures++;
    /* a deflated entry: one stored deflate block inside method 8 */
    static const char npy[] = "\x93NUMPY\x01\x00\x3a\x00{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"
                              "\n\x03\x00\x00\x00\x00\x00\x00\x00";
    size_t n = sizeof npy - 1;
    buf b = {0};
    uint32_t crc = mn_crc32(0, npy, n);
    static const char name[] = "y_train.npy";
    uint8_t lh[30] = {0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0};
    size_t cn = n + 5;
    for (int k = 0; k < 4; k++) lh[14 + k] = (uint8_t)(crc >> 8 * k), lh[18 + k] = (uint8_t)(cn >> 8 * k), lh[22 + k] = (uint8_t)(n >> 8 * k);
    lh[26] = sizeof name - 1;
    put_bytes(&b, lh, 30);
    put_bytes(&b, name, sizeof name - 1);
    uint8_t blk[5] = {1, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n, (uint8_t)(~n >> 8)};
    put_bytes(&b, blk, 5);
    put_bytes(&b, npy, n);
    size_t cd = b.n;
    uint8_t ch[46] = {0x50, 0x4b, 1, 2, 20, 0, 20, 0, 0, 0, 8, 0};
    memcpy(ch + 16, lh + 14, 12);
    ch[28] = sizeof name - 1;
    put_bytes(&b, ch, 46);
    put_bytes(&b, name, sizeof name - 1);
    uint8_t end[22] = {0x50, 0x4b, 5, 6, 0, 0, 0, 0, 1, 0, 1, 0};
    size_t cds = b.n - cd;
    for (int k = 0; k < 4; k++) end[12 + k] = (uint8_t)(cds >> 8 * k), end[16 + k] = (uint8_t)(cd >> 8 * k);
    put_bytes(&b, end, 22);
    put_file("npz", "deflated-i8.npz", b.p, b.n);
    put_file("npz", "truncated.npz", b.p, b.n / 2);
    free(b.p);
}

static void gen_csv(void)
{
    static const struct {
        const char *name, *text;
    } f[] = {
        {"kaggle.csv", "label,pixel0,pixel1,pixel2,pixel3\n1,0,255,3,4\n7,9,8,7,6\n"},
        {"plain.csv", "5,1,2,3,4\r\n6,1,2,3,4\r\n"},
        {"unlabelled.csv", "pixel0,pixel1,pixel2,pixel3\n1,2,3,4\n"},
        {"ragged.csv", "label,a,b,c,d\n1,2,3,4\n"},
        {"pixel-256.csv", "label,a,b,c,d\n1,2,3,256,5\n"},
        {"label-last.csv", "a,b,c,d,label\n1,2,3,4,9\n"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) put_file("csv", f[i].name, f[i].text, strlen(f[i].text));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds OUTDIR (with idx, gzip, modelfile, arch and image subdirectories)\n");
        return 2;
    }
    outdir = argv[1];
    gen_idx();
    gen_gzip();
    gen_models();
    gen_arch();
    gen_images();
    gen_npz();
    gen_csv();
    return failures ? 1 : 0;
}
