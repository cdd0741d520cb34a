/*
 * guest_driver.c - a guest VM's VMCI driver: the vmci_kapi.h calls of a guest context except
 * queue pairs (guest_qp.c). It reaches the hypervisor only through the VM's VMCI device.
 *
 *  - start: asks which services exist (RESOURCES_QUERY) and its CID (GET_CONTEXT_ID), caches it;
 *    a CTX_ID_UPDATE event replaces the cached value (§6).
 *  - datagram handles live in the driver's own resource table (its own ID counter from 1024);
 *    sending is the guest half of §5.2 (routing) then the hypercall; the hypervisor stamps the
 *    real source CID.
 *  - the interrupt handler (on vm->kworker) takes datagrams from the device in arrival order:
 *    event datagrams from (0, 0) to resource 0 go to every subscriber of the type; others to
 *    the datagram handle matching the destination (an ANYCID handle matches any CID); a
 *    datagram for no handle is dropped with a trace record (§5.3). Then the doorbell bits.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "guest/kapi_internal.h"
#include "sim/alloc.h"
#include "guest/kapi_internal.h"

static void isr(void *arg);
static void lev_fire(sim_timer *t);

struct guest_drv *guest_drv_create(struct vmci_stack *st, vmcisim_vm *vm,
                                   struct vmci_device *dev)
{
    struct guest_drv *d = vmcisim_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->kind = VMCI_KERNEL_GUEST;
    d->ops = &guest_kernel_ops;
    d->vm = vm;
    d->sim = vm->sim;
    d->stack = st;
    d->dev = dev;
    d->cid = VMCI_INVALID_ID;
    vmci_restab_init(&d->res);
    sim_timer_init(&d->lev_timer.t, lev_fire);
    d->lev_timer.drv = d;
    return d;
}

int guest_hypercall(struct guest_drv *d, uint32_t rid, const void *payload, size_t len)
{
    if (d->dead || !d->dev)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    struct vmci_datagram *dg = vmcisim_malloc(sizeof *dg + len);
    if (!dg)
        return VMCI_ERROR_NO_MEM;
    dg->dst = vmci_make_handle(VMCI_HYPERVISOR_CONTEXT_ID, rid);
    dg->src = VMCI_INVALID_HANDLE;
    dg->payload_size = len;
    if (len)
        memcpy(VMCI_DG_PAYLOAD(dg), payload, len);
    int rc = vmci_device_hypercall(d->dev, dg);
    free(dg);
    return rc;
}

void guest_drv_start(struct guest_drv *d)
{
    vmci_device_set_isr(d->dev, isr, d);
    /* Which services does this hypervisor offer? */
    struct {
        struct vmci_resources_query_msg h;
        uint32_t ids[6];
    } q = {{6, 0},
           {VMCI_GET_CONTEXT_ID, VMCI_DOORBELL_LINK, VMCI_DOORBELL_UNLINK, VMCI_DOORBELL_NOTIFY,
            VMCI_QUEUEPAIR_ALLOC, VMCI_QUEUEPAIR_DETACH}};
    int caps = guest_hypercall(d, VMCI_RESOURCES_QUERY, &q, sizeof q);
    d->host_caps = caps < 0 ? 0 : (uint32_t)caps;
    int cid = guest_hypercall(d, VMCI_GET_CONTEXT_ID, NULL, 0);
    d->cid = cid < 0 ? VMCI_INVALID_ID : (uint32_t)cid;
    sim_trace_vm(d->sim, d->vm, "drv-start", "cid=%u caps=%#x dev_caps=%#x", d->cid, d->host_caps,
                 vmci_device_caps(d->dev));
}

uint32_t guest_get_context_id(struct guest_drv *d) { return d->dead ? VMCI_INVALID_ID : d->cid; }

/* ---- receiving ------------------------------------------------------------------------------ */

