/*
 * test_qp_broker.c - the queue-pair broker (vmci-semantics.md §§4.3-4.5): create and attach
 * with every error case in the reference's order, the states NEW..GONE, who supplies the
 * memory, detach in both orders, QP_PEER_ATTACH / QP_PEER_DETACH, the 128 MiB caps.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/vmci_device.h"
#include "guest/vmci_kapi.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "stackutil.h"
#include "testutil.h"

struct evrec {
    uint32_t event, sub;
    vmci_handle handle;
    uint32_t peer;
    uint32_t vm_cid;
};
struct evlog {
    int n;
    struct evrec r[64];
};

static void ev_cb(uint32_t sub_id, const struct vmci_event_data *ed, void *data)
{
    struct evlog *l = data;
    if (l->n < 64) {
        struct evrec *r = &l->r[l->n];
        r->event = ed->event;
        r->sub = sub_id;
        r->handle = ed->u.qp.handle;
        r->peer = ed->u.qp.peer_id;
        sim_thread *t = sim_self();
        r->vm_cid = t ? t->vm->cid : ~0u;
    }
    l->n++;
}

static void sub_qp_events(vmcisim_vm *ctx, struct evlog *l)
{
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(ctx, VMCI_EVENT_QP_PEER_ATTACH, ev_cb, l, &id),
                     VMCI_SUCCESS);
    ck_assert_int_eq(vmci_event_subscribe(ctx, VMCI_EVENT_QP_PEER_DETACH, ev_cb, l, &id),
                     VMCI_SUCCESS);
}

static int qalloc(vmcisim_vm *ctx, struct vmci_qp **qp, vmci_handle *h, uint64_t p, uint64_t c,
                  uint32_t peer, uint32_t flags, uint32_t priv)
{
    return vmci_qpair_alloc(ctx, qp, h, p, c, peer, flags, priv);
}

static int state(vmcisim *sim, vmci_handle h) { return hv_qp_state(hv_of(sim), h); }

/* A raw QUEUEPAIR_ALLOC hypercall through a guest's device, as a driver would send it. */
static int raw_alloc(vmcisim_vm *g, vmci_handle h, uint32_t peer, uint32_t flags, uint64_t p,
                     uint64_t c, uint64_t num_ppns, struct qp_queue *pq, struct qp_queue *cq)
{
    struct {
        struct vmci_datagram hdr;
        struct vmci_qp_alloc_msg m;
    } msg = {{H(0, VMCI_QUEUEPAIR_ALLOC), VMCI_INVALID_HANDLE, sizeof msg.m},
             {h, peer, flags, p, c, num_ppns, pq, cq}};
    return vmci_device_hypercall(g->dev, &msg.hdr);
}

static int raw_detach(vmcisim_vm *g, vmci_handle h)
{
    struct {
        struct vmci_datagram hdr;
        struct vmci_qp_detach_msg m;
    } msg = {{H(0, VMCI_QUEUEPAIR_DETACH), VMCI_INVALID_HANDLE, sizeof msg.m}, {h}};
    return vmci_device_hypercall(g->dev, &msg.hdr);
}

static int64_t put(struct vmci_qp *qp, const char *s)
{
    return vmci_qpair_enqueue(qp, s, strlen(s), qp_copy_plain);
}

static void get_expect(struct vmci_qp *qp, const char *want)
{
    char buf[256] = {0};
    ck_assert_int_eq(vmci_qpair_dequeue(qp, buf, sizeof buf - 1, qp_copy_plain),
                     (int64_t)strlen(want));
    ck_assert_str_eq(buf, want);
}

struct fx {
    vmcisim *sim;
    vmcisim_vm *host, *g, *g2;
    struct evlog hev, gev, g2ev;
};

