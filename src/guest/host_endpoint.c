/*
 * host_endpoint.c - the VMCI kernel API of the host (CID 2): the same calls as a guest's, made
 * straight to the hypervisor (the host kernel's VMCI), with no device in between.
 *
 * Host datagram callbacks run in the sender's context (a guest's send), or on the host's kernel
 * worker for DELAYED_CB handles and datagrams the host sends itself (hypervisor, §5.3). Event
 * callbacks run on the host's kernel worker: the hypervisor queues event datagrams there and
 * this file calls every subscriber of the type. Queue pairs are broker entries: the host sees
 * the guest's memory only while the guest is attached and not quiesced.
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv.h"
#include "guest/kapi_internal.h"
#include "sim/alloc.h"
#include "guest/kapi_internal.h"

static void on_event(void *arg, const struct vmci_datagram *dg)
{
    struct host_ep *h = arg;
    struct vmci_event_data ed;
    if (event_parse(dg, &ed) != VMCI_SUCCESS) {
        sim_trace_vm(h->base.sim, h->base.vm, "dg-drop",
                     "src=%u:%u dst=%u:%u size=%llu "
                     "reason=bad-event",
                     dg->src.context, dg->src.resource, dg->dst.context, dg->dst.resource,
                     (unsigned long long)VMCI_DG_SIZE(dg));
        return;
    }
    event_subs_dispatch(&h->subs, h->base.sim, h->base.vm, &ed);
}

struct host_ep *host_ep_create(struct vmci_stack *st, vmcisim_vm *host, struct hv *hv)
{
    struct host_ep *h = vmcisim_calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->base.kind = VMCI_KERNEL_HOST;
    h->base.ops = &host_kernel_ops;
    h->base.vm = host;
    h->base.sim = host->sim;
    h->base.stack = st;
    h->base.cid = VMCI_HOST_CONTEXT_ID;
    h->hv = hv;
    hv_host_set_event_handler(hv, on_event, h);
    return h;
}

void host_ep_free(struct host_ep *h)
{
    if (!h)
        return;
    hv_host_set_event_handler(h->hv, NULL, NULL);
    event_subs_free(&h->subs);
    free(h);
}

uint32_t host_priv_flags(struct host_ep *h, uint32_t cid)
{
    return hv_context_priv_flags(h->hv, cid);
}

int host_dg_create(struct host_ep *h, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                   vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out)
{
    return hv_host_dg_create(h->hv, rid, flags, priv_flags, cb, client_data, out);
}

int host_dg_destroy(struct host_ep *h, vmci_handle handle)
{
    return hv_host_dg_destroy(h->hv, handle);
}

int host_dg_send(struct host_ep *h, struct vmci_datagram *dg) { return hv_host_dg_send(h->hv, dg); }

int host_event_subscribe(struct host_ep *h, uint32_t event, vmci_event_cb cb, void *data,
                         uint32_t *sub_id)
{
    int rc = event_subs_add(&h->subs, event, cb, data, sub_id);
    sim_trace_vm(h->base.sim, h->base.vm, "event-subscribe", "type=%s id=%u result=%s",
                 event_type_name(event), rc == VMCI_SUCCESS ? *sub_id : 0, vmci_strerror(rc));
    return rc;
}

int host_event_unsubscribe(struct host_ep *h, uint32_t sub_id)
{
    int rc = event_subs_remove(&h->subs, sub_id);
    sim_trace_vm(h->base.sim, h->base.vm, "event-unsubscribe", "id=%u result=%s", sub_id,
                 vmci_strerror(rc));
    return rc;
}

int host_qp_alloc(struct host_ep *h, struct vmci_qp **out, vmci_handle *handle,
                  uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                  uint32_t priv_flags)
{
    struct vmci_qp *qp = vmcisim_calloc(1, sizeof *qp);
    if (!qp)
        return VMCI_ERROR_NO_MEM;
    vmci_handle hd = *handle;
    struct hv_qp_entry *e = NULL;
    int rc = hv_host_qp_alloc(h->hv, &hd, produce_size, consume_size, peer, flags, priv_flags,
                              &e);
    if (rc < VMCI_SUCCESS) {
        free(qp);
        return rc;
    }
    qp->kind = VMCI_KERNEL_HOST;
    qp->ctx = h->base.vm;
    qp->handle = hd;
    qp->produce_size = produce_size;
    qp->consume_size = consume_size;
    qp->peer = peer;
    qp->flags = flags;
    qp->entry = e;
    *handle = hd;
    *out = qp;
    return VMCI_SUCCESS;
}

int host_qp_detach(struct host_ep *h, struct vmci_qp *qp)
{
    int rc = hv_host_qp_detach(h->hv, qp->entry);
    free(qp);
    return rc;
}

int host_qp_view(struct host_ep *h, struct vmci_qp *qp, struct qp_view *view)
{
    return hv_host_qp_view(h->hv, qp->entry, view);
}

int host_db_create(struct host_ep *h, vmci_handle *handle, uint32_t flags, uint32_t priv_flags,
                   vmci_callback cb, void *client_data)
{
    return hv_host_db_create(h->hv, handle, flags, priv_flags, cb, client_data);
}

int host_db_destroy(struct host_ep *h, vmci_handle handle)
{
    return hv_host_db_destroy(h->hv, handle);
}

int host_db_notify(struct host_ep *h, vmci_handle dst, uint32_t priv_flags)
{
    return hv_host_db_notify(h->hv, dst, priv_flags);
}

/* ---- the host kernel's operations (kapi.c): the same calls on the host endpoint ----------- */

