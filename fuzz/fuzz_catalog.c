/*
 * fuzz_catalog.c - libFuzzer harness for the catalog cache loader (catalog.c, format 2).
 *
 * The input is written as the cache file of a fixed three-server config and loaded. Whatever the
 * bytes, the load must either be refused with a reason naming the file (and leave no tool) or
 * give a catalog whose routed names are sorted and unique, whose every definition reads back as
 * a JSON object naming that very tool, and over which an index can be built and searched; a
 * save must then write a file that loads again to the same names. Nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "search.h"

#include "fuzz_check.h"

#define CONFIG_JSON                                                                \
    "{\"mcpServers\":{\"alpha\":{\"command\":\"a\"},\"beta\":{\"command\":\"b\"}," \
    "\"gamma\":{\"command\":\"c\",\"disabled\":true}}}"

static struct config *cfg;
static char dir[64], path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *why = NULL;

    (void)argc;
    (void)argv;
    log_init("error", NULL, &why);
    snprintf(dir, sizeof(dir), "/tmp/mcpzip-fuzz-catalog-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/catalog.json", dir);
    if (config_parse(CONFIG_JSON, strlen(CONFIG_JSON), "/fuzz/config.json", &cfg, &why) != 0)
        abort();
    return 0;
}

/* The routed names of a catalog, one per line (caller frees). */
static char *names_of(struct catalog *cat)
{
    struct catalog_snap *snap = catalog_acquire(cat);
    size_t len = 1;
    char *out;

    for (size_t i = 0; i < snap->ntools; i++)
        len += strlen(snap->tools[i].name) + 1;
    out = calloc(1, len);
    for (size_t i = 0; i < snap->ntools; i++) {
        strcat(out, snap->tools[i].name);
        strcat(out, "\n");
    }
    catalog_release(cat, snap);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct catalog *cat = catalog_new(cfg, path), *again;
    struct catalog_snap *snap;
    struct search_hit hits[5];
    char *why = NULL, *before, *after;
    int rc;

    if (fsutil_write_atomic(path, (const char *)data, size, 0600, &why) != 0)
        abort();
    rc = catalog_load(cat, &why);
    snap = catalog_acquire(cat);
    if (rc != 0) {
        CHECK(rc == ERR_PARSE || rc == ERR_IO);
        CHECK(why != NULL && strstr(why, path) != NULL && snap->ntools == 0);
    }
    for (size_t i = 0; i < snap->ntools; i++) {
        const struct catalog_tool *t = &snap->tools[i];
        cJSON *def = catalog_tool_def(t, NULL);
        const char *name = json_get_str(def, "name");

        CHECK(i == 0 || strcmp(snap->tools[i - 1].name, t->name) < 0); /* sorted, unique */
        /* Reads back as the tool it is listed as. */
        CHECK(name != NULL && strcmp(t->name + strlen(t->server) + 2, name) == 0);
        CHECK(catalog_tool_size(t) > 0);
        cJSON_Delete(def);
    }
    (void)search_query(catalog_index(snap), "create issue", NULL, hits, 5);
    catalog_release(cat, snap);
    free(why);
    why = NULL;

    /* A catalog that loaded saves to a file that loads again to the same tools. */
    if (rc == 0 && snap != NULL) {
        catalog_update(cat, "beta", cJSON_Parse("[{\"name\":\"fuzzed\"}]"), NULL);
        before = names_of(cat);
        CHECK(catalog_save(cat, &why) == 0);
        again = catalog_new(cfg, path);
        CHECK(catalog_load(again, &why) == 0);
        after = names_of(again);
        CHECK(strcmp(before, after) == 0);
        free(before);
        free(after);
        catalog_free(again);
    }
    free(why);
    catalog_free(cat);
    return 0;
}
