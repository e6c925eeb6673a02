/*
 * server.c - the downstream MCP session over stdio; see server.h for the design.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "metatools.h"
#include "relay.h"
#include "upstream.h"
#include "xmem.h"

#define SERVER_MAX_WORKERS 256
#define SERVER_MAX_QUEUED 4096
#define SERVER_GRACE_MS 3000
#define SERVER_FREE_WAIT_MS 3000
#define SERVER_LATEST_PROTOCOL "2025-11-25"
#define SERVER_MAX_OUTGOING 256

static const char *const protocol_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL,
};

/* A request running on a worker thread. */
struct call {
    struct server *srv;
    cJSON *id;                   /* owned copy of the request id */
    char *key;                   /* canonical id text, for notifications/cancelled */
    char *method;                /* the request's method */
    const struct metatool *tool; /* tools/call of a meta-tool, or NULL */
    char *exposed;               /* tools/call of a pinned tool: its name, or NULL */
    cJSON *params;               /* owned copy: tool arguments, or the method's params */
    cJSON *progress;             /* the client's progress token, or NULL */
    struct cancel cancel;
    bool client_cancelled; /* the client said it no longer wants the answer */
    struct call *next;     /* in server.calls */
    struct call *qnext;    /* in server.queue, while waiting for a worker */
};

/* A request mcpzip sent to the client (relayed for an upstream), awaiting its answer. */
struct outgoing {
    char *key;       /* our id, as its canonical text */
    cJSON *response; /* the client's answer message, once it came */
    bool done;
    pthread_cond_t cv;
    struct outgoing *next;
};

struct server {
    struct proxy *px;
    int in_fd, out_fd, stop_fd;
    int wake[2];            /* written when stdout breaks, to stop reading */
    pthread_mutex_t out_mu; /* one writer at a time on out_fd */
    bool out_broken;
    pthread_mutex_t mu; /* guards calls, workers, stopping */
    pthread_cond_t cv;
    struct call *calls; /* every call not yet answered, running or queued */
    struct call *queue; /* calls waiting for a free worker, oldest first */
    struct call *queue_tail;
    unsigned nqueued;
    unsigned workers;
    bool stopping;
    bool initialized;
    size_t max_message;
    struct outgoing *outgoing; /* guarded by mu */
    unsigned long next_out_id; /* guarded by mu */
    char *exposed_sig;         /* the pinned set last listed (guarded by mu) */
};

typedef void (*method_fn)(struct server *srv, struct jsonrpc_msg *msg);

struct method {
    const char *name;
    method_fn fn;
};

static void write_all(struct server *srv, const char *text, size_t len)
{
    while (len > 0 && !srv->out_broken) {
        ssize_t n = write(srv->out_fd, text, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = srv->out_fd, .events = POLLOUT};

            (void)poll(&pfd, 1, 1000);
            continue;
        }
        if (n <= 0) {
            LOG_WARN("cannot write to the client (%s); stopping", strerror(errno));
            srv->out_broken = true;
            (void)!write(srv->wake[1], "x", 1);
            return;
        }
        text += n;
        len -= (size_t)n;
    }
}

