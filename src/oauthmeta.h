/*
 * oauthmeta.h - the pure decisions of MCP OAuth discovery (reference/oauth.md §1 B, C, D, H, I,
 * J): which metadata URLs to fetch and in which order, whether a fetched document may be used,
 * what to fall back to, which scopes to ask for, how to authenticate at the token endpoint, and
 * how to spell the requests.
 *
 * The flow (a later module) does the HTTP: it asks this module for an ordered URL list, GETs
 * each in turn with `Accept: application/json` and a body bound of OAUTHMETA_MAX_DOC, and hands
 * the first 200 body to a *_parse function, which validates it against what the flow was
 * looking for and copies out what the flow needs. Nothing here does I/O, so every rule is
 * unit-tested with exact strings.
 *
 * URLs: only absolute http and https URLs are accepted, at most OAUTHMETA_MAX_URL bytes, without
 * white space or control characters. Scheme and host are compared and rebuilt in lowercase,
 * the default port (443, 80) is dropped and any other port is kept, user information is
 * refused, fragments are dropped from what is built. "Loopback" means the hosts localhost,
 * 127.0.0.1 and [::1]: the only hosts for which plain http is allowed for authorization server
 * endpoints (S25 §Communication Security).
 *
 * Bounds: documents over OAUTHMETA_MAX_DOC bytes are refused; of each array only the first
 * OAUTHMETA_MAX_LIST elements are read; scope lists keep at most OAUTHMETA_MAX_SCOPES scopes.
 *
 * Errors: ERR_INVALID (a rule is broken: wrong resource, wrong issuer, no PKCE, plain http...),
 * ERR_PARSE (not JSON, wrong types) or ERR_TOO_BIG, with *why naming the rule. Messages quote
 * URLs and field names from metadata, never tokens, codes, verifiers or secrets. Warnings (a
 * rule relaxed on purpose) go to *warning, newly allocated, or stay NULL.
 *
 * Pure code, no shared state; any thread. Structs are plain values owned by the caller, who
 * releases them with the matching *_clear(); strings in them are newly allocated.
 */
#ifndef MCPZIP_OAUTHMETA_H
#define MCPZIP_OAUTHMETA_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

#define OAUTHMETA_MAX_DOC 65536
#define OAUTHMETA_MAX_URL 2048
#define OAUTHMETA_MAX_LIST 64
#define OAUTHMETA_MAX_SCOPES 64
#define OAUTHMETA_MAX_AS 8
#define OAUTHMETA_MAX_URLS 3

/* An ordered list of URLs to try, first to last. */
struct oauthmeta_urls {
    size_t n;
    char *url[OAUTHMETA_MAX_URLS];
};

void oauthmeta_urls_clear(struct oauthmeta_urls *u);

/*
 * The Protected Resource Metadata URLs for the MCP server at server_url (RFC 9728 §3.1, S25
 * §Protected Resource Metadata Discovery Requirements). When the 401 carried a
 * resource_metadata URL (header_url non-NULL), that URL only: requesting anything else then is
 * a conformance failure. Otherwise the path-inserted form
 * `<origin>/.well-known/oauth-protected-resource<path>[?query]` (one trailing '/' of the path
 * dropped) and then the root form `<origin>/.well-known/oauth-protected-resource`; only the root
 * form when the server URL has neither path nor query. The flow moves to the next URL on a 4xx
 * or a network error. A header URL must be http(s) and may not downgrade an https server to
 * plain http on a non-loopback host. Returns 0, or ERR_INVALID with *why.
 */
int oauthmeta_prm_urls(const char *server_url, const char *header_url, struct oauthmeta_urls *out,
                       char **why);

/*
 * The Authorization Server metadata URLs for issuer (S25 §Authorization Server Metadata
 * Discovery). For an issuer with a path (one trailing '/' dropped): RFC 8414 path-inserted,
 * OpenID Connect path-inserted, OpenID Connect path-appended. For an issuer without a path: the
 * RFC 8414 and OpenID Connect root forms. Never the root form for a path issuer. The issuer
 * must be https (or http on loopback) without query or fragment. The flow moves to the next URL
 * on a 4xx and stops on a 5xx. Returns 0, or ERR_INVALID with *why.
 */
int oauthmeta_as_urls(const char *issuer, struct oauthmeta_urls *out, char **why);

/* A validated Protected Resource Metadata document (RFC 9728 §2). */
struct oauthmeta_prm {
    char *resource;                                /* as the document says it */
    char *authorization_servers[OAUTHMETA_MAX_AS]; /* usable issuers, document order */
    size_t nas;                                    /* ≥ 1 after a successful parse */
    char *scopes_supported;                        /* space-joined; NULL when absent or empty */
};

/*
 * Parses the PRM document doc[0..len) fetched for the MCP server at server_url and checks it
 * (S25 §Authorization Server Location; oauth.md §1 item 7): `resource` must name this server —
 * same scheme, host and port, and its path a prefix of the server URL's path on a segment
 * boundary (a root PRM `https://host` serves `https://host/mcp`; `https://host/mc` does not),
 * with no fragment, and a query only when equal to the server URL's — and
 * `authorization_servers` must hold at least one https (or loopback http) issuer; unusable
 * entries are skipped. On a mismatch the flow must stop before any authorization request.
 * Returns 0, ERR_PARSE, ERR_INVALID or ERR_TOO_BIG with *why; on error *out is left empty.
 */
