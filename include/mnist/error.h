/* error.h - how the library reports failure.
 *
 * Library functions never print. A function that can fail takes an
 * `mn_err *` as its last argument, returns 0 on success and -1 on failure,
 * and leaves one line in err->msg of the form "<file>: <what is wrong>"
 * (or just "<what is wrong>" when no file is involved). The CLI prints it
 * as "mnist: <msg>".
 */
#ifndef MNIST_ERROR_H
#define MNIST_ERROR_H

typedef struct {
    char msg[512];
} mn_err;

/* Formats a message into e (if e is non-NULL) and returns -1, so callers
 * can write `return mn_fail(e, "%s: truncated", path);`. */
int mn_fail(mn_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
