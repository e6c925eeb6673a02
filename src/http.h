/*
 * http.h - every HTTP request mcpzip makes, through libcurl loaded on first use.
 *
 * Owns: loading libcurl (dlopen of libcurl.so.4 when the first remote server is used: linking it
 * would cost every start of mcpzip ~12 million instructions and 30 shared libraries of dynamic
 * loading even when all servers are local — README, "Stack changes"), and per-server clients
 * that keep a small pool of easy handles so connections are reused across calls while
 * concurrent calls each get their own.
 *
 * A request streams: response headers and body bytes go to the caller's callbacks as they
 * arrive (Server-Sent Events are parsed by the caller), or the body is collected up to a bound.
 * Requests end at the deadline or when the cancel fires (checked at least every 100 ms), follow
 * at most 5 redirects and never from https to http, honour HTTPS_PROXY/NO_PROXY and use the
 * system CA store.
 *
 * Threads: http_lib_* and http_client_* from any thread; one request per calling thread; the
 * callbacks run on the calling thread. Everything returned is owned by the caller.
 */
#ifndef MCPZIP_HTTP_H
#define MCPZIP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cancel.h"
#include "config.h"

struct http_lib;
struct http_client;

struct http_request {
    const char *method; /* "GET", "POST", "DELETE" */
    const char *url;
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* POST body, or NULL */
    size_t body_len;
    int64_t deadline_ms;   /* monotonic (upstream_now_ms); 0 = none */
    struct cancel *cancel; /* may be NULL */
    int *stop; /* when non-NULL and set (atomically), the request ends (owner's close) */
    /* Called for each response header of the final response. */
    void (*on_header)(void *ud, const char *name, const char *value);
    /* Called with body bytes as they arrive; return false to end the request early (this is
     * not an error). When NULL, the body is collected into the response, up to max_body. */
    bool (*on_data)(void *ud, const char *data, size_t len);
    void *ud;
    size_t max_body;
};

struct http_response {
    long status;        /* HTTP status, 0 when no response arrived */
    char *content_type; /* lowercase media type without parameters, or NULL */
    char *body;         /* collected body (when on_data is NULL), NUL-terminated, or NULL */
    size_t body_len;
    bool stopped; /* on_data ended the request early */
};

/* Creates the loader; nothing is loaded until http_lib_ensure(). */
struct http_lib *http_lib_new(const char *user_agent);
void http_lib_free(struct http_lib *lib);
/* Loads libcurl once. Returns 0, or ERR_IO with *why (libcurl missing, and how to install it). */
int http_lib_ensure(struct http_lib *lib, char **why);

/* A client for one server. lib must be loaded and outlive the client. */
struct http_client *http_client_new(struct http_lib *lib);
void http_client_free(struct http_client *hc);

/*
 * Performs rq. Returns 0 when a response arrived (any status: check rs->status), or
 * ERR_TIMEOUT, ERR_CANCELLED, ERR_CLOSED (stop set) or ERR_IO (connection failed) with *why.
 * The caller frees rs with http_response_clear().
 */
int http_perform(struct http_client *hc, const struct http_request *rq, struct http_response *rs,
                 char **why);
void http_response_clear(struct http_response *rs);

/* Describes a failed HTTP exchange for users: "HTTP 500 from URL: <server's message>", with the
 * message taken from a JSON-RPC or OAuth error body, else the body's text, truncated. */
char *http_status_error(const char *url, long status, const char *body, size_t len);

/* Builds a request's header array: extra ("Name: value" strings, NULL-terminated, may be NULL)
 * then the configured ones. NULL-terminated; free with http_headers_free(). */
char **http_headers(const char *const *extra, const struct config_kv *kv, size_t n);
void http_headers_free(char **headers);

/* Resolves ref against base (RFC 3986). Returns a new URL, or NULL with *why. */
char *http_resolve(struct http_lib *lib, const char *base, const char *ref, char **why);

#endif
