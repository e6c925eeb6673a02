/*
 * test_tokenstore.c - unit tests for tokenstore.h: file naming compatible with the Rust mcpzip,
 * round trips, permissions enforced on write and fixed on read, corrupt and hostile files,
 * token endpoint and registration responses, the cross-process lock (with a forked process
 * holding it), and reading mcp-remote's files for exactly one server.
 *
 * Every test works in its own temporary directory, removed afterwards. No test prints a token:
 * assertions compare them, and messages are checked not to contain them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "err.h"
#include "json.h"
#include "tokenstore.h"

#define URL "https://example.com/mcp"
/* printf %s 'https://example.com/mcp' | sha256sum | cut -c1-32 (the Rust mcpzip's name). */
#define URL_HASH "c3d80a4ed901ee05b21755a88273b4a4"
#define ISSUER "https://auth.example.com/tenant1"
/* printf %s 'https://auth.example.com/tenant1' | sha256sum | cut -c1-32 */
#define ISSUER_HASH "9020b61c7957dddc4b06ae3784fbb78f"

struct fixture {
    char *root; /* the temporary directory */
    char *dir;  /* <root>/auth: the store */
    char *mr;   /* <root>/mcp-auth: mcp-remote's base */
    struct tokenstore *ts;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char tmpl[] = "/tmp/mcpzip-test-tokenstore-XXXXXX";

