/*
 * oauthmeta.c - discovery URLs, metadata validation, scopes, client authentication; see
 * oauthmeta.h.
 *
 * URLs are split by a small parser of the RFC 3986 generic syntax restricted to what OAuth
 * metadata uses (http and https with an authority). It does not percent-decode anything:
 * comparisons are of the URL text after lowercasing scheme and host and dropping a default
 * port, which is what RFC 9728 and RFC 8414 mean by "identical" plus the normalizations every
 * HTTP client applies anyway.
 */
#include "oauthmeta.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "json.h"
#include "xmem.h"

#define WK_PRM "/.well-known/oauth-protected-resource"
#define WK_AS "/.well-known/oauth-authorization-server"
#define WK_OIDC "/.well-known/openid-configuration"

/* One parsed absolute http(s) URL. Strings are allocated; port is -1 for the default. */
struct url {
    char *scheme;  /* "http" or "https" */
    char *host;    /* lowercase; an IPv6 literal keeps its brackets */
    long port;     /* -1 when absent or the scheme's default */
    char *path;    /* "" or starting with '/' */
    char *query;   /* without '?'; NULL when absent */
    bool fragment; /* a '#' was present */
};

static void url_clear(struct url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    free(u->query);
    memset(u, 0, sizeof(*u));
}

/*
 * Returns s as it may appear in a message, newly allocated: without user information, query or
 * fragment (a server URL may carry an API key in its query) and cut to 300 bytes.
 */
static char *shown(const char *s)
{
    const char *auth = strstr(s, "://"), *at, *end;
    struct buf b = {0};
    size_t n;

    if (auth != NULL) {
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        at = memchr(auth, '@', (size_t)(end - auth));
        if (at != NULL) {
            buf_append(&b, s, (size_t)(auth - s));
            s = at + 1;
        }
    }
    n = strcspn(s, "?#");
    buf_append(&b, s, n > 300 ? 300 : n);
    if (s[n] != '\0' || n > 300)
        buf_puts(&b, "...");
    return buf_take(&b);
}

/*
 * Parses s into u. Refuses (ERR_INVALID, with *why naming what) anything but an absolute http or
 * https URL with a host, and URLs with user information, white space or control characters, or
 * more than OAUTHMETA_MAX_URL bytes. `what` names the URL in messages ("server URL").
 */
static int url_parse(const char *s, const char *what, struct url *u, char **why)
{
    const char *p, *auth, *auth_end, *host, *host_end, *q;
    size_t i, n;

    memset(u, 0, sizeof(*u));
    if (s == NULL || *s == '\0') {
        *why = xasprintf("the %s is empty", what);
        return ERR_INVALID;
    }
    n = strlen(s);
    if (n > OAUTHMETA_MAX_URL) {
        *why = xasprintf("the %s is longer than %d bytes", what, OAUTHMETA_MAX_URL);
        return ERR_INVALID;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
            *why = xasprintf("the %s contains white space or a control character", what);
            return ERR_INVALID;
        }
    if (strncasecmp(s, "https://", 8) == 0) {
        u->scheme = xstrdup("https");
        auth = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        u->scheme = xstrdup("http");
        auth = s + 7;
    } else {
        char *show = shown(s);

        *why = xasprintf("the %s %s is not an http or https URL", what, show);
        free(show);
        return ERR_INVALID;
    }
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL) {
        /* Credentials in a URL would end up in requests and messages; nobody needs them here. */
        *why = xasprintf("the %s contains user information", what);
        goto bad;
    }
    host = auth;
    if (*host == '[') {
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (host_end == NULL)
            goto bad_host;
        host_end++;
    } else {
        host_end = memchr(host, ':', (size_t)(auth_end - host));
        if (host_end == NULL)
            host_end = auth_end;
    }
    if (host_end == host)
        goto bad_host;
    for (p = host; p < host_end; p++)
        if (!isalnum((unsigned char)*p) && strchr(*host == '[' ? "[]:." : "-._~%", *p) == NULL)
            goto bad_host;
    u->host = xstrndup(host, (size_t)(host_end - host));
    for (i = 0; u->host[i] != '\0'; i++)
        u->host[i] = (char)tolower((unsigned char)u->host[i]);
    u->port = -1;
    if (host_end < auth_end) {
        long port = 0;

        if (*host_end != ':')
            goto bad_host;
        p = host_end + 1;
        if (p == auth_end || auth_end - p > 5)
            goto bad_port;
        for (; p < auth_end; p++) {
            if (!isdigit((unsigned char)*p))
                goto bad_port;
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            goto bad_port;
        if (!(port == 443 && strcmp(u->scheme, "https") == 0) &&
            !(port == 80 && strcmp(u->scheme, "http") == 0))
            u->port = port;
    }
    p = auth_end;
    q = p + strcspn(p, "?#");
    u->path = xstrndup(p, (size_t)(q - p));
    if (*q == '?') {
        p = q + 1;
        q = p + strcspn(p, "#");
        u->query = xstrndup(p, (size_t)(q - p));
    }
    u->fragment = *q == '#';
    return 0;
bad_port:
    *why = xasprintf("the %s has an invalid port", what);
    goto bad;
bad_host:
    *why = xasprintf("the %s has no valid host", what);
bad:
    url_clear(u);
    return ERR_INVALID;
}

