/*
 * pkce.h - the per-flow secrets of an OAuth authorization request: the PKCE code_verifier and
 * its S256 code_challenge (RFC 7636), and the `state` value (RFC 6749 §10.12).
 *
 * Randomness comes from getrandom(2) only; there is no fallback to a weaker source, so failing to
 * get random bytes is an error the flow must report. The verifier and state are secrets: they
 * never appear in a message from this module, and pkce_clear() wipes them.
 *
 * Pure apart from getrandom; no shared state; any thread. struct pkce is a plain value the
 * caller owns (usually inside its flow state); it holds no pointers.
 */
#ifndef MCPZIP_PKCE_H
#define MCPZIP_PKCE_H

#include <stdbool.h>
#include <stddef.h>

#define PKCE_VERIFIER_MIN 43 /* RFC 7636 §4.1 */
#define PKCE_VERIFIER_MAX 128
#define PKCE_CHALLENGE_LEN 43 /* base64url of a SHA-256 digest, no padding */
#define PKCE_STATE_LEN 43     /* 32 random bytes, base64url */

struct pkce {
    char verifier[PKCE_VERIFIER_MAX + 1];   /* sent on the code exchange only */
    char challenge[PKCE_CHALLENGE_LEN + 1]; /* sent on the authorization request */
    char state[PKCE_STATE_LEN + 1];         /* sent on the authorization request; checked */
};

/* Fills buf with len bytes from getrandom(2). Returns 0, or ERR_IO with *why. */
int pkce_random(void *buf, size_t len, char **why);

/* Fills p with a new 43-character verifier (32 random bytes), its S256 challenge and a new
 * 43-character state. Returns 0, or ERR_IO with *why when no randomness is available. */
int pkce_new(struct pkce *p, char **why);

/* Writes a new verifier of exactly nchars characters (PKCE_VERIFIER_MIN..MAX; else ERR_INVALID)
 * of the base64url alphabet, a subset of RFC 7636's unreserved set, into out[nchars + 1].
 * Returns 0, ERR_INVALID or ERR_IO with *why. */
int pkce_verifier_new(char *out, size_t nchars, char **why);

/* Returns whether v is a valid code_verifier: 43..128 characters of [A-Za-z0-9-._~]. */
bool pkce_verifier_valid(const char *v);

/* Writes BASE64URL-NOPAD(SHA256(ASCII(verifier))) (RFC 7636 §4.2) to out[PKCE_CHALLENGE_LEN+1]. */
void pkce_challenge_s256(const char *verifier, char out[PKCE_CHALLENGE_LEN + 1]);

/* Writes a new unguessable state value (32 random bytes, base64url) to out[PKCE_STATE_LEN+1].
 * Returns 0, or ERR_IO with *why. */
int pkce_state_new(char out[PKCE_STATE_LEN + 1], char **why);

/* Compares the state sent with the one received in time independent of where they differ.
 * A NULL or empty received value never matches. */
bool pkce_state_equal(const char *sent, const char *received);

/* Wipes p (the compiler may not drop this as a dead store). */
void pkce_clear(struct pkce *p);

#endif
