/*
 * config.c - the configuration file; see config.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "oauth_config.h"
#include "xmem.h"

#define CONFIG_MAX_BYTES (64u * 1024u * 1024u)
#define CONFIG_SUBDIR "compressed-mcp-proxy"

/* Known fields; anything else draws a warning, so typos are noticed but never fatal. */
static const char *const top_fields[] = {
    "mcpServers",
    "gemini_api_key",
    "search",
    "idle_timeout_minutes",
    "call_timeout_seconds",
    "max_message_bytes",
    "expose",
    "$schema",
    NULL,
};
static const char *const search_fields[] = {"model", "default_limit", "llm", NULL};
static const char *const server_fields[] = {
    "type",     "command",         "args",  "env",         "cwd", "url", "headers",
    "disabled", "timeout_seconds", "oauth", "description", NULL,
};

static void warn(struct config *cfg, char *msg)
{
    cfg->warnings = xrealloc(cfg->warnings, (cfg->nwarnings + 1) * sizeof(char *));
    cfg->warnings[cfg->nwarnings++] = msg;
}

static void check_fields(struct config *cfg, const cJSON *obj, const char *const *known,
                         const char *where)
{
    const cJSON *it;
    size_t i;

    cJSON_ArrayForEach (it, obj) {
        /* JSON has no comments; "$comment" (JSON Schema's convention) and "//" keys stand in. */
        if (strncmp(it->string, "$comment", 8) == 0 || strncmp(it->string, "//", 2) == 0)
            continue;
        for (i = 0; known[i] != NULL; i++)
            if (strcmp(it->string, known[i]) == 0)
                break;
        if (known[i] == NULL)
            warn(cfg,
                 xasprintf("%s: %s: unknown field \"%s\" ignored", cfg->path, where, it->string));
    }
}

bool config_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int config_valid_name(const char *name)
{
    const char *p;

    if (name == NULL || *name == '\0' || strstr(name, "__") != NULL)
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!config_name_char(*p))
            return 0;
    return (p - name) <= 64;
}

/*
 * Expands ${VAR} and ${VAR:-default} in s. Returns a new string, or NULL with *why naming the
 * variable when it is unset and has no default. "$" not followed by "{" is kept as is.
 */
static char *expand(const char *s, char **why)
{
    size_t cap = strlen(s) + 64, n = 0;
    char *out = xmalloc(cap);

    while (*s != '\0') {
        const char *val = NULL, *def = NULL, *end, *sep;
        size_t vlen, namelen;
        char name[256];

        if (s[0] != '$' || s[1] != '{' || (end = strchr(s + 2, '}')) == NULL) {
            if (n + 2 > cap)
                out = xrealloc(out, cap *= 2);
            out[n++] = *s++;
            continue;
        }
        sep = strstr(s + 2, ":-");
        namelen = (sep != NULL && sep < end) ? (size_t)(sep - s - 2) : (size_t)(end - s - 2);
        if (sep != NULL && sep < end)
            def = sep + 2;
        if (namelen == 0 || namelen >= sizeof(name)) {
            free(out);
            *why = xasprintf("\"%.*s\" is not a valid ${VAR} reference", (int)(end - s + 1), s);
            return NULL;
        }
        memcpy(name, s + 2, namelen);
        name[namelen] = '\0';
        val = getenv(name);
        if (val != NULL && *val != '\0') {
            vlen = strlen(val);
        } else if (def != NULL) {
            val = def;
            vlen = (size_t)(end - def);
        } else {
            free(out);
            *why = xasprintf("environment variable %s is not set (export it, or write "
                             "${%s:-default})",
                             name, name);
            return NULL;
        }
        while (n + vlen + 1 > cap)
            out = xrealloc(out, cap *= 2);
        memcpy(out + n, val, vlen);
        n += vlen;
        s = end + 1;
    }
    out[n] = '\0';
    return out;
}

