/*
 * tokenstore.c - token and client files, permissions, the refresh lock, mcp-remote reuse; see
 * tokenstore.h.
 *
 * Files are opened with O_NOFOLLOW and checked with fstat on the open descriptor, and
 * permissions are fixed with fchmod on that same descriptor, so a file swapped under us between
 * the check and the use cannot redirect a read or a chmod.
 */
#include "tokenstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "md5.h"
#include "xmem.h"

#define CONFIG_SUBDIR "compressed-mcp-proxy"
#define HASH_HEX 32
#define MAX_MCPREMOTE_DIRS 256
/* Expiries beyond this are treated as milliseconds (mcp-remote's expires_at) or nonsense. */
#define MAX_SECONDS 100000000000LL
/* A token lifetime longer than ten years is not believed; the expiry is then unknown. */
#define MAX_LIFETIME (10LL * 365 * 24 * 3600)

struct tokenstore {
    char *dir;
    char *mcpremote_dir;
};

struct tokenstore_lock {
    int fd;
};

/* ---- paths ---- */

struct tokenstore *tokenstore_new(const char *dir, const char *mcp_remote_dir)
{
    struct tokenstore *ts = xcalloc(1, sizeof(*ts));
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const char *mr = getenv("MCP_REMOTE_CONFIG_DIR");

    if (home == NULL || *home == '\0')
        home = ".";
    if (dir != NULL)
        ts->dir = xstrdup(dir);
    else if (xdg != NULL && *xdg == '/') /* relative values are ignored, as the spec says */
        ts->dir = xasprintf("%s/%s/auth", xdg, CONFIG_SUBDIR);
    else
        ts->dir = xasprintf("%s/.config/%s/auth", home, CONFIG_SUBDIR);
    if (mcp_remote_dir != NULL)
        ts->mcpremote_dir = xstrdup(mcp_remote_dir);
    else if (mr != NULL && *mr != '\0')
        ts->mcpremote_dir = xstrdup(mr);
    else
        ts->mcpremote_dir = xasprintf("%s/.mcp-auth", home);
    return ts;
}

void tokenstore_free(struct tokenstore *ts)
{
    if (ts == NULL)
        return;
    free(ts->dir);
    free(ts->mcpremote_dir);
    free(ts);
}

const char *tokenstore_dir(const struct tokenstore *ts)
{
    return ts->dir;
}

/* Returns <dir>/<prefix><hash of key><suffix>. */
static char *hashed_path(const struct tokenstore *ts, const char *prefix, const char *key,
                         const char *suffix)
{
    char hex[HASH_HEX + 1];

    fsutil_sha256_hex(key, strlen(key), hex, HASH_HEX);
    return xasprintf("%s/%s%s%s", ts->dir, prefix, hex, suffix);
}

char *tokenstore_token_path(const struct tokenstore *ts, const char *server_url)
{
    return hashed_path(ts, "", server_url, ".json");
}

char *tokenstore_client_path(const struct tokenstore *ts, const char *issuer)
{
    return hashed_path(ts, "client-", issuer, ".json");
}

/* ---- permissions and bounded reads ---- */

static void add_warning(char **warning, char *msg)
{
    char *joined;

    if (*warning == NULL) {
        *warning = msg;
        return;
    }
    joined = xasprintf("%s; %s", *warning, msg);
    free(*warning);
    free(msg);
    *warning = joined;
}

/*
 * Makes sure the auth directory exists, belongs to us and has mode 0700 (creating it, or
 * narrowing it with a warning). Returns 0 or ERR_IO.
 */
