/*
 * faults.c - the hypervisor's fault knobs (include/vmcisim.h struct vmcisim_faults) and the
 * datagrams it holds back on its own loop's timers.
 *
 * Which datagrams: the drop/duplicate/reorder/delay knobs touch application datagrams only -
 * never stream control packets (source or destination resource 1 or 15), hypervisor services
 * or events (neither ever reaches this file). hv_latency_ns delays every datagram that crosses
 * a VM boundary (a guest sends it, or a guest receives it), control packets included, by the
 * same amount, so it never reorders them; a hypercall's own result is synchronous (services,
 * queue-pair alloc/detach), so the latency shows only as later delivery.
 *
 * Draws (only for knobs that are set, so a world without faults draws nothing): drop, then
 * duplicate, then reorder, then the delay in [min, max]. The sender sees success in every case,
 * after every routing check passed (a full destination queue is still its NO_RESOURCES: room is
 * reserved in the destination device for each held copy). A reordered datagram waits until the
 * next datagram to the same destination has been delivered, then follows it; if none comes
 * within HV_REORDER_HOLD_NS (plus its delay) it is released anyway. Every drop, duplicate,
 * hold and release is a trace record.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"
#include "hypervisor/hv_internal.h"

#define HV_REORDER_HOLD_NS 1000000ull   /* 1 ms of simulated time */

/* ---- the public knobs ---------------------------------------------------------------------- */

static bool prob_ok(double p) { return isfinite(p) && p >= 0.0 && p <= 1.0; }

int vmcisim_set_faults(vmcisim *sim, const struct vmcisim_faults *f)
{
    if (!sim || !f) {
        errno = EINVAL;
        return -1;
    }
    sim_enter(sim);
    int rc = 0;
    if (!prob_ok(f->dg_drop) || !prob_ok(f->dg_duplicate) || !prob_ok(f->dg_reorder) ||
        !prob_ok(f->qp_alloc_fail)) {
        sim_set_error(sim, "fault probabilities must be within [0, 1]");
        rc = -1;
    } else if (f->dg_delay_min_ns > f->dg_delay_max_ns) {
        sim_set_error(sim, "dg_delay_min_ns (%llu) is above dg_delay_max_ns (%llu)",
                      (unsigned long long)f->dg_delay_min_ns,
                      (unsigned long long)f->dg_delay_max_ns);
        rc = -1;
    } else {
        struct hv *hv = hv_of(sim);
        hv->faults = *f;
        sim_trace(sim, "faults",
                  "delay=%llu..%llu drop=%g dup=%g reorder=%g qp_alloc_fail=%g "
                  "latency=%llu",
                  (unsigned long long)f->dg_delay_min_ns, (unsigned long long)f->dg_delay_max_ns,
                  f->dg_drop, f->dg_duplicate, f->dg_reorder, f->qp_alloc_fail,
                  (unsigned long long)f->hv_latency_ns);
    }
    sim_leave(sim);
    if (rc)
        errno = EINVAL;
    return rc;
}

void vmcisim_get_faults(const vmcisim *sim, struct vmcisim_faults *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!sim)
        return;
    vmcisim *s = (vmcisim *)sim;
    sim_enter(s);
    *out = hv_of(s)->faults;
    sim_leave(s);
}

/* ---- held datagrams ------------------------------------------------------------------------ */

static void held_unlink(struct hv *hv, struct hv_held *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        hv->held_head = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        hv->held_tail = h->prev;
    h->prev = h->next = NULL;
}

static void held_fire(sim_timer *t)
{
    struct hv_held *h = (struct hv_held *)t;
    struct hv *hv = h->hv;
    held_unlink(hv, h);
    sim_trace_vm(hv->sim, &hv->self_vm, "dg-release", "id=%llu dst=%u:%u",
                 (unsigned long long)h->id, HV_H(h->dg.dst));
    hv->held_cur = h;
    if (h->dst_ctx)
        hv_deliver_to_vm(hv, h->dst_ctx, &h->dg, true, "held");
    else
        hv_deliver_to_host(hv, &h->dg, false, "held");
    hv->held_cur = NULL;
    free(h);
}

