/*
 * qp_broker.c - the queue-pair broker (vmci-semantics.md §§4.3-4.4): entries by handle, the
 * states NEW..GONE, create and attach with every check of the reference in its order, detach,
 * unmap/map around a quiesce, and the QP_PEER_ATTACH / QP_PEER_DETACH events.
 *
 * An entry keeps sizes from the guest's point of view (host callers swap produce/consume).
 * Memory: guest endpoints supply both queues (the guest driver allocates them and passes them
 * in its alloc hypercall); a host-created pair has none until a guest attaches; when the guest
 * detaches, the entry forgets the memory (the guest frees it) and the host sees no memory. The
 * broker itself never allocates queue memory. LOCAL pairs never reach it (INVALID_ARGS, as on a
 * Linux host).
 *
 * Extra rules of the simulator (vmci_kapi.h, §6): while a VM is in fault tolerance, a create or
 * attach involving it is refused with UNAVAILABLE; the fault knob qp_alloc_fail fails a create or
 * attach with NO_MEM. Each guest may back at most 128 MiB of queue memory (NO_RESOURCES).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv_internal.h"
#include "sim/alloc.h"

static const char *state_name(int s)
{
    static const char *const n[] = {"NEW",          "CREATED_NO_MEM", "CREATED_MEM",
                                    "ATTACHED_NO_MEM", "ATTACHED_MEM", "SHUTDOWN_NO_MEM",
                                    "SHUTDOWN_MEM", "GONE"};
    return s >= 0 && s < 8 ? n[s] : "?";
}

static bool has_mem(const struct hv_qp_entry *e)
{
    return e->state == VMCIQPB_CREATED_MEM || e->state == VMCIQPB_ATTACHED_MEM ||
           e->state == VMCIQPB_SHUTDOWN_MEM;
}

static void set_state(struct hv *hv, struct hv_qp_entry *e, int s, const char *why)
{
    if (e->state != s)
        sim_trace_vm(hv->sim, &hv->self_vm, "qp-state", "handle=%u:%u from=%s to=%s why=%s",
                     HV_H(e->handle), state_name(e->state), state_name(s), why);
    e->state = s;
}

static struct hv_qp_entry *hv_qp_find(struct hv *hv, vmci_handle handle)
{
    for (size_t i = 0; i < hv->nqps; i++)
        if (vmci_handle_eq(hv->qps[i]->handle, handle))
            return hv->qps[i];
    return NULL;
}

/* Forget the guest memory of e; `owner` is the context that backs it. */
static void entry_forget_mem(struct hv_qp_entry *e, struct hv_context *owner)
{
    if (e->mem_cid != VMCI_INVALID_ID) {
        assert(owner && owner->cid == e->mem_cid && owner->qp_mem >= e->mem_bytes);
        owner->qp_mem -= e->mem_bytes;
    }
    e->produce_q = e->consume_q = NULL;
    e->mem_cid = VMCI_INVALID_ID;
    e->mem_bytes = 0;
}

static void entry_free(struct hv *hv, struct hv_qp_entry *e)
{
    for (size_t i = 0; i < hv->nqps; i++) {
        if (hv->qps[i] == e) {
            memmove(&hv->qps[i], &hv->qps[i + 1], (hv->nqps - i - 1) * sizeof *hv->qps);
            hv->nqps--;
            break;
        }
    }
    vmci_restab_remove(&hv->host_res, e->handle, VMCI_RESOURCE_QUEUEPAIR);
    free(e);
}

/* The guest's memory for a create or an attach: both queues, of the entry's sizes, within the
 * guest's 128 MiB. */
