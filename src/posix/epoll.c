/*
 * epoll.c - the plain-named epoll family. The epoll descriptor is always the C library's (its
 * real members live in it); a simulated process's thread adds simulated sockets to the
 * instance's list in the world and waits through the simulation (sockepoll.c). Calls from
 * other threads are the C library's unchanged.
 *
 * The signal masks of epoll_pwait/epoll_pwait2 are not applied on simulated threads: no real
 * signal reaches them while they wait (see poll.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

#include "posix/posix_internal.h"
#include "sock/sockpoll.h"
#include "posix/real.h"

static int ret(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

static int created(int fd)
{
    if (fd >= 0 && sockpoll_simulated()) {
        int rc = sockepoll_created(fd);
        if (rc < 0) {
            REAL(close)(fd);
            return ret(rc);
        }
    }
    return fd;
}

int epoll_create(int size)
{
    return created(REAL(epoll_create)(size));
}

int epoll_create1(int flags)
{
    return created(REAL(epoll_create1)(flags));
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    if (!sockpoll_simulated())
        return REAL(epoll_ctl)(epfd, op, fd, event);
    int rc = sockepoll_ctl(epfd, op, fd, event);
    if (rc == 1)
        return REAL(epoll_ctl)(epfd, op, fd, event);
    return ret(rc);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    if (!sockpoll_simulated())
        return REAL(epoll_wait)(epfd, events, maxevents, timeout);
    int64_t ns = timeout < 0 ? -1 : (int64_t)timeout * 1000000;
    return ret(sockepoll_wait(epfd, events, maxevents, ns, "epoll_wait"));
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                const sigset_t *sigmask)
{
    if (!sockpoll_simulated())
        return REAL(epoll_pwait)(epfd, events, maxevents, timeout, sigmask);
    int64_t ns = timeout < 0 ? -1 : (int64_t)timeout * 1000000;
    return ret(sockepoll_wait(epfd, events, maxevents, ns, "epoll_pwait"));
}

int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                 const struct timespec *timeout, const sigset_t *sigmask)
{
    if (!sockpoll_simulated())
        return REAL(epoll_pwait2)(epfd, events, maxevents, timeout, sigmask);
    int64_t ns = -1;
    if (timeout) {
        if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)
            return ret(-EINVAL);
        ns = timeout->tv_sec > INT64_MAX / 1000000000 - 1
                 ? INT64_MAX
                 : (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec;
    }
    return ret(sockepoll_wait(epfd, events, maxevents, ns, "epoll_pwait2"));
}

/* Referenced by the link options (CMakeLists.txt, vmcisim.pc) so that this file is linked in
 * even when an earlier shared library (a sanitizer runtime) also defines its names: a
 * definition in a linked object then wins over the shared one. */
const char vmcisim_interpose_epoll[] = "epoll";

/* Pulled in by link_all.c, so the wrappers above are linked even behind a sanitizer runtime. */
VMCISIM_POSIX_ANCHOR(epoll);