static struct hv_held *hold(struct hv *hv, struct hv_context *dst, const struct vmci_datagram *dg,
                            uint64_t delay, bool reorder, const char *why)
{
    uint64_t size = VMCI_DG_SIZE(dg);
    if (dst && dst->port->rx_reserve(dst->dev, size, false) != VMCI_SUCCESS) {
        sim_trace_vm(hv->sim, dst->vm, "dg-drop",
                     "src=%u:%u dst=%u:%u size=%llu "
                     "reason=queue-full why=%s",
                     HV_H(dg->src), HV_H(dg->dst), (unsigned long long)size, why);
        return NULL;
    }
    struct hv_held *h = vmcisim_malloc(offsetof(struct hv_held, dg) + (size_t)size);
    if (!h) {
        if (dst)
            dst->port->rx_unreserve(dst->dev, size);
        return NULL;
    }
    sim_timer_init(&h->t, held_fire);
    h->hv = hv;
    h->id = ++hv->held_seq;
    h->dst_ctx = dst;
    h->to_host = dst == NULL;
    h->waiting_reorder = reorder;
    h->size = size;
    memcpy(&h->dg, dg, (size_t)size);
    h->prev = hv->held_tail;
    h->next = NULL;
    if (hv->held_tail)
        hv->held_tail->next = h;
    else
        hv->held_head = h;
    hv->held_tail = h;
    uint64_t wait = reorder ? delay + HV_REORDER_HOLD_NS : delay;
    sim_timer_arm(hv->loop, &h->t, sim_deadline_after(hv->sim, wait));
    sim_trace_vm(hv->sim, &hv->self_vm, "dg-hold",
                 "id=%llu src=%u:%u dst=%u:%u size=%llu "
                 "delay=%llu reorder=%d why=%s",
                 (unsigned long long)h->id, HV_H(dg->src), HV_H(dg->dst), (unsigned long long)size,
                 (unsigned long long)delay, reorder ? 1 : 0, why);
    return h;
}

/* Datagrams held for reordering behind the next one to `dst`: let them follow it, i.e. fire at
 * `deadline` right after it (same deadline, armed later). */
static void release_reordered(struct hv *hv, struct hv_context *dst, uint32_t dst_cid,
                              uint64_t deadline)
{
    for (struct hv_held *h = hv->held_head; h; h = h->next) {
        if (!h->waiting_reorder || h->dst_ctx != dst || h->dg.dst.context != dst_cid)
            continue;
        h->waiting_reorder = false;
        sim_timer_arm(hv->loop, &h->t, deadline);
    }
}

static bool is_control(const struct vmci_datagram *dg)
{
    uint32_t s = dg->src.resource, d = dg->dst.resource;
    return s == 1 || s == 15 || d == 1 || d == 15;
}

/* ---- holds (vmcisim_vm_hold) -----------------------------------------------------------------
 * A held VM's datagrams, both those it sends and those sent to it, stream control packets (the
 * stream's notifications and handshake) included, wait in the hypervisor in sending order; the
 * release delivers every one no longer held by the other end, in that order, before anything
 * sent after it. Nothing is lost unless the destination's queue is full when it is held (the
 * sender then gets NO_RESOURCES, as for any full queue). Fault knobs are not drawn for held
 * datagrams. Doorbells, events and queue-pair memory are not held: data already in a queue pair
 * stays readable, but the notification that it is there waits. */

static bool ctx_held(struct hv *hv, uint32_t cid)
{
    struct hv_context *c = hv_ctx_by_cid(hv, cid);
    return c && c->held;
}

static bool held_by_vm(struct hv *hv, struct hv_context *dst, const struct vmci_datagram *dg)
{
    return ctx_held(hv, dg->src.context) ||
           (dst ? dst->held : ctx_held(hv, VMCI_HOST_CONTEXT_ID));
}

static int set_hold(vmcisim_vm *vm, bool on)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    sim_enter(sim);
    struct hv *hv = hv_of(sim);
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    int rc = 0;
    if (!c || vm->state == VMCISIM_VM_POWERED_OFF) {
        sim_set_error(sim, "%s: no VMCI context to %s", vm->name, on ? "hold" : "release");
        rc = -1;
    } else if (c->held == on) {
        sim_set_error(sim, "%s is %s", vm->name, on ? "already held" : "not held");
        rc = -1;
    } else {
        c->held = on;
        sim_trace_vm(sim, vm, on ? "vm-hold" : "vm-release", "cid=%u", c->cid);
        /* in holding order, each datagram whose both ends are free now */
        for (struct hv_held *h = on ? NULL : hv->held_head, *next; h; h = next) {
            next = h->next;
            if (!h->waiting_release || ctx_held(hv, h->src_cid) ||
                (h->dst_ctx ? h->dst_ctx->held : ctx_held(hv, VMCI_HOST_CONTEXT_ID)))
                continue;
            h->waiting_release = false;
            held_fire(&h->t); /* delivers, unlinks and frees it */
        }
    }
    sim_leave(sim);
    if (rc)
        errno = EINVAL;
    return rc;
}

