/*
 * oauth.c - the OAuth 2.1 client flow for remote MCP servers; see oauth.h and
 * docs/oauth-design.md (the steps below are numbered as there).
 */
#include "oauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "jwtsign.h"
#include "log.h"
#include "oauth_callback.h"
#include "oauthmeta.h"
#include "pkce.h"
#include "tokenstore.h"
#include "upstream.h"
#include "wwwauth.h"
#include "xmem.h"

#define OAUTH_HTTP_TIMEOUT_MS 15000    /* each discovery, registration or token request */
#define OAUTH_WAIT_MS 10000            /* a request waits this long for a flow it started */
#define OAUTH_JOIN_WAIT_MS 1000        /* ... and this long for one already running */
#define OAUTH_REFRESH_AHEAD_S 60       /* proactive refresh this long before expiry */
#define OAUTH_REFRESH_BACKOFF_MS 30000 /* no proactive refresh this long after one failed */
#define OAUTH_LOCK_WAIT_MS 30000
#define OAUTH_RETRY_PAUSE_MS 30000 /* no new sign-in this long after one failed */
#define OAUTH_MAX_AUTHORIZATIONS 3 /* per request (oauth.md item 35) */
#define OAUTH_PROTOCOL "2025-11-25"

/* One server's OAuth state; fields guarded by oauth.mu except refresh_mu's own. */
struct osrv {
    const struct config_server *srv;
    struct oauth_config cfg;
    char *cfg_error;                   /* why the oauth object is unusable, or NULL */
    struct tokenstore_tokens tok;      /* the tokens in use; access_token NULL when none */
    bool loaded;                       /* tok was read from disk */
    struct tokenstore_client mrclient; /* mcp-remote's client, when its tokens were reused */
    long ch_status;                    /* the last 401/403 and its Bearer challenge */
    char *ch_scope, *ch_rm, *ch_error;
    char *asked_scope; /* the scope the last flow requested */
    bool flow_running;
    char *flow_url;         /* the authorization URL of the running flow */
    unsigned flow_gen;      /* incremented when a flow ends */
    int flow_rc;            /* how the last flow ended */
    int64_t flow_failed_at; /* monotonic ms when the last flow failed, 0 if it did not */
    char *flow_why;
    int64_t refresh_failed_at;  /* monotonic ms of the last failed proactive refresh */
    pthread_mutex_t refresh_mu; /* one refresh at a time in this process */
    struct osrv *next;
};

struct oauth {
    struct http_lib *lib;
    struct http_client *hc; /* created on first use, under mu */
    struct tokenstore *ts;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* flow ends */
    struct osrv *servers;
    int flows;        /* flow threads alive */
    bool interactive; /* browser sign-ins may start (serve) */
    int stopping;     /* atomic: ends flows and requests at shutdown */
};

/* The client a flow or refresh authenticates as. */
struct client {
    enum oauthmeta_client_kind kind;
    char *client_id;
    char *client_secret;
    char *auth_method; /* as registered, or NULL */
    char *assertion;   /* a private_key_jwt client assertion, or NULL */
};

/* What discovery found (steps 2-3). */
struct disc {
    bool have_prm;
    struct oauthmeta_prm prm;
    struct oauthmeta_as as;
};

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void client_clear(struct client *c)
{
    free(c->client_id);
    free_secret(c->client_secret);
    free(c->auth_method);
    free_secret(c->assertion);
    memset(c, 0, sizeof(*c));
}

