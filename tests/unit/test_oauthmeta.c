/*
 * test_oauthmeta.c - unit tests for oauthmeta.h, the pure decisions of OAuth discovery.
 *
 * The discovery URL lists are compared as exact strings for the inputs that broke other
 * clients (ports, default ports, paths with and without trailing slashes, queries, fragments,
 * IPv6, path issuers). Metadata validation is checked on the mismatch cases of `resource` and
 * `issuer`, plain-http endpoints, and PKCE advertisement. Scope selection follows the
 * conformance scenarios' expectations; client authentication follows the token-endpoint-auth
 * and pre-registration scenarios (reference/oauth.md §2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "json.h"
#include "oauthmeta.h"

/* ---- helpers ---- */

/* Checks that the URL list for (server, header) is exactly the NULL-terminated want. */
static void check_prm_urls(const char *server, const char *header, const char *const *want)
{
    struct oauthmeta_urls u;
    char *why = NULL;
    size_t i;

    if (oauthmeta_prm_urls(server, header, &u, &why) != 0)
        fail_msg("%s: %s", server, why);
    for (i = 0; want[i] != NULL; i++) {
        if (i >= u.n)
            fail_msg("%s: only %zu URLs, expected %s next", server, u.n, want[i]);
        assert_string_equal(u.url[i], want[i]);
    }
    assert_int_equal(u.n, i);
    oauthmeta_urls_clear(&u);
}

static void check_as_urls(const char *issuer, const char *const *want)
{
    struct oauthmeta_urls u;
    char *why = NULL;
    size_t i;

    if (oauthmeta_as_urls(issuer, &u, &why) != 0)
        fail_msg("%s: %s", issuer, why);
    for (i = 0; want[i] != NULL; i++) {
        assert_true(i < u.n);
        assert_string_equal(u.url[i], want[i]);
    }
    assert_int_equal(u.n, i);
    oauthmeta_urls_clear(&u);
}

/* Expects rc from a call that sets *why, checks why does not contain secret, frees it. */
static void check_err(int rc, int want, char **why, const char *secret)
{
    assert_int_equal(rc, want);
    assert_non_null(*why);
    if (secret != NULL && strstr(*why, secret) != NULL)
        fail_msg("message reveals a secret: %s", *why);
    free(*why);
    *why = NULL;
}

static int prm_parse(const char *doc, const char *server, struct oauthmeta_prm *p, char **why)
{
    return oauthmeta_prm_parse(doc, strlen(doc), server, p, why);
}

/* ---- Protected Resource Metadata URLs ---- */

static void test_prm_urls_path_then_root(void **state)
{
    (void)state;
    check_prm_urls("https://example.com/mcp", NULL,
                   (const char *[]){"https://example.com/.well-known/oauth-protected-resource/mcp",
                                    "https://example.com/.well-known/oauth-protected-resource",
                                    NULL});
    check_prm_urls(
        "https://example.com/public/mcp", NULL,
        (const char *[]){"https://example.com/.well-known/oauth-protected-resource/public/mcp",
                         "https://example.com/.well-known/oauth-protected-resource", NULL});
}

static void test_prm_urls_trailing_slash_dropped_once(void **state)
{
    (void)state;
    check_prm_urls(
        "https://example.com/public/mcp/", NULL,
        (const char *[]){"https://example.com/.well-known/oauth-protected-resource/public/mcp",
                         "https://example.com/.well-known/oauth-protected-resource", NULL});
}

static void test_prm_urls_root_server_only_root(void **state)
{
    static const char *const root[] = {"https://example.com/.well-known/oauth-protected-resource",
                                       NULL};

    (void)state;
    check_prm_urls("https://example.com", NULL, root);
    check_prm_urls("https://example.com/", NULL, root);
    check_prm_urls("https://example.com#frag", NULL, root);
}

static void test_prm_urls_ports_kept_defaults_dropped(void **state)
{
    (void)state;
    check_prm_urls(
        "HTTPS://Example.COM:8443/mcp", NULL,
        (const char *[]){"https://example.com:8443/.well-known/oauth-protected-resource/mcp",
                         "https://example.com:8443/.well-known/oauth-protected-resource", NULL});
    check_prm_urls("https://example.com:443/mcp", NULL,
                   (const char *[]){"https://example.com/.well-known/oauth-protected-resource/mcp",
                                    "https://example.com/.well-known/oauth-protected-resource",
                                    NULL});
    check_prm_urls("http://localhost:80/mcp", NULL,
                   (const char *[]){"http://localhost/.well-known/oauth-protected-resource/mcp",
                                    "http://localhost/.well-known/oauth-protected-resource", NULL});
    /* 443 is not the default for http, nor 80 for https. */
    check_prm_urls(
        "http://localhost:443", NULL,
        (const char *[]){"http://localhost:443/.well-known/oauth-protected-resource", NULL});
    check_prm_urls("http://[::1]:3000/mcp", NULL,
                   (const char *[]){"http://[::1]:3000/.well-known/oauth-protected-resource/mcp",
                                    "http://[::1]:3000/.well-known/oauth-protected-resource",
                                    NULL});
}

static void test_prm_urls_query_kept_fragment_dropped(void **state)
{
    (void)state;
    check_prm_urls("https://example.com/mcp?tenant=a&x=1#frag", NULL,
                   (const char *[]){
                       "https://example.com/.well-known/oauth-protected-resource/mcp?tenant=a&x=1",
                       "https://example.com/.well-known/oauth-protected-resource", NULL});
    check_prm_urls(
        "https://example.com/?tenant=a", NULL,
        (const char *[]){"https://example.com/.well-known/oauth-protected-resource?tenant=a",
                         "https://example.com/.well-known/oauth-protected-resource", NULL});
}

