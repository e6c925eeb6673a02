/*
 * search.h - the tool index and its ranking.
 *
 * Owns: an immutable inverted index over a set of tools, built once per catalog change, and a
 * bounded query cache that belongs to the index (dropped with it, so a catalog change can never
 * serve a stale ranking).
 *
 * Threads: an index may be built on any thread. Once built, an index is shared read-only:
 * search_query() and search_suggest() may be called from any number of threads at once (the
 * query cache inside is guarded by its own lock). search_index_free() is called once, by the
 * owner, when no other thread can still use the index.
 *
 * Memory: the index borrows each document's name and server (struct search_doc), which the
 * caller keeps alive until search_index_free(); it reads the other fields while the document is
 * added and keeps only its terms, so those may be freed as soon as search_builder_add() returns.
 * A search_doc array given to search_index_build() may be freed when it returns. Everything
 * else the index allocates it frees itself. Allocation failure aborts (xmem.h).
 */
#ifndef MCPZIP_SEARCH_H
#define MCPZIP_SEARCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct search_index;

/* One tool as the index sees it. Every pointer is borrowed (see above). */
struct search_doc {
    const char *name;          /* routed name, "server__tool"; kept */
    const char *server;        /* the server part of name; kept */
    const char *tool;          /* the tool's own name as the upstream gave it */
    const char *title;         /* tool title or annotations.title; NULL when absent */
    const char *description;   /* NULL when absent */
    const cJSON *input_schema; /* the tool's inputSchema; NULL when absent */
};

struct search_hit {
    size_t doc;   /* index into the docs array given to search_index_build() */
    double score; /* higher is better; only comparable within one query */
};

/*
 * Builds an index over docs[0..n) (docs may be NULL when n is 0). Never returns NULL. Takes
 * about 15 ms per 1,000 tools; the work per tool is bounded (fields are cut at a few thousand
 * words, schemas at 64 parameters per level and one level of nesting).
 */
struct search_index *search_index_build(const struct search_doc *docs, size_t n);

/*
 * The same, one document at a time, so a caller can hand over documents it parses one by one
 * and frees at once: search_builder_new(n), then search_builder_add() for documents 0, 1, ...
 * n-1 in order (further ones are ignored; fewer are fine), then search_builder_finish(), which
 * frees the builder and returns the index. A hit's doc is the position of its search_doc in
 * that order. At most 16,777,215 documents.
 */
struct search_builder;
struct search_builder *search_builder_new(size_t n);
void search_builder_add(struct search_builder *b, const struct search_doc *doc);
struct search_index *search_builder_finish(struct search_builder *b);

/* Frees the index and its query cache. search_index_free(NULL) is a no-op. */
void search_index_free(struct search_index *idx);

/*
 * Ranks the documents for a free-text query, best first, ties broken by name (strcmp), and
 * writes at most max hits to out. When server is non-NULL only that server's tools are
 * considered (exact, case-sensitive server name; an unknown server gives 0 hits). A query that
 * spells a tool's name, with or without the "server__" prefix, in any case and with `-`, `_`,
 * `.` or spaces between the words, returns that tool first. Returns the number of hits written;
 * 0 when nothing matches or query is NULL or empty. The query is arbitrary user text of any
 * length and content (invalid UTF-8 included); only its first 64 words are read. The same
 * query (up to case, word order and stop words) is answered from a 256-entry LRU cache.
 */
size_t search_query(const struct search_index *idx, const char *query, const char *server,
                    struct search_hit *out, size_t max);

/*
 * Suggests up to max tool names close to text (a mistyped or half-remembered tool name), best
 * first, for "did you mean" messages: names within a small edit distance of text (compared with
 * and without the server prefix, ignoring case and separators), then, if that leaves room, the
 * best search_query() hits for text. Writes document indices to out; returns how many.
 */
size_t search_suggest(const struct search_index *idx, const char *text, size_t *out, size_t max);

/* Bytes the index holds, its query cache and scratch buffers included (for benchmarks and
 * proxy_status). 0 for NULL. */
size_t search_index_memory(const struct search_index *idx);

#endif
