/*
 * metatools.c - search_tools, describe_tool, execute_tool, proxy_status, proxy_refresh;
 * see metatools.h.
 */
#include "metatools.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "catalog.h"
#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "llmrank.h"
#include "log.h"
#include "search.h"
#include "upstream.h"
#include "xmem.h"

#define META_MAX_LIMIT 50
#define META_SENTENCE_MAX 160
#define META_PARAMS_MAX 8
#define META_SUGGEST 3
#define META_INSTRUCTION_SERVERS 24
#define META_LLM_CANDIDATES 30

/*
 * The definitions clients load into the model's context on every turn. Every byte counts:
 * tests hold the whole tools/list answer under 2,048 bytes.
 */
static const char meta_defs[] =
    "["
    "{\"name\":\"search_tools\",\"description\":\"Find tools on all connected MCP servers. "
    "Returns server__tool names, best first, with parameters (* = required).\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"description\":\"What you want to do, or a tool name\"},"
    "\"limit\":{\"type\":\"integer\",\"description\":\"Max results (default 5)\"},"
    "\"server\":{\"type\":\"string\",\"description\":\"Only this server\"}},"
    "\"required\":[\"query\"]},\"annotations\":{\"readOnlyHint\":true}},"
    "{\"name\":\"describe_tool\",\"description\":\"Full definition and input schema of a tool "
    "from search_tools.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"server__tool\"}},"
    "\"required\":[\"name\"]},\"annotations\":{\"readOnlyHint\":true}},"
    "{\"name\":\"execute_tool\",\"description\":\"Call a tool by its server__tool name and "
    "return its result.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"server__tool\"},"
    "\"arguments\":{\"type\":\"object\",\"description\":\"Arguments matching the tool's "
    "inputSchema\"},"
    "\"timeout\":{\"type\":\"integer\",\"description\":\"Seconds (default 120)\"}},"
    "\"required\":[\"name\"]}},"
    "{\"name\":\"proxy_status\",\"description\":\"State, tool count and last error of each "
    "MCP server behind this proxy.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}},"
    "\"annotations\":{\"readOnlyHint\":true}},"
    "{\"name\":\"proxy_refresh\",\"description\":\"Reload tool lists now from all servers or "
    "one; reports added and removed tools.\",\"inputSchema\":{\"type\":\"object\","
    "\"properties\":{\"server\":{\"type\":\"string\"}}}}"
    "]";

cJSON *metatools_list(void)
{
    return json_parse(meta_defs, sizeof(meta_defs) - 1, NULL);
}

cJSON *metatools_error(const char *text)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddItemToObject(r, "content", json_text_content(text));
    cJSON_AddTrueToObject(r, "isError");
    return r;
}

static cJSON *text_result(const char *text)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddItemToObject(r, "content", json_text_content(text));
    return r;
}

/* Cuts at a byte count without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Appends the first sentence of text, at most META_SENTENCE_MAX bytes, on one line. */
static void first_sentence(struct buf *b, const char *text)
{
    size_t n = 0, start = b->len;

    if (text == NULL)
        return;
    while (isspace((unsigned char)*text))
        text++;
    while (text[n] != '\0' && text[n] != '\n' && n < META_SENTENCE_MAX) {
        if (text[n] == '.' && (text[n + 1] == ' ' || text[n + 1] == '\0' || text[n + 1] == '\n'))
            break;
        n++;
    }
    if (text[n] != '\0' && text[n] != '.' && text[n] != '\n' && n >= META_SENTENCE_MAX) {
        n = utf8_cut(text, n);
        /* Prefer to end on a word. */
        size_t w = n;

        while (w > META_SENTENCE_MAX / 2 && text[w] != ' ')
            w--;
        if (text[w] == ' ')
            n = w;
        buf_append(b, text, n);
        buf_puts(b, "…");
    } else {
        buf_append(b, text, n);
    }
    for (size_t i = start; i < b->len; i++)
        if (b->s[i] == '\t' || b->s[i] == '\r')
            b->s[i] = ' ';
}

static const char *param_type(const cJSON *schema)
{
    const cJSON *type = json_get(schema, "type");

    if (cJSON_IsString(type))
        return type->valuestring;
    if (cJSON_IsArray(type) && cJSON_IsString(cJSON_GetArrayItem(type, 0)))
        return cJSON_GetArrayItem(type, 0)->valuestring;
    if (json_get(schema, "enum") != NULL)
        return "enum";
    return "any";
}

