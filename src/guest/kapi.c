/*
 * kapi.c - vmci_kapi.h: argument checks common to every context, then the context's VMCI kernel
 * (vm->drv: the guest driver or the host endpoint) through its operations table. The queue-pair data path
 * (enqueue/dequeue/peek/space/ready) is here too: a scheduling point and a trace record each,
 * then the ring arithmetic of qp_queue.c on the endpoint's view of the memory.
 */
#include <assert.h>
#include <string.h>
#include <time.h>

#include "guest/kapi_internal.h"

static struct guest_drv *kernel_of(vmcisim_vm *ctx)
{
    return ctx ? ctx->drv : NULL;
}


/* ---- context ------------------------------------------------------------------------------ */

uint32_t vmci_get_context_id(vmcisim_vm *ctx)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_INVALID_ID;
    return d->ops->context_id(d);
}

uint32_t vmci_context_get_priv_flags(vmcisim_vm *ctx, uint32_t cid)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)   /* no VMCI kernel: as a guest, which knows no other context's flags */
        return cid == VMCI_HYPERVISOR_CONTEXT_ID ? VMCI_PRIVILEGE_FLAG_TRUSTED
                                                 : VMCI_NO_PRIVILEGE_FLAGS;
    return d->ops->priv_flags(d, cid);
}

/* ---- datagrams ------------------------------------------------------------------------------ */

int vmci_datagram_create_handle(vmcisim_vm *ctx, uint32_t resource_id, uint32_t flags,
                                uint32_t priv_flags, vmci_datagram_recv_cb cb, void *client_data,
                                vmci_handle *out)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->dg_create(d, resource_id, flags, priv_flags, cb, client_data, out);
}

int vmci_datagram_destroy_handle(vmcisim_vm *ctx, vmci_handle handle)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->dg_destroy(d, handle);
}

int vmci_datagram_send(vmcisim_vm *ctx, struct vmci_datagram *dg)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (!dg)
        return VMCI_ERROR_INVALID_ARGS;
    return d->ops->dg_send(d, dg);
}

/* ---- events ------------------------------------------------------------------------------- */

int vmci_event_subscribe(vmcisim_vm *ctx, uint32_t event, vmci_event_cb cb, void *client_data,
                         uint32_t *sub_id)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->event_subscribe(d, event, cb, client_data, sub_id);
}

int vmci_event_unsubscribe(vmcisim_vm *ctx, uint32_t sub_id)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->event_unsubscribe(d, sub_id);
}

/* ---- doorbells ---------------------------------------------------------------------------- */

int vmci_doorbell_create(vmcisim_vm *ctx, vmci_handle *handle, uint32_t flags,
                         uint32_t priv_flags, vmci_callback notify_cb, void *client_data)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->db_create(d, handle, flags, priv_flags, notify_cb, client_data);
}

int vmci_doorbell_destroy(vmcisim_vm *ctx, vmci_handle handle)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->db_destroy(d, handle);
}

int vmci_doorbell_notify(vmcisim_vm *ctx, vmci_handle dst, uint32_t priv_flags)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    return d->ops->db_notify(d, dst, priv_flags);
}

/* ---- queue pairs ------------------------------------------------------------------------- */

int vmci_qpair_alloc(vmcisim_vm *ctx, struct vmci_qp **out, vmci_handle *handle,
                     uint64_t produce_size, uint64_t consume_size, uint32_t peer, uint32_t flags,
                     uint32_t priv_flags)
{
    struct guest_drv *d = kernel_of(ctx);
    if (!d)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (!out || !handle)
        return VMCI_ERROR_INVALID_ARGS;
    *out = NULL;
    /* §4.3 client-side limits: the two queues together within 128 MiB (and no overflow). */
    if (produce_size + consume_size < produce_size ||
        produce_size + consume_size > VMCI_MAX_GUEST_QP_MEMORY)
        return VMCI_ERROR_NO_RESOURCES;
    /* Unknown flags; NONBLOCK/PINNED are ESX-only (refused on Linux); each queue needs a
     * ring of at least one byte in this simulator. */
    if ((flags & ~VMCI_QP_ALL_FLAGS) || (flags & (VMCI_QPFLAG_NONBLOCK | VMCI_QPFLAG_PINNED)) ||
        produce_size == 0 || consume_size == 0 || (priv_flags & ~VMCI_PRIVILEGE_ALL_FLAGS))
        return VMCI_ERROR_INVALID_ARGS;
    return d->ops->qp_alloc(d, out, handle, produce_size, consume_size, peer, flags,
                            priv_flags);
}

