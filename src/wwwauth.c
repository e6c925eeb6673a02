/*
 * wwwauth.c - WWW-Authenticate parsing; see wwwauth.h.
 *
 * The grammar (RFC 9110 §11.3, §5.6):
 *   WWW-Authenticate = #challenge
 *   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * The list commas are shared between challenges and their parameters, so after a comma the
 * parser looks ahead: "token BWS =" continues the current challenge's parameters, anything else
 * starts a new challenge.
 */
#include "wwwauth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "xmem.h"

struct chal {
    char *scheme;
    char *token68;
    struct wwwauth_param *params; /* names and values allocated here */
    size_t nparams;
};

struct wwwauth {
    struct wwwauth_challenge view[WWWAUTH_MAX_CHALLENGES]; /* what callers see */
    struct chal chal[WWWAUTH_MAX_CHALLENGES];
    size_t count;
    size_t bytes; /* over all lines added */
};

/* The cursor of one line being parsed. */
struct cur {
    const char *s;
    size_t len, pos;
};

static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token68_char(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

/* The lenient unquoted value: visible ASCII except ',', '"' and '\\' (see wwwauth.h). */
static bool is_value_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\';
}

static void skip_ows(struct cur *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
        c->pos++;
}

/* Skips white space and commas: the separators and the empty list elements between them. */
static void skip_separators(struct cur *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == ','))
        c->pos++;
}

static size_t token_len(const struct cur *c, size_t at)
{
    size_t n = 0;

    while (at + n < c->len && is_tchar((unsigned char)c->s[at + n]))
        n++;
    return n;
}

/* Returns whether a token followed by BWS and "=" starts at the cursor, i.e. an auth-param. */
static bool param_ahead(const struct cur *c)
{
    size_t at = c->pos + token_len(c, c->pos);

    if (at == c->pos)
        return false;
    while (at < c->len && (c->s[at] == ' ' || c->s[at] == '\t'))
        at++;
    return at < c->len && c->s[at] == '=';
}

/* Returns the length of a token68 at the cursor when one is there and is all that the challenge
 * holds (followed by OWS and then a comma or the end), else 0. */
static size_t token68_ahead(const struct cur *c)
{
    size_t at = c->pos, n;

    while (at < c->len && is_token68_char((unsigned char)c->s[at]))
        at++;
    if (at == c->pos)
        return 0;
    while (at < c->len && c->s[at] == '=')
        at++;
    n = at - c->pos;
    while (at < c->len && (c->s[at] == ' ' || c->s[at] == '\t'))
        at++;
    return (at == c->len || c->s[at] == ',') ? n : 0;
}

static int fail(const struct cur *c, int rc, const char *what, char **why)
{
    *why = xasprintf("WWW-Authenticate: %s at byte %zu", what, c->pos);
    return rc;
}

/* Parses a quoted-string at the cursor (which is on the opening quote) into *out. */
static int quoted_string(struct cur *c, char **out, char **why)
{
    struct buf b = {0};
    unsigned char ch;

    c->pos++;
    while (c->pos < c->len) {
        ch = (unsigned char)c->s[c->pos];
        if (ch == '"') {
            c->pos++;
            *out = buf_take(&b);
            return 0;
        }
        if (ch == '\\') {
            if (c->pos + 1 >= c->len)
                break;
            ch = (unsigned char)c->s[c->pos + 1];
            if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
                c->pos++;
                buf_free(&b);
                return fail(c, ERR_PARSE, "control character in a quoted string", why);
            }
            buf_append(&b, (const char *)&ch, 1);
            c->pos += 2;
            continue;
        }
        if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
            buf_free(&b);
            return fail(c, ERR_PARSE, "control character in a quoted string", why);
        }
        buf_append(&b, (const char *)&ch, 1);
        c->pos++;
    }
    buf_free(&b);
    return fail(c, ERR_PARSE, "unterminated quoted string", why);
}

static void chal_clear(struct chal *ch)
{
    size_t i;

    for (i = 0; i < ch->nparams; i++) {
        free((char *)ch->params[i].name);
        free((char *)ch->params[i].value);
    }
    free(ch->params);
    free(ch->scheme);
    free(ch->token68);
    memset(ch, 0, sizeof(*ch));
}

/* Parses one auth-param at the cursor into ch. */
static int auth_param(struct cur *c, struct chal *ch, char **why)
{
    size_t n = token_len(c, c->pos), i;
    char *name, *value = NULL;
    int rc;

    if (n == 0)
        return fail(c, ERR_PARSE, "expected a parameter name", why);
    name = xstrndup(c->s + c->pos, n);
    for (i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)name[i]);
    c->pos += n;
    skip_ows(c);
    if (c->pos >= c->len || c->s[c->pos] != '=') {
        free(name);
        return fail(c, ERR_PARSE, "expected '=' after a parameter name", why);
    }
    c->pos++;
    skip_ows(c);
    if (c->pos < c->len && c->s[c->pos] == '"') {
        rc = quoted_string(c, &value, why);
        if (rc != 0) {
            free(name);
            return rc;
        }
    } else {
        for (n = 0; c->pos + n < c->len && is_value_char((unsigned char)c->s[c->pos + n]); n++)
            ;
        if (n == 0) {
            free(name);
            return fail(c, ERR_PARSE, "expected a parameter value", why);
        }
        value = xstrndup(c->s + c->pos, n);
        c->pos += n;
    }
    /* RFC 9110 §11.2: each parameter name MUST only occur once per challenge. Two different
     * values (e.g. of scope) would be ambiguous, so the challenge is refused. */
    for (i = 0; i < ch->nparams; i++)
        if (strcmp(ch->params[i].name, name) == 0) {
            free(name);
            free(value);
            return fail(c, ERR_PARSE, "parameter repeated in one challenge", why);
        }
    if (ch->nparams >= WWWAUTH_MAX_PARAMS) {
        free(name);
        free(value);
        return fail(c, ERR_TOO_BIG, "too many parameters in one challenge", why);
    }
    ch->params = xrealloc(ch->params, (ch->nparams + 1) * sizeof(*ch->params));
    ch->params[ch->nparams].name = name;
    ch->params[ch->nparams].value = value;
    ch->nparams++;
    return 0;
}

