/*
 * test_transport_http.c - the Streamable HTTP transport against a scripted HTTP server.
 *
 * A thread in this test listens on 127.0.0.1 and answers each connection with the next canned
 * response of the test's script, so every path of send() is driven by real HTTP over a real
 * socket: JSON and SSE answers, 202, every error status, a server that never answers, a
 * cancelled call, an oversized answer, a stream left open after the answer, and the session and
 * protocol headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cancel.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "transport_http.h"
#include "upstream.h"

#define HOLD "HOLD" /* a script entry: accept, read, then never answer until the test ends */

struct fake {
    int fd;
    int port;
    pthread_t thread;
    const char *const *script; /* responses, one per connection, NULL-terminated */
    struct buf requests;       /* every request received, concatenated */
    pthread_mutex_t mu;
    int stop; /* atomic */
};

/* Reads one request (headers and Content-Length body) from c into f->requests. */
static void read_request(struct fake *f, int c)
{
    char buf[65536];
    size_t got = 0;
    ssize_t n;
    char *end;

    for (;;) {
        n = read(c, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(buf, "content-length:");
            size_t want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);

            if (got >= want)
                break;
        }
    }
    pthread_mutex_lock(&f->mu);
    buf_append(&f->requests, buf, got);
    buf_puts(&f->requests, "\n=====\n");
    pthread_mutex_unlock(&f->mu);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;

    for (size_t i = 0; f->script[i] != NULL && !__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE); i++) {
        int c = accept(f->fd, NULL, NULL);

        if (c < 0)
            break;
        read_request(f, c);
        if (strcmp(f->script[i], HOLD) == 0) {
            while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
                usleep(10000);
        } else {
            (void)!write(c, f->script[i], strlen(f->script[i]));
        }
        close(c);
    }
    return NULL;
}

static void fake_start(struct fake *f, const char *const *script)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int one = 1;

    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->script = script;
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fd, 8), 0);
    getsockname(f->fd, (struct sockaddr *)&a, &len);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
    buf_free(&f->requests);
    pthread_mutex_destroy(&f->mu);
}

/* The transport under test, its config and what it delivered. */
struct rig {
    struct fake fake;
    struct config *cfg;
    struct http_lib *lib;
    struct transport *t;
    struct buf msgs; /* delivered messages, one per line */
};

static void on_msg(void *ud, struct transport *t, const char *msg, size_t len)
{
    struct rig *r = ud;

    (void)t;
    buf_append(&r->msgs, msg, len);
    buf_puts(&r->msgs, "\n");
}

static void on_closed(void *ud, struct transport *t, const char *why)
{
    (void)ud, (void)t, (void)why;
}

static void rig_start(struct rig *r, const char *const *script, size_t max_message)
{
    char text[256], *why = NULL;

    memset(r, 0, sizeof(*r));
    fake_start(&r->fake, script);
    snprintf(text, sizeof(text),
             "{\"mcpServers\":{\"s\":{\"type\":\"http\",\"url\":\"http://127.0.0.1:%d/mcp\","
             "\"headers\":{\"X-Key\":\"k1\"}}}}",
             r->fake.port);
    assert_int_equal(config_parse(text, strlen(text), "/test/config.json", &r->cfg, &why), 0);
    r->lib = http_lib_new("mcpzip-test/1");
    r->t = transport_http_new(&r->cfg->servers[0], r->lib, NULL, max_message);
    r->t->on_msg = on_msg;
    r->t->on_closed = on_closed;
    r->t->ud = r;
    assert_int_equal(r->t->ops->start(r->t, &why), 0);
}

static void rig_stop(struct rig *r)
{
    __atomic_store_n(&r->fake.stop, 1, __ATOMIC_RELEASE);
    r->t->ops->free(r->t);
    fake_stop(&r->fake);
    http_lib_free(r->lib);
    config_free(r->cfg);
    buf_free(&r->msgs);
}

/* Sends text with a deadline ms from now; returns the code and frees *why into why_out. */
static int send_msg(struct rig *r, const char *text, int ms, struct cancel *c, char **why_out)
{
    char *why = NULL;
    int rc = r->t->ops->send(r->t, text, strlen(text), upstream_now_ms() + ms, c, &why);

    if (why_out != NULL)
        *why_out = why;
    else
        free(why);
    return rc;
}