/* Reads an object of strings (env, headers) with expansion. Returns 0 or ERR_INVALID. */
static int read_kv(struct config_server *srv, const cJSON *obj, const char *field,
                   struct config_kv **out, size_t *nout, const char *path, char **why)
{
    const cJSON *it;
    size_t n = 0;

    if (obj == NULL || cJSON_IsNull(obj))
        return 0;
    if (!cJSON_IsObject(obj)) {
        *why = xasprintf("%s: server \"%s\": \"%s\" must be an object of strings, like "
                         "{\"KEY\": \"value\"}",
                         path, srv->name, field);
        return ERR_INVALID;
    }
    *out = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(**out));
    cJSON_ArrayForEach (it, obj) {
        char *value, *problem = NULL;

        if (cJSON_IsString(it))
            value = xstrdup(it->valuestring);
        else if (cJSON_IsNumber(it) || cJSON_IsBool(it))
            value = json_print(it);
        else {
            *why = xasprintf("%s: server \"%s\": %s.%s must be a string", path, srv->name, field,
                             it->string);
            *nout = n;
            return ERR_INVALID;
        }
        (*out)[n].key = xstrdup(it->string);
        (*out)[n].value = expand(value, &problem);
        free(value);
        if ((*out)[n].value == NULL) {
            (*out)[n].value = xstrdup("");
            if (srv->problem == NULL)
                srv->problem = xasprintf("%s.%s: %s", field, it->string, problem);
            free(problem);
        }
        n++;
    }
    *nout = n;
    return 0;
}

