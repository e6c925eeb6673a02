/*
 * test_wwwauth.c - unit tests for wwwauth.h, the WWW-Authenticate parser.
 *
 * Covers the headers real servers and the MCP conformance suite send, the RFC 9110 grammar's
 * corners (several challenges per line and per response, token68 versus parameters, BWS around
 * '=', empty list elements, quoted-pairs, case-insensitive names), the deliberate leniency for
 * unquoted URLs, errors that keep the challenges parsed before them, the bounds, and that error
 * messages never quote the header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "wwwauth.h"

/* Parses one line; returns the struct and the result code in *rc. */
static struct wwwauth *parse(const char *line, int *rc)
{
    struct wwwauth *wa = wwwauth_new();
    char *why = NULL;

    *rc = wwwauth_add(wa, line, strlen(line), &why);
    if (*rc == 0)
        assert_null(why);
    else
        assert_non_null(why);
    free(why);
    return wa;
}

static struct wwwauth *parse_ok(const char *line)
{
    int rc;
    struct wwwauth *wa = parse(line, &rc);

    assert_int_equal(rc, 0);
    return wa;
}

/* What the conformance suite's mock MCP server sends (reference/oauth.md §2). */
static void test_conformance_header(void **state)
{
    struct wwwauth *wa = parse_ok(
        "Bearer error=\"invalid_token\", error_description=\"Missing Authorization header\", "
        "scope=\"mcp:basic\", resource_metadata=\"http://localhost:3001/.well-known/"
        "oauth-protected-resource/mcp\"");
    struct wwwauth_bearer b;

    (void)state;
    assert_int_equal(wwwauth_count(wa), 1);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.error, "invalid_token");
    assert_string_equal(b.error_description, "Missing Authorization header");
    assert_string_equal(b.scope, "mcp:basic");
    assert_string_equal(b.resource_metadata,
                        "http://localhost:3001/.well-known/oauth-protected-resource/mcp");
    assert_null(b.realm);
    wwwauth_free(wa);
}

static void test_several_challenges_in_one_line(void **state)
{
    struct wwwauth *wa = parse_ok("Basic realm=\"simple\", Bearer realm=\"api\", scope=\"a b\", "
                                  "DPoP algs=\"ES256 PS256\", Negotiate");
    const struct wwwauth_challenge *c;
    struct wwwauth_bearer b;

    (void)state;
    assert_int_equal(wwwauth_count(wa), 4);
    c = wwwauth_challenge(wa, 0);
    assert_string_equal(c->scheme, "Basic");
    assert_int_equal(c->nparams, 1);
    assert_string_equal(wwwauth_param(c, "realm"), "simple");
    c = wwwauth_challenge(wa, 1);
    assert_string_equal(c->scheme, "Bearer");
    assert_int_equal(c->nparams, 2);
    c = wwwauth_challenge(wa, 2);
    assert_string_equal(c->scheme, "DPoP");
    assert_string_equal(wwwauth_param(c, "algs"), "ES256 PS256");
    c = wwwauth_challenge(wa, 3);
    assert_string_equal(c->scheme, "Negotiate");
    assert_int_equal(c->nparams, 0);
    assert_null(c->token68);
    assert_null(wwwauth_challenge(wa, 4));
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.realm, "api");
    assert_string_equal(b.scope, "a b");
    wwwauth_free(wa);
}

static void test_several_lines_accumulate(void **state)
{
    struct wwwauth *wa = wwwauth_new();
    const char *l1 = "DPoP algs=\"ES256\"", *l2 = "Bearer scope=\"x\"";
    struct wwwauth_bearer b;
    char *why = NULL;

    (void)state;
    assert_int_equal(wwwauth_add(wa, l1, strlen(l1), &why), 0);
    assert_int_equal(wwwauth_add(wa, l2, strlen(l2), &why), 0);
    assert_int_equal(wwwauth_count(wa), 2);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.scope, "x");
    assert_non_null(wwwauth_find(wa, "dpop"));
    wwwauth_free(wa);
}

static void test_case_insensitive_names(void **state)
{
    struct wwwauth *wa = parse_ok("bEaReR SCOPE=\"read\", Resource_Metadata=\"https://a/b\"");
    const struct wwwauth_challenge *c;
    struct wwwauth_bearer b;

    (void)state;
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.scope, "read");
    assert_string_equal(b.resource_metadata, "https://a/b");
    c = wwwauth_find(wa, "BEARER");
    assert_non_null(c);
    /* The scheme keeps its case; names are lowercased. */
    assert_string_equal(c->scheme, "bEaReR");
    assert_string_equal(c->params[0].name, "scope");
    assert_string_equal(c->params[1].name, "resource_metadata");
    wwwauth_free(wa);
}

static void test_quoted_pairs(void **state)
{
    struct wwwauth *wa =
        parse_ok("Bearer realm=\"a \\\"quoted\\\" \\\\ value\", error_description=\"x\\,y\\z\"");
    struct wwwauth_bearer b;

    (void)state;
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.realm, "a \"quoted\" \\ value");
    assert_string_equal(b.error_description, "x,yz");
    wwwauth_free(wa);
}

