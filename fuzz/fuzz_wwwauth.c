/*
 * fuzz_wwwauth.c - libFuzzer harness for the WWW-Authenticate parser (wwwauth.h).
 *
 * Input layout: the input is cut at '\n' into header lines, each given to wwwauth_add() in turn
 * (one response with several WWW-Authenticate lines). Lines may contain any byte, NUL included.
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - the bounds hold: at most WWWAUTH_MAX_CHALLENGES challenges, WWWAUTH_MAX_PARAMS parameters
 *    each; schemes are non-empty; a challenge has a token68 or parameters, never both;
 *  - parameter names are lowercase and unique within a challenge, and wwwauth_param() finds
 *    each one's first value; wwwauth_find() finds a challenge of every scheme present;
 *  - a failing wwwauth_add() returns ERR_PARSE or ERR_TOO_BIG with a message;
 *  - round trip: when every line parsed, printing the challenges in canonical form (values as
 *    quoted strings with escapes) and parsing that again gives the same challenges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "wwwauth.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const struct wwwauth *wa)
{
    size_t i, j, k, n = wwwauth_count(wa);

    CHECK(n <= WWWAUTH_MAX_CHALLENGES);
    CHECK(wwwauth_challenge(wa, n) == NULL);
    for (i = 0; i < n; i++) {
        const struct wwwauth_challenge *c = wwwauth_challenge(wa, i);

        CHECK(c != NULL && c->scheme[0] != '\0');
        CHECK(c->nparams <= WWWAUTH_MAX_PARAMS);
        CHECK(c->token68 == NULL || c->nparams == 0);
        CHECK(wwwauth_find(wa, c->scheme) != NULL);
        CHECK(strcasecmp(wwwauth_find(wa, c->scheme)->scheme, c->scheme) == 0);
        for (j = 0; j < c->nparams; j++) {
            const char *name = c->params[j].name;

            CHECK(name[0] != '\0');
            for (k = 0; name[k] != '\0'; k++)
                CHECK(!(name[k] >= 'A' && name[k] <= 'Z'));
            for (k = 0; k < j; k++)
                CHECK(strcmp(c->params[k].name, name) != 0);
            CHECK(wwwauth_param(c, name) == c->params[j].value);
        }
    }
}

/* Prints the challenges in canonical form, newly allocated. */
static char *print(const struct wwwauth *wa)
{
    struct buf b = {0};
    size_t i, j;
    const char *v;

    for (i = 0; i < wwwauth_count(wa); i++) {
        const struct wwwauth_challenge *c = wwwauth_challenge(wa, i);

        buf_puts(&b, i > 0 ? ", " : "");
        buf_puts(&b, c->scheme);
        if (c->token68 != NULL) {
            buf_puts(&b, " ");
            buf_puts(&b, c->token68);
        }
        for (j = 0; j < c->nparams; j++) {
            buf_puts(&b, j > 0 ? ", " : " ");
            buf_puts(&b, c->params[j].name);
            buf_puts(&b, "=\"");
            for (v = c->params[j].value; *v != '\0'; v++) {
                if (*v == '"' || *v == '\\')
                    buf_append(&b, "\\", 1);
                buf_append(&b, v, 1);
            }
            buf_puts(&b, "\"");
        }
    }
    return buf_take(&b);
}

static void check_same(const struct wwwauth *a, const struct wwwauth *b)
{
    size_t i, j;

    CHECK(wwwauth_count(a) == wwwauth_count(b));
    for (i = 0; i < wwwauth_count(a); i++) {
        const struct wwwauth_challenge *x = wwwauth_challenge(a, i), *y = wwwauth_challenge(b, i);

        CHECK(strcmp(x->scheme, y->scheme) == 0);
        CHECK((x->token68 == NULL) == (y->token68 == NULL));
        CHECK(x->token68 == NULL || strcmp(x->token68, y->token68) == 0);
        CHECK(x->nparams == y->nparams);
        for (j = 0; j < x->nparams; j++) {
            CHECK(strcmp(x->params[j].name, y->params[j].name) == 0);
            CHECK(strcmp(x->params[j].value, y->params[j].value) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wwwauth *wa = wwwauth_new(), *again;
    const char *p = (const char *)data, *end = p + size, *nl;
    bool all_ok = true;
    char *why = NULL, *text;
    int rc;

    while (p <= end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        rc = wwwauth_add(wa, p, (size_t)(nl - p), &why);
        if (rc != 0) {
            CHECK(rc == ERR_PARSE || rc == ERR_TOO_BIG);
            CHECK(why != NULL && why[0] != '\0');
            free(why);
            why = NULL;
            all_ok = false;
        } else {
            CHECK(why == NULL);
        }
        check_invariants(wa);
        p = nl + 1;
    }
    if (all_ok) {
        text = print(wa);
        if (strlen(text) <= WWWAUTH_MAX_BYTES) {
            again = wwwauth_new();
            CHECK(wwwauth_add(again, text, strlen(text), &why) == 0);
            check_same(wa, again);
            wwwauth_free(again);
        }
        free(text);
    }
    wwwauth_free(wa);
    return 0;
}