static int take_guest_mem(struct hv *hv, struct hv_context *ctx, struct hv_qp_entry *e,
                          struct qp_queue *pq, struct qp_queue *cq)
{
    if (!pq || !cq || pq->size != e->produce_size || cq->size != e->consume_size)
        return VMCI_ERROR_INVALID_ARGS;
    uint64_t bytes = e->produce_size + e->consume_size;
    if (bytes > VMCI_MAX_GUEST_QP_MEMORY || ctx->qp_mem + bytes > VMCI_MAX_GUEST_QP_MEMORY)
        return VMCI_ERROR_NO_RESOURCES;
    (void)hv;
    e->produce_q = pq;
    e->consume_q = cq;
    e->mem_cid = ctx->cid;
    e->mem_bytes = bytes;
    ctx->qp_mem += bytes;
    return VMCI_SUCCESS;
}

static bool in_ft(struct hv *hv, uint32_t cid)
{
    struct hv_context *c = hv_ctx_by_cid(hv, cid);
    return c && !c->vm->is_host && c->vm->fault_tolerance;
}

static int qp_create(struct hv *hv, struct hv_context *ctx, vmci_handle handle, uint32_t peer,
                     uint32_t flags, uint32_t priv_flags, uint64_t produce_size,
                     uint64_t consume_size, struct qp_queue *pq, struct qp_queue *cq,
                     struct hv_qp_entry **out)
{
    if (flags & VMCI_QPFLAG_ATTACH_ONLY)
        return VMCI_ERROR_NOT_FOUND;
    /* The handle names the creator, or the peer the creator allows. */
    if (handle.context != ctx->cid && handle.context != peer)
        return VMCI_ERROR_NO_ACCESS;
    if (hv_cid_is_vm(ctx->cid) && hv_cid_is_vm(peer))
        return VMCI_ERROR_DST_UNREACHABLE;
    struct hv_qp_entry **a = vmcisim_grow(hv->qps, &hv->qps_cap, hv->nqps, 16);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    hv->qps = a;
    struct hv_qp_entry *e = vmcisim_calloc(1, sizeof *e);
    if (!e)
        return VMCI_ERROR_NO_MEM;
    bool host = ctx->vm->is_host;
    e->peer = peer;
    e->flags = flags;
    e->produce_size = host ? consume_size : produce_size;
    e->consume_size = host ? produce_size : consume_size;
    e->ref_count = 1;
    e->create_id = ctx->cid;
    e->attach_id = VMCI_INVALID_ID;
    e->state = VMCIQPB_NEW;
    e->require_trusted_attach = (ctx->priv_flags & VMCI_PRIVILEGE_FLAG_RESTRICTED) != 0;
    e->created_by_trusted = (priv_flags & VMCI_PRIVILEGE_FLAG_TRUSTED) != 0;
    e->mem_cid = VMCI_INVALID_ID;
    if (!host) {
        int rc = take_guest_mem(hv, ctx, e, pq, cq);
        if (rc != VMCI_SUCCESS) {
            free(e);
            return rc;
        }
    }
    struct vmci_resource *r = NULL;
    int rc = vmci_restab_add(&hv->host_res, handle, VMCI_RESOURCE_QUEUEPAIR, &r);
    if (rc == VMCI_SUCCESS) {
        rc = hv_ctx_qp_add(ctx, r->handle);
        if (rc != VMCI_SUCCESS)
            vmci_restab_remove_entry(&hv->host_res, r);
    }
    if (rc != VMCI_SUCCESS) {
        entry_forget_mem(e, ctx);
        free(e);
        return rc;
    }
    r->owner = e;
    e->handle = r->handle;
    hv->qps[hv->nqps++] = e;
    set_state(hv, e, host ? VMCIQPB_CREATED_NO_MEM : VMCIQPB_CREATED_MEM, "create");
    *out = e;
    return VMCI_SUCCESS_QUEUEPAIR_CREATE;
}

