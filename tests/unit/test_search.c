/*
 * test_search.c - unit tests of the search module: the guarantees of search.h (exact names
 * first, server restriction, ties by name, determinism, a cache that never changes an answer,
 * safety on any input) and the ranking mechanisms (stemming, synonyms, typo tolerance,
 * parameters, server names in the query, suggestions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "xmem.h"

#define CITY_WEATHER "\xe6\x9f\xa5\xe8\xaf\xa2\xe5\x9f\x8e\xe5\xb8\x82\xe5\xa4\xa9\xe6\xb0\x94"
#define WEATHER "\xe5\xa4\xa9\xe6\xb0\x94"

struct tool {
    const char *server;
    const char *tool;
    const char *description;
    const char *schema; /* JSON text or NULL */
};

static const struct tool catalog[] = {
    {"github", "create_issue", "Create a new issue in a GitHub repository",
     "{\"type\":\"object\",\"properties\":{\"owner\":{\"type\":\"string\"},"
     "\"repo\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"}}}"},
    {"github", "create_issue_comment", "Add a comment to an issue", NULL},
    {"github", "search_issues", "Search for issues and pull requests across repositories", NULL},
    {"github", "create_repository", "Create a new GitHub repository in your account", NULL},
    {"github", "merge_pull_request", "Merge a pull request", NULL},
    {"gitlab", "create_issue", "Create a new issue in a GitLab project", NULL},
    {"gitlab", "delete_issue", "Delete an issue from a GitLab project", NULL},
    {"slack", "post_message", "Post a new message to a Slack channel", NULL},
    {"slack", "list_channels", "List public channels in the workspace", NULL},
    {"fs", "read_file", "Read the complete contents of a file from disk", NULL},
    {"fs", "delete_file", "Delete a file from disk", NULL},
    {"fs", "move_file", "Move or rename a file", NULL},
    {"docs", "insertDateChip", "Insert a date chip at a position in a document", NULL},
    {"k8s-go", "pods_list", "List all the Kubernetes pods in the current cluster", NULL},
    {"datadog", "unmute_host", "Unmute a host in Datadog", NULL},
    /* "query the city weather", in Chinese. */
    {"maps", "maps_weather", CITY_WEATHER, NULL},
    {"mail", "send_email", "Sends an email",
     "{\"type\":\"object\",\"properties\":{\"recipient\":{\"type\":\"string\","
     "\"description\":\"Address of the recipient\"},\"options\":{\"type\":\"object\","
     "\"properties\":{\"importance\":{\"type\":\"string\"}}}}}"},
    /* Two tools that differ only in their names: their scores tie. */
    {"zeta", "ping_host", "Ping a host and report the round trip time", NULL},
    {"alpha", "ping_host", "Ping a host and report the round trip time", NULL},
};

#define NTOOLS (sizeof(catalog) / sizeof(catalog[0]))

struct fixture {
    struct search_doc docs[NTOOLS];
    cJSON *schemas[NTOOLS];
    struct search_index *idx;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    for (size_t i = 0; i < NTOOLS; i++) {
        f->docs[i].name = xasprintf("%s__%s", catalog[i].server, catalog[i].tool);
        f->docs[i].server = catalog[i].server;
        f->docs[i].tool = catalog[i].tool;
        f->docs[i].description = catalog[i].description;
        f->schemas[i] = catalog[i].schema ? cJSON_Parse(catalog[i].schema) : NULL;
        f->docs[i].input_schema = f->schemas[i];
    }
    f->idx = search_index_build(f->docs, NTOOLS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    search_index_free(f->idx);
    for (size_t i = 0; i < NTOOLS; i++) {
        free((char *)f->docs[i].name);
        cJSON_Delete(f->schemas[i]);
    }
    free(f);
    return 0;
}

/* The name of the first hit, or "" when there is none. */
static const char *top(struct fixture *f, const char *query, const char *server)
{
    struct search_hit hits[10];
    size_t n = search_query(f->idx, query, server, hits, 10);

    return n > 0 ? f->docs[hits[0].doc].name : "";
}

static void test_exact_name_first(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "gitlab__create_issue", NULL), "gitlab__create_issue");
    assert_string_equal(top(f, "github__create_issue", NULL), "github__create_issue");
    /* Without the prefix two tools match exactly; ties go by name. */
    assert_string_equal(top(f, "create_issue", NULL), "github__create_issue");
    assert_string_equal(top(f, "insertDateChip", NULL), "docs__insertDateChip");
}