#define REQ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"
#define INIT "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{}}"
#define NOTE "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define RESP "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"
static char *http_json(int status, const char *extra_headers, const char *body)
{
    struct buf b = {0};

    buf_printf(&b,
               "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n%s",
               status, extra_headers, strlen(body), body);
    return buf_take(&b);
}

static void test_json_answer_delivered(void **state)
{
    char *r200 = http_json(200, "", RESP);
    const char *script[] = {r200, NULL};
    struct rig r;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, NULL), 0);
    assert_string_equal(r.msgs.s, RESP "\n");
    /* Headers every request must carry. */
    assert_non_null(strstr(r.fake.requests.s, "POST /mcp HTTP/1.1"));
    assert_non_null(strcasestr(r.fake.requests.s, "Accept: application/json, text/event-stream"));
    assert_non_null(strcasestr(r.fake.requests.s, "Content-Type: application/json"));
    assert_non_null(strcasestr(r.fake.requests.s, "X-Key: k1"));
    assert_non_null(strcasestr(r.fake.requests.s, "User-Agent: mcpzip-test/1"));
    rig_stop(&r);
    free(r200);
}

static void test_sse_answer_in_order_and_open_stream_left(void **state)
{
    /* A notification, a server request, then the answer; the server keeps the stream open
     * (no Content-Length, no close): send() must return once the answer is in. */
    const char *sse =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
        ": hello\r\n"
        "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
        "\"params\":{\"progress\":1}}\r\n\r\n"
        "data: {\"jsonrpc\":\"2.0\",\"id\":1,\r\ndata: \"result\":{\"tools\":[]}}\n\n";
    const char *script[] = {sse, NULL};
    struct rig r;
    int64_t t0 = upstream_now_ms();

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 10000, NULL, NULL), 0);
    assert_true(upstream_now_ms() - t0 < 5000);
    assert_string_equal(r.msgs.s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                                  "\"params\":{\"progress\":1}}\n"
                                  "{\"jsonrpc\":\"2.0\",\"id\":1,\n\"result\":{\"tools\":[]}}\n");
    rig_stop(&r);
}

static void test_202_for_notification_ok_for_request_error(void **state)
{
    const char *a202 = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
    const char *script[] = {a202, a202, NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, NOTE, 5000, NULL, NULL), 0);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_IO);
    assert_non_null(strstr(why, "without a JSON-RPC response"));
    free(why);
    rig_stop(&r);
}

static void test_401_needs_auth(void **state)
{
    char *r401 = http_json(401, "WWW-Authenticate: Bearer\r\n", "{\"error\":\"invalid_token\"}");
    const char *script[] = {r401, NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_NEEDS_AUTH);
    assert_non_null(strstr(why, "HTTP 401"));
    free(why);
    rig_stop(&r);
    free(r401);
}

static void test_session_header_and_expiry(void **state)
{
    char *init =
        http_json(200, "Mcp-Session-Id: abc-123\r\n",
                  "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"protocolVersion\":\"2025-06-18\"}}");
    char *r404 = http_json(404, "",
                           "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,"
                           "\"message\":\"Session not found\"}}");
    const char *script[] = {init, r404, NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, INIT, 5000, NULL, NULL), 0);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_SESSION_EXPIRED);
    free(why);
    /* The second request carried the session the server assigned. */
    assert_non_null(strcasestr(strstr(r.fake.requests.s, "=====") + 5, "Mcp-Session-Id: abc-123"));
    rig_stop(&r);
    free(init);
    free(r404);
}

static void test_500_quotes_server_message(void **state)
{
    char *r500 = http_json(500, "",
                           "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,"
                           "\"message\":\"disk full\"}}");
    const char *script[] = {r500, NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_IO);
    assert_non_null(strstr(why, "HTTP 500"));
    assert_non_null(strstr(why, "disk full"));
    free(why);
    rig_stop(&r);
    free(r500);
}

