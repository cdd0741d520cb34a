/*
 * vmci_kapi.h - the VMCI kernel API of one context, as its kernel clients (the vsock transports
 * of src/sock) see it. Modeled on Linux's include/linux/vmw_vmci_api.h.
 *
 * Every context has one: a guest VM's is its VMCI driver (src/guest/guest_driver.c), which
 * reaches the hypervisor only through the VM's VMCI device (src/device); the host's (CID 2) is
 * the host endpoint (src/guest/host_endpoint.c), which calls the hypervisor directly.
 *
 * Rules for callers:
 *  - Call inside the world (between sim_enter and sim_leave, or from a loop callback).
 *  - `ctx` is the context the caller runs in (a VM, or the host from sim_host()).
 *  - Results are VMCI codes (vmci_defs.h): >= 0 success, VMCI_ERROR_* < 0.
 *  - Callbacks run inside the world and must not block:
 *      guest: datagram and event callbacks run on the VM's kernel worker thread (vm->kworker),
 *             after the device's interrupt, in the order the datagrams reached the device;
 *      host:  datagram callbacks run at once in the sender's context (inside its send call),
 *             or on the host's kernel worker if the handle has VMCI_FLAG_DG_DELAYED_CB;
 *             event callbacks run on the host's kernel worker.
 *             (Details of the implementation, §5.3: a datagram the host sends to itself also
 *             runs on the host's kernel worker; one the fault/latency knobs held back runs on
 *             the hypervisor's loop thread when released.)
 *    The datagram passed to a callback is valid only during the call.
 *  - No call here is a scheduling point (callbacks call them and must stay atomic). The
 *    socket layer makes a scheduling point before each ring operation of a user call, where it
 *    re-checks its state, so every ring operation is still a point in deterministic mode.
 */
#ifndef VMCISIM_VMCI_KAPI_H
#define VMCISIM_VMCI_KAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmci/qp_queue.h"
#include "vmci/vmci_defs.h"
#include "sim/sim.h"

/* ---- context -------------------------------------------------------------------------------- */

/* The context's own CID: a guest's cached value (asked of the hypervisor through a datagram to
 * (0, VMCI_GET_CONTEXT_ID) when the driver starts, replaced on CTX_ID_UPDATE); 2 on the host. */
uint32_t vmci_get_context_id(vmcisim_vm *ctx);

/* Privilege flags (VMCI_PRIVILEGE_FLAG_*) of context `cid` as `ctx` sees them (§5.4): the
 * hypervisor is trusted; an unknown context counts as restricted. (A guest has no host device and
 * knows no other context's flags: it answers 0 for every CID but 0, as Linux guests do.) */
uint32_t vmci_context_get_priv_flags(vmcisim_vm *ctx, uint32_t cid);

/* §5.4 deny_interaction: one side restricted and the other not trusted. */
static inline bool vmci_deny_interaction(uint32_t part_one, uint32_t part_two)
{
    return vmci_priv_deny(part_one, part_two) != 0; /* the rule lives in vmci_defs.h */
}

/* ---- datagrams (§5) ------------------------------------------------------------------------- */

/* Return value is ignored (kept for fidelity with Linux's callback type). */
typedef int (*vmci_datagram_recv_cb)(void *client_data, struct vmci_datagram *dg);

/* Create a datagram handle (ctx cid, resource_id). resource_id VMCI_INVALID_ID picks a free
 * one from 1024 up (a global sequential counter skipping used IDs, §5.1). flags:
 * VMCI_FLAG_ANYCID_DG_HND (handle matches any destination cid of this context),
 * VMCI_FLAG_DG_DELAYED_CB; VMCI_FLAG_WELLKNOWN_DG_HND -> INVALID_ARGS. priv_flags: the
 * handle's privileges (VMCI_PRIVILEGE_FLAG_TRUSTED for a trusted socket).
 * Errors: ALREADY_EXISTS (resource id taken), NO_HANDLE (no free id), INVALID_ARGS, NO_MEM. */
int vmci_datagram_create_handle(vmcisim_vm *ctx, uint32_t resource_id, uint32_t flags,
                                uint32_t priv_flags, vmci_datagram_recv_cb cb, void *client_data,
                                vmci_handle *out);