static int qp_attach(struct hv *hv, struct hv_context *ctx, struct hv_qp_entry *e,
                     uint32_t flags, uint32_t priv_flags, uint64_t produce_size,
                     uint64_t consume_size, struct qp_queue *pq, struct qp_queue *cq)
{
    if (e->state != VMCIQPB_CREATED_NO_MEM && e->state != VMCIQPB_CREATED_MEM)
        return VMCI_ERROR_UNAVAILABLE;
    if (ctx->cid == e->create_id || ctx->cid == e->attach_id)
        return VMCI_ERROR_ALREADY_EXISTS;
    if (hv_cid_is_vm(ctx->cid) && hv_cid_is_vm(e->create_id))
        return VMCI_ERROR_DST_UNREACHABLE;
    /* A restricted attacher needs a trusted creator, and a restricted creator a trusted
     * attacher (§5.4). */
    if ((ctx->priv_flags & VMCI_PRIVILEGE_FLAG_RESTRICTED) && !e->created_by_trusted)
        return VMCI_ERROR_NO_ACCESS;
    if (e->require_trusted_attach && !(priv_flags & VMCI_PRIVILEGE_FLAG_TRUSTED))
        return VMCI_ERROR_NO_ACCESS;
    if (e->peer != VMCI_INVALID_ID && e->peer != ctx->cid)
        return VMCI_ERROR_NO_ACCESS;
    /* Flags must agree, except the one-sided ones (ATTACH_ONLY, NONBLOCK, PINNED). */
    const uint32_t asym = VMCI_QPFLAG_NONBLOCK | VMCI_QPFLAG_PINNED;
    if ((e->flags & ~asym) != (flags & ~(asym | VMCI_QPFLAG_ATTACH_ONLY)))
        return VMCI_ERROR_QUEUEPAIR_MISMATCH;
    bool host = ctx->vm->is_host;
    if (host ? (e->produce_size != consume_size || e->consume_size != produce_size)
             : (e->produce_size != produce_size || e->consume_size != consume_size))
        return VMCI_ERROR_QUEUEPAIR_MISMATCH;
    int new_state;
    if (!host) {
        /* The guest supplies the memory of a pair the host created. */
        if (e->state != VMCIQPB_CREATED_NO_MEM)
            return VMCI_ERROR_INVALID_ARGS;
        int rc = take_guest_mem(hv, ctx, e, pq, cq);
        if (rc != VMCI_SUCCESS)
            return rc;
        new_state = VMCIQPB_ATTACHED_MEM;
    } else {
        /* The host needs the guest's memory to be there. */
        if (e->state == VMCIQPB_CREATED_NO_MEM)
            return VMCI_ERROR_UNAVAILABLE;
        new_state = VMCIQPB_ATTACHED_MEM;
    }
    int rc = hv_ctx_qp_add(ctx, e->handle);
    if (rc != VMCI_SUCCESS) {
        if (!host)
            entry_forget_mem(e, ctx);
        return rc;
    }
    set_state(hv, e, new_state, "attach");
    e->attach_id = ctx->cid;
    e->ref_count++;
    assert(e->ref_count == 2);
    hv_event_qp(hv, e->create_id, VMCI_EVENT_QP_PEER_ATTACH, e->handle, ctx->cid);
    return VMCI_SUCCESS_QUEUEPAIR_ATTACH;
}

