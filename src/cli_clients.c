/*
 * cli_clients.c - other MCP clients' config files and entry conversion; see cli_clients.h.
 */
#include "cli_clients.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "xmem.h"

static const struct cli_client clients[] = {
    {.id = "claude-code", .label = "Claude Code", .key = "mcpServers", .typed = true},
    {.id = "claude-desktop", .label = "Claude Desktop", .key = "mcpServers", .typed = false},
    {.id = "cursor", .label = "Cursor", .key = "mcpServers", .typed = false},
    {.id = "windsurf", .label = "Windsurf", .key = "mcpServers", .typed = false},
    {.id = "gemini", .label = "Gemini CLI", .key = "mcpServers", .typed = false},
    {.id = "vscode", .label = "VS Code", .key = "servers", .typed = true},
};

static const struct {
    const char *alias, *id;
} aliases[] = {
    {"claude", "claude-code"},
    {"claudecode", "claude-code"},
    {"desktop", "claude-desktop"},
    {"claude_desktop", "claude-desktop"},
    {"code", "vscode"},
    {"vs-code", "vscode"},
    {"gemini-cli", "gemini"},
    {"codeium", "windsurf"},
};

#define NCLIENTS (sizeof(clients) / sizeof(clients[0]))

const struct cli_client *cli_clients_all(size_t *n)
{
    *n = NCLIENTS;
    return clients;
}

const struct cli_client *cli_clients_find(const char *id)
{
    for (size_t i = 0; i < NCLIENTS; i++)
        if (strcmp(clients[i].id, id) == 0)
            return &clients[i];
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, id) == 0)
            return cli_clients_find(aliases[i].id);
    return NULL;
}

static void add_path(char ***v, size_t *n, char *p)
{
    *v = xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = p;
    (*v)[*n] = NULL;
}

char **cli_clients_paths(const struct cli_client *client, const char *home, const char *project)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *ccd = getenv("CLAUDE_CONFIG_DIR");
    char *cfgdir = xdg != NULL && *xdg == '/' ? xstrdup(xdg) : xasprintf("%s/.config", home);
    const char *mac = "Library/Application Support";
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;

    if (strcmp(client->id, "claude-code") == 0) {
        if (ccd != NULL && *ccd != '\0')
            add_path(&v, &n, xasprintf("%s/.claude.json", ccd));
        else
            add_path(&v, &n, xasprintf("%s/.claude.json", home));
        if (project != NULL)
            add_path(&v, &n, xasprintf("%s/.mcp.json", project));
    } else if (strcmp(client->id, "claude-desktop") == 0) {
        add_path(&v, &n, xasprintf("%s/Claude/claude_desktop_config.json", cfgdir));
        add_path(&v, &n, xasprintf("%s/%s/Claude/claude_desktop_config.json", home, mac));
    } else if (strcmp(client->id, "cursor") == 0) {
        add_path(&v, &n, xasprintf("%s/.cursor/mcp.json", home));
        if (project != NULL)
            add_path(&v, &n, xasprintf("%s/.cursor/mcp.json", project));
    } else if (strcmp(client->id, "windsurf") == 0) {
        add_path(&v, &n, xasprintf("%s/.codeium/windsurf/mcp_config.json", home));
    } else if (strcmp(client->id, "gemini") == 0) {
        add_path(&v, &n, xasprintf("%s/.gemini/settings.json", home));
        if (project != NULL)
            add_path(&v, &n, xasprintf("%s/.gemini/settings.json", project));
    } else if (strcmp(client->id, "vscode") == 0) {
        add_path(&v, &n, xasprintf("%s/Code/User/mcp.json", cfgdir));
        add_path(&v, &n, xasprintf("%s/%s/Code/User/mcp.json", home, mac));
        if (project != NULL)
            add_path(&v, &n, xasprintf("%s/.vscode/mcp.json", project));
    }
    free(cfgdir);
    return v;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

