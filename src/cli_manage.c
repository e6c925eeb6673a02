/*
 * cli_manage.c - add, remove, enable, disable, init; see cli_manage.h.
 */
#include "cli_manage.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli_clients.h"
#include "cli_common.h"
#include "cli_migrate.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "xmem.h"

const char cli_manage_add_help[] =
    "usage: mcpzip add NAME [-e KEY=VALUE]... [--cwd DIR] [--timeout SECONDS] [--disabled]\n"
    "                  [--] COMMAND [ARGS...]\n"
    "       mcpzip add NAME --url URL [--transport http|sse] [-H \"Key: Value\"]...\n"
    "       mcpzip add --transport http|sse NAME URL [-H \"Key: Value\"]...\n"
    "\n"
    "Adds an MCP server to mcpzip's config, like 'claude mcp add'. Options go before COMMAND;\n"
    "everything after COMMAND (or after --) is passed to it unchanged.\n"
    "\n"
    "  -e, --env KEY=VALUE    environment variable for a stdio server (repeatable)\n"
    "  --cwd DIR              working directory of a stdio server\n"
    "  --url URL              a remote server (Streamable HTTP unless --transport sse)\n"
    "  -t, --transport T      stdio, http or sse\n"
    "  -H, --header \"K: V\"    HTTP header for a remote server (repeatable)\n"
    "  --timeout SECONDS      per-call timeout for this server\n"
    "  --disabled             add it switched off (see 'mcpzip enable')\n"
    "  --force                replace an existing server of the same name\n"
    "  --config PATH          mcpzip's config file (created 0600 when missing)\n";

const char cli_manage_remove_help[] = "usage: mcpzip remove NAME [--config PATH]\n"
                                      "\n"
                                      "Removes the server NAME from mcpzip's config.\n";

const char cli_manage_enable_help[] =
    "usage: mcpzip enable NAME [--config PATH]\n"
    "\n"
    "Switches a disabled server back on (removes \"disabled\": true).\n";

const char cli_manage_disable_help[] =
    "usage: mcpzip disable NAME [--config PATH]\n"
    "\n"
    "Keeps the server in the config but never starts it (\"disabled\": true); its tools\n"
    "disappear from search until 'mcpzip enable NAME'.\n";

const char cli_manage_init_help[] =
    "usage: mcpzip init [--config PATH] [--project DIR]\n"
    "\n"
    "First-run setup. On a terminal it asks, step by step: which MCP clients' servers to move\n"
    "into mcpzip (as 'mcpzip migrate' does), which servers to add, and an optional Gemini API\n"
    "key. Without a terminal it writes a minimal config (0600) if there is none and says what\n"
    "to do next. It never overwrites an existing config.\n";

static const char restart_hint[] =
    "Running mcpzip instances read the config at start: restart your MCP client to apply it.\n";

/* Parses "K: V" (or "K=V" for env) into a new object member. Returns false when malformed. */
static bool add_pair(cJSON *obj, const char *s, char sep)
{
    const char *p = strchr(s, sep);
    char *key;

    if (p == NULL || p == s)
        return false;
    key = xstrndup(s, (size_t)(p - s));
    while (isspace((unsigned char)key[strlen(key) - 1]))
        key[strlen(key) - 1] = '\0';
    p++;
    while (sep == ':' && isspace((unsigned char)*p))
        p++;
    json_set_take(obj, key, cJSON_CreateString(p));
    free(key);
    return true;
}

/* Writes the edited config, printing the error. Returns the exit status. */
static int save(struct jsonfile *jf)
{
    char *why = NULL;

    if (cli_common_config_save(jf, &why) != 0) {
        fprintf(stderr, "mcpzip: %s; the config was not changed\n", why);
        free(why);
        return 1;
    }
    return 0;
}