static bool is_required(const cJSON *schema, const char *name)
{
    const cJSON *r;

    cJSON_ArrayForEach (r, json_get_arr(schema, "required"))
        if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0)
            return true;
    return false;
}

char *metatools_result_line(const char *name, const cJSON *def)
{
    const cJSON *schema = json_get_obj(def, "inputSchema"), *props, *p;
    struct buf b = {0};
    int shown = 0, total = 0, pass;

    buf_printf(&b, "%s: ", name);
    first_sentence(&b, json_get_str(def, "description"));
    props = json_get_obj(schema, "properties");
    if (props != NULL && props->child != NULL) {
        buf_puts(&b, " [");
        /* Required parameters first: the model must fill those. */
        for (pass = 0; pass < 2; pass++) {
            cJSON_ArrayForEach (p, props) {
                bool req = is_required(schema, p->string);

                if (req != (pass == 0))
                    continue;
                total++;
                if (shown >= META_PARAMS_MAX)
                    continue;
                buf_printf(&b, "%s%s:%s%s", shown ? ", " : "", p->string, param_type(p),
                           req ? "*" : "");
                shown++;
            }
        }
        if (total > shown)
            buf_printf(&b, ", +%d more", total - shown);
        buf_puts(&b, "]");
    }
    return buf_take(&b);
}

/* The texts a search shows of a tool (catalog_text formatter): slot 0 its result line, slot 1
 * the first sentence of its description. */
static void result_texts(const char *name, const cJSON *def, char *texts[CATALOG_TEXT_SLOTS])
{
    struct buf d = {0};

    texts[0] = metatools_result_line(name, def);
    first_sentence(&d, json_get_str(def, "description"));
    texts[1] = buf_take(&d);
}

/* Lists the server names for "try one of" hints. */
static void server_names(struct buf *b, const struct catalog_snap *snap)
{
    for (size_t i = 0; i < snap->nservers; i++)
        buf_printf(b, "%s%s", i ? ", " : "", snap->servers[i].name);
    if (snap->nservers == 0)
        buf_puts(b, "(none configured)");
}

/* Appends "Did you mean: a, b, c?" for a mistyped tool name. */
static void suggest(struct buf *b, struct catalog_snap *snap, const char *text)
{
    size_t docs[META_SUGGEST], n, i;

    n = search_suggest(catalog_index(snap), text, docs, META_SUGGEST);
    if (n == 0)
        return;
    buf_puts(b, " Did you mean: ");
    for (i = 0; i < n; i++)
        buf_printf(b, "%s%s", i ? ", " : "", snap->tools[docs[i]].name);
    buf_puts(b, "?");
}

/* Explains an empty or partial result: servers still loading, failed, or waiting for auth. */
static void state_notes(struct buf *b, struct proxy *px, const struct catalog_snap *snap,
                        const char *only)
{
    struct buf loading = {0}, failed = {0};
    char *first_error = NULL;
    size_t nfailed = 0;

    for (size_t i = 0; i < snap->nservers; i++) {
        const struct catalog_server *cs = &snap->servers[i];
        struct upstream *up = proxy_upstream(px, cs->name);
        struct upstream_status st;

        if (only != NULL && strcmp(only, cs->name) != 0)
            continue;
        if (up == NULL || cs->disabled)
            continue;
        upstream_get_status(up, &st);
        if (st.state == UPSTREAM_NEEDS_AUTH) {
            buf_printf(&failed, "%s%s (waiting for authorization)", failed.len ? ", " : "",
                       cs->name);
            nfailed++;
        } else if (!cs->loaded && (cs->last_error != NULL || st.state == UPSTREAM_FAILED)) {
            buf_printf(&failed, "%s%s", failed.len ? ", " : "", cs->name);
            if (first_error == NULL)
                first_error =
                    xstrdup(cs->last_error ? cs->last_error : (st.last_error ? st.last_error : ""));
            nfailed++;
        } else if (!cs->loaded) {
            buf_printf(&loading, "%s%s", loading.len ? ", " : "", cs->name);
        }
        free(st.last_error);
        free(st.protocol);
    }
    if (loading.len)
        buf_printf(b, "\nStill loading: %s. Search again in a few seconds.", loading.s);
    if (failed.len) {
        buf_printf(b, "\nUnavailable: %s.", failed.s);
        if (nfailed == 1 && first_error != NULL && *first_error != '\0')
            buf_printf(b, " %s.", first_error);
        buf_puts(b, " See proxy_status.");
    }
    free(first_error);
    buf_free(&loading);
    buf_free(&failed);
}