    if (f == NULL || mkdtemp(tmpl) == NULL)
        return -1;
    f->root = strdup(tmpl);
    if (asprintf(&f->dir, "%s/auth", tmpl) < 0 || asprintf(&f->mr, "%s/mcp-auth", tmpl) < 0)
        return -1;
    f->ts = tokenstore_new(f->dir, f->mr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    testutil_rm_tree(f->root);
    tokenstore_free(f->ts);
    free(f->root);
    free(f->dir);
    free(f->mr);
    free(f);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void sample_tokens(struct tokenstore_tokens *t)
{
    memset(t, 0, sizeof(*t));
    t->access_token = strdup("AT-SECRET-1");
    t->token_type = strdup("Bearer");
    t->refresh_token = strdup("RT-SECRET-1");
    t->expires_at = 1900000000;
    t->scope = strdup("mcp:basic mcp:write");
    t->issuer = strdup(ISSUER);
    t->resource = strdup(URL);
}

/* Asserts rc and that the message exists and shows no secret; frees it. */
static void check_err(int rc, int want, char **why)
{
    assert_int_equal(rc, want);
    assert_non_null(*why);
    assert_null(strstr(*why, "SECRET"));
    free(*why);
    *why = NULL;
}

/* ---- naming ---- */

static void test_paths_match_the_rust_mcpzip(void **state)
{
    struct fixture *f = *state;
    char *p, *want;

    p = tokenstore_token_path(f->ts, URL);
    want = path_in(f->dir, URL_HASH ".json");
    assert_string_equal(p, want);
    free(p);
    free(want);
    p = tokenstore_client_path(f->ts, ISSUER);
    want = path_in(f->dir, "client-" ISSUER_HASH ".json");
    assert_string_equal(p, want);
    free(p);
    free(want);
    /* The exact string is hashed: a trailing slash is another server. */
    p = tokenstore_token_path(f->ts, URL "/");
    assert_null(strstr(p, URL_HASH));
    free(p);
}

static void test_default_dir_honours_xdg(void **state)
{
    struct tokenstore *ts;
    char *old_xdg = getenv("XDG_CONFIG_HOME"), *old_home = getenv("HOME");

    (void)state;
    old_xdg = old_xdg ? strdup(old_xdg) : NULL;
    old_home = old_home ? strdup(old_home) : NULL;
    setenv("HOME", "/home/someone", 1);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    ts = tokenstore_new(NULL, NULL);
    assert_string_equal(tokenstore_dir(ts), "/xdg/compressed-mcp-proxy/auth");
    tokenstore_free(ts);
    setenv("XDG_CONFIG_HOME", "relative", 1); /* not absolute: ignored */
    ts = tokenstore_new(NULL, NULL);
    assert_string_equal(tokenstore_dir(ts), "/home/someone/.config/compressed-mcp-proxy/auth");
    tokenstore_free(ts);
    unsetenv("XDG_CONFIG_HOME");
    ts = tokenstore_new(NULL, NULL);
    assert_string_equal(tokenstore_dir(ts), "/home/someone/.config/compressed-mcp-proxy/auth");
    tokenstore_free(ts);
    if (old_xdg != NULL)
        setenv("XDG_CONFIG_HOME", old_xdg, 1);
    if (old_home != NULL)
        setenv("HOME", old_home, 1);
    free(old_xdg);
    free(old_home);
}

/* ---- tokens ---- */

static void test_round_trip_with_modes(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens t, u;
    char *why = NULL, *warning = NULL, *path;
    mode_t old = umask(0);

    sample_tokens(&t);
    assert_int_equal(tokenstore_save(f->ts, URL, &t, &warning, &why), 0);
    umask(old);
    assert_null(warning);
    path = tokenstore_token_path(f->ts, URL);
    assert_int_equal(mode_of(f->dir), 0700);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(tokenstore_load(f->ts, URL, &u, &warning, &why), 0);
    assert_null(warning);
    assert_string_equal(u.access_token, t.access_token);
    assert_string_equal(u.refresh_token, t.refresh_token);
    assert_string_equal(u.token_type, "Bearer");
    assert_int_equal(u.expires_at, 1900000000);
    assert_string_equal(u.scope, t.scope);
    assert_string_equal(u.issuer, ISSUER);
    assert_string_equal(u.resource, URL);
    tokenstore_tokens_clear(&u);
    /* A rewrite replaces; the optional fields may go. */
    free(t.refresh_token);
    t.refresh_token = NULL;
    t.expires_at = 0;
    assert_int_equal(tokenstore_save(f->ts, URL, &t, &warning, &why), 0);
    assert_int_equal(tokenstore_load(f->ts, URL, &u, &warning, &why), 0);
    assert_null(u.refresh_token);
    assert_int_equal(u.expires_at, 0);
    tokenstore_tokens_clear(&u);
    tokenstore_tokens_clear(&t);
    assert_int_equal(tokenstore_delete(f->ts, URL, &why), 0);
    assert_int_equal(tokenstore_delete(f->ts, URL, &why), 0);
    check_err(tokenstore_load(f->ts, URL, &u, &warning, &why), ERR_NOT_FOUND, &why);
    free(path);
}

static void test_not_found_without_directory(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens u;
    char *why = NULL, *warning = NULL;

    check_err(tokenstore_load(f->ts, URL, &u, &warning, &why), ERR_NOT_FOUND, &why);
    assert_null(warning);
    assert_null(u.access_token);
}

static void test_permissions_fixed_with_warning(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens t, u;
    char *why = NULL, *warning = NULL, *path = tokenstore_token_path(f->ts, URL);

    sample_tokens(&t);
    assert_int_equal(tokenstore_save(f->ts, URL, &t, &warning, &why), 0);
    chmod(path, 0644);
    chmod(f->dir, 0755);
    assert_int_equal(tokenstore_load(f->ts, URL, &u, &warning, &why), 0);
    assert_non_null(warning);
    assert_non_null(strstr(warning, "0644"));
    assert_non_null(strstr(warning, "0755"));
    assert_null(strstr(warning, "SECRET"));
    free(warning);
    warning = NULL;
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(mode_of(f->dir), 0700);
    tokenstore_tokens_clear(&u);
    /* A save fixes the directory too, and writes the file 0600 whatever was there. */
    chmod(f->dir, 0777);
    chmod(path, 0666);
    assert_int_equal(tokenstore_save(f->ts, URL, &t, &warning, &why), 0);
    assert_non_null(warning);
    free(warning);
    assert_int_equal(mode_of(f->dir), 0700);
    assert_int_equal(mode_of(path), 0600);
    tokenstore_tokens_clear(&t);
    free(path);
}

static void test_rust_mcpzip_file_loads(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens u;
    char *why = NULL, *warning = NULL, *path = tokenstore_token_path(f->ts, URL);

    mkdir(f->dir, 0700);
    write_file(path,
               "{\n  \"access_token\": \"AT-SECRET\",\n  \"token_type\": \"bearer\",\n"
               "  \"refresh_token\": null\n}",
               0600);
    assert_int_equal(tokenstore_load(f->ts, URL, &u, &warning, &why), 0);
    assert_string_equal(u.access_token, "AT-SECRET");
    assert_string_equal(u.token_type, "bearer");
    assert_null(u.refresh_token);
    assert_int_equal(u.expires_at, 0);
    assert_false(tokenstore_expires_within(&u, 4000000000LL, 60));
    tokenstore_tokens_clear(&u);
    /* An expires_at in milliseconds is understood. */
    write_file(path, "{\"access_token\":\"x\",\"expires_at\":1900000000123}", 0600);
    assert_int_equal(tokenstore_load(f->ts, URL, &u, &warning, &why), 0);
    assert_int_equal(u.expires_at, 1900000000);
    assert_string_equal(u.token_type, "Bearer");
    tokenstore_tokens_clear(&u);
    free(path);
}

static void test_corrupt_files_are_clear_errors(void **state)
{
    static const char *bad[] = {
        "{\"access_token\":\"AT-SECRET\"", /* truncated */
        "[\"AT-SECRET\"]",                 /* not an object */
        "{\"token_type\":\"Bearer\"}",     /* no access_token */
        "{\"access_token\":\"\"}",         /* empty access_token */
        "{\"access_token\":42}",           /* wrong type */
        "{\"access_token\":\"AT-SECRET\",\"refresh_token\":[\"RT-SECRET\"]}",
        "{\"access_token\":\"AT-SECRET\",\"expires_at\":\"soon\"}",
        "{\"access_token\":\"AT-SECRET\",\"expires_at\":-5}",
        "",
        "AT-SECRET",
    };
    struct fixture *f = *state;
    struct tokenstore_tokens u;
    char *why = NULL, *warning = NULL, *path = tokenstore_token_path(f->ts, URL);
    size_t i;

    mkdir(f->dir, 0700);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i], 0600);
        if (tokenstore_load(f->ts, URL, &u, &warning, &why) != ERR_PARSE)
            fail_msg("case %zu not refused", i);
        assert_non_null(strstr(why, path));
        assert_non_null(strstr(why, "auth login"));
        check_err(ERR_PARSE, ERR_PARSE, &why);
        assert_null(u.access_token);
    }
    free(path);
}