const struct cli_client *cli_clients_guess(const char *path, const cJSON *root)
{
    if (ends_with(path, ".claude.json") || ends_with(path, "/.mcp.json") ||
        strcmp(path, ".mcp.json") == 0)
        return cli_clients_find("claude-code");
    if (ends_with(path, "claude_desktop_config.json"))
        return cli_clients_find("claude-desktop");
    if (ends_with(path, ".cursor/mcp.json"))
        return cli_clients_find("cursor");
    if (ends_with(path, "mcp_config.json"))
        return cli_clients_find("windsurf");
    if (ends_with(path, ".gemini/settings.json"))
        return cli_clients_find("gemini");
    if (json_get_obj(root, "servers") != NULL && json_get_obj(root, "mcpServers") == NULL)
        return cli_clients_find("vscode");
    return cli_clients_find("claude-desktop");
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');

    return s != NULL ? s + 1 : p;
}

bool cli_clients_is_self(const char *name, const cJSON *entry, const char *self)
{
    const char *cmd = json_get_str(entry, "command");

    if (name != NULL && strcasecmp(name, "mcpzip") == 0)
        return true;
    if (cmd == NULL)
        return false;
    if (self != NULL && strcmp(cmd, self) == 0)
        return true;
    return strcmp(base_name(cmd), "mcpzip") == 0 || strcmp(base_name(cmd), "mcpzip-asan") == 0;
}

char *cli_clients_sanitize_name(const char *name)
{
    struct buf b = {0};
    char *out;

    for (const char *p = name; *p != '\0' && b.len < 64; p++) {
        char c = config_name_char(*p) ? *p : '-';

        /* "__" would split the routed name "server__tool" in the wrong place. */
        if (c == '_' && b.len > 0 && b.s[b.len - 1] == '_')
            continue;
        buf_append(&b, &c, 1);
    }
    out = buf_take(&b);
    if (*out == '\0' || strspn(out, "-") == strlen(out)) {
        free(out);
        return NULL;
    }
    return out;
}

const char *cli_clients_transport(const cJSON *entry)
{
    const char *t = json_get_str(entry, "type");

    if (t == NULL || *t == '\0' || strcmp(t, "stdio") == 0)
        return "stdio";
    return strcmp(t, "sse") == 0 ? "sse" : "http";
}

/* True for ${name:...} other than mcpzip's own ${VAR:-default}: an editor-only variable. */
static bool colon_form(const char *v, size_t len)
{
    const char *colon = memchr(v, ':', len);

    return colon != NULL && !(colon + 1 < v + len && colon[1] == '-');
}

/*
 * Rewrites the editor variables other clients support into what mcpzip expands: ${env:X} ->
 * ${X}, ${userHome} -> home, ${workspaceFolder} -> project. Returns NULL with *why for a
 * variable only the editor can fill (${input:...} prompts and the like).
 */
static char *convert_vars(const char *s, const char *home, const char *project, char **why)
{
    struct buf b = {0};

    while (*s != '\0') {
        const char *end;

        if (s[0] != '$' || s[1] != '{' || (end = strchr(s + 2, '}')) == NULL) {
            buf_append(&b, s++, 1);
            continue;
        }
        size_t len = (size_t)(end - s - 2);
        const char *v = s + 2;

        if (len > 4 && strncmp(v, "env:", 4) == 0) {
            buf_printf(&b, "${%.*s}", (int)(len - 4), v + 4);
        } else if (len == 8 && strncmp(v, "userHome", 8) == 0) {
            buf_puts(&b, home);
        } else if (len == 15 && strncmp(v, "workspaceFolder", 15) == 0) {
            if (project == NULL) {
                *why = xstrdup("it uses ${workspaceFolder}; run migrate with --project DIR");
                buf_free(&b);
                return NULL;
            }
            buf_puts(&b, project);
        } else if (len == 13 && strncmp(v, "pathSeparator", 13) == 0) {
            buf_puts(&b, "/");
        } else if (colon_form(v, len)) {
            *why = xasprintf("it uses ${%.*s}, which only the editor can fill in; add it with "
                             "'mcpzip add' and a real value",
                             (int)len, v);
            buf_free(&b);
            return NULL;
        } else {
            buf_append(&b, s, (size_t)(end - s + 1));
        }
        s = end + 1;
    }
    return buf_take(&b);
}

