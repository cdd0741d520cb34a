/*
 * loop.c - event-loop threads: the hypervisor and each VM's kernel worker.
 *
 * A loop owns a min-heap of timers (heap.c) ordered by (deadline, arming sequence) and runs their
 * callbacks on its own simulated thread, inside the world. Posting work is arming a timer for
 * "now". Realtime mode drives the loop with libev: an ev_async wakes it when the earliest
 * deadline changes, an ev_timer fires at that deadline. Deterministic mode drives it with
 * sim_wait on the loop's queue with the earliest deadline, so the scheduler's clock jumps
 * straight to it when nothing else can run.
 */
#include <assert.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "sim/world_internal.h"
#include "sim/alloc.h"
#include "sim/world_internal.h"

struct sim_loop {
    vmcisim *sim;
    vmcisim_vm *vm;
    sim_thread *thread;
    struct sim_heap timers;  /* heap.c, by (deadline, arming sequence) */
    uint64_t seq;
    sim_waitq wq;       /* deterministic: the loop thread idles here */
    bool dead;
    /* realtime */
    struct ev_loop *ev;
    ev_async async;
    ev_timer timer;
};

/* ---- timers ------------------------------------------------------------------------------ */

static sim_timer *timer_of(struct sim_heap_node *n)
{
    return (sim_timer *)((char *)n - offsetof(sim_timer, hn));
}

void sim_timer_init(sim_timer *t, void (*cb)(sim_timer *t))
{
    memset(t, 0, sizeof *t);
    t->cb = cb;
    t->hn.idx = SIM_HEAP_NONE;
}

bool sim_timer_armed(const sim_timer *t) { return sim_heap_node_in(&t->hn); }

static void loop_kick(sim_loop *l)
{
    if (l->sim->realtime)
        ev_async_send(l->ev, &l->async);
    else
        sim_wake_all(&l->wq);
}

void sim_timer_cancel(sim_timer *t)
{
    if (sim_heap_node_in(&t->hn))
        sim_heap_remove(&t->loop->timers, &t->hn);
}

void sim_timer_arm(sim_loop *l, sim_timer *t, uint64_t deadline)
{
    sim_timer_cancel(t);
    if (l->dead)
        return; /* the loop's VM is gone: its timers never fire */
    t->loop = l;
    t->hn.key = deadline;
    t->hn.tie = l->seq++;
    if (sim_heap_push(&l->timers, &t->hn) != 0)
        abort(); /* a lost timer would silently break protocol guarantees */
    if (sim_heap_min(&l->timers) == &t->hn)
        loop_kick(l);
}

struct post {
    sim_timer t;
    void (*fn)(void *);
    void *arg;
    bool free_arg;  /* dropped unrun: free(arg) (sim_loop_post_heap) */
};

/* A post that will never run (its loop's VM is gone, or the world is torn down). */
static void post_drop(sim_timer *t)
{
    struct post *p = (struct post *)t;
    if (p->free_arg)
        free(p->arg);
    free(p);
}

static void post_cb(sim_timer *t)
{
    struct post *p = (struct post *)t;
    void (*fn)(void *) = p->fn;
    void *arg = p->arg;
    free(p);
    fn(arg);
}

static int post(sim_loop *l, void (*fn)(void *), void *arg, bool free_arg)
{
    if (l->dead)
        return -1;
    struct post *p = vmcisim_malloc(sizeof *p);
    if (!p)
        return -1;
    sim_timer_init(&p->t, post_cb);
    p->fn = fn;
    p->arg = arg;
    p->free_arg = free_arg;
    sim_timer_arm(l, &p->t, sim_now(l->sim));
    return 0;
}

int sim_loop_post(sim_loop *l, void (*fn)(void *), void *arg) { return post(l, fn, arg, false); }

int sim_loop_post_heap(sim_loop *l, void (*fn)(void *), void *arg)
{
    return post(l, fn, arg, true);
}

/* ---- running callbacks ------------------------------------------------------------------- */