int vmci_datagram_destroy_handle(vmcisim_vm *ctx, vmci_handle handle);

/* Send dg (header + payload_size bytes) from ctx: a hypercall for a guest. The hypervisor stamps
 * the real source cid (a guest cannot spoof it) and routes by §5.2/§5.3. Returns the datagram's
 * total size (header included) on success, even if the destination guest later drops it for
 * lack of a handle; or INVALID_ARGS, DST_UNREACHABLE (VM<->VM, unknown cid), INVALID_RESOURCE
 * (no such host handle), NO_ACCESS (privileges), NO_RESOURCES (destination VM's pending
 * datagram queue full), PAYLOAD_TOO_LARGE, DEVICE_NOT_FOUND. */
int vmci_datagram_send(vmcisim_vm *ctx, struct vmci_datagram *dg);

/* ---- events (§4.6) ------------------------------------------------------------------------ */

typedef void (*vmci_event_cb)(uint32_t sub_id, const struct vmci_event_data *ed,
                              void *client_data);
/* Every subscriber of an event type is called for every such event of its context (vsock
 * filters QP events by handle). Subscription IDs are small sequential integers. */
int vmci_event_subscribe(vmcisim_vm *ctx, uint32_t event, vmci_event_cb cb, void *client_data,
                         uint32_t *sub_id);
int vmci_event_unsubscribe(vmcisim_vm *ctx, uint32_t sub_id);

/* ---- queue pairs (§4) --------------------------------------------------------------------- */

struct vmci_qp; /* one endpoint of a queue pair */

/* Create, or attach to, the pair `*handle` (resource VMCI_INVALID_ID: a new one, and *handle is
 * set). produce/consume sizes are from this endpoint's point of view. peer: the other context
 * (VMCI_INVALID_ID: any). flags: VMCI_QPFLAG_ATTACH_ONLY / LOCAL. priv_flags: TRUSTED for a
 * trusted socket (a guest refuses any privilege flag with NO_ACCESS... see §4.5: the caller
 * retries without). Errors per §4.3 (NOT_FOUND, NO_ACCESS, DST_UNREACHABLE, UNAVAILABLE,
 * ALREADY_EXISTS, QUEUEPAIR_MISMATCH, NO_RESOURCES for the 128 MiB cap, INVALID_ARGS, NO_MEM).
 * A pair involving a context in fault tolerance is refused with UNAVAILABLE. */
int vmci_qpair_alloc(vmcisim_vm *ctx, struct vmci_qp **out, vmci_handle *handle,
                     uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                     uint32_t priv_flags);
/* Detach and free this endpoint (*qp set to NULL). The peer gets QP_PEER_DETACH. */
int vmci_qpair_detach(struct vmci_qp **qp);

vmci_handle vmci_qpair_handle(const struct vmci_qp *qp);
uint64_t vmci_qpair_produce_size(const struct vmci_qp *qp);
uint64_t vmci_qpair_consume_size(const struct vmci_qp *qp);

/* Bytes free / ready. 0 when this endpoint cannot see the memory (host side before the guest
 * attached, after it detached, while it is suspended). */
int64_t vmci_qpair_produce_free_space(struct vmci_qp *qp);
int64_t vmci_qpair_produce_buf_ready(struct vmci_qp *qp);
int64_t vmci_qpair_consume_free_space(struct vmci_qp *qp);
int64_t vmci_qpair_consume_buf_ready(struct vmci_qp *qp);

/* Data: as qp_enqueue/qp_dequeue/qp_peek (copy() reads or writes the caller's buffer and may
 * fail -> INVALID_ARGS with nothing moved). When the memory is not visible: QUEUEPAIR_NOT_READY
 * (guest suspended: try again later) or QUEUEPAIR_NOTATTACHED (no peer memory, or it is gone). */
int64_t vmci_qpair_enqueue(struct vmci_qp *qp, const void *buf, size_t len, qp_copy_fn copy);
int64_t vmci_qpair_dequeue(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy);
int64_t vmci_qpair_peek(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy);

