/*
 * transport_http.c - the Streamable HTTP transport; see transport_http.h.
 */
#include "transport_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "cancel.h"
#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "oauth.h"
#include "sse.h"
#include "upstream.h"
#include "xmem.h"

#define HTTP_RESUME_MAX 5
#define HTTP_DEFAULT_RETRY_MS 1000
#define HTTP_GET_FAILURES_MAX 5
#define HTTP_DELETE_TIMEOUT_MS 3000

struct http_transport {
    struct transport base;
    const struct config_server *srv;
    struct http_lib *lib;
    struct http_client *hc;
    struct oauth *oa; /* the process's OAuth state, or NULL when OAuth does not apply */
    size_t max_message;
    pthread_mutex_t mu;   /* guards session_id and protocol */
    char *session_id;     /* assigned by the server at initialize */
    char *protocol;       /* negotiated version, sent as MCP-Protocol-Version */
    int closing;          /* ends every request in progress; atomic (read by the GET thread) */
    pthread_t get_thread; /* the server-to-client stream */
    bool get_running;
};

/* One HTTP exchange: the response's headers and body as they arrive. */
struct exch {
    struct http_transport *ht;
    struct sse_parser *sse; /* non-NULL when the body is an event stream */
    char *want;             /* id key of the response awaited, or NULL */
    bool answered;          /* that response was delivered */
    char *session;          /* Mcp-Session-Id of the response */
    struct buf body;        /* a JSON body, bounded by max_message */
    bool too_big;
    struct oauth_capture wa; /* WWW-Authenticate of the response */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits ms, in small steps, unless the transport closes, the cancel fires or the deadline
 * passes first. Returns 0, or the err.h code of what ended the wait. */
static int wait_ms(struct http_transport *ht, int ms, int64_t deadline, struct cancel *cancel)
{
    int64_t until = upstream_now_ms() + ms;

    while (upstream_now_ms() < until) {
        if (__atomic_load_n(&ht->closing, __ATOMIC_ACQUIRE))
            return ERR_CLOSED;
        if (cancel_fired(cancel))
            return ERR_CANCELLED;
        if (deadline > 0 && upstream_now_ms() >= deadline)
            return ERR_TIMEOUT;
        sleep_ms(10);
    }
    return 0;
}

/* Hands one JSON message to the session layer and notes whether it is the awaited answer.
 * parsed is text already parsed, or NULL to parse it here (only while an answer is awaited). */
static void deliver(struct exch *ex, const char *text, size_t len, const cJSON *parsed)
{
    struct http_transport *ht = ex->ht;

    if (ex->want != NULL && !ex->answered) {
        cJSON *mine = parsed == NULL ? json_parse(text, len, NULL) : NULL;
        const cJSON *m = parsed != NULL ? parsed : mine;

        if (cJSON_IsObject(m) && json_get(m, "method") == NULL &&
            (json_get(m, "result") != NULL || json_get(m, "error") != NULL)) {
            char *key = jsonrpc_id_key(json_get(m, "id"));

            ex->answered = strcmp(key, ex->want) == 0;
            free(key);
        }
        cJSON_Delete(mine);
    }
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] <- %.*s", ht->srv->name, (int)(len > 2000 ? 2000 : len), text);
    ht->base.on_msg(ht->base.ud, &ht->base, text, len);
}

/* A JSON body holds one message or, from older servers, a batch of them. */
static void deliver_body(struct exch *ex)
{
    cJSON *j, *it;
    char *text;

    if (ex->body.len == 0)
        return;
    j = json_parse(ex->body.s, ex->body.len, NULL);
    if (cJSON_IsArray(j)) {
        cJSON_ArrayForEach (it, j) {
            text = json_print(it);
            deliver(ex, text, strlen(text), it);
            free(text);
        }
    } else if (cJSON_IsObject(j)) {
        deliver(ex, ex->body.s, ex->body.len, j);
    } else {
        LOG_WARN("[%s] ignored a response body that is not JSON", ex->ht->srv->name);
    }
    cJSON_Delete(j);
}

static void on_event(void *ud, const struct sse_event *ev)
{
    struct exch *ex = ud;

    if (ev->too_big) {
        LOG_WARN("[%s] dropped an event larger than %zu bytes", ex->ht->srv->name,
                 ex->ht->max_message);
        return;
    }
    if (strcmp(ev->type, "message") != 0)
        return;
    deliver(ex, ev->data, ev->len, NULL);
}

static void on_header(void *ud, const char *name, const char *value)
{
    struct exch *ex = ud;

    if (strcasecmp(name, "content-type") == 0) {
        if (strncasecmp(value, "text/event-stream", 17) == 0 && ex->sse == NULL)
            ex->sse = sse_parser_new(ex->ht->max_message);
    } else if (strcasecmp(name, "mcp-session-id") == 0 && *value != '\0' && strlen(value) < 512) {
        free(ex->session);
        ex->session = xstrdup(value);
    } else {
        oauth_capture_header(&ex->wa, name, value);
    }
}

