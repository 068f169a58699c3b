/* timing.h - the clock and the median that the benchmarks share (internal:
 * src/cli/cmd_bench.c, src/gemm_bench.c and the programs in scripts/, which
 * include it by path). Header-only, so scripts/bench_openblas.c, built
 * without our library, can use it too. Include after defining
 * _POSIX_C_SOURCE (for clock_gettime). */
#ifndef MN_TIMING_H
#define MN_TIMING_H

#include <stdlib.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double mn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int mn_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v; the mean of the middle two when n is even;
 * 0 when n <= 0). */
static inline double mn_median(double *v, int n)
{
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, mn_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