static void test_prm_urls_header_url_only(void **state)
{
    struct oauthmeta_urls u;
    char *why = NULL;

    (void)state;
    /* conformance auth/metadata-var3: a custom location, and nothing else may be requested. */
    check_prm_urls("http://localhost:3001/mcp",
                   "http://localhost:3001/custom/metadata/location.json",
                   (const char *[]){"http://localhost:3001/custom/metadata/location.json", NULL});
    check_prm_urls("https://example.com/mcp", "https://meta.example.com/prm?x=1#f",
                   (const char *[]){"https://meta.example.com/prm?x=1", NULL});
    /* A plain-http header URL may not downgrade an https server, except on loopback. */
    check_err(oauthmeta_prm_urls("https://example.com/mcp", "http://example.com/prm", &u, &why),
              ERR_INVALID, &why, NULL);
    check_prm_urls("https://example.com/mcp", "http://127.0.0.1:9/prm",
                   (const char *[]){"http://127.0.0.1:9/prm", NULL});
    check_err(oauthmeta_prm_urls("https://example.com/mcp", "/relative", &u, &why), ERR_INVALID,
              &why, NULL);
    check_err(oauthmeta_prm_urls("https://example.com/mcp", "javascript:alert(1)", &u, &why),
              ERR_INVALID, &why, NULL);
}

static void test_bad_server_urls(void **state)
{
    static const char *bad[] = {
        "",
        "mcp",
        "ftp://example.com/mcp",
        "https://",
        "https:///mcp",
        "https://x:99999/",
        "https://x:0/",
        "https://x:abc/",
        "https://x:/",
        "https://ex ample.com/",
        "https://x/a b",
        "https://[::1/",
        "https://x\x01/",
        "https://x]y/",
        "https://a\\b/",
    };
    struct oauthmeta_urls u;
    char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (oauthmeta_prm_urls(bad[i], NULL, &u, &why) != ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        free(why);
        why = NULL;
        assert_int_equal(u.n, 0);
    }
}

static void test_messages_hide_credentials_and_queries(void **state)
{
    struct oauthmeta_prm p;
    struct oauthmeta_urls u;
    char *why = NULL;

    (void)state;
    check_err(oauthmeta_prm_urls("https://user:SECRETPW@example.com/mcp", NULL, &u, &why),
              ERR_INVALID, &why, "SECRETPW");
    check_err(oauthmeta_prm_urls("ftp://user:SECRETPW@example.com/mcp", NULL, &u, &why),
              ERR_INVALID, &why, "SECRETPW");
    check_err(oauthmeta_prm_urls("ftp://example.com/mcp?key=SECRETKEY", NULL, &u, &why),
              ERR_INVALID, &why, "SECRETKEY");
    check_err(prm_parse("{\"resource\":\"https://evil.example.com/mcp\","
                        "\"authorization_servers\":[\"https://as\"]}",
                        "https://example.com/mcp?api_key=SECRETKEY", &p, &why),
              ERR_INVALID, &why, "SECRETKEY");
}

/* ---- Authorization Server metadata URLs ---- */

static void test_as_urls_path_issuer(void **state)
{
    (void)state;
    /* S25 §Authorization Server Metadata Discovery, the example's exact order. */
    check_as_urls("https://auth.example.com/tenant1",
                  (const char *[]){
                      "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                      "https://auth.example.com/.well-known/openid-configuration/tenant1",
                      "https://auth.example.com/tenant1/.well-known/openid-configuration", NULL});
    check_as_urls("https://auth.example.com/tenant1/",
                  (const char *[]){
                      "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                      "https://auth.example.com/.well-known/openid-configuration/tenant1",
                      "https://auth.example.com/tenant1/.well-known/openid-configuration", NULL});
    check_as_urls("https://Auth.Example.com:8443/realms/a/b",
                  (const char *[]){"https://auth.example.com:8443/.well-known/"
                                   "oauth-authorization-server/realms/a/b",
                                   "https://auth.example.com:8443/.well-known/"
                                   "openid-configuration/realms/a/b",
                                   "https://auth.example.com:8443/realms/a/b/.well-known/"
                                   "openid-configuration",
                                   NULL});
    check_as_urls(
        "http://localhost:9000/oauth",
        (const char *[]){"http://localhost:9000/.well-known/oauth-authorization-server/oauth",
                         "http://localhost:9000/.well-known/openid-configuration/oauth",
                         "http://localhost:9000/oauth/.well-known/openid-configuration", NULL});
}

