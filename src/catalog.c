/*
 * catalog.c - merged tool catalog, snapshots and the cache file; see catalog.h.
 */
#include "catalog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define CATALOG_FORMAT "mcpzip-catalog"
#define CATALOG_VERSION 1
#define CATALOG_MAX_FILE (512u * 1024u * 1024u)

/* One server's tool array, shared by every snapshot that shows it. */
struct shared_tools {
    cJSON *tools;
    unsigned refs; /* guarded by the catalog's lock */
};

struct entry {
    const char *name; /* borrowed from the config */
    struct shared_tools *tools;
    bool live, stale;
    int64_t refreshed_at;
    char *last_error;
};

struct snap_priv {
    struct catalog_snap pub; /* first, so the public pointer converts back */
    unsigned refs;
    struct shared_tools **held; /* one per server, may be NULL */
};

struct catalog {
    const struct config *cfg;
    char *cache_path;
    pthread_mutex_t mu;
    struct entry *entries; /* config order */
    size_t nentries;
    struct snap_priv *current;
    bool dirty;            /* entries changed since current was built */
    bool unsaved;          /* entries changed since the last save */
    uint64_t version;
};

char *catalog_cache_path(const char *config_path)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char hex[17];

    fsutil_sha256_hex(config_path, strlen(config_path), hex, 16);
    if (xdg != NULL && *xdg == '/')
        return xasprintf("%s/mcpzip/catalog-%s.json", xdg, hex);
    return xasprintf("%s/.cache/mcpzip/catalog-%s.json", home != NULL ? home : ".", hex);
}

static struct entry *find_entry(struct catalog *cat, const char *name)
{
    for (size_t i = 0; i < cat->nentries; i++)
        if (strcmp(cat->entries[i].name, name) == 0)
            return &cat->entries[i];
    return NULL;
}

static void shared_unref(struct shared_tools *st)
{
    if (st != NULL && --st->refs == 0) {
        cJSON_Delete(st->tools);
        free(st);
    }
}

static struct shared_tools *shared_new(cJSON *tools)
{
    struct shared_tools *st = xcalloc(1, sizeof(*st));

    st->tools = tools;
    st->refs = 1;
    return st;
}

struct catalog *catalog_new(const struct config *cfg, const char *cache_path)
{
    struct catalog *cat = xcalloc(1, sizeof(*cat));

    cat->cfg = cfg;
    cat->cache_path = cache_path != NULL ? xstrdup(cache_path) : NULL;
    pthread_mutex_init(&cat->mu, NULL);
    cat->entries = xcalloc(cfg->nservers + 1, sizeof(*cat->entries));
    for (size_t i = 0; i < cfg->nservers; i++)
        cat->entries[cat->nentries++].name = cfg->servers[i].name;
    cat->dirty = true;
    return cat;
}

static void snap_free(struct snap_priv *sp)
{
    size_t i;

    search_index_free(sp->pub.index);
    for (i = 0; i < sp->pub.ntools; i++)
        free(sp->pub.tools[i].name);
    free(sp->pub.tools);
    for (i = 0; i < sp->pub.nservers; i++) {
        free(sp->pub.servers[i].last_error);
        shared_unref(sp->held[i]);
    }
    free(sp->pub.servers);
    free(sp->held);
    free(sp);
}

void catalog_free(struct catalog *cat)
{
    if (cat == NULL)
        return;
    if (cat->current != NULL && --cat->current->refs == 0)
        snap_free(cat->current);
    for (size_t i = 0; i < cat->nentries; i++) {
        shared_unref(cat->entries[i].tools);
        free(cat->entries[i].last_error);
    }
    free(cat->entries);
    free(cat->cache_path);
    pthread_mutex_destroy(&cat->mu);
    free(cat);
}

static int cmp_tool(const void *a, const void *b)
{
    return strcmp(((const struct catalog_tool *)a)->name, ((const struct catalog_tool *)b)->name);
}

/* Builds a snapshot of the entries (mu held). */
static struct snap_priv *build(struct catalog *cat)
{
    struct snap_priv *sp = xcalloc(1, sizeof(*sp));
    struct search_doc *docs;
    size_t i, n = 0, total = 0;
    const cJSON *tool;

