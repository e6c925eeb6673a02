/*
 * proxy.c - upstreams, catalog, background refresh and housekeeping; see proxy.h.
 */
#include "proxy.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"
#include "jsonrpc.h"
#include "llmrank.h"
#include "log.h"
#include "oauth.h"
#include "transport_stdio.h"
#include "xmem.h"

#define PROXY_SHUTDOWN_WAIT_MS 1500
#define PROXY_RELAY_TIMEOUT_MS (10 * 60 * 1000) /* a person may be answering an elicitation */
#define PROXY_MAX_RESOURCES 10000
#define PROXY_MAX_WATCHES 1024
/* Background refreshes running at once: more only adds memory (each parses a whole tool list)
 * and CPU contention on a small machine, not speed. */
#define PROXY_REFRESH_PARALLEL 4

/* Secrets of mcpzip's own that no upstream child may inherit. */
static const char *const drop_env[] = {"GEMINI_API_KEY", "MCPZIP_LLM_API_KEY", NULL};

struct slot {
    struct upstream *up;
    bool queued;     /* a refresh is waiting for a refresh thread */
    bool refreshing; /* a refresh of this server is running */
    bool again;      /* another was requested while it ran */
};

struct proxy {
    const struct config *cfg;
    struct catalog *cat;
    struct proc_spawner *spawner;
    struct stdio_hub *stdio;
    struct http_lib *http;
    struct oauth *oauth; /* OAuth for every remote server without headers */
    struct llmrank *llm;
    struct slot *slots; /* config order */
    size_t nslots;
    pthread_mutex_t
        mu; /* guards slots[].queued/refreshing/again, threads, next, stopping, started */
    pthread_cond_t cv;
    unsigned threads; /* refresh threads running, at most PROXY_REFRESH_PARALLEL */
    size_t next;      /* where refresh threads look for queued work first */
    bool started;
    bool stopping;
    pthread_t housekeeper;
    bool housekeeper_running;
    pthread_mutex_t cmu;        /* guards the client fields, watches and resources below */
    struct proxy_client client; /* .request == NULL when none */
    cJSON *client_caps;
    struct watch *watches;
    unsigned nwatches;
    struct resource *resources;
    unsigned nresources;
    unsigned relays; /* relay threads running, the notifier included (guarded by mu) */
    struct note *notes, *notes_tail; /* notifications for the client, oldest first (mu) */
    unsigned nnotes;
    uint64_t note_seq, note_done; /* notes queued and notes passed on (or dropped), ever (mu) */
    bool notifier;                /* the notifier thread runs (mu) */
    pthread_cond_t note_cv;       /* a note was queued, or stopping */
    pthread_cond_t sent_cv;       /* a note was passed on, or the notifier ended */
};

/* A notification from an upstream, waiting for the notifier thread to pass it to the client. */
struct note {
    char *method;
    cJSON *params;
    struct note *next;
};

#define PROXY_NOTES_MAX 1024

/* A progress token of ours mapped to the client's. */
struct watch {
    char *token;
    cJSON *client_token;
    struct watch *next;
};

/* Which server a resource URI came from. */
struct resource {
    char *uri;
    char *server;
    struct resource *next;
};

/* A server-to-client request being relayed on its own thread. */
struct relay {
    struct proxy *px;
    struct upstream *up;
    cJSON *id;
    char *method;
    cJSON *params;
};

const struct config *proxy_config(struct proxy *px)
{
    return px->cfg;
}

struct llmrank *proxy_llm(struct proxy *px)
{
    return px->llm;
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
    struct catalog_diff mine = {0};
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
    catalog_update(px->cat, name, tools, &mine);
    if (mine.nadded > 0 || mine.nremoved > 0) {
        struct proxy_client c;

        pthread_mutex_lock(&px->cmu);
        c = px->client;
        pthread_mutex_unlock(&px->cmu);
        if (c.catalog_changed != NULL)
            c.catalog_changed(c.ud);
    }
    if (diff != NULL)
        *diff = mine;
    else
        catalog_diff_clear(&mine);
    return 0;
}