static void test_as_urls_root_issuer(void **state)
{
    static const char *const want[] = {
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration", NULL};

    (void)state;
    check_as_urls("https://auth.example.com", want);
    check_as_urls("https://auth.example.com/", want);
    check_as_urls("https://auth.example.com:443", want);
}

static void test_as_urls_refused(void **state)
{
    static const char *bad[] = {"http://auth.example.com", "https://auth.example.com/x?y=1",
                                "https://auth.example.com/#f", "auth.example.com"};
    struct oauthmeta_urls u;
    char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_err(oauthmeta_as_urls(bad[i], &u, &why), ERR_INVALID, &why, NULL);
}

/* ---- PRM documents ---- */

static void test_prm_parse_valid(void **state)
{
    struct oauthmeta_prm p;
    char *why = NULL;

    (void)state;
    assert_int_equal(
        prm_parse("{\"resource\":\"https://example.com/mcp\",\"authorization_servers\":"
                  "[\"https://auth.example.com/tenant1\",\"https://auth2.example.com\"],"
                  "\"scopes_supported\":[\"mcp:basic\",\"mcp:read\",\"mcp:write\"],"
                  "\"bearer_methods_supported\":[\"header\"]}",
                  "https://example.com/mcp", &p, &why),
        0);
    assert_string_equal(p.resource, "https://example.com/mcp");
    assert_int_equal(p.nas, 2);
    assert_string_equal(p.authorization_servers[0], "https://auth.example.com/tenant1");
    assert_string_equal(p.scopes_supported, "mcp:basic mcp:read mcp:write");
    oauthmeta_prm_clear(&p);
}

static void test_prm_resource_accepted_forms(void **state)
{
    static const struct {
        const char *resource, *server;
    } ok[] = {
        {"https://example.com", "https://example.com/mcp"}, /* root PRM, conformance var2 */
        {"https://example.com/", "https://example.com/mcp"},
        {"https://EXAMPLE.com/mcp", "https://example.com/mcp"},
        {"https://example.com:443/mcp", "https://example.com/mcp"},
        {"https://example.com/mcp/", "https://example.com/mcp"},
        {"https://example.com/mcp", "https://example.com/mcp/"},
        {"https://example.com/api", "https://example.com/api/v1/mcp"},
        {"https://example.com/mcp", "https://example.com/mcp?tenant=1"},
        {"https://example.com/mcp?tenant=1", "https://example.com/mcp?tenant=1"},
        {"http://localhost:3001/mcp", "http://localhost:3001/mcp"},
    };
    struct oauthmeta_prm p;
    char doc[512], *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(doc, sizeof(doc),
                 "{\"resource\":\"%s\",\"authorization_servers\":[\"https://as.example\"]}",
                 ok[i].resource);
        if (prm_parse(doc, ok[i].server, &p, &why) != 0)
            fail_msg("%s for %s: %s", ok[i].resource, ok[i].server, why);
        oauthmeta_prm_clear(&p);
    }
}

static void test_prm_resource_mismatches(void **state)
{
    static const struct {
        const char *resource, *server;
    } bad[] = {
        {"https://evil.example.com/mcp", "https://example.com/mcp"}, /* conformance draft */
        {"http://example.com/mcp", "https://example.com/mcp"},       /* scheme */
        {"https://example.com:8443/mcp", "https://example.com/mcp"}, /* port */
        {"https://example.com/mcp", "https://example.com:8443/mcp"},
        {"https://example.com/mc", "https://example.com/mcp"}, /* not on a segment */
        {"https://example.com/mcp/extra", "https://example.com/mcp"},
        {"https://example.com/other", "https://example.com/mcp"},
        {"https://example.com/mcp#x", "https://example.com/mcp"},
        {"https://example.com/mcp?tenant=2", "https://example.com/mcp?tenant=1"},
        {"https://example.com/mcp?tenant=1", "https://example.com/mcp"},
        {"/mcp", "https://example.com/mcp"},
        {"https://u:p@example.com/mcp", "https://example.com/mcp"},
        {"https://example.com.evil/mcp", "https://example.com/mcp"},
    };
    struct oauthmeta_prm p;
    char doc[512], *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(doc, sizeof(doc),
                 "{\"resource\":\"%s\",\"authorization_servers\":[\"https://as.example\"]}",
                 bad[i].resource);
        if (prm_parse(doc, bad[i].server, &p, &why) != ERR_INVALID)
            fail_msg("accepted %s for %s", bad[i].resource, bad[i].server);
        assert_non_null(strstr(why, "not for"));
        free(why);
        why = NULL;
        assert_null(p.resource);
        assert_int_equal(p.nas, 0);
    }
}

static void test_prm_document_errors(void **state)
{
    struct oauthmeta_prm p;
    char *why = NULL, *big;
    const char *srv = "https://example.com/mcp";

    (void)state;
    check_err(prm_parse("not json", srv, &p, &why), ERR_PARSE, &why, NULL);
    check_err(prm_parse("[1,2]", srv, &p, &why), ERR_PARSE, &why, NULL);
    check_err(
        prm_parse("{\"resource\":1,\"authorization_servers\":[\"https://a\"]}", srv, &p, &why),
        ERR_INVALID, &why, NULL);
    check_err(prm_parse("{\"authorization_servers\":[\"https://a\"]}", srv, &p, &why), ERR_INVALID,
              &why, NULL);
    check_err(prm_parse("{\"resource\":\"https://example.com/mcp\"}", srv, &p, &why), ERR_INVALID,
              &why, NULL);
    check_err(prm_parse("{\"resource\":\"https://example.com/mcp\",\"authorization_servers\":[]}",
                        srv, &p, &why),
              ERR_INVALID, &why, NULL);
    /* Only plain-http, malformed or non-string entries: nothing usable. */
    check_err(prm_parse("{\"resource\":\"https://example.com/mcp\",\"authorization_servers\":"
                        "[\"http://as.example\",7,\"https://as?x\",\"ftp://y\"]}",
                        srv, &p, &why),
              ERR_INVALID, &why, NULL);
    big = malloc(OAUTHMETA_MAX_DOC + 2);
    memset(big, ' ', OAUTHMETA_MAX_DOC + 1);
    big[0] = '{';
    big[OAUTHMETA_MAX_DOC] = '}';
    big[OAUTHMETA_MAX_DOC + 1] = '\0';
    check_err(prm_parse(big, srv, &p, &why), ERR_TOO_BIG, &why, NULL);
    free(big);
}

