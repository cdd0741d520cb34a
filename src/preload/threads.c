/*
 * threads.c - threads and their synchronisation in an exec'd program.
 *
 * Each thread of the program has its own channel and its own proxy simulated thread in the
 * world; the world schedules the proxies like any simulated threads, so in deterministic mode
 * one thread of the program runs at a time, in the seed's order (docs/exec-protocol.md).
 *
 * Mutexes, condition variables and semaphores stay the C library's objects in the program's
 * memory, as in-process (src/posix/sync.c, sem.c): an uncontended lock never leaves the
 * program; a contended one waits in the world on the object's address. No lost wake-up: a
 * waiter reads the process's wake sequence (bumped by every wake, under the world's lock)
 * before it tries the object, and the world does not wait if the sequence moved meanwhile;
 * an unlock looks at the count of would-be waiters after releasing (both sides with a full
 * barrier), as the in-process unlock does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "preload/preload.h"
#include "preload/glibc_sync.h"

/* ---- the map from the program's pthread_t to the world's thread --------------------------- */

#define PL_THREADS 4096
static struct {
    pthread_t pt;
    int64_t world;
    int used;
} tmap[PL_THREADS];
static int tmap_lock;

static void tlock(void)
{
    while (__atomic_exchange_n(&tmap_lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void tunlock(void) { __atomic_store_n(&tmap_lock, 0, __ATOMIC_RELEASE); }

static int tmap_put(pthread_t pt, int64_t w)
{
    tlock();
    for (int i = 0; i < PL_THREADS; i++)
        if (!tmap[i].used) {
            tmap[i].pt = pt;
            tmap[i].world = w;
            tmap[i].used = 1;
            tunlock();
            return 0;
        }
    tunlock();
    return -1;
}

/* The world's id of pt (and forget it if asked), or -1. */
static int64_t tmap_get(pthread_t pt, int forget)
{
    int64_t w = -1;
    tlock();
    for (int i = 0; i < PL_THREADS; i++)
        if (tmap[i].used && pthread_equal(tmap[i].pt, pt)) {
            w = tmap[i].world;
            if (forget)
                tmap[i].used = 0;
            break;
        }
    tunlock();
    return w;
}

/* ---- threads ---------------------------------------------------------------------------------- */

struct tstart {
    void *(*start)(void *);
    void *arg;
    struct pl_chan chan;
};

/* This thread's part in the world ends: no reply comes; later calls (TLS destructors) go to the
 * C library. */
static void thread_end(void)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return;
    c->a->op = XP_THREAD_EXIT;
    pl_send_only(c);
    pl_set_thread_chan(NULL);
}

static void *trampoline(void *arg)
{
    struct tstart ts = *(struct tstart *)arg;
    free(arg);
    pl_set_thread_chan(&ts.chan);
    /* Waits until the world first gives this thread the turn. */
    ts.chan.a->op = XP_THREAD_START;
    pl_call(&ts.chan, NULL, 0, NULL);
    void *ret = ts.start(ts.arg);
    thread_end();
    return ret;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
        PL_REAL(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *),
                pthread_create);
    struct pl_chan *c = pl_chan();
    if (!c)
        return real(t, attr, start, arg);
    struct tstart *ts = malloc(sizeof *ts);
    if (!ts)
        return EAGAIN;
    c->a->op = XP_THREAD_NEW;
    int fds[2];
    int64_t w = pl_call(c, NULL, 0, fds);
    if (w == -1 || fds[0] < 0 || fds[1] < 0) {
        free(ts);
        return w == -1 ? errno : EAGAIN;
    }
    void *a = mmap(NULL, sizeof(struct xp_area), PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
    PL_REAL(int (*)(int), close)(fds[1]);
    if (a == MAP_FAILED) {
        /* The proxy waits for this thread's first call: tell it the thread will not come. */
        PL_REAL(int (*)(int), close)(fds[0]);
        free(ts);
        return EAGAIN;
    }
    pl_note_chan_fd(fds[0]);
    ts->start = start;
    ts->arg = arg;
    ts->chan.sock = fds[0];
    ts->chan.a = a;
    int rc = real(t, attr, trampoline, ts);
    if (rc != 0) {
        struct pl_chan dead = ts->chan;
        free(ts);
        dead.a->op = XP_THREAD_EXIT;
        pl_send_only(&dead);
        return rc;
    }
    int det = PTHREAD_CREATE_JOINABLE;
    if (attr)
        pthread_attr_getdetachstate(attr, &det);
    if (det == PTHREAD_CREATE_DETACHED) {
        c->a->op = XP_DETACH;
        c->a->a[0] = w;
        pl_call(c, NULL, 0, NULL);
    } else {
        tmap_put(*t, w);
    }
    return 0;
}

int pthread_join(pthread_t t, void **ret)
{
    struct pl_chan *c = pl_chan();
    int64_t w = c ? tmap_get(t, 1) : -1;
    if (w >= 0) {
        c->a->op = XP_JOIN;
        c->a->a[0] = w;
        int e = (int)pl_call(c, NULL, 0, NULL);
        if (e)
            return e;
    }
    /* The thread has left the world (or is not one of ours): reap it, get its result. */
    return PL_REAL(int (*)(pthread_t, void **), pthread_join)(t, ret);
}

int pthread_detach(pthread_t t)
{
    struct pl_chan *c = pl_chan();
    int64_t w = c ? tmap_get(t, 1) : -1;
    if (w >= 0) {
        c->a->op = XP_DETACH;
        c->a->a[0] = w;
        pl_call(c, NULL, 0, NULL);
    }
    return PL_REAL(int (*)(pthread_t), pthread_detach)(t);
}

void pthread_exit(void *ret)
{
    thread_end();
    PL_REAL(void (*)(void *), pthread_exit)(ret);
    __builtin_unreachable();
}

/* ---- waiting on an address in the world ------------------------------------------------------ */

enum { W_TIMED = 1, W_WAKE_MUTEX = 2, W_COND = 4, W_SEM = 8 };

static uint32_t seq_now(void) { return __atomic_load_n(&pl_main_area()->wake_seq, __ATOMIC_SEQ_CST); }

static void waiters_add(int d)
{
    __atomic_add_fetch(&pl_main_area()->waiters, (uint32_t)d, __ATOMIC_SEQ_CST);
}

/* 0, or ETIMEDOUT once the deadline passed. */
static int addr_wait(struct pl_chan *c, const void *addr, uint32_t seq, int flags, clockid_t clk,
                     const struct timespec *abs, const void *wake_first)
{
    c->a->op = XP_ADDR_WAIT;
    c->a->a[0] = (int64_t)(uintptr_t)addr;
    c->a->a[1] = seq;
    c->a->a[2] = flags;
    c->a->a[3] = clk;
    int64_t m = (int64_t)(uintptr_t)wake_first;
    memcpy(c->a->data, &m, sizeof m);
    if (abs)
        memcpy(c->a->data + 8, abs, sizeof *abs);
    return (int)pl_call(c, NULL, 0, NULL);
}

static void wake(struct pl_chan *c, const void *addr, int all)
{
    c->a->op = XP_ADDR_WAKE;
    c->a->a[0] = (int64_t)(uintptr_t)addr;
    c->a->a[1] = all;
    pl_call(c, NULL, 0, NULL);
}

static int (*real_trylock(void))(pthread_mutex_t *)
{
    return PL_REAL(int (*)(pthread_mutex_t *), pthread_mutex_trylock);
}

static int mutex_block(struct pl_chan *c, pthread_mutex_t *m, clockid_t clk,
                       const struct timespec *abs)
{
    if (glibc_mutex_held_by_me_errorcheck(m))
        return EDEADLK;
    for (;;) {
        uint32_t seq = seq_now();
        waiters_add(1);
        int rc = real_trylock()(m);
        if (rc != EBUSY) {
            waiters_add(-1);
            return rc;
        }
        int w = addr_wait(c, m, seq, abs ? W_TIMED : 0, clk, abs, NULL);
        waiters_add(-1);
        if (w == ETIMEDOUT || w == EINVAL)
            return w;
    }
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_mutex_t *), pthread_mutex_lock)(m);
    int rc = real_trylock()(m);
    return rc != EBUSY ? rc : mutex_block(c, m, CLOCK_REALTIME, NULL);
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_mutex_t *, const struct timespec *),
                       pthread_mutex_timedlock)(m, abs);
    int rc = real_trylock()(m);
    return rc != EBUSY ? rc : mutex_block(c, m, CLOCK_REALTIME, abs);
}

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_mutex_t *, clockid_t, const struct timespec *),
                       pthread_mutex_clocklock)(m, clk, abs);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;
    int rc = real_trylock()(m);
    return rc != EBUSY ? rc : mutex_block(c, m, clk, abs);
}

