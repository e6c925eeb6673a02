/*
 * cli_migrate.h - `mcpzip migrate`: move the MCP servers configured in other clients (Claude
 * Code, Claude Desktop, Cursor, Windsurf, Gemini CLI, VS Code) into mcpzip's config, and leave
 * each client with one `mcpzip` entry in their place.
 *
 * DESIGN. Everything is planned in memory first: every file is read, every entry converted
 * (cli_clients.h) and merged into the config, and conflicts resolved; then --dry-run prints the
 * plan and a unified diff per file, or the run backs up every file it will modify
 * ("<file>.mcpzip-backup-<time>"), writes mcpzip's config first (so the servers exist before
 * they leave the client), then each client file, each atomically with its permissions, key
 * order and final newline kept. A journal of the run (files, backups, hashes of what was
 * written) lets `migrate --undo` restore the latest run, refusing when a file changed since.
 * Entries that would start mcpzip itself are never imported, so it cannot spawn itself. A second
 * run finds nothing to move and writes nothing.
 *
 * Main thread only.
 */
#ifndef MCPZIP_CLI_MIGRATE_H
#define MCPZIP_CLI_MIGRATE_H

#include <stdbool.h>
#include <stdio.h>

/* argv[0] is "migrate". Returns the process exit status. */
int cli_migrate_main(int argc, char **argv);

/* The help text of migrate. */
extern const char cli_migrate_help[];

/* Options of one migration, also used by `mcpzip init`. */
struct cli_migrate_opts {
    const char *config;        /* --config, NULL = default */
    const char *from;          /* comma-separated client ids, NULL = every client found */
    const char *client_config; /* one file to migrate */
    const char *project;       /* --project DIR */
    const char *on_conflict;   /* "rename" (default), "keep" or "replace" */
    bool dry_run;
    bool quiet_none; /* print nothing when there is nothing to migrate */
};

/* Runs a migration, reporting on out. Returns the exit status. */
int cli_migrate_run(const struct cli_migrate_opts *o, FILE *out);

/* Counts the servers that a migration from client id (NULL = all) would move, for init's
 * questions; fills *files (newly allocated, one path per line) when non-NULL. */
size_t cli_migrate_count(const char *from, const char *project, char **files);

#endif
