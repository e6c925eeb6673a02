/*
 * llmrank.c - language-model re-ranking of search candidates; see llmrank.h.
 */
#include "llmrank.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define LLM_CACHE_MAX 128
#define LLM_BODY_MAX (1024u * 1024u)

struct cached {
    char *query;
    uint64_t version;
    size_t *order;
    size_t norder;
    struct cached *next;
};

struct llmrank {
    const struct config *cfg;
    struct http_lib *lib;
    struct http_client *hc; /* created on first use, under mu */
    pthread_mutex_t mu;     /* guards hc and the cache */
    struct cached *cache;   /* most recent first */
    size_t ncache;
};

struct llmrank *llmrank_new(const struct config *cfg, struct http_lib *lib)
{
    struct llmrank *lr;

    if (cfg->llm_provider == NULL)
        return NULL;
    lr = xcalloc(1, sizeof(*lr));
    lr->cfg = cfg;
    lr->lib = lib;
    pthread_mutex_init(&lr->mu, NULL);
    return lr;
}

static void cached_free(struct cached *c)
{
    free(c->query);
    free(c->order);
    free(c);
}

void llmrank_free(struct llmrank *lr)
{
    if (lr == NULL)
        return;
    while (lr->cache != NULL) {
        struct cached *c = lr->cache;

        lr->cache = c->next;
        cached_free(c);
    }
    http_client_free(lr->hc);
    pthread_mutex_destroy(&lr->mu);
    free(lr);
}

static char *prompt(const char *query, const char *const *lines, size_t n)
{
    struct buf b = {0};

    buf_puts(&b, "You pick tools for an AI assistant. Rank the tools below by how well each one "
                 "does what the request asks. Reply with only a JSON array of tool names, best "
                 "first, at most 10, using names exactly as listed; leave out tools that do not "
                 "fit.\n\nRequest: ");
    buf_puts(&b, query);
    buf_puts(&b, "\n\nTools:\n");
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, lines[i]);
        buf_puts(&b, "\n");
    }
    return buf_take(&b);
}

char *llmrank_request_body(const char *provider, const char *model, const char *query,
                           const char *const *lines, size_t n)
{
    char *text = prompt(query, lines, n), *out;
    cJSON *root = cJSON_CreateObject(), *msg, *arr;

    if (strcmp(provider, "gemini") == 0) {
        cJSON *content = cJSON_CreateObject(), *part = cJSON_CreateObject(), *gen;

        cJSON_AddStringToObject(part, "text", text);
        cJSON_AddStringToObject(content, "role", "user");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(content, "parts"), part);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "contents"), content);
        gen = cJSON_AddObjectToObject(root, "generationConfig");
        cJSON_AddNumberToObject(gen, "temperature", 0);
        cJSON_AddStringToObject(gen, "responseMimeType", "application/json");
    } else {
        cJSON_AddStringToObject(root, "model", model);
        cJSON_AddNumberToObject(root, "temperature", 0);
        arr = cJSON_AddArrayToObject(root, "messages");
        msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "user");
        cJSON_AddStringToObject(msg, "content", text);
        cJSON_AddItemToArray(arr, msg);
    }
    out = json_print(root);
    cJSON_Delete(root);
    free(text);
    return out;
}

/* Finds the candidate names in text, in order of first mention, whole names only. */
static size_t find_names(const char *text, const char *const *names, size_t n, size_t *order)
{
    size_t count = 0, *pos = xcalloc(n + 1, sizeof(size_t));
    bool *seen = xcalloc(n + 1, sizeof(bool));

    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        const char *p = text;

        while ((p = strstr(p, names[i])) != NULL) {
            if ((p == text || !config_name_char(p[-1])) && !config_name_char(p[len])) {
                pos[i] = (size_t)(p - text) + 1;
                seen[i] = true;
                break;
            }
            p++;
        }
    }
    /* Order by position: n is at most a few dozen candidates. */
    for (;;) {
        size_t best = n;

        for (size_t i = 0; i < n; i++)
            if (seen[i] && (best == n || pos[i] < pos[best]))
                best = i;
        if (best == n)
            break;
        order[count++] = best;
        seen[best] = false;
    }
    free(pos);
    free(seen);
    return count;
}

