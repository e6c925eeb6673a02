/*
 * test_config.c - unit tests for config.h: the Claude Code `mcpServers` shape, defaults,
 * ${VAR} expansion, validation messages and the default path.
 *
 * Users copy their existing Claude config into mcpzip, so every shape Claude accepts must parse,
 * and every mistake must produce a message that names the file, the server or the field and says
 * what to do. A missing environment variable disables one server (its `problem`), never the whole
 * file. Tests that touch the environment set and restore what they use, so they stay independent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "err.h"

#define PATH "/etc/mcpzip-test/config.json"

/* Parses text as PATH; returns the code and leaves the config or the reason in *out / *why. */
static int parse(const char *text, struct config **out, char **why)
{
    *out = NULL;
    *why = NULL;
    return config_parse(text, strlen(text), PATH, out, why);
}

/* Parses text that must be valid. */
static struct config *parse_ok(const char *text)
{
    struct config *cfg = NULL;
    char *why = NULL;
    int rc = parse(text, &cfg, &why);

    if (rc != 0)
        fail_msg("config_parse failed (%d): %s", rc, why != NULL ? why : "(no reason)");
    assert_non_null(cfg);
    assert_null(why);
    return cfg;
}

/* Asserts text is rejected with code and that the reason contains every string in needles. */
static void expect_reject(const char *text, int code, const char *const *needles)
{
    struct config *cfg = NULL;
    char *why = NULL;

    assert_int_equal(parse(text, &cfg, &why), code);
    assert_null(cfg);
    assert_non_null(why);
    for (size_t i = 0; needles != NULL && needles[i] != NULL; i++)
        if (strstr(why, needles[i]) == NULL)
            fail_msg("reason \"%s\" lacks \"%s\"", why, needles[i]);
    free(why);
}

/* Saves an environment variable so a test can change it and put it back. */
struct saved_env {
    const char *name;
    char *value; /* NULL when it was unset */
};

static struct saved_env save_env(const char *name)
{
    const char *v = getenv(name);
    struct saved_env s = {.name = name, .value = v != NULL ? strdup(v) : NULL};

    return s;
}

static void restore_env(struct saved_env *s)
{
    if (s->value != NULL)
        setenv(s->name, s->value, 1);
    else
        unsetenv(s->name);
    free(s->value);
    s->value = NULL;
}

/* ---- accepted shapes ---- */

/* The plain Claude stdio entry: command, args, an empty env; argv is command + args. */
static void test_stdio_entry(void **state)
{
    struct config *cfg = parse_ok("{\"mcpServers\": {\"github\": {\"command\": \"npx\", "
                                  "\"args\": [\"-y\", \"@modelcontextprotocol/server-github\"], "
                                  "\"env\": {}}}}");
    const struct config_server *s;

    (void)state;
    assert_string_equal(cfg->path, PATH);
    assert_int_equal(cfg->nservers, 1);
    s = &cfg->servers[0];
    assert_string_equal(s->name, "github");
    assert_int_equal(s->transport, CONFIG_STDIO);
    assert_string_equal(s->command, "npx");
    assert_int_equal(s->argc, 3);
    assert_string_equal(s->argv[0], "npx");
    assert_string_equal(s->argv[1], "-y");
    assert_string_equal(s->argv[2], "@modelcontextprotocol/server-github");
    assert_null(s->argv[3]);
    assert_int_equal(s->nenv, 0);
    assert_null(s->cwd);
    assert_null(s->url);
    assert_false(s->disabled);
    assert_int_equal(s->timeout_seconds, 0);
    assert_null(s->problem);
    assert_int_equal(cfg->nwarnings, 0);
    config_free(cfg);
    config_free(NULL); /* a no-op, like free(NULL) */
}

