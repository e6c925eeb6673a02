/*
 * proxy.c - upstreams, catalog, background refresh and housekeeping; see proxy.h.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "xmem.h"

#define PROXY_SHUTDOWN_WAIT_MS 3000

/* Secrets of mcpzip's own that no upstream child may inherit. */
static const char *const drop_env[] = {"GEMINI_API_KEY", "MCPZIP_LLM_API_KEY", NULL};

struct slot {
    struct upstream *up;
    bool refreshing;    /* a refresh of this server is running */
    bool again;         /* another was requested while it ran */
};

struct proxy {
    const struct config *cfg;
    struct catalog *cat;
    struct proc_spawner *spawner;
    struct http_lib *http;
    struct slot *slots; /* config order */
    size_t nslots;
    pthread_mutex_t mu; /* guards slots[].refreshing/again, threads, stopping, started */
    pthread_cond_t cv;
    unsigned threads;   /* refresh threads running */
    bool started;
    bool stopping;
    pthread_t housekeeper;
    bool housekeeper_running;
};

struct refresh_job {
    struct proxy *px;
    size_t slot;
};

const struct config *proxy_config(struct proxy *px)
{
    return px->cfg;
}

struct catalog *proxy_catalog(struct proxy *px)
{
    return px->cat;
}

static struct slot *find_slot(struct proxy *px, const char *name)
{
    for (size_t i = 0; i < px->nslots; i++)
        if (strcmp(upstream_name(px->slots[i].up), name) == 0)
            return &px->slots[i];
    return NULL;
}

struct upstream *proxy_upstream(struct proxy *px, const char *name)
{
    struct slot *s = find_slot(px, name);

    return s != NULL ? s->up : NULL;
}

int proxy_refresh(struct proxy *px, const char *name, struct catalog_diff *diff, char **why)
{
    struct upstream *up = proxy_upstream(px, name);
    cJSON *tools = NULL;
    int rc;

    if (up == NULL) {
        *why = xasprintf("no server named \"%s\" in %s", name, px->cfg->path);
        return ERR_NOT_FOUND;
    }
    if (upstream_config(up)->disabled) {
        *why = xasprintf("server \"%s\" is disabled in the config", name);
        return ERR_DISABLED;
    }
    rc = upstream_list_tools(up, PROXY_REFRESH_TIMEOUT_MS, true, &tools, why);
    if (rc != 0) {
        LOG_WARN("refresh of %s failed: %s", name, *why);
        catalog_mark_failed(px->cat, name, *why);
        return rc;
    }
    LOG_INFO("[%s] %d tools", name, cJSON_GetArraySize(tools));
    catalog_update(px->cat, name, tools, diff);
    return 0;
}

static void *refresh_main(void *arg)
{
    struct refresh_job *job = arg;
    struct proxy *px = job->px;
    struct slot *s = &px->slots[job->slot];
    char *why = NULL;

    free(job);
    for (;;) {
        (void)proxy_refresh(px, upstream_name(s->up), NULL, &why);
        free(why);
        why = NULL;
        pthread_mutex_lock(&px->mu);
        if (!s->again || px->stopping) {
            s->refreshing = false;
            break;
        }
        s->again = false;
        pthread_mutex_unlock(&px->mu);
    }
    px->threads--;
    pthread_cond_broadcast(&px->cv);
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

/* Starts a refresh thread for slot i unless one runs (mu held). */
static void spawn_refresh(struct proxy *px, size_t i)
{
    struct slot *s = &px->slots[i];
    struct refresh_job *job;
    pthread_attr_t attr;
    pthread_t th;

    if (px->stopping || upstream_config(s->up)->disabled)
        return;
    if (s->refreshing) {
        s->again = true;
        return;
    }
    job = xcalloc(1, sizeof(*job));
    job->px = px;
    job->slot = i;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&th, &attr, refresh_main, job) == 0) {
        s->refreshing = true;
        px->threads++;
    } else {
        LOG_ERROR("cannot start a refresh thread: %s", strerror(errno));
        free(job);
    }
    pthread_attr_destroy(&attr);
}

void proxy_refresh_async(struct proxy *px, const char *name)
{
    pthread_mutex_lock(&px->mu);
    for (size_t i = 0; i < px->nslots; i++)
        if (strcmp(upstream_name(px->slots[i].up), name) == 0)
            spawn_refresh(px, i);
    pthread_mutex_unlock(&px->mu);
}

static void on_tools_changed(void *ud, struct upstream *up)
{
    proxy_refresh_async(ud, upstream_name(up));
}

/* A server that failed its last refresh (or never had one) and now connected, say for a call,
 * gets its tool list refreshed right away, so search learns its tools without a restart. */
