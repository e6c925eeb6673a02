/*
 * catalog.c - merged tool catalog, snapshots and the cache file; see catalog.h.
 *
 * DESIGN (where definitions live). A list (struct catalog_list) holds its tools' names and a
 * struct defs saying where each definition is: at an offset of an open cache file, or in one
 * block of memory. A struct defs never changes once published; catalog_save() writes every
 * list to a new file and then swaps each list's defs for one pointing into that file (under the
 * list's own lock), so readers that took a reference to the old defs finish with it undisturbed.
 * The descriptor of the file that was loaded or written stays open for as long as a list points
 * into it: the file is only ever replaced by rename, never changed in place, so what is read
 * back is what was checked or written. Should someone change it in place anyway, a definition
 * that no longer parses is reported as such, never trusted.
 */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define CATALOG_FORMAT "mcpzip-catalog"
#define CATALOG_VERSION 2
#define CATALOG_MAX_FILE (512ull * 1024u * 1024u)
#define CATALOG_MAX_SUMMARY (4u * 1024u * 1024u) /* the first line */
#define CATALOG_MAX_DEF (16u * 1024u * 1024u)    /* one tool's definition */
#define CATALOG_IO_CHUNK 65536

/* A cache file definitions are read back from. */
struct cache_file {
    unsigned refs; /* atomic */
    int fd;
};

/* Where the definitions of one list are. Immutable once published. */
struct defs {
    unsigned refs;           /* atomic */
    struct cache_file *file; /* NULL: they are in mem */
    char *mem;
    uint64_t *off; /* per tool: offset in the file or in mem */
    uint32_t *len; /* per tool: bytes */
};

struct catalog_list {
    unsigned refs; /* guarded by the catalog's lock */
    size_t n;
    char *names;        /* the tools' own names, NUL-terminated, back to back */
    uint32_t *name_off; /* per tool: its name in names */
    pthread_mutex_t mu; /* guards defs */
    struct defs *defs;
};

struct entry {
    const char *name;                /* borrowed from the config */
    const struct config_server *cfg; /* its entry in the config */
    struct catalog_list *tools;
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
    size_t def_bytes;           /* of all their definitions */
    char *names;                /* the routed names, back to back */
    struct catalog_list **held; /* one per server, may be NULL */
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

/* ------------------------------------------------------------------ definitions and lists */

static struct cache_file *file_new(int fd)
{
    struct cache_file *f = xcalloc(1, sizeof(*f));

