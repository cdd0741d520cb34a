/*
 * cost.c - the cost model (issue 15 item 5, docs/finding-bugs.md): moving data costs simulated
 * time, so a scenario can show a timeout racing a transfer.
 *
 * Four figures (include/vmcisim.h struct vmcisim_cost), all zero by default, which is the world
 * as before (no existing trace changes):
 *  - qp_byte_ps: picoseconds per byte copied into a queue pair. The sending thread spends it
 *    before the bytes become visible to the reader (the producer tail moves once the copy is
 *    done, as vmci_qpair_enqueue does), see vsock_ops.c;
 *  - dgram_ns: added to the delivery of every datagram crossing a VM boundary (faults.c);
 *  - notify_ns: added on top for stream control packets, which carry VMCI's queue-state
 *    notifications (WROTE/READ/WAITING_*) and the handshake (faults.c);
 *  - hypercall_ns: time the calling process spends per hypercall. It is owed at the hypercall
 *    (which may sit in the middle of driver work) and paid at the thread's next scheduling
 *    point, where the thread's state is consistent by construction.
 * Time is only ever spent by process threads: event-loop threads must not block, so work they do
 * costs nothing. Deterministic: no draw, no clock; the same seed gives the same times.
 */
#include <errno.h>
#include <string.h>

#include "sim/world_internal.h"

int vmcisim_set_cost(vmcisim *sim, const struct vmcisim_cost *c)
{
    if (!sim || !c) {
        errno = EINVAL;
        return -1;
    }
    sim_enter(sim);
    sim->cost = *c;
    /* a trace record only when a cost is set, so worlds without one keep their traces */
    if (c->qp_byte_ps || c->dgram_ns || c->notify_ns || c->hypercall_ns)
        sim_trace(sim, "cost", "qp_byte_ps=%llu dgram_ns=%llu notify_ns=%llu hypercall_ns=%llu",
                  (unsigned long long)c->qp_byte_ps, (unsigned long long)c->dgram_ns,
                  (unsigned long long)c->notify_ns, (unsigned long long)c->hypercall_ns);
    sim_leave(sim);
    return 0;
}

void vmcisim_get_cost(const vmcisim *sim, struct vmcisim_cost *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (sim)
        *out = sim->cost;
}

const struct vmcisim_cost *sim_cost(const vmcisim *sim) { return &sim->cost; }

/* Only a process thread of this world, in deterministic mode or not, spends time. */
static sim_thread *payer(vmcisim *sim)
{
    sim_thread *self = sim_self();
    return self && self->sim == sim && self->proc ? self : NULL;
}

void sim_spend(vmcisim *sim, uint64_t ns, const char *what)
{
    if (ns == 0 || !payer(sim))
        return;
    sim_waitq q = {0};
    uint64_t deadline = sim_deadline_after(sim, ns);
    while (sim_wait(&q, deadline, what) == 0)
        ;
}

void sim_owe(vmcisim *sim, uint64_t ns)
{
    sim_thread *t = ns ? payer(sim) : NULL;
    if (t)
        t->owed_ns = t->owed_ns + ns < t->owed_ns ? UINT64_MAX : t->owed_ns + ns;
}

void sim_pay_owed(vmcisim *sim)
{
    sim_thread *t = payer(sim);
    if (!t || !t->owed_ns)
        return;
    uint64_t ns = t->owed_ns;
    t->owed_ns = 0; /* first: the wait below is itself a scheduling point */
    sim_spend(sim, ns, "hypercall cost");
}

uint64_t sim_copy_cost_ns(const vmcisim *sim, uint64_t done_bytes, uint64_t more_bytes)
{
    uint64_t ps = sim->cost.qp_byte_ps;
    if (!ps || !more_bytes)
        return 0;
    /* the time of bytes [done, done+more) of a stream, so a stream's total rounds down once */
    unsigned __int128 a = (unsigned __int128)done_bytes * ps / 1000;
    unsigned __int128 b = (unsigned __int128)(done_bytes + more_bytes) * ps / 1000;
    unsigned __int128 d = b - a;
    return d > UINT64_MAX ? UINT64_MAX : (uint64_t)d;
}
