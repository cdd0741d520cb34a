/*
 * guest_qp.c - a guest driver's queue-pair endpoints (vmci-semantics.md §§4.3-4.4).
 *
 * The guest supplies the memory: each new endpoint allocates both queues (qp_queue_alloc, header
 * + ring) and, unless the pair is LOCAL, hands them to the hypervisor in a QUEUEPAIR_ALLOC
 * hypercall to (0, 10) (pointers in place of the PPN list, see vmci_hypercall.h). Detach is a
 * QUEUEPAIR_DETACH hypercall to (0, 11); if it fails the endpoint (and its memory) is kept, the
 * client's struct is freed anyway, as in the reference.
 *
 * LOCAL pairs never leave the guest: a second alloc of the same handle is the local attach (the
 * attacher's queues are the creator's, swapped; sizes and flags must mirror; at most two users)
 * and the peer attach/detach events are dispatched in the guest, on its kernel worker.
 * Guests allocate without privilege flags (NO_ACCESS otherwise, §4.5), and none while the device
 * reports fault tolerance (UNAVAILABLE; the hypervisor refuses non-local ones itself).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "guest/kapi_internal.h"
#include "sim/alloc.h"
#include "guest/kapi_internal.h"

struct guest_qp_ep {
    vmci_handle handle;
    uint32_t peer;
    uint32_t flags;
    uint64_t produce_size;       /* the creator's point of view */
    uint64_t consume_size;
    struct qp_queue *produce_q;  /* the creator's produce queue */
    struct qp_queue *consume_q;
    uint32_t ref_count;          /* 1, or 2 for an attached LOCAL pair */
};

static struct guest_qp_ep *find_ep(struct guest_drv *d, vmci_handle h)
{
    if (h.resource == VMCI_INVALID_ID)
        return NULL;
    for (size_t i = 0; i < d->neps; i++)
        if (vmci_handle_eq(d->eps[i]->handle, h))
            return d->eps[i];
    return NULL;
}

static void ep_free(struct guest_qp_ep *ep)
{
    qp_queue_free(ep->produce_q);
    qp_queue_free(ep->consume_q);
    free(ep);
}

static void ep_remove(struct guest_drv *d, struct guest_qp_ep *ep)
{
    assert(ep->ref_count == 0); /* the last endpoint detached */
    size_t before = d->neps;
    for (size_t i = 0; i < d->neps; i++) {
        if (d->eps[i] == ep) {
            memmove(&d->eps[i], &d->eps[i + 1], (d->neps - i - 1) * sizeof *d->eps);
            d->neps--;
            break;
        }
    }
    assert(d->neps + 1 == before); /* it was the driver's, exactly once */
    vmci_restab_remove(&d->res, ep->handle, VMCI_RESOURCE_QUEUEPAIR);
    ep_free(ep);
}

static struct vmci_qp *qp_new(struct guest_drv *d, struct guest_qp_ep *ep, bool swapped)
{
    struct vmci_qp **a = vmcisim_grow(d->qps, &d->qps_cap, d->nqps, 8);
    if (!a)
        return NULL;
    d->qps = a;
    struct vmci_qp *qp = vmcisim_calloc(1, sizeof *qp);
    if (!qp)
        return NULL;
    /* a client struct is made for the creator (ref 1 just set) or for the one LOCAL attacher
     * (ref still 1: it counts itself after this); a third party never gets one */
    assert(ep->ref_count == 1);
    qp->kind = VMCI_KERNEL_GUEST;
    qp->ctx = d->vm;
    qp->handle = ep->handle;
    qp->produce_size = swapped ? ep->consume_size : ep->produce_size;
    qp->consume_size = swapped ? ep->produce_size : ep->consume_size;
    qp->peer = ep->peer;
    qp->flags = ep->flags;
    qp->ep = ep;
    qp->swapped = swapped;
    d->qps[d->nqps++] = qp;
    return qp;
}

static void qp_forget(struct guest_drv *d, struct vmci_qp *qp)
{
    size_t before = d->nqps;
    for (size_t i = 0; i < d->nqps; i++) {
        if (d->qps[i] == qp) {
            memmove(&d->qps[i], &d->qps[i + 1], (d->nqps - i - 1) * sizeof *d->qps);
            d->nqps--;
            break;
        }
    }
    assert(d->nqps + 1 == before); /* a client struct is the driver's until detached */
    free(qp);
}

