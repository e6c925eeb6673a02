/*
 * upstream_echo.c - a minimal, fast MCP server over stdio for the mcpzip benchmarks.
 *
 * Newline-delimited JSON-RPC 2.0 on stdin/stdout. Tools:
 *   echo  {text?}  answers at once: {"content":[{"type":"text","text":<the arguments as JSON>}]}
 *   sleep {ms}     answers after ms milliseconds, on its own thread, so calls overlap: 100
 *                  concurrent sleep calls of 100 ms all finish about 100 ms after they arrive
 * Also: initialize (echoes a known protocolVersion), ping, tools/list (one page); notifications
 * are ignored; anything else gets -32601. Exits at end of input, once sleeps in flight answer.
 *
 * Usage: upstream_echo
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static const char tools_json[] =
    "[{\"name\":\"echo\",\"description\":\"Echo the arguments back as text.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}},"
    "{\"name\":\"sleep\",\"description\":\"Wait ms milliseconds, then answer.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\"}},"
    "\"required\":[\"ms\"]}}]";

static void send_msg(cJSON *msg)
{
    char *text = cJSON_PrintUnformatted(msg);
    size_t len = strlen(text);
    const char *p;

    text = realloc(text, len + 2);
    if (text == NULL)
        exit(1);
    text[len++] = '\n';
    pthread_mutex_lock(&out_mu);
    for (p = text; len > 0;) {
        ssize_t n = write(STDOUT_FILENO, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exit(0);
        p += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&out_mu);
    free(text);
    cJSON_Delete(msg);
}

static cJSON *response(const cJSON *id)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddItemToObject(r, "id", id != NULL ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    return r;
}

static void send_result(const cJSON *id, cJSON *result)
{
    cJSON *r = response(id);

    cJSON_AddItemToObject(r, "result", result);
    send_msg(r);
}

static void send_error(const cJSON *id, int code, const char *message)
{
    cJSON *r = response(id), *e = cJSON_AddObjectToObject(r, "error");

    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    send_msg(r);
}

static cJSON *text_result(const char *text)
{
    cJSON *result = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(result, "content");
    cJSON *item = cJSON_CreateObject();

    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", text);
    cJSON_AddItemToArray(content, item);
    return result;
}

struct sleeper {
    cJSON *id;
    long ms;
};

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    struct timespec ts = {.tv_sec = s->ms / 1000, .tv_nsec = (s->ms % 1000) * 1000000L};
    char text[64];

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    snprintf(text, sizeof(text), "slept %ld ms", s->ms);
    send_result(s->id, text_result(text));
    cJSON_Delete(s->id);
    free(s);
    return NULL;
}

static void call_tool(const cJSON *id, const cJSON *params)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");

    if (!cJSON_IsString(name)) {
        send_error(id, -32602, "tools/call needs a name");
    } else if (strcmp(name->valuestring, "echo") == 0) {
        char *text = args != NULL ? cJSON_PrintUnformatted(args) : strdup("{}");

        send_result(id, text_result(text));
        free(text);
    } else if (strcmp(name->valuestring, "sleep") == 0) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(args, "ms");
        struct sleeper *s = malloc(sizeof(*s));
        pthread_attr_t attr;
        pthread_t th;

        if (s == NULL)
            exit(1);
        s->id = cJSON_Duplicate(id, 1);
        s->ms = cJSON_IsNumber(ms) && ms->valuedouble > 0 ? (long)ms->valuedouble : 0;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&th, &attr, sleeper_main, s) != 0)
            sleeper_main(s);
        pthread_attr_destroy(&attr);
    } else {
        send_error(id, -32602, "unknown tool");
    }
}

static void handle(const char *line)
{
    cJSON *msg = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");

    if (msg == NULL) {
        send_error(NULL, -32700, "Parse error");
        return;
    }
    if (!cJSON_IsString(method) || id == NULL) {
        cJSON_Delete(msg); /* a notification or a response: nothing to say */
        return;
    }
    if (strcmp(method->valuestring, "initialize") == 0) {
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
        const char *v = "2025-06-18";
        cJSON *result = cJSON_CreateObject(), *info;

        if (cJSON_IsString(pv) && (strcmp(pv->valuestring, "2024-11-05") == 0 ||
                                   strcmp(pv->valuestring, "2025-03-26") == 0 ||
                                   strcmp(pv->valuestring, "2025-06-18") == 0 ||
                                   strcmp(pv->valuestring, "2025-11-25") == 0))
            v = pv->valuestring;
        cJSON_AddStringToObject(result, "protocolVersion", v);
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(result, "capabilities"), "tools");
        info = cJSON_AddObjectToObject(result, "serverInfo");
        cJSON_AddStringToObject(info, "name", "bench-echo");
        cJSON_AddStringToObject(info, "version", "1.0.0");
        send_result(id, result);
    } else if (strcmp(method->valuestring, "ping") == 0) {
        send_result(id, cJSON_CreateObject());
    } else if (strcmp(method->valuestring, "tools/list") == 0) {
        cJSON *result = cJSON_CreateObject();

        cJSON_AddItemToObject(result, "tools", cJSON_Parse(tools_json));
        send_result(id, result);
    } else if (strcmp(method->valuestring, "tools/call") == 0) {
        call_tool(id, params);
    } else {
        send_error(id, -32601, "Method not found");
    }
    cJSON_Delete(msg);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    signal(SIGPIPE, SIG_IGN);
    while ((n = getline(&line, &cap, stdin)) > 0)
        if (n > 1)
            handle(line);
    free(line);
    pthread_exit(NULL); /* let sleepers in flight answer before the process ends */
}