static void test_quoted_string_with_commas_and_equals(void **state)
{
    struct wwwauth *wa =
        parse_ok("Bearer error_description=\"a, b=c, Basic realm=x\", error=\"invalid_token\"");
    struct wwwauth_bearer b;

    (void)state;
    assert_int_equal(wwwauth_count(wa), 1);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.error_description, "a, b=c, Basic realm=x");
    assert_string_equal(b.error, "invalid_token");
    wwwauth_free(wa);
}

static void test_token68(void **state)
{
    struct wwwauth *wa = parse_ok("Basic YWxhZGRpbjpvcGVuc2VzYW1l, Negotiate abc+/==, "
                                  "Foo a-b.c_d~e, Bearer realm=\"x\"");
    const struct wwwauth_challenge *c;

    (void)state;
    assert_int_equal(wwwauth_count(wa), 4);
    c = wwwauth_challenge(wa, 0);
    assert_string_equal(c->token68, "YWxhZGRpbjpvcGVuc2VzYW1l");
    assert_int_equal(c->nparams, 0);
    assert_string_equal(wwwauth_challenge(wa, 1)->token68, "abc+/==");
    assert_string_equal(wwwauth_challenge(wa, 2)->token68, "a-b.c_d~e");
    c = wwwauth_challenge(wa, 3);
    assert_null(c->token68);
    assert_string_equal(wwwauth_param(c, "realm"), "x");
    wwwauth_free(wa);
}

static void test_token68_ending_in_equals_is_not_a_param(void **state)
{
    struct wwwauth *wa = parse_ok("Foo abc=");
    const struct wwwauth_challenge *c = wwwauth_challenge(wa, 0);

    (void)state;
    assert_string_equal(c->token68, "abc=");
    assert_int_equal(c->nparams, 0);
    wwwauth_free(wa);
    /* A lone word after the scheme is a token68 too (RFC 9110 §11.3). */
    wa = parse_ok("Bearer realm");
    assert_string_equal(wwwauth_challenge(wa, 0)->token68, "realm");
    wwwauth_free(wa);
}

static void test_bws_tabs_and_empty_elements(void **state)
{
    struct wwwauth *wa =
        parse_ok(" , ,Bearer\trealm = \"x\" ,, error\t=\tinvalid_token ,  , Basic realm=y,");
    struct wwwauth_bearer b;

    (void)state;
    assert_int_equal(wwwauth_count(wa), 2);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.realm, "x");
    assert_string_equal(b.error, "invalid_token");
    assert_string_equal(wwwauth_param(wwwauth_find(wa, "basic"), "realm"), "y");
    wwwauth_free(wa);
}

static void test_unquoted_url_accepted(void **state)
{
    struct wwwauth *wa = parse_ok("Bearer resource_metadata=https://h:8443/.well-known/"
                                  "oauth-protected-resource/mcp?x=1, scope=a:b");
    struct wwwauth_bearer b;

    (void)state;
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.resource_metadata,
                        "https://h:8443/.well-known/oauth-protected-resource/mcp?x=1");
    assert_string_equal(b.scope, "a:b");
    wwwauth_free(wa);
}

static void test_empty_quoted_value_and_obs_text(void **state)
{
    struct wwwauth *wa = parse_ok("Bearer scope=\"\", realm=\"caf\xc3\xa9\"");
    struct wwwauth_bearer b;

    (void)state;
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.scope, "");
    assert_string_equal(b.realm, "caf\xc3\xa9");
    wwwauth_free(wa);
}

static void test_scheme_only_and_empty(void **state)
{
    struct wwwauth *wa = parse_ok("Bearer");
    struct wwwauth_bearer b;

    (void)state;
    assert_null(wwwauth_challenge(wa, 0)->token68);
    assert_true(wwwauth_bearer(wa, &b));
    assert_null(b.scope);
    wwwauth_free(wa);
    wa = parse_ok("");
    assert_int_equal(wwwauth_count(wa), 0);
    assert_false(wwwauth_bearer(wa, &b));
    assert_null(b.scope);
    assert_null(wwwauth_param(NULL, "x"));
    wwwauth_free(wa);
    wa = parse_ok("Basic realm=\"x\"");
    assert_false(wwwauth_bearer(wa, &b));
    wwwauth_free(wa);
}

static void test_syntax_errors(void **state)
{
    static const char *bad[] = {
        "Bearer realm=\"unterminated",
        "Bearer realm=, scope=x", /* "realm=" is a token68, then "scope=x" lacks a scheme */
        "Bearer realm=\"x\" junk",
        "Bearer realm=\"x\", realm=\"y\"", /* repeated parameter */
        "Bearer realm=\"a\x01\"",          /* control character */
        "Bearer realm=\"a\\\x01\"",
        "Bearer realm=\"x\\",
        "Bearer =x",
        "Bearer realm=\"x\", scope=",
        "\"Bearer\"",
        "Bearer realm=a\"b",
        "Bearer realm=\"x\" , =",
        "Bearer realm=\"x\"\r\n",
    };
    struct wwwauth *wa;
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wa = parse(bad[i], &rc);
        if (rc != ERR_PARSE)
            fail_msg("case %zu (%s) gave %d", i, bad[i], rc);
        wwwauth_free(wa);
    }
}