static void fx_init(struct fx *f, uint64_t seed, unsigned gflags)
{
    memset(f, 0, sizeof *f);
    f->sim = tu_world(seed);
    f->host = vmcisim_host(f->sim);
    f->g = vmcisim_vm_create_ex(f->sim, "g", 3, gflags);
    f->g2 = vmcisim_vm_create(f->sim, "g2", 4);
    sub_qp_events(f->host, &f->hev);
    sub_qp_events(f->g, &f->gev);
    sub_qp_events(f->g2, &f->g2ev);
}

/* §4.3/§4.4: a guest creates (it supplies the memory: CREATED_MEM), the host attaches with the
 * sizes swapped (ATTACHED_MEM) and the creator gets QP_PEER_ATTACH naming the host. Data flows
 * both ways through the guest's memory. */
START_TEST(broker_guest_create_host_attach)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *gq, *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 4096, 8192, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_uint_eq(h.context, 3);
    ck_assert_uint_eq(h.resource, 1024);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_MEM);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 4096 + 8192);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 4096, 8192, 3, VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_ERROR_QUEUEPAIR_MISMATCH);
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 8192, 4096, 3, VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_ATTACHED_MEM);
    ck_assert_uint_eq(vmci_qpair_produce_size(hq), 8192);
    ck_assert_uint_eq(vmci_qpair_consume_size(hq), 4096);
    ck_assert(vmci_handle_eq(vmci_qpair_handle(hq), h));
    settle(f.sim);
    ck_assert_int_eq(f.gev.n, 1);
    ck_assert_uint_eq(f.gev.r[0].event, VMCI_EVENT_QP_PEER_ATTACH);
    ck_assert(vmci_handle_eq(f.gev.r[0].handle, h));
    ck_assert_uint_eq(f.gev.r[0].peer, 2);
    ck_assert_uint_eq(f.gev.r[0].vm_cid, 3);
    ck_assert_int_eq(f.hev.n, 0);
    ck_assert_int_eq(put(gq, "hello"), 5);
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq), 5);
    ck_assert_int_eq(vmci_qpair_produce_buf_ready(gq), 5);
    ck_assert_int_eq(vmci_qpair_produce_free_space(gq), 4095 - 5);
    get_expect(hq, "hello");
    ck_assert_int_eq(put(hq, "world!"), 6);
    ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 8191 - 6);
    char pk[8] = {0};
    ck_assert_int_eq(vmci_qpair_peek(gq, pk, 3, qp_copy_plain), 3);
    ck_assert_str_eq(pk, "wor");
    get_expect(gq, "world!");
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_ptr_null(hq);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), -1);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.4: a host-created pair has no memory (CREATED_NO_MEM): the host sees QUEUEPAIR_NOTATTACHED
 * and zero space until the guest attaches with its memory; the host (creator) then gets
 * QP_PEER_ATTACH on its kernel worker. */
