/*
 * runq.c - the set of threads the deterministic scheduler may pick, kept up to date as threads
 * block, wake, end and as their VMs stop or run, so that picking never scans every thread.
 *
 * Two views of the same set:
 *  - a Fenwick tree of 0/1 over thread slots (creation order): the count, and "the r-th queued
 *    thread in creation order" in O(log n). The `random` policy draws r uniformly, which picks
 *    exactly the thread the former two-pass scan over every thread picked for the same draw, so
 *    its traces are unchanged.
 *  - (PCT only) an indexed binary max-heap by (priority, lower id first): the highest-priority
 *    queued thread in O(1), updates in O(log n).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/world_internal.h"

/* ---- Fenwick tree over slots ------------------------------------------------------------- */

static void fen_add(struct sim_runq *q, size_t slot, int d)
{
    for (size_t i = slot + 1; i <= q->fen_cap; i += i & -i)
        q->fen[i] = (uint32_t)((int64_t)q->fen[i] + d);
}

/* Grows the tree to cover `slot`, rebuilding it from the queued flags. 0, or -1 (no memory). */
static int fen_reserve(vmcisim *sim, size_t slot)
{
    struct sim_runq *q = &sim->runq;
    if (slot < q->fen_cap)
        return 0;
    size_t cap = q->fen_cap ? q->fen_cap : 16;
    while (cap <= slot)
        cap *= 2;
    uint32_t *f = vmcisim_calloc(cap + 1, sizeof *f);
    if (!f)
        return -1;
    free(q->fen);
    q->fen = f;
    q->fen_cap = cap;
    for (size_t i = 0; i < sim->nthreads; i++)
        if (sim->threads[i]->queued)
            fen_add(q, sim->threads[i]->slot, 1);
    return 0;
}

/* The queued thread of rank r (0-based) in slot order; r < count. */
static sim_thread *fen_select(vmcisim *sim, size_t r)
{
    struct sim_runq *q = &sim->runq;
    size_t pos = 0;
    for (size_t step = q->fen_cap; step; step >>= 1) {
        if (pos + step <= q->fen_cap && q->fen[pos + step] <= r) {
            pos += step;
            r -= q->fen[pos];
        }
    }
    assert(pos < sim->nthreads && sim->threads[pos]->queued);
    return sim->threads[pos];
}

/* ---- priority heap (PCT) ------------------------------------------------------------------- */

static bool above(const sim_thread *a, const sim_thread *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->id < b->id);
}

static void hset(struct sim_runq *q, size_t i, sim_thread *t)
{
    q->heap[i] = t;
    t->rq_idx = i;
}

static void hup(struct sim_runq *q, size_t i)
{
    sim_thread *t = q->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!above(t, q->heap[p]))
            break;
        hset(q, i, q->heap[p]);
        i = p;
    }
    hset(q, i, t);
}

static void hdown(struct sim_runq *q, size_t i)
{
    sim_thread *t = q->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= q->len)
            break;
        if (r < q->len && above(q->heap[r], q->heap[l]))
            m = r;
        if (!above(q->heap[m], t))
            break;
        hset(q, i, q->heap[m]);
        i = m;
    }
    hset(q, i, t);
}

static void heap_del(struct sim_runq *q, sim_thread *t)
{
    size_t i = t->rq_idx;
    assert(i < q->len && q->heap[i] == t);
    q->len--;
    if (i != q->len) {
        sim_thread *m = q->heap[q->len];
        hset(q, i, m);
        hdown(q, i);
        hup(q, m->rq_idx);
    }
    t->rq_idx = SIZE_MAX;
}

/* ---- the set --------------------------------------------------------------------------------- */

int runq_reserve(vmcisim *sim, sim_thread *t)
{
    struct sim_runq *q = &sim->runq;
    if (fen_reserve(sim, t->slot) != 0)
        return -1;
    if (t->slot >= q->heap_cap && sim->sched.policy == SIM_SCHED_PCT) {
        size_t cap = q->heap_cap ? q->heap_cap : 16;
        while (cap <= t->slot)
            cap *= 2;
        sim_thread **h = vmcisim_realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -1;
        q->heap = h;
        q->heap_cap = cap;
    }
    return 0;
}

static bool eligible(const sim_thread *t)
{
    return t->state == T_RUNNABLE && t->vm->state == VMCISIM_VM_RUNNING;
}

void runq_refresh(vmcisim *sim, sim_thread *t)
{
    if (sim->realtime)
        return;
    bool want = eligible(t);
    if (want == t->queued)
        return;
    struct sim_runq *q = &sim->runq;
    t->queued = want;
    fen_add(q, t->slot, want ? 1 : -1);
    q->count += want ? 1 : (size_t)-1;
    if (sim->sched.policy != SIM_SCHED_PCT)
        return;
    if (want) {
        /* room was reserved when the thread was made (one heap entry per thread at most) */
        assert(q->len < q->heap_cap);
        hset(q, q->len++, t);
        hup(q, t->rq_idx);
    } else {
        heap_del(q, t);
    }
}

void runq_reprioritize(vmcisim *sim, sim_thread *t, uint64_t prio)
{
    t->prio = prio;
    if (!t->queued || sim->sched.policy != SIM_SCHED_PCT)
        return;
    hup(&sim->runq, t->rq_idx);
    hdown(&sim->runq, t->rq_idx);
}

size_t runq_count(const vmcisim *sim) { return sim->runq.count; }

sim_thread *runq_nth(vmcisim *sim, size_t r)
{
    assert(r < sim->runq.count);
    return fen_select(sim, r);
}

sim_thread *runq_top(vmcisim *sim)
{
    assert(sim->runq.len == sim->runq.count);
    return sim->runq.len ? sim->runq.heap[0] : NULL;
}

void runq_free(vmcisim *sim)
{
    free(sim->runq.fen);
    free(sim->runq.heap);
    memset(&sim->runq, 0, sizeof sim->runq);
}