/* Reads an optional positive integer argument. Returns false when present but invalid. */
static bool int_arg(const cJSON *args, const char *key, int min, int max, int *out)
{
    const cJSON *v = json_get(args, key);

    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max || floor(v->valuedouble) != v->valuedouble)
        return false;
    *out = (int)v->valuedouble;
    return true;
}

/* True when query names the tool itself (any case; '-', '_' and ' ' alike), with or without
 * its server prefix: search.c ranks such a tool first, and no model may move it. */
static bool names_tool(const char *query, const char *name)
{
    const char *sep = strstr(name, "__");

    for (int pass = 0; pass < 2; pass++) {
        const char *a = query, *b = pass == 0 ? name : (sep != NULL ? sep + 2 : name);

        while (*a != '\0' && *b != '\0') {
            char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);

            if (x == '-' || x == ' ')
                x = '_';
            if (y == '-' || y == ' ')
                y = '_';
            if (x != y)
                break;
            a++, b++;
        }
        if (*a == '\0' && *b == '\0')
            return true;
    }
    return false;
}

/*
 * Keyword ranking, then, when a model is configured, its re-ranking of the top candidates:
 * the tools it names come first in its order, the rest keep the keyword order. Any failure of
 * the model leaves the keyword ranking as it was.
 */
static size_t rank(struct proxy *px, struct catalog_snap *snap, const char *query, const char *only,
                   struct search_hit *out, size_t limit)
{
    struct llmrank *llm = proxy_llm(px);
    struct search_hit cand[META_LLM_CANDIDATES];
    const char *names[META_LLM_CANDIDATES], *lines[META_LLM_CANDIDATES];
    size_t order[META_LLM_CANDIDATES], n, k, norder, i;
    bool used[META_LLM_CANDIDATES] = {false};

    if (llm == NULL || *query == '\0')
        return search_query(catalog_index(snap), query, only, out, limit);
    n = search_query(catalog_index(snap), query, only, cand, META_LLM_CANDIDATES);
    if (n < 2 || names_tool(query, snap->tools[cand[0].doc].name)) {
        k = n < limit ? n : limit;
        memcpy(out, cand, k * sizeof(*out));
        return k;
    }
    for (i = 0; i < n; i++) {
        names[i] = snap->tools[cand[i].doc].name;
        lines[i] = catalog_text(snap, cand[i].doc, 0, result_texts);
    }
    norder = llmrank_rank(llm, query, names, lines, n, snap->version, order, NULL);
    k = 0;
    for (i = 0; i < norder && k < limit; i++) {
        out[k++] = cand[order[i]];
        used[order[i]] = true;
    }
    for (i = 0; i < n && k < limit; i++)
        if (!used[i])
            out[k++] = cand[i];
    return k;
}

