/*
 * tokenstore.h - OAuth tokens and client registrations on disk, the cross-process refresh
 * lock, and the one-time reuse of mcp-remote's tokens.
 *
 * Owns the directory `$XDG_CONFIG_HOME/compressed-mcp-proxy/auth/` (else
 * `~/.config/compressed-mcp-proxy/auth/`, as src/config.c finds the config) and these files in it:
 *   {hash}.json          tokens for one MCP server; {hash} = the first 32 lowercase hex digits of
 *                        SHA-256 over the exact server URL string (the Rust mcpzip's name, so
 *                        its files keep working). Fields: access_token, token_type,
 *                        refresh_token, expires_at (absolute Unix seconds), scope, issuer,
 *                        resource.
 *   client-{hash}.json   the client registration at one authorization server; {hash} as above
 *                        over the issuer. Fields: issuer, client_id, client_secret,
 *                        redirect_uri, token_endpoint_auth_method, client_secret_expires_at.
 *   {hash}.lock          held with flock(2) while a process refreshes or replaces the server's
 *                        tokens, so that a rotating refresh token is used once across every
 *                        mcpzip process (and thread). Lock files are never deleted: unlinking
 *                        a file another process is about to lock would split the lock in two.
 * The directory is kept at 0700 and the files at 0600: every write creates the file with that
 * mode (atomically: temp file, fsync, rename), and a read that finds wider permissions narrows
 * them and says so in *warning. Files owned by another user, symlinks and non-regular files are
 * refused. Reads are bounded by TOKENSTORE_MAX_FILE.
 *
 * mcp-remote: tokenstore_mcpremote_read() computes the one file name mcp-remote would have
 * used for this exact server URL (reference/oauth.md §3) and reads only that file (and its
 * client_info sibling) in each `mcp-remote-*` directory of `~/.mcp-auth` — never any other
 * server's file, so no token is ever sent to a server it was not issued for.
 *
 * Secrets (tokens, client secrets) never appear in *why or *warning; messages name files and
 * fields only. *_clear() wipes secrets before freeing them.
 *
 * Threads: any thread; a struct tokenstore is immutable after tokenstore_new() and may be shared.
 * Files are the shared state: writers replace them atomically and the lock orders refreshes.
 * Structs returned are owned by the caller (free with *_clear); strings are newly allocated.
 */
#ifndef MCPZIP_TOKENSTORE_H
#define MCPZIP_TOKENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKENSTORE_MAX_FILE 65536

struct tokenstore;
struct tokenstore_lock;

/* The tokens for one MCP server. */
struct tokenstore_tokens {
    char *access_token;  /* never empty after a successful load/parse */
    char *token_type;    /* "Bearer" unless the AS said otherwise in another case */
    char *refresh_token; /* NULL when none */
    int64_t expires_at;  /* absolute Unix seconds; 0 = unknown */
    char *scope;         /* the granted scope; NULL when unknown */
    char *issuer;        /* the authorization server that issued them; NULL when unknown */
    char *resource;      /* the RFC 8707 resource they were requested for; NULL when unknown */
};

/* A client registration at one authorization server. */
struct tokenstore_client {
    char *issuer; /* the registration is valid for this issuer only */
    char *client_id;
    char *client_secret;       /* NULL for a public client */
    char *redirect_uri;        /* the redirect URI registered (with its port); NULL unknown */
    char *auth_method;         /* token_endpoint_auth_method the AS answered; NULL unknown */
    int64_t secret_expires_at; /* absolute Unix seconds; 0 = never */
};

/*
 * Creates a store. dir is the auth directory (NULL: the default above, from $XDG_CONFIG_HOME or
 * $HOME); mcp_remote_dir is mcp-remote's base directory (NULL: $MCP_REMOTE_CONFIG_DIR, else
 * ~/.mcp-auth). Creates nothing on disk.
 */
struct tokenstore *tokenstore_new(const char *dir, const char *mcp_remote_dir);
void tokenstore_free(struct tokenstore *ts);

/* The auth directory, borrowed. */
const char *tokenstore_dir(const struct tokenstore *ts);

/* The path of the token file for server_url, newly allocated. */
char *tokenstore_token_path(const struct tokenstore *ts, const char *server_url);

/*
 * Loads the tokens for server_url. Returns 0; ERR_NOT_FOUND when there are none; ERR_PARSE when
 * the file is corrupt (the message says which file and what is wrong, and that deleting it or
 * `mcpzip auth login` fixes it); ERR_TOO_BIG; ERR_IO. *warning (may be left NULL) reports
 * permissions that were fixed. Files of the Rust mcpzip (no expires_at) load with expiry unknown.
 */
int tokenstore_load(const struct tokenstore *ts, const char *server_url,
                    struct tokenstore_tokens *out, char **warning, char **why);

/* Saves t (access_token required) for server_url atomically with mode 0600, creating the
 * directory (0700) when needed. Returns 0 or ERR_INVALID / ERR_IO with *why; *warning as above. */
int tokenstore_save(const struct tokenstore *ts, const char *server_url,
                    const struct tokenstore_tokens *t, char **warning, char **why);

