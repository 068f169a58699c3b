/* cli.c - option parsing and error reporting shared by the commands. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mnist %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mnist %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_fail(const mn_err *e)
{
    fprintf(stderr, "mnist: %s\n", e->msg);
    return 1;
}

int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option %s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s must be an integer from %ld to %ld, not '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_float(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        cli_usage_error(cmd, "%s must be a number from %g to %g, not '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_u64(const char *cmd, const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-') {
        cli_usage_error(cmd, "%s must be a non-negative integer, not '%s'", flag, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

const char *cli_data_source(const char *flag_value, FILE *note)
{
    if (flag_value) return flag_value;
    const char *env = getenv("MNIST_DATA");
    if (env && *env) return env;
    static char keras[4096];
    const char *home = getenv("HOME");
    struct stat sb;
    if (stat("data/mnist", &sb) != 0 && home && *home &&
        snprintf(keras, sizeof keras, "%s/.keras/datasets/mnist.npz", home) < (int)sizeof keras &&
        stat(keras, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (note) fprintf(note, "using %s (no data/mnist; --data chooses)\n", keras);
        return keras;
    }
    return "data/mnist";
}

int cli_data_match(const mn_dataset *train, mn_dataset *test, mn_err *e)
{
    if (test->c != train->c || test->h != train->h || test->w != train->w)
        return mn_fail(e, "%s: test images are %dx%dx%d, the training images %dx%dx%d", test->path, test->c, test->h,
                       test->w, train->c, train->h, train->w);
    if (test->n_classes > train->n_classes)
        return mn_fail(e, "%s: the test set has %d classes, the training set %d", test->path, test->n_classes,
                       train->n_classes);
    if (train->class_names && !test->class_names &&
        mn_data_set_names(test, (const char *const *)train->class_names, train->n_classes, e))
        return -1;
    test->n_classes = train->n_classes;
    return 0;
}

char *cli_names_join(const mn_dataset *ds)
{
    if (!ds->class_names) return NULL;
    size_t len = 1;
    for (int i = 0; i < ds->n_classes; i++) len += strlen(ds->class_names[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    for (int i = 0; i < ds->n_classes; i++) {
        size_t k = strlen(ds->class_names[i]);
        if (i) *p++ = ',';
        memcpy(p, ds->class_names[i], k);
        p += k;
    }
    *p = 0;
    return s;
}

void cli_names_free(char **names, int n)
{
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void cli_names_of_model(const char *meta, int n, char ***names)
{
    *names = NULL;
    if (!meta || n < 1 || n > MN_DATA_MAX_CLASSES) return;
    char **v = calloc((size_t)n, sizeof *v);
    if (!v) return;
    const char *p = meta;
    for (int i = 0; i < n; i++) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if ((q != NULL) != (i < n - 1) || len == 0 || len > MN_DATA_NAME_MAX || !(v[i] = malloc(len + 1))) {
            cli_names_free(v, n);
            return;
        }
        for (size_t k = 0; k < len; k++) {
            unsigned char ch = (unsigned char)p[k];
            v[i][k] = ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
        }
        v[i][len] = 0;
        p = q ? q + 1 : p + len;
    }
    *names = v;
}

double cli_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