static cJSON *search_tools(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx)
{
    const struct config *cfg = proxy_config(px);
    const char *query = json_get_str(args, "query"), *server = json_get_str(args, "server");
    struct search_hit hits[META_MAX_LIMIT];
    struct catalog_snap *snap = NULL;
    char *only = NULL, *text;
    struct buf b = {0};
    cJSON *result = NULL, *results;
    int limit = cfg->search_default_limit;
    size_t n, i;

    (void)ctx;
    if (query == NULL) {
        result = metatools_error("search_tools needs \"query\": a string saying what you want "
                                 "to do, e.g. {\"query\": \"create issue\"}.");
        goto out;
    }
    if (!int_arg(args, "limit", 1, 1000, &limit)) {
        result = metatools_error("\"limit\" must be a whole number from 1 to 50.");
        goto out;
    }
    if (limit > META_MAX_LIMIT)
        limit = META_MAX_LIMIT;
    while (isspace((unsigned char)*query))
        query++;
    /* "server:NAME rest" narrows the search the same way the server argument does. */
    if (strncmp(query, "server:", 7) == 0) {
        size_t len = strcspn(query + 7, " \t");

        only = xstrndup(query + 7, len);
        query += 7 + len;
        while (isspace((unsigned char)*query))
            query++;
    } else if (server != NULL && *server != '\0') {
        only = xstrdup(server);
    }
    snap = catalog_acquire(proxy_catalog(px));
    if (only != NULL && catalog_server(snap, only) == NULL) {
        buf_printf(&b, "No server named \"%s\". Servers: ", only);
        server_names(&b, snap);
        buf_puts(&b, ".");
        text = buf_take(&b);
        result = metatools_error(text);
        free(text);
        goto out;
    }
    if (*query == '\0' && only == NULL) {
        result = metatools_error("\"query\" is empty: say what you want to do, e.g. \"send a "
                                 "message\", or give a tool name.");
        goto out;
    }
    n = rank(px, snap, query, only, hits, (size_t)limit);
    results = cJSON_CreateArray();
    for (i = 0; i < n; i++) {
        size_t doc = hits[i].doc;
        const struct catalog_tool *t = &snap->tools[doc];
        cJSON *r = cJSON_CreateObject();

        /* Lines and short descriptions are formatted once per catalog, not per search. */
        if (i > 0)
            buf_puts(&b, "\n");
        buf_puts(&b, catalog_text(snap, doc, 0, result_texts));
        cJSON_AddStringToObject(r, "name", t->name);
        cJSON_AddStringToObject(r, "server", t->server);
        cJSON_AddStringToObject(r, "description", catalog_text(snap, doc, 1, result_texts));
        cJSON_AddNumberToObject(r, "score", round(hits[i].score * 1000) / 1000);
        cJSON_AddItemToArray(results, r);
    }
    if (n == 0) {
        buf_printf(&b, "No tools matched \"%s\"%s%s.", query, only ? " on server " : "",
                   only ? only : "");
        if (snap->ntools > 0) {
            buf_puts(&b, " Try other words");
            if (only == NULL) {
                buf_puts(&b, ", or narrow to a server (");
                server_names(&b, snap);
                buf_puts(&b, ")");
            }
            buf_puts(&b, ".");
            suggest(&b, snap, query);
        }
    }
    /* Only a catalog with servers missing or failing has anything to explain. */
    if (!catalog_all_ready(snap))
        state_notes(&b, px, snap, only);
    text = buf_take(&b);
    result = text_result(text);
    free(text);
    cJSON_AddItemToObject(cJSON_AddObjectToObject(result, "structuredContent"), "results", results);
out:
    buf_free(&b);
    free(only);
    catalog_release(proxy_catalog(px), snap);
    return result;
}

/* Splits "server__tool" at the first "__". Returns false when there is no "__". */
static bool split_name(const char *name, char **server, const char **tool)
{
    const char *sep = strstr(name, "__");

    if (sep == NULL || sep == name || sep[2] == '\0')
        return false;
    *server = xstrndup(name, (size_t)(sep - name));
    *tool = sep + 2;
    return true;
}

static cJSON *describe_tool(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx)
{
    const char *name = json_get_str(args, "name");
    const struct catalog_tool *t;
    struct catalog_snap *snap;
    struct buf b = {0};
    cJSON *result, *def;
    char *text;

    (void)ctx;
    if (name == NULL || *name == '\0')
        return metatools_error("describe_tool needs \"name\": a server__tool name from "
                               "search_tools.");
    snap = catalog_acquire(proxy_catalog(px));
    t = catalog_find(snap, name);
    if (t == NULL) {
        buf_printf(&b, "No tool named \"%s\".", name);
        suggest(&b, snap, name);
        if (strstr(name, "__") == NULL)
            buf_puts(&b, " Names have the form server__tool.");
        state_notes(&b, px, snap, NULL);
        text = buf_take(&b);
        result = metatools_error(text);
        free(text);
        catalog_release(proxy_catalog(px), snap);
        return result;
    }
    /* The definition exactly as the upstream gave it, under the routed name. */
    def = catalog_tool_def(t, &text);
    if (def == NULL) {
        result = metatools_error(text);
        free(text);
        catalog_release(proxy_catalog(px), snap);
        return result;
    }
    json_set_take(def, "name", cJSON_CreateString(t->name));
    /* Compact JSON: the model reads it as well as pretty JSON, for fewer tokens. */
    text = json_print(def);
    result = text_result(text);
    free(text);
    cJSON_Delete(def);
    catalog_release(proxy_catalog(px), snap);
    return result;
}

