/* gen_synthetic.c - writes a small, learnable MNIST-format data set for the
 * CLI tests: each class is a bright block at its own place on a noisy
 * 28x28 canvas, jittered by a pixel or two.
 *
 *   gen_synthetic DIR N_TRAIN N_TEST SEED [STYLE]
 *
 * STYLE: mnist (default; train-*, t10k-*, 10 classes; KMNIST has the same
 * names), emnist (emnist-balanced-{train,test}-*, 47 classes, images stored
 * transposed as EMNIST's are, and emnist-balanced-mapping.txt), qmnist
 * (qmnist-{train,test}-images-idx3-ubyte and labels as idx2 int32 rows of
 * 8 with the class in column 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/idx.h"
#include "mnist/rng.h"

/* EMNIST balanced's classes: digits, upper case, and 11 lower-case letters. */
static const char emnist_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt";

static int write_i32_labels(const char *path, const uint8_t *lab, int n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    uint8_t head[12] = {0, 0, 0x0C, 2, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, 0, 0, 0, 8};
    int ok = fwrite(head, 1, 12, f) == 12;
    for (int i = 0; i < n && ok; i++) {
        uint8_t row[32] = {0};
        row[3] = lab[i];       /* class */
        row[7] = (uint8_t)(i % 7); /* other QMNIST columns: writer, index, ... */
        row[11] = 1;
        ok = fwrite(row, 1, 32, f) == 32;
    }
    return fclose(f) != 0 || !ok;
}

static int write_set(const char *dir, const char *style, const char *split, int n, mn_rng *r)
{
    int emnist = !strcmp(style, "emnist"), qmnist = !strcmp(style, "qmnist");
    int classes = emnist ? 47 : 10;
    uint8_t *img = malloc((size_t)n * 784), *lab = malloc((size_t)n);
    if (!img || !lab) return 1;
    for (int i = 0; i < n; i++) {
        int c = (int)mn_rng_below(r, (uint64_t)classes);
        lab[i] = (uint8_t)c;
        uint8_t *p = img + (size_t)i * 784;
        for (int k = 0; k < 784; k++) p[k] = (uint8_t)mn_rng_below(r, 60);
        int y0, x0, bh, bw;
        if (emnist) /* a 7x7 grid of 4x4 cells, a 3x3 block in each */
            y0 = (c / 7) * 4, x0 = (c % 7) * 4 + (int)mn_rng_below(r, 2), bh = 3, bw = 3;
        else
            y0 = 2 + (c / 5) * 12 + (int)mn_rng_below(r, 3), x0 = 1 + (c % 5) * 5 + (int)mn_rng_below(r, 2), bh = 6, bw = 4;
        for (int y = y0; y < y0 + bh && y < 28; y++)
            for (int x = x0; x < x0 + bw && x < 28; x++) p[y * 28 + x] = (uint8_t)(200 + mn_rng_below(r, 56));
        if (emnist) { /* stored transposed */
            uint8_t t[784];
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) t[x * 28 + y] = p[y * 28 + x];
            memcpy(p, t, 784);
        }
    }
    char path[4096], pre[64];
    mn_err e;
    if (emnist) snprintf(pre, sizeof pre, "emnist-balanced-%s", split);
    else if (qmnist) snprintf(pre, sizeof pre, "qmnist-%s", split);
    else snprintf(pre, sizeof pre, "%s", split);
    uint32_t idims[3] = {(uint32_t)n, 28, 28}, ldims[1] = {(uint32_t)n};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, pre);
    int rc = mn_idx_write(path, 3, idims, img, &e);
    if (rc) fprintf(stderr, "gen_synthetic: %s\n", e.msg);
    if (!rc) {
        if (qmnist) {
            snprintf(path, sizeof path, "%s/%s-labels-idx2-int", dir, pre);
            if ((rc = write_i32_labels(path, lab, n))) fprintf(stderr, "gen_synthetic: cannot write %s\n", path);
        } else {
            snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, pre);
            if ((rc = mn_idx_write(path, 1, ldims, lab, &e))) fprintf(stderr, "gen_synthetic: %s\n", e.msg);
        }
    }
    if (!rc && emnist) {
        snprintf(path, sizeof path, "%s/emnist-balanced-mapping.txt", dir);
        FILE *f = fopen(path, "w");
        for (int c = 0; f && c < 47; c++) fprintf(f, "%d %d\n", c, emnist_chars[c]);
        rc = !f || fclose(f) != 0;
    }
    free(img);
    free(lab);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: gen_synthetic DIR N_TRAIN N_TEST SEED [mnist|emnist|qmnist]\n");
        return 2;
    }
    const char *style = argc == 6 ? argv[5] : "mnist";
    if (strcmp(style, "mnist") && strcmp(style, "emnist") && strcmp(style, "qmnist")) {
        fprintf(stderr, "gen_synthetic: unknown style %s\n", style);
        return 2;
    }
    mn_rng r;
    mn_rng_seed(&r, strtoull(argv[4], NULL, 10));
    const char *test = strcmp(style, "mnist") ? "test" : "t10k";
    return write_set(argv[1], style, "train", atoi(argv[2]), &r) || write_set(argv[1], style, test, atoi(argv[3]), &r);
}
