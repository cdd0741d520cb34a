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

#include "../sim/alloc.h"
#include "../device/vmci_device.h"
#include "hv_internal.h"

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
        struct hv *hv = sim_hv(sim);
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
    *out = sim_hv(s)->faults;
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
    if (dst && vmci_device_rx_reserve(dst->dev, size, false) != VMCI_SUCCESS) {
        sim_trace_vm(hv->sim, dst->vm, "dg-drop",
                     "src=%u:%u dst=%u:%u size=%llu "
                     "reason=queue-full why=%s",
                     HV_H(dg->src), HV_H(dg->dst), (unsigned long long)size, why);
        return NULL;
    }
    struct hv_held *h = vmcisim_malloc(offsetof(struct hv_held, dg) + (size_t)size);
    if (!h) {
        if (dst)
            vmci_device_rx_unreserve(dst->dev, size);
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

bool hv_faults_take(struct hv *hv, struct hv_context *dst, struct vmci_datagram *dg,
                    bool from_guest, int *result)
{
    const struct vmcisim_faults *f = &hv->faults;
    uint64_t size = VMCI_DG_SIZE(dg);
    bool app = !is_control(dg);
    uint64_t latency = (from_guest || dst) ? f->hv_latency_ns : 0;
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
                vmci_device_rx_unreserve(ctx->dev, h->size);
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
