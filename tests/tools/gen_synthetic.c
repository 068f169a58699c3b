/* gen_synthetic.c - writes a small, learnable MNIST-format data set for the
 * CLI tests: each class is a bright 6x6 block at its own place on a noisy
 * 28x28 canvas, jittered by a pixel or two.
 *
 *   gen_synthetic DIR N_TRAIN N_TEST SEED */
#include <stdio.h>
#include <stdlib.h>

#include "mnist/idx.h"
#include "mnist/rng.h"

static int write_set(const char *dir, const char *prefix, int n, mn_rng *r)
{
    uint8_t *img = malloc((size_t)n * 784), *lab = malloc((size_t)n);
    if (!img || !lab) return 1;
    for (int i = 0; i < n; i++) {
        int c = (int)mn_rng_below(r, 10);
        lab[i] = (uint8_t)c;
        uint8_t *p = img + (size_t)i * 784;
        for (int k = 0; k < 784; k++) p[k] = (uint8_t)mn_rng_below(r, 60);
        int y0 = 2 + (c / 5) * 12 + (int)mn_rng_below(r, 3), x0 = 1 + (c % 5) * 5 + (int)mn_rng_below(r, 2);
        for (int y = y0; y < y0 + 6 && y < 28; y++)
            for (int x = x0; x < x0 + 4 && x < 28; x++) p[y * 28 + x] = (uint8_t)(200 + mn_rng_below(r, 56));
    }
    char path[4096];
    mn_err e;
    uint32_t idims[3] = {(uint32_t)n, 28, 28}, ldims[1] = {(uint32_t)n};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    int rc = mn_idx_write(path, 3, idims, img, &e);
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
        rc = mn_idx_write(path, 1, ldims, lab, &e);
    }
    if (rc) fprintf(stderr, "gen_synthetic: %s\n", e.msg);
    free(img);
    free(lab);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen_synthetic DIR N_TRAIN N_TEST SEED\n");
        return 2;
    }
    mn_rng r;
    mn_rng_seed(&r, strtoull(argv[4], NULL, 10));
    return write_set(argv[1], "train", atoi(argv[2]), &r) || write_set(argv[1], "t10k", atoi(argv[3]), &r);
}
