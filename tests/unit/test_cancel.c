/*
 * test_cancel.c - unit tests for cancel.h, the one-shot cancellation with a wake-up hook.
 *
 * A request waiting on an upstream sleeps with a hook registered; notifications/cancelled or
 * shutdown fires the cancel from another thread. The guarantees tested: the hook runs exactly
 * once when fired, runs at once when registered after the fire (no lost wake-up), never runs
 * after being cleared, and clearing waits for a hook that is running (so the waiter may free
 * what the hook touches as soon as clearing returns).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cancel.h"

static void count_hook(void *arg)
{
    (*(int *)arg)++;
}

/* A fresh cancel has not fired. */
static void test_initial_state(void **state)
{
    struct cancel c;

    (void)state;
    cancel_init(&c);
    assert_false(cancel_fired(&c));
    cancel_destroy(&c);
}

/* Firing sets the flag and the reason and runs the hook once with its argument. */
static void test_fire_runs_hook(void **state)
{
    struct cancel c;
    int calls = 0;

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, count_hook, &calls);
    assert_int_equal(calls, 0);
    cancel_fire(&c, "client sent notifications/cancelled");
    assert_true(cancel_fired(&c));
    assert_int_equal(calls, 1);
    assert_string_equal(c.reason, "client sent notifications/cancelled");
    cancel_destroy(&c);
}

/* Only the first fire counts: later ones neither run the hook nor change the reason. */
static void test_fire_is_one_shot(void **state)
{
    struct cancel c;
    int calls = 0;

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, count_hook, &calls);
    cancel_fire(&c, "first");
    cancel_fire(&c, "second");
    cancel_fire(&c, NULL);
    assert_int_equal(calls, 1);
    assert_string_equal(c.reason, "first");
    cancel_destroy(&c);
}

/* A NULL reason gets a default; a long one is cut to fit and stays terminated. */
static void test_reason(void **state)
{
    struct cancel c;
    char longr[300];

    (void)state;
    cancel_init(&c);
    cancel_fire(&c, NULL);
    assert_string_equal(c.reason, "cancelled");
    cancel_destroy(&c);

    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    cancel_init(&c);
    cancel_fire(&c, longr);
    assert_int_equal(strlen(c.reason), sizeof(c.reason) - 1);
    cancel_destroy(&c);
}

/* Registering on an already fired cancel runs the hook at once: no lost wake-up. */
static void test_hook_after_fire_runs_immediately(void **state)
{
    struct cancel c;
    int calls = 0;

    (void)state;
    cancel_init(&c);
    cancel_fire(&c, "early");
    cancel_set_hook(&c, count_hook, &calls);
    assert_int_equal(calls, 1);
    cancel_destroy(&c);
}

/* A cleared hook is not run by a later fire. */
static void test_cleared_hook_not_run(void **state)
{
    struct cancel c;
    int calls = 0;

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, count_hook, &calls);
    cancel_set_hook(&c, NULL, NULL);
    cancel_fire(&c, "late");
    assert_int_equal(calls, 0);
    assert_true(cancel_fired(&c));
    cancel_destroy(&c);
}

/* Replacing the hook means only the newest one runs. */
static void test_hook_replaced(void **state)
{
    struct cancel c;
    int a = 0, b = 0;

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, count_hook, &a);
    cancel_set_hook(&c, count_hook, &b);
    cancel_fire(&c, NULL);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    cancel_destroy(&c);
}

/* NULL is accepted where the header says so. */
static void test_null_cancel(void **state)
{
    int calls = 0;

    (void)state;
    cancel_set_hook(NULL, count_hook, &calls);
    assert_false(cancel_fired(NULL));
    assert_int_equal(calls, 0);
}

/* ---- across threads ---- */

/* A waiter that sleeps on its own condition variable until the hook wakes it. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
};

static void wake(void *arg)
{
    struct waiter *w = arg;

    pthread_mutex_lock(&w->mu);
    w->woken = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

struct fire_args {
    struct cancel *c;
    int delay_ms;
};

static void *fire_later(void *arg)
{
    struct fire_args *fa = arg;

    usleep((useconds_t)fa->delay_ms * 1000);
    cancel_fire(fa->c, "from another thread");
    return NULL;
}

/* A waiter sleeping in another thread is woken by the fire, well before its timeout. */
static void test_fire_wakes_waiter_in_other_thread(void **state)
{
    struct cancel c;
    struct waiter w = {.woken = false};
    struct fire_args fa = {.c = &c, .delay_ms = 50};
    struct timespec deadline;
    pthread_t t;
    int rc = 0;

    (void)state;
    cancel_init(&c);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    /* Lock order: the hook is registered without holding w.mu (it takes c.mu, then w.mu). */
    cancel_set_hook(&c, wake, &w);
    assert_int_equal(pthread_create(&t, NULL, fire_later, &fa), 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&w.mu);
    while (!w.woken && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w.cv, &w.mu, &deadline);
    pthread_mutex_unlock(&w.mu);
    cancel_set_hook(&c, NULL, NULL);
    pthread_join(t, NULL);
    assert_true(w.woken);
    assert_int_not_equal(rc, ETIMEDOUT);
    assert_string_equal(c.reason, "from another thread");
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    cancel_destroy(&c);
}

/* A hook that takes a while, recording when it starts and ends. */
struct slow {
    volatile int started;
    volatile int finished;
};

static void slow_hook(void *arg)
{
    struct slow *s = arg;

    __atomic_store_n(&s->started, 1, __ATOMIC_SEQ_CST);
    usleep(150 * 1000);
    __atomic_store_n(&s->finished, 1, __ATOMIC_SEQ_CST);
}

static void *fire_now(void *arg)
{
    cancel_fire(arg, "now");
    return NULL;
}

/* Clearing while the hook runs in another thread returns only after the hook has finished. */
static void test_clear_waits_for_running_hook(void **state)
{
    struct cancel c;
    struct slow s = {0, 0};
    pthread_t t;

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, slow_hook, &s);
    assert_int_equal(pthread_create(&t, NULL, fire_now, &c), 0);
    while (!__atomic_load_n(&s.started, __ATOMIC_SEQ_CST))
        usleep(1000);
    cancel_set_hook(&c, NULL, NULL);
    assert_true(__atomic_load_n(&s.finished, __ATOMIC_SEQ_CST));
    pthread_join(t, NULL);
    cancel_destroy(&c);
}

/* Many threads firing at once still run the hook exactly once. */
static void test_concurrent_fire_once(void **state)
{
    struct cancel c;
    int calls = 0;
    pthread_t t[8];

    (void)state;
    cancel_init(&c);
    cancel_set_hook(&c, count_hook, &calls);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fire_now, &c), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(calls, 1);
    cancel_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),
        cmocka_unit_test(test_fire_runs_hook),
        cmocka_unit_test(test_fire_is_one_shot),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_hook_after_fire_runs_immediately),
        cmocka_unit_test(test_cleared_hook_not_run),
        cmocka_unit_test(test_hook_replaced),
        cmocka_unit_test(test_null_cancel),
        cmocka_unit_test(test_fire_wakes_waiter_in_other_thread),
        cmocka_unit_test(test_clear_waits_for_running_hook),
        cmocka_unit_test(test_concurrent_fire_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
