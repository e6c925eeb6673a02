/*
 * cli_serve.c - the serve command; see cli_serve.h.
 */
#include "cli_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "proxy.h"
#include "server.h"
#include "xmem.h"

/* The write end of the stop pipe: the one thing a signal handler may touch. */
static int stop_pipe_w = -1;

static void on_stop_signal(int sig)
{
    int saved = errno;

    (void)sig;
    if (stop_pipe_w >= 0)
        (void)!write(stop_pipe_w, "s", 1);
    errno = saved;
}

static int setup_signals(int *stop_r)
{
    struct sigaction sa;
    int p[2];

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    stop_pipe_w = p[1];
    *stop_r = p[0];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

#define SERVE_MAX_DEPTH 4

/*
 * A config whose server runs mcpzip with that same config would start itself forever. Each serve
 * tells its children (through the environment they inherit) its config path and nesting depth;
 * a child asked to serve the same config, or nested too deep, refuses with a message that its
 * parent shows as that server's error.
 */
static int refuse_recursion(const struct config *cfg)
{
    const char *parent = getenv("MCPZIP_PARENT_CONFIG"), *d = getenv("MCPZIP_DEPTH");
    long depth = d != NULL ? strtol(d, NULL, 10) : 0;
    char next[32];

    if (parent != NULL && strcmp(parent, cfg->path) == 0) {
        fprintf(stderr,
                "mcpzip: refusing to start: a server in %s runs mcpzip with this same "
                "config, which would start itself forever; remove that entry\n",
                cfg->path);
        return -1;
    }
    if (depth >= SERVE_MAX_DEPTH) {
        fprintf(stderr,
                "mcpzip: refusing to start: mcpzip is nested %ld levels deep; a config "
                "probably runs mcpzip through another config that runs it back\n",
                depth);
        return -1;
    }
    snprintf(next, sizeof(next), "%ld", depth + 1);
    setenv("MCPZIP_PARENT_CONFIG", cfg->path, 1);
    setenv("MCPZIP_DEPTH", next, 1);
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: mcpzip serve [--config PATH] [--log-file PATH]\n"
          "Runs the proxy as an MCP server on stdin/stdout. Log level: MCPZIP_LOG="
          "error|warn|info|debug|trace.\n",
          f);
}

int cli_serve_main(int argc, char **argv)
{
    const char *config_path = NULL, *log_path = NULL;
    struct config *cfg = NULL;
    struct proxy *px = NULL;
    struct server *srv = NULL;
    char *why = NULL;
    int stop_r = -1, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            config_path = argv[i] + 9;
        else if (strcmp(argv[i], "--log-file") == 0 && i + 1 < argc)
            log_path = argv[++i];
        else if (strncmp(argv[i], "--log-file=", 11) == 0)
            log_path = argv[i] + 11;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "mcpzip serve: unknown option \"%s\"\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }
    /* Every thread would otherwise get its own malloc arena: with dozens of upstream reader
     * threads that multiplies the resident memory of what they parse. One arena keeps what one
     * thread frees usable by all; blocks of 64 KiB and more (a tool list being parsed, the
     * index build's arrays) get their own mappings, which go back to the system when freed
     * instead of leaving holes in the heap (bench/README.md has the measurements). */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    if (log_init(getenv("MCPZIP_LOG"), log_path, &why) != 0) {
        fprintf(stderr, "mcpzip: %s\n", why);
        free(why);
        return 1;
    }
    json_init();
    if (config_load(config_path, &cfg, &why) != 0) {
        fprintf(stderr, "mcpzip: %s\n", why);
        LOG_ERROR("%s", why);
        free(why);
        log_close();
        return 1;
    }
    for (size_t w = 0; w < cfg->nwarnings; w++)
        LOG_WARN("%s", cfg->warnings[w]);
    if (refuse_recursion(cfg) != 0) {
        config_free(cfg);
        log_close();
        return 1;
    }
    if (isatty(STDIN_FILENO))
        fprintf(stderr, "mcpzip serve speaks MCP (JSON-RPC) on stdin/stdout and is meant to be "
                        "started by an MCP client such as Claude Code. Press Ctrl-D to quit.\n");
    if (setup_signals(&stop_r) != 0) {
        fprintf(stderr, "mcpzip: cannot set up signal handling: %s\n", strerror(errno));
        config_free(cfg);
        return 1;
    }
    LOG_INFO("serving %zu servers from %s", cfg->nservers, cfg->path);
    px = proxy_new(cfg);
    srv = server_new(px, STDIN_FILENO, STDOUT_FILENO, stop_r);
    server_run(srv);
    proxy_shutdown(px);
    if (!server_free(srv)) {
        /* A call is stuck past every grace period; exit without freeing what it uses. */
        LOG_WARN("exiting with a call still in flight");
        log_close();
        _exit(0);
    }
    if (proxy_free(px))
        config_free(cfg);
    LOG_INFO("stopped");
    log_close();
    return 0;
}