    f->fd = fd;
    f->refs = 1;
    return f;
}

static void file_ref(struct cache_file *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

static void file_unref(struct cache_file *f)
{
    if (f != NULL && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        close(f->fd);
        free(f);
    }
}

static struct defs *defs_new(size_t n, struct cache_file *file)
{
    struct defs *d = xcalloc(1, sizeof(*d));

    d->refs = 1;
    d->file = file;
    if (file != NULL)
        file_ref(file);
    d->off = xcalloc(n + 1, sizeof(*d->off));
    d->len = xcalloc(n + 1, sizeof(*d->len));
    return d;
}

static void defs_unref(struct defs *d)
{
    if (d == NULL || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    file_unref(d->file);
    free(d->mem);
    free(d->off);
    free(d->len);
    free(d);
}

/* The list's current defs, with a reference held for the caller. */
static struct defs *defs_get(const struct catalog_list *list)
{
    struct catalog_list *l = (struct catalog_list *)list;
    struct defs *d;

    pthread_mutex_lock(&l->mu);
    d = l->defs;
    __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&l->mu);
    return d;
}

/* Reads exactly len bytes at off. */
static int read_at(int fd, uint64_t off, char *dst, size_t len)
{
    while (len > 0) {
        ssize_t n = pread(fd, dst, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ERR_IO;
        dst += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies definition i into *buf (grown as needed, NUL-terminated). Returns its length, or -1
 * when it cannot be read back. */
static long defs_copy(const struct defs *d, size_t i, char **buf, size_t *cap)
{
    size_t len = d->len[i];

    if (*buf == NULL || *cap < len + 1) {
        *cap = len + 1 > 256 ? len + 1 : 256;
        *buf = xrealloc(*buf, *cap);
    }
    if (d->file == NULL)
        memcpy(*buf, d->mem + d->off[i], len);
    else if (read_at(d->file->fd, d->off[i], *buf, len) != 0)
        return -1;
    (*buf)[len] = '\0';
    return (long)len;
}

const char *catalog_list_name(const struct catalog_list *list, size_t i)
{
    return list->names + list->name_off[i];
}

/* Reads definition i of list back and parses it; NULL when it is gone or is no longer the
 * tool it was (the cache file was changed on disk under us). */
static cJSON *list_def(const struct catalog_list *list, size_t i, char **buf, size_t *cap)
{
    struct defs *d = defs_get(list);
    long len = defs_copy(d, i, buf, cap);
    cJSON *def = len >= 0 ? json_parse(*buf, (size_t)len, NULL) : NULL;
    const char *name = json_get_str(def, "name");

    defs_unref(d);
    if (name == NULL || strcmp(name, catalog_list_name(list, i)) != 0) {
        cJSON_Delete(def);
        return NULL;
    }
    return def;
}

cJSON *catalog_tool_def(const struct catalog_tool *t, char **why)
{
    char *buf = NULL;
    size_t cap = 0;
    cJSON *def = list_def(t->list, t->index, &buf, &cap);

    free(buf);
    if (def == NULL && why != NULL)
        *why = xasprintf("the definition of %s cannot be read back from the catalog cache (the "
                         "file was changed on disk); run proxy_refresh to load it again",
                         t->name);
    return def;
}

size_t catalog_tool_size(const struct catalog_tool *t)
{
    struct defs *d = defs_get(t->list);
    size_t len = d->len[t->index];

    defs_unref(d);
    return len;
}

/* A list being put together: names, and where each definition is. */
struct list_build {
    struct buf names; /* NUL-terminated names, back to back */
    uint32_t *name_off;
    uint64_t *off;
    uint32_t *len;
    size_t n, cap;
    struct buf mem; /* the definitions, for a list held in memory */
};

static void lb_add(struct list_build *lb, const char *name, uint64_t off, uint32_t len)
{
    if (lb->n == lb->cap) {
        lb->cap = lb->cap ? lb->cap * 2 : 16;
        lb->name_off = xrealloc(lb->name_off, lb->cap * sizeof(*lb->name_off));
        lb->off = xrealloc(lb->off, lb->cap * sizeof(*lb->off));
        lb->len = xrealloc(lb->len, lb->cap * sizeof(*lb->len));
    }
    lb->name_off[lb->n] = (uint32_t)lb->names.len;
    lb->off[lb->n] = off;
    lb->len[lb->n] = len;
    lb->n++;
    buf_append(&lb->names, name, strlen(name) + 1);
}

static void lb_clear(struct list_build *lb)
{
    buf_free(&lb->names);
    buf_free(&lb->mem);
    free(lb->name_off);
    free(lb->off);
    free(lb->len);
    memset(lb, 0, sizeof(*lb));
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
    const struct list_build *lb = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(lb->names.s + lb->name_off[x], lb->names.s + lb->name_off[y]);

    return c != 0 ? c : (x > y) - (x < y);
}

/* Turns lb (emptied) into a list whose definitions are in file, or in lb->mem when file is
 * NULL. Later duplicates of a name are dropped: routing needs names unique per server. */
static struct catalog_list *lb_finish(struct list_build *lb, const char *server,
                                      struct cache_file *file)
{
    struct catalog_list *l = xcalloc(1, sizeof(*l));
    uint32_t *order = xmalloc((lb->n + 1) * sizeof(*order));
    bool *drop = xcalloc(lb->n + 1, sizeof(*drop));
    size_t i, k = 0;

    for (i = 0; i < lb->n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, lb->n, sizeof(*order), cmp_by_name, lb);
    for (i = 1; i < lb->n; i++)
        if (strcmp(lb->names.s + lb->name_off[order[i]],
                   lb->names.s + lb->name_off[order[i - 1]]) == 0) {
            drop[order[i]] = true;
            LOG_WARN("[%s] lists tool \"%s\" twice; the second is ignored", server,
                     lb->names.s + lb->name_off[order[i]]);
        }
    l->refs = 1;
    pthread_mutex_init(&l->mu, NULL);
    l->defs = defs_new(lb->n, file);
    for (i = 0; i < lb->n; i++) {
        if (drop[i])
            continue;
        lb->name_off[k] = lb->name_off[i];
        l->defs->off[k] = lb->off[i];
        l->defs->len[k] = lb->len[i];
        k++;
    }
    l->n = k;
    l->names = buf_take(&lb->names);
    l->name_off = lb->name_off;
    lb->name_off = NULL;
    if (file == NULL) {
        /* Trimmed to its size: a list held in memory until the next save should cost no more
         * than its text. (The length is read first: buf_take() clears it.) */
        size_t len = lb->mem.len;

        l->defs->mem = xrealloc(buf_take(&lb->mem), len + 1);
    }
    free(order);
    free(drop);
    lb_clear(lb);
    return l;
}

/* Builds a list held in memory from a tools array as an upstream sent it. */
static struct catalog_list *list_from_json(const char *server, const cJSON *tools)
{
    struct list_build lb = {0};
    const cJSON *t;

    cJSON_ArrayForEach (t, tools) {
        const char *name = json_get_str(t, "name");
        char *text;
        size_t len;

        if (name == NULL)
            continue;
        text = json_print(t);
        len = strlen(text);
        if (len > CATALOG_MAX_DEF) {
            LOG_WARN("[%s] tool \"%s\" has a definition of %zu bytes; tools over %u bytes are "
                     "ignored",
                     server, name, len, CATALOG_MAX_DEF);
        } else {
            lb_add(&lb, name, lb.mem.len, (uint32_t)len);
            buf_append(&lb.mem, text, len);
        }
        free(text);
    }
    return lb_finish(&lb, server, NULL);
}

static void list_free(struct catalog_list *l)
{
    defs_unref(l->defs);
    pthread_mutex_destroy(&l->mu);
    free(l->names);
    free(l->name_off);
    free(l);
}

/* Drops a reference (the catalog's lock held, or the list never shared). */
static void list_unref(struct catalog_list *l)
{
    if (l != NULL && --l->refs == 0)
        list_free(l);
}

/* True when a (any backing) and b (in memory) list the same tools with the same definitions. */
static bool same_list(const struct catalog_list *a, const struct catalog_list *b)
{
    struct defs *da, *db;
    char *buf = NULL;
    size_t cap = 0, i;
    bool same = a->n == b->n;

    for (i = 0; same && i < a->n; i++)
        same = strcmp(catalog_list_name(a, i), catalog_list_name(b, i)) == 0;
    if (!same)
        return false;
    da = defs_get(a);
    db = defs_get(b);
    for (i = 0; same && i < a->n; i++) {
        long len = da->len[i] == db->len[i] ? defs_copy(da, i, &buf, &cap) : -1;

        same = len >= 0 && memcmp(buf, db->mem + db->off[i], (size_t)len) == 0;
    }
    defs_unref(da);
    defs_unref(db);
    free(buf);
    return same;
}

/* ------------------------------------------------------------------ the catalog */

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
        cat->entries[cat->nentries].cfg = &cfg->servers[i];
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
    free(core->names);
    free(core->tools);
    for (i = 0; i < core->nheld; i++)
        list_unref(core->held[i]);
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
        list_unref(cat->entries[i].tools);
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
    size_t i, j, n = 0, total = 0, bytes = 1, pos = 0;

    core->refs = 1;
    core->tools_version = cat->tools_version;
    core->nheld = cat->nentries;
    core->held = xcalloc(cat->nentries + 1, sizeof(*core->held));
    for (i = 0; i < cat->nentries; i++) {
        struct catalog_list *l = cat->entries[i].tools;

        if (l == NULL)
            continue;
        struct defs *d;

        l->refs++;
        core->held[i] = l;
        total += l->n;
        d = defs_get(l);
        for (j = 0; j < l->n; j++)
            core->def_bytes += d->len[j];
        defs_unref(d);
        for (j = 0; j < l->n; j++)
            bytes += strlen(cat->entries[i].name) + 2 + strlen(catalog_list_name(l, j)) + 1;
    }
    /* One block for every routed name: a thousand small allocations cost more than the names. */
    core->names = xmalloc(bytes);
    core->tools = xcalloc(total + 1, sizeof(*core->tools));
    for (i = 0; i < cat->nentries; i++) {
        const struct catalog_list *l = core->held[i];

        for (j = 0; l != NULL && j < l->n; j++) {
            struct catalog_tool *ct = &core->tools[n++];
            int w = snprintf(core->names + pos, bytes - pos, "%s__%s", cat->entries[i].name,
                             catalog_list_name(l, j));

            ct->name = core->names + pos;
            ct->server = cat->entries[i].name;
            ct->list = l;
            ct->index = j;
            pos += (size_t)w + 1;
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
    sp->pub.def_bytes = sp->core->def_bytes;
    sp->pub.nservers = cat->nentries;
    sp->pub.servers = xcalloc(cat->nentries + 1, sizeof(*sp->pub.servers));
    for (i = 0; i < cat->nentries; i++) {
        struct entry *e = &cat->entries[i];
        struct catalog_server *cs = &sp->pub.servers[i];

        cs->name = e->name;
        cs->disabled = e->cfg->disabled;
        cs->loaded = e->tools != NULL;
        cs->live = e->live;
        cs->stale = e->stale;
        cs->refreshed_at = e->refreshed_at;
        cs->last_error = e->last_error ? xstrdup(e->last_error) : NULL;
        if (sp->core->held[i] != NULL) {
            cs->list = sp->core->held[i];
            cs->ntools = cs->list->n;
        }
    }
    return sp;
}

const char *catalog_text(struct catalog_snap *snap, size_t tool, unsigned slot, catalog_fmt_cb fmt)
{
    struct snap_core *core = ((struct snap_priv *)snap)->core;
    char **cells = &core->texts[tool * CATALOG_TEXT_SLOTS];
    char *text = __atomic_load_n(&cells[slot], __ATOMIC_ACQUIRE), *made[CATALOG_TEXT_SLOTS] = {0};
    cJSON *def;

    if (text != NULL)
        return text;
    def = catalog_tool_def(&snap->tools[tool], NULL);
    fmt(snap->tools[tool].name, def, made);
    cJSON_Delete(def);
    /* Two threads may format the same tool at once; the first to publish a slot wins it. */
    for (unsigned i = 0; i < CATALOG_TEXT_SLOTS; i++) {
        char *expected = NULL;

        if (made[i] == NULL)
            made[i] = xstrdup("");
        if (!__atomic_compare_exchange_n(&cells[i], &expected, made[i], false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            free(made[i]);
    }
    return __atomic_load_n(&cells[slot], __ATOMIC_ACQUIRE);
}

bool catalog_all_ready(const struct catalog_snap *snap)
{
    for (size_t i = 0; i < snap->nservers; i++)
        if (!snap->servers[i].disabled &&
            (!snap->servers[i].loaded || snap->servers[i].last_error != NULL))
            return false;
    return true;
}

/* Reads every definition back, one at a time, and hands it to the index builder. */
static struct search_index *build_index(const struct catalog_snap *snap)
{
    struct search_builder *b = search_builder_new(snap->ntools);
    char *buf = NULL;
    size_t cap = 0, unreadable = 0;

    for (size_t i = 0; i < snap->ntools; i++) {
        const struct catalog_tool *t = &snap->tools[i];
        cJSON *def = list_def(t->list, t->index, &buf, &cap);
        const char *title = json_get_str(def, "title");
        struct search_doc doc = {.name = t->name, .server = t->server};

        if (title == NULL)
            title = json_get_str(json_get_obj(def, "annotations"), "title");
        doc.tool = catalog_list_name(t->list, t->index);
        doc.title = title;
        doc.description = json_get_str(def, "description");
        doc.input_schema = json_get_obj(def, "inputSchema");
        unreadable += def == NULL;
        search_builder_add(b, &doc);
        cJSON_Delete(def);
    }
    free(buf);
    if (unreadable > 0)
        LOG_WARN("%zu tool definitions cannot be read back from the catalog cache (the file was "
                 "changed on disk); they are found by name only until proxy_refresh",
                 unreadable);
    return search_builder_finish(b);
}

const struct search_index *catalog_index(struct catalog_snap *snap)
{
    struct snap_core *core = ((struct snap_priv *)snap)->core;

    pthread_mutex_lock(&core->index_mu);
    if (core->index == NULL)
        core->index = build_index(snap);
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

static bool has_tool(const struct catalog_list *l, const char *name)
{
    for (size_t i = 0; l != NULL && i < l->n; i++)
        if (strcmp(catalog_list_name(l, i), name) == 0)
            return true;
    return false;
}

/* Computes the names that appear in b but not in a. */
static void diff_names(const char *server, const struct catalog_list *a,
                       const struct catalog_list *b, char ***out, size_t *n)
{
    for (size_t i = 0; b != NULL && i < b->n; i++)
        if (!has_tool(a, catalog_list_name(b, i)))
            push(out, n, xasprintf("%s__%s", server, catalog_list_name(b, i)));
}

void catalog_update(struct catalog *cat, const char *server, cJSON *tools,
                    struct catalog_diff *diff)
{
    struct catalog_list *list = list_from_json(server, cJSON_IsArray(tools) ? tools : NULL);
    struct catalog_list *old = NULL;
    struct entry *e;
    bool same;

    cJSON_Delete(tools);
    pthread_mutex_lock(&cat->mu);
    e = find_entry(cat, server);
    if (e == NULL) {
        pthread_mutex_unlock(&cat->mu);
        list_free(list);
        return;
    }
    old = e->tools;
    if (old != NULL)
        old->refs++;
    pthread_mutex_unlock(&cat->mu);

    /* Reading the old definitions back may touch the disk: not under the lock. */
    same = old != NULL && same_list(old, list);

    pthread_mutex_lock(&cat->mu);
    /* Against the list being replaced now: another refresh may have come in meanwhile. The
     * usual refresh changes nothing and has nothing to compare. */
    if (diff != NULL && !(same && e->tools == old)) {
        diff_names(server, e->tools, list, &diff->added, &diff->nadded);
        diff_names(server, list, e->tools, &diff->removed, &diff->nremoved);
    }
    if (same && e->tools == old) {
        /* The usual refresh: nothing changed, so the index and the cache stay as they are. */
        list_free(list);
    } else {
        list_unref(e->tools);
        e->tools = list;
        cat->tools_version++;
    }
    list_unref(old);
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

/* ------------------------------------------------------------------ the cache file */

/* Reads a file line by line through a bounded buffer, keeping track of file offsets. */
struct line_reader {
    int fd;
    char *buf;
    size_t cap, start, end;
    uint64_t base; /* file offset of buf[0] */
};

/*
 * The next line, without its newline (replaced by a NUL), and the file offset where it starts.
 * Returns 1, 0 at the end of the file, ERR_PARSE for a line longer than max or a last line
 * without its newline (the file was cut short), or ERR_IO.
 */
static int next_line(struct line_reader *lr, size_t max, char **line, size_t *len, uint64_t *off)
{
    for (;;) {
        char *nl =
            lr->end > lr->start ? memchr(lr->buf + lr->start, '\n', lr->end - lr->start) : NULL;
        ssize_t n;

        if (nl != NULL) {
            *line = lr->buf + lr->start;
            *len = (size_t)(nl - *line);
            *off = lr->base + lr->start;
            *nl = '\0';
            lr->start = (size_t)(nl - lr->buf) + 1;
            return *len > max ? ERR_PARSE : 1;
        }
        if (lr->end - lr->start > max)
            return ERR_PARSE;
        if (lr->start > 0) {
            memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
            lr->base += lr->start;
            lr->end -= lr->start;
            lr->start = 0;
        }
        if (lr->end == lr->cap) {
            lr->cap = lr->cap ? lr->cap * 2 : CATALOG_IO_CHUNK;
            lr->buf = xrealloc(lr->buf, lr->cap);
        }
        do
            n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return ERR_IO;
        if (n == 0)
            return lr->end > lr->start ? ERR_PARSE : 0;
        lr->end += (size_t)n;
    }
}

static void reader_close(struct line_reader *lr)
{
    if (lr->fd >= 0)
        close(lr->fd);
    free(lr->buf);
    memset(lr, 0, sizeof(*lr));
    lr->fd = -1;
}

static char *corrupt(const struct catalog *cat)
{
    return xasprintf("cache %s is truncated or corrupt; ignoring it (it is rebuilt from the "
                     "servers)",
                     cat->cache_path);
}

/* Opens the cache file for reading. Returns 0, ERR_NOT_FOUND (no cache yet) or ERR_IO. */
static int open_cache(struct catalog *cat, struct line_reader *lr, char **why)
{
    struct stat st;

    memset(lr, 0, sizeof(*lr));
    lr->fd = -1;
    if (cat->cache_path == NULL)
        return ERR_NOT_FOUND;
    lr->fd = open(cat->cache_path, O_RDONLY | O_CLOEXEC);
    if (lr->fd < 0 && errno == ENOENT)
        return ERR_NOT_FOUND;
    if (lr->fd < 0) {
        *why = xasprintf("cannot open %s: %s", cat->cache_path, strerror(errno));
        return ERR_IO;
    }
    if (fstat(lr->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (unsigned long long)st.st_size > CATALOG_MAX_FILE) {
        *why = xasprintf("cache %s is not a regular file of at most %llu MiB; ignoring it",
                         cat->cache_path, CATALOG_MAX_FILE >> 20);
        reader_close(lr);
        return ERR_IO;
    }
    return 0;
}

/* Reads and checks the summary line and records each server's count and refresh time. */
static int load_header(struct catalog *cat, struct line_reader *lr, char **why)
{
    cJSON *root = NULL;
    const cJSON *summary, *it;
    const char *format;
    char *line;
    size_t len;
    uint64_t off;
    double version = 0, v;
    int rc = next_line(lr, CATALOG_MAX_SUMMARY, &line, &len, &off);

    if (rc == ERR_IO) {
        *why = xasprintf("cannot read %s: %s", cat->cache_path, strerror(errno));
        goto out;
    }
    root = rc == 1 ? json_parse(line, len, NULL) : NULL;
    format = json_get_str(root, "format");
    summary = json_get_obj(root, "summary");
    rc = ERR_PARSE;
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
        if (e == NULL || e->tools != NULL || e->cfg->disabled)
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

/* Forgets what the summary line claimed: nothing of a rejected cache is used. */
static void forget_summary(struct catalog *cat)
{
    pthread_mutex_lock(&cat->mu);
    for (size_t i = 0; i < cat->nentries; i++)
        if (cat->entries[i].tools == NULL) {
            cat->entries[i].summary_count = -1;
            cat->entries[i].refreshed_at = 0;
        }
    pthread_mutex_unlock(&cat->mu);
}

/*
 * Reads the tool lines (lr is past the summary) and installs the list of every configured
 * server the cache has and that was not refreshed since. Each definition is parsed once, to
 * check it and learn its name; the list then points at it in the file, whose descriptor lr
 * hands over. Lines of servers no longer configured are skipped. The file is rejected as a whole
 * when a line is not "server<TAB>JSON" or a server has fewer or more lines than the summary
 * says (a file cut short at a line's end).
 */
static int load_body(struct catalog *cat, struct line_reader *lr, char **why)
{
    struct list_build *lbs = xcalloc(cat->nentries + 1, sizeof(*lbs));
    size_t *lines = xcalloc(cat->nentries + 1, sizeof(*lines));
    struct cache_file *file = NULL;
    char *line;
    size_t len, i;
    uint64_t off;
    int rc;

    while ((rc = next_line(lr, CATALOG_MAX_DEF + 256, &line, &len, &off)) == 1) {
        char *tab = memchr(line, '\t', len);
        struct entry *e;
        cJSON *def;
        const char *name;

        if (tab == NULL) {
            rc = ERR_PARSE;
            break;
        }
        *tab = '\0';
        e = find_entry(cat, line);
        if (e == NULL || e->cfg->disabled)
            continue;
        i = (size_t)(e - cat->entries);
        lines[i]++;
        def = json_parse(tab + 1, len - (size_t)(tab + 1 - line), NULL);
        if (def == NULL) {
            rc = ERR_PARSE;
            break;
        }
        /* Keep only well-formed tools, as a live refresh would. */
        name = json_get_str(def, "name");
        if (name != NULL)
            lb_add(&lbs[i], name, off + (uint64_t)(tab + 1 - line),
                   (uint32_t)(len - (size_t)(tab + 1 - line)));
        cJSON_Delete(def);
    }
    if (rc == ERR_IO) {
        *why = xasprintf("cannot read %s: %s", cat->cache_path, strerror(errno));
        forget_summary(cat);
        goto out;
    }
    pthread_mutex_lock(&cat->mu);
    for (i = 0; rc == 0 && i < cat->nentries; i++)
        if (cat->entries[i].summary_count >= 0 && cat->entries[i].tools == NULL &&
            (size_t)cat->entries[i].summary_count != lines[i])
            rc = ERR_PARSE;
    if (rc == 0) {
        file = file_new(lr->fd);
        lr->fd = -1;
        for (i = 0; i < cat->nentries; i++) {
            struct entry *e = &cat->entries[i];

            if (e->tools != NULL || (e->summary_count < 0 && lines[i] == 0))
                continue;
            e->tools = lb_finish(&lbs[i], e->name, file);
            cat->tools_version++;
        }
        cat->dirty = true;
    }
    pthread_mutex_unlock(&cat->mu);
    if (rc != 0) {
        *why = corrupt(cat);
        forget_summary(cat);
    }
out:
    file_unref(file);
    for (i = 0; i < cat->nentries; i++)
        lb_clear(&lbs[i]);
    free(lbs);
    free(lines);
    return rc;
}

int catalog_load(struct catalog *cat, char **why)
{
    struct line_reader lr;
    int rc;

    rc = open_cache(cat, &lr, why);
    if (rc == 0)
        rc = load_header(cat, &lr, why);
    if (rc == 0)
        rc = load_body(cat, &lr, why);
    reader_close(&lr);
    return rc;
}

struct load_job {
    struct catalog *cat;
    struct line_reader lr; /* past the summary */
};

static void *loader_main(void *arg)
{
    struct load_job *job = arg;
    struct catalog *cat = job->cat;
    struct catalog_snap *snap;
    char *why = NULL;

    if (load_body(cat, &job->lr, &why) != 0) {
        LOG_WARN("%s", why);
        free(why);
    }
    reader_close(&job->lr);
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
    rc = open_cache(cat, &job->lr, &why);
    if (rc == 0)
        rc = load_header(cat, &job->lr, &why);
    if (rc == 0) {
        cat->loading = true;
        if (pthread_create(&cat->loader, NULL, loader_main, job) == 0) {
            cat->loader_started = true;
            LOG_INFO("loading the catalog from %s", cat->cache_path);
            return;
        }
        cat->loading = false;
        rc = load_body(cat, &job->lr, &why);
    }
    if (rc != 0 && rc != ERR_NOT_FOUND)
        LOG_WARN("%s", why);
    free(why);
    reader_close(&job->lr);
    free(job);
}

bool catalog_count(struct catalog *cat, const char *server, size_t *count)
{
    struct entry *e;
    bool known = false;

    pthread_mutex_lock(&cat->mu);
    e = find_entry(cat, server);
    if (e != NULL && e->tools != NULL) {
        *count = e->tools->n;
        known = true;
    } else if (e != NULL && e->summary_count >= 0 && cat->loading) {
        *count = (size_t)e->summary_count;
        known = true;
    }
    pthread_mutex_unlock(&cat->mu);
    return known;
}

/* Buffered writes to the cache file being saved. */
struct writer {
    struct fsutil_atomic file;
    char buf[CATALOG_IO_CHUNK];
    size_t used;
    int rc;
    char *why;
};

static void w_flush(struct writer *w)
{
    if (w->rc == 0 && w->used > 0)
        w->rc = fsutil_atomic_write(&w->file, w->buf, w->used, &w->why);
    w->used = 0;
}

static void w_put(struct writer *w, const char *s, size_t len)
{
    while (len > 0 && w->rc == 0) {
        size_t k = sizeof(w->buf) - w->used < len ? sizeof(w->buf) - w->used : len;

        memcpy(w->buf + w->used, s, k);
        w->used += k;
        s += k;
        len -= k;
        if (w->used == sizeof(w->buf))
            w_flush(w);
    }
}

/* The offset in the file of the next byte written. */
static uint64_t w_pos(const struct writer *w)
{
    return w->file.size + w->used;
}

/* The summary line: what initialize needs, read before the tools. */
static char *summary_line(struct catalog *cat, const struct catalog_snap *snap)
{
    cJSON *root = cJSON_CreateObject(), *summary;
    char *text;

    cJSON_AddStringToObject(root, "format", CATALOG_FORMAT);
    cJSON_AddNumberToObject(root, "version", CATALOG_VERSION);
    cJSON_AddStringToObject(root, "config", cat->cfg->path);
    cJSON_AddNumberToObject(root, "saved_at", (double)upstream_wall_ms());
    summary = cJSON_AddObjectToObject(root, "summary");
    for (size_t i = 0; i < snap->nservers; i++) {
        const struct catalog_server *cs = &snap->servers[i];
        cJSON *s;

        if (!cs->loaded)
            continue;
        s = cJSON_AddObjectToObject(summary, cs->name);
        cJSON_AddNumberToObject(s, "tools", (double)cs->ntools);
        cJSON_AddNumberToObject(s, "refreshed_at", (double)cs->refreshed_at);
    }
    text = json_print(root);
    cJSON_Delete(root);
    return text;
}

/* Writes the tools of one list, and where each went into moved (a defs for the new file). */
static void write_list(struct writer *w, const char *server, const struct catalog_list *l,
                       struct defs *moved, char **buf, size_t *cap)
{
    struct defs *d = defs_get(l);

    for (size_t i = 0; i < l->n && w->rc == 0; i++) {
        long len = defs_copy(d, i, buf, cap);

        if (len < 0) {
            /* Someone changed the old file under us: keep the tool routable by name. */
            cJSON *o = cJSON_CreateObject();
            char *min;

            cJSON_AddStringToObject(o, "name", catalog_list_name(l, i));
            min = json_print(o);
            cJSON_Delete(o);

            LOG_WARN("[%s] the definition of %s cannot be read back from the catalog cache; "
                     "saving its name only until the next refresh",
                     server, catalog_list_name(l, i));
            len = (long)strlen(min);
            free(*buf);
            *buf = min;
            *cap = (size_t)len + 1;
        }
        w_put(w, server, strlen(server));
        w_put(w, "\t", 1);
        moved->off[i] = w_pos(w);
        moved->len[i] = (uint32_t)len;
        w_put(w, *buf, (size_t)len);
        w_put(w, "\n", 1);
    }
    defs_unref(d);
}

int catalog_save(struct catalog *cat, char **why)
{
    struct catalog_snap *snap = NULL;
    struct snap_core *core;
    struct writer *w = NULL;
    struct defs **moved = NULL;
    struct cache_file *file = NULL;
    char *head = NULL, *dir = NULL, *buf = NULL;
    size_t cap = 0, i;
    int rc = ERR_IO, fd = -1;

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
    core = ((struct snap_priv *)snap)->core;
    dir = fsutil_dirname(cat->cache_path);
    rc = fsutil_mkdirs(dir, 0700, why);
    if (rc != 0)
        goto out;
    w = xcalloc(1, sizeof(*w));
    rc = fsutil_atomic_begin(&w->file, cat->cache_path, 0600, why);
    if (rc != 0)
        goto out;
    head = summary_line(cat, snap);
    w_put(w, head, strlen(head));
    w_put(w, "\n", 1);
    moved = xcalloc(snap->nservers + 1, sizeof(*moved));
    for (i = 0; i < snap->nservers && w->rc == 0; i++) {
        const struct catalog_list *l = core->held[i];

        if (l == NULL)
            continue;
        moved[i] = defs_new(l->n, NULL);
        write_list(w, snap->servers[i].name, l, moved[i], &buf, &cap);
    }
    w_flush(w);
    rc = w->rc;
    if (rc != 0) {
        *why = w->why;
        w->why = NULL;
        goto out;
    }
    rc = fsutil_atomic_commit(&w->file, &fd, why);
    if (rc != 0)
        goto out;
    /* Every list saved now reads its definitions from the new file; those held in memory
     * until now are freed as soon as no reader holds them. */
    file = file_new(fd);
    for (i = 0; i < snap->nservers; i++) {
        struct catalog_list *l = core->held[i];
        struct defs *old;

        if (l == NULL)
            continue;
        moved[i]->file = file;
        file_ref(file);
        pthread_mutex_lock(&l->mu);
        old = l->defs;
        l->defs = moved[i];
        pthread_mutex_unlock(&l->mu);
        moved[i] = NULL;
        defs_unref(old);
    }
out:
    if (rc != 0) {
        pthread_mutex_lock(&cat->mu);
        cat->unsaved = true;
        pthread_mutex_unlock(&cat->mu);
    }
    if (w != NULL) {
        fsutil_atomic_abort(&w->file);
        free(w->why);
        free(w);
    }
    for (i = 0; moved != NULL && i < snap->nservers; i++)
        defs_unref(moved[i]);
    free(moved);
    file_unref(file);
    catalog_release(cat, snap);
    free(head);
    free(dir);
    free(buf);
    return rc;
}
