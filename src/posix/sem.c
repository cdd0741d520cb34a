/*
 * sem.c - POSIX semaphores used by simulated threads: sem_wait and sem_timedwait block as
 * simulated waits on the semaphore's address (timed ones on simulated time) and sem_post wakes
 * them; the count itself stays the C library's (sem_trywait, sem_getvalue, sem_init and
 * sem_destroy never block and are the C library's own). Same scheme as sync.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>

#include "posix/posix_internal.h"

VMCISIM_POSIX_ANCHOR(sem);

static int sem_block(sim_thread *self, sem_t *s, uint64_t deadline)
{
    vmcisim *sim = self->sim;
    for (;;) {
        sim_lock(sim);
        sim_addr_waiters_add(sim, 1);
        int rc = sem_trywait(s);
        int e = errno;
        if (rc == 0 || e != EAGAIN) {
            sim_addr_waiters_add(sim, -1);
            sim_unlock(sim);
            errno = e;
            return rc;
        }
        int w = sim_addr_wait(sim, s, deadline, "sem_wait");
        sim_addr_waiters_add(sim, -1);
        sim_unlock(sim);
        if (w == ETIMEDOUT && deadline != SIM_NO_DEADLINE && sim_now(sim) >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

int sem_wait(sem_t *s)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(sem_wait)(s);
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    return sem_block(self, s, SIM_NO_DEADLINE);
}

int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(sem_timedwait)(s, abstime);
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    uint64_t deadline;
    int rc = posix_abs_deadline(self, CLOCK_REALTIME, abstime, &deadline);
    if (rc) {
        errno = rc;
        return -1;
    }
    return sem_block(self, s, deadline);
}

int sem_clockwait(sem_t *restrict s, clockid_t clk, const struct timespec *restrict abstime)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(sem_clockwait)(s, clk, abstime);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) {
        errno = EINVAL;
        return -1;
    }
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    uint64_t deadline;
    int rc = posix_abs_deadline(self, clk, abstime, &deadline);
    if (rc) {
        errno = rc;
        return -1;
    }
    return sem_block(self, s, deadline);
}

int sem_post(sem_t *s)
{
    sim_thread *self = posix_self();
    int rc = REAL(sem_post)(s);
    if (self && rc == 0) {
        int e = errno;
        if (sim_addr_waiters(self->sim) != 0) {
            sim_lock(self->sim);
            sim_addr_wake(self->sim, s, true);
            sim_unlock(self->sim);
        }
        errno = e;
    }
    return rc;
}
