/*
 * test_proc.c - unit tests for proc.h: spawning real commands through the spawner thread,
 * their environment and working directory, spawn failures, and ending whole process groups.
 *
 * Upstream servers are started this way, so: stdout must reach out_fd and stdin must be wired,
 * the environment must be ours minus `drop` plus the server's env, failures must say what to
 * fix (command not found, bad cwd), and proc_terminate() must end the server *and* what it
 * started (npx starts node), or every restart leaks a process. The test process makes itself a
 * child subreaper so that orphaned grandchildren come back to it and can be reaped here, which
 * keeps the group check exact even where PID 1 does not reap.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "proc.h"

static int setup(void **state)
{
    *state = proc_spawner_new();
    return *state != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    proc_spawner_free(*state);
    return 0;
}

/* Reads fd to EOF (at most cap-1 bytes kept), NUL-terminates, closes it. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    for (;;) {
        char scratch[4096];

        n = read(fd, scratch, sizeof(scratch));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && got + 1 < cap; i++)
            buf[got++] = scratch[i];
    }
    buf[got] = '\0';
    close(fd);
    return got;
}

/* Reads one line (up to '\n') from fd without consuming more than it. */
static void read_line(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
}

/* Closes the descriptors still open (a test sets the ones it closed itself to -1). */
static void close_child(struct proc_child *c)
{
    if (c->in_fd >= 0)
        close(c->in_fd);
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->err_fd >= 0)
        close(c->err_fd);
}

/* Spawns argv that must start; fails the test with the reason otherwise. */
static struct proc_child spawn_ok(struct proc_spawner *sp, char *const *argv,
                                  const struct config_kv *env, size_t nenv, const char *cwd,
                                  const char *const *drop)
{
    struct proc_child c = {.pid = -1};
    char *why = NULL;
    int rc = proc_spawn(sp, argv, env, nenv, cwd, drop, &c, &why);

    if (rc != 0)
        fail_msg("proc_spawn(%s) failed: %s", argv[0], why != NULL ? why : "?");
    assert_true(c.pid > 0);
    assert_true(c.in_fd > 2 && c.out_fd > 2 && c.err_fd > 2);
    return c;
}

/* True when line appears as a whole line in text. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* ---- spawning ---- */

