/*
 * llmrank.h - optional re-ranking of search candidates by a language model: Gemini's
 * generateContent API, or any OpenAI-compatible chat-completions server (a local model too).
 *
 * Owns: building the request (the query plus one compact line per keyword candidate), calling
 * the provider with a hard deadline, reading the names the model returned (names not among the
 * candidates are ignored), and a small cache of answers per catalog version. Search never fails
 * because of the model: on any error or timeout the caller keeps the keyword ranking.
 *
 * The API key goes in a header (x-goog-api-key or Authorization), never in a URL, and never into
 * a log line or an error message.
 *
 * Threads: llmrank_rank() from any number of threads at once (the cache has its own lock).
 * llmrank_request_body() and llmrank_parse_names() are pure, for tests.
 */
#ifndef MCPZIP_LLMRANK_H
#define MCPZIP_LLMRANK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"

struct llmrank;

/* Returns NULL when the config enables no model. cfg and lib are borrowed. */
struct llmrank *llmrank_new(const struct config *cfg, struct http_lib *lib);
void llmrank_free(struct llmrank *lr);

/*
 * Asks the model to order candidates for query. lines[i] is the compact line shown to the model
 * for names[i]. Writes to order[] the candidate indices the model named, best first, without
 * duplicates; returns how many (0 on any failure, with *why set when why is non-NULL).
 * version keys the cache (the catalog snapshot's version).
 */
size_t llmrank_rank(struct llmrank *lr, const char *query, const char *const *names,
                    const char *const *lines, size_t n, uint64_t version, size_t *order,
                    char **why);

/* The JSON request body for provider ("gemini" or "openai"), newly allocated. */
char *llmrank_request_body(const char *provider, const char *model, const char *query,
                           const char *const *lines, size_t n);

/* Reads a provider's response body and writes the candidate indices it names, in order of
 * first mention, to order[]. Returns how many; 0 when the body is not a valid answer. */
size_t llmrank_parse_names(const char *provider, const char *body, size_t len,
                           const char *const *names, size_t n, size_t *order);

#endif
