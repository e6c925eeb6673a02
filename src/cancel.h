/*
 * cancel.h - a one-shot cancellation signal shared between the thread that waits and the
 * threads that may cancel it (the downstream reader on notifications/cancelled, shutdown).
 *
 * The waiter registers a wake-up hook while it sleeps; cancel_fire() sets the flag and runs the
 * hook, so a sleeping waiter wakes at once instead of polling. Lock order: a cancel's lock is
 * taken before any lock the hook takes, so the waiter must not hold that lock while calling
 * cancel_set_hook(). Any thread. The owner embeds the struct and calls cancel_destroy().
 */
#ifndef MCPZIP_CANCEL_H
#define MCPZIP_CANCEL_H

#include <pthread.h>
#include <stdbool.h>

typedef void (*cancel_hook_cb)(void *arg);

struct cancel {
    pthread_mutex_t mu;
    bool fired;
    char reason[128];    /* why it fired, for the error message */
    cancel_hook_cb hook; /* called under mu by cancel_fire(); NULL when nobody waits */
    void *hook_arg;
};

void cancel_init(struct cancel *c);
void cancel_destroy(struct cancel *c);
/* Fires once; later calls are no-ops. reason may be NULL. */
void cancel_fire(struct cancel *c, const char *reason);
bool cancel_fired(struct cancel *c);
/* Registers (fn != NULL) or clears (fn == NULL) the wake-up hook. Registering on an already
 * fired cancel runs fn at once. After clearing returns, the old hook is not running and will
 * not run. c may be NULL (no-op). */
void cancel_set_hook(struct cancel *c, cancel_hook_cb fn, void *arg);

#endif
