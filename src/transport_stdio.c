/*
 * transport_stdio.c - child-process transport; see transport_stdio.h.
 */
#include "transport_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "jsonrpc.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define STDIO_TAIL_LINES 6
#define STDIO_TAIL_LEN 300
#define STDIO_ERR_LINE_MAX (64u * 1024u)
#define STDIO_READ_CHUNK 4096
#define STDIO_TERM_GRACE_MS 1500
#define STDIO_WRITE_STALL_MS 30000
#define STDIO_DRAIN_MS 2000 /* how long a dead child's stderr is read for its last words */

/*
 * DESIGN (the hub). One thread reads the stdout and stderr of every child: a thread per
 * server would keep a stack and a read buffer resident for each of them, for as long as the
 * server runs (fifty servers: fifty threads). The hub polls a set built from the attached
 * transports and rebuilds it whenever one attaches or detaches (gen changes under mu). It
 * dispatches a ready descriptor only while gen is the one its set was built at, so a transport
 * detached meanwhile is never touched; while it runs a transport's callbacks, busy names that
 * transport, and close() waits until it is done with it. When a child's stdout ends, the hub
 * detaches the transport and hands it to a short-lived closer thread, which drains the last
 * stderr, reaps the child and reports the loss: the slow part of a crash never holds up the
 * other servers. Callbacks on the hub must not block (transport.h); a reply the session sends
 * from inside one (a ping answered) gives up rather than wait for a child that is not reading.
 */
struct stdio_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* busy changed */
    struct stdio_transport **list;
    size_t n, cap;
    unsigned gen;                 /* grows with every attach and detach */
    struct stdio_transport *busy; /* whose callbacks run on the hub now, or NULL */
    int wake[2];                  /* a byte here makes the hub rebuild its set */
    pthread_t thread;
    bool running, stopping;
};

struct stdio_transport {
    struct transport base;
    const struct config_server *srv;
    struct proc_spawner *sp;
    struct stdio_hub *hub;
    const char *const *drop;
    size_t max_line;
    struct proc_child child;
    int wake[2]; /* close() writes here to wake a writer stuck on a full pipe */
    struct jsonrpc_framer *out, *err;
    bool err_open;       /* stderr still read (hub or closer thread) */
    bool attached;       /* in the hub's list (hub->mu) */
    pthread_t closer;    /* drains, reaps and reports after stdout ended */
    bool closer_running; /* (hub->mu) */
    pthread_mutex_t wmu; /* serializes writes to the child's stdin */
    pthread_mutex_t mu;  /* guards the fields below */
    bool closing;
    bool reaped; /* by the closer: its pid is no longer ours to signal */
    char tail[STDIO_TAIL_LINES][STDIO_TAIL_LEN]; /* last stderr lines, ring */
    unsigned tail_next;
};

static void on_out_line(void *ud, const char *line, size_t len, bool too_big)
{
    struct stdio_transport *st = ud;

    if (too_big) {
        LOG_WARN("[%s] dropped a stdout line longer than %zu bytes", st->srv->name, st->max_line);
        return;
    }
    if (line[0] != '{') {
        /* Servers that print banners or debug text on stdout still work. */
        LOG_WARN("[%s] skipped non-JSON output on stdout: %.200s", st->srv->name, line);
        return;
    }
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] <- %.*s", st->srv->name, (int)(len > 2000 ? 2000 : len), line);
    st->base.on_msg(st->base.ud, &st->base, line, len);
}

static void on_err_line(void *ud, const char *line, size_t len, bool too_big)
{
    struct stdio_transport *st = ud;

    if (too_big)
        return;
    LOG_INFO("[%s] %.*s", st->srv->name, (int)(len > 2000 ? 2000 : len), line);
    pthread_mutex_lock(&st->mu);
    snprintf(st->tail[st->tail_next % STDIO_TAIL_LINES], STDIO_TAIL_LEN, "%.*s",
             (int)(len > STDIO_TAIL_LEN ? STDIO_TAIL_LEN : len), line);
    st->tail_next++;
    pthread_mutex_unlock(&st->mu);
}

/* After the child's stdout ended: drain its last stderr words, learn its exit status and
 * report the loss once. The transport is detached from the hub, so this thread owns the
 * framers now. */
