/*
 * transport.h - the one interface behind which every upstream transport sits.
 *
 * A transport moves whole JSON-RPC messages between mcpzip and one upstream server: stdio (a
 * child process), and later Streamable HTTP and legacy SSE. The session layer (upstream.c) only
 * ever sees this interface.
 *
 * Delivery: every message the server sends is handed to on_msg as raw bytes of one JSON text,
 * in the order received. A transport calls on_closed exactly once when the connection is lost
 * by itself (child exited, stream ended) — not when the owner calls close. on_msg runs on the
 * thread that reads the transport (stdio: one hub thread for every child, see transport_stdio.h;
 * SSE: its stream thread) or on the thread inside send() (HTTP); on_closed on a thread of the
 * transport. Callbacks must not block (a stdio callback that did would hold up every other
 * stdio server), and must never free the transport.
 *
 * Lifetime: the owner creates, starts, sends from any thread (sends are serialized inside),
 * calls close (idempotent: ends the peer and stops callbacks; after it returns no callback runs),
 * then free. close and free must not be called from inside a callback.
 */
#ifndef MCPZIP_TRANSPORT_H
#define MCPZIP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

struct cancel;
struct transport;

typedef void (*transport_msg_cb)(void *ud, struct transport *t, const char *msg, size_t len);
typedef void (*transport_closed_cb)(void *ud, struct transport *t, const char *why);

struct transport_ops {
    const char *name;
    /* Connects or spawns. Returns 0 or an err.h code with *why. */
    int (*start)(struct transport *t, char **why);
    /*
     * Sends one message (no trailing newline). For HTTP the answer arrives during the call
     * (through on_msg on the calling thread), so the call is bounded by deadline_ms (monotonic)
     * and ends early when cancel fires. Returns 0, or with *why: ERR_CLOSED (connection gone),
     * ERR_IO (network or HTTP error), ERR_TIMEOUT, ERR_CANCELLED, ERR_NEEDS_AUTH (401),
     * ERR_SESSION_EXPIRED (the server forgot the session: re-initialize and send again).
     */
    int (*send)(struct transport *t, const char *msg, size_t len, int64_t deadline_ms,
                struct cancel *cancel, char **why);
    void (*close)(struct transport *t);
    void (*free)(struct transport *t);
    /* The child's pid, or 0 for network transports. */
    long (*pid)(struct transport *t);
    /* Recent diagnostics from the peer (last stderr lines), newly allocated, or NULL. */
    char *(*diag)(struct transport *t);
    /* Optional: the handshake finished with this protocol version (HTTP sends it as a header
     * from now on and opens its server-to-client stream). */
    void (*negotiated)(struct transport *t, const char *protocol);
};

/* Every implementation embeds this as its first member. */
struct transport {
    const struct transport_ops *ops;
    transport_msg_cb on_msg;
    transport_closed_cb on_closed;
    void *ud;
    unsigned users; /* threads inside send(); kept by the owner under its lock, so the owner
                       frees the transport only once nobody uses it */
};

#endif