static void disc_clear(struct disc *d)
{
    oauthmeta_prm_clear(&d->prm);
    oauthmeta_as_clear(&d->as);
    memset(d, 0, sizeof(*d));
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- the object ---- */

struct oauth *oauth_new(struct http_lib *lib, const char *dir)
{
    struct oauth *oa = xcalloc(1, sizeof(*oa));

    oa->lib = lib;
    oa->ts = tokenstore_new(dir, NULL);
    pthread_mutex_init(&oa->mu, NULL);
    pthread_cond_init(&oa->cv, NULL);
    return oa;
}

void oauth_stop(struct oauth *oa)
{
    if (oa == NULL)
        return;
    pthread_mutex_lock(&oa->mu);
    __atomic_store_n(&oa->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&oa->cv);
    pthread_mutex_unlock(&oa->mu);
}

void oauth_free(struct oauth *oa)
{
    struct osrv *s, *next;

    if (oa == NULL)
        return;
    pthread_mutex_lock(&oa->mu);
    __atomic_store_n(&oa->stopping, 1, __ATOMIC_RELEASE);
    while (oa->flows > 0)
        pthread_cond_wait(&oa->cv, &oa->mu);
    pthread_mutex_unlock(&oa->mu);
    for (s = oa->servers; s != NULL; s = next) {
        next = s->next;
        oauth_config_clear(&s->cfg);
        free(s->cfg_error);
        tokenstore_tokens_clear(&s->tok);
        tokenstore_client_clear(&s->mrclient);
        free(s->ch_scope);
        free(s->ch_rm);
        free(s->ch_error);
        free(s->asked_scope);
        free(s->flow_url);
        free(s->flow_why);
        pthread_mutex_destroy(&s->refresh_mu);
        free(s);
    }
    http_client_free(oa->hc);
    tokenstore_free(oa->ts);
    pthread_mutex_destroy(&oa->mu);
    pthread_cond_destroy(&oa->cv);
    free(oa);
}

void oauth_set_interactive(struct oauth *oa, bool on)
{
    if (oa == NULL)
        return;
    pthread_mutex_lock(&oa->mu);
    oa->interactive = on;
    pthread_mutex_unlock(&oa->mu);
}

bool oauth_applies(const struct config_server *srv)
{
    return srv != NULL && (srv->transport == CONFIG_HTTP || srv->transport == CONFIG_SSE) &&
           srv->nheaders == 0 && srv->url != NULL;
}

/* The state of srv, created on first use. Called with oa->mu held. */
static struct osrv *get_srv(struct oauth *oa, const struct config_server *srv)
{
    struct osrv *s;
    char *why = NULL;

    for (s = oa->servers; s != NULL; s = s->next)
        if (s->srv == srv)
            return s;
    s = xcalloc(1, sizeof(*s));
    s->srv = srv;
    if (oauth_config_parse(srv->oauth, &s->cfg, &why) != 0) {
        s->cfg_error = xasprintf("server \"%s\": %s", srv->name, why);
        free(why);
        oauth_config_parse(NULL, &s->cfg, &why);
    }
    pthread_mutex_init(&s->refresh_mu, NULL);
    s->next = oa->servers;
    oa->servers = s;
    return s;
}

/* srv's state with oa->mu held, or NULL (unlocked, *why set) when its oauth object in the
 * config is unusable. */
static struct osrv *lock_usable_srv(struct oauth *oa, const struct config_server *srv, char **why)
{
    struct osrv *s;

    pthread_mutex_lock(&oa->mu);
    s = get_srv(oa, srv);
    if (s->cfg_error == NULL)
        return s;
    *why = xstrdup(s->cfg_error);
    pthread_mutex_unlock(&oa->mu);
    return NULL;
}

/* Step 0: the stored tokens, or mcp-remote's for this exact URL. Called with oa->mu held (file
 * reads only). */
static void load_tokens(struct oauth *oa, struct osrv *s)
{
    char *warning = NULL, *why = NULL, *found = NULL;
    int rc;

    if (s->loaded)
        return;
    s->loaded = true;
    rc = tokenstore_load(oa->ts, s->srv->url, &s->tok, &warning, &why);
    if (warning != NULL)
        LOG_WARN("[%s] %s", s->srv->name, warning);
    free(warning);
    warning = NULL;
    if (rc == ERR_PARSE)
        LOG_WARN("[%s] %s", s->srv->name, why);
    free(why);
    why = NULL;
    if (rc == 0 || rc != ERR_NOT_FOUND)
        return;
    if (tokenstore_mcpremote_read(oa->ts, s->srv->url, &s->tok, &s->mrclient, &found, &why) == 0) {
        LOG_INFO("[%s] reusing mcp-remote's tokens from %s", s->srv->name, found);
        if (tokenstore_save(oa->ts, s->srv->url, &s->tok, &warning, &why) != 0)
            LOG_WARN("[%s] could not copy mcp-remote's tokens: %s", s->srv->name, why);
    }
    free(warning);
    free(why);
    free(found);
}

/* ---- HTTP ---- */

static struct http_client *client_of(struct oauth *oa, char **why)
{
    struct http_client *hc;

    if (http_lib_ensure(oa->lib, why) != 0)
        return NULL;
    pthread_mutex_lock(&oa->mu);
    if (oa->hc == NULL)
        oa->hc = http_client_new(oa->lib);
    hc = oa->hc;
    pthread_mutex_unlock(&oa->mu);
    return hc;
}

/* GET url for a metadata document. Returns 0 with *rs (any status), or an err.h code. */
static int get_doc(struct oauth *oa, const char *url, struct http_response *rs, char **why)
{
    static const char *const hdrs[] = {
        "Accept: application/json",
        "MCP-Protocol-Version: " OAUTH_PROTOCOL,
        "Accept-Encoding: identity",
        NULL,
    };
    struct http_client *hc = client_of(oa, why);
    struct http_request rq = {.method = "GET",
                              .url = url,
                              .headers = hdrs,
                              .deadline_ms = upstream_now_ms() + OAUTH_HTTP_TIMEOUT_MS,
                              .stop = &oa->stopping,
                              .max_body = OAUTHMETA_MAX_DOC};

    memset(rs, 0, sizeof(*rs));
    if (hc == NULL)
        return ERR_IO;
    return http_perform(hc, &rq, rs, why);
}

/* POST body (form or JSON) to url, with an optional Authorization header value. */
static int post(struct oauth *oa, const char *url, bool json, const char *body, const char *authz,
                struct http_response *rs, char **why)
{
    struct http_client *hc = client_of(oa, why);
    const char *hdrs[4];
    char *a = NULL;
    int n = 0, rc;

    memset(rs, 0, sizeof(*rs));
    if (hc == NULL)
        return ERR_IO;
    hdrs[n++] =
        json ? "Content-Type: application/json" : "Content-Type: application/x-www-form-urlencoded";
    hdrs[n++] = "Accept: application/json";
    if (authz != NULL)
        hdrs[n++] = a = xasprintf("Authorization: %s", authz);
    hdrs[n] = NULL;
    struct http_request rq = {.method = "POST",
                              .url = url,
                              .headers = hdrs,
                              .body = body,
                              .body_len = strlen(body),
                              .deadline_ms = upstream_now_ms() + OAUTH_HTTP_TIMEOUT_MS,
                              .stop = &oa->stopping,
                              .max_body = TOKENSTORE_MAX_FILE};
    rc = http_perform(hc, &rq, rs, why);
    free_secret(a);
    return rc;
}

/* ---- steps 2-3: discovery ---- */

static int discover_as(struct oauth *oa, struct osrv *s, const char *issuer, bool lax,
                       struct oauthmeta_as *as, char **why)
{
    struct oauthmeta_urls urls = {0};
    unsigned flags = (lax ? OAUTHMETA_LAX_ISSUER : 0) |
                     (s->cfg.tolerate_no_pkce_list ? OAUTHMETA_TOLERATE_NO_PKCE_LIST : 0);
    int rc = oauthmeta_as_urls(issuer, &urls, why);

    if (rc != 0)
        return rc;
    rc = ERR_NOT_FOUND;
    for (size_t i = 0; i < urls.n; i++) {
        struct http_response rs;
        char *w = NULL, *warning = NULL;
        int r = get_doc(oa, urls.url[i], &rs, &w);

        if (r != 0) {
            LOG_DEBUG("[%s] %s: %s", s->srv->name, urls.url[i], w);
            free(w);
            http_response_clear(&rs);
            if (r == ERR_CLOSED) {
                *why = xstrdup("shutting down");
                rc = ERR_CLOSED;
                break;
            }
            continue;
        }
        if (rs.status == 200) {
            rc = oauthmeta_as_parse(rs.body ? rs.body : "", rs.body_len, issuer, flags, as,
                                    &warning, why);
            if (warning != NULL)
                LOG_WARN("[%s] %s", s->srv->name, warning);
            free(warning);
            http_response_clear(&rs);
            break;
        }
        if (rs.status >= 500) {
            *why = http_status_error(urls.url[i], rs.status, rs.body, rs.body_len);
            http_response_clear(&rs);
            rc = ERR_IO;
            break;
        }
        http_response_clear(&rs);
    }
    if (rc == ERR_NOT_FOUND)
        *why = xasprintf("no authorization server metadata found for %s", issuer);
    oauthmeta_urls_clear(&urls);
    return rc;
}

static int discover(struct oauth *oa, struct osrv *s, const char *header_rm, struct disc *d,
                    char **why)
{
    struct oauthmeta_urls urls = {0};
    char *issuer = NULL;
    int rc = oauthmeta_prm_urls(s->srv->url, header_rm, &urls, why);

    memset(d, 0, sizeof(*d));
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < urls.n; i++) {
        struct http_response rs;
        char *w = NULL;
        int r = get_doc(oa, urls.url[i], &rs, &w);

        if (r != 0) {
            free(w);
            http_response_clear(&rs);
            if (r == ERR_CLOSED) {
                *why = xstrdup("shutting down");
                rc = ERR_CLOSED;
                goto out;
            }
            continue;
        }
        if (rs.status == 200) {
            rc =
                oauthmeta_prm_parse(rs.body ? rs.body : "", rs.body_len, s->srv->url, &d->prm, why);
            http_response_clear(&rs);
            if (rc != 0)
                goto out; /* another resource's metadata: no authorization request at all */
            d->have_prm = true;
            break;
        }
        if (rs.status >= 500) {
            *why = http_status_error(urls.url[i], rs.status, rs.body, rs.body_len);
            http_response_clear(&rs);
            rc = ERR_IO;
            goto out;
        }
        http_response_clear(&rs);
    }
    if (d->have_prm) {
        rc = discover_as(oa, s, d->prm.authorization_servers[0], false, &d->as, why);
        goto out;
    }
    /* 2025-03-26 mode: the server's origin is the authorization server. */
    issuer = oauthmeta_origin(s->srv->url);
    if (issuer == NULL) {
        *why = xasprintf("server \"%s\" has an unusable URL", s->srv->name);
        rc = ERR_INVALID;
        goto out;
    }
    LOG_INFO("[%s] no protected resource metadata; using %s as the authorization server "
             "(2025-03-26 mode)",
             s->srv->name, issuer);
    rc = discover_as(oa, s, issuer, true, &d->as, why);
    if (rc == ERR_NOT_FOUND) {
        free(*why);
        *why = NULL;
        rc = oauthmeta_as_fallback(s->srv->url, &d->as, why);
    }
out:
    free(issuer);
    oauthmeta_urls_clear(&urls);
    if (rc != 0)
        disc_clear(d);
    return rc;
}

