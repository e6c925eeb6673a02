/*
 * transport_sse.c - the legacy HTTP+SSE transport; see transport_sse.h.
 */
#include "transport_sse.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "oauth.h"
#include "sse.h"
#include "upstream.h"
#include "xmem.h"

#define SSE_ENDPOINT_WAIT_MS 30000
#define SSE_POST_BODY_MAX (1024u * 1024u)

struct sse_transport {
    struct transport base;
    const struct config_server *srv;
    struct http_lib *lib;
    struct http_client *hc;
    struct oauth *oa;            /* OAuth state, or NULL when OAuth does not apply */
    struct oauth_capture get_wa; /* WWW-Authenticate of the GET stream's answer */
    size_t max_message;
    struct sse_parser *parser;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    char *endpoint;   /* where to POST, from the endpoint event */
    bool stream_done; /* the GET stream ended */
    int stream_rc;    /* why it ended: 0 (server closed it) or an err.h code */
    char *stream_error;
    int closing; /* atomic: read by the stream thread and by requests */
    pthread_t reader;
    bool reader_running;
};

static void on_event(void *ud, const struct sse_event *ev)
{
    struct sse_transport *st = ud;
    char *why = NULL, *url;

    if (ev->too_big) {
        LOG_WARN("[%s] dropped an event larger than %zu bytes", st->srv->name, st->max_message);
        return;
    }
    if (strcmp(ev->type, "endpoint") == 0) {
        url = http_resolve(st->lib, st->srv->url, ev->data, &why);
        if (url == NULL) {
            LOG_WARN("[%s] %s", st->srv->name, why);
            free(why);
            return;
        }
        pthread_mutex_lock(&st->mu);
        free(st->endpoint);
        st->endpoint = url;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        LOG_DEBUG("[%s] posting messages to %s", st->srv->name, url);
        return;
    }
    if (strcmp(ev->type, "message") != 0)
        return;
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] <- %.*s", st->srv->name, (int)(ev->len > 2000 ? 2000 : ev->len), ev->data);
    st->base.on_msg(st->base.ud, &st->base, ev->data, ev->len);
}

static bool on_data(void *ud, const char *data, size_t len)
{
    struct sse_transport *st = ud;

    sse_parser_feed(st->parser, data, len, on_event, st);
    return true;
}

/* The request headers: extra, the Authorization header from OAuth, the configured ones. */
static char **headers_for(struct sse_transport *st, const char *first)
{
    const char *extra[3] = {first, NULL, NULL};
    char *authz = st->oa != NULL ? oauth_header(st->oa, st->srv) : NULL, **h;

    extra[1] = authz;
    h = http_headers(extra, st->srv->headers, st->srv->nheaders);
    oauth_header_free(authz);
    return h;
}

static void capture(void *ud, const char *name, const char *value)
{
    oauth_capture_header(ud, name, value);
}

static void get_header(void *ud, const char *name, const char *value)
{
    struct sse_transport *st = ud;

    oauth_capture_header(&st->get_wa, name, value);
}

static void *reader_main(void *arg)
{
    struct sse_transport *st = arg;
    char **hdrs = headers_for(st, "Accept: text/event-stream"), *why = NULL;
    struct http_request rq = {.method = "GET",
                              .url = st->srv->url,
                              .headers = (const char *const *)hdrs,
                              .stop = &st->closing,
                              .on_header = get_header,
                              .on_data = on_data,
                              .ud = st};
    struct http_response rs;
    bool connected;
    int rc;

    rc = http_perform(st->hc, &rq, &rs, &why);
    if (rc == 0 && rs.status != 200) {
        if (rs.status == 401 || (rs.status == 403 && st->oa != NULL &&
                                 oauth_capture_done(st->oa, st->srv, 403, &st->get_wa))) {
            if (rs.status == 401 && st->oa != NULL)
                oauth_capture_done(st->oa, st->srv, 401, &st->get_wa);
            why = xasprintf("server \"%s\" requires authorization (HTTP 401 from %s)",
                            st->srv->name, st->srv->url);
            rc = ERR_NEEDS_AUTH;
        } else {
            why = http_status_error(st->srv->url, rs.status, NULL, 0);
            rc = ERR_IO;
        }
    } else if (rc == ERR_IO) {
        char *msg =
            xasprintf("cannot reach server \"%s\" at %s: %s", st->srv->name, st->srv->url, why);

        free(why);
        why = msg;
    }
    http_response_clear(&rs);
    http_headers_free(hdrs);
    pthread_mutex_lock(&st->mu);
    st->stream_done = true;
    st->stream_rc = rc;
    st->stream_error = why;
    connected = st->endpoint != NULL;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (connected && !__atomic_load_n(&st->closing, __ATOMIC_ACQUIRE))
        st->base.on_closed(st->base.ud, &st->base,
                           rc == 0 ? "the server closed its event stream"
                                   : (why != NULL ? why : "the event stream failed"));
    return NULL;
}