int cli_manage_add(int argc, char **argv)
{
    const char *config = NULL, *name = NULL, *url = NULL, *transport = NULL, *cwd = NULL;
    const char *timeout = NULL, *v;
    cJSON *env = cJSON_CreateObject(), *headers = cJSON_CreateObject(), *entry = NULL;
    cJSON *args = cJSON_CreateArray(), *servers;
    struct jsonfile *jf = NULL;
    bool disabled = false, force = false;
    char *cfgpath = NULL, *why = NULL, *end;
    int i, m, rc = 1, cmd_at = -1;

    for (i = 1; i < argc && cmd_at < 0; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(cli_manage_add_help, stdout);
            rc = 0;
            goto out;
        } else if (strcmp(argv[i], "--") == 0) {
            cmd_at = i + 1;
        } else if (strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "--env") == 0 ||
                   strncmp(argv[i], "--env=", 6) == 0) {
            if (strncmp(argv[i], "--env=", 6) == 0)
                v = argv[i] + 6;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                v = "";
            if (!add_pair(env, v, '=')) {
                fprintf(stderr, "mcpzip add: -e needs KEY=VALUE, got \"%s\"\n", v);
                goto out;
            }
        } else if (strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "--header") == 0 ||
                   strncmp(argv[i], "--header=", 9) == 0) {
            if (strncmp(argv[i], "--header=", 9) == 0)
                v = argv[i] + 9;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                v = "";
            if (!add_pair(headers, v, ':')) {
                fprintf(stderr, "mcpzip add: --header needs \"Key: Value\", got \"%s\"\n", v);
                goto out;
            }
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            transport = argv[++i];
        } else if (strcmp(argv[i], "--disabled") == 0) {
            disabled = true;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = true;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &config)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--url", &url)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--transport", &transport)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--cwd", &cwd)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--timeout", &timeout)) != 0) {
            if (m < 0)
                goto out;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = cli_common_bad_option("add", argv[i]);
            goto out;
        } else if (name == NULL) {
            name = argv[i];
        } else if (url == NULL && transport != NULL && strcmp(transport, "stdio") != 0) {
            /* `claude mcp add --transport http NAME URL -H ...`: options may follow the URL. */
            url = argv[i];
        } else {
            cmd_at = i;
        }
    }
    if (name == NULL && cmd_at >= 0 && cmd_at < argc)
        name = argv[cmd_at++];
    if (name == NULL) {
        fprintf(stderr, "mcpzip add: give the server a NAME; see 'mcpzip help add'\n");
        goto out;
    }
    if (!config_valid_name(name)) {
        fprintf(stderr,
                "mcpzip add: \"%s\" is not a valid server name: use 1-64 letters, "
                "digits, '_', '.' or '-', and no \"__\"\n",
                name);
        goto out;
    }
    if (transport != NULL && strcmp(transport, "stdio") != 0 && strcmp(transport, "http") != 0 &&
        strcmp(transport, "sse") != 0) {
        fprintf(stderr, "mcpzip add: --transport must be stdio, http or sse\n");
        goto out;
    }
    /* `claude mcp add --transport http NAME URL`: the word after the name is the URL. */
    if (url == NULL && transport != NULL && strcmp(transport, "stdio") != 0 && cmd_at >= 0 &&
        cmd_at < argc)
        url = argv[cmd_at++];
    entry = cJSON_CreateObject();
    if (url != NULL) {
        if (cmd_at >= 0 && cmd_at < argc) {
            fprintf(stderr, "mcpzip add: a remote server (--url) takes no command\n");
            goto out;
        }
        if (env->child != NULL || cwd != NULL) {
            fprintf(stderr, "mcpzip add: -e and --cwd are for stdio servers; a remote server "
                            "takes --header\n");
            goto out;
        }
        cJSON_AddStringToObject(
            entry, "type", transport != NULL && strcmp(transport, "sse") == 0 ? "sse" : "http");
        cJSON_AddStringToObject(entry, "url", url);
        if (headers->child != NULL) {
            cJSON_AddItemToObject(entry, "headers", headers);
            headers = NULL;
        }
    } else {
        if (cmd_at < 0 || cmd_at >= argc) {
            fprintf(stderr, "mcpzip add: give the COMMAND that starts the server (after --), "
                            "or --url URL; see 'mcpzip help add'\n");
            goto out;
        }
        if (headers->child != NULL) {
            fprintf(stderr, "mcpzip add: --header is for remote servers (--url)\n");
            goto out;
        }
        cJSON_AddStringToObject(entry, "command", argv[cmd_at]);
        for (i = cmd_at + 1; i < argc; i++)
            cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
        if (args->child != NULL) {
            cJSON_AddItemToObject(entry, "args", args);
            args = NULL;
        }
        if (env->child != NULL) {
            cJSON_AddItemToObject(entry, "env", env);
            env = NULL;
        }
        if (cwd != NULL)
            cJSON_AddStringToObject(entry, "cwd", cwd);
    }
    if (timeout != NULL) {
        long t = strtol(timeout, &end, 10);

        if (*end != '\0' || t < 1 || t > 86400) {
            fprintf(stderr, "mcpzip add: --timeout must be 1 to 86400 seconds\n");
            goto out;
        }
        cJSON_AddNumberToObject(entry, "timeout_seconds", (double)t);
    }
    if (disabled)
        cJSON_AddTrueToObject(entry, "disabled");
    cli_common_init();
    cfgpath = cli_common_config_path(config);
    if (cli_common_config_open(cfgpath, true, &jf, &servers, &why) != 0) {
        fprintf(stderr, "mcpzip add: %s\n", why);
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(servers, name) != NULL && !force) {
        fprintf(stderr,
                "mcpzip add: a server named \"%s\" already exists in %s; remove it "
                "first ('mcpzip remove %s') or pass --force to replace it\n",
                name, cfgpath, name);
        goto out;
    }
    json_set_take(servers, name, entry);
    entry = NULL;
    if (save(jf) != 0)
        goto out;
    printf("Added %s server \"%s\" to %s.\n%s",
           url != NULL ? cli_clients_transport(cJSON_GetObjectItemCaseSensitive(servers, name))
                       : "stdio",
           name, cfgpath, restart_hint);
    rc = 0;
