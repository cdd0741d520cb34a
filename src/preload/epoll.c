/*
 * epoll.c - epoll sets of an exec'd program that hold vsock descriptors (asyncio, tokio, libuv
 * and the like wait with epoll).
 *
 * The kernel's epoll set keeps the program's real descriptors; the vsock ones are kept here,
 * beside it, per epoll descriptor. An epoll_wait on a set with vsock members is one poll in the
 * world (src/preload/sock.c: the request carries the epoll descriptor itself, readable when a
 * real member is ready): vsock members report what the world's poll says (level-triggered;
 * EPOLLONESHOT disables a member until EPOLL_CTL_MOD), then the ready real members are
 * collected with a zero-timeout epoll_wait of the C library. Vsock members come first, in the
 * order they were added, so the order is the program's, never the kernel's.
 *
 * EPOLLET on a vsock member is reported as level-triggered: a program written for edge
 * triggering reads until EAGAIN, so it sees the same data, with possibly one more wake-up.
 *
 * epoll_pwait and epoll_pwait2 apply their signal mask for the wait (poll.c, pl_mask_begin),
 * and epoll_pwait2's timeout is simulated nanoseconds. An array of events that cannot be
 * written is EFAULT, and an epfd that is not an epoll descriptor is EINVAL, as on Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "preload/preload.h"

#define EP_FD_MAX 65536

struct ep_member {
    int fd;
    uint32_t events;
    epoll_data_t data;
    int disabled; /* EPOLLONESHOT fired */
};

struct ep_set {
    struct ep_member *v;
    size_t n, cap;
};

static struct ep_set *sets[EP_FD_MAX];
static int top; /* sets[top..] are all NULL */
static int ep_lock;

static void lock(void)
{
    while (__atomic_exchange_n(&ep_lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void unlock(void) { __atomic_store_n(&ep_lock, 0, __ATOMIC_RELEASE); }

static struct ep_member *find(struct ep_set *s, int fd)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].fd == fd)
            return &s->v[i];
    return NULL;
}

static int fail(int e)
{
    errno = e;
    return -1;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (!pl_chan() || pl_world_fd(fd) < 0 || epfd < 0 || epfd >= EP_FD_MAX)
        return PL_REAL(int (*)(int, int, int, struct epoll_event *), epoll_ctl)(epfd, op, fd, ev);
    if (fcntl(epfd, F_GETFD) < 0)
        return -1; /* EBADF, as the kernel */
    if (fd == epfd)
        return fail(EINVAL);
    /* Is epfd an epoll descriptor at all? Removing the channel's own socket, which is never a
     * member of the program's sets, says so without changing anything: ENOENT from an epoll
     * set, EINVAL from anything else (Linux's answer for a non-epoll epfd). */
    struct pl_chan *ch = pl_chan();
    if (PL_REAL(int (*)(int, int, int, struct epoll_event *), epoll_ctl)(
            epfd, EPOLL_CTL_DEL, ch->sock, NULL) != 0 &&
        errno == EINVAL)
        return fail(EINVAL);
    if (op != EPOLL_CTL_DEL && !ev)
        return fail(EFAULT);
    lock();
    struct ep_set *s = sets[epfd];
    struct ep_member *m = find(s, fd);
    int rc = 0;
    switch (op) {
    case EPOLL_CTL_ADD:
        if (m) {
            rc = fail(EEXIST);
            break;
        }
        if (!s && !(s = sets[epfd] = calloc(1, sizeof *s))) {
            rc = fail(ENOMEM);
            break;
        }
        if (epfd >= top)
            top = epfd + 1;
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            struct ep_member *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                rc = fail(ENOMEM);
                break;
            }
            s->v = v;
            s->cap = cap;
        }
        s->v[s->n++] = (struct ep_member){.fd = fd, .events = ev->events, .data = ev->data};
        break;
    case EPOLL_CTL_MOD:
        if (!m) {
            rc = fail(ENOENT);
            break;
        }
        m->events = ev->events;
        m->data = ev->data;
        m->disabled = 0;
        break;
    case EPOLL_CTL_DEL:
        if (!m) {
            rc = fail(ENOENT);
            break;
        }
        memmove(m, m + 1, (size_t)(s->v + s->n - (m + 1)) * sizeof *m);
        s->n--;
        break;
    default:
        rc = fail(EINVAL);
    }
    unlock();
    return rc;
}

static short to_poll(uint32_t e)
{
    return (short)(((e & EPOLLIN) ? POLLIN : 0) | ((e & EPOLLOUT) ? POLLOUT : 0) |
                   ((e & EPOLLPRI) ? POLLPRI : 0) | ((e & EPOLLRDHUP) ? POLLRDHUP : 0));
}

static uint32_t from_poll(short r)
{
    return ((r & POLLIN) ? EPOLLIN : 0) | ((r & POLLOUT) ? EPOLLOUT : 0) |
           ((r & POLLPRI) ? EPOLLPRI : 0) | ((r & POLLRDHUP) ? EPOLLRDHUP : 0) |
           ((r & POLLERR) ? EPOLLERR : 0) | ((r & POLLHUP) ? EPOLLHUP : 0);
}

