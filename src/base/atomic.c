/* atomic.c - temp file, fsync, rename: see include/mnist/atomic.h. */
#define _POSIX_C_SOURCE 200809L
#include "mnist/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

FILE *mn_atomic_open(const char *path, char **tmp, mn_err *e)
{
    size_t cap = strlen(path) + 32;
    *tmp = malloc(cap);
    if (!*tmp) {
        mn_fail(e, "%s: out of memory", path);
        return NULL;
    }
    snprintf(*tmp, cap, "%s.tmp.%ld", path, (long)getpid());
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
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) ok = 0, err = errno;
    if (fclose(f) != 0 && ok) ok = 0, err = errno;
    int rc = 0;
    if (!ok) {
        remove(tmp);
        rc = mn_fail(e, "%s: write error on %s: %s", path, tmp, strerror(err));
    } else if (rename(tmp, path) != 0) {
        err = errno;
        remove(tmp);
        rc = mn_fail(e, "%s: cannot rename %s into place: %s", path, tmp, strerror(err));
    }
    free(tmp);
    if (rc == 0) {
        char *dir = dir_of(path);
        if (dir) {
            sync_dir(dir);
            remove_stale(dir, path);
            free(dir);
        }
    }
    return rc;
}

int mn_atomic_probe(const char *path, mn_err *e)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return mn_fail(e, "%s: is a directory", path);
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    fclose(f);
    remove(tmp);
    free(tmp);
    return 0;
}
