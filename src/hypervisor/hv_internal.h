/*
 * hv_internal.h - the hypervisor's records, shared by the files of src/hypervisor only:
 * contexts (context_table.c), the host kernel's resources, the queue-pair broker (qp_broker.c),
 * host deferred work (host_work.c), held datagrams (faults.c) and doorbell links (doorbell.c).
 */
#ifndef VMCISIM_HV_INTERNAL_H
#define VMCISIM_HV_INTERNAL_H

#include "vmci/resource_table.h"
#include "vmci/vmci_hypercall.h"
#include "hypervisor/hv.h"

#define HV_FIRST_VM_CID 3u      /* VM CIDs start here (0 hypervisor, 1 local, 2 host) */

/* ---- contexts ------------------------------------------------------------------------------ */

struct hv_db_link {              /* a guest doorbell and the notification bit it rings */
    vmci_handle handle;
    uint32_t idx;
};

struct hv_context {
    vmcisim_vm *vm;
    uint32_t cid;
    uint32_t priv_flags;         /* VMCI_PRIVILEGE_FLAG_*, from vm->flags */
    const struct hv_dev_port *port; /* guests: how the hypervisor delivers to ... */
    void *dev;                   /* ... their device; NULL for the host and before attach */
    vmci_handle *qps;            /* pairs this context is attached to, in attach order */
    size_t nqps, qps_cap;
    uint64_t qp_mem;             /* bytes of queue memory it backs (guests) */
    struct hv_db_link *dbs;      /* guests: linked doorbells, in link order */
    size_t ndbs, dbs_cap;
    bool held;                   /* vmcisim_vm_hold: its datagrams wait for the release */
};

/* ---- the queue-pair broker (§4.3) ---------------------------------------------------------- */

struct hv_qp_entry {
    vmci_handle handle;
    uint32_t peer;
    uint32_t flags;
    uint64_t produce_size;       /* the guest's point of view */
    uint64_t consume_size;
    uint32_t ref_count;          /* <= 2 */
    uint32_t create_id, attach_id;
    int state;                   /* enum vmci_qp_broker_state */
    bool require_trusted_attach; /* the creator is restricted */
    bool created_by_trusted;
    struct qp_queue *produce_q;  /* the guest's memory (guest's point of view), or NULL */
    struct qp_queue *consume_q;
    uint32_t mem_cid;            /* the guest that backs it (VMCI_INVALID_ID: none) */
    uint64_t mem_bytes;          /* counted in that guest's qp_mem */
};

/* ---- host deferred work: DELAYED_CB / host-to-host datagrams, events, doorbells ----------- */

enum hv_work_kind { HW_DATAGRAM, HW_EVENT, HW_DOORBELL };

struct hv_work {
    struct hv_work *next;
    int kind;
    vmci_handle handle;          /* HW_DATAGRAM: the destination handle; HW_DOORBELL: the bell */
    struct vmci_datagram dg;     /* HW_DATAGRAM, HW_EVENT: header, payload follows */
};

struct hv_timer {                /* a timer that knows its hypervisor */
    sim_timer t;
    struct hv *hv;
};

/* ---- datagrams held back by the fault knobs (delay, reorder) or the latency knob ---------- */

struct hv_held {
    sim_timer t;                 /* first: the callback finds the record from it */
    struct hv *hv;
    struct hv_held *prev, *next; /* hv->held, in holding order */
    uint64_t id;                 /* sequence, for the trace */
    struct hv_context *dst_ctx;  /* VM destination (room reserved in its device), or NULL */
    bool to_host;
    bool waiting_reorder;        /* held until the next datagram to the same destination */
    bool waiting_release;        /* held with its VM (vmcisim_vm_hold) until the release */
    uint32_t src_cid;            /* the sending context, for the release */
    uint64_t size;
    struct vmci_datagram dg;     /* payload follows */
};

/* ---- the hypervisor ------------------------------------------------------------------------ */

struct hv {
    vmcisim *sim;
    vmcisim_vm self_vm;          /* the hypervisor's own identity in the trace: "hypervisor/0" */
    sim_loop *loop;              /* the hypervisor thread */

    struct hv_context **ctxs;    /* creation order; the host first */
    size_t nctxs, ctxs_cap;

    struct vmci_resource_table host_res;  /* the host kernel's resources */

    struct hv_qp_entry **qps;    /* broker entries, creation order */
    size_t nqps, qps_cap;

    /* host deferred work, run on the host's kernel worker */
    struct hv_work *work_head, *work_tail;
    uint32_t work_datagrams;     /* deferred datagrams in flight (limit 256, §5.3) */
    struct hv_work *work_cur;    /* being run (freed at teardown if its thread was ended) */
    struct hv_timer work_timer;
    hv_event_fn host_event_fn;
    void *host_event_arg;