static bool on_data(void *ud, const char *data, size_t len)
{
    struct exch *ex = ud;

    if (ex->sse != NULL) {
        sse_parser_feed(ex->sse, data, len, on_event, ex);
        /* Once the answer is in, stop reading: a server may keep the stream open. */
        return !(ex->want != NULL && ex->answered);
    }
    if (ex->body.len + len > ex->ht->max_message) {
        ex->too_big = true;
        return false;
    }
    buf_append(&ex->body, data, len);
    return true;
}

static void exch_clear(struct exch *ex)
{
    sse_parser_free(ex->sse);
    free(ex->want);
    free(ex->session);
    buf_free(&ex->body);
    oauth_capture_clear(&ex->wa);
    memset(ex, 0, sizeof(*ex));
}

/* The headers every request carries, plus accept and optionally Last-Event-ID. */
static char **request_headers(struct http_transport *ht, bool post, bool with_protocol,
                              const char *last_event_id)
{
    const char *extra[7];
    char *proto = NULL, *sess = NULL, *leid = NULL, *authz = NULL, **h;
    int n = 0;

    if (post)
        extra[n++] = "Content-Type: application/json";
    extra[n++] = post ? "Accept: application/json, text/event-stream" : "Accept: text/event-stream";
    pthread_mutex_lock(&ht->mu);
    if (with_protocol && ht->protocol != NULL)
        extra[n++] = proto = xasprintf("MCP-Protocol-Version: %s", ht->protocol);
    if (ht->session_id != NULL)
        extra[n++] = sess = xasprintf("Mcp-Session-Id: %s", ht->session_id);
    pthread_mutex_unlock(&ht->mu);
    if (last_event_id != NULL && *last_event_id != '\0')
        extra[n++] = leid = xasprintf("Last-Event-ID: %s", last_event_id);
    if (ht->oa != NULL && (authz = oauth_header(ht->oa, ht->srv)) != NULL)
        extra[n++] = authz;
    extra[n] = NULL;
    h = http_headers(extra, ht->srv->headers, ht->srv->nheaders);
    oauth_header_free(authz);
    free(proto);
    free(sess);
    free(leid);
    return h;
}

/* Maps a failed status to an error code and message. */
static int status_error(struct http_transport *ht, const struct http_response *rs,
                        const struct exch *ex, bool had_session, char **why)
{
    const char *body = rs->body != NULL ? rs->body : ex->body.s;
    size_t len = rs->body != NULL ? rs->body_len : ex->body.len;

    if (rs->status == 401 || (rs->status == 403 && ht->oa != NULL &&
                              oauth_capture_done(ht->oa, ht->srv, rs->status, &ex->wa))) {
        if (rs->status == 401 && ht->oa != NULL)
            oauth_capture_done(ht->oa, ht->srv, rs->status, &ex->wa);
        *why = xasprintf("server \"%s\" requires authorization (HTTP %ld from %s)", ht->srv->name,
                         rs->status, ht->srv->url);
        return ERR_NEEDS_AUTH;
    }
    /* 404 is the specification's "session expired"; some servers answer 400 naming the
     * session instead. */
    if (had_session &&
        (rs->status == 404 || (rs->status == 400 && body != NULL && strcasestr(body, "session")))) {
        *why = xasprintf("server \"%s\" no longer knows the session (HTTP %ld)", ht->srv->name,
                         rs->status);
        return ERR_SESSION_EXPIRED;
    }
    *why = http_status_error(ht->srv->url, rs->status, body, len);
    return ERR_IO;
}

/* Reads more of an interrupted response stream with GET + Last-Event-ID, after the server's
 * retry delay, until the answer arrives. */