/* Sends one message (consumed) as one line. Any thread. */
static void send_take(struct server *srv, cJSON *msg)
{
    char *text = json_print(msg);
    size_t len = strlen(text);

    cJSON_Delete(msg);
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("-> %.*s", (int)(len > 2000 ? 2000 : len), text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    pthread_mutex_lock(&srv->out_mu);
    write_all(srv, text, len);
    pthread_mutex_unlock(&srv->out_mu);
    free(text);
}

static void send_error(struct server *srv, const cJSON *id, int code, const char *message)
{
    send_take(srv, jsonrpc_error_new(id, code, message));
}

static void on_initialize(struct server *srv, struct jsonrpc_msg *msg)
{
    const char *asked = json_get_str(msg->params, "protocolVersion");
    const char *version = SERVER_LATEST_PROTOCOL;
    cJSON *result = cJSON_CreateObject(), *caps, *info;
    char *instructions;

    for (size_t i = 0; asked != NULL && protocol_versions[i] != NULL; i++)
        if (strcmp(asked, protocol_versions[i]) == 0)
            version = protocol_versions[i];
    cJSON_AddStringToObject(result, "protocolVersion", version);
    caps = cJSON_AddObjectToObject(result, "capabilities");
    /* What mcpzip relays from its upstreams (relay.c), and tools whose pinned set can change. */
    cJSON_AddTrueToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged");
    cJSON *res = cJSON_AddObjectToObject(caps, "resources");
    cJSON_AddTrueToObject(res, "subscribe");
    cJSON_AddTrueToObject(res, "listChanged");
    cJSON_AddTrueToObject(cJSON_AddObjectToObject(caps, "prompts"), "listChanged");
    cJSON_AddObjectToObject(caps, "completions");
    cJSON_AddObjectToObject(caps, "logging");
    proxy_set_client_caps(srv->px, json_get_obj(msg->params, "capabilities"));
    info = cJSON_AddObjectToObject(result, "serverInfo");
    cJSON_AddStringToObject(info, "name", "mcpzip");
    cJSON_AddStringToObject(info, "title", "mcpzip: all your MCP servers behind a few tools");
    cJSON_AddStringToObject(info, "version", MCPZIP_VERSION);
    instructions = metatools_instructions(srv->px);
    cJSON_AddStringToObject(result, "instructions", instructions);
    free(instructions);
    LOG_INFO("client initialized with protocol %s (asked for %s)", version,
             asked != NULL ? asked : "none");
    send_take(srv, jsonrpc_result_take(msg->id, result));
    srv->initialized = true;
    /* Refresh after answering, so the client never waits for servers to start. */
    proxy_start(srv->px);
}

static void on_ping(struct server *srv, struct jsonrpc_msg *msg)
{
    send_take(srv, jsonrpc_result_take(msg->id, cJSON_CreateObject()));
}

static void on_tools_list(struct server *srv, struct jsonrpc_msg *msg)
{
    cJSON *result = cJSON_CreateObject();
    char *sig = NULL;

    cJSON_AddItemToObject(result, "tools", metatools_list_exposed(srv->px, &sig));
    pthread_mutex_lock(&srv->mu);
    free(srv->exposed_sig);
    srv->exposed_sig = sig;
    pthread_mutex_unlock(&srv->mu);
    send_take(srv, jsonrpc_result_take(msg->id, result));
}

static void call_free(struct call *c)
{
    cJSON_Delete(c->id);
    cJSON_Delete(c->params);
    cJSON_Delete(c->progress);
    free(c->exposed);
    free(c->method);
    free(c->key);
    cancel_destroy(&c->cancel);
    free(c);
}

/* Runs one call and answers it (unless the client cancelled it). */
static void run_call(struct server *srv, struct call *c)
{
    struct metatool_ctx ctx = {.cancel = &c->cancel, .progress_token = c->progress};
    struct call **pp;
    cJSON *result = NULL, *reply;
    char *why = NULL;
    bool answer;
    int code = 0;

    if (cancel_fired(&c->cancel)) {
        /* Cancelled while it waited in the queue: never started, nothing to undo. */
        code = JSONRPC_REQUEST_TIMEOUT;
        why = xasprintf("cancelled before it started: %s", c->cancel.reason);
    } else if (c->tool != NULL) {
        result = c->tool->call(srv->px, c->params, &ctx);
    } else if (c->exposed != NULL) {
        result = metatools_call_exposed(srv->px, c->exposed, c->params, &ctx);
        if (result == NULL) {
            code = JSONRPC_INVALID_PARAMS;
            why = xasprintf("Unknown tool: %s. Call a server's tool through execute_tool "
                            "{\"name\": \"server__tool\"}",
                            c->exposed);
        }
    } else if (relay_call(srv->px, c->method, c->params, &ctx, &result, &code, &why) != 0) {
        result = NULL;
    }
    reply = result != NULL ? jsonrpc_result_take(c->id, result)
                           : jsonrpc_error_new(c->id, code ? code : JSONRPC_INTERNAL_ERROR,
                                               why != NULL ? why : "internal error");
    free(why);
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->calls; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    answer = !c->client_cancelled;
    pthread_mutex_unlock(&srv->mu);
    /* After notifications/cancelled the client expects no response (MCP). */
    if (answer) {
        proxy_sync_notes(srv->px); /* the call's progress, relayed on another thread, first */
        send_take(srv, reply);
    } else
        cJSON_Delete(reply);
    call_free(c);
}

/* A worker runs its call, then the calls that queued while all workers were busy. */
static void *worker_main(void *arg)
{
    struct call *c = arg;
    struct server *srv = c->srv;

    for (;;) {
        run_call(srv, c);
        pthread_mutex_lock(&srv->mu);
        c = srv->queue;
        if (c == NULL) {
            srv->workers--;
            pthread_cond_broadcast(&srv->cv);
            pthread_mutex_unlock(&srv->mu);
            return NULL;
        }
        srv->queue = c->qnext;
        if (srv->queue == NULL)
            srv->queue_tail = NULL;
        srv->nqueued--;
        pthread_mutex_unlock(&srv->mu);
    }
}

/* Starts a worker for a blocking meta-tool; answers with an error when it cannot. */
static void start_worker(struct server *srv, struct jsonrpc_msg *msg, const struct metatool *t,
                         const char *exposed, const cJSON *args)
{
    struct call *c, *it;
    pthread_attr_t attr;
    pthread_t th;
    char *key = jsonrpc_id_key(msg->id);

    pthread_mutex_lock(&srv->mu);
    for (it = srv->calls; it != NULL; it = it->next)
        if (strcmp(it->key, key) == 0)
            break;
    if (it != NULL || srv->nqueued >= SERVER_MAX_QUEUED || srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        free(key);
        if (it != NULL)
            send_error(srv, msg->id, JSONRPC_INVALID_REQUEST,
                       "Invalid Request: this id is already used by a request in flight");
        else if (srv->stopping)
            send_error(srv, msg->id, JSONRPC_SERVER_ERROR, "mcpzip is shutting down");
        else
            send_error(srv, msg->id, JSONRPC_SERVER_ERROR,
                       "too many calls waiting (4096); wait for some to finish");
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->id = json_dup(msg->id);
    c->key = key;
    c->method = xstrdup(msg->method);
    c->tool = t;
    c->exposed = exposed != NULL ? xstrdup(exposed) : NULL;
    c->params = json_dup(args);
    c->progress = json_dup(json_get(json_get_obj(msg->params, "_meta"), "progressToken"));
    cancel_init(&c->cancel);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    c->next = srv->calls;
    srv->calls = c;
    if (srv->workers >= SERVER_MAX_WORKERS) {
        /* Every worker is busy: the call waits its turn (in order) instead of failing. */
        if (srv->queue_tail != NULL)
            srv->queue_tail->qnext = c;
        else
            srv->queue = c;
        srv->queue_tail = c;
        srv->nqueued++;
        pthread_mutex_unlock(&srv->mu);
        pthread_attr_destroy(&attr);
        return;
    }
    srv->workers++;
    if (pthread_create(&th, &attr, worker_main, c) != 0) {
        srv->calls = c->next;
        srv->workers--;
        pthread_mutex_unlock(&srv->mu);
        send_error(srv, msg->id, JSONRPC_INTERNAL_ERROR, "cannot start a worker thread");
        call_free(c);
    } else {
        pthread_mutex_unlock(&srv->mu);
    }
    pthread_attr_destroy(&attr);
}

static void on_tools_call(struct server *srv, struct jsonrpc_msg *msg)
{
    const char *name = json_get_str(msg->params, "name");
    const cJSON *args = json_get(msg->params, "arguments");
    const struct metatool *t;
    char *text;

    if (name == NULL) {
        send_error(srv, msg->id, JSONRPC_INVALID_PARAMS,
                   "Invalid params: tools/call needs \"name\" (a string)");
        return;
    }
    t = metatools_find(name);
    if (t == NULL && strstr(name, "__") != NULL &&
        (proxy_config(srv->px)->nexpose > 0 || proxy_config(srv->px)->expose_auto_tokens > 0)) {
        /* Perhaps a pinned tool; the worker checks and calls it like execute_tool would. */
        proxy_start(srv->px);
        start_worker(srv, msg, NULL, name, args);
        return;
    }
    if (t == NULL) {
        text = xasprintf("Unknown tool: %s. mcpzip exposes search_tools, describe_tool, "
                         "execute_tool, proxy_status and proxy_refresh; call a server's tool "
                         "through execute_tool {\"name\": \"server__tool\"}",
                         name);
        send_error(srv, msg->id, JSONRPC_INVALID_PARAMS, text);
        free(text);
        return;
    }
    if (args != NULL && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
        send_take(
            srv, jsonrpc_result_take(msg->id, metatools_error("\"arguments\" must be an object.")));
        return;
    }
    /* A client that skipped initialize still gets its catalog loaded. */
    proxy_start(srv->px);
    if (metatools_blocking(srv->px, t)) {
        start_worker(srv, msg, t, NULL, args);
        return;
    }
    send_take(srv, jsonrpc_result_take(msg->id, t->call(srv->px, args, NULL)));
}

static void on_cancelled(struct server *srv, struct jsonrpc_msg *msg)
{
    const cJSON *rid = json_get(msg->params, "requestId");
    const char *reason = json_get_str(msg->params, "reason");
    char *key;
    struct call *c;

    if (rid == NULL)
        return;
    key = jsonrpc_id_key(rid);
    pthread_mutex_lock(&srv->mu);
    for (c = srv->calls; c != NULL; c = c->next)
        if (strcmp(c->key, key) == 0) {
            c->client_cancelled = true;
            cancel_fire(&c->cancel, reason != NULL ? reason : "cancelled by the client");
        }
    pthread_mutex_unlock(&srv->mu);
    free(key);
}

static const struct method requests[] = {
    {"initialize", on_initialize},
    {"ping", on_ping},
    {"tools/list", on_tools_list},
    {"tools/call", on_tools_call},
};

/* The client's roots changed: every connected upstream that asked for them hears it. */
static void on_roots_changed(struct server *srv, struct jsonrpc_msg *msg)
{
    const struct config *cfg = proxy_config(srv->px);

    (void)msg;
    for (size_t i = 0; i < cfg->nservers; i++)
        upstream_notify(proxy_upstream(srv->px, cfg->servers[i].name),
                        "notifications/roots/list_changed", NULL);
}

static const struct method notifications[] = {
    {"notifications/cancelled", on_cancelled},
    {"notifications/roots/list_changed", on_roots_changed},
};

static void dispatch(struct server *srv, struct jsonrpc_msg *msg)
{
    const struct method *table = msg->kind == JSONRPC_REQUEST ? requests : notifications;
    size_t n = msg->kind == JSONRPC_REQUEST ? sizeof(requests) / sizeof(requests[0])
                                            : sizeof(notifications) / sizeof(notifications[0]);
    char *text;

    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, msg->method) == 0) {
            table[i].fn(srv, msg);
            return;
        }
    if (msg->kind == JSONRPC_REQUEST && relay_has(msg->method)) {
        proxy_start(srv->px);
        start_worker(srv, msg, NULL, NULL, msg->params);
        return;
    }
    if (msg->kind == JSONRPC_REQUEST) {
        text = xasprintf("Method not found: %s", msg->method);
        send_error(srv, msg->id, JSONRPC_METHOD_NOT_FOUND, text);
        free(text);
    }
    /* Unknown notifications are ignored, as JSON-RPC requires. */
}

