/*
 * poll.c - poll and select of an exec'd program. A set with a vsock descriptor, or any wait
 * with a timeout, is one poll in the world (sockpoll_poll, as in-process src/posix/poll.c): the
 * set's real descriptors travel with the request (SCM_RIGHTS) and are polled there beside the
 * simulated sockets, and the timeout is simulated time. A zero-timeout check of real
 * descriptors alone stays the C library's. select is poll underneath.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/select.h>

#include "preload/preload.h"

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    struct pl_chan *c = pl_chan();
    bool any = false;
    struct pollfd *k = c ? (struct pollfd *)c->a->data : NULL;
    if (c && n <= XP_POLL_MAX) {
        /* the set is read once, fault-safely, into the area (a bad array: EFAULT, as Linux) */
        if (pl_copy_in(k, fds, n * sizeof *fds) != n * sizeof *fds) {
            errno = EFAULT;
            return -1;
        }
        if (pl_any_mapped())
            for (nfds_t i = 0; i < n && !any; i++)
                any = pl_world_fd(k[i].fd) >= 0;
    }
    /* A wait with a timeout goes to the world even without a vsock descriptor: its timeout is
     * simulated time (in-process, src/posix/poll.c, the same). */
    if (!c || n > XP_POLL_MAX || (!any && timeout == 0))
        return PL_REAL(int (*)(struct pollfd *, nfds_t, int), poll)(fds, n, timeout);
    /* Real descriptors travel with the request (SCM_RIGHTS): the world polls its copies of
     * them together with the simulated sockets, as src/posix/poll.c does in-process. */
    int real[XP_POLL_MAX];
    int nreal = 0;
    int orig[XP_POLL_MAX];
    for (nfds_t i = 0; i < n; i++) {
        int fd = orig[i] = k[i].fd;
        int w = pl_world_fd(fd);
        if (w >= 0)
            k[i].fd = w;
        else if (fd >= 0) {
            real[nreal] = fd;
            k[i].fd = -2 - nreal++;
        }
    }
    c->a->op = XP_POLL;
    c->a->a[0] = (int64_t)n;
    c->a->a[1] = timeout;
    void *away = pl_fast_away_begin(c); /* the other ends' moves must wake this wait */
    int r = (int)pl_call(c, real, nreal, NULL);
    pl_fast_away_end(away);
    if (r >= 0) {
        /* back in one copy: the program's own fd/events with the world's revents */
        for (nfds_t i = 0; i < n; i++)
            k[i].fd = orig[i];
        if (pl_copy_out(fds, k, n * sizeof *k) != n * sizeof *k) {
            errno = EFAULT; /* the array went away during the wait */
            return -1;
        }
    }
    return r;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    bool any = false;
    if (pl_chan() && pl_any_mapped())
        for (int fd = 0; fd < nfds && fd < FD_SETSIZE && !any; fd++)
            any = pl_world_fd(fd) >= 0 &&
                  ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)));
    bool zero = tv && tv->tv_sec == 0 && tv->tv_usec == 0;
    if (!pl_chan() || nfds > FD_SETSIZE || nfds < 0 || (!any && zero))
        return PL_REAL(int (*)(int, fd_set *, fd_set *, fd_set *, struct timeval *), select)(
            nfds, rd, wr, ex, tv);
    struct pollfd p[FD_SETSIZE];
    int n = 0;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
        short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
                           (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
                           (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
        if (ev)
            p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int ms = tv ? (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000) : -1;
    int r = poll(p, (nfds_t)n, ms);
    if (r < 0)
        return -1;
    if (rd)
        FD_ZERO(rd);
    if (wr)
        FD_ZERO(wr);
    if (ex)
        FD_ZERO(ex);
    int count = 0;
    for (int i = 0; i < n; i++) {
        short re = p[i].revents;
        if (re & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
        if (rd && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN)) {
            FD_SET(p[i].fd, rd);
            count++;
        }
        if (wr && (re & (POLLOUT | POLLERR)) && (p[i].events & POLLOUT)) {
            FD_SET(p[i].fd, wr);
            count++;
        }
        if (ex && (re & POLLPRI)) {
            FD_SET(p[i].fd, ex);
            count++;
        }
    }
    if (tv && r == 0)
        tv->tv_sec = tv->tv_usec = 0;
    return count;
}
