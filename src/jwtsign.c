/*
 * jwtsign.c - private_key_jwt client assertions through a lazily loaded libcrypto; see
 * jwtsign.h.
 */
#include "jwtsign.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "err.h"
#include "pkce.h"
#include "xmem.h"

#define EVP_PKEY_RSA_ID 6  /* NID_rsaEncryption */
#define EVP_PKEY_EC_ID 408 /* NID_X9_62_id_ecPublicKey */
#define SIG_MAX 1024

/* The libcrypto entry points used, as opaque pointers (no OpenSSL headers needed). */
struct crypto_api {
    void *(*bio_new_mem_buf)(const void *buf, int len);
    int (*bio_free)(void *bio);
    void *(*pem_read_bio_privatekey)(void *bio, void **x, void *cb, void *u);
    void (*pkey_free)(void *pkey);
    int (*pkey_base_id)(const void *pkey);
    void *(*md_ctx_new)(void);
    void (*md_ctx_free)(void *ctx);
    const void *(*sha256)(void);
    int (*digest_sign_init)(void *ctx, void **pctx, const void *md, void *e, void *pkey);
    int (*digest_sign)(void *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                       size_t tbslen);
};

static pthread_mutex_t crypto_mu = PTHREAD_MUTEX_INITIALIZER;
static bool crypto_tried, crypto_ok;
static struct crypto_api api;

#define CLOAD(field, name)                     \
    do {                                       \
        *(void **)&api.field = dlsym(h, name); \
        if (api.field == NULL)                 \
            goto out;                          \
    } while (0)

static bool crypto_ensure(void)
{
    void *h;

    pthread_mutex_lock(&crypto_mu);
    if (crypto_tried)
        goto out;
    crypto_tried = true;
    h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        goto out;
    CLOAD(bio_new_mem_buf, "BIO_new_mem_buf");
    CLOAD(bio_free, "BIO_free");
    CLOAD(pem_read_bio_privatekey, "PEM_read_bio_PrivateKey");
    CLOAD(pkey_free, "EVP_PKEY_free");
    CLOAD(pkey_base_id, "EVP_PKEY_get_base_id");
    CLOAD(md_ctx_new, "EVP_MD_CTX_new");
    CLOAD(md_ctx_free, "EVP_MD_CTX_free");
    CLOAD(sha256, "EVP_sha256");
    CLOAD(digest_sign_init, "EVP_DigestSignInit");
    CLOAD(digest_sign, "EVP_DigestSign");
    crypto_ok = true;
out:
    pthread_mutex_unlock(&crypto_mu);
    return crypto_ok;
}

/* Reads one DER INTEGER at *p (bounded by end) into out[32], left-padded. */
static bool der_int(const unsigned char **p, const unsigned char *end, unsigned char out[32])
{
    size_t n;

    if (end - *p < 2 || (*p)[0] != 0x02)
        return false;
    n = (*p)[1];
    *p += 2;
    if (n > (size_t)(end - *p) || n == 0)
        return false;
    while (n > 32 && **p == 0) {
        (*p)++;
        n--;
    }
    if (n > 32)
        return false;
    memset(out, 0, 32);
    memcpy(out + 32 - n, *p, n);
    *p += n;
    return true;
}

/* ECDSA's DER SEQUENCE {r, s} to the JWS form r || s (RFC 7518 §3.4). */
static bool der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
    const unsigned char *p = der, *end = der + len;

    if (len < 8 || p[0] != 0x30 || p[1] != len - 2)
        return false;
    p += 2;
    return der_int(&p, end, raw) && der_int(&p, end, raw + 32) && p == end;
}

char *jwtsign_client_assertion(const char *pem, size_t len, const char *alg, const char *client_id,
                               const char *audience, int64_t now, char **why)
{
    void *bio = NULL, *pkey = NULL, *ctx = NULL;
    unsigned char sig[SIG_MAX], raw[64], jti_bytes[16];
    size_t siglen = sizeof(sig);
    char *header = NULL, *claims = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL,
         *jti = NULL, *out = NULL;
    cJSON *j;
    int id;
    bool es;

    if (len == 0 || len > JWTSIGN_MAX_KEY) {
        *why = xstrdup("the private key file is empty or too large");
        return NULL;
    }
    if (!crypto_ensure()) {
        *why = xstrdup("private_key_jwt needs libcrypto (OpenSSL 3), which could not be loaded; "
                       "install it (Debian/Ubuntu: apt-get install libssl3)");
        return NULL;
    }
    bio = api.bio_new_mem_buf(pem, (int)len);
    pkey = bio != NULL ? api.pem_read_bio_privatekey(bio, NULL, NULL, NULL) : NULL;
    if (pkey == NULL) {
        *why = xstrdup("the private key file holds no PEM private key mcpzip can read "
                       "(unencrypted PKCS#8 or traditional EC/RSA)");
        goto out;
    }
    id = api.pkey_base_id(pkey);
    if (alg == NULL)
        alg = id == EVP_PKEY_EC_ID ? "ES256" : "RS256";
    es = strcmp(alg, "ES256") == 0;
    if ((es && id != EVP_PKEY_EC_ID) ||
        (!es && (strcmp(alg, "RS256") != 0 || id != EVP_PKEY_RSA_ID))) {
        *why = xasprintf("the private key does not fit signing_alg %s (ES256 needs a P-256 EC "
                         "key, RS256 an RSA key)",
                         alg);
        goto out;
    }
    if (pkce_random(jti_bytes, sizeof(jti_bytes), why) != 0)
        goto out;
    jti = b64url_encode(jti_bytes, sizeof(jti_bytes));
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "alg", alg);
    cJSON_AddStringToObject(j, "typ", "JWT");
    header = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "iss", client_id);
    cJSON_AddStringToObject(j, "sub", client_id);
    cJSON_AddStringToObject(j, "aud", audience);
    cJSON_AddNumberToObject(j, "iat", (double)now);
    cJSON_AddNumberToObject(j, "exp", (double)(now + 300));
    cJSON_AddStringToObject(j, "jti", jti);
    claims = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    h64 = b64url_encode(header, strlen(header));
    c64 = b64url_encode(claims, strlen(claims));
    input = xasprintf("%s.%s", h64, c64);
    ctx = api.md_ctx_new();
    if (ctx == NULL || api.digest_sign_init(ctx, NULL, api.sha256(), NULL, pkey) != 1 ||
        api.digest_sign(ctx, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
        *why = xstrdup("libcrypto could not sign the client assertion");
        goto out;
    }
    if (es) {
        if (!der_to_raw(sig, siglen, raw)) {
            *why = xstrdup("libcrypto returned an ECDSA signature mcpzip cannot read");
            goto out;
        }
        s64 = b64url_encode(raw, sizeof(raw));
    } else {
        s64 = b64url_encode(sig, siglen);
    }
    out = xasprintf("%s.%s", input, s64);
out:
    if (ctx != NULL)
        api.md_ctx_free(ctx);
    if (pkey != NULL)
        api.pkey_free(pkey);
    if (bio != NULL)
        api.bio_free(bio);
    free(header);
    free(claims);
    free(h64);
    free(c64);
    free(s64);
    free(input);
    free(jti);
    return out;
}
