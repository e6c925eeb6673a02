/*
 * upstream.c - one upstream MCP server: lifecycle, handshake, requests in flight; see
 * upstream.h for the design.
 */
#include "upstream.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "oauth.h"
#include "transport.h"
#include "transport_http.h"
#include "transport_sse.h"
#include "transport_stdio.h"
#include "xmem.h"

#define UPSTREAM_PROTOCOL "2025-11-25"
#define UPSTREAM_MAX_PAGES 200
#define UPSTREAM_MAX_TOOLS 20000
#define UPSTREAM_MAX_IN_FLIGHT 1024
#define UPSTREAM_BACKOFF_MAX_MS 30000

/* Protocol versions we can speak with a server, newest first. */
static const char *const known_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL,
};

struct pending {
    long id;
    bool done;      /* an answer or a connection loss was recorded */
    bool cancelled; /* the cancel hook woke us */
    int rc;         /* 0, ERR_RPC or ERR_CLOSED once done */
    cJSON *payload; /* result or error object, owned */
    char *why;
    pthread_cond_t cv;
    struct upstream *up;
    struct pending *next;
};

struct dead {
    struct transport *t;
    bool graceful; /* let requests in progress finish (briefly) before closing */
    struct dead *next;
};

struct upstream {
    const struct config_server *cfg;
    struct upstream_opts opts;
    struct upstream_hooks hooks;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* state changes and transport user count changes */
    enum upstream_state state;
    struct transport *t; /* the live connection, NULL when none */
    struct dead *dead;   /* connections lost by themselves, freed off the reader thread */
    struct pending *pending;
    unsigned in_flight;
    long next_id;
    char *last_error;
    int failures;         /* consecutive failed connects */
    int64_t retry_at;     /* monotonic ms before which a connect is not retried */
    int64_t last_used;    /* monotonic ms */
    int64_t connected_at; /* wall ms */
    char *protocol;
    cJSON *server_caps; /* from the last initialize result */
};

int64_t upstream_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t upstream_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec upstream_wall_after(int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

const char *upstream_state_name(enum upstream_state state)
{
    static const char *const names[] = {
        [UPSTREAM_IDLE] = "idle",
        [UPSTREAM_CONNECTING] = "connecting",
        [UPSTREAM_CONNECTED] = "connected",
        [UPSTREAM_FAILED] = "failed",
        [UPSTREAM_NEEDS_AUTH] = "needs-auth",
        [UPSTREAM_DISABLED] = "disabled",
    };

    return names[state];
}

const char *upstream_name(const struct upstream *up)
{
    return up->cfg->name;
}

const struct config_server *upstream_config(const struct upstream *up)
{
    return up->cfg;
}

static void set_error(struct upstream *up, const char *why)
{
    free(up->last_error);
    up->last_error = why != NULL ? xstrdup(why) : NULL;
}

/* Absolute CLOCK_MONOTONIC deadline for pthread_cond_timedwait. */
static struct timespec abstime(int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};

    return ts;
}

static void cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* Fails every request in flight (called with mu held). */
static void fail_pending(struct upstream *up, int rc, const char *why)
{
    struct pending *p;

    for (p = up->pending; p != NULL; p = p->next) {
        if (p->done)
            continue;
        p->done = true;
        p->rc = rc;
        p->why = xstrdup(why);
        pthread_cond_signal(&p->cv);
    }
}

#define UPSTREAM_GRACE_MS 2000

/* Ends and frees a transport that is no longer reachable from up. Never on its reader thread.
 * graceful lets requests still inside send() finish first, for a bounded time. */
static void dispose(struct upstream *up, struct transport *t, bool graceful)
{
    struct timespec ts;

    if (t == NULL)
        return;
    if (graceful) {
        ts = abstime(upstream_now_ms() + UPSTREAM_GRACE_MS);
        pthread_mutex_lock(&up->mu);
        while (t->users > 0)
            if (pthread_cond_timedwait(&up->cv, &up->mu, &ts) != 0)
                break;
        pthread_mutex_unlock(&up->mu);
    }
    t->ops->close(t);
    pthread_mutex_lock(&up->mu);
    while (t->users > 0)
        pthread_cond_wait(&up->cv, &up->mu);
    pthread_mutex_unlock(&up->mu);
    t->ops->free(t);
}

/* Parks a transport for disposal by a later, non-reader thread (mu held). */
static void park(struct upstream *up, struct transport *t, bool graceful)
{
    struct dead *d = xcalloc(1, sizeof(*d));

    d->t = t;
    d->graceful = graceful;
    d->next = up->dead;
    up->dead = d;
}

static void dispose_dead(struct upstream *up)
{
    struct dead *d, *next;

    pthread_mutex_lock(&up->mu);
    d = up->dead;
    up->dead = NULL;
    pthread_mutex_unlock(&up->mu);
    for (; d != NULL; d = next) {
        next = d->next;
        dispose(up, d->t, d->graceful);
        free(d);
    }
}

