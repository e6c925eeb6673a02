/*
 * cli_clients.h - what mcpzip knows about other MCP clients' config files: where each client
 * keeps them, under which key, the shape of their server entries, and how to turn one into a
 * mcpzip config entry and back (the single `mcpzip` entry that replaces them).
 *
 * Clients: Claude Code (~/.claude.json: user scope "mcpServers", local scope
 * "projects[DIR].mcpServers"; a project's .mcp.json), Claude Desktop, Cursor, Windsurf,
 * Gemini CLI and VS Code ("servers"). The conversion is faithful where mcpzip can express the
 * entry (stdio command/args/env/cwd, http and sse url/headers, disabled, timeouts, oauth) and
 * refuses with a reason where it cannot (websocket/IDE entries, VS Code ${input:...} prompts),
 * so nothing is migrated half-working.
 *
 * Everything here is pure (no I/O except reading the environment for paths). Returned cJSON
 * and strings belong to the caller. Any thread.
 */
#ifndef MCPZIP_CLI_CLIENTS_H
#define MCPZIP_CLI_CLIENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

struct cli_client {
    const char *id;    /* for --from: "claude-code", "cursor", ... */
    const char *label; /* for people: "Claude Code" */
    const char *key;   /* the servers object's key in the file */
    bool typed;        /* its entries carry "type": "stdio" (the mcpzip entry follows suit) */
};

/* Returns the client with id (or a common alias such as "claude", "vscode", "code"), or NULL. */
const struct cli_client *cli_clients_find(const char *id);

/* Returns the table of known clients, *n entries. */
const struct cli_client *cli_clients_all(size_t *n);

/*
 * Returns the candidate config file paths of client, a NULL-terminated array (caller frees the
 * strings and the array): the user-level files for home, then the project-level ones when
 * project is non-NULL. Paths may not exist.
 */
char **cli_clients_paths(const struct cli_client *client, const char *home, const char *project);

/* Guesses the client of a file given with --client-config from its name and content. Never
 * NULL: falls back to a generic "mcpServers" file (Claude Desktop's shape). */
const struct cli_client *cli_clients_guess(const char *path, const cJSON *root);

/* Returns true when the entry would start mcpzip itself: named "mcpzip", or its command is
 * self (the absolute path of this binary) or any program called mcpzip. Importing one would
 * make mcpzip spawn itself without end. */
bool cli_clients_is_self(const char *name, const cJSON *entry, const char *self);

/*
 * Converts one client entry into a mcpzip config entry. home and project (may be NULL) fill
 * ${userHome} and ${workspaceFolder}. Returns 0 and *out (caller frees); *note (may stay NULL,
 * caller frees) tells what could not be carried over; or ERR_INVALID with *why saying why the
 * entry cannot be migrated.
 */
int cli_clients_convert(const struct cli_client *client, const cJSON *entry, const char *home,
                        const char *project, cJSON **out, char **note, char **why);

/* Returns a valid mcpzip server name made from name ('-' for characters mcpzip does not
 * allow, "__" collapsed), newly allocated; NULL when nothing usable remains. */
char *cli_clients_sanitize_name(const char *name);

/* Returns the transport of a mcpzip entry as a word: "stdio", "http" or "sse". */
const char *cli_clients_transport(const cJSON *entry);

/* Returns the entry that starts mcpzip for client: self with args ["serve"] plus
 * "--config", config_path when config_path is non-NULL. */
cJSON *cli_clients_self_entry(const struct cli_client *client, const char *self,
                              const char *config_path);

#endif
