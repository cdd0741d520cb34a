/*
 * context_table.c - the hypervisor's contexts (§6): CID 2 for the host, one per running VM,
 * with its privilege flags (§5.4), the queue pairs it is attached to, the queue memory it
 * backs and its doorbell links. CID 0 is the hypervisor itself and has no record.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"
#include "hypervisor/hv_internal.h"

struct hv_context *hv_ctx_by_cid(struct hv *hv, uint32_t cid)
{
    if (cid == VMCI_INVALID_ID)
        return NULL;
    for (size_t i = 0; i < hv->nctxs; i++)
        if (hv->ctxs[i]->cid == cid)
            return hv->ctxs[i];
    return NULL;
}

struct hv_context *hv_ctx_by_vm(struct hv *hv, vmcisim_vm *vm)
{
    for (size_t i = 0; i < hv->nctxs; i++)
        if (hv->ctxs[i]->vm == vm)
            return hv->ctxs[i];
    return NULL;
}

static uint32_t priv_from_vm(const vmcisim_vm *vm)
{
    uint32_t p = 0;
    if (vm->flags & VMCISIM_VM_RESTRICTED)
        p |= VMCI_PRIVILEGE_FLAG_RESTRICTED;
    if (vm->flags & VMCISIM_VM_TRUSTED)
        p |= VMCI_PRIVILEGE_FLAG_TRUSTED;
    return p;
}

int hv_ctx_add(struct hv *hv, vmcisim_vm *vm)
{
    assert(!hv_ctx_by_vm(hv, vm));
    if (hv_ctx_by_cid(hv, vm->cid))
        return VMCI_ERROR_ALREADY_EXISTS;
    struct hv_context **a = vmcisim_grow(hv->ctxs, &hv->ctxs_cap, hv->nctxs, 8);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    hv->ctxs = a;
    struct hv_context *c = vmcisim_calloc(1, sizeof *c);
    if (!c)
        return VMCI_ERROR_NO_MEM;
    c->vm = vm;
    c->cid = vm->cid;
    c->priv_flags = priv_from_vm(vm);
    hv->ctxs[hv->nctxs++] = c;
    sim_trace_vm(hv->sim, vm, "ctx-create", "cid=%u priv=%u", c->cid, c->priv_flags);
    vm->hvctx = c;
    return VMCI_SUCCESS;
}

static void ctx_free(struct hv_context *c)
{
    free(c->qps);
    free(c->dbs);
    free(c);
}

void hv_ctx_free_all(struct hv *hv)
{
    for (size_t i = 0; i < hv->nctxs; i++) {
        hv->ctxs[i]->vm->hvctx = NULL;
        ctx_free(hv->ctxs[i]);
    }
    free(hv->ctxs);
    hv->ctxs = NULL;
    hv->nctxs = hv->ctxs_cap = 0;
}

int hv_ctx_qp_add(struct hv_context *c, vmci_handle h)
{
    if (hv_ctx_qp_has(c, h))
        return VMCI_ERROR_DUPLICATE_ENTRY;
    vmci_handle *a = vmcisim_grow(c->qps, &c->qps_cap, c->nqps, 8);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    c->qps = a;
    c->qps[c->nqps++] = h;
    return VMCI_SUCCESS;
}

bool hv_ctx_qp_has(const struct hv_context *c, vmci_handle h)
{
    for (size_t i = 0; i < c->nqps; i++)
        if (vmci_handle_eq(c->qps[i], h))
            return true;
    return false;
}

void hv_ctx_qp_remove(struct hv_context *c, vmci_handle h)
{
    for (size_t i = 0; i < c->nqps; i++) {
        if (vmci_handle_eq(c->qps[i], h)) {
            memmove(&c->qps[i], &c->qps[i + 1], (c->nqps - i - 1) * sizeof *c->qps);
            c->nqps--;
            return;
        }
    }
}

vmcisim_vm *hv_trace_vm(struct hv *hv, uint32_t cid)
{
    struct hv_context *c = hv_ctx_by_cid(hv, cid);
    return c ? c->vm : &hv->self_vm;
}

/* ---- public ------------------------------------------------------------------------------ */