static void local_event(struct guest_drv *d, uint32_t event, vmci_handle h)
{
    struct vmci_event_data ed;
    memset(&ed, 0, sizeof ed);
    ed.event = event;
    ed.u.qp.handle = h;
    ed.u.qp.peer_id = d->cid;
    guest_local_event(d, &ed);
}

static bool in_ft(struct guest_drv *d)
{
    return d->dev && (vmci_device_status(d->dev) & VMCI_STATUS_FT);
}

static int local_attach(struct guest_drv *d, struct guest_qp_ep *ep, struct vmci_qp **out,
                        uint64_t produce_size, uint64_t consume_size, uint32_t flags)
{
    if (ep->ref_count > 1)
        return VMCI_ERROR_UNAVAILABLE;
    if (ep->produce_size != consume_size || ep->consume_size != produce_size ||
        ep->flags != (flags & ~VMCI_QPFLAG_ATTACH_ONLY))
        return VMCI_ERROR_QUEUEPAIR_MISMATCH;
    if (in_ft(d))
        return VMCI_ERROR_UNAVAILABLE;
    struct vmci_qp *qp = qp_new(d, ep, true);
    if (!qp)
        return VMCI_ERROR_NO_MEM;
    ep->ref_count++;
    local_event(d, VMCI_EVENT_QP_PEER_ATTACH, ep->handle);
    *out = qp;
    return VMCI_SUCCESS;
}

static int create(struct guest_drv *d, vmci_handle h, struct vmci_qp **out,
                  uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags)
{
    bool local = (flags & VMCI_QPFLAG_LOCAL) != 0;
    if (local) {
        /* The same checks as the broker makes for other pairs. */
        if (h.context != d->cid || (peer != VMCI_INVALID_ID && peer != d->cid))
            return VMCI_ERROR_NO_ACCESS;
        if (flags & VMCI_QPFLAG_ATTACH_ONLY)
            return VMCI_ERROR_NOT_FOUND;
        if (in_ft(d))
            return VMCI_ERROR_UNAVAILABLE;
    }
    struct guest_qp_ep **a = vmcisim_grow(d->eps, &d->eps_cap, d->neps, 8);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    d->eps = a;
    struct vmci_resource *r;
    int rc = vmci_restab_add(&d->res, h, VMCI_RESOURCE_QUEUEPAIR, &r);
    if (rc != VMCI_SUCCESS)
        return rc;
    h = r->handle;
    struct guest_qp_ep *ep = vmcisim_calloc(1, sizeof *ep);
    if (ep) {
        ep->produce_q = qp_queue_alloc(produce_size, h, sim_queues_shared(d->sim));
        ep->consume_q = qp_queue_alloc(consume_size, h, sim_queues_shared(d->sim));
    }
    if (!ep || !ep->produce_q || !ep->consume_q) {
        if (ep)
            ep_free(ep);
        vmci_restab_remove_entry(&d->res, r);
        return VMCI_ERROR_NO_MEM;
    }
    ep->handle = h;
    ep->peer = peer;
    ep->flags = flags;
    ep->produce_size = produce_size;
    ep->consume_size = consume_size;
    ep->ref_count = 1;
    if (!local) {
        struct vmci_qp_alloc_msg m = {
            .handle = h,
            .peer = peer,
            .flags = flags,
            .produce_size = produce_size,
            .consume_size = consume_size,
            .num_ppns = vmci_qp_queue_pages(produce_size) + vmci_qp_queue_pages(consume_size),
            .produce_q = ep->produce_q,
            .consume_q = ep->consume_q,
        };
        rc = guest_hypercall(d, VMCI_QUEUEPAIR_ALLOC, &m, sizeof m);
        if (rc < VMCI_SUCCESS) {
            ep_free(ep);
            vmci_restab_remove_entry(&d->res, r);
            return rc;
        }
    }
    struct vmci_qp *qp = qp_new(d, ep, false);
    if (!qp) {
        if (!local) {
            struct vmci_qp_detach_msg m = {h};
            guest_hypercall(d, VMCI_QUEUEPAIR_DETACH, &m, sizeof m);
        }
        ep_free(ep);
        vmci_restab_remove_entry(&d->res, r);
        return VMCI_ERROR_NO_MEM;
    }
    d->eps[d->neps++] = ep;
    *out = qp;
    return VMCI_SUCCESS;
}

