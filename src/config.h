/*
 * config.h - the configuration file, read once into an immutable struct config.
 *
 * Owns: locating the file (--config, else $XDG_CONFIG_HOME/compressed-mcp-proxy/config.json,
 * else ~/.config/compressed-mcp-proxy/config.json), parsing and validating it, ${VAR} and
 * ${VAR:-default} expansion, and the defaults. The format is the Rust mcpzip's, which is Claude
 * Code's `mcpServers` shape plus a few proxy settings, so existing files keep working.
 *
 * Errors name the file with line:column for JSON syntax, or the server and field for a bad value,
 * and say how to fix it. Unknown fields are collected as warnings, never failures. A server whose
 * ${VAR} cannot be expanded is kept with `problem` set, so one missing variable disables that
 * server only.
 *
 * Threads: built by main before other threads start, then read-only and shared by all threads
 * until config_free() at exit. config_parse() does no I/O apart from reading the environment.
 */
#ifndef MCPZIP_CONFIG_H
#define MCPZIP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define CONFIG_DEFAULT_LIMIT 5
#define CONFIG_DEFAULT_IDLE_MIN 5
#define CONFIG_DEFAULT_CALL_TIMEOUT_S 120
#define CONFIG_DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)
#define CONFIG_DEFAULT_MODEL "gemini-2.0-flash"
#define CONFIG_DEFAULT_EXPOSE_TOKENS 10000
#define CONFIG_DEFAULT_LLM_TIMEOUT_MS 2000
#define CONFIG_GEMINI_BASE "https://generativelanguage.googleapis.com/v1beta"

enum config_transport { CONFIG_STDIO, CONFIG_HTTP, CONFIG_SSE };

struct config_kv {
    char *key;
    char *value;
};

struct config_server {
    char *name; /* validated: [A-Za-z0-9_.-]+, no "__" */
    enum config_transport transport;
    char *command; /* stdio */
    char **argv;   /* stdio: command then args, NULL-terminated */
    size_t argc;
    struct config_kv *env; /* stdio: added to the inherited environment */
    size_t nenv;
    char *cwd;                 /* stdio: NULL = inherit */
    char *url;                 /* http, sse */
    struct config_kv *headers; /* http, sse */
    size_t nheaders;
    bool disabled;
    int timeout_seconds; /* per-call default; 0 = the global one */
    cJSON *oauth;        /* the raw "oauth" object for the OAuth module, or NULL */
    char *problem;       /* why this server cannot start, or NULL */
};

struct config {
    char *path; /* absolute path of the file read */
    struct config_server *servers;
    size_t nservers;
    char *gemini_api_key; /* $GEMINI_API_KEY wins over the file; NULL if neither */
    char *search_model;
    /* Optional LLM re-ranking of search results ("search.llm"): off when llm_provider is NULL. */
    char *llm_provider; /* "gemini" or "openai" (any OpenAI-compatible server) */
    char *llm_base_url; /* API root, e.g. https://generativelanguage.googleapis.com/v1beta */
    char *llm_model;
    char *llm_api_key;  /* from gemini_api_key / GEMINI_API_KEY / llm.api_key_env */
    int llm_timeout_ms; /* hard deadline per search, default 2000 */
    int search_default_limit;
    int idle_timeout_minutes; /* 0 = never disconnect idle servers */
    int call_timeout_seconds;
    size_t max_message_bytes; /* longest downstream line accepted */
    char **expose;            /* tool names or globs listed directly in tools/list */
    size_t nexpose;
    long expose_auto_tokens; /* "auto[:N]": expose all when under N tokens; 0 = off */
    char **warnings;         /* for the log; never fatal */
    size_t nwarnings;
};

/*
 * Returns the default config path, newly allocated: $XDG_CONFIG_HOME/compressed-mcp-proxy/
 * config.json when XDG_CONFIG_HOME is set, else $HOME/.config/compressed-mcp-proxy/config.json.
 */
char *config_default_path(void);

/* Parses text (len bytes) as if read from path. Returns 0 and *out, or ERR_PARSE/ERR_INVALID
 * with *why. */
int config_parse(const char *text, size_t len, const char *path, struct config **out, char **why);

/* Reads and parses the file at path (NULL = default path). Returns as config_parse(), or ERR_IO
 * with *why when the file cannot be read. */
int config_load(const char *path, struct config **out, char **why);

/* Returns the server named name, or NULL. */
const struct config_server *config_find(const struct config *cfg, const char *name);

/* Returns nonzero when name is a valid server name (see struct config_server). */
int config_valid_name(const char *name);

/* True for the bytes a server name may hold: A-Z a-z 0-9 _ . - */
bool config_name_char(char c);

void config_free(struct config *cfg);

#endif
