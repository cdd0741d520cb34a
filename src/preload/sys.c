/*
 * sys.c - clocks, sleeps and randomness of an exec'd program.
 *
 * Deterministic mode: the clocks read the simulated time the world wrote into the thread's area
 * with its last reply (time does not move while a thread of the child runs, so this is the
 * value an in-process read would give, with no round trip), from the same bases as
 * src/posix/sleep_time.c. Sleeps are simulated waits in both modes; rand/random draw from the
 * world's stream until the program seeds them; getrandom/getentropy always draw from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "preload/preload.h"
#include "preload/sim_clock.h"

#define NS 1000000000ull

/* The channel when clocks are simulated (deterministic mode), else NULL. */
static struct pl_chan *det_chan(void)
{
    struct pl_chan *c = pl_chan();
    return c && !c->a->realtime ? c : NULL;
}

static bool clock_now(struct pl_chan *c, clockid_t clk, uint64_t *ns)
{
    return sim_clock_read(clk, __atomic_load_n(&c->a->now_ns, __ATOMIC_RELAXED), ns);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    struct pl_chan *c = det_chan();
    uint64_t ns;
    if (!c || !clock_now(c, clk, &ns))
        return PL_REAL(int (*)(clockid_t, struct timespec *), clock_gettime)(clk, ts);
    ts->tv_sec = (time_t)(ns / NS);
    ts->tv_nsec = (long)(ns % NS);
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct pl_chan *c = det_chan();
    if (!c)
        return PL_REAL(int (*)(struct timeval *, void *), gettimeofday)(tv, tz);
    uint64_t ns = 0;
    clock_now(c, CLOCK_REALTIME, &ns);
    void *utv = tv;
    __asm__("" : "+r"(utv)); /* declared nonnull, but Linux accepts NULL */
    if (utv) {
        struct timeval *v = utv;
        v->tv_sec = (time_t)(ns / NS);
        v->tv_usec = (suseconds_t)(ns % NS / 1000);
    }
    if (tz)
        memset(tz, 0, sizeof(struct timezone));
    return 0;
}

time_t time(time_t *t)
{
    struct pl_chan *c = det_chan();
    if (!c)
        return PL_REAL(time_t(*)(time_t *), time)(t);
    uint64_t ns = 0;
    clock_now(c, CLOCK_REALTIME, &ns);
    time_t v = (time_t)(ns / NS);
    if (t)
        *t = v;
    return v;
}

/* ---- sleeping -------------------------------------------------------------------------------- */

/* 0, or EINTR with *left the time not slept: a signal of the world's came (an alarm in
 * simulated time, src/exec/itimer.c), and its handler has run (chan.c). */
static int sleep_ns(struct pl_chan *c, uint64_t ns, uint64_t *left)
{
    c->a->op = XP_SLEEP;
    c->a->a[0] = (int64_t)(ns > INT64_MAX ? INT64_MAX : ns);
    *left = 0;
    if (pl_call(c, NULL, 0, NULL) == -1 && errno == EINTR) {
        *left = (uint64_t)c->a->a[0];
        return EINTR;
    }
    return 0;
}

static void ns_ts(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / NS);
    ts->tv_nsec = (long)(ns % NS);
}

static bool ts_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)NS;
}

