/*
 * poll.c - poll, ppoll, select and pselect of an exec'd program. A set with a vsock descriptor,
 * or any wait with a timeout, is one poll in the world (sockpoll_poll, as in-process
 * src/posix/poll.c and select.c): the set's real descriptors travel with the request
 * (SCM_RIGHTS) and are polled there beside the simulated sockets, the timeout is simulated time
 * (to the nanosecond for ppoll and pselect), and the trace names the call the program made. A
 * zero-timeout check of real descriptors alone stays the C library's. select is poll
 * underneath.
 *
 * Signal masks (ppoll, pselect, and epoll_pwait/epoll_pwait2 in epoll.c): the program's signals
 * are real ones, so the mask really is the thread's during the wait (pl_mask_begin). A signal
 * the mask lets through that is already pending when the call starts has its handler run and
 * the call fails with EINTR, which is the race these calls exist to close ("block SIGCHLD,
 * then ppoll with it unblocked"). One that arrives during the world's wait runs its handler
 * there, but the wait goes on until it ends by itself (docs/exec-protocol.md, limits).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/select.h>

#include "preload/preload.h"

int64_t pl_timespec_ns(const struct timespec *ts)
{
    if (!ts)
        return -1;
    struct timespec t;
    if (pl_copy_in(&t, ts, sizeof t) != sizeof t)
        return -2 - EFAULT;
    if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
        return -2 - EINVAL;
    if (t.tv_sec > INT64_MAX / 1000000000 - 1)
        return INT64_MAX;
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool has_handler(int sig)
{
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0)
        return false;
    return (sa.sa_flags & SA_SIGINFO) ||
           (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL);
}

int pl_mask_begin(const sigset_t *mask, sigset_t *old)
{
    if (!mask)
        return 0;
    sigset_t m;
    if (pl_copy_in(&m, mask, sizeof m) != sizeof m) {
        errno = EFAULT;
        return -1;
    }
    sigset_t pending;
    bool intr = false;
    if (sigpending(&pending) == 0)
        for (int sig = 1; sig < NSIG && !intr; sig++)
            intr = sigismember(&pending, sig) == 1 && sigismember(&m, sig) == 0 &&
                   has_handler(sig);
    /* the handlers of pending signals the mask lets through run here, as Linux runs them on
     * the way out of a wait the signal interrupted */
    pthread_sigmask(SIG_SETMASK, &m, old);
    if (intr) {
        pthread_sigmask(SIG_SETMASK, old, NULL);
        errno = EINTR;
        return -1;
    }
    return 1;
}

void pl_mask_end(int begun, const sigset_t *old)
{
    if (begun > 0) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, old, NULL);
        errno = e;
    }
}

static int real_poll_ns(struct pollfd *fds, nfds_t n, int64_t ns, const sigset_t *mask)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return PL_REAL(int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *),
                   ppoll)(fds, n, ns < 0 ? NULL : &ts, mask);
}

int pl_poll_world(struct pollfd *fds, nfds_t n, int64_t ns, int kind, const sigset_t *mask)
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
    if (!c || n > XP_POLL_MAX || (!any && ns == 0))
        return real_poll_ns(fds, n, ns, mask);
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
    sigset_t old;
    int masked = pl_mask_begin(mask, &old);
    if (masked < 0)
        return -1;
    c->a->op = XP_POLL;
    c->a->a[0] = (int64_t)n;
    c->a->a[1] = ns;
    c->a->a[2] = kind;
    void *away = pl_fast_away_begin(c); /* the other ends' moves must wake this wait */
    int r = (int)pl_call(c, real, nreal, NULL);
    pl_fast_away_end(away);
    pl_mask_end(masked, &old);
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

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return pl_poll_world(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, XP_WAIT_POLL,
                         NULL);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
    if (!pl_chan())
        return PL_REAL(int (*)(struct pollfd *, nfds_t, const struct timespec *,
                               const sigset_t *),
                       ppoll)(fds, n, tmo, mask);
    int64_t ns = pl_timespec_ns(tmo);
    if (ns < -1) {
        errno = (int)(-2 - ns);
        return -1;
    }
    return pl_poll_world(fds, n, ns, XP_WAIT_PPOLL, mask);
}

/* select and pselect: the sets become a poll array, the answer the sets again. ns: the timeout
 * (-1: none); kind: which call, for the trace. */
static int select_world(int nfds, fd_set *urd, fd_set *uwr, fd_set *uex, int64_t ns, int kind,
                        const sigset_t *mask)
{
    /* The sets are read once, fault-safely, as Linux copies the first nfds bits of each (in
     * whole longs): a bad set is EFAULT, not a crash. */
    size_t bytes = ((size_t)nfds + 63) / 64 * 8;
    fd_set in[3], *u[3] = {urd, uwr, uex};
    for (int j = 0; j < 3; j++) {
        FD_ZERO(&in[j]);
        if (u[j] && bytes && pl_copy_in(&in[j], u[j], bytes) != bytes) {
            errno = EFAULT;
            return -1;
        }
    }
    fd_set *rd = urd ? &in[0] : NULL, *wr = uwr ? &in[1] : NULL, *ex = uex ? &in[2] : NULL;
    bool any = false;
    if (pl_any_mapped())
        for (int fd = 0; fd < nfds && !any; fd++)
            any = pl_world_fd(fd) >= 0 &&
                  ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)));
    if (!any && ns == 0) {
        struct timespec ts = {0, 0};
        return PL_REAL(int (*)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                               const sigset_t *),
                       pselect)(nfds, urd, uwr, uex, &ts, mask);
    }
    struct pollfd p[FD_SETSIZE];
    int n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
                           (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
                           (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
        if (ev)
            p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int r = pl_poll_world(p, (nfds_t)n, ns, kind, mask);
    if (r < 0)
        return -1;
    for (int j = 0; j < 3; j++)
        FD_ZERO(&in[j]);
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
    for (int j = 0; j < 3; j++)
        if (u[j] && bytes && pl_copy_out(u[j], &in[j], bytes) != bytes) {
            errno = EFAULT;
            return -1;
        }
    return count;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (!pl_chan() || nfds > FD_SETSIZE || nfds < 0)
        return PL_REAL(int (*)(int, fd_set *, fd_set *, fd_set *, struct timeval *), select)(
            nfds, rd, wr, ex, tv);
    int64_t ns = -1;
    if (tv) {
        struct timeval t;
        if (pl_copy_in(&t, tv, sizeof t) != sizeof t) {
            errno = EFAULT;
            return -1;
        }
        if (t.tv_sec < 0 || t.tv_usec < 0) {
            errno = EINVAL;
            return -1;
        }
        /* Linux takes whole seconds out of tv_usec >= 10^6 rather than refusing it */
        ns = t.tv_sec > INT64_MAX / 1000000000 - 1
                 ? INT64_MAX
                 : (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_usec * 1000;
    }
    int r = select_world(nfds, rd, wr, ex, ns, XP_WAIT_SELECT, NULL);
    if (tv && r == 0)
        tv->tv_sec = tv->tv_usec = 0; /* Linux writes back the time left: none */
    return r;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *tmo,
            const sigset_t *mask)
{
    if (!pl_chan() || nfds > FD_SETSIZE || nfds < 0)
        return PL_REAL(int (*)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
                               const sigset_t *),
                       pselect)(nfds, rd, wr, ex, tmo, mask);
    int64_t ns = pl_timespec_ns(tmo);
    if (ns < -1) {
        errno = (int)(-2 - ns);
        return -1;
    }
    return select_world(nfds, rd, wr, ex, ns, XP_WAIT_PSELECT, mask); /* tmo is left alone */
}