START_TEST(broker_host_create_guest_attach)
{
    struct fx f;
    fx_init(&f, 2, 0);
    struct vmci_qp *gq, *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 1000, 2000, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_uint_eq(h.context, 2);
    ck_assert_uint_eq(h.resource, 1024);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_NO_MEM);
    ck_assert_int_eq(put(hq, "x"), VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    char b[4];
    ck_assert_int_eq(vmci_qpair_dequeue(hq, b, 1, qp_copy_plain),
                     VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    ck_assert_int_eq(vmci_qpair_peek(hq, b, 1, qp_copy_plain), VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 0);
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq), 0);
    vmci_handle gh = h;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 2000, 1000, 2, VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_ATTACHED_MEM);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 3000);
    settle(f.sim);
    ck_assert_int_eq(f.hev.n, 1);
    ck_assert_uint_eq(f.hev.r[0].event, VMCI_EVENT_QP_PEER_ATTACH);
    ck_assert_uint_eq(f.hev.r[0].peer, 3);
    ck_assert_uint_eq(f.hev.r[0].vm_cid, 2); /* the host's kernel worker */
    ck_assert_int_eq(f.gev.n, 0);
    ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 999);
    ck_assert_int_eq(put(hq, "ping"), 4);
    get_expect(gq, "ping");
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 create: ATTACH_ONLY with no such pair is NOT_FOUND (host and guest). */
START_TEST(broker_attach_only_without_pair_not_found)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *q;
    vmci_handle h = H(3, 5000);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(qalloc(f.g, &q, &h, 64, 64, 2, VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_ERROR_NOT_FOUND);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(state(f.sim, h), -1);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 create: the handle's CID must be the creator's or the named peer's: NO_ACCESS. */
START_TEST(broker_create_handle_of_another_context_no_access)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *q;
    vmci_handle h = H(5, 2000);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, 0, 0), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 5, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_NO_MEM);
    ck_assert_int_eq(vmci_qpair_detach(&q), VMCI_SUCCESS);
    /* a guest naming a handle of the host's */
    vmci_handle gh = H(2, 2001);
    ck_assert_int_eq(qalloc(f.g, &q, &gh, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_ERROR_NO_ACCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3/§5.5 create: creator and peer both VMs: DST_UNREACHABLE. */
START_TEST(broker_create_vm_peer_vm_dst_unreachable)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &q, &h, 64, 64, 4, 0, 0), VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 attach: a pair that is not CREATED_* (a side already left: SHUTDOWN) is UNAVAILABLE. */
START_TEST(broker_attach_after_shutdown_unavailable)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *gq, *hq, *hq2, *g2q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_SHUTDOWN_MEM);
    ck_assert_int_eq(qalloc(f.host, &hq2, &hh, 64, 64, VMCI_INVALID_ID, 0, 0),
                     VMCI_ERROR_UNAVAILABLE);
    /* a VM may not attach there either (the state check comes first) */
    ck_assert_int_eq(qalloc(f.g2, &g2q, &hh, 64, 64, VMCI_INVALID_ID, 0, 0),
                     VMCI_ERROR_UNAVAILABLE);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3: a context that already has the pair (creator or attacher) gets ALREADY_EXISTS. */
START_TEST(broker_alloc_twice_already_exists)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *q2, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_SUCCESS);
    vmci_handle again = h;
    ck_assert_int_eq(qalloc(f.host, &q2, &again, 64, 64, VMCI_INVALID_ID, 0, 0),
                     VMCI_ERROR_ALREADY_EXISTS);
    vmci_handle gh = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_SUCCESS);
    vmci_handle gagain = gh;
    ck_assert_int_eq(qalloc(f.g, &q2, &gagain, 64, 64, VMCI_INVALID_ID, 0, 0),
                     VMCI_ERROR_ALREADY_EXISTS);
    /* the broker's own check, reached with a raw hypercall */
    struct qp_queue *pq = qp_queue_alloc(64, gh, false), *cq = qp_queue_alloc(64, gh, false);
    ck_assert_int_eq(raw_alloc(f.g, gh, VMCI_INVALID_ID, 0, 64, 64, 4, pq, cq),
                     VMCI_ERROR_ALREADY_EXISTS);
    qp_queue_free(pq);
    qp_queue_free(cq);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3/§5.5 attach: a VM attaching to another VM's pair: DST_UNREACHABLE. */
START_TEST(broker_attach_vm_to_vm_dst_unreachable)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *gq, *g2q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, VMCI_INVALID_ID, 0, 0), VMCI_SUCCESS);
    vmci_handle h2 = h;
    ck_assert_int_eq(qalloc(f.g2, &g2q, &h2, 64, 64, VMCI_INVALID_ID, 0, 0),
                     VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_MEM);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 4), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3/§5.4 attach: a restricted attacher needs a pair created by a trusted endpoint. */