/* The same for a simulated thread's own socket call, in realtime mode with the copy outside the
 * world lock (the ring is single-producer/single-consumer; its memory is pinned meanwhile, see
 * qp_queue.h). The caller re-checks its state afterwards: the lock was dropped, its thread may
 * have been ended there (it then unwinds). In deterministic mode: exactly the calls above. */
int64_t vmci_qpair_enqueue_unlocked(struct vmci_qp *qp, const void *buf, size_t len,
                                    qp_copy_fn copy);
int64_t vmci_qpair_dequeue_unlocked(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy);
/* Realtime only: poll the ring outside the world lock for up to spin_ns until the consume queue
 * holds data (want_data) or the produce queue has room. The cheap half of spin-then-sleep: a peer
 * that keeps up is seen without a sleep and a cross-CPU wake-up. True if it dropped the lock
 * (whatever it saw: the caller re-checks its state, wake-ups meanwhile found no waiter).
 * Deterministic mode, or memory not visible: false at once, no scheduling point, no trace. */
bool vmci_qpair_spin(struct vmci_qp *qp, bool want_data, uint64_t spin_ns);
/* The sleeping half: sim_wait(q, deadline, what), except that in realtime mode the thread rings
 * in on the queue pair's doorbell (qp_waiter_arm), so that the peer's next enqueue (want_data)
 * or dequeue (room) wakes it directly, without the world lock. Wake-ups of q still end the wait.
 * Returns what sim_wait returns; the caller re-checks everything. */
int vmci_qpair_wait(struct vmci_qp *qp, bool want_data, sim_waitq *q, uint64_t deadline,
                    const char *what);

/* Shared queues (realtime worlds with exec'd programs; src/preload/qp_shared.h): this endpoint's
 * produce and consume queues' memfds and ring sizes, for a program to map: 0, or -1 when the
 * endpoint cannot see the memory or it is not shared. */
int vmci_qpair_share(struct vmci_qp *qp, int fds[2], uint64_t sizes[2]);
/* This endpoint's gates (QP_GATE_*) in its produce and its consume queue (shared queues only). */
void vmci_qpair_gate(struct vmci_qp *qp, uint32_t produce_gate, uint32_t consume_gate);
/* Ring the doorbell a program's own move did not ring: after it enqueued (data: the peer's
 * reader, if one sleeps on it), or dequeued (room: the peer's writer). */
void vmci_qpair_ring(struct vmci_qp *qp, bool data);

/* ---- doorbells (added by the VMCI stack; modeled on Linux's vmci_doorbell_*) -------------- */

typedef void (*vmci_callback)(void *client_data);

/* Create a doorbell of ctx. *handle: VMCI_INVALID_HANDLE (or resource VMCI_INVALID_ID) picks a
 * new resource ID, else the handle's context must be ctx's own CID (NO_ACCESS otherwise).
 * flags: 0 or VMCI_FLAG_DG_DELAYED_CB; priv_flags: the doorbell's privileges (§5.4). The
 * callback runs on ctx's kernel worker after a notify (guest: after the device's interrupt).
 * Rings coalesce while the callback has not run yet.
 * Errors: INVALID_ARGS, NO_ACCESS, ALREADY_EXISTS, NO_HANDLE, NO_MEM, DEVICE_NOT_FOUND. */
int vmci_doorbell_create(vmcisim_vm *ctx, vmci_handle *handle, uint32_t flags,
                         uint32_t priv_flags, vmci_callback notify_cb, void *client_data);
int vmci_doorbell_destroy(vmcisim_vm *ctx, vmci_handle handle);   /* NOT_FOUND if none */
/* Ring doorbell dst from ctx (a guest: through its device). priv_flags: a host sender may name
 * its own privileges (0: the host context's). Errors: INVALID_ARGS, NOT_FOUND (no such context
 * or doorbell), DST_UNREACHABLE (VM to VM), NO_ACCESS (§5.4), DEVICE_NOT_FOUND. */
int vmci_doorbell_notify(vmcisim_vm *ctx, vmci_handle dst, uint32_t priv_flags);

#endif
