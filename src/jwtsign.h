/*
 * jwtsign.h - private_key_jwt client assertions (RFC 7523 §2.2, §3) signed with ES256 or RS256,
 * through libcrypto loaded on first use.
 *
 * libcrypto.so.3 is opened with dlopen the first time an assertion is signed, as http.c does
 * for libcurl: linking it would cost every start of mcpzip, and only client_credentials servers
 * configured with oauth.private_key_file need it.
 *
 * Secrets: the key and the assertion never appear in *why. The caller wipes and frees the
 * assertion. Threads: any; libcrypto is loaded once under a lock (process-wide, like libcurl).
 */
#ifndef MCPZIP_JWTSIGN_H
#define MCPZIP_JWTSIGN_H

#include <stddef.h>
#include <stdint.h>

#define JWTSIGN_MAX_KEY 65536

/*
 * Builds a compact JWS client assertion: header {alg, typ: JWT}, claims iss = sub = client_id,
 * aud = audience (the authorization server's issuer), iat = now, exp = now + 300, a random jti.
 * pem[0..len) is a PEM private key (PKCS#8 or traditional); alg is "ES256" (P-256 key) or
 * "RS256" (RSA key), or NULL to follow the key. Returns the assertion, newly allocated, or NULL
 * with *why (no libcrypto, unreadable key, key and alg do not match).
 */
char *jwtsign_client_assertion(const char *pem, size_t len, const char *alg, const char *client_id,
                               const char *audience, int64_t now, char **why);

#endif
