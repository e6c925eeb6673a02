/*
 * relay.c - resources, prompts, completion and logging across upstreams; see relay.h.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define RELAY_TIMEOUT_MS 30000
#define RELAY_CURSOR "mcpzip:"

typedef int (*relay_fn)(struct proxy *px, const char *method, const cJSON *params,
                        struct metatool_ctx *ctx, cJSON **result, int *code, char **why);

struct relay_method {
    const char *name;
    relay_fn fn;
};

static struct cancel *cancel_of(struct metatool_ctx *ctx)
{
    return ctx != NULL ? ctx->cancel : NULL;
}

/* True unless the server is known (connected once) to lack the capability. */
static bool may_have(struct upstream *up, const char *capability)
{
    cJSON *caps = upstream_server_caps(up);
    bool yes = caps == NULL || json_get(caps, capability) != NULL;

    cJSON_Delete(caps);
    return yes && !upstream_config(up)->disabled;
}

/* Turns an upstream error into the client's error: its code and message, or ours. */
static int fail(int rc, cJSON *answer, char *uwhy, int *code, char **why)
{
    double c = JSONRPC_INTERNAL_ERROR;

    if (rc == ERR_RPC) {
        json_get_num(answer, "code", &c);
        *why = xstrdup(json_get_str(answer, "message") ? json_get_str(answer, "message") : uwhy);
    } else {
        *why = xstrdup(uwhy != NULL ? uwhy : err_str(rc));
    }
    *code = (int)c;
    cJSON_Delete(answer);
    free(uwhy);
    return -1;
}

/* Sends method to one upstream with params (borrowed). */
static int ask(struct upstream *up, const char *method, const cJSON *params,
               struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    cJSON *answer = NULL;
    char *uwhy = NULL;
    int rc;

    rc = upstream_request(up, method, json_dup(params), RELAY_TIMEOUT_MS, cancel_of(ctx), &answer,
                          &uwhy);
    if (rc != 0)
        return fail(rc, answer, uwhy, code, why);
    free(uwhy);
    *result = answer;
    return 0;
}

/* Splits "server__rest" into the upstream and rest. */
static struct upstream *by_prefix(struct proxy *px, const char *name, const char **rest)
{
    const char *sep = name != NULL ? strstr(name, "__") : NULL;
    struct upstream *up;
    char *server;

    if (sep == NULL || sep == name)
        return NULL;
    server = xstrndup(name, (size_t)(sep - name));
    up = proxy_upstream(px, server);
    free(server);
    *rest = sep + 2;
    return up;
}

static void learn(struct proxy *px, const char *server, const cJSON *items, const char *field)
{
    const cJSON *it;

    cJSON_ArrayForEach (it, items) {
        const char *uri = json_get_str(it, field);

        if (uri != NULL)
            proxy_learn_resource(px, uri, server);
    }
}

