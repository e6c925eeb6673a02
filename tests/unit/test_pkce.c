/*
 * test_pkce.c - unit tests for pkce.h: the RFC 7636 Appendix B example (verifier → challenge),
 * the shape and uniqueness of generated verifiers and states, verifier validation, the state
 * comparison, and that pkce_clear wipes everything.
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
#include "pkce.h"

/* RFC 7636 Appendix B: the 32 octets give this verifier, whose S256 challenge is given. */
static void test_rfc7636_appendix_b(void **state)
{
    static const uint8_t octets[32] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                       125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                       191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
    char ch[PKCE_CHALLENGE_LEN + 1];
    char *v;

    (void)state;
    v = b64url_encode(octets, sizeof(octets));
    assert_string_equal(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    free(v);
    pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch);
    assert_string_equal(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_true(pkce_verifier_valid("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
}

static void test_new_has_the_right_shape(void **state)
{
    struct pkce a, b;
    char ch[PKCE_CHALLENGE_LEN + 1];
    char *why = NULL;

    (void)state;
    assert_int_equal(pkce_new(&a, &why), 0);
    assert_int_equal(pkce_new(&b, &why), 0);
    assert_int_equal(strlen(a.verifier), 43);
    assert_int_equal(strlen(a.challenge), 43);
    assert_int_equal(strlen(a.state), 43);
    assert_true(pkce_verifier_valid(a.verifier));
    pkce_challenge_s256(a.verifier, ch);
    assert_string_equal(ch, a.challenge);
    /* 258 random bits: two draws never collide. */
    assert_string_not_equal(a.verifier, b.verifier);
    assert_string_not_equal(a.state, b.state);
    assert_string_not_equal(a.state, a.verifier);
    pkce_clear(&a);
    pkce_clear(&b);
}

static void test_verifier_lengths(void **state)
{
    char v[PKCE_VERIFIER_MAX + 1];
    char *why = NULL;
    size_t n;

    (void)state;
    for (n = PKCE_VERIFIER_MIN; n <= PKCE_VERIFIER_MAX; n++) {
        assert_int_equal(pkce_verifier_new(v, n, &why), 0);
        assert_int_equal(strlen(v), n);
        assert_true(pkce_verifier_valid(v));
    }
    assert_int_equal(pkce_verifier_new(v, 42, &why), ERR_INVALID);
    assert_non_null(why);
    free(why);
    why = NULL;
    assert_int_equal(pkce_verifier_new(v, 129, &why), ERR_INVALID);
    free(why);
}

static void test_verifier_validation(void **state)
{
    char v[130];

    (void)state;
    memset(v, 'a', sizeof(v));
    v[42] = '\0';
    assert_false(pkce_verifier_valid(v));
    v[42] = '~';
    v[43] = '\0';
    assert_true(pkce_verifier_valid(v));
    v[10] = '.';
    assert_true(pkce_verifier_valid(v));
    v[10] = '+';
    assert_false(pkce_verifier_valid(v));
    v[10] = '=';
    assert_false(pkce_verifier_valid(v));
    memset(v, 'Z', sizeof(v));
    v[128] = '\0';
    assert_true(pkce_verifier_valid(v));
    v[128] = 'Z';
    v[129] = '\0';
    assert_false(pkce_verifier_valid(v));
    assert_false(pkce_verifier_valid(NULL));
}

static void test_state_equal(void **state)
{
    (void)state;
    assert_true(pkce_state_equal("abc", "abc"));
    assert_false(pkce_state_equal("abc", "abd"));
    assert_false(pkce_state_equal("abc", "abcd"));
    assert_false(pkce_state_equal("abc", ""));
    assert_false(pkce_state_equal("abc", NULL));
    assert_false(pkce_state_equal("", ""));
    assert_false(pkce_state_equal(NULL, "abc"));
}

static void test_clear_wipes(void **state)
{
    struct pkce p;
    const unsigned char *b = (const unsigned char *)&p;
    char *why = NULL;
    size_t i;

    (void)state;
    assert_int_equal(pkce_new(&p, &why), 0);
    pkce_clear(&p);
    for (i = 0; i < sizeof(p); i++)
        assert_int_equal(b[i], 0);
}

static void test_random_fills(void **state)
{
    uint8_t buf[1000];
    char *why = NULL;
    size_t i, zeros = 0;

    (void)state;
    memset(buf, 0, sizeof(buf));
    assert_int_equal(pkce_random(buf, sizeof(buf), &why), 0);
    for (i = 0; i < sizeof(buf); i++)
        zeros += buf[i] == 0;
    /* Expected about 4 zero bytes in 1000; 40 would mean the buffer was not filled. */
    assert_true(zeros < 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_appendix_b), cmocka_unit_test(test_new_has_the_right_shape),
        cmocka_unit_test(test_verifier_lengths),   cmocka_unit_test(test_verifier_validation),
        cmocka_unit_test(test_state_equal),        cmocka_unit_test(test_clear_wipes),
        cmocka_unit_test(test_random_fills),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
