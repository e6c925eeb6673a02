/*
 * metatools.h - the tools mcpzip itself exposes downstream: search_tools, describe_tool,
 * execute_tool, proxy_status and proxy_refresh.
 *
 * Owns: their definitions (kept small: the whole tools/list answer stays under 2 KiB, which is
 * the point of mcpzip) and their handlers. Bad arguments never become protocol errors: every
 * handler returns a CallToolResult, with isError and a sentence saying what to change.
 *
 * Threads: handlers run on the downstream reader thread (fast ones) or on a worker thread
 * (blocking ones, see struct metatool.blocking); they share nothing but the proxy.
 */
#ifndef MCPZIP_METATOOLS_H
#define MCPZIP_METATOOLS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cancel.h"
#include "proxy.h"

/* What a handler knows about the request it serves. Any field may be NULL. */
struct metatool_ctx {
    struct cancel *cancel;       /* fires when the client cancels or mcpzip stops */
    const cJSON *progress_token; /* the client's _meta.progressToken */
};

struct metatool {
    const char *name;
    bool blocking; /* may wait on an upstream: run it off the reader thread */
    /* Returns a new CallToolResult. args and ctx may be NULL. */
    cJSON *(*call)(struct proxy *px, const cJSON *args, struct metatool_ctx *ctx);
};

/* Returns the meta-tool called name, or NULL. */
const struct metatool *metatools_find(const char *name);

/* True when t may wait (on an upstream, or on a language model for search): run it off the
 * reader thread. */
bool metatools_blocking(struct proxy *px, const struct metatool *t);

/* Returns a new array of the meta-tools' definitions for tools/list. */
cJSON *metatools_list(void);

/* Returns a new array for tools/list: the meta-tools, then the tools the config's "expose"
 * pins (full definitions, routed names). *signature (may be NULL) gets a newly allocated
 * fingerprint of the exposed set, to notice when it changes. */
cJSON *metatools_list_exposed(struct proxy *px, char **signature);

/* The same fingerprint alone (newly allocated), without reading a definition. */
char *metatools_exposed_signature(struct proxy *px);

/* Calls a pinned tool directly: returns its CallToolResult, or NULL when name is not exposed. */
cJSON *metatools_call_exposed(struct proxy *px, const char *name, const cJSON *args,
                              struct metatool_ctx *ctx);

/* Returns the `instructions` text for initialize (servers and tool counts), newly allocated. */
char *metatools_instructions(struct proxy *px);

/* Formats one search result line: "name: first sentence [param:type*, ...]" (for tests and
 * the CLI). Newly allocated. */
char *metatools_result_line(const char *name, const cJSON *def);

/* Returns a new CallToolResult with isError set and text as its only content. */
cJSON *metatools_error(const char *text);

#endif