static cJSON *execute_tool(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx)
{
    const struct config *cfg = proxy_config(px);
    const char *name = json_get_str(args, "name"), *tool = NULL;
    const cJSON *arguments = json_get(args, "arguments");
    struct catalog_snap *snap = NULL;
    struct upstream *up;
    char *server = NULL, *why = NULL, *text;
    cJSON *params = NULL, *callargs = NULL, *answer = NULL, *result = NULL;
    struct buf b = {0};
    int timeout_s, rc;

    if (name == NULL || *name == '\0') {
        result = metatools_error("execute_tool needs \"name\": a server__tool name from "
                                 "search_tools.");
        goto out;
    }
    if (!split_name(name, &server, &tool)) {
        snap = catalog_acquire(proxy_catalog(px));
        buf_printf(&b, "\"%s\" is not a server__tool name.", name);
        suggest(&b, snap, name);
        goto fail_text;
    }
    up = proxy_upstream(px, server);
    if (up == NULL) {
        snap = catalog_acquire(proxy_catalog(px));
        buf_printf(&b, "No server named \"%s\". Servers: ", server);
        server_names(&b, snap);
        buf_puts(&b, ".");
        suggest(&b, snap, name);
        goto fail_text;
    }
    /* Some clients send the arguments object JSON-encoded in a string: unwrap one level. */
    if (arguments == NULL || cJSON_IsNull(arguments)) {
        callargs = cJSON_CreateObject();
    } else if (cJSON_IsObject(arguments)) {
        callargs = json_dup(arguments);
    } else if (cJSON_IsString(arguments)) {
        callargs = json_parse(arguments->valuestring, strlen(arguments->valuestring), NULL);
        if (!cJSON_IsObject(callargs)) {
            result = metatools_error("\"arguments\" is a string that does not hold a JSON "
                                     "object; pass an object like {\"path\": \"/tmp\"}.");
            goto out;
        }
    } else {
        result = metatools_error("\"arguments\" must be an object with the tool's parameters, "
                                 "e.g. {\"path\": \"/tmp\"} (see describe_tool).");
        goto out;
    }
    timeout_s = upstream_config(up)->timeout_seconds > 0 ? upstream_config(up)->timeout_seconds
                                                         : cfg->call_timeout_seconds;
    if (!int_arg(args, "timeout", 1, 86400, &timeout_s)) {
        result = metatools_error("\"timeout\" must be a whole number of seconds from 1 to "
                                 "86400.");
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "name", tool);
    cJSON_AddItemToObject(params, "arguments", callargs);
    callargs = NULL;
    /* Ask for progress: servers then report it while they work (logged now, relayed to the
     * client once relays exist), and a token is what the relay will map. */
    {
        static unsigned long long seq; /* a label counter, the one static here: atomic */
        char token[48];

        snprintf(token, sizeof(token), "mcpzip-%llu",
                 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
        cJSON_AddStringToObject(cJSON_AddObjectToObject(params, "_meta"), "progressToken", token);
        if (ctx != NULL && ctx->progress_token != NULL)
            proxy_progress_watch(px, token, ctx->progress_token);
        rc = upstream_request(up, "tools/call", params, timeout_s * 1000,
                              ctx != NULL ? ctx->cancel : NULL, &answer, &why);
        params = NULL;
        if (ctx != NULL && ctx->progress_token != NULL)
            proxy_progress_unwatch(px, token);
    }
    if (rc == 0 && cJSON_IsObject(answer)) {
        /* The upstream's CallToolResult, passed through unchanged. */
        result = answer;
        answer = NULL;
        goto out;
    }
    snap = catalog_acquire(proxy_catalog(px));
    if (rc == 0) {
        buf_printf(&b, "%s returned a malformed result (not an object).", name);
    } else if (rc == ERR_TIMEOUT) {
        buf_printf(&b,
                   "%s timed out after %d s; the call was cancelled on the server. If it "
                   "needs longer, pass a larger \"timeout\" (seconds).",
                   name, timeout_s);
    } else if (rc == ERR_CANCELLED) {
        buf_printf(&b, "%s was cancelled.", name);
    } else {
        buf_puts(&b, why != NULL ? why : err_str(rc));
        if (rc == ERR_CLOSED)
            buf_puts(&b, ". The call was not retried (it may have had effects); mcpzip restarts "
                         "the server on the next call.");
        else if (rc == ERR_RPC && catalog_find(snap, name) == NULL)
            suggest(&b, snap, name);
    }
fail_text:
    text = buf_take(&b);
    result = metatools_error(text);
    free(text);
out:
    buf_free(&b);
    free(server);
    free(why);
    cJSON_Delete(params);
    cJSON_Delete(callargs);
    cJSON_Delete(answer);
    if (snap != NULL)
        catalog_release(proxy_catalog(px), snap);
    return result;
}

static const char *transport_name(enum config_transport t)
{
    return t == CONFIG_STDIO ? "stdio" : t == CONFIG_HTTP ? "http" : "sse";
}

/* Formats a wall-clock ms time as ISO 8601 UTC. */
static void iso_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *proxy_status(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx)
{
    const struct config *cfg = proxy_config(px);
    struct catalog_snap *snap = catalog_acquire(proxy_catalog(px));
    cJSON *result, *sc = cJSON_CreateObject(), *servers, *totals;
    struct buf b = {0};
    size_t i, connected = 0;
    char when[32], *text;

    (void)args;
    (void)ctx;
    servers = cJSON_AddArrayToObject(sc, "servers");
    buf_printf(&b, "mcpzip %s, config %s\n", MCPZIP_VERSION, cfg->path);
    for (i = 0; i < snap->nservers; i++) {
        const struct catalog_server *cs = &snap->servers[i];
        struct upstream *up = proxy_upstream(px, cs->name);
        struct upstream_status st;
        const char *err;
        cJSON *s = cJSON_CreateObject();

        upstream_get_status(up, &st);
        err = st.last_error != NULL ? st.last_error : cs->last_error;
        cJSON_AddStringToObject(s, "name", cs->name);
        cJSON_AddStringToObject(s, "type", transport_name(upstream_config(up)->transport));
        cJSON_AddStringToObject(s, "state", upstream_state_name(st.state));
        cJSON_AddNumberToObject(s, "tools", (double)cs->ntools);
        cJSON_AddBoolToObject(s, "stale", cs->stale || (cs->loaded && !cs->live));
        if (err != NULL)
            cJSON_AddStringToObject(s, "last_error", err);
        else
            cJSON_AddNullToObject(s, "last_error");
        if (cs->refreshed_at > 0) {
            iso_time(cs->refreshed_at, when, sizeof(when));
            cJSON_AddStringToObject(s, "last_refresh", when);
        } else {
            cJSON_AddNullToObject(s, "last_refresh");
        }
        if (st.pid > 0)
            cJSON_AddNumberToObject(s, "pid", (double)st.pid);
        else
            cJSON_AddNullToObject(s, "pid");
        cJSON_AddNumberToObject(s, "in_flight", st.in_flight);
        if (st.protocol != NULL)
            cJSON_AddStringToObject(s, "protocol", st.protocol);
        cJSON_AddItemToArray(servers, s);
        if (st.state == UPSTREAM_CONNECTED)
            connected++;
        buf_printf(&b, "%s: %s, %zu tools%s", cs->name, upstream_state_name(st.state), cs->ntools,
                   !cs->loaded ? " (not loaded yet)"
                   : cs->stale ? " (stale)"
                               : "");
        if (st.pid > 0)
            buf_printf(&b, ", pid %ld", st.pid);
        if (cs->refreshed_at > 0)
            buf_printf(&b, ", refreshed %s", when);
        if (err != NULL)
            buf_printf(&b, "\n  last error: %s", err);
        buf_puts(&b, "\n");
        free(st.last_error);
        free(st.protocol);
    }
    totals = cJSON_AddObjectToObject(sc, "totals");
    cJSON_AddNumberToObject(totals, "servers", (double)snap->nservers);
    cJSON_AddNumberToObject(totals, "connected", (double)connected);
    cJSON_AddNumberToObject(totals, "tools", (double)snap->ntools);
    buf_printf(&b, "%zu servers (%zu connected), %zu tools", snap->nservers, connected,
               snap->ntools);
    catalog_release(proxy_catalog(px), snap);
    text = buf_take(&b);
    result = text_result(text);
    free(text);
    cJSON_AddItemToObject(result, "structuredContent", sc);
    return result;
}

struct refresh_task {
    struct proxy *px;
    const char *name;
    struct catalog_diff diff;
    char *why;
    int rc;
    pthread_t thread;
    bool started;
};

static void *refresh_one(void *arg)
{
    struct refresh_task *t = arg;

    t->rc = proxy_refresh(t->px, t->name, &t->diff, &t->why);
    return NULL;
}

static cJSON *names_array(char **names, size_t n)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    return a;
}