static void test_prm_lists_filtered_and_bounded(void **state)
{
    struct oauthmeta_prm p;
    struct buf b = {0};
    char *why = NULL, *doc;
    int i;

    (void)state;
    assert_int_equal(
        prm_parse("{\"resource\":\"https://example.com\",\"authorization_servers\":"
                  "[\"http://as.example\",\"http://localhost:9000\",\"https://as.example\"],"
                  "\"scopes_supported\":[\"a\",\"a\",\"b c\",5,\"\",\"d\\\"\",\"e\"]}",
                  "https://example.com/mcp", &p, &why),
        0);
    assert_int_equal(p.nas, 2);
    assert_string_equal(p.authorization_servers[0], "http://localhost:9000");
    assert_string_equal(p.authorization_servers[1], "https://as.example");
    assert_string_equal(p.scopes_supported, "a e");
    oauthmeta_prm_clear(&p);

    buf_puts(&b, "{\"resource\":\"https://example.com\",\"authorization_servers\":[");
    for (i = 0; i < 20; i++)
        buf_printf(&b, "%s\"https://as%d.example\"", i ? "," : "", i);
    buf_puts(&b, "],\"scopes_supported\":[");
    for (i = 0; i < 100; i++)
        buf_printf(&b, "%s\"s%d\"", i ? "," : "", i);
    buf_puts(&b, "]}");
    doc = buf_take(&b);
    assert_int_equal(prm_parse(doc, "https://example.com/mcp", &p, &why), 0);
    assert_int_equal(p.nas, OAUTHMETA_MAX_AS);
    assert_non_null(strstr(p.scopes_supported, "s63"));
    assert_null(strstr(p.scopes_supported, "s64"));
    oauthmeta_prm_clear(&p);
    free(doc);
}

/* ---- AS metadata documents ---- */

static const char as_doc[] =
    "{\"issuer\":\"https://auth.example.com/tenant1\","
    "\"authorization_endpoint\":\"https://auth.example.com/tenant1/authorize\","
    "\"token_endpoint\":\"https://auth.example.com/tenant1/token\","
    "\"registration_endpoint\":\"https://auth.example.com/tenant1/register\","
    "\"revocation_endpoint\":\"https://auth.example.com/tenant1/revoke\","
    "\"response_types_supported\":[\"code\"],"
    "\"grant_types_supported\":[\"authorization_code\",\"refresh_token\"],"
    "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
    "\"token_endpoint_auth_methods_supported\":[\"none\",\"client_secret_post\"],"
    "\"scopes_supported\":[\"openid\",\"offline_access\"],"
    "\"client_id_metadata_document_supported\":true,"
    "\"authorization_response_iss_parameter_supported\":true}";

static int as_parse(const char *doc, const char *issuer, unsigned flags, struct oauthmeta_as *as,
                    char **warning, char **why)
{
    return oauthmeta_as_parse(doc, strlen(doc), issuer, flags, as, warning, why);
}

static void test_as_parse_valid(void **state)
{
    struct oauthmeta_as as;
    char *why = NULL, *warning = NULL;

    (void)state;
    assert_int_equal(as_parse(as_doc, "https://auth.example.com/tenant1", 0, &as, &warning, &why),
                     0);
    assert_null(warning);
    assert_string_equal(as.issuer, "https://auth.example.com/tenant1");
    assert_string_equal(as.authorization_endpoint, "https://auth.example.com/tenant1/authorize");
    assert_string_equal(as.token_endpoint, "https://auth.example.com/tenant1/token");
    assert_string_equal(as.registration_endpoint, "https://auth.example.com/tenant1/register");
    assert_string_equal(as.revocation_endpoint, "https://auth.example.com/tenant1/revoke");
    assert_string_equal(as.scopes_supported, "openid offline_access");
    assert_int_equal(as.auth_methods, OAUTHMETA_AUTH_NONE | OAUTHMETA_AUTH_POST);
    assert_int_equal(as.grant_types, OAUTHMETA_GRANT_CODE | OAUTHMETA_GRANT_REFRESH);
    assert_true(as.pkce_listed);
    assert_true(as.pkce_s256);
    assert_true(as.cimd_supported);
    assert_true(as.iss_supported);
    assert_false(as.fallback);
    oauthmeta_as_clear(&as);
}

/* The smallest document the conformance mock could serve, on a loopback http AS. */
static void test_as_parse_minimal_loopback(void **state)
{
    static const char *hosts[] = {"localhost:4000", "127.0.0.1:4000", "[::1]:4000"};
    struct oauthmeta_as as;
    char doc[512], issuer[64], *why = NULL, *warning = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        snprintf(issuer, sizeof(issuer), "http://%s", hosts[i]);
        snprintf(doc, sizeof(doc),
                 "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
                 "\"token_endpoint\":\"%s/token\",\"code_challenge_methods_supported\":[\"S256\"]}",
                 issuer, issuer, issuer);
        if (as_parse(doc, issuer, 0, &as, &warning, &why) != 0)
            fail_msg("%s: %s", issuer, why);
        assert_null(as.registration_endpoint);
        assert_int_equal(as.auth_methods, 0);
        assert_int_equal(as.grant_types, 0);
        assert_null(as.scopes_supported);
        assert_false(as.cimd_supported);
        oauthmeta_as_clear(&as);
    }
}

