/*
 * sse.c - incremental Server-Sent Events parser; see sse.h.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmem.h"

#define SSE_LINE_MAX 4096 /* for field names and non-data fields; data is bounded by max */

struct sse_parser {
    size_t max;         /* largest event data accepted */
    struct buf line;    /* the unfinished line */
    struct buf data;    /* the event's data so far */
    struct buf type;    /* the event's type, empty = "message" */
    char *last_id;      /* the stream's last event id */
    long retry;         /* ms, -1 = none */
    bool has_data;      /* a data field was seen in this event */
    bool skip_cr_lf;    /* the previous chunk ended in CR: drop a leading LF */
    bool started;       /* past the optional BOM */
    size_t bom_seen;    /* BOM bytes matched so far */
    bool line_too_big;  /* the current line overflowed: ignore it */
    bool event_too_big; /* the current event overflowed: report once, drop it */
};

struct sse_parser *sse_parser_new(size_t max_event)
{
    struct sse_parser *p = xcalloc(1, sizeof(*p));

    p->max = max_event;
    p->retry = -1;
    p->last_id = xstrdup("");
    return p;
}

void sse_parser_free(struct sse_parser *p)
{
    if (p == NULL)
        return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->type);
    free(p->last_id);
    free(p);
}

const char *sse_parser_last_id(const struct sse_parser *p)
{
    return p->last_id;
}

long sse_parser_retry(const struct sse_parser *p)
{
    return p->retry;
}

static void reset_event(struct sse_parser *p)
{
    p->data.len = 0;
    if (p->data.s != NULL)
        p->data.s[0] = '\0';
    p->type.len = 0;
    if (p->type.s != NULL)
        p->type.s[0] = '\0';
    p->has_data = false;
    p->event_too_big = false;
}

static void dispatch(struct sse_parser *p, sse_event_cb cb, void *ud)
{
    struct sse_event ev = {0};

    if (p->event_too_big) {
        ev.type = p->type.len ? p->type.s : "message";
        ev.data = "";
        ev.id = p->last_id;
        ev.too_big = true;
        cb(ud, &ev);
    } else if (p->has_data && p->data.len > 0) {
        ev.type = p->type.len ? p->type.s : "message";
        ev.data = p->data.s != NULL ? p->data.s : "";
        ev.len = p->data.len;
        ev.id = p->last_id;
        cb(ud, &ev);
    }
    /* An event with an id but empty data updates last_id only (a "priming" event). */
    reset_event(p);
}

/* Handles one complete line (without its terminator). */
static void process_line(struct sse_parser *p, const char *line, size_t len, sse_event_cb cb,
                         void *ud)
{
    const char *colon, *value;
    size_t nlen, vlen;

    if (len == 0) {
        dispatch(p, cb, ud);
        return;
    }
    if (line[0] == ':')
        return;
    colon = memchr(line, ':', len);
    nlen = colon != NULL ? (size_t)(colon - line) : len;
    value = colon != NULL ? colon + 1 : line + len;
    vlen = colon != NULL ? len - nlen - 1 : 0;
    if (vlen > 0 && value[0] == ' ') {
        value++;
        vlen--;
    }
    if (nlen == 4 && memcmp(line, "data", 4) == 0) {
        if (p->event_too_big)
            return;
        if (p->data.len + vlen + 1 > p->max) {
            p->event_too_big = true;
            p->data.len = 0;
            return;
        }
        if (p->has_data)
            buf_append(&p->data, "\n", 1);
        buf_append(&p->data, value, vlen);
        p->has_data = true;
    } else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
        p->type.len = 0;
        buf_append(&p->type, value, vlen > 256 ? 256 : vlen);
    } else if (nlen == 2 && memcmp(line, "id", 2) == 0) {
        if (memchr(value, '\0', vlen) == NULL && vlen <= 1024) {
            free(p->last_id);
            p->last_id = xstrndup(value, vlen);
        }
    } else if (nlen == 5 && memcmp(line, "retry", 5) == 0) {
        long ms = 0;
        size_t i;

        for (i = 0; i < vlen && value[i] >= '0' && value[i] <= '9' && ms < 100000000; i++)
            ms = ms * 10 + (value[i] - '0');
        if (vlen > 0 && i == vlen)
            p->retry = ms;
    }
    /* Other fields are ignored, as the specification requires. */
}

/* The line machine: splits bytes into lines and processes each. */
static void scan(struct sse_parser *p, const char *data, size_t len, sse_event_cb cb, void *ud)
{
    size_t i = 0, j;

    while (i < len) {
        char c = data[i];

        if (p->skip_cr_lf) {
            p->skip_cr_lf = false;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\r' || c == '\n') {
            if (!p->line_too_big)
                process_line(p, p->line.s != NULL ? p->line.s : "", p->line.len, cb, ud);
            p->line.len = 0;
            p->line_too_big = false;
            p->skip_cr_lf = c == '\r';
            i++;
            continue;
        }
        /* Copy the run of ordinary bytes at once. */
        for (j = i; j < len && data[j] != '\r' && data[j] != '\n'; j++)
            ;
        if (!p->line_too_big) {
            if (p->line.len + (j - i) > p->max + SSE_LINE_MAX) {
                /* A line this long can only be data: the event is too big. */
                p->line_too_big = true;
                p->line.len = 0;
                p->event_too_big = true;
                p->data.len = 0;
            } else {
                buf_append(&p->line, data + i, j - i);
            }
        }
        i = j;
    }
}

void sse_parser_feed(struct sse_parser *p, const char *data, size_t len, sse_event_cb cb, void *ud)
{
    static const char bom[] = "\xEF\xBB\xBF";

    /* The stream may start with a UTF-8 BOM, which belongs to no field. */
    while (!p->started && len > 0) {
        if ((unsigned char)data[0] == (unsigned char)bom[p->bom_seen]) {
            data++;
            len--;
            if (++p->bom_seen == 3)
                p->started = true;
        } else {
            /* Not a BOM after all: what matched so far is ordinary text. */
            p->started = true;
            scan(p, bom, p->bom_seen, cb, ud);
        }
    }
    scan(p, data, len, cb, ud);
}