static void dispatch_event(struct guest_drv *d, const struct vmci_datagram *dg)
{
    struct vmci_event_data ed;
    if (event_parse(dg, &ed) != VMCI_SUCCESS) {
        sim_trace_vm(d->sim, d->vm, "dg-drop", "src=%u:%u dst=%u:%u size=%llu reason=bad-event",
                     dg->src.context, dg->src.resource, dg->dst.context, dg->dst.resource,
                     (unsigned long long)VMCI_DG_SIZE(dg));
        return;
    }
    if (ed.event == VMCI_EVENT_CTX_ID_UPDATE && ed.u.ctx.context_id != d->cid) {
        sim_trace_vm(d->sim, d->vm, "drv-cid-update", "old=%u new=%u", d->cid, ed.u.ctx.context_id);
        d->cid = ed.u.ctx.context_id;
    }
    event_subs_dispatch(&d->subs, d->sim, d->vm, &ed);
}

static void dispatch_datagram(struct guest_drv *d, struct vmci_datagram *dg)
{
    if (dg->src.context == VMCI_HYPERVISOR_CONTEXT_ID && dg->dst.resource == VMCI_EVENT_HANDLER) {
        dispatch_event(d, dg);
        return;
    }
    struct vmci_resource *r = vmci_restab_lookup(&d->res, dg->dst, VMCI_RESOURCE_DATAGRAM);
    if (!r) {
        /* §5.3: dropped in the guest (NO_HANDLE); the sender already had its success. */
        sim_trace_vm(d->sim, d->vm, "dg-drop", "src=%u:%u dst=%u:%u size=%llu reason=no-handle",
                     dg->src.context, dg->src.resource, dg->dst.context, dg->dst.resource,
                     (unsigned long long)VMCI_DG_SIZE(dg));
        return;
    }
    sim_trace_vm(d->sim, d->vm, "dg-callback", "src=%u:%u dst=%u:%u size=%llu handle=%u:%u",
                 dg->src.context, dg->src.resource, dg->dst.context, dg->dst.resource,
                 (unsigned long long)VMCI_DG_SIZE(dg), r->handle.context, r->handle.resource);
    vmci_datagram_recv_cb cb = (vmci_datagram_recv_cb)r->cb;
    cb(r->client_data, dg);
}

static bool can_run(struct guest_drv *d)
{
    return !d->dead && d->dev && !(vmci_device_status(d->dev) & VMCI_STATUS_QUIESCED);
}

static void ring(struct guest_drv *d, uint32_t idx)
{
    assert(can_run(d)); /* a quiesced or dead driver runs no callbacks */
    struct guest_db *db = idx < d->ndbs ? d->dbs[idx] : NULL;
    sim_trace_vm(d->sim, d->vm, "db-callback", "idx=%u handle=%u:%u ran=%d", idx,
                 db ? db->handle.context : VMCI_INVALID_ID,
                 db ? db->handle.resource : VMCI_INVALID_ID, db ? 1 : 0);
    if (db)
        db->cb(db->client_data);
}

/* The device's interrupt, on the VM's kernel worker. One datagram at a time: a callback may be
 * a scheduling point, and more may arrive meanwhile. */
static void isr(void *arg)
{
    struct guest_drv *d = arg;
    uint32_t icr = vmci_device_read_icr(d->dev);
    sim_trace_vm(d->sim, d->vm, "irq", "icr=%u queued=%llu", icr,
                 (unsigned long long)vmci_device_rx_count(d->dev));
    while (can_run(d)) {
        struct vmci_datagram *dg = vmci_device_rx_pop(d->dev);
        if (!dg)
            break;
        assert(d->cur_dg == NULL); /* one datagram at a time: the ISR does not nest */
        d->cur_dg = dg;
        dispatch_datagram(d, dg);
        d->cur_dg = NULL;
        free(dg);
    }
    uint32_t idx;
    while (can_run(d) && vmci_device_notify_pop(d->dev, &idx))
        ring(d, idx);
}

/* ---- local events (local queue-pair attach/detach never leave the guest) ------------------ */

void guest_local_event(struct guest_drv *d, const struct vmci_event_data *ed)
{
    struct guest_local_event *e = vmcisim_malloc(sizeof *e);
    if (!e)
        return;
    e->next = NULL;
    e->ed = *ed;
    if (d->lev_tail)
        d->lev_tail->next = e;
    else
        d->lev_head = e;
    d->lev_tail = e;
    sim_trace_vm(d->sim, d->vm, "event", "type=%s to=%u handle=%u:%u peer=%u local=1",
                 event_type_name(ed->event), d->cid, ed->u.qp.handle.context,
                 ed->u.qp.handle.resource, ed->u.qp.peer_id);
    if (!sim_timer_armed(&d->lev_timer.t))
        sim_timer_arm(d->vm->kworker, &d->lev_timer.t, sim_now(d->sim));
}

