/*
 * cli_serve.h - `mcpzip serve`: run the proxy on stdin/stdout until the client goes away.
 *
 * Owns the process-level setup of serve mode: logging, signals (SIGINT/SIGTERM/SIGHUP stop it
 * cleanly through a self-pipe, SIGPIPE is ignored), loading the config, and the orderly
 * shutdown (finish calls in flight, end every child, save the cache, exit 0). Main thread only.
 */
#ifndef MCPZIP_CLI_SERVE_H
#define MCPZIP_CLI_SERVE_H

/* argv[0] is "serve". Returns the process exit status. */
int cli_serve_main(int argc, char **argv);

#endif