static int read_int(const cJSON *obj, const char *key, int min, int max, int *out,
                    const char *where, const char *path, char **why)
{
    const cJSON *v = json_get(obj, key);

    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        v->valuedouble != (double)(long long)v->valuedouble) {
        *why = xasprintf("%s: %s\"%s\" must be a whole number from %d to %d", path, where, key, min,
                         max);
        return ERR_INVALID;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int read_server(struct config *cfg, const cJSON *entry, struct config_server *srv,
                       char **why)
{
    const char *type, *command, *url, *cwd;
    const cJSON *args, *it;
    char where[128];
    bool b;
    int rc;

    if (!config_valid_name(srv->name)) {
        *why = xasprintf("%s: server name \"%s\" is not allowed: use 1-64 letters, digits, '_', "
                         "'.' or '-', and no \"__\" (mcpzip routes \"server__tool\" on the first "
                         "\"__\")",
                         cfg->path, srv->name);
        return ERR_INVALID;
    }
    if (!cJSON_IsObject(entry)) {
        *why = xasprintf("%s: server \"%s\" must be an object like {\"command\": \"npx\", "
                         "\"args\": [...]}",
                         cfg->path, srv->name);
        return ERR_INVALID;
    }
    snprintf(where, sizeof(where), "mcpServers.%s", srv->name);
    check_fields(cfg, entry, server_fields, where);
    type = json_get_str(entry, "type");
    if (json_get(entry, "type") != NULL && !cJSON_IsNull(json_get(entry, "type")) && type == NULL) {
        *why = xasprintf("%s: server \"%s\": \"type\" must be a string (\"stdio\", \"http\" or "
                         "\"sse\")",
                         cfg->path, srv->name);
        return ERR_INVALID;
    }
    if (type == NULL || *type == '\0' || strcmp(type, "stdio") == 0)
        srv->transport = CONFIG_STDIO;
    else if (strcmp(type, "http") == 0 || strcmp(type, "streamable-http") == 0 ||
             strcmp(type, "streamableHttp") == 0)
        srv->transport = CONFIG_HTTP;
    else if (strcmp(type, "sse") == 0)
        srv->transport = CONFIG_SSE;
    else {
        *why = xasprintf("%s: server \"%s\": unknown type \"%s\" (use \"stdio\", \"http\" or "
                         "\"sse\")",
                         cfg->path, srv->name, type);
        return ERR_INVALID;
    }
    if (json_get_bool(entry, "disabled", &b))
        srv->disabled = b;
    rc = read_int(entry, "timeout_seconds", 1, 86400, &srv->timeout_seconds, where, cfg->path, why);
    if (rc != 0)
        return rc;
    if (json_get(entry, "oauth") != NULL && !cJSON_IsNull(json_get(entry, "oauth"))) {
        /* Checked here so a mistake is reported when the file is read; a bad value keeps only
         * this server from starting. */
        struct oauth_config oc;
        char *owhy = NULL, owhere[300];

        snprintf(owhere, sizeof(owhere), "%s.oauth", where);
        if (cJSON_IsObject(json_get(entry, "oauth")))
            check_fields(cfg, json_get(entry, "oauth"), oauth_config_fields, owhere);
        if (oauth_config_parse(json_get(entry, "oauth"), &oc, &owhy) != 0) {
            srv->problem = owhy;
        } else {
            oauth_config_clear(&oc);
            srv->oauth = json_dup(json_get(entry, "oauth"));
        }
    }

    if (srv->transport == CONFIG_STDIO) {
        char *problem = NULL;

        command = json_get_str(entry, "command");
        if (command == NULL || *command == '\0') {
            *why = xasprintf("%s: server \"%s\" has no \"command\": a stdio server needs one, "
                             "e.g. \"command\": \"npx\"; a remote server needs \"type\": "
                             "\"http\" and \"url\"",
                             cfg->path, srv->name);
            return ERR_INVALID;
        }
        args = json_get(entry, "args");
        if (args != NULL && !cJSON_IsNull(args) && !cJSON_IsArray(args)) {
            *why = xasprintf("%s: server \"%s\": \"args\" must be an array of strings", cfg->path,
                             srv->name);
            return ERR_INVALID;
        }
        srv->argv = xcalloc((size_t)cJSON_GetArraySize(args) + 2, sizeof(char *));
        srv->command = expand(command, &problem);
        if (srv->command == NULL) {
            srv->command = xstrdup(command);
            free(srv->problem);
            srv->problem = xasprintf("command: %s", problem);
            free(problem);
            problem = NULL;
        }
        srv->argv[srv->argc++] = xstrdup(srv->command);
        cJSON_ArrayForEach (it, args) {
            char *v;

            if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
                *why = xasprintf("%s: server \"%s\": args[%zu] must be a string", cfg->path,
                                 srv->name, srv->argc - 1);
                return ERR_INVALID;
            }
            v = cJSON_IsString(it) ? xstrdup(it->valuestring) : json_print(it);
            srv->argv[srv->argc] = expand(v, &problem);
            free(v);
            if (srv->argv[srv->argc] == NULL) {
                srv->argv[srv->argc] = xstrdup("");
                if (srv->problem == NULL)
                    srv->problem = xasprintf("args[%zu]: %s", srv->argc - 1, problem);
                free(problem);
                problem = NULL;
            }
            srv->argc++;
        }
        rc = read_kv(srv, json_get(entry, "env"), "env", &srv->env, &srv->nenv, cfg->path, why);
        if (rc != 0)
            return rc;
        cwd = json_get_str(entry, "cwd");
        if (cwd != NULL && *cwd != '\0')
            srv->cwd = xstrdup(cwd);
    } else {
        char *problem = NULL;

        url = json_get_str(entry, "url");
        if (url == NULL || *url == '\0') {
            *why = xasprintf("%s: server \"%s\" of type \"%s\" needs a \"url\", e.g. "
                             "\"https://example.com/mcp\"",
                             cfg->path, srv->name, type);
            return ERR_INVALID;
        }
        srv->url = expand(url, &problem);
        if (srv->url == NULL) {
            srv->url = xstrdup(url);
            free(srv->problem);
            srv->problem = xasprintf("url: %s", problem);
            free(problem);
        } else if (strncmp(srv->url, "http://", 7) != 0 && strncmp(srv->url, "https://", 8) != 0) {
            *why = xasprintf("%s: server \"%s\": url \"%s\" must start with https:// (or "
                             "http:// for a local server)",
                             cfg->path, srv->name, srv->url);
            return ERR_INVALID;
        }
        rc = read_kv(srv, json_get(entry, "headers"), "headers", &srv->headers, &srv->nheaders,
                     cfg->path, why);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * "search.llm": {"provider": "gemini"|"openai", "base_url", "model", "api_key_env",
 * "timeout_ms"}. Without it, a Gemini key (gemini_api_key or $GEMINI_API_KEY) turns on Gemini
 * with search.model, as in the Rust mcpzip.
 */
static int read_llm(struct config *cfg, const cJSON *llm, char **why)
{
    static const char *const fields[] = {"provider",    "base_url",   "model",
                                         "api_key_env", "timeout_ms", NULL};
    const char *provider = json_get_str(llm, "provider"), *base = json_get_str(llm, "base_url");
    const char *model = json_get_str(llm, "model"), *keyenv = json_get_str(llm, "api_key_env");
    int timeout = CONFIG_DEFAULT_LLM_TIMEOUT_MS;

    if (llm != NULL && !cJSON_IsNull(llm) && !cJSON_IsObject(llm)) {
        *why = xasprintf("%s: \"search.llm\" must be an object like {\"provider\": \"openai\", "
                         "\"base_url\": \"http://127.0.0.1:8080/v1\", \"model\": \"...\"}",
                         cfg->path);
        return ERR_INVALID;
    }
    check_fields(cfg, llm, fields, "search.llm");
    if (read_int(llm, "timeout_ms", 100, 60000, &timeout, "search.llm.", cfg->path, why) != 0)
        return ERR_INVALID;
    if (provider == NULL)
        provider = base != NULL && cfg->gemini_api_key == NULL ? "openai" : "gemini";
    if (strcmp(provider, "gemini") != 0 && strcmp(provider, "openai") != 0) {
        *why = xasprintf("%s: search.llm.provider \"%s\" is not known; use \"gemini\" or "
                         "\"openai\" (any OpenAI-compatible server)",
                         cfg->path, provider);
        return ERR_INVALID;
    }
    if (keyenv != NULL && getenv(keyenv) != NULL && *getenv(keyenv) != '\0')
        cfg->llm_api_key = xstrdup(getenv(keyenv));
    else if (strcmp(provider, "gemini") == 0 && cfg->gemini_api_key != NULL)
        cfg->llm_api_key = xstrdup(cfg->gemini_api_key);
    if (strcmp(provider, "gemini") == 0 && cfg->llm_api_key == NULL)
        return 0; /* no key: keyword search only */
    if (strcmp(provider, "openai") == 0 && base == NULL) {
        *why = xasprintf("%s: search.llm needs \"base_url\" for an OpenAI-compatible server, "
                         "e.g. \"http://127.0.0.1:8080/v1\"",
                         cfg->path);
        return ERR_INVALID;
    }
    if (strcmp(provider, "openai") == 0 && model == NULL) {
        *why =
            xasprintf("%s: search.llm needs \"model\" for an OpenAI-compatible server", cfg->path);
        return ERR_INVALID;
    }
    cfg->llm_provider = xstrdup(provider);
    cfg->llm_base_url = xstrdup(base != NULL ? base : CONFIG_GEMINI_BASE);
    cfg->llm_model = xstrdup(model != NULL ? model : cfg->search_model);
    cfg->llm_timeout_ms = timeout;
    return 0;
}

/* "expose": "auto", "auto:N", or an array of tool names and globs ("slack__*"). */
static int read_expose(struct config *cfg, const cJSON *v, char **why)
{
    const cJSON *it;

    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v) && strncmp(v->valuestring, "auto", 4) == 0) {
        const char *n = v->valuestring + 4;
        char *end = NULL;
        long tokens = CONFIG_DEFAULT_EXPOSE_TOKENS;

        if (*n == ':')
            tokens = strtol(n + 1, &end, 10);
        if ((*n != '\0' && *n != ':') || (*n == ':' && (end == n + 1 || *end != '\0')) ||
            tokens < 1) {
            *why = xasprintf("%s: \"expose\": \"%s\" is not valid; use \"auto\", \"auto:N\" "
                             "(a token budget) or a list of tool names",
                             cfg->path, v->valuestring);
            return ERR_INVALID;
        }
        cfg->expose_auto_tokens = tokens;
        return 0;
    }
    if (!cJSON_IsArray(v)) {
        *why = xasprintf("%s: \"expose\" must be \"auto\", \"auto:N\" or a list of tool names "
                         "and globs like [\"github__create_issue\", \"slack__*\"]",
                         cfg->path);
        return ERR_INVALID;
    }
    cfg->expose = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
    cJSON_ArrayForEach (it, v) {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
            *why = xasprintf("%s: \"expose\" entries must be tool names or globs (strings)",
                             cfg->path);
            return ERR_INVALID;
        }
        cfg->expose[cfg->nexpose++] = xstrdup(it->valuestring);
    }
    return 0;
}