/* Sends raw text on t, counting the sender so t is not freed under it. */
static int send_on(struct upstream *up, struct transport *t, const char *text, char **why)
{
    int rc;

    pthread_mutex_lock(&up->mu);
    t->users++;
    pthread_mutex_unlock(&up->mu);
    rc = t->ops->send(t, text, strlen(text), upstream_now_ms() + 10000, NULL, why);
    pthread_mutex_lock(&up->mu);
    t->users--;
    pthread_cond_broadcast(&up->cv);
    pthread_mutex_unlock(&up->mu);
    return rc;
}

static void send_msg(struct upstream *up, struct transport *t, cJSON *msg)
{
    char *text = json_print(msg), *why = NULL;

    if (send_on(up, t, text, &why) != 0) {
        LOG_DEBUG("[%s] could not send: %s", up->cfg->name, why);
        free(why);
    }
    free(text);
    cJSON_Delete(msg);
}

static void deliver_response(struct upstream *up, struct jsonrpc_msg *msg)
{
    struct pending *p;
    long id;

    if (!cJSON_IsNumber(msg->id)) {
        LOG_DEBUG("[%s] response with an id mcpzip never sent; ignored", up->cfg->name);
        return;
    }
    id = (long)msg->id->valuedouble;
    pthread_mutex_lock(&up->mu);
    for (p = up->pending; p != NULL && p->id != id; p = p->next)
        ;
    if (p != NULL && !p->done) {
        if (msg->kind == JSONRPC_RESPONSE) {
            p->payload = cJSON_DetachItemFromObjectCaseSensitive(msg->root, "result");
            p->rc = 0;
        } else {
            const char *m = json_get_str(msg->error, "message");
            double code = 0;

            json_get_num(msg->error, "code", &code);
            p->payload = cJSON_DetachItemFromObjectCaseSensitive(msg->root, "error");
            p->rc = ERR_RPC;
            p->why = xasprintf("server \"%s\" returned error %d: %s", up->cfg->name, (int)code,
                               m != NULL ? m : "(no message)");
        }
        p->done = true;
        pthread_cond_signal(&p->cv);
    } else {
        LOG_DEBUG("[%s] late response to request %ld (timed out or cancelled); ignored",
                  up->cfg->name, id);
    }
    pthread_mutex_unlock(&up->mu);
}

static void handle_request(struct upstream *up, struct transport *t, struct jsonrpc_msg *msg)
{
    cJSON *reply;

    if (strcmp(msg->method, "ping") == 0) {
        reply = jsonrpc_result_take(msg->id, cJSON_CreateObject());
    } else if (up->hooks.request != NULL && up->hooks.request(up->hooks.ud, up, msg)) {
        return;
    } else {
        char *text =
            xasprintf("mcpzip does not support the %s request from upstream servers", msg->method);

        LOG_INFO("[%s] refused server request %s", up->cfg->name, msg->method);
        reply = jsonrpc_error_new(msg->id, JSONRPC_METHOD_NOT_FOUND, text);
        free(text);
    }
    send_msg(up, t, reply);
}

static void handle_notification(struct upstream *up, struct jsonrpc_msg *msg)
{
    if (up->hooks.notification != NULL)
        up->hooks.notification(up->hooks.ud, up, msg);
    if (strcmp(msg->method, "notifications/tools/list_changed") == 0) {
        LOG_INFO("[%s] tool list changed", up->cfg->name);
        if (up->hooks.tools_changed != NULL)
            up->hooks.tools_changed(up->hooks.ud, up);
    } else if (strcmp(msg->method, "notifications/message") == 0) {
        const char *level = json_get_str(msg->params, "level");
        char *data = json_print(json_get(msg->params, "data"));

        LOG_INFO("[%s] %s: %.1000s", up->cfg->name, level != NULL ? level : "log", data);
        free(data);
    } else if (strcmp(msg->method, "notifications/progress") == 0) {
        double progress = 0, total = 0;
        const char *note = json_get_str(msg->params, "message");

        json_get_num(msg->params, "progress", &progress);
        json_get_num(msg->params, "total", &total);
        LOG_DEBUG("[%s] progress %g/%g%s%s", up->cfg->name, progress, total, note ? ": " : "",
                  note ? note : "");
    } else {
        LOG_DEBUG("[%s] notification %s", up->cfg->name, msg->method);
    }
}

