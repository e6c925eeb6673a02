/*
 * httpdirect.c - the baseline of the HTTP benchmark: tools/call sent straight to a Streamable
 * HTTP server through mcpzip's own HTTP client (http.c, libcurl), timed with CLOCK_MONOTONIC
 * from just before the request to its parsed answer. Prints "n=N p50_us=X p90_us=Y p99_us=Z".
 *
 * Usage: httpdirect URL N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "json.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *hdrs[] = {"Content-Type: application/json",
                          "Accept: application/json, text/event-stream", "Mcp-Session-Id: bench",
                          "MCP-Protocol-Version: 2025-06-18", NULL};
    struct http_lib *lib;
    struct http_client *hc;
    char *why = NULL, body[256];
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    double *t;

    if (argc < 2) {
        fprintf(stderr, "usage: httpdirect URL N\n");
        return 2;
    }
    json_init();
    lib = http_lib_new("bench/1");
    if (http_lib_ensure(lib, &why) != 0) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    hc = http_client_new(lib);
    t = calloc((size_t)n, sizeof(double));
    for (long i = -50; i < n; i++) {
        struct http_request rq = {
            .method = "POST", .url = argv[1], .headers = hdrs, .max_body = 65536};
        struct http_response rs;
        double t0;
        cJSON *m;

        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"echo\",\"arguments\":{}}}",
                 i + 100);
        rq.body = body;
        rq.body_len = strlen(body);
        t0 = now_us();
        if (http_perform(hc, &rq, &rs, &why) != 0 || rs.status != 200) {
            fprintf(stderr, "request failed\n");
            return 1;
        }
        m = json_parse(rs.body, rs.body_len, NULL);
        if (i >= 0)
            t[i] = now_us() - t0;
        cJSON_Delete(m);
        http_response_clear(&rs);
    }
    qsort(t, (size_t)n, sizeof(double), cmp);
    printf("n=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f\n", n, t[n / 2], t[n * 9 / 10],
           t[n * 99 / 100]);
    free(t);
    http_client_free(hc);
    return 0;
}
