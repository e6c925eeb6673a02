/*
 * jsonfile.c - user-owned JSON files: read, print like JavaScript, save atomically, back up,
 * diff; see jsonfile.h.
 */
#include "jsonfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "xmem.h"

#define DIFF_CONTEXT 3
/* Above this many cells the middle of a diff is shown as one replacement, not an LCS. */
#define DIFF_MAX_CELLS (4u * 1000u * 1000u)

/* Line:column (1-based) of a byte offset, for parse errors a user can find. */

int jsonfile_open(const char *path, mode_t new_mode, struct jsonfile **out, char **why)
{
    struct jsonfile *jf = xcalloc(1, sizeof(*jf));
    struct stat st;
    size_t errpos = 0, line, col;
    char *real;
    int rc;

    jf->path = xstrdup(path);
    jf->mode = new_mode;
    jf->newline = true;
    /* Writing through a symlink must replace its target, not the link (dotfile managers). */
    real = realpath(path, NULL);
    jf->target = real != NULL ? real : xstrdup(path);
    rc = fsutil_read_file(jf->target, JSONFILE_MAX_BYTES, &jf->text, &jf->len, why);
    if (rc == ERR_NOT_FOUND) {
        free(*why);
        *why = NULL;
        *out = jf;
        return 0;
    }
    if (rc != 0)
        goto fail;
    jf->exists = true;
    if (stat(jf->target, &st) == 0)
        jf->mode = st.st_mode & 07777;
    jf->newline = jf->len > 0 && jf->text[jf->len - 1] == '\n';
    jf->root = json_parse(jf->text, jf->len, &errpos);
    if (jf->root == NULL) {
        json_position(jf->text, jf->len, errpos, &line, &col);
        *why = xasprintf("%s:%zu:%zu: invalid JSON near here; fix the file (or restore it from "
                         "a backup) and run again",
                         path, line, col);
        rc = ERR_PARSE;
        goto fail;
    }
    *out = jf;
    return 0;
fail:
    jsonfile_free(jf);
    return rc;
}

/* Appends s as a JSON string literal escaped exactly as JSON.stringify does. */
static void put_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        const char *esc = NULL;
        char u[7];

        switch (*p) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (*p < 0x20) {
                memcpy(u, "\\u00", 4);
                u[4] = hex[*p >> 4];
                u[5] = hex[*p & 15];
                u[6] = '\0';
                esc = u;
            }
        }
        if (esc != NULL)
            buf_puts(b, esc);
        else
            buf_append(b, (const char *)p, 1);
    }
    buf_puts(b, "\"");
}

/* Appends a number as JavaScript prints it: integers whole, others in the shortest form that
 * reads back to the same double, exponents without leading zeros. */
