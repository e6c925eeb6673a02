/*
 * fuzz_jsonrpc.c - libFuzzer harness for jsonrpc.h: the NDJSON framer and the message parser.
 *
 * Input layout: byte 0 is a control byte (the framer's max line length and how the stream is
 * cut into reads); the rest is the byte stream a peer sends. The stream is fed to a framer in
 * pseudo-random chunks and every line it delivers goes through jsonrpc_parse(), from the
 * framer's own buffer (not NUL-terminated, exactly as in production). The stream is also parsed
 * whole as a single message.
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - the framer agrees with a trivial reference splitter (the same lines byte for byte, the
 *    same too_big reports in the same order, the same pending count) whatever the read
 *    boundaries, and never holds more than max bytes;
 *  - jsonrpc_parse returns 0, -32700 or -32600; a failure always has a reason; a success has
 *    the fields its kind promises; an echoed id is a string or an integral number;
 *  - a parsed message, serialized and parsed again, is accepted as the same kind;
 *  - the error builder and jsonrpc_id_key accept whatever id the parser hands out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonrpc.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One message through the parser, with the invariants above. */
static void parse_one(const char *text, size_t len)
{
    struct jsonrpc_msg m;
    char *why = NULL;
    int rc = jsonrpc_parse(text, len, &m, &why);

    CHECK(rc == 0 || rc == JSONRPC_PARSE_ERROR || rc == JSONRPC_INVALID_REQUEST);
    if (rc != 0) {
        cJSON *err;
        char *s;

        CHECK(why != NULL && why[0] != '\0');
        CHECK(rc != JSONRPC_PARSE_ERROR || m.root == NULL);
        if (m.id != NULL)
            CHECK(cJSON_IsString(m.id) || cJSON_IsNumber(m.id));
        /* The server answers an invalid request by echoing the id it got. */
        err = jsonrpc_error_new(m.id, rc, why);
        s = json_print(err);
        CHECK(s != NULL);
        free(s);
        cJSON_Delete(err);
        free(why);
        jsonrpc_msg_clear(&m);
        return;
    }
    CHECK(why == NULL);
    CHECK(m.root != NULL);
    switch (m.kind) {
    case JSONRPC_REQUEST:
        CHECK(m.id != NULL && m.method != NULL && m.method[0] != '\0');
        CHECK(m.params == NULL || cJSON_IsObject(m.params) || cJSON_IsArray(m.params));
        break;
    case JSONRPC_NOTIFICATION:
        CHECK(m.id == NULL && m.method != NULL && m.method[0] != '\0');
        break;
    case JSONRPC_RESPONSE:
        CHECK(m.id != NULL && m.result != NULL && m.error == NULL);
        break;
    case JSONRPC_ERROR:
        CHECK(cJSON_IsObject(m.error) && m.result == NULL);
        break;
    default:
        CHECK(0);
    }
    if (m.id != NULL) {
        char *key = jsonrpc_id_key(m.id);

        CHECK(key != NULL && key[0] != '\0');
        free(key);
    }
    /* Round trip: what we would forward must parse back as the same kind. */
    {
        char *again = json_print(m.root);
        struct jsonrpc_msg m2;
        char *why2 = NULL;
        int rc2 = jsonrpc_parse(again, strlen(again), &m2, &why2);

        CHECK(rc2 == 0);
        CHECK(m2.kind == m.kind);
        jsonrpc_msg_clear(&m2);
        free(why2);
        free(again);
    }
    jsonrpc_msg_clear(&m);
}

/* One thing the framer should report: a line (its bytes in the stream) or a too_big. */
struct event {
    size_t off, len;
    bool too_big;
};

/* What the reference splitter predicts, in order. */
struct expect {
    struct event *ev;
    size_t nev;
    size_t pending; /* bytes of the unfinished last line */
};

/*
 * The framer's contract, written the slow obvious way: cut at '\n'; a segment longer than max
 * (counting a trailing '\r') is reported once; otherwise drop one trailing '\r' and deliver it
 * unless empty. The unterminated tail is pending, or reported if already over max.
 */
static struct expect reference(const char *s, size_t n, size_t max)
{
    struct expect e = {malloc((n + 1) * sizeof(struct event)), 0, 0};
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        size_t len;

        if (i < n && s[i] != '\n')
            continue;
        len = i - start;
        if (len > max) {
            e.ev[e.nev++] = (struct event){start, 0, true};
        } else if (i == n) {
            e.pending = len;
        } else {
            if (len > 0 && s[i - 1] == '\r')
                len--;
            if (len > 0)
                e.ev[e.nev++] = (struct event){start, len, false};
        }
        start = i + 1;
    }
    return e;
}

struct sink {
    size_t max;
    const char *stream;
    const struct expect *want;
    size_t next; /* index of the next expected event */
};

/* Every report must be the next one the reference predicts, byte for byte. */
static void on_line(void *ud, const char *line, size_t len, bool too_big)
{
    struct sink *s = ud;
    const struct event *ev;

    CHECK(s->next < s->want->nev);
    ev = &s->want->ev[s->next++];
    CHECK(too_big == ev->too_big);
    if (too_big) {
        CHECK(line == NULL);
        return;
    }
    CHECK(line != NULL && len == ev->len && len <= s->max);
    CHECK(memcmp(line, s->stream + ev->off, len) == 0);
    parse_one(line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jsonrpc_framer *fr;
    struct sink sink;
    struct expect want;
    const char *stream;
    size_t n, off = 0, max;
    uint32_t rng;
    char *whole;

    if (size < 1)
        return 0;
    max = (size_t)8 << (data[0] & 7); /* 8 .. 1024 */
    rng = data[0] * 2654435761u + 1;
    stream = (const char *)data + 1;
    n = size - 1;

    /* The whole input as one message, from an exact-size copy so over-reads are caught. */
    whole = malloc(n ? n : 1);
    memcpy(whole, stream, n);
    parse_one(whole, n);
    free(whole);

    want = reference(stream, n, max);
    sink.max = max;
    sink.stream = stream;
    sink.want = &want;
    sink.next = 0;
    fr = jsonrpc_framer_new(max);
    while (off < n) {
        size_t chunk;

        rng = rng * 1103515245u + 12345u;
        chunk = 1 + (rng >> 16) % 97;
        if (chunk > n - off)
            chunk = n - off;
        jsonrpc_framer_feed(fr, stream + off, chunk, on_line, &sink);
        CHECK(jsonrpc_framer_pending(fr) <= max);
        off += chunk;
    }
    CHECK(sink.next == want.nev);
    CHECK(jsonrpc_framer_pending(fr) == want.pending);
    jsonrpc_framer_free(fr);
    free(want.ev);
    return 0;
}
