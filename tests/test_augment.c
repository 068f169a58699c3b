/* test_augment.c - data augmentation: spec parsing, shifts, flips, draws. */
#include <string.h>

#include "mnist/augment.h"
#include "test.h"

static void test_parse(void)
{
    mn_augment a;
    mn_err e;
    char buf[64];
    const char *good[][2] = {{"none", "none"},       {"shift:2", "shift:2"}, {"flip", "flip"},
                             {"shift:3,flip", "shift:3,flip"}, {"flip,shift:1", "shift:1,flip"}, {"shift:8", "shift:8"}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK_MSG(mn_augment_parse(&a, good[i][0], &e) == 0, "%s: %s", good[i][0], e.msg);
        mn_augment_describe(&a, buf, sizeof buf);
        CHECK_MSG(strcmp(buf, good[i][1]) == 0, "%s described as %s", good[i][0], buf);
    }
    CHECK(mn_augment_parse(&a, NULL, &e) == 0 && !mn_augment_on(&a));
    const char *bad[] = {"", "shift", "shift:", "shift:0", "shift:9", "shift:-1", "shift:2x", "shift:+2", "flip,flip",
                         "shift:1,shift:2", "rotate:10", "shift:2,", ",flip", "none,flip", "FLIP"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a.shift = 5;
        CHECK_MSG(mn_augment_parse(&a, bad[i], &e) == -1 && !mn_augment_on(&a), "'%s' accepted", bad[i]);
        CHECK(strstr(e.msg, "--augment") != NULL);
    }
}

/* A 7 x 9 image with distinct values, moved and mirrored, against the same
 * draws made here. */
static void test_transform(void)
{
    enum { R = 7, C = 9, B = 50 };
    float x[B][R * C], ref[R * C], tmp[R * C];
    for (int i = 0; i < B; i++)
        for (int p = 0; p < R * C; p++) x[i][p] = (float)(p + 1) + 0.001f * (float)i;
    mn_augment a = {3, 1};
    mn_rng rng, mirror;
    mn_rng_seed(&rng, 99);
    mirror = rng;
    mn_augment_batch(&a, &x[0][0], B, R, C, tmp, &rng);
    int moved = 0, flipped = 0, bad = 0;
    for (int i = 0; i < B; i++) {
        int dy = (int)mn_rng_below(&mirror, 7) - 3, dx = (int)mn_rng_below(&mirror, 7) - 3;
        int flip = (int)(mn_rng_next(&mirror) >> 63);
        moved += dy || dx;
        flipped += flip;
        for (int y = 0; y < R; y++)
            for (int c = 0; c < C; c++) {
                /* output (y, c) came from (y - dy, c' - dx), c' = c before the mirror */
                int cs = flip ? C - 1 - c : c;
                int sy = y - dy, sx = cs - dx;
                ref[y * C + c] = sy >= 0 && sy < R && sx >= 0 && sx < C ? (float)(sy * C + sx + 1) + 0.001f * (float)i
                                                                        : 0.0f;
            }
        bad += memcmp(ref, x[i], sizeof ref) != 0;
    }
    CHECK_MSG(bad == 0, "%d of %d images differ from the reference", bad, B);
    CHECK(moved > B / 2 && flipped > B / 5 && flipped < B - B / 5);
    /* the same generator state gives the same batch: resumable */
    CHECK(memcmp(&rng, &mirror, sizeof rng) == 0);

    /* off: untouched, no draws */
    float y[R * C];
    for (int p = 0; p < R * C; p++) y[p] = (float)p;
    mn_augment off = {0, 0};
    mn_rng r2 = rng;
    mn_augment_batch(&off, y, 1, R, C, tmp, &r2);
    int same = 1;
    for (int p = 0; p < R * C; p++) same &= y[p] == (float)p;
    CHECK(same && memcmp(&r2, &rng, sizeof rng) == 0);

    /* a shift larger than the image empties it */
    mn_augment big = {8, 0};
    float z[4], t4[4] = {1, 2, 3, 4};
    int emptied = 0;
    for (int k = 0; k < 200; k++) {
        memcpy(z, t4, sizeof z);
        mn_augment_batch(&big, z, 1, 2, 2, tmp, &rng);
        emptied += z[0] == 0 && z[1] == 0 && z[2] == 0 && z[3] == 0;
    }
    CHECK(emptied > 100);
}

int main(void)
{
    test_parse();
    test_transform();
    return test_summary("test_augment");
}
