/*
 * err.h - the project's error codes.
 *
 * Functions return 0 on success or one of these (negative) codes; human-readable detail travels
 * separately in a `char **why` out-parameter that the callee allocates and the caller frees.
 * The list is one X-macro so the enum and its strings cannot drift apart. Any thread.
 */
#ifndef MCPZIP_ERR_H
#define MCPZIP_ERR_H

#define ERR_LIST(X)                                  \
    X(ERR_OK, 0, "success")                          \
    X(ERR_IO, -1, "input/output error")              \
    X(ERR_PARSE, -2, "malformed input")              \
    X(ERR_INVALID, -3, "invalid value")              \
    X(ERR_TOO_BIG, -4, "message too large")          \
    X(ERR_TIMEOUT, -5, "timed out")                  \
    X(ERR_CANCELLED, -6, "cancelled")                \
    X(ERR_CLOSED, -7, "connection closed")           \
    X(ERR_SPAWN, -8, "could not start server")       \
    X(ERR_RPC, -9, "server returned an error")       \
    X(ERR_NOT_FOUND, -10, "not found")               \
    X(ERR_BUSY, -11, "too many requests in flight")  \
    X(ERR_NEEDS_AUTH, -12, "authorization required") \
    X(ERR_DISABLED, -13, "server disabled")          \
    X(ERR_BACKOFF, -14, "server failed recently")    \
    X(ERR_PROTOCOL, -15, "protocol violation")       \
    X(ERR_SHUTDOWN, -16, "shutting down")            \
    X(ERR_SESSION_EXPIRED, -17, "session expired")

enum err {
#define ERR_ENUM(name, value, text) name = value,
    ERR_LIST(ERR_ENUM)
#undef ERR_ENUM
};

/* Returns a static description of code; never NULL. */
const char *err_str(int code);

#endif
