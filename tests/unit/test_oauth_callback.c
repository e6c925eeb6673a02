/*
 * test_oauth_callback.c - unit tests for oauth_callback.h: the authorization response parser
 * (bare queries, paths, whole URLs, decoding, repeats, bounds), and the loopback listener
 * driven over a real socket (accepted response, state mismatch ignored, the flow's check,
 * 404 elsewhere, the pasted URL, the timeout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "oauth_callback.h"

static void test_parse_forms(void **state)
{
    static const char *const inputs[] = {
        "code=abc&state=xyz",
        "/oauth/callback?code=abc&state=xyz",
        "http://127.0.0.1:4567/oauth/callback?code=abc&state=xyz",
        "  http://127.0.0.1:4567/oauth/callback?state=xyz&code=abc#frag\n",
    };
    struct oauth_callback_params p;
    char *why = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        assert_int_equal(oauth_callback_parse(inputs[i], strlen(inputs[i]), &p, &why), 0);
        assert_string_equal(p.code, "abc");
        assert_string_equal(p.state, "xyz");
        assert_null(p.iss);
        assert_null(p.error);
        oauth_callback_params_clear(&p);
    }
}

static void test_parse_decoding_and_error(void **state)
{
    const char *in = "?error=access_denied&error_description=User+said+no%21&state=s%2Bt"
                     "&iss=https%3A%2F%2Fas.example.com&extra=1";
    struct oauth_callback_params p;
    char *why = NULL;

    (void)state;
    assert_int_equal(oauth_callback_parse(in, strlen(in), &p, &why), 0);
    assert_null(p.code);
    assert_string_equal(p.error, "access_denied");
    assert_string_equal(p.error_description, "User said no!");
    assert_string_equal(p.state, "s+t");
    assert_string_equal(p.iss, "https://as.example.com");
    oauth_callback_params_clear(&p);
    assert_null(p.state);
}

static void test_parse_refusals(void **state)
{
    static const char *const bad[] = {
        "http://127.0.0.1/oauth/callback", /* no query */
        "/oauth/callback?state=x",         /* neither code nor error */
        "/cb?code=a&code=b&state=x",       /* repeated code */
        "/cb?code=a&state=x&state=y",      /* repeated state */
        "/cb?code=a%2&state=x",            /* bad escape */
        "/cb?code=a%00b&state=x",          /* NUL */
        "/cb?code=&state=x",               /* empty code */
        "",
    };
    struct oauth_callback_params p;
    char *why = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(oauth_callback_parse(bad[i], strlen(bad[i]), &p, &why), ERR_PARSE);
        assert_non_null(why);
        assert_null(strstr(why, "code=a")); /* never quotes the response */
        free(why);
        why = NULL;
        assert_null(p.code);
    }
}

static void test_parse_bounds(void **state)
{
    char *big = malloc(OAUTH_CALLBACK_MAX + 100);
    char many[2048] = "?code=a&state=b";
    struct oauth_callback_params p;
    char *why = NULL;

    (void)state;
    memset(big, 'a', OAUTH_CALLBACK_MAX + 99);
    memcpy(big, "?code=", 6);
    big[OAUTH_CALLBACK_MAX + 99] = '\0';
    assert_int_equal(oauth_callback_parse(big, strlen(big), &p, &why), ERR_TOO_BIG);
    free(why);
    why = NULL;
    free(big);
    for (int i = 0; i < OAUTH_CALLBACK_MAX_PARAMS; i++)
        strcat(many, "&x=1");
    assert_int_equal(oauth_callback_parse(many, strlen(many), &p, &why), ERR_TOO_BIG);
    free(why);
}

/* GETs path from 127.0.0.1:port; returns the status code, 0 on failure. */
static int get(int port, const char *path)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024], resp[4096];
    ssize_t n, got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return 0;
    }
    while ((n = read(fd, resp + got, sizeof(resp) - 1 - (size_t)got)) > 0)
        got += n;
    resp[got] = '\0';
    close(fd);
    sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

static int refuse_iss(void *ud, const struct oauth_callback_params *p, char **why)
{
    (void)ud;
    if (p->iss != NULL && strcmp(p->iss, "good") != 0) {
        *why = strdup("issuer mismatch");
        return ERR_INVALID;
    }
    return 0;
}

static void test_listener(void **state)
{
    struct oauth_listener *l;
    struct oauth_callback_params p;
    char *why = NULL;
    int port = 0, rc;

    (void)state;
    rc = oauth_listener_start(0, "the-state", refuse_iss, NULL, &l, &port, &why);
    if (rc != 0 && strstr(why, "could not be loaded") != NULL) {
        /* No libmicrohttpd on this machine: the parser is still tested above. */
        print_message("skipped: %s\n", why);
        free(why);
        skip();
    }
    assert_int_equal(rc, 0);
    assert_true(port > 0);
    assert_int_equal(get(port, "/elsewhere"), 404);
    assert_int_equal(get(port, "/oauth/callback?code=c&state=other"), 400);
    assert_int_equal(get(port, "/oauth/callback?code=c&state=the-state&iss=good"), 200);
    assert_int_equal(oauth_listener_wait(l, 2000, NULL, -1, &p, &why), 0);
    assert_string_equal(p.code, "c");
    oauth_callback_params_clear(&p);
    assert_int_equal(get(port, "/oauth/callback?code=d&state=the-state"), 409);
    oauth_listener_stop(l);

    assert_int_equal(oauth_listener_start(0, "s2", refuse_iss, NULL, &l, &port, &why), 0);
    assert_int_equal(get(port, "/oauth/callback?code=c&state=s2&iss=bad"), 400);
    assert_int_equal(oauth_listener_wait(l, 2000, NULL, -1, &p, &why), ERR_INVALID);
    assert_string_equal(why, "issuer mismatch");
    free(why);
    why = NULL;
    oauth_listener_stop(l);
}

static void test_listener_paste_and_timeout(void **state)
{
    struct oauth_listener *l;
    struct oauth_callback_params p;
    char *why = NULL;
    const char *lines = "not a url\nhttp://127.0.0.1:1/oauth/callback?code=z&state=wrong\n"
                        "http://127.0.0.1:1/oauth/callback?code=z&state=s3\n";
    int port = 0, fds[2];

    (void)state;
    if (oauth_listener_start(0, "s3", NULL, NULL, &l, &port, &why) != 0) {
        /* Only a missing libmicrohttpd excuses the test; any other failure is one. */
        if (strstr(why, "could not be loaded") == NULL)
            fail_msg("oauth_listener_start: %s", why);
        free(why);
        skip();
    }
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], lines, strlen(lines)), (ssize_t)strlen(lines));
    assert_int_equal(oauth_listener_wait(l, 2000, NULL, fds[0], &p, &why), 0);
    assert_string_equal(p.code, "z");
    oauth_callback_params_clear(&p);
    oauth_listener_stop(l);
    close(fds[0]);
    close(fds[1]);

    assert_int_equal(oauth_listener_start(0, "s4", NULL, NULL, &l, &port, &why), 0);
    assert_int_equal(oauth_listener_wait(l, 200, NULL, -1, &p, &why), ERR_TIMEOUT);
    free(why);
    oauth_listener_stop(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),    cmocka_unit_test(test_parse_decoding_and_error),
        cmocka_unit_test(test_parse_refusals), cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_listener),       cmocka_unit_test(test_listener_paste_and_timeout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