/* The next queued refresh, round robin from where the last one was taken (mu held). */
static bool take_refresh(struct proxy *px, size_t *out)
{
    for (size_t k = 0; k < px->nslots; k++) {
        size_t i = (px->next + k) % px->nslots;

        if (px->slots[i].queued && !px->slots[i].refreshing) {
            px->next = i + 1;
            *out = i;
            return true;
        }
    }
    return false;
}

/*
 * A refresh thread: takes queued refreshes until none is left, then ends. At most
 * PROXY_REFRESH_PARALLEL run, so a startup refresh of fifty servers costs four threads (each
 * thread's stack stays resident), and at most four tool lists are being parsed at once.
 */
static void *refresh_main(void *arg)
{
    struct proxy *px = arg;
    char *why = NULL;
    size_t i;

    pthread_mutex_lock(&px->mu);
    while (!px->stopping && take_refresh(px, &i)) {
        struct slot *s = &px->slots[i];

        s->queued = false;
        s->refreshing = true;
        pthread_mutex_unlock(&px->mu);
        (void)proxy_refresh(px, upstream_name(s->up), NULL, &why);
        free(why);
        why = NULL;
        pthread_mutex_lock(&px->mu);
        s->refreshing = false;
        if (s->again) {
            s->again = false;
            s->queued = true;
        }
    }
    px->threads--;
    pthread_cond_broadcast(&px->cv);
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

/* Queues a refresh of slot i, or asks for another when one runs, and starts a refresh thread
 * if fewer than PROXY_REFRESH_PARALLEL run (mu held). */
static void spawn_refresh(struct proxy *px, size_t i)
{
    struct slot *s = &px->slots[i];
    pthread_attr_t attr;
    pthread_t th;

    if (px->stopping || upstream_config(s->up)->disabled)
        return;
    if (s->refreshing) {
        s->again = true;
        return;
    }
    s->queued = true;
    if (px->threads >= PROXY_REFRESH_PARALLEL)
        return; /* a running refresh thread takes it */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&th, &attr, refresh_main, px) == 0) {
        px->threads++;
    } else if (px->threads == 0) {
        LOG_ERROR("cannot start a refresh thread: %s", strerror(errno));
        s->queued = false;
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
    unsigned ticks = 0;
    char *why = NULL;

    pthread_mutex_lock(&px->mu);
    while (!px->stopping) {
        struct timespec ts = upstream_wall_after(1000);

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
        /* Refreshes free whole catalogs at once; hand that memory back to the system. */
        if (++ticks % 10 == 0)
            malloc_trim(0);
        pthread_mutex_lock(&px->mu);
    }
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

void proxy_set_client(struct proxy *px, const struct proxy_client *client)
{
    pthread_mutex_lock(&px->cmu);
    px->client = *client;
    pthread_mutex_unlock(&px->cmu);
}

void proxy_set_client_caps(struct proxy *px, const cJSON *caps)
{
    pthread_mutex_lock(&px->cmu);
    cJSON_Delete(px->client_caps);
    px->client_caps = json_dup(caps);
    pthread_mutex_unlock(&px->cmu);
}

bool proxy_client_can(struct proxy *px, const char *name)
{
    bool can;

    pthread_mutex_lock(&px->cmu);
    can = px->client.request != NULL && json_get_obj(px->client_caps, name) != NULL;
    pthread_mutex_unlock(&px->cmu);
    return can;
}

void proxy_notify_client(struct proxy *px, const char *method, cJSON *params)
{
    struct proxy_client c;

    pthread_mutex_lock(&px->cmu);
    c = px->client;
    pthread_mutex_unlock(&px->cmu);
    if (c.notify != NULL)
        c.notify(c.ud, method, params);
    else
        cJSON_Delete(params);
}

/* The capabilities upstreams declare: the relayable ones the client declared. */
static cJSON *client_caps_hook(void *ud)
{
    static const char *const relayable[] = {"sampling", "elicitation", "roots"};
    struct proxy *px = ud;
    cJSON *caps = cJSON_CreateObject();

    pthread_mutex_lock(&px->cmu);
    for (size_t i = 0; i < sizeof(relayable) / sizeof(relayable[0]); i++) {
        const cJSON *c = json_get_obj(px->client_caps, relayable[i]);

        if (c != NULL && px->client.request != NULL)
            cJSON_AddItemToObject(caps, relayable[i], json_dup(c));
    }
    pthread_mutex_unlock(&px->cmu);
    return caps;
}

void proxy_progress_watch(struct proxy *px, const char *token, const cJSON *client_token)
{
    struct watch *w;

    pthread_mutex_lock(&px->cmu);
    if (px->nwatches < PROXY_MAX_WATCHES) {
        w = xcalloc(1, sizeof(*w));
        w->token = xstrdup(token);
        w->client_token = json_dup(client_token);
        w->next = px->watches;
        px->watches = w;
        px->nwatches++;
    }
    pthread_mutex_unlock(&px->cmu);
}

void proxy_progress_unwatch(struct proxy *px, const char *token)
{
    struct watch **pw, *w;

    pthread_mutex_lock(&px->cmu);
    for (pw = &px->watches; (w = *pw) != NULL; pw = &w->next)
        if (strcmp(w->token, token) == 0) {
            *pw = w->next;
            px->nwatches--;
            free(w->token);
            cJSON_Delete(w->client_token);
            free(w);
            break;
        }
    pthread_mutex_unlock(&px->cmu);
}

void proxy_learn_resource(struct proxy *px, const char *uri, const char *server)
{
    struct resource *r;

    pthread_mutex_lock(&px->cmu);
    for (r = px->resources; r != NULL; r = r->next)
        if (strcmp(r->uri, uri) == 0)
            break;
    if (r != NULL) {
        free(r->server);
        r->server = xstrdup(server);
    } else if (px->nresources < PROXY_MAX_RESOURCES) {
        r = xcalloc(1, sizeof(*r));
        r->uri = xstrdup(uri);
        r->server = xstrdup(server);
        r->next = px->resources;
        px->resources = r;
        px->nresources++;
    }
    pthread_mutex_unlock(&px->cmu);
}

char *proxy_resource_owner(struct proxy *px, const char *uri)
{
    struct resource *r, *best = NULL;
    size_t best_len = 0;
    char *owner = NULL;

    pthread_mutex_lock(&px->cmu);
    for (r = px->resources; r != NULL; r = r->next) {
        const char *brace = strchr(r->uri, '{');

        if (strcmp(r->uri, uri) == 0) {
            best = r;
            break;
        }
        /* A template (RFC 6570) owns the URIs that start with its literal prefix. */
        if (brace != NULL && (size_t)(brace - r->uri) > best_len &&
            strncmp(r->uri, uri, (size_t)(brace - r->uri)) == 0) {
            best = r;
            best_len = (size_t)(brace - r->uri);
        }
    }
    if (best != NULL)
        owner = xstrdup(best->server);
    pthread_mutex_unlock(&px->cmu);
    return owner;
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    struct proxy *px = r->px;
    struct proxy_client c;
    cJSON *result = NULL;
    char *why = NULL;
    int rc;

    pthread_mutex_lock(&px->cmu);
    c = px->client;
    pthread_mutex_unlock(&px->cmu);
    rc = c.request(c.ud, r->method, r->params, PROXY_RELAY_TIMEOUT_MS, &result, &why);
    r->params = NULL;
    if (rc == 0) {
        upstream_reply(r->up, r->id, result, 0, NULL);
    } else if (rc == ERR_RPC) {
        double code = JSONRPC_INTERNAL_ERROR;
        const char *m = json_get_str(result, "message");

        json_get_num(result, "code", &code);
        upstream_reply(r->up, r->id, NULL, (int)code, m != NULL ? m : "the client refused");
        cJSON_Delete(result);
    } else {
        char *m = xasprintf("mcpzip could not get an answer from its client: %s", why);

        upstream_reply(r->up, r->id, NULL, JSONRPC_INTERNAL_ERROR, m);
        free(m);
    }
    free(why);
    cJSON_Delete(r->id);
    free(r->method);
    free(r);
    pthread_mutex_lock(&px->mu);
    px->relays--;
    pthread_cond_broadcast(&px->cv);
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

/* A request from an upstream: relay what the client can answer, on a thread of its own. */
static bool request_hook(void *ud, struct upstream *up, const struct jsonrpc_msg *msg)
{
    static const struct {
        const char *method;
        const char *capability;
    } relayable[] = {
        {"sampling/createMessage", "sampling"},
        {"elicitation/create", "elicitation"},
        {"roots/list", "roots"},
    };
    struct proxy *px = ud;
    struct relay *r;
    pthread_attr_t attr;
    pthread_t th;
    size_t i;

    for (i = 0; i < sizeof(relayable) / sizeof(relayable[0]); i++)
        if (strcmp(msg->method, relayable[i].method) == 0)
            break;
    if (i == sizeof(relayable) / sizeof(relayable[0]))
        return false;
    if (!proxy_client_can(px, relayable[i].capability)) {
        char *m = xasprintf("the client connected to mcpzip does not support %s",
                            relayable[i].capability);

        upstream_reply(up, msg->id, NULL, JSONRPC_METHOD_NOT_FOUND, m);
        free(m);
        return true;
    }
    r = xcalloc(1, sizeof(*r));
    r->px = px;
    r->up = up;
    r->id = json_dup(msg->id);
    r->method = xstrdup(msg->method);
    r->params = json_dup(msg->params);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&px->mu);
    px->relays++;
    pthread_mutex_unlock(&px->mu);
    if (pthread_create(&th, &attr, relay_main, r) != 0) {
        pthread_mutex_lock(&px->mu);
        px->relays--;
        pthread_mutex_unlock(&px->mu);
        upstream_reply(up, msg->id, NULL, JSONRPC_INTERNAL_ERROR, "mcpzip cannot relay now");
        cJSON_Delete(r->id);
        cJSON_Delete(r->params);
        free(r->method);
        free(r);
    }
    pthread_attr_destroy(&attr);
    return true;
}

/*
 * The notifier: passes queued notifications to the client, in order. Upstream callbacks run on
 * threads that must not block (the stdio hub reads every child), and writing to a client that
 * reads slowly can: so they queue, and this one thread waits on the client instead.
 */
static void *notifier_main(void *arg)
{
    struct proxy *px = arg;

    pthread_mutex_lock(&px->mu);
    for (;;) {
        struct note *n;

        while (px->notes == NULL && !px->stopping)
            pthread_cond_wait(&px->note_cv, &px->mu);
        n = px->notes;
        if (n == NULL)
            break; /* stopping, and nothing left to say */
        px->notes = n->next;
        if (px->notes == NULL)
            px->notes_tail = NULL;
        px->nnotes--;
        pthread_mutex_unlock(&px->mu);
        proxy_notify_client(px, n->method, n->params);
        free(n->method);
        free(n);
        pthread_mutex_lock(&px->mu);
        px->note_done++;
        pthread_cond_broadcast(&px->sent_cv);
    }
    px->notifier = false;
    px->relays--;
    pthread_cond_broadcast(&px->sent_cv);
    pthread_cond_broadcast(&px->cv);
    pthread_mutex_unlock(&px->mu);
    return NULL;
}

/* Queues a notification for the client (params consumed), starting the notifier on first use.
 * Past PROXY_NOTES_MAX waiting (a client that stopped reading) new ones are dropped. */
static void queue_note(struct proxy *px, const char *method, cJSON *params)
{
    struct note *n = NULL;
    pthread_attr_t attr;
    pthread_t th;
    int err = 0;

    pthread_mutex_lock(&px->mu);
    if (!px->stopping && px->nnotes < PROXY_NOTES_MAX && !px->notifier) {
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&th, &attr, notifier_main, px);
        pthread_attr_destroy(&attr);
        if (err == 0) {
            px->notifier = true;
            px->relays++;
        }
    }
    if (px->notifier && !px->stopping && px->nnotes < PROXY_NOTES_MAX) {
        n = xcalloc(1, sizeof(*n));
        n->method = xstrdup(method);
        n->params = params;
        if (px->notes_tail != NULL)
            px->notes_tail->next = n;
        else
            px->notes = n;
        px->notes_tail = n;
        px->nnotes++;
        px->note_seq++;
        pthread_cond_signal(&px->note_cv);
    }
    pthread_mutex_unlock(&px->mu);
    if (n == NULL) {
        if (err != 0)
            LOG_WARN("cannot start the thread that relays notifications: %s", strerror(err));
        else
            LOG_DEBUG("dropped %s: the client is not reading", method);
        cJSON_Delete(params);
    }
}