/* "type" absent or "stdio" means stdio; "http"/"streamable-http" HTTP; "sse" SSE. */
static void test_transport_types(void **state)
{
    static const struct {
        const char *json;
        enum config_transport want;
    } cases[] = {
        {"{\"mcpServers\":{\"s\":{\"command\":\"x\"}}}", CONFIG_STDIO},
        {"{\"mcpServers\":{\"s\":{\"type\":\"stdio\",\"command\":\"x\"}}}", CONFIG_STDIO},
        {"{\"mcpServers\":{\"s\":{\"type\":null,\"command\":\"x\"}}}", CONFIG_STDIO},
        {"{\"mcpServers\":{\"s\":{\"type\":\"http\",\"url\":\"https://a.example/mcp\"}}}",
         CONFIG_HTTP},
        {"{\"mcpServers\":{\"s\":{\"type\":\"streamable-http\",\"url\":\"http://127.0.0.1:9/\"}}}",
         CONFIG_HTTP},
        {"{\"mcpServers\":{\"s\":{\"type\":\"sse\",\"url\":\"https://a.example/sse\"}}}",
         CONFIG_SSE},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config *cfg = parse_ok(cases[i].json);

        assert_int_equal(cfg->servers[0].transport, cases[i].want);
        if (cases[i].want != CONFIG_STDIO) {
            assert_non_null(cfg->servers[0].url);
            assert_null(cfg->servers[0].argv);
        }
        config_free(cfg);
    }
}

/* Remote entries keep url and headers; stdio-only fields are left unset. */
static void test_http_entry_headers(void **state)
{
    struct config *cfg = parse_ok(
        "{\"mcpServers\":{\"remote\":{\"type\":\"http\",\"url\":\"https://mcp.example.com/mcp\","
        "\"headers\":{\"X-Team\":\"core\",\"X-Retries\":3}}}}");
    const struct config_server *s = &cfg->servers[0];

    (void)state;
    assert_string_equal(s->url, "https://mcp.example.com/mcp");
    assert_int_equal(s->nheaders, 2);
    assert_string_equal(s->headers[0].key, "X-Team");
    assert_string_equal(s->headers[0].value, "core");
    /* Numbers in string maps are taken as their text, as Claude does. */
    assert_string_equal(s->headers[1].value, "3");
    assert_null(s->command);
    config_free(cfg);
}

/* Per-server options: env entries, cwd, disabled, timeout_seconds, oauth object. */
static void test_server_options(void **state)
{
    struct config *cfg =
        parse_ok("{\"mcpServers\":{\"fs\":{\"command\":\"/usr/bin/fs\",\"args\":[\"--root\", 7],"
                 "\"env\":{\"A\":\"1\",\"B\":true},\"cwd\":\"/srv\",\"disabled\":true,"
                 "\"timeout_seconds\":30},"
                 "\"web\":{\"type\":\"http\",\"url\":\"https://w.example/mcp\","
                 "\"oauth\":{\"client_id\":\"abc\"}}}}");
    const struct config_server *fs = config_find(cfg, "fs"), *web = config_find(cfg, "web");

    (void)state;
    assert_non_null(fs);
    assert_non_null(web);
    assert_null(config_find(cfg, "nope"));
    assert_int_equal(fs->argc, 3);
    assert_string_equal(fs->argv[2], "7");
    assert_int_equal(fs->nenv, 2);
    assert_string_equal(fs->env[0].key, "A");
    assert_string_equal(fs->env[0].value, "1");
    assert_string_equal(fs->env[1].value, "true");
    assert_string_equal(fs->cwd, "/srv");
    assert_true(fs->disabled);
    assert_int_equal(fs->timeout_seconds, 30);
    assert_non_null(web->oauth);
    assert_true(cJSON_IsObject(web->oauth));
    assert_null(fs->oauth);
    config_free(cfg);
}