/* One wait: ns the timeout (-1: none), kind the call (for the trace), mask the program's mask
 * during it (or NULL). */
static int ep_wait(int epfd, struct epoll_event *out, int max, int64_t ns, int kind,
                   const sigset_t *mask)
{
    struct ep_set *s = epfd >= 0 && epfd < EP_FD_MAX ? sets[epfd] : NULL;
    /* With a timeout, the wait is the world's even without vsock members: simulated time. */
    if (!pl_chan() || epfd < 0 || epfd >= EP_FD_MAX || ((!s || s->n == 0) && ns == 0)) {
        if (kind != XP_WAIT_EPOLL_PWAIT2) /* ns came from milliseconds */
            return PL_REAL(int (*)(int, struct epoll_event *, int, int, const sigset_t *),
                           epoll_pwait)(epfd, out, max, ns < 0 ? -1 : (int)(ns / 1000000), mask);
        struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
        return PL_REAL(int (*)(int, struct epoll_event *, int, const struct timespec *,
                               const sigset_t *),
                       epoll_pwait2)(epfd, out, max, ns < 0 ? NULL : &ts, mask);
    }
    if (max <= 0 || (size_t)max > INT_MAX / sizeof *out)
        return fail(EINVAL);
    if (fcntl(epfd, F_GETFD) < 0)
        return -1;
    lock();
    size_t n = s ? s->n : 0;
    struct pollfd *p = calloc(n + 1, sizeof *p);
    struct ep_member *snap = calloc(n ? n : 1, sizeof *snap);
    if (!p || !snap) {
        unlock();
        free(p);
        free(snap);
        return fail(ENOMEM);
    }
    if (n)
        memcpy(snap, s->v, n * sizeof *snap);
    unlock();
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = snap[i].disabled ? -1 : snap[i].fd,
                               .events = to_poll(snap[i].events)};
    p[n] = (struct pollfd){.fd = epfd, .events = POLLIN};
    int r = pl_poll_world(p, (nfds_t)(n + 1), ns, kind, mask);
    int k = 0;
    if (r > 0) {
        lock();
        for (size_t i = 0; i < n && k < max; i++) {
            uint32_t ev = from_poll(p[i].revents) &
                          (snap[i].events | EPOLLERR | EPOLLHUP);
            if (!ev)
                continue;
            struct epoll_event e = {.events = ev, .data = snap[i].data};
            if (pl_copy_out(&out[k], &e, sizeof e) != sizeof e) {
                k = -1;
                break;
            }
            k++;
            struct ep_member *m = find(s, snap[i].fd);
            if (m && (m->events & EPOLLONESHOT))
                m->disabled = 1;
        }
        unlock();
        if (k >= 0 && k < max && (p[n].revents & POLLIN)) {
            int rr = PL_REAL(int (*)(int, struct epoll_event *, int, int), epoll_wait)(
                epfd, out + k, max - k, 0);
            if (rr > 0)
                k += rr;
        }
    }
    free(p);
    free(snap);
    if (k < 0)
        return fail(EFAULT); /* the array went away during the wait */
    return r < 0 ? -1 : k;
}

int epoll_wait(int epfd, struct epoll_event *out, int max, int timeout)
{
    return ep_wait(epfd, out, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000,
                   XP_WAIT_EPOLL_WAIT, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *out, int max, int timeout, const sigset_t *mask)
{
    return ep_wait(epfd, out, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000,
                   XP_WAIT_EPOLL_PWAIT, mask);
}

int epoll_pwait2(int epfd, struct epoll_event *out, int max, const struct timespec *tmo,
                 const sigset_t *mask)
{
    if (!pl_chan())
        return PL_REAL(int (*)(int, struct epoll_event *, int, const struct timespec *,
                               const sigset_t *),
                       epoll_pwait2)(epfd, out, max, tmo, mask);
    int64_t ns = pl_timespec_ns(tmo);
    if (ns < -1)
        return fail((int)(-2 - ns));
    return ep_wait(epfd, out, max, ns, XP_WAIT_EPOLL_PWAIT2, mask);
}

void pl_epoll_forget_fd(int fd)
{
    lock();
    for (int e = 0; e < top; e++) {
        struct ep_set *s = sets[e];
        struct ep_member *m = find(s, fd);
        if (m) {
            memmove(m, m + 1, (size_t)(s->v + s->n - (m + 1)) * sizeof *m);
            s->n--;
        }
    }
    unlock();
}

void pl_epoll_closed(int epfd)
{
    if (epfd < 0 || epfd >= EP_FD_MAX)
        return;
    lock();
    struct ep_set *s = sets[epfd];
    sets[epfd] = NULL;
    unlock();
    if (s) {
        free(s->v);
        free(s);
    }
}
