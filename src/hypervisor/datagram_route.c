/*
 * datagram_route.c - VMCI datagrams through the hypervisor: the hypercall entry, routing
 * (vmci-semantics.md §5.2) and delivery (§5.3).
 *
 * Two ways in:
 *  - from a guest, through its device (hv_hypercall): the hypervisor stamps the VM's real CID
 *    into the source (a guest cannot spoof it), serves CID 0 itself (services.c) and routes the
 *    rest as the host driver does for datagrams the VMX passes up (from_guest);
 *  - from the host kernel (hv_host_dg_send): routed as a host-local client's datagram.
 * Routing and every check happen in the sender's call, so the sender sees each error; the fault
 * knobs (faults.c) may then drop or hold an application datagram, and the latency knob holds
 * every datagram that crosses a VM boundary.
 *
 * Delivery: to a VM, a copy is appended to its device's receive queue (the pending limit is
 * the device's, §5.3); to a host handle, the callback runs at once in the sender's context, or
 * on the host's kernel worker when the handle has DELAYED_CB or the sender is the host itself
 * (at most 255 such datagrams in flight: the 256th gets NO_MEM, as in the reference).
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"

static int trace_send(struct hv *hv, const char *from, const struct vmci_datagram *dg, int rc)
{
    sim_trace_vm(hv->sim, hv_trace_vm(hv, dg->src.context), "dg-send",
                 "from=%s src=%u:%u dst=%u:%u size=%llu result=%s", from, HV_H(dg->src),
                 HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg),
                 rc >= 0 ? "ok" : vmci_strerror(rc));
    return rc;
}

/* ---- delivery ------------------------------------------------------------------------------ */

int hv_deliver_to_vm(struct hv *hv, struct hv_context *dst, const struct vmci_datagram *dg,
                     bool reserved, const char *how)
{
    int rc = dst->dev ? dst->port->rx_push(dst->dev, dg, reserved)
                      : VMCI_ERROR_DEVICE_NOT_FOUND;
    if (rc == VMCI_SUCCESS)
        sim_trace_vm(hv->sim, dst->vm, "dg-deliver",
                     "src=%u:%u dst=%u:%u size=%llu to=device "
                     "queued=%llu how=%s",
                     HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg),
                     (unsigned long long)dst->port->rx_bytes(dst->dev), how);
    else
        sim_trace_vm(hv->sim, dst->vm, "dg-drop", "src=%u:%u dst=%u:%u size=%llu reason=%s",
                     HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg),
                     rc == VMCI_ERROR_NO_RESOURCES ? "queue-full" : vmci_strerror(rc));
    return rc;
}

int hv_deliver_to_host(struct hv *hv, struct vmci_datagram *dg, bool in_sender_context,
                       const char *how)
{
    vmcisim_vm *host = sim_host(hv->sim);
    struct vmci_resource *r = vmci_restab_lookup(&hv->host_res, dg->dst, VMCI_RESOURCE_DATAGRAM);
    if (!r) {
        sim_trace_vm(hv->sim, host, "dg-drop", "src=%u:%u dst=%u:%u size=%llu reason=no-handle",
                     HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg));
        return VMCI_ERROR_INVALID_RESOURCE;
    }
    /* A datagram the host sends to itself always runs deferred, so that no caller state is
     * held when the callback runs; DELAYED_CB handles ask for that too (§5.3). */
    if ((r->flags & VMCI_FLAG_DG_DELAYED_CB) || dg->src.context == VMCI_HOST_CONTEXT_ID) {
        int rc = hv_work_datagram(hv, r->handle, dg);
        if (rc < VMCI_SUCCESS)
            sim_trace_vm(hv->sim, host, "dg-drop",
                         "src=%u:%u dst=%u:%u size=%llu "
                         "reason=deferred-queue-full",
                         HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg));
        else
            sim_trace_vm(hv->sim, host, "dg-deliver",
                         "src=%u:%u dst=%u:%u size=%llu "
                         "to=host-deferred how=%s",
                         HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg), how);
        return rc;
    }
    sim_trace_vm(hv->sim, host, "dg-deliver", "src=%u:%u dst=%u:%u size=%llu to=host-%s how=%s",
                 HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg),
                 in_sender_context ? "sender-context" : "hv-loop", how);
    hv_dg_cb cb = (hv_dg_cb)r->cb;
    cb(r->client_data, dg);
    return VMCI_SUCCESS;
}