static uint64_t ts_ns(const struct timespec *ts)
{
    uint64_t s = (uint64_t)ts->tv_sec;
    return s > (UINT64_MAX - NS) / NS ? UINT64_MAX : s * NS + (uint64_t)ts->tv_nsec;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(const struct timespec *, struct timespec *), nanosleep)(req, rem);
    if (!ts_valid(req)) {
        errno = EINVAL;
        return -1;
    }
    uint64_t left;
    if (sleep_ns(c, ts_ns(req), &left) == EINTR) {
        struct timespec r;
        ns_ts(left, &r);
        if (rem && pl_copy_out(rem, &r, sizeof r) != sizeof r) {
            errno = EFAULT;
            return -1;
        }
        errno = EINTR;
        return -1;
    }
    return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(clockid_t, int, const struct timespec *, struct timespec *),
                       clock_nanosleep)(clk, flags, req, rem);
    if (!ts_valid(req) || clk == CLOCK_THREAD_CPUTIME_ID)
        return EINVAL;
    uint64_t ns = ts_ns(req);
    if (flags & TIMER_ABSTIME) {
        uint64_t now;
        if (c->a->realtime) {
            struct timespec t;
            if (PL_REAL(int (*)(clockid_t, struct timespec *), clock_gettime)(clk, &t) != 0)
                return EINVAL;
            now = ts_ns(&t);
        } else if (!clock_now(c, clk, &now)) {
            return EINVAL;
        }
        ns = ns > now ? ns - now : 0;
    }
    uint64_t left;
    if (sleep_ns(c, ns, &left) == EINTR) {
        if (rem && !(flags & TIMER_ABSTIME)) {
            struct timespec r;
            ns_ts(left, &r);
            if (pl_copy_out(rem, &r, sizeof r) != sizeof r)
                return EFAULT;
        }
        return EINTR; /* clock_nanosleep returns the error, errno untouched */
    }
    return 0;
}

int usleep(useconds_t us)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(useconds_t), usleep)(us);
    uint64_t left;
    if (sleep_ns(c, (uint64_t)us * 1000u, &left) == EINTR) {
        errno = EINTR;
        return -1;
    }
    return 0;
}

unsigned int sleep(unsigned int s)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(unsigned (*)(unsigned), sleep)(s);
    uint64_t left;
    if (sleep_ns(c, (uint64_t)s * NS, &left) == EINTR)
        return (unsigned)(left / NS + (left % NS >= NS / 2)); /* seconds left, rounded */
    return 0;
}

int sched_yield(void)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(void), sched_yield)();
    c->a->op = XP_YIELD;
    pl_call(c, NULL, 0, NULL);
    return 0;
}

/* ---- randomness ------------------------------------------------------------------------------ */

static int rand_seeded; /* the program called srand/srandom: libc's sequence from then on */

static struct pl_chan *world_rand(void)
{
    struct pl_chan *c = det_chan();
    return c && !__atomic_load_n(&rand_seeded, __ATOMIC_RELAXED) ? c : NULL;
}

static long draw31(struct pl_chan *c)
{
    c->a->op = XP_RAND;
    return (long)pl_call(c, NULL, 0, NULL);
}

int rand(void)
{
    struct pl_chan *c = world_rand();
    return c ? (int)draw31(c) : PL_REAL(int (*)(void), rand)();
}

long random(void)
{
    struct pl_chan *c = world_rand();
    return c ? draw31(c) : PL_REAL(long (*)(void), random)();
}

void srand(unsigned seed)
{
    __atomic_store_n(&rand_seeded, 1, __ATOMIC_RELAXED);
    PL_REAL(void (*)(unsigned), srand)(seed);
}

void srandom(unsigned seed)
{
    __atomic_store_n(&rand_seeded, 1, __ATOMIC_RELAXED);
    PL_REAL(void (*)(unsigned), srandom)(seed);
}

static void random_bytes(struct pl_chan *c, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < XP_DATA_MAX ? n - done : XP_DATA_MAX;
        c->a->op = XP_RANDOM_BYTES;
        c->a->a[0] = (int64_t)k;
        pl_call(c, NULL, 0, NULL);
        memcpy((char *)buf + done, c->a->data, k);
        done += k;
    }
}

#define GETRANDOM_MAX 33554431u

ssize_t getrandom(void *buf, size_t n, unsigned int flags)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(ssize_t(*)(void *, size_t, unsigned), getrandom)(buf, n, flags);
    if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) ||
        (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE)) {
        errno = EINVAL;
        return -1;
    }
    if (n > GETRANDOM_MAX)
        n = GETRANDOM_MAX;
    random_bytes(c, buf, n);
    return (ssize_t)n;
}

int getentropy(void *buf, size_t n)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(void *, size_t), getentropy)(buf, n);
    if (n > 256) {
        errno = EIO;
        return -1;
    }
    random_bytes(c, buf, n);
    return 0;
}