/* Copies a string value with variables converted. */
static int copy_str(cJSON *out, const char *key, const char *value, const char *home,
                    const char *project, char **why)
{
    char *v = convert_vars(value, home, project, why);

    if (v == NULL)
        return ERR_INVALID;
    cJSON_AddStringToObject(out, key, v);
    free(v);
    return 0;
}

/* Copies an object of strings (env, headers), skipped when empty. */
static int copy_map(cJSON *out, const char *key, const cJSON *map, const char *home,
                    const char *project, char **why)
{
    const cJSON *it;
    cJSON *m;

    if (map == NULL || cJSON_IsNull(map))
        return 0;
    if (!cJSON_IsObject(map)) {
        *why = xasprintf("its \"%s\" is not an object", key);
        return ERR_INVALID;
    }
    if (map->child == NULL)
        return 0;
    m = cJSON_AddObjectToObject(out, key);
    cJSON_ArrayForEach (it, map) {
        char *s = cJSON_IsString(it)                         ? xstrdup(it->valuestring)
                  : (cJSON_IsNumber(it) || cJSON_IsBool(it)) ? json_print(it)
                                                             : NULL;
        int rc;

        if (s == NULL) {
            *why = xasprintf("%s.%s is not a string", key, it->string);
            return ERR_INVALID;
        }
        rc = copy_str(m, it->string, s, home, project, why);
        free(s);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static const char *const known_fields[] = {
    "type",    "command",     "args",      "env",      "cwd",     "url",
    "httpUrl", "serverUrl",   "headers",   "disabled", "timeout", "timeout_seconds",
    "oauth",   "description", "transport", NULL,
};

/* Lists the fields mcpzip does not carry over, for the note. */
static void unknown_fields(const cJSON *entry, struct buf *b)
{
    const cJSON *it;

    cJSON_ArrayForEach (it, entry) {
        size_t i;

        for (i = 0; known_fields[i] != NULL; i++)
            if (strcmp(it->string, known_fields[i]) == 0)
                break;
        if (known_fields[i] == NULL)
            buf_printf(b, "%s\"%s\"", b->len ? ", " : "", it->string);
    }
}

int cli_clients_convert(const struct cli_client *client, const cJSON *entry, const char *home,
                        const char *project, cJSON **out, char **note, char **why)
{
    const char *type = json_get_str(entry, "type"), *command = json_get_str(entry, "command");
    const char *url = json_get_str(entry, "url"), *http_url = json_get_str(entry, "httpUrl");
    const char *server_url = json_get_str(entry, "serverUrl"), *cwd = json_get_str(entry, "cwd");
    const char *transport = json_get_str(entry, "transport");
    const cJSON *args = json_get(entry, "args"), *it;
    struct buf dropped = {0};
    cJSON *e = NULL;
    double num;
    bool b;
    int rc = ERR_INVALID;

    *out = NULL;
    *note = NULL;
    if (!cJSON_IsObject(entry)) {
        *why = xstrdup("the entry is not an object");
        goto out;
    }
    if (type == NULL && transport != NULL)
        type = transport;
    if (type != NULL &&
        (strstr(type, "ws") != NULL || strstr(type, "ide") != NULL || strcmp(type, "sdk") == 0)) {
        *why = xasprintf("type \"%s\" (an editor or websocket connection) is not something "
                         "mcpzip can start",
                         type);
        goto out;
    }
    e = cJSON_CreateObject();
    if (command != NULL && *command != '\0' &&
        (type == NULL || *type == '\0' || strcmp(type, "stdio") == 0)) {
        if (copy_str(e, "command", command, home, project, why) != 0)
            goto out;
        if (args != NULL && !cJSON_IsNull(args) && !cJSON_IsArray(args)) {
            *why = xstrdup("its \"args\" is not an array");
            goto out;
        }
        if (cJSON_GetArraySize(args) > 0) {
            cJSON *a = cJSON_AddArrayToObject(e, "args");

            cJSON_ArrayForEach (it, args) {
                char *s = cJSON_IsString(it)   ? xstrdup(it->valuestring)
                          : cJSON_IsNumber(it) ? json_print(it)
                                               : NULL;
                char *v;

                if (s == NULL) {
                    *why = xstrdup("its \"args\" holds something other than strings");
                    goto out;
                }
                v = convert_vars(s, home, project, why);
                free(s);
                if (v == NULL)
                    goto out;
                cJSON_AddItemToArray(a, cJSON_CreateString(v));
                free(v);
            }
        }
        if (copy_map(e, "env", json_get(entry, "env"), home, project, why) != 0)
            goto out;
        if (cwd != NULL && *cwd != '\0' && copy_str(e, "cwd", cwd, home, project, why) != 0)
            goto out;
    } else {
        const char *t = "http", *u = url;

        /* Gemini CLI: "httpUrl" is Streamable HTTP and "url" is SSE; Windsurf: "serverUrl". */
        if (http_url != NULL) {
            u = http_url;
        } else if (server_url != NULL) {
            u = server_url;
            if (ends_with(server_url, "/sse"))
                t = "sse";
        } else if (url != NULL && strcmp(client->id, "gemini") == 0 && type == NULL) {
            t = "sse";
        }
        if (type != NULL && strcmp(type, "sse") == 0)
            t = "sse";
        if (u == NULL || *u == '\0') {
            *why = xstrdup(type != NULL && strcmp(type, "stdio") != 0
                               ? "it has no \"url\""
                               : "it has neither a \"command\" nor a \"url\"");
            goto out;
        }
        cJSON_AddStringToObject(e, "type", t);
        if (copy_str(e, "url", u, home, project, why) != 0)
            goto out;
        if (copy_map(e, "headers", json_get(entry, "headers"), home, project, why) != 0)
            goto out;
    }
    if (json_get_bool(entry, "disabled", &b) && b)
        cJSON_AddTrueToObject(e, "disabled");
    /* Gemini CLI's "timeout" is in milliseconds; mcpzip's per-server one in seconds. */
    if (json_get_num(entry, "timeout", &num) && num > 0)
        cJSON_AddNumberToObject(e, "timeout_seconds",
                                ceil(num / 1000.0) > 86400 ? 86400 : ceil(num / 1000.0));
    else if (json_get_num(entry, "timeout_seconds", &num) && num >= 1 && num <= 86400)
        cJSON_AddNumberToObject(e, "timeout_seconds", floor(num));
    if (json_get_obj(entry, "oauth") != NULL)
        cJSON_AddItemToObject(e, "oauth", json_dup(json_get(entry, "oauth")));
    if (json_get_str(entry, "description") != NULL)
        cJSON_AddStringToObject(e, "description", json_get_str(entry, "description"));
    unknown_fields(entry, &dropped);
    if (dropped.len > 0)
        *note = xasprintf("not carried over: %s", dropped.s);
    *out = e;
    e = NULL;
    rc = 0;
out:
    buf_free(&dropped);
    cJSON_Delete(e);
    return rc;
}

cJSON *cli_clients_self_entry(const struct cli_client *client, const char *self,
                              const char *config_path)
{
    cJSON *e = cJSON_CreateObject(), *args;

    if (client->typed)
        cJSON_AddStringToObject(e, "type", "stdio");
    cJSON_AddStringToObject(e, "command", self);
    args = cJSON_AddArrayToObject(e, "args");
    cJSON_AddItemToArray(args, cJSON_CreateString("serve"));
    if (config_path != NULL) {
        cJSON_AddItemToArray(args, cJSON_CreateString("--config"));
        cJSON_AddItemToArray(args, cJSON_CreateString(config_path));
    }
    /* Claude Code writes "env": {} on every stdio entry; match its shape. */
    if (strcmp(client->id, "claude-code") == 0)
        cJSON_AddObjectToObject(e, "env");
    return e;
}
