/*
 * itimer.c - alarm, setitimer and getitimer (ITIMER_REAL) of an exec'd program: in
 * deterministic mode the world's timer on the simulated clock (src/exec/itimer.c), whose
 * SIGALRM the program raises on itself when the reply of the call it waits in carries it
 * (chan.c), so a program that bounds a wait with an alarm sees it at the same point on every
 * run; a poll, select, epoll or sleep it interrupts fails with EINTR, as on Linux. Realtime
 * mode, and the other timers (ITIMER_VIRTUAL, ITIMER_PROF: CPU time), are the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <unistd.h>

#include "preload/preload.h"

#define NS 1000000000ull

static struct pl_chan *det_chan(void)
{
    struct pl_chan *c = pl_chan();
    return c && !__atomic_load_n(&c->a->realtime, __ATOMIC_RELAXED) ? c : NULL;
}

static int64_t tv_ns(const struct timeval *tv)
{
    if ((uint64_t)tv->tv_sec > INT64_MAX / NS - 1)
        return INT64_MAX;
    return (int64_t)tv->tv_sec * (int64_t)NS + (int64_t)tv->tv_usec * 1000;
}

/* Linux reports a timer's value in microseconds, rounded up (a timer that has not fired never
 * reads 0). */
static struct timeval ns_tv(uint64_t ns)
{
    uint64_t us = (ns + 999) / 1000;
    return (struct timeval){.tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000)};
}

static void itimer(struct pl_chan *c, bool set, int64_t value, int64_t interval,
                   uint64_t *old_value, uint64_t *old_interval)
{
    c->a->op = XP_ITIMER;
    c->a->a[0] = value;
    c->a->a[1] = interval;
    c->a->a[2] = set;
    pl_call(c, NULL, 0, NULL);
    *old_value = (uint64_t)c->a->a[0];
    *old_interval = (uint64_t)c->a->a[1];
}

int setitimer(__itimer_which_t which, const struct itimerval *nv, struct itimerval *ov)
{
    struct pl_chan *c = det_chan();
    if (!c || which != ITIMER_REAL)
        return PL_REAL(int (*)(__itimer_which_t, const struct itimerval *, struct itimerval *),
                       setitimer)(which, nv, ov);
    struct itimerval n = {0};
    if (nv && pl_copy_in(&n, nv, sizeof n) != sizeof n) {
        errno = EFAULT;
        return -1;
    }
    if (n.it_value.tv_sec < 0 || n.it_value.tv_usec < 0 || n.it_value.tv_usec >= 1000000 ||
        n.it_interval.tv_sec < 0 || n.it_interval.tv_usec < 0 ||
        n.it_interval.tv_usec >= 1000000) {
        errno = EINVAL;
        return -1;
    }
    uint64_t v, i;
    itimer(c, true, tv_ns(&n.it_value), tv_ns(&n.it_interval), &v, &i);
    if (ov) {
        struct itimerval o = {.it_interval = ns_tv(i), .it_value = ns_tv(v)};
        if (pl_copy_out(ov, &o, sizeof o) != sizeof o) {
            errno = EFAULT;
            return -1;
        }
    }
    return 0;
}

int getitimer(__itimer_which_t which, struct itimerval *cur)
{
    struct pl_chan *c = det_chan();
    if (!c || which != ITIMER_REAL)
        return PL_REAL(int (*)(__itimer_which_t, struct itimerval *), getitimer)(which, cur);
    uint64_t v, i;
    itimer(c, false, 0, 0, &v, &i);
    struct itimerval o = {.it_interval = ns_tv(i), .it_value = ns_tv(v)};
    if (pl_copy_out(cur, &o, sizeof o) != sizeof o) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

unsigned int alarm(unsigned int seconds)
{
    struct pl_chan *c = det_chan();
    if (!c)
        return PL_REAL(unsigned (*)(unsigned), alarm)(seconds);
    uint64_t v, i;
    itimer(c, true, (int64_t)seconds * (int64_t)NS, 0, &v, &i);
    /* the seconds that were left of the previous alarm, as glibc rounds them: to the nearest,
     * and 1 rather than 0 while one was pending */
    unsigned left = (unsigned)(v / NS + (v % NS >= NS / 2));
    return v && !left ? 1 : left;
}