/* Parses the challenge at the cursor (on its scheme) into ch, leaving the cursor after it: at
 * the end of the line or on the comma that precedes the next challenge. */
static int challenge(struct cur *c, struct chal *ch, char **why)
{
    size_t n = token_len(c, c->pos), start;
    int rc;

    if (n == 0)
        return fail(c, ERR_PARSE, "expected an authentication scheme", why);
    ch->scheme = xstrndup(c->s + c->pos, n);
    c->pos += n;
    start = c->pos;
    skip_ows(c);
    if (c->pos >= c->len || c->s[c->pos] == ',')
        return 0;
    if (c->pos == start)
        return fail(c, ERR_PARSE, "expected a space after the authentication scheme", why);
    /* "abc==" is a token68 even though it starts like a parameter; token68_ahead only accepts
     * what cannot be a parameter list ("a=b" is a parameter). */
    n = token68_ahead(c);
    if (n > 0) {
        ch->token68 = xstrndup(c->s + c->pos, n);
        c->pos += n;
        skip_ows(c);
        return 0;
    }
    for (;;) {
        rc = auth_param(c, ch, why);
        if (rc != 0)
            return rc;
        skip_ows(c);
        if (c->pos >= c->len)
            return 0;
        if (c->s[c->pos] != ',')
            return fail(c, ERR_PARSE, "expected ',' after a parameter", why);
        /* Look past the comma(s): another parameter of this challenge, or the next one. */
        start = c->pos;
        skip_separators(c);
        if (c->pos >= c->len)
            return 0;
        if (!param_ahead(c)) {
            c->pos = start;
            return 0;
        }
    }
}

struct wwwauth *wwwauth_new(void)
{
    return xcalloc(1, sizeof(struct wwwauth));
}

void wwwauth_free(struct wwwauth *wa)
{
    size_t i;

    if (wa == NULL)
        return;
    for (i = 0; i < wa->count; i++)
        chal_clear(&wa->chal[i]);
    free(wa);
}

int wwwauth_add(struct wwwauth *wa, const char *value, size_t len, char **why)
{
    struct cur c = {.s = value, .len = len, .pos = 0};
    struct chal ch;
    int rc;

    if (len > WWWAUTH_MAX_BYTES - wa->bytes) {
        *why = xasprintf("WWW-Authenticate: longer than %d bytes", WWWAUTH_MAX_BYTES);
        return ERR_TOO_BIG;
    }
    wa->bytes += len;
    for (;;) {
        skip_separators(&c);
        if (c.pos >= c.len)
            return 0;
        if (wa->count >= WWWAUTH_MAX_CHALLENGES)
            return fail(&c, ERR_TOO_BIG, "too many challenges", why);
        memset(&ch, 0, sizeof(ch));
        rc = challenge(&c, &ch, why);
        if (rc != 0) {
            chal_clear(&ch);
            return rc;
        }
        wa->chal[wa->count] = ch;
        wa->view[wa->count] = (struct wwwauth_challenge){
            .scheme = ch.scheme, .token68 = ch.token68, .params = ch.params, .nparams = ch.nparams};
        wa->count++;
    }
}

size_t wwwauth_count(const struct wwwauth *wa)
{
    return wa->count;
}

const struct wwwauth_challenge *wwwauth_challenge(const struct wwwauth *wa, size_t i)
{
    return i < wa->count ? &wa->view[i] : NULL;
}

const struct wwwauth_challenge *wwwauth_find(const struct wwwauth *wa, const char *scheme)
{
    size_t i;

    for (i = 0; i < wa->count; i++)
        if (strcasecmp(wa->view[i].scheme, scheme) == 0)
            return &wa->view[i];
    return NULL;
}

const char *wwwauth_param(const struct wwwauth_challenge *c, const char *name)
{
    size_t i;

    if (c == NULL)
        return NULL;
    for (i = 0; i < c->nparams; i++)
        if (strcasecmp(c->params[i].name, name) == 0)
            return c->params[i].value;
    return NULL;
}

bool wwwauth_bearer(const struct wwwauth *wa, struct wwwauth_bearer *out)
{
    const struct wwwauth_challenge *c = wwwauth_find(wa, "Bearer");

    memset(out, 0, sizeof(*out));
    if (c == NULL)
        return false;
    out->resource_metadata = wwwauth_param(c, "resource_metadata");
    out->scope = wwwauth_param(c, "scope");
    out->error = wwwauth_param(c, "error");
    out->error_description = wwwauth_param(c, "error_description");
    out->realm = wwwauth_param(c, "realm");
    return true;
}
