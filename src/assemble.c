/*
 * assemble.c - vmcisim_create: a world built from the bottom up. Each layer registers with the
 * runtime as it is attached, and the registration order is the order in which layers hear of
 * VM lifecycle events (sim_register_layer): hypervisor, VMCI stack, sockets (with the VMCI
 * transports registered in it). The host VM is
 * made once the VMCI stack is there (the order of thread creation, hence of the trace, is part
 * of every seed's outcome: hypervisor loop, then the host's kernel worker).
 */
#include "assemble.h"

#include "guest/vmci_stack.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "sock/vmci_transport.h"
#include "sock/vsock.h"

static vmcisim *assemble(const struct vmcisim_config *cfg, bool with_sockets)
{
    vmcisim *sim = sim_world_new(cfg);
    if (!sim)
        return NULL;
    struct hv *hv = hv_attach(sim);
    struct sock_world *sw = NULL;
    if (!hv || vmci_stack_attach(sim, hv) != 0 || !sim_world_add_host(sim) ||
        (with_sockets && (!(sw = sock_attach(sim)) || vmci_transport_register(sw) != 0))) {
        vmcisim_destroy(sim);   /* frees what registered so far */
        return NULL;
    }
    sim_world_ready(sim);
    return sim;
}

vmcisim *vmcisim_create(const struct vmcisim_config *cfg) { return assemble(cfg, true); }

vmcisim *sim_create_without_sockets(const struct vmcisim_config *cfg)
{
    return assemble(cfg, false);
}
