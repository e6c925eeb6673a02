/*
 * cli_doctor.h - `mcpzip doctor`: find and explain everything that keeps mcpzip from working.
 *
 * Checks, in order: the config file (parses and validates as serve would; warnings; file
 * permissions when it holds secrets; entries that would start mcpzip itself), the token
 * directory's permissions, then every enabled server, connected in parallel through
 * proxy_refresh() with a live progress display on a terminal (plain lines otherwise): its tool
 * count, or its error with a suggested fix, and for remote servers how it authenticates. Exits 1
 * when anything is wrong. --json prints one object for scripts.
 *
 * Main thread (plus the refresh workers of cli_common.h).
 */
#ifndef MCPZIP_CLI_DOCTOR_H
#define MCPZIP_CLI_DOCTOR_H

/* argv[0] is "doctor". Returns the process exit status. */
int cli_doctor_main(int argc, char **argv);

/* Returns a suggested fix for a server error (rc an err.h code, why its text); static text. */
const char *cli_doctor_fix(int rc, const char *why);

extern const char cli_doctor_help[];

#endif