START_TEST(broker_restricted_attacher_needs_trusted_creator)
{
    struct fx f;
    fx_init(&f, 1, VMCISIM_VM_RESTRICTED);
    struct vmci_qp *hq, *hq2, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    vmci_handle gh = h;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 64, 64, 2, 0, 0), VMCI_ERROR_NO_ACCESS);
    vmci_handle h2 = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq2, &h2, 64, 64, 3, 0, VMCI_PRIVILEGE_FLAG_TRUSTED),
                     VMCI_SUCCESS);
    gh = h2;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq2), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3/§5.4 attach: a pair created by a restricted context needs a trusted attacher. */
START_TEST(broker_restricted_creator_needs_trusted_attacher)
{
    struct fx f;
    fx_init(&f, 1, VMCISIM_VM_RESTRICTED);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, VMCI_PRIVILEGE_FLAG_TRUSTED),
                     VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 attach: the creator named a peer; anyone else is NO_ACCESS. */
START_TEST(broker_named_peer_only)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    vmci_handle gh = h;
    ck_assert_int_eq(qalloc(f.g2, &gq, &gh, 64, 64, 2, 0, 0), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 attach: sizes must match the entry's (the guest's point of view; the host's swapped):
 * QUEUEPAIR_MISMATCH. */
START_TEST(broker_size_mismatch)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 4096, 8192, 3, 0, 0), VMCI_SUCCESS);
    vmci_handle gh = h;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 4096, 8192, 2, 0, 0), VMCI_ERROR_QUEUEPAIR_MISMATCH);
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 8192, 8192, 2, 0, 0), VMCI_ERROR_QUEUEPAIR_MISMATCH);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 8192, 4096, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3/§4.4 attach: the host needs the guest's memory: attaching to CREATED_NO_MEM (here the
 * creating guest is suspended) is UNAVAILABLE; once mapped again it works. */
START_TEST(broker_host_attach_without_memory_unavailable)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmcisim_vm_suspend(f.g), 0);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_NO_MEM);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_ERROR_UNAVAILABLE);
    ck_assert_int_eq(vmcisim_vm_resume(f.g), 0);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_MEM);
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3: flags outside the known set, zero sizes, an invalid handle or context, LOCAL through
 * the broker (a Linux host refuses it), a wrong page count: INVALID_ARGS. §4.5: NONBLOCK and
 * PINNED are refused on Linux; guests allocate without privilege flags (NO_ACCESS). */
