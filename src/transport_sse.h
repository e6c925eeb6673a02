/*
 * transport_sse.h - the legacy HTTP+SSE transport (MCP 2024-11-05).
 *
 * start() opens the GET event stream on its own reader thread and waits (at most 30 s) for the
 * `endpoint` event, whose URL is resolved against the stream's; every message is then POSTed
 * there and every answer, request and notification from the server arrives on the stream, in
 * order. The stream's end is reported once through on_closed, so the session layer
 * re-initializes on next use. Configured headers go on every request; a 401 is ERR_NEEDS_AUTH.
 * Threads and lifetime: see transport.h.
 */
#ifndef MCPZIP_TRANSPORT_SSE_H
#define MCPZIP_TRANSPORT_SSE_H

#include "config.h"
#include "http.h"
#include "transport.h"

struct oauth;

/* srv, lib and oa are borrowed and must outlive the transport; oa (may be NULL) as for
 * transport_http_new(). */
struct transport *transport_sse_new(const struct config_server *srv, struct http_lib *lib,
                                    struct oauth *oa, size_t max_message);

#endif
