/* rng.h - our own seeded random numbers (xoshiro256**, seeded by splitmix64).
 *
 * Every random choice in training (weight init, dropout masks, shuffling)
 * draws from an mn_rng seeded from --seed, so the same seed gives the same
 * model file on every machine and for every thread count. */
#ifndef MNIST_RNG_H
#define MNIST_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mn_rng;

void mn_rng_seed(mn_rng *r, uint64_t seed);
uint64_t mn_rng_next(mn_rng *r);
/* Uniform float in [0, 1), 24 random bits. */
float mn_rng_uniform(mn_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint32_t mn_rng_below(mn_rng *r, uint32_t n);
/* Fisher-Yates shuffle of a[0..n). */
void mn_rng_shuffle(mn_rng *r, int *a, int n);

#endif
