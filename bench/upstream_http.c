/*
 * upstream_http.c - a minimal Streamable HTTP MCP server for the HTTP benchmarks: HTTP/1.1 with
 * keep-alive on 127.0.0.1, one thread per connection, plain JSON answers. Tools: `echo` (answers
 * at once) and `sleep {ms}` (answers after ms, so calls overlap). Not a general HTTP server: it
 * reads Content-Length bodies and nothing else.
 *
 * Usage: upstream_http PORT   (prints "listening PORT" when ready)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static void reply(int c, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nMcp-Session-Id: bench\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, strlen(body));

    (void)!write(c, head, (size_t)n);
    (void)!write(c, body, strlen(body));
}

static void answer(int c, const char *body)
{
    cJSON *m = cJSON_Parse(body), *id = cJSON_GetObjectItem(m, "id");
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(m, "method"));
    char *idtext = id != NULL ? cJSON_PrintUnformatted(id) : NULL, out[512];

    if (method == NULL || id == NULL) {
        reply(c, 202, "");
    } else if (strcmp(method, "initialize") == 0) {
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"protocolVersion\":"
                 "\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"b\","
                 "\"version\":\"1\"}}}",
                 idtext);
        reply(c, 200, out);
    } else if (strcmp(method, "tools/list") == 0) {
        snprintf(
            out, sizeof(out),
            "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"tools\":["
            "{\"name\":\"echo\",\"description\":\"Echo\",\"inputSchema\":{\"type\":\"object\"}},"
            "{\"name\":\"sleep\",\"description\":\"Sleep\",\"inputSchema\":{\"type\":\"object\"}}"
            "]}}",
            idtext);
        reply(c, 200, out);
    } else if (strcmp(method, "tools/call") == 0) {
        cJSON *p = cJSON_GetObjectItem(m, "params");
        const char *tool = cJSON_GetStringValue(cJSON_GetObjectItem(p, "name"));
        cJSON *ms = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "arguments"), "ms");

        if (tool != NULL && strcmp(tool, "sleep") == 0 && cJSON_IsNumber(ms)) {
            struct timespec ts = {.tv_sec = (long)ms->valuedouble / 1000,
                                  .tv_nsec = ((long)ms->valuedouble % 1000) * 1000000L};

            nanosleep(&ts, NULL);
        }
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":["
                 "{\"type\":\"text\",\"text\":\"ok\"}]}}",
                 idtext);
        reply(c, 200, out);
    } else {
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", idtext);
        reply(c, 200, out);
    }
    free(idtext);
    cJSON_Delete(m);
}

static void *conn_main(void *arg)
{
    int c = (int)(long)arg, one = 1;
    char buf[65536];
    size_t have = 0;

    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        char *end = NULL, *cl;
        size_t need;
        ssize_t n;

        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            n = read(c, buf + have, sizeof(buf) - 1 - have);
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        buf[have] = '\0';
        cl = strcasestr(buf, "content-length:");
        need = (size_t)(end + 4 - buf) + (cl != NULL && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
        while (have < need) {
            n = read(c, buf + have, sizeof(buf) - 1 - have);
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        buf[need - 1 + 1 > have ? have : need] = '\0';
        {
            char save = buf[need];

            buf[need] = '\0';
            if (strncmp(buf, "GET ", 4) == 0)
                (void)!write(c, "HTTP/1.1 405 X\r\nContent-Length: 0\r\n\r\n", 38);
            else if (strncmp(buf, "DELETE ", 7) == 0)
                (void)!write(c, "HTTP/1.1 200 X\r\nContent-Length: 0\r\n\r\n", 38);
            else
                answer(c, end + 4);
            buf[need] = save;
        }
        memmove(buf, buf + need, have - need);
        have -= need;
    }
done:
    close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    a.sin_port = htons(argc > 1 ? (unsigned short)strtol(argv[1], NULL, 10) : 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 256) != 0) {
        perror("upstream_http");
        return 1;
    }
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("listening %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        pthread_t th;

        if (c < 0)
            continue;
        if (pthread_create(&th, NULL, conn_main, (void *)(long)c) == 0)
            pthread_detach(th);
        else
            close(c);
    }
}
