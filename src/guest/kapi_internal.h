/*
 * kapi_internal.h - the two implementations behind vmci_kapi.h and what they share:
 *  - a guest's VMCI driver (guest_driver.c, guest_qp.c), reaching the hypervisor only through
 *    its VM's VMCI device;
 *  - the host endpoint (host_endpoint.c, CID 2), calling the hypervisor directly.
 * kapi.c checks arguments common to both and calls the context's kernel through its operations
 * table (struct vmci_kernel_ops): it never asks which of the two it is.
 *
 * vm->drv points at a `struct guest_drv` for every context: for the host it is the first member
 * of `struct host_ep` (kind VMCI_KERNEL_HOST). A powered-off guest's driver is kept, "dead"
 * (everything in it freed), until world teardown, so that stale calls fail cleanly
 * (DEVICE_NOT_FOUND) instead of touching freed memory.
 */
#ifndef VMCISIM_KAPI_INTERNAL_H
#define VMCISIM_KAPI_INTERNAL_H

#include "vmci/resource_table.h"
#include "device/vmci_device.h"
#include "guest/event_subs.h"
#include "guest/vmci_kapi.h"

struct hv;
struct hv_qp_entry;
struct vmci_stack;
struct guest_qp_ep;

enum vmci_kernel_kind { VMCI_KERNEL_GUEST = 1, VMCI_KERNEL_HOST = 2 };

struct guest_drv;
struct vmci_qp;

/* A context's VMCI kernel as kapi.c calls it, after the checks common to both: the guest
 * driver (guest_kernel_ops, guest_driver.c) or the host endpoint (host_kernel_ops,
 * host_endpoint.c). `d` is the context's vm->drv; results are VMCI codes (vmci_kapi.h). */
struct vmci_kernel_ops {
    uint32_t (*context_id)(struct guest_drv *d);
    uint32_t (*priv_flags)(struct guest_drv *d, uint32_t cid);
    int (*dg_create)(struct guest_drv *d, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                     vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out);
    int (*dg_destroy)(struct guest_drv *d, vmci_handle handle);
    int (*dg_send)(struct guest_drv *d, struct vmci_datagram *dg);
    int (*event_subscribe)(struct guest_drv *d, uint32_t event, vmci_event_cb cb, void *data,
                           uint32_t *sub_id);
    int (*event_unsubscribe)(struct guest_drv *d, uint32_t sub_id);
    int (*db_create)(struct guest_drv *d, vmci_handle *handle, uint32_t flags,
                     uint32_t priv_flags, vmci_callback cb, void *client_data);
    int (*db_destroy)(struct guest_drv *d, vmci_handle handle);
    int (*db_notify)(struct guest_drv *d, vmci_handle dst, uint32_t priv_flags);
    int (*qp_alloc)(struct guest_drv *d, struct vmci_qp **out, vmci_handle *handle,
                    uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                    uint32_t priv_flags);
    int (*qp_detach)(struct guest_drv *d, struct vmci_qp *qp);
    int (*qp_view)(struct guest_drv *d, struct vmci_qp *qp, struct qp_view *view);
};
extern const struct vmci_kernel_ops guest_kernel_ops;
extern const struct vmci_kernel_ops host_kernel_ops;

/* ---- one endpoint of a queue pair, as handed to clients ------------------------------------ */

struct vmci_qp {
    int kind;                    /* VMCI_KERNEL_GUEST / VMCI_KERNEL_HOST */
    vmcisim_vm *ctx;
    vmci_handle handle;
    uint64_t produce_size;       /* this endpoint's point of view */
    uint64_t consume_size;
    uint32_t peer;
    uint32_t flags;
    bool dead;                   /* its VM was powered off: nothing left behind it */
    /* guest */
    struct guest_qp_ep *ep;
    bool swapped;                /* the local attacher: produces into the creator's consume q */
    /* host */
    struct hv_qp_entry *entry;
};

/* ---- a guest's driver ------------------------------------------------------------------- */

struct guest_local_event {       /* local queue-pair attach/detach, dispatched in-guest */
    struct guest_local_event *next;
    struct vmci_event_data ed;
};

struct guest_db {                /* a doorbell of the guest, on notification bit `idx` */
    vmci_handle handle;
    uint32_t idx;
    uint32_t flags;
    vmci_callback cb;
    void *client_data;
};

struct guest_timer {
    sim_timer t;
    struct guest_drv *drv;
};

