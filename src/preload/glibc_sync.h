/*
 * glibc_sync.h - what both interposers (in-process: src/posix/sync.c; exec'd programs:
 * src/preload/threads.c) read of the C library's own pthread objects, in one place, since it
 * depends on glibc's layout. Header only, so the preload library, which links no layer, shares
 * it too. Elsewhere than glibc the answers are the safe defaults.
 */
#ifndef VMCISIM_PRELOAD_GLIBC_SYNC_H
#define VMCISIM_PRELOAD_GLIBC_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* EBUSY from trylock on a mutex this thread holds: error-checking mutexes say EDEADLK, the
 * others (a normal mutex relocked) deadlock, as with the C library. */
static inline bool glibc_mutex_held_by_me_errorcheck(const pthread_mutex_t *m)
{
#ifdef __GLIBC__
    return m->__data.__owner == (int)syscall(SYS_gettid) &&
           (m->__data.__kind & 3) == PTHREAD_MUTEX_ERRORCHECK_NP;
#else
    (void)m;
    return false;
#endif
}

/* The clock a condition variable's timed waits use: glibc keeps it in bit 1 of __wrefs. */
static inline clockid_t glibc_cond_clock(const pthread_cond_t *c)
{
#ifdef __GLIBC__
    return (c->__data.__wrefs & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
#else
    (void)c;
    return CLOCK_REALTIME;
#endif
}

#endif
