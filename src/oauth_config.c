/*
 * oauth_config.c - the "oauth" object of a server entry; see oauth_config.h.
 */
#include "oauth_config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "xmem.h"

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static int read_str(const cJSON *o, const char *key, char **out, char **why)
{
    const cJSON *v = json_get(o, key);

    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        *why = xasprintf("oauth.%s must be a non-empty string", key);
        return ERR_INVALID;
    }
    *out = xstrdup(v->valuestring);
    return 0;
}

const char *const oauth_config_fields[] = {
    "client_id",
    "client_secret",
    "client_metadata_url",
    "scopes",
    "redirect_port",
    "resource",
    "grant",
    "private_key_file",
    "signing_alg",
    "allow_missing_pkce_metadata",
    "timeout_seconds",
    "clientId",
    "clientSecret",
    "callbackPort",
    NULL,
};

int oauth_config_parse(const cJSON *o, struct oauth_config *out, char **why)
{
    const cJSON *v, *it;
    const char *port_key;
    char *grant = NULL;
    double d;
    int rc = ERR_INVALID;

    memset(out, 0, sizeof(*out));
    out->timeout_seconds = OAUTH_DEFAULT_TIMEOUT_S;
    if (o == NULL)
        return 0;
    if (!cJSON_IsObject(o)) {
        *why = xstrdup("oauth must be an object");
        return ERR_INVALID;
    }
    if (read_str(o, json_get(o, "client_id") ? "client_id" : "clientId", &out->client_id, why) !=
            0 ||
        read_str(o, json_get(o, "client_secret") ? "client_secret" : "clientSecret",
                 &out->client_secret, why) != 0 ||
        read_str(o, "client_metadata_url", &out->client_metadata_url, why) != 0 ||
        read_str(o, "private_key_file", &out->private_key_file, why) != 0 ||
        read_str(o, "signing_alg", &out->signing_alg, why) != 0 ||
        read_str(o, "grant", &grant, why) != 0)
        goto out;
    v = json_get(o, "scopes");
    if (cJSON_IsString(v)) {
        out->scopes = xstrdup(v->valuestring);
    } else if (cJSON_IsArray(v)) {
        struct buf b = {0};

        cJSON_ArrayForEach (it, v) {
            if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
                strchr(it->valuestring, ' ') != NULL) {
                buf_free(&b);
                *why = xstrdup("oauth.scopes must be a string or an array of scope strings");
                goto out;
            }
            buf_printf(&b, "%s%s", b.len ? " " : "", it->valuestring);
        }
        out->scopes = b.len ? buf_take(&b) : NULL;
        buf_free(&b);
    } else if (v != NULL) {
        *why = xstrdup("oauth.scopes must be a string or an array of scope strings");
        goto out;
    }
    port_key = json_get(o, "redirect_port") ? "redirect_port" : "callbackPort";
    if (json_get_num(o, port_key, &d)) {
        if (d < 1 || d > 65535 || d != (int)d) {
            *why = xasprintf("oauth.%s must be a port number (1-65535)", port_key);
            goto out;
        }
        out->redirect_port = (int)d;
    } else if (json_get(o, port_key) != NULL) {
        *why = xasprintf("oauth.%s must be a port number (1-65535)", port_key);
        goto out;
    }
    v = json_get(o, "resource");
    if (v != NULL && !cJSON_IsBool(v)) {
        *why = xstrdup("oauth.resource must be true or false (false omits the RFC 8707 resource "
                       "parameter, for Microsoft Entra ID)");
        goto out;
    }
    out->omit_resource = cJSON_IsFalse(v);
    v = json_get(o, "allow_missing_pkce_metadata");
    if (v != NULL && !cJSON_IsBool(v)) {
        *why = xstrdup("oauth.allow_missing_pkce_metadata must be true or false");
        goto out;
    }
    out->tolerate_no_pkce_list = cJSON_IsTrue(v);
    if (json_get_num(o, "timeout_seconds", &d)) {
        if (d < 10 || d > 3600) {
            *why = xstrdup("oauth.timeout_seconds must be between 10 and 3600");
            goto out;
        }
        out->timeout_seconds = (int)d;
    } else if (json_get(o, "timeout_seconds") != NULL) {
        *why = xstrdup("oauth.timeout_seconds must be a number of seconds");
        goto out;
    }
    if (grant != NULL) {
        if (strcmp(grant, "client_credentials") == 0) {
            out->client_credentials = true;
        } else if (strcmp(grant, "authorization_code") != 0) {
            *why = xstrdup("oauth.grant must be \"authorization_code\" or \"client_credentials\"");
            goto out;
        }
    }
    if (out->client_credentials && out->client_id == NULL) {
        *why = xstrdup("oauth.grant \"client_credentials\" needs oauth.client_id");
        goto out;
    }
    if (out->client_credentials && out->client_secret == NULL && out->private_key_file == NULL) {
        *why = xstrdup("oauth.grant \"client_credentials\" needs oauth.client_secret or "
                       "oauth.private_key_file");
        goto out;
    }
    if (out->signing_alg != NULL && strcmp(out->signing_alg, "ES256") != 0 &&
        strcmp(out->signing_alg, "RS256") != 0) {
        *why = xstrdup("oauth.signing_alg must be \"ES256\" or \"RS256\"");
        goto out;
    }
    if (out->client_secret != NULL && out->client_id == NULL) {
        *why = xstrdup("oauth.client_secret needs oauth.client_id");
        goto out;
    }
    if (out->client_metadata_url != NULL &&
        (strncmp(out->client_metadata_url, "https://", 8) != 0 ||
         strchr(out->client_metadata_url + 8, '/') == NULL)) {
        *why = xstrdup("oauth.client_metadata_url must be an https URL with a path");
        goto out;
    }
    rc = 0;
out:
    free(grant);
    if (rc != 0)
        oauth_config_clear(out);
    return rc;
}

void oauth_config_clear(struct oauth_config *c)
{
    if (c == NULL)
        return;
    free(c->client_id);
    free_secret(c->client_secret);
    free(c->client_metadata_url);
    free(c->scopes);
    free(c->private_key_file);
    free(c->signing_alg);
    memset(c, 0, sizeof(*c));
}