static void test_as_issuer_mismatch(void **state)
{
    static const char *doc = "{\"issuer\":\"https://localhost:4000/oauth\","
                             "\"authorization_endpoint\":"
                             "\"https://localhost:4000/oauth/authorize\","
                             "\"token_endpoint\":\"https://localhost:4000/oauth/token\","
                             "\"code_challenge_methods_supported\":[\"S256\"]}";
    static const char *wrong[] = {"https://localhost:4000", "https://LOCALHOST:4000/oauth",
                                  "https://localhost:4000/oauth2", "https://evil.example/oauth"};
    struct oauthmeta_as as;
    char *why = NULL, *warning = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        check_err(as_parse(doc, wrong[i], 0, &as, &warning, &why), ERR_INVALID, &why, NULL);
        assert_null(warning);
        assert_null(as.issuer);
    }
    /* 2025-03-26 mode: the conformance v0.1.16 back-compat mock serves this at the origin. */
    assert_int_equal(
        as_parse(doc, "https://localhost:4000", OAUTHMETA_LAX_ISSUER, &as, &warning, &why), 0);
    assert_non_null(warning);
    assert_string_equal(as.issuer, "https://localhost:4000/oauth");
    free(warning);
    oauthmeta_as_clear(&as);
    /* One trailing slash of difference is accepted, with a warning. */
    assert_int_equal(as_parse(doc, "https://localhost:4000/oauth/", 0, &as, &warning, &why), 0);
    assert_non_null(warning);
    free(warning);
    oauthmeta_as_clear(&as);
}

static void test_as_endpoints_must_be_secure(void **state)
{
    static const char *bad[] = {
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"http://a.example/auth\","
        "\"token_endpoint\":\"https://a.example/token\",\"code_challenge_methods_supported\":"
        "[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"https://a.example/auth\","
        "\"token_endpoint\":\"http://a.example/token\",\"code_challenge_methods_supported\":"
        "[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"https://a.example/auth\","
        "\"token_endpoint\":\"https://a.example/token\",\"registration_endpoint\":"
        "\"http://a.example/reg\",\"code_challenge_methods_supported\":[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"https://a.example/a#x\","
        "\"token_endpoint\":\"https://a.example/token\",\"code_challenge_methods_supported\":"
        "[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"token_endpoint\":\"https://a.example/token\","
        "\"code_challenge_methods_supported\":[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"https://a.example/a\","
        "\"code_challenge_methods_supported\":[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"/authorize\","
        "\"token_endpoint\":\"https://a.example/token\",\"code_challenge_methods_supported\":"
        "[\"S256\"]}",
        "{\"authorization_endpoint\":\"https://a.example/a\",\"token_endpoint\":"
        "\"https://a.example/token\",\"code_challenge_methods_supported\":[\"S256\"]}",
        "{\"issuer\":\"https://a.example\",\"authorization_endpoint\":\"https://a.example/a\","
        "\"token_endpoint\":\"https://a.example/token\",\"response_types_supported\":"
        "[\"token\"],\"code_challenge_methods_supported\":[\"S256\"]}",
    };
    struct oauthmeta_as as;
    char *why = NULL, *warning = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (as_parse(bad[i], "https://a.example", 0, &as, &warning, &why) != ERR_INVALID)
            fail_msg("case %zu accepted", i);
        free(why);
        why = NULL;
        assert_null(as.authorization_endpoint);
    }
}

static void test_as_pkce_rules(void **state)
{
    static const char *none = "{\"issuer\":\"https://a.example\","
                              "\"authorization_endpoint\":\"https://a.example/a\","
                              "\"token_endpoint\":\"https://a.example/t\"}";
    static const char *plain = "{\"issuer\":\"https://a.example\","
                               "\"authorization_endpoint\":\"https://a.example/a\","
                               "\"token_endpoint\":\"https://a.example/t\","
                               "\"code_challenge_methods_supported\":[\"plain\"]}";
    struct oauthmeta_as as;
    char *why = NULL, *warning = NULL;

    (void)state;
    /* S25: refuse when PKCE support is not advertised ... */
    check_err(as_parse(none, "https://a.example", 0, &as, &warning, &why), ERR_INVALID, &why, NULL);
    /* ... unless the server's entry says to tolerate a missing list (Entra ID, Cognito). */
    assert_int_equal(
        as_parse(none, "https://a.example", OAUTHMETA_TOLERATE_NO_PKCE_LIST, &as, &warning, &why),
        0);
    assert_non_null(warning);
    assert_false(as.pkce_listed);
    assert_true(as.pkce_s256);
    free(warning);
    warning = NULL;
    oauthmeta_as_clear(&as);
    /* A list without S256 is refused either way. */
    check_err(
        as_parse(plain, "https://a.example", OAUTHMETA_TOLERATE_NO_PKCE_LIST, &as, &warning, &why),
        ERR_INVALID, &why, NULL);
}

static void test_as_document_errors(void **state)
{
    struct oauthmeta_as as;
    char *why = NULL, *warning = NULL;

    (void)state;
    check_err(as_parse("{", "https://a.example", 0, &as, &warning, &why), ERR_PARSE, &why, NULL);
    check_err(as_parse("\"x\"", "https://a.example", 0, &as, &warning, &why), ERR_PARSE, &why,
              NULL);
    check_err(oauthmeta_as_parse("{}", OAUTHMETA_MAX_DOC + 1, "https://a.example", 0, &as, &warning,
                                 &why),
              ERR_TOO_BIG, &why, NULL);
}

static void test_as_fallback(void **state)
{
    struct oauthmeta_as as;
    char *why = NULL;

    (void)state;
    assert_int_equal(oauthmeta_as_fallback("https://Example.com:8443/some/mcp?x=1", &as, &why), 0);
    assert_string_equal(as.issuer, "https://example.com:8443");
    assert_string_equal(as.authorization_endpoint, "https://example.com:8443/authorize");
    assert_string_equal(as.token_endpoint, "https://example.com:8443/token");
    assert_string_equal(as.registration_endpoint, "https://example.com:8443/register");
    assert_true(as.fallback);
    assert_true(as.pkce_s256);
    oauthmeta_as_clear(&as);
    check_err(oauthmeta_as_fallback("nope", &as, &why), ERR_INVALID, &why, NULL);
}

