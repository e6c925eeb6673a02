/*
 * search_bench.c - quality, speed and size of the search module on the real catalogs.
 *
 * Loads every <server>.json tool catalog of a directory and a labelled query file (the format of
 * shared/search/README.md), builds the index exactly as the proxy does (one document per tool,
 * named "<file base name>__<tool name>"), and prints:
 *   - recall@1, recall@5 and MRR@10 overall, per query style and per half of the query file
 *     (even and odd positions, to show tuning on one half holds on the other), for search.c and
 *     for the plain BM25 baseline of eval.py, reimplemented here so both are scored alike;
 *   - index build time for all tools and for a 1,000-tool subset;
 *   - search latency (median, p99) at 1,000 tools and on a 10,000-tool synthetic catalog made by
 *     replicating the real tools under new server names with perturbed descriptions, for fresh
 *     queries and for repeated (cached) ones;
 *   - index memory, and the average size (bytes/4, a token estimate) of one result line in the
 *     format `server__tool: <first sentence, <= 160 chars> [param:type*, param:type]`.
 *
 * Usage: search_bench [--misses] [--quality] [--dump PREFIX] [--profile ROUNDS]
 *                     [--profile-build ROUNDS] [CATALOG_DIR [QUERY_FILE]]
 * --misses lists the queries whose first result is not relevant; --quality skips the timings;
 * --dump writes the rankings of many queries for diffing (see dump()); --profile and
 * --profile-build run only queries or only index builds, for a profiler.
 * Defaults: ../shared/search/catalogs and ../shared/search/dev-queries.json, relative to the
 * current directory (the repository root).
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "search.h"
#include "xmem.h"

#define TOP_K 10

struct corpus {
    cJSON **roots;  /* one parsed catalog per server, owning the tool objects */
    char **servers; /* server names, one per root */
    size_t nroots;
    struct search_doc *docs;
    size_t n;
};

struct lquery {
    const char *text;
    const char *style;
    char **relevant;
    size_t nrel;
};

struct score {
    size_t n, r1, r5;
    double mrr;
};

/* ------------------------------------------------------------------------ loading */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            buf = xrealloc(buf, cap + 1);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *str_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_doc(struct corpus *c, size_t *cap, const char *server, const cJSON *tool)
{
    const char *name = str_item(tool, "name");
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(tool, "annotations");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(tool, "inputSchema");
    struct search_doc *d;

    if (name == NULL)
        return;
    if (c->n == *cap) {
        *cap = *cap ? *cap * 2 : 2048;
        c->docs = xrealloc(c->docs, *cap * sizeof(*c->docs));
    }
    d = &c->docs[c->n++];
    d->name = xasprintf("%s__%s", server, name);
    d->server = server;
    d->tool = name;
    d->title = str_item(tool, "title");
    if (d->title == NULL && cJSON_IsObject(ann))
        d->title = str_item(ann, "title");
    d->description = str_item(tool, "description");
    d->input_schema = cJSON_IsObject(schema) ? schema : NULL;
}

static int load_catalogs(const char *dir, struct corpus *c)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **files = NULL;
    size_t nfiles = 0, cap = 0;

    if (dp == NULL) {
        fprintf(stderr, "search_bench: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && e->d_name[0] != '_' &&
            e->d_name[0] != '.') {
            files = xrealloc(files, (nfiles + 1) * sizeof(*files));
            files[nfiles++] = xstrdup(e->d_name);
        }
    }
    closedir(dp);
    qsort(files, nfiles, sizeof(*files), cmp_str);
    c->roots = xcalloc(nfiles ? nfiles : 1, sizeof(*c->roots));
    c->servers = xcalloc(nfiles ? nfiles : 1, sizeof(*c->servers));
    for (size_t i = 0; i < nfiles; i++) {
        char *path = xasprintf("%s/%s", dir, files[i]);
        char *text = read_file(path, NULL);
        cJSON *root = text != NULL ? cJSON_Parse(text) : NULL;
        const cJSON *arr = root;
        const cJSON *tool;
        char *server = xstrndup(files[i], strlen(files[i]) - 5);

        free(text);
        free(path);
        if (cJSON_IsObject(root))
            arr = cJSON_GetObjectItemCaseSensitive(root, "tools");
        if (!cJSON_IsArray(arr)) {
            fprintf(stderr, "search_bench: %s: not a tools array\n", files[i]);
            cJSON_Delete(root);
            free(server);
            continue;
        }
        c->servers[c->nroots] = server;
        c->roots[c->nroots++] = root;
        cJSON_ArrayForEach (tool, arr) {
            if (cJSON_IsObject(tool))
                add_doc(c, &cap, server, tool);
        }
        free(files[i]);
    }
    free(files);
    return c->n > 0 ? 0 : -1;
}

