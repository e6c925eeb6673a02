/*
 * fsutil.h - the file operations whose correctness matters: atomic replacement with permissions
 * set at creation, directory creation with a mode, bounded whole-file reads, and hashing of names.
 *
 * Files that matter (the catalog cache now, tokens later) are written to a temporary file in the
 * same directory, fsynced, renamed over the target and the directory fsynced, so a crash leaves
 * either the old or the new content, never a torn file. Any thread; no shared state.
 */
#ifndef MCPZIP_FSUTIL_H
#define MCPZIP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates dir and its missing parents with mode. Returns 0 or ERR_IO with *why. */
int fsutil_mkdirs(const char *dir, mode_t mode, char **why);

/* Atomically replaces path with len bytes of data, file mode `mode`. Returns 0 or ERR_IO. */
int fsutil_write_atomic(const char *path, const char *data, size_t len, mode_t mode, char **why);

/*
 * The same in steps, for content written piece by piece: begin creates the temporary file,
 * write appends to it (w->size counts the bytes so far), commit flushes it and renames it over
 * path. Each returns 0 or ERR_IO with *why; a step that fails has already removed the
 * temporary file, and abort (harmless after a failure or a commit) gives up on purpose.
 * commit can hand back a descriptor of the new file, open for reading (caller closes), so the
 * caller reads back exactly what it wrote even if path is replaced again later.
 */
struct fsutil_atomic {
    int fd;
    char *tmp;
    const char *path; /* borrowed until commit or abort */
    unsigned long long size;
};
int fsutil_atomic_begin(struct fsutil_atomic *w, const char *path, mode_t mode, char **why);
int fsutil_atomic_write(struct fsutil_atomic *w, const void *data, size_t len, char **why);
int fsutil_atomic_commit(struct fsutil_atomic *w, int *fd_out, char **why);
void fsutil_atomic_abort(struct fsutil_atomic *w);

/* Reads the whole regular file at path, at most max bytes, into *data (NUL-terminated, caller
 * frees). Returns 0, ERR_NOT_FOUND when absent, ERR_TOO_BIG, or ERR_IO, with *why. */
int fsutil_read_file(const char *path, size_t max, char **data, size_t *len, char **why);

/* Writes the lowercase hex SHA-256 of s, cut to hexlen digits (≤ 64), to out[hexlen + 1]. */
void fsutil_sha256_hex(const char *s, size_t len, char *out, size_t hexlen);

/* Returns the directory part of path, newly allocated ("." when there is none). */
char *fsutil_dirname(const char *path);

#endif
