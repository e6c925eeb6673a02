/*
 * main.c - entry point: parses the command word and dispatches to a cli_* command.
 *
 * Commands come from a const table; each returns the process exit status (0 success, 1 error,
 * as the Rust mcpzip did). stdout is reserved for the protocol in `serve` and for requested
 * output elsewhere; diagnostics go to stderr.
 */
#include <stdio.h>
#include <string.h>

#include "cli_serve.h"

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"serve", cli_serve_main, "run the proxy as an MCP server on stdin/stdout"},
    {"help", cmd_help, "show this help, or help for one command"},
    {"version", cmd_version, "print the version"},
};

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("mcpzip %s\n", MCPZIP_VERSION);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "mcpzip %s - one MCP server in front of all your MCP servers\n\n"
               "usage: mcpzip <command> [options]\n\ncommands:\n", MCPZIP_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nConfig: ~/.config/compressed-mcp-proxy/config.json (or --config PATH), in Claude's\n"
          "\"mcpServers\" format. Logs go to stderr; set MCPZIP_LOG=error|warn|info|debug|trace.\n"
          "Run 'mcpzip help serve' for the options of serve.\n", f);
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1) {
        char *sub[] = {argv[1], "--help", NULL};

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            if (strcmp(commands[i].name, argv[1]) == 0 && commands[i].main != cmd_help)
                return commands[i].main(2, sub);
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
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "mcpzip: unknown command \"%s\"; run 'mcpzip help'\n", argv[1]);
    return 1;
}
