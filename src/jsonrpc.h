/*
 * jsonrpc.h - JSON-RPC 2.0 messages and newline-delimited framing.
 *
 * Owns: parsing and validating one message, building requests, responses and errors, and the
 * NDJSON framer that cuts a byte stream into lines under a size bound. Pure code: no I/O, so the
 * whole module is unit-tested and fuzzed byte by byte.
 *
 * Memory: a parsed struct jsonrpc_msg owns its cJSON tree (msg.root) and is released with
 * jsonrpc_msg_clear(); its other pointers borrow from that tree. Builders return new trees the
 * caller owns; _take arguments are consumed (json.h). A framer is owned by one reader thread.
 */
#ifndef MCPZIP_JSONRPC_H
#define MCPZIP_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define JSONRPC_PARSE_ERROR -32700
#define JSONRPC_INVALID_REQUEST -32600
#define JSONRPC_METHOD_NOT_FOUND -32601
#define JSONRPC_INVALID_PARAMS -32602
#define JSONRPC_INTERNAL_ERROR -32603
#define JSONRPC_SERVER_ERROR -32000    /* generic implementation-defined error */
#define JSONRPC_REQUEST_TIMEOUT -32001 /* the MCP SDKs' code for a timed-out request */

enum jsonrpc_kind {
    JSONRPC_REQUEST,      /* method + id */
    JSONRPC_NOTIFICATION, /* method, no id */
    JSONRPC_RESPONSE,     /* id + result */
    JSONRPC_ERROR,        /* id (maybe null) + error */
};

struct jsonrpc_msg {
    enum jsonrpc_kind kind;
    cJSON *root;         /* owned */
    const cJSON *id;     /* string or number; NULL for notifications (and error id null) */
    const char *method;  /* requests and notifications */
    const cJSON *params; /* object or array, or NULL */
    const cJSON *result; /* responses */
    const cJSON *error;  /* errors: the error object */
};

/*
 * Parses one message from exactly len bytes. Returns 0 and fills msg, or a JSON-RPC error code
 * (JSONRPC_PARSE_ERROR or JSONRPC_INVALID_REQUEST) with *why (callee-allocated) saying what is
 * wrong. On JSONRPC_INVALID_REQUEST msg->root and msg->id are still set when the message had a
 * usable id, so the error can echo it; the caller clears msg in every case.
 */
int jsonrpc_parse(const char *text, size_t len, struct jsonrpc_msg *msg, char **why);
void jsonrpc_msg_clear(struct jsonrpc_msg *msg);

/* Builders. id may be NULL (serialized as null); it is copied, never consumed. */
cJSON *jsonrpc_result_take(const cJSON *id, cJSON *result);
cJSON *jsonrpc_error_new(const cJSON *id, int code, const char *message);
cJSON *jsonrpc_request_take(const cJSON *id, const char *method, cJSON *params);
cJSON *jsonrpc_notification_take(const char *method, cJSON *params);

/* Returns a newly allocated canonical text of an id (for table keys): the JSON of it. */
char *jsonrpc_id_key(const cJSON *id);

/*
 * The framer cuts a byte stream at '\n' (a trailing '\r' is dropped; empty lines are skipped)
 * and never buffers more than max bytes: a longer line is reported once with too_big set and
 * its remaining bytes discarded up to the next newline, after which framing goes on normally.
 */
struct jsonrpc_framer;
typedef void (*jsonrpc_line_cb)(void *ud, const char *line, size_t len, bool too_big);

struct jsonrpc_framer *jsonrpc_framer_new(size_t max);
void jsonrpc_framer_free(struct jsonrpc_framer *fr);
void jsonrpc_framer_feed(struct jsonrpc_framer *fr, const char *data, size_t len,
                         jsonrpc_line_cb cb, void *ud);
/* Bytes held for an unfinished line (0 when the stream ended on a line boundary). */
size_t jsonrpc_framer_pending(const struct jsonrpc_framer *fr);

#endif
