/* atomic.h - writing files so that a reader never sees a partial one.
 *
 * Every writer in the library (model files, checkpoints, PNG, SVG) goes
 * through these three calls. What happens depends on what path is:
 *  - a new file or a regular file: the data goes to "<path>.tmp.<pid>"
 *    beside the destination, which is flushed, fsynced and renamed over
 *    path; a crash or a SIGKILL at any moment leaves either the old file or
 *    the new one;
 *  - an existing file that is not a regular file (a character device such
 *    as /dev/null, a FIFO, a block device): opened and written in place,
 *    never replaced (a FIFO's open waits for a reader, as a shell's > does;
 *    each write is one open and close, so a reader of a file written every
 *    epoch must open it again each time);
 *  - "-": standard output (what the program printed before is flushed
 *    first);
 *  - a symbolic link: followed. Its target is what gets written, by the
 *    rules above (a regular target is replaced atomically, with the
 *    temporary file beside the target), and the link stays a link; a link
 *    to nothing is an error;
 *  - a directory: an error. */
#ifndef MNIST_ATOMIC_H
#define MNIST_ATOMIC_H

#include <stdio.h>

#include "mnist/error.h"

/* Creates "<path>.tmp.<pid>" (or opens path in place, see above) and returns
 * it open for writing; *tmp receives a token (the temporary file's name), to
 * pass on to mn_atomic_commit. NULL and e set on failure. */
FILE *mn_atomic_open(const char *path, char **tmp, mn_err *e);

/* Flushes, fsyncs and closes f, then renames it over path and syncs the
 * directory (in place: flushes and closes; standard output itself stays open)
 * if ok (the caller's writes all succeeded) and all of that
 * succeeds; otherwise removes the temporary file. After a successful rename
 * it also removes temporary files of path left by processes that no longer
 * exist (a writer killed mid-write). Frees tmp; returns 0 or -1 with e set. */
int mn_atomic_commit(FILE *f, const char *path, char *tmp, int ok, mn_err *e);

/* Checks that path could be written now (its directory takes a new file and
 * path is not a directory) by creating and removing the temporary file, so
 * that a long job can fail before it starts rather than at its end. A
 * device or FIFO is only checked for write permission (never opened). */
int mn_atomic_probe(const char *path, mn_err *e);

#endif