/* After a release: wake the world's waiters on addr, if the program has any. */
static void woke(struct pl_chan *c, const void *addr)
{
    if (__atomic_fetch_add(&pl_main_area()->waiters, 0u, __ATOMIC_SEQ_CST) != 0)
        wake(c, addr, 1);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    int rc = PL_REAL(int (*)(pthread_mutex_t *), pthread_mutex_unlock)(m);
    struct pl_chan *c = pl_chan();
    if (c && rc == 0)
        woke(c, m);
    return rc;
}

static int cond_block(struct pl_chan *c, pthread_cond_t *cv, pthread_mutex_t *m, clockid_t clk,
                      const struct timespec *abs)
{
    uint32_t seq = seq_now();
    int rc = PL_REAL(int (*)(pthread_mutex_t *), pthread_mutex_unlock)(m);
    if (rc != 0)
        return rc; /* EPERM: not the owner */
    bool others = __atomic_fetch_add(&pl_main_area()->waiters, 0u, __ATOMIC_SEQ_CST) != 0;
    /* The mutex's waiters are woken in the same world step as this thread starts to wait. */
    int w = addr_wait(c, cv, seq, W_COND | (abs ? W_TIMED : 0) | (others ? W_WAKE_MUTEX : 0), clk,
                      abs, m);
    rc = real_trylock()(m);
    if (rc == EBUSY)
        rc = mutex_block(c, m, CLOCK_REALTIME, NULL);
    if (rc != 0)
        return rc;
    return w == ETIMEDOUT || w == EINVAL ? w : 0;
}