static void test_hostile_files_refused(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens u;
    char *why = NULL, *warning = NULL, *path = tokenstore_token_path(f->ts, URL);
    char *other = path_in(f->root, "elsewhere.json");
    char *big;

    mkdir(f->dir, 0700);
    /* A symlink could point at any file; it is never followed. */
    write_file(other, "{\"access_token\":\"x\"}", 0600);
    assert_int_equal(symlink(other, path), 0);
    check_err(tokenstore_load(f->ts, URL, &u, &warning, &why), ERR_IO, &why);
    unlink(path);
    /* A directory or FIFO in its place. */
    assert_int_equal(mkfifo(path, 0600), 0);
    check_err(tokenstore_load(f->ts, URL, &u, &warning, &why), ERR_IO, &why);
    unlink(path);
    /* Too large. */
    big = malloc(TOKENSTORE_MAX_FILE + 2);
    memset(big, ' ', TOKENSTORE_MAX_FILE + 1);
    big[TOKENSTORE_MAX_FILE + 1] = '\0';
    write_file(path, big, 0600);
    free(big);
    check_err(tokenstore_load(f->ts, URL, &u, &warning, &why), ERR_TOO_BIG, &why);
    free(other);
    free(path);
}

static void test_save_refuses_empty(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens t = {0};
    char *why = NULL, *warning = NULL;

    check_err(tokenstore_save(f->ts, URL, &t, &warning, &why), ERR_INVALID, &why);
}

static void test_expires_within(void **state)
{
    struct tokenstore_tokens t = {.expires_at = 1000};

    (void)state;
    assert_true(tokenstore_expires_within(&t, 970, 60));
    assert_true(tokenstore_expires_within(&t, 2000, 60)); /* already expired */
    assert_false(tokenstore_expires_within(&t, 900, 60));
    assert_true(tokenstore_expires_within(&t, 940, 60)); /* exactly 60 s left */
    t.expires_at = 0;
    assert_false(tokenstore_expires_within(&t, 2000, 60));
}

/* ---- token endpoint responses ---- */

static int from_resp(const char *body, const struct tokenstore_tokens *prev,
                     struct tokenstore_tokens *out, char **why)
{
    return tokenstore_tokens_from_response(body, strlen(body), 1000, "mcp:basic", prev, out, why);
}