static void test_non_json_body_is_an_error(void **state)
{
    const char *html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n"
                       "<html></html>";
    const char *script[] = {html, NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_IO);
    assert_null(r.msgs.s);
    free(why);
    rig_stop(&r);
}

static void test_oversized_answer_refused(void **state)
{
    struct buf big = {0};
    char *resp;
    const char *script[2];
    struct rig r;
    char *why = NULL;

    (void)state;
    buf_puts(&big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":\"");
    for (int i = 0; i < 5000; i++)
        buf_puts(&big, "y");
    buf_puts(&big, "\"}}");
    resp = http_json(200, "", big.s);
    script[0] = resp;
    script[1] = NULL;
    rig_start(&r, script, 1024);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_IO);
    assert_non_null(strstr(why, "larger than 1024"));
    free(why);
    rig_stop(&r);
    free(resp);
    buf_free(&big);
}

static void test_no_answer_times_out(void **state)
{
    const char *script[] = {HOLD, NULL};
    struct rig r;
    int64_t t0;

    (void)state;
    rig_start(&r, script, 1 << 20);
    t0 = upstream_now_ms();
    assert_int_equal(send_msg(&r, REQ, 600, NULL, NULL), ERR_TIMEOUT);
    assert_true(upstream_now_ms() - t0 < 3000);
    rig_stop(&r);
}

static void *fire_later(void *arg)
{
    usleep(300000);
    cancel_fire(arg, "user pressed stop");
    return NULL;
}

static void test_cancel_ends_the_request(void **state)
{
    const char *script[] = {HOLD, NULL};
    struct rig r;
    struct cancel c;
    pthread_t th;
    int64_t t0;

    (void)state;
    cancel_init(&c);
    rig_start(&r, script, 1 << 20);
    t0 = upstream_now_ms();
    pthread_create(&th, NULL, fire_later, &c);
    assert_int_equal(send_msg(&r, REQ, 30000, &c, NULL), ERR_CANCELLED);
    assert_true(upstream_now_ms() - t0 < 5000);
    pthread_join(th, NULL);
    rig_stop(&r);
    cancel_destroy(&c);
}

/* A redirect within reason is followed, keeping the method and body (307). */
static void test_redirect_followed_with_body(void **state)
{
    const char *r307 = "HTTP/1.1 307 Temporary Redirect\r\nLocation: /moved\r\n"
                       "Content-Length: 0\r\n\r\n";
    char *r200 = http_json(200, "", RESP);
    const char *script[] = {r307, r200, NULL};
    const char *second;
    struct rig r;

    (void)state;
    rig_start(&r, script, 1 << 20);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, NULL), 0);
    assert_string_equal(r.msgs.s, RESP "\n");
    second = strstr(r.fake.requests.s, "=====");
    assert_non_null(second);
    assert_non_null(strstr(second, "POST /moved HTTP/1.1"));
    assert_non_null(strstr(second, "\"method\":\"tools/list\""));
    rig_stop(&r);
    free(r200);
}

static void test_unreachable_server(void **state)
{
    const char *script[] = {NULL};
    struct rig r;
    char *why = NULL;

    (void)state;
    rig_start(&r, script, 1 << 20);
    /* Nothing accepts: close the listener so connecting is refused. */
    shutdown(r.fake.fd, SHUT_RDWR);
    close(r.fake.fd);
    r.fake.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(send_msg(&r, REQ, 5000, NULL, &why), ERR_IO);
    assert_non_null(strstr(why, "cannot reach server \"s\""));
    free(why);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_answer_delivered),
        cmocka_unit_test(test_sse_answer_in_order_and_open_stream_left),
        cmocka_unit_test(test_202_for_notification_ok_for_request_error),
        cmocka_unit_test(test_401_needs_auth),
        cmocka_unit_test(test_session_header_and_expiry),
        cmocka_unit_test(test_500_quotes_server_message),
        cmocka_unit_test(test_non_json_body_is_an_error),
        cmocka_unit_test(test_oversized_answer_refused),
        cmocka_unit_test(test_no_answer_times_out),
        cmocka_unit_test(test_cancel_ends_the_request),
        cmocka_unit_test(test_redirect_followed_with_body),
        cmocka_unit_test(test_unreachable_server),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