START_TEST(broker_argument_checks)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *q = (struct vmci_qp *)&f; /* set to NULL by every failing alloc */
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, 0x10, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, VMCI_QPFLAG_NONBLOCK, 0),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qalloc(f.g, &q, &h, 64, 64, 2, VMCI_QPFLAG_PINNED, 0),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 0, 64, 3, 0, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64, 64, 3, 0, 0x4), VMCI_ERROR_INVALID_ARGS);
    vmci_handle bad = H(VMCI_INVALID_ID, 77);
    ck_assert_int_eq(qalloc(f.host, &q, &bad, 64, 64, 3, 0, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qalloc(f.g, &q, &h, 64, 64, 2, 0, VMCI_PRIVILEGE_FLAG_TRUSTED),
                     VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(vmci_qpair_alloc(f.g, NULL, &h, 64, 64, 2, 0, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, NULL, 64, 64, 2, 0, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_qpair_alloc(NULL, &q, &h, 64, 64, 2, 0, 0),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    ck_assert_int_eq(vmci_qpair_detach(NULL), VMCI_ERROR_INVALID_ARGS);
    q = NULL;
    ck_assert_int_eq(vmci_qpair_detach(&q), VMCI_ERROR_INVALID_ARGS);
    /* raw hypercalls: what the kernel API never sends */
    vmci_handle rh = H(3, 3000);
    struct qp_queue *pq = qp_queue_alloc(64, rh, false), *cq = qp_queue_alloc(64, rh, false);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, VMCI_QPFLAG_LOCAL, 64, 64, 4, pq, cq),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, 0, 0, 0, 2, pq, cq), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, 0, 64, 64, 5, pq, cq), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, 0, 64, 64, 4, NULL, cq), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, 0, 128, 64, 4, pq, cq), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(raw_alloc(f.g, VMCI_INVALID_HANDLE, 2, 0, 64, 64, 4, pq, cq),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(state(f.sim, rh), -1);
    ck_assert_int_eq(raw_alloc(f.g, rh, 2, 0, 64, 64, 4, pq, cq), VMCI_SUCCESS_QUEUEPAIR_CREATE);
    ck_assert_int_eq(raw_detach(f.g, rh), VMCI_SUCCESS);
    ck_assert_int_eq(raw_detach(f.g, rh), VMCI_ERROR_NOT_FOUND);
    qp_queue_free(pq);
    qp_queue_free(cq);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §1.6/§4.3: one pair's produce + consume above 128 MiB (or overflowing) is NO_RESOURCES; each
 * guest backs at most 128 MiB of queues in all. */
START_TEST(broker_queue_memory_caps_no_resources)
{
    struct fx f;
    fx_init(&f, 1, 0);
    const uint64_t mib = 1024 * 1024;
    struct vmci_qp *q, *big, *small;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &q, &h, 64 * mib, 64 * mib + 1, 3, 0, 0),
                     VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(qalloc(f.g, &q, &h, 128 * mib, 1, 2, 0, 0), VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(qalloc(f.g, &q, &h, UINT64_MAX, 2, 2, 0, 0), VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(qalloc(f.g, &big, &h, 64 * mib, 64 * mib, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 128 * mib);
    vmci_handle h2 = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &small, &h2, 4096, 4096, 2, 0, 0), VMCI_ERROR_NO_RESOURCES);
    /* the other guest has its own 128 MiB */
    ck_assert_int_eq(qalloc(f.g2, &small, &h2, 4096, 4096, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&small), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&big), VMCI_SUCCESS);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    h2 = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &small, &h2, 4096, 4096, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&small), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 detach, guest first: the guest's memory goes with it (SHUTDOWN_NO_MEM), the host gets
 * QP_PEER_DETACH naming the guest and sees no memory: QUEUEPAIR_NOTATTACHED, zero space and
 * ready (it loses unread data, §8 surprise 2). The host's detach then frees the entry. */