void proxy_sync_notes(struct proxy *px)
{
    pthread_mutex_lock(&px->mu);
    for (uint64_t target = px->note_seq; px->note_done < target && px->notifier;)
        pthread_cond_wait(&px->sent_cv, &px->mu);
    pthread_mutex_unlock(&px->mu);
}

/* Notifications from an upstream that the client should hear. */
static void notification_hook(void *ud, struct upstream *up, const struct jsonrpc_msg *msg)
{
    struct proxy *px = ud;
    const char *name = upstream_name(up);

    if (strcmp(msg->method, "notifications/progress") == 0) {
        const cJSON *tok = json_get(msg->params, "progressToken");
        cJSON *params = NULL;
        struct watch *w;

        if (!cJSON_IsString(tok))
            return;
        pthread_mutex_lock(&px->cmu);
        for (w = px->watches; w != NULL; w = w->next)
            if (strcmp(w->token, tok->valuestring) == 0) {
                params = json_dup(msg->params);
                json_set_take(params, "progressToken", json_dup(w->client_token));
                break;
            }
        pthread_mutex_unlock(&px->cmu);
        if (params != NULL)
            queue_note(px, "notifications/progress", params);
    } else if (strcmp(msg->method, "notifications/message") == 0) {
        cJSON *params = json_dup(msg->params);

        if (!cJSON_IsObject(params)) {
            cJSON_Delete(params);
            return;
        }
        /* The client sees which server spoke. */
        json_set_take(params, "logger", cJSON_CreateString(name));
        queue_note(px, "notifications/message", params);
    } else if (strcmp(msg->method, "notifications/resources/updated") == 0) {
        queue_note(px, msg->method, json_dup(msg->params));
    } else if (strcmp(msg->method, "notifications/resources/list_changed") == 0 ||
               strcmp(msg->method, "notifications/prompts/list_changed") == 0) {
        queue_note(px, msg->method, NULL);
    }
}