static void *closer_main(void *arg)
{
    struct stdio_transport *st = arg;
    char *buf = xmalloc(STDIO_READ_CHUNK), why[160], status[96];
    int64_t until = upstream_now_ms() + STDIO_DRAIN_MS;
    ssize_t n;
    int wst;
    bool closing;

    /* The child's last words, until its stderr ends, but not for ever: a process it left
     * behind may hold stderr open. */
    while (st->err_open && upstream_now_ms() < until) {
        struct pollfd pfd = {.fd = st->child.err_fd, .events = POLLIN};

        if (poll(&pfd, 1, (int)(until - upstream_now_ms())) <= 0)
            continue;
        n = read(st->child.err_fd, buf, STDIO_READ_CHUNK);
        if (n > 0)
            jsonrpc_framer_feed(st->err, buf, (size_t)n, on_err_line, st);
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            break;
    }
    free(buf);
    wst = proc_reap(st->child.pid, 300);
    /* Its group now, not whenever the transport is closed (see proc_kill_group()). */
    if (wst != -1)
        proc_kill_group(st->child.pid);
    pthread_mutex_lock(&st->mu);
    st->reaped = wst != -1;
    closing = st->closing;
    pthread_mutex_unlock(&st->mu);
    if (wst != -1) {
        proc_status_text(wst, status, sizeof(status));
        snprintf(why, sizeof(why), "the server process %s", status);
    } else {
        snprintf(why, sizeof(why), "the server closed its stdout");
    }
    if (!closing)
        st->base.on_closed(st->base.ud, &st->base, why);
    return NULL;
}

/* Removes st from the hub's set (hub->mu held). */
static void hub_detach_locked(struct stdio_hub *hub, struct stdio_transport *st)
{
    for (size_t i = 0; i < hub->n; i++)
        if (hub->list[i] == st) {
            hub->list[i] = hub->list[--hub->n];
            break;
        }
    st->attached = false;
    hub->gen++;
    (void)!write(hub->wake[1], "x", 1);
}

/* Reads what one ready descriptor of st has (hub thread, st busy). Returns false when the
 * child's stdout ended. */
static bool hub_read(struct stdio_transport *st, bool is_err, char *buf)
{
    int fd = is_err ? st->child.err_fd : st->child.out_fd;
    ssize_t n = read(fd, buf, STDIO_READ_CHUNK);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (is_err) {
        if (n > 0)
            jsonrpc_framer_feed(st->err, buf, (size_t)n, on_err_line, st);
        else
            st->err_open = false;
        return true;
    }
    if (n > 0)
        jsonrpc_framer_feed(st->out, buf, (size_t)n, on_out_line, st);
    return n > 0;
}

