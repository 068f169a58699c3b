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

/* Inline: dropout draws one number per activation in every training step,
 * and a call per draw cost more than the generator itself. */
static inline uint64_t mn_rng_next(mn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform float in [0, 1), 24 random bits. */
static inline float mn_rng_uniform(mn_rng *r) { return (float)(mn_rng_next(r) >> 40) * (1.0f / 16777216.0f); }
/* Uniform integer in [0, n), unbiased; n > 0. */
uint32_t mn_rng_below(mn_rng *r, uint32_t n);
/* Fisher-Yates shuffle of a[0..n). */
void mn_rng_shuffle(mn_rng *r, int *a, int n);

#endif