static int load_queries(const char *path, struct lquery **out, size_t *nout, cJSON **keep)
{
    char *text = read_file(path, NULL);
    cJSON *root = text != NULL ? cJSON_Parse(text) : NULL;
    const cJSON *q;
    size_t n = 0;

    free(text);
    if (!cJSON_IsArray(root)) {
        fprintf(stderr, "search_bench: %s: expected a JSON array of queries\n", path);
        cJSON_Delete(root);
        return -1;
    }
    *out = xcalloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(**out));
    cJSON_ArrayForEach (q, root) {
        const cJSON *rel = cJSON_GetObjectItemCaseSensitive(q, "relevant");
        const cJSON *r;
        struct lquery *lq = &(*out)[n];

        lq->text = str_item(q, "query");
        lq->style = str_item(q, "style");
        if (lq->style == NULL)
            lq->style = "other";
        if (lq->text == NULL || !cJSON_IsArray(rel))
            continue;
        lq->relevant = xcalloc((size_t)cJSON_GetArraySize(rel) + 1, sizeof(char *));
        cJSON_ArrayForEach (r, rel) {
            if (cJSON_IsString(r))
                lq->relevant[lq->nrel++] = r->valuestring;
        }
        n++;
    }
    *nout = n;
    *keep = root;
    return 0;
}

/* ------------------------------------------------------------------------ the BM25 baseline */

/*
 * eval.py's baseline: document = prefixed name + description, split on anything that is not a
 * letter or digit, then on camelCase, lower-cased; no stemming or stop words; k1 1.2, b 0.75;
 * ties by name. Non-ASCII letters count as word characters like Python's \w; the common
 * punctuation blocks (general, CJK, fullwidth) separate words.
 */
struct bm25 {
    char **vocab;
    size_t nvocab, capv;
    uint32_t *slot; /* open addressing: vocab id + 1 */
    size_t nslot;
    uint32_t **post; /* per term: doc ids */
    uint16_t **ptf;
    size_t *npost;
    double *idf;
    double *dl;
    double avgdl;
    size_t n;
    const struct search_doc *docs;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool bm25_word_byte(const unsigned char *s, size_t i, size_t *skip)
{
    unsigned char c = s[i];

    *skip = 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    if (c < 0x80)
        return false;
    /* U+2000-206F, U+3000-303F, U+FF00-FF0F and U+FF1A-FF20 are punctuation. */
    if (c == 0xe2 && (s[i + 1] == 0x80 || s[i + 1] == 0x81)) {
        *skip = 3;
        return false;
    }
    if (c == 0xe3 && s[i + 1] == 0x80) {
        *skip = 3;
        return false;
    }
    if (c == 0xef && s[i + 1] == 0xbc &&
        (s[i + 2] <= 0x8f || (s[i + 2] >= 0x9a && s[i + 2] <= 0xa0))) {
        *skip = 3;
        return false;
    }
    if (c == 0xc2) {
        *skip = 2;
        return false;
    }
    return true;
}

typedef void (*word_cb)(void *ctx, const char *w);

static void bm25_tokenize(const char *text, word_cb cb, void *ctx)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = text ? strlen(text) : 0, i = 0;
    char *buf = xmalloc(len + 1);

    while (i < len) {
        size_t skip, j = i, k = 0;

        if (!bm25_word_byte(s, i, &skip)) {
            i += skip;
            continue;
        }
        while (j < len && bm25_word_byte(s, j, &skip)) {
            for (size_t t = 0; t < skip && j < len; t++)
                buf[k++] = (char)s[j++];
        }
        buf[k] = '\0';
        /* _CAMEL1 ([a-z0-9])([A-Z]) then _CAMEL2 ([A-Z]+)([A-Z][a-z]), then split. */
        char *piece = xmalloc(2 * k + 1);
        size_t m = 0;
        for (size_t t = 0; t < k; t++) {
            unsigned char a = t ? (unsigned char)buf[t - 1] : 0, b = (unsigned char)buf[t];
            bool c1 = t > 0 && ((a >= 'a' && a <= 'z') || (a >= '0' && a <= '9')) &&
                      (b >= 'A' && b <= 'Z');
            bool c2 = t > 0 && (a >= 'A' && a <= 'Z') && (b >= 'A' && b <= 'Z') && t + 1 < k &&
                      buf[t + 1] >= 'a' && buf[t + 1] <= 'z';
            if (c1 || c2)
                piece[m++] = ' ';
            piece[m++] = (char)((b >= 'A' && b <= 'Z') ? b + 32 : b);
        }
        piece[m] = '\0';
        for (char *p = piece, *sp; *p; p = sp) {
            sp = strchr(p, ' ');
            if (sp == NULL)
                sp = p + strlen(p);
            else
                *sp++ = '\0';
            if (*p)
                cb(ctx, p);
        }
        free(piece);
        i = j;
    }
    free(buf);
}

static uint32_t bm25_term(struct bm25 *b, const char *w, bool add)
{
    if (b->nslot == 0 || (b->nvocab + 1) * 2 > b->nslot) {
        if (!add && b->nslot != 0)
            goto lookup;
        size_t ns = b->nslot ? b->nslot * 2 : 4096;
        uint32_t *slot = xcalloc(ns, sizeof(*slot));
        for (size_t v = 0; v < b->nvocab; v++) {
            size_t j = fnv(b->vocab[v]) & (ns - 1);
            while (slot[j])
                j = (j + 1) & (ns - 1);
            slot[j] = (uint32_t)v + 1;
        }
        free(b->slot);
        b->slot = slot;
        b->nslot = ns;
    }
lookup:;
    size_t j = fnv(w) & (b->nslot - 1);
    while (b->slot[j]) {
        if (strcmp(b->vocab[b->slot[j] - 1], w) == 0)
            return b->slot[j] - 1;
        j = (j + 1) & (b->nslot - 1);
    }
    if (!add)
        return UINT32_MAX;
    if (b->nvocab == b->capv) {
        b->capv = b->capv ? b->capv * 2 : 4096;
        b->vocab = xrealloc(b->vocab, b->capv * sizeof(*b->vocab));
    }
    b->vocab[b->nvocab] = xstrdup(w);
    b->slot[j] = (uint32_t)++b->nvocab;
    return (uint32_t)b->nvocab - 1;
}

