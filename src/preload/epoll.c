/*
 * epoll.c - epoll sets of an exec'd program that hold vsock descriptors (asyncio, tokio, libuv
 * and the like wait with epoll).
 *
 * Such a set is the world's sockepoll instance (src/sock/sockepoll.c), as an in-process
 * program's is, so EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE's checks, the rotation of
 * level-triggered members and every errno are the in-process ones: epoll_ctl of a vsock
 * descriptor is XP_EPOLL_CTL, and a wait on a set with vsock members (or with a timeout: the
 * timeout is simulated time) is XP_EPOLL_WAIT. The world makes both on its own copy of the
 * program's epoll descriptor (src/exec/epolls.c), which the first such request sends along;
 * real members stay in the kernel's set, where that copy sees them too. A zero-timeout wait on
 * a set without vsock members stays the C library's. close() or dup2() over a descriptor the
 * world has a copy of tells the world (XP_EPOLL_CLOSE).
 *
 * A member's close needs nothing here: the world drops the item when the socket's last
 * descriptor is closed, as Linux does.
 *
 * epoll_pwait and epoll_pwait2 apply their signal mask for the wait (poll.c, pl_mask_begin),
 * and epoll_pwait2's timeout is simulated nanoseconds. An array of events that cannot be
 * written is EFAULT, and an epfd that is not an epoll descriptor is EINVAL, as on Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>

#include "preload/preload.h"

#define EP_FD_MAX 65536

enum { EP_WORLD = 1, /* the world has a copy of the descriptor */
       EP_VSOCK = 2 /* a vsock descriptor was added: waits go to the world */ };

static unsigned char state[EP_FD_MAX];

static unsigned get(int epfd) { return __atomic_load_n(&state[epfd], __ATOMIC_ACQUIRE); }
static void set(int epfd, unsigned bits) { __atomic_or_fetch(&state[epfd], bits, __ATOMIC_ACQ_REL); }
static void clear(int epfd, unsigned bits)
{
    __atomic_and_fetch(&state[epfd], (unsigned char)~bits, __ATOMIC_ACQ_REL);
}

static int fail(int e)
{
    errno = e;
    return -1;
}

/* Is epfd (an open descriptor) an epoll descriptor? Removing the channel's own socket, which is
 * never a member of the program's sets, says so without changing anything: ENOENT from an
 * epoll set, EINVAL from anything else (Linux's answer for a non-epoll epfd). */
static bool is_epoll(struct pl_chan *c, int epfd)
{
    int e = errno;
    bool yes = PL_REAL(int (*)(int, int, int, struct epoll_event *), epoll_ctl)(
                   epfd, EPOLL_CTL_DEL, c->sock, NULL) == 0 ||
               errno != EINVAL;
    errno = e;
    return yes;
}

/* One XP_EPOLL_* request about epfd (the area filled but a0), sending the descriptor along
 * when the world has no copy of it yet, and once more if the world lost it. */
static int64_t ep_call(struct pl_chan *c, int epfd)
{
    for (int tries = 0;; tries++) {
        bool send = !(get(epfd) & EP_WORLD) || tries > 0;
        c->a->a[0] = epfd;
        c->a->a[5] = 0;
        int64_t r = pl_call(c, &epfd, send ? 1 : 0, NULL);
        if (c->a->a[5])
            set(epfd, EP_WORLD);
        else
            clear(epfd, EP_WORLD);
        if (c->a->a[5] || send)
            return r;
    }
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct pl_chan *c = pl_chan();
    int w = c ? pl_world_fd(fd) : -1;
    if (w < 0 || epfd < 0 || epfd >= EP_FD_MAX)
        return PL_REAL(int (*)(int, int, int, struct epoll_event *), epoll_ctl)(epfd, op, fd, ev);
    /* Linux's order: the event is copied in first, then the descriptors are looked at */
    struct epoll_event e = {0};
    bool has_event = op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD;
    if (has_event && pl_copy_in(&e, ev, sizeof e) != sizeof e)
        return fail(EFAULT);
    if (fcntl(epfd, F_GETFD) < 0)
        return -1; /* EBADF, as the kernel */
    if (fd == epfd || !is_epoll(c, epfd))
        return fail(EINVAL);
    c->a->op = XP_EPOLL_CTL;
    c->a->fd = w;
    c->a->a[1] = op;
    c->a->a[2] = has_event;
    memcpy(c->a->data, &e, sizeof e);
    int r = (int)ep_call(c, epfd);
    if (r == 0 && op == EPOLL_CTL_ADD) {
        set(epfd, EP_VSOCK);
        pl_fast_epoll_member(c);
    }
    return r;
}

