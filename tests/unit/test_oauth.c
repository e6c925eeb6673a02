/*
 * test_oauth.c - unit tests for the parts of oauth.h that need no network: which servers OAuth
 * applies to, which answers ask for authorization (401, 403 insufficient_scope), the
 * WWW-Authenticate capture bounds, the Authorization header built from stored tokens (and none
 * without), and that no flow is pending before one starts. The flow itself is tested end to end
 * in tests/integration/oauth.test.mjs (conformance suite and a real authorization server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "http.h"
#include "oauth.h"
#include "tokenstore.h"

#define CONFIG                                                                \
    "{\"mcpServers\":{"                                                       \
    "\"remote\":{\"type\":\"http\",\"url\":\"https://mcp.example.com/mcp\"}," \
    "\"keyed\":{\"type\":\"http\",\"url\":\"https://k.example.com/mcp\","     \
    "\"headers\":{\"Authorization\":\"Bearer x\"}},"                          \
    "\"legacy\":{\"type\":\"sse\",\"url\":\"https://s.example.com/sse\"},"    \
    "\"local\":{\"command\":\"true\"}}}"

struct fix {
    char dir[64];
    struct config *cfg;
    struct http_lib *lib;
    struct oauth *oa;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char *why = NULL;

    snprintf(f->dir, sizeof(f->dir), "/tmp/mcpzip-oauth-XXXXXX");
    if (mkdtemp(f->dir) == NULL ||
        config_parse(CONFIG, strlen(CONFIG), "/tmp/config.json", &f->cfg, &why) != 0)
        return -1;
    f->lib = http_lib_new("test");
    f->oa = oauth_new(f->lib, f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    char cmd[128];

    oauth_free(f->oa);
    http_lib_free(f->lib);
    config_free(f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_applies(void **state)
{
    struct fix *f = *state;

    assert_true(oauth_applies(config_find(f->cfg, "remote")));
    assert_true(oauth_applies(config_find(f->cfg, "legacy")));
    assert_false(oauth_applies(config_find(f->cfg, "keyed")));
    assert_false(oauth_applies(config_find(f->cfg, "local")));
    assert_false(oauth_applies(NULL));
}

static void test_challenge(void **state)
{
    struct fix *f = *state;
    const struct config_server *srv = config_find(f->cfg, "remote");
    const char *plain[] = {"Bearer realm=\"x\""};
    const char *step[] = {"Bearer error=\"insufficient_scope\", scope=\"a b\""};
    const char *broken[] = {"Bearer ,,, =="};

    assert_true(oauth_challenge(f->oa, srv, 401, plain, 1));
    assert_true(oauth_challenge(f->oa, srv, 401, NULL, 0));
    assert_true(oauth_challenge(f->oa, srv, 401, broken, 1));
    assert_false(oauth_challenge(f->oa, srv, 403, plain, 1));
    assert_true(oauth_challenge(f->oa, srv, 403, step, 1));
}

static void test_capture(void **state)
{
    struct oauth_capture c = {0};
    char big[20000];

    (void)state;
    oauth_capture_header(&c, "Content-Type", "text/plain");
    oauth_capture_header(&c, "www-authenticate", "Bearer a=1");
    oauth_capture_header(&c, "WWW-Authenticate", "DPoP algs=\"ES256\"");
    assert_int_equal(c.n, 2);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    oauth_capture_header(&c, "WWW-Authenticate", big);
    assert_int_equal(c.n, 2);
    for (int i = 0; i < 20; i++)
        oauth_capture_header(&c, "WWW-Authenticate", "Bearer");
    assert_int_equal(c.n, 8);
    oauth_capture_clear(&c);
    assert_int_equal(c.n, 0);
}

static void test_header_from_store(void **state)
{
    struct fix *f = *state;
    const struct config_server *srv = config_find(f->cfg, "remote");
    struct tokenstore *ts = tokenstore_new(f->dir, f->dir);
    struct tokenstore_tokens t = {
        .access_token = "at-123", .token_type = "Bearer", .expires_at = (int64_t)time(NULL) + 3600};
    char *why = NULL, *warning = NULL, *h;

    assert_null(oauth_header(f->oa, config_find(f->cfg, "legacy")));
    assert_int_equal(tokenstore_save(ts, srv->url, &t, &warning, &why), 0);
    h = oauth_header(f->oa, srv);
    assert_non_null(h);
    assert_string_equal(h, "Authorization: Bearer at-123");
    oauth_header_free(h);
    assert_false(oauth_pending(f->oa, srv, &why));
    assert_null(why);
    tokenstore_free(ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies),
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_capture),
        cmocka_unit_test(test_header_from_store),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