static void on_connected(void *ud, struct upstream *up)
{
    struct proxy *px = ud;
    struct catalog_snap *snap;
    const struct catalog_server *cs;
    bool refresh;

    pthread_mutex_lock(&px->mu);
    refresh = px->started;
    pthread_mutex_unlock(&px->mu);
    if (!refresh)
        return;
    snap = catalog_acquire(px->cat);
    cs = catalog_server(snap, upstream_name(up));
    refresh = cs != NULL && (!cs->live || cs->stale) && cs->last_error != NULL;
    catalog_release(px->cat, snap);
    if (refresh)
        proxy_refresh_async(px, upstream_name(up));
}

static void *housekeeper_main(void *arg)
{
    struct proxy *px = arg;
    int64_t idle_ms = (int64_t)px->cfg->idle_timeout_minutes * 60000;
    char *why = NULL;

    pthread_mutex_lock(&px->mu);
    while (!px->stopping) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&px->cv, &px->mu, &ts);
        if (px->stopping)
            break;
        pthread_mutex_unlock(&px->mu);
        if (idle_ms > 0)
            for (size_t i = 0; i < px->nslots; i++)
                upstream_reap_idle(px->slots[i].up, idle_ms);
        if (catalog_save(px->cat, &why) != 0) {
            LOG_WARN("could not save the catalog cache: %s", why);
            free(why);
            why = NULL;
        }
        pthread_mutex_lock(&px->mu);
    }
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

struct proxy *proxy_new(const struct config *cfg)
{
    struct proxy *px = xcalloc(1, sizeof(*px));
    struct upstream_opts opts = {0};
    struct upstream_hooks hooks = {
        .tools_changed = on_tools_changed, .connected = on_connected, .ud = px};
    char *cache = catalog_cache_path(cfg->path);

    px->cfg = cfg;
    pthread_mutex_init(&px->mu, NULL);
    pthread_cond_init(&px->cv, NULL);
    px->spawner = proc_spawner_new();
    px->cat = catalog_new(cfg, cache);
    catalog_load_async(px->cat);
    free(cache);
    px->http = http_lib_new("mcpzip/" MCPZIP_VERSION);
    opts.spawner = px->spawner;
    opts.http = px->http;
    opts.drop_env = drop_env;
    opts.max_message = cfg->max_message_bytes > (64u << 20) ? cfg->max_message_bytes : (64u << 20);
    opts.client_version = MCPZIP_VERSION;
    px->slots = xcalloc(cfg->nservers + 1, sizeof(*px->slots));
    for (size_t i = 0; i < cfg->nservers; i++)
        px->slots[px->nslots++].up = upstream_new(&cfg->servers[i], &opts, &hooks);
    if (pthread_create(&px->housekeeper, NULL, housekeeper_main, px) == 0)
        px->housekeeper_running = true;
    return px;
}

void proxy_start(struct proxy *px)
{
    pthread_mutex_lock(&px->mu);
    if (!px->started) {
        px->started = true;
        for (size_t i = 0; i < px->nslots; i++)
            spawn_refresh(px, i);
    }
    pthread_mutex_unlock(&px->mu);
}

void proxy_shutdown(struct proxy *px)
{
    struct timespec ts;
    char *why = NULL;

    pthread_mutex_lock(&px->mu);
    if (px->stopping) {
        pthread_mutex_unlock(&px->mu);
        return;
    }
    px->stopping = true;
    pthread_cond_broadcast(&px->cv);
    pthread_mutex_unlock(&px->mu);
    if (px->housekeeper_running)
        pthread_join(px->housekeeper, NULL);
    px->housekeeper_running = false;
    for (size_t i = 0; i < px->nslots; i++)
        upstream_disconnect(px->slots[i].up, "mcpzip is shutting down");
    /* Refresh threads now fail fast; give them a moment to record what they have. */
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += PROXY_SHUTDOWN_WAIT_MS / 1000;
    pthread_mutex_lock(&px->mu);
    while (px->threads > 0)
        if (pthread_cond_timedwait(&px->cv, &px->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&px->mu);
    if (catalog_save(px->cat, &why) != 0) {
        LOG_WARN("could not save the catalog cache: %s", why);
        free(why);
    }
}

void proxy_free(struct proxy *px)
{
    if (px == NULL)
        return;
    proxy_shutdown(px);
    pthread_mutex_lock(&px->mu);
    if (px->threads > 0) {
        /* A refresh thread is stuck past the grace period; the process is exiting anyway,
         * and freeing what it uses would be worse than leaking it. */
        pthread_mutex_unlock(&px->mu);
        LOG_DEBUG("leaving %u refresh threads to process exit", px->threads);
        return;
    }
    pthread_mutex_unlock(&px->mu);
    for (size_t i = 0; i < px->nslots; i++)
        upstream_free(px->slots[i].up);
    free(px->slots);
    catalog_free(px->cat);
    proc_spawner_free(px->spawner);
    http_lib_free(px->http);
    pthread_cond_destroy(&px->cv);
    pthread_mutex_destroy(&px->mu);
    free(px);
}
