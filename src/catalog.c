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
    long summary_count; /* tool count from the cache summary, -1 when unknown */
    bool live, stale;
    int64_t refreshed_at;
    char *last_error;
};

/* What a snapshot derives from the tool lists alone. Snapshots built while the lists stay the
 * same (a failed refresh, a refresh that found nothing new) share it, so they do not rebuild
 * the search index. */
struct snap_core {
    unsigned refs;              /* guarded by the catalog's lock */
    uint64_t tools_version;     /* the catalog's tools_version it was built from */
    struct catalog_tool *tools; /* sorted by name */
    size_t ntools;
    struct shared_tools **held; /* one per server, may be NULL */
    size_t nheld;
    pthread_mutex_t index_mu;   /* builds the index once */
    struct search_index *index; /* NULL until catalog_index() */
    char **texts;               /* CATALOG_TEXT_SLOTS per tool, filled on first use */
};

struct snap_priv {
    struct catalog_snap pub; /* first, so the public pointer converts back */
    unsigned refs;
    struct snap_core *core;
};

struct catalog {
    const struct config *cfg;
    char *cache_path;
    pthread_mutex_t mu;
    struct entry *entries; /* config order */
    size_t nentries;
    struct snap_priv *current;
    bool dirty;   /* entries changed since current was built */
    bool unsaved; /* entries changed since the last save */
    uint64_t version;
    uint64_t tools_version; /* grows when any server's tool list is replaced */
    bool loading;           /* a background load runs; acquire waits */
    pthread_cond_t loaded_cv;
    pthread_t loader;
    bool loader_started;
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
    pthread_cond_init(&cat->loaded_cv, NULL);
    cat->entries = xcalloc(cfg->nservers + 1, sizeof(*cat->entries));
    for (size_t i = 0; i < cfg->nservers; i++) {
        cat->entries[cat->nentries].summary_count = -1;
        cat->entries[cat->nentries++].name = cfg->servers[i].name;
    }
    cat->dirty = true;
    return cat;
}

static void core_unref(struct snap_core *core)
{
    size_t i;

    if (--core->refs > 0)
        return;
    search_index_free(core->index);
    pthread_mutex_destroy(&core->index_mu);
    for (i = 0; i < core->ntools * CATALOG_TEXT_SLOTS; i++)
        free(core->texts[i]);
    free(core->texts);
    for (i = 0; i < core->ntools; i++)
        free(core->tools[i].name);
    free(core->tools);
    for (i = 0; i < core->nheld; i++)
        shared_unref(core->held[i]);
    free(core->held);
    free(core);
}

static void snap_free(struct snap_priv *sp)
{
    for (size_t i = 0; i < sp->pub.nservers; i++)
        free(sp->pub.servers[i].last_error);
    free(sp->pub.servers);
    core_unref(sp->core);
    free(sp);
}

void catalog_free(struct catalog *cat)
{
    if (cat == NULL)
        return;
    if (cat->loader_started)
        pthread_join(cat->loader, NULL);
    if (cat->current != NULL && --cat->current->refs == 0)
        snap_free(cat->current);
    for (size_t i = 0; i < cat->nentries; i++) {
        shared_unref(cat->entries[i].tools);
        free(cat->entries[i].last_error);
    }
    free(cat->entries);
    free(cat->cache_path);
    pthread_cond_destroy(&cat->loaded_cv);
    pthread_mutex_destroy(&cat->mu);
    free(cat);
}

static int cmp_tool(const void *a, const void *b)
{
    return strcmp(((const struct catalog_tool *)a)->name, ((const struct catalog_tool *)b)->name);
}

/* Builds the tool table of the entries (mu held). */
static struct snap_core *build_core(struct catalog *cat)
{
    struct snap_core *core = xcalloc(1, sizeof(*core));
    size_t i, n = 0, total = 0;
    const cJSON *tool;

    core->refs = 1;
    core->tools_version = cat->tools_version;
    core->nheld = cat->nentries;
    core->held = xcalloc(cat->nentries + 1, sizeof(*core->held));
    for (i = 0; i < cat->nentries; i++) {
        struct shared_tools *st = cat->entries[i].tools;

        if (st != NULL) {
            st->refs++;
            core->held[i] = st;
            total += (size_t)cJSON_GetArraySize(st->tools);
        }
    }
    core->tools = xcalloc(total + 1, sizeof(*core->tools));
    for (i = 0; i < cat->nentries; i++) {
        if (core->held[i] == NULL)
            continue;
        cJSON_ArrayForEach (tool, core->held[i]->tools) {
            struct catalog_tool *ct = &core->tools[n++];

            ct->name = xasprintf("%s__%s", cat->entries[i].name, json_get_str(tool, "name"));
            ct->server = cat->entries[i].name;
            ct->def = tool;
        }
    }
    core->ntools = n;
    qsort(core->tools, n, sizeof(*core->tools), cmp_tool);
    pthread_mutex_init(&core->index_mu, NULL);
    core->texts = xcalloc(n * CATALOG_TEXT_SLOTS + 1, sizeof(char *));
    return core;
}

