/*
 * test_b64.c - unit tests for b64.h: the RFC 4648 §10 vectors in both alphabets, the url-safe
 * characters, round trips of every length up to 300 bytes, and strict rejection of malformed
 * input (wrong alphabet, bad padding, impossible lengths, non-zero trailing bits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "err.h"

static const struct {
    const char *in, *std, *url;
} vectors[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    size_t i, n;
    uint8_t *d;
    char *e;

    (void)state;
    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        e = b64_encode(vectors[i].in, strlen(vectors[i].in));
        assert_string_equal(e, vectors[i].std);
        free(e);
        e = b64url_encode(vectors[i].in, strlen(vectors[i].in));
        assert_string_equal(e, vectors[i].url);
        free(e);
        assert_int_equal(b64_decode(vectors[i].std, strlen(vectors[i].std), &d, &n), 0);
        assert_int_equal(n, strlen(vectors[i].in));
        assert_memory_equal(d, vectors[i].in, n);
        free(d);
        /* base64url accepts both the padded and the unpadded form. */
        assert_int_equal(b64url_decode(vectors[i].url, strlen(vectors[i].url), &d, &n), 0);
        assert_int_equal(n, strlen(vectors[i].in));
        free(d);
        assert_int_equal(b64url_decode(vectors[i].std, strlen(vectors[i].std), &d, &n), 0);
        assert_int_equal(n, strlen(vectors[i].in));
        free(d);
    }
}

static void test_url_safe_characters(void **state)
{
    static const uint8_t in[] = {0xfb, 0xff, 0xbf};
    size_t n;
    uint8_t *d;
    char *e;

    (void)state;
    e = b64_encode(in, sizeof(in));
    assert_string_equal(e, "+/+/");
    free(e);
    e = b64url_encode(in, sizeof(in));
    assert_string_equal(e, "-_-_");
    assert_int_equal(b64url_decode(e, strlen(e), &d, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(d, in, 3);
    free(d);
    free(e);
    /* Each alphabet rejects the other's two special characters. */
    assert_int_equal(b64_decode("-_-_", 4, &d, &n), ERR_PARSE);
    assert_int_equal(b64url_decode("+/+/", 4, &d, &n), ERR_PARSE);
}

static void test_round_trip_all_lengths(void **state)
{
    uint8_t in[300], *d;
    size_t len, n, i;
    char *e;

    (void)state;
    for (i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (len = 0; len <= sizeof(in); len++) {
        e = b64url_encode(in, len);
        assert_int_equal(strlen(e), (len * 4 + 2) / 3);
        assert_int_equal(b64url_decode(e, strlen(e), &d, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(d, in, len);
        free(d);
        free(e);
        e = b64_encode(in, len);
        assert_int_equal(strlen(e) % 4, 0);
        assert_int_equal(b64_decode(e, strlen(e), &d, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(d, in, len);
        free(d);
        free(e);
    }
}

static void test_malformed_rejected(void **state)
{
    static const char *bad_std[] = {
        "Zg",   /* padding required in standard base64 */
        "Zg=",  /* incomplete padding */
        "Z===", /* too much padding */
        "Zh==", /* non-zero trailing bits */
        "Zm9v!A==", "Zm 9v", "=Zm9", "Zm=v", "Z",
    };
    static const char *bad_url[] = {"Z", "Zh", "Zm9vY", "Zg=", "Zm8==", "Zm9v\n", "Zm9v=", "a=b"};
    size_t i, n;
    uint8_t *d = NULL;

    (void)state;
    for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
        assert_int_equal(b64_decode(bad_std[i], strlen(bad_std[i]), &d, &n), ERR_PARSE);
    for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
        assert_int_equal(b64url_decode(bad_url[i], strlen(bad_url[i]), &d, &n), ERR_PARSE);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_safe_characters),
        cmocka_unit_test(test_round_trip_all_lengths),
        cmocka_unit_test(test_malformed_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
