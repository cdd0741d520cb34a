/*
 * hv.c - the hypervisor object: its thread (an event loop) and its place among the layers.
 */
#include <stdlib.h>
#include <string.h>

#include "hv.h"

static void hv_destroy(void *self)
{
    free(self);
}

static const struct sim_layer_ops hv_layer_ops = {
    .name = "hypervisor",
    .destroy = hv_destroy,
};

int hv_attach(vmcisim *sim)
{
    struct hv *hv = calloc(1, sizeof *hv);
    if (!hv)
        return -1;
    hv->sim = sim;
    snprintf(hv->self_vm.name, sizeof hv->self_vm.name, "hypervisor");
    hv->self_vm.sim = sim;
    hv->self_vm.cid = VMCISIM_HYPERVISOR_CID;
    hv->self_vm.state = VMCISIM_VM_RUNNING;
    hv->loop = sim_loop_create(sim, &hv->self_vm, "hypervisor");
    if (!hv->loop || sim_register_layer(sim, &hv_layer_ops, hv) != 0) {
        free(hv);
        return -1;
    }
    sim_set_hv(sim, hv);
    return 0;
}
