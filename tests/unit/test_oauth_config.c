/*
 * test_oauth_config.c - unit tests for oauth_config.h: every field of a server's "oauth"
 * object, the defaults, and the refusals with messages naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "oauth_config.h"

static int parse(const char *text, struct oauth_config *c, char **why)
{
    cJSON *j = cJSON_Parse(text);
    int rc = oauth_config_parse(j, c, why);

    cJSON_Delete(j);
    return rc;
}

static void test_defaults(void **state)
{
    struct oauth_config c;
    char *why = NULL;

    (void)state;
    assert_int_equal(oauth_config_parse(NULL, &c, &why), 0);
    assert_null(c.client_id);
    assert_int_equal(c.timeout_seconds, OAUTH_DEFAULT_TIMEOUT_S);
    assert_false(c.omit_resource);
    assert_false(c.client_credentials);
    oauth_config_clear(&c);
    assert_int_equal(parse("{}", &c, &why), 0);
    oauth_config_clear(&c);
}

static void test_all_fields(void **state)
{
    struct oauth_config c;
    char *why = NULL;

    (void)state;
    assert_int_equal(parse("{\"client_id\":\"id\",\"client_secret\":\"s\","
                           "\"client_metadata_url\":\"https://app.example.com/client.json\","
                           "\"scopes\":[\"read\",\"write\"],\"redirect_port\":3118,"
                           "\"resource\":false,\"grant\":\"client_credentials\","
                           "\"signing_alg\":\"ES256\",\"allow_missing_pkce_metadata\":true,"
                           "\"timeout_seconds\":60}",
                           &c, &why),
                     0);
    assert_string_equal(c.client_id, "id");
    assert_string_equal(c.client_secret, "s");
    assert_string_equal(c.client_metadata_url, "https://app.example.com/client.json");
    assert_string_equal(c.scopes, "read write");
    assert_int_equal(c.redirect_port, 3118);
    assert_true(c.omit_resource);
    assert_true(c.client_credentials);
    assert_string_equal(c.signing_alg, "ES256");
    assert_true(c.tolerate_no_pkce_list);
    assert_int_equal(c.timeout_seconds, 60);
    oauth_config_clear(&c);
    assert_int_equal(parse("{\"scopes\":\"a b\"}", &c, &why), 0);
    assert_string_equal(c.scopes, "a b");
    oauth_config_clear(&c);
}

/* Unknown fields are ignored (config.c warns); Claude Code's names are understood. */
static void test_foreign_names(void **state)
{
    struct oauth_config c;
    char *why = NULL;

    (void)state;
    assert_int_equal(
        parse("{\"clientId\":\"cc\",\"callbackPort\":8080,\"enabled\":true}", &c, &why), 0);
    assert_string_equal(c.client_id, "cc");
    assert_int_equal(c.redirect_port, 8080);
    oauth_config_clear(&c);
    assert_int_equal(parse("{\"client_id\":\"ours\",\"clientId\":\"theirs\"}", &c, &why), 0);
    assert_string_equal(c.client_id, "ours");
    oauth_config_clear(&c);
    assert_int_equal(parse("{\"callbackPort\":0}", &c, &why), ERR_INVALID);
    assert_non_null(strstr(why, "oauth.callbackPort"));
    free(why);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "oauth must be"},
        {"{\"client_id\":3}", "oauth.client_id"},
        {"{\"redirect_port\":70000}", "oauth.redirect_port"},
        {"{\"redirect_port\":\"80\"}", "oauth.redirect_port"},
        {"{\"resource\":\"no\"}", "oauth.resource"},
        {"{\"grant\":\"password\"}", "oauth.grant"},
        {"{\"grant\":\"client_credentials\"}", "oauth.client_id"},
        {"{\"grant\":\"client_credentials\",\"client_id\":\"x\"}", "oauth.client_secret"},
        {"{\"signing_alg\":\"HS256\"}", "oauth.signing_alg"},
        {"{\"client_secret\":\"s\"}", "oauth.client_id"},
        {"{\"client_metadata_url\":\"http://x.example/c.json\"}", "oauth.client_metadata_url"},
        {"{\"scopes\":[\"a b\"]}", "oauth.scopes"},
        {"{\"timeout_seconds\":1}", "oauth.timeout_seconds"},
    };
    struct oauth_config c;
    char *why = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i].json, &c, &why), ERR_INVALID);
        assert_non_null(strstr(why, bad[i].field));
        free(why);
        why = NULL;
        assert_null(c.client_id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_foreign_names),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
