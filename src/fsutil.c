/*
 * fsutil.c - atomic writes, directories, bounded reads, hashing; see fsutil.h.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sha256.h"
#include "xmem.h"

int fsutil_mkdirs(const char *dir, mode_t mode, char **why)
{
    char *p, *s;
    struct stat st;
    int rc = 0;

    if (dir == NULL || *dir == '\0') {
        *why = xstrdup("cannot create a directory with an empty name");
        return ERR_IO;
    }
    p = xstrdup(dir);
    for (s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char save = *s;

        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            *why = xasprintf("cannot create directory %s: %s", p, strerror(errno));
            rc = ERR_IO;
            break;
        }
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            *why = xasprintf("cannot create directory %s: a file of that name exists", p);
            rc = ERR_IO;
            break;
        }
        *s = save;
        if (save == '\0')
            break;
    }
    free(p);
    return rc;
}

char *fsutil_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int fsutil_atomic_begin(struct fsutil_atomic *w, const char *path, mode_t mode, char **why)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->path = path;
    w->tmp = xasprintf("%s.tmp.%d.%ld", path, (int)getpid(), (long)ts.tv_nsec);
    /* Read-write, so that commit can hand the descriptor back for reading. */
    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (w->fd < 0) {
        *why = xasprintf("cannot create %s: %s", w->tmp, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        return ERR_IO;
    }
    /* The umask may have narrowed or (never) widened the mode; make it exact. */
    if (fchmod(w->fd, mode) != 0) {
        *why = xasprintf("cannot set permissions on %s: %s", w->tmp, strerror(errno));
        fsutil_atomic_abort(w);
        return ERR_IO;
    }
    return 0;
}

int fsutil_atomic_write(struct fsutil_atomic *w, const void *data, size_t len, char **why)
{
    const char *p = data;
    ssize_t n;

    while (len > 0) {
        n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *why = xasprintf("cannot write %s: %s", w->tmp, n < 0 ? strerror(errno) : "no space");
            fsutil_atomic_abort(w);
            return ERR_IO;
        }
        p += n;
        len -= (size_t)n;
        w->size += (unsigned long long)n;
    }
    return 0;
}

int fsutil_atomic_commit(struct fsutil_atomic *w, int *fd_out, char **why)
{
    char *dir;
    int dfd;

    if (fsync(w->fd) != 0) {
        *why = xasprintf("cannot flush %s: %s", w->tmp, strerror(errno));
        fsutil_atomic_abort(w);
        return ERR_IO;
    }
    if (fd_out == NULL && close(w->fd) != 0) {
        w->fd = -1;
        *why = xasprintf("cannot flush %s: %s", w->tmp, strerror(errno));
        fsutil_atomic_abort(w);
        return ERR_IO;
    }
    if (fd_out == NULL)
        w->fd = -1;
    if (rename(w->tmp, w->path) != 0) {
        *why = xasprintf("cannot replace %s: %s", w->path, strerror(errno));
        fsutil_atomic_abort(w);
        return ERR_IO;
    }
    free(w->tmp);
    w->tmp = NULL;
    dir = fsutil_dirname(w->path);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    if (fd_out != NULL)
        *fd_out = w->fd;
    w->fd = -1;
    return 0;
}

void fsutil_atomic_abort(struct fsutil_atomic *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp != NULL)
        unlink(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
}

int fsutil_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char **why)
{
    struct fsutil_atomic w;
    int rc;

    rc = fsutil_atomic_begin(&w, path, mode, why);
    if (rc == 0)
        rc = fsutil_atomic_write(&w, data, len, why);
    if (rc == 0)
        rc = fsutil_atomic_commit(&w, NULL, why);
    return rc;
}

int fsutil_read_file(const char *path, size_t max, char **data, size_t *len, char **why)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = ERR_IO;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = xasprintf("cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = xasprintf("%s is not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        *why = xasprintf("%s is larger than %zu bytes", path, max);
        rc = ERR_TOO_BIG;
        goto out;
    }
    buf = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

void fsutil_sha256_hex(const char *s, size_t len, char *out, size_t hexlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[32];
    size_t i;

    sha256(s, len, md);
    if (hexlen > 64)
        hexlen = 64;
    for (i = 0; i < hexlen; i++)
        out[i] = hex[(md[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
    out[hexlen] = '\0';
}