static int ensure_dir(const struct tokenstore *ts, bool create, char **warning, char **why)
{
    struct stat st;
    int fd, rc = ERR_IO;

    if (create && fsutil_mkdirs(ts->dir, 0700, why) != 0)
        return ERR_IO;
    fd = open(ts->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *why = xasprintf("cannot open %s: %s", ts->dir, strerror(errno));
        return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        *why = xasprintf("cannot inspect %s: %s", ts->dir, strerror(errno));
        goto out;
    }
    if (st.st_uid != geteuid()) {
        *why = xasprintf("%s belongs to another user; refusing to keep tokens there", ts->dir);
        goto out;
    }
    if ((st.st_mode & 07777) != 0700) {
        if (fchmod(fd, 0700) != 0) {
            *why = xasprintf("%s has mode %04o and cannot be changed to 0700: %s", ts->dir,
                             (unsigned)(st.st_mode & 07777), strerror(errno));
            goto out;
        }
        add_warning(warning, xasprintf("%s had mode %04o; changed to 0700", ts->dir,
                                       (unsigned)(st.st_mode & 07777)));
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/*
 * Reads a file of ours (or of mcp-remote when !ours) at most TOKENSTORE_MAX_FILE bytes:
 * regular, not a symlink, owned by us. When ours, permissions wider than 0600 are narrowed
 * with a warning. *mtime (may be NULL) gets the modification time. Returns 0, ERR_NOT_FOUND,
 * ERR_TOO_BIG or ERR_IO with *why.
 */
static int read_private(const char *path, bool ours, char **data, size_t *len, int64_t *mtime,
                        char **warning, char **why)
{
    struct stat st;
    size_t got = 0;
    char *buf = NULL;
    ssize_t n;
    int fd, rc = ERR_IO;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *why = xasprintf("%s does not exist", path);
            return ERR_NOT_FOUND;
        }
        *why = xasprintf("cannot open %s: %s", path,
                         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        return ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = xasprintf("%s is not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        *why = xasprintf("%s belongs to another user; refusing to use it", path);
        goto out;
    }
    if (ours && (st.st_mode & 07777) != 0600) {
        if (fchmod(fd, 0600) != 0) {
            *why = xasprintf("%s has mode %04o and cannot be changed to 0600: %s", path,
                             (unsigned)(st.st_mode & 07777), strerror(errno));
            goto out;
        }
        add_warning(warning, xasprintf("%s had mode %04o; changed to 0600", path,
                                       (unsigned)(st.st_mode & 07777)));
    }
    if (st.st_size > TOKENSTORE_MAX_FILE) {
        *why = xasprintf("%s is larger than %d bytes", path, TOKENSTORE_MAX_FILE);
        rc = ERR_TOO_BIG;
        goto out;
    }
    buf = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *why = xasprintf("cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (mtime != NULL)
        *mtime = (int64_t)st.st_mtim.tv_sec;
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    if (buf != NULL) {
        explicit_bzero(buf, got);
        free(buf);
    }
    close(fd);
    return rc;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Writes the JSON object j to path (0600, atomically), after ensuring the directory. */
static int write_private(const struct tokenstore *ts, const char *path, const cJSON *j,
                         char **warning, char **why)
{
    char *text;
    int rc;

    rc = ensure_dir(ts, true, warning, why);
    if (rc != 0)
        return rc;
    text = cJSON_Print(j);
    if (text == NULL)
        abort(); /* cJSON allocates through xmalloc when json_init() was called */
    rc = fsutil_write_atomic(path, text, strlen(text), 0600, why);
    wipe_free(text);
    return rc;
}

static int delete_file(const char *path, char **why)
{
    if (unlink(path) != 0 && errno != ENOENT) {
        *why = xasprintf("cannot delete %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    return 0;
}

/* ---- field access with type checks ---- */

/* Copies the optional string member key of j into *dst. Returns false (with *why naming the
 * file and field) when the member exists and is not a string. */
static bool get_opt_str(const cJSON *j, const char *key, const char *path, char **dst, char **why)
{
    const cJSON *v = json_get(j, key);

    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsString(v)) {
        *why = xasprintf("%s: \"%s\" is not a string", path, key);
        return false;
    }
    if (v->valuestring[0] != '\0')
        *dst = xstrdup(v->valuestring);
    return true;
}

/* Reads an optional number member, also accepted as a string of digits (some servers send
 * expires_in that way). Returns false when present but not a non-negative number. */
static bool get_opt_num(const cJSON *j, const char *key, const char *path, double *dst,
                        bool *present, char **why)
{
    const cJSON *v = json_get(j, key);
    char *end = NULL;
    double d;

    *present = false;
    if (v == NULL || cJSON_IsNull(v))
        return true;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        d = strtod(v->valuestring, &end);
        if (*end != '\0')
            goto bad;
    } else {
        goto bad;
    }
    if (!(d >= 0 && d < 1e15))
        goto bad;
    *dst = d;
    *present = true;
    return true;
bad:
    *why = xasprintf("%s: \"%s\" is not a valid number", path, key);
    return false;
}

/* Returns an absolute expiry in seconds from a stored expires_at: values that can only be
 * milliseconds (mcp-remote's, or a Rust mcpzip that used them) are converted. */
static int64_t seconds_from_stored(double v)
{
    if (v >= (double)MAX_SECONDS)
        v /= 1000;
    return (int64_t)v;
}

/* ---- tokens ---- */

void tokenstore_tokens_clear(struct tokenstore_tokens *t)
{
    if (t == NULL)
        return;
    wipe_free(t->access_token);
    wipe_free(t->refresh_token);
    free(t->token_type);
    free(t->scope);
    free(t->issuer);
    free(t->resource);
    memset(t, 0, sizeof(*t));
}

/* Frees j after overwriting its secret string members key1 and key2 (may be NULL):
 * cJSON_Delete() does not wipe what it frees. j may be NULL. */
static void wipe_delete(cJSON *j, const char *key1, const char *key2)
{
    const char *keys[2] = {key1, key2};

    for (int i = 0; i < 2 && j != NULL; i++) {
        const cJSON *m = keys[i] != NULL ? json_get(j, keys[i]) : NULL;

        if (cJSON_IsString(m))
            explicit_bzero(m->valuestring, strlen(m->valuestring));
    }
    cJSON_Delete(j);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

bool tokenstore_expires_within(const struct tokenstore_tokens *t, int64_t now, int64_t seconds)
{
    return t->expires_at > 0 && t->expires_at - now <= seconds;
}

/* Fills t from a parsed token object (ours, the Rust mcpzip's, or mcp-remote's). */
static int tokens_from_json(const cJSON *j, const char *path, struct tokenstore_tokens *t,
                            char **why)
{
    double d;
    bool present;

    memset(t, 0, sizeof(*t));
    if (!get_opt_str(j, "access_token", path, &t->access_token, why) ||
        !get_opt_str(j, "token_type", path, &t->token_type, why) ||
        !get_opt_str(j, "refresh_token", path, &t->refresh_token, why) ||
        !get_opt_str(j, "scope", path, &t->scope, why) ||
        !get_opt_str(j, "issuer", path, &t->issuer, why) ||
        !get_opt_str(j, "resource", path, &t->resource, why) ||
        !get_opt_num(j, "expires_at", path, &d, &present, why))
        goto bad;
    if (present)
        t->expires_at = seconds_from_stored(d);
    if (t->access_token == NULL) {
        *why = xasprintf("%s has no access_token", path);
        goto bad;
    }
    if (t->token_type == NULL)
        t->token_type = xstrdup("Bearer");
    return 0;
bad:
    tokenstore_tokens_clear(t);
    return ERR_PARSE;
}

/* Reads and parses the JSON object at path (see read_private). On a parse error the message
 * names the file and the byte, never its content. */
static int load_json(const char *path, bool ours, cJSON **out, int64_t *mtime, char **warning,
                     char **why)
{
    size_t len = 0, errpos = 0;
    char *text = NULL;
    cJSON *j;
    int rc;

    rc = read_private(path, ours, &text, &len, mtime, warning, why);
    if (rc != 0)
        return rc;
    j = json_parse(text, len, &errpos);
    explicit_bzero(text, len);
    free(text);
    if (j == NULL || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        *why = xasprintf("%s is corrupt (%s at byte %zu)%s", path,
                         j == NULL ? "invalid JSON" : "not a JSON object", errpos,
                         ours ? "; delete it or run `mcpzip auth login` for the server" : "");
        return ERR_PARSE;
    }
    *out = j;
    return 0;
}

/* Appends a hint on how to recover to a message about a corrupt file of ours. */
static void hint_corrupt(char **why)
{
    char *s = xasprintf("%s; delete the file or run `mcpzip auth login` for the server", *why);

    free(*why);
    *why = s;
}

int tokenstore_load(const struct tokenstore *ts, const char *server_url,
                    struct tokenstore_tokens *out, char **warning, char **why)
{
    char *path = tokenstore_token_path(ts, server_url);
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    /* The directory is checked (and its mode fixed) before any file in it is trusted. */
    rc = ensure_dir(ts, false, warning, why);
    if (rc == ERR_NOT_FOUND) {
        free(*why);
        *why = xstrdup("no tokens stored for this server");
    }
    if (rc != 0)
        goto out;
    rc = load_json(path, true, &j, NULL, warning, why);
    if (rc == ERR_NOT_FOUND) {
        free(*why);
        *why = xstrdup("no tokens stored for this server");
    }
    if (rc != 0)
        goto out;
    rc = tokens_from_json(j, path, out, why);
    if (rc != 0)
        hint_corrupt(why);
out:
    cJSON_Delete(j);
    free(path);
    return rc;
}

static void add_str(cJSON *j, const char *key, const char *v)
{
    if (v != NULL)
        cJSON_AddStringToObject(j, key, v);
}

int tokenstore_save(const struct tokenstore *ts, const char *server_url,
                    const struct tokenstore_tokens *t, char **warning, char **why)
{
    char *path;
    cJSON *j;
    int rc;

    if (t->access_token == NULL || t->access_token[0] == '\0') {
        *why = xstrdup("refusing to store tokens without an access token");
        return ERR_INVALID;
    }
    j = cJSON_CreateObject();
    add_str(j, "access_token", t->access_token);
    add_str(j, "token_type", t->token_type != NULL ? t->token_type : "Bearer");
    add_str(j, "refresh_token", t->refresh_token);
    if (t->expires_at > 0)
        cJSON_AddNumberToObject(j, "expires_at", (double)t->expires_at);
    add_str(j, "scope", t->scope);
    add_str(j, "issuer", t->issuer);
    add_str(j, "resource", t->resource);
    path = tokenstore_token_path(ts, server_url);
    rc = write_private(ts, path, j, warning, why);
    wipe_delete(j, "access_token", "refresh_token");
    free(path);
    return rc;
}

int tokenstore_delete(const struct tokenstore *ts, const char *server_url, char **why)
{
    char *path = tokenstore_token_path(ts, server_url);
    int rc = delete_file(path, why);

    free(path);
    return rc;
}

int tokenstore_tokens_from_response(const char *body, size_t len, int64_t now,
                                    const char *requested_scope,
                                    const struct tokenstore_tokens *prev,
                                    struct tokenstore_tokens *out, char **why)
{
    static const char what[] = "the token endpoint's response";
    size_t errpos = 0;
    cJSON *j;
    char *code;
    double expires_in = 0;
    bool present = false;
    int rc = ERR_PARSE;

    memset(out, 0, sizeof(*out));
    if (len > TOKENSTORE_MAX_FILE) {
        *why = xasprintf("%s is larger than %d bytes", what, TOKENSTORE_MAX_FILE);
        return ERR_TOO_BIG;
    }
    code = tokenstore_oauth_error(body, len);
    if (code != NULL) {
        *why = xasprintf("the token endpoint refused: %s", code);
        free(code);
        return ERR_INVALID;
    }
    j = json_parse(body, len, &errpos);
    if (j == NULL || !cJSON_IsObject(j)) {
        *why = xasprintf("%s is not a JSON object (error at byte %zu)", what, errpos);
        goto out;
    }
    if (!get_opt_str(j, "access_token", what, &out->access_token, why) ||
        !get_opt_str(j, "token_type", what, &out->token_type, why) ||
        !get_opt_str(j, "refresh_token", what, &out->refresh_token, why) ||
        !get_opt_str(j, "scope", what, &out->scope, why) ||
        !get_opt_num(j, "expires_in", what, &expires_in, &present, why))
        goto out;
    if (out->access_token == NULL) {
        *why = xasprintf("%s has no access_token", what);
        goto out;
    }
    rc = ERR_INVALID;
    /* RFC 6749 §5.1: token_type is case-insensitive. Other types (DPoP, MAC) need proofs we do
     * not make. A missing type is taken as Bearer, which is all servers issue in practice. */
    if (out->token_type != NULL && strcasecmp(out->token_type, "Bearer") != 0) {
        *why = xasprintf("the token endpoint issued a token of type %.40s; only Bearer is "
                         "supported",
                         out->token_type);
        goto out;
    }
    free(out->token_type);
    out->token_type = xstrdup("Bearer");
    if (present && expires_in > 0 && expires_in <= (double)MAX_LIFETIME)
        out->expires_at = now + (int64_t)expires_in;
    if (out->refresh_token == NULL && prev != NULL)
        out->refresh_token = dup_or_null(prev->refresh_token);
    if (out->scope == NULL)
        out->scope = dup_or_null(requested_scope);
    rc = 0;
out:
    wipe_delete(j, "access_token", "refresh_token");
    if (rc != 0)
        tokenstore_tokens_clear(out);
    return rc;
}

char *tokenstore_oauth_error(const char *body, size_t len)
{
    cJSON *j;
    const char *e;
    char *out = NULL;
    size_t i;

    if (body == NULL || len > TOKENSTORE_MAX_FILE)
        return NULL;
    j = json_parse(body, len, NULL);
    e = json_get_str(j, "error");
    /* RFC 6749 §5.2: error codes are %x20-21 / %x23-5B / %x5D-7E; anything else is not one
     * and could be a reflected secret, so it is not returned. */
    if (e != NULL && *e != '\0' && strlen(e) <= 64) {
        for (i = 0; e[i] != '\0'; i++)
            if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] > 0x7e || e[i] == '"' ||
                e[i] == '\\')
                break;
        if (e[i] == '\0')
            out = xstrdup(e);
    }
    cJSON_Delete(j);
    return out;
}

/* ---- clients ---- */

void tokenstore_client_clear(struct tokenstore_client *c)
{
    if (c == NULL)
        return;
    free(c->issuer);
    free(c->client_id);
    wipe_free(c->client_secret);
    free(c->redirect_uri);
    free(c->auth_method);
    memset(c, 0, sizeof(*c));
}

bool tokenstore_client_expired(const struct tokenstore_client *c, int64_t now)
{
    return c->secret_expires_at > 0 && c->secret_expires_at - now <= 60;
}

/* Fills c from a client object (ours, a registration response, or mcp-remote's client_info). */
static int client_from_json(const cJSON *j, const char *path, struct tokenstore_client *c,
                            char **why)
{
    const cJSON *uris;
    double d;
    bool present;

    if (!get_opt_str(j, "issuer", path, &c->issuer, why) ||
        !get_opt_str(j, "client_id", path, &c->client_id, why) ||
        !get_opt_str(j, "client_secret", path, &c->client_secret, why) ||
        !get_opt_str(j, "redirect_uri", path, &c->redirect_uri, why) ||
        !get_opt_str(j, "token_endpoint_auth_method", path, &c->auth_method, why) ||
        !get_opt_num(j, "client_secret_expires_at", path, &d, &present, why))
        goto bad;
    if (present)
        c->secret_expires_at = seconds_from_stored(d);
    if (c->redirect_uri == NULL) {
        uris = json_get_arr(j, "redirect_uris");
        if (cJSON_IsString(cJSON_GetArrayItem(uris, 0)))
            c->redirect_uri = xstrdup(cJSON_GetArrayItem(uris, 0)->valuestring);
    }
    if (c->client_id == NULL) {
        *why = xasprintf("%s has no client_id", path);
        goto bad;
    }
    return 0;
bad:
    tokenstore_client_clear(c);
    return ERR_PARSE;
}

int tokenstore_client_load(const struct tokenstore *ts, const char *issuer,
                           struct tokenstore_client *out, char **warning, char **why)
{
    char *path = tokenstore_client_path(ts, issuer);
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = load_json(path, true, &j, NULL, warning, why);
    if (rc != 0)
        goto out;
    rc = client_from_json(j, path, out, why);
    if (rc == 0 && (out->issuer == NULL || strcmp(out->issuer, issuer) != 0)) {
        /* A registration must never be used with another AS (oauth.md §1 item 19). */
        tokenstore_client_clear(out);
        *why = xasprintf("%s is not a registration at %s", path, issuer);
        rc = ERR_PARSE;
    }
    if (rc != 0)
        hint_corrupt(why);
out:
    cJSON_Delete(j);
    free(path);
    return rc;
}

int tokenstore_client_save(const struct tokenstore *ts, const struct tokenstore_client *c,
                           char **warning, char **why)
{
    char *path;
    cJSON *j;
    int rc;

    if (c->issuer == NULL || c->client_id == NULL) {
        *why = xstrdup("refusing to store a client registration without issuer or client_id");
        return ERR_INVALID;
    }
    j = cJSON_CreateObject();
    add_str(j, "issuer", c->issuer);
    add_str(j, "client_id", c->client_id);
    add_str(j, "client_secret", c->client_secret);
    add_str(j, "redirect_uri", c->redirect_uri);
    add_str(j, "token_endpoint_auth_method", c->auth_method);
    if (c->secret_expires_at > 0)
        cJSON_AddNumberToObject(j, "client_secret_expires_at", (double)c->secret_expires_at);
    path = tokenstore_client_path(ts, c->issuer);
    rc = write_private(ts, path, j, warning, why);
    wipe_delete(j, "client_secret", NULL);
    free(path);
    return rc;
}

int tokenstore_client_delete(const struct tokenstore *ts, const char *issuer, char **why)
{
    char *path = tokenstore_client_path(ts, issuer);
    int rc = delete_file(path, why);

    free(path);
    return rc;
}

int tokenstore_client_from_registration(const char *body, size_t len, const char *issuer,
                                        const char *redirect_uri, struct tokenstore_client *out,
                                        char **why)
{
    static const char what[] = "the registration response";
    const cJSON *uris, *it;
    cJSON *j;
    bool found = false;
    size_t errpos = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > TOKENSTORE_MAX_FILE) {
        *why = xasprintf("%s is larger than %d bytes", what, TOKENSTORE_MAX_FILE);
        return ERR_TOO_BIG;
    }
    j = json_parse(body, len, &errpos);
    if (j == NULL || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        *why = xasprintf("%s is not a JSON object (error at byte %zu)", what, errpos);
        return ERR_PARSE;
    }
    rc = client_from_json(j, what, out, why);
    if (rc != 0)
        goto out;
    uris = json_get_arr(j, "redirect_uris");
    cJSON_ArrayForEach (it, uris)
        if (cJSON_IsString(it) && strcmp(it->valuestring, redirect_uri) == 0)
            found = true;
    if (uris != NULL && !found) {
        *why = xasprintf("the authorization server did not register the redirect URI %s",
                         redirect_uri);
        tokenstore_client_clear(out);
        rc = ERR_INVALID;
        goto out;
    }
    free(out->issuer);
    out->issuer = xstrdup(issuer);
    free(out->redirect_uri);
    out->redirect_uri = xstrdup(redirect_uri);
out:
    wipe_delete(j, "client_secret", NULL);
    return rc;
}

/* ---- the lock ---- */

int tokenstore_lock(const struct tokenstore *ts, const char *server_url, int timeout_ms,
                    struct tokenstore_lock **out, char **why)
{
    struct timespec start, now, pause = {0, 0};
    char *path = NULL, *ignore = NULL;
    long waited_ms, step_ms = 5;
    int fd = -1, rc;

    rc = ensure_dir(ts, true, &ignore, why);
    free(ignore); /* the next token write reports the permissions */
    if (rc != 0)
        return rc;
    path = hashed_path(ts, "", server_url, ".lock");
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        *why = xasprintf("cannot open %s: %s", path, strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            *why = xasprintf("cannot lock %s: %s", path, strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited_ms >= timeout_ms) {
            *why = xasprintf("another mcpzip process kept this server's tokens locked (%s) for "
                             "%d ms",
                             path, timeout_ms);
            rc = ERR_TIMEOUT;
            goto out;
        }
        /* Polling, backing off to 50 ms: a refresh takes one HTTP round trip, and a blocking
         * flock could not honour the timeout without signals. */
        if (step_ms > timeout_ms - waited_ms)
            step_ms = timeout_ms - waited_ms;
        pause.tv_nsec = step_ms * 1000000;
        nanosleep(&pause, NULL);
        step_ms = step_ms * 2 > 50 ? 50 : step_ms * 2;
    }
    *out = xmalloc(sizeof(**out));
    (*out)->fd = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

void tokenstore_unlock(struct tokenstore_lock *lk)
{
    if (lk == NULL)
        return;
    /* Closing the only descriptor of the open file description releases the flock. */
    close(lk->fd);
    free(lk);
}

/* ---- mcp-remote ---- */

void tokenstore_mcpremote_hash(const char *server_url, char out[33])
{
    md5_hex(server_url, strlen(server_url), out);
}

/* Reads mcp-remote's token file at path into t; *mtime gets its modification time. */
static int mcpremote_tokens(const char *path, struct tokenstore_tokens *t, int64_t *mtime,
                            char **why)
{
    cJSON *j = NULL;
    char *ignore = NULL;
    double d = 0;
    bool present = false;
    int rc;

    rc = load_json(path, false, &j, mtime, &ignore, why);
    free(ignore);
    if (rc != 0)
        return rc;
    /* Its fields: access_token, token_type, expires_in (relative), refresh_token, scope,
     * id_token; the newer store adds expires_at in milliseconds. */
    rc = tokens_from_json(j, path, t, why);
    if (rc == 0 && t->expires_at == 0) {
        if (!get_opt_num(j, "expires_in", path, &d, &present, why)) {
            tokenstore_tokens_clear(t);
            rc = ERR_PARSE;
        } else if (present && d > 0 && d <= (double)MAX_LIFETIME) {
            /* Written when the token response arrived, so the file time is the issue time. */
            t->expires_at = *mtime + (int64_t)d;
        }
    }
    cJSON_Delete(j);
    return rc;
}

int tokenstore_mcpremote_read(const struct tokenstore *ts, const char *server_url,
                              struct tokenstore_tokens *tokens, struct tokenstore_client *client,
                              char **found, char **why)
{
    char hash[33], *path = NULL, *best = NULL, *ignore = NULL, *err = NULL;
    struct tokenstore_tokens t;
    int64_t mtime = 0, best_mtime = 0;
    struct dirent *de;
    cJSON *j = NULL;
    DIR *d;
    int n = 0, rc = ERR_NOT_FOUND, r;

    memset(tokens, 0, sizeof(*tokens));
    if (client != NULL)
        memset(client, 0, sizeof(*client));
    if (found != NULL)
        *found = NULL;
    tokenstore_mcpremote_hash(server_url, hash);
    d = opendir(ts->mcpremote_dir);
    if (d == NULL) {
        *why = xasprintf("no mcp-remote directory %s", ts->mcpremote_dir);
        return ERR_NOT_FOUND;
    }
    /* Only directory names are listed here; the one file opened in each is this server's. */
    while ((de = readdir(d)) != NULL && n++ < MAX_MCPREMOTE_DIRS) {
        if (strncmp(de->d_name, "mcp-remote-", 11) != 0 || strchr(de->d_name, '/') != NULL)
            continue;
        path = xasprintf("%s/%s/%s_tokens.json", ts->mcpremote_dir, de->d_name, hash);
        r = mcpremote_tokens(path, &t, &mtime, &ignore);
        if (r == 0 && (best == NULL || mtime > best_mtime)) {
            tokenstore_tokens_clear(tokens);
            *tokens = t;
            free(best);
            best = path;
            path = NULL;
            best_mtime = mtime;
            rc = 0;
        } else {
            if (r == 0)
                tokenstore_tokens_clear(&t);
            else if (r != ERR_NOT_FOUND && err == NULL) {
                /* Report a broken file only if no usable one turns up. */
                err = ignore;
                ignore = NULL;
                rc = r;
            }
        }
        free(ignore);
        ignore = NULL;
        free(path);
        path = NULL;
    }
    closedir(d);
    if (best == NULL) {
        if (err != NULL)
            *why = err;
        else
            *why =
                xasprintf("mcp-remote has no tokens for this server under %s", ts->mcpremote_dir);
        return err != NULL ? rc : ERR_NOT_FOUND;
    }
    free(err);
    if (client != NULL) {
        /* <dir>/<hash>_tokens.json → <dir>/<hash>_client_info.json; a missing or broken one
         * only means the flow registers a client of its own. */
        path =
            xasprintf("%.*s_client_info.json", (int)(strlen(best) - strlen("_tokens.json")), best);
        if (load_json(path, false, &j, NULL, &ignore, &err) == 0 &&
            client_from_json(j, path, client, &err) != 0)
            tokenstore_client_clear(client);
        free(err);
        free(ignore);
        cJSON_Delete(j);
        free(path);
        free(client->issuer); /* whatever it says, mcp-remote never recorded the issuer */
        client->issuer = NULL;
    }
    if (found != NULL)
        *found = best;
    else
        free(best);
    return 0;
}
