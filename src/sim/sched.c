/*
 * sched.c - simulated threads: the deterministic baton scheduler, realtime waits, thread
 * start/finish, killing and the deadline heap.
 *
 * Deterministic mode. Every simulated thread is a pthread, but only the holder of the "baton"
 * runs. The baton is a per-thread futex word; handing it over is give(next) then take(self).
 * At each scheduling point the holder draws from the world's seeded random source which of the
 * eligible threads runs next (eligible: runnable, VM running). When none is eligible, the clock
 * jumps to the earliest deadline of a waiting thread; when there is none either, the run is
 * deadlocked and control returns to the main thread (vmcisim_run returns -1).
 *
 * Realtime mode. Threads run freely; simulator code is serialised by the world lock; a waiting
 * thread sleeps on its own condition variable with the world lock as the mutex.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim/world_internal.h"
#include "sim/alloc.h"
#include "sim/world_internal.h"

static __thread sim_thread *tls_self;
/* Realtime: how deep this thread is inside the world (sim_enter/sim_lock not yet left), so a
 * re-entry nests instead of deadlocking on the lock it already holds. It happens when code the
 * thread calls from inside takes a program mutex through the interposer (a Check assertion
 * inside sim_enter locks Check's own mutex; contended, the wait goes through sim_lock). It also
 * lets an unwind release the lock only when this thread holds it. */
static __thread unsigned tls_world_depth;

static void world_lock(vmcisim *sim)
{
    if (tls_world_depth++ == 0)
        pthread_mutex_lock(&sim->lock);
}

/* Returns true when the lock was really released (the outermost exit). */
static bool world_unlock(vmcisim *sim)
{
    assert(tls_world_depth > 0); /* leaving a world this thread is not in */
    if (--tls_world_depth > 0)
        return false;
    pthread_mutex_unlock(&sim->lock);
    return true;
}

void sim_lock(vmcisim *sim)
{
    if (sim->realtime)
        world_lock(sim);
}

void sim_unlock(vmcisim *sim)
{
    if (sim->realtime)
        world_unlock(sim);
}

sim_thread *sim_self(void) { return tls_self; }

/* ---- the baton --------------------------------------------------------------------------- */

enum { BATON_NONE = 0, BATON_GIVEN = 1, BATON_SLEEPING = 2 };