/* Transport callback: one message from the server (reader thread). */
static void on_msg(void *ud, struct transport *t, const char *text, size_t len)
{
    struct upstream *up = ud;
    struct jsonrpc_msg msg;
    char *why = NULL;
    int rc;

    rc = jsonrpc_parse(text, len, &msg, &why);
    if (rc != 0) {
        LOG_WARN("[%s] ignored an invalid message: %s", up->cfg->name, why);
        if (rc == JSONRPC_INVALID_REQUEST && msg.id != NULL && json_get(msg.root, "method"))
            send_msg(up, t, jsonrpc_error_new(msg.id, rc, why));
        free(why);
        jsonrpc_msg_clear(&msg);
        return;
    }
    switch (msg.kind) {
    case JSONRPC_RESPONSE:
    case JSONRPC_ERROR:
        deliver_response(up, &msg);
        break;
    case JSONRPC_REQUEST:
        handle_request(up, t, &msg);
        break;
    case JSONRPC_NOTIFICATION:
        handle_notification(up, &msg);
        break;
    }
    jsonrpc_msg_clear(&msg);
}

/* Transport callback: the connection was lost by itself (reader thread). */
static void on_closed(void *ud, struct transport *t, const char *reason)
{
    struct upstream *up = ud;
    char *diag = t->ops->diag(t), *why;

    why = xasprintf("server \"%s\" stopped: %s%s%s", up->cfg->name, reason,
                    diag != NULL ? "; its last stderr output: " : "", diag != NULL ? diag : "");
    LOG_WARN("%s", why);
    pthread_mutex_lock(&up->mu);
    if (up->t == t) {
        up->t = NULL;
        park(up, t, false);
        if (up->state == UPSTREAM_CONNECTED) {
            /* A crash after a good connect: the next use may reconnect at once. */
            up->state = UPSTREAM_FAILED;
            up->failures = 0;
            up->retry_at = 0;
        }
        set_error(up, why);
        fail_pending(up, ERR_CLOSED, why);
        pthread_cond_broadcast(&up->cv);
    }
    pthread_mutex_unlock(&up->mu);
    free(diag);
    free(why);
}

static void wake_pending(void *arg)
{
    struct pending *p = arg;

    pthread_mutex_lock(&p->up->mu);
    p->cancelled = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->up->mu);
}

static void wake_state(void *arg)
{
    struct upstream *up = arg;

    pthread_mutex_lock(&up->mu);
    pthread_cond_broadcast(&up->cv);
    pthread_mutex_unlock(&up->mu);
}