out:
    cJSON_Delete(env);
    cJSON_Delete(headers);
    cJSON_Delete(args);
    cJSON_Delete(entry);
    jsonfile_free(jf);
    free(cfgpath);
    free(why);
    return rc;
}

/* The shared shape of remove/enable/disable: NAME and --config. */
static int edit_one(int argc, char **argv, const char *help, int (*edit)(cJSON *, const char *))
{
    const char *config = NULL, *name = NULL;
    struct jsonfile *jf = NULL;
    cJSON *servers;
    char *cfgpath = NULL, *why = NULL;
    int i, m, rc = 1;

    for (i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &config)) != 0) {
            if (m < 0)
                return 1;
        } else if (argv[i][0] == '-') {
            return cli_common_bad_option(argv[0], argv[i]);
        } else if (name == NULL) {
            name = argv[i];
        } else {
            fprintf(stderr, "mcpzip %s: one NAME only\n", argv[0]);
            return 1;
        }
    }
    if (name == NULL) {
        fputs(help, stderr);
        return 1;
    }
    cli_common_init();
    cfgpath = cli_common_config_path(config);
    if (cli_common_config_open(cfgpath, false, &jf, &servers, &why) != 0) {
        fprintf(stderr, "mcpzip %s: %s\n", argv[0], why);
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(servers, name) == NULL) {
        const cJSON *it;

        fprintf(stderr, "mcpzip %s: no server named \"%s\" in %s. Servers:", argv[0], name,
                cfgpath);
        cJSON_ArrayForEach (it, servers)
            fprintf(stderr, " %s", it->string);
        fprintf(stderr, "%s\n", servers->child == NULL ? " (none)" : "");
        goto out;
    }
    rc = edit(servers, name);
    if (rc == 0 && jsonfile_changed(jf))
        rc = save(jf);
    if (rc == 0)
        printf("%s %s\n", name,
               argv[0][0] == 'r'   ? "removed."
               : argv[0][0] == 'e' ? "enabled."
                                   : "disabled.");
    if (rc == 0)
        fputs(restart_hint, stdout);
out:
    jsonfile_free(jf);
    free(cfgpath);
    free(why);
    return rc;
}

static int do_remove(cJSON *servers, const char *name)
{
    cJSON_DeleteItemFromObjectCaseSensitive(servers, name);
    return 0;
}

static int do_enable(cJSON *servers, const char *name)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(servers, name),
                                            "disabled");
    return 0;
}