int oauthmeta_prm_parse(const char *doc, size_t len, const char *server_url,
                        struct oauthmeta_prm *out, char **why);
void oauthmeta_prm_clear(struct oauthmeta_prm *p);

/* Token endpoint client authentication methods (bits for what the metadata lists). */
enum oauthmeta_auth_method {
    OAUTHMETA_AUTH_NONE = 1,  /* client_id in the body only (public client) */
    OAUTHMETA_AUTH_BASIC = 2, /* client_secret_basic: HTTP Basic, see oauthmeta_basic_auth */
    OAUTHMETA_AUTH_POST = 4,  /* client_secret_post: client_id + client_secret in the body */
    OAUTHMETA_AUTH_JWT = 8,   /* private_key_jwt (listed only; not chosen here) */
};

/* Grant types (bits for what the metadata lists). */
enum oauthmeta_grant {
    OAUTHMETA_GRANT_CODE = 1,    /* authorization_code */
    OAUTHMETA_GRANT_REFRESH = 2, /* refresh_token */
    OAUTHMETA_GRANT_CLIENT = 4,  /* client_credentials */
};

/* What the flow needs from Authorization Server metadata (RFC 8414 §2), validated. */
struct oauthmeta_as {
    char *issuer;                 /* the document's issuer (== the expected one unless lax) */
    char *authorization_endpoint; /* https or loopback http */
    char *token_endpoint;         /* https or loopback http */
    char *registration_endpoint;  /* NULL when Dynamic Client Registration is not offered */
    char *revocation_endpoint;    /* NULL when absent */
    char *scopes_supported;       /* space-joined; NULL when absent */
    unsigned auth_methods;        /* OAUTHMETA_AUTH_* listed; 0 when the list is absent */
    unsigned grant_types;         /* OAUTHMETA_GRANT_* listed; 0 when the list is absent */
    bool pkce_listed;             /* code_challenge_methods_supported was present */
    bool pkce_s256;               /* it lists S256 (or PKCE is assumed: fallback, tolerated) */
    bool cimd_supported;          /* client_id_metadata_document_supported: true */
    bool iss_supported;           /* authorization_response_iss_parameter_supported: true */
    bool fallback;                /* built by oauthmeta_as_fallback, not read from a document */
};

/* Flags for oauthmeta_as_parse. */
enum {
    /* 2025-03-26 mode (no PRM): an issuer mismatch is a warning, not an error (oauth.md §1
     * item 11: the conformance suite v0.1.16 serves a mismatching issuer there). */
    OAUTHMETA_LAX_ISSUER = 1,
    /* Per-server option: a document without code_challenge_methods_supported is accepted with
     * a warning (Entra ID and Cognito omit it, oauth.md §1 item 14). A list without S256 is
     * always refused. */
    OAUTHMETA_TOLERATE_NO_PKCE_LIST = 2,
};

/*
 * Parses the AS metadata document doc[0..len) fetched from one of oauthmeta_as_urls(issuer)
 * and checks it: `issuer` identical to issuer (RFC 8414 §3.3; a difference of one trailing '/'
 * only is accepted with a warning; any other difference is ERR_INVALID unless
 * OAUTHMETA_LAX_ISSUER); authorization and token endpoints present, absolute and https or
 * loopback http, as is a registration endpoint when present; `response_types_supported`, when
 * present, contains "code"; PKCE S256 advertised (see the flag). Returns 0 (with *warning when
 * something was relaxed), ERR_PARSE, ERR_INVALID or ERR_TOO_BIG with *why.
 */
int oauthmeta_as_parse(const char *doc, size_t len, const char *issuer, unsigned flags,
                       struct oauthmeta_as *out, char **warning, char **why);

/*
 * The 2025-03-26 defaults for a server without any metadata (S03 §Fallbacks for Servers without
 * Metadata Discovery): issuer = the server URL's origin, endpoints `<origin>/authorize`,
 * `<origin>/token`, `<origin>/register`; PKCE S256 is used regardless. Use only after PRM
 * discovery found nothing and the AS URLs of the origin all failed. Returns 0 or ERR_INVALID.
 */
int oauthmeta_as_fallback(const char *server_url, struct oauthmeta_as *out, char **why);
void oauthmeta_as_clear(struct oauthmeta_as *as);

/*
 * The authorization server to use in 2025-03-26 mode (no PRM): the origin of server_url,
 * newly allocated, or NULL when server_url is not a usable http(s) URL.
 */
char *oauthmeta_origin(const char *server_url);

/*
 * The `resource` value (RFC 8707) for authorization and token requests: the PRM's `resource`
 * when there is a PRM, else the canonical form of server_url (lowercase scheme and host, no
 * default port, no fragment, no trailing '/'). Newly allocated; NULL when server_url is unusable.
 */
char *oauthmeta_resource(const char *server_url, const struct oauthmeta_prm *prm);

