/*
 * mcpdrive.c - the timing driver of the mcpzip benchmarks (bench/bench.py writes its scripts).
 *
 * Runs a script of JSON-RPC exchanges against child processes over their stdin/stdout
 * (newline-delimited JSON, as MCP stdio does) and times them with clock_gettime(MONOTONIC):
 * a round trip is the time from just before write() of the request line to the return of the
 * read() that delivered the newline ending the response with the same id. Nothing is parsed
 * or printed inside that window. Statistics come out as one JSON object on stdout: "stats"
 * (per timed series: n, errors, min, p50, p90, p99, max, mean; ns unless the name says _kb)
 * and "rss" (the rss and cpu probes, in script order).
 *
 * Usage: mcpdrive SCRIPT.jsonl [RAW_DIR]
 * With RAW_DIR, every timed series is also written there as NAME.txt (one value in ns a line).
 *
 * A script is one JSON object a line; "op" says what to do:
 *   {"op":"spawn","as":"px","argv":[...],"stderr":"FILE"}   start a child (env inherited)
 *   {"op":"send","to":"px","line":"..."}                   write a line, wait for nothing
 *   {"op":"call","to":"px","line":"...","timed":"NAME"}     write a request, wait for its
 *       response; with "timed", record the round trip under NAME ("error" counts responses
 *       that are JSON-RPC errors or tool results with isError:true)
 *   {"op":"until","to":"px","line":"...","absent":"S","present":"S","timeout_ms":N,
 *    "interval_ms":N}  repeat a request until its response lacks "absent" and has "present"
 *   {"op":"burst","to":"px","timed":"NAME","lines":[...]}  write all requests back to back
 *       (one write), then wait for every response; records the wall time from the write to
 *       the last response under NAME, and each response's time under NAME/each
 *   {"op":"rss","of":"px","label":"L"}                       VmRSS/VmHWM from /proc/PID/status
 *   {"op":"cpu","of":"px","label":"L"}    CPU time used so far: cpu_ns sums the schedstat of
 *       its live threads (ns resolution; threads that ended are not counted), stat_cpu_ns is
 *       utime+stime of the process (ended threads included, clock-tick resolution)
 *   {"op":"sleep","ms":N}
 *   {"op":"close","who":"px","timed":"NAME"}                 close its stdin and reap it (kill
 *       after 15 s); with "timed", records the time from close to exit
 *   {"op":"startup","argv":[...],"stderr":"FILE","line":"...","runs":N,"settle_ms":N,
 *    "timed":"NAME","then":["...",...],"then_timed":"NAME2","then_expect":"S",
 *    "graceful_runs":G}
 *       N times: t0, posix_spawn the command, write "line" (initialize), read the response:
 *       NAME gets t - t0. Then, if "then" is given, write those lines and wait for the response
 *       to the last one: NAME2 gets t - t0 (exec to a first useful answer; an error if it lacks
 *       "then_expect"). VmHWM at that point goes to NAME/hwm_kb. Then, in the first G runs
 *       (default all), close stdin and reap (NAME/exit); in the others SIGKILL it. Then sleep
 *       settle_ms. A run where the child dies or hangs instead of answering is counted under
 *       NAME/failed (with how it ended on stderr) and the next run starts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

extern char **environ;

#define MAX_CHILDREN 8
#define IO_TIMEOUT_MS 60000

struct child {
    char name[32];
    pid_t pid;
    int to;    /* its stdin */
    int from;  /* its stdout */
    char *buf; /* bytes read, not yet consumed */
    size_t len, cap;
    int64_t line_at; /* when the read that completed the first buffered line returned */
};

struct series {
    char *name;
    int64_t *v;
    size_t n, cap;
    size_t errors;
};

static struct child children[MAX_CHILDREN];
static size_t nchildren;
static struct series *series;
static size_t nseries;
static cJSON *rss_log;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mcpdrive: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    for (size_t i = 0; i < nchildren; i++)
        if (children[i].pid > 0)
            kill(children[i].pid, SIGKILL);
    exit(1);
}

