/*
 * main.c - entry point: parses the command word and dispatches to a cli_* command.
 *
 * Commands come from a const table; each returns the process exit status (0 success, 1 error,
 * as the Rust mcpzip did) and has a help text that `mcpzip help COMMAND` and `COMMAND --help`
 * print. stdout is reserved for the protocol in `serve` and for requested output elsewhere;
 * diagnostics go to stderr.
 */
#include <stdio.h>
#include <string.h>

#include "cli_auth.h"
#include "cli_doctor.h"
#include "cli_inspect.h"
#include "cli_manage.h"
#include "cli_migrate.h"
#include "cli_serve.h"

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
    const char *help; /* NULL: the command prints its own on --help */
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const char help_help[] = "usage: mcpzip help [COMMAND]\n\nShows the list of commands, "
                                "or the help of one command.\n";
static const char version_help[] = "usage: mcpzip version (or mcpzip --version)\n\nPrints "
                                   "\"mcpzip VERSION\".\n";

static const struct command commands[] = {
    {"serve", cli_serve_main, "run the proxy as an MCP server on stdin/stdout", NULL},
    {"init", cli_manage_init, "first-run setup: create the config, migrate, add servers",
     cli_manage_init_help},
    {"migrate", cli_migrate_main, "move servers from Claude Code, Cursor, VS Code... into mcpzip",
     cli_migrate_help},
    {"add", cli_manage_add, "add a server (stdio command, or --url for a remote one)",
     cli_manage_add_help},
    {"remove", cli_manage_remove, "remove a server from the config", cli_manage_remove_help},
    {"enable", cli_manage_enable, "switch a disabled server back on", cli_manage_enable_help},
    {"disable", cli_manage_disable, "keep a server in the config but never start it",
     cli_manage_disable_help},
    {"list", cli_inspect_list, "list servers: type, state, tool count, last error",
     cli_inspect_list_help},
    {"search", cli_inspect_search, "search the tools of every server", cli_inspect_search_help},
    {"describe", cli_inspect_describe, "print a tool's full definition", cli_inspect_describe_help},
    {"call", cli_inspect_call, "call a tool with JSON arguments", cli_inspect_call_help},
    {"refresh", cli_inspect_refresh, "reload every server's tools and the catalog cache",
     cli_inspect_refresh_help},
    {"auth", cli_auth_main, "OAuth sign-ins: status, login SERVER, logout SERVER", cli_auth_help},
    {"doctor", cli_doctor_main, "check the config and every server, suggest fixes",
     cli_doctor_help},
    {"help", cmd_help, "show this help, or help for one command", help_help},
    {"version", cmd_version, "print the version", version_help},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("mcpzip %s\n", MCPZIP_VERSION);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "mcpzip %s - one MCP server in front of all your MCP servers\n\n"
            "usage: mcpzip <command> [options]\n\ncommands:\n",
            MCPZIP_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\nEvery command takes --config PATH (default ~/.config/compressed-mcp-proxy/"
          "config.json,\nin Claude's \"mcpServers\" format). Logs go to stderr; set "
          "MCPZIP_LOG=error|warn|info|debug|trace.\nColours only on a terminal, never with "
          "NO_COLOR. Run 'mcpzip help COMMAND' for a command's options.\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1) {
        char *sub[] = {argv[1], "--help", NULL};

        for (size_t i = 0; i < NCOMMANDS; i++) {
            if (strcmp(commands[i].name, argv[1]) != 0)
                continue;
            if (commands[i].help != NULL) {
                fputs(commands[i].help, stdout);
                return 0;
            }
            return commands[i].main(2, sub);
        }
        fprintf(stderr, "mcpzip: no command \"%s\"; run 'mcpzip help'\n", argv[1]);
        return 1;
    }
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return cmd_version(0, NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "mcpzip: unknown command \"%s\"; run 'mcpzip help'\n", argv[1]);
    return 1;
}
