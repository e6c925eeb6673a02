/*
 * cli_common.c - options, colours, paths, config editing, sessions, parallel refresh with a
 * progress display; see cli_common.h.
 */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli_clients.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "xmem.h"

#define PROGRESS_TICK_MS 100

void cli_common_style(FILE *f, struct cli_style *st)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    bool on = isatty(fileno(f)) && (no == NULL || *no == '\0') &&
              (term == NULL || strcmp(term, "dumb") != 0);

    st->bold = on ? "\033[1m" : "";
    st->dim = on ? "\033[2m" : "";
    st->red = on ? "\033[31m" : "";
    st->green = on ? "\033[32m" : "";
    st->yellow = on ? "\033[33m" : "";
    st->cyan = on ? "\033[36m" : "";
    st->reset = on ? "\033[0m" : "";
}

int cli_common_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "mcpzip: %s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

bool cli_common_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_common_bad_option(const char *cmd, const char *arg)
{
    fprintf(stderr, "mcpzip %s: unknown option \"%s\"; run 'mcpzip help %s'\n", cmd, arg, cmd);
    return 1;
}

void cli_common_init(void)
{
    const char *level = getenv("MCPZIP_LOG");
    char *why = NULL;

    if (log_init(level != NULL && *level != '\0' ? level : "error", NULL, &why) != 0) {
        fprintf(stderr, "mcpzip: %s\n", why);
        free(why);
    }
    json_init();
}

const char *cli_common_home(void)
{
    const char *home = getenv("HOME");

    return home != NULL && *home != '\0' ? home : ".";
}

bool cli_common_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

char *cli_common_self_path(void)
{
    char *p = realpath("/proc/self/exe", NULL);

    return p != NULL ? p : xstrdup("mcpzip");
}

/* Makes path absolute without requiring it to exist. */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX], *real = realpath(path, NULL);

    if (real != NULL)
        return real;
    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

char *cli_common_config_path(const char *given)
{
    return given != NULL ? absolute(given) : config_default_path();
}

bool cli_common_is_default_config(const char *path)
{
    char *def = config_default_path(), *a = realpath(def, NULL), *b = realpath(path, NULL);
    bool same = strcmp(def, path) == 0 || (a != NULL && b != NULL && strcmp(a, b) == 0);

    free(def);
    free(a);
    free(b);
    return same;
}

int cli_common_config_open(const char *path, bool create, struct jsonfile **jf, cJSON **servers,
                           char **why)
{
    cJSON *s;
    int rc;

    *jf = NULL;
    rc = jsonfile_open(path, 0600, jf, why);
    if (rc != 0)
        return rc;
    if (!(*jf)->exists) {
        if (!create) {
            *why =
                xasprintf("%s: no such file; create it with 'mcpzip init' or 'mcpzip add'", path);
            jsonfile_free(*jf);
            *jf = NULL;
            return ERR_NOT_FOUND;
        }
        (*jf)->root = cJSON_CreateObject();
    }
    if (!cJSON_IsObject((*jf)->root)) {
        *why = xasprintf("%s: the file must hold a JSON object like {\"mcpServers\": {...}}", path);
        goto invalid;
    }
    s = cJSON_GetObjectItemCaseSensitive((*jf)->root, "mcpServers");
    if (s == NULL)
        s = cJSON_AddObjectToObject((*jf)->root, "mcpServers");
    if (!cJSON_IsObject(s)) {
        *why = xasprintf("%s: \"mcpServers\" must be an object", path);
        goto invalid;
    }
    *servers = s;
    return 0;
invalid:
    jsonfile_free(*jf);
    *jf = NULL;
    return ERR_INVALID;
}

int cli_common_config_save(struct jsonfile *jf, char **why)
{
    struct config *cfg = NULL;
    char *text = jsonfile_render(jf), *dir = NULL;
    int rc;

    rc = config_parse(text, strlen(text), jf->path, &cfg, why);
    config_free(cfg);
    if (rc != 0)
        goto out;
    if (!jf->exists) {
        dir = fsutil_dirname(jf->target);
        rc = fsutil_mkdirs(dir, 0700, why);
        if (rc != 0)
            goto out;
    }
    rc = jsonfile_save(jf, why);
out:
    free(text);
    free(dir);
    return rc;
}

int cli_common_session(const char *config_path, struct cli_session *s)
{
    char *why = NULL;

    memset(s, 0, sizeof(*s));
    if (config_load(config_path, &s->cfg, &why) != 0) {
        fprintf(stderr, "mcpzip: %s\n", why);
        free(why);
        return 1;
    }
    s->px = proxy_new(s->cfg);
    return 0;
}

void cli_common_session_end(struct cli_session *s)
{
    bool freed = true;

    if (s->px != NULL) {
        proxy_shutdown(s->px);
        freed = proxy_free(s->px);
    }
    if (freed)
        config_free(s->cfg);
    memset(s, 0, sizeof(*s));
}

/* ---- parallel refresh with progress ---- */