uint32_t hv_context_priv_flags(struct hv *hv, uint32_t cid)
{
    if (cid == VMCI_HYPERVISOR_CONTEXT_ID)
        return VMCI_PRIVILEGE_FLAG_TRUSTED;    /* maximally privileged (§5.4) */
    struct hv_context *c = hv_ctx_by_cid(hv, cid);
    return c ? c->priv_flags : VMCI_PRIVILEGE_FLAG_RESTRICTED; /* least privilege */
}

bool hv_context_exists(struct hv *hv, uint32_t cid) { return hv_ctx_by_cid(hv, cid) != NULL; }

int hv_context_attach_device(struct hv *hv, vmcisim_vm *vm, const struct hv_dev_port *port,
                             void *dev)
{
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    if (!c || vm->is_host)
        return VMCI_ERROR_NOT_FOUND;
    assert(port && dev);
    c->port = port;
    c->dev = dev;
    port->set_ft(dev, vm->fault_tolerance != 0);
    return VMCI_SUCCESS;
}

void hv_context_remove(struct hv *hv, vmcisim_vm *vm)
{
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    if (!c)
        return;
    assert(!vm->is_host);
    uint32_t cid = c->cid, priv = c->priv_flags;
    sim_trace_vm(hv->sim, vm, "ctx-remove", "cid=%u qps=%zu doorbells=%zu", cid, c->nqps, c->ndbs);
    /* Out of the table first: nothing routes to it any more, and it is not told about its own
     * removal. */
    for (size_t i = 0; i < hv->nctxs; i++) {
        if (hv->ctxs[i] == c) {
            memmove(&hv->ctxs[i], &hv->ctxs[i + 1], (hv->nctxs - i - 1) * sizeof *hv->ctxs);
            hv->nctxs--;
            break;
        }
    }
    vm->hvctx = NULL;
    /* As the reference does: those allowed to see it learn it is gone (§6), then every queue
     * pair of the context is detached as if the VM had done it, oldest first: peers get
     * QP_PEER_DETACH. */
    hv_event_ctx_removed(hv, cid, priv);
    while (c->nqps > 0) {
        vmci_handle h = c->qps[0];
        if (hv_qp_detach(hv, c, h) < VMCI_SUCCESS)
            hv_ctx_qp_remove(c, h);
    }
    c->ndbs = 0;
    hv_held_drop_ctx(hv, c);
    assert(c->nqps == 0 && c->qp_mem == 0);
    ctx_free(c);
}

int hv_context_change_cid(vmcisim_vm *vm, uint32_t new_cid)
{
    if (!vm)
        return VMCI_ERROR_INVALID_ARGS;
    struct hv *hv = hv_of(vm->sim);
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    if (!c || vm->is_host || vm->state != VMCISIM_VM_RUNNING ||
        new_cid < HV_FIRST_VM_CID ||
        new_cid == VMCI_INVALID_ID)
        return VMCI_ERROR_INVALID_ARGS;
    if (new_cid == c->cid)
        return VMCI_SUCCESS;
    if (hv_ctx_by_cid(hv, new_cid) || sim_vm_by_cid(vm->sim, new_cid))
        return VMCI_ERROR_ALREADY_EXISTS;
    uint32_t old = c->cid;
    sim_trace_vm(hv->sim, vm, "ctx-cid-change", "old=%u new=%u", old, new_cid);
    c->cid = new_cid;
    vm->cid = new_cid;
    hv_qp_rename_cid(hv, old, new_cid);
    hv_event_ctx(hv, new_cid, VMCI_EVENT_CTX_ID_UPDATE, new_cid);
    return VMCI_SUCCESS;
}