/* resources/list, resources/templates/list, prompts/list: one upstream page per call. */
static int list(struct proxy *px, const char *method, const cJSON *params, struct metatool_ctx *ctx,
                cJSON **result, int *code, char **why, const char *capability, const char *key)
{
    const struct config *cfg = proxy_config(px);
    const char *cursor = json_get_str(params, "cursor");
    size_t i = 0;
    char *ucursor = NULL;
    cJSON *items = cJSON_CreateArray();

    if (cursor != NULL) {
        char *end = NULL;

        if (strncmp(cursor, RELAY_CURSOR, strlen(RELAY_CURSOR)) != 0 ||
            (i = strtoul(cursor + strlen(RELAY_CURSOR), &end, 10), *end != ':')) {
            cJSON_Delete(items);
            *code = JSONRPC_INVALID_PARAMS;
            *why = xstrdup("Invalid params: unknown cursor");
            return -1;
        }
        ucursor = *(end + 1) != '\0' ? xstrdup(end + 1) : NULL;
    }
    for (; i < cfg->nservers; i++) {
        const char *name = cfg->servers[i].name;
        struct upstream *up = proxy_upstream(px, name);
        cJSON *p = cJSON_CreateObject(), *answer = NULL, *page, *it;
        const char *next;
        int c = 0;
        char *w = NULL;

        if (!may_have(up, capability)) {
            cJSON_Delete(p);
            free(ucursor);
            ucursor = NULL;
            continue;
        }
        if (ucursor != NULL)
            cJSON_AddStringToObject(p, "cursor", ucursor);
        free(ucursor);
        ucursor = NULL;
        if (ask(up, method, p, ctx, &answer, &c, &w) != 0) {
            LOG_DEBUG("[%s] %s: %s", name, method, w);
            free(w);
            cJSON_Delete(p);
            continue;
        }
        cJSON_Delete(p);
        page = cJSON_DetachItemFromObjectCaseSensitive(answer, key);
        if (strcmp(key, "prompts") == 0) {
            cJSON_ArrayForEach (it, page) {
                const char *pn = json_get_str(it, "name");

                if (pn != NULL) {
                    char *routed = xasprintf("%s__%s", name, pn);

                    json_set_take(it, "name", cJSON_CreateString(routed));
                    free(routed);
                }
            }
        } else {
            learn(px, name, page, strcmp(key, "resources") == 0 ? "uri" : "uriTemplate");
        }
        while (cJSON_IsArray(page) && page->child != NULL)
            cJSON_AddItemToArray(items, cJSON_DetachItemFromArray(page, 0));
        cJSON_Delete(page);
        next = json_get_str(answer, "nextCursor");
        *result = cJSON_CreateObject();
        cJSON_AddItemToObject(*result, key, items);
        if (next != NULL && *next != '\0') {
            char *nc = xasprintf(RELAY_CURSOR "%zu:%s", i, next);

            cJSON_AddStringToObject(*result, "nextCursor", nc);
            free(nc);
        } else if (i + 1 < cfg->nservers) {
            char *nc = xasprintf(RELAY_CURSOR "%zu:", i + 1);

            cJSON_AddStringToObject(*result, "nextCursor", nc);
            free(nc);
        }
        cJSON_Delete(answer);
        /* A page holds one server's page; an empty one moves on at once. */
        if (cJSON_GetArraySize(items) > 0 || json_get(*result, "nextCursor") == NULL)
            return 0;
        if (next != NULL && *next != '\0') {
            /* An empty page with more to come from the same server: keep going there. */
            ucursor = xstrdup(next);
            i--;
        }
        items = cJSON_DetachItemFromObjectCaseSensitive(*result, key);
        cJSON_Delete(*result);
        *result = NULL;
    }
    free(ucursor);
    *result = cJSON_CreateObject();
    cJSON_AddItemToObject(*result, key, items);
    return 0;
}

static int list_resources(struct proxy *px, const char *method, const cJSON *params,
                          struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    return list(px, method, params, ctx, result, code, why, "resources", "resources");
}

static int list_templates(struct proxy *px, const char *method, const cJSON *params,
                          struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    return list(px, method, params, ctx, result, code, why, "resources", "resourceTemplates");
}

static int list_prompts(struct proxy *px, const char *method, const cJSON *params,
                        struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    return list(px, method, params, ctx, result, code, why, "prompts", "prompts");
}

/* resources/read, subscribe, unsubscribe: to the server that listed the URI; else to each
 * server that may have resources until one knows it. */
static int by_uri(struct proxy *px, const char *method, const cJSON *params,
                  struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    const struct config *cfg = proxy_config(px);
    const char *uri = json_get_str(params, "uri");
    char *owner;
    int rc = -1;

    if (uri == NULL) {
        *code = JSONRPC_INVALID_PARAMS;
        *why = xasprintf("Invalid params: %s needs \"uri\"", method);
        return -1;
    }
    owner = proxy_resource_owner(px, uri);
    if (owner != NULL) {
        rc = ask(proxy_upstream(px, owner), method, params, ctx, result, code, why);
        free(owner);
        return rc;
    }
    for (size_t i = 0; i < cfg->nservers; i++) {
        struct upstream *up = proxy_upstream(px, cfg->servers[i].name);

        if (!may_have(up, "resources"))
            continue;
        if (rc == -1 && *why != NULL) {
            free(*why);
            *why = NULL;
        }
        rc = ask(up, method, params, ctx, result, code, why);
        if (rc == 0) {
            proxy_learn_resource(px, uri, cfg->servers[i].name);
            return 0;
        }
    }
    if (*why == NULL) {
        *code = JSONRPC_INVALID_PARAMS;
        *why = xasprintf("Resource not found: %s", uri);
    }
    return -1;
}