static void test_token_response(void **state)
{
    struct tokenstore_tokens prev, t;
    char *why = NULL;

    (void)state;
    sample_tokens(&prev);
    /* The conformance mock's answer: no refresh_token, expires_in 3600. */
    assert_int_equal(from_resp("{\"access_token\":\"test-token-1\",\"token_type\":\"Bearer\","
                               "\"expires_in\":3600}",
                               NULL, &t, &why),
                     0);
    assert_string_equal(t.access_token, "test-token-1");
    assert_int_equal(t.expires_at, 4600);
    assert_null(t.refresh_token);
    assert_string_equal(t.scope, "mcp:basic");
    tokenstore_tokens_clear(&t);
    /* A refresh without a new refresh_token keeps the old one... */
    assert_int_equal(from_resp("{\"access_token\":\"AT2\",\"token_type\":\"bearer\","
                               "\"expires_in\":\"120\",\"scope\":\"a b\"}",
                               &prev, &t, &why),
                     0);
    assert_string_equal(t.refresh_token, "RT-SECRET-1");
    assert_string_equal(t.token_type, "Bearer");
    assert_int_equal(t.expires_at, 1120);
    assert_string_equal(t.scope, "a b");
    tokenstore_tokens_clear(&t);
    /* ...and a rotated one replaces it. */
    assert_int_equal(
        from_resp("{\"access_token\":\"AT3\",\"refresh_token\":\"RT2\"}", &prev, &t, &why), 0);
    assert_string_equal(t.refresh_token, "RT2");
    assert_int_equal(t.expires_at, 0);
    tokenstore_tokens_clear(&t);
    tokenstore_tokens_clear(&prev);
}

static void test_token_response_errors(void **state)
{
    struct tokenstore_tokens t;
    char *why = NULL, *code;
    const char *err = "{\"error\":\"invalid_grant\",\"error_description\":\"RT-SECRET revoked\"}";

    (void)state;
    check_err(from_resp("{\"access_token\":\"AT-SECRET\",\"token_type\":\"DPoP\"}", NULL, &t, &why),
              ERR_INVALID, &why);
    check_err(from_resp("{\"token_type\":\"Bearer\"}", NULL, &t, &why), ERR_PARSE, &why);
    check_err(from_resp("{\"access_token\":\"AT-SECRET\",\"expires_in\":\"x\"}", NULL, &t, &why),
              ERR_PARSE, &why);
    check_err(from_resp("<html>AT-SECRET</html>", NULL, &t, &why), ERR_PARSE, &why);
    check_err(from_resp(err, NULL, &t, &why), ERR_INVALID, &why);
    assert_null(t.access_token);
    code = tokenstore_oauth_error(err, strlen(err));
    assert_string_equal(code, "invalid_grant");
    free(code);
    assert_null(tokenstore_oauth_error("{\"access_token\":\"x\"}", 20));
    assert_null(tokenstore_oauth_error("nope", 4));
    assert_null(tokenstore_oauth_error("{\"error\":\"a\\nb\"}", 16));
}

/* ---- client registrations ---- */

static void test_client_round_trip_per_issuer(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_client c = {0}, d;
    char *why = NULL, *warning = NULL, *path;

    c.issuer = strdup(ISSUER);
    c.client_id = strdup("client-1");
    c.client_secret = strdup("CS-SECRET");
    c.redirect_uri = strdup("http://127.0.0.1:33418/oauth/callback");
    c.auth_method = strdup("client_secret_post");
    c.secret_expires_at = 2000000000;
    assert_int_equal(tokenstore_client_save(f->ts, &c, &warning, &why), 0);
    path = tokenstore_client_path(f->ts, ISSUER);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(tokenstore_client_load(f->ts, ISSUER, &d, &warning, &why), 0);
    assert_string_equal(d.client_id, "client-1");
    assert_string_equal(d.client_secret, "CS-SECRET");
    assert_string_equal(d.redirect_uri, c.redirect_uri);
    assert_string_equal(d.auth_method, "client_secret_post");
    assert_int_equal(d.secret_expires_at, 2000000000);
    assert_false(tokenstore_client_expired(&d, 1999999000));
    assert_true(tokenstore_client_expired(&d, 1999999990));
    tokenstore_client_clear(&d);
    /* Another issuer has no registration, even one differing by a trailing slash. */
    check_err(tokenstore_client_load(f->ts, ISSUER "/", &d, &warning, &why), ERR_NOT_FOUND, &why);
    /* A file that names another issuer is never used for this one. */
    write_file(path, "{\"issuer\":\"https://evil.example\",\"client_id\":\"x\"}", 0600);
    check_err(tokenstore_client_load(f->ts, ISSUER, &d, &warning, &why), ERR_PARSE, &why);
    assert_int_equal(tokenstore_client_delete(f->ts, ISSUER, &why), 0);
    check_err(tokenstore_client_load(f->ts, ISSUER, &d, &warning, &why), ERR_NOT_FOUND, &why);
    tokenstore_client_clear(&c);
    free(path);
}

