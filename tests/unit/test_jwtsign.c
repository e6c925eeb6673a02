/*
 * test_jwtsign.c - unit tests for jwtsign.h: ES256 and RS256 client assertions have the right
 * header, claims and signature size (the conformance scenario auth/client-credentials-jwt
 * verifies an ES256 signature end to end), the algorithm follows the key, and mismatched or
 * unreadable keys are refused without quoting them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "b64.h"
#include "jwtsign.h"

/* Test keys made for this file with `openssl genpkey`; they protect nothing. */
static const char EC_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKVO8jsXcm13jn1l8\n"
                             "wPlXcz422PxYk9Jahja838/TdcahRANCAARprfR70A6hTCWPNoD7kvI9tutF7Hrr\n"
                             "Lkpv9DcBZGfq2aZF4I21F0TemwpqnrhCi2bNpw7+tx0mPNbNWd+Gec55\n"
                             "-----END PRIVATE KEY-----\n";
static const char RSA_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDOpmpwZkcxM9KH\n"
                              "vo4KcZsVn8qeNPCXjADXjfoE9oawoO6N2A6rrB4N0OnlByIWzWi/6+0lXagz4mvz\n"
                              "1dBdJGjlzxQPP7QzYBUnKipYvLdLOP80hxD65wx0YXaymvqKrhmyA4hxQNYgCfMz\n"
                              "Pd1dUheMZ1BkViqZAsIQs3bGRNTZpBVTFFK5oDkanOH8HXNumZZxye3HhctnXWyr\n"
                              "UI4rxi86zlY3fQvfd1kUebYnkBI56PwXnbUDxXyyLFpGrEl/5ZdWymtJHTaqoDPg\n"
                              "g1YmRD8loLD0xSEe0cVw7ywuXioZTADl5wmqIwXsnO5GwWO4K7xUaJxMR1K3+dD5\n"
                              "ONS8x0FhAgMBAAECggEAA4krgsMhPmlTiOdc1B1rAnHCos/aYQFwGNmw5WmLCiK9\n"
                              "/WPTWaK4vFKuudcHWvDTTsHC6kC1JAQgn28XlFk1fHi9VpOn6ewfy7tOahVg8bLN\n"
                              "Nqq4wrSpQCS6kvMQ/9/1CEuqrgnM6bntDrULhvExZKfc41Np6BNsJ7x/9wPOle9P\n"
                              "d4t8nCi27hjBCHWI5orzFSQMopetPCk2FM0oAprLRt+rru83slQCFj9TbkzdG+sl\n"
                              "Q6vvkhssj6BMjFc2pEC0WecP2qtv8ykoyfVGItemy6mJh4QJUwpSMm9be+6vwRKp\n"
                              "7AYn3rrWnQYDu0cp1G22vkrb1oZh4WdAsfi3VHhHUQKBgQDv4QEuX0BEPAnBZWTP\n"
                              "2gr0WDsu70rqWFzIrW16d46oxUJhl75GlGF174jGyeSI+26vuaLIj3fXu5AzJpww\n"
                              "vXwI70HJreSX1zboFAXpDyjc4U7LKsUiDl+q5gMvhWqvyie2IS6KxyF3zha6AU3h\n"
                              "1ot5GkYXj4sxnFQf5UXYdkAVqQKBgQDcibm0sbz6ct5At+xBKrr8QZftsWH39aO/\n"
                              "pZ5+f5rlOIvohey4OWz6ls0NREjmCgOiQnhuZwGYUM657vn9gjGIDmGLoCeBUag0\n"
                              "BIuPGkh5oT2MAsj6rMLdyqlAaMLJBgaaclVqmx0Zw+4OFDtPebITfSmCQ5LLiM+Y\n"
                              "h9F+ed6w+QKBgHo3yvFEiKr7aAEIVx/ruS8bkTPtqd7SnJuGeUQvjBkDQDoXJVQy\n"
                              "n6GGJMsb7Hu6l3+i9oR3TJk3MFZPcr8GnB61QHCwT8rpVUlTgltnZOt9RDcRmJUs\n"
                              "e6PIQ5E/yca9GhSavWrp4Gx5LW0h4vuQ40kVkObKNSJWwynpF/gc77PZAoGAP0AQ\n"
                              "zs4bEQlYzN7zF02WCzsUw8sX+fGtYQ2zAzy9w/gPyESAu+VcaBJQBPoMnk1I9YRy\n"
                              "3dcVEgY7BACSGi743biiKVVpfyFYSHL1Q7maB6hC6qDx21MpIEs7d4mUM+tSgYFB\n"
                              "Fi4ejoEvCUKsMAMLG6PN/9o5g75dK7XoU4nIYKECgYEAno6ZEoiYABCBrt8UGB5+\n"
                              "yIskn6eCpaUozNXqgyBrdEf38e1BIhAFeksX+10JcmaABlH/J4aOul4ANjQ+bp6y\n"
                              "FvnkyYg04ZkBlxTR6WpoeoeB1nNqb+qNFw2ewJCfcUQLRJrOwojp5b+TFsRRRpsd\n"
                              "pT35nz1kTinOJ2psgtD4J5g=\n"
                              "-----END PRIVATE KEY-----\n";

