/*
 * fdwait.c - simulated threads that wait on real descriptors (pipes, files, TCP) as well as on
 * a wait queue: poll/select/epoll sets that mix real descriptors with simulated sockets.
 *
 * A real descriptor must never be waited on in the kernel while the world needs the waiting
 * thread, and in deterministic mode it must not decide *when* (in simulated time) the thread
 * wakes more than the world's own events do.
 *
 * Deterministic mode: the thread blocks in sim_wait like any other and publishes its set in its
 * sim_thread (fdw/nfdw). Whenever no thread can run, before the clock jumps to the next
 * deadline, the scheduler calls fdwait_idle: it polls each published set with a zero timeout,
 * in thread creation order, and wakes the threads that have a ready descriptor. Data a
 * simulated thread wrote into a pipe is therefore seen at the same simulated instant on every
 * run with the seed. Only when nothing else could ever wake a thread (no deadline pending, the
 * run would otherwise be a deadlock) does the world block on the union of the sets on the wall
 * clock, with simulated time standing still: the only way on is an outside writer.
 *
 * Realtime mode: the thread queues itself on the wait queue as in sim_wait, sets rt_fdwait,
 * leaves the world lock and blocks in the C library's poll on its set plus a per-thread eventfd.
 * A wake-up (or a kill) under the world lock writes the eventfd (fdwait_rt_kick), so neither
 * side busy-loops and no wake-up is lost: the eventfd counter stays set until it is read.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "posix/real.h"
#include "sim/world_internal.h"

static bool set_ready(struct pollfd *p, size_t n)
{
    int r;
    do
        r = REAL(poll)(p, (nfds_t)n, 0);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

static bool waits_on_fds(const sim_thread *t)
{
    return t->state == T_BLOCKED && !t->killed && t->nfdw > 0;
}

/* Wake every thread whose set has a ready descriptor; true if one was woken. */
static bool wake_ready(vmcisim *sim)
{
    bool woke = false;
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (waits_on_fds(t) && set_ready(t->fdw, t->nfdw)) {
            t->fdw_ready = true;
            sim_trace(sim, "real-fd-ready", "thread=%s#%u", t->name, t->id);
            sched_wake_thread(t);
            woke = true;
        }
    }
    return woke;
}

bool fdwait_idle(vmcisim *sim, bool nothing_else)
{
    if (sim->realtime)
        return false;
    if (wake_ready(sim))
        return true;
    if (!nothing_else)
        return false;
    size_t total = 0;
    for (size_t i = 0; i < sim->nthreads; i++)
        if (waits_on_fds(sim->threads[i]))
            total += sim->threads[i]->nfdw;
    if (total == 0)
        return false;
    /* Every thread waits and only real descriptors could wake one: wait on them on the wall
     * clock. Simulated time does not move. */
    struct pollfd *all = vmcisim_malloc(total * sizeof *all);
    if (!all)
        return false; /* reported as a deadlock rather than waiting blind */
    size_t k = 0;
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (!waits_on_fds(t))
            continue;
        for (size_t j = 0; j < t->nfdw; j++)
            all[k++] = t->fdw[j];
    }
    int r;
    do
        r = REAL(poll)(all, (nfds_t)total, -1);
    while (r < 0 && errno == EINTR);
    free(all);
    return wake_ready(sim);
}

void fdwait_rt_kick(sim_thread *t)
{
    if (t->rt_fdwait && t->rt_wakefd >= 0)
        eventfd_write(t->rt_wakefd, 1);
}

void fdwait_thread_free(sim_thread *t)
{
    if (t->rt_wakefd >= 0)
        REAL(close)(t->rt_wakefd);
    t->rt_wakefd = -1;
}

static int wait_fds_det(sim_thread *self, sim_waitq *q, uint64_t deadline, const char *what,
                        struct pollfd *pfds, size_t n)
{
    self->fdw = pfds;
    self->nfdw = n;
    self->fdw_ready = false;
    int rc = sim_wait(q, deadline, what);
    self->fdw = NULL;
    self->nfdw = 0;
    if (rc == 0 && self->fdw_ready)
        rc = SIM_WAIT_FD_READY;
    self->fdw_ready = false;
    return rc;
}

/* Milliseconds (rounded up) from now until deadline, for poll(); -1 for none. */
static int ms_until(const vmcisim *sim, uint64_t deadline)
{
    if (deadline == SIM_NO_DEADLINE)
        return -1;
    uint64_t now = sim_now(sim);
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999u) / 1000000u;
    return ms > 1000000000u ? 1000000000 : (int)ms;
}

static int wait_fds_rt(sim_thread *self, sim_waitq *q, uint64_t deadline, const char *what,
                       struct pollfd *pfds, size_t n)
{
    vmcisim *sim = self->sim;
    if (self->rt_wakefd < 0)
        self->rt_wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct pollfd small[16];
    struct pollfd *set = n + 1 <= 16 ? small : vmcisim_malloc((n + 1) * sizeof *set);
    if (self->rt_wakefd < 0 || !set) {
        /* No eventfd or no memory: fall back to a short sliced wait (never a blind block). */
        if (set && set != small)
            free(set);
        uint64_t slice = sim_deadline_after(sim, 10000000ull);
        int rc = sim_wait(q, slice < deadline ? slice : deadline, what);
        return rc == ETIMEDOUT && sim_now(sim) < deadline ? 0 : rc;
    }
    for (size_t i = 0; i < n; i++)
        set[i] = pfds[i];
    set[n] = (struct pollfd){.fd = self->rt_wakefd, .events = POLLIN};
    int ms = ms_until(sim, deadline);

    self->woken = false;
    self->waiting_for = what;
    self->state = T_BLOCKED;
    sched_waitq_push(q, self);
    self->rt_fdwait = true;
    pthread_mutex_unlock(&sim->lock);
    int r;
    do
        r = REAL(poll)(set, (nfds_t)(n + 1), ms);
    while (r < 0 && errno == EINTR && (ms = ms_until(sim, deadline)) != 0);
    pthread_mutex_lock(&sim->lock);
    self->rt_fdwait = false;
    eventfd_t drained;
    eventfd_read(self->rt_wakefd, &drained);
    bool real_ready = false;
    for (size_t i = 0; i < n; i++)
        real_ready |= set[i].revents != 0;
    if (set != small)
        free(set);
    if (!self->woken)
        sched_waitq_remove(self);
    self->state = T_RUNNABLE;
    self->waiting_for = NULL;
    if (self->killed)
        sim_unwind_self(); /* the killer took us off q: q may be gone */
    sched_self_check(sim);  /* parks while our VM is suspended */
    if (self->woken)
        return 0;
    if (real_ready)
        return SIM_WAIT_FD_READY;
    return deadline != SIM_NO_DEADLINE && sim_now(sim) >= deadline ? ETIMEDOUT : 0;
}

int sim_wait_fds(sim_waitq *q, uint64_t deadline, const char *what, struct pollfd *pfds,
                 size_t n)
{
    sim_thread *self = sim_self();
    assert(self);
    if (n == 0)
        return sim_wait(q, deadline, what);
    vmcisim *sim = self->sim;
    if (deadline != SIM_NO_DEADLINE && deadline <= sim_now(sim))
        return ETIMEDOUT;
    return sim->realtime ? wait_fds_rt(self, q, deadline, what, pfds, n)
                         : wait_fds_det(self, q, deadline, what, pfds, n);
}
