/*
 * oauth_callback.c - the authorization response parser, the loopback listener (libmicrohttpd,
 * loaded on first use) and the browser launcher; see oauth_callback.h.
 */
#include "oauth_callback.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "pkce.h"
#include "xmem.h"

#define CB_SHOWN_MAX 300 /* characters of an error description shown on the page */

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

extern char **environ;

/* ---- the parser ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on bad encoding or an embedded NUL. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void oauth_callback_params_clear(struct oauth_callback_params *p)
{
    if (p == NULL)
        return;
    free_secret(p->code);
    free_secret(p->state);
    free(p->iss);
    free(p->error);
    free(p->error_description);
    memset(p, 0, sizeof(*p));
}

int oauth_callback_parse(const char *text, size_t len, struct oauth_callback_params *out,
                         char **why)
{
    const char *q, *end, *p;
    size_t nparams = 0;

    memset(out, 0, sizeof(*out));
    if (len > OAUTH_CALLBACK_MAX) {
        *why = xasprintf("the authorization response is longer than %d bytes", OAUTH_CALLBACK_MAX);
        return ERR_TOO_BIG;
    }
    while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        len--;
    end = memchr(text, '#', len);
    if (end == NULL)
        end = text + len;
    q = memchr(text, '?', (size_t)(end - text));
    if (q != NULL) {
        q++;
    } else if (memchr(text, '/', (size_t)(end - text)) == NULL &&
               memchr(text, '=', (size_t)(end - text)) != NULL) {
        q = text; /* a bare query */
    } else {
        *why = xstrdup("the authorization response has no query (expected ...?code=...&state=...)");
        return ERR_PARSE;
    }
    for (p = q; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
        const char *stop = amp != NULL ? amp : end;
        char *name, *value, **slot = NULL;

        if (stop == p) {
            p = stop + 1;
            continue;
        }
        if (++nparams > OAUTH_CALLBACK_MAX_PARAMS) {
            *why = xasprintf("the authorization response has more than %d parameters",
                             OAUTH_CALLBACK_MAX_PARAMS);
            goto fail_big;
        }
        eq = memchr(p, '=', (size_t)(stop - p));
        name = pct_decode(p, (size_t)((eq != NULL ? eq : stop) - p));
        value = eq != NULL ? pct_decode(eq + 1, (size_t)(stop - eq - 1)) : xstrdup("");
        if (name == NULL || value == NULL) {
            free(name);
            free_secret(value);
            *why = xstrdup("the authorization response has bad percent-encoding");
            goto fail;
        }
        if (strcmp(name, "code") == 0)
            slot = &out->code;
        else if (strcmp(name, "state") == 0)
            slot = &out->state;
        else if (strcmp(name, "iss") == 0)
            slot = &out->iss;
        else if (strcmp(name, "error") == 0)
            slot = &out->error;
        else if (strcmp(name, "error_description") == 0)
            slot = &out->error_description;
        if (slot != NULL && *slot != NULL) {
            *why = xasprintf("the authorization response repeats the parameter \"%s\"", name);
            free(name);
            free_secret(value);
            goto fail;
        }
        free(name);
        if (slot != NULL)
            *slot = value;
        else
            free_secret(value);
        p = stop + (amp != NULL ? 1 : 0);
        if (amp == NULL)
            break;
    }
    if ((out->code == NULL || *out->code == '\0') && out->error == NULL) {
        *why = xstrdup("the authorization response carries neither a code nor an error");
        goto fail;
    }
    return 0;
fail:
    oauth_callback_params_clear(out);
    return ERR_PARSE;
fail_big:
    oauth_callback_params_clear(out);
    return ERR_TOO_BIG;
}

/* ---- libmicrohttpd ---- */

struct mhd_api {
    struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
                                       MHD_AcceptPolicyCallback apc, void *apc_cls,
                                       MHD_AccessHandlerCallback dh, void *dh_cls, ...);
    void (*stop_daemon)(struct MHD_Daemon *d);
    const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *d,
                                                   enum MHD_DaemonInfoType type, ...);
    struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
                                                        enum MHD_ResponseMemoryMode mode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *r, const char *header,
                                           const char *content);
    enum MHD_Result (*queue_response)(struct MHD_Connection *c, unsigned int status,
                                      struct MHD_Response *r);
    void (*destroy_response)(struct MHD_Response *r);
};

static pthread_mutex_t mhd_mu = PTHREAD_MUTEX_INITIALIZER;
static bool mhd_tried, mhd_ok;
static struct mhd_api mhd;
static char *mhd_error;

#define MLOAD(field, name)                     \
    do {                                       \
        *(void **)&mhd.field = dlsym(h, name); \
        if (mhd.field == NULL)                 \
            goto fail;                         \
    } while (0)

/* Loads libmicrohttpd once per process (the loaded library is process-wide state, like the
 * logger). Returns 0 or ERR_IO with *why. */