/* The client answered one of our requests: wake the thread that relays it. */
static void deliver_answer(struct server *srv, struct jsonrpc_msg *msg)
{
    char *key = jsonrpc_id_key(msg->id);
    struct outgoing *o;

    pthread_mutex_lock(&srv->mu);
    for (o = srv->outgoing; o != NULL; o = o->next)
        if (!o->done && strcmp(o->key, key) == 0) {
            o->response = msg->root;
            msg->root = NULL;
            o->done = true;
            pthread_cond_signal(&o->cv);
            break;
        }
    pthread_mutex_unlock(&srv->mu);
    if (o == NULL)
        LOG_DEBUG("ignored an answer to a request mcpzip did not send: %s", key);
    free(key);
}

/* proxy_client.request: sends a request to the client and waits for its answer. */
static int client_request(void *ud, const char *method, cJSON *params, int timeout_ms,
                          cJSON **result, char **why)
{
    struct server *srv = ud;
    struct outgoing o = {0}, **po;
    struct timespec ts = upstream_wall_after(timeout_ms);
    unsigned n = 0;
    char idtext[48];
    cJSON *id;
    int rc;

    *result = NULL;
    pthread_mutex_lock(&srv->mu);
    for (struct outgoing *it = srv->outgoing; it != NULL; it = it->next)
        n++;
    if (srv->stopping || n >= SERVER_MAX_OUTGOING) {
        pthread_mutex_unlock(&srv->mu);
        cJSON_Delete(params);
        *why = xstrdup(srv->stopping ? "mcpzip is shutting down"
                                     : "too many requests to the "
                                       "client in flight");
        return ERR_BUSY;
    }
    snprintf(idtext, sizeof(idtext), "mcpzip-%lu", ++srv->next_out_id);
    id = cJSON_CreateString(idtext);
    o.key = jsonrpc_id_key(id);
    pthread_cond_init(&o.cv, NULL);
    o.next = srv->outgoing;
    srv->outgoing = &o;
    pthread_mutex_unlock(&srv->mu);

    send_take(srv, jsonrpc_request_take(id, method, params));
    cJSON_Delete(id);

    pthread_mutex_lock(&srv->mu);
    while (!o.done)
        if (pthread_cond_timedwait(&o.cv, &srv->mu, &ts) != 0)
            break;
    for (po = &srv->outgoing; *po != NULL; po = &(*po)->next)
        if (*po == &o) {
            *po = o.next;
            break;
        }
    pthread_mutex_unlock(&srv->mu);
    if (o.response != NULL && json_get(o.response, "result") != NULL) {
        *result = cJSON_DetachItemFromObjectCaseSensitive(o.response, "result");
        rc = 0;
    } else if (o.response != NULL) {
        const char *m = json_get_str(json_get_obj(o.response, "error"), "message");

        *why = xstrdup(m != NULL ? m : "the client answered with an error");
        *result = cJSON_DetachItemFromObjectCaseSensitive(o.response, "error");
        rc = ERR_RPC;
    } else {
        *why = xasprintf(o.done ? "mcpzip is shutting down"
                                : "the client did not answer %s "
                                  "in time",
                         method);
        rc = o.done ? ERR_SHUTDOWN : ERR_TIMEOUT;
    }
    cJSON_Delete(o.response);
    free(o.key);
    pthread_cond_destroy(&o.cv);
    return rc;
}

