/* atomic.c - temp file, fsync, rename: see include/mnist/atomic.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "mnist/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." if none), malloc'd; NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

/* After a rename, the directory entry itself must reach the disk too.
 * Best effort: a failure here cannot undo the write. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Removes "<base>.tmp.<pid>" entries of dir whose process is gone: they are
 * what a SIGKILL during a write leaves. A live pid (another writer, or a
 * recycled pid) keeps its file; that can only leave garbage, never lose data. */
static void remove_stale(const char *dir, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (strncmp(name, base, blen) || strncmp(name + blen, ".tmp.", 5)) continue;
        const char *digits = name + blen + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || errno || pid <= 0 || pid == (long)getpid() || (pid_t)pid != pid) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        size_t dlen = strlen(dir), n = dlen + 1 + strlen(name) + 1;
        char *full = malloc(n);
        if (!full) break;
        snprintf(full, n, "%s/%s", dir, name);
        remove(full);
        free(full);
    }
    closedir(d);
}

/* Where a write to path goes. */
enum { DEST_REPLACE, DEST_IN_PLACE, DEST_STDOUT };

/* Classifies path: "-" is standard output; an existing file that is not a
 * regular file (a character or block device, a FIFO, a socket) is written in
 * place; anything else (a new file or a regular one) is replaced through a
 * temporary file. A symbolic link is followed: *target receives the path
 * the link resolves to (malloc'd), so the link stays a link and its target
 * is what is replaced or written; a dangling link is an error. For other
 * paths *target is a copy of path. -1 and e set on failure. */
static int classify(const char *path, char **target, mn_err *e)
{
    *target = NULL;
    if (strcmp(path, "-") == 0) return DEST_STDOUT;
    struct stat lsb, sb;
    if (lstat(path, &lsb) != 0) {
        if (errno != ENOENT) return mn_fail(e, "%s: %s", path, strerror(errno));
        *target = strdup(path);
        return *target ? DEST_REPLACE : mn_fail(e, "%s: out of memory", path);
    }
    if (S_ISLNK(lsb.st_mode)) {
        if (stat(path, &sb) != 0) {
            if (errno == ENOENT) return mn_fail(e, "%s: symbolic link to a file that does not exist", path);
            return mn_fail(e, "%s: %s", path, strerror(errno));
        }
        *target = realpath(path, NULL);
        if (!*target) return mn_fail(e, "%s: cannot resolve the symbolic link: %s", path, strerror(errno));
    } else {
        sb = lsb;
        *target = strdup(path);
        if (!*target) return mn_fail(e, "%s: out of memory", path);
    }
    if (S_ISDIR(sb.st_mode)) {
        free(*target);
        *target = NULL;
        return mn_fail(e, "%s: is a directory", path);
    }
    return S_ISREG(sb.st_mode) ? DEST_REPLACE : DEST_IN_PLACE;
}

/* The token mn_atomic_open hands out for a write in place (tmp's first byte
 * is 0, which no temporary file name has), followed by the path. */
static char *in_place_token(const char *path)
{
    size_t n = strlen(path);
    char *t = malloc(n + 2);
    if (t) {
        t[0] = 0;
        memcpy(t + 1, path, n + 1);
    }
    return t;
}

FILE *mn_atomic_open(const char *path, char **tmp, mn_err *e)
{
    *tmp = NULL;
    char *target;
    int kind = classify(path, &target, e);
    if (kind < 0) return NULL;
    if (kind != DEST_REPLACE) {
        int fd;
        if (kind == DEST_STDOUT) {
            fflush(stdout); /* what the program printed before comes first */
            fd = dup(STDOUT_FILENO);
        } else {
            /* no O_CREAT: if the device or FIFO went away we fail rather
             * than make a regular file in its place. A FIFO blocks here
             * until it has a reader, as a shell's > does. */
            fd = open(target, O_WRONLY | O_NOCTTY | O_TRUNC);
        }
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        *tmp = f ? in_place_token(path) : NULL;
        if (!f || !*tmp) {
            int err = errno;
            if (f) fclose(f);
            else if (fd >= 0) close(fd);
            mn_fail(e, "%s: cannot open for writing: %s", path, strerror(err));
            free(target);
            return NULL;
        }
        free(target);
        return f;
    }
    size_t cap = strlen(target) + 32;
    *tmp = malloc(cap);
    if (!*tmp) {
        mn_fail(e, "%s: out of memory", path);
        free(target);
        return NULL;
    }
    snprintf(*tmp, cap, "%s.tmp.%ld", target, (long)getpid());
    free(target);
    FILE *f = fopen(*tmp, "wb");
    if (!f) {
        mn_fail(e, "%s: cannot create %s: %s", path, *tmp, strerror(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

int mn_atomic_commit(FILE *f, const char *path, char *tmp, int ok, mn_err *e)
{
    int err = errno;
    if (tmp[0] == 0) { /* in place: nothing to rename; a FIFO or tty cannot fsync */
        if (ok && fflush(f) != 0) ok = 0, err = errno;
        if (fclose(f) != 0 && ok) ok = 0, err = errno;
        free(tmp);
        return ok ? 0 : mn_fail(e, "%s: write error: %s", path, strerror(err));
    }
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) ok = 0, err = errno;
    if (fclose(f) != 0 && ok) ok = 0, err = errno;
    /* the destination: tmp without its ".tmp.<pid>" (a link's target) */
    char *dest = strdup(tmp);
    char *suffix = dest ? strrchr(dest, '.') : NULL;
    if (suffix) {
        *suffix = 0;
        suffix = strrchr(dest, '.');
        if (suffix) *suffix = 0;
    }
    int rc = 0;
    if (!dest) {
        remove(tmp);
        rc = mn_fail(e, "%s: out of memory", path);
    } else if (!ok) {
        remove(tmp);
        rc = mn_fail(e, "%s: write error on %s: %s", path, tmp, strerror(err));
    } else if (rename(tmp, dest) != 0) {
        err = errno;
        remove(tmp);
        rc = mn_fail(e, "%s: cannot rename %s into place: %s", path, tmp, strerror(err));
    }
    free(tmp);
    if (rc == 0) {
        char *dir = dir_of(dest);
        if (dir) {
            sync_dir(dir);
            remove_stale(dir, dest);
            free(dir);
        }
    }
    free(dest);
    return rc;
}

int mn_atomic_probe(const char *path, mn_err *e)
{
    char *target;
    int kind = classify(path, &target, e);
    if (kind < 0) return -1;
    if (kind == DEST_STDOUT) return 0;
    if (kind == DEST_IN_PLACE) {
        /* opening a FIFO would block, and its reader would see an early end:
         * asking is enough */
        int rc = access(target, W_OK) == 0 ? 0 : mn_fail(e, "%s: not writable: %s", path, strerror(errno));
        free(target);
        return rc;
    }
    free(target);
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    fclose(f);
    remove(tmp);
    free(tmp);
    return 0;
}