/* Appends scheme://host[:port] to b. */
static void put_origin(struct buf *b, const struct url *u)
{
    buf_printf(b, "%s://%s", u->scheme, u->host);
    if (u->port >= 0)
        buf_printf(b, ":%ld", u->port);
}

/* Returns the path without one trailing '/' (so "/" becomes ""), newly allocated. */
static char *path_trimmed(const struct url *u)
{
    size_t n = strlen(u->path);

    if (n > 0 && u->path[n - 1] == '/')
        n--;
    return xstrndup(u->path, n);
}

static bool same_origin(const struct url *a, const struct url *b)
{
    return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

bool oauthmeta_is_loopback_host(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
           strcmp(host, "[::1]") == 0;
}

static bool url_secure(const struct url *u)
{
    return strcmp(u->scheme, "https") == 0 || oauthmeta_is_loopback_host(u->host);
}

bool oauthmeta_url_is_secure(const char *s)
{
    struct url u;
    char *why = NULL;
    bool ok;

    if (url_parse(s, "URL", &u, &why) != 0) {
        free(why);
        return false;
    }
    ok = url_secure(&u);
    url_clear(&u);
    return ok;
}

void oauthmeta_urls_clear(struct oauthmeta_urls *u)
{
    size_t i;

    for (i = 0; i < u->n; i++)
        free(u->url[i]);
    memset(u, 0, sizeof(*u));
}

static void urls_add(struct oauthmeta_urls *u, char *url)
{
    u->url[u->n++] = url;
}

int oauthmeta_prm_urls(const char *server_url, const char *header_url, struct oauthmeta_urls *out,
                       char **why)
{
    struct url su, hu = {0};
    struct buf b = {0};
    char *path = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = url_parse(server_url, "server URL", &su, why);
    if (rc != 0)
        return rc;
    if (header_url != NULL) {
        rc = url_parse(header_url, "resource_metadata URL", &hu, why);
        if (rc != 0)
            goto out;
        if (strcmp(su.scheme, "https") == 0 && !url_secure(&hu)) {
            char *h = shown(header_url), *v = shown(server_url);

            *why = xasprintf("the resource_metadata URL %s would downgrade %s to plain http", h, v);
            free(h);
            free(v);
            rc = ERR_INVALID;
            goto out;
        }
        /* Exactly the URL given, without a fragment (never sent in HTTP). */
        urls_add(out, xstrndup(header_url, strcspn(header_url, "#")));
        goto out;
    }
    path = path_trimmed(&su);
    if (*path != '\0' || su.query != NULL) {
        put_origin(&b, &su);
        buf_printf(&b, WK_PRM "%s", path);
        if (su.query != NULL)
            buf_printf(&b, "?%s", su.query);
        urls_add(out, buf_take(&b));
    }
    put_origin(&b, &su);
    buf_puts(&b, WK_PRM);
    urls_add(out, buf_take(&b));
out:
    free(path);
    url_clear(&su);
    url_clear(&hu);
    return rc;
}

/* Parses an issuer identifier: https (or loopback http), no query, no fragment. */
static int issuer_parse(const char *issuer, struct url *u, char **why)
{
    int rc = url_parse(issuer, "authorization server issuer", u, why);
    char *v;

    if (rc != 0)
        return rc;
    if (u->query != NULL || u->fragment || !url_secure(u)) {
        v = shown(issuer);
        *why = xasprintf("the authorization server issuer %s %s", v,
                         url_secure(u) ? "has a query or fragment" : "does not use https");
        free(v);
        url_clear(u);
        rc = ERR_INVALID;
    }
    return rc;
}

int oauthmeta_as_urls(const char *issuer, struct oauthmeta_urls *out, char **why)
{
    struct url u;
    struct buf b = {0};
    char *path;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = issuer_parse(issuer, &u, why);
    if (rc != 0)
        return rc;
    path = path_trimmed(&u);
    put_origin(&b, &u);
    buf_printf(&b, WK_AS "%s", path);
    urls_add(out, buf_take(&b));
    put_origin(&b, &u);
    buf_printf(&b, WK_OIDC "%s", path);
    urls_add(out, buf_take(&b));
    if (*path != '\0') {
        put_origin(&b, &u);
        buf_printf(&b, "%s" WK_OIDC, path);
        urls_add(out, buf_take(&b));
    }
    free(path);
    url_clear(&u);
    return 0;
}

char *oauthmeta_origin(const char *server_url)
{
    struct url u;
    struct buf b = {0};
    char *why = NULL;

    if (url_parse(server_url, "server URL", &u, &why) != 0) {
        free(why);
        return NULL;
    }
    put_origin(&b, &u);
    url_clear(&u);
    return buf_take(&b);
}

char *oauthmeta_resource(const char *server_url, const struct oauthmeta_prm *prm)
{
    struct url u;
    struct buf b = {0};
    char *why = NULL, *path;

    if (prm != NULL && prm->resource != NULL)
        return xstrdup(prm->resource);
    if (url_parse(server_url, "server URL", &u, &why) != 0) {
        free(why);
        return NULL;
    }
    /* S25 §Canonical Server URI: lowercase scheme and host, no fragment, and the form without
     * a trailing slash. */
    path = path_trimmed(&u);
    put_origin(&b, &u);
    buf_puts(&b, path);
    if (u.query != NULL)
        buf_printf(&b, "?%s", u.query);
    free(path);
    url_clear(&u);
    return buf_take(&b);
}

/* ---- metadata documents ---- */

/* Parses doc as a JSON object within the size bound. */
static int doc_parse(const char *doc, size_t len, const char *what, cJSON **out, char **why)
{
    size_t errpos = 0;
    cJSON *root;

    if (len > OAUTHMETA_MAX_DOC) {
        *why = xasprintf("the %s is larger than %d bytes", what, OAUTHMETA_MAX_DOC);
        return ERR_TOO_BIG;
    }
    root = json_parse(doc, len, &errpos);
    if (root == NULL) {
        *why = xasprintf("the %s is not valid JSON (error at byte %zu)", what, errpos);
        return ERR_PARSE;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *why = xasprintf("the %s is not a JSON object", what);
        return ERR_PARSE;
    }
    *out = root;
    return 0;
}

/* A scope token (RFC 6749 §3.3): 1*( %x21 / %x23-5B / %x5D-7E ). */
static bool scope_token_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 256)
        return false;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* A list of distinct scope tokens being built. */