static int do_disable(cJSON *servers, const char *name)
{
    json_set_take(cJSON_GetObjectItemCaseSensitive(servers, name), "disabled", cJSON_CreateTrue());
    return 0;
}

int cli_manage_remove(int argc, char **argv)
{
    return edit_one(argc, argv, cli_manage_remove_help, do_remove);
}

int cli_manage_enable(int argc, char **argv)
{
    return edit_one(argc, argv, cli_manage_enable_help, do_enable);
}

int cli_manage_disable(int argc, char **argv)
{
    return edit_one(argc, argv, cli_manage_disable_help, do_disable);
}

/* ---- init ---- */

/* Reads one line from stdin without its newline; NULL at end of input. */
static char *ask(const char *prompt)
{
    char line[4096];
    size_t n;

    fputs(prompt, stdout);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return NULL;
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    return xstrdup(line);
}

static bool yes(const char *answer, bool dflt)
{
    if (answer == NULL || *answer == '\0')
        return dflt;
    return answer[0] == 'y' || answer[0] == 'Y';
}

/* Writes the minimal config when none exists. Returns 0, or 1 with a message. */
static int write_minimal(const char *cfgpath, bool *created)
{
    struct jsonfile *jf = NULL;
    cJSON *servers, *search;
    char *why = NULL;
    int rc = 1;

    *created = false;
    if (cli_common_config_open(cfgpath, true, &jf, &servers, &why) != 0) {
        fprintf(stderr, "mcpzip init: %s\n", why);
        goto out;
    }
    if (jf->exists) {
        rc = 0;
        goto out;
    }
    /* The defaults spelled out with "$comment" notes (JSON has no comments; mcpzip skips these
     * keys), so the file documents what can be tuned. */
    cJSON_AddStringToObject(jf->root, "$comment",
                            "mcpzip config. Servers go in mcpServers, in Claude Code's format; "
                            "'mcpzip migrate' moves them from your MCP clients, 'mcpzip add' adds "
                            "one, 'mcpzip doctor' checks them. Reference: man mcpzip.");
    search = cJSON_AddObjectToObject(jf->root, "search");
    cJSON_AddStringToObject(search, "$comment",
                            "default_limit: results per search. A Gemini key (gemini_api_key or "
                            "$GEMINI_API_KEY) or an \"llm\" object re-ranks results with a model.");
    cJSON_AddNumberToObject(search, "default_limit", CONFIG_DEFAULT_LIMIT);
    cJSON_AddStringToObject(jf->root, "$comment_timeouts",
                            "idle_timeout_minutes: stop servers unused this long (0 = never); "
                            "call_timeout_seconds: default execute_tool timeout.");
    cJSON_AddNumberToObject(jf->root, "idle_timeout_minutes", CONFIG_DEFAULT_IDLE_MIN);
    cJSON_AddNumberToObject(jf->root, "call_timeout_seconds", CONFIG_DEFAULT_CALL_TIMEOUT_S);
    rc = save(jf);
    *created = rc == 0;
out:
    jsonfile_free(jf);
    free(why);
    return rc;
}

static void next_steps(const char *cfgpath, const char *self)
{
    char *files = NULL;
    size_t found = cli_migrate_count(NULL, NULL, &files);

    printf("\nNext steps:\n");
    if (found > 0)
        printf("  - %zu MCP server(s) found in your clients' config files:\n%s"
               "    move them behind mcpzip with:  mcpzip migrate   (preview: --dry-run)\n",
               found, files);
    printf("  - add servers:     mcpzip add NAME -- COMMAND [ARGS...]\n"
           "                     mcpzip add NAME --url https://example.com/mcp\n"
           "  - check them:      mcpzip doctor\n"
           "  - use it (if migrate did not set it up):\n"
           "      claude mcp add --scope user mcpzip -- %s serve%s%s\n",
           self, cli_common_is_default_config(cfgpath) ? "" : " --config ",
           cli_common_is_default_config(cfgpath) ? "" : cfgpath);
    free(files);
}

