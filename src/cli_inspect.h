/*
 * cli_inspect.h - seeing and using the servers from a terminal: `list`, `search`, `describe`,
 * `call` and `refresh`.
 *
 * Each command builds the proxy exactly as serve does (config, catalog cache, upstreams) and
 * runs the meta-tool handler the model would run (proxy_status, search_tools, describe_tool,
 * execute_tool; refresh uses proxy_refresh() per server with a progress display), so what a
 * script or a person sees here is what the model sees. Servers the catalog cache does not know
 * yet are loaded first, and the cache is saved on exit, so the next `serve` starts warm.
 *
 * Main thread (plus the refresh workers of cli_common.h).
 */
#ifndef MCPZIP_CLI_INSPECT_H
#define MCPZIP_CLI_INSPECT_H

/* argv[0] is the command word. Each returns the process exit status. */
int cli_inspect_list(int argc, char **argv);
int cli_inspect_search(int argc, char **argv);
int cli_inspect_describe(int argc, char **argv);
int cli_inspect_call(int argc, char **argv);
int cli_inspect_refresh(int argc, char **argv);

extern const char cli_inspect_list_help[];
extern const char cli_inspect_search_help[];
extern const char cli_inspect_describe_help[];
extern const char cli_inspect_call_help[];
extern const char cli_inspect_refresh_help[];

#endif