struct scopes {
    size_t n;
    char *v[OAUTHMETA_MAX_SCOPES];
};

static bool scopes_has(const struct scopes *sc, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < sc->n; i++)
        if (strlen(sc->v[i]) == n && memcmp(sc->v[i], s, n) == 0)
            return true;
    return false;
}

static void scopes_add(struct scopes *sc, const char *s, size_t n)
{
    if (!scope_token_ok(s, n) || scopes_has(sc, s, n) || sc->n >= OAUTHMETA_MAX_SCOPES)
        return;
    sc->v[sc->n++] = xstrndup(s, n);
}

/* Adds each space-separated token of list (may be NULL). */
static void scopes_add_list(struct scopes *sc, const char *list)
{
    const char *p = list;
    size_t n;

    if (list == NULL)
        return;
    while (*p != '\0') {
        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n > 0)
            scopes_add(sc, p, n);
        p += n;
    }
}

/* Returns the tokens space-joined (NULL when none) and empties sc. */
static char *scopes_take(struct scopes *sc)
{
    struct buf b = {0};
    size_t i;

    for (i = 0; i < sc->n; i++) {
        buf_printf(&b, "%s%s", i > 0 ? " " : "", sc->v[i]);
        free(sc->v[i]);
    }
    sc->n = 0;
    return b.s != NULL ? buf_take(&b) : NULL;
}

