/*
 * fuzz_config.c - libFuzzer harness for config_parse() (config.h).
 *
 * The input is the whole config file, given as an exact-size, not NUL-terminated buffer so that
 * any read past its end is caught. A few environment variables are set once so that ${VAR} and
 * ${VAR:-default} expansion runs both ways (set, empty, unset).
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - the result is 0, ERR_PARSE or ERR_INVALID; a failure has a reason starting with the path
 *    (ERR_PARSE with "path:line:col:"), and no config; a success has no reason;
 *  - every accepted server has a valid name, a unique one, and the fields its transport needs:
 *    stdio has argv[0] == command and a NULL-terminated argv; http/sse has a url;
 *  - the settings are inside their documented ranges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "/fuzz/config.json"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("A", "alpha", 1);
    setenv("HOME", "/home/fuzz", 1);
    setenv("TOKEN", "t0k3n", 1);
    setenv("EMPTY", "", 1);
    unsetenv("UNSET");
    unsetenv("GEMINI_API_KEY");
    return 0;
}

static void check_server(const struct config *cfg, size_t idx)
{
    const struct config_server *s = &cfg->servers[idx];

    CHECK(config_valid_name(s->name));
    for (size_t j = 0; j < idx; j++)
        CHECK(strcmp(cfg->servers[j].name, s->name) != 0);
    CHECK(config_find(cfg, s->name) == s);
    CHECK(s->timeout_seconds >= 0 && s->timeout_seconds <= 86400);
    if (s->transport == CONFIG_STDIO) {
        CHECK(s->command != NULL && s->command[0] != '\0');
        CHECK(s->argv != NULL && s->argc >= 1);
        CHECK(strcmp(s->argv[0], s->command) == 0);
        CHECK(s->argv[s->argc] == NULL);
        for (size_t j = 0; j < s->argc; j++)
            CHECK(s->argv[j] != NULL);
        for (size_t j = 0; j < s->nenv; j++)
            CHECK(s->env[j].key != NULL && s->env[j].value != NULL);
        CHECK(s->url == NULL);
    } else {
        CHECK(s->transport == CONFIG_HTTP || s->transport == CONFIG_SSE);
        CHECK(s->url != NULL);
        CHECK(s->problem != NULL || strncmp(s->url, "http://", 7) == 0 ||
              strncmp(s->url, "https://", 8) == 0);
        for (size_t j = 0; j < s->nheaders; j++)
            CHECK(s->headers[j].key != NULL && s->headers[j].value != NULL);
        CHECK(s->argv == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    struct config *cfg = NULL;
    char *why = NULL;
    int rc;

    memcpy(text, data, size);
    rc = config_parse(text, size, PATH, &cfg, &why);
    free(text);
    CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_INVALID);
    if (rc != 0) {
        CHECK(cfg == NULL);
        CHECK(why != NULL);
        CHECK(strncmp(why, PATH ":", strlen(PATH ":")) == 0);
        if (rc == ERR_PARSE) {
            unsigned line = 0, col = 0;

            CHECK(sscanf(why + strlen(PATH ":"), "%u:%u:", &line, &col) == 2);
            CHECK(line >= 1 && col >= 1);
        }
        free(why);
        return 0;
    }
    CHECK(cfg != NULL && why == NULL);
    CHECK(strcmp(cfg->path, PATH) == 0);
    CHECK(cfg->search_default_limit >= 1 && cfg->search_default_limit <= 50);
    CHECK(cfg->idle_timeout_minutes >= 0 && cfg->idle_timeout_minutes <= 10080);
    CHECK(cfg->call_timeout_seconds >= 1 && cfg->call_timeout_seconds <= 86400);
    CHECK(cfg->max_message_bytes >= 1024 && cfg->max_message_bytes <= 1024u * 1024u * 1024u);
    CHECK(cfg->search_model != NULL && cfg->search_model[0] != '\0');
    for (size_t i = 0; i < cfg->nservers; i++)
        check_server(cfg, i);
    for (size_t i = 0; i < cfg->nwarnings; i++)
        CHECK(cfg->warnings[i] != NULL);
    config_free(cfg);
    return 0;
}