static int sse_start(struct transport *t, char **why)
{
    struct sse_transport *st = (struct sse_transport *)t;
    struct timespec ts;
    int rc = http_lib_ensure(st->lib, why);

    if (rc != 0)
        return rc;
    st->hc = http_client_new(st->lib);
    if (pthread_create(&st->reader, NULL, reader_main, st) != 0) {
        *why = xasprintf("cannot start a reader: %s", strerror(errno));
        return ERR_IO;
    }
    st->reader_running = true;
    ts = upstream_wall_after(SSE_ENDPOINT_WAIT_MS);
    pthread_mutex_lock(&st->mu);
    while (st->endpoint == NULL && !st->stream_done)
        if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) != 0)
            break;
    if (st->endpoint != NULL) {
        rc = 0;
    } else if (st->stream_done && st->stream_rc != 0) {
        rc = st->stream_rc;
        *why = xstrdup(st->stream_error);
    } else {
        rc = ERR_PROTOCOL;
        *why = xasprintf("server \"%s\" %s without sending the \"endpoint\" event that an SSE "
                         "server must send first (is it a Streamable HTTP server? then use "
                         "\"type\": \"http\")",
                         st->srv->name,
                         st->stream_done ? "ended its event stream" : "kept its stream open");
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static int sse_send(struct transport *t, const char *msg, size_t len, int64_t deadline_ms,
                    struct cancel *cancel, char **why)
{
    struct sse_transport *st = (struct sse_transport *)t;
    struct oauth_capture wa = {0};
    struct http_request rq = {.method = "POST",
                              .body = msg,
                              .body_len = len,
                              .deadline_ms = deadline_ms,
                              .cancel = cancel,
                              .stop = &st->closing,
                              .max_body = SSE_POST_BODY_MAX,
                              .on_header = capture,
                              .ud = &wa};
    struct http_response rs;
    char *endpoint, **hdrs;
    int rc;

    pthread_mutex_lock(&st->mu);
    endpoint = st->endpoint != NULL && !st->stream_done ? xstrdup(st->endpoint) : NULL;
    pthread_mutex_unlock(&st->mu);
    if (endpoint == NULL) {
        *why = xasprintf("server \"%s\": the event stream is closed", st->srv->name);
        return ERR_CLOSED;
    }
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] -> %.*s", st->srv->name, (int)(len > 2000 ? 2000 : len), msg);
    hdrs = headers_for(st, "Content-Type: application/json");
    rq.url = endpoint;
    rq.headers = (const char *const *)hdrs;
    rc = http_perform(st->hc, &rq, &rs, why);
    if (rc == 0 && (rs.status < 200 || rs.status >= 300)) {
        if (rs.status == 401 ||
            (rs.status == 403 && st->oa != NULL && oauth_capture_done(st->oa, st->srv, 403, &wa))) {
            if (rs.status == 401 && st->oa != NULL)
                oauth_capture_done(st->oa, st->srv, 401, &wa);
            *why = xasprintf("server \"%s\" requires authorization (HTTP 401 from %s)",
                             st->srv->name, endpoint);
            rc = ERR_NEEDS_AUTH;
        } else {
            *why = http_status_error(endpoint, rs.status, rs.body, rs.body_len);
            rc = rs.status == 404 ? ERR_CLOSED : ERR_IO;
        }
    } else if (rc == 0 && rs.body_len > 0 && rs.body[0] == '{') {
        /* Answers belong on the stream, but a server that replies inline is heard too. */
        cJSON *j = json_parse(rs.body, rs.body_len, NULL);

        if (json_get(j, "jsonrpc") != NULL)
            st->base.on_msg(st->base.ud, &st->base, rs.body, rs.body_len);
        cJSON_Delete(j);
    }
    http_response_clear(&rs);
    http_headers_free(hdrs);
    oauth_capture_clear(&wa);
    free(endpoint);
    return rc;
}

static void sse_close(struct transport *t)
{
    struct sse_transport *st = (struct sse_transport *)t;

    __atomic_store_n(&st->closing, 1, __ATOMIC_RELEASE);
    if (st->reader_running) {
        pthread_join(st->reader, NULL);
        st->reader_running = false;
    }
}

static void sse_free(struct transport *t)
{
    struct sse_transport *st = (struct sse_transport *)t;

    if (st == NULL)
        return;
    sse_close(t);
    http_client_free(st->hc);
    sse_parser_free(st->parser);
    free(st->endpoint);
    free(st->stream_error);
    oauth_capture_clear(&st->get_wa);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static long sse_pid(struct transport *t)
{
    (void)t;
    return 0;
}

static char *sse_diag(struct transport *t)
{
    (void)t;
    return NULL;
}

static const struct transport_ops sse_ops = {
    .name = "sse",
    .start = sse_start,
    .send = sse_send,
    .close = sse_close,
    .free = sse_free,
    .pid = sse_pid,
    .diag = sse_diag,
};

struct transport *transport_sse_new(const struct config_server *srv, struct http_lib *lib,
                                    struct oauth *oa, size_t max_message)
{
    struct sse_transport *st = xcalloc(1, sizeof(*st));

    st->oa = oauth_applies(srv) ? oa : NULL;
    st->base.ops = &sse_ops;
    st->srv = srv;
    st->lib = lib;
    st->max_message = max_message;
    st->parser = sse_parser_new(max_message);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    return &st->base;
}
