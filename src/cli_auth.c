/*
 * cli_auth.c - `mcpzip auth`; see cli_auth.h.
 */
#include "cli_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "oauth.h"
#include "tokenstore.h"
#include "xmem.h"

const char cli_auth_help[] =
    "usage: mcpzip auth status [--config PATH]\n"
    "       mcpzip auth login SERVER [--config PATH]\n"
    "       mcpzip auth logout SERVER [--config PATH]\n"
    "\n"
    "OAuth sign-ins of remote servers (http/sse servers without \"headers\").\n"
    "  status   per server: signed in until when, scope, issuer (never a token)\n"
    "  login    sign in now: opens the browser ($BROWSER, else xdg-open) and waits for the\n"
    "           callback; on a machine the browser cannot reach, paste the address the browser\n"
    "           ended up on (http://127.0.0.1:PORT/oauth/callback?...) and press Enter\n"
    "  logout   delete the stored tokens and the client registration\n";

/* Loads the config and finds name (when non-NULL). Returns 0, or prints why and returns 1. */
static int load(const char *given, const char *name, struct config **cfg,
                const struct config_server **srv)
{
    char *path = cli_common_config_path(given), *why = NULL;

    if (config_load(path, cfg, &why) != 0) {
        fprintf(stderr, "mcpzip auth: %s\n", why);
        free(why);
        free(path);
        return 1;
    }
    free(path);
    if (name == NULL)
        return 0;
    *srv = config_find(*cfg, name);
    if (*srv == NULL) {
        fprintf(stderr, "mcpzip auth: no server named \"%s\" in %s\n", name, (*cfg)->path);
        return 1;
    }
    if ((*srv)->transport != CONFIG_HTTP && (*srv)->transport != CONFIG_SSE) {
        fprintf(stderr,
                "mcpzip auth: server \"%s\" is a local (stdio) server; OAuth is for "
                "remote ones\n",
                name);
        return 1;
    }
    if (!oauth_applies(*srv)) {
        fprintf(stderr,
                "mcpzip auth: server \"%s\" has \"headers\" in its config entry, so "
                "mcpzip sends those and never signs in; remove them to use OAuth\n",
                name);
        return 1;
    }
    return 0;
}

static void print_status(struct tokenstore *ts, const struct config_server *srv)
{
    struct tokenstore_tokens t = {0};
    char *warning = NULL, *why = NULL, when[64];
    int rc;

    if (srv->transport == CONFIG_STDIO)
        return;
    printf("%s (%s)\n", srv->name, srv->url);
    if (srv->nheaders > 0) {
        printf("  uses the configured headers; no OAuth\n");
        return;
    }
    rc = tokenstore_load(ts, srv->url, &t, &warning, &why);
    if (warning != NULL)
        printf("  warning: %s\n", warning);
    if (rc == ERR_NOT_FOUND) {
        printf("  not signed in (mcpzip signs in on first use, or run `mcpzip auth login "
               "%s`)\n",
               srv->name);
    } else if (rc != 0) {
        printf("  %s\n", why);
    } else {
        if (t.expires_at > 0) {
            time_t e = (time_t)t.expires_at;
            struct tm tm;

            localtime_r(&e, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
            printf("  %s %s%s\n",
                   t.expires_at > (int64_t)time(NULL) ? "authorized until" : "access expired at",
                   when, t.refresh_token != NULL ? " (refreshed automatically)" : "");
        } else {
            printf("  authorized (expiry unknown)%s\n",
                   t.refresh_token != NULL ? "; can refresh" : "");
        }
        printf("  scope: %s\n", t.scope != NULL ? t.scope : "(not stated)");
        printf("  issuer: %s\n", t.issuer != NULL ? t.issuer : "(unknown)");
    }
    tokenstore_tokens_clear(&t);
    free(warning);
    free(why);
}

static int status(const char *config)
{
    struct config *cfg = NULL;
    struct tokenstore *ts;
    size_t n = 0;

    if (load(config, NULL, &cfg, NULL) != 0)
        return 1;
    ts = tokenstore_new(NULL, NULL);
    for (size_t i = 0; i < cfg->nservers; i++) {
        if (cfg->servers[i].transport != CONFIG_STDIO) {
            print_status(ts, &cfg->servers[i]);
            n++;
        }
    }
    if (n == 0)
        printf("no remote servers in %s\n", cfg->path);
    tokenstore_free(ts);
    config_free(cfg);
    return 0;
}

static int login(const char *config, const char *name)
{
    struct config *cfg = NULL;
    const struct config_server *srv = NULL;
    struct http_lib *lib;
    struct oauth *oa;
    char *why = NULL;
    int rc;

    if (load(config, name, &cfg, &srv) != 0) {
        config_free(cfg);
        return 1;
    }
    fprintf(stderr,
            "Signing in to \"%s\". If the browser cannot reach this machine, paste the "
            "address it ended up on here and press Enter.\n",
            name);
    lib = http_lib_new("mcpzip/" MCPZIP_VERSION);
    oa = oauth_new(lib, NULL);
    rc = oauth_login(oa, srv, STDIN_FILENO, &why);
    if (rc == 0)
        printf("signed in to \"%s\"; the tokens are stored and refreshed automatically\n", name);
    else
        fprintf(stderr, "mcpzip auth login: %s\n", why != NULL ? why : err_str(rc));
    free(why);
    oauth_free(oa);
    http_lib_free(lib);
    config_free(cfg);
    return rc == 0 ? 0 : 1;
}

static int logout(const char *config, const char *name)
{
    struct config *cfg = NULL;
    const struct config_server *srv = NULL;
    struct tokenstore *ts;
    struct tokenstore_tokens t = {0};
    char *why = NULL, *warning = NULL;
    int rc = 0;

    if (load(config, name, &cfg, &srv) != 0) {
        config_free(cfg);
        return 1;
    }
    ts = tokenstore_new(NULL, NULL);
    if (tokenstore_load(ts, srv->url, &t, &warning, &why) == 0 && t.issuer != NULL &&
        tokenstore_client_delete(ts, t.issuer, &why) != 0) {
        fprintf(stderr, "mcpzip auth logout: %s\n", why);
        rc = 1;
    }
    free(why);
    why = NULL;
    if (tokenstore_delete(ts, srv->url, &why) != 0) {
        fprintf(stderr, "mcpzip auth logout: %s\n", why);
        rc = 1;
    } else {
        printf("signed out of \"%s\" (stored tokens and client registration deleted)\n", name);
    }
    tokenstore_tokens_clear(&t);
    free(why);
    free(warning);
    tokenstore_free(ts);
    config_free(cfg);
    return rc;
}

int cli_auth_main(int argc, char **argv)
{
    const char *config = NULL, *pos[3] = {NULL, NULL, NULL};
    int npos = 0, m;

    for (int i = 1; i < argc; i++) {
        if (cli_common_is_help(argv[i])) {
            fputs(cli_auth_help, stdout);
            return 0;
        } else if ((m = cli_common_opt(argc, argv, &i, "--config", &config)) != 0) {
            if (m < 0)
                return 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_common_bad_option(argv[0], argv[i]);
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        }
    }
    cli_common_init();
    if (npos == 1 && strcmp(pos[0], "status") == 0)
        return status(config);
    if (npos == 2 && strcmp(pos[0], "login") == 0)
        return login(config, pos[1]);
    if (npos == 2 && strcmp(pos[0], "logout") == 0)
        return logout(config, pos[1]);
    fputs(cli_auth_help, stderr);
    return 1;
}
