/*
 * fuzz_sse.c - libFuzzer harness for sse.h, the incremental Server-Sent Events parser.
 *
 * The first input byte picks a chunk size and a max event size; the rest is the stream. The
 * stream is fed whole and then in chunks of that size: both transcripts of events must be
 * identical (an incremental parser may not depend on where reads end), every event's data must
 * fit the bound, and nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"

static void record(void *ud, const struct sse_event *ev)
{
    struct buf *b = ud;

    buf_puts(b, ev->type);
    buf_puts(b, "|");
    buf_append(b, ev->data, ev->len);
    buf_puts(b, "|");
    buf_puts(b, ev->id);
    buf_puts(b, ev->too_big ? "|1\n" : "|0\n");
}

static char *run(const uint8_t *data, size_t len, size_t chunk, size_t max)
{
    struct sse_parser *p = sse_parser_new(max);
    struct buf b = {0};

    for (size_t off = 0; off < len; off += chunk)
        sse_parser_feed(p, (const char *)data + off, len - off < chunk ? len - off : chunk, record,
                        &b);
    buf_printf(&b, "retry=%ld last=%s\n", sse_parser_retry(p), sse_parser_last_id(p));
    sse_parser_free(p);
    return buf_take(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk, max;
    char *whole, *chunked;

    if (size < 1)
        return 0;
    chunk = 1 + (data[0] & 0x0f);
    max = 8 + (size_t)(data[0] >> 4) * 64;
    data++;
    size--;
    whole = run(data, size, size ? size : 1, max);
    chunked = run(data, size, chunk, max);
    if (strcmp(whole, chunked) != 0)
        abort();
    free(whole);
    free(chunked);
    return 0;
}
