/*
 * sse.h - an incremental parser for Server-Sent Events (the text/event-stream format).
 *
 * Owns: the state of one event stream: the unfinished line, the event being assembled (its
 * type, data lines, id), the last event id and the last retry value. Bytes go in in chunks of
 * any size, split anywhere (inside a CRLF, inside a UTF-8 sequence); each complete event comes
 * out through the callback as soon as its terminating blank line arrives, in order. Lines end with
 * CRLF, LF or CR; a leading BOM is dropped; comments (":") are ignored; "data" lines are joined
 * with "\n"; "id" containing NUL is ignored; "retry" takes digits only — all per the WHATWG HTML
 * specification's event-stream interpretation.
 *
 * Bounded: an event whose data exceeds the limit given at creation is dropped (the callback is
 * told once with too_big set) and parsing resumes at the next event.
 *
 * Pure code, no I/O. One parser belongs to one stream and one thread at a time.
 */
#ifndef MCPZIP_SSE_H
#define MCPZIP_SSE_H

#include <stdbool.h>
#include <stddef.h>

struct sse_parser;

struct sse_event {
    const char *type; /* "message" when the stream named none */
    const char *data; /* NUL-terminated; may be empty */
    size_t len;       /* bytes in data */
    const char *id;   /* the stream's last event id after this event ("" when none) */
    bool too_big;     /* the event exceeded the limit; data is empty */
};

typedef void (*sse_event_cb)(void *ud, const struct sse_event *ev);

struct sse_parser *sse_parser_new(size_t max_event);
void sse_parser_free(struct sse_parser *p);

/* Feeds len bytes; calls cb for every event completed by them. */
void sse_parser_feed(struct sse_parser *p, const char *data, size_t len, sse_event_cb cb, void *ud);

/* The last event id seen ("" when none) and the last retry value in ms (-1 when none). */
const char *sse_parser_last_id(const struct sse_parser *p);
long sse_parser_retry(const struct sse_parser *p);

#endif