/* Joins the string elements of a JSON array of scopes (first OAUTHMETA_MAX_LIST elements). */
static char *scopes_from_array(const cJSON *arr)
{
    struct scopes sc = {0};
    const cJSON *it;
    size_t i = 0;

    cJSON_ArrayForEach (it, arr) {
        if (i++ >= OAUTHMETA_MAX_LIST)
            break;
        if (cJSON_IsString(it))
            scopes_add(&sc, it->valuestring, strlen(it->valuestring));
    }
    return scopes_take(&sc);
}

/* Returns whether the JSON array arr has the string s among its first OAUTHMETA_MAX_LIST. */
static bool array_has(const cJSON *arr, const char *s)
{
    const cJSON *it;
    size_t i = 0;

    cJSON_ArrayForEach (it, arr) {
        if (i++ >= OAUTHMETA_MAX_LIST)
            break;
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return true;
    }
    return false;
}

void oauthmeta_prm_clear(struct oauthmeta_prm *p)
{
    size_t i;

    free(p->resource);
    for (i = 0; i < p->nas; i++)
        free(p->authorization_servers[i]);
    free(p->scopes_supported);
    memset(p, 0, sizeof(*p));
}

/* Checks that the PRM resource r names the server s (see oauthmeta_prm_parse). */
static bool resource_matches(const struct url *r, const struct url *s)
{
    size_t rn = strlen(r->path), sn = strlen(s->path);
    bool rslash = rn > 0 && r->path[rn - 1] == '/', sslash = sn > 0 && s->path[sn - 1] == '/';

    if (!same_origin(r, s) || r->fragment)
        return false;
    if (r->query != NULL && (s->query == NULL || strcmp(r->query, s->query) != 0))
        return false;
    /* Compare "path/" prefixes so that /api matches /api and /api/x but not /api2. */
    if (rn - (rslash ? 1 : 0) > sn - (sslash ? 1 : 0))
        return false;
    if (memcmp(r->path, s->path, rn - (rslash ? 1 : 0)) != 0)
        return false;
    rn -= rslash ? 1 : 0;
    return rn == sn - (sslash ? 1 : 0) || s->path[rn] == '/';
}

int oauthmeta_prm_parse(const char *doc, size_t len, const char *server_url,
                        struct oauthmeta_prm *out, char **why)
{
    struct url su = {0}, ru = {0}, au;
    const cJSON *arr, *it;
    const char *resource;
    cJSON *root = NULL;
    char *skip_why = NULL;
    size_t i = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = url_parse(server_url, "server URL", &su, why);
    if (rc != 0)
        return rc;
    rc = doc_parse(doc, len, "protected resource metadata", &root, why);
    if (rc != 0)
        goto out;
    rc = ERR_INVALID;
    resource = json_get_str(root, "resource");
    if (resource == NULL) {
        *why = xstrdup("the protected resource metadata has no \"resource\"");
        goto out;
    }
    if (url_parse(resource, "protected resource", &ru, &skip_why) != 0 ||
        !resource_matches(&ru, &su)) {
        /* RFC 9728 §3.3: metadata for another resource must not be used, or a server could
         * send its users to authorize against (and hand tokens for) someone else's resource. */
        char *r = shown(resource), *v = shown(server_url);

        free(skip_why);
        *why = xasprintf("the protected resource metadata is for %s, not for %s", r, v);
        free(r);
        free(v);
        goto out;
    }
    arr = json_get_arr(root, "authorization_servers");
    cJSON_ArrayForEach (it, arr) {
        if (i++ >= OAUTHMETA_MAX_LIST || out->nas >= OAUTHMETA_MAX_AS)
            break;
        if (!cJSON_IsString(it))
            continue;
        skip_why = NULL;
        if (issuer_parse(it->valuestring, &au, &skip_why) != 0) {
            free(skip_why);
            continue;
        }
        url_clear(&au);
        out->authorization_servers[out->nas++] = xstrdup(it->valuestring);
    }
    if (out->nas == 0) {
        char *v = shown(server_url);

        *why = xasprintf("the protected resource metadata for %s names no usable authorization "
                         "server (https required except on localhost)",
                         v);
        free(v);
        goto out;
    }
    out->resource = xstrdup(resource);
    out->scopes_supported = scopes_from_array(json_get_arr(root, "scopes_supported"));
    rc = 0;
out:
    if (rc != 0)
        oauthmeta_prm_clear(out);
    cJSON_Delete(root);
    url_clear(&su);
    url_clear(&ru);
    return rc;
}