int hv_qp_alloc(struct hv *hv, struct hv_context *ctx, vmci_handle handle, uint32_t peer,
                uint32_t flags, uint32_t priv_flags, uint64_t produce_size,
                uint64_t consume_size, struct qp_queue *produce_q, struct qp_queue *consume_q,
                struct hv_qp_entry **out)
{
    int rc;
    struct hv_qp_entry *e = NULL;
    const char *op = "alloc";
    if (vmci_handle_invalid(handle) || handle.context == VMCI_INVALID_ID ||
        (flags & ~VMCI_QP_ALL_FLAGS) || (flags & VMCI_QPFLAG_LOCAL) ||
        (produce_size == 0 && consume_size == 0) || !ctx ||
        (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS)) {
        rc = VMCI_ERROR_INVALID_ARGS;
    } else if (hv_ctx_qp_has(ctx, handle)) {
        rc = VMCI_ERROR_ALREADY_EXISTS;
    } else {
        if (handle.resource != VMCI_INVALID_ID)
            e = hv_qp_find(hv, handle);
        op = e ? "attach" : "create";
        uint32_t other = e ? e->create_id : peer;
        if (in_ft(hv, ctx->cid) || in_ft(hv, other)) {
            rc = VMCI_ERROR_UNAVAILABLE;
        } else if (hv->faults.qp_alloc_fail > 0 &&
                   sim_chance(hv->sim, hv->faults.qp_alloc_fail)) {
            sim_trace_vm(hv->sim, ctx->vm, "fault", "kind=qp-alloc-fail ctx=%u handle=%u:%u",
                         ctx->cid, HV_H(handle));
            rc = VMCI_ERROR_NO_MEM;
        } else if (e) {
            rc = qp_attach(hv, ctx, e, flags, priv_flags, produce_size, consume_size,
                           produce_q, consume_q);
        } else {
            rc = qp_create(hv, ctx, handle, peer, flags, priv_flags, produce_size,
                           consume_size, produce_q, consume_q, &e);
        }
    }
    sim_trace_vm(hv->sim, ctx ? ctx->vm : &hv->self_vm, "qp-alloc",
                 "ctx=%u op=%s handle=%u:%u peer=%u flags=%u priv=%u "
                 "produce=%llu consume=%llu result=%s state=%s",
                 ctx ? ctx->cid : VMCI_INVALID_ID, op,
                 rc >= 0 && e ? e->handle.context : handle.context,
                 rc >= 0 && e ? e->handle.resource : handle.resource, peer, flags, priv_flags,
                 (unsigned long long)produce_size, (unsigned long long)consume_size,
                 vmci_strerror(rc), rc >= 0 && e ? state_name(e->state) : "-");
    if (rc >= 0 && out)
        *out = e;
    return rc;
}

int hv_qp_detach(struct hv *hv, struct hv_context *ctx, vmci_handle handle)
{
    int rc = VMCI_SUCCESS;
    struct hv_qp_entry *e = NULL;
    if (!ctx || vmci_handle_invalid(handle))
        rc = VMCI_ERROR_INVALID_ARGS;
    else if (!hv_ctx_qp_has(ctx, handle) || !(e = hv_qp_find(hv, handle)))
        rc = VMCI_ERROR_NOT_FOUND;
    else if (ctx->cid != e->create_id && ctx->cid != e->attach_id)
        rc = VMCI_ERROR_QUEUEPAIR_NOTATTACHED;
    if (rc != VMCI_SUCCESS) {
        sim_trace_vm(hv->sim, ctx ? ctx->vm : &hv->self_vm, "qp-detach",
                     "ctx=%u handle=%u:%u result=%s", ctx ? ctx->cid : VMCI_INVALID_ID,
                     HV_H(handle), vmci_strerror(rc));
        return rc;
    }
    uint32_t peer_id;
    if (ctx->cid == e->create_id) {
        peer_id = e->attach_id;
        e->create_id = VMCI_INVALID_ID;
    } else {
        peer_id = e->create_id;
        e->attach_id = VMCI_INVALID_ID;
    }
    assert(e->ref_count > 0);
    e->ref_count--;
    /* A guest that leaves takes its memory with it: a host still attached sees none. */
    bool had_mem = has_mem(e);
    uint64_t lost = 0;
    if (!ctx->vm->is_host && e->mem_cid == ctx->cid) {
        /* What the guest wrote and its host peer has not read goes with that memory (semantics
         * §2.12: the host sees end of file at once). The trace says how much was lost. */
        if (peer_id != VMCI_INVALID_ID && had_mem && e->produce_q && e->consume_q) {
            struct qp_view v = {.produce = *e->produce_q, .consume = *e->consume_q};
            int64_t unread = qp_produce_buf_ready(&v);
            lost = unread > 0 ? (uint64_t)unread : 0;
        }
        entry_forget_mem(e, ctx);
    }
    hv_ctx_qp_remove(ctx, handle);
    if (e->ref_count == 0) {
        sim_trace_vm(hv->sim, ctx->vm, "qp-detach", "ctx=%u handle=%u:%u result=%s state=GONE",
                     ctx->cid, HV_H(handle), vmci_strerror(VMCI_SUCCESS));
        e->state = VMCIQPB_GONE;
        entry_free(hv, e);
        return VMCI_SUCCESS;
    }
    set_state(hv, e, ctx->vm->is_host && had_mem ? VMCIQPB_SHUTDOWN_MEM
                                                 : VMCIQPB_SHUTDOWN_NO_MEM, "detach");
    if (lost)
        sim_trace_vm(hv->sim, ctx->vm, "qp-detach",
                     "ctx=%u handle=%u:%u result=%s state=%s lost=%llu", ctx->cid, HV_H(handle),
                     vmci_strerror(VMCI_SUCCESS), state_name(e->state), (unsigned long long)lost);
    else
        sim_trace_vm(hv->sim, ctx->vm, "qp-detach", "ctx=%u handle=%u:%u result=%s state=%s",
                     ctx->cid, HV_H(handle), vmci_strerror(VMCI_SUCCESS), state_name(e->state));
    hv_event_qp(hv, peer_id, VMCI_EVENT_QP_PEER_DETACH, handle, ctx->cid);
    return VMCI_SUCCESS;
}