static void test_exact_name_spelling(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "GITLAB__CREATE-ISSUE", NULL), "gitlab__create_issue");
    assert_string_equal(top(f, "gitlab create issue", NULL), "gitlab__create_issue");
    assert_string_equal(top(f, "insert-date-chip", NULL), "docs__insertDateChip");
    assert_string_equal(top(f, "Insert Date Chip", NULL), "docs__insertDateChip");
    assert_string_equal(top(f, "k8s-go__pods_list", NULL), "k8s-go__pods_list");
}

static void test_server_restriction(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    size_t n = search_query(f->idx, "create issue", "gitlab", hits, 10);

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(f->docs[hits[i].doc].server, "gitlab");
    assert_string_equal(f->docs[hits[0].doc].name, "gitlab__create_issue");
    /* The exact-name guarantee also respects the restriction. */
    assert_string_equal(top(f, "github__create_issue", "gitlab"), "gitlab__create_issue");
    assert_int_equal(search_query(f->idx, "create issue", "nosuch", hits, 10), 0);
    assert_int_equal(search_query(f->idx, "create issue", "GitLab", hits, 10), 0);
}

static void test_ties_by_name(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    size_t n = search_query(f->idx, "round trip time", NULL, hits, 10);

    assert_true(n >= 2);
    assert_string_equal(f->docs[hits[0].doc].name, "alpha__ping_host");
    assert_string_equal(f->docs[hits[1].doc].name, "zeta__ping_host");
    assert_true(hits[0].score == hits[1].score);
}

static void test_scores_descend(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    size_t n = search_query(f->idx, "issue", NULL, hits, 10);

    assert_true(n >= 3);
    for (size_t i = 1; i < n; i++)
        assert_true(hits[i - 1].score >= hits[i].score);
}

static void test_server_name_in_query(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "gitlab: new issue", NULL), "gitlab__create_issue");
    assert_string_equal(top(f, "new issue in github", NULL), "github__create_issue");
}

static void test_stemming(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "sending emails", NULL), "mail__send_email");
    assert_string_equal(top(f, "sent an email", NULL), "mail__send_email");
    assert_string_equal(top(f, "merging pull requests", NULL), "github__merge_pull_request");
}

static void test_synonyms(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "remove a file", NULL), "fs__delete_file");
    assert_string_equal(top(f, "rename a file", NULL), "fs__move_file");
    assert_string_equal(top(f, "open a ticket in gitlab", NULL), "gitlab__create_issue");
    assert_string_equal(top(f, "list k8s pods", NULL), "k8s-go__pods_list");
    assert_string_equal(top(f, "make a new repo", NULL), "github__create_repository");
}

static void test_typos(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "serch issues", NULL), "github__search_issues");
    assert_string_equal(top(f, "unmute hsot", NULL), "datadog__unmute_host");
    assert_string_equal(top(f, "kubernets pods", NULL), "k8s-go__pods_list");
}

/* Unknown words: completions of a cut word, and two slips in a long one. */
static void test_completion_and_long_typos(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(top(f, "kuber pods", NULL), "k8s-go__pods_list");
    assert_string_equal(top(f, "chann list", NULL), "slack__list_channels");
    assert_string_equal(top(f, "list kubrenetse pods", NULL), "k8s-go__pods_list");
    assert_string_equal(top(f, "post a mesage", NULL), "slack__post_message");
}

