/*
 * upstream.h - one configured MCP server, seen from mcpzip as its client.
 *
 * Owns: the server's connection (a struct transport), its lifecycle state, the MCP handshake,
 * the table of requests in flight, reconnection with backoff, and idle disconnection.
 *
 * DESIGN. Requests are synchronous for the caller: upstream_request() sends, then sleeps on its
 * own condition variable until the response arrives (delivered by the transport's reader
 * thread), the deadline passes, the cancel fires, or the connection dies — whichever is first.
 * Many threads may wait on one upstream at once; there is one connection per server however
 * many calls are in flight. The first caller that finds the server disconnected connects it
 * (spawn + initialize) while later callers wait for that attempt; nobody holds the upstream's
 * lock during I/O. A lost connection fails every request in flight at once with the reason.
 * After a failed connect, further attempts back off (1 s doubling to 30 s) and callers get the
 * last error immediately; a forced refresh skips the backoff. Nothing is ever retried
 * automatically: a tool call that was sent is never sent again.
 *
 * Server-initiated messages: `ping` is answered here; tools/list_changed and other
 * notifications go to the hooks; other requests get a JSON-RPC error (never silence).
 *
 * Threads: every function may be called from any thread, except upstream_free() (the owner,
 * once no other thread uses the upstream). Hooks run on the transport's reader thread and must
 * not block or call back into this upstream synchronously.
 */
#ifndef MCPZIP_UPSTREAM_H
#define MCPZIP_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cancel.h"
#include "config.h"
#include "http.h"
#include "proc.h"

struct upstream;
struct jsonrpc_msg;
struct oauth;

enum upstream_state {
    UPSTREAM_IDLE,       /* not connected (never used, or disconnected while idle) */
    UPSTREAM_CONNECTING, /* spawn/handshake in progress */
    UPSTREAM_CONNECTED,  /* handshake done, requests flow */
    UPSTREAM_FAILED,     /* last connect failed or the connection died; see last_error */
    UPSTREAM_NEEDS_AUTH, /* a remote server is waiting for the user to authorize */
    UPSTREAM_DISABLED,   /* "disabled": true in the config */
};

struct upstream_hooks {
    /* The server announced notifications/tools/list_changed. */
    void (*tools_changed)(void *ud, struct upstream *up);
    /* A connection was established (on the connecting thread; must not block). */
    void (*connected)(void *ud, struct upstream *up);
    /* Returns the capabilities to declare in initialize (new object, consumed), or NULL. */
    cJSON *(*client_caps)(void *ud);
    /* A request from the server other than ping (sampling, elicitation, roots...). Returns true
     * when the hook took it and will answer with upstream_reply(); false gets the server a
     * method-not-found error. Must not block: hand the work to another thread. */
    bool (*request)(void *ud, struct upstream *up, const struct jsonrpc_msg *msg);
    /* Any notification from the server (after tools/list_changed handling). Must not block. */
    void (*notification)(void *ud, struct upstream *up, const struct jsonrpc_msg *msg);
    void *ud;
};

struct stdio_hub;

struct upstream_opts {
    struct proc_spawner *spawner;
    struct stdio_hub *stdio;     /* reads every stdio child's output (transport_stdio.h) */
    struct http_lib *http;       /* libcurl, loaded when a remote server is first used */
    struct oauth *oauth;         /* OAuth for remote servers without headers; may be NULL */
    const char *const *drop_env; /* variables children must not inherit */
    size_t max_message;          /* longest message accepted from the server */
    const char *client_version;  /* sent as clientInfo.version */
};

struct upstream_status {
    enum upstream_state state;
    long pid;             /* stdio child, 0 when none */
    char *last_error;     /* newly allocated or NULL */
    int64_t connected_at; /* wall clock ms, 0 when not connected */
    unsigned in_flight;
    char *protocol; /* negotiated version, newly allocated or NULL */
};

/* cfg, opts->spawner, opts->stdio and opts->drop_env are borrowed and must outlive the
 * upstream. */
struct upstream *upstream_new(const struct config_server *cfg, const struct upstream_opts *opts,
                              const struct upstream_hooks *hooks);
/* Disconnects (ending the child) and frees. NULL is a no-op. */
void upstream_free(struct upstream *up);

const char *upstream_name(const struct upstream *up);
const struct config_server *upstream_config(const struct upstream *up);

/*
 * Sends method with params (consumed; may be NULL) and waits for the answer, connecting first
 * when needed. timeout_ms bounds the whole call including the connect. cancel may be NULL.
 * Returns 0 with *result (caller frees) set to the response's result; or
 *   ERR_RPC      the server answered with a JSON-RPC error: *result holds the error object;
 *   ERR_TIMEOUT / ERR_CANCELLED  the request was abandoned and notifications/cancelled sent;
 *   ERR_CLOSED   the connection died while the request was in flight;
 *   ERR_SPAWN, ERR_BACKOFF, ERR_DISABLED, ERR_NEEDS_AUTH, ERR_PROTOCOL  could not connect;
 * always with *why (caller frees) saying what happened in words a user can act on.
 */
int upstream_request(struct upstream *up, const char *method, cJSON *params, int timeout_ms,
                     struct cancel *cancel, cJSON **result, char **why);

/*
 * Fetches the complete tool list, following nextCursor (bounded), and returns the tools array
 * in *tools (caller frees). force skips a connect backoff. Errors as upstream_request().
 */
int upstream_list_tools(struct upstream *up, int timeout_ms, bool force, cJSON **tools, char **why);

/* Answers a request the server sent (see hooks.request): result (consumed) when non-NULL,
 * else a JSON-RPC error with code and message. id is borrowed. Dropped when the connection the
 * request came on is gone. */
void upstream_reply(struct upstream *up, const cJSON *id, cJSON *result, int code,
                    const char *message);

/* Sends a notification (params consumed) if the server is connected; never connects. */
void upstream_notify(struct upstream *up, const char *method, cJSON *params);

/* Returns a copy of the capabilities the server declared at its last initialize, or NULL when
 * it never connected. Caller frees. */
cJSON *upstream_server_caps(struct upstream *up);

/* Fills st (caller frees st->last_error and st->protocol). */
void upstream_get_status(struct upstream *up, struct upstream_status *st);

/* Disconnects when connected with nothing in flight and unused for idle_ms. Returns true when
 * it disconnected. */
bool upstream_reap_idle(struct upstream *up, int64_t idle_ms);

/* Disconnects now, failing requests in flight with ERR_SHUTDOWN. */
void upstream_disconnect(struct upstream *up, const char *reason);

const char *upstream_state_name(enum upstream_state state);

/* Monotonic and wall clocks in milliseconds, shared by the modules that keep time. */
int64_t upstream_now_ms(void);
int64_t upstream_wall_ms(void);
/* The CLOCK_REALTIME instant ms milliseconds from now, for pthread_cond_timedwait() on
 * condition variables with the default clock. */
struct timespec upstream_wall_after(int ms);

#endif
