/*
 * relay.h - the MCP methods besides tools that mcpzip serves from its upstreams: resources and
 * resource templates (aggregated, paginated, routed by URI), prompts (names prefixed
 * "server__", routed by prefix), completion (routed by the prompt or resource it completes),
 * subscriptions, and the logging level (fanned out).
 *
 * Listing pages through one upstream page at a time: the cursor mcpzip hands the client names
 * the server and that server's own cursor, so both sides paginate. A server that lacks the
 * capability, fails, or answers method-not-found is skipped; the page says nothing of it.
 *
 * Threads: relay_call() blocks on upstreams and runs on a worker thread.
 */
#ifndef MCPZIP_RELAY_H
#define MCPZIP_RELAY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "metatools.h"
#include "proxy.h"

/* True when method is one relay_call() serves. */
bool relay_has(const char *method);

/* Serves method. Returns 0 with *result (caller frees), or -1 with a JSON-RPC error *code and
 * *why (caller frees). */
int relay_call(struct proxy *px, const char *method, const cJSON *params, struct metatool_ctx *ctx,
               cJSON **result, int *code, char **why);

#endif