static void futex_wait(uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

/* Until *w != val, a wake-up, or the absolute CLOCK_MONOTONIC time abs (NULL: none). Returns
 * ETIMEDOUT when abs passed, else 0 (spurious returns included). */
static int futex_wait_until(uint32_t *w, uint32_t val, const struct timespec *abs)
{
    long r = syscall(SYS_futex, w, FUTEX_WAIT_BITSET_PRIVATE, val, abs, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r != 0 && errno == ETIMEDOUT ? ETIMEDOUT : 0;
}

static void baton_give(uint32_t *b)
{
    uint32_t old = __atomic_exchange_n(b, BATON_GIVEN, __ATOMIC_ACQ_REL);
    assert(old != BATON_GIVEN); /* a baton is never given twice */
    if (old == BATON_SLEEPING)
        futex_wake(b);
}

static void baton_take(uint32_t *b)
{
    /* No spinning: the giver runs on this CPU too (the world is pinned to one), so a spin would
     * only delay the giver's own sleep. The kernel switches to us when the giver blocks. */
    for (;;) {
        uint32_t v = BATON_NONE;
        if (__atomic_compare_exchange_n(b, &v, BATON_SLEEPING, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            futex_wait(b, BATON_SLEEPING);
            continue;
        }
        if (v == BATON_GIVEN) {
            __atomic_store_n(b, BATON_NONE, __ATOMIC_RELAXED);
            return;
        }
        futex_wait(b, BATON_SLEEPING);
    }
}

/* ---- wait queues --------------------------------------------------------------------------- */

static void waitq_push(sim_waitq *q, sim_thread *t)
{
    assert(t->waitq == NULL);
    t->waitq = q;
    t->wnext = NULL;
    t->wprev = q->last;
    if (q->last)
        q->last->wnext = t;
    else
        q->first = t;
    q->last = t;
}

static void waitq_remove(sim_thread *t)
{
    sim_waitq *q = t->waitq;
    if (!q)
        return;
    if (t->wprev)
        t->wprev->wnext = t->wnext;
    else
        q->first = t->wnext;
    if (t->wnext)
        t->wnext->wprev = t->wprev;
    else
        q->last = t->wprev;
    t->waitq = NULL;
    t->wnext = t->wprev = NULL;
}

bool sim_waitq_empty(const sim_waitq *q) { return q->first == NULL; }

/* ---- deadlines (deterministic mode): the shared heap of heap.c, by (deadline, thread id) --- */

static sim_thread *thread_of(struct sim_heap_node *n)
{
    return (sim_thread *)((char *)n - offsetof(sim_thread, hn));
}

static int deadline_push(vmcisim *sim, sim_thread *t)
{
    t->hn.key = t->deadline;
    t->hn.tie = t->id;
    return sim_heap_push(&sim->deadlines, &t->hn);
}

/* ---- time ------------------------------------------------------------------------------- */

static uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

uint64_t sim_now(const vmcisim *sim)
{
    if (!sim->realtime)
        return sim->now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t n = ts_ns(&ts), z = ts_ns(&sim->t0);
    return n > z ? n - z : 0;
}

uint64_t sim_deadline_after(const vmcisim *sim, uint64_t ns)
{
    uint64_t now = sim_now(sim);
    return ns >= SIM_NO_DEADLINE - now ? SIM_NO_DEADLINE : now + ns;
}

static void sched_rt_now_ts(const vmcisim *sim, uint64_t t, struct timespec *abs)
{
    uint64_t z = ts_ns(&sim->t0);
    uint64_t a = t > UINT64_MAX - z ? UINT64_MAX / 2 : z + t;
    abs->tv_sec = (time_t)(a / 1000000000ull);
    abs->tv_nsec = (long)(a % 1000000000ull);
}

/* ---- choosing who runs (deterministic) ----------------------------------------------------- */

static bool eligible(const sim_thread *t)
{
    return t->state == T_RUNNABLE && t->vm->state == VMCISIM_VM_RUNNING;
}

void sim_idle_begin(const char *what)
{
    sim_thread *self = tls_self;
    if (!self || self->sim->realtime)
        return;
    assert(what);
    self->idle_what = what;
    self->idle_epoch = self->sim->idle_epoch;
}

void sim_idle_end(void)
{
    sim_thread *self = tls_self;
    if (self)
        self->idle_what = NULL;
}

void sim_idle_invalidate(vmcisim *sim)
{
    if (!sim->realtime)
        sim->idle_epoch++;
}

static bool idle(const vmcisim *sim, const sim_thread *t)
{
    return t->idle_what && t->idle_epoch == sim->idle_epoch;
}

/* Every timed waiter is in an idle wait: jumping to their deadlines only lets them poll again. */
static bool only_idle_waiters(const vmcisim *sim)
{
    assert(sim->deadlines.len > 0);
    for (size_t i = 0; i < sim->deadlines.len; i++)   /* membership only: order is irrelevant */
        if (!idle(sim, thread_of(sim->deadlines.a[i])))
            return false;
    return true;
}

static void report_deadlock(vmcisim *sim)
{
    char buf[sizeof sim->err];
    size_t off = 0;
    int n = snprintf(buf, sizeof buf, "deadlock at t=%llu.%09llu s: every live thread waits",
                     (unsigned long long)(sim->now / 1000000000ull),
                     (unsigned long long)(sim->now % 1000000000ull));
    off = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < sim->nthreads && off < sizeof buf; i++) {
        sim_thread *t = sim->threads[i];
        if (t->state == T_DONE || t->daemon)
            continue;
        const char *what = t->state == T_BLOCKED && idle(sim, t) ? t->idle_what
                           : t->state == T_BLOCKED && t->waiting_for ? t->waiting_for
                           : t->vm->state == VMCISIM_VM_SUSPENDED ? "its VM to be resumed"
                                                                   : "(runnable)";
        n = snprintf(buf + off, sizeof buf - off, "; thread '%s' of VM '%s' (cid %u) waits for %s",
                     t->name, t->vm->name, t->vm->cid, what);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    sim_set_error(sim, "%s", buf);
    sim_trace(sim, "deadlock", "threads=%zu", sim->live_procs);
}

/* The next thread to run, or NULL when control goes back to the main thread (the run is over:
 * every process ended, or deadlock). May advance the simulated clock. */
static sim_thread *sched_pick(vmcisim *sim)
{
    for (;;) {
        if (sim->live_procs == 0) {
            sim->run_result = 0;
            return NULL;
        }
        sim_thread *t = sched_policy_pick(sim);
        if (t) {
            assert(eligible(t));
            return t;
        }
        /* Nothing can run: threads also waiting on real descriptors may be ready. */
        struct sim_heap_node *first = sim_heap_min(&sim->deadlines);
        if (fdwait_idle(sim, first == NULL))
            continue;
        if (first && !only_idle_waiters(sim)) {
            /* Nothing can run: jump to the earliest deadline and time those waits out. */
            sim->now = first->key;
            sim->stats.timer_jumps++;
            struct sim_heap_node *n;
            while ((n = sim_heap_min(&sim->deadlines)) != NULL && n->key <= sim->now) {
                sim_thread *w = thread_of(n);
                sim_heap_remove(&sim->deadlines, n);
                waitq_remove(w);
                w->woken = false;
                w->state = T_RUNNABLE;
                runq_refresh(sim, w);
            }
            continue;
        }
        sim->run_result = -1;
        report_deadlock(sim);
        return NULL;
    }
}

static void trace_switch(vmcisim *sim, sim_thread *to)
{
    if (to)
        sim_trace(sim, "sched", "to=%s#%u", to->name, to->id);
    else
        sim_trace(sim, "sched", "to=main result=%d", sim->run_result);
}

/* Hand the baton from the running thread `self` to `next` (NULL: main) and wait for it back. */
static void switch_to(vmcisim *sim, sim_thread *self, sim_thread *next)
{
    sim->stats.switches++;
    trace_switch(sim, next);
    sim->running = next;
    baton_give(next ? &next->baton : &sim->main_baton);
    baton_take(&self->baton);
    sim->running = self;
    if (self->killed)
        sim_unwind_self();
}

void sim_point(vmcisim *sim)
{
    if (sim->realtime)
        return;
    sim_thread *self = tls_self;
    if (!self || self->state != T_RUNNABLE || self->sim != sim)
        return;
    if (self->owed_ns) {
        sim_pay_owed(sim); /* the wait in it is this thread's scheduling point */
        return;
    }
    sim->stats.sched_points++;
    sched_policy_step(sim, self);
    sim_thread *next = sched_pick(sim);
    if (next != self)
        switch_to(sim, self, next);
}

void vmcisim_yield(void)
{
    sim_thread *self = tls_self;
    if (!self)
        return;
    sim_enter(self->sim);
    sim_leave(self->sim);
}

/* ---- entering the world -------------------------------------------------------------------- */

static void rt_wait_resumed(vmcisim *sim, sim_thread *self)
{
    while (self->vm->state == VMCISIM_VM_SUSPENDED && !self->killed) {
        waitq_push(&self->vm->resume_q, self);
        self->woken = false;
        self->waiting_for = "its VM to be resumed";
        while (!self->woken && !self->killed)
            pthread_cond_wait(&self->cv, &sim->lock);
        self->waiting_for = NULL;
    }
    if (self->killed)
        sim_unwind_self();
}

void sim_enter(vmcisim *sim)
{
    sim_thread *self = tls_self;
    if (sim->realtime) {
        if (tls_world_depth > 0) { /* nested: already inside, already checked */
            tls_world_depth++;
            return;
        }
        world_lock(sim);
        if (self && self->sim == sim) {
            if (self->killed)
                sim_unwind_self();
            rt_wait_resumed(sim, self);
        }
        return;
    }
    if (self && self->sim == sim)
        sim_point(sim);
}

void sim_leave(vmcisim *sim)
{
    if (sim->realtime)
        world_unlock(sim);
}

/* ---- waiting ------------------------------------------------------------------------------- */

static int wait_rt(vmcisim *sim, sim_thread *self, sim_waitq *q, uint64_t deadline)
{
    struct timespec abs;
    int rc = 0;
    if (deadline != SIM_NO_DEADLINE)
        sched_rt_now_ts(sim, deadline, &abs);
    while (!self->woken && !self->killed) {
        if (deadline == SIM_NO_DEADLINE) {
            pthread_cond_wait(&self->cv, &sim->lock);
        } else if (pthread_cond_timedwait(&self->cv, &sim->lock, &abs) == ETIMEDOUT) {
            if (!self->woken && !self->killed) {
                waitq_remove(self);
                rc = ETIMEDOUT;
            }
            break;
        }
    }
    (void)q;
    self->state = T_RUNNABLE;
    self->waiting_for = NULL;
    if (self->killed)
        sim_unwind_self(); /* the killer took us off q: q may be gone */
    rt_wait_resumed(sim, self);
    return self->woken ? 0 : rc;
}

int sim_wait(sim_waitq *q, uint64_t deadline, const char *what)
{
    sim_thread *self = tls_self;
    assert(self);
    vmcisim *sim = self->sim;
    if (deadline != SIM_NO_DEADLINE && deadline <= sim_now(sim))
        return ETIMEDOUT;
    self->woken = false;
    self->waiting_for = what;
    self->deadline = deadline;
    self->state = T_BLOCKED;
    waitq_push(q, self);
    if (sim->realtime)
        return wait_rt(sim, self, q, deadline);

    if (deadline != SIM_NO_DEADLINE && deadline_push(sim, self) != 0) {
        /* No memory for the timer: do not sleep past a deadline we cannot keep. */
        waitq_remove(self);
        self->state = T_RUNNABLE;
        self->waiting_for = NULL;
        return ETIMEDOUT;
    }
    runq_refresh(sim, self);
    sim->stats.sched_points++;
    sched_policy_step(sim, self);
    sim_thread *next = sched_pick(sim);
    if (next != self)
        switch_to(sim, self, next);
    assert(self->state == T_RUNNABLE && self->waitq == NULL && !sim_heap_node_in(&self->hn));
    self->waiting_for = NULL;
    return self->woken ? 0 : ETIMEDOUT;
}

/* ---- direct waits (realtime queue-pair doorbells) ----------------------------------------- */

void sim_wake_direct(sim_thread *t)
{
    /* release: what the waker published before (a ring's tail) is seen by the woken thread */
    if (__atomic_exchange_n(&t->rt_word, 1, __ATOMIC_ACQ_REL) == 0)
        futex_wake(&t->rt_word);
}

/* A wake-up or kill under the world lock of a thread that may sleep outside it on rt_word. */
static void rt_direct_kick(sim_thread *t)
{
    if (t->rt_direct)
        sim_wake_direct(t);
}

int sim_wait_direct(sim_waitq *q, uint64_t deadline, const char *what, bool (*arm)(void *arg),
                    void (*disarm)(void *arg), void *arg)
{
    sim_thread *self = tls_self;
    assert(self);
    vmcisim *sim = self->sim;
    if (!sim->realtime)
        return sim_wait(q, deadline, what);
    if (deadline != SIM_NO_DEADLINE && deadline <= sim_now(sim)) {
        disarm(arg);
        return ETIMEDOUT;
    }
    if (self->killed) {
        disarm(arg);
        sim_unwind_self();
    }
    self->woken = false;
    self->waiting_for = what;
    self->deadline = deadline;
    self->state = T_BLOCKED;
    waitq_push(q, self);
    /* reset before arm publishes us: a waker that finds us from now on sets it to 1 */
    __atomic_store_n(&self->rt_word, 0, __ATOMIC_SEQ_CST);
    self->rt_direct = true;
    int rc = 0;
    if (arm(arg)) {
        struct timespec abs, *absp = NULL;
        if (deadline != SIM_NO_DEADLINE) {
            sched_rt_now_ts(sim, deadline, &abs);
            absp = &abs;
        }
        pthread_mutex_unlock(&sim->lock);
        while (__atomic_load_n(&self->rt_word, __ATOMIC_ACQUIRE) == 0)
            if (futex_wait_until(&self->rt_word, 0, absp) == ETIMEDOUT) {
                rc = ETIMEDOUT;
                break;
            }
        disarm(arg);
        pthread_mutex_lock(&sim->lock);
    } else {
        disarm(arg);
    }
    self->rt_direct = false;
    bool woken = self->woken || __atomic_load_n(&self->rt_word, __ATOMIC_ACQUIRE) != 0;
    if (self->waitq)
        waitq_remove(self); /* woken directly, timed out or no sleep: still queued */
    self->state = T_RUNNABLE;
    self->waiting_for = NULL;
    if (self->killed)
        sim_unwind_self();
    rt_wait_resumed(sim, self);
    return woken ? 0 : rc;
}

static void wake(vmcisim *sim, sim_thread *t)
{
    waitq_remove(t);
    t->woken = true;
    if (sim->realtime) {
        pthread_cond_signal(&t->cv);
        fdwait_rt_kick(t);
        rt_direct_kick(t);
    } else {
        sim_heap_remove(&sim->deadlines, &t->hn);
        t->state = T_RUNNABLE;
        runq_refresh(sim, t);
    }
}

void sim_wake_all(sim_waitq *q)
{
    while (q->first)
        wake(q->first->sim, q->first);
}

/* The first waiter only (a mutex handed to one thread, a semaphore posted once). */
void sim_wake_one(sim_waitq *q)
{
    if (q->first)
        wake(q->first->sim, q->first);
}

/* ---- threads ------------------------------------------------------------------------------- */

sim_thread *sim_thread_new(vmcisim *sim, vmcisim_vm *vm, sim_proc *proc, const char *name,
                           bool daemon, void (*fn)(void *), void *arg)
{
    sim_thread **a = vmcisim_grow(sim->threads, &sim->threads_cap, sim->nthreads, 16);
    if (!a)
        return NULL;
    sim->threads = a;
    sim_thread *t = vmcisim_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->sim = sim;
    t->id = sim->next_tid++;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "thread");
    t->vm = vm;
    t->proc = proc;
    t->daemon = daemon;
    t->fn = fn;
    t->arg = arg;
    t->state = T_RUNNABLE;
    t->hn.idx = SIM_HEAP_NONE;
    t->rq_idx = SIZE_MAX;
    t->deadline = SIM_NO_DEADLINE;
    t->rt_wakefd = -1;
    t->slot = sim->nthreads;
    if (!sim->realtime && runq_reserve(sim, t) != 0) {
        free(t);
        return NULL;
    }
    sched_policy_new_thread(sim, t);
    if (sim->realtime) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&t->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    sim->threads[sim->nthreads++] = t;
    if (proc)
        sim->live_procs++;
    runq_refresh(sim, t);
    return t;
}

static void thread_finish(sim_thread *t)
{
    vmcisim *sim = t->sim;
    assert(t->cleanups == NULL); /* a call returned without popping, or an unwind skipped them */
    if (sim->realtime)
        pthread_mutex_lock(&sim->lock);
    bool was_killed = t->killed;
    if (!t->counted_dead) {
        t->counted_dead = true;
        if (t->proc) {
            sim->live_procs--;
            sim_proc_thread_ended(sim, t);
        }
    }
    t->state = T_DONE;
    runq_refresh(sim, t);
    if (sim->realtime) {
        if (sim->live_procs == 0)
            pthread_cond_broadcast(&sim->main_cv);
        pthread_mutex_unlock(&sim->lock);
        return;
    }
    if (was_killed && sim->reaping) {
        /* A killer is waiting for us to be gone: give the baton back to it. */
        sim_thread *r = sim->reaper;
        sim->running = r;
        baton_give(r ? &r->baton : &sim->main_baton);
        return;
    }
    sim_thread *next = sched_pick(sim);
    trace_switch(sim, next);
    sim->running = next;
    baton_give(next ? &next->baton : &sim->main_baton);
}

static void *trampoline(void *p)
{
    sim_thread *t = p;
    vmcisim *sim = t->sim;
    tls_self = t;
    if (setjmp(t->unwind) == 0) {
        bool go;
        if (sim->realtime) {
            pthread_mutex_lock(&sim->lock);
            while (!sim->rt_started && !t->killed)
                pthread_cond_wait(&t->cv, &sim->lock);
            go = !t->killed;
            pthread_mutex_unlock(&sim->lock);
        } else {
            baton_take(&t->baton);
            sim->running = t;
            go = !t->killed;
        }
        if (go)
            t->fn(t->arg);
    }
    thread_finish(t);
    tls_self = NULL;
    return NULL;
}

int sim_thread_start(sim_thread *t)
{
    pthread_attr_t attr, *ap = NULL;
    if (t->sim->cpu >= 0 && pthread_attr_init(&attr) == 0) {
        /* Deterministic: every thread of the world on the world's CPU (sched_policy.c). */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(t->sim->cpu, &set);
        ap = &attr;
        pthread_attr_setaffinity_np(ap, sizeof set, &set);
    }
    int rc = pthread_create(&t->pt, ap, trampoline, t);
    if (ap)
        pthread_attr_destroy(ap);
    if (rc != 0) {
        t->state = T_DONE;
        runq_refresh(t->sim, t);
        t->counted_dead = true;
        if (t->proc)
            t->sim->live_procs--;
        return -1;
    }
    t->pt_started = true;
    return 0;
}

void sim_cleanup_push(struct sim_cleanup *c, void (*fn)(void *arg), void *arg)
{
    sim_thread *self = tls_self;
    c->fn = fn;
    c->arg = arg;
    c->owner = self;
    c->next = NULL;
    if (!self)
        return;
    assert(self->state != T_DONE && !self->counted_dead);
    c->next = self->cleanups;
    self->cleanups = c;
}

void sim_cleanup_pop(struct sim_cleanup *c)
{
    if (!c->owner)
        return;
    assert(c->owner == tls_self);
    assert(c->owner->cleanups == c); /* LIFO: a call pops what it pushed, newest first */
    c->owner->cleanups = c->next;
    c->next = NULL;
}

void sim_unwind_self(void)
{
    sim_thread *self = tls_self;
    assert(self);   /* killed, or ending itself (exit(), pthread_exit, a failed VMCISIM_ASSERT) */
    if (self->sim->realtime && tls_world_depth > 0) {
        tls_world_depth = 1;
        world_unlock(self->sim);
    }
    /* Still on the blocked call's stack: its entries are valid until the jump below. */
    while (self->cleanups) {
        struct sim_cleanup *c = self->cleanups;
        self->cleanups = c->next;
        c->fn(c->arg);
    }
    longjmp(self->unwind, 1);
}

void sim_kill_thread(sim_thread *t)
{
    vmcisim *sim = t->sim;
    assert(t != tls_self);
    if (t->state == T_DONE || t->killed)
        return;
    t->killed = true;
    waitq_remove(t);
    bool was_counted = t->counted_dead;
    if (!was_counted) {
        t->counted_dead = true;
        if (t->proc)
            sim->live_procs--;
    }
    if (sim->realtime) {
        pthread_cond_signal(&t->cv);
        fdwait_rt_kick(t);
        rt_direct_kick(t);
        if (sim->live_procs == 0)
            pthread_cond_broadcast(&sim->main_cv);
    } else {
        sim_heap_remove(&sim->deadlines, &t->hn);
        if (t->pt_started) {
            /* Let it unwind now, while everything it might point at still exists. */
            sim_thread *self = tls_self;
            sim_thread *saved_reaper = sim->reaper;
            bool saved_reaping = sim->reaping;
            sim->reaper = self;
            sim->reaping = true;
            sim->running = t;
            t->state = T_RUNNABLE;
            runq_refresh(sim, t);
            baton_give(&t->baton);
            baton_take(self ? &self->baton : &sim->main_baton);
            sim->running = self;
            sim->reaper = saved_reaper;
            sim->reaping = saved_reaping;
            pthread_join(t->pt, NULL);
            t->joined = true;
        }
        t->state = T_DONE;
        runq_refresh(sim, t);
    }
    if (t->proc && !was_counted)
        sim_proc_thread_ended(sim, t);
}

int sched_run_det(vmcisim *sim)
{
    sim->in_run = true;
    sim->run_result = 0;
    sim_thread *next = sched_pick(sim);
    if (next) {
        sim->running = next;
        baton_give(&next->baton);
        baton_take(&sim->main_baton);
    }
    sim->running = NULL;
    sim->in_run = false;
    return sim->run_result;
}

int sched_run_rt(vmcisim *sim)
{
    pthread_mutex_lock(&sim->lock);
    sim->rt_started = true;
    for (size_t i = 0; i < sim->nthreads; i++)
        pthread_cond_signal(&sim->threads[i]->cv);
    while (sim->live_procs > 0)
        pthread_cond_wait(&sim->main_cv, &sim->lock);
    pthread_mutex_unlock(&sim->lock);
    return 0;
}

void sched_vm_state_changed(vmcisim *sim, vmcisim_vm *vm)
{
    /* Realtime: threads parked because their VM was suspended re-check it. Deterministic: the
     * VM's threads join or leave the run queue. */
    if (sim->realtime) {
        if (vm->state != VMCISIM_VM_SUSPENDED)
            sim_wake_all(&vm->resume_q);
        return;
    }
    for (size_t i = 0; i < sim->nthreads; i++)
        if (sim->threads[i]->vm == vm)
            runq_refresh(sim, sim->threads[i]);
}

void sched_kill_all(vmcisim *sim)
{
    if (sim->realtime) {
        pthread_mutex_lock(&sim->lock);
        sim->rt_started = true;
        for (size_t i = 0; i < sim->nthreads; i++) {
            sim_thread *t = sim->threads[i];
            if (t->state != T_DONE && !t->killed) {
                t->killed = true;
                waitq_remove(t);
                pthread_cond_signal(&t->cv);
                fdwait_rt_kick(t);
                rt_direct_kick(t);
            }
        }
        pthread_mutex_unlock(&sim->lock);
        return;
    }
    /* Processes first (in creation order), then the kernel threads. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sim->nthreads; i++) {
            sim_thread *t = sim->threads[i];
            if ((pass == 0) == !t->daemon)
                sim_kill_thread(t);
        }
}

void sched_join_all(vmcisim *sim)
{
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (t->pt_started && !t->joined) {
            pthread_join(t->pt, NULL);
            t->joined = true;
        }
    }
}

/* At the end of a lifecycle call: the caller's own VM may have just been suspended. */
void sched_self_check(vmcisim *sim)
{
    sim_thread *self = tls_self;
    if (!self || self->sim != sim)
        return;
    if (sim->realtime)
        rt_wait_resumed(sim, self);
    else
        sim_point(sim);
}

void sched_waitq_push(sim_waitq *q, sim_thread *t) { waitq_push(q, t); }
void sched_waitq_remove(sim_thread *t) { waitq_remove(t); }

void sched_wake_thread(sim_thread *t)
{
    if (t->state == T_BLOCKED && !t->woken && !t->killed)
        wake(t->sim, t);
}

void sim_thread_signal(sim_thread *t, int sig)
{
    if (!t || t->killed)
        return;
    int none = 0; /* the first one stays until taken; taken without the lock (sim_signal_take) */
    __atomic_compare_exchange_n(&t->sig_pending, &none, sig, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    sched_wake_thread(t);
    if (t->sim->realtime) {
        fdwait_rt_kick(t);
        sim_wake_direct(t);
    }
}

bool sim_signal_pending(void)
{
    sim_thread *self = sim_self();
    return self && __atomic_load_n(&self->sig_pending, __ATOMIC_ACQUIRE) != 0;
}

int sim_signal_take(sim_thread *t)
{
    /* every exec reply asks: a plain load first keeps the usual "none" free of a locked op */
    if (!__atomic_load_n(&t->sig_pending, __ATOMIC_ACQUIRE))
        return 0;
    return __atomic_exchange_n(&t->sig_pending, 0, __ATOMIC_ACQ_REL);
}

void sched_thread_free(sim_thread *t)
{
    fdwait_thread_free(t);
    if (t->sim->realtime)
        pthread_cond_destroy(&t->cv);
    free(t);
}
