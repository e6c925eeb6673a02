/*
 * test_cli_clients.c - unit tests for cli_clients.h: converting each client's entry shape into
 * a mcpzip entry (stdio, http, sse, Gemini's httpUrl/url/timeout, Windsurf's serverUrl, editor
 * variables), refusing what mcpzip cannot run, the self-entry guard, and name sanitizing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_clients.h"
#include "err.h"
#include "json.h"

/* Converts in (JSON text) for client and compares with want (JSON text), or expects refusal
 * when want is NULL. */
static void conv(const char *client, const char *in, const char *want)
{
    cJSON *e = json_parse(in, strlen(in), NULL), *out = NULL, *w;
    char *note = NULL, *why = NULL;
    int rc;

    assert_non_null(e);
    rc = cli_clients_convert(cli_clients_find(client), e, "/home/u", "/proj", &out, &note, &why);
    if (want == NULL) {
        assert_int_equal(rc, ERR_INVALID);
        assert_non_null(why);
    } else {
        char *got;

        assert_int_equal(rc, 0);
        w = json_parse(want, strlen(want), NULL);
        got = json_print(out);
        if (!cJSON_Compare(w, out, 1))
            fail_msg("got %s want %s", got, want);
        free(got);
        cJSON_Delete(w);
    }
    cJSON_Delete(e);
    cJSON_Delete(out);
    free(note);
    free(why);
}

static void test_stdio_and_remote(void **state)
{
    (void)state;
    conv("claude-code",
         "{\"type\":\"stdio\",\"command\":\"npx\",\"args\":[\"-y\",\"x\"],\"env\":{}}",
         "{\"command\":\"npx\",\"args\":[\"-y\",\"x\"]}");
    conv("claude-code", "{\"type\":\"http\",\"url\":\"https://a/mcp\",\"headers\":{\"A\":\"b\"}}",
         "{\"type\":\"http\",\"url\":\"https://a/mcp\",\"headers\":{\"A\":\"b\"}}");
    conv("claude-code", "{\"type\":\"sse\",\"url\":\"https://a/sse\"}",
         "{\"type\":\"sse\",\"url\":\"https://a/sse\"}");
    conv("cursor", "{\"url\":\"https://c/mcp\"}", "{\"type\":\"http\",\"url\":\"https://c/mcp\"}");
    conv("windsurf", "{\"serverUrl\":\"https://w/sse\",\"disabled\":true}",
         "{\"type\":\"sse\",\"url\":\"https://w/sse\",\"disabled\":true}");
    conv("gemini", "{\"httpUrl\":\"https://g/mcp\",\"timeout\":1500}",
         "{\"type\":\"http\",\"url\":\"https://g/mcp\",\"timeout_seconds\":2}");
    conv("gemini", "{\"url\":\"https://g/sse\"}", "{\"type\":\"sse\",\"url\":\"https://g/sse\"}");
    conv("gemini", "{\"command\":\"py\",\"cwd\":\"/srv\",\"env\":{\"N\":5}}",
         "{\"command\":\"py\",\"env\":{\"N\":\"5\"},\"cwd\":\"/srv\"}");
}

static void test_variables(void **state)
{
    (void)state;
    conv("vscode",
         "{\"type\":\"stdio\",\"command\":\"${userHome}/bin/s\",\"args\":"
         "[\"${workspaceFolder}\",\"${env:TOK}\",\"${KEEP:-d}\"]}",
         "{\"command\":\"/home/u/bin/s\",\"args\":[\"/proj\",\"${TOK}\",\"${KEEP:-d}\"]}");
    conv("vscode", "{\"type\":\"http\",\"url\":\"https://v\",\"headers\":{\"A\":\"${input:t}\"}}",
         NULL);
}

static void test_refusals(void **state)
{
    (void)state;
    conv("claude-code", "{\"type\":\"ws-ide\",\"url\":\"ws://x\"}", NULL);
    conv("claude-code", "{\"type\":\"sse-ide\",\"url\":\"http://x\"}", NULL);
    conv("claude-code", "{\"args\":[\"x\"]}", NULL);
    conv("claude-code", "{\"command\":\"x\",\"args\":\"notarray\"}", NULL);
    conv("claude-code", "[1]", NULL);
}

static void test_self_and_names(void **state)
{
    static const char se[] = "{\"command\":\"/usr/bin/mcpzip\"}",
                      sf[] = "{\"command\":\"/x/self\"}";
    static const char sg[] = "{\"command\":\"node\"}";
    cJSON *e = json_parse(se, strlen(se), NULL), *f = json_parse(sf, strlen(sf), NULL);
    cJSON *g = json_parse(sg, strlen(sg), NULL);
    char *n;

    (void)state;
    assert_true(cli_clients_is_self("a", e, "/x/self"));
    assert_true(cli_clients_is_self("a", f, "/x/self"));
    assert_true(cli_clients_is_self("MCPZIP", g, "/x/self"));
    assert_false(cli_clients_is_self("a", g, "/x/self"));
    n = cli_clients_sanitize_name("my server__x");
    assert_string_equal(n, "my-server_x");
    free(n);
    assert_null(cli_clients_sanitize_name("///"));
    assert_string_equal(cli_clients_find("claude")->id, "claude-code");
    assert_null(cli_clients_find("emacs"));
    cJSON_Delete(e);
    cJSON_Delete(f);
    cJSON_Delete(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdio_and_remote),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_self_and_names),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