void oauthmeta_as_clear(struct oauthmeta_as *as)
{
    free(as->issuer);
    free(as->authorization_endpoint);
    free(as->token_endpoint);
    free(as->registration_endpoint);
    free(as->revocation_endpoint);
    free(as->scopes_supported);
    memset(as, 0, sizeof(*as));
}

/* Copies the endpoint `name` from root into *dst after checking it is a secure absolute URL.
 * A missing optional endpoint leaves *dst NULL. */
static int endpoint(const cJSON *root, const char *name, bool required, char **dst, char **why)
{
    const char *v = json_get_str(root, name);
    struct url u;
    int rc;

    if (v == NULL) {
        if (!required)
            return 0;
        *why = xasprintf("the authorization server metadata has no \"%s\"", name);
        return ERR_INVALID;
    }
    rc = url_parse(v, name, &u, why);
    if (rc != 0)
        return rc;
    if (!url_secure(&u) || u.fragment) {
        char *show = shown(v);

        *why = xasprintf("the %s %s %s", name, show,
                         u.fragment ? "has a fragment" : "does not use https");
        free(show);
        url_clear(&u);
        return ERR_INVALID;
    }
    url_clear(&u);
    *dst = xstrdup(v);
    return 0;
}

/* Returns whether a and b differ only by one trailing '/' on one of them. */
static bool differ_by_slash(const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);

    if (an + 1 == bn)
        return b[an] == '/' && memcmp(a, b, an) == 0;
    if (bn + 1 == an)
        return a[bn] == '/' && memcmp(a, b, bn) == 0;
    return false;
}

static unsigned auth_method_bits(const cJSON *arr)
{
    unsigned bits = 0;

    if (array_has(arr, "none"))
        bits |= OAUTHMETA_AUTH_NONE;
    if (array_has(arr, "client_secret_basic"))
        bits |= OAUTHMETA_AUTH_BASIC;
    if (array_has(arr, "client_secret_post"))
        bits |= OAUTHMETA_AUTH_POST;
    if (array_has(arr, "private_key_jwt"))
        bits |= OAUTHMETA_AUTH_JWT;
    return bits;
}

int oauthmeta_as_parse(const char *doc, size_t len, const char *issuer, unsigned flags,
                       struct oauthmeta_as *out, char **warning, char **why)
{
    const cJSON *arr;
    const char *doc_issuer;
    cJSON *root = NULL;
    struct buf warn = {0};
    char *shown_issuer = NULL;
    bool b;
    int rc;

