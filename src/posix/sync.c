/*
 * sync.c - pthread mutexes and condition variables used by simulated threads.
 *
 * The mutex itself stays the C library's: a simulated thread takes it with trylock, and when
 * it is held, waits as a simulated thread on the mutex's address (src/sim/addrwait.c) until an
 * unlock wakes it, then tries again. So the C library keeps every type's rules (recursive,
 * error-checking, robust), a thread blocked on a mutex held by another simulated thread never
 * blocks in the kernel while the world waits (deterministic mode), and it is named in deadlock
 * reports. A condition variable wait releases the mutex and waits on the condition's address;
 * timed waits run on simulated time. Threads outside the simulation use the C library's calls.
 *
 * No lost wake-up: a waiter counts itself in (sim_addr_waiters_add) and re-tries the mutex
 * inside the world before it sleeps; an unlocker releases the mutex, then looks at the count
 * and, if anyone waits, wakes inside the world. Both count operations are sequentially
 * consistent read-modify-writes, so one side sees the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "posix/posix_internal.h"
#include "preload/glibc_sync.h"

VMCISIM_POSIX_ANCHOR(sync);

static int mutex_block(sim_thread *self, pthread_mutex_t *m, uint64_t deadline)
{
    vmcisim *sim = self->sim;
    if (glibc_mutex_held_by_me_errorcheck(m))
        return EDEADLK;
    for (;;) {
        sim_lock(sim);
        sim_addr_waiters_add(sim, 1);
        int rc = REAL(pthread_mutex_trylock)(m);
        if (rc != EBUSY) {
            sim_addr_waiters_add(sim, -1);
            sim_unlock(sim);
            return rc;
        }
        int w = sim_addr_wait(sim, m, deadline, "pthread_mutex_lock");
        sim_addr_waiters_add(sim, -1);
        sim_unlock(sim);
        if (w == ETIMEDOUT && deadline != SIM_NO_DEADLINE && sim_now(sim) >= deadline)
            return ETIMEDOUT;
    }
}

/* After a release of the object at addr by a simulated thread: wake its simulated waiters. */
static void wake_addr(sim_thread *self, const void *addr, bool all, bool locked)
{
    if (sim_addr_waiters(self->sim) == 0)
        return;
    if (!locked)
        sim_lock(self->sim);
    sim_addr_wake(self->sim, addr, all);
    if (!locked)
        sim_unlock(self->sim);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_mutex_lock)(m);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc != EBUSY)
        return rc;
    return mutex_block(self, m, SIM_NO_DEADLINE);
}


int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_mutex_timedlock)(m, abstime);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc != EBUSY)
        return rc;
    uint64_t deadline;
    rc = posix_abs_deadline(self, CLOCK_REALTIME, abstime, &deadline);
    if (rc)
        return rc;
    return mutex_block(self, m, deadline);
}

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_mutex_clocklock)(m, clk, abstime);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc != EBUSY)
        return rc;
    uint64_t deadline;
    rc = posix_abs_deadline(self, clk, abstime, &deadline);
    if (rc)
        return rc;
    return mutex_block(self, m, deadline);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    sim_thread *self = posix_self();
    int rc = REAL(pthread_mutex_unlock)(m);
    if (self && rc == 0)
        wake_addr(self, m, true, false);
    return rc;
}

static int cond_block(sim_thread *self, pthread_cond_t *c, pthread_mutex_t *m,
                      uint64_t deadline)
{
    vmcisim *sim = self->sim;
    sim_lock(sim);
    int rc = REAL(pthread_mutex_unlock)(m);
    if (rc != 0) {
        sim_unlock(sim);
        return rc; /* EPERM: not the owner, as the C library says */
    }
    wake_addr(self, m, true, true);
    sim_addr_waiters_add(sim, 1);
    int w = sim_addr_wait(sim, c, deadline, "pthread_cond_wait");
    sim_addr_waiters_add(sim, -1);
    sim_unlock(sim);
    rc = REAL(pthread_mutex_trylock)(m);
    if (rc == EBUSY)
        rc = mutex_block(self, m, SIM_NO_DEADLINE);
    if (rc != 0)
        return rc;
    return w == ETIMEDOUT && deadline != SIM_NO_DEADLINE && sim_now(sim) >= deadline ? ETIMEDOUT
                                                                                     : 0;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_cond_wait)(c, m);
    return cond_block(self, c, m, SIM_NO_DEADLINE);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    uint64_t deadline;
    int rc = posix_abs_deadline(self, glibc_cond_clock(c), abstime, &deadline);
    if (rc)
        return rc;
    return cond_block(self, c, m, deadline);
}

int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                           const struct timespec *abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(pthread_cond_clockwait)(c, m, clk, abstime);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;
    uint64_t deadline;
    int rc = posix_abs_deadline(self, clk, abstime, &deadline);
    if (rc)
        return rc;
    return cond_block(self, c, m, deadline);
}

int pthread_cond_signal(pthread_cond_t *c)
{
    sim_thread *self = posix_self();
    int rc = REAL(pthread_cond_signal)(c); /* waiters outside the simulation */
    if (self)
        wake_addr(self, c, false, false);
    return rc;
}

int pthread_cond_broadcast(pthread_cond_t *c)
{
    sim_thread *self = posix_self();
    int rc = REAL(pthread_cond_broadcast)(c);
    if (self)
        wake_addr(self, c, true, false);
    return rc;
}
