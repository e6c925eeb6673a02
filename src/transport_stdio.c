/*
 * transport_stdio.c - child-process transport; see transport_stdio.h.
 */
#include "transport_stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "jsonrpc.h"
#include "log.h"
#include "xmem.h"

#define STDIO_TAIL_LINES 6
#define STDIO_TAIL_LEN 300
#define STDIO_ERR_LINE_MAX (64u * 1024u)
#define STDIO_READ_CHUNK 4096
#define STDIO_TERM_GRACE_MS 1500
#define STDIO_WRITE_STALL_MS 30000

struct stdio_transport {
    struct transport base;
    const struct config_server *srv;
    struct proc_spawner *sp;
    const char *const *drop;
    size_t max_line;
    struct proc_child child;
    int wake[2]; /* close() writes here to stop the reader */
    pthread_t reader;
    bool reader_running;
    pthread_mutex_t wmu; /* serializes writes to the child's stdin */
    pthread_mutex_t mu;  /* guards the fields below */
    bool closing;
    int exit_status;                             /* from the reader's reap, -1 when unknown */
    char tail[STDIO_TAIL_LINES][STDIO_TAIL_LEN]; /* last stderr lines, ring */
    unsigned tail_next;
};

struct line_ctx {
    struct stdio_transport *st;
    bool is_err;
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

static void *reader_main(void *arg)
{
    struct stdio_transport *st = arg;
    struct jsonrpc_framer *out = jsonrpc_framer_new(st->max_line);
    struct jsonrpc_framer *err = jsonrpc_framer_new(STDIO_ERR_LINE_MAX);
    bool out_open = true, err_open = true, woken = false;
    /* Modest, and off the stack: every server has a reader thread, and each page its stack
     * touches stays resident for the connection's life; the framer joins reads into lines. */
    char *buf = xmalloc(STDIO_READ_CHUNK), why[160], status[96];
    const size_t bufsz = STDIO_READ_CHUNK;
    ssize_t n;

    while (out_open && !woken) {
        struct pollfd pfd[3] = {
            {.fd = st->child.out_fd, .events = POLLIN},
            {.fd = err_open ? st->child.err_fd : -1, .events = POLLIN},
            {.fd = st->wake[0], .events = POLLIN},
        };

        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[2].revents != 0) {
            woken = true;
            break;
        }
        if (pfd[1].revents != 0) {
            n = read(st->child.err_fd, buf, bufsz);
            if (n > 0)
                jsonrpc_framer_feed(err, buf, (size_t)n, on_err_line, st);
            else if (n == 0 || errno != EINTR)
                err_open = false;
        }
        if (pfd[0].revents != 0) {
            n = read(st->child.out_fd, buf, bufsz);
            if (n > 0)
                jsonrpc_framer_feed(out, buf, (size_t)n, on_out_line, st);
            else if (n == 0 || errno != EINTR)
                out_open = false;
        }
    }
    if (!woken) {
        /* The server closed stdout: it exited or crashed. Drain its last stderr words, learn
         * its exit status, and report the loss once. */
        while (err_open && (n = read(st->child.err_fd, buf, bufsz)) > 0)
            jsonrpc_framer_feed(err, buf, (size_t)n, on_err_line, st);
        int wst = proc_reap(st->child.pid, 300);

        pthread_mutex_lock(&st->mu);
        st->exit_status = wst;
        bool closing = st->closing;
        pthread_mutex_unlock(&st->mu);
        if (wst != -1) {
            proc_status_text(wst, status, sizeof(status));
            snprintf(why, sizeof(why), "the server process %s", status);
        } else {
            snprintf(why, sizeof(why), "the server closed its stdout");
        }
        if (!closing)
            st->base.on_closed(st->base.ud, &st->base, why);
    }
    jsonrpc_framer_free(out);
    jsonrpc_framer_free(err);
    free(buf);
    return NULL;
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
    if (pipe2(st->wake, O_CLOEXEC) != 0 ||
        pthread_create(&st->reader, NULL, reader_main, st) != 0) {
        *why = xasprintf("cannot start reader: %s", strerror(errno));
        proc_terminate(st->child.pid, 0);
        st->child.pid = 0;
        return ERR_IO;
    }
    st->reader_running = true;
    return 0;
}

