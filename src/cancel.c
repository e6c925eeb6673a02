/*
 * cancel.c - one-shot cancellation with a wake-up hook; see cancel.h.
 */
#include "cancel.h"

#include <stdio.h>
#include <string.h>

void cancel_init(struct cancel *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
}

void cancel_destroy(struct cancel *c)
{
    pthread_mutex_destroy(&c->mu);
}

void cancel_fire(struct cancel *c, const char *reason)
{
    pthread_mutex_lock(&c->mu);
    if (!c->fired) {
        c->fired = true;
        snprintf(c->reason, sizeof(c->reason), "%s", reason != NULL ? reason : "cancelled");
        if (c->hook != NULL)
            c->hook(c->hook_arg);
    }
    pthread_mutex_unlock(&c->mu);
}

bool cancel_fired(struct cancel *c)
{
    bool fired;

    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->mu);
    fired = c->fired;
    pthread_mutex_unlock(&c->mu);
    return fired;
}

void cancel_set_hook(struct cancel *c, cancel_hook_cb fn, void *arg)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->hook = fn;
    c->hook_arg = arg;
    if (fn != NULL && c->fired)
        fn(arg);
    pthread_mutex_unlock(&c->mu);
}
