/*
 * test_md5.c - unit tests for md5.h: the seven test vectors of RFC 1321 Appendix A.5, inputs
 * around the padding boundaries (55, 56, 63, 64 bytes and longer), and the mcp-remote file
 * name example from reference/oauth.md §3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "md5.h"

static void check(const char *in, const char *want)
{
    char hex[33];

    md5_hex(in, strlen(in), hex);
    assert_string_equal(hex, want);
}

/* RFC 1321 Appendix A.5, the "test suite" output of the reference implementation. */
static void test_rfc1321_vectors(void **state)
{
    (void)state;
    check("", "d41d8cd98f00b204e9800998ecf8427e");
    check("a", "0cc175b9c0f1b6a831c399e269772661");
    check("abc", "900150983cd24fb0d6963f7d28e17f72");
    check("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    check("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    check("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
          "d174ab98d277d9f5a5611c2c9f419d9f");
    check("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
          "57edf4a22be3c955ac49da2e2107b67a");
}

/* Lengths where the padding needs one or two final blocks, and multi-block inputs. Expected
 * values computed with coreutils md5sum (printf 'a%.0s' {1..N} | md5sum). */
static void test_padding_boundaries(void **state)
{
    static const struct {
        size_t n;
        const char *md;
    } cases[] = {
        {55, "ef1772b6dff9a122358552954ad0df65"}, {56, "3b0c8ac703f828b04c6c197006d17218"},
        {63, "b06521f39153d618550606be297466d5"}, {64, "014842d480b571495a4a0363793f7367"},
        {65, "c743a45e0d2e6a95cb859adae0248435"}, {1000, "cabe45dcc9ae5b66ba86600cca6b8ba8"},
    };
    char in[1001], hex[33];
    size_t i;

    (void)state;
    memset(in, 'a', sizeof(in));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        md5_hex(in, cases[i].n, hex);
        assert_string_equal(hex, cases[i].md);
    }
}

/* reference/oauth.md §3: mcp-remote's serverUrlHash for https://example.com/mcp (verified there
 * with Node's crypto), and the variant with a --header, hashed as "url|{json headers}". */
static void test_mcp_remote_examples(void **state)
{
    (void)state;
    check("https://example.com/mcp", "8724945d3c4865fe12d6890203193588");
    check("https://example.com/mcp|{\"Authorization\":\"Bearer ${TOKEN}\"}",
          "8a468ef1c529cda89717ef8035a9ec3d");
}

static void test_binary_input(void **state)
{
    static const uint8_t zeros[3] = {0, 0, 0};
    uint8_t md[16];

    (void)state;
    md5(zeros, sizeof(zeros), md);
    /* md5 of three NUL bytes, from md5sum. */
    assert_int_equal(md[0], 0x69);
    assert_int_equal(md[15], 0x2e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1321_vectors),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_mcp_remote_examples),
        cmocka_unit_test(test_binary_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