    sp->refs = 1;
    sp->pub.version = ++cat->version;
    sp->pub.nservers = cat->nentries;
    sp->pub.servers = xcalloc(cat->nentries + 1, sizeof(*sp->pub.servers));
    sp->held = xcalloc(cat->nentries + 1, sizeof(*sp->held));
    for (i = 0; i < cat->nentries; i++) {
        struct entry *e = &cat->entries[i];
        struct catalog_server *cs = &sp->pub.servers[i];

        cs->name = e->name;
        cs->loaded = e->tools != NULL;
        cs->live = e->live;
        cs->stale = e->stale;
        cs->refreshed_at = e->refreshed_at;
        cs->last_error = e->last_error ? xstrdup(e->last_error) : NULL;
        if (e->tools != NULL) {
            e->tools->refs++;
            sp->held[i] = e->tools;
            cs->tools = e->tools->tools;
            cs->ntools = (size_t)cJSON_GetArraySize(cs->tools);
            total += cs->ntools;
        }
    }
    sp->pub.tools = xcalloc(total + 1, sizeof(*sp->pub.tools));
    for (i = 0; i < cat->nentries; i++) {
        cJSON_ArrayForEach(tool, sp->pub.servers[i].tools) {
            struct catalog_tool *ct = &sp->pub.tools[n++];

            ct->name = xasprintf("%s__%s", sp->pub.servers[i].name, json_get_str(tool, "name"));
            ct->server = sp->pub.servers[i].name;
            ct->def = tool;
        }
    }
    sp->pub.ntools = n;
    qsort(sp->pub.tools, n, sizeof(*sp->pub.tools), cmp_tool);
    docs = xcalloc(n + 1, sizeof(*docs));
    for (i = 0; i < n; i++) {
        const cJSON *def = sp->pub.tools[i].def;
        const char *title = json_get_str(def, "title");

        if (title == NULL)
            title = json_get_str(json_get_obj(def, "annotations"), "title");
        docs[i].name = sp->pub.tools[i].name;
        docs[i].server = sp->pub.tools[i].server;
        docs[i].tool = json_get_str(def, "name");
        docs[i].title = title;
        docs[i].description = json_get_str(def, "description");
        docs[i].input_schema = json_get_obj(def, "inputSchema");
    }
    sp->pub.index = search_index_build(docs, n);
    free(docs);
    return sp;
}

struct catalog_snap *catalog_acquire(struct catalog *cat)
{
    struct snap_priv *sp;

    pthread_mutex_lock(&cat->mu);
    if (cat->dirty || cat->current == NULL) {
        sp = build(cat);
        if (cat->current != NULL && --cat->current->refs == 0)
            snap_free(cat->current);
        cat->current = sp;
        cat->dirty = false;
    }
    sp = cat->current;
    sp->refs++;
    pthread_mutex_unlock(&cat->mu);
    return &sp->pub;
}

void catalog_release(struct catalog *cat, struct catalog_snap *snap)
{
    struct snap_priv *sp = (struct snap_priv *)snap;

    if (snap == NULL)
        return;
    pthread_mutex_lock(&cat->mu);
    if (--sp->refs == 0)
        snap_free(sp);
    pthread_mutex_unlock(&cat->mu);
}

const struct catalog_tool *catalog_find(const struct catalog_snap *snap, const char *name)
{
    struct catalog_tool key = {.name = (char *)name};

    return bsearch(&key, snap->tools, snap->ntools, sizeof(key), cmp_tool);
}

const struct catalog_server *catalog_server(const struct catalog_snap *snap, const char *name)
{
    for (size_t i = 0; i < snap->nservers; i++)
        if (strcmp(snap->servers[i].name, name) == 0)
            return &snap->servers[i];
    return NULL;
}

static void push(char ***arr, size_t *n, char *s)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = s;
}

