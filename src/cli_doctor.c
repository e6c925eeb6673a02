/*
 * cli_doctor.c - `mcpzip doctor`; see cli_doctor.h.
 */
#include "cli_doctor.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli_clients.h"
#include "cli_common.h"
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "upstream.h"
#include "xmem.h"

const char cli_doctor_help[] =
    "usage: mcpzip doctor [--json] [--config PATH]\n"
    "\n"
    "Checks the config file (syntax, fields, permissions, self-references), the token\n"
    "directory, and connects to every enabled server in parallel (live progress on a\n"
    "terminal), listing its tool count or its error with a suggested fix, and how remote\n"
    "servers authenticate. Also refreshes the catalog cache. Exits 1 when anything is wrong.\n"
    "  --json   print one JSON object: {ok, config, problems, servers}\n";

struct report {
    cJSON *problems; /* [{what, fix}] */
    cJSON *warnings; /* [text] */
    struct cli_style st;
    bool json;
};

static void problem(struct report *r, const char *what, const char *fix)
{
    cJSON *p = cJSON_CreateObject();

    cJSON_AddStringToObject(p, "what", what);
    cJSON_AddStringToObject(p, "fix", fix);
    cJSON_AddItemToArray(r->problems, p);
    if (!r->json)
        printf("  %s%s%s %s\n      %sfix:%s %s\n", r->st.red, "✗", r->st.reset, what, r->st.bold,
               r->st.reset, fix);
}

const char *cli_doctor_fix(int rc, const char *why)
{
    const char *w = why != NULL ? why : "";

    if (strstr(w, "mcpzip itself") != NULL)
        return "remove the entry ('mcpzip remove NAME'): mcpzip cannot proxy itself";
    if (strstr(w, "is not set") != NULL)
        return "export the variable in the environment your MCP client starts mcpzip from, or "
               "give a default in the config: ${VAR:-value}";
    if (rc == ERR_NEEDS_AUTH || strstr(w, "401") != NULL || strstr(w, "authoriz") != NULL)
        return "the server wants authorization: sign in with 'mcpzip auth login NAME' (OAuth, "
               "in a browser or by pasting the final URL), or give it a token header "
               "(mcpzip add NAME --force --url URL -H \"Authorization: Bearer TOKEN\")";
    if (strstr(w, "not found in PATH") != NULL || strstr(w, "No such file") != NULL ||
        strstr(w, "not found") != NULL)
        return "install the program, or give \"command\" as an absolute path (mcpzip add NAME "
               "--force -- /full/path/to/program ARGS...)";
    if (strstr(w, "ermission denied") != NULL)
        return "make the program executable (chmod +x) and readable by you";
    if (rc == ERR_TIMEOUT || strstr(w, "timed out") != NULL)
        return "the server did not answer in time: run its command by hand to see what it "
               "waits for; if it is only slow to start, run 'mcpzip refresh' again";
    if (strstr(w, "onnect") != NULL || strstr(w, "resolve") != NULL || strstr(w, "refused") != NULL)
        return "check the URL and that the server is running and reachable from this machine";
    if (rc == ERR_CLOSED || rc == ERR_SPAWN || strstr(w, "exit") != NULL)
        return "the server stopped during start-up: run its command by hand to read its "
               "error, or see its output with MCPZIP_LOG=info mcpzip refresh";
    if (rc == ERR_PROTOCOL || strstr(w, "JSON") != NULL)
        return "the program did not speak MCP on stdout: check that it is an MCP server and "
               "that its arguments start it in stdio mode";
    return "run 'MCPZIP_LOG=debug mcpzip refresh' to see the server's output";
}

/* Config-file checks that config_load cannot make. */
static void check_file(struct report *r, const struct config *cfg)
{
    bool secrets = cfg->gemini_api_key != NULL;
    struct stat st;
    char *self = cli_common_self_path();

    for (size_t i = 0; i < cfg->nservers; i++) {
        const struct config_server *s = &cfg->servers[i];
        cJSON *e = cJSON_CreateObject();

        secrets = secrets || s->nheaders > 0 || s->nenv > 0;
        if (s->command != NULL)
            cJSON_AddStringToObject(e, "command", s->command);
        if (cli_clients_is_self(s->name, e, self)) {
            char *what = xasprintf("server \"%s\" starts mcpzip itself, which would start "
                                   "itself again without end",
                                   s->name);
            char *fix = xasprintf("mcpzip remove %s", s->name);

            problem(r, what, fix);
            free(what);
            free(fix);
        }
        cJSON_Delete(e);
    }
    free(self);
    if (stat(cfg->path, &st) != 0)
        return;
    if ((st.st_mode & 077) != 0 && secrets) {
        char *what = xasprintf("%s holds secrets (API key, headers or env) and is readable by "
                               "other users (mode %04o)",
                               cfg->path, st.st_mode & 07777);
        char *fix = xasprintf("chmod 600 %s", cfg->path);

        problem(r, what, fix);
        free(what);
        free(fix);
    }
    if (st.st_uid != getuid())
        cJSON_AddItemToArray(r->warnings,
                             cJSON_CreateString("the config file is owned by another user"));
}