/* Turns a byte offset into line:column (both 1-based) for error messages. */

int config_parse(const char *text, size_t len, const char *path, struct config **out, char **why)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    const cJSON *servers, *search, *it;
    const char *key, *model;
    cJSON *root = NULL;
    size_t errpos = 0, line, col, i;
    int rc = ERR_INVALID, limit = CONFIG_DEFAULT_LIMIT;
    int maxmsg = (int)CONFIG_DEFAULT_MAX_MESSAGE;

    cfg->path = xstrdup(path);
    cfg->search_default_limit = CONFIG_DEFAULT_LIMIT;
    cfg->idle_timeout_minutes = CONFIG_DEFAULT_IDLE_MIN;
    cfg->call_timeout_seconds = CONFIG_DEFAULT_CALL_TIMEOUT_S;
    cfg->max_message_bytes = CONFIG_DEFAULT_MAX_MESSAGE;

    root = json_parse(text, len, &errpos);
    if (root == NULL) {
        json_position(text, len, errpos, &line, &col);
        *why = xasprintf("%s:%zu:%zu: invalid JSON near here; check for a missing comma or quote, "
                         "or a trailing comma (JSON allows none)",
                         path, line, col);
        rc = ERR_PARSE;
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        *why = xasprintf("%s: the file must hold a JSON object like {\"mcpServers\": {...}}", path);
        goto out;
    }
    check_fields(cfg, root, top_fields, "top level");
    servers = json_get(root, "mcpServers");
    if (!cJSON_IsObject(servers)) {
        *why = xasprintf("%s: \"mcpServers\" %s; add \"mcpServers\": {\"name\": {\"command\": "
                         "\"...\", \"args\": [...]}}",
                         path, servers == NULL ? "is missing" : "must be an object");
        goto out;
    }
    cfg->servers = xcalloc((size_t)cJSON_GetArraySize(servers) + 1, sizeof(*cfg->servers));
    cJSON_ArrayForEach (it, servers) {
        struct config_server *srv = &cfg->servers[cfg->nservers++];

        srv->name = xstrdup(it->string);
        for (i = 0; i + 1 < cfg->nservers; i++)
            if (strcmp(cfg->servers[i].name, srv->name) == 0) {
                *why = xasprintf("%s: server \"%s\" is defined twice", path, srv->name);
                goto out;
            }
        if (read_server(cfg, it, srv, why) != 0)
            goto out;
    }
    key = json_get_str(root, "gemini_api_key");
    if (getenv("GEMINI_API_KEY") != NULL && *getenv("GEMINI_API_KEY") != '\0')
        cfg->gemini_api_key = xstrdup(getenv("GEMINI_API_KEY"));
    else if (key != NULL && *key != '\0')
        cfg->gemini_api_key = xstrdup(key);
    search = json_get(root, "search");
    if (search != NULL && !cJSON_IsObject(search)) {
        *why = xasprintf("%s: \"search\" must be an object like {\"default_limit\": 5}", path);
        goto out;
    }
    check_fields(cfg, search, search_fields, "search");
    model = json_get_str(search, "model");
    cfg->search_model = xstrdup(model != NULL && *model != '\0' ? model : CONFIG_DEFAULT_MODEL);
    if (read_int(search, "default_limit", 1, 50, &limit, "search.", path, why) != 0 ||
        read_int(root, "idle_timeout_minutes", 0, 10080, &cfg->idle_timeout_minutes, "", path,
                 why) != 0 ||
        read_int(root, "call_timeout_seconds", 1, 86400, &cfg->call_timeout_seconds, "", path,
                 why) != 0 ||
        read_int(root, "max_message_bytes", 1024, 1024 * 1024 * 1024, &maxmsg, "", path, why) != 0)
        goto out;
    cfg->search_default_limit = limit;
    cfg->max_message_bytes = (size_t)maxmsg;
    if (read_llm(cfg, json_get(search, "llm"), why) != 0)
        goto out;
    if (read_expose(cfg, json_get(root, "expose"), why) != 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    cJSON_Delete(root);
    config_free(cfg);
    return rc;
}

