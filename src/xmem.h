/*
 * xmem.h - allocation wrappers that abort on failure.
 *
 * Out-of-memory is not a condition mcpzip can serve through, so these never return NULL and
 * call sites stay free of checks. What a peer controls is bounded elsewhere, before it is
 * allocated. Any thread may call these. The caller owns and frees (free()) what they return.
 */
#ifndef MCPZIP_XMEM_H
#define MCPZIP_XMEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