static void test_error_keeps_earlier_challenges(void **state)
{
    int rc;
    struct wwwauth *wa = parse(
        "Bearer scope=\"a\", resource_metadata=\"https://x/y\", DPoP algs=\"unterminated", &rc);
    struct wwwauth_bearer b;

    (void)state;
    assert_int_equal(rc, ERR_PARSE);
    assert_int_equal(wwwauth_count(wa), 1);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.scope, "a");
    assert_string_equal(b.resource_metadata, "https://x/y");
    wwwauth_free(wa);
    /* The broken challenge itself is dropped whole. */
    wa = parse("Basic realm=\"x\", Bearer scope=\"a\", error=", &rc);
    assert_int_equal(rc, ERR_PARSE);
    assert_int_equal(wwwauth_count(wa), 1);
    assert_false(wwwauth_bearer(wa, &b));
    wwwauth_free(wa);
}

static void test_bounds(void **state)
{
    struct wwwauth *wa;
    char line[WWWAUTH_MAX_BYTES + 2], *why = NULL;
    size_t i, n = 0;
    int rc;

    (void)state;
    /* Exactly WWWAUTH_MAX_CHALLENGES pass; one more is too many. */
    for (i = 0; i < WWWAUTH_MAX_CHALLENGES; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "S%zu x=y, ", i);
    wa = parse_ok(line);
    assert_int_equal(wwwauth_count(wa), WWWAUTH_MAX_CHALLENGES);
    wwwauth_free(wa);
    snprintf(line + n, sizeof(line) - n, "Bearer");
    wa = parse(line, &rc);
    assert_int_equal(rc, ERR_TOO_BIG);
    assert_int_equal(wwwauth_count(wa), WWWAUTH_MAX_CHALLENGES);
    wwwauth_free(wa);

    n = (size_t)snprintf(line, sizeof(line), "Bearer ");
    for (i = 0; i < WWWAUTH_MAX_PARAMS; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "p%zu=v, ", i);
    wa = parse_ok(line);
    assert_int_equal(wwwauth_challenge(wa, 0)->nparams, WWWAUTH_MAX_PARAMS);
    wwwauth_free(wa);
    snprintf(line + n, sizeof(line) - n, "one=more");
    wa = parse(line, &rc);
    assert_int_equal(rc, ERR_TOO_BIG);
    wwwauth_free(wa);

    /* The byte bound counts all lines of one response together. */
    wa = wwwauth_new();
    memset(line, ' ', WWWAUTH_MAX_BYTES);
    memcpy(line, "Bearer", 6);
    assert_int_equal(wwwauth_add(wa, line, WWWAUTH_MAX_BYTES - 1, &why), 0);
    assert_int_equal(wwwauth_add(wa, "B", 1, &why), 0);
    assert_int_equal(wwwauth_add(wa, "C", 1, &why), ERR_TOO_BIG);
    assert_non_null(why);
    free(why);
    wwwauth_free(wa);
}

static void test_errors_do_not_quote_the_header(void **state)
{
    static const char *bad[] = {
        "Bearer SECRETVALUE=\"unterminated",
        "Bearer x=SECRETVALUE\"",
        "Bearer a=SECRETVALUE junk",
    };
    struct wwwauth *wa;
    char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wa = wwwauth_new();
        assert_int_not_equal(wwwauth_add(wa, bad[i], strlen(bad[i]), &why), 0);
        assert_null(strstr(why, "SECRET"));
        free(why);
        why = NULL;
        wwwauth_free(wa);
    }
}

static void test_length_is_respected_without_nul(void **state)
{
    const char text[] = "Bearer scope=\"abc\"GARBAGE";
    struct wwwauth *wa = wwwauth_new();
    struct wwwauth_bearer b;
    char *why = NULL;

    (void)state;
    assert_int_equal(wwwauth_add(wa, text, 18, &why), 0);
    assert_true(wwwauth_bearer(wa, &b));
    assert_string_equal(b.scope, "abc");
    wwwauth_free(wa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_header),
        cmocka_unit_test(test_several_challenges_in_one_line),
        cmocka_unit_test(test_several_lines_accumulate),
        cmocka_unit_test(test_case_insensitive_names),
        cmocka_unit_test(test_quoted_pairs),
        cmocka_unit_test(test_quoted_string_with_commas_and_equals),
        cmocka_unit_test(test_token68),
        cmocka_unit_test(test_token68_ending_in_equals_is_not_a_param),
        cmocka_unit_test(test_bws_tabs_and_empty_elements),
        cmocka_unit_test(test_unquoted_url_accepted),
        cmocka_unit_test(test_empty_quoted_value_and_obs_text),
        cmocka_unit_test(test_scheme_only_and_empty),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_error_keeps_earlier_challenges),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_errors_do_not_quote_the_header),
        cmocka_unit_test(test_length_is_respected_without_nul),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