static bool has_tool(const cJSON *tools, const char *name)
{
    const cJSON *t;

    cJSON_ArrayForEach(t, tools) {
        const char *n = json_get_str(t, "name");

        if (n != NULL && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Computes the names that appear in b but not in a. */
static void diff_names(const char *server, const cJSON *a, const cJSON *b, char ***out,
                       size_t *n)
{
    const cJSON *t;

    cJSON_ArrayForEach(t, b) {
        const char *name = json_get_str(t, "name");

        if (name != NULL && !has_tool(a, name))
            push(out, n, xasprintf("%s__%s", server, name));
    }
}

/* Drops later duplicates of a tool name: routing needs names to be unique per server. */
static void dedupe(const char *server, cJSON *tools)
{
    cJSON *t = tools != NULL ? tools->child : NULL, *next;

    for (; t != NULL; t = next) {
        const char *name = json_get_str(t, "name");
        const cJSON *u;

        next = t->next;
        for (u = tools->child; u != t; u = u->next)
            if (strcmp(json_get_str(u, "name"), name) == 0)
                break;
        if (u != t) {
            LOG_WARN("[%s] lists tool \"%s\" twice; the second is ignored", server, name);
            cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
        }
    }
}

void catalog_update(struct catalog *cat, const char *server, cJSON *tools,
                    struct catalog_diff *diff)
{
    struct entry *e;

    dedupe(server, tools);
    pthread_mutex_lock(&cat->mu);
    e = find_entry(cat, server);
    if (e == NULL) {
        pthread_mutex_unlock(&cat->mu);
        cJSON_Delete(tools);
        return;
    }
    if (diff != NULL) {
        const cJSON *old = e->tools != NULL ? e->tools->tools : NULL;

        diff_names(server, old, tools, &diff->added, &diff->nadded);
        diff_names(server, tools, old, &diff->removed, &diff->nremoved);
    }
    shared_unref(e->tools);
    e->tools = shared_new(tools);
    e->live = true;
    e->stale = false;
    e->refreshed_at = upstream_wall_ms();
    free(e->last_error);
    e->last_error = NULL;
    cat->dirty = cat->unsaved = true;
    pthread_mutex_unlock(&cat->mu);
}

void catalog_mark_failed(struct catalog *cat, const char *server, const char *why)
{
    struct entry *e;

    pthread_mutex_lock(&cat->mu);
    e = find_entry(cat, server);
    if (e != NULL) {
        e->stale = e->tools != NULL;
        free(e->last_error);
        e->last_error = xstrdup(why);
        cat->dirty = true;
    }
    pthread_mutex_unlock(&cat->mu);
}

void catalog_diff_clear(struct catalog_diff *diff)
{
    size_t i;

    for (i = 0; i < diff->nadded; i++)
        free(diff->added[i]);
    for (i = 0; i < diff->nremoved; i++)
        free(diff->removed[i]);
    free(diff->added);
    free(diff->removed);
    memset(diff, 0, sizeof(*diff));
}

int catalog_load(struct catalog *cat, char **why)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const cJSON *servers, *it;
    const char *format;
    double version = 0, at = 0;
    int rc;

    if (cat->cache_path == NULL)
        return ERR_NOT_FOUND;
    rc = fsutil_read_file(cat->cache_path, CATALOG_MAX_FILE, &text, &len, why);
    if (rc != 0)
        return rc;
    rc = ERR_PARSE;
    root = json_parse(text, len, NULL);
    format = json_get_str(root, "format");
    servers = json_get_obj(root, "servers");
    if (root == NULL || format == NULL || strcmp(format, CATALOG_FORMAT) != 0 ||
        !json_get_num(root, "version", &version) || servers == NULL) {
        *why = xasprintf("cache %s is corrupt or not an mcpzip catalog; ignoring it (it is "
                         "rebuilt from the servers)", cat->cache_path);
        goto out;
    }
    if ((int)version != CATALOG_VERSION) {
        *why = xasprintf("cache %s has format version %d, this mcpzip writes %d; rebuilding it",
                         cat->cache_path, (int)version, CATALOG_VERSION);
        goto out;
    }
    pthread_mutex_lock(&cat->mu);
    cJSON_ArrayForEach(it, servers) {
        struct entry *e = find_entry(cat, it->string);
        cJSON *tools = cJSON_DetachItemFromObjectCaseSensitive((cJSON *)it, "tools");
        cJSON *t, *next;

        if (e == NULL || e->tools != NULL || !cJSON_IsArray(tools)) {
            cJSON_Delete(tools); /* a server no longer configured, or a bad entry */
            continue;
        }
        /* Keep only well-formed tools, as a live refresh would. */
        for (t = tools->child; t != NULL; t = next) {
            next = t->next;
            if (json_get_str(t, "name") == NULL)
                cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
        }
        dedupe(e->name, tools);
        e->tools = shared_new(tools);
        if (json_get_num(it, "refreshed_at", &at))
            e->refreshed_at = (int64_t)at;
    }
    cat->dirty = true;
    pthread_mutex_unlock(&cat->mu);
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

int catalog_save(struct catalog *cat, char **why)
{
    struct catalog_snap *snap;
    cJSON *root, *servers;
    char *text, *dir;
    int rc;

    if (cat->cache_path == NULL)
        return 0;
    pthread_mutex_lock(&cat->mu);
    if (!cat->unsaved) {
        pthread_mutex_unlock(&cat->mu);
        return 0;
    }
    cat->unsaved = false;
    pthread_mutex_unlock(&cat->mu);

    snap = catalog_acquire(cat);
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", CATALOG_FORMAT);
    cJSON_AddNumberToObject(root, "version", CATALOG_VERSION);
    cJSON_AddStringToObject(root, "config", cat->cfg->path);
    cJSON_AddNumberToObject(root, "saved_at", (double)upstream_wall_ms());
    servers = cJSON_AddObjectToObject(root, "servers");
    for (size_t i = 0; i < snap->nservers; i++) {
        const struct catalog_server *cs = &snap->servers[i];
        cJSON *s;

        if (!cs->loaded)
            continue;
        s = cJSON_AddObjectToObject(servers, cs->name);
        cJSON_AddNumberToObject(s, "refreshed_at", (double)cs->refreshed_at);
        /* A reference, not a copy: the snapshot keeps the array alive while we print. */
        cJSON_AddItemToObject(s, "tools", cJSON_CreateArrayReference(cs->tools->child));
    }
    text = json_print(root);
    cJSON_Delete(root);
    catalog_release(cat, snap);

    dir = fsutil_dirname(cat->cache_path);
    rc = fsutil_mkdirs(dir, 0700, why);
    if (rc == 0)
        rc = fsutil_write_atomic(cat->cache_path, text, strlen(text), 0600, why);
    if (rc != 0) {
        pthread_mutex_lock(&cat->mu);
        cat->unsaved = true;
        pthread_mutex_unlock(&cat->mu);
    }
    free(dir);
    free(text);
    return rc;
}
