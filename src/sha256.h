/*
 * sha256.h - SHA-256 (FIPS 180-4), for file names derived from URLs and paths.
 *
 * mcpzip hashes a path or URL on every start (the cache file name, later token file names).
 * Linking OpenSSL's libcrypto only for that cost about 2.5 million instructions of dynamic
 * loading on every exec (README, "Stack changes"), a large share of a 5 ms startup budget, so
 * this small implementation does it instead. Pure function; any thread.
 */
#ifndef MCPZIP_SHA256_H
#define MCPZIP_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Writes the 32-byte digest of data[0..len) to out. */
void sha256(const void *data, size_t len, uint8_t out[32]);

#endif
