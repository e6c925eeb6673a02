/*
 * proc.c - spawning and ending child process groups; see proc.h for the design.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "xmem.h"

extern char **environ;

struct spawn_job {
    char *const *argv;
    char **envp;
    const char *cwd;
    struct proc_child child;
    int rc;
    char *why;
    bool done;
};

struct proc_spawner {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct spawn_job *job; /* the one job being handed over, or NULL */
    bool stop;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Closes every descriptor above 2 in the child; close_range when the kernel has it. */
static void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0) == 0)
        return;
#endif
    for (long fd = lowfd, max = sysconf(_SC_OPEN_MAX); fd < max && fd < 65536; fd++)
        close((int)fd);
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(struct spawn_job *job, int fds[3][2], int errpipe, pid_t parent)
{
    sigset_t none;
    int err;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    if (dup2(fds[0][0], 0) < 0 || dup2(fds[1][1], 1) < 0 || dup2(fds[2][1], 2) < 0)
        goto fail;
    if (errpipe <= 2) /* never, since fds 0-2 are open in mcpzip, but stay safe */
        goto fail;
    if (dup2(errpipe, 3) < 0)
        goto fail;
    fcntl(3, F_SETFD, FD_CLOEXEC);
    close_from(4);
    errpipe = 3;
    if (job->cwd != NULL && chdir(job->cwd) != 0) {
        err = -errno; /* negative: the failure was chdir, not exec */
        (void)!write(errpipe, &err, sizeof(err));
        _exit(127);
    }
    execvpe(job->argv[0], job->argv, job->envp);
fail:
    err = errno;
    (void)!write(errpipe, &err, sizeof(err));
    _exit(127);
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

static void run_job(struct spawn_job *job)
{
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, errp[2] = {-1, -1}, err = 0, i;
    pid_t parent = getpid(), pid;
    ssize_t n;

    for (i = 0; i < 3; i++)
        if (pipe2(fds[i], O_CLOEXEC) != 0)
            goto sysfail;
    if (pipe2(errp, O_CLOEXEC) != 0)
        goto sysfail;
    pid = fork();
    if (pid < 0)
        goto sysfail;
    if (pid == 0)
        child_exec(job, fds, errp[1], parent);
    close(errp[1]);
    errp[1] = -1;
    do
        n = read(errp[0], &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(err)) {
        /* exec failed: the child wrote errno and exits; reap it now. */
        waitpid(pid, NULL, 0);
        if (err < 0)
            job->why = xasprintf("cannot change to directory \"%s\": %s (fix \"cwd\")", job->cwd,
                                 strerror(-err));
        else if (err == ENOENT)
            job->why = xasprintf("command \"%s\" not found in PATH (install it, or give its "
                                 "absolute path in \"command\")",
                                 job->argv[0]);
        else if (err == EACCES)
            job->why =
                xasprintf("command \"%s\" is not executable (permission denied)", job->argv[0]);
        else
            job->why = xasprintf("cannot run \"%s\": %s", job->argv[0], strerror(err));
        job->rc = ERR_SPAWN;
        goto cleanup;
    }
    job->child.pid = pid;
    job->child.in_fd = fds[0][1];
    job->child.out_fd = fds[1][0];
    job->child.err_fd = fds[2][0];
    fds[0][1] = fds[1][0] = fds[2][0] = -1;
    job->rc = 0;
    goto cleanup;
sysfail:
    job->why = xasprintf("cannot start \"%s\": %s", job->argv[0], strerror(errno));
    job->rc = ERR_SPAWN;
cleanup:
    for (i = 0; i < 3; i++)
        close_pair(fds[i]);
    close_pair(errp);
}

static void *spawner_main(void *arg)
{
    struct proc_spawner *sp = arg;

    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (sp->job == NULL && !sp->stop)
            pthread_cond_wait(&sp->cv, &sp->mu);
        if (sp->stop)
            break;
        run_job(sp->job);
        sp->job->done = true;
        sp->job = NULL;
        pthread_cond_broadcast(&sp->cv);
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

struct proc_spawner *proc_spawner_new(void)
{
    struct proc_spawner *sp = xcalloc(1, sizeof(*sp));
    pthread_attr_t attr;

    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&sp->thread, &attr, spawner_main, sp) != 0) {
        LOG_ERROR("cannot create the spawner thread");
        abort();
    }
    pthread_attr_destroy(&attr);
    return sp;
}

