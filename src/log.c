/*
 * log.c - leveled, redacting, line-atomic logging to stderr or a file; see log.h.
 */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "xmem.h"

#define LOG_LINE_MAX 8192

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level = LOG_LVL_WARN;
static FILE *log_file; /* NULL means stderr */

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

/* Key names whose values are secrets wherever they appear as key=value or "key":"value". */
static const char *const secret_keys[] = {
    "access_token", "refresh_token", "id_token",  "client_secret",      "code_verifier", "code",
    "password",     "api_key",       "apikey",    "client_assertion",   "assertion",     "token",
    "secret",       "private_key",   "x-api-key", "authorization_code",
};

int log_init(const char *level_name, const char *path, char **why)
{
    size_t i;

    if (level_name != NULL && *level_name != '\0') {
        for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
            if (strcasecmp(level_name, level_names[i]) == 0)
                break;
        if (i == sizeof(level_names) / sizeof(level_names[0])) {
            *why = xasprintf("unknown log level '%s' (use error, warn, info, debug or trace)",
                             level_name);
            return -1;
        }
        log_level = (enum log_level)i;
    }
    if (path != NULL) {
        FILE *f = fopen(path, "ae");

        if (f == NULL) {
            *why = xasprintf("cannot open log file %s: %s", path, strerror(errno));
            return -1;
        }
        setvbuf(f, NULL, _IOLBF, 0);
        log_file = f;
    }
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (log_file != NULL)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_mu);
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

int log_enabled(enum log_level level)
{
    return level <= log_level;
}

/* Returns the length of the secret key that starts at p, or 0. Keys start at a word boundary. */
static size_t match_key(const char *start, const char *p)
{
    size_t i, n;

    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-'))
        return 0;
    for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
        n = strlen(secret_keys[i]);
        if (strncasecmp(p, secret_keys[i], n) == 0 &&
            !(isalnum((unsigned char)p[n]) || p[n] == '_'))
            return n;
    }
    return 0;
}

/* Header names whose value is a credential, matched as "Name:" at a word start. */
static const char *const secret_headers[] = {
    "authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie",
};

/* Returns the length of a secret header name (before its colon) at p, or 0. */
static size_t header_key(const char *start, const char *p)
{
    size_t i, n;

    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '-' || p[-1] == '_'))
        return 0;
    for (i = 0; i < sizeof(secret_headers) / sizeof(secret_headers[0]); i++) {
        n = strlen(secret_headers[i]);
        if (strncasecmp(p, secret_headers[i], n) == 0 && p[n] == ':')
            return n;
    }
    return 0;
}

/* "Basic" is also an English word: redact what follows only when it looks like base64. */
static int credential_like(const char *p)
{
    size_t n = 0;
    int digits_or_sym = 0;

    for (; p[n] != '\0' && !isspace((unsigned char)p[n]) && p[n] != '"' && p[n] != '\''; n++) {
        if (!isalnum((unsigned char)p[n]) && p[n] != '+' && p[n] != '/' && p[n] != '=')
            return 0;
        if (!isalpha((unsigned char)p[n]))
            digits_or_sym = 1;
    }
    return n >= 12 || (n >= 4 && digits_or_sym);
}

/* Appends s (len bytes) to out at *o, never past outsz-1. */
static void put(char *out, size_t outsz, size_t *o, const char *s, size_t len)
{
    while (len-- > 0 && *o + 1 < outsz)
        out[(*o)++] = *s++;
}

char *log_redact(const char *in, char *out, size_t outsz)
{
    static const char red[] = "[redacted]";
    const char *p = in;
    size_t o = 0, k;

    if (outsz == 0)
        return out;
    while (*p != '\0' && o + 1 < outsz) {
        k = header_key(in, p);
        if (k > 0) {
            /* A header line: everything after the colon is the credential. */
            put(out, outsz, &o, p, k + 1);
            put(out, outsz, &o, " ", 1);
            put(out, outsz, &o, red, sizeof(red) - 1);
            p += strcspn(p, "\r\n");
            continue;
        }
        if ((strncasecmp(p, "bearer ", 7) == 0 ||
             (strncasecmp(p, "basic ", 6) == 0 && credential_like(p + 6))) &&
            (p == in || !isalnum((unsigned char)p[-1]))) {
            size_t n = (p[1] == 'e' || p[1] == 'E') ? 7 : 6;

            put(out, outsz, &o, p, n);
            put(out, outsz, &o, red, sizeof(red) - 1);
            p += n;
            p += strcspn(p, " \t\r\n\"',;");
            continue;
        }
        k = match_key(in, p);
        if (k > 0) {
            const char *q = p + k;

            if (*q == '=') {
                put(out, outsz, &o, p, k + 1);
                put(out, outsz, &o, red, sizeof(red) - 1);
                p = q + 1 + strcspn(q + 1, "& \t\r\n\"'");
                continue;
            }
            if (*q == '"' || *q == '\'') {
                /* JSON form: "key" : "value" (value quoted; numbers are not secrets). */
                const char *v = q + 1;

                while (*v == ' ' || *v == '\t')
                    v++;
                if (*v == ':') {
                    v++;
                    while (*v == ' ' || *v == '\t')
                        v++;
                    if (*v == '"') {
                        put(out, outsz, &o, p, (size_t)(v + 1 - p));
                        put(out, outsz, &o, red, sizeof(red) - 1);
                        v++;
                        while (*v != '\0' && *v != '"') {
                            if (*v == '\\' && v[1] != '\0')
                                v++;
                            v++;
                        }
                        p = v;
                        continue;
                    }
                }
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

static void timestamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);

    snprintf(buf + len, n - len, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
    char *raw, *clean, ts[32];
    va_list ap;
    size_t i;
    FILE *f;

    if (level > log_level)
        return;
    /* On the heap, not the stack: every thread logs, and each page a thread's stack ever
     * touches stays resident for as long as the thread lives. */
    raw = xmalloc(LOG_LINE_MAX);
    clean = xmalloc(LOG_LINE_MAX);
    va_start(ap, fmt);
    vsnprintf(raw, LOG_LINE_MAX, fmt, ap);
    va_end(ap);
    log_redact(raw, clean, LOG_LINE_MAX);
    /* Control characters from peers would let them forge log lines or move the cursor. */
    for (i = 0; clean[i] != '\0'; i++)
        if ((unsigned char)clean[i] < 0x20 && clean[i] != '\t')
            clean[i] = ' ';
    timestamp(ts, sizeof(ts));
    pthread_mutex_lock(&log_mu);
    f = log_file != NULL ? log_file : stderr;
    fprintf(f, "%s mcpzip[%d] %-5s %s: %s\n", ts, (int)getpid(), level_names[level], tag, clean);
    fflush(f);
    pthread_mutex_unlock(&log_mu);
    free(raw);
    free(clean);
}