static void test_client_from_registration(void **state)
{
    static const char *ok = "{\"client_id\":\"test-client-id\",\"client_secret\":\"CS-SECRET\","
                            "\"client_name\":\"mcpzip\",\"redirect_uris\":"
                            "[\"http://127.0.0.1:5/cb\"],\"token_endpoint_auth_method\":"
                            "\"client_secret_basic\",\"client_secret_expires_at\":0}";
    struct tokenstore_client c;
    char *why = NULL;
    const char *other = "{\"client_id\":\"x\",\"redirect_uris\":[\"http://evil/cb\"]}";

    (void)state;
    assert_int_equal(tokenstore_client_from_registration(ok, strlen(ok), ISSUER,
                                                         "http://127.0.0.1:5/cb", &c, &why),
                     0);
    assert_string_equal(c.issuer, ISSUER);
    assert_string_equal(c.client_id, "test-client-id");
    assert_string_equal(c.client_secret, "CS-SECRET");
    assert_string_equal(c.redirect_uri, "http://127.0.0.1:5/cb");
    assert_string_equal(c.auth_method, "client_secret_basic");
    assert_int_equal(c.secret_expires_at, 0);
    assert_false(tokenstore_client_expired(&c, 4000000000LL));
    tokenstore_client_clear(&c);
    check_err(tokenstore_client_from_registration(other, strlen(other), ISSUER,
                                                  "http://127.0.0.1:5/cb", &c, &why),
              ERR_INVALID, &why);
    check_err(tokenstore_client_from_registration("{\"client_secret\":\"CS-SECRET\"}", 29, ISSUER,
                                                  "r", &c, &why),
              ERR_PARSE, &why);
    check_err(tokenstore_client_from_registration("{", 1, ISSUER, "r", &c, &why), ERR_PARSE, &why);
}

/* ---- the lock ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A forked child takes the lock, tells the parent through a pipe, holds it hold_ms, and exits
 * (or dies holding it when crash is set). Returns the child's pid.
 */
static pid_t child_holding_lock(struct fixture *f, int hold_ms, bool crash)
{
    int fds[2];
    char c;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct tokenstore_lock *lk;
        char *why = NULL;

        close(fds[0]);
        if (tokenstore_lock(f->ts, URL, 0, &lk, &why) != 0)
            _exit(2);
        if (write(fds[1], "L", 1) != 1)
            _exit(3);
        usleep((useconds_t)hold_ms * 1000);
        if (crash)
            kill(getpid(), SIGKILL);
        tokenstore_unlock(lk);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    return pid;
}

static void test_lock_contention_between_processes(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_lock *lk = NULL, *lk2 = NULL;
    char *why = NULL;
    int64_t t0;
    pid_t pid;
    int status;

    pid = child_holding_lock(f, 400, false);
    /* Held elsewhere: a short wait times out... */
    t0 = now_ms();
    check_err(tokenstore_lock(f->ts, URL, 50, &lk, &why), ERR_TIMEOUT, &why);
    assert_true(now_ms() - t0 >= 50);
    assert_true(now_ms() - t0 < 350);
    check_err(tokenstore_lock(f->ts, URL, 0, &lk, &why), ERR_TIMEOUT, &why);
    /* ...another server's lock is independent... */
    assert_int_equal(tokenstore_lock(f->ts, URL "/other", 0, &lk2, &why), 0);
    tokenstore_unlock(lk2);
    /* ...and a long enough wait gets it when the holder lets go. */
    assert_int_equal(tokenstore_lock(f->ts, URL, 5000, &lk, &why), 0);
    assert_true(now_ms() - t0 >= 300);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* While we hold it, a second descriptor (another thread) cannot take it either. */
    check_err(tokenstore_lock(f->ts, URL, 20, &lk2, &why), ERR_TIMEOUT, &why);
    tokenstore_unlock(lk);
    assert_int_equal(tokenstore_lock(f->ts, URL, 0, &lk, &why), 0);
    tokenstore_unlock(lk);
    tokenstore_unlock(NULL);
}

