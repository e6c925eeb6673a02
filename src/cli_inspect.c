/*
 * cli_inspect.c - list, search, describe, call, refresh; see cli_inspect.h.
 */
#include "cli_inspect.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli_common.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "metatools.h"
#include "xmem.h"

#define CALL_ARGS_MAX (16u * 1024u * 1024u)

const char cli_inspect_list_help[] =
    "usage: mcpzip list [--tools] [--json] [--config PATH]\n"
    "\n"
    "Lists the configured servers with their type, state, tool count and last error (what the\n"
    "proxy_status meta-tool reports). Servers not in the catalog cache yet are loaded first.\n"
    "  --tools   also list each server's tool names\n"
    "  --json    print JSON (proxy_status's structured result) for scripts\n";

const char cli_inspect_search_help[] =
    "usage: mcpzip search QUERY... [--limit N] [--server NAME] [--json] [--config PATH]\n"
    "\n"
    "Searches the tools of every server exactly as the search_tools meta-tool does and prints\n"
    "one line per tool: server__tool: first sentence [param:type*, ...] (* = required).\n"
    "  --limit N       at most N results (default: search.default_limit, 5; max 50)\n"
    "  --server NAME   only this server's tools\n"
    "  --json          print the results as JSON (name, server, description, score)\n";

const char cli_inspect_describe_help[] =
    "usage: mcpzip describe SERVER__TOOL [--json] [--config PATH]\n"
    "\n"
    "Prints a tool's full definition (name, description, inputSchema...) as its server gave\n"
    "it, as the describe_tool meta-tool does.\n";

const char cli_inspect_call_help[] =
    "usage: mcpzip call SERVER__TOOL [JSON | @FILE | -] [--timeout SECONDS] [--json]\n"
    "                   [--config PATH]\n"
    "\n"
    "Calls a tool through mcpzip (the execute_tool path) and prints its result: text as text,\n"
    "other content summarised. The arguments are a JSON object given inline, read from FILE\n"
    "(@FILE) or from standard input (-); none means {}. Exits 1 when the tool reports an error.\n"
    "  --timeout SECONDS   give up (and cancel the call) after this long\n"
    "  --json              print the whole CallToolResult as JSON\n";

const char cli_inspect_refresh_help[] =
    "usage: mcpzip refresh [SERVER] [--config PATH]\n"
    "\n"
    "Connects to every enabled server (or one) in parallel, reloads its tool list and rebuilds\n"
    "the catalog cache that serve starts from. Shows live progress on a terminal. Exits 1 when\n"
    "a server failed.\n";

/* Options shared by these commands. */
struct opts {
    const char *config;
    const char *server;
    const char *limit;
    const char *timeout;
    bool json;
    bool tools;
    const char *pos[64]; /* positional words */
    int npos;
};

/* Parses argv into o. Returns -1 to continue, else the exit status (help printed: 0). */
static int parse(int argc, char **argv, const char *help, struct opts *o)
{
    int i, m;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (strcmp(argv[i], "--tools") == 0) {
            o->tools = true;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &o->config)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--server", &o->server)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--limit", &o->limit)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--timeout", &o->timeout)) != 0) {
            if (m < 0)
                return 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_common_bad_option(argv[0], argv[i]);
        } else if (o->npos < 64) {
            o->pos[o->npos++] = argv[i];
        }
    }
    return -1;
}

/* Parses a whole number option into the meta-tool's arguments. */
static bool number_arg(cJSON *args, const char *key, const char *text, const char *cmd)
{
    char *end;
    long v;

    if (text == NULL)
        return true;
    v = strtol(text, &end, 10);
    if (*end != '\0' || end == text || v < 1) {
        fprintf(stderr, "mcpzip %s: --%s must be a positive whole number\n", cmd, key);
        return false;
    }
    cJSON_AddNumberToObject(args, key, (double)v);
    return true;
}

/* Starts a session and loads the servers the catalog does not know yet. */
static int open_session(const char *config, struct cli_session *s)
{
    struct cli_refresh *r;
    size_t n;

    cli_common_init();
    if (cli_common_session(config, s) != 0)
        return 1;
    r = cli_common_refresh(s, isatty(STDERR_FILENO) ? stderr : NULL, true, NULL, &n);
    cli_common_refresh_free(r, n);
    return 0;
}

