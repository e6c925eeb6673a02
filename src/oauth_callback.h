/*
 * oauth_callback.h - the end of an OAuth authorization request that faces the browser: the
 * parser for the authorization response (the callback's query, or the whole redirect URL a user
 * pastes on a headless machine), the loopback listener that receives it, and the browser
 * launcher.
 *
 * The listener is libmicrohttpd, loaded with dlopen("libmicrohttpd.so.12") the first time a
 * listener starts (linking it would cost every start of mcpzip, as for libcurl in http.c). It
 * binds 127.0.0.1 only, serves GET /oauth/callback, and answers the browser with a short page
 * saying success or the exact error; everything else gets 404. A response whose `state` does not
 * match the flow's is answered with an error page and ignored: the flow keeps waiting (RFC 6749
 * §10.12). The flow's own check (the `iss` of RFC 9207) runs before the browser is answered.
 *
 * Bounds: a callback URL or pasted line over OAUTH_CALLBACK_MAX bytes is refused; at most
 * OAUTH_CALLBACK_MAX_PARAMS parameters are read; a repeated code/state/iss/error parameter is
 * refused (ambiguous). The listener accepts at most 8 connections at once, each for 10 s.
 *
 * Secrets: the code and state never appear in *why or in the page; error and error_description
 * (which the authorization server chose to show the user) do, HTML-escaped and truncated.
 *
 * Threads: the parser is pure (any thread). A listener is started, waited on and stopped by one
 * thread; its requests are served on libmicrohttpd's thread. The check callback runs there.
 */
#ifndef MCPZIP_OAUTH_CALLBACK_H
#define MCPZIP_OAUTH_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>

#define OAUTH_CALLBACK_MAX 8192
#define OAUTH_CALLBACK_MAX_PARAMS 32
#define OAUTH_CALLBACK_PATH "/oauth/callback"

/* What an authorization response carries (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207). Each string
 * newly allocated (percent-decoded) or NULL when absent. */
struct oauth_callback_params {
    char *code;
    char *state;
    char *iss;
    char *error;
    char *error_description;
};

/*
 * Parses an authorization response: a bare query ("code=...&state=..."), a path with a query
 * ("/oauth/callback?code=..."), or a whole URL ("http://127.0.0.1:1234/oauth/callback?..."),
 * leading and trailing white space ignored; a fragment is dropped. '+' decodes to a space.
 * Returns 0 with *out (clear it with oauth_callback_params_clear), or ERR_PARSE / ERR_TOO_BIG
 * with *why: no query, bad percent-encoding, a repeated parameter, neither code nor error.
 */
int oauth_callback_parse(const char *text, size_t len, struct oauth_callback_params *out,
                         char **why);

/* Wipes (code, state) and frees the strings of p and zeroes it. NULL-safe. */
void oauth_callback_params_clear(struct oauth_callback_params *p);

/*
 * The flow's check of a response whose state matched (e.g. the `iss` parameter): returns 0 to
 * accept it, or nonzero with *why (newly allocated; shown to the user) to reject it: the flow
 * then ends with that error. Runs on the listener's thread.
 */
typedef int (*oauth_callback_check_cb)(void *ud, const struct oauth_callback_params *p, char **why);

struct oauth_listener;

/*
 * Starts a listener on 127.0.0.1:port (0 = any free port) that accepts the response for the
 * flow whose state is `state` (copied). *bound gets the port. Returns 0, or ERR_IO with *why
 * (libmicrohttpd missing, or the port taken: then try another).
 */
int oauth_listener_start(int port, const char *state, oauth_callback_check_cb check, void *ud,
                         struct oauth_listener **out, int *bound, char **why);

/*
 * Waits until the listener received an accepted response, timeout_ms passed, *stop became
 * nonzero (checked every 100 ms), or — when paste_fd >= 0 — a line read from paste_fd parses
 * as a redirect URL carrying the flow's state (for headless machines: the user copies the URL
 * the browser could not open). Returns 0 with *out (an `error` response is returned as such:
 * the caller reports it), ERR_TIMEOUT, ERR_CANCELLED, or ERR_INVALID (the check refused it)
 * with *why.
 */
int oauth_listener_wait(struct oauth_listener *l, int timeout_ms, int *stop, int paste_fd,
                        struct oauth_callback_params *out, char **why);

/* Stops the listener and frees it. NULL-safe. */
void oauth_listener_stop(struct oauth_listener *l);

/*
 * Prints url to stderr with a line saying what it is for (always), then opens it with $BROWSER
 * if set, else xdg-open (open on macOS), without a shell and without waiting for the browser.
 * Returns whether a launcher was started.
 */
bool oauth_browser_open(const char *server_name, const char *url);

#endif
