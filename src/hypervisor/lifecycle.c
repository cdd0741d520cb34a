/*
 * lifecycle.c - what VM lifecycle events do to the hypervisor's records (vmci-semantics.md §6;
 * docs/vmci-stack.md "Lifecycle").
 *
 *  created    a context for the VM (or the host), privilege flags from vm->flags.
 *  suspend    (after the device was quiesced by the layer above) the broker moves the VM's
 *             pairs to *_NO_MEM: host data calls get QUEUEPAIR_NOT_READY, space/ready 0.
 *  resume     pairs back to *_MEM; CTX_ID_UPDATE (same CID: "sent if updated or resumed")
 *             and QP_RESUMED are queued for the guest; the device, unquiesced by the layer
 *             above right after, delivers them after whatever waited in its queue.
 *  migrate    a checkpoint and restore of the running VM: unmap + map, then CTX_ID_UPDATE and
 *             QP_RESUMED, so the guest's sockets drop their streams (§6 vMotion).
 *  ft-on      the device shows VMCI_STATUS_FT, the broker refuses new pairs involving the VM
 *             (UNAVAILABLE), and the guest gets the same checkpoint/restore as migrate.
 *  ft-off     the device flag is cleared; pairs may be made again.
 *  power-off  the device's power-off already removed the context (hv_context_remove); a VM
 *             without a device is removed here.
 */
#include "hypervisor/hv_internal.h"

static void checkpoint_restore(struct hv *hv, struct hv_context *c, const char *why)
{
    sim_trace_vm(hv->sim, c->vm, "ctx-checkpoint-restore", "cid=%u why=%s", c->cid, why);
    hv_qp_unmap_context(hv, c);
    hv_qp_map_context(hv, c);
    hv_event_ctx(hv, c->cid, VMCI_EVENT_CTX_ID_UPDATE, c->cid);
    hv_event_simple(hv, c->cid, VMCI_EVENT_QP_RESUMED);
}

void hv_lifecycle_event(struct hv *hv, vmcisim_vm *vm, enum sim_vm_event ev)
{
    struct hv_context *c = hv_ctx_by_vm(hv, vm);
    switch (ev) {
    case SIM_VM_CREATED:
        if (!c && hv_ctx_add(hv, vm) != VMCI_SUCCESS)
            sim_trace_vm(hv->sim, vm, "ctx-create", "cid=%u result=failed", vm->cid);
        break;
    case SIM_VM_SUSPEND:
        if (c)
            hv_qp_unmap_context(hv, c);
        break;
    case SIM_VM_RESUME:
        if (c) {
            hv_qp_map_context(hv, c);
            hv_event_ctx(hv, c->cid, VMCI_EVENT_CTX_ID_UPDATE, c->cid);
            hv_event_simple(hv, c->cid, VMCI_EVENT_QP_RESUMED);
        }
        break;
    case SIM_VM_MIGRATE:
        if (c)
            checkpoint_restore(hv, c, "migrate");
        break;
    case SIM_VM_FT_ON:
        if (c) {
            if (c->dev)
                c->port->set_ft(c->dev, true);
            checkpoint_restore(hv, c, "fault-tolerance");
        }
        break;
    case SIM_VM_FT_OFF:
        if (c && c->dev)
            c->port->set_ft(c->dev, false);
        break;
    case SIM_VM_POWER_OFF:
        if (c)
            hv_context_remove(hv, vm);
        break;
    }
}