/* Words are cut the same wherever they sit: runs longer than eight letters, camelCase and
 * digits after them, non-ASCII bytes right after ASCII letters. */
static void test_long_words(void **state)
{
    (void)state;
    static const char *const desc[] = {
        "Handles extraordinarilylongwordsWithCamelCaseInsideThem and more",
        "Summarizes abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef tokens",
        "Converts caf\xc3\xa9terias and na\xc3\xafvet\xc3\xa9 quickly",
        "Counts version2beta builds",
    };
    struct search_doc docs[4] = {{0}};
    struct search_hit hits[4];
    char *names[4];

    for (size_t i = 0; i < 4; i++) {
        names[i] = xasprintf("s__t%zu", i);
        docs[i].name = names[i];
        docs[i].description = desc[i];
    }
    struct search_index *idx = search_index_build(docs, 4);
    assert_int_equal(search_query(idx, "inside them", NULL, hits, 4), 1);
    assert_int_equal(hits[0].doc, 0);
    assert_int_equal(search_query(idx, "camel case", NULL, hits, 4), 1);
    assert_int_equal(hits[0].doc, 0);
    assert_true(search_query(idx, "abcdefghijklmnopqrstuvwxyzabcdefghijklmn", NULL, hits, 4) >= 1);
    assert_int_equal(hits[0].doc, 1);
    assert_true(search_query(idx, "caf\xc3\xa9terias", NULL, hits, 4) >= 1);
    assert_int_equal(hits[0].doc, 2);
    assert_true(search_query(idx, "beta builds", NULL, hits, 4) >= 1);
    assert_int_equal(hits[0].doc, 3);
    search_index_free(idx);
    for (size_t i = 0; i < 4; i++)
        free(names[i]);
}

/* Many hits (more than the ranking sorts by insertion) come best first, ties by name, and a
 * shorter list is a prefix of a longer one. */
static void test_many_hits_sorted(void **state)
{
    (void)state;
    enum { N = 300 };
    struct search_doc *docs = xcalloc(N, sizeof(*docs));
    struct search_hit *hits = xcalloc(N, sizeof(*hits)), few[10];
    char *names[N];

    for (size_t i = 0; i < N; i++) {
        /* Every tool matches; a third of them tie exactly. */
        names[i] = xasprintf("srv%zu__tool%zu", (i * 7919) % N, i);
        docs[i].name = names[i];
        docs[i].description = i % 3 == 0 ? "list the items of the store"
                                         : (i % 3 == 1 ? "list items" : "list every item there is");
    }
    struct search_index *idx = search_index_build(docs, N);
    size_t n = search_query(idx, "list items", NULL, hits, N);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++) {
        assert_true(hits[i - 1].score >= hits[i].score);
        if (hits[i - 1].score == hits[i].score)
            assert_true(strcmp(docs[hits[i - 1].doc].name, docs[hits[i].doc].name) < 0);
    }
    search_index_free(idx);
    idx = search_index_build(docs, N);
    assert_int_equal(search_query(idx, "list items", NULL, few, 10), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(few[i].doc, hits[i].doc);
    search_index_free(idx);
    for (size_t i = 0; i < N; i++)
        free(names[i]);
    free(docs);
    free(hits);
}

static void test_parameters(void **state)
{
    struct fixture *f = *state;

    /* Only the parameter schema, nested one level, says "importance" and "recipient". */
    assert_string_equal(top(f, "recipient importance", NULL), "mail__send_email");
}

static void test_destructive_held_back(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    size_t n = search_query(f->idx, "gitlab issue", NULL, hits, 10);

    assert_true(n >= 2);
    assert_string_equal(f->docs[hits[0].doc].name, "gitlab__create_issue");
    assert_string_equal(top(f, "delete gitlab issue", NULL), "gitlab__delete_issue");
}

