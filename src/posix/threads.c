/*
 * threads.c - pthread_create, pthread_join, pthread_detach and pthread_exit inside a simulated
 * process: a new thread is a simulated thread of the same process (src/sim/proc.c), scheduled
 * by the world and named in the trace. Threads outside the simulation get the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "posix/posix_internal.h"

VMCISIM_POSIX_ANCHOR(threads);

int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    if (!posix_self())
        return REAL(pthread_create)(th, attr, start, arg);
    void *uth = th, *ustart = (void *)start;
    __asm__("" : "+r"(uth), "+r"(ustart)); /* declared nonnull; a bad program passes NULL */
    if (!uth || !ustart)
        return EINVAL;
    int detach = PTHREAD_CREATE_JOINABLE;
    if (attr && pthread_attr_getdetachstate(attr, &detach) != 0)
        return EINVAL;
    /* Other attributes (stack size, scheduling) are not applied: the world schedules. */
    return sim_proc_thread_create(th, detach == PTHREAD_CREATE_DETACHED, start, arg);
}

int pthread_join(pthread_t th, void **ret)
{
    if (!posix_self())
        return REAL(pthread_join)(th, ret);
    if (pthread_equal(th, pthread_self()))
        return EDEADLK;
    struct sim_pthread *r = sim_proc_find_pthread(th);
    if (!r)
        return ESRCH; /* not a joinable thread this process created */
    return sim_proc_join(r, ret);
}

int pthread_detach(pthread_t th)
{
    if (!posix_self())
        return REAL(pthread_detach)(th);
    if (pthread_equal(th, pthread_self()) && posix_self() == posix_self()->proc->thread)
        return 0; /* the main thread: nobody joins it anyway */
    struct sim_pthread *r = sim_proc_find_pthread(th);
    if (!r)
        return ESRCH;
    return sim_proc_detach(r);
}

/* A spin loop that yields must let the other simulated threads run: in deterministic mode only
 * one runs at a time, and simulated time moves only when no thread can run, so a yield that
 * cost nothing would spin forever waiting for a sleeper. A yield costs 1 us of simulated time. */
#define YIELD_COST_NS 1000u

int sched_yield(void)
{
    if (!posix_self())
        return REAL(sched_yield)();
    vmcisim_sleep(YIELD_COST_NS);
    return 0;
}

void pthread_exit(void *ret)
{
    if (posix_self())
        sim_proc_thread_exit(ret);
    REAL(pthread_exit)(ret);
    __builtin_unreachable();
}
