/*
 * proxy.h - the running proxy: configuration, upstreams, catalog and their housekeeping.
 *
 * Owns: one struct upstream per configured server, the catalog (and its cache file), the
 * process spawner, the background catalog refreshes and a housekeeping thread that disconnects
 * idle servers and saves the cache. It is the context passed first to the meta-tools and the
 * downstream session.
 *
 * DESIGN. Refreshes run on their own short-lived threads, one per server, so a slow or hanging
 * server delays nobody; at most one refresh per server runs at a time (later requests for the
 * same server join the running one's result). The housekeeper wakes once a second. Shutdown
 * stops the housekeeper, disconnects every upstream (failing requests in flight), waits a
 * bounded time for refresh threads, and saves the cache.
 *
 * Threads: proxy_new/proxy_shutdown/proxy_free by main; everything else from any thread.
 */
#ifndef MCPZIP_PROXY_H
#define MCPZIP_PROXY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "catalog.h"
#include "config.h"
#include "upstream.h"

#define PROXY_REFRESH_TIMEOUT_MS 30000

struct proxy;
struct llmrank;

/* cfg is borrowed and must outlive the proxy. Loads the catalog cache (warning on problems). */
struct proxy *proxy_new(const struct config *cfg);
/* Starts background refreshes of every enabled server; later calls are no-ops. */
void proxy_start(struct proxy *px);
void proxy_shutdown(struct proxy *px);
/* Shuts down (if not yet) and frees. Returns false when a refresh or relay thread was still
 * stuck after the grace period: then nothing is freed (that thread may still read the proxy and
 * the config), and the caller should exit without freeing the config either. */
bool proxy_free(struct proxy *px);

const struct config *proxy_config(struct proxy *px);
/* The language model that re-ranks searches, or NULL when none is configured. */
struct llmrank *proxy_llm(struct proxy *px);
struct catalog *proxy_catalog(struct proxy *px);
/* Returns the upstream named name, or NULL when no such server is configured. */
struct upstream *proxy_upstream(struct proxy *px, const char *name);

/*
 * Refreshes one server's tool list now (synchronously, bounded by PROXY_REFRESH_TIMEOUT_MS),
 * bypassing a connect backoff, and updates the catalog. Returns 0 and fills diff (may be NULL),
 * or an err.h code with *why; on failure the server's old tools are kept, marked stale.
 */
int proxy_refresh(struct proxy *px, const char *name, struct catalog_diff *diff, char **why);

/* Schedules a background refresh of one server (list_changed). Never blocks. */
void proxy_refresh_async(struct proxy *px, const char *name);

/*
 * The downstream client, as the rest of mcpzip sees it: requests to it (sampling, elicitation,
 * roots — relayed for upstream servers) and notifications. Installed once by the session
 * before it reads input; absent in the CLI, where relays answer "not supported".
 */
struct proxy_client {
    /* Sends method(params, consumed) to the client and waits for the answer. Returns 0 with
     * *result, ERR_RPC with *result = the error object, or another err.h code; *why set on
     * error. Never called on the session's reader thread. */
    int (*request)(void *ud, const char *method, cJSON *params, int timeout_ms, cJSON **result,
                   char **why);
    /* Sends a notification (params consumed). Any thread. */
    void (*notify)(void *ud, const char *method, cJSON *params);
    /* The catalog changed (tools added or removed). Any thread; must not block. */
    void (*catalog_changed)(void *ud);
    void *ud;
};

void proxy_set_client(struct proxy *px, const struct proxy_client *client);
/* Records the capabilities the client declared in initialize (borrowed, copied). Upstreams
 * connected later declare the relayable ones (sampling, elicitation, roots) as their own. */
void proxy_set_client_caps(struct proxy *px, const cJSON *caps);
/* Returns true when the client declared capability name (e.g. "sampling"). */
bool proxy_client_can(struct proxy *px, const char *name);
/* Sends a notification (params consumed) to the client, if one is installed. */
void proxy_notify_client(struct proxy *px, const char *method, cJSON *params);

/* Waits until every notification from upstreams queued so far (progress, log messages) has
 * gone to the client, so that a call's answer never overtakes its own progress. */
void proxy_sync_notes(struct proxy *px);

/* Progress relay: notifications/progress from any upstream carrying token go to the client
 * under client_token (copied) until unwatched. */
void proxy_progress_watch(struct proxy *px, const char *token, const cJSON *client_token);
void proxy_progress_unwatch(struct proxy *px, const char *token);

/* Resource routing: remembers which server listed uri (bounded), and looks it up. */
void proxy_learn_resource(struct proxy *px, const char *uri, const char *server);
/* Returns the owning server's name, newly allocated, or NULL when unknown. */
char *proxy_resource_owner(struct proxy *px, const char *uri);

#endif
