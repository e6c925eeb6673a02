/*
 * wwwauth.h - a parser for the WWW-Authenticate header (RFC 9110 §11.6.1, §11.3).
 *
 * Owns: the challenges of one HTTP response. A response may carry several challenges in one
 * header line ("Bearer realm=\"x\", DPoP algs=\"ES256\"") and several header lines; each line is
 * added with wwwauth_add() and the challenges accumulate in order. A challenge is a scheme
 * (compared case-insensitively) followed by either a token68 or a list of auth-params; parameter
 * names are stored lowercased (they are case-insensitive), values with their quotes and
 * backslash escapes removed. Empty list elements (", ,") are skipped as RFC 9110 §5.6.1 asks.
 *
 * Deliberately lenient in one place: an unquoted parameter value may hold any visible character
 * except ',', '"' and '\\' (RFC 9110 allows only token characters), because servers send
 * `resource_metadata=https://host/path` unquoted and refusing it would leave them unusable.
 *
 * Bounded: at most WWWAUTH_MAX_BYTES over all lines, WWWAUTH_MAX_CHALLENGES challenges and
 * WWWAUTH_MAX_PARAMS parameters per challenge; more is ERR_TOO_BIG. A syntax error in a line is
 * ERR_PARSE: challenges completed earlier (in that line or before) stay available and the
 * broken one is dropped, so a caller may still act on a well-formed Bearer challenge that came
 * before a malformed foreign one. Error messages give byte offsets and never quote the header,
 * which may carry a token68.
 *
 * Pure code, no I/O. One struct wwwauth belongs to one thread at a time. Everything returned is
 * borrowed from the struct wwwauth and lives until wwwauth_free().
 */
#ifndef MCPZIP_WWWAUTH_H
#define MCPZIP_WWWAUTH_H

#include <stdbool.h>
#include <stddef.h>

#define WWWAUTH_MAX_BYTES 16384
#define WWWAUTH_MAX_CHALLENGES 16
#define WWWAUTH_MAX_PARAMS 32

struct wwwauth;

struct wwwauth_param {
    const char *name;  /* lowercased */
    const char *value; /* unquoted and unescaped; may be empty ("") */
};

struct wwwauth_challenge {
    const char *scheme;                 /* as received; compare with strcasecmp */
    const char *token68;                /* the token68 form, or NULL */
    const struct wwwauth_param *params; /* in received order; names are unique */
    size_t nparams;
};

/* The Bearer parameters an OAuth client acts on (RFC 6750 §3, RFC 9728 §5.1), borrowed; each
 * NULL when absent. */
struct wwwauth_bearer {
    const char *resource_metadata; /* URL of the Protected Resource Metadata */
    const char *scope;             /* space-separated scopes the resource wants */
    const char *error;             /* "invalid_token", "insufficient_scope", ... */
    const char *error_description;
    const char *realm;
};

struct wwwauth *wwwauth_new(void);
void wwwauth_free(struct wwwauth *wa);

/* Parses one header line's value (len bytes, no NUL needed) and appends its challenges.
 * Returns 0, ERR_PARSE or ERR_TOO_BIG with *why (see above for what is kept on error). */
int wwwauth_add(struct wwwauth *wa, const char *value, size_t len, char **why);

/* The number of challenges so far, and the i-th (NULL when i is out of range). */
size_t wwwauth_count(const struct wwwauth *wa);
const struct wwwauth_challenge *wwwauth_challenge(const struct wwwauth *wa, size_t i);

/* Returns the first challenge whose scheme equals scheme ignoring case, or NULL. */
const struct wwwauth_challenge *wwwauth_find(const struct wwwauth *wa, const char *scheme);

/* Returns the value of the parameter named name (any case), or NULL. c may be NULL. */
const char *wwwauth_param(const struct wwwauth_challenge *c, const char *name);

/* Fills *out from the first Bearer challenge. Returns false (and *out all NULL) when there is
 * none. */
bool wwwauth_bearer(const struct wwwauth *wa, struct wwwauth_bearer *out);

#endif