/* proxy_client.notify */
static void client_notify(void *ud, const char *method, cJSON *params)
{
    send_take(ud, jsonrpc_notification_take(method, params));
}

/* proxy_client.catalog_changed: when the pinned tools changed, tell the client. */
static void client_catalog_changed(void *ud)
{
    struct server *srv = ud;
    const struct config *cfg = proxy_config(srv->px);
    char *sig;
    bool changed;

    if (cfg->nexpose == 0 && cfg->expose_auto_tokens <= 0)
        return;
    sig = metatools_exposed_signature(srv->px);
    pthread_mutex_lock(&srv->mu);
    changed = srv->exposed_sig != NULL && strcmp(srv->exposed_sig, sig) != 0;
    if (changed) {
        free(srv->exposed_sig);
        srv->exposed_sig = sig;
        sig = NULL;
    }
    pthread_mutex_unlock(&srv->mu);
    free(sig);
    if (changed)
        send_take(srv, jsonrpc_notification_take("notifications/tools/list_changed", NULL));
}

static void on_line(void *ud, const char *line, size_t len, bool too_big)
{
    struct server *srv = ud;
    struct jsonrpc_msg msg;
    char *why = NULL, *text;
    int rc;

    if (too_big) {
        text = xasprintf("Invalid Request: message larger than %zu bytes (max_message_bytes); "
                         "it was discarded",
                         srv->max_message);
        LOG_WARN("%s", text);
        send_error(srv, NULL, JSONRPC_INVALID_REQUEST, text);
        free(text);
        return;
    }
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("<- %.*s", (int)(len > 2000 ? 2000 : len), line);
    rc = jsonrpc_parse(line, len, &msg, &why);
    if (rc != 0) {
        LOG_DEBUG("bad input from the client: %s", why);
        send_error(srv, rc == JSONRPC_INVALID_REQUEST ? msg.id : NULL, rc, why);
    } else if (msg.kind == JSONRPC_REQUEST || msg.kind == JSONRPC_NOTIFICATION) {
        dispatch(srv, &msg);
    } else {
        deliver_answer(srv, &msg);
    }
    free(why);
    jsonrpc_msg_clear(&msg);
}