#define HOST(d) ((struct host_ep *)(d))   /* base is the first member of struct host_ep */

static uint32_t ops_context_id(struct guest_drv *d)
{
    (void)d;
    return VMCI_HOST_CONTEXT_ID;
}
static uint32_t ops_priv_flags(struct guest_drv *d, uint32_t cid)
{
    return host_priv_flags(HOST(d), cid);
}
static int ops_dg_create(struct guest_drv *d, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                         vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out)
{
    return host_dg_create(HOST(d), rid, flags, priv_flags, cb, client_data, out);
}
static int ops_dg_destroy(struct guest_drv *d, vmci_handle handle)
{
    return host_dg_destroy(HOST(d), handle);
}
static int ops_dg_send(struct guest_drv *d, struct vmci_datagram *dg)
{
    return host_dg_send(HOST(d), dg);
}
static int ops_event_subscribe(struct guest_drv *d, uint32_t event, vmci_event_cb cb,
                               void *data, uint32_t *sub_id)
{
    return host_event_subscribe(HOST(d), event, cb, data, sub_id);
}
static int ops_event_unsubscribe(struct guest_drv *d, uint32_t sub_id)
{
    return host_event_unsubscribe(HOST(d), sub_id);
}
static int ops_db_create(struct guest_drv *d, vmci_handle *handle, uint32_t flags,
                         uint32_t priv_flags, vmci_callback cb, void *client_data)
{
    return host_db_create(HOST(d), handle, flags, priv_flags, cb, client_data);
}
static int ops_db_destroy(struct guest_drv *d, vmci_handle handle)
{
    return host_db_destroy(HOST(d), handle);
}
static int ops_db_notify(struct guest_drv *d, vmci_handle dst, uint32_t priv_flags)
{
    return host_db_notify(HOST(d), dst, priv_flags);
}
static int ops_qp_alloc(struct guest_drv *d, struct vmci_qp **out, vmci_handle *handle,
                        uint64_t produce_size, uint64_t consume_size, uint32_t peer,
                        uint32_t flags, uint32_t priv_flags)
{
    return host_qp_alloc(HOST(d), out, handle, produce_size, consume_size, peer, flags,
                         priv_flags);
}
static int ops_qp_detach(struct guest_drv *d, struct vmci_qp *qp)
{
    return host_qp_detach(HOST(d), qp);
}
static int ops_qp_view(struct guest_drv *d, struct vmci_qp *qp, struct qp_view *view)
{
    return host_qp_view(HOST(d), qp, view);
}

const struct vmci_kernel_ops host_kernel_ops = {
    .context_id = ops_context_id,
    .priv_flags = ops_priv_flags,
    .dg_create = ops_dg_create,
    .dg_destroy = ops_dg_destroy,
    .dg_send = ops_dg_send,
    .event_subscribe = ops_event_subscribe,
    .event_unsubscribe = ops_event_unsubscribe,
    .db_create = ops_db_create,
    .db_destroy = ops_db_destroy,
    .db_notify = ops_db_notify,
    .qp_alloc = ops_qp_alloc,
    .qp_detach = ops_qp_detach,
    .qp_view = ops_qp_view,
};