static void test_chinese(void **state)
{
    struct fixture *f = *state;

    /* The whole run and a two-character slice of it both find the tool. */
    assert_string_equal(top(f, CITY_WEATHER, NULL), "maps__maps_weather");
    assert_string_equal(top(f, WEATHER, NULL), "maps__maps_weather");
}

static void test_empty_and_odd_queries(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    static const char *const odd[] = {
        "",
        " ",
        "\t\n",
        "!!!",
        "__",
        "a",
        "the",
        "\xff\xfe\xfd",
        "\xc3",
        "\xe6\x9f",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "issue\xff\xc0\xafissue",
        "\x01\x02\x7f",
    };

    assert_int_equal(search_query(f->idx, NULL, NULL, hits, 10), 0);
    assert_int_equal(search_query(f->idx, "", NULL, hits, 10), 0);
    assert_int_equal(search_query(f->idx, "   ", NULL, hits, 10), 0);
    assert_int_equal(search_query(f->idx, "issue", NULL, hits, 0), 0);
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
        assert_true(search_query(f->idx, odd[i], NULL, hits, 10) <= 10);
    assert_true(search_query(f->idx, "issue\xff\xc0\xafissue", NULL, hits, 10) > 0);
}

static void test_huge_query(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    size_t len = 1 << 20;
    char *q = xmalloc(len + 1);

    for (size_t i = 0; i < len; i++)
        q[i] = "issue create gitlab \xe5\xa4\xa9 \xff"[i % 26];
    q[len] = '\0';
    assert_true(search_query(f->idx, q, NULL, hits, 10) > 0);
    /* One enormous word, and random bytes. */
    memset(q, 'x', len);
    assert_true(search_query(f->idx, q, NULL, hits, 10) <= 10);
    srand(7);
    for (size_t i = 0; i < len; i++)
        q[i] = (char)(1 + rand() % 255);
    assert_true(search_query(f->idx, q, NULL, hits, 10) <= 10);
    free(q);
}

static void test_limit(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[NTOOLS];

    assert_int_equal(search_query(f->idx, "issue", NULL, hits, 1), 1);
    assert_true(search_query(f->idx, "issue", NULL, hits, 3) <= 3);
    assert_true(search_query(f->idx, "a host a file an issue", NULL, hits, NTOOLS) <= NTOOLS);
}

static void assert_same_hits(const struct search_hit *a, size_t na, const struct search_hit *b,
                             size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].doc, b[i].doc);
        assert_true(a[i].score == b[i].score);
    }
}

static void test_cache_same_results(void **state)
{
    struct fixture *f = *state;
    struct search_hit a[10], b[10], c[10], d[3];
    size_t na = search_query(f->idx, "create an issue", NULL, a, 10);
    size_t nb = search_query(f->idx, "create an issue", NULL, b, 10);
    /* Case and word order are not part of the cache key, nor of the ranking. */
    size_t nc = search_query(f->idx, "Issue CREATE an", NULL, c, 10);
    size_t nd = search_query(f->idx, "create an issue", NULL, d, 3);

    assert_true(na > 3);
    assert_same_hits(a, na, b, nb);
    assert_same_hits(a, na, c, nc);
    assert_same_hits(a, 3, d, nd);
    /* A fresh index (empty cache) agrees. */
    struct search_index *fresh = search_index_build(f->docs, NTOOLS);
    nb = search_query(fresh, "create an issue", NULL, b, 10);
    assert_same_hits(a, na, b, nb);
    search_index_free(fresh);
}

static void test_cache_bounded(void **state)
{
    struct fixture *f = *state;
    struct search_hit hits[10];
    char q[64];
    size_t before, after;

    for (int i = 0; i < 300; i++) {
        snprintf(q, sizeof(q), "issue %d", i);
        search_query(f->idx, q, NULL, hits, 10);
    }
    before = search_index_memory(f->idx);
    for (int i = 300; i < 1000; i++) {
        snprintf(q, sizeof(q), "issue %d", i);
        search_query(f->idx, q, NULL, hits, 10);
    }
    after = search_index_memory(f->idx);
    /* Full at 256 entries: more queries replace entries rather than add them. */
    assert_true(after < before + before / 10);
}