void proc_spawner_free(struct proc_spawner *sp)
{
    if (sp == NULL)
        return;
    pthread_mutex_lock(&sp->mu);
    sp->stop = true;
    pthread_cond_broadcast(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
    pthread_join(sp->thread, NULL);
    pthread_cond_destroy(&sp->cv);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

/* Builds the child's environment: ours minus drop, with env applied on top. */
static char **build_envp(const struct config_kv *env, size_t nenv, const char *const *drop)
{
    size_t n = 0, i, j, k = 0;
    char **envp;

    while (environ[n] != NULL)
        n++;
    envp = xcalloc(n + nenv + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t klen = eq != NULL ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool skip = false;

        for (j = 0; drop != NULL && drop[j] != NULL && !skip; j++)
            skip = strlen(drop[j]) == klen && strncmp(environ[i], drop[j], klen) == 0;
        for (j = 0; j < nenv && !skip; j++)
            skip = strlen(env[j].key) == klen && strncmp(environ[i], env[j].key, klen) == 0;
        if (!skip)
            envp[k++] = xstrdup(environ[i]);
    }
    for (j = 0; j < nenv; j++)
        envp[k++] = xasprintf("%s=%s", env[j].key, env[j].value);
    envp[k] = NULL;
    return envp;
}

int proc_spawn(struct proc_spawner *sp, char *const *argv, const struct config_kv *env, size_t nenv,
               const char *cwd, const char *const *drop, struct proc_child *child, char **why)
{
    struct spawn_job job = {.argv = argv, .cwd = cwd, .rc = ERR_SPAWN};
    size_t i;

    job.envp = build_envp(env, nenv, drop);
    pthread_mutex_lock(&sp->mu);
    while (sp->job != NULL && !sp->stop)
        pthread_cond_wait(&sp->cv, &sp->mu);
    if (!sp->stop) {
        sp->job = &job;
        pthread_cond_broadcast(&sp->cv);
        while (!job.done && !sp->stop)
            pthread_cond_wait(&sp->cv, &sp->mu);
    }
    pthread_mutex_unlock(&sp->mu);
    for (i = 0; job.envp[i] != NULL; i++)
        free(job.envp[i]);
    free(job.envp);
    if (!job.done) {
        *why = xstrdup("mcpzip is shutting down");
        return ERR_SPAWN;
    }
    if (job.rc != 0) {
        *why = job.why;
        return job.rc;
    }
    *child = job.child;
    return 0;
}

int proc_reap(pid_t pid, int wait_ms)
{
    int status, waited = 0;
    pid_t r;

    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= wait_ms)
            return -1;
        sleep_ms(10);
        waited += 10;
    }
}

void proc_kill_group(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGTERM);
    kill(-pid, SIGKILL);
}

int proc_terminate(pid_t pid, int grace_ms)
{
    int status;

    if (pid <= 0)
        return -1;
    status = proc_reap(pid, 0);
    if (status != -1) {
        proc_kill_group(pid);
        return status;
    }
    /* The group may outlive its leader (npx's node child): signal it either way. */
    kill(-pid, SIGTERM);
    status = proc_reap(pid, grace_ms);
    kill(-pid, SIGKILL);
    if (status == -1) {
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                return -1;
    }
    return status;
}

void proc_status_text(int status, char *buf, size_t n)
{
    if (status == -1)
        snprintf(buf, n, "exited");
    else if (WIFEXITED(status))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "stopped");
}