struct idlist {
    uint32_t *id;
    size_t n, cap;
    struct bm25 *b;
    bool add;
};

static void collect_word(void *ctx, const char *w)
{
    struct idlist *l = ctx;
    uint32_t id = bm25_term(l->b, w, l->add);

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->id = xrealloc(l->id, l->cap * sizeof(*l->id));
    }
    l->id[l->n++] = id;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void bm25_build(struct bm25 *b, const struct search_doc *docs, size_t n)
{
    size_t capp = 0;
    double total = 0;

    memset(b, 0, sizeof(*b));
    b->n = n;
    b->docs = docs;
    b->dl = xcalloc(n, sizeof(double));
    for (size_t d = 0; d < n; d++) {
        struct idlist l = {.b = b, .add = true};

        bm25_tokenize(docs[d].name, collect_word, &l);
        bm25_tokenize(docs[d].description, collect_word, &l);
        b->dl[d] = (double)l.n;
        total += (double)l.n;
        qsort(l.id, l.n, sizeof(*l.id), cmp_u32);
        if (b->nvocab > capp) {
            size_t nc = b->nvocab * 2;
            b->post = xrealloc(b->post, nc * sizeof(*b->post));
            b->ptf = xrealloc(b->ptf, nc * sizeof(*b->ptf));
            b->npost = xrealloc(b->npost, nc * sizeof(*b->npost));
            for (size_t v = capp; v < nc; v++) {
                b->post[v] = NULL;
                b->ptf[v] = NULL;
                b->npost[v] = 0;
            }
            capp = nc;
        }
        for (size_t i = 0; i < l.n;) {
            size_t j = i;
            uint32_t t = l.id[i];

            while (j < l.n && l.id[j] == t)
                j++;
            b->post[t] = xrealloc(b->post[t], (b->npost[t] + 1) * sizeof(uint32_t));
            b->ptf[t] = xrealloc(b->ptf[t], (b->npost[t] + 1) * sizeof(uint16_t));
            b->post[t][b->npost[t]] = (uint32_t)d;
            b->ptf[t][b->npost[t]] = (uint16_t)(j - i);
            b->npost[t]++;
            i = j;
        }
        free(l.id);
    }
    b->avgdl = n ? total / (double)n : 1.0;
    b->idf = xcalloc(b->nvocab + 1, sizeof(double));
    for (size_t v = 0; v < b->nvocab; v++)
        b->idf[v] =
            log(1.0 + ((double)n - (double)b->npost[v] + 0.5) / ((double)b->npost[v] + 0.5));
}

static const struct search_doc *cmp_docs;
static const double *cmp_scores;

static int cmp_ranked(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    if (cmp_scores[x] != cmp_scores[y])
        return cmp_scores[x] > cmp_scores[y] ? -1 : 1;
    return strcmp(cmp_docs[x].name, cmp_docs[y].name);
}

static size_t bm25_search(struct bm25 *b, const char *query, uint32_t *out, size_t k)
{
    struct idlist l = {.b = b, .add = false};
    double *score = xcalloc(b->n, sizeof(double));
    uint32_t *cand = xmalloc(b->n * sizeof(uint32_t));
    size_t nc = 0;

    bm25_tokenize(query, collect_word, &l);
    for (size_t i = 0; i < l.n; i++) {
        uint32_t t = l.id[i];

        if (t == UINT32_MAX)
            continue;
        for (size_t p = 0; p < b->npost[t]; p++) {
            uint32_t d = b->post[t][p];
            double tf = b->ptf[t][p];
            double norm = 1.2 * (1.0 - 0.75 + 0.75 * b->dl[d] / b->avgdl);

            if (score[d] == 0.0)
                cand[nc++] = d;
            score[d] += b->idf[t] * tf * 2.2 / (tf + norm);
        }
    }
    cmp_docs = b->docs;
    cmp_scores = score;
    qsort(cand, nc, sizeof(*cand), cmp_ranked);
    if (nc > k)
        nc = k;
    memcpy(out, cand, nc * sizeof(*out));
    free(score);
    free(cand);
    free(l.id);
    return nc;
}

/* ------------------------------------------------------------------------ scoring */

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int first_rank(const struct lquery *q, const struct search_doc *docs, const uint32_t *r,
                      size_t n)
{
    for (size_t i = 0; i < n && i < TOP_K; i++)
        for (size_t j = 0; j < q->nrel; j++)
            if (strcmp(docs[r[i]].name, q->relevant[j]) == 0)
                return (int)i + 1;
    return 0;
}

static void tally(struct score *s, int rank)
{
    s->n++;
    if (rank == 1)
        s->r1++;
    if (rank >= 1 && rank <= 5)
        s->r5++;
    if (rank >= 1)
        s->mrr += 1.0 / rank;
}

