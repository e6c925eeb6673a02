/*
 * test_metatools.c - unit tests for the parts of metatools.h that need no running proxy: the
 * tools/list definitions, the table lookup, the error result, and the one-line search result.
 *
 * The definitions are what every client loads into the model's context on every turn, so their
 * total size is held under 2 KiB here: growing them defeats the point of mcpzip. The result line
 * is what the model reads to pick a tool, so its shape is pinned down: the first sentence only,
 * at most 160 bytes and never a broken UTF-8 sequence, required parameters first and starred,
 * at most 8 parameters then "+N more". The handlers are covered by the integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "metatools.h"

static const char *const meta_names[] = {"search_tools", "describe_tool", "execute_tool",
                                         "proxy_status", "proxy_refresh"};

/* Formats the result line of a definition given as JSON text. */
static char *line_for(const char *name, const char *def_json)
{
    cJSON *def = cJSON_Parse(def_json);
    char *line;

    assert_non_null(def);
    line = metatools_result_line(name, def);
    cJSON_Delete(def);
    assert_non_null(line);
    return line;
}

static void expect_line(const char *name, const char *def_json, const char *want)
{
    char *got = line_for(name, def_json);

    if (strcmp(got, want) != 0)
        fail_msg("result line\n  got  \"%s\"\n  want \"%s\"", got, want);
    free(got);
}