/* Run every due timer; returns the next deadline. Inside the world. */
static uint64_t run_due(sim_loop *l)
{
    vmcisim *sim = l->sim;
    struct sim_heap_node *n;
    while ((n = sim_heap_min(&l->timers)) != NULL && n->key <= sim_now(sim)) {
        sim_timer *t = timer_of(n);
        sim_heap_remove(&l->timers, n);
        t->cb(t);
        sim_point(sim);
    }
    n = sim_heap_min(&l->timers);
    return n ? n->key : SIM_NO_DEADLINE;
}

static void rt_process(struct ev_loop *ev, sim_loop *l)
{
    vmcisim *sim = l->sim;
    pthread_mutex_lock(&sim->lock);
    if (l->thread->killed || l->dead) {
        pthread_mutex_unlock(&sim->lock);
        ev_break(ev, EVBREAK_ALL);
        return;
    }
    uint64_t next = run_due(l);
    uint64_t now = sim_now(sim);
    pthread_mutex_unlock(&sim->lock);
    ev_timer_stop(ev, &l->timer);
    if (next != SIM_NO_DEADLINE) {
        double d = next > now ? (double)(next - now) / 1e9 : 0.0;
        ev_timer_set(&l->timer, d, 0.0);
        ev_timer_start(ev, &l->timer);
    }
}

static void on_async(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)revents;
    rt_process(ev, w->data);
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)revents;
    rt_process(ev, w->data);
}

static void loop_main(void *arg)
{
    sim_loop *l = arg;
    vmcisim *sim = l->sim;
    if (sim->realtime) {
        /* Pick up whatever was armed before the thread started. */
        ev_async_send(l->ev, &l->async);
        ev_run(l->ev, 0);
        return;
    }
    sim_enter(sim);
    for (;;) {
        uint64_t next = run_due(l);
        sim_wait(&l->wq, next, "work");
    }
}

sim_loop *sim_loop_create(vmcisim *sim, vmcisim_vm *vm, const char *name)
{
    sim_loop **a = vmcisim_grow(sim->loops, &sim->loops_cap, sim->nloops, 8);
    if (!a)
        return NULL;
    sim->loops = a;
    sim_loop *l = vmcisim_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->sim = sim;
    l->vm = vm;
    if (sim->realtime) {
        l->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
        if (!l->ev) {
            free(l);
            return NULL;
        }
        ev_async_init(&l->async, on_async);
        l->async.data = l;
        ev_async_start(l->ev, &l->async);
        ev_timer_init(&l->timer, on_timer, 0.0, 0.0);
        l->timer.data = l;
    }
    l->thread = sim_thread_new(sim, vm, NULL, name, true, loop_main, l);
    if (!l->thread || sim_thread_start(l->thread) != 0) {
        if (l->ev)
            ev_loop_destroy(l->ev);
        free(l);
        return NULL;
    }
    sim->loops[sim->nloops++] = l;
    return l;
}

/* The loop's VM is gone: drop its pending work and end its thread. Inside the world. */
void sim_loop_kill(sim_loop *l)
{
    l->dead = true;
    while (l->timers.len) {
        sim_timer *t = timer_of(l->timers.a[l->timers.len - 1]);
        sim_heap_remove(&l->timers, &t->hn);
        if (t->cb == post_cb)
            post_drop(t);
    }
    if (l->sim->realtime) {
        l->thread->killed = true;
        ev_async_send(l->ev, &l->async);
    } else if (l->thread != sim_self()) {
        sim_kill_thread(l->thread);
    }
}

void sim_loops_stop_rt(vmcisim *sim)
{
    for (size_t i = 0; i < sim->nloops; i++)
        ev_async_send(sim->loops[i]->ev, &sim->loops[i]->async);
}

void sim_loop_free(sim_loop *l)
{
    for (size_t i = 0; i < l->timers.len; i++) {
        sim_timer *t = timer_of(l->timers.a[i]);
        if (t->cb == post_cb)
            post_drop(t);
        else
            t->hn.idx = SIM_HEAP_NONE;
    }
    sim_heap_free(&l->timers);
    if (l->ev)
        ev_loop_destroy(l->ev);
    free(l);
}