/* Deletes the tokens for server_url; absent is success. Returns 0 or ERR_IO. */
int tokenstore_delete(const struct tokenstore *ts, const char *server_url, char **why);

/* Wipes and frees the strings of t and zeroes it. NULL-safe. */
void tokenstore_tokens_clear(struct tokenstore_tokens *t);

/* Returns whether t expires within `seconds` of now (true when already expired); false when the
 * expiry is unknown — then only a 401 tells. */
bool tokenstore_expires_within(const struct tokenstore_tokens *t, int64_t now, int64_t seconds);

/*
 * Builds tokens from a successful token endpoint response body (RFC 6749 §5.1): access_token
 * required; token_type compared case-insensitively and only Bearer accepted; expires_in as a
 * number or a numeric string, made absolute with now; a missing refresh_token keeps
 * prev->refresh_token (a refresh response need not repeat it, oauth.md §1 item 31); a missing
 * scope means the requested one (requested_scope, may be NULL). prev may be NULL. issuer and
 * resource are left NULL for the caller to fill. Returns 0, ERR_PARSE, ERR_INVALID (an error
 * response, or not Bearer) or ERR_TOO_BIG with *why.
 */
int tokenstore_tokens_from_response(const char *body, size_t len, int64_t now,
                                    const char *requested_scope,
                                    const struct tokenstore_tokens *prev,
                                    struct tokenstore_tokens *out, char **why);

/* Returns the `error` code of an OAuth error response body (RFC 6749 §5.2), newly allocated,
 * or NULL when the body is not one. The flow acts on invalid_grant (drop the tokens, authorize
 * again) and invalid_client / unauthorized_client (drop the registration, register again). */
char *tokenstore_oauth_error(const char *body, size_t len);

/* ---- client registrations, per authorization server ---- */

char *tokenstore_client_path(const struct tokenstore *ts, const char *issuer);

/* Loads the registration for issuer. Returns 0, ERR_NOT_FOUND, ERR_PARSE (also when the file
 * names another issuer), ERR_TOO_BIG or ERR_IO, as tokenstore_load. */
int tokenstore_client_load(const struct tokenstore *ts, const char *issuer,
                           struct tokenstore_client *out, char **warning, char **why);

/* Saves c (issuer and client_id required) under c->issuer. As tokenstore_save. */
int tokenstore_client_save(const struct tokenstore *ts, const struct tokenstore_client *c,
                           char **warning, char **why);

int tokenstore_client_delete(const struct tokenstore *ts, const char *issuer, char **why);
void tokenstore_client_clear(struct tokenstore_client *c);

/* Returns whether the client secret has expired (or does within a minute) at now. */
bool tokenstore_client_expired(const struct tokenstore_client *c, int64_t now);

/*
 * Builds a registration from a Dynamic Client Registration response (RFC 7591 §3.2.1) for the
 * request that asked for redirect_uri at issuer: client_id required; client_secret,
 * client_secret_expires_at, token_endpoint_auth_method optional; when the response lists
 * redirect_uris they must include redirect_uri. Returns 0, ERR_PARSE, ERR_INVALID or
 * ERR_TOO_BIG with *why.
 */
int tokenstore_client_from_registration(const char *body, size_t len, const char *issuer,
                                        const char *redirect_uri, struct tokenstore_client *out,
                                        char **why);

/* ---- the cross-process lock ---- */

/*
 * Takes the exclusive lock of server_url's tokens, waiting at most timeout_ms (polling; 0 = try
 * once). Returns 0 with *out, ERR_TIMEOUT when another process (or thread) held it all along,
 * or ERR_IO. The lock is released by tokenstore_unlock() or when the process dies. Use: lock,
 * reload the tokens (another process may have refreshed them meanwhile), refresh only if still
 * needed, save, unlock. Never hold it across an interactive authorization.
 */
int tokenstore_lock(const struct tokenstore *ts, const char *server_url, int timeout_ms,
                    struct tokenstore_lock **out, char **why);
void tokenstore_unlock(struct tokenstore_lock *lk);

/* ---- mcp-remote ---- */

/* Writes mcp-remote's name hash for server_url (MD5 of the URL string, lowercase hex) to out:
 * the name it uses when no --resource, --header or other option changes the hash. */
void tokenstore_mcpremote_hash(const char *server_url, char out[33]);

/*
 * Reads the tokens mcp-remote stored for exactly server_url:
 * `<base>/mcp-remote-<version>/<hash>_tokens.json` (`<version>` such as 0.1.37 or v1), the most
 * recently written when several directories have one. Its relative
 * expires_in is made absolute from the file's modification time (mcp-remote writes the file
 * when it receives the tokens); its newer absolute expires_at (milliseconds) is used when
 * present. When client is non-NULL, the sibling `<hash>_client_info.json` fills it if present
 * (issuer NULL: mcp-remote does not record it; client->client_id NULL when absent). *found
 * (may be NULL) gets the token file's path. Returns 0, ERR_NOT_FOUND, ERR_PARSE or ERR_IO.
 * The caller copies the result into our store with tokenstore_save().
 */
int tokenstore_mcpremote_read(const struct tokenstore *ts, const char *server_url,
                              struct tokenstore_tokens *tokens, struct tokenstore_client *client,
                              char **found, char **why);

#endif
