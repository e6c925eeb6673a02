/*
 * test_buf.c - unit tests for buf.h, the growable text buffer every message builder uses.
 *
 * What callers rely on: the text is always NUL-terminated and len counts exactly the bytes
 * added (embedded NULs included), growth keeps earlier content, buf_take() never returns NULL
 * and leaves the buffer empty and reusable, and buf_free() on an untouched buffer is safe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* An untouched buffer takes as "" (never NULL), and the caller owns that string. */
static void test_take_empty(void **state)
{
    struct buf b = {0};
    char *s;

    (void)state;
    s = buf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
}

/* puts, append and printf accumulate in order with len tracking the bytes. */
static void test_accumulate(void **state)
{
    struct buf b = {0};
    char *s;

    (void)state;
    buf_puts(&b, "hello");
    buf_append(&b, ", world!!!", 7);
    buf_printf(&b, " %d+%s=%zu", 2, "two", (size_t)4);
    assert_int_equal(b.len, strlen("hello, world 2+two=4"));
    assert_string_equal(b.s, "hello, world 2+two=4");
    s = buf_take(&b);
    assert_string_equal(s, "hello, world 2+two=4");
    free(s);
}

/* Growth far past the initial capacity keeps every byte, and len == strlen. */
static void test_growth(void **state)
{
    struct buf b = {0};

    (void)state;
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%04d,", i % 10000);
    assert_int_equal(b.len, 5000 * 5);
    assert_int_equal(strlen(b.s), b.len);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.s, "0000,0001,", 10);
    assert_memory_equal(b.s + b.len - 5, "4999,", 5);
    buf_free(&b);
}

/* One large append (bigger than any doubling step from empty) lands intact. */
static void test_large_single_append(void **state)
{
    size_t n = 1 << 20;
    char *big = malloc(n);
    struct buf b = {0};

    (void)state;
    memset(big, 'q', n);
    buf_puts(&b, "<");
    buf_append(&b, big, n);
    buf_puts(&b, ">");
    assert_int_equal(b.len, n + 2);
    assert_int_equal(b.s[0], '<');
    assert_int_equal(b.s[n], 'q');
    assert_int_equal(b.s[n + 1], '>');
    assert_int_equal(b.s[n + 2], '\0');
    buf_free(&b);
    free(big);
}

/* append copies exactly len bytes, NULs included, and still terminates the text. */
static void test_append_binary(void **state)
{
    struct buf b = {0};

    (void)state;
    buf_append(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.s, "a\0b", 4);
    buf_append(&b, "xyz", 0);
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

/* A printf that formats to nothing adds nothing. */
static void test_printf_empty(void **state)
{
    struct buf b = {0};
    char *s;

    (void)state;
    buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 0);
    buf_puts(&b, "x");
    buf_printf(&b, "%s", "");
    assert_string_equal(b.s, "x");
    s = buf_take(&b);
    assert_string_equal(s, "x");
    free(s);
}

/* After take or free the buffer is empty and can be used again from scratch. */
static void test_reuse_after_take_and_free(void **state)
{
    struct buf b = {0};
    char *s1, *s2;

    (void)state;
    buf_puts(&b, "first");
    s1 = buf_take(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    buf_puts(&b, "second");
    s2 = buf_take(&b);
    assert_string_equal(s1, "first");
    assert_string_equal(s2, "second");
    free(s1);
    free(s2);

    buf_puts(&b, "third");
    buf_free(&b);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    buf_free(&b); /* twice is fine: the struct was reset */
    buf_puts(&b, "fourth");
    assert_string_equal(b.s, "fourth");
    buf_free(&b);
}

/* A format longer than any fixed scratch buffer is printed whole. */
static void test_printf_long(void **state)
{
    struct buf b = {0};
    char *arg = malloc(20001);

    (void)state;
    memset(arg, 'w', 20000);
    arg[20000] = '\0';
    buf_puts(&b, "x");
    buf_printf(&b, "[%s]", arg);
    assert_int_equal(b.len, 20003);
    assert_int_equal(b.s[1], '[');
    assert_int_equal(b.s[20002], ']');
    assert_int_equal(b.s[20003], '\0');
    buf_free(&b);
    free(arg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_empty),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_large_single_append),
        cmocka_unit_test(test_append_binary),
        cmocka_unit_test(test_printf_empty),
        cmocka_unit_test(test_reuse_after_take_and_free),
        cmocka_unit_test(test_printf_long),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
