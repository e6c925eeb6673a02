/*
 * jsonrpc.c - JSON-RPC 2.0 parsing, building and NDJSON framing; see jsonrpc.h.
 */
#include "jsonrpc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xmem.h"

#define JSONRPC_FRAMER_KEEP 4096 /* a bigger line buffer is freed once its line is out */

struct jsonrpc_framer {
    char *buf;       /* the unfinished line */
    size_t len;      /* bytes in buf */
    size_t cap;      /* allocated size of buf */
    size_t max;      /* longest line accepted */
    bool discarding; /* inside a line already reported as too big */
};

void jsonrpc_msg_clear(struct jsonrpc_msg *msg)
{
    cJSON_Delete(msg->root);
    memset(msg, 0, sizeof(*msg));
}

/* An id is a string or an integral number that survives a double round trip. */
static bool valid_id(const cJSON *id)
{
    if (cJSON_IsString(id))
        return true;
    if (cJSON_IsNumber(id))
        return isfinite(id->valuedouble) && floor(id->valuedouble) == id->valuedouble;
    return false;
}

int jsonrpc_parse(const char *text, size_t len, struct jsonrpc_msg *msg, char **why)
{
    const cJSON *ver, *id, *method, *params;
    size_t errpos = 0;

    memset(msg, 0, sizeof(*msg));
    msg->root = json_parse(text, len, &errpos);
    if (msg->root == NULL) {
        *why = xasprintf("Parse error: invalid JSON at byte %zu", errpos);
        return JSONRPC_PARSE_ERROR;
    }
    if (cJSON_IsArray(msg->root)) {
        *why = xstrdup("Invalid Request: JSON-RPC batches are not supported by MCP; send one "
                       "message per line");
        return JSONRPC_INVALID_REQUEST;
    }
    if (!cJSON_IsObject(msg->root)) {
        *why = xstrdup("Invalid Request: a message must be a JSON object");
        return JSONRPC_INVALID_REQUEST;
    }
    id = json_get(msg->root, "id");
    if (id != NULL && valid_id(id))
        msg->id = id;
    ver = json_get(msg->root, "jsonrpc");
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0) {
        *why = xstrdup("Invalid Request: \"jsonrpc\" must be \"2.0\"");
        return JSONRPC_INVALID_REQUEST;
    }
    if (id != NULL && !valid_id(id) && !cJSON_IsNull(id)) {
        *why = xstrdup("Invalid Request: \"id\" must be a string or an integer");
        return JSONRPC_INVALID_REQUEST;
    }
    method = json_get(msg->root, "method");
    if (method != NULL) {
        if (!cJSON_IsString(method) || method->valuestring[0] == '\0') {
            *why = xstrdup("Invalid Request: \"method\" must be a non-empty string");
            return JSONRPC_INVALID_REQUEST;
        }
        if (cJSON_IsNull(id)) {
            *why = xstrdup("Invalid Request: MCP request ids must not be null");
            return JSONRPC_INVALID_REQUEST;
        }
        params = json_get(msg->root, "params");
        if (params != NULL && !cJSON_IsObject(params) && !cJSON_IsArray(params)) {
            *why = xstrdup("Invalid Request: \"params\" must be an object");
            return JSONRPC_INVALID_REQUEST;
        }
        msg->method = method->valuestring;
        msg->params = params;
        msg->kind = id != NULL ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
        return 0;
    }
    msg->result = json_get(msg->root, "result");
    msg->error = json_get(msg->root, "error");
    if (msg->result != NULL && msg->error == NULL && msg->id != NULL) {
        msg->kind = JSONRPC_RESPONSE;
        return 0;
    }
    if (cJSON_IsObject(msg->error) && msg->result == NULL && id != NULL) {
        msg->kind = JSONRPC_ERROR;
        return 0;
    }
    *why = xstrdup("Invalid Request: a message needs \"method\", or \"id\" with exactly one of "
                   "\"result\" and \"error\"");
    return JSONRPC_INVALID_REQUEST;
}

