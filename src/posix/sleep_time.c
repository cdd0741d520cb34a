/*
 * sleep_time.c - sleeping and reading clocks inside a simulated process.
 *
 * nanosleep, clock_nanosleep, usleep and sleep of a simulated thread are simulated waits
 * (vmcisim_sleep) in both modes: in deterministic mode they cost no wall time, and in both a
 * power-off or exit ends a sleeping thread at once. In deterministic mode time, gettimeofday and
 * clock_gettime (every clock) read the simulated clock from fixed bases (posix_internal.h), so a
 * program that prints or hashes the time gives the same trace for the same seed. In realtime
 * mode, and for threads outside the simulation, the C library answers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sock/usercopy.h"
#include "posix/posix_internal.h"
#include "preload/sim_clock.h"

VMCISIM_POSIX_ANCHOR(sleep_time);

#define NS 1000000000ull

bool posix_clock_now(sim_thread *self, clockid_t clk, uint64_t *ns)
{
    if (!sim_is_realtime(self->sim)) /* the simulated clocks (a machine up for 1000 s, so
                                          * programs that take 0 for "never" see no 0) */
        return sim_clock_read(clk, sim_now(self->sim), ns);
    struct timespec ts;
    if (REAL(clock_gettime)(clk, &ts) != 0)
        return false;
    *ns = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
    return true;
}

static bool ts_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)NS;
}

static uint64_t ts_to_ns(const struct timespec *ts)
{
    uint64_t s = (uint64_t)ts->tv_sec;
    if (s > (UINT64_MAX - NS) / NS)
        return SIM_NO_DEADLINE - 1;
    return s * NS + (uint64_t)ts->tv_nsec;
}

int posix_abs_deadline(sim_thread *self, clockid_t clk, const struct timespec *uabs,
                       uint64_t *deadline)
{
    struct timespec abs;
    if (!uabs || uc_copy_from_user(&abs, uabs, sizeof abs) != 0)
        return EINVAL;
    if (abs.tv_nsec < 0 || abs.tv_nsec >= (long)NS)
        return EINVAL;
    uint64_t now;
    if (!posix_clock_now(self, clk, &now))
        return EINVAL;
    if (abs.tv_sec < 0) {
        *deadline = sim_now(self->sim); /* already past */
        return 0;
    }
    uint64_t a = ts_to_ns(&abs);
    *deadline = a <= now ? sim_now(self->sim) : sim_deadline_after(self->sim, a - now);
    return 0;
}

/* ---- sleeping ------------------------------------------------------------------------------ */

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!posix_self())
        return REAL(nanosleep)(req, rem);
    struct timespec r;
    if (!req || uc_copy_from_user(&r, req, sizeof r) != 0) {
        errno = EFAULT;
        return -1;
    }
    if (!ts_valid(&r)) {
        errno = EINVAL;
        return -1;
    }
    vmcisim_sleep(ts_to_ns(&r)); /* no signal interrupts it: rem is left as it is */
    return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    sim_thread *self = posix_self();
    if (!self)
        return REAL(clock_nanosleep)(clk, flags, req, rem);
    struct timespec r;
    if (!req || uc_copy_from_user(&r, req, sizeof r) != 0)
        return EFAULT;
    if (!ts_valid(&r))
        return EINVAL;
    if (clk == CLOCK_THREAD_CPUTIME_ID)
        return EINVAL; /* as on Linux */
    uint64_t now;
    if (!posix_clock_now(self, clk, &now))
        return EINVAL;
    uint64_t ns = ts_to_ns(&r);
    if (flags & TIMER_ABSTIME)
        ns = ns > now ? ns - now : 0;
    vmcisim_sleep(ns);
    return 0;
}

int usleep(useconds_t us)
{
    if (!posix_self())
        return REAL(usleep)(us);
    vmcisim_sleep((uint64_t)us * 1000ull);
    return 0;
}

unsigned int sleep(unsigned int s)
{
    if (!posix_self())
        return REAL(sleep)(s);
    vmcisim_sleep((uint64_t)s * NS);
    return 0;
}

/* ---- clocks -------------------------------------------------------------------------------- */

/* The calling thread when its clocks are simulated: deterministic mode only. */
static sim_thread *sim_clock_self(void)
{
    sim_thread *self = posix_self();
    return self && !sim_is_realtime(self->sim) ? self : NULL;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    sim_thread *self = sim_clock_self();
    uint64_t ns;
    if (!self || !posix_clock_now(self, clk, &ns))
        return REAL(clock_gettime)(clk, ts);
    struct timespec v = {.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};
    if (uc_copy_to_user(ts, &v, sizeof v) != 0) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    sim_thread *self = sim_clock_self();
    if (!self)
        return REAL(gettimeofday)(tv, tz);
    uint64_t ns = 0;
    posix_clock_now(self, CLOCK_REALTIME, &ns);
    void *utv = tv;
    __asm__("" : "+r"(utv)); /* declared nonnull, but Linux accepts NULL: keep the test */
    if (utv) {
        struct timeval v = {.tv_sec = (time_t)(ns / NS), .tv_usec = (suseconds_t)(ns % NS / 1000)};
        if (uc_copy_to_user(utv, &v, sizeof v) != 0) {
            errno = EFAULT;
            return -1;
        }
    }
    if (tz) {
        struct timezone z = {0, 0}; /* UTC, no DST */
        if (uc_copy_to_user(tz, &z, sizeof z) != 0) {
            errno = EFAULT;
            return -1;
        }
    }
    return 0;
}

time_t time(time_t *t)
{
    sim_thread *self = sim_clock_self();
    if (!self)
        return REAL(time)(t);
    uint64_t ns = 0;
    posix_clock_now(self, CLOCK_REALTIME, &ns);
    time_t v = (time_t)(ns / NS);
    if (t && uc_copy_to_user(t, &v, sizeof v) != 0) {
        errno = EFAULT;
        return (time_t)-1;
    }
    return v;
}
