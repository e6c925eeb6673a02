/*
 * http.c - libcurl, loaded on first use, and pooled per-server clients; see http.h.
 */
#include "http.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define HTTP_POOL_MAX 8
#define HTTP_CONNECT_TIMEOUT_MS 10000L
#define HTTP_MAX_REDIRS 5L

/* The libcurl entry points mcpzip uses, resolved by dlsym. */
struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    void (*easy_reset)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *u);
    CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
    void (*free)(void *p);
};

struct http_lib {
    pthread_mutex_t mu;
    bool tried;
    bool ok;
    char *error; /* why loading failed */
    void *handle;
    struct curl_api api;
    char *user_agent;
};

struct http_client {
    struct http_lib *lib;
    pthread_mutex_t mu;
    CURL *pool[HTTP_POOL_MAX]; /* idle handles, each with its connection cache */
    int npool;
};

struct xfer {
    const struct http_request *rq;
    struct http_response *rs;
    struct http_lib *lib;
    bool cancelled, timed_out, stopped_by_owner;
};

struct http_lib *http_lib_new(const char *user_agent)
{
    struct http_lib *lib = xcalloc(1, sizeof(*lib));

    pthread_mutex_init(&lib->mu, NULL);
    lib->user_agent = xstrdup(user_agent);
    return lib;
}

void http_lib_free(struct http_lib *lib)
{
    if (lib == NULL)
        return;
    /* libcurl stays loaded until exit: other threads' handles may still refer to it. */
    free(lib->error);
    free(lib->user_agent);
    pthread_mutex_destroy(&lib->mu);
    free(lib);
}

#define LOAD(field, name)                                 \
    do {                                                  \
        *(void **)&api->field = dlsym(lib->handle, name); \
        if (api->field == NULL) {                         \
            missing = name;                               \
            goto fail;                                    \
        }                                                 \
    } while (0)

int http_lib_ensure(struct http_lib *lib, char **why)
{
    struct curl_api *api = &lib->api;
    const char *missing = NULL;

    pthread_mutex_lock(&lib->mu);
    if (lib->tried)
        goto out;
    lib->tried = true;
    lib->handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib->handle == NULL) {
        lib->error = xasprintf("remote servers need libcurl, which could not be loaded (%s); "
                               "install it (Debian/Ubuntu: apt-get install libcurl4)",
                               dlerror());
        goto out;
    }
    LOAD(global_init, "curl_global_init");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_reset, "curl_easy_reset");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    LOAD(url, "curl_url");
    LOAD(url_cleanup, "curl_url_cleanup");
    LOAD(url_set, "curl_url_set");
    LOAD(url_get, "curl_url_get");
    LOAD(free, "curl_free");
    if (api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        lib->error = xstrdup("libcurl failed to initialize");
        goto out;
    }
    lib->ok = true;
    LOG_DEBUG("libcurl loaded");
    goto out;
fail:
    lib->error =
        xasprintf("the installed libcurl lacks %s; install libcurl 7.80 or newer", missing);
out:
    pthread_mutex_unlock(&lib->mu);
    if (!lib->ok) {
        *why = xstrdup(lib->error);
        return ERR_IO;
    }
    return 0;
}

#undef LOAD

struct http_client *http_client_new(struct http_lib *lib)
{
    struct http_client *hc = xcalloc(1, sizeof(*hc));

    hc->lib = lib;
    pthread_mutex_init(&hc->mu, NULL);
    return hc;
}

void http_client_free(struct http_client *hc)
{
    if (hc == NULL)
        return;
    for (int i = 0; i < hc->npool; i++)
        hc->lib->api.easy_cleanup(hc->pool[i]);
    pthread_mutex_destroy(&hc->mu);
    free(hc);
}

static CURL *take_handle(struct http_client *hc)
{
    CURL *h = NULL;

    pthread_mutex_lock(&hc->mu);
    if (hc->npool > 0)
        h = hc->pool[--hc->npool];
    pthread_mutex_unlock(&hc->mu);
    if (h == NULL)
        h = hc->lib->api.easy_init();
    else
        hc->lib->api.easy_reset(h); /* options reset; the connection cache stays */
    return h;
}

static void give_handle(struct http_client *hc, CURL *h)
{
    pthread_mutex_lock(&hc->mu);
    if (hc->npool < HTTP_POOL_MAX) {
        hc->pool[hc->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&hc->mu);
    if (h != NULL)
        hc->lib->api.easy_cleanup(h);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    struct http_response *rs = x->rs;

    if (x->rq->on_data != NULL) {
        if (!x->rq->on_data(x->rq->ud, data, n)) {
            rs->stopped = true;
            return 0; /* ends the transfer; reported as success below */
        }
        return n;
    }
    if (rs->body_len + n > x->rq->max_body)
        n = rs->body_len < x->rq->max_body ? x->rq->max_body - rs->body_len : 0;
    if (n > 0) {
        rs->body = xrealloc(rs->body, rs->body_len + n + 1);
        memcpy(rs->body + rs->body_len, data, n);
        rs->body_len += n;
        rs->body[rs->body_len] = '\0';
    }
    return size * nmemb; /* the rest beyond max_body is dropped, not an error */
}

static size_t on_header_line(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb, nlen, vstart, vend;
    char *name, *value, *colon = memchr(data, ':', n);

    if (x->rq->on_header == NULL || colon == NULL || n > 8192)
        return n;
    nlen = (size_t)(colon - data);
    vstart = nlen + 1;
    while (vstart < n && (data[vstart] == ' ' || data[vstart] == '\t'))
        vstart++;
    vend = n;
    while (vend > vstart && isspace((unsigned char)data[vend - 1]))
        vend--;
    name = xstrndup(data, nlen);
    value = xstrndup(data + vstart, vend - vstart);
    x->rq->on_header(x->rq->ud, name, value);
    free(name);
    free(value);
    return n;
}

static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    struct xfer *x = ud;

    (void)dlt, (void)dln, (void)ult, (void)uln;
    if (x->rq->cancel != NULL && cancel_fired(x->rq->cancel)) {
        x->cancelled = true;
        return 1;
    }
    if (x->rq->stop != NULL && __atomic_load_n(x->rq->stop, __ATOMIC_ACQUIRE)) {
        x->stopped_by_owner = true;
        return 1;
    }
    if (x->rq->deadline_ms > 0 && upstream_now_ms() >= x->rq->deadline_ms) {
        x->timed_out = true;
        return 1;
    }
    return 0;
}

