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

/* Reads the whole regular file at path, at most max bytes, into *data (NUL-terminated, caller
 * frees). Returns 0, ERR_NOT_FOUND when absent, ERR_TOO_BIG, or ERR_IO, with *why. */
int fsutil_read_file(const char *path, size_t max, char **data, size_t *len, char **why);

/* Writes the lowercase hex SHA-256 of s, cut to hexlen digits (≤ 64), to out[hexlen + 1]. */
void fsutil_sha256_hex(const char *s, size_t len, char *out, size_t hexlen);

/* Returns the directory part of path, newly allocated ("." when there is none). */
char *fsutil_dirname(const char *path);

#endif