static int mhd_ensure(char **why)
{
    void *h;

    pthread_mutex_lock(&mhd_mu);
    if (mhd_tried)
        goto out;
    mhd_tried = true;
    h = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        mhd_error = xasprintf("the OAuth sign-in needs libmicrohttpd, which could not be loaded "
                              "(%s); install it (Debian/Ubuntu: apt-get install "
                              "libmicrohttpd12), or use `mcpzip auth login SERVER` and paste "
                              "the final URL",
                              dlerror());
        goto out;
    }
    MLOAD(start_daemon, "MHD_start_daemon");
    MLOAD(stop_daemon, "MHD_stop_daemon");
    MLOAD(get_daemon_info, "MHD_get_daemon_info");
    MLOAD(create_response_from_buffer, "MHD_create_response_from_buffer");
    MLOAD(add_response_header, "MHD_add_response_header");
    MLOAD(queue_response, "MHD_queue_response");
    MLOAD(destroy_response, "MHD_destroy_response");
    mhd_ok = true;
    goto out;
fail:
    mhd_error = xstrdup("libmicrohttpd.so.12 lacks a function mcpzip needs");
out:
    pthread_mutex_unlock(&mhd_mu);
    if (!mhd_ok) {
        *why = xstrdup(mhd_error);
        return ERR_IO;
    }
    return 0;
}

struct oauth_listener {
    struct MHD_Daemon *d;
    char state[128];
    oauth_callback_check_cb check;
    void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done; /* a response was accepted (or refused by check) */
    int rc;    /* 0, or ERR_INVALID when check refused it */
    char *why;
    struct oauth_callback_params got;
};

/* Keeps the raw request URI (with its query) for the access handler. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    return xstrdup(strlen(uri) <= OAUTH_CALLBACK_MAX ? uri : "");
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void html_escape(struct buf *b, const char *s, size_t max)
{
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        switch (s[i]) {
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        default:
            if ((unsigned char)s[i] >= 0x20)
                buf_append(b, &s[i], 1);
        }
    }
}

static enum MHD_Result answer(struct MHD_Connection *con, unsigned status, const char *title,
                              const char *detail)
{
    struct buf b = {0};
    struct MHD_Response *r;
    enum MHD_Result rc;

    buf_puts(&b, "<!doctype html><meta charset=\"utf-8\"><title>mcpzip</title>"
                 "<body style=\"font-family:sans-serif;margin:3em\"><h2>");
    html_escape(&b, title, 200);
    buf_puts(&b, "</h2><p>");
    html_escape(&b, detail, CB_SHOWN_MAX);
    buf_puts(&b, "</p></body>\n");
    r = mhd.create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_COPY);
    buf_free(&b);
    if (r == NULL)
        return MHD_NO;
    mhd.add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    mhd.add_response_header(r, "Cache-Control", "no-store");
    mhd.add_response_header(r, "Referrer-Policy", "no-referrer");
    rc = mhd.queue_response(con, status, r);
    mhd.destroy_response(r);
    return rc;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *con, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **con_cls)
{
    struct oauth_listener *l = cls;
    const char *uri = *con_cls;
    struct oauth_callback_params p;
    char *why = NULL, *detail;
    enum MHD_Result rc;
    int crc;

    (void)version;
    (void)upload;
    (void)upload_size;
    if (strcmp(method, "GET") != 0 || strcmp(url, OAUTH_CALLBACK_PATH) != 0)
        return answer(con, 404, "Not found", "This is mcpzip's OAuth callback.");
    if (uri == NULL || oauth_callback_parse(uri, strlen(uri), &p, &why) != 0) {
        rc = answer(con, 400, "Authorization failed", why ? why : "unreadable response");
        free(why);
        return rc;
    }
    pthread_mutex_lock(&l->mu);
    if (l->done) {
        pthread_mutex_unlock(&l->mu);
        oauth_callback_params_clear(&p);
        return answer(con, 409, "Already done",
                      "This sign-in has already been completed; you can close this tab.");
    }
    pthread_mutex_unlock(&l->mu);
    if (!pkce_state_equal(l->state, p.state)) {
        oauth_callback_params_clear(&p);
        return answer(con, 400, "Authorization failed",
                      "The response does not belong to the sign-in mcpzip is waiting for "
                      "(state mismatch). Start the sign-in again.");
    }
    crc = l->check != NULL ? l->check(l->ud, &p, &why) : 0;
    if (crc != 0) {
        detail = why != NULL ? why : xstrdup("the response was refused");
        rc = answer(con, 400, "Authorization failed", detail);
        pthread_mutex_lock(&l->mu);
        l->done = true;
        l->rc = ERR_INVALID;
        l->why = detail;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        oauth_callback_params_clear(&p);
        return rc;
    }
    if (p.error != NULL) {
        detail = xasprintf("%s%s%s", p.error, p.error_description ? ": " : "",
                           p.error_description ? p.error_description : "");
        rc = answer(con, 200, "Authorization failed", detail);
        free(detail);
    } else {
        rc = answer(con, 200, "Authorization complete",
                    "mcpzip received the authorization. You can close this tab.");
    }
    pthread_mutex_lock(&l->mu);
    l->done = true;
    l->got = p;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int oauth_listener_start(int port, const char *state, oauth_callback_check_cb check, void *ud,
                         struct oauth_listener **out, int *bound, char **why)
{
    struct oauth_listener *l;
    struct sockaddr_in sa = {0};
    const union MHD_DaemonInfo *info;
    int rc = mhd_ensure(why);

    *out = NULL;
    if (rc != 0)
        return rc;
    l = xcalloc(1, sizeof(*l));
    snprintf(l->state, sizeof(l->state), "%s", state);
    l->check = check;
    l->ud = ud;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l->d = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
                            access_handler, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_log, (void *)NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, (void *)NULL,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)8,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (l->d == NULL) {
        *why = xasprintf("cannot listen on 127.0.0.1:%d for the OAuth callback", port);
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        free(l);
        return ERR_IO;
    }
    info = mhd.get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    *bound = info != NULL && info->port != 0 ? info->port : port;
    *out = l;
    return 0;
}

/* Reads one line from fd (bounded) when one is ready. Returns 1 with a line, 0 when none yet,
 * -1 at end of input. */