static void *xrealloc_or_die(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL)
        die("%s", "out of memory");
    return p;
}

static struct series *get_series(const char *name)
{
    for (size_t i = 0; i < nseries; i++)
        if (strcmp(series[i].name, name) == 0)
            return &series[i];
    series = xrealloc_or_die(series, (nseries + 1) * sizeof(*series));
    memset(&series[nseries], 0, sizeof(*series));
    series[nseries].name = strdup(name);
    return &series[nseries++];
}

static void record(const char *name, int64_t v, bool error)
{
    struct series *s = get_series(name);

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = xrealloc_or_die(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = v;
    if (error)
        s->errors++;
}

static struct child *find_child(const char *name)
{
    for (size_t i = 0; i < nchildren; i++)
        if (strcmp(children[i].name, name) == 0)
            return &children[i];
    die("no child named %s", name);
    return NULL;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to a child failed: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* Returns the next complete line of c (NUL-terminated, valid until the next call) and its
 * arrival time, or NULL when the child closed its stdout or the deadline passed. */
static char *next_line(struct child *c, size_t *consumed, int64_t *at, int64_t deadline)
{
    for (;;) {
        char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
        ssize_t n;

        if (nl != NULL) {
            *nl = '\0';
            *consumed = (size_t)(nl - c->buf) + 1;
            *at = c->line_at;
            return c->buf;
        }
        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = xrealloc_or_die(c->buf, c->cap);
        }
        {
            /* poll, then read: one extra syscall, but a hung child cannot hang the bench. */
            struct pollfd pfd = {.fd = c->from, .events = POLLIN};
            int64_t left = (deadline - now_ns()) / 1000000;

            if (left <= 0)
                return NULL;
            if (poll(&pfd, 1, (int)left) == 0)
                continue;
        }
        n = read(c->from, c->buf + c->len, c->cap - c->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return NULL;
        c->line_at = now_ns();
        c->len += (size_t)n;
    }
}

static void consume(struct child *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    /* A later line already in the buffer arrived with the same read. */
}

static bool msg_id(const cJSON *msg, double *id)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(msg, "id");

    if (!cJSON_IsNumber(j))
        return false;
    *id = j->valuedouble;
    return true;
}

static bool is_error_response(const cJSON *msg)
{
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(msg, "result");

    if (cJSON_GetObjectItemCaseSensitive(msg, "error") != NULL)
        return true;
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"));
}

/* Waits for the response with this id; returns its parsed form (caller frees) and the time
 * its line arrived. Other lines (notifications, stray responses) are dropped. */
static cJSON *await_id_soft(struct child *c, double id, int64_t *at, char **text, bool soft)
{
    int64_t deadline = now_ns() + (int64_t)IO_TIMEOUT_MS * 1000000;

    for (;;) {
        size_t used;
        char *line = next_line(c, &used, at, deadline);
        cJSON *msg;
        double got;

        if (line == NULL && soft)
            return NULL;
        if (line == NULL)
            die("no response from %s (closed or timed out)", c->name);
        msg = cJSON_Parse(line);
        if (msg != NULL && msg_id(msg, &got) && got == id &&
            cJSON_GetObjectItemCaseSensitive(msg, "method") == NULL) {
            if (text != NULL)
                *text = strdup(line);
            consume(c, used);
            return msg;
        }
        cJSON_Delete(msg);
        consume(c, used);
    }
}

static cJSON *await_id(struct child *c, double id, int64_t *at, char **text)
{
    return await_id_soft(c, id, at, text, false);
}

/* After a child stopped answering: how it ended ("exit N", "signal N"), reaping it. */
static void describe_end(struct child *c, char *out, size_t size)
{
    int status = 0;

    kill(c->pid, SIGKILL); /* no-op when it is already dead */
    waitpid(c->pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        snprintf(out, size, "killed by signal %d", WTERMSIG(status));
    else if (WIFEXITED(status))
        snprintf(out, size, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(out, size, "no answer in %d s", IO_TIMEOUT_MS / 1000);
    close(c->to);
    close(c->from);
}

static double line_id(const char *line, bool *has)
{
    cJSON *m = cJSON_Parse(line);
    double id = 0;

    if (m == NULL)
        die("bad JSON in a script line: %s", line);
    *has = msg_id(m, &id);
    cJSON_Delete(m);
    return id;
}

static char **argv_of(const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr), i = 0;
    char **argv = calloc((size_t)n + 1, sizeof(*argv));
    const cJSON *it;

    if (n <= 0 || argv == NULL)
        die("%s", "spawn needs a non-empty \"argv\"");
    cJSON_ArrayForEach (it, arr)
        argv[i++] = it->valuestring;
    return argv;
}

static void spawn_child(struct child *c, const cJSON *argv_json, const char *err_path)
{
    char **argv = argv_of(argv_json);
    int in[2], out[2], errfd;
    posix_spawn_file_actions_t fa;

    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    errfd = open(err_path != NULL ? err_path : "/dev/null",
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (errfd < 0)
        die("cannot open %s", err_path);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    if (posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ) != 0)
        die("cannot start %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(errfd);
    c->to = in[1];
    c->from = out[0];
    c->len = 0;
    free(argv);
}

static void reap(struct child *c, const char *timed)
{
    int64_t t0 = now_ns(), deadline = t0 + 15LL * 1000000000LL;
    int status;

    close(c->to);
    c->to = -1;
    for (;;) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);

        if (r == c->pid)
            break;
        if (now_ns() > deadline) {
            fprintf(stderr, "mcpdrive: %s did not exit 15 s after its stdin closed; killing\n",
                    c->name);
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            break;
        }
        usleep(200);
    }
    if (timed != NULL)
        record(timed, now_ns() - t0, !WIFEXITED(status) || WEXITSTATUS(status) != 0);
    close(c->from);
    c->pid = 0;
}

static bool read_status(pid_t pid, long *rss, long *hwm)
{
    char path[64], line[256];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return false;
    *rss = *hwm = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return true;
}

static const char *str_of(const cJSON *op, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(op, key);

    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int int_of(const cJSON *op, const char *key, int dflt)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(op, key);

    return cJSON_IsNumber(j) ? j->valueint : dflt;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void send_line(struct child *c, const char *line)
{
    size_t n = strlen(line);
    char *b = malloc(n + 1);

    if (b == NULL)
        die("%s", "out of memory");
    memcpy(b, line, n);
    b[n] = '\n';
    write_all(c->to, b, n + 1);
    free(b);
}

static void op_call(const cJSON *op)
{
    struct child *c = find_child(str_of(op, "to"));
    const char *line = str_of(op, "line"), *timed = str_of(op, "timed");
    size_t n = strlen(line);
    char *b = malloc(n + 1);
    int64_t t0, at;
    bool has;
    double id = line_id(line, &has);
    cJSON *resp;

    if (b == NULL || !has)
        die("call needs a request with a numeric id: %s", line);
    memcpy(b, line, n);
    b[n] = '\n';
    t0 = now_ns();
    write_all(c->to, b, n + 1);
    resp = await_id(c, id, &at, NULL);
    if (timed != NULL)
        record(timed, at - t0, is_error_response(resp));
    cJSON_Delete(resp);
    free(b);
}

static void op_until(const cJSON *op)
{
    struct child *c = find_child(str_of(op, "to"));
    const char *line = str_of(op, "line"), *absent = str_of(op, "absent");
    const char *present = str_of(op, "present");
    int64_t deadline = now_ns() + (int64_t)int_of(op, "timeout_ms", 60000) * 1000000;
    int interval = int_of(op, "interval_ms", 100);
    bool has;
    double id = line_id(line, &has);

    for (;;) {
        int64_t at;
        char *text = NULL;
        cJSON *resp;
        bool ok;

        send_line(c, line);
        resp = await_id(c, id, &at, &text);
        ok = (absent == NULL || strstr(text, absent) == NULL) &&
             (present == NULL || strstr(text, present) != NULL);
        cJSON_Delete(resp);
        if (ok) {
            free(text);
            return;
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "mcpdrive: last response: %.2000s\n", text);
            die("condition of an \"until\" not met in time on %s", c->name);
        }
        free(text);
        sleep_ms(interval);
    }
}

static void op_burst(const cJSON *op)
{
    struct child *c = find_child(str_of(op, "to"));
    const char *timed = str_of(op, "timed");
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(op, "lines"), *it;
    size_t n = (size_t)cJSON_GetArraySize(lines), got = 0, total = 0, k = 0;
    double *ids = calloc(n + 1, sizeof(*ids));
    bool *done = calloc(n + 1, sizeof(*done));
    char *all, *p, each[160];
    int64_t t0, last = 0, deadline;

    if (ids == NULL || done == NULL)
        die("%s", "out of memory");
    cJSON_ArrayForEach (it, lines) {
        bool has;

        ids[k++] = line_id(it->valuestring, &has);
        if (!has)
            die("burst lines must be requests with ids: %s", it->valuestring);
        total += strlen(it->valuestring) + 1;
    }
    p = all = malloc(total + 1);
    if (all == NULL)
        die("%s", "out of memory");
    cJSON_ArrayForEach (it, lines) {
        size_t l = strlen(it->valuestring);

        memcpy(p, it->valuestring, l);
        p[l] = '\n';
        p += l + 1;
    }
    snprintf(each, sizeof(each), "%s/each", timed);
    t0 = now_ns();
    write_all(c->to, all, total);
    deadline = t0 + (int64_t)IO_TIMEOUT_MS * 1000000;
    size_t errors = 0;
    while (got < n) {
        size_t used;
        int64_t at;
        char *line = next_line(c, &used, &at, deadline);
        cJSON *msg;
        double id;

        if (line == NULL)
            die("burst: %s closed or timed out", c->name);
        msg = cJSON_Parse(line);
        if (msg != NULL && msg_id(msg, &id) &&
            cJSON_GetObjectItemCaseSensitive(msg, "method") == NULL)
            for (size_t i = 0; i < n; i++)
                if (!done[i] && ids[i] == id) {
                    bool err = is_error_response(msg);

                    done[i] = true;
                    got++;
                    last = at;
                    errors += err;
                    record(each, at - t0, err);
                    if (err && errors <= 1)
                        fprintf(stderr, "mcpdrive: burst %s: first error response: %.300s\n", timed,
                                line);
                    break;
                }
        cJSON_Delete(msg);
        consume(c, used);
    }
    record(timed, last - t0, errors > 0);
    free(all);
    free(ids);
    free(done);
}

static void op_rss(const cJSON *op)
{
    struct child *c = find_child(str_of(op, "of"));
    long rss, hwm;
    cJSON *e;

    if (!read_status(c->pid, &rss, &hwm))
        die("cannot read /proc status of %s", c->name);
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "label", str_of(op, "label"));
    cJSON_AddNumberToObject(e, "vmrss_kb", (double)rss);
    cJSON_AddNumberToObject(e, "vmhwm_kb", (double)hwm);
    cJSON_AddItemToArray(rss_log, e);
}