START_TEST(broker_detach_guest_first)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(put(gq, "unread"), 6);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_SHUTDOWN_NO_MEM);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq), 0);
    ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 0);
    char b[8];
    ck_assert_int_eq(vmci_qpair_dequeue(hq, b, 8, qp_copy_plain),
                     VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    ck_assert_int_eq(put(hq, "x"), VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    settle(f.sim);
    ck_assert_int_eq(f.hev.n, 1);
    ck_assert_uint_eq(f.hev.r[0].event, VMCI_EVENT_QP_PEER_DETACH);
    ck_assert_uint_eq(f.hev.r[0].peer, 3);
    ck_assert(vmci_handle_eq(f.hev.r[0].handle, h));
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), -1);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 detach, host first: SHUTDOWN_MEM (the guest's memory is still there), the guest gets
 * QP_PEER_DETACH naming the host and can still read what the host wrote (§2.12). */
START_TEST(broker_detach_host_first)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(qalloc(f.host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(put(hq, "bye"), 3);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_SHUTDOWN_MEM);
    settle(f.sim);
    ck_assert_int_eq(f.gev.n, 2);
    ck_assert_uint_eq(f.gev.r[1].event, VMCI_EVENT_QP_PEER_DETACH);
    ck_assert_uint_eq(f.gev.r[1].peer, 2);
    get_expect(gq, "bye");
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h), -1);
    /* the creator alone: the entry goes at once, nobody is told */
    vmci_handle h2 = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h2, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    ck_assert_int_eq(state(f.sim, h2), -1);
    settle(f.sim);
    ck_assert_int_eq(f.gev.n, 2);
    ck_assert_int_eq(f.hev.n, 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.3 detach: a context not attached to the pair gets NOT_FOUND. */
START_TEST(broker_detach_not_attached_not_found)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(raw_detach(f.g, h), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(raw_detach(f.g, VMCI_INVALID_HANDLE), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_CREATED_NO_MEM);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §4.2 host side while the guest is quiesced: QUEUEPAIR_NOT_READY, zero space (not the
 * NOTATTACHED of a missing peer); back to normal after resume. */
START_TEST(broker_host_ops_not_ready_while_guest_quiesced)
{
    struct fx f;
    fx_init(&f, 1, 0);
    struct vmci_qp *hq, *gq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(qalloc(f.host, &hq, &h, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    vmci_handle gh = h;
    ck_assert_int_eq(qalloc(f.g, &gq, &gh, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_int_eq(put(hq, "abc"), 3);
    ck_assert_int_eq(vmcisim_vm_suspend(f.g), 0);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_ATTACHED_NO_MEM);
    ck_assert_int_eq(put(hq, "d"), VMCI_ERROR_QUEUEPAIR_NOT_READY);
    ck_assert_int_eq(vmci_qpair_produce_buf_ready(hq), 0);
    ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 0);
    ck_assert_int_eq(vmcisim_vm_resume(f.g), 0);
    ck_assert_int_eq(state(f.sim, h), VMCIQPB_ATTACHED_MEM);
    ck_assert_int_eq(vmci_qpair_produce_buf_ready(hq), 3);
    ck_assert_int_eq(put(hq, "d"), 1);
    get_expect(gq, "abcd");
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* Broker state numbers are those of §4.3 (NEW 0 .. GONE 7). */
START_TEST(broker_state_values)
{
    ck_assert_int_eq(VMCIQPB_NEW, 0);
    ck_assert_int_eq(VMCIQPB_CREATED_NO_MEM, 1);
    ck_assert_int_eq(VMCIQPB_CREATED_MEM, 2);
    ck_assert_int_eq(VMCIQPB_ATTACHED_NO_MEM, 3);
    ck_assert_int_eq(VMCIQPB_ATTACHED_MEM, 4);
    ck_assert_int_eq(VMCIQPB_SHUTDOWN_NO_MEM, 5);
    ck_assert_int_eq(VMCIQPB_SHUTDOWN_MEM, 6);
    ck_assert_int_eq(VMCIQPB_GONE, 7);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("qp_broker");
    TCase *tc = tcase_create("broker");
    tcase_add_test(tc, broker_guest_create_host_attach);
    tcase_add_test(tc, broker_host_create_guest_attach);
    tcase_add_test(tc, broker_attach_only_without_pair_not_found);
    tcase_add_test(tc, broker_create_handle_of_another_context_no_access);
    tcase_add_test(tc, broker_create_vm_peer_vm_dst_unreachable);
    tcase_add_test(tc, broker_attach_after_shutdown_unavailable);
    tcase_add_test(tc, broker_alloc_twice_already_exists);
    tcase_add_test(tc, broker_attach_vm_to_vm_dst_unreachable);
    tcase_add_test(tc, broker_restricted_attacher_needs_trusted_creator);
    tcase_add_test(tc, broker_restricted_creator_needs_trusted_attacher);
    tcase_add_test(tc, broker_named_peer_only);
    tcase_add_test(tc, broker_size_mismatch);
    tcase_add_test(tc, broker_host_attach_without_memory_unavailable);
    tcase_add_test(tc, broker_argument_checks);
    tcase_add_test(tc, broker_queue_memory_caps_no_resources);
    tcase_add_test(tc, broker_detach_guest_first);
    tcase_add_test(tc, broker_detach_host_first);
    tcase_add_test(tc, broker_detach_not_attached_not_found);
    tcase_add_test(tc, broker_host_ops_not_ready_while_guest_quiesced);
    tcase_add_test(tc, broker_state_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
