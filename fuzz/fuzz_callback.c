/*
 * fuzz_callback.c - libFuzzer harness for the OAuth authorization response parser
 * (oauth_callback_parse in oauth_callback.h), which reads what a browser or a user pastes.
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - a failure returns ERR_PARSE or ERR_TOO_BIG with a message and leaves every field NULL;
 *  - a success has a non-empty code or an error, and no decoded field is longer than the input;
 *  - round trip: re-encoding the fields as a query and parsing that gives the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "oauth_callback.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add(struct buf *b, const char *name, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";

    if (v == NULL)
        return;
    buf_puts(b, b->len > 1 ? "&" : "");
    buf_puts(b, name);
    buf_puts(b, "=");
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            buf_append(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};

            buf_append(b, e, 3);
        }
    }
}

static void same(const char *a, const char *b)
{
    CHECK((a == NULL) == (b == NULL));
    CHECK(a == NULL || strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth_callback_params p, q;
    struct buf b = {0};
    char *why = NULL;
    int rc = oauth_callback_parse((const char *)data, size, &p, &why);

    if (rc != 0) {
        CHECK(rc == ERR_PARSE || rc == ERR_TOO_BIG);
        CHECK(why != NULL && why[0] != '\0');
        CHECK(p.code == NULL && p.state == NULL && p.iss == NULL && p.error == NULL &&
              p.error_description == NULL);
        free(why);
        return 0;
    }
    CHECK(why == NULL);
    CHECK((p.code != NULL && p.code[0] != '\0') || p.error != NULL);
    CHECK(p.code == NULL || strlen(p.code) <= size);
    buf_puts(&b, "?");
    add(&b, "code", p.code);
    add(&b, "state", p.state);
    add(&b, "iss", p.iss);
    add(&b, "error", p.error);
    add(&b, "error_description", p.error_description);
    if (b.len <= OAUTH_CALLBACK_MAX) {
        CHECK(oauth_callback_parse(b.s, b.len, &q, &why) == 0);
        same(p.code, q.code);
        same(p.state, q.state);
        same(p.iss, q.iss);
        same(p.error, q.error);
        same(p.error_description, q.error_description);
        oauth_callback_params_clear(&q);
    }
    buf_free(&b);
    oauth_callback_params_clear(&p);
    return 0;
}
