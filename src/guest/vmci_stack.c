/*
 * vmci_stack.c - the layer above the hypervisor: each guest's VMCI device and driver, and the
 * host endpoint, through the VM lifecycle (docs/vmci-stack.md "Lifecycle").
 *
 *  created    host: the host endpoint. Guest: its device (connected to the hypervisor's context
 *             for it, created just before by the hypervisor layer), then the driver, which
 *             starts at once (services query, GET_CONTEXT_ID).
 *  suspend    the device is quiesced: datagrams for the VM wait in its queue, no interrupt.
 *  resume     the device is unquiesced: what waited (and the hypervisor's CTX_ID_UPDATE and
 *             QP_RESUMED) is delivered on the VM's kernel worker, in arrival order.
 *  power-off  the device powers off (its queue is dropped, and the hypervisor removes the
 *             context: pairs detached, peers told, CTX_REMOVED), then the driver frees its
 *             memory, handles and subscriptions and stays behind, dead, until world teardown.
 *  migrate, ft-on, ft-off: nothing here; the hypervisor layer does it all.
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv.h"
#include "guest/kapi_internal.h"
#include "guest/vmci_stack.h"
#include "sim/alloc.h"
#include "guest/kapi_internal.h"
#include "guest/vmci_stack.h"

static void guest_created(struct vmci_stack *st, vmcisim_vm *vm)
{
    struct guest_drv **a = vmcisim_grow(st->drvs, &st->drvs_cap, st->ndrvs, 8);
    if (!a)
        return;
    st->drvs = a;
    struct vmci_device *dev = vmci_device_create(vm, st->hv);
    struct guest_drv *d = dev ? guest_drv_create(st, vm, dev) : NULL;
    if (!d || vmci_device_attach(dev) != VMCI_SUCCESS) {
        sim_trace_vm(st->sim, vm, "drv-start", "result=failed");
        free(d);
        vmci_device_free(dev);
        return;
    }
    st->drvs[st->ndrvs++] = d;
    vm->dev = dev;
    vm->drv = d;
    guest_drv_start(d);
}

static void guest_power_off(struct vmci_stack *st, vmcisim_vm *vm)
{
    struct guest_drv *d = vm->drv;
    struct vmci_device *dev = vm->dev;
    if (dev)
        vmci_device_power_off(dev);          /* the VMX is gone: the context goes too */
    if (d)
        guest_drv_power_off(d);
    if (dev) {
        vmci_device_free(dev);
        vm->dev = NULL;
    }
}

static void stack_vm_event(void *self, vmcisim_vm *vm, enum sim_vm_event ev)
{
    struct vmci_stack *st = self;
    if (vm->is_host) {
        if (ev == SIM_VM_CREATED && !st->host) {
            st->host = host_ep_create(st, vm, st->hv);
            vm->drv = st->host ? &st->host->base : NULL;
        }
        return;
    }
    switch (ev) {
    case SIM_VM_CREATED:
        guest_created(st, vm);
        break;
    case SIM_VM_SUSPEND:
        if (vm->dev)
            vmci_device_quiesce(vm->dev);
        break;
    case SIM_VM_RESUME:
        if (vm->dev)
            vmci_device_unquiesce(vm->dev);
        break;
    case SIM_VM_POWER_OFF:
        guest_power_off(st, vm);
        break;
    case SIM_VM_MIGRATE:
    case SIM_VM_FT_ON:
    case SIM_VM_FT_OFF:
        break;
    }
}

static void stack_destroy(void *self)
{
    struct vmci_stack *st = self;
    for (size_t i = 0; i < st->ndrvs; i++) {
        struct guest_drv *d = st->drvs[i];
        vmcisim_vm *vm = d->vm;
        struct vmci_device *dev = vm->dev;
        guest_drv_free(d);
        vmci_device_free(dev);
        vm->dev = NULL;
        vm->drv = NULL;
    }
    free(st->drvs);
    if (st->host) {
        st->host->base.vm->drv = NULL;
        host_ep_free(st->host);
    }
    free(st);
}

static const struct sim_layer_ops stack_ops = {
    .name = "vmci",
    .vm_event = stack_vm_event,
    .destroy = stack_destroy,
};

int vmci_stack_attach(vmcisim *sim, struct hv *hv)
{
    struct vmci_stack *st = vmcisim_calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->sim = sim;
    st->hv = hv;
    if (sim_register_layer(sim, &stack_ops, st) != 0) {
        free(st);
        return -1;
    }
    return 0;
}