/* Returns true when s is well-formed UTF-8 (no cut sequences, no stray continuation bytes). */
static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != 0) {
        size_t n = *p < 0x80             ? 0
                   : (*p & 0xE0) == 0xC0 ? 1
                   : (*p & 0xF0) == 0xE0 ? 2
                   : (*p & 0xF8) == 0xF0 ? 3
                                         : 9;

        if (n == 9)
            return false;
        p++;
        for (size_t i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* Fills dst with prefix then repeats unit until at least min bytes (dst has room for cap). */
static void fill(char *dst, size_t cap, const char *prefix, const char *unit, size_t min)
{
    size_t n = strlen(prefix), u = strlen(unit);

    assert_true(n < cap);
    memcpy(dst, prefix, n);
    while (n < min) {
        assert_true(n + u < cap);
        memcpy(dst + n, unit, u);
        n += u;
    }
    dst[n] = '\0';
}

/* ---- definitions ---- */

/* Exactly the five meta-tools, in a tools/list answer of at most 2,048 bytes. */
static void test_list_names_and_size(void **state)
{
    cJSON *list = metatools_list(), *t;
    char *text = json_print(list);
    size_t n = 0;

    (void)state;
    assert_true(cJSON_IsArray(list));
    if (strlen(text) > 2048)
        fail_msg("tools/list is %zu bytes, the budget is 2048", strlen(text));
    cJSON_ArrayForEach (t, list) {
        const char *name = json_get_str(t, "name");

        assert_non_null(name);
        assert_true(n < 5);
        assert_string_equal(name, meta_names[n]);
        n++;
    }
    assert_int_equal(n, 5);
    free(text);
    cJSON_Delete(list);
}

/*
 * Every definition is a valid MCP Tool: a description, an object inputSchema with a properties
 * object, and "required" naming only declared properties.
 */
static void test_list_definitions_valid(void **state)
{
    cJSON *list = metatools_list();
    const cJSON *t;

    (void)state;
    cJSON_ArrayForEach (t, list) {
        const cJSON *schema = json_get_obj(t, "inputSchema"), *props, *r;
        const char *desc = json_get_str(t, "description");

        assert_non_null(desc);
        assert_true(strlen(desc) > 10);
        assert_non_null(schema);
        assert_string_equal(json_get_str(schema, "type"), "object");
        props = json_get_obj(schema, "properties");
        assert_non_null(props);
        cJSON_ArrayForEach (r, json_get(schema, "required")) {
            assert_true(cJSON_IsString(r));
            assert_non_null(json_get(props, r->valuestring));
        }
    }
    cJSON_Delete(list);
}

/* Each call returns a fresh tree the caller owns (modifying one does not affect the next). */
static void test_list_is_fresh_copy(void **state)
{
    cJSON *a = metatools_list(), *b;

    (void)state;
    cJSON_DeleteItemFromArray(a, 0);
    b = metatools_list();
    assert_int_equal(cJSON_GetArraySize(b), 5);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* The dispatch table has every listed tool, marks the ones that wait on upstreams blocking. */
static void test_find(void **state)
{
    (void)state;
    for (size_t i = 0; i < 5; i++) {
        const struct metatool *m = metatools_find(meta_names[i]);

        assert_non_null(m);
        assert_string_equal(m->name, meta_names[i]);
        assert_non_null(m->call);
    }
    assert_true(metatools_find("execute_tool")->blocking);
    assert_true(metatools_find("proxy_refresh")->blocking);
    assert_false(metatools_find("search_tools")->blocking);
    assert_null(metatools_find("search"));
    assert_null(metatools_find(""));
    assert_null(metatools_find("SEARCH_TOOLS"));
}

/* metatools_error is a CallToolResult with isError and one text item. */
static void test_error_result(void **state)
{
    cJSON *r = metatools_error("\"limit\" must be a whole number.");
    const cJSON *content = json_get_arr(r, "content");
    bool is_error = false;

    (void)state;
    assert_true(json_get_bool(r, "isError", &is_error));
    assert_true(is_error);
    assert_int_equal(cJSON_GetArraySize(content), 1);
    assert_string_equal(json_get_str(cJSON_GetArrayItem(content, 0), "type"), "text");
    assert_string_equal(json_get_str(cJSON_GetArrayItem(content, 0), "text"),
                        "\"limit\" must be a whole number.");
    cJSON_Delete(r);
}

/* ---- metatools_result_line ---- */

/* The documented shape: "name: first sentence [required*, then optional]". */
static void test_line_basic(void **state)
{
    (void)state;
    expect_line("gh__create_issue",
                "{\"description\":\"Create an issue in a repository. Needs push access.\","
                "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
                "\"title\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"},"
                "\"repo\":{\"type\":\"string\"},\"labels\":{\"type\":\"array\"}},"
                "\"required\":[\"repo\",\"title\"]}}",
                "gh__create_issue: Create an issue in a repository "
                "[title:string*, repo:string*, body:string, labels:array]");
}

/* No parameters (no schema, no properties, empty properties) means no brackets at all. */
static void test_line_no_params(void **state)
{
    (void)state;
    expect_line("s__ping", "{\"description\":\"Ping.\"}", "s__ping: Ping");
    expect_line("s__ping", "{\"description\":\"Ping.\",\"inputSchema\":{\"type\":\"object\"}}",
                "s__ping: Ping");
    expect_line("s__ping",
                "{\"description\":\"Ping.\",\"inputSchema\":{\"type\":\"object\","
                "\"properties\":{}}}",
                "s__ping: Ping");
}

/* The first sentence ends at ". " or a newline, not at a dot inside a word or number. */
static void test_line_first_sentence(void **state)
{
    (void)state;
    expect_line("a__b", "{\"description\":\"Reads v1.2 files like foo.txt. Then more.\"}",
                "a__b: Reads v1.2 files like foo.txt");
    expect_line("a__b", "{\"description\":\"First line\\nSecond line\"}", "a__b: First line");
    expect_line("a__b", "{\"description\":\"  \\n\\t Leading space. x\"}", "a__b: Leading space");
    expect_line("a__b", "{\"description\":\"Tabs\\tbecome\\rspaces\"}", "a__b: Tabs become spaces");
    expect_line("a__b", "{\"description\":\"Ends with a dot.\"}", "a__b: Ends with a dot");
}

/* A missing description still gives "name:" and the parameters. */
static void test_line_no_description(void **state)
{
    char *got;

    (void)state;
    got = line_for("a__b", "{\"inputSchema\":{\"type\":\"object\",\"properties\":"
                           "{\"x\":{\"type\":\"number\"}}}}");
    assert_int_equal(strncmp(got, "a__b:", 5), 0);
    assert_non_null(strstr(got, "[x:number]"));
    free(got);
}

/* Types: a type array shows its first type, enum without type shows "enum", else "any". */
static void test_line_param_types(void **state)
{
    (void)state;
    expect_line("a__b",
                "{\"description\":\"D.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
                "\"n\":{\"type\":[\"integer\",\"null\"]},"
                "\"mode\":{\"enum\":[\"fast\",\"slow\"]},"
                "\"blob\":{},"
                "\"odd\":{\"type\":[5]}},"
                "\"required\":[\"mode\"]}}",
                "a__b: D [mode:enum*, n:integer, blob:any, odd:any]");
}

/* More than 8 parameters: 8 shown (required first), then "+N more". */
static void test_line_more_than_eight_params(void **state)
{
    char def[2048], *p = def;

    (void)state;
    p += snprintf(p, sizeof(def),
                  "{\"description\":\"Many.\",\"inputSchema\":{\"type\":"
                  "\"object\",\"properties\":{");
    for (int i = 0; i < 11; i++)
        p += snprintf(p, sizeof(def) - (size_t)(p - def), "%s\"p%d\":{\"type\":\"string\"}",
                      i ? "," : "", i);
    snprintf(p, sizeof(def) - (size_t)(p - def), "},\"required\":[\"p10\"]}}");
    expect_line("m__x", def,
                "m__x: Many [p10:string*, p0:string, p1:string, p2:string, p3:string, "
                "p4:string, p5:string, p6:string, +3 more]");
}

/* Exactly 8 parameters: all shown, no "+N more". */
static void test_line_exactly_eight_params(void **state)
{
    char def[1024], *p = def, *got;

    (void)state;
    p += snprintf(p, sizeof(def), "{\"inputSchema\":{\"properties\":{");
    for (int i = 0; i < 8; i++)
        p += snprintf(p, sizeof(def) - (size_t)(p - def), "%s\"q%d\":{\"type\":\"boolean\"}",
                      i ? "," : "", i);
    snprintf(p, sizeof(def) - (size_t)(p - def), "}}}");
    got = line_for("e__x", def);
    assert_null(strstr(got, "more"));
    assert_non_null(strstr(got, "q7:boolean]"));
    free(got);
}

/* A description of exactly 160 bytes with no sentence end is kept whole, without ellipsis. */
static void test_line_160_bytes_kept(void **state)
{
    char desc[161], def[256], want[200];

    (void)state;
    memset(desc, 'a', 160);
    desc[160] = '\0';
    snprintf(def, sizeof(def), "{\"description\":\"%s\"}", desc);
    snprintf(want, sizeof(want), "x: %s", desc);
    expect_line("x", def, want);
}

/* One byte more and it is cut to 160 bytes plus an ellipsis. */
static void test_line_long_cut_with_ellipsis(void **state)
{
    char desc[400], def[512], *got;
    const char *text;

    (void)state;
    memset(desc, 'b', 161);
    desc[161] = '\0';
    snprintf(def, sizeof(def), "{\"description\":\"%s\"}", desc);
    got = line_for("x", def);
    text = got + strlen("x: ");
    assert_int_equal(strlen(text), 160 + strlen("…"));
    assert_string_equal(text + 160, "…");
    free(got);
}

/* A long description is cut at a word boundary when there is one in the second half. */
static void test_line_long_cut_on_word(void **state)
{
    char desc[400], def[512], *got;
    const char *text, *ell;

    (void)state;
    fill(desc, sizeof(desc), "", "word ", 300);
    snprintf(def, sizeof(def), "{\"description\":\"%s\"}", desc);
    got = line_for("x", def);
    text = got + strlen("x: ");
    ell = strstr(text, "…");
    assert_non_null(ell);
    assert_string_equal(ell, "…");
    assert_true((size_t)(ell - text) <= 160);
    assert_true((size_t)(ell - text) >= 80);
    /* Ends on a whole word: the text before the ellipsis ends in "word". */
    assert_int_equal(strncmp(ell - 4, "word", 4), 0);
    free(got);
}

/*
 * A cut never splits a UTF-8 sequence, at any alignment of 2-, 3- and 4-byte characters
 * against the 160-byte limit, and the text before the ellipsis stays within 160 bytes.
 */
static void test_line_cut_utf8_safe(void **state)
{
    static const char *const chars[] = {"é", "€", "😀"};

    (void)state;
    for (size_t c = 0; c < 3; c++) {
        for (size_t lead = 0; lead <= 3; lead++) {
            char desc[600], def[700], *got;
            const char *text, *ell;

            fill(desc, sizeof(desc), &"aaa"[3 - lead], chars[c], 400);
            snprintf(def, sizeof(def), "{\"description\":\"%s\"}", desc);
            got = line_for("u", def);
            text = got + strlen("u: ");
            ell = strstr(text, "…");
            assert_non_null(ell);
            assert_true((size_t)(ell - text) <= 160);
            assert_true((size_t)(ell - text) > 150);
            if (!valid_utf8(got))
                fail_msg("invalid UTF-8 for char %zu lead %zu: \"%s\"", c, lead, got);
            free(got);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_names_and_size),
        cmocka_unit_test(test_list_definitions_valid),
        cmocka_unit_test(test_list_is_fresh_copy),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_error_result),
        cmocka_unit_test(test_line_basic),
        cmocka_unit_test(test_line_no_params),
        cmocka_unit_test(test_line_first_sentence),
        cmocka_unit_test(test_line_no_description),
        cmocka_unit_test(test_line_param_types),
        cmocka_unit_test(test_line_more_than_eight_params),
        cmocka_unit_test(test_line_exactly_eight_params),
        cmocka_unit_test(test_line_160_bytes_kept),
        cmocka_unit_test(test_line_long_cut_with_ellipsis),
        cmocka_unit_test(test_line_long_cut_on_word),
        cmocka_unit_test(test_line_cut_utf8_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
