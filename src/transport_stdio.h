/*
 * transport_stdio.h - an upstream MCP server run as a child process speaking newline-delimited
 * JSON-RPC on its stdin/stdout.
 *
 * Owns: the child (via proc.h) and its three pipes. stdout lines go to on_msg; lines that are not
 * JSON objects are logged and skipped, never fatal. stderr lines go to the log prefixed with the
 * server's name, and the last few are kept for error messages. A line longer than max_line is
 * dropped with a warning.
 *
 * The hub is one thread that reads the stdout and stderr of every child of its owner (the
 * proxy), so fifty servers cost one reader thread, not fifty; on_msg runs on it. When a child's
 * stdout ends, a short-lived thread of that transport drains its stderr, reaps it and calls
 * on_closed. The owner creates the hub before any stdio transport and frees it after the last.
 *
 * Threads and lifetime: see transport.h.
 */
#ifndef MCPZIP_TRANSPORT_STDIO_H
#define MCPZIP_TRANSPORT_STDIO_H

#include "config.h"
#include "proc.h"
#include "transport.h"

struct stdio_hub;

/* A hub; its thread starts with the first transport. Free (joins the thread) only after every
 * transport using it was freed. transport_stdio_hub_free(NULL) is a no-op. */
struct stdio_hub *transport_stdio_hub_new(void);
void transport_stdio_hub_free(struct stdio_hub *hub);

/* srv, sp and hub are borrowed and must outlive the transport. drop lists environment variable
 * names the child must not inherit (NULL-terminated). */
struct transport *transport_stdio_new(const struct config_server *srv, struct proc_spawner *sp,
                                      struct stdio_hub *hub, const char *const *drop,
                                      size_t max_line);

#endif