static void *hub_main(void *arg)
{
    struct stdio_hub *hub = arg;
    size_t npfd = 0, cap = 16, i;
    struct pollfd *pfd = xmalloc(cap * sizeof(*pfd));
    struct stdio_transport **owner = xmalloc(cap * sizeof(*owner));
    char *buf = xmalloc(STDIO_READ_CHUNK), drain[64];
    unsigned built = 0;

    pthread_mutex_lock(&hub->mu);
    while (!hub->stopping) {
        if (built != hub->gen) { /* attaching the first transport made gen at least 1 */
            if (cap < 1 + 2 * hub->n) {
                cap = 1 + 2 * hub->n;
                pfd = xrealloc(pfd, cap * sizeof(*pfd));
                owner = xrealloc(owner, cap * sizeof(*owner));
            }
            npfd = 0;
            pfd[npfd] = (struct pollfd){.fd = hub->wake[0], .events = POLLIN};
            owner[npfd++] = NULL;
            for (i = 0; i < hub->n; i++) {
                struct stdio_transport *st = hub->list[i];

                pfd[npfd] = (struct pollfd){.fd = st->child.out_fd, .events = POLLIN};
                owner[npfd++] = st;
                if (st->err_open) {
                    pfd[npfd] = (struct pollfd){.fd = st->child.err_fd, .events = POLLIN};
                    owner[npfd++] = st;
                }
            }
            built = hub->gen;
        }
        pthread_mutex_unlock(&hub->mu);
        if (poll(pfd, npfd, -1) < 0) {
            for (i = 0; i < npfd; i++)
                pfd[i].revents = 0;
            if (errno != EINTR) {
                LOG_ERROR("the stdio reader cannot poll: %s", strerror(errno));
                sleep(1);
            }
        }
        if (pfd[0].revents != 0)
            while (read(hub->wake[0], drain, sizeof(drain)) > 0)
                ;
        pthread_mutex_lock(&hub->mu);
        for (i = 1; i < npfd && built == hub->gen && !hub->stopping; i++) {
            struct stdio_transport *st = owner[i];
            bool is_err = pfd[i].fd == st->child.err_fd, more;

            if (pfd[i].revents == 0)
                continue;
            hub->busy = st;
            pthread_mutex_unlock(&hub->mu);
            more = hub_read(st, is_err, buf);
            pthread_mutex_lock(&hub->mu);
            /* Still ours while busy: close() waits for it before the transport can go. */
            if (st->attached && is_err && !st->err_open) {
                hub->gen++; /* stop polling a closed stderr */
            } else if (st->attached && !more) {
                int err;

                hub_detach_locked(hub, st);
                err = pthread_create(&st->closer, NULL, closer_main, st);
                if (err == 0) {
                    st->closer_running = true;
                } else {
                    /* Never leave the loss unreported: do it here, holding up the others. */
                    LOG_ERROR("[%s] cannot start a thread to reap the server (%s); reaping it "
                              "on the reader",
                              st->srv->name, strerror(err));
                    pthread_mutex_unlock(&hub->mu);
                    closer_main(st);
                    pthread_mutex_lock(&hub->mu);
                }
            }
            hub->busy = NULL;
            pthread_cond_broadcast(&hub->cv);
        }
    }
    pthread_mutex_unlock(&hub->mu);
    free(pfd);
    free(owner);
    free(buf);
    return NULL;
}

struct stdio_hub *transport_stdio_hub_new(void)
{
    struct stdio_hub *hub = xcalloc(1, sizeof(*hub));

    pthread_mutex_init(&hub->mu, NULL);
    pthread_cond_init(&hub->cv, NULL);
    hub->wake[0] = hub->wake[1] = -1;
    return hub;
}

void transport_stdio_hub_free(struct stdio_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_lock(&hub->mu);
    hub->stopping = true;
    if (hub->wake[1] >= 0)
        (void)!write(hub->wake[1], "x", 1);
    pthread_mutex_unlock(&hub->mu);
    if (hub->running)
        pthread_join(hub->thread, NULL);
    if (hub->wake[0] >= 0)
        close(hub->wake[0]);
    if (hub->wake[1] >= 0)
        close(hub->wake[1]);
    free(hub->list);
    pthread_cond_destroy(&hub->cv);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

/* Adds st to the hub's set, starting the hub thread on first use. */
static int hub_attach(struct stdio_hub *hub, struct stdio_transport *st, char **why)
{
    int rc = 0;

    pthread_mutex_lock(&hub->mu);
    if (!hub->running) {
        int err = pipe2(hub->wake, O_CLOEXEC | O_NONBLOCK) != 0 ? errno : 0;

        if (err == 0)
            err = pthread_create(&hub->thread, NULL, hub_main, hub);
        if (err != 0) {
            *why = xasprintf("cannot start the stdio reader: %s", strerror(err));
            for (int i = 0; i < 2; i++)
                if (hub->wake[i] >= 0)
                    close(hub->wake[i]);
            hub->wake[0] = hub->wake[1] = -1;
            rc = ERR_IO;
            goto out;
        }
        hub->running = true;
    }
    if (hub->n == hub->cap) {
        hub->cap = hub->cap ? hub->cap * 2 : 16;
        hub->list = xrealloc(hub->list, hub->cap * sizeof(*hub->list));
    }
    hub->list[hub->n++] = st;
    st->attached = true;
    hub->gen++;
    (void)!write(hub->wake[1], "x", 1);
out:
    pthread_mutex_unlock(&hub->mu);
    return rc;
}

/* True on the hub thread, where nothing may wait for a child. */
static bool on_hub(const struct stdio_transport *st)
{
    return st->hub->running && pthread_equal(pthread_self(), st->hub->thread);
}

static int stdio_start(struct transport *t, char **why)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    int rc;

    rc = proc_spawn(st->sp, st->srv->argv, st->srv->env, st->srv->nenv, st->srv->cwd, st->drop,
                    &st->child, why);
    if (rc != 0)
        return rc;
    LOG_INFO("[%s] started %s (pid %d)", st->srv->name, st->srv->command, (int)st->child.pid);
    fcntl(st->child.in_fd, F_SETFL, O_NONBLOCK);
    fcntl(st->child.out_fd, F_SETFL, O_NONBLOCK);
    fcntl(st->child.err_fd, F_SETFL, O_NONBLOCK);
    st->out = jsonrpc_framer_new(st->max_line);
    st->err = jsonrpc_framer_new(STDIO_ERR_LINE_MAX);
    st->err_open = true;
    if (pipe2(st->wake, O_CLOEXEC) != 0) {
        *why = xasprintf("cannot create a pipe: %s", strerror(errno));
        rc = ERR_IO;
    } else {
        rc = hub_attach(st->hub, st, why);
    }
    if (rc != 0) {
        proc_terminate(st->child.pid, 0);
        st->child.pid = 0;
    }
    return rc;
}