struct proxy *proxy_new(const struct config *cfg)
{
    struct proxy *px = xcalloc(1, sizeof(*px));
    struct upstream_opts opts = {0};
    struct upstream_hooks hooks = {.tools_changed = on_tools_changed,
                                   .connected = on_connected,
                                   .client_caps = client_caps_hook,
                                   .request = request_hook,
                                   .notification = notification_hook,
                                   .ud = px};
    char *cache = catalog_cache_path(cfg->path);

    px->cfg = cfg;
    pthread_mutex_init(&px->mu, NULL);
    pthread_mutex_init(&px->cmu, NULL);
    pthread_cond_init(&px->cv, NULL);
    pthread_cond_init(&px->note_cv, NULL);
    pthread_cond_init(&px->sent_cv, NULL);
    px->spawner = proc_spawner_new();
    px->stdio = transport_stdio_hub_new();
    px->cat = catalog_new(cfg, cache);
    catalog_load_async(px->cat);
    free(cache);
    px->http = http_lib_new("mcpzip/" MCPZIP_VERSION);
    px->llm = llmrank_new(cfg, px->http);
    px->oauth = oauth_new(px->http, NULL);
    opts.spawner = px->spawner;
    opts.stdio = px->stdio;
    opts.http = px->http;
    opts.oauth = px->oauth;
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
    bool first;

