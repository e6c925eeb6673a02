/*
 * server.h - the downstream MCP session: mcpzip as a server to one client over stdio.
 *
 * Owns: reading newline-delimited JSON-RPC from the input descriptor under a size bound,
 * validating each message, dispatching methods from a const table, the table of requests in
 * flight (for notifications/cancelled and shutdown), and writing responses to the output
 * descriptor whole, one line each, never interleaved.
 *
 * DESIGN. The calling thread is the reader. Quick requests (initialize, ping, tools/list,
 * search_tools, describe_tool, proxy_status) are answered on it directly; requests that may wait
 * on an upstream (execute_tool, proxy_refresh) each run on their own worker thread, so a slow
 * server never delays reading, searching, or calls to other servers. Responses therefore leave
 * in completion order. Bad input of any kind is answered with a JSON-RPC error and reading goes
 * on. On end of input or a stop signal, the server stops reading, gives calls in flight a grace
 * period to finish, cancels the rest, and returns.
 *
 * Threads: server_run() on one thread; workers are internal. server_free() after server_run()
 * returned and after the proxy was shut down (so workers blocked on upstreams have finished).
 */
#ifndef MCPZIP_SERVER_H
#define MCPZIP_SERVER_H

#include "proxy.h"

struct server;

/* px is borrowed. in_fd/out_fd are the protocol descriptors (stdin/stdout in serve); stop_fd,
 * when readable, asks the server to stop (the signal self-pipe); -1 for none. */
struct server *server_new(struct proxy *px, int in_fd, int out_fd, int stop_fd);

/* Serves until end of input or stop. Returns 0. */
int server_run(struct server *srv);

/* Waits a bounded time for workers to finish, then frees. Returns false (and leaks srv on
 * purpose) when a worker is still running, since freeing under it would be worse. */
bool server_free(struct server *srv);

#endif
