/*
 * cli_auth.h - `mcpzip auth status | login SERVER | logout SERVER`: the OAuth sign-ins of remote
 * servers, from a terminal.
 *
 * status lists every remote server: whether it uses configured headers, or until when it is
 * authorized, with which scope and by which issuer (never a token). login runs the whole
 * sign-in in the foreground (the browser, or the final redirect URL pasted on stdin when the
 * browser cannot reach this machine's callback). logout deletes the stored tokens and the
 * client registration at their issuer.
 *
 * Main thread.
 */
#ifndef MCPZIP_CLI_AUTH_H
#define MCPZIP_CLI_AUTH_H

/* argv[0] is "auth". Returns the process exit status. */
int cli_auth_main(int argc, char **argv);

extern const char cli_auth_help[];

#endif