int vmcisim_vm_hold(vmcisim_vm *vm) { return set_hold(vm, true); }
int vmcisim_vm_release(vmcisim_vm *vm) { return set_hold(vm, false); }

bool hv_faults_take(struct hv *hv, struct hv_context *dst, struct vmci_datagram *dg,
                    bool from_guest, int *result)
{
    if (held_by_vm(hv, dst, dg)) {
        *result = (int)VMCI_DG_SIZE(dg);
        struct hv_held *h = hold(hv, dst, dg, 0, false, "vm-held");
        if (h) {
            sim_timer_cancel(&h->t);
            h->waiting_release = true;
            h->src_cid = dg->src.context;
        }
        return true;
    }
    const struct vmcisim_faults *f = &hv->faults;
    uint64_t size = VMCI_DG_SIZE(dg);
    bool app = !is_control(dg);
    uint64_t latency = (from_guest || dst) ? f->hv_latency_ns : 0;
    if (from_guest || dst) { /* the cost model (src/sim/cost.c) */
        const struct vmcisim_cost *c = sim_cost(hv->sim);
        latency += c->dgram_ns + (app ? 0 : c->notify_ns);
    }
    bool dup = false, reorder = false;
    uint64_t delay = 0;
    if (app) {
        if (f->dg_drop > 0 && sim_chance(hv->sim, f->dg_drop)) {
            sim_trace_vm(hv->sim, hv_trace_vm(hv, dg->src.context), "dg-drop",
                         "src=%u:%u dst=%u:%u size=%llu reason=fault-drop", HV_H(dg->src),
                         HV_H(dg->dst), (unsigned long long)size);
            *result = (int)size;
            return true;
        }
        dup = f->dg_duplicate > 0 && sim_chance(hv->sim, f->dg_duplicate);
        reorder = f->dg_reorder > 0 && sim_chance(hv->sim, f->dg_reorder);
        if (f->dg_delay_max_ns > 0)
            delay = f->dg_delay_min_ns +
                    (f->dg_delay_max_ns > f->dg_delay_min_ns
                         ? sim_rand_below(hv->sim, f->dg_delay_max_ns - f->dg_delay_min_ns + 1)
                         : 0);
    }
    uint64_t total = latency + delay;
    uint64_t deadline = sim_deadline_after(hv->sim, total);
    *result = (int)size;
    if (total == 0 && !reorder) {
        /* Delivered now by the caller; earlier reordered ones follow it, then the copy. */
        if (app)
            release_reordered(hv, dst, dg->dst.context, deadline);
        if (dup && hold(hv, dst, dg, 0, false, "fault-duplicate"))
            sim_trace_vm(hv->sim, hv_trace_vm(hv, dg->src.context), "dg-dup",
                         "src=%u:%u dst=%u:%u size=%llu", HV_H(dg->src), HV_H(dg->dst),
                         (unsigned long long)size);
        return false;
    }
    const char *why = reorder ? "fault-reorder" : delay ? "fault-delay" : "latency";
    if (!hold(hv, dst, dg, total, reorder, why))
        return true; /* no room after all (or no memory): dropped, traced */
    if (app && !reorder)
        release_reordered(hv, dst, dg->dst.context, deadline);
    if (dup && hold(hv, dst, dg, total, false, "fault-duplicate"))
        sim_trace_vm(hv->sim, hv_trace_vm(hv, dg->src.context), "dg-dup",
                     "src=%u:%u dst=%u:%u size=%llu", HV_H(dg->src), HV_H(dg->dst),
                     (unsigned long long)size);
    return true;
}

void hv_held_drop_ctx(struct hv *hv, struct hv_context *ctx)
{
    struct hv_held *h = hv->held_head;
    while (h) {
        struct hv_held *next = h->next;
        if (h->dst_ctx == ctx) {
            sim_timer_cancel(&h->t);
            held_unlink(hv, h);
            if (ctx->dev)
                ctx->port->rx_unreserve(ctx->dev, h->size);
            sim_trace_vm(hv->sim, ctx->vm, "dg-drop",
                         "src=%u:%u dst=%u:%u size=%llu "
                         "reason=context-removed",
                         HV_H(h->dg.src), HV_H(h->dg.dst), (unsigned long long)h->size);
            free(h);
        }
        h = next;
    }
}

void hv_held_free_all(struct hv *hv)
{
    struct hv_held *h = hv->held_head;
    while (h) {
        struct hv_held *next = h->next;
        sim_timer_cancel(&h->t);
        free(h);
        h = next;
    }
    hv->held_head = hv->held_tail = NULL;
    free(hv->held_cur);
    hv->held_cur = NULL;
}
