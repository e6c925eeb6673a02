/*
 * md5.h - MD5 (RFC 1321), only to compute the file names mcp-remote gives its token files.
 *
 * mcp-remote names every file it writes for a server after the MD5 of the server URL
 * (reference/oauth.md §3); reusing its tokens means recomputing that name. MD5 is not used for
 * anything that needs collision resistance. Like sha256.h, this avoids linking libcrypto.
 * Pure function; any thread.
 */
#ifndef MCPZIP_MD5_H
#define MCPZIP_MD5_H

#include <stddef.h>
#include <stdint.h>

/* Writes the 16-byte digest of data[0..len) to out. */
void md5(const void *data, size_t len, uint8_t out[16]);

/* Writes the 32 lowercase hex digits of the digest of data[0..len) and a NUL to out. */
void md5_hex(const void *data, size_t len, char out[33]);

#endif