static int stdio_send(struct transport *t, const char *msg, size_t len, int64_t deadline_ms,
                      struct cancel *cancel, char **why)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    struct iovec {
        const char *p;
        size_t n;
    } parts[2] = {{msg, len}, {"\n", 1}};
    /* A reply sent from a callback on the hub (a ping answered) must not make every other
     * server wait for this one: it goes now or not at all. */
    bool hub = on_hub(st), partial = false;
    int64_t give_up = upstream_now_ms() + STDIO_WRITE_STALL_MS;
    int rc = 0;

    /* A pipe write completes at once unless the server stops reading: then the wait ends at
     * the deadline, or after STDIO_WRITE_STALL_MS at the latest. */
    (void)cancel;
    if (deadline_ms < give_up)
        give_up = deadline_ms;
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] -> %.*s", st->srv->name, (int)(len > 2000 ? 2000 : len), msg);
    if (hub ? pthread_mutex_trylock(&st->wmu) != 0 : pthread_mutex_lock(&st->wmu) != 0) {
        *why = xasprintf("the server's input is busy with another message");
        return ERR_CLOSED;
    }
    if (st->child.in_fd < 0) {
        pthread_mutex_unlock(&st->wmu);
        *why = xasprintf("the server's input is closed");
        return ERR_CLOSED;
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        const char *p = parts[i].p;
        size_t left = parts[i].n;

        while (left > 0) {
            ssize_t n = write(st->child.in_fd, p, left);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN) {
                /* The server is not reading its stdin. Wait, but wake up for close(). */
                struct pollfd pfd[2] = {{.fd = st->child.in_fd, .events = POLLOUT},
                                        {.fd = st->wake[0], .events = POLLIN}};
                int64_t wait = hub ? 0 : give_up - upstream_now_ms();

                if (wait > 0 && poll(pfd, 2, (int)wait) > 0 && pfd[1].revents == 0)
                    continue;
                *why = xasprintf("the server has not read its input (%s)",
                                 hub ? "not waiting for it" : "gave up waiting");
                rc = ERR_CLOSED;
                break;
            }
            if (n < 0) {
                *why = xasprintf("cannot write to the server: %s", strerror(errno));
                rc = ERR_CLOSED;
                break;
            }
            partial = true;
            p += n;
            left -= (size_t)n;
        }
    }
    if (rc != 0 && partial) {
        /* Half a message is in the pipe: whatever came next would be read as garbage, so this
         * session cannot go on. End the server (it restarts on the next use); its stdout ends
         * and the loss is reported like a crash. */
        LOG_WARN("[%s] ending the server: a message to it was cut short (%s)", st->srv->name, *why);
        close(st->child.in_fd);
        st->child.in_fd = -1;
        pthread_mutex_lock(&st->mu);
        if (!st->reaped && st->child.pid > 0)
            kill(-st->child.pid, SIGKILL);
        pthread_mutex_unlock(&st->mu);
    }
    pthread_mutex_unlock(&st->wmu);
    return rc;
}

