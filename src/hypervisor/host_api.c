/*
 * host_api.c - the host kernel's VMCI calls (CID 2), used by the host endpoint: datagram
 * handles in the host kernel's resource table, sends, queue pairs through the broker, doorbells.
 * (The hypervisor and the host kernel share one resource table and one ID counter, as the host
 * driver and its kernel clients do.)
 */
#include <string.h>

#include "hypervisor/hv_internal.h"

static struct hv_context *host_ctx(struct hv *hv)
{
    return hv_ctx_by_cid(hv, VMCI_HOST_CONTEXT_ID);
}

void hv_host_set_event_handler(struct hv *hv, hv_event_fn fn, void *arg)
{
    hv->host_event_fn = fn;
    hv->host_event_arg = arg;
}

int hv_host_dg_create(struct hv *hv, uint32_t resource_id, uint32_t flags, uint32_t priv_flags,
                      hv_dg_cb cb, void *client_data, vmci_handle *out)
{
    int rc;
    struct vmci_resource *r = NULL;
    vmci_handle h = vmci_make_handle((flags & VMCI_FLAG_ANYCID_DG_HND) ? VMCI_INVALID_ID
                                                                      : VMCI_HOST_CONTEXT_ID,
                                     resource_id);
    if (!out || !cb || (flags & VMCI_FLAG_WELLKNOWN_DG_HND) ||
        (flags & ~(VMCI_FLAG_WELLKNOWN_DG_HND | VMCI_FLAG_ANYCID_DG_HND |
                   VMCI_FLAG_DG_DELAYED_CB)) ||
        (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        rc = VMCI_ERROR_INVALID_ARGS;
    else
        rc = vmci_restab_add(&hv->host_res, h, VMCI_RESOURCE_DATAGRAM, &r);
    if (rc == VMCI_SUCCESS) {
        r->flags = flags;
        r->priv_flags = priv_flags;
        r->cb = (vmci_resource_fn)cb;
        r->client_data = client_data;
        *out = r->handle;
    }
    sim_trace_vm(hv->sim, sim_host(hv->sim), "dg-handle-create",
                 "ctx=2 handle=%u:%u flags=%u priv=%u result=%s", r ? r->handle.context : h.context,
                 r ? r->handle.resource : h.resource, flags, priv_flags, vmci_strerror(rc));
    return rc;
}

int hv_host_dg_destroy(struct hv *hv, vmci_handle handle)
{
    struct vmci_resource *r = vmci_restab_lookup(&hv->host_res, handle, VMCI_RESOURCE_DATAGRAM);
    int rc = VMCI_ERROR_NOT_FOUND;
    if (r) {
        hv_work_purge_handle(hv, r->handle, VMCI_RESOURCE_DATAGRAM);
        vmci_restab_remove_entry(&hv->host_res, r);
        rc = VMCI_SUCCESS;
    }
    sim_trace_vm(hv->sim, sim_host(hv->sim), "dg-handle-destroy", "ctx=2 handle=%u:%u result=%s",
                 HV_H(handle), vmci_strerror(rc));
    return rc;
}

int hv_host_dg_send(struct hv *hv, struct vmci_datagram *dg)
{
    if (!dg)
        return VMCI_ERROR_INVALID_ARGS;
    return hv_route_from_host(hv, dg);
}

int hv_host_qp_alloc(struct hv *hv, vmci_handle *handle, uint64_t produce_size,
                     uint64_t consume_size, uint32_t peer, uint32_t flags, uint32_t priv_flags,
                     struct hv_qp_entry **entry)
{
    /* An invalid handle asks for a new one of the host's. */
    vmci_handle h = vmci_handle_invalid(*handle)
                        ? vmci_make_handle(VMCI_HOST_CONTEXT_ID, VMCI_INVALID_ID)
                        : *handle;
    struct hv_qp_entry *e = NULL;
    int rc = hv_qp_alloc(hv, host_ctx(hv), h, peer, flags, priv_flags, produce_size,
                         consume_size, NULL, NULL, &e);
    if (rc >= VMCI_SUCCESS) {
        *handle = e->handle;
        *entry = e;
    }
    return rc;
}

int hv_host_qp_detach(struct hv *hv, struct hv_qp_entry *entry)
{
    return hv_qp_detach(hv, host_ctx(hv), entry->handle);
}

int hv_host_db_create(struct hv *hv, vmci_handle *handle, uint32_t flags, uint32_t priv_flags,
                      hv_db_cb cb, void *client_data)
{
    int rc;
    struct vmci_resource *r = NULL;
    vmci_handle h = handle ? *handle : VMCI_INVALID_HANDLE;
    if (handle && vmci_handle_invalid(h))
        h = vmci_make_handle(VMCI_HOST_CONTEXT_ID, VMCI_INVALID_ID);
    if (!handle || !cb || (flags & ~VMCI_FLAG_DG_DELAYED_CB) ||
        (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        rc = VMCI_ERROR_INVALID_ARGS;
    else if (h.context != VMCI_HOST_CONTEXT_ID)
        rc = VMCI_ERROR_NO_ACCESS;
    else
        rc = vmci_restab_add(&hv->host_res, h, VMCI_RESOURCE_DOORBELL, &r);
    if (rc == VMCI_SUCCESS) {
        r->flags = flags;
        r->priv_flags = priv_flags;
        r->cb = (vmci_resource_fn)cb;
        r->client_data = client_data;
        *handle = r->handle;
    }
    sim_trace_vm(hv->sim, sim_host(hv->sim), "db-create", "ctx=2 handle=%u:%u result=%s",
                 r ? r->handle.context : h.context, r ? r->handle.resource : h.resource,
                 vmci_strerror(rc));
    return rc;
}

int hv_host_db_destroy(struct hv *hv, vmci_handle handle)
{
    struct vmci_resource *r = vmci_restab_lookup(&hv->host_res, handle, VMCI_RESOURCE_DOORBELL);
    int rc = VMCI_ERROR_NOT_FOUND;
    if (r) {
        hv_work_purge_handle(hv, r->handle, VMCI_RESOURCE_DOORBELL);
        vmci_restab_remove_entry(&hv->host_res, r);
        rc = VMCI_SUCCESS;
    }
    sim_trace_vm(hv->sim, sim_host(hv->sim), "db-destroy", "ctx=2 handle=%u:%u result=%s",
                 HV_H(handle), vmci_strerror(rc));
    return rc;
}

int hv_host_db_notify(struct hv *hv, vmci_handle dst, uint32_t priv_flags)
{
    if (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS)
        return VMCI_ERROR_INVALID_ARGS;
    return hv_db_notify(hv, VMCI_HOST_CONTEXT_ID, dst, priv_flags);
}

uint32_t hv_host_deferred_count(struct hv *hv) { return hv->work_datagrams; }

void hv_host_set_rid_range(struct hv *hv, uint32_t lo, uint32_t hi)
{
    vmci_restab_set_range(&hv->host_res, lo, hi);
}