    memset(out, 0, sizeof(*out));
    *warning = NULL;
    rc = doc_parse(doc, len, "authorization server metadata", &root, why);
    if (rc != 0)
        return rc;
    rc = ERR_INVALID;
    doc_issuer = json_get_str(root, "issuer");
    if (doc_issuer == NULL) {
        *why = xstrdup("the authorization server metadata has no \"issuer\"");
        goto out;
    }
    shown_issuer = shown(issuer);
    if (strcmp(doc_issuer, issuer) != 0) {
        char *d = shown(doc_issuer);

        /* RFC 8414 §3.3 (mix-up defence): the document must be the issuer's own. */
        if (differ_by_slash(doc_issuer, issuer) || (flags & OAUTHMETA_LAX_ISSUER)) {
            buf_printf(&warn,
                       "the authorization server metadata names issuer %s, expected %s; "
                       "using it anyway",
                       d, shown_issuer);
            free(d);
        } else {
            *why = xasprintf("the authorization server metadata names issuer %s, expected %s", d,
                             shown_issuer);
            free(d);
            goto out;
        }
    }
    if (strlen(doc_issuer) > OAUTHMETA_MAX_URL) {
        *why = xstrdup("the authorization server issuer is too long");
        goto out;
    }
    rc = endpoint(root, "authorization_endpoint", true, &out->authorization_endpoint, why);
    if (rc == 0)
        rc = endpoint(root, "token_endpoint", true, &out->token_endpoint, why);
    if (rc == 0)
        rc = endpoint(root, "registration_endpoint", false, &out->registration_endpoint, why);
    if (rc == 0 &&
        endpoint(root, "revocation_endpoint", false, &out->revocation_endpoint, why) != 0) {
        /* Only used to tidy up on logout: an unusable one is ignored, not fatal. */
        free(*why);
        *why = NULL;
    }
    if (rc != 0)
        goto out;
    rc = ERR_INVALID;
    arr = json_get_arr(root, "response_types_supported");
    if (arr != NULL && !array_has(arr, "code")) {
        *why = xasprintf("the authorization server %s does not support the authorization code "
                         "flow (response_types_supported lacks \"code\")",
                         shown_issuer);
        goto out;
    }
    arr = json_get_arr(root, "code_challenge_methods_supported");
    out->pkce_listed = arr != NULL;
    out->pkce_s256 = array_has(arr, "S256");
    if (arr != NULL && !out->pkce_s256) {
        *why =
            xasprintf("the authorization server %s does not support PKCE with S256", shown_issuer);
        goto out;
    }
    if (arr == NULL) {
        if (!(flags & OAUTHMETA_TOLERATE_NO_PKCE_LIST)) {
            *why = xasprintf("the authorization server %s does not advertise PKCE support "
                             "(code_challenge_methods_supported is missing)",
                             shown_issuer);
            goto out;
        }
        buf_printf(&warn,
                   "%sthe authorization server %s does not advertise PKCE support; "
                   "using S256 anyway",
                   warn.len > 0 ? "; " : "", shown_issuer);
        out->pkce_s256 = true;
    }
    arr = json_get_arr(root, "token_endpoint_auth_methods_supported");
    out->auth_methods = auth_method_bits(arr);
    arr = json_get_arr(root, "grant_types_supported");
    out->grant_types = (array_has(arr, "authorization_code") ? OAUTHMETA_GRANT_CODE : 0) |
                       (array_has(arr, "refresh_token") ? OAUTHMETA_GRANT_REFRESH : 0) |
                       (array_has(arr, "client_credentials") ? OAUTHMETA_GRANT_CLIENT : 0);
    out->scopes_supported = scopes_from_array(json_get_arr(root, "scopes_supported"));
    out->cimd_supported = json_get_bool(root, "client_id_metadata_document_supported", &b) && b;
    out->iss_supported =
        json_get_bool(root, "authorization_response_iss_parameter_supported", &b) && b;
    out->issuer = xstrdup(doc_issuer);
    rc = 0;
out:
    if (rc != 0) {
        oauthmeta_as_clear(out);
        buf_free(&warn);
    } else if (warn.len > 0) {
        *warning = buf_take(&warn);
    }
    free(shown_issuer);
    cJSON_Delete(root);
    return rc;
}

int oauthmeta_as_fallback(const char *server_url, struct oauthmeta_as *out, char **why)
{
    struct url u;
    struct buf b = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = url_parse(server_url, "server URL", &u, why);
    if (rc != 0)
        return rc;
    put_origin(&b, &u);
    out->issuer = buf_take(&b);
    out->authorization_endpoint = xasprintf("%s/authorize", out->issuer);
    out->token_endpoint = xasprintf("%s/token", out->issuer);
    out->registration_endpoint = xasprintf("%s/register", out->issuer);
    out->pkce_s256 = true; /* S03 requires PKCE of every client; S256 is what we send */
    out->fallback = true;
    url_clear(&u);
    return 0;
}

/* ---- scopes ---- */

