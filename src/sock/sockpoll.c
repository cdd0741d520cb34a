/*
 * sockpoll.c - poll over a set of simulated sockets and real descriptors (sockpoll.h), §2.14.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "posix/real.h"
#include "sock/fdtable.h"
#include "sock/sockpoll.h"

#include "sim/alloc.h"
#include "sock/usercopy.h"
#include "sock/vsock.h"

#define POLL_NFDS_MAX ((nfds_t)VSOCK_FD_MAX * 2) /* stands for RLIMIT_NOFILE */

bool sockpoll_simulated(void)
{
    sim_thread *t = sim_self();
    return t && t->proc;
}

/* One pass: every entry's revents; the number with revents set. The real descriptors go to
 * the C library's poll together, with a zero timeout; their pollfds are left in real[0..*nreal)
 * for the wait. */
static int scan(sim_proc *proc, struct pollfd *k, size_t n, struct pollfd *real, size_t *idx,
                size_t *nreal)
{
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        struct pollfd *p = &k[i];
        p->revents = 0;
        if (p->fd < 0)
            continue;
        struct vsock *sk = fdtab_get(proc, p->fd);
        if (sk) {
            /* POLLERR and POLLHUP are reported whether asked for or not (poll(2)) */
            p->revents = (short)(vsock_op_poll(sk) & (p->events | POLLERR | POLLHUP));
        } else {
            real[nr] = (struct pollfd){.fd = p->fd, .events = p->events};
            idx[nr++] = i;
        }
    }
    if (nr) {
        int r;
        do
            r = REAL(poll)(real, (nfds_t)nr, 0);
        while (r < 0 && errno == EINTR);
        for (size_t j = 0; r > 0 && j < nr; j++)
            k[idx[j]].revents = real[j].revents;
    }
    *nreal = nr;
    int ready = 0;
    for (size_t i = 0; i < n; i++)
        ready += k[i].revents != 0;
    return ready;
}

int sockpoll_poll_k(struct pollfd *kfds, size_t n, int64_t timeout_ns, uint64_t *left_ns,
                    const char *op)
{
    sim_thread *self = sim_self();
    if (!self || !self->proc)
        return -EPERM;
    struct pollfd *real = vmcisim_calloc(n ? n : 1, sizeof *real);
    size_t *idx = vmcisim_calloc(n ? n : 1, sizeof *idx);
    if (!real || !idx) {
        free(real);
        free(idx);
        return -ENOMEM;
    }
    /* the wait may end this thread (power off, destroy): what the call holds goes with it */
    struct sim_cleanup held_real, held_idx;
    sim_cleanup_push(&held_real, free, real);
    sim_cleanup_push(&held_idx, free, idx);
    vmcisim *sim = self->sim;
    sim_enter(sim);
    struct sock_world *sw = sock_of(sim);
    uint64_t deadline =
        timeout_ns < 0 ? SIM_NO_DEADLINE : sim_deadline_after(sim, (uint64_t)timeout_ns);
    int ready;
    for (;;) {
        size_t nreal = 0;
        ready = scan(self->proc, kfds, n, real, idx, &nreal);
        if (ready || (deadline != SIM_NO_DEADLINE && sim_now(sim) >= deadline))
            break;
        if (self->sig_pending) { /* a signal for the program (exec timers): EINTR, as Linux */
            ready = -EINTR;
            break;
        }
        /* Tell the transports what the pollers wait for, then sleep until any socket event,
         * a real descriptor or the deadline. */
        for (size_t i = 0; i < n; i++) {
            struct vsock *sk = kfds[i].fd >= 0 ? fdtab_get(self->proc, kfds[i].fd) : NULL;
            if (sk)
                vsock_op_poll_wait(sk, kfds[i].events);
        }
        sim_wait_fds(&sw->poll_wq, deadline, op, real, nreal);
    }
    if (left_ns) {
        uint64_t now = sim_now(sim);
        *left_ns = deadline == SIM_NO_DEADLINE || deadline <= now ? 0 : deadline - now;
    }
    sim_trace(sim, "call", "op=%s fd=-1 rc=%d", op, ready);
    sim_leave(sim);
    sim_cleanup_pop(&held_idx);
    sim_cleanup_pop(&held_real);
    free(real);
    free(idx);
    return ready;
}

int sockpoll_poll(struct pollfd *ufds, nfds_t nfds, int64_t timeout_ns, uint64_t *left_ns,
                  const char *op)
{
    if (nfds > POLL_NFDS_MAX)
        return -EINVAL;
    struct pollfd *k = vmcisim_calloc(nfds ? nfds : 1, sizeof *k);
    if (!k)
        return -ENOMEM;
    if (nfds && uc_copy_from_user(k, ufds, nfds * sizeof *k) != 0) {
        free(k);
        return -EFAULT;
    }
    struct sim_cleanup held;
    sim_cleanup_push(&held, free, k);
    int rc = sockpoll_poll_k(k, nfds, timeout_ns, left_ns, op);
    sim_cleanup_pop(&held);
    if (rc >= 0 && nfds && uc_copy_to_user(ufds, k, nfds * sizeof *k) != 0)
        rc = -EFAULT;
    free(k);
    return rc;
}
