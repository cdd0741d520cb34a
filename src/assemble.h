/*
 * assemble.h - building a world from the bottom up: the runtime (src/sim), the hypervisor, the
 * VMCI stack (devices, guest drivers, the host endpoint), then, if wanted, the sockets layer.
 * The one place that names every layer; no layer names the ones above it.
 */
#ifndef VMCISIM_ASSEMBLE_H
#define VMCISIM_ASSEMBLE_H

#include "vmcisim/vmcisim.h"

/* A world whose contexts have the VMCI stack but no vsock module above it: for tests of the
 * stack that claim vsock's resources (resource 1) or count event subscriptions from 1. */
vmcisim *sim_create_without_sockets(const struct vmcisim_config *cfg);

#endif