char *oauthmeta_scope_select(const char *configured, const char *challenge,
                             const struct oauthmeta_prm *prm, const struct oauthmeta_as *as,
                             bool offline_ok)
{
    struct scopes sc = {0};

    if (configured != NULL && *configured != '\0') {
        scopes_add_list(&sc, configured);
        scopes_add_list(&sc, challenge);
    } else if (challenge != NULL && challenge[0] != '\0') {
        scopes_add_list(&sc, challenge);
    } else if (prm != NULL) {
        scopes_add_list(&sc, prm->scopes_supported);
    }
    if (offline_ok && as != NULL && as->scopes_supported != NULL) {
        struct scopes asc = {0};

        scopes_add_list(&asc, as->scopes_supported);
        if (scopes_has(&asc, "offline_access", strlen("offline_access")))
            scopes_add(&sc, "offline_access", strlen("offline_access"));
        free(scopes_take(&asc));
    }
    return scopes_take(&sc);
}

char *oauthmeta_scope_union(const char *a, const char *b)
{
    struct scopes sc = {0};

    scopes_add_list(&sc, a);
    scopes_add_list(&sc, b);
    return scopes_take(&sc);
}

bool oauthmeta_scope_covers(const char *granted, const char *wanted)
{
    struct scopes g = {0};
    const char *p = wanted;
    bool ok = true;
    size_t n;

    scopes_add_list(&g, granted);
    while (p != NULL && *p != '\0' && ok) {
        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n > 0 && !scopes_has(&g, p, n))
            ok = false;
        p += n;
    }
    free(scopes_take(&g));
    return ok;
}

/* ---- client authentication ---- */

static enum oauthmeta_auth_method method_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, "none") == 0)
        return OAUTHMETA_AUTH_NONE;
    if (strcmp(name, "client_secret_basic") == 0)
        return OAUTHMETA_AUTH_BASIC;
    if (strcmp(name, "client_secret_post") == 0)
        return OAUTHMETA_AUTH_POST;
    return 0;
}

enum oauthmeta_auth_method oauthmeta_auth_method(const struct oauthmeta_as *as,
                                                 enum oauthmeta_client_kind kind, bool have_secret,
                                                 const char *registered)
{
    unsigned listed = as != NULL ? as->auth_methods : 0;
    enum oauthmeta_auth_method reg = method_from_name(registered);

    if (!have_secret || kind == OAUTHMETA_CLIENT_CIMD)
        return OAUTHMETA_AUTH_NONE;
    if (reg != 0 && (listed == 0 || (listed & reg)))
        return reg;
    if (listed == 0 || (listed & OAUTHMETA_AUTH_BASIC))
        return OAUTHMETA_AUTH_BASIC;
    if (listed & OAUTHMETA_AUTH_POST)
        return OAUTHMETA_AUTH_POST;
    if (listed & OAUTHMETA_AUTH_NONE)
        return OAUTHMETA_AUTH_NONE;
    return OAUTHMETA_AUTH_BASIC;
}

const char *oauthmeta_auth_method_name(enum oauthmeta_auth_method m)
{
    switch (m) {
    case OAUTHMETA_AUTH_BASIC:
        return "client_secret_basic";
    case OAUTHMETA_AUTH_POST:
        return "client_secret_post";
    case OAUTHMETA_AUTH_JWT:
        return "private_key_jwt";
    default:
        return "none";
    }
}

int oauthmeta_check_iss(const struct oauthmeta_as *as, const char *iss, char **why)
{
    char *a, *b;

    if (iss == NULL) {
        if (as->iss_supported) {
            a = shown(as->issuer);
            *why = xasprintf("the authorization response lacks the \"iss\" parameter that %s "
                             "promised; ignoring it",
                             a);
            free(a);
            return ERR_INVALID;
        }
        return 0;
    }
    /* RFC 9207 §2.4: simple string comparison, no normalization. */
    if (as->issuer == NULL || strcmp(iss, as->issuer) != 0) {
        a = shown(iss);
        b = shown(as->issuer != NULL ? as->issuer : "(unknown)");
        *why =
            xasprintf("the authorization response came from issuer %s, not %s; ignoring it", a, b);
        free(a);
        free(b);
        return ERR_INVALID;
    }
    return 0;
}