    /* fault knobs and held datagrams */
    struct vmcisim_faults faults;
    struct hv_held *held_head, *held_tail;
    uint64_t held_seq;
    struct hv_held *held_cur;    /* being delivered (same) */
};

/* context_table.c */
struct hv_context *hv_ctx_by_cid(struct hv *hv, uint32_t cid);
struct hv_context *hv_ctx_by_vm(struct hv *hv, vmcisim_vm *vm);
int hv_ctx_add(struct hv *hv, vmcisim_vm *vm);
void hv_ctx_free_all(struct hv *hv);
/* The VM a trace record about context cid is attributed to (the hypervisor's own if none). */
vmcisim_vm *hv_trace_vm(struct hv *hv, uint32_t cid);
int hv_ctx_qp_add(struct hv_context *c, vmci_handle h);
bool hv_ctx_qp_has(const struct hv_context *c, vmci_handle h);
void hv_ctx_qp_remove(struct hv_context *c, vmci_handle h);
static inline bool hv_cid_is_vm(uint32_t cid)
{
    return cid != VMCI_INVALID_ID && cid > VMCI_HOST_CONTEXT_ID;
}

/* datagram_route.c */
int hv_route_from_host(struct hv *hv, struct vmci_datagram *dg);
/* Deliver an already-routed datagram now: to a VM's device or a host handle. Used by held
 * datagrams when their timer fires. `reserved`: room was reserved in the VM's device. */
int hv_deliver_to_vm(struct hv *hv, struct hv_context *dst, const struct vmci_datagram *dg,
                     bool reserved, const char *how);
int hv_deliver_to_host(struct hv *hv, struct vmci_datagram *dg, bool in_sender_context,
                       const char *how);

/* host_work.c */
int hv_work_datagram(struct hv *hv, vmci_handle dst, const struct vmci_datagram *dg);
int hv_work_event(struct hv *hv, const struct vmci_datagram *dg);
int hv_work_doorbell(struct hv *hv, vmci_handle bell);
void hv_work_purge_handle(struct hv *hv, vmci_handle h, int kind);
void hv_work_free_all(struct hv *hv);
void hv_work_init(struct hv *hv);

/* event.c */
/* Raise an event for context cid: a datagram from (0, 0) to (cid, 0) with the §4.6 payload. */
int hv_event_ctx(struct hv *hv, uint32_t to_cid, uint32_t event, uint32_t about_cid);
int hv_event_qp(struct hv *hv, uint32_t to_cid, uint32_t event, vmci_handle qp, uint32_t peer);
int hv_event_simple(struct hv *hv, uint32_t to_cid, uint32_t event);
void hv_event_ctx_removed(struct hv *hv, uint32_t cid, uint32_t priv_flags);

/* qp_broker.c */
int hv_qp_alloc(struct hv *hv, struct hv_context *ctx, vmci_handle handle, uint32_t peer,
                uint32_t flags, uint32_t priv_flags, uint64_t produce_size,
                uint64_t consume_size, struct qp_queue *produce_q, struct qp_queue *consume_q,
                struct hv_qp_entry **out);
int hv_qp_detach(struct hv *hv, struct hv_context *ctx, vmci_handle handle);
void hv_qp_unmap_context(struct hv *hv, struct hv_context *ctx);
void hv_qp_map_context(struct hv *hv, struct hv_context *ctx);
void hv_qp_rename_cid(struct hv *hv, uint32_t old_cid, uint32_t new_cid);
void hv_qp_free_all(struct hv *hv);

/* doorbell.c */
int hv_db_link(struct hv *hv, struct hv_context *ctx, vmci_handle h, uint32_t idx);
int hv_db_unlink(struct hv *hv, struct hv_context *ctx, vmci_handle h);
int hv_db_notify(struct hv *hv, uint32_t src_cid, vmci_handle dst, uint32_t src_priv_flags);

/* services.c */
int hv_service(struct hv *hv, struct hv_context *ctx, struct vmci_datagram *dg);

/* faults.c */
/* Decide what the knobs do with a routed datagram and do it. Returns true when the faults
 * layer took the datagram over (dropped or held); false: deliver it now as usual (the
 * duplicate, if any, is already scheduled). */
bool hv_faults_take(struct hv *hv, struct hv_context *dst_ctx, struct vmci_datagram *dg,
                    bool from_guest, int *result);
void hv_held_drop_ctx(struct hv *hv, struct hv_context *ctx);
void hv_held_free_all(struct hv *hv);

/* lifecycle.c */
void hv_lifecycle_event(struct hv *hv, vmcisim_vm *vm, enum sim_vm_event ev);

/* trace helpers */
#define HV_H(h) (h).context, (h).resource

#endif