/* The token store must be private: directory 0700, files 0600. */
static void check_tokens(struct report *r, const struct config *cfg)
{
    char *dir = fsutil_dirname(cfg->path), *auth = xasprintf("%s/auth", dir);
    struct stat st;
    struct dirent *de;
    DIR *d;

    if (stat(auth, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) != 0) {
        char *what = xasprintf("the token directory %s is accessible by other users (mode "
                               "%04o)",
                               auth, st.st_mode & 07777);
        char *fix = xasprintf("chmod 700 %s", auth);

        problem(r, what, fix);
        free(what);
        free(fix);
    }
    d = opendir(auth);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char *p = xasprintf("%s/%s", auth, de->d_name);

        if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mode & 077) != 0) {
            char *what = xasprintf("token file %s is readable by other users (mode %04o)", p,
                                   st.st_mode & 07777);
            char *fix = xasprintf("chmod 600 %s", p);

            problem(r, what, fix);
            free(what);
            free(fix);
        }
        free(p);
    }
    if (d != NULL)
        closedir(d);
    free(auth);
    free(dir);
}

/* Says how a remote server authenticates. */
static const char *auth_state(const struct config *cfg, const struct config_server *s,
                              enum upstream_state state)
{
    char hex[33], *dir, *path;
    bool token;

    if (s->transport == CONFIG_STDIO)
        return NULL;
    if (state == UPSTREAM_NEEDS_AUTH)
        return "needs authorization";
    for (size_t i = 0; i < s->nheaders; i++)
        if (strcasecmp(s->headers[i].key, "Authorization") == 0)
            return "Authorization header from the config";
    if (s->nheaders > 0)
        return "headers from the config";
    fsutil_sha256_hex(s->url, strlen(s->url), hex, 32);
    dir = fsutil_dirname(cfg->path);
    path = xasprintf("%s/auth/%s.json", dir, hex);
    token = cli_common_exists(path);
    free(path);
    free(dir);
    return token ? "OAuth token stored" : "none (no token stored)";
}

