/*
 * transport_stdio.h - an upstream MCP server run as a child process speaking newline-delimited
 * JSON-RPC on its stdin/stdout.
 *
 * Owns: the child (via proc.h), its three pipes and one reader thread that polls stdout and
 * stderr. stdout lines go to on_msg; lines that are not JSON objects are logged and skipped, never
 * fatal. stderr lines go to the log prefixed with the server's name, and the last few are kept
 * for error messages. A line longer than max_line is dropped with a warning.
 *
 * Threads and lifetime: see transport.h.
 */
#ifndef MCPZIP_TRANSPORT_STDIO_H
#define MCPZIP_TRANSPORT_STDIO_H

#include "config.h"
#include "proc.h"
#include "transport.h"

/* srv and sp are borrowed and must outlive the transport. drop lists environment variable
 * names the child must not inherit (NULL-terminated). */
struct transport *transport_stdio_new(const struct config_server *srv, struct proc_spawner *sp,
                                      const char *const *drop, size_t max_line);

#endif