static cJSON *id_copy(const cJSON *id)
{
    return id != NULL ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();
}

cJSON *jsonrpc_result_take(const cJSON *id, cJSON *result)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddItemToObject(m, "id", id_copy(id));
    cJSON_AddItemToObject(m, "result", result != NULL ? result : cJSON_CreateObject());
    return m;
}

cJSON *jsonrpc_error_new(const cJSON *id, int code, const char *message)
{
    cJSON *m = cJSON_CreateObject();
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddItemToObject(m, "id", id_copy(id));
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToObject(m, "error", e);
    return m;
}

cJSON *jsonrpc_request_take(const cJSON *id, const char *method, cJSON *params)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddItemToObject(m, "id", id_copy(id));
    cJSON_AddStringToObject(m, "method", method);
    if (params != NULL)
        cJSON_AddItemToObject(m, "params", params);
    return m;
}

cJSON *jsonrpc_notification_take(const char *method, cJSON *params)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddStringToObject(m, "method", method);
    if (params != NULL)
        cJSON_AddItemToObject(m, "params", params);
    return m;
}

char *jsonrpc_id_key(const cJSON *id)
{
    return id != NULL ? json_print(id) : xstrdup("null");
}

struct jsonrpc_framer *jsonrpc_framer_new(size_t max)
{
    struct jsonrpc_framer *fr = xcalloc(1, sizeof(*fr));

    fr->max = max;
    return fr;
}

void jsonrpc_framer_free(struct jsonrpc_framer *fr)
{
    if (fr == NULL)
        return;
    free(fr->buf);
    free(fr);
}

size_t jsonrpc_framer_pending(const struct jsonrpc_framer *fr)
{
    return fr->len;
}

/* Appends n bytes to the unfinished line, growing geometrically but never past max. */
static void append(struct jsonrpc_framer *fr, const char *data, size_t n)
{
    if (fr->len + n > fr->cap) {
        size_t cap = fr->cap ? fr->cap : 4096;

        while (cap < fr->len + n)
            cap *= 2;
        if (cap > fr->max)
            cap = fr->max;
        fr->buf = xrealloc(fr->buf, cap);
        fr->cap = cap;
    }
    memcpy(fr->buf + fr->len, data, n);
    fr->len += n;
}

static void emit(const char *line, size_t len, jsonrpc_line_cb cb, void *ud)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > 0)
        cb(ud, line, len, false);
}

void jsonrpc_framer_feed(struct jsonrpc_framer *fr, const char *data, size_t len,
                         jsonrpc_line_cb cb, void *ud)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t chunk = nl != NULL ? (size_t)(nl - data) : len;

        /* Bytes before the newline count against max, a trailing CR too; emit() drops that CR
         * whether the line came in one read or several (the CR may arrive with either). */
        if (fr->discarding) {
            /* Still inside an oversized line: drop bytes until its newline. */
        } else if (fr->len + chunk > fr->max) {
            fr->len = 0;
            fr->discarding = true;
            cb(ud, NULL, 0, true);
        } else if (nl != NULL && fr->len == 0) {
            /* The common case: a whole line inside this read, no copy needed. */
            emit(data, chunk, cb, ud);
        } else {
            append(fr, data, chunk);
            if (nl != NULL) {
                emit(fr->buf, fr->len, cb, ud);
                fr->len = 0;
                /* A message that spanned reads (a tools/list page) should not pin its buffer
                 * for the life of an idle connection: fifty servers would keep megabytes. */
                if (fr->cap > JSONRPC_FRAMER_KEEP) {
                    free(fr->buf);
                    fr->buf = NULL;
                    fr->cap = 0;
                }
            }
        }
        if (nl == NULL)
            return;
        fr->discarding = false;
        data = nl + 1;
        len -= chunk + 1;
    }
}