    /* Every tools/call comes through here: only the first does anything. */
    pthread_mutex_lock(&px->mu);
    first = !px->started;
    px->started = true;
    pthread_mutex_unlock(&px->mu);
    if (!first)
        return;
    /* Serving: a server that needs a sign-in may open the browser (see oauth.h), also for the
     * refreshes started next. */
    oauth_set_interactive(px->oauth, true);
    pthread_mutex_lock(&px->mu);
    for (size_t i = 0; i < px->nslots; i++)
        spawn_refresh(px, i);
    pthread_mutex_unlock(&px->mu);
}

static void *disconnect_main(void *arg)
{
    upstream_disconnect(arg, "mcpzip is shutting down");
    return NULL;
}

/* Ends every upstream at once: each waits a moment for its child to exit, and fifty of them
 * one after another would hold up the exit for seconds. */
static void disconnect_all(struct proxy *px)
{
    pthread_t *th = xcalloc(px->nslots + 1, sizeof(*th));
    bool *started = xcalloc(px->nslots + 1, sizeof(*started));

    for (size_t i = 0; i < px->nslots; i++)
        started[i] = pthread_create(&th[i], NULL, disconnect_main, px->slots[i].up) == 0;
    for (size_t i = 0; i < px->nslots; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            upstream_disconnect(px->slots[i].up, "mcpzip is shutting down");
    }
    free(th);
    free(started);
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
    pthread_cond_broadcast(&px->note_cv);
    pthread_mutex_unlock(&px->mu);
    oauth_stop(px->oauth);
    if (px->housekeeper_running)
        pthread_join(px->housekeeper, NULL);
    px->housekeeper_running = false;
    disconnect_all(px);
    /* Refresh threads now fail fast; give them a moment to record what they have. */
    ts = upstream_wall_after(PROXY_SHUTDOWN_WAIT_MS);
    pthread_mutex_lock(&px->mu);
    while (px->threads > 0 || px->relays > 0)
        if (pthread_cond_timedwait(&px->cv, &px->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&px->mu);
    if (catalog_save(px->cat, &why) != 0) {
        LOG_WARN("could not save the catalog cache: %s", why);
        free(why);
    }
}

bool proxy_free(struct proxy *px)
{
    if (px == NULL)
        return true;
    proxy_shutdown(px);
    pthread_mutex_lock(&px->mu);
    if (px->threads > 0 || px->relays > 0) {
        /* A refresh thread is stuck past the grace period; the process is exiting anyway,
         * and freeing what it uses would be worse than leaking it. */
        pthread_mutex_unlock(&px->mu);
        LOG_DEBUG("leaving %u refresh threads to process exit", px->threads);
        return false;
    }
    pthread_mutex_unlock(&px->mu);
    for (size_t i = 0; i < px->nslots; i++)
        upstream_free(px->slots[i].up);
    free(px->slots);
    transport_stdio_hub_free(px->stdio);
    catalog_free(px->cat);
    proc_spawner_free(px->spawner);
    llmrank_free(px->llm);
    oauth_free(px->oauth);
    http_lib_free(px->http);
    while (px->watches != NULL) {
        struct watch *w = px->watches;

        px->watches = w->next;
        free(w->token);
        cJSON_Delete(w->client_token);
        free(w);
    }
    while (px->resources != NULL) {
        struct resource *r = px->resources;

        px->resources = r->next;
        free(r->uri);
        free(r->server);
        free(r);
    }
    cJSON_Delete(px->client_caps);
    while (px->notes != NULL) {
        struct note *n = px->notes;

        px->notes = n->next;
        free(n->method);
        cJSON_Delete(n->params);
        free(n);
    }
    pthread_mutex_destroy(&px->cmu);
    pthread_cond_destroy(&px->note_cv);
    pthread_cond_destroy(&px->sent_cv);
    pthread_cond_destroy(&px->cv);
    pthread_mutex_destroy(&px->mu);
    free(px);
    return true;
}
