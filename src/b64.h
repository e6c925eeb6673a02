/*
 * b64.h - Base64 and base64url (RFC 4648 §4 and §5).
 *
 * OAuth needs base64url without padding for PKCE challenges (RFC 7636 §3) and random values,
 * and standard base64 with padding for HTTP Basic client authentication (RFC 6749 §2.3.1).
 * Decoding is strict: characters outside the alphabet, misplaced padding and non-zero trailing
 * bits are errors, so that one value has exactly one encoding. Pure functions; any thread. The
 * caller frees what they return.
 */
#ifndef MCPZIP_B64_H
#define MCPZIP_B64_H

#include <stddef.h>
#include <stdint.h>

/* Returns the standard base64 encoding of data[0..len) with '=' padding, newly allocated. */
char *b64_encode(const void *data, size_t len);

/* Returns the base64url encoding of data[0..len) without padding, newly allocated. */
char *b64url_encode(const void *data, size_t len);

/* Decodes len characters of standard base64 (padding required when the length needs it) into
 * *out (newly allocated, NUL-terminated for convenience) and *outlen. Returns 0 or ERR_PARSE. */
int b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen);

/* Decodes base64url; padding is optional but must be correct when present. Returns 0 or
 * ERR_PARSE. */
int b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen);

#endif
