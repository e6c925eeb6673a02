/*
 * catalog.h - the merged tool catalog of every configured server, and its on-disk cache.
 *
 * Owns: per-server tool lists (each tool's name, and its definition exactly as the upstream gave
 * it), their freshness (loaded from the cache, refreshed live, stale after a failed refresh,
 * last error), and immutable snapshots that readers use without holding any lock. A snapshot
 * carries the tools sorted by routed name ("server__tool") and the search index over them.
 *
 * DESIGN. Writers (refresh threads) replace one server's list and mark the catalog dirty;
 * the next catalog_acquire() builds a new snapshot (tools + search index) under the catalog's
 * lock and swaps it in, so a burst of refreshes at startup costs one rebuild per reader-visible
 * change, not one per server. Readers hold a reference to the snapshot they got for as long as
 * they use it; tool lists are shared between snapshots by reference count, never copied.
 *
 * Memory. Definitions are most of a catalog (1.4 MB for 1,000 tools, three times that as cJSON
 * trees), and only a handful are read in a session: describe_tool, the lines of search results,
 * the index build. So a list keeps them in the cache file and reads one back when asked
 * (catalog_tool_def()); only a list refreshed live and not saved yet holds them in memory, as
 * compact JSON text, until catalog_save() writes the file and moves the list into it.
 *
 * The cache file is versioned, written atomically (fsutil.h), and read at startup so the first
 * search is answered before any server runs. Its first line is a small summary (server names and
 * tool counts); each further line is one tool, "server<TAB>definition". catalog_load_async()
 * reads the summary at once, which is all `initialize` needs, and reads the tools on a
 * background thread; catalog_acquire() waits for that load. The search index of a snapshot is
 * built on first use (catalog_index()), and the loader builds it ahead of time. A corrupt,
 * truncated or foreign file is reported and ignored. Servers that left the config lose their
 * tools; an empty list replaces a full one.
 *
 * Threads: every function may be called from any thread. Snapshots are read-only.
 */
#ifndef MCPZIP_CATALOG_H
#define MCPZIP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "search.h"

struct catalog;
struct catalog_list; /* one server's tool list, in the upstream's order */

struct catalog_tool {
    char *name;                      /* "server__tool" */
    const char *server;              /* the server's name */
    const struct catalog_list *list; /* where its definition is: see catalog_tool_def() */
    size_t index;                    /* its position in list */
};

struct catalog_server {
    const char *name;
    const struct catalog_list *list; /* NULL when never loaded */
    size_t ntools;
    bool loaded;          /* has a list (from the cache or live) */
    bool live;            /* refreshed by this process at least once */
    bool stale;           /* the last refresh failed; the list is older */
    bool disabled;        /* "disabled": true in the config: never loaded */
    int64_t refreshed_at; /* wall ms of the list's last successful refresh, 0 = never */
    char *last_error;     /* of the last refresh, or NULL */
};

struct catalog_snap {
    struct catalog_tool *tools; /* sorted by name */
    size_t ntools;
    size_t def_bytes;               /* of all the tools' definitions as compact JSON */
    struct catalog_server *servers; /* in config order */
    size_t nservers;
    uint64_t version; /* grows with every change */
};

/* Added and removed routed names of one refresh (caller frees with catalog_diff_clear). */
struct catalog_diff {
    char **added;
    size_t nadded;
    char **removed;
    size_t nremoved;
};

/* cfg is borrowed for the catalog's lifetime. cache_path may be NULL (no cache). */
struct catalog *catalog_new(const struct config *cfg, const char *cache_path);
void catalog_free(struct catalog *cat);

/*
 * Returns the path of the cache file for the config file at config_path, newly allocated:
 * $XDG_CACHE_HOME/mcpzip/catalog-<16 hex of SHA-256(config_path)>.json (default ~/.cache).
 */
char *catalog_cache_path(const char *config_path);

/* Loads the cache file. Returns 0, ERR_NOT_FOUND (no cache yet) or ERR_PARSE/ERR_IO with *why
 * (the cache is then ignored and rewritten later). */
int catalog_load(struct catalog *cat, char **why);

/* Reads the cache's summary now and loads its tools on a background thread (problems are
 * logged). catalog_acquire() and catalog_free() wait for that thread. */
void catalog_load_async(struct catalog *cat);

/* Tool count of each server for the instructions, without waiting for a background load: from
 * the cache summary while loading. Returns false when the server's count is unknown. */
bool catalog_count(struct catalog *cat, const char *server, size_t *count);

/* Writes the cache file if anything changed since the last save. Returns 0 or ERR_IO. */
int catalog_save(struct catalog *cat, char **why);

/* Replaces server's tool list with tools (consumed: a JSON array of tool objects; entries
 * without a string "name", and later duplicates of a name, are dropped). diff may be NULL. */
void catalog_update(struct catalog *cat, const char *server, cJSON *tools,
                    struct catalog_diff *diff);

/* Records a failed refresh: the old list is kept and marked stale. */
void catalog_mark_failed(struct catalog *cat, const char *server, const char *why);

/* Returns the current snapshot with a reference held; release it with catalog_release(). */
struct catalog_snap *catalog_acquire(struct catalog *cat);
void catalog_release(struct catalog *cat, struct catalog_snap *snap);

/* The definition of t as the upstream gave it, parsed (caller frees with cJSON_Delete). NULL
 * when it cannot be read back from the cache file (changed on disk by someone else), with *why
 * (may be NULL) saying so and what to do. */
cJSON *catalog_tool_def(const struct catalog_tool *t, char **why);

/* Bytes of t's definition as compact JSON. */
size_t catalog_tool_size(const struct catalog_tool *t);

/* The upstream's own name of tool i (< catalog_server.ntools) of a server's list. */
const char *catalog_list_name(const struct catalog_list *list, size_t i);

/* Texts derived from one tool once per snapshot (the search result line, the short
 * description) instead of on every search. The first time any of them is asked for, fmt gets
 * the tool's definition (NULL if it cannot be read back) and fills all CATALOG_TEXT_SLOTS
 * (newly allocated strings, or NULL for ""), so the definition is read once; the text of slot
 * lives as long as the snapshot. Any thread. */
#define CATALOG_TEXT_SLOTS 2
typedef void (*catalog_fmt_cb)(const char *name, const cJSON *def, char *texts[CATALOG_TEXT_SLOTS]);
const char *catalog_text(struct catalog_snap *snap, size_t tool, unsigned slot, catalog_fmt_cb fmt);

/* True when every enabled server has a tool list and none failed its last refresh. */
bool catalog_all_ready(const struct catalog_snap *snap);

/* Returns the snapshot's search index, building it on first use (any thread; once). */
const struct search_index *catalog_index(struct catalog_snap *snap);

/* Lookups in a snapshot. */
const struct catalog_tool *catalog_find(const struct catalog_snap *snap, const char *name);
const struct catalog_server *catalog_server(const struct catalog_snap *snap, const char *name);

void catalog_diff_clear(struct catalog_diff *diff);

#endif