static void unlink_pending(struct upstream *up, struct pending *p)
{
    struct pending **pp;

    for (pp = &up->pending; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    up->in_flight--;
    up->last_used = upstream_now_ms();
    pthread_cond_broadcast(&up->cv);
}

/*
 * Sends one request on the live connection and waits for its answer. during_connect allows the
 * handshake's own requests while the state is still CONNECTING.
 */
static int exchange(struct upstream *up, const char *method, cJSON *params, int64_t deadline,
                    struct cancel *cancel, bool during_connect, cJSON **result,
                    struct transport **via, char **why)
{
    struct pending p = {.up = up};
    struct transport *t;
    cJSON *req, *idj;
    bool notify;
    char *text;
    int rc;

    cond_init_mono(&p.cv);
    pthread_mutex_lock(&up->mu);
    t = up->t;
    if (t == NULL || !(up->state == UPSTREAM_CONNECTED ||
                       (during_connect && up->state == UPSTREAM_CONNECTING))) {
        pthread_mutex_unlock(&up->mu);
        cJSON_Delete(params);
        pthread_cond_destroy(&p.cv);
        *why = xasprintf("server \"%s\" is not connected%s%s", up->cfg->name,
                         up->last_error ? ": " : "", up->last_error ? up->last_error : "");
        return ERR_CLOSED;
    }
    if (up->in_flight >= UPSTREAM_MAX_IN_FLIGHT) {
        pthread_mutex_unlock(&up->mu);
        cJSON_Delete(params);
        pthread_cond_destroy(&p.cv);
        *why = xasprintf("server \"%s\" already has %d requests in flight; try again later",
                         up->cfg->name, UPSTREAM_MAX_IN_FLIGHT);
        return ERR_BUSY;
    }
    if (via != NULL)
        *via = t;
    p.id = ++up->next_id;
    p.next = up->pending;
    up->pending = &p;
    up->in_flight++;
    up->last_used = upstream_now_ms();
    t->users++;
    pthread_mutex_unlock(&up->mu);

    idj = cJSON_CreateNumber((double)p.id);
    req = jsonrpc_request_take(idj, method, params);
    cJSON_Delete(idj);
    text = json_print(req);
    cJSON_Delete(req);
    rc = t->ops->send(t, text, strlen(text), deadline, cancel, why);
    free(text);

    pthread_mutex_lock(&up->mu);
    t->users--;
    pthread_cond_broadcast(&up->cv);
    if (rc != 0 && p.done) {
        /* The answer arrived before the transport's own error (a stream cut after it). */
        free(*why);
        *why = NULL;
        rc = 0;
    }
    if (rc != 0 && rc != ERR_TIMEOUT && rc != ERR_CANCELLED) {
        unlink_pending(up, &p);
        pthread_mutex_unlock(&up->mu);
        pthread_cond_destroy(&p.cv);
        return rc;
    }
    if (rc != 0) {
        /* An HTTP send ended by the deadline or the cancel: the server has the request. */
        free(*why);
        *why = NULL;
        p.cancelled = rc == ERR_CANCELLED;
    }
    pthread_mutex_unlock(&up->mu);

    cancel_set_hook(cancel, wake_pending, &p);
    pthread_mutex_lock(&up->mu);
    while (!p.done && !p.cancelled && rc == 0) {
        struct timespec ts = abstime(deadline);

        if (pthread_cond_timedwait(&p.cv, &up->mu, &ts) == ETIMEDOUT)
            break;
    }
    unlink_pending(up, &p);
    /* An abandoned request is announced on the same connection, if it still lives; counting
     * ourselves as a sender before unlocking keeps it from being freed under us. */
    notify = !p.done && up->t == t;
    if (notify)
        t->users++;
    pthread_mutex_unlock(&up->mu);
    cancel_set_hook(cancel, NULL, NULL);

    if (!p.done) {
        bool cancelled = p.cancelled || cancel_fired(cancel);

        if (notify) {
            cJSON *cp = cJSON_CreateObject(), *note;
            char *nwhy = NULL;

            cJSON_AddNumberToObject(cp, "requestId", (double)p.id);
            cJSON_AddStringToObject(cp, "reason", cancelled ? cancel->reason : "timed out");
            note = jsonrpc_notification_take("notifications/cancelled", cp);
            text = json_print(note);
            cJSON_Delete(note);
            /* Bounded: a cancellation must not hang on a server that stopped answering (or
             * reading), and the caller is waiting for its timeout result. */
            if (t->ops->send(t, text, strlen(text), upstream_now_ms() + 1000, NULL, &nwhy) != 0)
                free(nwhy);
            free(text);
            pthread_mutex_lock(&up->mu);
            t->users--;
            pthread_cond_broadcast(&up->cv);
            pthread_mutex_unlock(&up->mu);
        }
        pthread_cond_destroy(&p.cv);
        if (cancelled) {
            *why = xasprintf("the call to \"%s\" was cancelled: %s", up->cfg->name, cancel->reason);
            return ERR_CANCELLED;
        }
        *why = xasprintf("server \"%s\" did not answer %s in time", up->cfg->name, method);
        return ERR_TIMEOUT;
    }
    pthread_cond_destroy(&p.cv);
    *result = p.payload;
    if (p.rc != 0)
        *why = p.why;
    else
        free(p.why);
    return p.rc;
}

static bool known_version(const char *v)
{
    for (size_t i = 0; known_versions[i] != NULL; i++)
        if (strcmp(v, known_versions[i]) == 0)
            return true;
    return false;
}

/* Starts a connection and performs the MCP handshake. Called in state CONNECTING, unlocked. */
static int connect_now(struct upstream *up, int64_t deadline, struct cancel *cancel, char **why)
{
    struct transport *t = NULL;
    cJSON *params, *info, *caps, *result = NULL;
    const char *version;
    char *diag;
    int rc;

    dispose_dead(up);
    if (up->cfg->problem != NULL) {
        *why = xasprintf("server \"%s\" cannot start: %s", up->cfg->name, up->cfg->problem);
        return ERR_INVALID;
    }
    switch (up->cfg->transport) {
    case CONFIG_STDIO:
        t = transport_stdio_new(up->cfg, up->opts.spawner, up->opts.stdio, up->opts.drop_env,
                                up->opts.max_message);
        break;
    case CONFIG_HTTP:
        t = transport_http_new(up->cfg, up->opts.http, up->opts.oauth, up->opts.max_message);
        break;
    case CONFIG_SSE:
        t = transport_sse_new(up->cfg, up->opts.http, up->opts.oauth, up->opts.max_message);
        break;
    }
    t->on_msg = on_msg;
    t->on_closed = on_closed;
    t->ud = up;
    rc = t->ops->start(t, why);
    if (rc != 0) {
        char *msg = xasprintf("server \"%s\": %s", up->cfg->name, *why);

        free(*why);
        *why = msg;
        t->ops->free(t);
        return rc;
    }
    pthread_mutex_lock(&up->mu);
    up->t = t;
    pthread_mutex_unlock(&up->mu);

    params = cJSON_CreateObject();
    caps = up->hooks.client_caps != NULL ? up->hooks.client_caps(up->hooks.ud) : NULL;
    cJSON_AddItemToObject(params, "capabilities", caps != NULL ? caps : cJSON_CreateObject());
    cJSON_AddStringToObject(params, "protocolVersion", UPSTREAM_PROTOCOL);
    info = cJSON_AddObjectToObject(params, "clientInfo");
    cJSON_AddStringToObject(info, "name", "mcpzip");
    cJSON_AddStringToObject(info, "version", up->opts.client_version);
    rc = exchange(up, "initialize", params, deadline, cancel, true, &result, NULL, why);
    if (rc == 0) {
        version = json_get_str(result, "protocolVersion");
        if (version == NULL || !known_version(version)) {
            *why = xasprintf("server \"%s\" answered initialize with protocol version \"%s\", "
                             "which mcpzip does not speak (it speaks 2024-11-05 to 2025-11-25)",
                             up->cfg->name, version != NULL ? version : "(none)");
            rc = ERR_PROTOCOL;
        } else {
            pthread_mutex_lock(&up->mu);
            free(up->protocol);
            up->protocol = xstrdup(version);
            cJSON_Delete(up->server_caps);
            up->server_caps = json_dup(json_get_obj(result, "capabilities"));
            pthread_mutex_unlock(&up->mu);
            if (t->ops->negotiated != NULL)
                t->ops->negotiated(t, version);
        }
    } else if (rc == ERR_TIMEOUT) {
        free(*why);
        diag = t->ops->diag(t);
        *why = xasprintf("server \"%s\" did not answer initialize in time%s%s", up->cfg->name,
                         diag ? "; its last stderr output: " : "", diag ? diag : "");
        free(diag);
    } else if (rc == ERR_CLOSED) {
        /* The server died before answering (a write to it failed, or its stdout closed). Its
         * reader reports how it ended and what it printed (on_closed broadcasts cv); wait a
         * moment for that (up to 3 s: on a loaded machine the reaping can take longer than the
         * half second it usually does). */
        struct timespec ts = abstime(upstream_now_ms() + 3000);

        pthread_mutex_lock(&up->mu);
        while (!(up->t != t && up->last_error != NULL))
            if (pthread_cond_timedwait(&up->cv, &up->mu, &ts) != 0)
                break;
        if (up->t != t && up->last_error != NULL) {
            free(*why);
            *why = xstrdup(up->last_error);
        }
        pthread_mutex_unlock(&up->mu);
    } else if (rc == ERR_RPC) {
        char *msg = xasprintf("%s (during initialize)", *why);

        free(*why);
        *why = msg;
        rc = ERR_PROTOCOL;
    }
    cJSON_Delete(result);
    if (rc == 0) {
        send_msg(up, t, jsonrpc_notification_take("notifications/initialized", NULL));
        pthread_mutex_lock(&up->mu);
        if (up->t != t) {
            rc = ERR_CLOSED;
            *why = xasprintf("server \"%s\" was disconnected during the handshake", up->cfg->name);
        }
        pthread_mutex_unlock(&up->mu);
        if (rc == 0)
            return 0;
    }
    /* Take the connection back unless the reader or a disconnect already did. */
    pthread_mutex_lock(&up->mu);
    if (up->t == t)
        up->t = NULL;
    else
        t = NULL;
    pthread_mutex_unlock(&up->mu);
    dispose(up, t, false);
    dispose_dead(up);
    return rc;
}

/* Says what a user can do about a 401, given how the server is configured. */
static void auth_hint(struct upstream *up, char **why)
{
    char *msg = xasprintf("%s. %s", *why,
                          up->cfg->nheaders > 0
                              ? "The configured \"headers\" were refused: check the token or key "
                                "they carry"
                              : "This mcpzip cannot run the OAuth sign-in yet; if the server "
                                "accepts an API key or token, add it under \"headers\" in its "
                                "config entry (e.g. \"Authorization\": \"Bearer ...\")");

    free(*why);
    *why = msg;
}

/* The OAuth state when OAuth applies to this server, else NULL. */
static struct oauth *oauth_of(const struct upstream *up)
{
    return up->opts.oauth != NULL && oauth_applies(up->cfg) ? up->opts.oauth : NULL;
}

/* A request was refused with ERR_NEEDS_AUTH: lets OAuth refresh or authorize. Returns 0 to send
 * it again, else the code to fail with, *why replaced by OAuth's message. */
static int authorize(struct upstream *up, struct oauth_try *tr, int64_t deadline,
                     struct cancel *cancel, char **why)
{
    char *w = NULL, *msg;
    int rc = oauth_denied(oauth_of(up), up->cfg, tr, deadline, cancel, &w);

    if (rc == 0) {
        free(*why);
        *why = NULL;
        return 0;
    }
    if (rc == ERR_NEEDS_AUTH && w != NULL &&
        (strstr(w, "authorization pending") != NULL || strstr(w, "mcpzip auth login") != NULL))
        msg = xasprintf("%s: %s", *why, w);
    else
        msg = xasprintf("%s; the OAuth sign-in failed: %s. If the server accepts an API key or "
                        "token instead, add it under \"headers\" in its config entry",
                        *why, w != NULL ? w : err_str(rc));
    free(w);
    free(*why);
    *why = msg;
    if (rc == ERR_INVALID)
        rc = ERR_IO;
    return rc;
}

/* Makes sure the server is connected, connecting it when needed. */
static int ensure_connected(struct upstream *up, int64_t deadline, struct cancel *cancel,
                            bool force, struct oauth_try *tr, char **why)
{
    struct oauth *oa = oauth_of(up);
    bool waited = false;
    int rc = 0;

    pthread_mutex_lock(&up->mu);
    for (;;) {
        if (up->state == UPSTREAM_CONNECTED && up->t != NULL)
            break;
        if (waited && (up->state == UPSTREAM_FAILED || up->state == UPSTREAM_NEEDS_AUTH)) {
            /* The attempt we waited for failed: its answer is ours. Even a forced refresh does
             * not start a second attempt right behind it. */
            *why = xstrdup(up->last_error != NULL ? up->last_error : "server failed");
            rc = up->state == UPSTREAM_NEEDS_AUTH ? ERR_NEEDS_AUTH : ERR_BACKOFF;
            break;
        }
        if (up->state == UPSTREAM_DISABLED) {
            *why = xasprintf("server \"%s\" is disabled in the config (\"disabled\": true)",
                             up->cfg->name);
            rc = ERR_DISABLED;
            break;
        }
        if (up->state == UPSTREAM_CONNECTING) {
            struct timespec ts = abstime(deadline);
            bool timed_out;

            pthread_mutex_unlock(&up->mu);
            cancel_set_hook(cancel, wake_state, up);
            pthread_mutex_lock(&up->mu);
            timed_out = pthread_cond_timedwait(&up->cv, &up->mu, &ts) == ETIMEDOUT;
            pthread_mutex_unlock(&up->mu);
            cancel_set_hook(cancel, NULL, NULL);
            pthread_mutex_lock(&up->mu);
            waited = true;
            if (cancel_fired(cancel)) {
                *why = xasprintf("cancelled while connecting to \"%s\"", up->cfg->name);
                rc = ERR_CANCELLED;
                break;
            }
            if (timed_out && up->state == UPSTREAM_CONNECTING) {
                *why =
                    xasprintf("server \"%s\" is still starting; try again shortly", up->cfg->name);
                rc = ERR_TIMEOUT;
                break;
            }
            continue;
        }
        if (up->state == UPSTREAM_NEEDS_AUTH && oa != NULL) {
            /* While a sign-in waits for the user, say so at once; once it is over, connect
             * without waiting out the backoff. */
            char *msg = NULL;
            bool pending;

            pthread_mutex_unlock(&up->mu);
            pending = oauth_pending(oa, up->cfg, &msg);
            pthread_mutex_lock(&up->mu);
            if (pending) {
                *why = msg;
                rc = ERR_NEEDS_AUTH;
                break;
            }
            if (up->state != UPSTREAM_NEEDS_AUTH)
                continue;
        } else if ((up->state == UPSTREAM_FAILED || up->state == UPSTREAM_NEEDS_AUTH) && !force &&
                   upstream_now_ms() < up->retry_at) {
            *why = xasprintf("%s (mcpzip retries in %lld s; proxy_refresh retries now)",
                             up->last_error ? up->last_error : "server failed",
                             (long long)((up->retry_at - upstream_now_ms()) / 1000 + 1));
            rc = ERR_BACKOFF;
            break;
        }
        up->state = UPSTREAM_CONNECTING;
        pthread_mutex_unlock(&up->mu);
        rc = connect_now(up, deadline, cancel, why);
        while (rc == ERR_NEEDS_AUTH && oa != NULL) {
            rc = authorize(up, tr, deadline, cancel, why);
            if (rc != 0)
                break;
            rc = connect_now(up, deadline, cancel, why);
        }
        if (rc == ERR_NEEDS_AUTH && oa == NULL)
            auth_hint(up, why);
        pthread_mutex_lock(&up->mu);
        if (rc != 0) {
            up->state = rc == ERR_NEEDS_AUTH ? UPSTREAM_NEEDS_AUTH : UPSTREAM_FAILED;
            up->failures++;
            up->retry_at = upstream_now_ms() + (up->failures >= 6 ? UPSTREAM_BACKOFF_MAX_MS
                                                                  : 1000LL << (up->failures - 1));
            set_error(up, *why);
            pthread_cond_broadcast(&up->cv);
            break;
        }
        up->state = UPSTREAM_CONNECTED;
        up->failures = 0;
        up->connected_at = upstream_wall_ms();
        up->last_used = upstream_now_ms();
        set_error(up, NULL);
        pthread_cond_broadcast(&up->cv);
        LOG_INFO("[%s] connected (protocol %s)", up->cfg->name, up->protocol);
        if (up->hooks.connected != NULL) {
            pthread_mutex_unlock(&up->mu);
            up->hooks.connected(up->hooks.ud, up);
            pthread_mutex_lock(&up->mu);
        }
    }
    pthread_mutex_unlock(&up->mu);
    return rc;
}

/* Retires connection t after it proved unusable (session expired, 401), unless another thread
 * already did. Requests still in progress on it may finish: they see the same answer and come
 * back through here. */
static void drop_connection(struct upstream *up, struct transport *t, enum upstream_state state,
                            const char *why)
{
    pthread_mutex_lock(&up->mu);
    if (t != NULL && up->t == t) {
        up->t = NULL;
        park(up, t, true);
        if (up->state == UPSTREAM_CONNECTED)
            up->state = state;
        if (state == UPSTREAM_NEEDS_AUTH)
            set_error(up, why);
        pthread_cond_broadcast(&up->cv);
    }
    pthread_mutex_unlock(&up->mu);
}

static int request_at(struct upstream *up, const char *method, cJSON *params, int64_t deadline,
                      struct cancel *cancel, bool force, cJSON **result, char **why)
{
    struct transport *via = NULL;
    struct oauth_try tr = {0};
    cJSON *copy = NULL;
    int rc;

    *result = NULL;
    rc = ensure_connected(up, deadline, cancel, force, &tr, why);
    if (rc != 0) {
        cJSON_Delete(params);
        return rc;
    }
    /* A request the server refused for an expired session or for authorization was never
     * processed: it is sent once more (this is not a retry of a call that ran). */
    if (up->cfg->transport != CONFIG_STDIO)
        copy = json_dup(params);
    rc = exchange(up, method, params, deadline, cancel, false, result, &via, why);
    if (rc == ERR_SESSION_EXPIRED) {
        LOG_INFO("[%s] %s; starting a new session", up->cfg->name, *why);
        free(*why);
        *why = NULL;
        drop_connection(up, via, UPSTREAM_IDLE, NULL);
        rc = ensure_connected(up, deadline, cancel, true, &tr, why);
        if (rc == 0)
            rc = exchange(up, method, json_dup(copy), deadline, cancel, false, result, &via, why);
    }
    while (rc == ERR_NEEDS_AUTH && oauth_of(up) != NULL) {
        rc = authorize(up, &tr, deadline, cancel, why);
        if (rc != 0)
            break;
        rc = ensure_connected(up, deadline, cancel, true, &tr, why);
        if (rc == 0)
            rc = exchange(up, method, json_dup(copy), deadline, cancel, false, result, &via, why);
    }
    if (rc == ERR_NEEDS_AUTH) {
        if (oauth_of(up) == NULL)
            auth_hint(up, why);
        drop_connection(up, via, UPSTREAM_NEEDS_AUTH, *why);
    }
    cJSON_Delete(copy);
    return rc;
}

int upstream_request(struct upstream *up, const char *method, cJSON *params, int timeout_ms,
                     struct cancel *cancel, cJSON **result, char **why)
{
    return request_at(up, method, params, upstream_now_ms() + timeout_ms, cancel, false, result,
                      why);
}

int upstream_list_tools(struct upstream *up, int timeout_ms, bool force, cJSON **tools, char **why)
{
    int64_t deadline = upstream_now_ms() + timeout_ms;
    cJSON *all = cJSON_CreateArray(), *result = NULL, *params, *page, *tool;
    char *cursor = NULL;
    int pages = 0, rc = 0, count = 0;

    do {
        const char *next;

        params = cJSON_CreateObject();
        if (cursor != NULL)
            cJSON_AddStringToObject(params, "cursor", cursor);
        rc =
            request_at(up, "tools/list", params, deadline, NULL, force && pages == 0, &result, why);
        if (rc != 0)
            goto out;
        page = cJSON_DetachItemFromObjectCaseSensitive(result, "tools");
        if (!cJSON_IsArray(page)) {
            *why = xasprintf("server \"%s\" answered tools/list without a \"tools\" array",
                             up->cfg->name);
            cJSON_Delete(page);
            rc = ERR_PROTOCOL;
            goto out;
        }
        while ((tool = cJSON_DetachItemFromArray(page, 0)) != NULL) {
            const char *name = json_get_str(tool, "name");

            if (name == NULL || *name == '\0' || strlen(name) > 256) {
                LOG_WARN("[%s] skipped a tool without a valid name", up->cfg->name);
                cJSON_Delete(tool);
                continue;
            }
            if (++count > UPSTREAM_MAX_TOOLS) {
                cJSON_Delete(tool);
                continue;
            }
            cJSON_AddItemToArray(all, tool);
        }
        cJSON_Delete(page);
        next = json_get_str(result, "nextCursor");
        free(cursor);
        cursor = next != NULL && *next != '\0' ? xstrdup(next) : NULL;
        cJSON_Delete(result);
        result = NULL;
    } while (cursor != NULL && ++pages < UPSTREAM_MAX_PAGES);
    if (count > UPSTREAM_MAX_TOOLS)
        LOG_WARN("[%s] lists %d tools; only the first %d are kept", up->cfg->name, count,
                 UPSTREAM_MAX_TOOLS);
    *tools = all;
    all = NULL;
out:
    free(cursor);
    cJSON_Delete(result);
    cJSON_Delete(all);
    return rc;
}

void upstream_get_status(struct upstream *up, struct upstream_status *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&up->mu);
    st->state = up->state;
    st->pid = up->t != NULL ? up->t->ops->pid(up->t) : 0;
    st->last_error = up->last_error ? xstrdup(up->last_error) : NULL;
    st->connected_at = up->state == UPSTREAM_CONNECTED ? up->connected_at : 0;
    st->in_flight = up->in_flight;
    st->protocol = up->protocol ? xstrdup(up->protocol) : NULL;
    pthread_mutex_unlock(&up->mu);
}