static void stdio_close(struct transport *t)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    struct stdio_hub *hub = st->hub;
    bool closer, reaped;
    int status;

    pthread_mutex_lock(&st->mu);
    if (st->closing) {
        pthread_mutex_unlock(&st->mu);
        return;
    }
    st->closing = true;
    pthread_mutex_unlock(&st->mu);
    /* No callback may run once close returns: leave the hub's set, and wait for the hub if it
     * is inside one of ours right now. */
    pthread_mutex_lock(&hub->mu);
    if (st->attached)
        hub_detach_locked(hub, st);
    while (hub->busy == st && !on_hub(st))
        pthread_cond_wait(&hub->cv, &hub->mu);
    closer = st->closer_running;
    pthread_mutex_unlock(&hub->mu);
    /* Wake any writer stuck on a full pipe before taking the write lock. */
    if (st->wake[1] >= 0)
        (void)!write(st->wake[1], "x", 1);
    /* Closing stdin is the polite way to ask an MCP stdio server to exit. */
    pthread_mutex_lock(&st->wmu);
    if (st->child.in_fd >= 0)
        close(st->child.in_fd);
    st->child.in_fd = -1;
    pthread_mutex_unlock(&st->wmu);
    pthread_mutex_lock(&st->mu);
    reaped = st->reaped;
    pthread_mutex_unlock(&st->mu);
    if (st->child.pid > 0 && !reaped) {
        char how[96];

        status = proc_reap(st->child.pid, 300);
        if (status == -1)
            status = proc_terminate(st->child.pid, STDIO_TERM_GRACE_MS);
        else
            proc_kill_group(st->child.pid);
        proc_status_text(status, how, sizeof(how));
        LOG_DEBUG("[%s] stopped (pid %d): %s", st->srv->name, (int)st->child.pid, how);
    }
    if (closer) {
        pthread_join(st->closer, NULL);
        pthread_mutex_lock(&hub->mu);
        st->closer_running = false;
        pthread_mutex_unlock(&hub->mu);
    }
}

static void stdio_free(struct transport *t)
{
    struct stdio_transport *st = (struct stdio_transport *)t;

    if (st == NULL)
        return;
    stdio_close(t);
    if (st->child.out_fd >= 0)
        close(st->child.out_fd);
    if (st->child.err_fd >= 0)
        close(st->child.err_fd);
    if (st->wake[0] >= 0)
        close(st->wake[0]);
    if (st->wake[1] >= 0)
        close(st->wake[1]);
    jsonrpc_framer_free(st->out);
    jsonrpc_framer_free(st->err);
    pthread_mutex_destroy(&st->wmu);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static long stdio_pid(struct transport *t)
{
    return ((struct stdio_transport *)t)->child.pid;
}

static char *stdio_diag(struct transport *t)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    struct buf out = {0};
    unsigned i, first;

    pthread_mutex_lock(&st->mu);
    first = st->tail_next > STDIO_TAIL_LINES ? st->tail_next - STDIO_TAIL_LINES : 0;
    for (i = first; i < st->tail_next; i++) {
        if (i > first)
            buf_puts(&out, " | ");
        buf_puts(&out, st->tail[i % STDIO_TAIL_LINES]);
    }
    pthread_mutex_unlock(&st->mu);
    return out.s; /* NULL when there was no line */
}

static const struct transport_ops stdio_ops = {
    .name = "stdio",
    .start = stdio_start,
    .send = stdio_send,
    .close = stdio_close,
    .free = stdio_free,
    .pid = stdio_pid,
    .diag = stdio_diag,
};

struct transport *transport_stdio_new(const struct config_server *srv, struct proc_spawner *sp,
                                      struct stdio_hub *hub, const char *const *drop,
                                      size_t max_line)
{
    struct stdio_transport *st = xcalloc(1, sizeof(*st));

    st->base.ops = &stdio_ops;
    st->srv = srv;
    st->sp = sp;
    st->hub = hub;
    st->drop = drop;
    st->max_line = max_line;
    st->child.in_fd = st->child.out_fd = st->child.err_fd = -1;
    st->wake[0] = st->wake[1] = -1;
    pthread_mutex_init(&st->wmu, NULL);
    pthread_mutex_init(&st->mu, NULL);
    return &st->base;
}
