/*
 * cli_common.h - what the terminal commands share: option parsing, colours, paths, editing the
 * mcpzip config file, starting a proxy for a one-shot command, refreshing servers in parallel
 * with a progress display, and printing tool results.
 *
 * Colours are used only when the stream is a terminal, TERM is not "dumb" and NO_COLOR is unset
 * or empty (no-color.org). The progress display redraws its lines in place on a terminal and
 * prints one plain line per finished server otherwise, so logs and pipes stay readable.
 *
 * Threads: main thread, except cli_progress_set() and the refresh workers it serves, which run
 * on threads started by cli_common_refresh(). Strings returned are newly allocated; structs
 * are freed with their _free function.
 */
#ifndef MCPZIP_CLI_COMMON_H
#define MCPZIP_CLI_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "jsonfile.h"
#include "proxy.h"

/* ANSI sequences, or "" each when colour is off. */
struct cli_style {
    const char *bold, *dim, *red, *green, *yellow, *cyan, *reset;
};

/* Fills st for stream f (see the header comment for when colour is on). */
void cli_common_style(FILE *f, struct cli_style *st);

/*
 * Matches option name at argv[*i] as "--name VALUE" or "--name=VALUE". Returns 1 and *value
 * (borrowed from argv) when it matched, advancing *i past a separate value; -1 when the value
 * is missing (a message was printed); 0 when argv[*i] is another word.
 */
int cli_common_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* Returns true when argv[i] is -h or --help. */
bool cli_common_is_help(const char *arg);

/* Prints "mcpzip CMD: unknown option ..." and the usage hint; returns 1 (the exit status). */
int cli_common_bad_option(const char *cmd, const char *arg);

/* Sets up logging for a terminal command (level from MCPZIP_LOG, else "error", so upstream
 * chatter does not clutter the output) and cJSON's allocator. */
void cli_common_init(void);

/* Returns the absolute path of the running binary (/proc/self/exe), never NULL. */
char *cli_common_self_path(void);

/* Returns the absolute config path: given made absolute, or the default path. */
char *cli_common_config_path(const char *given);

/* Returns true when path (absolute) is the default config path. */
bool cli_common_is_default_config(const char *path);

/*
 * Opens the mcpzip config for editing. When the file is missing and create is true, root is a
 * new {"mcpServers": {}}; when create is false that is ERR_NOT_FOUND with a hint. *servers is
 * the mcpServers object inside jf->root (created when absent; ERR_INVALID when not an object).
 */
int cli_common_config_open(const char *path, bool create, struct jsonfile **jf, cJSON **servers,
                           char **why);

/*
 * Validates jf->root with config_parse() (so mcpzip never writes a config it would refuse),
 * creates its directory (0700) when needed and saves it (new files 0600). Returns 0 or an
 * err.h code with *why.
 */
int cli_common_config_save(struct jsonfile *jf, char **why);

/* A config and a proxy over it, for the commands that talk to servers. */
struct cli_session {
    struct config *cfg;
    struct proxy *px;
};

/* Loads the config (printing errors) and creates the proxy (cache loading starts). Returns 0
 * or 1 (the exit status, message printed). */
int cli_common_session(const char *config_path, struct cli_session *s);

/* Shuts the proxy down (saving the catalog cache) and frees everything. */
void cli_common_session_end(struct cli_session *s);

/* The outcome of refreshing one server. */
struct cli_refresh {
    const char *name; /* borrowed from the config */
    bool done;
    int rc;    /* 0, or the err.h code of proxy_refresh() */
    char *why; /* when rc != 0 */
    size_t ntools;
    size_t nadded, nremoved;
    int64_t ms; /* how long it took */
};

/*
 * Refreshes servers in parallel through proxy_refresh() (the code path of the proxy_refresh
 * meta-tool), showing progress on out when out is non-NULL. only_unloaded skips servers the
 * catalog already has (from the cache); only_name restricts to one server. Disabled servers
 * are skipped. Returns an array of *n results (caller frees with cli_common_refresh_free).
 */
struct cli_refresh *cli_common_refresh(struct cli_session *s, FILE *out, bool only_unloaded,
                                       const char *only_name, size_t *n);
void cli_common_refresh_free(struct cli_refresh *r, size_t n);

/* Prints a CallToolResult for a person: text contents as text, other content summarised.
 * Returns true when it was flagged isError. */
bool cli_common_print_result(FILE *f, const cJSON *result);

/* Prints value as pretty JSON with a final newline. */
void cli_common_print_json(FILE *f, const cJSON *value);

/* Returns the home directory ($HOME, else "."), borrowed. */
const char *cli_common_home(void);

/* Returns true when path exists (any file type). */
bool cli_common_exists(const char *path);

#endif
