/*
 * transport.h - the one interface behind which every upstream transport sits.
 *
 * A transport moves whole JSON-RPC messages between mcpzip and one upstream server: stdio (a
 * child process), and later Streamable HTTP and legacy SSE. The session layer (upstream.c) only
 * ever sees this interface.
 *
 * Delivery: every message the server sends is handed to on_msg as raw bytes of one JSON text,
 * in the order received. A transport calls on_closed exactly once when the connection is lost
 * by itself (child exited, stream ended) — not when the owner calls close. Both callbacks run on
 * the transport's own reader thread (stdio) or on the thread inside send() (HTTP), must not
 * block for long, and must never free the transport.
 *
 * Lifetime: the owner creates, starts, sends from any thread (sends are serialized inside),
 * calls close (idempotent: ends the peer and stops callbacks; after it returns no callback runs),
 * then free. close and free must not be called from inside a callback.
 */
#ifndef MCPZIP_TRANSPORT_H
#define MCPZIP_TRANSPORT_H

#include <stddef.h>

struct transport;

typedef void (*transport_msg_cb)(void *ud, struct transport *t, const char *msg, size_t len);
typedef void (*transport_closed_cb)(void *ud, struct transport *t, const char *why);

struct transport_ops {
    const char *name;
    /* Connects or spawns. Returns 0 or an err.h code with *why. */
    int (*start)(struct transport *t, char **why);
    /* Sends one message (no trailing newline). Returns 0, or ERR_CLOSED/ERR_IO with *why. */
    int (*send)(struct transport *t, const char *msg, size_t len, char **why);
    void (*close)(struct transport *t);
    void (*free)(struct transport *t);
    /* The child's pid, or 0 for network transports. */
    long (*pid)(struct transport *t);
    /* Recent diagnostics from the peer (last stderr lines), newly allocated, or NULL. */
    char *(*diag)(struct transport *t);
};

/* Every implementation embeds this as its first member. */
struct transport {
    const struct transport_ops *ops;
    transport_msg_cb on_msg;
    transport_closed_cb on_closed;
    void *ud;
};

#endif