struct server *server_new(struct proxy *px, int in_fd, int out_fd, int stop_fd)
{
    struct server *srv = xcalloc(1, sizeof(*srv));

    srv->px = px;
    srv->in_fd = in_fd;
    srv->out_fd = out_fd;
    srv->stop_fd = stop_fd;
    srv->max_message = proxy_config(px)->max_message_bytes;
    if (pipe2(srv->wake, O_CLOEXEC) != 0)
        srv->wake[0] = srv->wake[1] = -1;
    pthread_mutex_init(&srv->out_mu, NULL);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    {
        struct proxy_client client = {.request = client_request,
                                      .notify = client_notify,
                                      .catalog_changed = client_catalog_changed,
                                      .ud = srv};

        proxy_set_client(px, &client);
    }
    return srv;
}

int server_run(struct server *srv)
{
    struct jsonrpc_framer *fr = jsonrpc_framer_new(srv->max_message);
    char *buf = xmalloc(65536);
    struct timespec ts;
    struct call *c;
    const char *why = "end of input";

    for (;;) {
        struct pollfd pfd[3] = {
            {.fd = srv->in_fd, .events = POLLIN},
            {.fd = srv->stop_fd, .events = POLLIN},
            {.fd = srv->wake[0], .events = POLLIN},
        };
        ssize_t n;

        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            why = "poll failed";
            break;
        }
        if (pfd[1].revents != 0) {
            why = "a stop signal";
            break;
        }
        if (pfd[2].revents != 0) {
            why = "the client's end of stdout closed";
            break;
        }
        if (pfd[0].revents == 0)
            continue;
        n = read(srv->in_fd, buf, 65536);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        jsonrpc_framer_feed(fr, buf, (size_t)n, on_line, srv);
    }
    LOG_INFO("stopping on %s", why);
    free(buf);
    jsonrpc_framer_free(fr);

    /* Let calls in flight finish for a while, then cancel what is left. */
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    ts = upstream_wall_after(SERVER_GRACE_MS);
    while (srv->workers > 0)
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &ts) != 0)
            break;
    for (c = srv->calls; c != NULL; c = c->next)
        cancel_fire(&c->cancel, "mcpzip is shutting down");
    /* Requests to a client that is gone will never be answered. */
    for (struct outgoing *o = srv->outgoing; o != NULL; o = o->next) {
        o->done = true;
        pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    return 0;
}

bool server_free(struct server *srv)
{
    struct timespec ts = upstream_wall_after(SERVER_FREE_WAIT_MS);

    if (srv == NULL)
        return true;
    pthread_mutex_lock(&srv->mu);
    while (srv->workers > 0)
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &ts) != 0)
            break;
    if (srv->workers > 0) {
        pthread_mutex_unlock(&srv->mu);
        return false;
    }
    pthread_mutex_unlock(&srv->mu);
    {
        struct proxy_client none = {0};

        proxy_set_client(srv->px, &none);
    }
    free(srv->exposed_sig);
    if (srv->wake[0] >= 0)
        close(srv->wake[0]);
    if (srv->wake[1] >= 0)
        close(srv->wake[1]);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->out_mu);
    free(srv);
    return true;
}