/* Checks done, the datagram goes to `dst` (NULL: a host handle). */
static int dispatch(struct hv *hv, struct hv_context *dst, struct vmci_datagram *dg,
                    bool from_guest)
{
    int rc;
    if (hv_faults_take(hv, dst, dg, from_guest, &rc))
        return rc;
    rc = dst ? hv_deliver_to_vm(hv, dst, dg, false, "direct")
             : hv_deliver_to_host(hv, dg, true, "direct");
    return rc < VMCI_SUCCESS ? rc : (int)VMCI_DG_SIZE(dg);
}

/* The destination's queue is full: the datagram is dropped and the sender told (§5.3). */
static int trace_full(struct hv *hv, struct hv_context *dst, const struct vmci_datagram *dg,
                      int rc)
{
    sim_trace_vm(hv->sim, dst->vm, "dg-drop", "src=%u:%u dst=%u:%u size=%llu reason=queue-full",
                 HV_H(dg->src), HV_H(dg->dst), (unsigned long long)VMCI_DG_SIZE(dg));
    SIM_REACHABLE(hv->sim, "hv.dgram.queue-full");
    return rc;
}

/* Room check before anything is promised, so a full queue is the sender's NO_RESOURCES. */
static int vm_room(struct hv_context *dst, const struct vmci_datagram *dg)
{
    if (!dst->dev)
        return VMCI_ERROR_DST_UNREACHABLE;
    return dst->port->rx_room(dst->dev, VMCI_DG_SIZE(dg), false);
}

/* ---- from a guest (the VMX passes it up: from_guest) ------------------------------------ */

static int hv_route_from_guest(struct hv *hv, struct hv_context *src, struct vmci_datagram *dg)
{
    /* §1.6: routable datagrams are at most 69632 bytes, header included. */
    if (dg->payload_size > VMCI_MAX_DG_SIZE || VMCI_DG_SIZE(dg) > VMCI_MAX_DG_SIZE)
        return trace_send(hv, "guest", dg, VMCI_ERROR_INVALID_ARGS);
    /* §5.2: a destination cid of "any" is no destination. */
    if (dg->dst.context == VMCI_INVALID_ID)
        return trace_send(hv, "guest", dg, VMCI_ERROR_INVALID_ARGS);
    if (dg->dst.context == VMCI_HOST_CONTEXT_ID) {
        /* §5.3 host destination: the handle must exist, then the privilege check. */
        struct vmci_resource *r =
            vmci_restab_lookup(&hv->host_res, dg->dst, VMCI_RESOURCE_DATAGRAM);
        if (!r)
            return trace_send(hv, "guest", dg, VMCI_ERROR_INVALID_RESOURCE);
        if (vmci_priv_deny(src->priv_flags, r->priv_flags))
            return trace_send(hv, "guest", dg, VMCI_ERROR_NO_ACCESS);
        if ((r->flags & VMCI_FLAG_DG_DELAYED_CB) &&
            hv->work_datagrams + 1 >= VMCI_MAX_DELAYED_DG_HOST_QUEUE_SIZE)
            return trace_send(hv, "guest", dg, VMCI_ERROR_NO_MEM);
        trace_send(hv, "guest", dg, VMCI_SUCCESS);
        return dispatch(hv, NULL, dg, true);
    }
    /* Another CID: only the VM itself (loopback); VM<->VM is refused, as is an unknown CID
     * (the host has no guest device to send it further down). */
    struct hv_context *dst = hv_ctx_by_cid(hv, dg->dst.context);
    if (!dst || dst != src)
        return trace_send(hv, "guest", dg, VMCI_ERROR_DST_UNREACHABLE);
    int rc = vm_room(dst, dg);
    if (rc < VMCI_SUCCESS)
        return trace_full(hv, dst, dg, trace_send(hv, "guest", dg, rc));
    trace_send(hv, "guest", dg, VMCI_SUCCESS);
    return dispatch(hv, dst, dg, true);
}

