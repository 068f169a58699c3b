/* test.h - the few macros our unit tests share.
 *
 * CHECK(cond) records a failure (with file:line and the condition) and goes
 * on; a test program ends with `return test_summary("name");`, which prints
 * "N passed, N failed" and returns nonzero if anything failed. A test that
 * cannot run here (e.g. no real MNIST) calls test_skip("why"), which exits 77,
 * ctest's SKIP code. */
#ifndef MNIST_TEST_H
#define MNIST_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_passed_, test_failed_;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            test_passed_++;                                                           \
        } else {                                                                      \
            test_failed_++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (cond) {                                                                   \
            test_passed_++;                                                           \
        } else {                                                                      \
            test_failed_++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g", (double)(a), (double)(b))

static inline int test_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}

static inline void test_skip(const char *why)
{
    printf("SKIP: %s\n", why);
    exit(77);
}

#endif