static void put_number(struct buf *b, double v)
{
    char s[40], *e;
    int prec;

    if (!isfinite(v)) {
        buf_puts(b, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e21) {
        buf_printf(b, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof(s), "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    e = strchr(s, 'e');
    if (e != NULL) {
        /* "1e-07" -> "1e-7", "1e+22" stays signed as JavaScript writes it. */
        char *d = e + 2;

        while (*d == '0' && d[1] != '\0')
            memmove(d, d + 1, strlen(d));
    }
    buf_puts(b, s);
}

static void indent(struct buf *b, int depth)
{
    buf_puts(b, "\n");
    for (int i = 0; i < depth; i++)
        buf_puts(b, "  ");
}

static void put_value(struct buf *b, const cJSON *v, int depth)
{
    const cJSON *c;

    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool obj = cJSON_IsObject(v);

        if (v->child == NULL) {
            buf_puts(b, obj ? "{}" : "[]");
            return;
        }
        buf_puts(b, obj ? "{" : "[");
        for (c = v->child; c != NULL; c = c->next) {
            indent(b, depth + 1);
            if (obj) {
                put_string(b, c->string != NULL ? c->string : "");
                buf_puts(b, ": ");
            }
            put_value(b, c, depth + 1);
            if (c->next != NULL)
                buf_puts(b, ",");
        }
        indent(b, depth);
        buf_puts(b, obj ? "}" : "]");
    } else if (cJSON_IsString(v)) {
        put_string(b, v->valuestring != NULL ? v->valuestring : "");
    } else if (cJSON_IsNumber(v)) {
        put_number(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        buf_puts(b, "true");
    } else if (cJSON_IsFalse(v)) {
        buf_puts(b, "false");
    } else if (cJSON_IsRaw(v) && v->valuestring != NULL) {
        buf_puts(b, v->valuestring);
    } else {
        buf_puts(b, "null");
    }
}

char *jsonfile_format(const cJSON *item)
{
    struct buf b = {0};

    put_value(&b, item, 0);
    return buf_take(&b);
}

char *jsonfile_render(const struct jsonfile *jf)
{
    char *body = jsonfile_format(jf->root), *text;

    if (!jf->newline)
        return body;
    text = xasprintf("%s\n", body);
    free(body);
    return text;
}

bool jsonfile_changed(const struct jsonfile *jf)
{
    char *text;
    bool changed;

    if (!jf->exists)
        return true;
    text = jsonfile_render(jf);
    changed = strlen(text) != jf->len || memcmp(text, jf->text, jf->len) != 0;
    free(text);
    return changed;
}

int jsonfile_save(struct jsonfile *jf, char **why)
{
    char *now = NULL, *text = NULL, *ignored = NULL;
    size_t nowlen = 0;
    int rc;

    /* Someone else (the client itself, usually) may have rewritten the file meanwhile. */
    rc = fsutil_read_file(jf->target, JSONFILE_MAX_BYTES, &now, &nowlen, &ignored);
    free(ignored);
    if ((rc == 0) != jf->exists ||
        (rc == 0 && (nowlen != jf->len || memcmp(now, jf->text, nowlen) != 0))) {
        *why = xasprintf("%s changed on disk while mcpzip was editing it; nothing was written "
                         "to it, run the command again",
                         jf->path);
        rc = ERR_IO;
        goto out;
    }
    text = jsonfile_render(jf);
    rc = fsutil_write_atomic(jf->target, text, strlen(text), jf->mode, why);
    if (rc != 0)
        goto out;
    free(jf->text);
    jf->len = strlen(text);
    jf->text = text;
    text = NULL;
    jf->exists = true;
out:
    free(now);
    free(text);
    return rc;
}

void jsonfile_stamp(char out[20])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 20, "%Y%m%dT%H%M%SZ", &tm);
}

int jsonfile_backup(const struct jsonfile *jf, const char *stamp, char **backup, char **why)
{
    char *path = NULL;
    struct stat st;

    if (!jf->exists)
        return ERR_NOT_FOUND;
    path = xasprintf("%s.mcpzip-backup-%s", jf->target, stamp);
    for (int n = 2; lstat(path, &st) == 0 && n < 1000; n++) {
        free(path);
        path = xasprintf("%s.mcpzip-backup-%s-%d", jf->target, stamp, n);
    }
    if (fsutil_write_atomic(path, jf->text, jf->len, jf->mode, why) != 0) {
        free(path);
        return ERR_IO;
    }
    *backup = path;
    return 0;
}

/* ---- unified diff ---- */

struct lines {
    const char **s; /* starts of lines */
    size_t *n;      /* lengths without the newline */
    size_t count;
    bool last_nl; /* the text ended with a newline */
};

static void split_lines(const char *text, struct lines *l)
{
    size_t cap = 16;

    memset(l, 0, sizeof(*l));
    l->s = xmalloc(cap * sizeof(*l->s));
    l->n = xmalloc(cap * sizeof(*l->n));
    l->last_nl = true;
    if (text == NULL)
        return;
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);

        if (l->count == cap) {
            cap *= 2;
            l->s = xrealloc(l->s, cap * sizeof(*l->s));
            l->n = xrealloc(l->n, cap * sizeof(*l->n));
        }
        l->s[l->count] = text;
        l->n[l->count++] = len;
        if (nl == NULL) {
            l->last_nl = false;
            break;
        }
        text = nl + 1;
    }
}

static bool same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return a->n[i] == b->n[j] && memcmp(a->s[i], b->s[j], a->n[i]) == 0 &&
           (i + 1 < a->count || j + 1 < b->count || a->last_nl == b->last_nl);
}

/* One edit-script step: ' ' keep, '-' delete a line of a, '+' insert a line of b. */
struct op {
    char kind;
    size_t ai, bi;
};

/* Builds the edit script from a to b: common prefix and suffix, then an LCS of the middle when
 * it is small enough, else the middle as one replacement. */
static struct op *edit_script(const struct lines *a, const struct lines *b, size_t *nops)
{
    size_t pre = 0, suf = 0, n, m, k = 0;
    struct op *ops = xmalloc((a->count + b->count + 1) * sizeof(*ops));