static int resume(struct http_transport *ht, struct exch *ex, int64_t deadline,
                  struct cancel *cancel, char **why)
{
    for (int attempt = 0; attempt < HTTP_RESUME_MAX; attempt++) {
        struct http_request rq = {.method = "GET",
                                  .url = ht->srv->url,
                                  .deadline_ms = deadline,
                                  .cancel = cancel,
                                  .stop = &ht->closing,
                                  .on_header = on_header,
                                  .on_data = on_data,
                                  .ud = ex};
        struct http_response rs;
        char *last = xstrdup(sse_parser_last_id(ex->sse)), **hdrs;
        long retry = sse_parser_retry(ex->sse);
        int rc;

        if (*last == '\0') {
            free(last);
            *why = xasprintf("server \"%s\" ended the response stream before answering",
                             ht->srv->name);
            return ERR_CLOSED;
        }
        rc = wait_ms(ht, retry >= 0 ? (int)retry : HTTP_DEFAULT_RETRY_MS, deadline, cancel);
        if (rc != 0) {
            free(last);
            *why = xstrdup(err_str(rc));
            return rc;
        }
        LOG_DEBUG("[%s] resuming the response stream after event %s", ht->srv->name, last);
        hdrs = request_headers(ht, false, true, last);
        rq.headers = (const char *const *)hdrs;
        rc = http_perform(ht->hc, &rq, &rs, why);
        http_headers_free(hdrs);
        free(last);
        if (rc != 0) {
            http_response_clear(&rs);
            return rc;
        }
        if (rs.status != 200 || ex->sse == NULL) {
            *why = xasprintf("server \"%s\" could not resume the response stream (HTTP %ld)",
                             ht->srv->name, rs.status);
            http_response_clear(&rs);
            return ERR_CLOSED;
        }
        http_response_clear(&rs);
        if (ex->answered)
            return 0;
    }
    *why =
        xasprintf("server \"%s\" kept ending the response stream before answering", ht->srv->name);
    return ERR_CLOSED;
}

static int http_send(struct transport *t, const char *msg, size_t len, int64_t deadline_ms,
                     struct cancel *cancel, char **why)
{
    struct http_transport *ht = (struct http_transport *)t;
    struct exch ex = {.ht = ht};
    struct http_request rq = {.method = "POST",
                              .url = ht->srv->url,
                              .body = msg,
                              .body_len = len,
                              .deadline_ms = deadline_ms,
                              .cancel = cancel,
                              .stop = &ht->closing,
                              .on_header = on_header,
                              .on_data = on_data,
                              .ud = &ex};
    struct http_response rs = {0};
    cJSON *m = json_parse(msg, len, NULL);
    const char *method = json_get_str(m, "method");
    bool initialize = method != NULL && strcmp(method, "initialize") == 0, had_session;
    char **hdrs;
    int rc;

    if (__atomic_load_n(&ht->closing, __ATOMIC_ACQUIRE)) {
        cJSON_Delete(m);
        *why = xstrdup("the connection is closed");
        return ERR_CLOSED;
    }
    if (method != NULL && json_get(m, "id") != NULL)
        ex.want = jsonrpc_id_key(json_get(m, "id"));
    cJSON_Delete(m);
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] -> %.*s", ht->srv->name, (int)(len > 2000 ? 2000 : len), msg);
    pthread_mutex_lock(&ht->mu);
    had_session = ht->session_id != NULL;
    pthread_mutex_unlock(&ht->mu);
    hdrs = request_headers(ht, true, !initialize, NULL);
    rq.headers = (const char *const *)hdrs;
    rc = http_perform(ht->hc, &rq, &rs, why);
    http_headers_free(hdrs);
    if (rc != 0) {
        if (rc == ERR_IO) {
            char *msg2 = xasprintf("cannot reach server \"%s\" at %s: %s", ht->srv->name,
                                   ht->srv->url, *why);

            free(*why);
            *why = msg2;
        }
        goto out;
    }
    if (initialize && ex.session != NULL) {
        pthread_mutex_lock(&ht->mu);
        free(ht->session_id);
        ht->session_id = xstrdup(ex.session);
        pthread_mutex_unlock(&ht->mu);
    }
    if (rs.status < 200 || rs.status >= 300) {
        rc = status_error(ht, &rs, &ex, had_session, why);
        goto out;
    }
    if (ex.too_big) {
        *why = xasprintf("server \"%s\" sent a response larger than %zu bytes", ht->srv->name,
                         ht->max_message);
        rc = ERR_IO;
        goto out;
    }
    if (ex.sse == NULL)
        deliver_body(&ex);
    if (ex.want != NULL && !ex.answered) {
        if (ex.sse != NULL) {
            rc = resume(ht, &ex, deadline_ms, cancel, why);
        } else {
            *why = xasprintf("server \"%s\" answered HTTP %ld without a JSON-RPC response",
                             ht->srv->name, rs.status);
            rc = ERR_IO;
        }
    }
out:
    http_response_clear(&rs);
    exch_clear(&ex);
    return rc;
}