int hv_hypercall(struct hv *hv, vmcisim_vm *vm, struct vmci_datagram *dg)
{
    if (!dg)
        return VMCI_ERROR_INVALID_ARGS;
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    if (!c)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (dg->dst.context == VMCI_HYPERVISOR_CONTEXT_ID)
        return hv_service(hv, c, dg);
    /* The hypervisor knows who is calling: the source context is the VM's, whatever the
     * guest wrote there. */
    if (dg->src.context != c->cid) {
        sim_trace_vm(hv->sim, c->vm, "dg-src-stamp", "claimed=%u real=%u", dg->src.context, c->cid);
        dg->src.context = c->cid;
    }
    return hv_route_from_guest(hv, c, dg);
}

/* ---- from the host kernel --------------------------------------------------------------- */

int hv_route_from_host(struct hv *hv, struct vmci_datagram *dg)
{
    if (dg->payload_size > VMCI_MAX_DG_SIZE || VMCI_DG_SIZE(dg) > VMCI_MAX_DG_SIZE)
        return trace_send(hv, "host", dg, VMCI_ERROR_INVALID_ARGS);
    uint32_t dcid = dg->dst.context;
    if (dcid == VMCI_INVALID_ID)
        return trace_send(hv, "host", dg, VMCI_ERROR_INVALID_ARGS);
    /* §5.2: only a client acting as a guest reaches the hypervisor; the host has no guest
     * device. */
    if (dcid == VMCI_HYPERVISOR_CONTEXT_ID)
        return trace_send(hv, "host", dg, VMCI_ERROR_DEVICE_NOT_FOUND);
    struct hv_context *dst = NULL;
    if (dcid != VMCI_HOST_CONTEXT_ID) {
        dst = hv_ctx_by_cid(hv, dcid);
        if (!dst)
            return trace_send(hv, "host", dg, VMCI_ERROR_DST_UNREACHABLE);
        if (hv_cid_is_vm(dg->src.context) && dg->src.context != dcid)
            return trace_send(hv, "host", dg, VMCI_ERROR_DST_UNREACHABLE);
    }
    /* An unset source cid is the host's (§5.2). */
    if (dg->src.context == VMCI_INVALID_ID)
        dg->src.context = VMCI_HOST_CONTEXT_ID;
    /* Dispatch as the host: the source must be the host's own registered datagram handle;
     * its privilege flags are the sender's. */
    if (dg->src.context != VMCI_HOST_CONTEXT_ID)
        return trace_send(hv, "host", dg, VMCI_ERROR_NO_ACCESS);
    struct vmci_resource *src =
        vmci_restab_lookup(&hv->host_res, dg->src, VMCI_RESOURCE_DATAGRAM);
    if (!src)
        return trace_send(hv, "host", dg, VMCI_ERROR_INVALID_ARGS);
    uint32_t src_priv = src->priv_flags;
    if (!dst) {
        struct vmci_resource *r =
            vmci_restab_lookup(&hv->host_res, dg->dst, VMCI_RESOURCE_DATAGRAM);
        if (!r)
            return trace_send(hv, "host", dg, VMCI_ERROR_INVALID_RESOURCE);
        if (vmci_priv_deny(src_priv, r->priv_flags))
            return trace_send(hv, "host", dg, VMCI_ERROR_NO_ACCESS);
        /* Host to host always runs deferred: at most 255 in flight. */
        if (hv->work_datagrams + 1 >= VMCI_MAX_DELAYED_DG_HOST_QUEUE_SIZE)
            return trace_send(hv, "host", dg, VMCI_ERROR_NO_MEM);
        trace_send(hv, "host", dg, VMCI_SUCCESS);
        return dispatch(hv, NULL, dg, false);
    }
    if (vmci_priv_deny(src_priv, dst->priv_flags))
        return trace_send(hv, "host", dg, VMCI_ERROR_NO_ACCESS);
    int rc = vm_room(dst, dg);
    if (rc < VMCI_SUCCESS)
        return trace_full(hv, dst, dg, trace_send(hv, "host", dg, rc));
    trace_send(hv, "host", dg, VMCI_SUCCESS);
    return dispatch(hv, dst, dg, false);
}