static int get_prompt(struct proxy *px, const char *method, const cJSON *params,
                      struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    const char *name = json_get_str(params, "name"), *rest = NULL;
    struct upstream *up = by_prefix(px, name, &rest);
    cJSON *p;
    int rc;

    if (up == NULL) {
        *code = JSONRPC_INVALID_PARAMS;
        *why = xasprintf("Invalid params: unknown prompt \"%s\" (prompts are named "
                         "server__prompt)",
                         name != NULL ? name : "");
        return -1;
    }
    p = json_dup(params);
    json_set_take(p, "name", cJSON_CreateString(rest));
    rc = ask(up, method, p, ctx, result, code, why);
    cJSON_Delete(p);
    return rc;
}

static int complete(struct proxy *px, const char *method, const cJSON *params,
                    struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    const cJSON *ref = json_get_obj(params, "ref");
    const char *type = json_get_str(ref, "type"), *rest = NULL;
    struct upstream *up = NULL;
    char *owner = NULL;
    cJSON *p;
    int rc;

    if (type != NULL && strcmp(type, "ref/prompt") == 0) {
        up = by_prefix(px, json_get_str(ref, "name"), &rest);
    } else if (type != NULL && strcmp(type, "ref/resource") == 0 && json_get_str(ref, "uri")) {
        owner = proxy_resource_owner(px, json_get_str(ref, "uri"));
        up = owner != NULL ? proxy_upstream(px, owner) : NULL;
    }
    free(owner);
    if (up == NULL) {
        *code = JSONRPC_INVALID_PARAMS;
        *why = xstrdup("Invalid params: completion/complete needs a ref to a prompt (server__name) "
                       "or to a resource template that resources/templates/list returned");
        return -1;
    }
    p = json_dup(params);
    if (rest != NULL)
        json_set_take(cJSON_GetObjectItemCaseSensitive(p, "ref"), "name", cJSON_CreateString(rest));
    rc = ask(up, method, p, ctx, result, code, why);
    cJSON_Delete(p);
    return rc;
}

/* logging/setLevel goes to every connected server that logs; the answer is {}. */
static int set_level(struct proxy *px, const char *method, const cJSON *params,
                     struct metatool_ctx *ctx, cJSON **result, int *code, char **why)
{
    const struct config *cfg = proxy_config(px);

    if (json_get_str(params, "level") == NULL) {
        *code = JSONRPC_INVALID_PARAMS;
        *why = xstrdup("Invalid params: logging/setLevel needs \"level\"");
        return -1;
    }
    for (size_t i = 0; i < cfg->nservers; i++) {
        struct upstream *up = proxy_upstream(px, cfg->servers[i].name);
        cJSON *caps = upstream_server_caps(up), *answer = NULL;
        int c;
        char *w = NULL;

        if (json_get(caps, "logging") != NULL && ask(up, method, params, ctx, &answer, &c, &w))
            LOG_DEBUG("[%s] logging/setLevel: %s", cfg->servers[i].name, w);
        free(w);
        cJSON_Delete(answer);
        cJSON_Delete(caps);
    }
    *result = cJSON_CreateObject();
    return 0;
}

static const struct relay_method methods[] = {
    {"resources/list", list_resources}, {"resources/templates/list", list_templates},
    {"resources/read", by_uri},         {"resources/subscribe", by_uri},
    {"resources/unsubscribe", by_uri},  {"prompts/list", list_prompts},
    {"prompts/get", get_prompt},        {"completion/complete", complete},
    {"logging/setLevel", set_level},
};

bool relay_has(const char *method)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, method) == 0)
            return true;
    return false;
}

int relay_call(struct proxy *px, const char *method, const cJSON *params, struct metatool_ctx *ctx,
               cJSON **result, int *code, char **why)
{
    *result = NULL;
    *why = NULL;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, method) == 0)
            return methods[i].fn(px, method, params, ctx, result, code, why);
    *code = JSONRPC_METHOD_NOT_FOUND;
    *why = xasprintf("Method not found: %s", method);
    return -1;
}