int vmci_qpair_detach(struct vmci_qp **qpp)
{
    if (!qpp || !*qpp)
        return VMCI_ERROR_INVALID_ARGS;
    struct vmci_qp *qp = *qpp;
    *qpp = NULL;
    struct guest_drv *d = kernel_of(qp->ctx);
    assert(d && d->kind == qp->kind);   /* a pair's context keeps its kernel until teardown */
    return d->ops->qp_detach(d, qp);
}

vmci_handle vmci_qpair_handle(const struct vmci_qp *qp)
{
    return qp ? qp->handle : VMCI_INVALID_HANDLE;
}
uint64_t vmci_qpair_produce_size(const struct vmci_qp *qp) { return qp ? qp->produce_size : 0; }
uint64_t vmci_qpair_consume_size(const struct vmci_qp *qp) { return qp ? qp->consume_size : 0; }

/* ---- the data path --------------------------------------------------------------------- */

static int view_of(struct vmci_qp *qp, struct qp_view *v)
{
    struct guest_drv *d = kernel_of(qp->ctx);
    assert(d && d->kind == qp->kind);
    return d->ops->qp_view(d, qp, v);
}

/* Enter the data path. No scheduling point here: kapi calls also run inside event and datagram
 * callbacks, which must be atomic. The callers (the socket layer) take a scheduling point before
 * each ring operation, at a place where they re-check their state afterwards. */
static vmcisim *data_enter(struct vmci_qp *qp)
{
    return qp->ctx->sim;
}

enum space_kind { PRODUCE_FREE, PRODUCE_READY, CONSUME_FREE, CONSUME_READY };

static int64_t space(struct vmci_qp *qp, enum space_kind k)
{
    static const char *const names[] = {"qp-produce-free", "qp-produce-ready", "qp-consume-free",
                                        "qp-consume-ready"};
    if (!qp)
        return VMCI_ERROR_INVALID_ARGS;
    vmcisim *sim = data_enter(qp);
    struct qp_view v;
    int64_t r;
    if (view_of(qp, &v) != VMCI_SUCCESS)
        r = 0; /* this endpoint cannot see the memory */
    else if (k == PRODUCE_FREE)
        r = qp_produce_free_space(&v);
    else if (k == PRODUCE_READY)
        r = qp_produce_buf_ready(&v);
    else if (k == CONSUME_FREE)
        r = qp_consume_free_space(&v);
    else
        r = qp_consume_buf_ready(&v);
    sim_trace(sim, names[k], "handle=%u:%u result=%lld", qp->handle.context, qp->handle.resource,
              (long long)r);
    return r;
}

int64_t vmci_qpair_produce_free_space(struct vmci_qp *qp) { return space(qp, PRODUCE_FREE); }
int64_t vmci_qpair_produce_buf_ready(struct vmci_qp *qp) { return space(qp, PRODUCE_READY); }
int64_t vmci_qpair_consume_free_space(struct vmci_qp *qp) { return space(qp, CONSUME_FREE); }
int64_t vmci_qpair_consume_buf_ready(struct vmci_qp *qp) { return space(qp, CONSUME_READY); }

enum data_op { OP_ENQUEUE, OP_DEQUEUE, OP_PEEK };

static int64_t data(struct vmci_qp *qp, enum data_op op, void *buf, size_t len, qp_copy_fn copy,
                    bool unlocked)
{
    static const char *const names[] = {"qp-enqueue", "qp-dequeue", "qp-peek"};
    if (!qp || (!buf && len) || !copy)
        return VMCI_ERROR_INVALID_ARGS;
    vmcisim *sim = data_enter(qp);
    vmci_handle h = qp->handle; /* qp itself may be freed while the lock is dropped */
    struct qp_view v;
    int64_t r = view_of(qp, &v);
    unlocked = unlocked && r == VMCI_SUCCESS && sim_is_realtime(sim);
    if (unlocked) {
        qp_view_pin(&v);
        sim_leave(sim);
    }
    if (r == VMCI_SUCCESS) {
        if (op == OP_ENQUEUE)
            r = qp_enqueue(&v, buf, len, copy);
        else if (op == OP_DEQUEUE)
            r = qp_dequeue(&v, buf, len, copy);
        else
            r = qp_peek(&v, buf, len, copy);
    }
    if (unlocked) {
        qp_view_unpin(&v); /* before the lock: a freer holding it waits for the pin */
        sim_enter(sim);
    }
    if (r >= 0)
        sim_trace(sim, names[op], "handle=%u:%u len=%zu result=%lld", h.context, h.resource,
                  len, (long long)r);
    else
        sim_trace(sim, names[op], "handle=%u:%u len=%zu result=%s", h.context, h.resource, len,
                  vmci_strerror((int)r));
    return r;
}