/* Builds a snapshot of the entries (mu held), reusing the current tool table when no list
 * changed since it was built. */
static struct snap_priv *build(struct catalog *cat)
{
    struct snap_priv *sp = xcalloc(1, sizeof(*sp));
    size_t i;

    sp->refs = 1;
    sp->pub.version = ++cat->version;
    if (cat->current != NULL && cat->current->core->tools_version == cat->tools_version) {
        sp->core = cat->current->core;
        sp->core->refs++;
    } else {
        sp->core = build_core(cat);
    }
    sp->pub.tools = sp->core->tools;
    sp->pub.ntools = sp->core->ntools;
    sp->pub.nservers = cat->nentries;
    sp->pub.servers = xcalloc(cat->nentries + 1, sizeof(*sp->pub.servers));
    for (i = 0; i < cat->nentries; i++) {
        struct entry *e = &cat->entries[i];
        struct catalog_server *cs = &sp->pub.servers[i];

        cs->name = e->name;
        cs->disabled = config_find(cat->cfg, e->name)->disabled;
        cs->loaded = e->tools != NULL;
        cs->live = e->live;
        cs->stale = e->stale;
        cs->refreshed_at = e->refreshed_at;
        cs->last_error = e->last_error ? xstrdup(e->last_error) : NULL;
        if (sp->core->held[i] != NULL) {
            cs->tools = sp->core->held[i]->tools;
            cs->ntools = (size_t)cJSON_GetArraySize(cs->tools);
        }
    }
    return sp;
}