/* Splits a compact JWS and decodes its parts; returns the decoded signature length. */
static size_t split(const char *jws, cJSON **header, cJSON **claims)
{
    const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    uint8_t *h, *c, *s;
    size_t hl, cl, sl;

    assert_non_null(d2);
    assert_int_equal(b64url_decode(jws, (size_t)(d1 - jws), &h, &hl), 0);
    assert_int_equal(b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &c, &cl), 0);
    assert_int_equal(b64url_decode(d2 + 1, strlen(d2 + 1), &s, &sl), 0);
    *header = cJSON_ParseWithLength((const char *)h, hl);
    *claims = cJSON_ParseWithLength((const char *)c, cl);
    free(h);
    free(c);
    free(s);
    return sl;
}

static void check_claims(cJSON *claims)
{
    assert_string_equal(cJSON_GetObjectItem(claims, "iss")->valuestring, "client-1");
    assert_string_equal(cJSON_GetObjectItem(claims, "sub")->valuestring, "client-1");
    assert_string_equal(cJSON_GetObjectItem(claims, "aud")->valuestring, "https://as.example.com");
    assert_int_equal((int64_t)cJSON_GetObjectItem(claims, "iat")->valuedouble, 1700000000);
    assert_int_equal((int64_t)cJSON_GetObjectItem(claims, "exp")->valuedouble, 1700000300);
    assert_true(strlen(cJSON_GetObjectItem(claims, "jti")->valuestring) >= 16);
}

static void test_es256(void **state)
{
    char *why = NULL, *jws;
    cJSON *h, *c;

    (void)state;
    jws = jwtsign_client_assertion(EC_pem, strlen(EC_pem), NULL, "client-1",
                                   "https://as.example.com", 1700000000, &why);
    if (jws == NULL && why != NULL && strstr(why, "could not be loaded") != NULL) {
        free(why);
        skip();
    }
    assert_non_null(jws);
    assert_int_equal(split(jws, &h, &c), 64);
    assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, "ES256");
    assert_string_equal(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
    check_claims(c);
    cJSON_Delete(h);
    cJSON_Delete(c);
    free(jws);
}

static void test_rs256(void **state)
{
    char *why = NULL, *jws;
    cJSON *h, *c;

    (void)state;
    jws = jwtsign_client_assertion(RSA_pem, strlen(RSA_pem), "RS256", "client-1",
                                   "https://as.example.com", 1700000000, &why);
    if (jws == NULL && why != NULL && strstr(why, "could not be loaded") != NULL) {
        free(why);
        skip();
    }
    assert_non_null(jws);
    assert_int_equal(split(jws, &h, &c), 256);
    assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, "RS256");
    check_claims(c);
    cJSON_Delete(h);
    cJSON_Delete(c);
    free(jws);
}

static void test_refusals(void **state)
{
    char *why = NULL;

    (void)state;
    assert_null(jwtsign_client_assertion(EC_pem, strlen(EC_pem), "RS256", "c", "a", 1, &why));
    assert_non_null(strstr(why, "does not fit"));
    free(why);
    why = NULL;
    assert_null(jwtsign_client_assertion(RSA_pem, strlen(RSA_pem), "ES256", "c", "a", 1, &why));
    free(why);
    why = NULL;
    assert_null(jwtsign_client_assertion("not a key", 9, NULL, "c", "a", 1, &why));
    assert_null(strstr(why, "not a key"));
    free(why);
    why = NULL;
    assert_null(jwtsign_client_assertion("", 0, NULL, "c", "a", 1, &why));
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256),
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