/* Server order is the file's order (status output and the catalog follow it). */
static void test_server_order(void **state)
{
    struct config *cfg = parse_ok("{\"mcpServers\":{\"zeta\":{\"command\":\"z\"},"
                                  "\"alpha\":{\"command\":\"a\"},\"mid\":{\"command\":\"m\"}}}");

    (void)state;
    assert_int_equal(cfg->nservers, 3);
    assert_string_equal(cfg->servers[0].name, "zeta");
    assert_string_equal(cfg->servers[1].name, "alpha");
    assert_string_equal(cfg->servers[2].name, "mid");
    config_free(cfg);
}

/* ---- defaults and proxy settings ---- */

/* With nothing but an empty mcpServers every setting has its documented default. */
static void test_defaults(void **state)
{
    struct saved_env key = save_env("GEMINI_API_KEY");
    struct config *cfg;

    (void)state;
    unsetenv("GEMINI_API_KEY");
    cfg = parse_ok("{\"mcpServers\":{}}");
    assert_int_equal(cfg->nservers, 0);
    assert_int_equal(cfg->search_default_limit, 5);
    assert_int_equal(cfg->idle_timeout_minutes, 5);
    assert_int_equal(cfg->call_timeout_seconds, 120);
    assert_int_equal(cfg->max_message_bytes, 16u * 1024u * 1024u);
    assert_string_equal(cfg->search_model, "gemini-2.0-flash");
    assert_null(cfg->gemini_api_key);
    assert_int_equal(cfg->nwarnings, 0);
    config_free(cfg);
    restore_env(&key);
}

/* Every proxy setting in the file overrides its default. */
static void test_settings(void **state)
{
    struct config *cfg = parse_ok(
        "{\"mcpServers\":{},\"search\":{\"model\":\"gemini-x\",\"default_limit\":12},"
        "\"idle_timeout_minutes\":0,\"call_timeout_seconds\":30,\"max_message_bytes\":2048,"
        "\"$schema\":\"https://example.com/schema.json\"}");

    (void)state;
    assert_string_equal(cfg->search_model, "gemini-x");
    assert_int_equal(cfg->search_default_limit, 12);
    assert_int_equal(cfg->idle_timeout_minutes, 0);
    assert_int_equal(cfg->call_timeout_seconds, 30);
    assert_int_equal(cfg->max_message_bytes, 2048);
    assert_int_equal(cfg->nwarnings, 0);
    config_free(cfg);
}

/* $GEMINI_API_KEY wins over the file; the file's key is used when the variable is unset. */
static void test_gemini_key_env_wins(void **state)
{
    static const char text[] = "{\"mcpServers\":{},\"gemini_api_key\":\"from-file\"}";
    struct saved_env key = save_env("GEMINI_API_KEY");
    struct config *cfg;

    (void)state;
    setenv("GEMINI_API_KEY", "from-env", 1);
    cfg = parse_ok(text);
    assert_string_equal(cfg->gemini_api_key, "from-env");
    config_free(cfg);

    unsetenv("GEMINI_API_KEY");
    cfg = parse_ok(text);
    assert_string_equal(cfg->gemini_api_key, "from-file");
    config_free(cfg);

    /* An empty variable counts as unset. */
    setenv("GEMINI_API_KEY", "", 1);
    cfg = parse_ok(text);
    assert_string_equal(cfg->gemini_api_key, "from-file");
    config_free(cfg);
    restore_env(&key);
}

/* ---- ${VAR} expansion ---- */