size_t llmrank_parse_names(const char *provider, const char *body, size_t len,
                           const char *const *names, size_t n, size_t *order)
{
    cJSON *root = json_parse(body, len, NULL);
    const char *text = NULL;
    size_t count = 0;

    if (strcmp(provider, "gemini") == 0) {
        const cJSON *cand = cJSON_GetArrayItem(json_get_arr(root, "candidates"), 0);
        const cJSON *part =
            cJSON_GetArrayItem(json_get_arr(json_get_obj(cand, "content"), "parts"), 0);

        text = json_get_str(part, "text");
    } else {
        const cJSON *choice = cJSON_GetArrayItem(json_get_arr(root, "choices"), 0);

        text = json_get_str(json_get_obj(choice, "message"), "content");
    }
    if (text != NULL)
        count = find_names(text, names, n, order);
    cJSON_Delete(root);
    return count;
}

/* Looks the query up in the cache (mu held); moves a hit to the front. */
static struct cached *lookup(struct llmrank *lr, const char *query, uint64_t version)
{
    struct cached **pc, *c;

    for (pc = &lr->cache; (c = *pc) != NULL; pc = &c->next)
        if (c->version == version && strcmp(c->query, query) == 0) {
            *pc = c->next;
            c->next = lr->cache;
            lr->cache = c;
            return c;
        }
    return NULL;
}

static void remember(struct llmrank *lr, const char *query, uint64_t version, const size_t *order,
                     size_t norder)
{
    struct cached *c = xcalloc(1, sizeof(*c)), **pc;

    c->query = xstrdup(query);
    c->version = version;
    c->order = xcalloc(norder + 1, sizeof(size_t));
    memcpy(c->order, order, norder * sizeof(size_t));
    c->norder = norder;
    pthread_mutex_lock(&lr->mu);
    c->next = lr->cache;
    lr->cache = c;
    if (++lr->ncache > LLM_CACHE_MAX) {
        for (pc = &lr->cache; (*pc)->next != NULL; pc = &(*pc)->next)
            ;
        cached_free(*pc);
        *pc = NULL;
        lr->ncache--;
    }
    pthread_mutex_unlock(&lr->mu);
}

size_t llmrank_rank(struct llmrank *lr, const char *query, const char *const *names,
                    const char *const *lines, size_t n, uint64_t version, size_t *order, char **why)
{
    const struct config *cfg = lr->cfg;
    bool gemini = strcmp(cfg->llm_provider, "gemini") == 0;
    struct http_request rq = {.method = "POST", .max_body = LLM_BODY_MAX};
    struct http_response rs = {0};
    char *url = NULL, *body = NULL, *auth = NULL, *err = NULL;
    const char *headers[3];
    struct cached *c;
    size_t count = 0;

    if (n == 0)
        return 0;
    pthread_mutex_lock(&lr->mu);
    c = lookup(lr, query, version);
    if (c != NULL) {
        count = c->norder;
        memcpy(order, c->order, count * sizeof(size_t));
    }
    pthread_mutex_unlock(&lr->mu);
    if (c != NULL)
        return count;
    if (http_lib_ensure(lr->lib, &err) != 0)
        goto out;
    pthread_mutex_lock(&lr->mu);
    if (lr->hc == NULL)
        lr->hc = http_client_new(lr->lib);
    pthread_mutex_unlock(&lr->mu);
    if (gemini) {
        url = xasprintf("%s/models/%s:generateContent", cfg->llm_base_url, cfg->llm_model);
        auth = xasprintf("x-goog-api-key: %s", cfg->llm_api_key);
    } else {
        url = xasprintf("%s/chat/completions", cfg->llm_base_url);
        auth = cfg->llm_api_key != NULL ? xasprintf("Authorization: Bearer %s", cfg->llm_api_key)
                                        : NULL;
    }
    headers[0] = "Content-Type: application/json";
    headers[1] = auth;
    headers[2] = NULL;
    body = llmrank_request_body(cfg->llm_provider, cfg->llm_model, query, lines, n);
    rq.url = url;
    rq.headers = headers;
    rq.body = body;
    rq.body_len = strlen(body);
    rq.deadline_ms = upstream_now_ms() + cfg->llm_timeout_ms;
    if (http_perform(lr->hc, &rq, &rs, &err) != 0)
        goto out;
    if (rs.status != 200) {
        err = http_status_error(url, rs.status, rs.body, rs.body_len);
        goto out;
    }
    count = llmrank_parse_names(cfg->llm_provider, rs.body != NULL ? rs.body : "", rs.body_len,
                                names, n, order);
    if (count == 0)
        err = xstrdup("the model's answer named none of the candidates");
    else
        remember(lr, query, version, order, count);
out:
    if (err != NULL) {
        LOG_INFO("search ranking by %s skipped: %s", cfg->llm_provider, err);
        if (why != NULL)
            *why = err;
        else
            free(err);
    }
    http_response_clear(&rs);
    free(url);
    free(body);
    free(auth);
    return count;
}