static int init_interactive(const char *cfgpath, const char *project)
{
    size_t n;
    const struct cli_client *all = cli_clients_all(&n);
    struct buf chosen = {0};
    char *a = NULL;
    int rc = 0;

    printf("mcpzip setup. Config file: %s\n\n", cfgpath);
    for (size_t i = 0; i < n; i++) {
        char *files = NULL, *q;
        size_t count = cli_migrate_count(all[i].id, project, &files);

        if (count > 0) {
            q = xasprintf("Move %zu server(s) from %s into mcpzip? The client keeps one "
                          "\"mcpzip\" entry; backups are made. [Y/n] ",
                          count, all[i].label);
            printf("%s: %s", all[i].label, files);
            a = ask(q);
            if (yes(a, true))
                buf_printf(&chosen, "%s%s", chosen.len ? "," : "", all[i].id);
            free(q);
            free(a);
            a = NULL;
        }
        free(files);
    }
    if (chosen.len > 0) {
        struct cli_migrate_opts o = {.config = cfgpath, .from = chosen.s, .project = project};

        printf("\n");
        rc = cli_migrate_run(&o, stdout);
        printf("\n");
    }
    for (;;) {
        char *name = ask("Add a server? Its name (Enter to skip): "), *cmd;

        if (name == NULL || *name == '\0') {
            free(name);
            break;
        }
        cmd = ask("Command line, or URL of a remote server: ");
        if (cmd != NULL && *cmd != '\0') {
            char *argv[128], *save = NULL, *dup = xstrdup(cmd);
            int argc = 0;

            argv[argc++] = "add";
            argv[argc++] = name;
            argv[argc++] = "--config";
            argv[argc++] = (char *)cfgpath;
            if (strncmp(cmd, "http://", 7) == 0 || strncmp(cmd, "https://", 8) == 0) {
                argv[argc++] = "--url";
                argv[argc++] = dup;
            } else {
                argv[argc++] = "--";
                for (char *w = strtok_r(dup, " \t", &save); w != NULL && argc < 127;
                     w = strtok_r(NULL, " \t", &save))
                    argv[argc++] = w;
            }
            argv[argc] = NULL;
            (void)cli_manage_add(argc, argv);
            free(dup);
        }
        free(cmd);
        free(name);
    }
    a = ask("Gemini API key for smarter search (optional, Enter to skip): ");
    if (a != NULL && *a != '\0') {
        struct jsonfile *jf = NULL;
        cJSON *servers;
        char *why = NULL;

        if (cli_common_config_open(cfgpath, true, &jf, &servers, &why) == 0) {
            json_set_take(jf->root, "gemini_api_key", cJSON_CreateString(a));
            if (save(jf) == 0)
                printf("Saved the key in %s (readable by you only).\n", cfgpath);
        } else {
            fprintf(stderr, "mcpzip init: %s\n", why);
        }
        jsonfile_free(jf);
        free(why);
    }
    free(a);
    buf_free(&chosen);
    return rc;
}

int cli_manage_init(int argc, char **argv)
{
    const char *config = NULL, *project = NULL;
    char *cfgpath, *self;
    bool created = false;
    int i, m, rc;

    for (i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(cli_manage_init_help, stdout);
            return 0;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &config)) != 0 ||
                   (m = cli_common_opt(argc, argv, &i, "--project", &project)) != 0) {
            if (m < 0)
                return 1;
        } else {
            return cli_common_bad_option("init", argv[i]);
        }
    }
    cli_common_init();
    cfgpath = cli_common_config_path(config);
    self = cli_common_self_path();
    if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        rc = init_interactive(cfgpath, project);
        if (rc == 0)
            rc = write_minimal(cfgpath, &created);
        if (rc == 0)
            printf("\nDone. Config: %s\n", cfgpath);
    } else {
        bool existed = cli_common_exists(cfgpath);

        rc = write_minimal(cfgpath, &created);
        if (rc == 0 && existed)
            printf("%s already exists; init left it unchanged.\n", cfgpath);
        else if (rc == 0)
            printf("Wrote a minimal config to %s (mode 0600).\n", cfgpath);
        if (rc == 0)
            next_steps(cfgpath, self);
    }
    free(cfgpath);
    free(self);
    return rc;
}