/* ---- the token endpoint ---- */

/*
 * POSTs form (the grant's fields) to the token endpoint with the client's authentication.
 * Returns 0 with *out; ERR_INVALID with *oerr set to the OAuth error code (invalid_grant,
 * invalid_client, ...) when the server answered one; else an err.h code. *why never quotes
 * the form.
 */
static int token_request(struct oauth *oa, const struct oauthmeta_as *as, const struct client *cl,
                         struct buf *form, const char *requested_scope,
                         const struct tokenstore_tokens *prev, struct tokenstore_tokens *out,
                         char **oerr, char **why)
{
    enum oauthmeta_auth_method m =
        oauthmeta_auth_method(as, cl->kind, cl->client_secret != NULL, cl->auth_method);
    struct http_response rs;
    char *authz = NULL;
    int rc;

    *oerr = NULL;
    if (cl->assertion != NULL) {
        oauthmeta_form_add(form, "client_id", cl->client_id);
        oauthmeta_form_add(form, "client_assertion_type",
                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        oauthmeta_form_add(form, "client_assertion", cl->assertion);
    } else if (m == OAUTHMETA_AUTH_BASIC) {
        authz = oauthmeta_basic_auth(cl->client_id, cl->client_secret);
    } else if (m == OAUTHMETA_AUTH_POST) {
        oauthmeta_form_add(form, "client_id", cl->client_id);
        oauthmeta_form_add(form, "client_secret", cl->client_secret);
    } else {
        oauthmeta_form_add(form, "client_id", cl->client_id);
    }
    rc = post(oa, as->token_endpoint, false, form->s ? form->s : "", authz, &rs, why);
    free_secret(authz);
    if (rc != 0) {
        http_response_clear(&rs);
        return rc;
    }
    if (rs.status == 200) {
        rc = tokenstore_tokens_from_response(rs.body ? rs.body : "", rs.body_len, now_s(),
                                             requested_scope, prev, out, why);
    } else {
        *oerr = tokenstore_oauth_error(rs.body ? rs.body : "", rs.body_len);
        *why = http_status_error(as->token_endpoint, rs.status, rs.body, rs.body_len);
        rc = *oerr != NULL ? ERR_INVALID : ERR_IO;
    }
    if (rs.body != NULL)
        explicit_bzero(rs.body, rs.body_len);
    http_response_clear(&rs);
    return rc;
}

/* The resource parameter for srv (step 5.2), or NULL when configured off. */
static char *resource_of(const struct osrv *s, const struct disc *d)
{
    if (s->cfg.omit_resource)
        return NULL;
    return oauthmeta_resource(s->srv->url, d->have_prm ? &d->prm : NULL);
}

/* Saves fresh tokens and makes them the ones in use. */
static void adopt_tokens(struct oauth *oa, struct osrv *s, struct tokenstore_tokens *t)
{
    char *warning = NULL, *why = NULL;

    if (tokenstore_save(oa->ts, s->srv->url, t, &warning, &why) != 0)
        LOG_WARN("[%s] could not store the tokens: %s", s->srv->name, why);
    if (warning != NULL)
        LOG_WARN("[%s] %s", s->srv->name, warning);
    free(warning);
    free(why);
    pthread_mutex_lock(&oa->mu);
    tokenstore_tokens_clear(&s->tok);
    s->tok = *t;
    s->loaded = true;
    memset(t, 0, sizeof(*t));
    pthread_mutex_unlock(&oa->mu);
}

/* ---- step 4: client identity ---- */

/* The registration stored for issuer, when usable with redirect_uri (NULL: any). */
static bool stored_client(struct oauth *oa, const char *issuer, const char *redirect_uri,
                          struct tokenstore_client *out)
{
    char *warning = NULL, *why = NULL;
    int rc = tokenstore_client_load(oa->ts, issuer, out, &warning, &why);

    free(warning);
    free(why);
    if (rc != 0)
        return false;
    if (tokenstore_client_expired(out, now_s()) ||
        (redirect_uri != NULL &&
         (out->redirect_uri == NULL || strcmp(out->redirect_uri, redirect_uri) != 0))) {
        tokenstore_client_clear(out);
        return false;
    }
    return true;
}

/* Chooses the client for a flow at as, registering when needed (DCR). */

/*
 * The client identities that need no registration, in the specification's order: a
 * pre-registered client from the config, then a Client ID Metadata Document when the
 * authorization server supports it. Fills cl and returns true for those; otherwise clears cl,
 * marks it for dynamic registration and returns false.
 */
static bool configured_client(const struct osrv *s, const struct oauthmeta_as *as,
                              struct client *cl)
{
    memset(cl, 0, sizeof(*cl));
    if (s->cfg.client_id != NULL) {
        cl->kind = OAUTHMETA_CLIENT_PREREGISTERED;
        cl->client_id = xstrdup(s->cfg.client_id);
        cl->client_secret = s->cfg.client_secret ? xstrdup(s->cfg.client_secret) : NULL;
        return true;
    }
    if (s->cfg.client_metadata_url != NULL && as->cimd_supported) {
        cl->kind = OAUTHMETA_CLIENT_CIMD;
        cl->client_id = xstrdup(s->cfg.client_metadata_url);
        return true;
    }
    cl->kind = OAUTHMETA_CLIENT_DCR;
    return false;
}

static int get_client(struct oauth *oa, struct osrv *s, const struct oauthmeta_as *as,
                      const char *redirect_uri, const char *scope, struct client *cl, char **why)
{
    struct tokenstore_client tc = {0};
    struct http_response rs;
    char *body, *warning = NULL;
    int rc;

    if (configured_client(s, as, cl))
        return 0;
    if (stored_client(oa, as->issuer, redirect_uri, &tc))
        goto have;
    if (as->registration_endpoint == NULL) {
        *why = xasprintf("server \"%s\": the authorization server %s offers no dynamic client "
                         "registration; register a client there and set oauth.client_id (and "
                         "oauth.client_secret) in the server's config entry",
                         s->srv->name, as->issuer);
        return ERR_INVALID;
    }
    body = oauthmeta_registration_request(as, redirect_uri, "mcpzip", scope);
    rc = post(oa, as->registration_endpoint, true, body, NULL, &rs, why);
    free(body);
    if (rc != 0) {
        http_response_clear(&rs);
        return rc;
    }
    if (rs.status != 200 && rs.status != 201) {
        *why = http_status_error(as->registration_endpoint, rs.status, rs.body, rs.body_len);
        http_response_clear(&rs);
        return ERR_IO;
    }
    rc = tokenstore_client_from_registration(rs.body ? rs.body : "", rs.body_len, as->issuer,
                                             redirect_uri, &tc, why);
    if (rs.body != NULL)
        explicit_bzero(rs.body, rs.body_len);
    http_response_clear(&rs);
    if (rc != 0)
        return rc;
    if (tc.redirect_uri == NULL)
        tc.redirect_uri = xstrdup(redirect_uri);
    if (tokenstore_client_save(oa->ts, &tc, &warning, why) != 0) {
        LOG_WARN("[%s] could not store the client registration: %s", s->srv->name, *why);
        free(*why);
        *why = NULL;
    }
    free(warning);
    LOG_INFO("[%s] registered as a client at %s", s->srv->name, as->issuer);
have:
    cl->client_id = tc.client_id;
    cl->client_secret = tc.client_secret;
    cl->auth_method = tc.auth_method;
    tc.client_id = tc.client_secret = tc.auth_method = NULL;
    tokenstore_client_clear(&tc);
    return 0;
}

/* The port number at the start of s ("1234/oauth/callback"), or 0. */
static int port_of(const char *s)
{
    char *end;
    long p = strtol(s, &end, 10);

    return end != s && *end == '/' && p > 0 && p < 65536 ? (int)p : 0;
}

/* The callback port (step 4): configured, else the stored registration's, else derived from
 * the server URL as mcp-remote does (3335 + first 16 bits of its hash % 45816). */
static int choose_port(struct oauth *oa, struct osrv *s, const char *issuer)
{
    struct tokenstore_client tc = {0};
    char hash[33];
    int port = 0;

    if (s->cfg.redirect_port > 0)
        return s->cfg.redirect_port;
    if (s->cfg.client_id == NULL && stored_client(oa, issuer, NULL, &tc) &&
        tc.redirect_uri != NULL && strncmp(tc.redirect_uri, "http://127.0.0.1:", 17) == 0)
        port = port_of(tc.redirect_uri + 17);
    tokenstore_client_clear(&tc);
    if (port > 0)
        return port;
    tokenstore_mcpremote_hash(s->srv->url, hash);
    return 3335 +
           (int)(strtoul((char[5]){hash[0], hash[1], hash[2], hash[3], 0}, NULL, 16) % 45816);
}

/* ---- step 5: the flow ---- */

static int check_iss(void *ud, const struct oauth_callback_params *p, char **why)
{
    return oauthmeta_check_iss(ud, p->iss, why);
}

static void form_clear(struct buf *form)
{
    if (form->s != NULL)
        explicit_bzero(form->s, form->len);
    buf_free(form);
}

/* The client_credentials grant (no browser). */
static int run_client_credentials(struct oauth *oa, struct osrv *s, const struct disc *d,
                                  const char *scope, const char *resource,
                                  struct tokenstore_tokens *tok, char **why)
{
    struct client cl = {.kind = OAUTHMETA_CLIENT_PREREGISTERED};
    struct buf form = {0};
    char *oerr = NULL;
    int rc;

    cl.client_id = xstrdup(s->cfg.client_id);
    if (s->cfg.client_secret != NULL) {
        cl.client_secret = xstrdup(s->cfg.client_secret);
        cl.auth_method = xstrdup("client_secret_basic");
    } else {
        char *pem = NULL;
        size_t len = 0;

        rc = fsutil_read_file(s->cfg.private_key_file, JWTSIGN_MAX_KEY, &pem, &len, why);
        if (rc == 0) {
            cl.assertion = jwtsign_client_assertion(pem, len, s->cfg.signing_alg, cl.client_id,
                                                    d->as.issuer, now_s(), why);
            explicit_bzero(pem, len);
        }
        free(pem);
        if (cl.assertion == NULL) {
            char *msg = xasprintf("server \"%s\": oauth.private_key_file: %s", s->srv->name,
                                  *why ? *why : "unreadable");

            free(*why);
            *why = msg;
            client_clear(&cl);
            return ERR_INVALID;
        }
    }
    oauthmeta_form_add(&form, "grant_type", "client_credentials");
    oauthmeta_form_add(&form, "scope", scope);
    oauthmeta_form_add(&form, "resource", resource);
    rc = token_request(oa, &d->as, &cl, &form, scope, NULL, tok, &oerr, why);
    free(oerr);
    form_clear(&form);
    client_clear(&cl);
    return rc;
}

/* Steps 2-5: obtains tokens for s and makes them the ones in use. Runs on a flow thread or in
 * the foreground (`mcpzip auth login`). */
static int run_flow(struct oauth *oa, struct osrv *s, const char *ch_rm, const char *ch_scope,
                    const char *base_scope, int paste_fd, char **why)
{
    struct disc d;
    struct client cl = {0};
    struct pkce pk;
    struct oauth_listener *l = NULL;
    struct oauth_callback_params cb = {0};
    struct tokenstore_tokens tok = {0};
    struct buf form = {0};
    char *scope = NULL, *resource = NULL, *redirect = NULL, *url = NULL, *oerr = NULL, *msg;
    int rc, port, bound = 0;

    memset(&pk, 0, sizeof(pk));
    rc = discover(oa, s, ch_rm, &d, why);
    if (rc != 0) {
        msg = xasprintf("server \"%s\": OAuth discovery failed: %s", s->srv->name, *why);
        free(*why);
        *why = msg;
        return rc == ERR_NOT_FOUND ? ERR_IO : rc;
    }
    resource = resource_of(s, &d);
    scope =
        oauthmeta_scope_select(s->cfg.scopes, ch_scope, d.have_prm ? &d.prm : NULL, &d.as, true);
    if (base_scope != NULL) {
        char *u = oauthmeta_scope_union(base_scope, scope);

        free(scope);
        scope = u;
    }
    pthread_mutex_lock(&oa->mu);
    free(s->asked_scope);
    s->asked_scope = scope != NULL ? xstrdup(scope) : NULL;
    pthread_mutex_unlock(&oa->mu);
    if (s->cfg.client_credentials) {
        rc = run_client_credentials(oa, s, &d, scope, resource, &tok, why);
        goto done;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = pkce_new(&pk, why);
        if (rc != 0)
            goto out;
        port = choose_port(oa, s, d.as.issuer);
        rc = oauth_listener_start(port, pk.state, check_iss, &d.as, &l, &bound, why);
        if (rc != 0 && s->cfg.redirect_port == 0) {
            LOG_DEBUG("[%s] %s; using any free port", s->srv->name, *why);
            free(*why);
            *why = NULL;
            rc = oauth_listener_start(0, pk.state, check_iss, &d.as, &l, &bound, why);
        }
        if (rc != 0)
            goto out;
        free(redirect);
        redirect = xasprintf("http://127.0.0.1:%d" OAUTH_CALLBACK_PATH, bound);
        client_clear(&cl);
        rc = get_client(oa, s, &d.as, redirect, scope, &cl, why);
        if (rc != 0)
            goto out;
        free(url);
        url = oauthmeta_authorize_url(&d.as, cl.client_id, redirect, pk.challenge, pk.state, scope,
                                      resource);
        pthread_mutex_lock(&oa->mu);
        free(s->flow_url);
        s->flow_url = xstrdup(url);
        pthread_mutex_unlock(&oa->mu);
        LOG_INFO("[%s] waiting for the sign-in at %s (callback on 127.0.0.1:%d)", s->srv->name,
                 d.as.issuer, bound);
        oauth_browser_open(s->srv->name, url);
        rc = oauth_listener_wait(l, s->cfg.timeout_seconds * 1000, &oa->stopping, paste_fd, &cb,
                                 why);
        oauth_listener_stop(l);
        l = NULL;
        if (rc != 0) {
            msg = xasprintf("server \"%s\": sign-in not completed: %s", s->srv->name, *why);
            free(*why);
            *why = msg;
            goto out;
        }
        if (cb.error != NULL) {
            *why = xasprintf("server \"%s\": the authorization server refused the sign-in: "
                             "%.100s%s%.300s",
                             s->srv->name, cb.error, cb.error_description ? ": " : "",
                             cb.error_description ? cb.error_description : "");
            rc = ERR_NEEDS_AUTH;
            goto out;
        }
        form_clear(&form);
        oauthmeta_form_add(&form, "grant_type", "authorization_code");
        oauthmeta_form_add(&form, "code", cb.code);
        oauthmeta_form_add(&form, "code_verifier", pk.verifier);
        oauthmeta_form_add(&form, "redirect_uri", redirect);
        oauthmeta_form_add(&form, "resource", resource);
        oauth_callback_params_clear(&cb);
        pkce_clear(&pk);
        free(oerr);
        oerr = NULL;
        rc = token_request(oa, &d.as, &cl, &form, scope, NULL, &tok, &oerr, why);
        if (rc == ERR_INVALID && oerr != NULL && cl.kind == OAUTHMETA_CLIENT_DCR && attempt == 0 &&
            (strcmp(oerr, "invalid_client") == 0 || strcmp(oerr, "unauthorized_client") == 0)) {
            LOG_INFO("[%s] the authorization server no longer knows our registration; "
                     "registering again",
                     s->srv->name);
            free(*why);
            *why = NULL;
            tokenstore_client_delete(oa->ts, d.as.issuer, NULL);
            continue;
        }
        break;
    }
done:
    if (rc == 0) {
        tok.issuer = xstrdup(d.as.issuer);
        tok.resource = resource != NULL ? xstrdup(resource) : NULL;
        adopt_tokens(oa, s, &tok);
        LOG_INFO("[%s] authorized by %s%s%s", s->srv->name, d.as.issuer,
                 scope ? " with scope " : "", scope ? scope : "");
    } else if (*why != NULL && strstr(*why, s->srv->name) == NULL) {
        msg = xasprintf("server \"%s\": %s", s->srv->name, *why);
        free(*why);
        *why = msg;
    }
out:
    oauth_listener_stop(l);
    oauth_callback_params_clear(&cb);
    pkce_clear(&pk);
    form_clear(&form);
    client_clear(&cl);
    tokenstore_tokens_clear(&tok);
    disc_clear(&d);
    free(scope);
    free(resource);
    free(redirect);
    free(url);
    free(oerr);
    return rc;
}

struct flow_args {
    struct oauth *oa;
    struct osrv *s;
    char *rm, *scope, *base;
};

static void *flow_main(void *arg)
{
    struct flow_args *fa = arg;
    struct oauth *oa = fa->oa;
    struct osrv *s = fa->s;
    char *why = NULL;
    int rc = run_flow(oa, s, fa->rm, fa->scope, fa->base, -1, &why);

    if (rc != 0)
        LOG_WARN("%s", why != NULL ? why : "sign-in failed");
    pthread_mutex_lock(&oa->mu);
    s->flow_running = false;
    s->flow_rc = rc;
    free(s->flow_why);
    s->flow_why = rc != 0 ? (why != NULL ? why : xstrdup("sign-in failed")) : NULL;
    s->flow_failed_at = rc != 0 ? upstream_now_ms() : 0;
    if (rc == 0)
        free(why);
    free(s->flow_url);
    s->flow_url = NULL;
    s->flow_gen++;
    oa->flows--;
    pthread_cond_broadcast(&oa->cv);
    pthread_mutex_unlock(&oa->mu);
    free(fa->rm);
    free(fa->scope);
    free(fa->base);
    free(fa);
    return NULL;
}

/* Starts a flow for s unless one runs. Called with oa->mu held. Returns 0 or ERR_IO. */
static int start_flow_locked(struct oauth *oa, struct osrv *s, const char *rm, const char *scope,
                             const char *base)
{
    struct flow_args *fa;
    pthread_t th;

    if (s->flow_running)
        return 0;
    if (__atomic_load_n(&oa->stopping, __ATOMIC_ACQUIRE))
        return ERR_SHUTDOWN;
    fa = xcalloc(1, sizeof(*fa));
    fa->oa = oa;
    fa->s = s;
    fa->rm = rm ? xstrdup(rm) : NULL;
    fa->scope = scope ? xstrdup(scope) : NULL;
    fa->base = base ? xstrdup(base) : NULL;
    if (pthread_create(&th, NULL, flow_main, fa) != 0) {
        free(fa->rm);
        free(fa->scope);
        free(fa->base);
        free(fa);
        return ERR_IO;
    }
    pthread_detach(th);
    s->flow_running = true;
    oa->flows++;
    return 0;
}

static char *pending_msg(const struct osrv *s)
{
    if (s->flow_url == NULL)
        return xasprintf("server \"%s\" needs authorization; the sign-in is being prepared, try "
                         "again in a moment",
                         s->srv->name);
    return xasprintf("server \"%s\" is waiting for you to sign in (authorization pending): open "
                     "%s in a browser, or run `mcpzip auth login %s` in a terminal",
                     s->srv->name, s->flow_url, s->srv->name);
}

/* Starts (or joins) the flow and waits for it a little. */
static int run_or_wait(struct oauth *oa, struct osrv *s, const char *rm, const char *scope,
                       const char *base, int64_t deadline, struct cancel *cancel,
                       struct oauth_try *tr, char **why)
{
    bool started;
    int64_t limit;
    unsigned gen;
    int rc;

    pthread_mutex_lock(&oa->mu);
    started = !s->flow_running;
    if (started && !oa->interactive && !s->cfg.client_credentials) {
        *why = xasprintf("server \"%s\" needs you to sign in: run `mcpzip auth login %s`",
                         s->srv->name, s->srv->name);
        pthread_mutex_unlock(&oa->mu);
        return ERR_NEEDS_AUTH;
    }
    if (started && s->flow_rc != 0 && s->flow_why != NULL &&
        upstream_now_ms() - s->flow_failed_at < OAUTH_RETRY_PAUSE_MS) {
        /* The last sign-in failed moments ago: say why rather than open the browser again. */
        *why = xstrdup(s->flow_why);
        pthread_mutex_unlock(&oa->mu);
        return ERR_NEEDS_AUTH;
    }
    rc = start_flow_locked(oa, s, rm, scope, base);
    if (rc != 0) {
        pthread_mutex_unlock(&oa->mu);
        *why = xasprintf("server \"%s\" needs authorization, but the sign-in could not start",
                         s->srv->name);
        return ERR_NEEDS_AUTH;
    }
    gen = s->flow_gen;
    limit = upstream_now_ms() + (started ? OAUTH_WAIT_MS : OAUTH_JOIN_WAIT_MS);
    if (deadline > 0 && deadline - 500 < limit)
        limit = deadline - 500;
    while (s->flow_gen == gen && upstream_now_ms() < limit && !cancel_fired(cancel) &&
           !__atomic_load_n(&oa->stopping, __ATOMIC_ACQUIRE)) {
        struct timespec ts = upstream_wall_after(50);

        pthread_cond_timedwait(&oa->cv, &oa->mu, &ts);
    }
    if (s->flow_gen != gen) {
        if (s->flow_rc == 0) {
            tr->authorizations++;
            rc = 0;
        } else {
            *why = xstrdup(s->flow_why != NULL ? s->flow_why : "sign-in failed");
            rc = ERR_NEEDS_AUTH;
        }
    } else {
        *why = pending_msg(s);
        rc = ERR_NEEDS_AUTH;
    }
    pthread_mutex_unlock(&oa->mu);
    return rc;
}

/* ---- step 6: refresh ---- */

/* The client to refresh with at as. */
static int refresh_client(struct oauth *oa, struct osrv *s, const struct oauthmeta_as *as,
                          struct client *cl, char **why)
{
    struct tokenstore_client tc = {0};

    if (configured_client(s, as, cl))
        return 0;
    if (stored_client(oa, as->issuer, NULL, &tc)) {
        cl->client_id = tc.client_id;
        cl->client_secret = tc.client_secret;
        cl->auth_method = tc.auth_method;
        tc.client_id = tc.client_secret = tc.auth_method = NULL;
        tokenstore_client_clear(&tc);
        return 0;
    }
    pthread_mutex_lock(&oa->mu);
    if (s->mrclient.client_id != NULL) {
        /* mcp-remote's registration: bind it to the issuer we now know. */
        free(s->mrclient.issuer);
        s->mrclient.issuer = xstrdup(as->issuer);
        cl->client_id = xstrdup(s->mrclient.client_id);
        cl->client_secret = s->mrclient.client_secret ? xstrdup(s->mrclient.client_secret) : NULL;
        cl->auth_method = s->mrclient.auth_method ? xstrdup(s->mrclient.auth_method) : NULL;
        tokenstore_client_save(oa->ts, &s->mrclient, NULL, NULL);
        pthread_mutex_unlock(&oa->mu);
        return 0;
    }
    pthread_mutex_unlock(&oa->mu);
    *why = xasprintf("no client registration at %s to refresh with", as->issuer);
    return ERR_NOT_FOUND;
}

/*
 * Refreshes s's tokens unless another thread or process already replaced `stale` (NULL: the
 * tokens are due). Returns 0 when fresh tokens are in use; ERR_NEEDS_AUTH when the refresh
 * token was refused (the tokens are dropped); ERR_NOT_FOUND when there is no refresh token;
 * another err.h code on failure. *why set on error.
 */
static int refresh(struct oauth *oa, struct osrv *s, const char *stale, char **why)
{
    struct tokenstore_lock *lk = NULL;
    struct tokenstore_tokens disk = {0}, fresh = {0};
    struct oauthmeta_as as = {0};
    struct disc d = {0};
    struct client cl = {0};
    struct buf form = {0};
    char *w = NULL, *oerr = NULL, *resource = NULL;
    int rc;

    pthread_mutex_lock(&s->refresh_mu);
    rc = tokenstore_lock(oa->ts, s->srv->url, OAUTH_LOCK_WAIT_MS, &lk, why);
    if (rc != 0)
        goto out;
    rc = tokenstore_load(oa->ts, s->srv->url, &disk, &w, why);
    free(w);
    w = NULL;
    if (rc != 0) {
        if (rc == ERR_NOT_FOUND) {
            free(*why);
            *why = xstrdup("no stored tokens to refresh");
        }
        goto out;
    }
    if ((stale == NULL || strcmp(disk.access_token, stale) != 0) &&
        !tokenstore_expires_within(&disk, now_s(), OAUTH_REFRESH_AHEAD_S)) {
        /* Another thread or process refreshed meanwhile. */
        pthread_mutex_lock(&oa->mu);
        tokenstore_tokens_clear(&s->tok);
        s->tok = disk;
        memset(&disk, 0, sizeof(disk));
        pthread_mutex_unlock(&oa->mu);
        rc = 0;
        goto out;
    }
    if (disk.refresh_token == NULL) {
        *why = xstrdup("no refresh token");
        rc = ERR_NOT_FOUND;
        goto out;
    }
    if (disk.issuer != NULL) {
        rc = discover_as(oa, s, disk.issuer, false, &as, why);
    } else {
        rc = discover(oa, s, NULL, &d, why);
        if (rc == 0) {
            as = d.as;
            memset(&d.as, 0, sizeof(d.as));
        }
    }
    if (rc != 0)
        goto out;
    rc = refresh_client(oa, s, &as, &cl, why);
    if (rc != 0)
        goto out;
    if (!s->cfg.omit_resource)
        resource = disk.resource ? xstrdup(disk.resource) : oauthmeta_resource(s->srv->url, NULL);
    oauthmeta_form_add(&form, "grant_type", "refresh_token");
    oauthmeta_form_add(&form, "refresh_token", disk.refresh_token);
    oauthmeta_form_add(&form, "resource", resource);
    rc = token_request(oa, &as, &cl, &form, disk.scope, &disk, &fresh, &oerr, why);
    if (rc == 0) {
        fresh.issuer = xstrdup(as.issuer);
        fresh.resource = resource ? xstrdup(resource) : NULL;
        adopt_tokens(oa, s, &fresh);
        LOG_INFO("[%s] refreshed the access token", s->srv->name);
    } else if (oerr != NULL && strcmp(oerr, "invalid_grant") == 0) {
        LOG_INFO("[%s] the refresh token was refused (invalid_grant); a new sign-in is needed",
                 s->srv->name);
        tokenstore_delete(oa->ts, s->srv->url, NULL);
        pthread_mutex_lock(&oa->mu);
        tokenstore_tokens_clear(&s->tok);
        pthread_mutex_unlock(&oa->mu);
        rc = ERR_NEEDS_AUTH;
    }
out:
    tokenstore_unlock(lk);
    pthread_mutex_unlock(&s->refresh_mu);
    tokenstore_tokens_clear(&disk);
    tokenstore_tokens_clear(&fresh);
    oauthmeta_as_clear(&as);
    disc_clear(&d);
    client_clear(&cl);
    form_clear(&form);
    free(oerr);
    free(resource);
    return rc;
}

/* ---- the interface ---- */

char *oauth_header(struct oauth *oa, const struct config_server *srv)
{
    struct osrv *s;
    char *h = NULL;

    pthread_mutex_lock(&oa->mu);
    s = get_srv(oa, srv);
    load_tokens(oa, s);
    if (s->tok.access_token != NULL && s->tok.refresh_token != NULL &&
        tokenstore_expires_within(&s->tok, now_s(), OAUTH_REFRESH_AHEAD_S) &&
        (s->refresh_failed_at == 0 ||
         upstream_now_ms() - s->refresh_failed_at > OAUTH_REFRESH_BACKOFF_MS)) {
        char *stale = xstrdup(s->tok.access_token), *why = NULL;
        int rc;

        pthread_mutex_unlock(&oa->mu);
        rc = refresh(oa, s, stale, &why);
        free_secret(stale);
        if (rc != 0)
            LOG_INFO("[%s] could not refresh the access token ahead of expiry: %s", srv->name,
                     why ? why : err_str(rc));
        free(why);
        pthread_mutex_lock(&oa->mu);
        if (rc != 0)
            s->refresh_failed_at = upstream_now_ms();
    }
    if (s->tok.access_token != NULL)
        h = xasprintf("Authorization: Bearer %s", s->tok.access_token);
    pthread_mutex_unlock(&oa->mu);
    return h;
}

void oauth_header_free(char *h)
{
    free_secret(h);
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v != NULL ? xstrdup(v) : NULL;
}

bool oauth_challenge(struct oauth *oa, const struct config_server *srv, long status,
                     const char *const *lines, size_t n)
{
    struct wwwauth *wa = wwwauth_new();
    struct wwwauth_bearer b;
    struct osrv *s;
    bool asks;

    for (size_t i = 0; i < n; i++) {
        char *why = NULL;

        if (wwwauth_add(wa, lines[i], strlen(lines[i]), &why) != 0)
            LOG_DEBUG("[%s] WWW-Authenticate: %s", srv->name, why);
        free(why);
    }
    wwwauth_bearer(wa, &b);
    asks = status == 401 ||
           (status == 403 && b.error != NULL && strcmp(b.error, "insufficient_scope") == 0);
    pthread_mutex_lock(&oa->mu);
    s = get_srv(oa, srv);
    s->ch_status = status;
    set_str(&s->ch_scope, b.scope);
    set_str(&s->ch_rm, b.resource_metadata);
    set_str(&s->ch_error, b.error);
    pthread_mutex_unlock(&oa->mu);
    wwwauth_free(wa);
    return asks;
}

int oauth_denied(struct oauth *oa, const struct config_server *srv, struct oauth_try *tr,
                 int64_t deadline_ms, struct cancel *cancel, char **why)
{
    struct osrv *s;
    char *rm, *scope, *sent, *granted, *asked, *base = NULL, *w = NULL;
    long status;
    int rc;

    s = lock_usable_srv(oa, srv, why);
    if (s == NULL)
        return ERR_INVALID;
    load_tokens(oa, s);
    status = s->ch_status;
    rm = s->ch_rm ? xstrdup(s->ch_rm) : NULL;
    scope = s->ch_scope ? xstrdup(s->ch_scope) : NULL;
    sent = s->tok.access_token ? xstrdup(s->tok.access_token) : NULL;
    granted = s->tok.scope ? xstrdup(s->tok.scope) : NULL;
    asked = s->asked_scope ? xstrdup(s->asked_scope) : NULL;
    pthread_mutex_unlock(&oa->mu);
    if (tr->authorizations >= OAUTH_MAX_AUTHORIZATIONS) {
        *why = xasprintf("server \"%s\" still refuses the request after %d authorizations",
                         srv->name, tr->authorizations);
        rc = ERR_IO;
    } else if (status == 403) {
        if (sent != NULL && scope != NULL && granted != NULL &&
            oauthmeta_scope_covers(granted, scope)) {
            *why = xasprintf("server \"%s\" refused the request for lack of scope (it asks for "
                             "\"%.200s\", which was already granted); authorizing again cannot "
                             "help",
                             srv->name, scope);
            rc = ERR_IO;
        } else {
            base = oauthmeta_scope_union(asked, granted);
            LOG_INFO("[%s] the server asks for more scope (%s); authorizing again", srv->name,
                     scope ? scope : "unspecified");
            rc = run_or_wait(oa, s, rm, scope, base, deadline_ms, cancel, tr, why);
        }
    } else if (tr->authorizations > 0) {
        *why = xasprintf("server \"%s\" returned 401 right after a successful authorization",
                         srv->name);
        rc = ERR_IO;
    } else {
        rc = -1;
        if (sent != NULL && tr->refreshes == 0) {
            tr->refreshes++;
            rc = refresh(oa, s, sent, &w);
            if (rc != 0)
                LOG_DEBUG("[%s] refresh after 401: %s", srv->name, w ? w : err_str(rc));
            free(w);
        }
        if (rc != 0)
            rc = run_or_wait(oa, s, rm, scope, NULL, deadline_ms, cancel, tr, why);
    }
    free(rm);
    free(scope);
    free_secret(sent);
    free(granted);
    free(asked);
    free(base);
    return rc;
}

bool oauth_pending(struct oauth *oa, const struct config_server *srv, char **why)
{
    struct osrv *s;
    bool pending;

    pthread_mutex_lock(&oa->mu);
    s = get_srv(oa, srv);
    pending = s->flow_running;
    if (pending)
        *why = pending_msg(s);
    pthread_mutex_unlock(&oa->mu);
    return pending;
}

static void probe_header(void *ud, const char *name, const char *value)
{
    oauth_capture_header(ud, name, value);
}

static bool probe_data(void *ud, const char *data, size_t len)
{
    (void)ud;
    (void)data;
    (void)len;
    return false; /* only the status and headers matter */
}

/* Learns the server's challenge (resource_metadata, scope) the way a request would: an
 * unauthenticated initialize (or, for legacy SSE, the event stream's GET). */
static void probe(struct oauth *oa, struct osrv *s)
{
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"" OAUTH_PROTOCOL "\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"mcpzip\",\"version\":\"" MCPZIP_VERSION "\"}}}";
    static const char *const post_hdrs[] = {"Content-Type: application/json",
                                            "Accept: application/json, text/event-stream", NULL};
    static const char *const get_hdrs[] = {"Accept: text/event-stream", NULL};
    struct oauth_capture c = {0};
    char *why = NULL;
    bool sse = s->srv->transport == CONFIG_SSE;
    struct http_client *hc = client_of(oa, &why);
    struct http_request rq = {.method = sse ? "GET" : "POST",
                              .url = s->srv->url,
                              .headers = sse ? get_hdrs : post_hdrs,
                              .body = sse ? NULL : body,
                              .body_len = sse ? 0 : strlen(body),
                              .deadline_ms = upstream_now_ms() + OAUTH_HTTP_TIMEOUT_MS,
                              .stop = &oa->stopping,
                              .on_header = probe_header,
                              .on_data = probe_data,
                              .ud = &c};
    struct http_response rs = {0};

    if (hc != NULL && http_perform(hc, &rq, &rs, &why) == 0 &&
        (rs.status == 401 || rs.status == 403))
        oauth_challenge(oa, s->srv, rs.status, (const char *const *)c.lines, c.n);
    free(why);
    http_response_clear(&rs);
    oauth_capture_clear(&c);
}

int oauth_login(struct oauth *oa, const struct config_server *srv, int paste_fd, char **why)
{
    struct osrv *s;
    char *rm, *scope;
    int rc;

    s = lock_usable_srv(oa, srv, why);
    if (s == NULL)
        return ERR_INVALID;
    pthread_mutex_unlock(&oa->mu);
    probe(oa, s);
    pthread_mutex_lock(&oa->mu);
    rm = s->ch_rm ? xstrdup(s->ch_rm) : NULL;
    scope = s->ch_scope ? xstrdup(s->ch_scope) : NULL;
    pthread_mutex_unlock(&oa->mu);
    rc = run_flow(oa, s, rm, scope, NULL, paste_fd, why);
    free(rm);
    free(scope);
    return rc;
}

void oauth_capture_header(struct oauth_capture *c, const char *name, const char *value)
{
    size_t len;

    if (strcasecmp(name, "www-authenticate") != 0)
        return;
    len = strlen(value);
    if (c->n >= sizeof(c->lines) / sizeof(c->lines[0]) || c->bytes + len > WWWAUTH_MAX_BYTES)
        return;
    c->lines[c->n++] = xstrdup(value);
    c->bytes += len;
}

bool oauth_capture_done(struct oauth *oa, const struct config_server *srv, long status,
                        const struct oauth_capture *c)
{
    return oauth_challenge(oa, srv, status, (const char *const *)c->lines, c->n);
}

void oauth_capture_clear(struct oauth_capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    memset(c, 0, sizeof(*c));
}
