/*
 * oauth_config.h - a remote server's "oauth" object in the config file: parsing and validation.
 *
 * Separate from oauth.c so that config.c can validate the object when the file is read (with
 * messages naming the field) without depending on the flow. Pure code, no I/O; any thread.
 */
#ifndef MCPZIP_OAUTH_CONFIG_H
#define MCPZIP_OAUTH_CONFIG_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#define OAUTH_DEFAULT_TIMEOUT_S 300 /* how long a sign-in waits for the browser */

/* A server's `oauth` object, parsed. Strings newly allocated or NULL. */
struct oauth_config {
    char *client_id; /* pre-registered client */
    char *client_secret;
    char *client_metadata_url; /* Client ID Metadata Document URL (https, with a path) */
    char *scopes;              /* space-separated; replaces the PRM fallback */
    int redirect_port;         /* 0 = derived from the server URL */
    bool omit_resource;        /* "resource": false (Entra ID) */
    bool client_credentials;   /* "grant": "client_credentials" */
    char *private_key_file;    /* private_key_jwt: a PEM private key (ES256 or RS256) */
    char *signing_alg;
    bool tolerate_no_pkce_list; /* "allow_missing_pkce_metadata": true */
    int timeout_seconds;        /* "timeout_seconds": browser wait, default 300 */
};

/* The field names the parser reads, NULL-terminated: ours, plus Claude Code's clientId,
 * clientSecret and callbackPort (copied over by `mcpzip migrate`). Others are ignored; config.c
 * warns about them. */
extern const char *const oauth_config_fields[];

/*
 * Parses o (a server's "oauth" value; NULL gives the defaults) into *out. Unknown fields are
 * ignored. Returns 0, or ERR_INVALID with *why naming the field ("oauth.redirect_port must be
 * ..."); *out is then cleared.
 */
int oauth_config_parse(const cJSON *o, struct oauth_config *out, char **why);
void oauth_config_clear(struct oauth_config *c);

#endif