static cJSON *proxy_refresh_tool(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx)
{
    const struct config *cfg = proxy_config(px);
    const char *only = json_get_str(args, "server");
    struct refresh_task *tasks;
    cJSON *result, *sc, *servers;
    struct buf b = {0};
    size_t i, n = 0;
    char *text;

    (void)ctx;
    if (only != NULL && *only != '\0' && config_find(cfg, only) == NULL) {
        buf_printf(&b, "No server named \"%s\". Servers:", only);
        for (i = 0; i < cfg->nservers; i++)
            buf_printf(&b, "%s %s", i ? "," : "", cfg->servers[i].name);
        text = buf_take(&b);
        result = metatools_error(text);
        free(text);
        return result;
    }
    tasks = xcalloc(cfg->nservers + 1, sizeof(*tasks));
    for (i = 0; i < cfg->nservers; i++) {
        const struct config_server *s = &cfg->servers[i];

        if ((only != NULL && *only != '\0' && strcmp(only, s->name) != 0) ||
            (s->disabled && (only == NULL || *only == '\0')))
            continue;
        tasks[n].px = px;
        tasks[n].name = s->name;
        /* All servers at once: the slowest one bounds the wait, not their sum. */
        tasks[n].started = pthread_create(&tasks[n].thread, NULL, refresh_one, &tasks[n]) == 0;
        if (!tasks[n].started)
            refresh_one(&tasks[n]);
        n++;
    }
    sc = cJSON_CreateObject();
    servers = cJSON_AddArrayToObject(sc, "servers");
    for (i = 0; i < n; i++) {
        struct refresh_task *t = &tasks[i];
        cJSON *s = cJSON_CreateObject();

        if (t->started)
            pthread_join(t->thread, NULL);
        cJSON_AddStringToObject(s, "name", t->name);
        cJSON_AddBoolToObject(s, "ok", t->rc == 0);
        cJSON_AddItemToObject(s, "added", names_array(t->diff.added, t->diff.nadded));
        cJSON_AddItemToObject(s, "removed", names_array(t->diff.removed, t->diff.nremoved));
        if (t->rc != 0) {
            cJSON_AddStringToObject(s, "error", t->why);
            buf_printf(&b, "%s: failed: %s\n", t->name, t->why);
        } else {
            buf_printf(&b, "%s: ok, %zu added, %zu removed", t->name, t->diff.nadded,
                       t->diff.nremoved);
            for (size_t j = 0; j < t->diff.nadded && j < 20; j++)
                buf_printf(&b, "%s+%s", j ? ", " : ": ", t->diff.added[j]);
            for (size_t j = 0; j < t->diff.nremoved && j < 20; j++)
                buf_printf(&b, "%s-%s", j || t->diff.nadded ? ", " : ": ", t->diff.removed[j]);
            buf_puts(&b, "\n");
        }
        cJSON_AddItemToArray(servers, s);
        catalog_diff_clear(&t->diff);
        free(t->why);
    }
    free(tasks);
    if (n == 0)
        buf_puts(&b, "No enabled servers to refresh.");
    text = buf_take(&b);
    result = text_result(text);
    free(text);
    cJSON_AddItemToObject(result, "structuredContent", sc);
    return result;
}