/* CPU time of every thread of pid so far, in ns: the sum of the first field of
 * /proc/PID/task/TID/schedstat (time on CPU, ns resolution). -1 when unreadable. */
static int64_t cpu_ns(pid_t pid)
{
    char path[96];
    DIR *d;
    struct dirent *e;
    int64_t sum = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char p2[320];
        FILE *f;
        long long run = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(p2, sizeof(p2), "/proc/%ld/task/%s/schedstat", (long)pid, e->d_name);
        f = fopen(p2, "r");
        if (f == NULL)
            continue;
        if (fscanf(f, "%lld", &run) == 1)
            sum += run;
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* utime + stime of the whole process from /proc/PID/stat, in ns. Counts threads that have
 * ended too, but only at clock-tick resolution (usually 10 ms). -1 when unreadable. */
static int64_t stat_cpu_ns(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    long hz = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL || hz <= 0 ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (int64_t)((ut + st) * (1000000000ULL / (unsigned long long)hz));
}

static void op_cpu(const cJSON *op)
{
    struct child *c = find_child(str_of(op, "of"));
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "label", str_of(op, "label"));
    cJSON_AddNumberToObject(e, "cpu_ns", (double)cpu_ns(c->pid));
    cJSON_AddNumberToObject(e, "stat_cpu_ns", (double)stat_cpu_ns(c->pid));
    cJSON_AddItemToArray(rss_log, e);
}

