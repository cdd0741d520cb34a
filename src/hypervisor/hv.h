/*
 * hv.h - the hypervisor: owner of CID 0, the context table, datagram routing, the queue-pair
 * broker, events and doorbells. It runs as its own thread around an event loop (libev in
 * realtime mode) for its timers and deferred work; hypercalls run synchronously in the caller's
 * context, inside the world, as a trap into the VMM would.
 *
 * Who calls what (layering):
 *  - a guest's VMCI device (src/device) attaches itself with hv_context_attach_device(), then
 *    calls hv_hypercall() and hv_context_remove();
 *  - the host endpoint (src/guest/host_endpoint.c, CID 2) calls the hv_host_* functions: the
 *    host kernel's VMCI, with no device in between;
 *  - the guest driver never calls anything here: it has only its device.
 * The hypervisor reaches a guest only through the port its device gave at attach (struct
 * hv_dev_port: receive queue room, push, doorbell bits, FT flag) and the host only through the
 * callbacks the host endpoint registered. It names no function of the layers above it.
 *
 * Everything here runs inside the world.
 */
#ifndef VMCISIM_HV_H
#define VMCISIM_HV_H

#include <stdbool.h>

#include "vmci/qp_queue.h"
#include "vmci/vmci_defs.h"
#include "sim/sim.h"

struct hv;
struct hv_qp_entry;      /* a queue-pair broker entry (opaque outside src/hypervisor) */

/* Create the hypervisor of a world and register it as the lowest layer (the world's assembly,
 * src/assemble.c, registers the layers above it next). NULL when out of memory. */
struct hv *hv_attach(vmcisim *sim);
/* The hypervisor of a world (NULL before hv_attach). */
struct hv *hv_of(vmcisim *sim);

/* What the hypervisor asks of a guest's VMCI device, given by the device when it attaches:
 * the device's side of the receive queue (§5.3 limits), its doorbell notification bits and its
 * fault-tolerance flag. Results are VMCI codes, as documented at the device (vmci_device.h). */
struct hv_dev_port {
    /* Would a datagram of `size` bytes fit in the queue now (VMCI_SUCCESS / NO_RESOURCES)? */
    int (*rx_room)(const void *dev, uint64_t size, bool is_event);
    /* Reserve / give back room for a datagram the hypervisor holds back (fault delays). */
    int (*rx_reserve)(void *dev, uint64_t size, bool is_event);
    void (*rx_unreserve)(void *dev, uint64_t size);
    /* Queue a copy of dg for the guest and raise its interrupt. */
    int (*rx_push)(void *dev, const struct vmci_datagram *dg, bool reserved);
    /* Bytes queued and reserved (for the trace). */
    uint64_t (*rx_bytes)(const void *dev);
    /* Set doorbell notification bit idx and raise the interrupt. */
    int (*ring)(void *dev, uint32_t idx);
    /* The VM entered / left fault tolerance. */
    void (*set_ft)(void *dev, bool on);
};

/* ---- contexts (§6) --------------------------------------------------------------------------- */

/* The hypervisor's idea of a context's privilege flags (§5.4): its own context (CID 0) is
 * trusted, a context it does not know is restricted. */
uint32_t hv_context_priv_flags(struct hv *hv, uint32_t cid);
bool hv_context_exists(struct hv *hv, uint32_t cid);
/* The device the hypervisor delivers to for guest `vm`, reached through `port` only; the
 * device is told the VM's current fault-tolerance state at once. */
int hv_context_attach_device(struct hv *hv, vmcisim_vm *vm, const struct hv_dev_port *port,
                             void *dev);
/* The VM is gone (its device powered off): detach its queue pairs (peers get QP_PEER_DETACH),
 * unlink its doorbells, drop datagrams held for it, tell CTX_REMOVED to the contexts allowed to
 * see it, and forget the context. Idempotent. */
void hv_context_remove(struct hv *hv, vmcisim_vm *vm);
/* Give a running VM a new CID (what a restore on another host may do) and raise CTX_ID_UPDATE
 * in it. Queue-pair entries follow; handles keep their old names. VMCI_SUCCESS, INVALID_ARGS
 * (reserved CID, host, not running), ALREADY_EXISTS (CID in use). Used by tests. */
int hv_context_change_cid(vmcisim_vm *vm, uint32_t new_cid);

/* ---- guests: the hypercall --------------------------------------------------------------- */

/* A datagram from guest `vm`'s device: a service of CID 0, or one to route (§5.2). The source
 * context is stamped with the VM's real CID. Returns the service result, or the routed
 * datagram's size, or a VMCI error. */
int hv_hypercall(struct hv *hv, vmcisim_vm *vm, struct vmci_datagram *dg);

/* ---- the host endpoint (CID 2) ------------------------------------------------------------- */

/* Same signatures as vmci_datagram_recv_cb / the doorbell callback of vmci_kapi.h. */
typedef int (*hv_dg_cb)(void *client_data, struct vmci_datagram *dg);
typedef void (*hv_db_cb)(void *client_data);
/* Called on the host's kernel worker for every event datagram for the host. */
typedef void (*hv_event_fn)(void *arg, const struct vmci_datagram *dg);

void hv_host_set_event_handler(struct hv *hv, hv_event_fn fn, void *arg);

int hv_host_dg_create(struct hv *hv, uint32_t resource_id, uint32_t flags, uint32_t priv_flags,
                      hv_dg_cb cb, void *client_data, vmci_handle *out);
int hv_host_dg_destroy(struct hv *hv, vmci_handle handle);
int hv_host_dg_send(struct hv *hv, struct vmci_datagram *dg);

/* Queue pairs: sizes from the host's point of view. On success *entry is the broker entry the
 * host endpoint keeps until it detaches, *handle the pair's handle. */
int hv_host_qp_alloc(struct hv *hv, vmci_handle *handle, uint64_t produce_size,
                     uint64_t consume_size, uint32_t peer, uint32_t flags, uint32_t priv_flags,
                     struct hv_qp_entry **entry);
int hv_host_qp_detach(struct hv *hv, struct hv_qp_entry *entry);
/* The host's view of the pair's memory: VMCI_SUCCESS and *view, or QUEUEPAIR_NOTATTACHED (no
 * guest memory: not attached yet, or detached) or QUEUEPAIR_NOT_READY (guest quiesced). */
int hv_host_qp_view(struct hv *hv, struct hv_qp_entry *entry, struct qp_view *view);

int hv_host_db_create(struct hv *hv, vmci_handle *handle, uint32_t flags, uint32_t priv_flags,
                      hv_db_cb cb, void *client_data);
int hv_host_db_destroy(struct hv *hv, vmci_handle handle);
int hv_host_db_notify(struct hv *hv, vmci_handle dst, uint32_t priv_flags);

/* ---- introspection for tests ----------------------------------------------------------------- */

/* Broker state of the pair `handle` (enum vmci_qp_broker_state), or -1 if there is none. */
int hv_qp_state(struct hv *hv, vmci_handle handle);
/* Bytes of queue memory guest `cid` backs (the 128 MiB cap of §1.6). */
uint64_t hv_context_qp_memory(struct hv *hv, uint32_t cid);
/* Host datagrams deferred to the host's kernel worker and not yet run (§5.3, max 255). */
uint32_t hv_host_deferred_count(struct hv *hv);
/* Narrow the host kernel's resource-ID range (tests of NO_HANDLE). */
void hv_host_set_rid_range(struct hv *hv, uint32_t lo, uint32_t hi);

#endif
