/*
 * json.c - cJSON helpers; see json.h for the ownership rules.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "xmem.h"

void json_init(void)
{
    cJSON_Hooks hooks = {.malloc_fn = xmalloc, .free_fn = free};

    cJSON_InitHooks(&hooks);
}

cJSON *json_parse(const char *text, size_t len, size_t *errpos)
{
    const char *end = NULL;
    cJSON *item = cJSON_ParseWithLengthOpts(text, len, &end, 0);

    if (item == NULL && errpos != NULL) {
        const char *at = cJSON_GetErrorPtr();

        *errpos = (at != NULL && at >= text && at <= text + len) ? (size_t)(at - text) : 0;
    }
    if (item != NULL && end != NULL) {
        /* Trailing bytes other than white space mean the text was not one JSON value. */
        while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
        if (end < text + len) {
            if (errpos != NULL)
                *errpos = (size_t)(end - text);
            cJSON_Delete(item);
            return NULL;
        }
    }
    return item;
}

void json_position(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

char *json_print(const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);

    return s != NULL ? s : xstrdup("null");
}

cJSON *json_dup(const cJSON *item)
{
    return item != NULL ? cJSON_Duplicate(item, 1) : NULL;
}

const cJSON *json_get(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *json_get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = json_get(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *json_get_obj(const cJSON *obj, const char *key)
{
    const cJSON *v = json_get(obj, key);

    return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *json_get_arr(const cJSON *obj, const char *key)
{
    const cJSON *v = json_get(obj, key);

    return cJSON_IsArray(v) ? v : NULL;
}

bool json_get_num(const cJSON *obj, const char *key, double *out)
{
    const cJSON *v = json_get(obj, key);

    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

bool json_get_bool(const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = json_get(obj, key);

    if (!cJSON_IsBool(v))
        return false;
    *out = cJSON_IsTrue(v);
    return true;
}

void json_set_take(cJSON *obj, const char *key, cJSON *item)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

cJSON *json_text_content(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "type", "text");
    cJSON_AddStringToObject(c, "text", text);
    cJSON_AddItemToArray(arr, c);
    return arr;
}