struct progress {
    struct cli_session *s;
    struct cli_refresh *r;
    size_t n;
    size_t remaining;
    FILE *out; /* NULL = silent */
    bool live; /* redraw in place (a terminal) */
    bool utf8;
    struct cli_style st;
    int64_t t0;
    pthread_mutex_t mu; /* guards r[].done and the fields they fill, remaining, out */
    pthread_cond_t cv;
};

struct worker {
    struct progress *p;
    size_t i;
    pthread_t th;
    bool started;
};

static bool utf8_locale(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};

    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);

        if (v != NULL && *v != '\0')
            return strstr(v, "UTF-8") != NULL || strstr(v, "utf8") != NULL ||
                   strstr(v, "UTF8") != NULL || strstr(v, "utf-8") != NULL;
    }
    return false;
}

/* Formats one server's line of the display. */
static void progress_line(struct progress *p, size_t i, struct buf *b, unsigned tick)
{
    static const char *const spin_utf8[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    static const char *const spin_ascii[] = {"-", "\\", "|", "/"};
    struct cli_refresh *r = &p->r[i];
    const struct cli_style *st = &p->st;

    if (!r->done) {
        const char *f = p->utf8 ? spin_utf8[tick % 10] : spin_ascii[tick % 4];

        buf_printf(b, "  %s%s%s %s  %sconnecting... %.1f s%s", st->cyan, f, st->reset, r->name,
                   st->dim, (double)(upstream_now_ms() - p->t0) / 1000.0, st->reset);
    } else if (r->rc == 0) {
        buf_printf(b, "  %s%s%s %s  %zu tools %s(%.1f s)%s", st->green, p->utf8 ? "✓" : "ok",
                   st->reset, r->name, r->ntools, st->dim, (double)r->ms / 1000.0, st->reset);
    } else {
        buf_printf(b, "  %s%s%s %s  %sfailed%s: %s", st->red, p->utf8 ? "✗" : "x", st->reset,
                   r->name, st->red, st->reset, r->why != NULL ? r->why : err_str(r->rc));
    }
}

static int term_columns(FILE *f)
{
    struct winsize ws;

    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

/* Cuts a display line to the terminal width so that redrawing in place never wraps. Counts
 * UTF-8 characters and skips ANSI sequences. */
static void clip(struct buf *b, int cols)
{
    int shown = 0;
    size_t i = 0;

    while (i < b->len) {
        if (b->s[i] == '\033') {
            while (i < b->len && b->s[i] != 'm')
                i++;
            i++;
            continue;
        }
        if (((unsigned char)b->s[i] & 0xC0) != 0x80 && ++shown >= cols) {
            b->s[i] = '\0';
            b->len = i;
            buf_puts(b, "\033[0m");
            return;
        }
        i++;
    }
}

static void progress_draw(struct progress *p, unsigned tick, bool first)
{
    struct buf b = {0};
    int cols = term_columns(p->out);

    if (!first)
        buf_printf(&b, "\033[%zuA", p->n);
    for (size_t i = 0; i < p->n; i++) {
        struct buf line = {0};

        progress_line(p, i, &line, tick);
        clip(&line, cols);
        buf_printf(&b, "\r\033[2K%s\n", line.s);
        buf_free(&line);
    }
    fputs(b.s, p->out);
    fflush(p->out);
    buf_free(&b);
}

static void *refresh_worker(void *arg)
{
    struct worker *w = arg;
    struct progress *p = w->p;
    struct cli_refresh *r = &p->r[w->i];
    struct catalog_diff diff = {0};
    struct catalog_snap *snap;
    const struct catalog_server *cs;
    int64_t t0 = upstream_now_ms();
    char *why = NULL;
    int rc;

    rc = proxy_refresh(p->s->px, r->name, &diff, &why);
    snap = catalog_acquire(proxy_catalog(p->s->px));
    cs = catalog_server(snap, r->name);
    pthread_mutex_lock(&p->mu);
    r->rc = rc;
    r->why = why;
    r->ntools = cs != NULL ? cs->ntools : 0;
    r->nadded = diff.nadded;
    r->nremoved = diff.nremoved;
    r->ms = upstream_now_ms() - t0;
    r->done = true;
    p->remaining--;
    if (p->out != NULL && !p->live) {
        struct buf b = {0};

        progress_line(p, w->i, &b, 0);
        fprintf(p->out, "%s\n", b.s);
        fflush(p->out);
        buf_free(&b);
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    catalog_release(proxy_catalog(p->s->px), snap);
    catalog_diff_clear(&diff);
    return NULL;
}

/* True when srv's command is this binary or any program called mcpzip. */
static bool starts_self(const struct config_server *srv)
{
    char *self = cli_common_self_path();
    cJSON *e = cJSON_CreateObject();
    bool yes;

    if (srv->command != NULL)
        cJSON_AddStringToObject(e, "command", srv->command);
    yes = srv->transport == CONFIG_STDIO && cli_clients_is_self(NULL, e, self);
    cJSON_Delete(e);
    free(self);
    return yes;
}

struct cli_refresh *cli_common_refresh(struct cli_session *s, FILE *out, bool only_unloaded,
                                       const char *only_name, size_t *n)
{
    const struct config *cfg = s->cfg;
    struct progress p = {0};
    struct worker *workers;
    struct catalog_snap *snap = catalog_acquire(proxy_catalog(s->px));
    unsigned tick = 0;

    p.s = s;
    p.r = xcalloc(cfg->nservers + 1, sizeof(*p.r));
    for (size_t i = 0; i < cfg->nservers; i++) {
        const struct config_server *srv = &cfg->servers[i];
        const struct catalog_server *cs = catalog_server(snap, srv->name);

        if (srv->disabled || (only_name != NULL && strcmp(only_name, srv->name) != 0))
            continue;
        if (only_unloaded && cs != NULL && cs->loaded)
            continue;
        p.r[p.n].name = srv->name;
        if (starts_self(srv)) {
            /* Starting it would start mcpzip, which would start it again, without end. */
            p.r[p.n].done = true;
            p.r[p.n].rc = ERR_INVALID;
            p.r[p.n].why = xstrdup("not started: its command is mcpzip itself");
        }
        p.n++;
    }
    catalog_release(proxy_catalog(s->px), snap);
    for (size_t i = 0; i < p.n; i++)
        p.remaining += !p.r[i].done;
    p.out = p.n > 0 ? out : NULL;
    p.live = p.out != NULL && isatty(fileno(p.out));
    p.utf8 = utf8_locale();
    if (p.out != NULL)
        cli_common_style(p.out, &p.st);
    p.t0 = upstream_now_ms();
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    workers = xcalloc(p.n + 1, sizeof(*workers));
    if (p.live)
        progress_draw(&p, tick, true);
    /* Every server at once: the slowest one bounds the wait, not their sum. */
    for (size_t i = 0; i < p.n; i++) {
        if (p.r[i].done) {
            if (p.out != NULL && !p.live) {
                struct buf b = {0};

                progress_line(&p, i, &b, 0);
                fprintf(p.out, "%s\n", b.s);
                buf_free(&b);
            }
            continue;
        }
        workers[i].p = &p;
        workers[i].i = i;
        workers[i].started = pthread_create(&workers[i].th, NULL, refresh_worker, &workers[i]) == 0;
        if (!workers[i].started)
            refresh_worker(&workers[i]);
    }
    pthread_mutex_lock(&p.mu);
    while (p.remaining > 0) {
        struct timespec ts = upstream_wall_after(PROGRESS_TICK_MS);

        pthread_cond_timedwait(&p.cv, &p.mu, &ts);
        if (p.live)
            progress_draw(&p, ++tick, false);
    }
    pthread_mutex_unlock(&p.mu);
    if (p.live)
        progress_draw(&p, tick, false);
    for (size_t i = 0; i < p.n; i++)
        if (workers[i].started)
            pthread_join(workers[i].th, NULL);
    free(workers);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    *n = p.n;
    return p.r;
}

void cli_common_refresh_free(struct cli_refresh *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].why);
    free(r);
}

/* ---- printing ---- */

void cli_common_print_json(FILE *f, const cJSON *value)
{
    char *s = jsonfile_format(value);

    fprintf(f, "%s\n", s);
    free(s);
}

bool cli_common_print_result(FILE *f, const cJSON *result)
{
    const cJSON *c, *sc = json_get(result, "structuredContent");
    bool is_error = false, printed = false;

    cJSON_ArrayForEach (c, json_get_arr(result, "content")) {
        const char *type = json_get_str(c, "type"), *text = json_get_str(c, "text");
        const char *mime = json_get_str(c, "mimeType"), *data = json_get_str(c, "data");

        if (type != NULL && strcmp(type, "text") == 0 && text != NULL) {
            fprintf(f, "%s%s", text, text[0] != '\0' && text[strlen(text) - 1] == '\n' ? "" : "\n");
        } else if (type != NULL && (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0)) {
            fprintf(f, "[%s %s, %zu bytes of base64]\n", type, mime != NULL ? mime : "",
                    data != NULL ? strlen(data) : 0);
        } else if (type != NULL && strcmp(type, "resource") == 0) {
            const cJSON *res = json_get(c, "resource");
            const char *rtext = json_get_str(res, "text");

            if (rtext != NULL)
                fprintf(f, "%s\n", rtext);
            else
                fprintf(f, "[resource %s]\n",
                        json_get_str(res, "uri") ? json_get_str(res, "uri") : "");
        } else if (type != NULL && strcmp(type, "resource_link") == 0) {
            fprintf(f, "[link %s]\n", json_get_str(c, "uri") ? json_get_str(c, "uri") : "");
        } else {
            cli_common_print_json(f, c);
        }
        printed = true;
    }
    if (!printed && sc != NULL)
        cli_common_print_json(f, sc);
    (void)json_get_bool(result, "isError", &is_error);
    return is_error;
}