/* The C library's wait: ns the timeout (-1: none), kind which call. */
static int real_wait(int epfd, struct epoll_event *out, int max, int64_t ns, int kind,
                     const sigset_t *mask)
{
    if (kind != XP_WAIT_EPOLL_PWAIT2) /* ns came from milliseconds */
        return PL_REAL(int (*)(int, struct epoll_event *, int, int, const sigset_t *),
                       epoll_pwait)(epfd, out, max, ns < 0 ? -1 : (int)(ns / 1000000), mask);
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return PL_REAL(int (*)(int, struct epoll_event *, int, const struct timespec *,
                           const sigset_t *),
                   epoll_pwait2)(epfd, out, max, ns < 0 ? NULL : &ts, mask);
}

/* One wait: ns the timeout (-1: none), kind the call (for the trace), mask the program's mask
 * during it (or NULL). */
static int ep_wait(int epfd, struct epoll_event *out, int max, int64_t ns, int kind,
                   const sigset_t *mask)
{
    struct pl_chan *c = pl_chan();
    /* With a timeout, the wait is the world's even without vsock members: simulated time. */
    if (!c || epfd < 0 || epfd >= EP_FD_MAX || (!(get(epfd) & EP_VSOCK) && ns == 0))
        return real_wait(epfd, out, max, ns, kind, mask);
    if (max <= 0 || (size_t)max > INT_MAX / sizeof *out)
        return fail(EINVAL);
    if (fcntl(epfd, F_GETFD) < 0)
        return -1;
    if (!(get(epfd) & EP_WORLD) && !is_epoll(c, epfd))
        return fail(EINVAL);
    size_t room = XP_DATA_MAX / sizeof *out;
    sigset_t old;
    int masked = pl_mask_begin(mask, &old);
    if (masked < 0)
        return -1;
    c->a->op = XP_EPOLL_WAIT;
    c->a->a[1] = (size_t)max < room ? max : (int64_t)room;
    c->a->a[2] = ns;
    c->a->a[3] = kind;
    void *away = pl_fast_away_begin(c); /* the other ends' moves must wake this wait */
    int r = (int)ep_call(c, epfd);
    pl_fast_away_end(away);
    pl_mask_end(masked, &old);
    if (r > 0 && pl_copy_out(out, c->a->data, (size_t)r * sizeof *out) != (size_t)r * sizeof *out)
        return fail(EFAULT); /* the events are taken, as when Linux's copy to the array fails */
    return r;
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

void pl_epoll_closed(int epfd)
{
    if (epfd < 0 || epfd >= EP_FD_MAX)
        return;
    unsigned had = __atomic_exchange_n(&state[epfd], 0, __ATOMIC_ACQ_REL);
    struct pl_chan *c = pl_chan();
    if (!(had & EP_WORLD) || !c)
        return;
    int e = errno;
    c->a->op = XP_EPOLL_CLOSE;
    c->a->a[0] = epfd;
    pl_call(c, NULL, 0, NULL);
    errno = e;
}

/* A new epoll descriptor may have a number the world still has a copy of (the old one closed
 * behind the library's back, by close_range or a raw system call): that copy goes. */
int epoll_create1(int flags)
{
    int fd = PL_REAL(int (*)(int), epoll_create1)(flags);
    if (fd >= 0)
        pl_epoll_closed(fd);
    return fd;
}

int epoll_create(int size)
{
    int fd = PL_REAL(int (*)(int), epoll_create)(size);
    if (fd >= 0)
        pl_epoll_closed(fd);
    return fd;
}
