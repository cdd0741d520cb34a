/*
 * hv.c - the hypervisor object: its thread (an event loop), its place among the layers (the
 * lowest; src/assemble.c registers it first), and world teardown.
 */
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"
#include "hypervisor/hv_internal.h"

static void hv_vm_event(void *self, vmcisim_vm *vm, enum sim_vm_event ev)
{
    hv_lifecycle_event(self, vm, ev);
}

static void hv_destroy(void *self)
{
    struct hv *hv = self;
    /* The layers above are gone (devices freed): drop records, never touch their memory. */
    hv_held_free_all(hv);
    hv_work_free_all(hv);
    hv_qp_free_all(hv);
    hv_ctx_free_all(hv);
    vmci_restab_free(&hv->host_res);
    free(hv);
}

static const struct sim_layer_ops hv_layer_ops = {
    .name = "hypervisor",
    .vm_event = hv_vm_event,
    .destroy = hv_destroy,
};

struct hv *hv_of(vmcisim *sim) { return sim_layer_find(sim, &hv_layer_ops); }

struct hv *hv_attach(vmcisim *sim)
{
    struct hv *hv = vmcisim_calloc(1, sizeof *hv);
    if (!hv)
        return NULL;
    hv->sim = sim;
    snprintf(hv->self_vm.name, sizeof hv->self_vm.name, "hypervisor");
    hv->self_vm.sim = sim;
    hv->self_vm.cid = VMCISIM_HYPERVISOR_CID;
    hv->self_vm.state = VMCISIM_VM_RUNNING;
    vmci_restab_init(&hv->host_res);
    hv_work_init(hv);
    hv->loop = sim_loop_create(sim, &hv->self_vm, "hypervisor");
    if (!hv->loop || sim_register_layer(sim, &hv_layer_ops, hv) != 0) {
        free(hv);
        return NULL;
    }
    return hv;
}
