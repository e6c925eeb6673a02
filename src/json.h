/*
 * json.h - cJSON ownership rules and safe getters used everywhere.
 *
 * The rule, written once: a function whose name ends in _take consumes the cJSON it is given
 * (the caller must not touch or free it afterwards); every other function borrows its cJSON
 * arguments. A returned `const cJSON *` is borrowed from its parent and lives as long as the
 * parent; a returned `cJSON *` belongs to the caller (cJSON_Delete). Detaching from a parent is
 * done with cJSON_DetachItemFromObjectCaseSensitive; duplicating with json_dup().
 *
 * Getters accept NULL objects and non-objects, and return NULL/false, so callers can chain
 * lookups over peer-controlled JSON without checking every level. Any thread.
 */
#ifndef MCPZIP_JSON_H
#define MCPZIP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Routes cJSON's allocations through xmalloc so that out-of-memory aborts. Called by main once. */
void json_init(void);

/* Parses exactly len bytes (no NUL needed). Returns NULL on malformed JSON; *errpos (may be NULL)
 * gets the byte offset of the error. */
cJSON *json_parse(const char *text, size_t len, size_t *errpos);

/* The 1-based line and column of byte offset off in text (for parse errors users can find). */
void json_position(const char *text, size_t len, size_t off, size_t *line, size_t *col);

/* Returns a newly allocated compact serialization. Never NULL. */
char *json_print(const cJSON *item);

/* Returns a deep copy, or NULL when item is NULL. */
cJSON *json_dup(const cJSON *item);

/* Borrowed member lookups (case-sensitive). */
const cJSON *json_get(const cJSON *obj, const char *key);
const char *json_get_str(const cJSON *obj, const char *key);
const cJSON *json_get_obj(const cJSON *obj, const char *key);
const cJSON *json_get_arr(const cJSON *obj, const char *key);
bool json_get_num(const cJSON *obj, const char *key, double *out);
bool json_get_bool(const cJSON *obj, const char *key, bool *out);

/* Adds item to obj under key, consuming item. Replaces an existing member. */
void json_set_take(cJSON *obj, const char *key, cJSON *item);

/* Returns a new {"type":"text","text":text} content array with one element. */
cJSON *json_text_content(const char *text);

#endif