static void test_origin_and_resource(void **state)
{
    struct oauthmeta_prm p = {0};
    char *s;

    (void)state;
    s = oauthmeta_origin("HTTP://LocalHost:3001/mcp/x?y#z");
    assert_string_equal(s, "http://localhost:3001");
    free(s);
    assert_null(oauthmeta_origin("mailto:x"));
    s = oauthmeta_resource("HTTPS://Example.com:443/mcp/#frag", NULL);
    assert_string_equal(s, "https://example.com/mcp");
    free(s);
    s = oauthmeta_resource("https://example.com/", NULL);
    assert_string_equal(s, "https://example.com");
    free(s);
    s = oauthmeta_resource("https://example.com:8443/mcp?t=1", NULL);
    assert_string_equal(s, "https://example.com:8443/mcp?t=1");
    free(s);
    p.resource = "https://example.com";
    s = oauthmeta_resource("https://example.com/mcp", &p);
    assert_string_equal(s, "https://example.com");
    free(s);
    assert_null(oauthmeta_resource("x", NULL));
    assert_true(oauthmeta_url_is_secure("https://a.example/x"));
    assert_true(oauthmeta_url_is_secure("http://127.0.0.1:9/x"));
    assert_true(oauthmeta_url_is_secure("http://LOCALHOST/x"));
    assert_false(oauthmeta_url_is_secure("http://127.0.0.2/x"));
    assert_false(oauthmeta_url_is_secure("http://localhost.example/x"));
    assert_false(oauthmeta_url_is_secure("ftp://a"));
}

/* ---- scopes ---- */