static void op_startup(const cJSON *op)
{
    const cJSON *argv_json = cJSON_GetObjectItemCaseSensitive(op, "argv");
    const cJSON *then = cJSON_GetObjectItemCaseSensitive(op, "then"), *it;
    const char *line = str_of(op, "line"), *timed = str_of(op, "timed");
    const char *then_timed = str_of(op, "then_timed"), *err_path = str_of(op, "stderr");
    const char *then_expect = str_of(op, "then_expect");
    int runs = int_of(op, "runs", 30), settle = int_of(op, "settle_ms", 200);
    int graceful = int_of(op, "graceful_runs", runs);
    char name_exit[160], name_hwm[160], name_failed[160];
    bool has;
    double id = line_id(line, &has), then_id = 0;
    size_t llen = strlen(line);
    char *lb = malloc(llen + 1);

    if (lb == NULL || !has)
        die("startup needs an initialize request with an id: %s", line);
    memcpy(lb, line, llen);
    lb[llen] = '\n';
    cJSON_ArrayForEach (it, then)
        then_id = line_id(it->valuestring, &has);
    snprintf(name_exit, sizeof(name_exit), "%s/exit", timed);
    snprintf(name_hwm, sizeof(name_hwm), "%s/hwm_kb", timed);
    snprintf(name_failed, sizeof(name_failed), "%s/failed", timed);
    for (int r = 0; r < runs; r++) {
        struct child c = {.name = "startup"};
        char *text = NULL;
        int64_t t0, at;
        cJSON *resp;
        long rss, hwm;

        t0 = now_ns();
        spawn_child(&c, argv_json, err_path);
        write_all(c.to, lb, llen + 1);
        resp = await_id_soft(&c, id, &at, NULL, true);
        if (resp == NULL)
            goto failed;
        record(timed, at - t0, is_error_response(resp));
        cJSON_Delete(resp);
        if (then != NULL) {
            cJSON_ArrayForEach (it, then)
                send_line(&c, it->valuestring);
            resp = await_id_soft(&c, then_id, &at, &text, true);
            if (resp == NULL)
                goto failed;
            record(then_timed, at - t0,
                   is_error_response(resp) ||
                       (then_expect != NULL && strstr(text, then_expect) == NULL));
            if (then_expect != NULL && strstr(text, then_expect) == NULL)
                fprintf(stderr, "mcpdrive: %s: \"%s\" missing from %.300s\n", then_timed,
                        then_expect, text);
            free(text);
            cJSON_Delete(resp);
        }
        if (read_status(c.pid, &rss, &hwm))
            record(name_hwm, hwm, false);
        if (r < graceful) {
            reap(&c, name_exit);
        } else {
            int status;

            kill(c.pid, SIGKILL);
            waitpid(c.pid, &status, 0);
            close(c.to);
            close(c.from);
        }
        free(c.buf);
        sleep_ms(settle);
        continue;
    failed : {
        /* It died or hung: count it (NAME/failed) and go on with the next run. */
        char how[64];

        describe_end(&c, how, sizeof(how));
        fprintf(stderr, "mcpdrive: %s run %d: no response (%s)\n", timed, r + 1, how);
        record(name_failed, 1, true);
        free(c.buf);
        sleep_ms(settle);
    }
    }
    free(lb);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static int64_t pct(const int64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void dump(const char *raw_dir)
{
    cJSON *root = cJSON_CreateObject(), *stats = cJSON_AddObjectToObject(root, "stats");
    char *text;

    for (size_t i = 0; i < nseries; i++) {
        struct series *s = &series[i];
        cJSON *o = cJSON_AddObjectToObject(stats, s->name);
        double sum = 0;

        if (raw_dir != NULL) {
            char path[512];
            FILE *f;

            snprintf(path, sizeof(path), "%s/%s.txt", raw_dir, s->name);
            for (char *q = path + strlen(raw_dir) + 1; *q; q++)
                if (*q == '/')
                    *q = '_';
            f = fopen(path, "w");
            if (f != NULL) {
                for (size_t k = 0; k < s->n; k++)
                    fprintf(f, "%lld\n", (long long)s->v[k]);
                fclose(f);
            }
        }
        qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
        for (size_t k = 0; k < s->n; k++)
            sum += (double)s->v[k];
        cJSON_AddNumberToObject(o, "n", (double)s->n);
        cJSON_AddNumberToObject(o, "errors", (double)s->errors);
        cJSON_AddNumberToObject(o, "min", (double)s->v[0]);
        cJSON_AddNumberToObject(o, "p50", (double)pct(s->v, s->n, 0.50));
        cJSON_AddNumberToObject(o, "p90", (double)pct(s->v, s->n, 0.90));
        cJSON_AddNumberToObject(o, "p99", (double)pct(s->v, s->n, 0.99));
        cJSON_AddNumberToObject(o, "max", (double)s->v[s->n - 1]);
        cJSON_AddNumberToObject(o, "mean", sum / (double)s->n);
    }
    cJSON_AddItemToObject(root, "rss", rss_log);
    text = cJSON_PrintUnformatted(root);
    puts(text);
    free(text);
    cJSON_Delete(root);
}

int main(int argc, char **argv)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mcpdrive SCRIPT.jsonl [RAW_DIR]\n");
        return 2;
    }
    f = fopen(argv[1], "r");
    if (f == NULL)
        die("cannot open %s", argv[1]);
    signal(SIGPIPE, SIG_IGN);
    rss_log = cJSON_CreateArray();
    while ((n = getline(&line, &cap, f)) > 0) {
        cJSON *op = cJSON_Parse(line);
        const char *what = str_of(op, "op");

        if (what == NULL)
            die("bad script line: %s", line);
        if (strcmp(what, "spawn") == 0) {
            struct child *c;

            if (nchildren == MAX_CHILDREN)
                die("%s", "too many children");
            c = &children[nchildren++];
            snprintf(c->name, sizeof(c->name), "%s", str_of(op, "as"));
            spawn_child(c, cJSON_GetObjectItemCaseSensitive(op, "argv"), str_of(op, "stderr"));
        } else if (strcmp(what, "send") == 0) {
            send_line(find_child(str_of(op, "to")), str_of(op, "line"));
        } else if (strcmp(what, "call") == 0) {
            op_call(op);
        } else if (strcmp(what, "until") == 0) {
            op_until(op);
        } else if (strcmp(what, "burst") == 0) {
            op_burst(op);
        } else if (strcmp(what, "rss") == 0) {
            op_rss(op);
        } else if (strcmp(what, "cpu") == 0) {
            op_cpu(op);
        } else if (strcmp(what, "sleep") == 0) {
            sleep_ms(int_of(op, "ms", 0));
        } else if (strcmp(what, "close") == 0) {
            reap(find_child(str_of(op, "who")), str_of(op, "timed"));
        } else if (strcmp(what, "startup") == 0) {
            op_startup(op);
        } else {
            die("unknown op %s", what);
        }
        cJSON_Delete(op);
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < nchildren; i++)
        if (children[i].pid > 0)
            reap(&children[i], NULL);
    dump(argc == 3 ? argv[2] : NULL);
    return 0;
}
