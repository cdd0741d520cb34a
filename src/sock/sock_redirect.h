/*
 * sock_redirect.h - a hook the socket core offers for stream connection requests that reach a
 * port where nothing listens. A layer above (the hybrid-vsock bridge, src/bridge/) registers a
 * function that may name another port of the same context whose listener takes the request
 * instead; the core never names who registered it (docs/architecture.md, layering).
 *
 * Without a hook, or when every hook declines, the requester gets the reset Linux gives
 * (vmci-semantics.md §2.5: ECONNRESET). The child socket keeps the port the peer asked for as
 * its local address, so the peer's view of the connection is unchanged.
 */
#ifndef VMCISIM_SOCK_REDIRECT_H
#define VMCISIM_SOCK_REDIRECT_H

#include <stdint.h>

#include "vmcisim/vmcisim.h"

/* Called inside the world (realtime: with the world lock held) on the context's packet path:
 * it must not block, wait or make socket calls. vm: the context the request reached; port: the
 * port asked for; src_cid/src_port: the requester. Returns the port of a listener of vm to hand
 * the request to, or VMADDR_PORT_ANY ((uint32_t)-1) to decline. */
typedef uint32_t (*vsock_redirect_fn)(void *arg, vmcisim_vm *vm, uint32_t port, uint32_t src_cid,
                                      uint32_t src_port);

#define VSOCK_MAX_REDIRECTS 16

/* Register fn for requests to vm (from any thread, before or during vmcisim_run). 0, or -1 with
 * errno ENOSPC (too many hooks) or EINVAL (no sockets layer in this world). The hook stays until
 * the world is destroyed or it is removed; arg must live that long. */
int vsock_redirect_add(vmcisim *sim, vmcisim_vm *vm, vsock_redirect_fn fn, void *arg);
void vsock_redirect_remove(vmcisim *sim, vsock_redirect_fn fn, void *arg);

#endif