static const char *const thread_queries[] = {"create issue",  "post a message", "delete file",
                                             "list k8s pods", "serch issues",   "unmute hsot"};

#define NTQ (sizeof(thread_queries) / sizeof(thread_queries[0]))

struct worker {
    struct fixture *f;
    struct search_index *fresh; /* its own index, so queries also race on an empty cache */
    struct search_hit want[NTQ][10];
    size_t nwant[NTQ];
    int failures;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;

    for (size_t round = 0; round < 300; round++) {
        size_t k = round % NTQ;
        struct search_hit a[10];
        size_t na = search_query(round % 2 ? w->f->idx : w->fresh, thread_queries[k], NULL, a, 10);

        if (na != w->nwant[k] || memcmp(a, w->want[k], na * sizeof(a[0])) != 0)
            w->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    struct search_index *fresh = search_index_build(f->docs, NTOOLS);
    pthread_t t[4];
    static struct worker w[4];

    for (int i = 0; i < 4; i++) {
        w[i].fresh = fresh;
        for (size_t k = 0; k < NTQ; k++)
            w[i].nwant[k] = search_query(f->idx, thread_queries[k], NULL, w[i].want[k], 10);
    }
    for (int i = 0; i < 4; i++) {
        w[i].f = f;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    search_index_free(fresh);
}

static void test_suggest(void **state)
{
    struct fixture *f = *state;
    size_t out[5];
    size_t n;

    n = search_suggest(f->idx, "create_isue", out, 5);
    assert_true(n >= 2);
    assert_string_equal(f->docs[out[0]].name, "github__create_issue");
    assert_string_equal(f->docs[out[1]].name, "gitlab__create_issue");
    n = search_suggest(f->idx, "slak__post_mesage", out, 5);
    assert_true(n >= 1);
    assert_string_equal(f->docs[out[0]].name, "slack__post_message");
    n = search_suggest(f->idx, "insertDateChp", out, 1);
    assert_int_equal(n, 1);
    assert_string_equal(f->docs[out[0]].name, "docs__insertDateChip");
    /* Nothing alike by spelling: the search ranking fills in. */
    n = search_suggest(f->idx, "kubernetes pods", out, 5);
    assert_true(n >= 1);
    assert_string_equal(f->docs[out[0]].name, "k8s-go__pods_list");
    assert_int_equal(search_suggest(f->idx, "", out, 5), 0);
    assert_int_equal(search_suggest(f->idx, NULL, out, 5), 0);
    assert_int_equal(search_suggest(f->idx, "create_issue", out, 0), 0);
}

static void test_empty_index(void **state)
{
    struct search_index *idx = search_index_build(NULL, 0);
    struct search_hit hits[4];
    size_t out[4];

    (void)state;
    assert_non_null(idx);
    assert_int_equal(search_query(idx, "anything", NULL, hits, 4), 0);
    assert_int_equal(search_suggest(idx, "anything", out, 4), 0);
    assert_true(search_index_memory(idx) > 0);
    search_index_free(idx);
    search_index_free(NULL);
    assert_int_equal(search_index_memory(NULL), 0);
}

static void test_sparse_docs(void **state)
{
    /* Only a name: no server, tool, title, description or schema. */
    struct search_doc docs[2] = {
        {.name = "srv__only_name"},
        {.name = "bare"},
    };
    struct search_index *idx = search_index_build(docs, 2);
    struct search_hit hits[4];

    (void)state;
    assert_int_equal(search_query(idx, "only name", NULL, hits, 4), 1);
    assert_int_equal(hits[0].doc, 0);
    assert_int_equal(search_query(idx, "srv__only_name", "srv", hits, 4), 1);
    assert_int_equal(search_query(idx, "bare", NULL, hits, 4), 1);
    assert_int_equal(hits[0].doc, 1);
    search_index_free(idx);
}

static void test_docs_array_copied(void **state)
{
    /* The proxy frees its search_doc array right after the build; only strings are borrowed. */
    struct search_doc *docs = xcalloc(2, sizeof(*docs));
    struct search_index *idx;
    struct search_hit hits[4];

    (void)state;
    docs[0] = (struct search_doc){
        .name = "a__send_mail", .server = "a", .tool = "send_mail", .description = "Send an email"};
    docs[1] = (struct search_doc){
        .name = "b__send_mail", .server = "b", .tool = "send_mail", .description = "Send an email"};
    idx = search_index_build(docs, 2);
    memset(docs, 0xa5, 2 * sizeof(*docs));
    free(docs);
    assert_int_equal(search_query(idx, "send_mail", NULL, hits, 4), 2);
    assert_int_equal(hits[0].doc, 0);
    assert_int_equal(search_query(idx, "mail", "b", hits, 4), 1);
    assert_int_equal(hits[0].doc, 1);
    search_index_free(idx);
}

/* A document added to a builder may be freed right after: the index keeps only its terms, and
 * ranks exactly as an index built from the whole array at once. */
static void test_builder_transient_docs(void **state)
{
    struct fixture *f = *state;
    static const char *const queries[] = {
        "create an issue", "send email to recipient", "importance", "weather", "ping", "mail"};
    struct search_builder *b = search_builder_new(NTOOLS + 1);
    struct search_index *idx;

    for (size_t i = 0; i < NTOOLS; i++) {
        struct search_doc d = f->docs[i];
        char *tool = d.tool ? xstrdup(d.tool) : NULL;
        char *desc = d.description ? xstrdup(d.description) : NULL;
        char *title = d.title ? xstrdup(d.title) : NULL;
        char *text = d.input_schema ? cJSON_PrintUnformatted(d.input_schema) : NULL;
        cJSON *schema = text ? cJSON_Parse(text) : NULL;

        d.tool = tool;
        d.description = desc;
        d.title = title;
        d.input_schema = schema;
        search_builder_add(b, &d);
        /* Poison what was read, so a kept pointer would change the results below. */
        if (desc != NULL)
            memset(desc, 'x', strlen(desc));
        free(tool);
        free(desc);
        free(title);
        free(text);
        cJSON_Delete(schema);
    }
    idx = search_builder_finish(b);
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        struct search_hit a[10], c[10];
        size_t na = search_query(f->idx, queries[q], NULL, a, 10);
        size_t nc = search_query(idx, queries[q], NULL, c, 10);

        assert_true(na > 0);
        assert_same_hits(a, na, c, nc);
    }
    search_index_free(idx);
}

static void test_memory_reported(void **state)
{
    struct fixture *f = *state;

    assert_true(search_index_memory(f->idx) > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_name_first),
        cmocka_unit_test(test_exact_name_spelling),
        cmocka_unit_test(test_server_restriction),
        cmocka_unit_test(test_ties_by_name),
        cmocka_unit_test(test_scores_descend),
        cmocka_unit_test(test_server_name_in_query),
        cmocka_unit_test(test_stemming),
        cmocka_unit_test(test_synonyms),
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_completion_and_long_typos),
        cmocka_unit_test(test_long_words),
        cmocka_unit_test(test_many_hits_sorted),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_destructive_held_back),
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_empty_and_odd_queries),
        cmocka_unit_test(test_huge_query),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_cache_same_results),
        cmocka_unit_test(test_cache_bounded),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_empty_index),
        cmocka_unit_test(test_sparse_docs),
        cmocka_unit_test(test_docs_array_copied),
        cmocka_unit_test(test_builder_transient_docs),
        cmocka_unit_test(test_memory_reported),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