char *config_default_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

    if (xdg != NULL && *xdg == '/')
        return xasprintf("%s/%s/config.json", xdg, CONFIG_SUBDIR);
    return xasprintf("%s/.config/%s/config.json", home != NULL ? home : ".", CONFIG_SUBDIR);
}

int config_load(const char *path, struct config **out, char **why)
{
    char *def = NULL, *text = NULL, *abs = NULL;
    struct stat st;
    size_t got = 0;
    int fd = -1, rc = ERR_IO;
    ssize_t n;

    if (path == NULL)
        path = def = config_default_path();
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            *why = xasprintf("%s: no such file; create it with {\"mcpServers\": {...}}, or pass "
                             "--config PATH",
                             path);
        else
            *why = xasprintf("%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CONFIG_MAX_BYTES) {
        *why = xasprintf("%s: not a regular file of at most 64 MiB", path);
        goto out;
    }
    text = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size && (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    abs = realpath(path, NULL);
    rc = config_parse(text, got, abs != NULL ? abs : path, out, why);
out:
    if (fd >= 0)
        close(fd);
    free(def);
    free(text);
    free(abs);
    return rc;
}

const struct config_server *config_find(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->nservers; i++)
        if (strcmp(cfg->servers[i].name, name) == 0)
            return &cfg->servers[i];
    return NULL;
}

static void free_kv(struct config_kv *kv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void config_free(struct config *cfg)
{
    size_t i, j;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->nservers; i++) {
        struct config_server *s = &cfg->servers[i];

        free(s->name);
        free(s->command);
        for (j = 0; j < s->argc; j++)
            free(s->argv[j]);
        free(s->argv);
        free_kv(s->env, s->nenv);
        free(s->cwd);
        free(s->url);
        free_kv(s->headers, s->nheaders);
        cJSON_Delete(s->oauth);
        free(s->problem);
    }
    free(cfg->servers);
    for (i = 0; i < cfg->nwarnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    for (i = 0; i < cfg->nexpose; i++)
        free(cfg->expose[i]);
    free(cfg->expose);
    free(cfg->path);
    free(cfg->gemini_api_key);
    free(cfg->search_model);
    free(cfg->llm_provider);
    free(cfg->llm_base_url);
    free(cfg->llm_model);
    free(cfg->llm_api_key);
    free(cfg);
}