static void check_str(char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_scope_selection(void **state)
{
    struct oauthmeta_prm prm = {.scopes_supported = "mcp:basic mcp:read mcp:write"};
    struct oauthmeta_as as = {.scopes_supported = "mcp:basic offline_access"};
    struct oauthmeta_as as_no = {.scopes_supported = "mcp:basic mcp:read"};

    (void)state;
    /* scope-from-www-authenticate: the challenge is authoritative. */
    check_str(oauthmeta_scope_select(NULL, "mcp:basic", &prm, NULL, false), "mcp:basic");
    /* scope-from-scopes-supported. */
    check_str(oauthmeta_scope_select(NULL, NULL, &prm, NULL, false),
              "mcp:basic mcp:read mcp:write");
    check_str(oauthmeta_scope_select(NULL, "", &prm, NULL, false), "mcp:basic mcp:read mcp:write");
    /* scope-omitted-when-undefined: nothing anywhere, nothing sent; AS scopes are not used. */
    check_str(oauthmeta_scope_select(NULL, NULL, NULL, &as_no, true), NULL);
    check_str(oauthmeta_scope_select("", NULL, &(struct oauthmeta_prm){0}, NULL, true), NULL);
    /* offline_access only when the AS lists it and the client can refresh. */
    check_str(oauthmeta_scope_select(
                  NULL, NULL, &(struct oauthmeta_prm){.scopes_supported = "mcp:basic"}, &as, true),
              "mcp:basic offline_access");
    check_str(oauthmeta_scope_select(NULL, "mcp:basic", NULL, &as, false), "mcp:basic");
    check_str(oauthmeta_scope_select(NULL, "mcp:basic", NULL, &as_no, true), "mcp:basic");
    /* A configured list replaces the PRM fallback and joins a challenge. */
    check_str(oauthmeta_scope_select("a b", NULL, &prm, NULL, false), "a b");
    check_str(oauthmeta_scope_select("a b", "b c", &prm, NULL, false), "a b c");
    /* Normalization: extra spaces, duplicates, invalid tokens. */
    check_str(oauthmeta_scope_select(NULL, "  x   y x \"bad z ", NULL, NULL, false), "x y z");
}

static void test_scope_union_and_covers(void **state)
{
    struct buf b = {0};
    char *many, *u;
    int i;

    (void)state;
    /* scope-step-up: the 403 asks for mcp:basic mcp:write after mcp:basic was granted. */
    check_str(oauthmeta_scope_union("mcp:basic", "mcp:basic mcp:write"), "mcp:basic mcp:write");
    check_str(oauthmeta_scope_union("a c", "b a"), "a c b");
    check_str(oauthmeta_scope_union(NULL, "a"), "a");
    check_str(oauthmeta_scope_union("a", NULL), "a");
    check_str(oauthmeta_scope_union(NULL, " "), NULL);
    assert_true(oauthmeta_scope_covers("a b c", "c a"));
    assert_true(oauthmeta_scope_covers("a", ""));
    assert_true(oauthmeta_scope_covers(NULL, NULL));
    assert_false(oauthmeta_scope_covers("a", "a b"));
    assert_false(oauthmeta_scope_covers(NULL, "a"));
    assert_false(oauthmeta_scope_covers("ab", "a"));
    for (i = 0; i < 100; i++)
        buf_printf(&b, "s%d ", i);
    many = buf_take(&b);
    u = oauthmeta_scope_union(many, "extra");
    assert_non_null(strstr(u, "s63"));
    assert_null(strstr(u, "s64"));
    assert_null(strstr(u, "extra"));
    free(u);
    free(many);
}

/* ---- client authentication ---- */

static void test_auth_method_choice(void **state)
{
    struct oauthmeta_as basic = {.auth_methods = OAUTHMETA_AUTH_BASIC};
    struct oauthmeta_as post = {.auth_methods = OAUTHMETA_AUTH_POST};
    struct oauthmeta_as none = {.auth_methods = OAUTHMETA_AUTH_NONE};
    struct oauthmeta_as unlisted = {0};
    struct oauthmeta_as jwt = {.auth_methods = OAUTHMETA_AUTH_JWT};
    struct oauthmeta_as all = {.auth_methods = OAUTHMETA_AUTH_NONE | OAUTHMETA_AUTH_POST |
                                               OAUTHMETA_AUTH_BASIC};

    (void)state;
    /* conformance pre-registration: AS lists client_secret_basic, config has a secret. */
    assert_int_equal(oauthmeta_auth_method(&basic, OAUTHMETA_CLIENT_PREREGISTERED, true, NULL),
                     OAUTHMETA_AUTH_BASIC);
    /* token-endpoint-auth-post / -basic / -none: DCR returns the only listed method. */
    assert_int_equal(oauthmeta_auth_method(&post, OAUTHMETA_CLIENT_DCR, true, "client_secret_post"),
                     OAUTHMETA_AUTH_POST);
    assert_int_equal(
        oauthmeta_auth_method(&basic, OAUTHMETA_CLIENT_DCR, true, "client_secret_basic"),
        OAUTHMETA_AUTH_BASIC);
    assert_int_equal(oauthmeta_auth_method(&none, OAUTHMETA_CLIENT_DCR, false, "none"),
                     OAUTHMETA_AUTH_NONE);
    /* The registered method wins when listed or when nothing is listed ... */
    assert_int_equal(oauthmeta_auth_method(&all, OAUTHMETA_CLIENT_DCR, true, "client_secret_post"),
                     OAUTHMETA_AUTH_POST);
    assert_int_equal(
        oauthmeta_auth_method(&unlisted, OAUTHMETA_CLIENT_DCR, true, "client_secret_post"),
        OAUTHMETA_AUTH_POST);
    /* ... else preference basic > post > none among the listed. */
    assert_int_equal(
        oauthmeta_auth_method(&post, OAUTHMETA_CLIENT_DCR, true, "client_secret_basic"),
        OAUTHMETA_AUTH_POST);
    assert_int_equal(oauthmeta_auth_method(&all, OAUTHMETA_CLIENT_PREREGISTERED, true, NULL),
                     OAUTHMETA_AUTH_BASIC);
    assert_int_equal(oauthmeta_auth_method(&none, OAUTHMETA_CLIENT_PREREGISTERED, true, NULL),
                     OAUTHMETA_AUTH_NONE);
    /* RFC 8414 §2 default when nothing is listed; and basic when nothing usable is listed. */
    assert_int_equal(oauthmeta_auth_method(&unlisted, OAUTHMETA_CLIENT_PREREGISTERED, true, NULL),
                     OAUTHMETA_AUTH_BASIC);
    assert_int_equal(oauthmeta_auth_method(NULL, OAUTHMETA_CLIENT_PREREGISTERED, true, "bogus"),
                     OAUTHMETA_AUTH_BASIC);
    assert_int_equal(oauthmeta_auth_method(&jwt, OAUTHMETA_CLIENT_PREREGISTERED, true, NULL),
                     OAUTHMETA_AUTH_BASIC);
    /* No secret, or a CIMD client: none. */
    assert_int_equal(oauthmeta_auth_method(&basic, OAUTHMETA_CLIENT_PREREGISTERED, false, NULL),
                     OAUTHMETA_AUTH_NONE);
    assert_int_equal(oauthmeta_auth_method(&basic, OAUTHMETA_CLIENT_CIMD, true, NULL),
                     OAUTHMETA_AUTH_NONE);
    assert_string_equal(oauthmeta_auth_method_name(OAUTHMETA_AUTH_BASIC), "client_secret_basic");
    assert_string_equal(oauthmeta_auth_method_name(OAUTHMETA_AUTH_POST), "client_secret_post");
    assert_string_equal(oauthmeta_auth_method_name(OAUTHMETA_AUTH_NONE), "none");
}

static void test_check_iss(void **state)
{
    struct oauthmeta_as as = {.issuer = "https://auth.example.com/t1"};
    char *why = NULL;

    (void)state;
    assert_int_equal(oauthmeta_check_iss(&as, NULL, &why), 0);
    assert_int_equal(oauthmeta_check_iss(&as, "https://auth.example.com/t1", &why), 0);
    check_err(oauthmeta_check_iss(&as, "https://auth.example.com/t1/", &why), ERR_INVALID, &why,
              NULL);
    check_err(oauthmeta_check_iss(&as, "https://AUTH.example.com/t1", &why), ERR_INVALID, &why,
              NULL);
    as.iss_supported = true;
    check_err(oauthmeta_check_iss(&as, NULL, &why), ERR_INVALID, &why, NULL);
    assert_int_equal(oauthmeta_check_iss(&as, "https://auth.example.com/t1", &why), 0);
}

/* ---- request building ---- */

static void test_form_encoding(void **state)
{
    struct buf b = {0};
    char *s;

    (void)state;
    oauthmeta_form_add(&b, "grant_type", "authorization_code");
    oauthmeta_form_add(&b, "skipped", NULL);
    oauthmeta_form_add(&b, "x y", "a b&c=d/\xc3\xa9+~._-");
    s = buf_take(&b);
    assert_string_equal(s, "grant_type=authorization_code&x%20y=a%20b%26c%3Dd%2F%C3%A9%2B~._-");
    free(s);
}

static void test_authorize_url(void **state)
{
    struct oauthmeta_as as = {.authorization_endpoint = "https://a.example/authorize"};
    char *u;

    (void)state;
    u = oauthmeta_authorize_url(&as, "client-1", "http://127.0.0.1:33418/oauth/callback",
                                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "st4te",
                                "mcp:basic mcp:write", "https://example.com/mcp");
    assert_string_equal(u, "https://a.example/authorize?response_type=code&client_id=client-1"
                           "&redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Foauth%2Fcallback"
                           "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                           "&code_challenge_method=S256&state=st4te"
                           "&scope=mcp%3Abasic%20mcp%3Awrite"
                           "&resource=https%3A%2F%2Fexample.com%2Fmcp");
    free(u);
    /* An endpoint with its own query keeps it; no scope, no resource, offline_access. */
    as.authorization_endpoint = "https://a.example/authorize?tenant=x";
    u = oauthmeta_authorize_url(&as, "c", "r", "ch", "s", NULL, NULL);
    assert_string_equal(u, "https://a.example/authorize?tenant=x&response_type=code&client_id=c"
                           "&redirect_uri=r&code_challenge=ch&code_challenge_method=S256&state=s");
    free(u);
    u = oauthmeta_authorize_url(&as, "c", "r", "ch", "s", "openid offline_access", "res");
    assert_non_null(strstr(u, "&scope=openid%20offline_access&resource=res&prompt=consent"));
    free(u);
}

static void test_basic_auth(void **state)
{
    char *h, *enc;

    (void)state;
    h = oauthmeta_basic_auth("pre-registered-client", "pre-registered-secret");
    enc = b64_encode("pre-registered-client:pre-registered-secret",
                     strlen("pre-registered-client:pre-registered-secret"));
    assert_int_equal(strncmp(h, "Basic ", 6), 0);
    assert_string_equal(h + 6, enc);
    free(enc);
    free(h);
    /* RFC 6749 §2.3.1: both parts form-urlencoded first, so a ':' in the id survives. */
    h = oauthmeta_basic_auth("a:b", "s p");
    enc = b64_encode("a%3Ab:s%20p", 11);
    assert_string_equal(h + 6, enc);
    free(enc);
    free(h);
}

static void test_registration_request(void **state)
{
    struct oauthmeta_as post = {.auth_methods = OAUTHMETA_AUTH_POST};
    struct oauthmeta_as mixed = {.auth_methods = OAUTHMETA_AUTH_NONE | OAUTHMETA_AUTH_BASIC};
    const cJSON *arr;
    cJSON *j;
    char *s;

    (void)state;
    s = oauthmeta_registration_request(NULL, "http://127.0.0.1:33418/oauth/callback", "mcpzip",
                                       "mcp:basic");
    j = json_parse(s, strlen(s), NULL);
    assert_non_null(j);
    arr = json_get_arr(j, "redirect_uris");
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(cJSON_GetArrayItem(arr, 0)->valuestring,
                        "http://127.0.0.1:33418/oauth/callback");
    assert_string_equal(json_get_str(j, "token_endpoint_auth_method"), "none");
    arr = json_get_arr(j, "grant_types");
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetArrayItem(arr, 1)->valuestring, "refresh_token");
    assert_string_equal(json_get_str(j, "application_type"), "native");
    assert_string_equal(json_get_str(j, "client_name"), "mcpzip");
    assert_string_equal(json_get_str(j, "scope"), "mcp:basic");
    assert_string_equal(cJSON_GetArrayItem(json_get_arr(j, "response_types"), 0)->valuestring,
                        "code");
    cJSON_Delete(j);
    free(s);
    s = oauthmeta_registration_request(&post, "r", "n", NULL);
    assert_non_null(strstr(s, "\"token_endpoint_auth_method\":\"client_secret_post\""));
    assert_null(strstr(s, "scope"));
    free(s);
    s = oauthmeta_registration_request(&mixed, "r", "n", "");
    assert_non_null(strstr(s, "\"token_endpoint_auth_method\":\"none\""));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prm_urls_path_then_root),
        cmocka_unit_test(test_prm_urls_trailing_slash_dropped_once),
        cmocka_unit_test(test_prm_urls_root_server_only_root),
        cmocka_unit_test(test_prm_urls_ports_kept_defaults_dropped),
        cmocka_unit_test(test_prm_urls_query_kept_fragment_dropped),
        cmocka_unit_test(test_prm_urls_header_url_only),
        cmocka_unit_test(test_bad_server_urls),
        cmocka_unit_test(test_messages_hide_credentials_and_queries),
        cmocka_unit_test(test_as_urls_path_issuer),
        cmocka_unit_test(test_as_urls_root_issuer),
        cmocka_unit_test(test_as_urls_refused),
        cmocka_unit_test(test_prm_parse_valid),
        cmocka_unit_test(test_prm_resource_accepted_forms),
        cmocka_unit_test(test_prm_resource_mismatches),
        cmocka_unit_test(test_prm_document_errors),
        cmocka_unit_test(test_prm_lists_filtered_and_bounded),
        cmocka_unit_test(test_as_parse_valid),
        cmocka_unit_test(test_as_parse_minimal_loopback),
        cmocka_unit_test(test_as_issuer_mismatch),
        cmocka_unit_test(test_as_endpoints_must_be_secure),
        cmocka_unit_test(test_as_pkce_rules),
        cmocka_unit_test(test_as_document_errors),
        cmocka_unit_test(test_as_fallback),
        cmocka_unit_test(test_origin_and_resource),
        cmocka_unit_test(test_scope_selection),
        cmocka_unit_test(test_scope_union_and_covers),
        cmocka_unit_test(test_auth_method_choice),
        cmocka_unit_test(test_check_iss),
        cmocka_unit_test(test_form_encoding),
        cmocka_unit_test(test_authorize_url),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_registration_request),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