static int stdio_send(struct transport *t, const char *msg, size_t len, int64_t deadline_ms,
                      struct cancel *cancel, char **why)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    struct iovec {
        const char *p;
        size_t n;
    } parts[2] = {{msg, len}, {"\n", 1}};
    int rc = 0;

    /* A pipe write completes at once unless the server stops reading; that stall is bounded
     * separately, so the deadline and cancel do not apply here. */
    (void)deadline_ms;
    (void)cancel;
    if (log_enabled(LOG_LVL_TRACE))
        LOG_TRACE("[%s] -> %.*s", st->srv->name, (int)(len > 2000 ? 2000 : len), msg);
    pthread_mutex_lock(&st->wmu);
    for (int i = 0; i < 2 && rc == 0; i++) {
        const char *p = parts[i].p;
        size_t left = parts[i].n;

        while (left > 0) {
            ssize_t n = st->child.in_fd >= 0 ? write(st->child.in_fd, p, left) : -1;

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN) {
                /* The server is not reading its stdin. Wait, but wake up for close(). */
                struct pollfd pfd[2] = {{.fd = st->child.in_fd, .events = POLLOUT},
                                        {.fd = st->wake[0], .events = POLLIN}};

                if (poll(pfd, 2, STDIO_WRITE_STALL_MS) > 0 && pfd[1].revents == 0)
                    continue;
                *why = xasprintf("the server has not read its input for %d s",
                                 STDIO_WRITE_STALL_MS / 1000);
                rc = ERR_CLOSED;
                break;
            }
            if (n < 0) {
                *why = xasprintf("cannot write to the server: %s",
                                 st->child.in_fd >= 0 ? strerror(errno) : "closed");
                rc = ERR_CLOSED;
                break;
            }
            p += n;
            left -= (size_t)n;
        }
    }
    pthread_mutex_unlock(&st->wmu);
    return rc;
}

static void stdio_close(struct transport *t)
{
    struct stdio_transport *st = (struct stdio_transport *)t;
    int status;

    pthread_mutex_lock(&st->mu);
    if (st->closing) {
        pthread_mutex_unlock(&st->mu);
        return;
    }
    st->closing = true;
    pthread_mutex_unlock(&st->mu);
    /* Wake the reader and any writer stuck on a full pipe before taking the write lock. */
    if (st->wake[1] >= 0)
        (void)!write(st->wake[1], "x", 1);
    /* Closing stdin is the polite way to ask an MCP stdio server to exit. */
    pthread_mutex_lock(&st->wmu);
    if (st->child.in_fd >= 0)
        close(st->child.in_fd);
    st->child.in_fd = -1;
    pthread_mutex_unlock(&st->wmu);
    if (st->child.pid > 0) {
        char how[96];

        status = proc_reap(st->child.pid, 300);
        if (status == -1)
            status = proc_terminate(st->child.pid, STDIO_TERM_GRACE_MS);
        else
            proc_terminate(st->child.pid, 0); /* stragglers in its group */
        proc_status_text(status, how, sizeof(how));
        LOG_DEBUG("[%s] stopped (pid %d): %s", st->srv->name, (int)st->child.pid, how);
    }
    if (st->reader_running) {
        pthread_join(st->reader, NULL);
        st->reader_running = false;
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
    char *out = NULL, *next;
    unsigned i, first;

    pthread_mutex_lock(&st->mu);
    first = st->tail_next > STDIO_TAIL_LINES ? st->tail_next - STDIO_TAIL_LINES : 0;
    for (i = first; i < st->tail_next; i++) {
        next = xasprintf("%s%s%s", out != NULL ? out : "", out != NULL ? " | " : "",
                         st->tail[i % STDIO_TAIL_LINES]);
        free(out);
        out = next;
    }
    pthread_mutex_unlock(&st->mu);
    return out;
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
                                      const char *const *drop, size_t max_line)
{
    struct stdio_transport *st = xcalloc(1, sizeof(*st));

    st->base.ops = &stdio_ops;
    st->srv = srv;
    st->sp = sp;
    st->drop = drop;
    st->max_line = max_line;
    st->child.in_fd = st->child.out_fd = st->child.err_fd = -1;
    st->wake[0] = st->wake[1] = -1;
    st->exit_status = -1;
    pthread_mutex_init(&st->wmu, NULL);
    pthread_mutex_init(&st->mu, NULL);
    return &st->base;
}