int guest_qp_alloc(struct guest_drv *d, struct vmci_qp **out, vmci_handle *handle,
                   uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                   uint32_t priv_flags)
{
    int rc;
    vmci_handle h = *handle;
    if (vmci_handle_invalid(h))
        h = vmci_make_handle(d->cid, VMCI_INVALID_ID);
    struct guest_qp_ep *ep = NULL;
    if (d->dead || !d->dev) {
        rc = VMCI_ERROR_DEVICE_NOT_FOUND;
    } else if (priv_flags != VMCI_NO_PRIVILEGE_FLAGS) {
        rc = VMCI_ERROR_NO_ACCESS;
    } else if ((ep = find_ep(d, h)) != NULL) {
        rc = (ep->flags & VMCI_QPFLAG_LOCAL)
                 ? local_attach(d, ep, out, produce_size, consume_size, flags)
                 : VMCI_ERROR_ALREADY_EXISTS;
    } else {
        rc = create(d, h, out, produce_size, consume_size, peer, flags);
    }
    if (rc >= VMCI_SUCCESS)
        *handle = (*out)->handle;
    sim_trace_vm(d->sim, d->vm, "qp-alloc-guest",
                 "ctx=%u handle=%u:%u peer=%u flags=%u "
                 "produce=%llu consume=%llu local=%d result=%s",
                 d->cid, rc >= 0 ? (*out)->handle.context : h.context,
                 rc >= 0 ? (*out)->handle.resource : h.resource, peer, flags,
                 (unsigned long long)produce_size, (unsigned long long)consume_size,
                 (flags & VMCI_QPFLAG_LOCAL) ? 1 : 0, vmci_strerror(rc));
    return rc < VMCI_SUCCESS ? rc : VMCI_SUCCESS;
}

int guest_qp_detach(struct guest_drv *d, struct vmci_qp *qp)
{
    int rc = VMCI_SUCCESS;
    vmci_handle h = qp->handle;
    if (qp->dead || !qp->ep) {
        rc = VMCI_ERROR_NOT_FOUND; /* its VM was powered off: nothing behind it any more */
    } else {
        struct guest_qp_ep *ep = qp->ep;
        assert(ep->ref_count > 0 && vmci_handle_eq(ep->handle, qp->handle));
        if (ep->flags & VMCI_QPFLAG_LOCAL) {
            if (ep->ref_count > 1)
                local_event(d, VMCI_EVENT_QP_PEER_DETACH, ep->handle);
        } else {
            struct vmci_qp_detach_msg m = {ep->handle};
            rc = guest_hypercall(d, VMCI_QUEUEPAIR_DETACH, &m, sizeof m);
        }
        if (rc >= VMCI_SUCCESS && --ep->ref_count == 0)
            ep_remove(d, ep);
    }
    sim_trace_vm(d->sim, d->vm, "qp-detach-guest", "ctx=%u handle=%u:%u result=%s", d->cid,
                 h.context, h.resource, vmci_strerror(rc));
    qp_forget(d, qp);
    return rc;
}

int guest_qp_view(struct vmci_qp *qp, struct qp_view *view)
{
    if (qp->dead || !qp->ep)
        return VMCI_ERROR_QUEUEPAIR_NOTATTACHED;
    struct guest_qp_ep *ep = qp->ep;
    assert(ep->produce_q && ep->consume_q); /* an endpoint owns both queues while it lives */
    view->produce = qp->swapped ? *ep->consume_q : *ep->produce_q;
    view->consume = qp->swapped ? *ep->produce_q : *ep->consume_q;
    return VMCI_SUCCESS;
}

void guest_qp_power_off(struct guest_drv *d)
{
    /* The hypervisor has already detached the VM's pairs (context removal): free the memory;
     * client structs stay, dead, until their owner detaches them or the world ends. */
    for (size_t i = 0; i < d->nqps; i++) {
        d->qps[i]->dead = true;
        d->qps[i]->ep = NULL;
    }
    for (size_t i = 0; i < d->neps; i++)
        ep_free(d->eps[i]);
    free(d->eps);
    d->eps = NULL;
    d->neps = d->eps_cap = 0;
}

void guest_qp_free_all(struct guest_drv *d)
{
    guest_qp_power_off(d);
    for (size_t i = 0; i < d->nqps; i++)
        free(d->qps[i]);
    free(d->qps);
    d->qps = NULL;
    d->nqps = d->qps_cap = 0;
}