int cli_inspect_list(int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    struct cli_style st;
    struct catalog_snap *snap = NULL;
    cJSON *result = NULL, *sc;
    const cJSON *srv;
    int rc = parse(argc, argv, cli_inspect_list_help, &o);

    if (rc >= 0)
        return rc;
    if (o.npos > 0) {
        fprintf(stderr, "mcpzip list: unexpected \"%s\"\n", o.pos[0]);
        return 1;
    }
    if (open_session(o.config, &s) != 0)
        return 1;
    cli_common_style(stdout, &st);
    result = metatools_find("proxy_status")->call(s.px, NULL, NULL);
    sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
    snap = catalog_acquire(proxy_catalog(s.px));
    cJSON_ArrayForEach (srv, json_get_arr(sc, "servers")) {
        const char *name = json_get_str(srv, "name");
        const struct catalog_server *cs = catalog_server(snap, name);
        if (o.json && o.tools) {
            cJSON *names = cJSON_CreateArray();

            for (size_t i = 0; cs != NULL && cs->list != NULL && i < cs->ntools; i++)
                cJSON_AddItemToArray(names, cJSON_CreateString(catalog_list_name(cs->list, i)));
            cJSON_AddItemToObject((cJSON *)srv, "tool_names", names);
        }
    }
    if (o.json) {
        cli_common_print_json(stdout, sc);
        goto out;
    }
    if (json_get_arr(sc, "servers") == NULL || json_get_arr(sc, "servers")->child == NULL)
        printf("No servers configured in %s. Add one with 'mcpzip add' or 'mcpzip migrate'.\n",
               s.cfg->path);
    else
        printf("%s%-24s %-6s %-11s %6s  %s%s\n", st.bold, "NAME", "TYPE", "STATE", "TOOLS",
               "LAST ERROR", st.reset);
    cJSON_ArrayForEach (srv, json_get_arr(sc, "servers")) {
        const char *name = json_get_str(srv, "name"), *state = json_get_str(srv, "state");
        const char *err = json_get_str(srv, "last_error");
        const struct catalog_server *cs = catalog_server(snap, name);
        const char *color = strcmp(state, "connected") == 0 ? st.green
                            : strcmp(state, "failed") == 0 || strcmp(state, "needs-auth") == 0
                                ? st.red
                                : st.dim;
        double tools = 0;

        (void)json_get_num(srv, "tools", &tools);
        printf("%-24s %-6s %s%-11s%s %6.0f  %s%s%s\n", name, json_get_str(srv, "type"), color,
               state, st.reset, tools, st.red, err != NULL ? err : "", st.reset);
        for (size_t i = 0; o.tools && cs != NULL && cs->list != NULL && i < cs->ntools; i++)
            printf("    %s__%s\n", name, catalog_list_name(cs->list, i));
    }
out:
    catalog_release(proxy_catalog(s.px), snap);
    cJSON_Delete(result);
    cli_common_session_end(&s);
    return 0;
}

/* Joins the positional words with spaces (a query may be given unquoted). */
static char *join(const struct opts *o, int from)
{
    size_t len = 1;
    char *s;

    for (int i = from; i < o->npos; i++)
        len += strlen(o->pos[i]) + 1;
    s = xcalloc(1, len);
    for (int i = from; i < o->npos; i++) {
        if (i > from)
            strncat(s, " ", len - strlen(s) - 1);
        strncat(s, o->pos[i], len - strlen(s) - 1);
    }
    return s;
}

int cli_inspect_search(int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    cJSON *args, *result;
    char *query;
    bool err;
    int rc = parse(argc, argv, cli_inspect_search_help, &o);

    if (rc >= 0)
        return rc;
    if (o.npos == 0) {
        fputs(cli_inspect_search_help, stderr);
        return 1;
    }
    args = cJSON_CreateObject();
    query = join(&o, 0);
    cJSON_AddStringToObject(args, "query", query);
    free(query);
    if (!number_arg(args, "limit", o.limit, "search")) {
        cJSON_Delete(args);
        return 1;
    }
    if (o.server != NULL)
        cJSON_AddStringToObject(args, "server", o.server);
    if (open_session(o.config, &s) != 0) {
        cJSON_Delete(args);
        return 1;
    }
    result = metatools_find("search_tools")->call(s.px, args, NULL);
    (void)json_get_bool(result, "isError", &err);
    if (o.json && !err)
        cli_common_print_json(stdout, json_get(json_get(result, "structuredContent"), "results"));
    else
        err = cli_common_print_result(err ? stderr : stdout, result);
    cJSON_Delete(result);
    cJSON_Delete(args);
    cli_common_session_end(&s);
    return err ? 1 : 0;
}

