/*
 * proc.h - child processes: spawning upstream servers, and ending them with their children.
 *
 * DESIGN. Linux delivers PR_SET_PDEATHSIG when the *thread* that forked a child exits, not the
 * process. Upstreams are connected from short-lived request threads, so forking there would kill
 * a server as soon as the request that started it finished. Every fork therefore happens on one
 * long-lived spawner thread owned by struct proc_spawner: proc_spawn() hands it the job and waits
 * for the result. The child side of fork only resets signals, sets its process group and death
 * signal, closes inherited descriptors, dup2()s, chdir()s and execs; everything it needs
 * (argv, envp) is built before fork.
 *
 * Each child leads its own process group, so proc_terminate() ends a server together with
 * whatever it started (npx → node). Descriptors are O_CLOEXEC everywhere.
 *
 * Threads: proc_spawner_new/free by the owner (the proxy); proc_spawn() and proc_terminate()
 * from any thread.
 */
#ifndef MCPZIP_PROC_H
#define MCPZIP_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct proc_spawner;

struct proc_child {
    pid_t pid;
    int in_fd;  /* write end of the child's stdin */
    int out_fd; /* read end of the child's stdout */
    int err_fd; /* read end of the child's stderr */
};

struct proc_spawner *proc_spawner_new(void);
void proc_spawner_free(struct proc_spawner *sp);

/*
 * Starts argv[0] (looked up in PATH, no shell) with the parent's environment minus the names in
 * drop (NULL-terminated, may be NULL) plus env[0..nenv), in cwd (NULL = ours). Returns 0 and
 * fills child, or ERR_SPAWN with *why saying exactly what failed (command not found, cwd missing,
 * permission denied).
 */
int proc_spawn(struct proc_spawner *sp, char *const *argv, const struct config_kv *env, size_t nenv,
               const char *cwd, const char *const *drop, struct proc_child *child, char **why);

/*
 * Ends the process group led by pid: SIGTERM, then SIGKILL after grace_ms, and reaps pid.
 * Returns the wait status of pid, or -1 when it had already been reaped.
 */
int proc_terminate(pid_t pid, int grace_ms);

/* Ends what is left of the group led by pid, a leader just reaped (SIGTERM, SIGKILL, no wait):
 * a group may outlive its leader (npx's node child). Call it right after the reap, while the
 * group id cannot yet name anything else. */
void proc_kill_group(pid_t pid);

/* Reaps pid if it has exited, waiting at most wait_ms. Returns its wait status, or -1. */
int proc_reap(pid_t pid, int wait_ms);

/* Describes a wait status for users: "exited with status 1", "was killed by signal 9". */
void proc_status_text(int status, char *buf, size_t n);

#endif