/* Quiesce (§4.2, §6): the guest's memory is unmapped, its pairs go to *_NO_MEM. */
void hv_qp_unmap_context(struct hv *hv, struct hv_context *ctx)
{
    for (size_t i = 0; i < ctx->nqps; i++) {
        struct hv_qp_entry *e = hv_qp_find(hv, ctx->qps[i]);
        if (e && e->mem_cid == ctx->cid && has_mem(e))
            set_state(hv, e, e->state - 1, "unmap");
    }
}

/* Unquiesce: mapped again, back to *_MEM. */
void hv_qp_map_context(struct hv *hv, struct hv_context *ctx)
{
    for (size_t i = 0; i < ctx->nqps; i++) {
        struct hv_qp_entry *e = hv_qp_find(hv, ctx->qps[i]);
        if (e && e->mem_cid == ctx->cid && e->produce_q && !has_mem(e) &&
            e->state > VMCIQPB_NEW && e->state < VMCIQPB_GONE)
            set_state(hv, e, e->state + 1, "map");
    }
}

void hv_qp_rename_cid(struct hv *hv, uint32_t old_cid, uint32_t new_cid)
{
    for (size_t i = 0; i < hv->nqps; i++) {
        struct hv_qp_entry *e = hv->qps[i];
        if (e->create_id == old_cid)
            e->create_id = new_cid;
        if (e->attach_id == old_cid)
            e->attach_id = new_cid;
        if (e->peer == old_cid)
            e->peer = new_cid;
        if (e->mem_cid == old_cid)
            e->mem_cid = new_cid;
    }
}

void hv_qp_free_all(struct hv *hv)
{
    for (size_t i = 0; i < hv->nqps; i++)
        free(hv->qps[i]);
    free(hv->qps);
    hv->qps = NULL;
    hv->nqps = hv->qps_cap = 0;
}

/* ---- the host's view ------------------------------------------------------------------- */

int hv_host_qp_view(struct hv *hv, struct hv_qp_entry *e, struct qp_view *view)
{
    (void)hv;
    if (!e->produce_q || !e->consume_q)
        return VMCI_ERROR_QUEUEPAIR_NOTATTACHED;
    if (!has_mem(e))
        return VMCI_ERROR_QUEUEPAIR_NOT_READY;
    /* The entry holds the guest's queues: the host produces into the guest's consume queue. */
    view->produce = *e->consume_q;
    view->consume = *e->produce_q;
    return VMCI_SUCCESS;
}

int hv_qp_state(struct hv *hv, vmci_handle handle)
{
    struct hv_qp_entry *e = hv_qp_find(hv, handle);
    return e ? e->state : -1;
}

uint64_t hv_context_qp_memory(struct hv *hv, uint32_t cid)
{
    struct hv_context *c = hv_ctx_by_cid(hv, cid);
    return c ? c->qp_mem : 0;
}