/* ---- building requests ---- */

static void put_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            buf_append(b, (const char *)&c, 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            buf_append(b, esc, 3);
        }
    }
}

void oauthmeta_form_add(struct buf *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    if (b->len > 0)
        buf_append(b, "&", 1);
    put_encoded(b, name);
    buf_append(b, "=", 1);
    put_encoded(b, value);
}

char *oauthmeta_authorize_url(const struct oauthmeta_as *as, const char *client_id,
                              const char *redirect_uri, const char *code_challenge,
                              const char *state, const char *scope, const char *resource)
{
    struct buf q = {0}, b = {0};
    const char *ep = as->authorization_endpoint;
    size_t eplen = strcspn(ep, "#");

    oauthmeta_form_add(&q, "response_type", "code");
    oauthmeta_form_add(&q, "client_id", client_id);
    oauthmeta_form_add(&q, "redirect_uri", redirect_uri);
    oauthmeta_form_add(&q, "code_challenge", code_challenge);
    oauthmeta_form_add(&q, "code_challenge_method", "S256");
    oauthmeta_form_add(&q, "state", state);
    if (scope != NULL && *scope != '\0')
        oauthmeta_form_add(&q, "scope", scope);
    oauthmeta_form_add(&q, "resource", resource);
    /* OIDC Core §11: offline_access is only honoured with prompt=consent. */
    if (scope != NULL && oauthmeta_scope_covers(scope, "offline_access"))
        oauthmeta_form_add(&q, "prompt", "consent");
    buf_append(&b, ep, eplen);
    /* An endpoint may carry its own query (RFC 6749 §3.1: it MUST be retained). */
    buf_puts(&b, memchr(ep, '?', eplen) == NULL ? "?" : (ep[eplen - 1] == '?' ? "" : "&"));
    buf_puts(&b, q.s);
    buf_free(&q);
    return buf_take(&b);
}

char *oauthmeta_basic_auth(const char *client_id, const char *client_secret)
{
    struct buf b = {0};
    char *enc, *out;

    put_encoded(&b, client_id);
    buf_append(&b, ":", 1);
    put_encoded(&b, client_secret != NULL ? client_secret : "");
    enc = b64_encode(b.s, b.len);
    out = xasprintf("Basic %s", enc);
    explicit_bzero(b.s, b.len);
    explicit_bzero(enc, strlen(enc));
    buf_free(&b);
    free(enc);
    return out;
}

char *oauthmeta_registration_request(const struct oauthmeta_as *as, const char *redirect_uri,
                                     const char *client_name, const char *scope)
{
    cJSON *req = cJSON_CreateObject(), *arr;
    unsigned listed = as != NULL ? as->auth_methods : 0;
    const char *method = "none";
    char *out;

    /* A public client ("none") is what a desktop proxy is (RFC 8252 §8.4); ask for a secret only
     * when the AS will not take public clients. */
    if (listed != 0 && !(listed & OAUTHMETA_AUTH_NONE)) {
        if (listed & OAUTHMETA_AUTH_BASIC)
            method = "client_secret_basic";
        else if (listed & OAUTHMETA_AUTH_POST)
            method = "client_secret_post";
    }
    arr = cJSON_AddArrayToObject(req, "redirect_uris");
    cJSON_AddItemToArray(arr, cJSON_CreateString(redirect_uri));
    cJSON_AddStringToObject(req, "token_endpoint_auth_method", method);
    arr = cJSON_AddArrayToObject(req, "grant_types");
    cJSON_AddItemToArray(arr, cJSON_CreateString("authorization_code"));
    cJSON_AddItemToArray(arr, cJSON_CreateString("refresh_token"));
    arr = cJSON_AddArrayToObject(req, "response_types");
    cJSON_AddItemToArray(arr, cJSON_CreateString("code"));
    cJSON_AddStringToObject(req, "application_type", "native");
    cJSON_AddStringToObject(req, "client_name", client_name);
    if (scope != NULL && *scope != '\0')
        cJSON_AddStringToObject(req, "scope", scope);
    out = json_print(req);
    cJSON_Delete(req);
    return out;
}