int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_cond_t *, pthread_mutex_t *), pthread_cond_wait)(cv, m);
    return cond_block(c, cv, m, CLOCK_REALTIME, NULL);
}

int pthread_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *),
                       pthread_cond_timedwait)(cv, m, abs);
    return cond_block(c, cv, m, glibc_cond_clock(cv), abs);
}

int pthread_cond_clockwait(pthread_cond_t *cv, pthread_mutex_t *m, clockid_t clk,
                           const struct timespec *abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                               const struct timespec *),
                       pthread_cond_clockwait)(cv, m, clk, abs);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;
    return cond_block(c, cv, m, clk, abs);
}

int pthread_cond_signal(pthread_cond_t *cv)
{
    int rc = PL_REAL(int (*)(pthread_cond_t *), pthread_cond_signal)(cv);
    struct pl_chan *c = pl_chan();
    if (c)
        wake(c, cv, 0);
    return rc;
}

int pthread_cond_broadcast(pthread_cond_t *cv)
{
    int rc = PL_REAL(int (*)(pthread_cond_t *), pthread_cond_broadcast)(cv);
    struct pl_chan *c = pl_chan();
    if (c)
        wake(c, cv, 1);
    return rc;
}

/* ---- semaphores ------------------------------------------------------------------------------- */

static int sem_block(struct pl_chan *c, sem_t *s, clockid_t clk, const struct timespec *abs)
{
    for (;;) {
        uint32_t seq = seq_now();
        waiters_add(1);
        int rc = sem_trywait(s);
        int e = errno;
        if (rc == 0 || e != EAGAIN) {
            waiters_add(-1);
            errno = e;
            return rc;
        }
        int w = addr_wait(c, s, seq, W_SEM | (abs ? W_TIMED : 0), clk, abs, NULL);
        waiters_add(-1);
        if (w == ETIMEDOUT || w == EINVAL) {
            errno = w;
            return -1;
        }
    }
}

int sem_wait(sem_t *s)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(sem_t *), sem_wait)(s);
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    return sem_block(c, s, CLOCK_REALTIME, NULL);
}

int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(sem_t *, const struct timespec *), sem_timedwait)(s, abs);
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    return sem_block(c, s, CLOCK_REALTIME, abs);
}

/* Python's locks with a timeout (lock.acquire(timeout=...), Event.wait) use this one. */
int sem_clockwait(sem_t *restrict s, clockid_t clk, const struct timespec *restrict abs)
{
    struct pl_chan *c = pl_chan();
    if (!c)
        return PL_REAL(int (*)(sem_t *, clockid_t, const struct timespec *), sem_clockwait)(
            s, clk, abs);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) {
        errno = EINVAL;
        return -1;
    }
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    return sem_block(c, s, clk, abs);
}

int sem_post(sem_t *s)
{
    int rc = PL_REAL(int (*)(sem_t *), sem_post)(s);
    struct pl_chan *c = pl_chan();
    if (c && rc == 0)
        woke(c, s);
    return rc;
}
