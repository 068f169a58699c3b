/* fuzz.h - what the fuzz targets share.
 *
 * Every target defines LLVMFuzzerTestOneInput(data, size). Built with
 * clang -fsanitize=fuzzer it is a libFuzzer binary (cmake -DMNIST_FUZZ=ON,
 * scripts/fuzz.sh); linked with driver.c (any compiler) it replays files and
 * directories of inputs, which is how ctest's fuzz_regress runs the seed
 * corpus and tests/fuzz/regress/ in every build.
 *
 * The library reads files by path, so targets that need a file write the
 * input to one private temporary file per process (fz_tmp; its name is
 * reused, the file is removed after every input by fz_tmp_done).
 *
 * FZ_CHECK states an invariant; when it fails the target prints it and
 * aborts, which libFuzzer and the driver both report as a crash.
 */
#ifndef MNIST_FUZZ_H
#define MNIST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond, ...)                                                                                          \
    do {                                                                                                             \
        if (!(cond)) {                                                                                               \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);                             \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fputc('\n', stderr);                                                                                     \
            abort();                                                                                                 \
        }                                                                                                            \
    } while (0)

/* An error message the library left: non-empty, one line, and (when prefix
 * is non-NULL) starting with "<prefix>: ", i.e. naming the file. */
static inline void fz_check_msg(const char *msg, const char *prefix)
{
    FZ_CHECK(msg[0] != '\0', "empty error message");
    FZ_CHECK(memchr(msg, '\0', 512) != NULL, "unterminated error message");
    FZ_CHECK(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL, "multi-line error message: %s", msg);
    if (prefix) {
        size_t n = strlen(prefix);
        FZ_CHECK(strncmp(msg, prefix, n) == 0 && msg[n] == ':', "error does not name '%s': %s", prefix, msg);
    }
}

/* A private temporary file "<TMPDIR or /tmp>/mnist-fuzz-<tag>-<random>",
 * created once (exclusively, with C11's "wx" mode) and removed at exit. */
static char fz_tmp_path[512];

static void fz_tmp_remove(void)
{
    if (fz_tmp_path[0]) remove(fz_tmp_path);
}

static inline const char *fz_tmp(const char *tag)
{
    if (fz_tmp_path[0]) return fz_tmp_path;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    /* a name nobody else has: the address of a local and the clock, mixed */
    unsigned long long x = (unsigned long long)(uintptr_t)&dir ^ (unsigned long long)clock() ^
                           ((unsigned long long)time(NULL) << 20);
    for (int attempt = 0; attempt < 100; attempt++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(fz_tmp_path, sizeof fz_tmp_path, "%s/mnist-fuzz-%s-%012llx", dir, tag, x >> 16);
        FILE *f = fopen(fz_tmp_path, "wxb");
        if (f) {
            fclose(f);
            atexit(fz_tmp_remove);
            return fz_tmp_path;
        }
    }
    fprintf(stderr, "fuzz: cannot create a temporary file in %s\n", dir);
    abort();
}

/* Removes the temporary file after an input (recreated by the next
 * fz_write), so that nothing is left behind when the process ends without
 * running atexit handlers, as libFuzzer's workers do; only an input that
 * crashes leaves its file. */
static inline void fz_tmp_done(void) { fz_tmp_remove(); }

/* Replaces the contents of path with data[0..size). */
static inline void fz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL, "cannot write %s", path);
    FZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "short write to %s", path);
    FZ_CHECK(fclose(f) == 0, "cannot close %s", path);
}

#endif
