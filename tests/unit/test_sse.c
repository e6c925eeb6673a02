/*
 * test_sse.c - unit tests for sse.h, the incremental Server-Sent Events parser.
 *
 * Events must come out exactly as the WHATWG event-stream rules say whatever the read
 * boundaries are: every test stream is fed whole, byte by byte, and in many random chunkings,
 * and the transcript of events must be identical each time. Bounds (an oversized event) must
 * drop that event only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "sse.h"

/* Records events as "type|data|id|big\n" lines. */
static void record(void *ud, const struct sse_event *ev)
{
    struct buf *b = ud;

    buf_printf(b, "%s|%.*s|%s|%d\n", ev->type, (int)ev->len, ev->data, ev->id, ev->too_big);
}

/* Feeds text in chunks of the given sizes (cycling), returns the transcript (caller frees). */
static char *feed_chunks(const char *text, size_t len, size_t max_event, const size_t *sizes,
                         size_t nsizes, long *retry, char **last_id)
{
    struct sse_parser *p = sse_parser_new(max_event);
    struct buf b = {0};
    size_t off = 0, k = 0;

    while (off < len) {
        size_t n = sizes[k++ % nsizes];

        if (n > len - off)
            n = len - off;
        sse_parser_feed(p, text + off, n, record, &b);
        off += n;
    }
    if (retry != NULL)
        *retry = sse_parser_retry(p);
    if (last_id != NULL)
        *last_id = strdup(sse_parser_last_id(p));
    sse_parser_free(p);
    return buf_take(&b);
}

/* Asserts the transcript of text is expect for whole, byte-by-byte and random chunkings. */
static void check(const char *text, size_t max_event, const char *expect)
{
    size_t len = strlen(text), whole = len ? len : 1, one = 1, sizes[7];
    char *got;
    unsigned seed = 12345;

    got = feed_chunks(text, len, max_event, &whole, 1, NULL, NULL);
    assert_string_equal(got, expect);
    free(got);
    got = feed_chunks(text, len, max_event, &one, 1, NULL, NULL);
    assert_string_equal(got, expect);
    free(got);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 7; i++) {
            seed = seed * 1103515245u + 12345u;
            sizes[i] = 1 + (seed >> 16) % 9;
        }
        got = feed_chunks(text, len, max_event, sizes, 7, NULL, NULL);
        assert_string_equal(got, expect);
        free(got);
    }
}

static void test_basic_event(void **state)
{
    (void)state;
    check("data: {\"a\":1}\n\n", 1024, "message|{\"a\":1}||0\n");
}

static void test_multiline_data_joined_with_newline(void **state)
{
    (void)state;
    check("data: one\ndata: two\ndata:three\n\n", 1024, "message|one\ntwo\nthree||0\n");
}

static void test_line_endings_crlf_cr_lf(void **state)
{
    (void)state;
    check("data: a\r\n\r\ndata: b\r\rdata: c\n\n", 1024,
          "message|a||0\nmessage|b||0\nmessage|c||0\n");
}

static void test_event_type_and_id(void **state)
{
    (void)state;
    check("event: endpoint\ndata: /messages?s=1\n\nid: 7\ndata: x\n\ndata: y\n\n", 1024,
          "endpoint|/messages?s=1||0\nmessage|x|7|0\nmessage|y|7|0\n");
}

static void test_comments_and_unknown_fields_ignored(void **state)
{
    (void)state;
    check(": keepalive\nfoo: bar\ndata: z\n: another\n\n", 1024, "message|z||0\n");
}

static void test_field_without_colon_and_no_space(void **state)
{
    (void)state;
    /* "data" alone is a data field with an empty value; "data:x" has no space to strip. */
    check("data\ndata:x\n\n", 1024, "message|\nx||0\n");
}

static void test_only_one_leading_space_stripped(void **state)
{
    (void)state;
    check("data:  two spaces\n\n", 1024, "message| two spaces||0\n");
}

static void test_empty_data_not_dispatched_but_id_kept(void **state)
{
    long retry = 0;
    char *last = NULL, *got;
    size_t whole = 64;
    const char *text = "id: prime-1\nretry: 500\ndata: \n\n";

    (void)state;
    /* A "priming" event: nothing to deliver, but the id and retry are remembered. */
    got = feed_chunks(text, strlen(text), 1024, &whole, 1, &retry, &last);
    assert_string_equal(got, "");
    assert_int_equal(retry, 500);
    assert_string_equal(last, "prime-1");
    free(got);
    free(last);
}

static void test_retry_digits_only(void **state)
{
    long retry = 0;
    char *got;
    size_t whole = 64;
    const char *text = "retry: 12x\n\nretry: abc\n\n";

    (void)state;
    got = feed_chunks(text, strlen(text), 1024, &whole, 1, &retry, NULL);
    assert_int_equal(retry, -1);
    free(got);
}

static void test_bom_stripped_only_at_start(void **state)
{
    (void)state;
    check("\xEF\xBB\xBF"
          "data: a\n\n",
          1024, "message|a||0\n");
    /* A partial BOM is ordinary text: the field name is then not "data". */
    check("\xEF\xBB"
          "data: a\n\ndata: b\n\n",
          1024, "message|b||0\n");
}

static void test_utf8_split_across_chunks(void **state)
{
    (void)state;
    check("data: caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\n\n", 1024,
          "message|caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC||0\n");
}

static void test_oversized_event_dropped_next_delivered(void **state)
{
    (void)state;
    check("data: 0123456789\ndata: 0123456789\n\ndata: ok\n\n", 16, "message|||1\nmessage|ok||0\n");
    /* A single enormous line is bounded too. */
    {
        struct buf b = {0};
        char *text, *got;
        size_t whole = 1000;

        buf_puts(&b, "data: ");
        for (int i = 0; i < 100000; i++)
            buf_puts(&b, "x");
        buf_puts(&b, "\n\ndata: after\n\n");
        text = buf_take(&b);
        got = feed_chunks(text, strlen(text), 64, &whole, 1, NULL, NULL);
        assert_string_equal(got, "message|||1\nmessage|after||0\n");
        free(got);
        free(text);
    }
}

static void test_incomplete_event_not_dispatched(void **state)
{
    (void)state;
    check("data: a\n\ndata: unfinished", 1024, "message|a||0\n");
}

static void test_id_with_nul_ignored(void **state)
{
    struct sse_parser *p = sse_parser_new(64);
    struct buf b = {0};
    static const char text[] = "id: 1\n\nid: a\0b\ndata: x\n\n";

    (void)state;
    sse_parser_feed(p, text, sizeof(text) - 1, record, &b);
    assert_string_equal(b.s, "message|x|1|0\n");
    buf_free(&b);
    sse_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_event),
        cmocka_unit_test(test_multiline_data_joined_with_newline),
        cmocka_unit_test(test_line_endings_crlf_cr_lf),
        cmocka_unit_test(test_event_type_and_id),
        cmocka_unit_test(test_comments_and_unknown_fields_ignored),
        cmocka_unit_test(test_field_without_colon_and_no_space),
        cmocka_unit_test(test_only_one_leading_space_stripped),
        cmocka_unit_test(test_empty_data_not_dispatched_but_id_kept),
        cmocka_unit_test(test_retry_digits_only),
        cmocka_unit_test(test_bom_stripped_only_at_start),
        cmocka_unit_test(test_utf8_split_across_chunks),
        cmocka_unit_test(test_oversized_event_dropped_next_delivered),
        cmocka_unit_test(test_incomplete_event_not_dispatched),
        cmocka_unit_test(test_id_with_nul_ignored),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
