/*
 * select.c - the plain-named select and pselect. On a simulated process's thread the sets
 * become one poll over the descriptors they name (sockpoll.c), with Linux's mapping of poll
 * bits to sets (fs/select.c: POLLIN_SET, POLLOUT_SET, POLLEX_SET); on any other thread they are
 * the C library's.
 *
 * The sets are read and written a word (long) at a time up to nfds, as Linux does, so a caller
 * may pass bitmaps larger than fd_set. A descriptor in a set that is not open fails the call
 * with EBADF. select writes the time left back into *timeout (Linux); pselect leaves it alone.
 * A wait ends at the first event on a named descriptor even when that event maps to no set
 * asked for (POLLHUP of a descriptor only in the write set); select then returns 0 early.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "posix/posix_internal.h"
#include "sock/sockpoll.h"
#include "sock/usercopy.h"
#include "posix/real.h"

#define WBITS ((int)(8 * sizeof(unsigned long)))
#define CHUNK 256 /* words read at once */

#define IN_SET (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define OUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define EX_SET (POLLPRI)

struct fdsets {
    unsigned long *set[3]; /* user bitmaps: read, write, except (NULL if not given) */
};

static int push(struct pollfd **a, size_t *n, size_t *cap, int fd, short events)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        struct pollfd *b = realloc(*a, c * sizeof *b);
        if (!b)
            return -ENOMEM;
        *a = b;
        *cap = c;
    }
    (*a)[(*n)++] = (struct pollfd){.fd = fd, .events = events};
    return 0;
}

/* The descriptors named in the sets, with the poll events each set asks for. */
static int gather(int nfds, const struct fdsets *s, struct pollfd **out, size_t *nout)
{
    size_t words = ((size_t)nfds + WBITS - 1) / WBITS, n = 0, cap = 0;
    struct pollfd *a = NULL;
    unsigned long buf[3][CHUNK];
    for (size_t w0 = 0; w0 < words; w0 += CHUNK) {
        size_t cw = words - w0 < CHUNK ? words - w0 : CHUNK;
        for (int k = 0; k < 3; k++) {
            if (!s->set[k])
                memset(buf[k], 0, cw * sizeof(unsigned long));
            else if (uc_copy_from_user(buf[k], s->set[k] + w0, cw * sizeof(unsigned long))) {
                free(a);
                return -EFAULT;
            }
        }
        for (size_t w = 0; w < cw; w++) {
            unsigned long any = buf[0][w] | buf[1][w] | buf[2][w];
            while (any) {
                int b = __builtin_ctzl(any);
                any &= any - 1;
                long fd = (long)(w0 + w) * WBITS + b;
                if (fd >= nfds)
                    break;
                unsigned long bit = 1ul << b;
                short ev = (short)(((buf[0][w] & bit) ? POLLIN | POLLRDNORM | POLLRDBAND : 0) |
                                   ((buf[1][w] & bit) ? POLLOUT | POLLWRNORM | POLLWRBAND : 0) |
                                   ((buf[2][w] & bit) ? POLLPRI : 0));
                int rc = push(&a, &n, &cap, (int)fd, ev);
                if (rc) {
                    free(a);
                    return rc;
                }
            }
        }
    }
    *out = a;
    *nout = n;
    return 0;
}

/* Clear the sets up to nfds and set the bits of the ready descriptors; the count. */
static int scatter(int nfds, const struct fdsets *s, const struct pollfd *p, size_t n)
{
    size_t words = ((size_t)nfds + WBITS - 1) / WBITS;
    static const unsigned long zero[CHUNK];
    for (int k = 0; k < 3; k++) {
        if (!s->set[k])
            continue;
        for (size_t w0 = 0; w0 < words; w0 += CHUNK) {
            size_t cw = words - w0 < CHUNK ? words - w0 : CHUNK;
            if (uc_copy_to_user(s->set[k] + w0, zero, cw * sizeof(unsigned long)))
                return -EFAULT;
        }
    }
    static const short mapping[3] = {IN_SET, OUT_SET, EX_SET};
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        static const short asked[3] = {POLLIN, POLLOUT, POLLPRI};
        for (int k = 0; k < 3; k++) {
            if (!s->set[k] || !(p[i].events & asked[k]) || !(p[i].revents & mapping[k]))
                continue;
            unsigned long *wp = s->set[k] + p[i].fd / WBITS, word;
            if (uc_copy_from_user(&word, wp, sizeof word))
                return -EFAULT;
            word |= 1ul << (p[i].fd % WBITS);
            if (uc_copy_to_user(wp, &word, sizeof word))
                return -EFAULT;
            count++;
        }
    }
    return count;
}

static int do_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t ns, uint64_t *left,
                     const char *op)
{
    if (nfds < 0)
        return -EINVAL;
    struct fdsets s = {{(unsigned long *)r, (unsigned long *)w, (unsigned long *)e}};
    struct pollfd *p = NULL;
    size_t n = 0;
    int rc = gather(nfds, &s, &p, &n);
    if (rc)
        return rc;
    struct sim_cleanup held;   /* the wait may end this thread: the copy goes with it */
    sim_cleanup_push(&held, free, p);
    rc = sockpoll_poll_k(p, n, ns, left, op);
    sim_cleanup_pop(&held);
    for (size_t i = 0; rc >= 0 && i < n; i++)
        if (p[i].revents & POLLNVAL)
            rc = -EBADF;
    if (rc >= 0)
        rc = scatter(nfds, &s, p, n);
    free(p);
    return rc;
}

static int ret(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
           struct timeval *timeout)
{
    if (!sockpoll_simulated())
        return REAL(select)(nfds, readfds, writefds, exceptfds, timeout);
    int64_t ns = -1;
    struct timeval tv;
    if (timeout) {
        if (uc_copy_from_user(&tv, timeout, sizeof tv))
            return ret(-EFAULT);
        if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
            return ret(-EINVAL);
        ns = tv.tv_sec > INT64_MAX / 1000000000 - 1
                 ? INT64_MAX
                 : (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    }
    uint64_t left = 0;
    int rc = do_select(nfds, readfds, writefds, exceptfds, ns, &left, "select");
    if (timeout && rc >= 0) {
        /* the time not slept, rounded down to microseconds (Linux) */
        tv.tv_sec = (time_t)(left / 1000000000u);
        tv.tv_usec = (suseconds_t)(left % 1000000000u / 1000u);
        if (uc_copy_to_user(timeout, &tv, sizeof tv))
            rc = -EFAULT;
    }
    return ret(rc);
}

int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
            const struct timespec *timeout, const sigset_t *sigmask)
{
    if (!sockpoll_simulated())
        return REAL(pselect)(nfds, readfds, writefds, exceptfds, timeout, sigmask);
    int64_t ns = -1;
    if (timeout) {
        struct timespec ts;
        if (uc_copy_from_user(&ts, timeout, sizeof ts))
            return ret(-EFAULT);
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
            return ret(-EINVAL);
        ns = ts.tv_sec > INT64_MAX / 1000000000 - 1
                 ? INT64_MAX
                 : (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    return ret(do_select(nfds, readfds, writefds, exceptfds, ns, NULL, "pselect"));
}

/* Referenced by the link options (CMakeLists.txt, vmcisim.pc) so that this file is linked in
 * even when an earlier shared library (a sanitizer runtime) also defines its names: a
 * definition in a linked object then wins over the shared one. */
const char vmcisim_interpose_select[] = "select";

/* Pulled in by link_all.c, so the wrappers above are linked even behind a sanitizer runtime. */
VMCISIM_POSIX_ANCHOR(select);