static int read_paste(int fd, struct buf *line)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char c;

    while (poll(&pfd, 1, 0) == 1) {
        ssize_t n = read(fd, &c, 1);

        if (n <= 0)
            return -1;
        if (c == '\n')
            return 1;
        if (line->len < OAUTH_CALLBACK_MAX + 1)
            buf_append(line, &c, 1);
    }
    return 0;
}

int oauth_listener_wait(struct oauth_listener *l, int timeout_ms, int *stop, int paste_fd,
                        struct oauth_callback_params *out, char **why)
{
    struct timespec now;
    int64_t until, t;
    struct buf line = {0};
    int rc = ERR_TIMEOUT;

    memset(out, 0, sizeof(*out));
    clock_gettime(CLOCK_MONOTONIC, &now);
    until = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        if (l->done) {
            rc = l->rc;
            if (rc == 0) {
                *out = l->got;
                memset(&l->got, 0, sizeof(l->got));
            } else {
                *why = xstrdup(l->why != NULL ? l->why : "the response was refused");
            }
            pthread_mutex_unlock(&l->mu);
            goto out;
        }
        pthread_mutex_unlock(&l->mu);
        if (stop != NULL && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
            *why = xstrdup("the sign-in was cancelled");
            rc = ERR_CANCELLED;
            goto out;
        }
        if (paste_fd >= 0) {
            int r = read_paste(paste_fd, &line);

            if (r < 0) {
                paste_fd = -1;
            } else if (r == 1) {
                struct oauth_callback_params p;
                char *pwhy = NULL;

                if (oauth_callback_parse(line.s ? line.s : "", line.len, &p, &pwhy) != 0) {
                    fprintf(stderr,
                            "mcpzip: %s; paste the whole address the browser was sent "
                            "to\n",
                            pwhy);
                    free(pwhy);
                } else if (!pkce_state_equal(l->state, p.state)) {
                    fprintf(stderr, "mcpzip: that address belongs to another sign-in (state "
                                    "mismatch)\n");
                    oauth_callback_params_clear(&p);
                } else if (l->check != NULL && l->check(l->ud, &p, why) != 0) {
                    oauth_callback_params_clear(&p);
                    rc = ERR_INVALID;
                    goto out;
                } else {
                    *out = p;
                    rc = 0;
                    goto out;
                }
                buf_free(&line);
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        t = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        if (t >= until) {
            *why = xasprintf("nobody completed the sign-in within %d s", timeout_ms / 1000);
            rc = ERR_TIMEOUT;
            goto out;
        }
        {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
out:
    if (line.s != NULL)
        explicit_bzero(line.s, line.len);
    buf_free(&line);
    return rc;
}

void oauth_listener_stop(struct oauth_listener *l)
{
    if (l == NULL)
        return;
    if (l->d != NULL)
        mhd.stop_daemon(l->d);
    oauth_callback_params_clear(&l->got);
    free(l->why);
    explicit_bzero(l->state, sizeof(l->state));
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

/* ---- the browser ---- */

static void *reap_main(void *arg)
{
    pid_t pid = (pid_t)(intptr_t)arg;

    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return NULL;
}

bool oauth_browser_open(const char *server_name, const char *url)
{
    const char *browser = getenv("BROWSER");
    const char *argv[3];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    pthread_t th;
    int rc;

    fprintf(stderr,
            "\nmcpzip: server \"%s\" needs you to sign in. Open this address in a "
            "browser:\n\n  %s\n\n",
            server_name, url);
    fflush(stderr);
    if (browser != NULL && *browser != '\0')
        argv[0] = browser;
    else
#ifdef __APPLE__
        argv[0] = "open";
#else
        argv[0] = "xdg-open";
#endif
    argv[1] = url;
    argv[2] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        LOG_DEBUG("could not start a browser (%s): %s", argv[0], strerror(rc));
        return false;
    }
    if (pthread_create(&th, NULL, reap_main, (void *)(intptr_t)pid) == 0)
        pthread_detach(th);
    return true;
}