/* ${VAR} and ${VAR:-default} expand in args, env values, url and header values. */
static void test_expansion(void **state)
{
    struct saved_env a = save_env("MZT_A"), b = save_env("MZT_UNSET_B"), e = save_env("MZT_EMPTY");
    struct config *cfg;
    const struct config_server *s, *r;

    (void)state;
    setenv("MZT_A", "alpha", 1);
    unsetenv("MZT_UNSET_B");
    setenv("MZT_EMPTY", "", 1);
    cfg = parse_ok(
        "{\"mcpServers\":{"
        "\"s\":{\"command\":\"/opt/${MZT_A}/bin\",\"args\":[\"${MZT_A}\",\"pre-${MZT_A}-post\","
        "\"${MZT_UNSET_B:-fallback}\",\"${MZT_A:-unused}\",\"${MZT_EMPTY:-was-empty}\","
        "\"$MZT_A stays\",\"${MZT_UNSET_B:-}\",\"${MZT_A}${MZT_A}\"],"
        "\"env\":{\"TOKEN\":\"${MZT_A}\",\"OTHER\":\"${MZT_UNSET_B:-d}\"}},"
        "\"r\":{\"type\":\"http\",\"url\":\"https://${MZT_A}.example/mcp\","
        "\"headers\":{\"Authorization\":\"Bearer ${MZT_A}\"}}}}");
    s = config_find(cfg, "s");
    r = config_find(cfg, "r");
    assert_string_equal(s->command, "/opt/alpha/bin");
    assert_string_equal(s->argv[0], "/opt/alpha/bin");
    assert_string_equal(s->argv[1], "alpha");
    assert_string_equal(s->argv[2], "pre-alpha-post");
    assert_string_equal(s->argv[3], "fallback");
    assert_string_equal(s->argv[4], "alpha");
    assert_string_equal(s->argv[5], "was-empty");
    assert_string_equal(s->argv[6], "$MZT_A stays"); /* only the ${...} form expands */
    assert_string_equal(s->argv[7], "");
    assert_string_equal(s->argv[8], "alphaalpha");
    assert_string_equal(s->env[0].value, "alpha");
    assert_string_equal(s->env[1].value, "d");
    assert_string_equal(r->url, "https://alpha.example/mcp");
    assert_string_equal(r->headers[0].value, "Bearer alpha");
    assert_null(s->problem);
    assert_null(r->problem);
    config_free(cfg);
    restore_env(&a);
    restore_env(&b);
    restore_env(&e);
}

/* A value much longer than the text it replaces expands in full (buffer growth). */
static void test_expansion_long_value(void **state)
{
    struct saved_env a = save_env("MZT_LONG");
    char *value = malloc(5001);
    struct config *cfg;

    (void)state;
    memset(value, 'v', 5000);
    value[5000] = '\0';
    setenv("MZT_LONG", value, 1);
    cfg = parse_ok("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"args\":[\"<${MZT_LONG}>\"]}}}");
    assert_int_equal(strlen(cfg->servers[0].argv[1]), 5002);
    assert_int_equal(cfg->servers[0].argv[1][0], '<');
    assert_int_equal(cfg->servers[0].argv[1][5001], '>');
    config_free(cfg);
    free(value);
    restore_env(&a);
}

/*
 * An unset ${VAR} with no default is not fatal: that server gets a `problem` naming the
 * variable and the field, and the other servers are untouched.
 */
static void test_unset_var_sets_problem(void **state)
{
    static const char *const texts[] = {
        "{\"mcpServers\":{\"bad\":{\"command\":\"x\",\"args\":[\"${MZT_MISSING}\"]},"
        "\"good\":{\"command\":\"y\"}}}",
        "{\"mcpServers\":{\"bad\":{\"command\":\"${MZT_MISSING}/bin/srv\"},"
        "\"good\":{\"command\":\"y\"}}}",
        "{\"mcpServers\":{\"bad\":{\"command\":\"x\",\"env\":{\"K\":\"${MZT_MISSING}\"}},"
        "\"good\":{\"command\":\"y\"}}}",
        "{\"mcpServers\":{\"bad\":{\"type\":\"http\",\"url\":\"https://${MZT_MISSING}/\"},"
        "\"good\":{\"command\":\"y\"}}}",
        "{\"mcpServers\":{\"bad\":{\"type\":\"sse\",\"url\":\"https://h/\","
        "\"headers\":{\"Authorization\":\"Bearer ${MZT_MISSING}\"}},"
        "\"good\":{\"command\":\"y\"}}}",
    };
    static const char *const fields[] = {"args[0]", "command", "env.K", "url",
                                         "headers.Authorization"};
    struct saved_env m = save_env("MZT_MISSING");

    (void)state;
    unsetenv("MZT_MISSING");
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct config *cfg = parse_ok(texts[i]);
        const struct config_server *bad = config_find(cfg, "bad");

        assert_int_equal(cfg->nservers, 2);
        assert_non_null(bad->problem);
        if (strstr(bad->problem, "MZT_MISSING") == NULL || strstr(bad->problem, fields[i]) == NULL)
            fail_msg("problem \"%s\" should name MZT_MISSING and %s", bad->problem, fields[i]);
        assert_null(config_find(cfg, "good")->problem);
        config_free(cfg);
    }
    restore_env(&m);
}

