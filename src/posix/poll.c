/*
 * poll.c - the plain-named poll and ppoll: on a simulated process's thread they run on the
 * simulation (sockpoll.c: simulated sockets and real descriptors together, timeouts on the
 * simulated clock); on any other thread they are the C library's.
 *
 * ppoll's signal mask: a simulated thread receives no real signal while it waits (the
 * simulation delivers its own, such as SIGPIPE, at the call that causes them), so the mask is
 * checked for its size, as Linux does, and otherwise has nothing to block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

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

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (!sockpoll_simulated())
        return REAL(poll)(fds, nfds, timeout);
    int64_t ns = timeout < 0 ? -1 : (int64_t)timeout * 1000000;
    return ret(sockpoll_poll(fds, nfds, ns, NULL, "poll"));
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask)
{
    if (!sockpoll_simulated())
        return REAL(ppoll)(fds, nfds, tmo, sigmask);
    int64_t ns = -1;
    if (tmo) {
        if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000L)
            return ret(-EINVAL);
        ns = tmo->tv_sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX
                                                       : (int64_t)tmo->tv_sec * 1000000000 +
                                                             tmo->tv_nsec;
    }
    return ret(sockpoll_poll(fds, nfds, ns, NULL, "ppoll"));
}

/* _FORTIFY_SOURCE builds call these instead when they know the array's size. */
extern void __chk_fail(void) __attribute__((noreturn));

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds)
        __chk_fail();
    return poll(fds, nfds, timeout);
}

int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
                const sigset_t *sigmask, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
                const sigset_t *sigmask, size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds)
        __chk_fail();
    return ppoll(fds, nfds, tmo, sigmask);
}

/* Referenced by the link options (CMakeLists.txt, vmcisim.pc) so that this file is linked in
 * even when an earlier shared library (a sanitizer runtime) also defines its names: a
 * definition in a linked object then wins over the shared one. */
const char vmcisim_interpose_poll[] = "poll";

/* Pulled in by link_all.c, so the wrappers above are linked even behind a sanitizer runtime. */
VMCISIM_POSIX_ANCHOR(poll);