int cli_inspect_describe(int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    cJSON *args, *result, *def;
    const char *text;
    bool err = false;
    int rc = parse(argc, argv, cli_inspect_describe_help, &o);

    if (rc >= 0)
        return rc;
    if (o.npos != 1) {
        fputs(cli_inspect_describe_help, stderr);
        return 1;
    }
    if (open_session(o.config, &s) != 0)
        return 1;
    args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "name", o.pos[0]);
    result = metatools_find("describe_tool")->call(s.px, args, NULL);
    (void)json_get_bool(result, "isError", &err);
    text = json_get_str(cJSON_GetArrayItem(json_get(result, "content"), 0), "text");
    def = !err && text != NULL ? json_parse(text, strlen(text), NULL) : NULL;
    if (def != NULL)
        cli_common_print_json(stdout, def);
    else
        err = cli_common_print_result(stderr, result) || true;
    cJSON_Delete(def);
    cJSON_Delete(result);
    cJSON_Delete(args);
    cli_common_session_end(&s);
    return err ? 1 : 0;
}

/* Reads the arguments of call: inline JSON, @file or - (stdin). Returns NULL with a message. */
static cJSON *call_arguments(const char *spec)
{
    char *text = NULL, *why = NULL;
    size_t len = 0, errpos = 0;
    cJSON *v;

    if (spec == NULL)
        return cJSON_CreateObject();
    if (strcmp(spec, "-") == 0) {
        struct buf b = {0};
        char chunk[65536];
        size_t n;

        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0 && b.len < CALL_ARGS_MAX)
            buf_append(&b, chunk, n);
        len = b.len;
        text = buf_take(&b);
    } else if (spec[0] == '@') {
        if (fsutil_read_file(spec + 1, CALL_ARGS_MAX, &text, &len, &why) != 0) {
            fprintf(stderr, "mcpzip call: %s\n", why);
            free(why);
            return NULL;
        }
    } else {
        text = xstrdup(spec);
        len = strlen(spec);
    }
    v = json_parse(text, len, &errpos);
    if (!cJSON_IsObject(v)) {
        fprintf(stderr,
                "mcpzip call: the arguments must be a JSON object like "
                "'{\"path\": \"/tmp\"}'%s\n",
                v == NULL ? " (the JSON is malformed)" : "");
        cJSON_Delete(v);
        v = NULL;
    }
    free(text);
    return v;
}

int cli_inspect_call(int argc, char **argv)
{
    struct cli_session s;
    struct opts o;
    cJSON *args, *arguments, *result;
    bool err = false;
    int rc = parse(argc, argv, cli_inspect_call_help, &o);

    if (rc >= 0)
        return rc;
    if (o.npos < 1 || o.npos > 2) {
        fputs(cli_inspect_call_help, stderr);
        return 1;
    }
    cli_common_init();
    arguments = call_arguments(o.npos == 2 ? o.pos[1] : NULL);
    if (arguments == NULL)
        return 1;
    args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "name", o.pos[0]);
    cJSON_AddItemToObject(args, "arguments", arguments);
    if (!number_arg(args, "timeout", o.timeout, "call")) {
        cJSON_Delete(args);
        return 1;
    }
    if (cli_common_session(o.config, &s) != 0) {
        cJSON_Delete(args);
        return 1;
    }
    result = metatools_find("execute_tool")->call(s.px, args, NULL);
    (void)json_get_bool(result, "isError", &err);
    if (o.json)
        cli_common_print_json(stdout, result);
    else
        (void)cli_common_print_result(err ? stderr : stdout, result);
    cJSON_Delete(result);
    cJSON_Delete(args);
    cli_common_session_end(&s);
    return err ? 1 : 0;
}

int cli_inspect_refresh(int argc, char **argv)
{
    struct cli_session s;
    struct cli_refresh *r;
    struct opts o;
    size_t n, failed = 0, tools = 0;
    int rc = parse(argc, argv, cli_inspect_refresh_help, &o);

    if (rc >= 0)
        return rc;
    if (o.npos > 1) {
        fputs(cli_inspect_refresh_help, stderr);
        return 1;
    }
    cli_common_init();
    if (cli_common_session(o.config, &s) != 0)
        return 1;
    if (o.npos == 1 && config_find(s.cfg, o.pos[0]) == NULL) {
        fprintf(stderr, "mcpzip refresh: no server named \"%s\" in %s\n", o.pos[0], s.cfg->path);
        cli_common_session_end(&s);
        return 1;
    }
    r = cli_common_refresh(&s, stdout, false, o.npos == 1 ? o.pos[0] : NULL, &n);
    for (size_t i = 0; i < n; i++) {
        failed += r[i].rc != 0;
        tools += r[i].ntools;
    }
    cli_common_refresh_free(r, n);
    if (n == 0)
        printf("No enabled servers to refresh.\n");
    else
        printf("%zu server(s) refreshed, %zu failed, %zu tools. Catalog cache updated.\n",
               n - failed, failed, tools);
    cli_common_session_end(&s);
    return failed > 0 ? 1 : 0;
}
