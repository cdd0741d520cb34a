/*
 * pair.c - two threads, one start gate, both joined (see pair.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "pair.h"

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0: wait, 1: go, -1: abort (the other thread never started) */
};

struct side {
    struct gate *gate;
    void (*fn)(void *);
    void *arg;
    int slot; /* which of the allowed CPUs to pin to; -1: none */
};

/* Pin the calling thread to the slot-th CPU it may run on, if there are at least two. Pinning
 * keeps the sides where the case says for the whole run, so a figure does not depend on where
 * the kernel happened to put them; where pinning is not allowed the run goes on as is. */
void bench_pin_to_slot(int slot)
{
    cpu_set_t allowed, one;
    if (slot < 0 || sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
        CPU_COUNT(&allowed) < 2)
        return;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        if (seen++ == slot) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
            return;
        }
    }
}

static void *side_main(void *p)
{
    struct side *s = p;
    bench_pin_to_slot(s->slot);
    pthread_mutex_lock(&s->gate->mu);
    while (s->gate->state == 0)
        pthread_cond_wait(&s->gate->cv, &s->gate->mu);
    int go = s->gate->state > 0;
    pthread_mutex_unlock(&s->gate->mu);
    if (go)
        s->fn(s->arg);
    return NULL;
}

static void gate_open(struct gate *g, int state)
{
    pthread_mutex_lock(&g->mu);
    g->state = state;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int bench_run_pair(void (*a)(void *), void *arg_a, void (*b)(void *), void *arg_b, int cpus)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    struct side sa = {&g, a, arg_a, cpus ? 0 : -1}, sb = {&g, b, arg_b, cpus ? cpus - 1 : -1};
    pthread_t ta, tb;
    int rc = pthread_create(&ta, NULL, side_main, &sa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    rc = pthread_create(&tb, NULL, side_main, &sb);
    gate_open(&g, rc == 0 ? 1 : -1);
    pthread_join(ta, NULL);
    if (rc == 0)
        pthread_join(tb, NULL);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}