static const struct metatool metatools[] = {
    {.name = "search_tools", .blocking = false, .call = search_tools},
    {.name = "describe_tool", .blocking = false, .call = describe_tool},
    {.name = "execute_tool", .blocking = true, .call = execute_tool},
    {.name = "proxy_status", .blocking = false, .call = proxy_status},
    {.name = "proxy_refresh", .blocking = true, .call = proxy_refresh_tool},
};

#define META_EXPOSE_MAX 500

/* True when the config pins name (an exact name or a glob). */
static bool pinned(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nexpose; i++)
        if (fnmatch(cfg->expose[i], name, 0) == 0)
            return true;
    return false;
}

/* "auto": true when the whole catalog's definitions fit the token budget (bytes / 4). */
static bool auto_fits(const struct config *cfg, const struct catalog_snap *snap)
{
    size_t bytes = 0, budget = (size_t)cfg->expose_auto_tokens * 4;

    if (cfg->expose_auto_tokens <= 0 || snap->ntools == 0)
        return false;
    bytes = snap->def_bytes;
    for (size_t i = 0; i < snap->ntools && bytes <= budget; i++)
        bytes += strlen(snap->tools[i].server) + 2;
    return bytes <= budget;
}

/* The tools "expose" lists (at most META_EXPOSE_MAX): their names, one a line, to *signature,
 * and, when tools is not NULL, their definitions under routed names to tools. */