static void lev_fire(sim_timer *t)
{
    struct guest_drv *d = ((struct guest_timer *)t)->drv;
    while (can_run(d) && d->lev_head) {
        struct guest_local_event *e = d->lev_head;
        d->lev_head = e->next;
        if (!d->lev_head)
            d->lev_tail = NULL;
        d->cur_lev = e;
        event_subs_dispatch(&d->subs, d->sim, d->vm, &e->ed);
        d->cur_lev = NULL;
        free(e);
    }
}

/* ---- datagram handles and sending --------------------------------------------------------- */

int guest_dg_create(struct guest_drv *d, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                    vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out)
{
    int rc;
    struct vmci_resource *r = NULL;
    vmci_handle h = vmci_make_handle((flags & VMCI_FLAG_ANYCID_DG_HND) ? VMCI_INVALID_ID : d->cid,
                                     rid);
    if (d->dead)
        rc = VMCI_ERROR_DEVICE_NOT_FOUND;
    else if (!out || !cb || (flags & VMCI_FLAG_WELLKNOWN_DG_HND) ||
             (flags & ~(VMCI_FLAG_WELLKNOWN_DG_HND | VMCI_FLAG_ANYCID_DG_HND |
                        VMCI_FLAG_DG_DELAYED_CB)) ||
             (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        rc = VMCI_ERROR_INVALID_ARGS;
    else if (!(flags & VMCI_FLAG_ANYCID_DG_HND) && d->cid == VMCI_INVALID_ID)
        rc = VMCI_ERROR_NO_RESOURCES;
    else
        rc = vmci_restab_add(&d->res, h, VMCI_RESOURCE_DATAGRAM, &r);
    if (rc == VMCI_SUCCESS) {
        r->flags = flags;
        r->priv_flags = priv_flags;
        r->cb = (vmci_resource_fn)cb;
        r->client_data = client_data;
        *out = r->handle;
    }
    sim_trace_vm(d->sim, d->vm, "dg-handle-create",
                 "ctx=%u handle=%u:%u flags=%u priv=%u "
                 "result=%s",
                 d->cid, r ? r->handle.context : h.context, r ? r->handle.resource : h.resource,
                 flags, priv_flags, vmci_strerror(rc));
    return rc;
}

int guest_dg_destroy(struct guest_drv *d, vmci_handle h)
{
    int rc = d->dead ? VMCI_ERROR_DEVICE_NOT_FOUND
                     : vmci_restab_remove(&d->res, h, VMCI_RESOURCE_DATAGRAM);
    sim_trace_vm(d->sim, d->vm, "dg-handle-destroy", "ctx=%u handle=%u:%u result=%s", d->cid,
                 h.context, h.resource, vmci_strerror(rc));
    return rc;
}

static int guest_route(struct guest_drv *d, struct vmci_datagram *dg)
{
    /* §1.6: at most 69632 bytes, header included. */
    if (dg->payload_size > VMCI_MAX_DG_SIZE || VMCI_DG_SIZE(dg) > VMCI_MAX_DG_SIZE)
        return VMCI_ERROR_INVALID_ARGS;
    /* §5.2, as a guest: everything goes down to the hypervisor; the guest does not filter
     * VM<->VM itself. */
    uint32_t dst = dg->dst.context;
    if (dst == VMCI_INVALID_ID)
        return VMCI_ERROR_INVALID_ARGS;
    if (dst == VMCI_HYPERVISOR_CONTEXT_ID) {
        if (dg->src.context == VMCI_HOST_CONTEXT_ID)
            return VMCI_ERROR_INVALID_ARGS;
        /* An anonymous source (both fields invalid) stays anonymous. */
        if (dg->src.context == VMCI_INVALID_ID && dg->src.resource != VMCI_INVALID_ID)
            dg->src.context = d->cid;
    } else if (dst == VMCI_HOST_CONTEXT_ID && dg->src.context == VMCI_HYPERVISOR_CONTEXT_ID) {
        return VMCI_ERROR_DEVICE_NOT_FOUND; /* hypervisor-sourced: host-local only */
    } else if (dg->src.context == VMCI_INVALID_ID) {
        dg->src.context = d->cid;
    }
    /* The source must be one of this guest's datagram handles. */
    if (!vmci_restab_lookup(&d->res, dg->src, VMCI_RESOURCE_DATAGRAM))
        return VMCI_ERROR_NO_HANDLE;
    return VMCI_SUCCESS;
}

int guest_dg_send(struct guest_drv *d, struct vmci_datagram *dg)
{
    if (d->dead || !d->dev)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    int rc = guest_route(d, dg);
    if (rc != VMCI_SUCCESS) {
        sim_trace_vm(d->sim, d->vm, "dg-send",
                     "from=guest src=%u:%u dst=%u:%u size=%llu "
                     "result=%s stage=guest",
                     dg->src.context, dg->src.resource, dg->dst.context, dg->dst.resource,
                     (unsigned long long)VMCI_DG_SIZE(dg), vmci_strerror(rc));
        return rc;
    }
    return vmci_device_hypercall(d->dev, dg);
}

/* ---- events ------------------------------------------------------------------------------- */

int guest_event_subscribe(struct guest_drv *d, uint32_t event, vmci_event_cb cb, void *data,
                          uint32_t *sub_id)
{
    int rc = d->dead ? VMCI_ERROR_DEVICE_NOT_FOUND
                     : event_subs_add(&d->subs, event, cb, data, sub_id);
    sim_trace_vm(d->sim, d->vm, "event-subscribe", "type=%s id=%u result=%s",
                 event_type_name(event), rc == VMCI_SUCCESS ? *sub_id : 0, vmci_strerror(rc));
    return rc;
}

int guest_event_unsubscribe(struct guest_drv *d, uint32_t sub_id)
{
    int rc = d->dead ? VMCI_ERROR_DEVICE_NOT_FOUND : event_subs_remove(&d->subs, sub_id);
    sim_trace_vm(d->sim, d->vm, "event-unsubscribe", "id=%u result=%s", sub_id, vmci_strerror(rc));
    return rc;
}

/* ---- doorbells ---------------------------------------------------------------------------- */

int guest_db_create(struct guest_drv *d, vmci_handle *handle, uint32_t flags,
                    uint32_t priv_flags, vmci_callback cb, void *client_data)
{
    if (d->dead)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (!handle || !cb || (flags & ~VMCI_FLAG_DG_DELAYED_CB) ||
        (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        return VMCI_ERROR_INVALID_ARGS;
    vmci_handle h = *handle;
    if (vmci_handle_invalid(h))
        h = vmci_make_handle(d->cid, VMCI_INVALID_ID);
    if (h.context != d->cid)
        return VMCI_ERROR_NO_ACCESS;
    size_t idx = 0;
    while (idx < d->ndbs && d->dbs[idx])
        idx++;
    if (idx == d->ndbs) {
        struct guest_db **a = vmcisim_realloc(d->dbs, (d->ndbs + 1) * sizeof *a);
        if (!a)
            return VMCI_ERROR_NO_MEM;
        d->dbs = a;
        d->dbs[d->ndbs++] = NULL;
    }
    struct guest_db *db = vmcisim_calloc(1, sizeof *db);
    if (!db)
        return VMCI_ERROR_NO_MEM;
    struct vmci_resource *r;
    int rc = vmci_restab_add(&d->res, h, VMCI_RESOURCE_DOORBELL, &r);
    if (rc == VMCI_SUCCESS) {
        struct vmci_doorbell_link_msg m = {r->handle, (uint32_t)idx, 0};
        rc = guest_hypercall(d, VMCI_DOORBELL_LINK, &m, sizeof m);
        if (rc < VMCI_SUCCESS)
            vmci_restab_remove_entry(&d->res, r);
    }
    if (rc < VMCI_SUCCESS) {
        free(db);
        sim_trace_vm(d->sim, d->vm, "db-create", "ctx=%u result=%s", d->cid, vmci_strerror(rc));
        return rc;
    }
    db->handle = r->handle;
    db->idx = (uint32_t)idx;
    db->flags = flags;
    db->cb = cb;
    db->client_data = client_data;
    r->owner = db;
    d->dbs[idx] = db;
    *handle = db->handle;
    sim_trace_vm(d->sim, d->vm, "db-create", "ctx=%u handle=%u:%u idx=%zu result=%s", d->cid,
                 db->handle.context, db->handle.resource, idx, vmci_strerror(VMCI_SUCCESS));
    return VMCI_SUCCESS;
}

int guest_db_destroy(struct guest_drv *d, vmci_handle handle)
{
    if (d->dead)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    struct vmci_resource *r = vmci_restab_lookup(&d->res, handle, VMCI_RESOURCE_DOORBELL);
    if (!r)
        return VMCI_ERROR_NOT_FOUND;
    struct guest_db *db = r->owner;
    struct vmci_doorbell_msg m = {r->handle};
    int rc = guest_hypercall(d, VMCI_DOORBELL_UNLINK, &m, sizeof m);
    d->dbs[db->idx] = NULL;
    vmci_restab_remove_entry(&d->res, r);
    free(db);
    sim_trace_vm(d->sim, d->vm, "db-destroy", "ctx=%u handle=%u:%u unlink=%s", d->cid,
                 handle.context, handle.resource, vmci_strerror(rc));
    return VMCI_SUCCESS;
}

int guest_db_notify(struct guest_drv *d, vmci_handle dst, uint32_t priv_flags)
{
    if (d->dead)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (vmci_handle_invalid(dst) || (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        return VMCI_ERROR_INVALID_ARGS;
    struct vmci_doorbell_msg m = {dst};
    return guest_hypercall(d, VMCI_DOORBELL_NOTIFY, &m, sizeof m);
}

/* ---- power off, teardown ---------------------------------------------------------------- */

static void free_state(struct guest_drv *d)
{
    sim_timer_cancel(&d->lev_timer.t);
    while (d->lev_head) {
        struct guest_local_event *e = d->lev_head;
        d->lev_head = e->next;
        free(e);
    }
    d->lev_tail = NULL;
    /* A callback that was running when the VM went away never comes back for these. */
    free(d->cur_dg);
    d->cur_dg = NULL;
    free(d->cur_lev);
    d->cur_lev = NULL;
    for (size_t i = 0; i < d->ndbs; i++)
        free(d->dbs[i]);
    free(d->dbs);
    d->dbs = NULL;
    d->ndbs = 0;
    event_subs_free(&d->subs);
    vmci_restab_free(&d->res);
}

void guest_drv_power_off(struct guest_drv *d)
{
    if (d->dead)
        return;
    sim_trace_vm(d->sim, d->vm, "drv-stop", "cid=%u qps=%zu handles=%zu", d->cid, d->nqps,
                 d->res.len);
    d->dead = true;
    if (d->dev)
        vmci_device_set_isr(d->dev, NULL, NULL);
    guest_qp_power_off(d);
    free_state(d);
    d->dev = NULL;
}

void guest_drv_free(struct guest_drv *d)
{
    if (!d)
        return;
    d->dead = true;
    guest_qp_free_all(d);
    free_state(d);
    free(d);
}

/* ---- the guest kernel's operations (kapi.c) ------------------------------------------------- */

/* A guest has no host device: it knows no other context's flags (the reference answers "none"
 * for every context there); the hypervisor counts as trusted. */
static uint32_t guest_priv_flags(struct guest_drv *d, uint32_t cid)
{
    (void)d;
    return cid == VMCI_HYPERVISOR_CONTEXT_ID ? VMCI_PRIVILEGE_FLAG_TRUSTED
                                             : VMCI_NO_PRIVILEGE_FLAGS;
}

static int guest_qp_view_of(struct guest_drv *d, struct vmci_qp *qp, struct qp_view *view)
{
    (void)d;
    return guest_qp_view(qp, view);
}

const struct vmci_kernel_ops guest_kernel_ops = {
    .context_id = guest_get_context_id,
    .priv_flags = guest_priv_flags,
    .dg_create = guest_dg_create,
    .dg_destroy = guest_dg_destroy,
    .dg_send = guest_dg_send,
    .event_subscribe = guest_event_subscribe,
    .event_unsubscribe = guest_event_unsubscribe,
    .db_create = guest_db_create,
    .db_destroy = guest_db_destroy,
    .db_notify = guest_db_notify,
    .qp_alloc = guest_qp_alloc,
    .qp_detach = guest_qp_detach,
    .qp_view = guest_qp_view_of,
};