static void print_row(const char *label, const struct score *a, const struct score *b)
{
    double n = a->n ? (double)a->n : 1.0;

    printf("%-14s %4zu   %.2f  %.2f  %.2f    %.2f  %.2f  %.2f\n", label, a->n, a->r1 / n, a->r5 / n,
           a->mrr / n, b->r1 / n, b->r5 / n, b->mrr / n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof(*v), cmp_double);
    i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i > 0 ? i - 1 : 0];
}

/* ------------------------------------------------------------------------ result lines */

static size_t result_line_bytes(const struct search_doc *d)
{
    const char *desc = d->description ? d->description : "";
    size_t len = strlen(d->name) + 2, i = 0;
    const cJSON *props =
        d->input_schema ? cJSON_GetObjectItemCaseSensitive(d->input_schema, "properties") : NULL;
    const cJSON *req =
        d->input_schema ? cJSON_GetObjectItemCaseSensitive(d->input_schema, "required") : NULL;
    const cJSON *p;
    bool first = true;

    if (!cJSON_IsObject(props))
        props = NULL;
    if (!cJSON_IsArray(req))
        req = NULL;

    /* First sentence, at most 160 bytes, cut at a UTF-8 boundary. */
    while (desc[i] && desc[i] != '\n' && i < 160) {
        if (desc[i] == '.' && (desc[i + 1] == ' ' || desc[i + 1] == '\0')) {
            i++;
            break;
        }
        i++;
    }
    while (i > 0 && i < strlen(desc) && ((unsigned char)desc[i] & 0xc0) == 0x80)
        i--;
    len += i;
    len += 3; /* " [" and "]" */
    cJSON_ArrayForEach (p, props) {
        const char *type = str_item(p, "type");
        bool required = false;
        const cJSON *r;

        cJSON_ArrayForEach (r, req) {
            if (cJSON_IsString(r) && p->string && strcmp(r->valuestring, p->string) == 0)
                required = true;
        }
        len += (first ? 0 : 2) + strlen(p->string ? p->string : "") + 1 +
               strlen(type ? type : "any") + (required ? 1 : 0);
        first = false;
    }
    return len + 1; /* newline */
}

/* ------------------------------------------------------------------------ synthetic catalog */

/* A description with every seventh word (from offset k) left out, so copies differ a little. */
static char *perturb(const char *desc, size_t k)
{
    size_t n = desc ? strlen(desc) : 0, w = 0, o = 0;
    char *out = xmalloc(n + 1);
    bool in_word = false, drop = false;

    for (size_t i = 0; i < n; i++) {
        bool space = desc[i] == ' ';

        if (!space && !in_word) {
            drop = (w++ % 7) == k % 7;
            in_word = true;
        } else if (space) {
            in_word = false;
        }
        if (!(drop && in_word))
            out[o++] = desc[i];
    }
    out[o] = '\0';
    return out;
}

static void synthetic(const struct corpus *c, size_t target, struct search_doc **out, size_t *nout,
                      char ***owned, size_t *nowned)
{
    size_t n = 0, no = 0;
    struct search_doc *d = xmalloc(target * sizeof(*d));
    char **own = xmalloc(target * 3 * sizeof(*own));

    for (size_t copy = 0; n < target; copy++) {
        for (size_t i = 0; i < c->n && n < target; i++) {
            const struct search_doc *src = &c->docs[i];
            char *server = xasprintf("%s-r%zu", src->server, copy);
            char *desc = perturb(src->description, copy);

            d[n] = *src;
            d[n].server = server;
            d[n].description = desc;
            d[n].name = xasprintf("%s__%s", server, src->tool);
            own[no++] = server;
            own[no++] = desc;
            own[no++] = (char *)d[n].name;
            n++;
        }
    }
    *out = d;
    *nout = n;
    *owned = own;
    *nowned = no;
}

/* Each query and each of its leave-one-word-out variants; returns the count. */
static size_t make_variants(const struct lquery *qs, size_t nq, char ***out)
{
    size_t cap = nq * 12, nv = 0;
    char **variants = xmalloc(cap * sizeof(*variants));

    for (size_t i = 0; i < nq; i++) {
        const char *s = qs[i].text;
        size_t words = 1;

        variants[nv++] = xstrdup(s);
        for (const char *p = s; *p; p++)
            words += *p == ' ';
        for (size_t drop = 0; drop < words && words > 1 && nv < cap; drop++) {
            char *v = xmalloc(strlen(s) + 1), *o = v;
            size_t w = 0;

            for (const char *p = s; *p; p++) {
                if (*p == ' ') {
                    w++;
                    if (o == v || w - 1 == drop)
                        continue;
                }
                if (w != drop)
                    *o++ = *p;
            }
            *o = '\0';
            variants[nv++] = v;
        }
    }
    *out = variants;
    return nv;
}

/* Latency of fresh queries (each query and each of its leave-one-word-out variants once) and of
 * repeated ones (the same list again, answered by the cache). */
