/*
 * b64.c - Base64 and base64url encoding and strict decoding; see b64.h.
 */
#include "b64.h"

#include <stdbool.h>
#include <stdlib.h>

#include "err.h"
#include "xmem.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *encode(const uint8_t *p, size_t len, const char *alpha, bool pad)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        *o++ = alpha[v & 63];
    }
    if (len - i == 1) {
        *o++ = alpha[p[i] >> 2];
        *o++ = alpha[(p[i] & 3) << 4];
        if (pad) {
            *o++ = '=';
            *o++ = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

        *o++ = alpha[v >> 10];
        *o++ = alpha[(v >> 4) & 63];
        *o++ = alpha[(v & 15) << 2];
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return out;
}

char *b64_encode(const void *data, size_t len)
{
    return encode(data, len, std_alphabet, true);
}

char *b64url_encode(const void *data, size_t len)
{
    return encode(data, len, url_alphabet, false);
}

/* Returns the 6-bit value of c in the alphabet, or -1. */
static int sextet(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static int decode(const char *s, size_t len, bool url, bool pad_required, uint8_t **out,
                  size_t *outlen)
{
    size_t npad = 0, n, i, o = 0;
    uint32_t acc = 0;
    uint8_t *buf;
    int bits = 0;

    while (npad < 2 && npad < len && s[len - 1 - npad] == '=')
        npad++;
    n = len - npad;
    /* With padding the total is a multiple of 4; without it, a remainder of 1 is impossible. */
    if (npad > 0 && len % 4 != 0)
        return ERR_PARSE;
    if (npad == 0 && pad_required && len % 4 != 0)
        return ERR_PARSE;
    if (n % 4 == 1)
        return ERR_PARSE;
    if (npad > 0 && (4 - n % 4) % 4 != npad)
        return ERR_PARSE;
    buf = xmalloc(n / 4 * 3 + 3);
    for (i = 0; i < n; i++) {
        int v = sextet(s[i], url);

        if (v < 0) {
            free(buf);
            return ERR_PARSE;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, or two different strings would decode to the same bytes. */
    if (acc != 0) {
        free(buf);
        return ERR_PARSE;
    }
    buf[o] = 0;
    *out = buf;
    *outlen = o;
    return 0;
}

int b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    return decode(s, len, false, true, out, outlen);
}

int b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    return decode(s, len, true, false, out, outlen);
}