const char *catalog_text(struct catalog_snap *snap, size_t tool, unsigned slot, catalog_fmt_cb fmt)
{
    struct snap_core *core = ((struct snap_priv *)snap)->core;
    char **cell = &core->texts[tool * CATALOG_TEXT_SLOTS + slot];
    char *text = __atomic_load_n(cell, __ATOMIC_ACQUIRE), *expected = NULL;

    if (text != NULL)
        return text;
    text = fmt(snap->tools[tool].name, snap->tools[tool].def);
    /* Two threads may format the same tool at once; the first to publish wins. */
    if (!__atomic_compare_exchange_n(cell, &expected, text, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        free(text);
        text = expected;
    }
    return text;
}

bool catalog_all_ready(const struct catalog_snap *snap)
{
    for (size_t i = 0; i < snap->nservers; i++)
        if (!snap->servers[i].disabled &&
            (!snap->servers[i].loaded || snap->servers[i].last_error != NULL))
            return false;
    return true;
}

const struct search_index *catalog_index(struct catalog_snap *snap)
{
    struct snap_core *core = ((struct snap_priv *)snap)->core;
    struct search_doc *docs;
    size_t i, n = snap->ntools;

    pthread_mutex_lock(&core->index_mu);
    if (core->index == NULL) {
        docs = xcalloc(n + 1, sizeof(*docs));
        for (i = 0; i < n; i++) {
            const cJSON *def = snap->tools[i].def;
            const char *title = json_get_str(def, "title");

            if (title == NULL)
                title = json_get_str(json_get_obj(def, "annotations"), "title");
            docs[i].name = snap->tools[i].name;
            docs[i].server = snap->tools[i].server;
            docs[i].tool = json_get_str(def, "name");
            docs[i].title = title;
            docs[i].description = json_get_str(def, "description");
            docs[i].input_schema = json_get_obj(def, "inputSchema");
        }
        core->index = search_index_build(docs, n);
        free(docs);
    }
    pthread_mutex_unlock(&core->index_mu);
    return core->index;
}

struct catalog_snap *catalog_acquire(struct catalog *cat)
{
    struct snap_priv *sp;

    pthread_mutex_lock(&cat->mu);
    while (cat->loading)
        pthread_cond_wait(&cat->loaded_cv, &cat->mu);
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

    cJSON_ArrayForEach (t, tools) {
        const char *n = json_get_str(t, "name");

        if (n != NULL && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Computes the names that appear in b but not in a. */
static void diff_names(const char *server, const cJSON *a, const cJSON *b, char ***out, size_t *n)
{
    const cJSON *t;

    cJSON_ArrayForEach (t, b) {
        const char *name = json_get_str(t, "name");

        if (name != NULL && !has_tool(a, name))
            push(out, n, xasprintf("%s__%s", server, name));
    }
}

/* Drops tools without a name, and later duplicates of a name: routing needs names to be
 * unique per server. */
static void dedupe(const char *server, cJSON *tools)
{
    cJSON *t = tools != NULL ? tools->child : NULL, *next;

    for (; t != NULL; t = next) {
        const char *name = json_get_str(t, "name");
        const cJSON *u;

        next = t->next;
        if (name == NULL) {
            cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
            continue;
        }
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

    if (!cJSON_IsArray(tools)) {
        cJSON_Delete(tools);
        tools = cJSON_CreateArray();
    }
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
    if (e->tools != NULL && cJSON_Compare(e->tools->tools, tools, 1)) {
        /* The usual refresh: nothing changed, so the index and the cache stay as they are. */
        cJSON_Delete(tools);
    } else {
        shared_unref(e->tools);
        e->tools = shared_new(tools);
        cat->tools_version++;
    }
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

/* Checks the summary line and records each server's count and refresh time. */
static int load_header(struct catalog *cat, const char *text, size_t len, char **why)
{
    cJSON *root = json_parse(text, len, NULL);
    const char *format = json_get_str(root, "format");
    const cJSON *summary = json_get_obj(root, "summary"), *it;
    double version = 0, v;
    int rc = ERR_PARSE;

    if (root == NULL || format == NULL || strcmp(format, CATALOG_FORMAT) != 0 ||
        !json_get_num(root, "version", &version) || summary == NULL) {
        *why = xasprintf("cache %s is corrupt or not an mcpzip catalog; ignoring it (it is "
                         "rebuilt from the servers)",
                         cat->cache_path);
        goto out;
    }
    if (version != (double)CATALOG_VERSION) {
        *why = xasprintf("cache %s has format version %.10g, this mcpzip writes %d; rebuilding "
                         "it",
                         cat->cache_path, version, CATALOG_VERSION);
        goto out;
    }
    pthread_mutex_lock(&cat->mu);
    cJSON_ArrayForEach (it, summary) {
        struct entry *e = find_entry(cat, it->string);

        /* A server refreshed live already knows better than the cache; a disabled one shows
         * nothing. */
        if (e == NULL || e->tools != NULL || config_find(cat->cfg, e->name)->disabled)
            continue;
        if (json_get_num(it, "tools", &v) && v >= 0 && v <= 1e6 && v == (double)(long)v)
            e->summary_count = (long)v;
        if (json_get_num(it, "refreshed_at", &v) && v >= 0 && v < 1e15)
            e->refreshed_at = (int64_t)v;
    }
    pthread_mutex_unlock(&cat->mu);
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* Parses the tools line and installs every configured server's list not refreshed since. */
static int load_body(struct catalog *cat, const char *text, size_t len, char **why)
{
    cJSON *root = json_parse(text, len, NULL);
    const cJSON *servers = json_get_obj(root, "servers"), *it;

    if (servers == NULL) {
        *why = xasprintf("cache %s is truncated or corrupt; ignoring it (it is rebuilt from the "
                         "servers)",
                         cat->cache_path);
        cJSON_Delete(root);
        /* Forget what the summary line claimed: nothing of this cache is used. */
        pthread_mutex_lock(&cat->mu);
        for (size_t i = 0; i < cat->nentries; i++)
            if (cat->entries[i].tools == NULL) {
                cat->entries[i].summary_count = -1;
                cat->entries[i].refreshed_at = 0;
            }
        pthread_mutex_unlock(&cat->mu);
        return ERR_PARSE;
    }
    /* A server no longer configured, already refreshed live, or a bad entry is skipped. */
    pthread_mutex_lock(&cat->mu);
    for (it = servers->child; it != NULL;) {
        const cJSON *nextit = it->next;
        struct entry *e = find_entry(cat, it->string);
        cJSON *tools, *t, *next;

        const struct config_server *cs = config_find(cat->cfg, it->string);

        if (e != NULL && e->tools == NULL && cJSON_IsArray(it) && cs != NULL && !cs->disabled) {
            tools = cJSON_DetachItemViaPointer((cJSON *)servers, (cJSON *)it);
            /* Keep only well-formed tools, as a live refresh would. */
            for (t = tools->child; t != NULL; t = next) {
                next = t->next;
                if (json_get_str(t, "name") == NULL)
                    cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
            }
            dedupe(e->name, tools);
            e->tools = shared_new(tools);
            cat->tools_version++;
        }
        it = nextit;
    }
    cat->dirty = true;
    pthread_mutex_unlock(&cat->mu);
    cJSON_Delete(root);
    return 0;
}

/* Reads the cache file and splits it into its summary line and its tools line. */
static int read_cache(struct catalog *cat, char **text, size_t *len, size_t *body, char **why)
{
    const char *nl;
    int rc;

    if (cat->cache_path == NULL)
        return ERR_NOT_FOUND;
    rc = fsutil_read_file(cat->cache_path, CATALOG_MAX_FILE, text, len, why);
    if (rc != 0)
        return rc;
    nl = memchr(*text, '\n', *len);
    if (nl == NULL) {
        *why = xasprintf("cache %s is corrupt or not an mcpzip catalog; ignoring it (it is "
                         "rebuilt from the servers)",
                         cat->cache_path);
        free(*text);
        *text = NULL;
        return ERR_PARSE;
    }
    *body = (size_t)(nl - *text) + 1;
    return 0;
}

int catalog_load(struct catalog *cat, char **why)
{
    char *text = NULL;
    size_t len = 0, body = 0;
    int rc;

    rc = read_cache(cat, &text, &len, &body, why);
    if (rc == 0)
        rc = load_header(cat, text, body - 1, why);
    if (rc == 0)
        rc = load_body(cat, text + body, len - body, why);
    free(text);
    return rc;
}

struct load_job {
    struct catalog *cat;
    char *text;
    size_t body, len;
};

static void *loader_main(void *arg)
{
    struct load_job *job = arg;
    struct catalog *cat = job->cat;
    struct catalog_snap *snap;
    char *why = NULL;

    if (load_body(cat, job->text + job->body, job->len - job->body, &why) != 0) {
        LOG_WARN("%s", why);
        free(why);
    }
    free(job->text);
    free(job);
    pthread_mutex_lock(&cat->mu);
    cat->loading = false;
    pthread_cond_broadcast(&cat->loaded_cv);
    pthread_mutex_unlock(&cat->mu);
    /* Build the first index now, so the first search does not pay for it. */
    snap = catalog_acquire(cat);
    catalog_index(snap);
    catalog_release(cat, snap);
    return NULL;
}

void catalog_load_async(struct catalog *cat)
{
    struct load_job *job = xcalloc(1, sizeof(*job));
    char *why = NULL;
    int rc;

    job->cat = cat;
    rc = read_cache(cat, &job->text, &job->len, &job->body, &why);
    if (rc == 0)
        rc = load_header(cat, job->text, job->body - 1, &why);
    if (rc == 0) {
        cat->loading = true;
        if (pthread_create(&cat->loader, NULL, loader_main, job) == 0) {
            cat->loader_started = true;
            LOG_INFO("loading the catalog from %s", cat->cache_path);
            return;
        }
        cat->loading = false;
        rc = load_body(cat, job->text + job->body, job->len - job->body, &why);
    }
    if (rc != 0 && rc != ERR_NOT_FOUND)
        LOG_WARN("%s", why);
    free(why);
    free(job->text);
    free(job);
}

bool catalog_count(struct catalog *cat, const char *server, size_t *count)
{
    struct entry *e;
    bool known = false;

    pthread_mutex_lock(&cat->mu);
    e = find_entry(cat, server);
    if (e != NULL && e->tools != NULL) {
        *count = (size_t)cJSON_GetArraySize(e->tools->tools);
        known = true;
    } else if (e != NULL && e->summary_count >= 0 && cat->loading) {
        *count = (size_t)e->summary_count;
        known = true;
    }
    pthread_mutex_unlock(&cat->mu);
    return known;
}

int catalog_save(struct catalog *cat, char **why)
{
    struct catalog_snap *snap;
    cJSON *root, *summary, *body, *servers;
    char *text, *head, *tail, *dir;
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
    summary = cJSON_AddObjectToObject(root, "summary");
    body = cJSON_CreateObject();
    servers = cJSON_AddObjectToObject(body, "servers");
    for (size_t i = 0; i < snap->nservers; i++) {
        const struct catalog_server *cs = &snap->servers[i];
        cJSON *s;

        if (!cs->loaded)
            continue;
        s = cJSON_AddObjectToObject(summary, cs->name);
        cJSON_AddNumberToObject(s, "tools", (double)cs->ntools);
        cJSON_AddNumberToObject(s, "refreshed_at", (double)cs->refreshed_at);
        /* A reference, not a copy: the snapshot keeps the array alive while we print. */
        cJSON_AddItemToObject(servers, cs->name, cJSON_CreateArrayReference(cs->tools->child));
    }
    head = json_print(root);
    tail = json_print(body);
    cJSON_Delete(root);
    cJSON_Delete(body);
    catalog_release(cat, snap);
    text = xasprintf("%s\n%s\n", head, tail);
    free(head);
    free(tail);

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
