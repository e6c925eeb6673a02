/*
 * buf.h - a growable text buffer for building messages and tool output.
 *
 * The caller owns the struct (usually on the stack) and takes the text with buf_take() or
 * releases it with buf_free(). Allocation failure aborts (xmem.h). Not shared between threads.
 */
#ifndef MCPZIP_BUF_H
#define MCPZIP_BUF_H

#include <stddef.h>

struct buf {
    char *s; /* NUL-terminated once anything was added; NULL before */
    size_t len;
    size_t cap;
};

void buf_append(struct buf *b, const char *s, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the text (never NULL: "" when empty) and resets b; the caller frees it. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

#endif