int cli_doctor_main(int argc, char **argv)
{
    const char *config = NULL;
    struct report r = {0};
    struct config *cfg = NULL;
    struct cli_session s = {0};
    struct cli_refresh *res = NULL;
    cJSON *doc = cJSON_CreateObject(), *jcfg, *servers;
    char *why = NULL, *path = NULL;
    size_t n = 0, bad = 0;
    int i, m, rc = 1;

    for (i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(cli_doctor_help, stdout);
            cJSON_Delete(doc);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            r.json = true;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &config)) != 0) {
            if (m < 0) {
                cJSON_Delete(doc);
                return 1;
            }
        } else {
            cJSON_Delete(doc);
            return cli_common_bad_option("doctor", argv[i]);
        }
    }
    cli_common_init();
    cli_common_style(stdout, &r.st);
    r.problems = cJSON_CreateArray();
    r.warnings = cJSON_CreateArray();
    path = cli_common_config_path(config);
    jcfg = cJSON_AddObjectToObject(doc, "config");
    cJSON_AddStringToObject(jcfg, "path", path);
    if (!r.json)
        printf("%sConfig%s %s\n", r.st.bold, r.st.reset, path);
    if (config_load(path, &cfg, &why) != 0) {
        cJSON_AddFalseToObject(jcfg, "ok");
        problem(&r, why,
                cli_common_exists(path)
                    ? "edit the file at the place named above, then run doctor again"
                    : "create it with 'mcpzip init', 'mcpzip add' or 'mcpzip migrate'");
        goto done;
    }
    cJSON_AddTrueToObject(jcfg, "ok");
    cJSON_AddNumberToObject(jcfg, "servers", (double)cfg->nservers);
    for (size_t w = 0; w < cfg->nwarnings; w++)
        cJSON_AddItemToArray(r.warnings, cJSON_CreateString(cfg->warnings[w]));
    check_file(&r, cfg);
    check_tokens(&r, cfg);
    if (!r.json) {
        const cJSON *w;

        cJSON_ArrayForEach (w, r.warnings)
            printf("  %s!%s %s\n", r.st.yellow, r.st.reset, w->valuestring);
        printf("  %s%s%s valid, %zu server(s)\n\n%sServers%s\n", r.st.green, "✓", r.st.reset,
               cfg->nservers, r.st.bold, r.st.reset);
    }
    config_free(cfg);
    cfg = NULL;
    if (cli_common_session(path, &s) != 0)
        goto done;
    res = cli_common_refresh(&s, r.json ? NULL : stdout, false, NULL, &n);
    if (!r.json)
        printf("\n");
    servers = cJSON_AddArrayToObject(doc, "servers");
    for (size_t k = 0; k < s.cfg->nservers; k++) {
        const struct config_server *srv = &s.cfg->servers[k];
        struct cli_refresh *one = NULL;
        struct upstream_status ust;
        const char *auth;
        cJSON *js = cJSON_CreateObject();

        for (size_t j = 0; j < n; j++)
            if (strcmp(res[j].name, srv->name) == 0)
                one = &res[j];
        upstream_get_status(proxy_upstream(s.px, srv->name), &ust);
        auth = auth_state(s.cfg, srv, ust.state);
        cJSON_AddStringToObject(js, "name", srv->name);
        cJSON_AddStringToObject(js, "type",
                                srv->transport == CONFIG_STDIO  ? "stdio"
                                : srv->transport == CONFIG_HTTP ? "http"
                                                                : "sse");
        cJSON_AddStringToObject(js, "state", upstream_state_name(ust.state));
        if (one == NULL) {
            cJSON_AddNullToObject(js, "ok");
            if (!r.json)
                printf("  %s-%s %s  %sdisabled (not checked)%s\n", r.st.dim, r.st.reset, srv->name,
                       r.st.dim, r.st.reset);
        } else {
            cJSON_AddBoolToObject(js, "ok", one->rc == 0);
            cJSON_AddNumberToObject(js, "tools", (double)one->ntools);
            cJSON_AddNumberToObject(js, "ms", (double)one->ms);
            if (one->rc != 0) {
                const char *fix = cli_doctor_fix(one->rc, one->why);
                char *what = xasprintf("%s: %s", srv->name, one->why ? one->why : "failed");

                cJSON_AddStringToObject(js, "error", one->why ? one->why : err_str(one->rc));
                cJSON_AddStringToObject(js, "fix", fix);
                if (!r.json)
                    printf("  %s%s%s: %sfix:%s %s\n", r.st.bold, srv->name, r.st.reset, r.st.yellow,
                           r.st.reset, fix);
                cJSON *pj = cJSON_CreateObject();

                cJSON_AddStringToObject(pj, "what", what);
                cJSON_AddStringToObject(pj, "fix", fix);
                cJSON_AddItemToArray(r.problems, pj);
                free(what);
                bad++;
            }
        }
        if (auth != NULL) {
            cJSON_AddStringToObject(js, "auth", auth);
            if (!r.json && one != NULL)
                printf("  %s%s%s: auth: %s\n", r.st.bold, srv->name, r.st.reset, auth);
        }
        cJSON_AddItemToArray(servers, js);
        free(ust.last_error);
        free(ust.protocol);
    }
done:
    rc = cJSON_GetArraySize(r.problems) > 0 ? 1 : 0;
    if (r.json) {
        cJSON_AddBoolToObject(doc, "ok", rc == 0);
        cJSON_AddItemToObject(doc, "problems", r.problems);
        cJSON_AddItemToObject(doc, "warnings", r.warnings);
        r.problems = r.warnings = NULL;
        cli_common_print_json(stdout, doc);
    } else if (rc == 0) {
        printf("\n%sAll good%s: %zu server(s) checked.\n", r.st.green, r.st.reset, n);
    } else {
        printf("\n%s%d problem(s) found%s%s.\n", r.st.red, cJSON_GetArraySize(r.problems),
               r.st.reset, bad > 0 ? "; fix them and run 'mcpzip doctor' again" : "");
    }
    cli_common_refresh_free(res, n);
    if (s.px != NULL)
        cli_common_session_end(&s);
    config_free(cfg);
    cJSON_Delete(r.problems);
    cJSON_Delete(r.warnings);
    cJSON_Delete(doc);
    free(why);
    free(path);
    return rc;
}
