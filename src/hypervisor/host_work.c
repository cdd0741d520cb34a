/*
 * host_work.c - work the hypervisor defers to the host's kernel worker (§5.3, vmci_kapi.h):
 * datagrams for DELAYED_CB handles and every host-to-host datagram, event datagrams for the
 * host, and host doorbell callbacks. One FIFO, run in order on sim_host()->kworker.
 *
 * Deferred datagrams are bounded: the reference refuses the one that would make 256 in flight
 * (VMCI_MAX_DELAYED_DG_HOST_QUEUE_SIZE) with NO_MEM, so at most 255 wait at once. A datagram
 * counts until its callback has returned. Doorbell rings coalesce while one is pending.
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"
#include "hypervisor/hv_internal.h"

static void work_fire(sim_timer *t);

void hv_work_init(struct hv *hv)
{
    sim_timer_init(&hv->work_timer.t, work_fire);
    hv->work_timer.hv = hv;
}

static void kick(struct hv *hv)
{
    vmcisim_vm *host = sim_host(hv->sim);
    if (host && !sim_timer_armed(&hv->work_timer.t))
        sim_timer_arm(host->kworker, &hv->work_timer.t, sim_now(hv->sim));
}

static int push(struct hv *hv, int kind, vmci_handle h, const struct vmci_datagram *dg)
{
    size_t size = dg ? (size_t)VMCI_DG_SIZE(dg) : sizeof(struct vmci_datagram);
    struct hv_work *w = vmcisim_malloc(offsetof(struct hv_work, dg) + size);
    if (!w)
        return VMCI_ERROR_NO_MEM;
    w->next = NULL;
    w->kind = kind;
    w->handle = h;
    if (dg)
        memcpy(&w->dg, dg, size);
    else
        memset(&w->dg, 0, size);
    if (hv->work_tail)
        hv->work_tail->next = w;
    else
        hv->work_head = w;
    hv->work_tail = w;
    kick(hv);
    return VMCI_SUCCESS;
}

int hv_work_datagram(struct hv *hv, vmci_handle dst, const struct vmci_datagram *dg)
{
    if (hv->work_datagrams + 1 >= VMCI_MAX_DELAYED_DG_HOST_QUEUE_SIZE)
        return VMCI_ERROR_NO_MEM;
    int rc = push(hv, HW_DATAGRAM, dst, dg);
    if (rc == VMCI_SUCCESS)
        hv->work_datagrams++;
    return rc;
}

int hv_work_event(struct hv *hv, const struct vmci_datagram *dg)
{
    return push(hv, HW_EVENT, dg->dst, dg);
}

int hv_work_doorbell(struct hv *hv, vmci_handle bell)
{
    for (struct hv_work *w = hv->work_head; w; w = w->next)
        if (w->kind == HW_DOORBELL && vmci_handle_eq(w->handle, bell))
            return VMCI_SUCCESS; /* already rung, not yet run */
    return push(hv, HW_DOORBELL, bell, NULL);
}

static struct hv_work *pop(struct hv *hv)
{
    struct hv_work *w = hv->work_head;
    if (w) {
        hv->work_head = w->next;
        if (!hv->work_head)
            hv->work_tail = NULL;
    }
    return w;
}

/* One item at a time: a callback may be a scheduling point, and may queue more work. */
static void work_fire(sim_timer *t)
{
    struct hv *hv = ((struct hv_timer *)t)->hv;
    vmcisim_vm *host = sim_host(hv->sim);
    struct hv_work *w;
    while ((w = pop(hv)) != NULL) {
        hv->work_cur = w;
        if (w->kind == HW_DATAGRAM) {
            struct vmci_resource *r =
                vmci_restab_lookup(&hv->host_res, w->handle, VMCI_RESOURCE_DATAGRAM);
            if (r) {
                sim_trace_vm(hv->sim, host, "dg-callback",
                             "src=%u:%u dst=%u:%u size=%llu "
                             "deferred=1",
                             HV_H(w->dg.src), HV_H(w->dg.dst),
                             (unsigned long long)VMCI_DG_SIZE(&w->dg));
                hv_dg_cb cb = (hv_dg_cb)r->cb;
                cb(r->client_data, &w->dg);
            } else {
                sim_trace_vm(hv->sim, host, "dg-drop",
                             "src=%u:%u dst=%u:%u size=%llu "
                             "reason=no-handle",
                             HV_H(w->dg.src), HV_H(w->dg.dst),
                             (unsigned long long)VMCI_DG_SIZE(&w->dg));
            }
            hv->work_datagrams--;
        } else if (w->kind == HW_EVENT) {
            if (hv->host_event_fn)
                hv->host_event_fn(hv->host_event_arg, &w->dg);
        } else {
            struct vmci_resource *r =
                vmci_restab_lookup(&hv->host_res, w->handle, VMCI_RESOURCE_DOORBELL);
            sim_trace_vm(hv->sim, host, "db-callback", "handle=%u:%u %s", HV_H(w->handle),
                         r ? "ran=1" : "ran=0 reason=destroyed");
            if (r) {
                hv_db_cb cb = (hv_db_cb)r->cb;
                cb(r->client_data);
            }
        }
        hv->work_cur = NULL;
        free(w);
    }
}

void hv_work_purge_handle(struct hv *hv, vmci_handle h, int kind)
{
    int wk = kind == VMCI_RESOURCE_DATAGRAM ? HW_DATAGRAM : HW_DOORBELL;
    struct hv_work **pp = &hv->work_head, *last = NULL;
    while (*pp) {
        struct hv_work *w = *pp;
        if (w->kind == wk && vmci_handle_eq(w->handle, h)) {
            *pp = w->next;
            if (wk == HW_DATAGRAM) {
                hv->work_datagrams--;
                sim_trace_vm(hv->sim, sim_host(hv->sim), "dg-drop",
                             "src=%u:%u dst=%u:%u "
                             "size=%llu reason=handle-destroyed",
                             HV_H(w->dg.src), HV_H(w->dg.dst),
                             (unsigned long long)VMCI_DG_SIZE(&w->dg));
            }
            free(w);
            continue;
        }
        last = w;
        pp = &w->next;
    }
    hv->work_tail = last;
}

void hv_work_free_all(struct hv *hv)
{
    sim_timer_cancel(&hv->work_timer.t);
    struct hv_work *w;
    while ((w = pop(hv)) != NULL)
        free(w);
    free(hv->work_cur);
    hv->work_cur = NULL;
    hv->work_datagrams = 0;
}
