/*
 * fuzz_redact.c - libFuzzer harness for log_redact() (log.h).
 *
 * Input layout: byte 0 chooses the output size (0 .. 255 bytes, so tiny and truncating sizes
 * are common); the rest, up to the first NUL, is the log text. The output buffer is allocated at
 * exactly that size so that a write past it is caught by ASan.
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - log_redact returns out, and with outsz > 0 the result is NUL-terminated inside outsz;
 *  - a truncated result is a prefix of the untruncated one (truncation never changes what is
 *    hidden, so it cannot reveal more);
 *  - a secret appended as "&access_token=<marker>" or inside "Authorization: Bearer <marker>"
 *    never appears in the output, whatever text comes before it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKER "ZQXJ9MARKER"

/* Redacts in with room for everything, into a new buffer. */
static char *redact_full(const char *in)
{
    size_t cap = strlen(in) * 2 + 64;
    char *out = malloc(cap);

    CHECK(log_redact(in, out, cap) == out);
    CHECK(strlen(out) < cap);
    return out;
}

/* prefix + suffix must not show the marker after redaction (unless prefix already has it). */
static void check_hidden(const char *prefix, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *in = malloc(pl + sl + 1), *out;

    memcpy(in, prefix, pl);
    memcpy(in + pl, suffix, sl + 1);
    out = redact_full(in);
    if (strstr(prefix, "ZQXJ9") == NULL)
        CHECK(strstr(out, MARKER) == NULL);
    free(out);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t outsz, len;
    char *in, *out, *full;

    if (size < 1)
        return 0;
    outsz = data[0];
    len = strnlen((const char *)data + 1, size - 1);
    in = malloc(len + 1);
    memcpy(in, data + 1, len);
    in[len] = '\0';

    out = malloc(outsz ? outsz : 1);
    CHECK(log_redact(in, out, outsz) == out);
    full = redact_full(in);
    if (outsz > 0) {
        size_t olen = strnlen(out, outsz);

        CHECK(olen < outsz);
        CHECK(strncmp(out, full, olen) == 0);
        CHECK(olen == outsz - 1 || strcmp(out, full) == 0);
    }
    free(out);
    free(full);

    check_hidden(in, "&access_token=" MARKER);
    check_hidden(in, "\nAuthorization: Bearer " MARKER);
    check_hidden(in, " {\"client_secret\": \"" MARKER "\"}");
    free(in);
    return 0;
}