bool upstream_reap_idle(struct upstream *up, int64_t idle_ms)
{
    struct transport *t = NULL;

    pthread_mutex_lock(&up->mu);
    if (up->state == UPSTREAM_CONNECTED && up->in_flight == 0 &&
        upstream_now_ms() - up->last_used >= idle_ms) {
        t = up->t;
        up->t = NULL;
        up->state = UPSTREAM_IDLE;
    }
    pthread_mutex_unlock(&up->mu);
    if (t != NULL)
        LOG_INFO("[%s] idle for %lld s; disconnected (it restarts on next use)", up->cfg->name,
                 (long long)(idle_ms / 1000));
    dispose(up, t, false);
    dispose_dead(up);
    return t != NULL;
}

void upstream_disconnect(struct upstream *up, const char *reason)
{
    struct transport *t;

    pthread_mutex_lock(&up->mu);
    t = up->t;
    up->t = NULL;
    if (up->state != UPSTREAM_DISABLED)
        up->state = UPSTREAM_IDLE;
    fail_pending(up, ERR_SHUTDOWN, reason);
    pthread_cond_broadcast(&up->cv);
    pthread_mutex_unlock(&up->mu);
    dispose(up, t, false);
    dispose_dead(up);
}

struct upstream *upstream_new(const struct config_server *cfg, const struct upstream_opts *opts,
                              const struct upstream_hooks *hooks)
{
    struct upstream *up = xcalloc(1, sizeof(*up));

    up->cfg = cfg;
    up->opts = *opts;
    if (hooks != NULL)
        up->hooks = *hooks;
    pthread_mutex_init(&up->mu, NULL);
    cond_init_mono(&up->cv);
    up->state = cfg->disabled ? UPSTREAM_DISABLED : UPSTREAM_IDLE;
    if (cfg->problem != NULL) {
        up->last_error = xasprintf("server \"%s\" cannot start: %s", cfg->name, cfg->problem);
        if (!cfg->disabled)
            up->state = UPSTREAM_FAILED;
    }
    return up;
}

