/* test_rng.c - the seeded generator: reproducible, in range, unbiased enough. */
#include <string.h>

#include "mnist/rng.h"
#include "test.h"

int main(void)
{
    mn_rng a, b;
    mn_rng_seed(&a, 7);
    mn_rng_seed(&b, 7);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= mn_rng_next(&a) == mn_rng_next(&b);
    CHECK(same);
    mn_rng_seed(&b, 8);
    CHECK(mn_rng_next(&a) != mn_rng_next(&b));

    /* seed 0 must not give the all-zero state (xoshiro's fixed point) */
    mn_rng_seed(&a, 0);
    CHECK(a.s[0] | a.s[1] | a.s[2] | a.s[3]);

    double sum = 0;
    float lo = 1, hi = 0;
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        float u = mn_rng_uniform(&a);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        counts[mn_rng_below(&a, 10)]++;
    }
    CHECK(lo >= 0.0f && hi < 1.0f);
    CHECK_NEAR(sum / 100000, 0.5, 0.01);
    for (int k = 0; k < 10; k++) CHECK_MSG(counts[k] > 9500 && counts[k] < 10500, "bucket %d: %d", k, counts[k]);

    int perm[100], seen[100] = {0};
    for (int i = 0; i < 100; i++) perm[i] = i;
    mn_rng_shuffle(&a, perm, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) seen[perm[i]]++, moved += perm[i] != i;
    int all_once = 1;
    for (int i = 0; i < 100; i++) all_once &= seen[i] == 1;
    CHECK(all_once);
    CHECK(moved > 80);
    return test_summary("test_rng");
}
