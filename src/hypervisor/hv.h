/*
 * hv.h - the hypervisor: owner of CID 0, the context table, datagram routing, the queue-pair
 * broker and event delivery. It runs as its own thread around an event loop (libev in realtime
 * mode) for its timers and deferred work; hypercalls run synchronously in the caller's context,
 * inside the world, as a trap into the VMM would.
 */
#ifndef VMCISIM_HV_H
#define VMCISIM_HV_H

#include "../sim/sim.h"

struct hv {
    vmcisim *sim;
    vmcisim_vm self_vm;     /* the hypervisor's own identity in the trace: "hypervisor/0" */
    sim_loop *loop;         /* the hypervisor thread */
};

/* Create the hypervisor of a world and register it as the lowest layer. */
int hv_attach(vmcisim *sim);

#endif