int64_t vmci_qpair_enqueue(struct vmci_qp *qp, const void *buf, size_t len, qp_copy_fn copy)
{
    return data(qp, OP_ENQUEUE, (void *)buf, len, copy, false);
}

int64_t vmci_qpair_enqueue_unlocked(struct vmci_qp *qp, const void *buf, size_t len,
                                    qp_copy_fn copy)
{
    return data(qp, OP_ENQUEUE, (void *)buf, len, copy, true);
}

int64_t vmci_qpair_dequeue_unlocked(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy)
{
    return data(qp, OP_DEQUEUE, buf, len, copy, true);
}

static uint64_t spin_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* realtime mode only: the wall clock is the clock */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vmci_qpair_share(struct vmci_qp *qp, int fds[2], uint64_t sizes[2])
{
    struct qp_view v;
    if (!qp || view_of(qp, &v) != VMCI_SUCCESS || v.produce.shm_fd < 0 || v.consume.shm_fd < 0)
        return -1;
    fds[0] = v.produce.shm_fd;
    fds[1] = v.consume.shm_fd;
    sizes[0] = v.produce.size;
    sizes[1] = v.consume.size;
    return 0;
}

void vmci_qpair_gate(struct vmci_qp *qp, uint32_t produce_gate, uint32_t consume_gate)
{
    struct qp_view v;
    if (qp && view_of(qp, &v) == VMCI_SUCCESS)
        qp_gate_set(&v, produce_gate, consume_gate);
}

void vmci_qpair_ring(struct vmci_qp *qp, bool data)
{
    struct qp_view v;
    if (qp && view_of(qp, &v) == VMCI_SUCCESS)
        qp_ring_bell(&v, data ? QP_WAIT_DATA : QP_WAIT_ROOM);
}

bool vmci_qpair_spin(struct vmci_qp *qp, bool want_data, uint64_t spin_ns)
{
    if (!qp || !sim_is_realtime(qp->ctx->sim))
        return false;
    vmcisim *sim = qp->ctx->sim;
    struct qp_view v;
    if (view_of(qp, &v) != VMCI_SUCCESS)
        return false;
    qp_view_pin(&v);
    sim_leave(sim);
    bool ok = false;
    uint64_t end = 0;
    for (unsigned i = 0;; i++) {
        int64_t n = want_data ? qp_consume_buf_ready(&v) : qp_produce_free_space(&v);
        if (n != 0) {
            ok = n > 0;
            break;
        }
        if ((i & 31) == 0) {
            uint64_t now = spin_clock_ns();
            if (!end)
                end = now + spin_ns;
            else if (now >= end)
                break;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    (void)ok;
    qp_view_unpin(&v);
    sim_enter(sim);
    return true;
}

struct qp_sleep {
    struct qp_view v;
    enum qp_wait_kind kind;
    sim_thread *self;
    bool registered;
};

static bool qp_sleep_arm(void *arg)
{
    struct qp_sleep *s = arg;
    int r = qp_waiter_arm(&s->v, s->kind, s->self);
    s->registered = r == 1;
    /* another thread of this end holds the doorbell: sleep unregistered, woken the old way
     * (the notification packet's wake-up of q) */
    return r != 0;
}

static void qp_sleep_disarm(void *arg)
{
    struct qp_sleep *s = arg;
    if (s->registered)
        qp_waiter_disarm(&s->v, s->kind, s->self);
    s->registered = false;
}

int vmci_qpair_wait(struct vmci_qp *qp, bool want_data, sim_waitq *q, uint64_t deadline,
                    const char *what)
{
    struct qp_sleep s = {.kind = want_data ? QP_WAIT_DATA : QP_WAIT_ROOM, .self = sim_self()};
    if (!qp || !s.self || !sim_is_realtime(qp->ctx->sim) || view_of(qp, &s.v) != VMCI_SUCCESS)
        return sim_wait(q, deadline, what);
    return sim_wait_direct(q, deadline, what, qp_sleep_arm, qp_sleep_disarm, &s);
}

int64_t vmci_qpair_dequeue(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy)
{
    return data(qp, OP_DEQUEUE, buf, len, copy, false);
}

int64_t vmci_qpair_peek(struct vmci_qp *qp, void *buf, size_t len, qp_copy_fn copy)
{
    return data(qp, OP_PEEK, buf, len, copy, false);
}
