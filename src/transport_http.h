/*
 * transport_http.h - the Streamable HTTP transport (MCP 2025-03-26 and later).
 *
 * Streamable HTTP: every message is a POST; the answer is a JSON body or an SSE stream read as it
 * arrives (server requests and notifications before the response are delivered in order, the
 * response is matched by id), resumed with Last-Event-ID after the server's retry delay when the
 * stream breaks before the response. The session id the server assigns is sent on every later
 * request, and MCP-Protocol-Version once negotiated. A 404 (or a 400 that names the session) for
 * a request that carried a session id means the session expired: send() returns
 * ERR_SESSION_EXPIRED so the session layer re-initializes and sends once more. After the
 * handshake a GET stream receives server-initiated messages (a 405 means the server has none);
 * it reconnects with Last-Event-ID. close() ends the session with DELETE.
 *
 * Configured headers go on every request (they are how API keys are given); a 401 is returned as
 * ERR_NEEDS_AUTH. Threads and lifetime: see transport.h.
 */
#ifndef MCPZIP_TRANSPORT_HTTP_H
#define MCPZIP_TRANSPORT_HTTP_H

#include "config.h"
#include "http.h"
#include "transport.h"

struct oauth;

/* srv, lib and oa are borrowed and must outlive the transport. oa (may be NULL) supplies the
 * Authorization header of every request and hears the WWW-Authenticate of 401 and 403
 * answers, for servers OAuth applies to (oauth_applies). */
struct transport *transport_http_new(const struct config_server *srv, struct http_lib *lib,
                                     struct oauth *oa, size_t max_message);

#endif
