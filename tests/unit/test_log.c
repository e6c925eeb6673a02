/*
 * test_log.c - unit tests for log.h: secret redaction, its truncation safety, and that
 * log_write really applies it on the way to the log file.
 *
 * Redaction is the last line of defence for tokens, codes and client secrets that reach a log
 * call, so every documented form is checked with the secret text itself absent from the output.
 * It must also leave ordinary diagnostics readable: JSON-RPC error codes, "code path" prose and
 * counts must come through unchanged. The output buffer is caller-sized and may be tiny, so no
 * size may write past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Redacts in and compares the result with want. */
static void expect_redact(const char *in, const char *want)
{
    char out[1024];

    log_redact(in, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("log_redact(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, out, want);
}

/* Redacts in and checks the secret is gone and "[redacted]" is present. */
static void expect_hidden(const char *in, const char *secret)
{
    char out[1024];

    log_redact(in, out, sizeof(out));
    if (strstr(out, secret) != NULL || strstr(out, "[redacted]") == NULL)
        fail_msg("log_redact(\"%s\") = \"%s\" still shows \"%s\"", in, out, secret);
}

/* key=value pairs in URL queries and form bodies: only the value goes, the rest stays. */
static void test_query_parameters(void **state)
{
    (void)state;
    expect_redact("GET /callback?code=abc123&state=xyz HTTP/1.1",
                  "GET /callback?code=[redacted]&state=xyz HTTP/1.1");
    expect_redact("https://a.example/cb?state=s&access_token=tok.en-1",
                  "https://a.example/cb?state=s&access_token=[redacted]");
    expect_redact("grant_type=refresh_token&refresh_token=R1&client_secret=S2",
                  "grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]");
    expect_redact("code_verifier=v3rifier client_id=public",
                  "code_verifier=[redacted] client_id=public");
    expect_redact("password=hunter2", "password=[redacted]");
    expect_redact("API_KEY=k1 apikey=k2 id_token=k3",
                  "API_KEY=[redacted] apikey=[redacted] id_token=[redacted]");
    expect_redact("x-api-key=k4", "x-api-key=[redacted]");
    /* An empty value stays empty but is still marked. */
    expect_redact("code=&state=1", "code=[redacted]&state=1");
}

/* "key":"value" in JSON, with spaces around the colon and escaped quotes in the value. */
static void test_json_members(void **state)
{
    (void)state;
    expect_redact("{\"access_token\":\"abc\",\"expires_in\":3600}",
                  "{\"access_token\":\"[redacted]\",\"expires_in\":3600}");
    expect_redact("{\"client_secret\" : \"s e c\", \"x\": 1}",
                  "{\"client_secret\" : \"[redacted]\", \"x\": 1}");
    expect_redact("{\"password\":\t\"a\\\"b\\\"c\",\"user\":\"me\"}",
                  "{\"password\":\t\"[redacted]\",\"user\":\"me\"}");
    expect_redact("{\"refresh_token\":\"x\\\\\",\"n\":2}",
                  "{\"refresh_token\":\"[redacted]\",\"n\":2}");
    expect_hidden("{\"code\": \"AUTHCODE\"}", "AUTHCODE");
    /* Key names match case-insensitively. */
    expect_hidden("{\"Access_Token\":\"MixedCase\"}", "MixedCase");
}

/* An unterminated JSON string value is hidden to the end, not leaked. */
static void test_json_unterminated_value(void **state)
{
    (void)state;
    expect_hidden("{\"access_token\":\"never-closed", "never-closed");
    expect_hidden("{\"access_token\":\"ends-in-backslash\\", "ends-in-backslash");
}

/* Bearer and Basic credentials, any case, wherever they appear. */
static void test_bearer_and_basic(void **state)
{
    (void)state;
    expect_redact("sent Bearer eyJhbGciOi.payload.sig to the server",
                  "sent Bearer [redacted] to the server");
    expect_redact("bearer abc;rest", "bearer [redacted];rest");
    expect_redact("Basic dXNlcjpwYXNz", "Basic [redacted]");
    expect_redact("{\"headers\":{\"X\":\"Bearer T0KEN\"}}",
                  "{\"headers\":{\"X\":\"Bearer [redacted]\"}}");
    /* Only at a word start: "SomeBearer x" is not a credential. */
    expect_redact("SomeBearer x", "SomeBearer x");
}

/* Everything after "Authorization:" on its line is the credential, whatever the scheme. */
static void test_authorization_header(void **state)
{
    (void)state;
    expect_redact("Authorization: Bearer xyz\r\nHost: a.example",
                  "Authorization: [redacted]\r\nHost: a.example");
    expect_redact("authorization:Token custom-scheme-secret", "authorization: [redacted]");
    expect_hidden("Proxy-Authorization: Basic cHJveHk6cGFzcw==", "cHJveHk6cGFzcw==");
    expect_hidden("AUTHORIZATION:   DPoP tok", "DPoP tok");
}

/* Ordinary diagnostics are untouched: key names only matter as key=value or JSON members. */
static void test_ordinary_text_intact(void **state)
{
    static const char *const texts[] = {
        "error code -32601: Method not found",
        "the code path that failed",
        "tokens: 5",
        "tokenizer=fast codec=h264 zipcode=12345 passwords_checked=3",
        "{\"code\": -32601, \"message\": \"Method not found\"}",
        "{\"tokens\":\"many\",\"barcode\":\"123\"}",
        "Unauthorized (401) from server",
        "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        expect_redact(texts[i], texts[i]);
}

/* Output never grows past outsz, for tiny sizes too, and is always NUL-terminated. */
/* Credential headers other than Authorization, and "basic" as an English word. */
static void test_other_secret_headers_and_prose(void **state)
{
    (void)state;
    expect_redact("X-Api-Key: abc123def", "X-Api-Key: [redacted]");
    expect_redact("cookie: session=abc", "cookie: [redacted]");
    expect_redact("a basic question", "a basic question");
    expect_redact("Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]");
}

static void test_truncation_tiny_sizes(void **state)
{
    static const char *const inputs[] = {
        "plain text that is long enough",
        "access_token=SECRETSECRET&x=1",
        "{\"password\":\"SECRETSECRET\"}",
        "Authorization: Bearer SECRETSECRET",
        "Bearer SECRETSECRET",
    };
    size_t sizes[] = {1, 2, 3, 10, 14, 15, 20, 25};

    (void)state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            char out[64];
            char full[256];

            memset(out, 0x5A, sizeof(out));
            assert_ptr_equal(log_redact(inputs[i], out, sizes[j]), out);
            assert_true(strlen(out) < sizes[j]);
            for (size_t k = sizes[j]; k < sizeof(out); k++)
                if ((unsigned char)out[k] != 0x5A)
                    fail_msg("log_redact wrote byte %zu with outsz %zu", k, sizes[j]);
            /* A truncated output is a prefix of the full one, never a leak of the secret. */
            log_redact(inputs[i], full, sizeof(full));
            assert_int_equal(strncmp(out, full, strlen(out)), 0);
            assert_null(strstr(out, "SECRET"));
        }
    }
}

/* outsz 1 gives "", and outsz 0 writes nothing at all. */
static void test_truncation_zero_and_one(void **state)
{
    char out[4] = {'q', 'q', 'q', 'q'};

    (void)state;
    log_redact("abc", out, 0);
    assert_int_equal(out[0], 'q');
    log_redact("abc", out, 1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'q');
    log_redact("abc", out, 2);
    assert_string_equal(out, "a");
}

/* log_init rejects unknown level names with a reason; known names set the level. */
static void test_levels(void **state)
{
    char *why = NULL;

    (void)state;
    assert_int_equal(log_init("loud", NULL, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, "loud"));
    free(why);
    assert_int_equal(log_init("DEBUG", NULL, &why), 0);
    assert_true(log_enabled(LOG_LVL_DEBUG));
    assert_false(log_enabled(LOG_LVL_TRACE));
    log_set_level(LOG_LVL_ERROR);
    assert_true(log_enabled(LOG_LVL_ERROR));
    assert_false(log_enabled(LOG_LVL_WARN));
    log_set_level(LOG_LVL_WARN);
}

/* log_write sends lines through redaction and flattens control characters from peers. */
static void test_log_write_redacts_to_file(void **state)
{
    char path[] = "/tmp/mcpzip-test-log-XXXXXX";
    char *why = NULL, text[4096];
    size_t n;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_init("info", path, &why), 0);
    LOG_WARN("refresh with refresh_token=R3FR35H failed");
    LOG_INFO("peer said \"hi\nFAKE LINE\"");
    LOG_DEBUG("not written at info");
    log_close();
    log_set_level(LOG_LVL_WARN);

    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_null(strstr(text, "R3FR35H"));
    assert_non_null(strstr(text, "refresh_token=[redacted] failed"));
    assert_non_null(strstr(text, "test_log_write_redacts_to_file")); /* the __func__ tag */
    assert_non_null(strstr(text, "hi FAKE LINE"));                   /* newline flattened */
    assert_null(strstr(text, "not written"));
    /* Exactly two lines. */
    assert_non_null(strchr(text, '\n'));
    assert_non_null(strchr(strchr(text, '\n') + 1, '\n'));
    assert_string_equal(strchr(strchr(text, '\n') + 1, '\n'), "\n");
}

/* An unopenable log file is an error with a reason. */
static void test_log_init_bad_file(void **state)
{
    char *why = NULL;

    (void)state;
    assert_int_equal(log_init(NULL, "/nonexistent-mcpzip-dir/log.txt", &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, "/nonexistent-mcpzip-dir/log.txt"));
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parameters),
        cmocka_unit_test(test_json_members),
        cmocka_unit_test(test_json_unterminated_value),
        cmocka_unit_test(test_bearer_and_basic),
        cmocka_unit_test(test_authorization_header),
        cmocka_unit_test(test_ordinary_text_intact),
        cmocka_unit_test(test_other_secret_headers_and_prose),
        cmocka_unit_test(test_truncation_tiny_sizes),
        cmocka_unit_test(test_truncation_zero_and_one),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_log_write_redacts_to_file),
        cmocka_unit_test(test_log_init_bad_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