/* "${}" is not a reference to any variable: the server gets a problem, the file still loads. */
static void test_empty_var_name_sets_problem(void **state)
{
    struct config *cfg =
        parse_ok("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"args\":[\"${}\"]}}}");

    (void)state;
    assert_non_null(cfg->servers[0].problem);
    assert_non_null(strstr(cfg->servers[0].problem, "${}"));
    config_free(cfg);
}

/* ---- errors with positions and names ---- */

/* A JSON syntax error is reported as path:line:col of the offending byte. */
static void test_invalid_json_position(void **state)
{
    /* Line 3, column 3 is the quote of "b", where a comma was expected. */
    static const char missing_comma[] = "{\n  \"a\": 1\n  \"b\": 2\n}";
    struct config *cfg = NULL;
    char *why = NULL;

    (void)state;
    assert_int_equal(parse(missing_comma, &cfg, &why), ERR_PARSE);
    assert_null(cfg);
    assert_non_null(why);
    if (strncmp(why, PATH ":3:3:", strlen(PATH ":3:3:")) != 0)
        fail_msg("want \"%s:3:3: ...\", got \"%s\"", PATH, why);
    free(why);
}

/*
 * A trailing comma is the commonest hand-editing mistake; the position must point at it. The
 * `}` after the comma is on line 3, column 26; cJSON reports one byte past the failing token,
 * so 27 is accepted too (the message says "near here").
 */
static void test_invalid_json_trailing_comma_position(void **state)
{
    static const char text[] = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}";
    struct config *cfg = NULL;
    char *why = NULL;
    unsigned line = 0, col = 0;

    (void)state;
    assert_int_equal(parse(text, &cfg, &why), ERR_PARSE);
    assert_int_equal(strncmp(why, PATH ":", strlen(PATH ":")), 0);
    assert_int_equal(sscanf(why + strlen(PATH ":"), "%u:%u:", &line, &col), 2);
    assert_int_equal(line, 3);
    assert_in_range(col, 26, 27);
    assert_non_null(strstr(why, "trailing comma"));
    free(why);
}

/* Empty input and truncated input are syntax errors at a position, not crashes. */
static void test_invalid_json_truncated(void **state)
{
    (void)state;
    expect_reject("", ERR_PARSE, (const char *const[]){PATH ":1:", NULL});
    expect_reject("{\"mcpServers\": {", ERR_PARSE, (const char *const[]){PATH ":1:", NULL});
    expect_reject("{\"mcpServers\": {}} trailing", ERR_PARSE,
                  (const char *const[]){PATH ":1:", NULL});
}

/* The file must be an object holding an mcpServers object. */
static void test_wrong_top_level(void **state)
{
    (void)state;
    expect_reject("[]", ERR_INVALID, (const char *const[]){PATH, "object", NULL});
    expect_reject("{}", ERR_INVALID, (const char *const[]){"mcpServers", "missing", NULL});
    expect_reject("{\"mcpServers\": []}", ERR_INVALID,
                  (const char *const[]){"mcpServers", "must be an object", NULL});
    expect_reject("{\"mcpServers\": {}, \"search\": 5}", ERR_INVALID,
                  (const char *const[]){"search", NULL});
}