/* Returns whether host (as in a URL, IPv6 in brackets) is localhost, 127.0.0.1 or [::1]. */
bool oauthmeta_is_loopback_host(const char *host);

/* Returns whether url is https, or http on a loopback host. */
bool oauthmeta_url_is_secure(const char *url);

/*
 * The scope to request (S25 §Scope Selection Strategy, oauth.md §1 items 26-27), newly
 * allocated, or NULL to omit the parameter: the challenge's scope when the 401/403 carried one
 * (authoritative), else the PRM's scopes_supported, else nothing. A per-server configured scope
 * list (`oauth.scopes`), when given, replaces the PRM fallback and is joined with a challenged
 * scope. `offline_access` is added only when offline_ok (the client can use refresh tokens) and
 * the AS lists it in its own scopes_supported. Any argument may be NULL. Invalid scope tokens
 * are dropped, duplicates removed, order kept, at most OAUTHMETA_MAX_SCOPES.
 */
char *oauthmeta_scope_select(const char *configured, const char *challenge,
                             const struct oauthmeta_prm *prm, const struct oauthmeta_as *as,
                             bool offline_ok);

/* The union of two scope lists for step-up (oauth.md §1 item 34: what was requested or granted
 * before plus what the 403 asks for), order kept, newly allocated; NULL when both are empty. */
char *oauthmeta_scope_union(const char *a, const char *b);

/* Returns whether every scope in wanted is in granted (so a step-up would not help). An empty
 * wanted is covered by anything. */
bool oauthmeta_scope_covers(const char *granted, const char *wanted);

/* How the client was identified (oauth.md §1 item 15). */
enum oauthmeta_client_kind {
    OAUTHMETA_CLIENT_PREREGISTERED, /* oauth.client_id (+ client_secret) from the config */
    OAUTHMETA_CLIENT_CIMD,          /* the client_id is a metadata document URL; no secret */
    OAUTHMETA_CLIENT_DCR,           /* registered dynamically (RFC 7591) */
};

/*
 * Chooses the token endpoint authentication method (oauth.md §1 item 29). A client without a
 * secret (and every CIMD client) uses none. With a secret: the method the registration
 * response named (registered, may be NULL) when the AS lists it or lists nothing; else, when
 * the AS lists nothing, client_secret_basic (the RFC 8414 §2 default); else client_secret_basic,
 * client_secret_post, none, in that order of preference among those listed; else basic.
 */
enum oauthmeta_auth_method oauthmeta_auth_method(const struct oauthmeta_as *as,
                                                 enum oauthmeta_client_kind kind, bool have_secret,
                                                 const char *registered);

/* The RFC 8414 name of m ("none", "client_secret_basic", ...). Static; never NULL. */
const char *oauthmeta_auth_method_name(enum oauthmeta_auth_method m);

/*
 * Checks the `iss` of an authorization response (RFC 9207; oauth.md §1 item 24): when present
 * it must equal as->issuer exactly; when absent it is an error only if the AS advertised
 * authorization_response_iss_parameter_supported. Returns 0 or ERR_INVALID with *why. When
 * this fails the flow must not act on any other parameter of the response, error ones included.
 */
int oauthmeta_check_iss(const struct oauthmeta_as *as, const char *iss, char **why);

/* Appends "&name=value" ("name=value" when b is empty) with both percent-encoded: everything
 * but RFC 3986 unreserved characters becomes %XX, which suits query strings and
 * application/x-www-form-urlencoded bodies alike. A NULL value appends nothing. */
void oauthmeta_form_add(struct buf *b, const char *name, const char *value);

/*
 * The authorization request URL (oauth.md §1 item 22): as->authorization_endpoint with
 * response_type=code, client_id, redirect_uri, code_challenge, code_challenge_method=S256,
 * state, scope (omitted when NULL or empty), resource (omitted when NULL) and prompt=consent
 * when the scope contains offline_access. Newly allocated. Contains no secret: the challenge
 * and state are meant to travel in it.
 */
char *oauthmeta_authorize_url(const struct oauthmeta_as *as, const char *client_id,
                              const char *redirect_uri, const char *code_challenge,
                              const char *state, const char *scope, const char *resource);

/* The value of an `Authorization` header for client_secret_basic: "Basic " +
 * base64(urlencode(client_id) ":" urlencode(secret)) (RFC 6749 §2.3.1). Newly allocated; it
 * holds the secret: the caller wipes and frees it, and never logs it. */
char *oauthmeta_basic_auth(const char *client_id, const char *client_secret);

/*
 * The Dynamic Client Registration request body (RFC 7591; oauth.md §1 item 18) as compact
 * JSON, newly allocated: redirect_uris [redirect_uri], grant_types [authorization_code,
 * refresh_token], response_types [code], application_type "native", client_name, scope when
 * non-NULL and non-empty, and token_endpoint_auth_method: "none" (a public client) unless the
 * AS (may be NULL) lists methods without "none", then the first it lists of
 * client_secret_basic and client_secret_post.
 */
char *oauthmeta_registration_request(const struct oauthmeta_as *as, const char *redirect_uri,
                                     const char *client_name, const char *scope);

#endif
