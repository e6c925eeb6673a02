/*
 * test_llmrank.c - the pure parts of llmrank.h: the request bodies sent to each provider and
 * reading the names out of their answers (whole names only, first mention order, unknown
 * names ignored, malformed answers giving nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "llmrank.h"

static const char *const names[] = {"gh__create_issue", "gh__create_issue_comment", "slack__post",
                                    "mem__read_graph"};
static const char *const lines[] = {"gh__create_issue: Create an issue [title:string*]",
                                    "gh__create_issue_comment: Comment [body:string*]",
                                    "slack__post: Post a message [text:string*]",
                                    "mem__read_graph: Read the graph"};

static size_t parse(const char *provider, const char *body, size_t *order)
{
    return llmrank_parse_names(provider, body, strlen(body), names, 4, order);
}

static void test_gemini_answer(void **state)
{
    size_t order[4], n;

    (void)state;
    n = parse("gemini",
              "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
              "\"[\\\"slack__post\\\", \\\"gh__create_issue\\\"]\"}]}}]}",
              order);
    assert_int_equal(n, 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 0);
}

static void test_openai_answer_whole_names_only(void **state)
{
    size_t order[4], n;

    (void)state;
    /* "gh__create_issue" inside "gh__create_issue_comment" is not a mention of it. */
    n = parse("openai",
              "{\"choices\":[{\"message\":{\"content\":"
              "\"Best: gh__create_issue_comment, then no__such_tool.\"}}]}",
              order);
    assert_int_equal(n, 1);
    assert_int_equal(order[0], 1);
}

static void test_malformed_answers_give_nothing(void **state)
{
    size_t order[4];

    (void)state;
    assert_int_equal(parse("gemini", "not json", order), 0);
    assert_int_equal(parse("gemini", "{\"candidates\":[]}", order), 0);
    assert_int_equal(parse("openai", "{\"choices\":[{\"message\":{\"content\":42}}]}", order), 0);
    assert_int_equal(parse("openai", "{\"error\":{\"message\":\"quota\"}}", order), 0);
}

static void test_request_bodies(void **state)
{
    char *g = llmrank_request_body("gemini", "gemini-2.0-flash", "file a bug", lines, 4);
    char *o = llmrank_request_body("openai", "local", "file a bug", lines, 4);
    cJSON *gj = cJSON_Parse(g), *oj = cJSON_Parse(o);
    const char *text;

    (void)state;
    text =
        cJSON_GetArrayItem(cJSON_GetObjectItem(
                               cJSON_GetArrayItem(cJSON_GetObjectItem(gj, "contents"), 0), "parts"),
                           0)
            ->child->valuestring;
    assert_non_null(strstr(text, "Request: file a bug"));
    assert_non_null(strstr(text, "slack__post: Post a message [text:string*]"));
    assert_string_equal(cJSON_GetObjectItem(oj, "model")->valuestring, "local");
    assert_non_null(strstr(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(oj, "messages"), 0), "content")
            ->valuestring,
        "mem__read_graph"));
    cJSON_Delete(gj);
    cJSON_Delete(oj);
    free(g);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemini_answer),
        cmocka_unit_test(test_openai_answer_whole_names_only),
        cmocka_unit_test(test_malformed_answers_give_nothing),
        cmocka_unit_test(test_request_bodies),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