struct guest_drv {
    int kind;                    /* VMCI_KERNEL_GUEST (or HOST: see struct host_ep) */
    const struct vmci_kernel_ops *ops;   /* guest_kernel_ops (or host_kernel_ops) */
    vmcisim_vm *vm;
    vmcisim *sim;
    struct vmci_stack *stack;
    /* guests only from here on */
    struct vmci_device *dev;     /* NULL once powered off */
    bool dead;
    uint32_t cid;                /* cached: GET_CONTEXT_ID at start, CTX_ID_UPDATE after */
    uint32_t host_caps;          /* RESOURCES_QUERY answer */
    struct vmci_resource_table res;   /* datagram handles, queue pairs, doorbells */
    struct event_subs subs;
    struct guest_qp_ep **eps;    /* queue-pair endpoints, creation order */
    size_t neps, eps_cap;
    struct vmci_qp **qps;        /* client endpoints handed out, creation order */
    size_t nqps, qps_cap;
    struct guest_db **dbs;       /* indexed by notification bit; NULL: free */
    size_t ndbs;
    struct guest_local_event *lev_head, *lev_tail;
    struct guest_timer lev_timer;       /* runs local events on vm->kworker */
    struct vmci_datagram *cur_dg;       /* being dispatched (freed if the VM dies meanwhile) */
    struct guest_local_event *cur_lev;
};

struct guest_drv *guest_drv_create(struct vmci_stack *st, vmcisim_vm *vm,
                                   struct vmci_device *dev);
void guest_drv_start(struct guest_drv *d);
/* The VM was powered off: free everything, mark dead (the struct stays). */
void guest_drv_power_off(struct guest_drv *d);
void guest_drv_free(struct guest_drv *d);

uint32_t guest_get_context_id(struct guest_drv *d);
int guest_dg_create(struct guest_drv *d, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                    vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out);
int guest_dg_destroy(struct guest_drv *d, vmci_handle h);
int guest_dg_send(struct guest_drv *d, struct vmci_datagram *dg);
int guest_event_subscribe(struct guest_drv *d, uint32_t event, vmci_event_cb cb, void *data,
                          uint32_t *sub_id);
int guest_event_unsubscribe(struct guest_drv *d, uint32_t sub_id);
int guest_db_create(struct guest_drv *d, vmci_handle *handle, uint32_t flags,
                    uint32_t priv_flags, vmci_callback cb, void *client_data);
int guest_db_destroy(struct guest_drv *d, vmci_handle handle);
int guest_db_notify(struct guest_drv *d, vmci_handle dst, uint32_t priv_flags);
/* A hypercall datagram with `len` payload bytes to (0, rid), from anonymous source. */
int guest_hypercall(struct guest_drv *d, uint32_t rid, const void *payload, size_t len);
void guest_local_event(struct guest_drv *d, const struct vmci_event_data *ed);

/* guest_qp.c */
int guest_qp_alloc(struct guest_drv *d, struct vmci_qp **out, vmci_handle *handle,
                   uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                   uint32_t priv_flags);
int guest_qp_detach(struct guest_drv *d, struct vmci_qp *qp);
int guest_qp_view(struct vmci_qp *qp, struct qp_view *view);
void guest_qp_power_off(struct guest_drv *d);
void guest_qp_free_all(struct guest_drv *d);

/* ---- the host endpoint ------------------------------------------------------------------- */

struct host_ep {
    struct guest_drv base;       /* kind VMCI_KERNEL_HOST, vm = the host */
    struct hv *hv;
    struct event_subs subs;
};

struct host_ep *host_ep_create(struct vmci_stack *st, vmcisim_vm *host, struct hv *hv);
void host_ep_free(struct host_ep *h);

uint32_t host_priv_flags(struct host_ep *h, uint32_t cid);
int host_dg_create(struct host_ep *h, uint32_t rid, uint32_t flags, uint32_t priv_flags,
                   vmci_datagram_recv_cb cb, void *client_data, vmci_handle *out);
int host_dg_destroy(struct host_ep *h, vmci_handle handle);
int host_dg_send(struct host_ep *h, struct vmci_datagram *dg);
int host_event_subscribe(struct host_ep *h, uint32_t event, vmci_event_cb cb, void *data,
                         uint32_t *sub_id);
int host_event_unsubscribe(struct host_ep *h, uint32_t sub_id);
int host_qp_alloc(struct host_ep *h, struct vmci_qp **out, vmci_handle *handle,
                  uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                  uint32_t priv_flags);
int host_qp_detach(struct host_ep *h, struct vmci_qp *qp);
int host_qp_view(struct host_ep *h, struct vmci_qp *qp, struct qp_view *view);
int host_db_create(struct host_ep *h, vmci_handle *handle, uint32_t flags, uint32_t priv_flags,
                   vmci_callback cb, void *client_data);
int host_db_destroy(struct host_ep *h, vmci_handle handle);
int host_db_notify(struct host_ep *h, vmci_handle dst, uint32_t priv_flags);

/* ---- the layer --------------------------------------------------------------------------- */

struct vmci_stack {
    vmcisim *sim;
    struct hv *hv;
    struct guest_drv **drvs;     /* every guest driver ever started, creation order */
    size_t ndrvs, drvs_cap;
    struct host_ep *host;
};

#endif
