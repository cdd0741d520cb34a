/*
 * doorbell.c - doorbells: a guest links its doorbell handles to notification bits of its
 * device; the host's are resources of the host kernel's table. Notifying one rings the bit
 * (guest: the device raises its interrupt, the driver runs the callback on its kernel worker) or
 * queues the host callback on the host's kernel worker.
 *
 * Isolation as for datagrams (§5.5): VM to VM is DST_UNREACHABLE; the privilege check of §5.4
 * uses the destination doorbell's flags (host) or context's flags (guest), and the sender's
 * context flags, except that a host sender may name its own flags.
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"
#include "hypervisor/hv_internal.h"

static struct hv_db_link *find_link(struct hv_context *c, vmci_handle h)
{
    for (size_t i = 0; i < c->ndbs; i++)
        if (vmci_handle_eq(c->dbs[i].handle, h))
            return &c->dbs[i];
    return NULL;
}

int hv_db_link(struct hv *hv, struct hv_context *ctx, vmci_handle h, uint32_t idx)
{
    int rc;
    if (vmci_handle_invalid(h) || h.context != ctx->cid) {
        rc = VMCI_ERROR_INVALID_ARGS;
    } else if (find_link(ctx, h)) {
        rc = VMCI_ERROR_DUPLICATE_ENTRY;
    } else {
        rc = VMCI_SUCCESS;
        struct hv_db_link *a = vmcisim_grow(ctx->dbs, &ctx->dbs_cap, ctx->ndbs, 8);
        if (!a)
            rc = VMCI_ERROR_NO_MEM;
        else
            ctx->dbs = a;
        if (rc == VMCI_SUCCESS)
            ctx->dbs[ctx->ndbs++] = (struct hv_db_link){h, idx};
    }
    sim_trace_vm(hv->sim, ctx->vm, "db-link", "ctx=%u handle=%u:%u idx=%u result=%s", ctx->cid,
                 HV_H(h), idx, vmci_strerror(rc));
    return rc;
}

int hv_db_unlink(struct hv *hv, struct hv_context *ctx, vmci_handle h)
{
    struct hv_db_link *l = find_link(ctx, h);
    int rc = VMCI_ERROR_NOT_FOUND;
    if (l) {
        size_t i = (size_t)(l - ctx->dbs);
        memmove(&ctx->dbs[i], &ctx->dbs[i + 1], (ctx->ndbs - i - 1) * sizeof *ctx->dbs);
        ctx->ndbs--;
        rc = VMCI_SUCCESS;
    }
    sim_trace_vm(hv->sim, ctx->vm, "db-unlink", "ctx=%u handle=%u:%u result=%s", ctx->cid, HV_H(h),
                 vmci_strerror(rc));
    return rc;
}

static int notify(struct hv *hv, uint32_t src_cid, vmci_handle dst, uint32_t src_priv)
{
    if (vmci_handle_invalid(dst))
        return VMCI_ERROR_INVALID_ARGS;
    struct hv_context *dctx = hv_ctx_by_cid(hv, dst.context);
    if (!dctx)
        return VMCI_ERROR_NOT_FOUND;
    struct vmci_resource *hr = NULL;
    if (dst.context == VMCI_HOST_CONTEXT_ID) {
        hr = vmci_restab_lookup(&hv->host_res, dst, VMCI_RESOURCE_DOORBELL);
        if (!hr)
            return VMCI_ERROR_NOT_FOUND;
    }
    if (src_cid != dst.context) {
        if (hv_cid_is_vm(src_cid) && hv_cid_is_vm(dst.context))
            return VMCI_ERROR_DST_UNREACHABLE;
        uint32_t dst_priv = hr ? hr->priv_flags : dctx->priv_flags;
        if (src_cid != VMCI_HOST_CONTEXT_ID || src_priv == VMCI_NO_PRIVILEGE_FLAGS)
            src_priv = hv_context_priv_flags(hv, src_cid);
        if (vmci_priv_deny(src_priv, dst_priv))
            return VMCI_ERROR_NO_ACCESS;
    }
    if (hr)
        return hv_work_doorbell(hv, hr->handle);
    struct hv_db_link *l = find_link(dctx, dst);
    if (!l || !dctx->dev)
        return VMCI_ERROR_NOT_FOUND;
    return dctx->port->ring(dctx->dev, l->idx);
}

int hv_db_notify(struct hv *hv, uint32_t src_cid, vmci_handle dst, uint32_t src_priv_flags)
{
    int rc = notify(hv, src_cid, dst, src_priv_flags);
    sim_trace_vm(hv->sim, hv_trace_vm(hv, src_cid), "db-notify", "src=%u dst=%u:%u result=%s",
                 src_cid, HV_H(dst), vmci_strerror(rc));
    return rc;
}
