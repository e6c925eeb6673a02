/*
 * cli_manage.h - editing mcpzip's config from the command line: `add`, `remove`, `enable`,
 * `disable` (modelled on `claude mcp add` so the habit carries over) and `init`, the first-run
 * setup (interactive on a terminal, a minimal config and next steps otherwise).
 *
 * Every edit goes through cli_common_config_open/save: the file keeps its key order, is
 * validated as serve would read it before it is written, is replaced atomically, and is created
 * 0600 (it may hold tokens in headers or env). Main thread only.
 */
#ifndef MCPZIP_CLI_MANAGE_H
#define MCPZIP_CLI_MANAGE_H

/* argv[0] is the command word. Each returns the process exit status. */
int cli_manage_add(int argc, char **argv);
int cli_manage_remove(int argc, char **argv);
int cli_manage_enable(int argc, char **argv);
int cli_manage_disable(int argc, char **argv);
int cli_manage_init(int argc, char **argv);

extern const char cli_manage_add_help[];
extern const char cli_manage_remove_help[];
extern const char cli_manage_enable_help[];
extern const char cli_manage_disable_help[];
extern const char cli_manage_init_help[];

#endif
