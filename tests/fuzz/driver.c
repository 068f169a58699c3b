/* driver.c - runs a fuzz target over files, without libFuzzer.
 *
 *   fuzz_<target>_run [-q] PATH...
 *
 * Each PATH is a file (one input) or a directory (every regular file in it,
 * in name order, not recursing). Linked with one fuzz_<target>.c, this is
 * the corpus regression ctest runs in every build; a crash or a failed
 * invariant aborts with the target's message, and the driver names the input
 * first (on stderr) so the failure can be reproduced. Exit 0 when every input
 * ran, 1 when a path could not be read. Uses POSIX dirent for directories. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int quiet;
static long n_inputs;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz driver: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        fprintf(stderr, "fuzz driver: %s: %s\n", path, err ? "read error" : "out of memory");
        return -1;
    }
    if (!quiet) fprintf(stderr, "running %s (%zu bytes)\n", path, n);
    /* an exact-size copy, so that ASan sees reads past the end of the input */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    n_inputs++;
    return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz driver: %s: cannot open directory\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        size_t dl = strlen(dir);
        snprintf(names[n], len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (rc == 0 && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) rc = run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0, first = 1;
    if (argc > 1 && strcmp(argv[1], "-q") == 0) quiet = 1, first = 2;
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-q] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "fuzz driver: %s: no such file or directory\n", argv[i]);
            rc = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            rc |= run_dir(argv[i]) ? 1 : 0;
        } else {
            rc |= run_file(argv[i]) ? 1 : 0;
        }
    }
    printf("%s: %ld inputs ran\n", argv[0], n_inputs);
    return rc;
}