static void latency(const struct search_doc *docs, size_t n, const struct lquery *qs, size_t nq,
                    const char *label)
{
    struct search_index *idx = search_index_build(docs, n);
    char **variants = NULL;
    size_t nv = make_variants(qs, nq, &variants);
    double *t = xmalloc((nv ? nv : 1) * sizeof(double));
    struct search_hit hits[TOP_K];

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nv; i++) {
            double t0;

            /* The cache holds 256 queries: repeat each at once to measure a hit. */
            if (pass == 1)
                search_query(idx, variants[i], NULL, hits, TOP_K);
            t0 = now_us();
            search_query(idx, variants[i], NULL, hits, TOP_K);
            t[i] = now_us() - t0;
        }
        double med = percentile(t, nv, 50), p99 = percentile(t, nv, 99), mx = t[nv - 1];
        printf("latency %-22s %-8s %5zu queries: median %7.1f us  p99 %7.1f us  max %7.1f us\n",
               label, pass == 0 ? "fresh" : "cached", nv, med, p99, mx);
    }
    printf("memory  %-22s %.1f MiB (with %zu cached queries)\n", label,
           (double)search_index_memory(idx) / 1048576.0, nv < 256 ? nv : (size_t)256);
    search_index_free(idx);
    for (size_t i = 0; i < nv; i++)
        free(variants[i]);
    free(variants);
    free(t);
}

static double build_time(const struct search_doc *docs, size_t n, size_t *mem)
{
    double t[5];

    for (int i = 0; i < 5; i++) {
        double t0 = now_us();
        struct search_index *idx = search_index_build(docs, n);

        t[i] = now_us() - t0;
        if (mem != NULL)
            *mem = search_index_memory(idx);
        search_index_free(idx);
    }
    return percentile(t, 5, 50) / 1000.0;
}

/* ------------------------------------------------------------------------ ranking dump */

/* A fixed 64-bit LCG: the dump's query set must be the same on every run and machine. */
static uint32_t rnd(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*st >> 33);
}

struct words {
    char **w;
    size_t n, cap;
};

static void words_add(struct words *ws, const char *s, size_t n)
{
    if (n == 0 || n > 30)
        return;
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? ws->cap * 2 : 1024;
        ws->w = xrealloc(ws->w, ws->cap * sizeof(*ws->w));
    }
    ws->w[ws->n++] = xstrndup(s, n);
}

/* Words of s cut on anything but letters, digits and non-ASCII bytes (camelCase kept whole). */
static void split_words(struct words *ws, const char *s)
{
    size_t i = 0, n = s ? strlen(s) : 0;

    while (i < n) {
        size_t j = i;

        while (j < n && (isalnum((unsigned char)s[j]) || (unsigned char)s[j] >= 0x80))
            j++;
        if (j > i) {
            size_t k = j - i;

            if (k > 30) { /* keep a long (Chinese) run whole up to a code point boundary */
                k = 30;
                while (k > 0 && ((unsigned char)s[i + k] & 0xc0) == 0x80)
                    k--;
            }
            words_add(ws, s + i, k);
            i = j;
        } else {
            i++;
        }
    }
}

static void words_free(struct words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i]);
    free(ws->w);
}

/* One typing slip in w (at least 4 bytes): a dropped, swapped, wrong or extra letter. */
static void typo(char *out, size_t cap, const char *w, uint64_t *st)
{
    size_t n = strlen(w), i = 1 + rnd(st) % (n - 2), o = 0;
    unsigned kind = rnd(st) % 4;

    for (size_t k = 0; k < n && o + 2 < cap; k++) {
        if (k == i && kind == 0)
            continue;
        if (k == i && kind == 1 && k + 1 < n) {
            out[o++] = w[k + 1];
            out[o++] = w[k];
            k++;
            continue;
        }
        if (k == i && kind == 2) {
            out[o++] = (char)('a' + rnd(st) % 26);
            continue;
        }
        if (k == i && kind == 3)
            out[o++] = (char)('a' + rnd(st) % 26);
        out[o++] = w[k];
    }
    out[o] = '\0';
}