/* Names that cannot be routed as "server__tool" are rejected, saying what is allowed. */
static void test_invalid_server_names(void **state)
{
    char long_name[66], text[200];
    const char *names[] = {"a__b", "a b", "", "sl/ash", "ünï", long_name};

    (void)state;
    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(text, sizeof(text), "{\"mcpServers\":{\"%s\":{\"command\":\"x\"}}}", names[i]);
        expect_reject(text, ERR_INVALID,
                      (const char *const[]){"__", "letters, digits", "1-64", NULL});
        assert_false(config_valid_name(names[i]));
    }
}

/* The allowed alphabet and a 64-byte name are accepted. */
static void test_valid_server_names(void **state)
{
    char name64[65];
    const char *names[] = {"a", "A-b_c.9", "_x", "x_", "a_b_c", name64};

    (void)state;
    memset(name64, 'n', 64);
    name64[64] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!config_valid_name(names[i]))
            fail_msg("\"%s\" should be a valid name", names[i]);
    assert_false(config_valid_name(NULL));
}

/* A stdio server without a command, or a remote one without a url, is named in the message. */
static void test_missing_command_or_url(void **state)
{
    (void)state;
    expect_reject("{\"mcpServers\":{\"myserver\":{\"args\":[\"x\"]}}}", ERR_INVALID,
                  (const char *const[]){PATH, "\"myserver\"", "\"command\"", NULL});
    expect_reject("{\"mcpServers\":{\"myserver\":{\"command\":\"\"}}}", ERR_INVALID,
                  (const char *const[]){"\"myserver\"", "\"command\"", NULL});
    expect_reject("{\"mcpServers\":{\"remote1\":{\"type\":\"http\"}}}", ERR_INVALID,
                  (const char *const[]){PATH, "\"remote1\"", "\"url\"", NULL});
    expect_reject("{\"mcpServers\":{\"remote2\":{\"type\":\"sse\",\"url\":\"\"}}}", ERR_INVALID,
                  (const char *const[]){"\"remote2\"", "\"url\"", NULL});
}