    while (pre < a->count && pre < b->count && same(a, pre, b, pre))
        pre++;
    while (suf < a->count - pre && suf < b->count - pre &&
           same(a, a->count - 1 - suf, b, b->count - 1 - suf))
        suf++;
    n = a->count - pre - suf;
    m = b->count - pre - suf;
    for (size_t i = 0; i < pre; i++)
        ops[k++] = (struct op){' ', i, i};
    if ((n + 1) * (m + 1) <= DIFF_MAX_CELLS && n > 0 && m > 0) {
        /* lcs[i][j] = length of the LCS of a[pre+i..] and b[pre+j..]. */
        unsigned *lcs = xcalloc((n + 1) * (m + 1), sizeof(*lcs));
        size_t i, j;

        for (i = n; i-- > 0;)
            for (j = m; j-- > 0;)
                lcs[i * (m + 1) + j] = same(a, pre + i, b, pre + j)
                                           ? lcs[(i + 1) * (m + 1) + j + 1] + 1
                                           : (lcs[(i + 1) * (m + 1) + j] > lcs[i * (m + 1) + j + 1]
                                                  ? lcs[(i + 1) * (m + 1) + j]
                                                  : lcs[i * (m + 1) + j + 1]);
        i = 0;
        j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && same(a, pre + i, b, pre + j)) {
                ops[k++] = (struct op){' ', pre + i, pre + j};
                i++;
                j++;
            } else if (i < n &&
                       (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) {
                ops[k++] = (struct op){'-', pre + i, pre + j};
                i++;
            } else {
                ops[k++] = (struct op){'+', pre + i, pre + j};
                j++;
            }
        }
        free(lcs);
    } else {
        for (size_t i = 0; i < n; i++)
            ops[k++] = (struct op){'-', pre + i, pre};
        for (size_t j = 0; j < m; j++)
            ops[k++] = (struct op){'+', pre + n, pre + j};
    }
    for (size_t i = 0; i < suf; i++)
        ops[k++] = (struct op){' ', a->count - suf + i, b->count - suf + i};
    *nops = k;
    return ops;
}

static void put_line(struct buf *out, char kind, const struct lines *l, size_t i)
{
    buf_printf(out, "%c%.*s\n", kind, (int)l->n[i], l->s[i]);
    if (i + 1 == l->count && !l->last_nl)
        buf_puts(out, "\\ No newline at end of file\n");
}

char *jsonfile_diff(const char *old_label, const char *new_label, const char *old_text,
                    const char *new_text)
{
    struct lines a, b;
    struct op *ops;
    struct buf out = {0};
    size_t nops, i = 0;

    if (old_text != NULL && new_text != NULL && strcmp(old_text, new_text) == 0)
        return NULL;
    split_lines(old_text, &a);
    split_lines(new_text, &b);
    ops = edit_script(&a, &b, &nops);
    buf_printf(&out, "--- %s\n+++ %s\n", old_text != NULL ? old_label : "/dev/null", new_label);
    while (i < nops) {
        size_t start, end, last, j, ac = 0, bc = 0, as, bs;

        while (i < nops && ops[i].kind == ' ')
            i++;
        if (i == nops)
            break;
        /* A hunk runs from DIFF_CONTEXT lines before this change to DIFF_CONTEXT lines after
         * the last change that lies within 2 * DIFF_CONTEXT kept lines of the previous one. */
        start = i >= DIFF_CONTEXT ? i - DIFF_CONTEXT : 0;
        last = i;
        for (j = i; j < nops; j++) {
            if (ops[j].kind != ' ')
                last = j;
            else if (j - last > 2 * DIFF_CONTEXT)
                break;
        }
        end = last + DIFF_CONTEXT + 1 < nops ? last + DIFF_CONTEXT + 1 : nops;
        for (j = start; j < end; j++) {
            ac += ops[j].kind != '+';
            bc += ops[j].kind != '-';
        }
        as = ops[start].ai + (ac > 0);
        bs = ops[start].bi + (bc > 0);
        buf_printf(&out, "@@ -%zu,%zu +%zu,%zu @@\n", as, ac, bs, bc);
        for (j = start; j < end; j++) {
            if (ops[j].kind == '+')
                put_line(&out, '+', &b, ops[j].bi);
            else
                put_line(&out, ops[j].kind, &a, ops[j].ai);
        }
        i = end;
    }
    free(ops);
    free(a.s);
    free(a.n);
    free(b.s);
    free(b.n);
    return buf_take(&out);
}

void jsonfile_free(struct jsonfile *jf)
{
    if (jf == NULL)
        return;
    free(jf->path);
    free(jf->target);
    free(jf->text);
    cJSON_Delete(jf->root);
    free(jf);
}