/* The search_suggest() answer for q, as a line of names (its order has no scores). */
static void dump_suggest(FILE *fn, FILE *fs, const struct search_index *idx,
                         const struct search_doc *docs, size_t qi, const char *q)
{
    size_t out[8];
    size_t n = search_suggest(idx, q, out, 8);

    for (int k = 0; k < 2; k++) {
        FILE *f = k ? fs : fn;

        fprintf(f, "%zu\tsuggest:", qi);
        for (const char *p = q; *p; p++)
            fputc(*p == '\t' || *p == '\n' ? ' ' : *p, f);
        fputc('\t', f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%s%s", i ? " " : "", docs[out[i]].name);
        fputc('\n', f);
    }
}

static void dump_line(FILE *fn, FILE *fs, const struct search_index *idx,
                      const struct search_doc *docs, size_t qi, const char *q, const char *server,
                      size_t max)
{
    struct search_hit hits[64];
    size_t n = search_query(idx, q, server, hits, max);

    fprintf(fn, "%zu\t", qi);
    fprintf(fs, "%zu\t", qi);
    for (const char *p = q; *p; p++) {
        fputc(*p == '\t' || *p == '\n' ? ' ' : *p, fn);
        fputc(*p == '\t' || *p == '\n' ? ' ' : *p, fs);
    }
    fprintf(fn, "\t%s\t%zu\t", server ? server : "-", max);
    fprintf(fs, "\t%s\t%zu\t", server ? server : "-", max);
    for (size_t i = 0; i < n; i++) {
        fprintf(fn, "%s%s", i ? " " : "", docs[hits[i].doc].name);
        fprintf(fs, "%s%s=%.17g", i ? " " : "", docs[hits[i].doc].name, hits[i].score);
    }
    fputc('\n', fn);
    fputc('\n', fs);
}

/*
 * Writes PREFIX.names (the ranked names of every query) and PREFIX.scores (the same with the
 * scores) for the dev queries and for 2,000 synthetic queries over the whole catalog, made with
 * a fixed seed from tool names, description words and typos; some are asked again with a server
 * filter or another max. Diffing two dumps shows any change of ranking.
 */
static int dump(const struct corpus *c, const struct lquery *qs, size_t nq, const char *prefix)
{
    char *pn = xasprintf("%s.names", prefix), *ps = xasprintf("%s.scores", prefix);
    FILE *fn = fopen(pn, "w"), *fs = fopen(ps, "w");
    struct search_index *idx = NULL;
    struct words all = {0};
    uint64_t st = 0x5eed5eedull;
    size_t qi = 0;
    static const char *const fillers[] = {"how do i", "please", "in", "the", "all", "list", "get",
                                          "new",      "2",      "42", "a",   "to",  "my"};
    const size_t nfill = sizeof(fillers) / sizeof(fillers[0]);

    if (fn == NULL || fs == NULL) {
        fprintf(stderr, "search_bench: cannot write %s\n", prefix);
        if (fn != NULL)
            fclose(fn);
        if (fs != NULL)
            fclose(fs);
        free(pn);
        free(ps);
        return 1;
    }
    idx = search_index_build(c->docs, c->n);
    for (size_t d = 0; d < c->n; d++) {
        split_words(&all, c->docs[d].tool);
        split_words(&all, c->docs[d].description);
    }
    for (size_t i = 0; i < nq; i++) {
        dump_line(fn, fs, idx, c->docs, qi++, qs[i].text, NULL, TOP_K);
        dump_line(fn, fs, idx, c->docs, qi++, qs[i].text, NULL, 40);
    }
    for (size_t i = 0; c->n > 0 && all.n > 0 && i < 2000; i++) {
        const struct search_doc *d = &c->docs[rnd(&st) % c->n];
        struct words dw = {0};
        char q[512] = "", w[64];
        size_t len = 0;
        unsigned kind = i % 10;

        split_words(&dw, d->tool);
        size_t nname = dw.n;
        split_words(&dw, d->description);
#define APPEND(s)                                                                   \
    len += (size_t)snprintf(q + len, len < sizeof(q) ? sizeof(q) - len : 0, "%s%s", \
                            len ? " " : "", (s))
        switch (kind) {
        case 0: /* the tool name, as given or prefixed, in some case */
            snprintf(q, sizeof(q), "%s", rnd(&st) % 2 ? d->tool : d->name);
            if (rnd(&st) % 2)
                for (char *p = q; *p; p++)
                    *p = (char)toupper((unsigned char)*p);
            break;
        case 1: /* the name's words */
            for (size_t k = 0; k < nname; k++)
                APPEND(dw.w[k]);
            break;
        case 2: /* a few words of the description */
        case 3:
            for (size_t k = 0, m = 2 + rnd(&st) % 4; k < m && dw.n > 0; k++)
                APPEND(dw.w[rnd(&st) % dw.n]);
            break;
        case 4: /* name words and words from anywhere */
            for (size_t k = 0; k < nname && k < 2; k++)
                APPEND(dw.w[rnd(&st) % nname]);
            for (size_t k = 0, m = 1 + rnd(&st) % 3; k < m; k++)
                APPEND(all.w[rnd(&st) % all.n]);
            break;
        case 5: /* typos */
        case 6:
            for (size_t k = 0, m = 1 + rnd(&st) % 3; k < m && dw.n > 0; k++) {
                const char *x = dw.w[rnd(&st) % dw.n];

                if (strlen(x) >= 4 && rnd(&st) % 4 != 0) {
                    typo(w, sizeof(w), x, &st);
                    APPEND(w);
                } else {
                    APPEND(x);
                }
            }
            break;
        case 7: /* natural phrasing with fillers and a server hint */
            APPEND(fillers[rnd(&st) % nfill]);
            for (size_t k = 0, m = 1 + rnd(&st) % 3; k < m && dw.n > 0; k++)
                APPEND(dw.w[rnd(&st) % dw.n]);
            APPEND(fillers[rnd(&st) % nfill]);
            if (rnd(&st) % 2)
                APPEND(d->server);
            break;
        case 8: /* cut words (completions), "re" prefixes, numbers */
            for (size_t k = 0, m = 1 + rnd(&st) % 2; k < m && dw.n > 0; k++) {
                const char *x = dw.w[rnd(&st) % dw.n];
                size_t xl = strlen(x);

                if (rnd(&st) % 3 == 0)
                    snprintf(w, sizeof(w), "re%s", x);
                else
                    snprintf(w, sizeof(w), "%.*s",
                             (int)(xl > 4 ? xl - 1 - rnd(&st) % (xl - 3) : xl), x);
                APPEND(w);
            }
            if (rnd(&st) % 3 == 0)
                APPEND(fillers[8 + rnd(&st) % 2]);
            break;
        default: /* random vocabulary */
            for (size_t k = 0, m = 1 + rnd(&st) % 5; k < m; k++)
                APPEND(all.w[rnd(&st) % all.n]);
            break;
        }
#undef APPEND
        dump_line(fn, fs, idx, c->docs, qi++, q, NULL, TOP_K);
        if (i % 7 == 0)
            dump_line(fn, fs, idx, c->docs, qi++, q, d->server, TOP_K);
        if (i % 11 == 0)
            dump_line(fn, fs, idx, c->docs, qi++, q, NULL, 3 + rnd(&st) % 40);
        if (i % 5 == 0)
            dump_suggest(fn, fs, idx, c->docs, qi++, q);
        words_free(&dw);
    }
    /* Hostile input: empty, separators only, stop words only, invalid UTF-8, huge. */
    {
        static const char *const odd[] = {"",
                                          " ",
                                          "__",
                                          "the a of",
                                          "\xff\xfe\x80 list",
                                          "\xe4\xbd\xa0\xe5\xa5\xbd \xe5\x9c\xb0\xe5\x9b\xbe",
                                          "ok",
                                          "zzzzzzzzzz",
                                          "1 2 3",
                                          "-_-.-"};
        char *big = xmalloc(1 << 20);

        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
            dump_line(fn, fs, idx, c->docs, qi++, odd[i], NULL, TOP_K);
        for (size_t i = 0; i + 1 < (1u << 20); i++)
            big[i] = "list pods kubernetes namespace "[i % 31];
        big[(1u << 20) - 1] = '\0';
        dump_line(fn, fs, idx, c->docs, qi++, big, NULL, TOP_K);
        free(big);
    }
    search_index_free(idx);
    words_free(&all);
    fclose(fn);
    fclose(fs);
    printf("wrote %zu rankings to %s and %s\n", qi, pn, ps);
    free(pn);
    free(ps);
    return 0;
}

/* Query work only, for a profiler (callgrind --toggle-collect=search_query): builds one index
 * per round over n tools, then runs the fresh-query pass of latency() on it. */
static void profile(const struct search_doc *docs, size_t n, const struct lquery *qs, size_t nq,
                    int rounds)
{
    struct search_hit hits[TOP_K];
    char **variants = NULL;
    size_t nv = make_variants(qs, nq, &variants);

    for (int r = 0; r < rounds; r++) {
        struct search_index *idx = search_index_build(docs, n);

        for (size_t i = 0; i < nv; i++)
            search_query(idx, variants[i], NULL, hits, TOP_K);
        search_index_free(idx);
    }
    for (size_t i = 0; i < nv; i++)
        free(variants[i]);
    free(variants);
}

static void corpus_free(struct corpus *c, struct lquery *qs, size_t nq, cJSON *qroot)
{
    for (size_t i = 0; i < nq; i++)
        free(qs[i].relevant);
    free(qs);
    cJSON_Delete(qroot);
    for (size_t d = 0; d < c->n; d++)
        free((char *)c->docs[d].name);
    free(c->docs);
    for (size_t r = 0; r < c->nroots; r++) {
        cJSON_Delete(c->roots[r]);
        free(c->servers[r]);
    }
    free(c->roots);
    free(c->servers);
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/search/catalogs";
    const char *qpath = NULL;
    bool misses = false, quality_only = false;
    const char *dump_prefix = NULL;
    int profile_rounds = 0, build_rounds = 0;
    int npos = 0;
    struct corpus c = {0};
    struct lquery *qs = NULL;
    size_t nq = 0;
    cJSON *qroot = NULL;
    char *qdefault = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--misses") == 0) {
            misses = true;
        } else if (strcmp(argv[i], "--quality") == 0) {
            quality_only = true;
        } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump_prefix = argv[++i];
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            profile_rounds = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--profile-build") == 0 && i + 1 < argc) {
            build_rounds = (int)strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: search_bench [--misses] [--quality] [--dump PREFIX] [--profile ROUNDS] "
                    "[--profile-build ROUNDS] [CATALOG_DIR [QUERY_FILE]]\n");
            return 2;
        } else if (npos++ == 0) {
            dir = argv[i];
        } else {
            qpath = argv[i];
        }
    }
    if (qpath == NULL)
        qpath = qdefault = xasprintf("%s/../dev-queries.json", dir);
    if (load_catalogs(dir, &c) != 0 || load_queries(qpath, &qs, &nq, &qroot) != 0)
        return 1;
    printf("%zu tools from %zu catalogs in %s; %zu queries from %s\n\n", c.n, c.nroots, dir, nq,
           qpath);
    if (dump_prefix != NULL || profile_rounds > 0 || build_rounds > 0) {
        size_t n1k = c.n < 1000 ? c.n : 1000;
        int rc = 0;

        if (dump_prefix != NULL) {
            rc = dump(&c, qs, nq, dump_prefix);
        } else if (profile_rounds > 0) {
            profile(c.docs, n1k, qs, nq, profile_rounds);
        } else {
            printf("build %zu tools: %.2f ms (median of 5)\n", n1k, build_time(c.docs, n1k, NULL));
            for (int r = 0; r < build_rounds; r++)
                search_index_free(search_index_build(c.docs, n1k));
        }
        corpus_free(&c, qs, nq, qroot);
        free(qdefault);
        return rc;
    }

    /* Quality. */
    struct search_index *idx = search_index_build(c.docs, c.n);
    struct bm25 bm;
    const char *styles[16];
    size_t nstyles = 0;
    struct score all = {0}, ball = {0}, half[2] = {{0}}, bhalf[2] = {{0}};
    struct score st[16] = {{0}}, bst[16] = {{0}};
    size_t lines = 0, line_bytes = 0;

    bm25_build(&bm, c.docs, c.n);
    for (size_t i = 0; i < nq; i++) {
        struct search_hit hits[TOP_K];
        uint32_t r[TOP_K], br[TOP_K];
        size_t n = search_query(idx, qs[i].text, NULL, hits, TOP_K);
        size_t bn = bm25_search(&bm, qs[i].text, br, TOP_K);
        size_t s;

        for (size_t k = 0; k < n; k++) {
            r[k] = (uint32_t)hits[k].doc;
            line_bytes += result_line_bytes(&c.docs[r[k]]);
            lines++;
        }
        int rank = first_rank(&qs[i], c.docs, r, n);
        int brank = first_rank(&qs[i], c.docs, br, bn);
        for (s = 0; s < nstyles && strcmp(styles[s], qs[i].style) != 0; s++)
            ;
        if (s == nstyles && nstyles < 16)
            styles[nstyles++] = qs[i].style;
        if (s < 16) {
            tally(&st[s], rank);
            tally(&bst[s], brank);
        }
        tally(&all, rank);
        tally(&ball, brank);
        tally(&half[i % 2], rank);
        tally(&bhalf[i % 2], brank);
        if (misses && rank != 1) {
            printf("miss [%s] rank %s%d (bm25 %d): %s\n   want %s\n", qs[i].style, rank ? "" : ">",
                   rank ? rank : TOP_K, brank, qs[i].text, qs[i].relevant[0]);
            for (size_t k = 0; k < n && k < 3; k++)
                printf("   %zu. %s %.3f\n", k + 1, c.docs[r[k]].name, hits[k].score);
        }
    }
    printf("%-14s %4s   %-18s    %-18s\n", "", "", "search.c", "bm25 baseline");
    printf("%-14s %4s   %-4s  %-4s  %-4s    %-4s  %-4s  %-4s\n", "style", "n", "r@1", "r@5", "mrr",
           "r@1", "r@5", "mrr");
    print_row("all", &all, &ball);
    for (size_t s = 0; s < nstyles; s++)
        print_row(styles[s], &st[s], &bst[s]);
    print_row("even half", &half[0], &bhalf[0]);
    print_row("odd half", &half[1], &bhalf[1]);
    printf("\nresult line: %.1f tokens (bytes/4) on average over %zu result lines",
           lines ? (double)line_bytes / (double)lines / 4.0 : 0.0, lines);
    line_bytes = 0;
    for (size_t d = 0; d < c.n; d++)
        line_bytes += result_line_bytes(&c.docs[d]);
    printf("; %.1f over all %zu tools\n\n", (double)line_bytes / (double)c.n / 4.0, c.n);
    search_index_free(idx);

    if (quality_only)
        goto done;

    /* Speed and size. */
    size_t mem_all = 0, mem_1k = 0, n1k = c.n < 1000 ? c.n : 1000;
    double b_all = build_time(c.docs, c.n, &mem_all);
    double b_1k = build_time(c.docs, n1k, &mem_1k);
    printf("build   %5zu tools: %6.2f ms  memory %.1f MiB\n", c.n, b_all,
           (double)mem_all / 1048576.0);
    printf("build   %5zu tools: %6.2f ms  memory %.1f MiB\n", n1k, b_1k,
           (double)mem_1k / 1048576.0);
    latency(c.docs, n1k, qs, nq, "1000 tools");

    struct search_doc *syn = NULL;
    char **owned = NULL;
    size_t nsyn = 0, nowned = 0, mem_10k = 0;
    synthetic(&c, 10000, &syn, &nsyn, &owned, &nowned);
    double b_10k = build_time(syn, nsyn, &mem_10k);
    printf("build   %5zu tools: %6.2f ms  memory %.1f MiB (synthetic)\n", nsyn, b_10k,
           (double)mem_10k / 1048576.0);
    latency(syn, nsyn, qs, nq, "10000 tools (synthetic)");

    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(syn);
done:;
    double n = all.n ? (double)all.n : 1.0;
    printf("\nsearch-bench: recall@1=%.2f recall@5=%.2f mrr=%.2f (bm25: recall@1=%.2f "
           "recall@5=%.2f mrr=%.2f)\n",
           all.r1 / n, all.r5 / n, all.mrr / n, ball.r1 / n, ball.r5 / n, ball.mrr / n);

    for (size_t v = 0; v < bm.nvocab; v++) {
        free(bm.vocab[v]);
        free(bm.post[v]);
        free(bm.ptf[v]);
    }
    free(bm.vocab);
    free(bm.post);
    free(bm.ptf);
    free(bm.npost);
    free(bm.idf);
    free(bm.dl);
    free(bm.slot);
    corpus_free(&c, qs, nq, qroot);
    free(qdefault);
    return 0;
}