static void exposed(struct proxy *px, cJSON *tools, char **signature)
{
    const struct config *cfg = proxy_config(px);
    struct catalog_snap *snap;
    struct buf sig = {0};
    bool all;
    size_t n = 0;

    if (cfg->nexpose == 0 && cfg->expose_auto_tokens <= 0) {
        *signature = xstrdup("");
        return;
    }
    snap = catalog_acquire(proxy_catalog(px));
    all = auto_fits(cfg, snap);
    for (size_t i = 0; i < snap->ntools && n < META_EXPOSE_MAX; i++) {
        const struct catalog_tool *t = &snap->tools[i];
        cJSON *def;

        if (!all && !pinned(cfg, t->name))
            continue;
        buf_printf(&sig, "%s\n", t->name);
        n++;
        /* An unreadable definition is left out; execute_tool still reaches the tool. */
        def = tools != NULL ? catalog_tool_def(t, NULL) : NULL;
        if (def != NULL) {
            json_set_take(def, "name", cJSON_CreateString(t->name));
            cJSON_AddItemToArray(tools, def);
        }
    }
    catalog_release(proxy_catalog(px), snap);
    *signature = buf_take(&sig);
}

cJSON *metatools_list_exposed(struct proxy *px, char **signature)
{
    cJSON *tools = metatools_list();
    char *sig = NULL;

    exposed(px, tools, &sig);
    if (signature != NULL)
        *signature = sig;
    else
        free(sig);
    return tools;
}

char *metatools_exposed_signature(struct proxy *px)
{
    char *sig = NULL;

    exposed(px, NULL, &sig);
    return sig;
}

cJSON *metatools_call_exposed(struct proxy *px, const char *name, const cJSON *args,
                              struct metatool_ctx *ctx)
{
    const struct config *cfg = proxy_config(px);
    struct catalog_snap *snap;
    cJSON *a, *result;
    bool ok;

    if (cfg->nexpose == 0 && cfg->expose_auto_tokens <= 0)
        return NULL;
    snap = catalog_acquire(proxy_catalog(px));
    ok = catalog_find(snap, name) != NULL && (pinned(cfg, name) || auto_fits(cfg, snap));
    catalog_release(proxy_catalog(px), snap);
    if (!ok)
        return NULL;
    /* The same path as execute_tool, so results, timeouts and errors behave alike. */
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "name", name);
    if (args != NULL)
        cJSON_AddItemToObject(a, "arguments", json_dup(args));
    result = execute_tool(px, a, ctx);
    cJSON_Delete(a);
    return result;
}

bool metatools_blocking(struct proxy *px, const struct metatool *t)
{
    return t->blocking || (t->call == search_tools && proxy_llm(px) != NULL);
}

const struct metatool *metatools_find(const char *name)
{
    for (size_t i = 0; i < sizeof(metatools) / sizeof(metatools[0]); i++)
        if (strcmp(metatools[i].name, name) == 0)
            return &metatools[i];
    return NULL;
}

char *metatools_instructions(struct proxy *px)
{
    const struct config *cfg = proxy_config(px);
    struct buf b = {0}, list = {0};
    size_t i, count, total = 0;

    /* Counts come from the cache summary when the catalog is still loading: initialize must
     * not wait for it. */
    for (i = 0; i < cfg->nservers; i++) {
        const char *name = cfg->servers[i].name;
        bool known = catalog_count(proxy_catalog(px), name, &count);

        if (known)
            total += count;
        if (i >= META_INSTRUCTION_SERVERS)
            continue;
        if (known)
            buf_printf(&list, "%s%s (%zu)", i ? ", " : "", name, count);
        else
            buf_printf(&list, "%s%s", i ? ", " : "", name);
    }
    buf_printf(&b, "mcpzip gives access to %zu tools on %zu MCP servers: %s", total, cfg->nservers,
               list.s != NULL ? list.s : "");
    if (cfg->nservers > META_INSTRUCTION_SERVERS)
        buf_printf(&b, " and %zu more", cfg->nservers - META_INSTRUCTION_SERVERS);
    buf_puts(&b, ". To use one: search_tools with what you want to do, describe_tool for its "
                 "schema if needed, then execute_tool with name \"server__tool\" and arguments. "
                 "proxy_status shows server health.");
    buf_free(&list);
    return buf_take(&b);
}
