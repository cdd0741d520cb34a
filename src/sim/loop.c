/*
 * loop.c - event-loop threads: the hypervisor and each VM's kernel worker.
 *
 * A loop owns a min-heap of timers ordered by (deadline, arming sequence) and runs their
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

#include "alloc.h"
#include "world_internal.h"

struct sim_loop {
    vmcisim *sim;
    vmcisim_vm *vm;
    sim_thread *thread;
    sim_timer **heap;
    size_t len, cap;
    uint64_t seq;
    sim_waitq wq;       /* deterministic: the loop thread idles here */
    bool dead;
    /* realtime */
    struct ev_loop *ev;
    ev_async async;
    ev_timer timer;
};

/* ---- the timer heap ------------------------------------------------------------------------ */

static bool tless(const sim_timer *a, const sim_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void tswap(sim_loop *l, size_t i, size_t j)
{
    sim_timer *a = l->heap[i], *b = l->heap[j];
    l->heap[i] = b;
    l->heap[j] = a;
    b->idx = i;
    a->idx = j;
}

static void tup(sim_loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!tless(l->heap[i], l->heap[p]))
            return;
        tswap(l, i, p);
        i = p;
    }
}

static void tdown(sim_loop *l, size_t i)
{
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->len && tless(l->heap[a], l->heap[m]))
            m = a;
        if (b < l->len && tless(l->heap[b], l->heap[m]))
            m = b;
        if (m == i)
            return;
        tswap(l, i, m);
        i = m;
    }
}

void sim_timer_init(sim_timer *t, void (*cb)(sim_timer *t))
{
    memset(t, 0, sizeof *t);
    t->cb = cb;
    t->idx = SIZE_MAX;
}

bool sim_timer_armed(const sim_timer *t) { return t->idx != SIZE_MAX; }

static void heap_take(sim_loop *l, sim_timer *t)
{
    size_t i = t->idx;
    assert(i < l->len && l->heap[i] == t);
    l->len--;
    if (i != l->len) {
        l->heap[i] = l->heap[l->len];
        l->heap[i]->idx = i;
        tdown(l, i);
        tup(l, i);
    }
    t->idx = SIZE_MAX;
}

static void loop_kick(sim_loop *l)
{
    if (l->sim->realtime)
        ev_async_send(l->ev, &l->async);
    else
        sim_wake_all(&l->wq);
}

void sim_timer_cancel(sim_timer *t)
{
    if (t->idx == SIZE_MAX)
        return;
    heap_take(t->loop, t);
}

void sim_timer_arm(sim_loop *l, sim_timer *t, uint64_t deadline)
{
    sim_timer_cancel(t);
    if (l->dead)
        return; /* the loop's VM is gone: its timers never fire */
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        sim_timer **h = vmcisim_realloc(l->heap, cap * sizeof *h);
        if (!h)
            abort(); /* a lost timer would silently break protocol guarantees */
        l->heap = h;
        l->cap = cap;
    }
    t->loop = l;
    t->deadline = deadline;
    t->seq = l->seq++;
    t->idx = l->len;
    l->heap[l->len++] = t;
    tup(l, t->idx);
    if (l->heap[0] == t)
        loop_kick(l);
}

struct post {
    sim_timer t;
    void (*fn)(void *);
    void *arg;
};

static void post_cb(sim_timer *t)
{
    struct post *p = (struct post *)t;
    void (*fn)(void *) = p->fn;
    void *arg = p->arg;
    free(p);
    fn(arg);
}

int sim_loop_post(sim_loop *l, void (*fn)(void *), void *arg)
{
    if (l->dead)
        return -1;
    struct post *p = vmcisim_malloc(sizeof *p);
    if (!p)
        return -1;
    sim_timer_init(&p->t, post_cb);
    p->fn = fn;
    p->arg = arg;
    sim_timer_arm(l, &p->t, sim_now(l->sim));
    return 0;
}

/* ---- running callbacks ------------------------------------------------------------------- */

/* Run every due timer; returns the next deadline. Inside the world. */
static uint64_t run_due(sim_loop *l)
{
    vmcisim *sim = l->sim;
    while (l->len && l->heap[0]->deadline <= sim_now(sim)) {
        sim_timer *t = l->heap[0];
        heap_take(l, t);
        t->cb(t);
        sim_point(sim);
    }
    return l->len ? l->heap[0]->deadline : SIM_NO_DEADLINE;
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
    while (l->len) {
        sim_timer *t = l->heap[l->len - 1];
        heap_take(l, t);
        if (t->cb == post_cb)
            free(t);
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
    for (size_t i = 0; i < l->len; i++)
        if (l->heap[i]->cb == post_cb)
            free(l->heap[i]);
        else
            l->heap[i]->idx = SIZE_MAX;
    free(l->heap);
    if (l->ev)
        ev_loop_destroy(l->ev);
    free(l);
}