int http_perform(struct http_client *hc, const struct http_request *rq, struct http_response *rs,
                 char **why)
{
    const struct curl_api *api = &hc->lib->api;
    struct xfer x = {.rq = rq, .rs = rs, .lib = hc->lib};
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *ctype = NULL;
    CURLcode cc;
    CURL *h;
    int rc = ERR_IO;

    memset(rs, 0, sizeof(*rs));
    h = take_handle(hc);
    if (h == NULL) {
        *why = xstrdup("cannot create an HTTP handle");
        return ERR_IO;
    }
    for (size_t i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
        hdrs = api->slist_append(hdrs, rq->headers[i]);
    api->easy_setopt(h, CURLOPT_URL, rq->url);
    api->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    api->easy_setopt(h, CURLOPT_USERAGENT, hc->lib->user_agent);
    api->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
    api->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    api->easy_setopt(h, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS);
    api->easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    api->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Never follow a redirect from https down to plain http. */
    api->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                     strncasecmp(rq->url, "https:", 6) == 0 ? "https" : "http,https");
    api->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    api->easy_setopt(h, CURLOPT_WRITEDATA, &x);
    api->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_line);
    api->easy_setopt(h, CURLOPT_HEADERDATA, &x);
    api->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    api->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    api->easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    api->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    api->easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (strcmp(rq->method, "POST") == 0) {
        api->easy_setopt(h, CURLOPT_POST, 1L);
        api->easy_setopt(h, CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
        api->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "GET") != 0) {
        api->easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (rq->deadline_ms > 0) {
        int64_t left = rq->deadline_ms - upstream_now_ms();

        api->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    }
    cc = api->easy_perform(h);
    api->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    if (api->easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL) {
        size_t n = strcspn(ctype, "; \t");

        rs->content_type = xstrndup(ctype, n);
        for (char *p = rs->content_type; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && rs->stopped)) {
        rc = 0;
    } else if (x.cancelled) {
        *why = xstrdup("cancelled");
        rc = ERR_CANCELLED;
    } else if (x.stopped_by_owner) {
        *why = xstrdup("the connection was closed");
        rc = ERR_CLOSED;
    } else if (x.timed_out || cc == CURLE_OPERATION_TIMEDOUT) {
        *why = xstrdup(rs->status != 0 ? "timed out waiting for the rest of the response"
                                       : "timed out");
        rc = ERR_TIMEOUT;
    } else {
        *why = xasprintf("%s", errbuf[0] ? errbuf : api->easy_strerror(cc));
        rc = ERR_IO;
    }
    api->easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    api->easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    api->slist_free_all(hdrs);
    give_handle(hc, h);
    return rc;
}

void http_response_clear(struct http_response *rs)
{
    free(rs->content_type);
    free(rs->body);
    memset(rs, 0, sizeof(*rs));
}

char *http_resolve(struct http_lib *lib, const char *base, const char *ref, char **why)
{
    const struct curl_api *api = &lib->api;
    CURLU *u = api->url();
    char *out = NULL, *res = NULL;

    if (u == NULL || api->url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        api->url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
        api->url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
        *why = xasprintf("cannot resolve \"%s\" against %s", ref, base);
    } else {
        res = xstrdup(out);
    }
    if (out != NULL)
        api->free(out);
    if (u != NULL)
        api->url_cleanup(u);
    return res;
}

char *http_status_error(const char *url, long status, const char *body, size_t len)
{
    const char *msg = NULL;
    char *text = NULL, *out;
    cJSON *j = NULL;
    size_t i;

    if (body != NULL && len > 0) {
        j = json_parse(body, len, NULL);
        msg = json_get_str(json_get_obj(j, "error"), "message");
        if (msg == NULL)
            msg = json_get_str(j, "error_description");
        if (msg == NULL)
            msg = json_get_str(j, "message");
        if (msg == NULL && j == NULL)
            msg = body;
    }
    if (msg != NULL) {
        text = xstrndup(msg, 300);
        for (i = 0; text[i] != '\0'; i++)
            if ((unsigned char)text[i] < 0x20)
                text[i] = ' ';
    }
    out = xasprintf("HTTP %ld from %s%s%s", status, url, text != NULL && *text ? ": " : "",
                    text != NULL ? text : "");
    free(text);
    cJSON_Delete(j);
    return out;
}

char **http_headers(const char *const *extra, const struct config_kv *kv, size_t n)
{
    size_t ne = 0, k = 0, i;
    char **h;

    while (extra != NULL && extra[ne] != NULL)
        ne++;
    h = xcalloc(ne + n + 1, sizeof(char *));
    for (i = 0; i < ne; i++)
        h[k++] = xstrdup(extra[i]);
    for (i = 0; i < n; i++)
        h[k++] = xasprintf("%s: %s", kv[i].key, kv[i].value);
    h[k] = NULL;
    return h;
}

void http_headers_free(char **headers)
{
    if (headers == NULL)
        return;
    for (size_t i = 0; headers[i] != NULL; i++)
        free(headers[i]);
    free(headers);
}
