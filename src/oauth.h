/*
 * oauth.h - the OAuth 2.1 client flow for remote MCP servers (issue 4; docs/oauth-design.md).
 *
 * Owns, per remote server without configured `headers`: the tokens in use (loaded from the
 * token store, or copied once from mcp-remote's files), proactive and reactive refresh, and the
 * authorization flow: Protected Resource and Authorization Server discovery, client identity
 * (pre-registered, Client ID Metadata Document, or Dynamic Client Registration persisted per
 * issuer and redone on invalid_client), the PKCE authorization request through the loopback
 * callback and the browser, the code exchange, step-up on 403 insufficient_scope, and the
 * client_credentials grant. The pure decisions live in oauthmeta.c, wwwauth.c, pkce.c and
 * tokenstore.c; this module does the HTTP and keeps the state.
 *
 * DESIGN. One struct oauth per process, shared by every upstream. Transports ask it for the
 * Authorization header of each request (oauth_header) and report the WWW-Authenticate of a 401
 * or 403 (oauth_challenge). When a request is refused, the upstream calls oauth_denied() on the
 * same thread: it refreshes (single flight: an in-process mutex per server, then the token
 * store's cross-process lock, then a reload in case another process refreshed meanwhile) and
 * asks for a replay, or starts the authorization flow on a thread of its own and waits a short
 * while for it (a browser that follows the redirect at once finishes in that time). A flow
 * still waiting for the user leaves the request with ERR_NEEDS_AUTH and a message giving the
 * URL; when the flow completes, the next request uses the new tokens. At most one flow runs per
 * server. The lock `mu` guards the server table and every field of it; nobody holds it during
 * network I/O (only the first read of a server's token file happens under it).
 *
 * Secrets: no token, code, verifier or client secret is ever formatted into a log line, *why or
 * a message; headers carrying them are built here and wiped after use.
 *
 * Threads: every function from any thread; oauth_free() once no other thread uses the object.
 */
#ifndef MCPZIP_OAUTH_H
#define MCPZIP_OAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cancel.h"
#include "config.h"
#include "http.h"
#include "oauth_config.h"

struct oauth;

/* Creates the process's OAuth state. lib (borrowed, outlives it) does the HTTP; dir is the
 * token directory (NULL: tokenstore's default). Nothing happens until a server needs it. */
struct oauth *oauth_new(struct http_lib *lib, const char *dir);
/* Ends flows in progress (their listeners close) and waits that end in oauth_denied() at once;
 * no new flow starts. For shutdown. NULL-safe. */
void oauth_stop(struct oauth *oa);
/* oauth_stop(), then frees once every flow thread is gone. NULL-safe. */
void oauth_free(struct oauth *oa);

/* Lets oauth_denied() start sign-ins that need a browser (off after oauth_new: commands other
 * than `serve` tell the user to run `mcpzip auth login` instead of opening a browser they would
 * exit before the user finished with). Refresh and the client_credentials grant always run. */
void oauth_set_interactive(struct oauth *oa, bool on);

/* Returns whether OAuth applies to srv: an http or sse server without configured headers. */
bool oauth_applies(const struct config_server *srv);

/*
 * The header to send with the next request to srv: "Authorization: Bearer <token>" (newly
 * allocated; the caller wipes it with oauth_header_free) or NULL when there is no token. Loads
 * stored tokens on first use and refreshes ones about to expire.
 */
char *oauth_header(struct oauth *oa, const struct config_server *srv);
void oauth_header_free(char *h);

/*
 * Records the WWW-Authenticate lines (n of them) of a 401 or 403 answer from srv. Returns true
 * when the answer asks for authorization: any 401, or a 403 whose Bearer challenge says
 * insufficient_scope (step-up). Other 403s are ordinary errors.
 */
bool oauth_challenge(struct oauth *oa, const struct config_server *srv, long status,
                     const char *const *lines, size_t n);

/* The WWW-Authenticate lines of one response, collected by a transport's header callback
 * (at most 8 lines, WWWAUTH_MAX_BYTES in all; more is dropped). Zero-initialize. */
struct oauth_capture {
    char *lines[8];
    size_t n;
    size_t bytes;
};

/* Keeps value when name is WWW-Authenticate (any case). */
void oauth_capture_header(struct oauth_capture *c, const char *name, const char *value);
/* oauth_challenge() with the captured lines. */
bool oauth_capture_done(struct oauth *oa, const struct config_server *srv, long status,
                        const struct oauth_capture *c);
void oauth_capture_clear(struct oauth_capture *c);

/* What one request has tried so far; zero it before the request. */
struct oauth_try {
    int authorizations; /* flows completed for this request (at most 3) */
    int refreshes;
};

/*
 * The request to srv was refused (ERR_NEEDS_AUTH after oauth_challenge). Refreshes, or runs
 * (or joins) the authorization flow and waits for it until deadline_ms or a few seconds. Returns
 * 0 when the request should be sent again with the new tokens; ERR_NEEDS_AUTH with *why (the
 * sign-in URL while a flow waits for the user, or why it failed); ERR_IO with *why when
 * authorizing again cannot help (step-up refused, loop breaker).
 */
int oauth_denied(struct oauth *oa, const struct config_server *srv, struct oauth_try *tr,
                 int64_t deadline_ms, struct cancel *cancel, char **why);

/* Returns whether a flow for srv is waiting for the user, with *why saying so and giving the
 * URL. */
bool oauth_pending(struct oauth *oa, const struct config_server *srv, char **why);

/*
 * Runs a complete sign-in for srv in the foreground (`mcpzip auth login`): discovery, client
 * identity, the browser, and — when paste_fd >= 0 — the final redirect URL pasted on it as an
 * alternative to the loopback callback. Returns 0 when tokens were stored, else an err.h code
 * with *why.
 */
int oauth_login(struct oauth *oa, const struct config_server *srv, int paste_fd, char **why);

#endif