/* The server-to-client stream: GET, deliver events, reconnect after the retry delay. */
static void *get_main(void *arg)
{
    struct http_transport *ht = arg;
    char *last = xstrdup(""), *why = NULL, **hdrs;
    long retry = HTTP_DEFAULT_RETRY_MS;
    int failures = 0;

    while (!__atomic_load_n(&ht->closing, __ATOMIC_ACQUIRE)) {
        struct exch ex = {.ht = ht};
        struct http_request rq = {.method = "GET",
                                  .url = ht->srv->url,
                                  .stop = &ht->closing,
                                  .on_header = on_header,
                                  .on_data = on_data,
                                  .ud = &ex};
        struct http_response rs;
        int rc;

        hdrs = request_headers(ht, false, true, last);
        rq.headers = (const char *const *)hdrs;
        rc = http_perform(ht->hc, &rq, &rs, &why);
        http_headers_free(hdrs);
        if (ex.sse != NULL) {
            if (*sse_parser_last_id(ex.sse) != '\0') {
                free(last);
                last = xstrdup(sse_parser_last_id(ex.sse));
            }
            if (sse_parser_retry(ex.sse) >= 0)
                retry = sse_parser_retry(ex.sse);
        }
        if (rc != 0) {
            if (!__atomic_load_n(&ht->closing, __ATOMIC_ACQUIRE))
                LOG_DEBUG("[%s] server stream: %s", ht->srv->name, why);
            free(why);
            why = NULL;
            failures++;
        } else if (rs.status == 405) {
            LOG_DEBUG("[%s] the server offers no server-to-client stream (405)", ht->srv->name);
            http_response_clear(&rs);
            exch_clear(&ex);
            break;
        } else if (rs.status != 200 || ex.sse == NULL) {
            LOG_DEBUG("[%s] server stream not available (HTTP %ld)", ht->srv->name, rs.status);
            failures = HTTP_GET_FAILURES_MAX;
        } else {
            failures = 0;
        }
        http_response_clear(&rs);
        exch_clear(&ex);
        if (failures >= HTTP_GET_FAILURES_MAX)
            break;
        wait_ms(ht, failures > 0 ? 1000 << (failures - 1) : (int)retry, 0, NULL);
    }
    free(last);
    return NULL;
}

static void http_negotiated(struct transport *t, const char *protocol)
{
    struct http_transport *ht = (struct http_transport *)t;

    pthread_mutex_lock(&ht->mu);
    free(ht->protocol);
    ht->protocol = xstrdup(protocol);
    pthread_mutex_unlock(&ht->mu);
    if (!ht->get_running && pthread_create(&ht->get_thread, NULL, get_main, ht) == 0)
        ht->get_running = true;
}

static int http_start(struct transport *t, char **why)
{
    struct http_transport *ht = (struct http_transport *)t;
    int rc = http_lib_ensure(ht->lib, why);

    if (rc != 0)
        return rc;
    ht->hc = http_client_new(ht->lib);
    return 0;
}

static void http_close(struct transport *t)
{
    struct http_transport *ht = (struct http_transport *)t;
    char *why = NULL, **hdrs;

    if (__atomic_exchange_n(&ht->closing, 1, __ATOMIC_ACQ_REL))
        return;
    if (ht->get_running) {
        pthread_join(ht->get_thread, NULL);
        ht->get_running = false;
    }
    if (ht->hc != NULL && ht->session_id != NULL) {
        /* Tell the server the session is over, so it can free what it holds for us. */
        int no_stop = 0;
        struct http_request rq = {.method = "DELETE",
                                  .url = ht->srv->url,
                                  .stop = &no_stop,
                                  .deadline_ms = upstream_now_ms() + HTTP_DELETE_TIMEOUT_MS,
                                  .max_body = 4096};
        struct http_response rs;

        hdrs = request_headers(ht, false, true, NULL);
        rq.headers = (const char *const *)hdrs;
        if (http_perform(ht->hc, &rq, &rs, &why) == 0)
            LOG_DEBUG("[%s] session ended (HTTP %ld)", ht->srv->name, rs.status);
        free(why);
        http_response_clear(&rs);
        http_headers_free(hdrs);
    }
}

static void http_free(struct transport *t)
{
    struct http_transport *ht = (struct http_transport *)t;

    if (ht == NULL)
        return;
    http_close(t);
    http_client_free(ht->hc);
    free(ht->session_id);
    free(ht->protocol);
    pthread_mutex_destroy(&ht->mu);
    free(ht);
}

static long http_pid(struct transport *t)
{
    (void)t;
    return 0;
}

static char *http_diag(struct transport *t)
{
    (void)t;
    return NULL;
}

static const struct transport_ops http_ops = {
    .name = "http",
    .start = http_start,
    .send = http_send,
    .close = http_close,
    .free = http_free,
    .pid = http_pid,
    .diag = http_diag,
    .negotiated = http_negotiated,
};

struct transport *transport_http_new(const struct config_server *srv, struct http_lib *lib,
                                     struct oauth *oa, size_t max_message)
{
    struct http_transport *ht = xcalloc(1, sizeof(*ht));

    ht->oa = oauth_applies(srv) ? oa : NULL;
    ht->base.ops = &http_ops;
    ht->srv = srv;
    ht->lib = lib;
    ht->max_message = max_message;
    pthread_mutex_init(&ht->mu, NULL);
    return &ht->base;
}