static void test_lock_released_when_holder_dies(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_lock *lk = NULL;
    char *why = NULL, *path;
    pid_t pid;
    int status;

    pid = child_holding_lock(f, 100, true);
    assert_int_equal(tokenstore_lock(f->ts, URL, 5000, &lk, &why), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    tokenstore_unlock(lk);
    path = path_in(f->dir, URL_HASH ".lock");
    assert_int_equal(mode_of(path), 0600);
    free(path);
}

/* ---- mcp-remote ---- */

/*
 * mcp-remote names its files <md5(server URL) in lowercase hex>_<name> (reference/oauth.md §3:
 * `crypto.createHash('md5').update(parts.join('|'))` where parts is just [serverUrl] without
 * --resource or --header). Derived by hand for https://example.com/mcp with
 * `printf %s 'https://example.com/mcp' | md5sum`, and matching the value oauth.md verified with
 * Node: 8724945d3c4865fe12d6890203193588.
 */
#define MR_HASH "8724945d3c4865fe12d6890203193588"

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};

    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void make_mr_dir(struct fixture *f, const char *version)
{
    char *d = path_in(f->mr, version);

    mkdir(f->mr, 0700);
    assert_int_equal(mkdir(d, 0700), 0);
    free(d);
}

static char *mr_file(struct fixture *f, const char *version, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s/%s", f->mr, version, name) < 0)
        abort();
    return p;
}

static void test_mcpremote_hash(void **state)
{
    char h[33];

    (void)state;
    tokenstore_mcpremote_hash(URL, h);
    assert_string_equal(h, MR_HASH);
}

static void test_mcpremote_reads_only_this_server(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens t;
    struct tokenstore_client c;
    char *why = NULL, *found = NULL, *p;

    make_mr_dir(f, "mcp-remote-0.1.37");
    make_mr_dir(f, "mcp-remote-v1");
    make_mr_dir(f, "unrelated");
    /* Decoys: another server's newer files in both stores, and this server's name in a
     * directory that is not mcp-remote's. None may ever be returned. */
    p = mr_file(f, "mcp-remote-0.1.37", "0123456789abcdef0123456789abcdef_tokens.json");
    write_file(p, "{\"access_token\":\"DECOY\",\"refresh_token\":\"DECOY\"}", 0600);
    set_mtime(p, 1790000000);
    free(p);
    p = mr_file(f, "mcp-remote-v1", "0123456789abcdef0123456789abcdef_tokens.json");
    write_file(p, "{\"access_token\":\"DECOY\"}", 0600);
    set_mtime(p, 1790000000);
    free(p);
    p = mr_file(f, "mcp-remote-v1", "0123456789abcdef0123456789abcdef_client_info.json");
    write_file(p, "{\"client_id\":\"DECOY\"}", 0600);
    free(p);
    p = mr_file(f, "unrelated", MR_HASH "_tokens.json");
    write_file(p, "{\"access_token\":\"DECOY\"}", 0600);
    set_mtime(p, 1790000000);
    free(p);
    /* The versioned store: relative expires_in, counted from the file's write time. */
    p = mr_file(f, "mcp-remote-0.1.37", MR_HASH "_tokens.json");
    write_file(p,
               "{\n  \"access_token\": \"AT-OLD\",\n  \"token_type\": \"Bearer\",\n"
               "  \"expires_in\": 3600,\n  \"refresh_token\": \"RT-OLD\",\n"
               "  \"scope\": \"openid\"\n}",
               0644);
    set_mtime(p, 1700000000);
    free(p);
    p = mr_file(f, "mcp-remote-0.1.37", MR_HASH "_client_info.json");
    write_file(p,
               "{\"redirect_uris\":[\"http://localhost:37931/oauth/callback\"],"
               "\"token_endpoint_auth_method\":\"none\",\"client_id\":\"mr-client\"}",
               0644);
    free(p);
    assert_int_equal(tokenstore_mcpremote_read(f->ts, URL, &t, &c, &found, &why), 0);
    assert_string_equal(t.access_token, "AT-OLD");
    assert_string_equal(t.refresh_token, "RT-OLD");
    assert_int_equal(t.expires_at, 1700000000 + 3600);
    assert_string_equal(t.scope, "openid");
    assert_null(t.issuer);
    assert_non_null(strstr(found, "mcp-remote-0.1.37/" MR_HASH "_tokens.json"));
    assert_string_equal(c.client_id, "mr-client");
    assert_null(c.client_secret);
    assert_null(c.issuer);
    assert_string_equal(c.redirect_uri, "http://localhost:37931/oauth/callback");
    assert_string_equal(c.auth_method, "none");
    /* mcp-remote's files are read as they are, never re-permissioned. */
    p = mr_file(f, "mcp-remote-0.1.37", MR_HASH "_tokens.json");
    assert_int_equal(mode_of(p), 0644);
    free(p);
    tokenstore_tokens_clear(&t);
    tokenstore_client_clear(&c);
    free(found);
    /* A newer file in mcp-remote-v1 (absolute expires_at in ms) wins; no client_info there. */
    p = mr_file(f, "mcp-remote-v1", MR_HASH "_tokens.json");
    write_file(p,
               "{\"access_token\":\"AT-NEW\",\"token_type\":\"Bearer\",\"expires_in\":60,"
               "\"expires_at\":1800000000000}",
               0600);
    set_mtime(p, 1750000000);
    free(p);
    assert_int_equal(tokenstore_mcpremote_read(f->ts, URL, &t, &c, &found, &why), 0);
    assert_string_equal(t.access_token, "AT-NEW");
    assert_int_equal(t.expires_at, 1800000000);
    assert_null(t.refresh_token);
    assert_null(c.client_id);
    assert_non_null(strstr(found, "mcp-remote-v1/"));
    tokenstore_tokens_clear(&t);
    free(found);
    /* Another URL (even one more slash) has no files. */
    check_err(tokenstore_mcpremote_read(f->ts, URL "/", &t, NULL, NULL, &why), ERR_NOT_FOUND, &why);
}

