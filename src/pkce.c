/*
 * pkce.c - PKCE verifier and S256 challenge, state values; see pkce.h.
 */
#include "pkce.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "b64.h"
#include "err.h"
#include "sha256.h"
#include "xmem.h"

int pkce_random(void *buf, size_t len, char **why)
{
    uint8_t *p = buf;
    size_t got = 0;
    ssize_t n;

    /* getrandom blocks only until the kernel pool is initialized once after boot; reads of up
     * to 256 bytes are never short, but longer ones may be, so loop. */
    while (got < len) {
        n = getrandom(p + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *why = xasprintf("cannot get random bytes from the kernel: %s",
                             n < 0 ? strerror(errno) : "no data");
            return ERR_IO;
        }
        got += (size_t)n;
    }
    return 0;
}

int pkce_verifier_new(char *out, size_t nchars, char **why)
{
    uint8_t raw[96]; /* 96 bytes give 128 characters */
    char *enc;
    int rc;

    if (nchars < PKCE_VERIFIER_MIN || nchars > PKCE_VERIFIER_MAX) {
        *why = xasprintf("a PKCE verifier must have %d to %d characters, not %zu",
                         PKCE_VERIFIER_MIN, PKCE_VERIFIER_MAX, nchars);
        return ERR_INVALID;
    }
    /* Every base64url character carries 6 random bits: 43 characters carry 258. */
    rc = pkce_random(raw, (nchars * 6 + 7) / 8, why);
    if (rc != 0)
        return rc;
    enc = b64url_encode(raw, (nchars * 6 + 7) / 8);
    memcpy(out, enc, nchars);
    out[nchars] = '\0';
    explicit_bzero(raw, sizeof(raw));
    explicit_bzero(enc, strlen(enc));
    free(enc);
    return 0;
}

bool pkce_verifier_valid(const char *v)
{
    size_t n;

    if (v == NULL)
        return false;
    n = strlen(v);
    if (n < PKCE_VERIFIER_MIN || n > PKCE_VERIFIER_MAX)
        return false;
    return strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == n;
}

void pkce_challenge_s256(const char *verifier, char out[PKCE_CHALLENGE_LEN + 1])
{
    uint8_t md[32];
    char *enc;

    sha256(verifier, strlen(verifier), md);
    enc = b64url_encode(md, sizeof(md));
    memcpy(out, enc, PKCE_CHALLENGE_LEN + 1);
    free(enc);
}

int pkce_state_new(char out[PKCE_STATE_LEN + 1], char **why)
{
    uint8_t raw[32];
    char *enc;
    int rc;

    rc = pkce_random(raw, sizeof(raw), why);
    if (rc != 0)
        return rc;
    enc = b64url_encode(raw, sizeof(raw));
    memcpy(out, enc, PKCE_STATE_LEN + 1);
    explicit_bzero(raw, sizeof(raw));
    free(enc);
    return 0;
}

int pkce_new(struct pkce *p, char **why)
{
    int rc;

    memset(p, 0, sizeof(*p));
    rc = pkce_verifier_new(p->verifier, PKCE_VERIFIER_MIN, why);
    if (rc == 0)
        rc = pkce_state_new(p->state, why);
    if (rc != 0) {
        pkce_clear(p);
        return rc;
    }
    pkce_challenge_s256(p->verifier, p->challenge);
    return 0;
}

bool pkce_state_equal(const char *sent, const char *received)
{
    size_t n, i;
    unsigned char diff = 0;

    if (sent == NULL || received == NULL || *sent == '\0')
        return false;
    n = strlen(sent);
    if (strlen(received) != n)
        return false;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(sent[i] ^ received[i]);
    return diff == 0;
}

void pkce_clear(struct pkce *p)
{
    explicit_bzero(p, sizeof(*p));
}