/* Bad field types and values name the server and the field. */
static void test_bad_server_fields(void **state)
{
    (void)state;
    expect_reject("{\"mcpServers\":{\"s\":{\"type\":\"grpc\",\"command\":\"x\"}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "unknown type \"grpc\"", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"type\":5,\"command\":\"x\"}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "\"type\"", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"args\":\"-y pkg\"}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "\"args\"", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"args\":[{}]}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "args[0]", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"env\":[\"A=1\"]}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "\"env\"", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"env\":{\"A\":{}}}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "env.A", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"type\":\"http\",\"url\":\"ftp://h/\"}}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "https://", NULL});
    expect_reject("{\"mcpServers\":{\"s\":\"npx foo\"}}", ERR_INVALID,
                  (const char *const[]){"\"s\"", "object", NULL});
    expect_reject("{\"mcpServers\":{\"s\":{\"command\":\"a\"},\"s\":{\"command\":\"b\"}}}",
                  ERR_INVALID, (const char *const[]){"\"s\"", "twice", NULL});
}

/* Numbers outside their documented ranges, fractions and strings are rejected by name. */
static void test_numbers_out_of_range(void **state)
{
    static const struct {
        const char *json;
        const char *field;
    } cases[] = {
        {"{\"mcpServers\":{},\"search\":{\"default_limit\":0}}", "default_limit"},
        {"{\"mcpServers\":{},\"search\":{\"default_limit\":51}}", "default_limit"},
        {"{\"mcpServers\":{},\"search\":{\"default_limit\":2.5}}", "default_limit"},
        {"{\"mcpServers\":{},\"search\":{\"default_limit\":\"5\"}}", "default_limit"},
        {"{\"mcpServers\":{},\"idle_timeout_minutes\":-1}", "idle_timeout_minutes"},
        {"{\"mcpServers\":{},\"idle_timeout_minutes\":10081}", "idle_timeout_minutes"},
        {"{\"mcpServers\":{},\"call_timeout_seconds\":0}", "call_timeout_seconds"},
        {"{\"mcpServers\":{},\"call_timeout_seconds\":86401}", "call_timeout_seconds"},
        {"{\"mcpServers\":{},\"call_timeout_seconds\":1e300}", "call_timeout_seconds"},
        {"{\"mcpServers\":{},\"max_message_bytes\":1023}", "max_message_bytes"},
        {"{\"mcpServers\":{},\"max_message_bytes\":1073741825}", "max_message_bytes"},
        {"{\"mcpServers\":{\"s\":{\"command\":\"x\",\"timeout_seconds\":0}}}", "timeout_seconds"},
        {"{\"mcpServers\":{\"s\":{\"command\":\"x\",\"timeout_seconds\":-5}}}", "timeout_seconds"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_reject(cases[i].json, ERR_INVALID,
                      (const char *const[]){PATH, cases[i].field, "whole number", NULL});
}

/* The ends of each range are accepted. */
static void test_numbers_at_range_ends(void **state)
{
    struct config *cfg =
        parse_ok("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"timeout_seconds\":86400}},"
                 "\"search\":{\"default_limit\":50},\"idle_timeout_minutes\":10080,"
                 "\"call_timeout_seconds\":1,\"max_message_bytes\":1024}");

    (void)state;
    assert_int_equal(cfg->search_default_limit, 50);
    assert_int_equal(cfg->idle_timeout_minutes, 10080);
    assert_int_equal(cfg->call_timeout_seconds, 1);
    assert_int_equal(cfg->max_message_bytes, 1024);
    assert_int_equal(cfg->servers[0].timeout_seconds, 86400);
    config_free(cfg);
}

/* Unknown fields anywhere draw one warning each naming the field; the file still loads. */
static void test_unknown_fields_warn(void **state)
{
    struct config *cfg = parse_ok("{\"mcpServers\":{\"s\":{\"command\":\"x\",\"comand\":\"typo\"}},"
                                  "\"serch\":{},\"search\":{\"modle\":\"m\"}}");
    const char *want[] = {"\"comand\"", "\"serch\"", "\"modle\""};

    (void)state;
    assert_int_equal(cfg->nservers, 1);
    assert_int_equal(cfg->nwarnings, 3);
    for (size_t i = 0; i < 3; i++) {
        bool found = false;

        for (size_t j = 0; j < cfg->nwarnings; j++)
            found = found || strstr(cfg->warnings[j], want[i]) != NULL;
        if (!found)
            fail_msg("no warning mentions %s", want[i]);
    }
    config_free(cfg);
}

/* "$comment..." and "//" keys are comments wherever fields are checked: no warnings. */
static void test_comment_keys_are_silent(void **state)
{
    struct config *cfg = parse_ok("{\"$comment\":\"top\",\"//\":\"also\",\"mcpServers\":"
                                  "{\"s\":{\"command\":\"x\",\"$comment\":\"why s\"}},"
                                  "\"search\":{\"$comment\":\"limits\",\"default_limit\":3},"
                                  "\"$comment_timeouts\":\"t\"}");

    (void)state;
    assert_int_equal(cfg->nservers, 1);
    assert_int_equal(cfg->search_default_limit, 3);
    assert_int_equal(cfg->nwarnings, 0);
    config_free(cfg);
}

/* ---- file location and loading ---- */

/* $XDG_CONFIG_HOME (absolute) wins; otherwise $HOME/.config is used. */
static void test_default_path(void **state)
{
    struct saved_env xdg = save_env("XDG_CONFIG_HOME"), home = save_env("HOME");
    char *p;

    (void)state;
    setenv("XDG_CONFIG_HOME", "/x/conf", 1);
    setenv("HOME", "/home/u", 1);
    p = config_default_path();
    assert_string_equal(p, "/x/conf/compressed-mcp-proxy/config.json");
    free(p);

    unsetenv("XDG_CONFIG_HOME");
    p = config_default_path();
    assert_string_equal(p, "/home/u/.config/compressed-mcp-proxy/config.json");
    free(p);

    /* The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored. */
    setenv("XDG_CONFIG_HOME", "relative/dir", 1);
    p = config_default_path();
    assert_string_equal(p, "/home/u/.config/compressed-mcp-proxy/config.json");
    free(p);
    restore_env(&xdg);
    restore_env(&home);
}

/* A missing file is ERR_IO with a message naming the path and how to create it. */
static void test_load_missing_file(void **state)
{
    struct config *cfg = NULL;
    char *why = NULL;

    (void)state;
    assert_int_equal(config_load("/nonexistent-mcpzip-dir/config.json", &cfg, &why), ERR_IO);
    assert_null(cfg);
    assert_non_null(why);
    assert_non_null(strstr(why, "/nonexistent-mcpzip-dir/config.json"));
    assert_non_null(strstr(why, "create it"));
    assert_non_null(strstr(why, "--config"));
    free(why);
}

/* config_load(NULL) reads the default path ($XDG_CONFIG_HOME here). */
static void test_load_default_path_and_absolute(void **state)
{
    struct saved_env xdg = save_env("XDG_CONFIG_HOME");
    char dir[] = "/tmp/mcpzip-test-config-XXXXXX", sub[128], file[160], rel[200];
    struct config *cfg = NULL;
    char *why = NULL, *cwd;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/compressed-mcp-proxy", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(file, sizeof(file), "%s/config.json", sub);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"mcpServers\":{\"s\":{\"command\":\"x\"}}}\n", f);
    fclose(f);

    setenv("XDG_CONFIG_HOME", dir, 1);
    assert_int_equal(config_load(NULL, &cfg, &why), 0);
    assert_string_equal(cfg->path, file);
    assert_int_equal(cfg->nservers, 1);
    config_free(cfg);

    /* A relative --config path is recorded as absolute (the cache key depends on it). */
    cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(dir), 0);
    snprintf(rel, sizeof(rel), "compressed-mcp-proxy/config.json");
    assert_int_equal(config_load(rel, &cfg, &why), 0);
    assert_string_equal(cfg->path, file);
    config_free(cfg);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);

    /* A directory is not a config file. */
    assert_int_equal(config_load(sub, &cfg, &why), ERR_IO);
    assert_non_null(why);
    free(why);

    unlink(file);
    rmdir(sub);
    rmdir(dir);
    restore_env(&xdg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdio_entry),
        cmocka_unit_test(test_transport_types),
        cmocka_unit_test(test_http_entry_headers),
        cmocka_unit_test(test_server_options),
        cmocka_unit_test(test_server_order),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_gemini_key_env_wins),
        cmocka_unit_test(test_expansion),
        cmocka_unit_test(test_expansion_long_value),
        cmocka_unit_test(test_unset_var_sets_problem),
        cmocka_unit_test(test_empty_var_name_sets_problem),
        cmocka_unit_test(test_invalid_json_position),
        cmocka_unit_test(test_invalid_json_trailing_comma_position),
        cmocka_unit_test(test_invalid_json_truncated),
        cmocka_unit_test(test_wrong_top_level),
        cmocka_unit_test(test_invalid_server_names),
        cmocka_unit_test(test_valid_server_names),
        cmocka_unit_test(test_missing_command_or_url),
        cmocka_unit_test(test_bad_server_fields),
        cmocka_unit_test(test_numbers_out_of_range),
        cmocka_unit_test(test_numbers_at_range_ends),
        cmocka_unit_test(test_unknown_fields_warn),
        cmocka_unit_test(test_comment_keys_are_silent),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_default_path_and_absolute),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