static void test_mcpremote_missing_and_corrupt(void **state)
{
    struct fixture *f = *state;
    struct tokenstore_tokens t;
    char *why = NULL, *p;

    check_err(tokenstore_mcpremote_read(f->ts, URL, &t, NULL, NULL, &why), ERR_NOT_FOUND, &why);
    make_mr_dir(f, "mcp-remote-0.1.30");
    check_err(tokenstore_mcpremote_read(f->ts, URL, &t, NULL, NULL, &why), ERR_NOT_FOUND, &why);
    p = mr_file(f, "mcp-remote-0.1.30", MR_HASH "_tokens.json");
    write_file(p, "{\"access_token\":\"AT-SECRET\",", 0600);
    check_err(tokenstore_mcpremote_read(f->ts, URL, &t, NULL, NULL, &why), ERR_PARSE, &why);
    assert_null(t.access_token);
    /* Without any expiry the expiry is unknown. */
    write_file(p, "{\"access_token\":\"AT\"}", 0600);
    assert_int_equal(tokenstore_mcpremote_read(f->ts, URL, &t, NULL, NULL, &why), 0);
    assert_int_equal(t.expires_at, 0);
    tokenstore_tokens_clear(&t);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paths_match_the_rust_mcpzip, setup, teardown),
        cmocka_unit_test(test_default_dir_honours_xdg),
        cmocka_unit_test_setup_teardown(test_round_trip_with_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_without_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions_fixed_with_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rust_mcpzip_file_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_files_are_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_empty, setup, teardown),
        cmocka_unit_test(test_expires_within),
        cmocka_unit_test(test_token_response),
        cmocka_unit_test(test_token_response_errors),
        cmocka_unit_test_setup_teardown(test_client_round_trip_per_issuer, setup, teardown),
        cmocka_unit_test(test_client_from_registration),
        cmocka_unit_test_setup_teardown(test_lock_contention_between_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_released_when_holder_dies, setup, teardown),
        cmocka_unit_test(test_mcpremote_hash),
        cmocka_unit_test_setup_teardown(test_mcpremote_reads_only_this_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcpremote_missing_and_corrupt, setup, teardown),
    };

    json_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
