/*
 * vmci_stack.h - the layer of VMCI devices, guest drivers and the host endpoint, registered by
 * src/assemble.c right after the hypervisor (so it hears lifecycle events after the hypervisor
 * on created/resume/ft-off, before it otherwise).
 */
#ifndef VMCISIM_VMCI_STACK_H
#define VMCISIM_VMCI_STACK_H

#include "sim/sim.h"

struct hv;

int vmci_stack_attach(vmcisim *sim, struct hv *hv);

#endif