/* A command found in PATH runs with its arguments; its stdout arrives on out_fd. */
static void test_spawn_echo(void **state)
{
    char *const argv[] = {"echo", "hello", "from child", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    char out[256];
    int status;

    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    assert_string_equal(out, "hello from child\n");
    status = proc_reap(c.pid, 5000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close_child(&c);
}

/* stdin is wired: what we write to in_fd comes back through cat on out_fd. */
static void test_spawn_stdin_roundtrip(void **state)
{
    char *const argv[] = {"/bin/cat", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n";
    char out[256];

    assert_int_equal(write(c.in_fd, msg, strlen(msg)), (ssize_t)strlen(msg));
    close(c.in_fd);
    c.in_fd = -1;
    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    assert_string_equal(out, msg);
    assert_true(WIFEXITED(proc_reap(c.pid, 5000)));
    close_child(&c);
}

/* stderr is separate from stdout: a server's log output never mixes into the protocol. */
static void test_spawn_stderr_separate(void **state)
{
    char *const argv[] = {"/bin/sh", "-c", "echo to-out; echo to-err >&2", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    char out[128], err[128];

    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    read_all(c.err_fd, err, sizeof(err));
    c.err_fd = -1;
    assert_string_equal(out, "to-out\n");
    assert_string_equal(err, "to-err\n");
    proc_reap(c.pid, 5000);
    close_child(&c);
}

/* The child leads its own process group (so it can be ended with everything it starts). */
static void test_spawn_own_process_group(void **state)
{
    char *const argv[] = {"sleep", "30", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);

    assert_int_equal(getpgid(c.pid), c.pid);
    assert_int_not_equal(getpgid(c.pid), getpgrp());
    proc_terminate(c.pid, 1000);
    close_child(&c);
}

/* Only stdin, stdout and stderr are open in the child: our descriptors do not leak into it. */
static void test_spawn_no_fd_leak(void **state)
{
    char *const argv[] = {"/bin/sh", "-c", "ls /proc/self/fd", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    char out[256];
    int fds = 0;

    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    /* ls itself opens one descriptor for the directory listing. */
    for (char *p = out; *p != '\0'; p++)
        fds += *p == '\n';
    assert_true(has_line(out, "0") && has_line(out, "1") && has_line(out, "2"));
    assert_in_range(fds, 3, 4);
    proc_reap(c.pid, 5000);
    close_child(&c);
}

/* A missing command is ERR_SPAWN with "not found" and the command's name. */
static void test_spawn_not_found(void **state)
{
    char *const argv[] = {"mcpzip-test-no-such-command", "--x", NULL};
    struct proc_child c = {.pid = -1};
    char *why = NULL;

    assert_int_equal(proc_spawn(*state, argv, NULL, 0, NULL, NULL, &c, &why), ERR_SPAWN);
    assert_non_null(why);
    assert_non_null(strstr(why, "not found"));
    assert_non_null(strstr(why, "mcpzip-test-no-such-command"));
    assert_int_equal(c.pid, -1);
    free(why);

    /* An absolute path that does not exist is reported the same way. */
    {
        char *const abs[] = {"/nonexistent/bin/server", NULL};

        assert_int_equal(proc_spawn(*state, abs, NULL, 0, NULL, NULL, &c, &why), ERR_SPAWN);
        assert_non_null(strstr(why, "not found"));
        free(why);
    }
}

/* A file that is not executable is a permission error, not "not found". */
static void test_spawn_not_executable(void **state)
{
    char path[] = "/tmp/mcpzip-test-noexec-XXXXXX";
    int fd = mkstemp(path);
    char *const argv[] = {path, NULL};
    struct proc_child c = {.pid = -1};
    char *why = NULL;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
    close(fd); /* mode 0600: exec needs an x bit, even for root */
    assert_int_equal(proc_spawn(*state, argv, NULL, 0, NULL, NULL, &c, &why), ERR_SPAWN);
    assert_non_null(why);
    assert_non_null(strstr(why, "permission denied"));
    free(why);
    unlink(path);
}

/* A cwd that does not exist is ERR_SPAWN naming the directory and the "cwd" setting. */
static void test_spawn_bad_cwd(void **state)
{
    char *const argv[] = {"echo", "x", NULL};
    struct proc_child c = {.pid = -1};
    char *why = NULL;

    assert_int_equal(
        proc_spawn(*state, argv, NULL, 0, "/nonexistent-mcpzip-cwd/sub", NULL, &c, &why),
        ERR_SPAWN);
    assert_non_null(why);
    assert_non_null(strstr(why, "/nonexistent-mcpzip-cwd/sub"));
    assert_non_null(strstr(why, "cwd"));
    free(why);
}

/* A valid cwd is where the child runs. */
static void test_spawn_cwd(void **state)
{
    char *const argv[] = {"pwd", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, "/usr", NULL);
    char out[256];

    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    assert_string_equal(out, "/usr\n");
    proc_reap(c.pid, 5000);
    close_child(&c);
}

/* env entries reach the child, override inherited values, and names in drop are removed. */
static void test_spawn_env_and_drop(void **state)
{
    char *const argv[] = {"/usr/bin/env", NULL};
    const struct config_kv env[] = {
        {.key = "MZT_ADDED", .value = "added value"},
        {.key = "MZT_OVERRIDE", .value = "new"},
    };
    const char *const drop[] = {"MZT_SECRET", "MZT_ALSO_GONE", NULL};
    struct proc_child c;
    char out[65536];

    setenv("MZT_OVERRIDE", "old", 1);
    setenv("MZT_SECRET", "s3cret", 1);
    setenv("MZT_ALSO_GONE", "x", 1);
    setenv("MZT_KEPT", "kept", 1);
    setenv("MZT_SECRET_NOT", "prefix-match-must-stay", 1);
    c = spawn_ok(*state, argv, env, 2, NULL, drop);
    read_all(c.out_fd, out, sizeof(out));
    c.out_fd = -1;
    proc_reap(c.pid, 5000);
    close_child(&c);
    unsetenv("MZT_OVERRIDE");
    unsetenv("MZT_SECRET");
    unsetenv("MZT_ALSO_GONE");
    unsetenv("MZT_KEPT");
    unsetenv("MZT_SECRET_NOT");

    assert_true(has_line(out, "MZT_ADDED=added value"));
    assert_true(has_line(out, "MZT_OVERRIDE=new"));
    assert_false(has_line(out, "MZT_OVERRIDE=old"));
    assert_null(strstr(out, "MZT_SECRET="));
    assert_null(strstr(out, "MZT_ALSO_GONE="));
    assert_true(has_line(out, "MZT_KEPT=kept"));
    assert_true(has_line(out, "MZT_SECRET_NOT=prefix-match-must-stay"));
    /* Our own environment is inherited (PATH is what makes npx work). */
    assert_non_null(strstr(out, "PATH="));
}

/* Many spawns from several threads all go through the one spawner and all succeed. */
struct many {
    struct proc_spawner *sp;
    int ok;
};

static void *spawn_some(void *arg)
{
    struct many *m = arg;

    for (int i = 0; i < 10; i++) {
        char *const argv[] = {"true", NULL};
        struct proc_child c;
        char *why = NULL;

        if (proc_spawn(m->sp, argv, NULL, 0, NULL, NULL, &c, &why) != 0) {
            free(why);
            continue;
        }
        if (proc_reap(c.pid, 5000) == 0)
            m->ok++;
        close_child(&c);
    }
    return NULL;
}

static void test_spawn_from_many_threads(void **state)
{
    struct many m[4];
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        m[i].sp = *state;
        m[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, spawn_some, &m[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(m[i].ok, 10);
    }
}

/* ---- ending children ---- */

/* Reaps every zombie of group pgid that was reparented to us; true once none is left. */
static bool group_gone(pid_t pgid, int wait_ms)
{
    for (int waited = 0;; waited += 10) {
        while (waitpid(-pgid, NULL, WNOHANG) > 0)
            ;
        if (kill(-pgid, 0) == -1 && errno == ESRCH)
            return true;
        if (waited >= wait_ms)
            return false;
        usleep(10 * 1000);
    }
}

/* proc_terminate ends a sleeping child and reports it was killed by SIGTERM. */
static void test_terminate_sleep(void **state)
{
    char *const argv[] = {"sleep", "60", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    int status;
    char text[64];

    status = proc_terminate(c.pid, 2000);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_true(group_gone(c.pid, 2000));
    proc_status_text(status, text, sizeof(text));
    assert_non_null(strstr(text, "killed by signal 15"));
    /* Already reaped: -1. */
    assert_int_equal(proc_terminate(c.pid, 100), -1);
    close_child(&c);
}

/* The whole group goes: a background grandchild (like npx's node) dies with its parent. */
static void test_terminate_kills_group(void **state)
{
    char *const argv[] = {"/bin/sh", "-c", "sleep 60 & echo $!; sleep 60", NULL};
    struct proc_child c;
    char line[32];
    pid_t grandchild;

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    read_line(c.out_fd, line, sizeof(line));
    grandchild = (pid_t)strtol(line, NULL, 10);
    assert_true(grandchild > 0);
    assert_int_equal(kill(grandchild, 0), 0);
    assert_int_equal(getpgid(grandchild), c.pid);

    proc_terminate(c.pid, 2000);
    if (!group_gone(c.pid, 3000))
        fail_msg("process group %d still has members after proc_terminate", (int)c.pid);
    assert_int_equal(kill(grandchild, 0), -1);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    close_child(&c);
}

/* A child that ignores SIGTERM is killed with SIGKILL after the grace period. */
static void test_terminate_escalates_to_sigkill(void **state)
{
    char *const argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done",
                          NULL};
    struct proc_child c;
    struct timespec t0, t1;
    char line[32];
    int status;
    long ms;

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    read_line(c.out_fd, line, sizeof(line));
    assert_string_equal(line, "ready");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    status = proc_terminate(c.pid, 300);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_in_range(ms, 250, 5000);
    assert_true(group_gone(c.pid, 3000));
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    close_child(&c);
}

/* A child that already exited is reaped with its real status, and its group is signalled. */
static void test_terminate_already_exited(void **state)
{
    char *const argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);
    char out[8];
    int status;

    read_all(c.out_fd, out, sizeof(out)); /* EOF: the child is gone */
    c.out_fd = -1;
    for (int i = 0; i < 500 && kill(c.pid, 0) == 0; i++) {
        siginfo_t si = {0};

        /* Wait for the zombie without reaping it. */
        if (waitid(P_PID, (id_t)c.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
            break;
        usleep(10 * 1000);
    }
    status = proc_terminate(c.pid, 1000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    close_child(&c);
}

/* proc_reap does not wait past its limit for a running child. */
static void test_reap_times_out(void **state)
{
    char *const argv[] = {"sleep", "60", NULL};
    struct proc_child c = spawn_ok(*state, argv, NULL, 0, NULL, NULL);

    assert_int_equal(proc_reap(c.pid, 50), -1);
    assert_int_equal(kill(c.pid, 0), 0); /* still running */
    proc_terminate(c.pid, 1000);
    close_child(&c);
}

/* Wait statuses are described the way users read them. */
static void test_status_text(void **state)
{
    char text[64];

    (void)state;
    proc_status_text(1 << 8, text, sizeof(text)); /* exit(1) */
    assert_string_equal(text, "exited with status 1");
    proc_status_text(0, text, sizeof(text));
    assert_string_equal(text, "exited with status 0");
    proc_status_text(SIGKILL, text, sizeof(text));
    assert_non_null(strstr(text, "was killed by signal 9"));
    proc_status_text(-1, text, sizeof(text));
    assert_string_equal(text, "exited");
    proc_status_text(1 << 8, text, 4); /* truncated safely */
    assert_string_equal(text, "exi");
}

/* Pids that cannot be a child (0 would signal our own group, -1 everyone) are refused. */
static void test_terminate_bad_pid(void **state)
{
    (void)state;
    assert_int_equal(proc_terminate(0, 10), -1);
    assert_int_equal(proc_terminate(-1, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spawn_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_stdin_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_stderr_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_own_process_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_no_fd_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_not_executable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_bad_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_env_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_from_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_sleep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_kills_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_escalates_to_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate_already_exited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reap_times_out, setup, teardown),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_terminate_bad_pid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
