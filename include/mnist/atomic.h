/* atomic.h - writing files so that a reader never sees a partial one.
 *
 * Every writer in the library (model files, checkpoints, PNG, SVG) goes
 * through these three calls. The data goes to "<path>.tmp.<pid>" beside the
 * destination, which is flushed, fsynced and renamed over path; a crash or a
 * SIGKILL at any moment leaves either the old file or the new one. */
#ifndef MNIST_ATOMIC_H
#define MNIST_ATOMIC_H

#include <stdio.h>

#include "mnist/error.h"

/* Creates "<path>.tmp.<pid>" and returns it open for writing; *tmp receives
 * its name, to pass on to mn_atomic_commit. NULL and e set on failure. */
FILE *mn_atomic_open(const char *path, char **tmp, mn_err *e);

/* Flushes, fsyncs and closes f, then renames it over path and syncs the
 * directory, if ok (the caller's writes all succeeded) and all of that
 * succeeds; otherwise removes the temporary file. After a successful rename
 * it also removes temporary files of path left by processes that no longer
 * exist (a writer killed mid-write). Frees tmp; returns 0 or -1 with e set. */
int mn_atomic_commit(FILE *f, const char *path, char *tmp, int ok, mn_err *e);

/* Checks that path could be written now (its directory takes a new file and
 * path is not a directory) by creating and removing the temporary file, so
 * that a long job can fail before it starts rather than at its end. */
int mn_atomic_probe(const char *path, mn_err *e);

#endif