void upstream_free(struct upstream *up)
{
    if (up == NULL)
        return;
    upstream_disconnect(up, "mcpzip is shutting down");
    /* Wait for callers still inside upstream_request() (they were just woken). */
    pthread_mutex_lock(&up->mu);
    while (up->in_flight > 0 || up->state == UPSTREAM_CONNECTING)
        pthread_cond_wait(&up->cv, &up->mu);
    pthread_mutex_unlock(&up->mu);
    dispose_dead(up);
    free(up->last_error);
    free(up->protocol);
    cJSON_Delete(up->server_caps);
    pthread_cond_destroy(&up->cv);
    pthread_mutex_destroy(&up->mu);
    free(up);
}

/* Sends msg (consumed) on the live connection, if any, counting itself as its user. */
static void send_live(struct upstream *up, cJSON *msg)
{
    struct transport *t;
    char *text, *why = NULL;

    pthread_mutex_lock(&up->mu);
    t = up->state == UPSTREAM_CONNECTED ? up->t : NULL;
    if (t != NULL)
        t->users++;
    pthread_mutex_unlock(&up->mu);
    if (t == NULL) {
        cJSON_Delete(msg);
        return;
    }
    text = json_print(msg);
    cJSON_Delete(msg);
    if (t->ops->send(t, text, strlen(text), upstream_now_ms() + 10000, NULL, &why) != 0) {
        LOG_DEBUG("[%s] could not send: %s", up->cfg->name, why);
        free(why);
    }
    free(text);
    pthread_mutex_lock(&up->mu);
    t->users--;
    pthread_cond_broadcast(&up->cv);
    pthread_mutex_unlock(&up->mu);
}

void upstream_reply(struct upstream *up, const cJSON *id, cJSON *result, int code,
                    const char *message)
{
    send_live(up, result != NULL ? jsonrpc_result_take(id, result)
                                 : jsonrpc_error_new(id, code, message));
}

void upstream_notify(struct upstream *up, const char *method, cJSON *params)
{
    send_live(up, jsonrpc_notification_take(method, params));
}

cJSON *upstream_server_caps(struct upstream *up)
{
    cJSON *caps;

    pthread_mutex_lock(&up->mu);
    caps = json_dup(up->server_caps);
    pthread_mutex_unlock(&up->mu);
    return caps;
}
