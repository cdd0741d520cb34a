/*
 * test_guest_qp.c - the guest driver's queue pairs (vmci-semantics.md §§4.3-4.5): LOCAL pairs
 * inside the guest, alloc/detach as hypercalls, the kernel API's data path; and a realtime run
 * of a host and a guest thread streaming through one pair with the whole kernel API.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/vmci_device.h"
#include "guest/vmci_kapi.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "stackutil.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* settle, world_traced, finish_traced, count, log_cb, H, nop_cb, mkdg, send_dg */

struct evrec {
    uint32_t event;
    vmci_handle handle;
    uint32_t peer;
    uint32_t vm_cid;
};
struct evlog {
    int n;
    struct evrec r[32];
};

static void ev_cb(uint32_t sub_id, const struct vmci_event_data *ed, void *data)
{
    (void)sub_id;
    struct evlog *l = data;
    if (l->n < 32) {
        l->r[l->n].event = ed->event;
        l->r[l->n].handle = ed->u.qp.handle;
        l->r[l->n].peer = ed->u.qp.peer_id;
        sim_thread *t = sim_self();
        l->r[l->n].vm_cid = t ? t->vm->cid : ~0u;
    }
    l->n++;
}

static void sub_qp(vmcisim_vm *ctx, struct evlog *l)
{
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(ctx, VMCI_EVENT_QP_PEER_ATTACH, ev_cb, l, &id), 0);
    ck_assert_int_eq(vmci_event_subscribe(ctx, VMCI_EVENT_QP_PEER_DETACH, ev_cb, l, &id), 0);
}

/* §4.3 LOCAL: the pair never leaves the guest (no hypercall, no broker entry); the second alloc
 * of the handle is the local attach, with the queues swapped; the creator's subscribers get
 * QP_PEER_ATTACH from the guest itself (peer = its own CID), then QP_PEER_DETACH. */
START_TEST(local_pair_attach_swapped_events_in_guest)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct evlog l = {0};
    sub_qp(g, &l);
    struct vmci_qp *a, *b;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &a, &h, 100, 200, VMCI_INVALID_ID, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(h.context, 3);
    ck_assert_int_eq(hv_qp_state(hv_of(sim), h), -1);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(sim), 3), 0);
    vmci_handle h2 = h;
    ck_assert_int_eq(vmci_qpair_alloc(g, &b, &h2, 200, 100, VMCI_INVALID_ID,
                                      VMCI_QPFLAG_LOCAL | VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_SUCCESS);
    ck_assert(vmci_handle_eq(h, h2));
    ck_assert_uint_eq(vmci_qpair_produce_size(b), 200);
    ck_assert_uint_eq(vmci_qpair_consume_size(b), 100);
    ck_assert_int_eq(vmci_qpair_enqueue(a, "abc", 3, qp_copy_plain), 3);
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(b), 3);
    ck_assert_int_eq(vmci_qpair_produce_free_space(a), 96);
    char buf[8] = {0};
    ck_assert_int_eq(vmci_qpair_dequeue(b, buf, sizeof buf, qp_copy_plain), 3);
    ck_assert_str_eq(buf, "abc");
    ck_assert_int_eq(vmci_qpair_enqueue(b, "xy", 2, qp_copy_plain), 2);
    ck_assert_int_eq(vmci_qpair_produce_free_space(b), 197);
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(vmci_qpair_dequeue(a, buf, sizeof buf, qp_copy_plain), 2);
    ck_assert_str_eq(buf, "xy");
    settle(sim);
    ck_assert_int_eq(l.n, 1);
    ck_assert_uint_eq(l.r[0].event, VMCI_EVENT_QP_PEER_ATTACH);
    ck_assert(vmci_handle_eq(l.r[0].handle, h));
    ck_assert_uint_eq(l.r[0].peer, 3);
    ck_assert_uint_eq(l.r[0].vm_cid, 3);
    ck_assert_int_eq(vmci_qpair_detach(&b), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    ck_assert_uint_eq(l.r[1].event, VMCI_EVENT_QP_PEER_DETACH);
    ck_assert_int_eq(vmci_qpair_detach(&a), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "svc=qp-alloc"), 0);
    ck_assert_int_eq(count(t, "svc=qp-detach"), 0);
    ck_assert_int_eq(count(t, "local=1"), 4); /* two allocs, two events */
    free(t);
}
END_TEST

/* §4.3 LOCAL: sizes and flags must mirror (QUEUEPAIR_MISMATCH), at most two users
 * (UNAVAILABLE); the handle must be the guest's own and the peer itself or any (NO_ACCESS);
 * ATTACH_ONLY with no pair is NOT_FOUND. */
START_TEST(local_pair_checks)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_qp *a, *b, *c;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &a, &h, 100, 200, 3, VMCI_QPFLAG_LOCAL, 0), 0);
    vmci_handle h2 = h;
    ck_assert_int_eq(vmci_qpair_alloc(g, &b, &h2, 100, 200, 3, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_QUEUEPAIR_MISMATCH);
    ck_assert_int_eq(vmci_qpair_alloc(g, &b, &h2, 200, 100, 3, 0, 0),
                     VMCI_ERROR_QUEUEPAIR_MISMATCH);
    ck_assert_int_eq(vmci_qpair_alloc(g, &b, &h2, 200, 100, 3, VMCI_QPFLAG_LOCAL, 0), 0);
    ck_assert_int_eq(vmci_qpair_alloc(g, &c, &h2, 200, 100, 3, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_UNAVAILABLE);
    vmci_handle other = vmci_make_handle(2, 5000);
    ck_assert_int_eq(vmci_qpair_alloc(g, &c, &other, 64, 64, 3, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_NO_ACCESS);
    vmci_handle fresh = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &c, &fresh, 64, 64, 2, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(vmci_qpair_alloc(g, &c, &fresh, 64, 64, 3,
                                      VMCI_QPFLAG_LOCAL | VMCI_QPFLAG_ATTACH_ONLY, 0),
                     VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_qpair_detach(&a), 0);
    ck_assert_int_eq(vmci_qpair_detach(&b), 0);
    /* gone: the handle is free again for a new pair */
    ck_assert_int_eq(vmci_qpair_alloc(g, &a, &h, 64, 64, 3, VMCI_QPFLAG_LOCAL, 0), 0);
    ck_assert_int_eq(vmci_qpair_detach(&a), 0);
    vmcisim_destroy(sim);
}
END_TEST

/* §4.3 guest driver: non-LOCAL alloc and detach go to the hypervisor as hypercalls to (0, 10)
 * and (0, 11) through the device; the guest supplies memory pages for both queues. */
START_TEST(guest_qp_alloc_and_detach_are_hypercalls)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_qp *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &q, &h, 5000, 3000, 2, 0, 0), 0);
    ck_assert_int_eq(hv_qp_state(hv_of(sim), h), VMCIQPB_CREATED_MEM);
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    ck_assert_ptr_null(q);
    char *t = finish_traced(sim, path);
    /* payload: handle 8, peer 4, flags 4, sizes 16, num_ppns 8, two queue pointers */
    ck_assert_int_eq(count(t, "g/3 main hypercall ctx=3 svc=qp-alloc rid=10 size=56 result=4"),
                     1);
    ck_assert_int_eq(count(t, "g/3 main hypercall ctx=3 svc=qp-detach rid=11 size=8 result=0"),
                     1);
    ck_assert_int_eq(count(t, "qp-alloc ctx=3 op=create handle=3:1024 peer=2 flags=0 priv=0 "
                              "produce=5000 consume=3000 result=VMCI_SUCCESS_QUEUEPAIR_CREATE "
                              "state=CREATED_MEM"), 1);
    free(t);
}
END_TEST

/* §4.3: a guest whose detach hypercall fails keeps its endpoint (and memory: the hypervisor
 * may still use it); the client's struct is freed anyway. The memory goes at power off. */
START_TEST(guest_qp_failed_detach_keeps_endpoint)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_qp *q, *q2;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &q, &h, 64, 64, 2, 0, 0), 0);
    /* the broker forgets it behind the driver's back */
    struct {
        struct vmci_datagram hdr;
        struct vmci_qp_detach_msg m;
    } msg = {{H(0, VMCI_QUEUEPAIR_DETACH), VMCI_INVALID_HANDLE, sizeof msg.m}, {h}};
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &msg.hdr), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_qpair_detach(&q), VMCI_ERROR_NOT_FOUND);
    ck_assert_ptr_null(q);
    /* the endpoint is still the guest's: the same handle is ALREADY_EXISTS */
    vmci_handle h2 = h;
    ck_assert_int_eq(vmci_qpair_alloc(g, &q2, &h2, 64, 64, 2, 0, 0), VMCI_ERROR_ALREADY_EXISTS);
    ck_assert_int_eq(vmcisim_vm_power_off(g), 0);
    vmcisim_destroy(sim);
}
END_TEST

/* The kernel API's data path: sizes from the caller's point of view, partial enqueue up to the
 * free space, NOSPACE / NODATA, peek, bad arguments. */
START_TEST(guest_qp_data_path_and_sizes)
{
    for (uint64_t seed = 0; seed < (uint64_t)tu_seed_count(); seed++) {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
        struct vmci_qp *gq, *hq;
        vmci_handle h = VMCI_INVALID_HANDLE;
        ck_assert_int_eq(vmci_qpair_alloc(g, &gq, &h, 10, 20, 2, 0, 0), 0);
        vmci_handle hh = h;
        ck_assert_int_eq(vmci_qpair_alloc(vmcisim_host(sim), &hq, &hh, 20, 10, 3, 0, 0), 0);
        ck_assert_uint_eq(vmci_qpair_produce_size(gq), 10);
        ck_assert_uint_eq(vmci_qpair_consume_size(gq), 20);
        ck_assert_int_eq(vmci_qpair_produce_free_space(gq), 9);
        ck_assert_int_eq(vmci_qpair_consume_free_space(gq), 19);
        ck_assert_int_eq(vmci_qpair_enqueue(gq, "0123456789ABC", 13, qp_copy_plain), 9);
        ck_assert_int_eq(vmci_qpair_enqueue(gq, "x", 1, qp_copy_plain),
                         VMCI_ERROR_QUEUEPAIR_NOSPACE);
        ck_assert_int_eq(vmci_qpair_produce_buf_ready(gq), 9);
        ck_assert_int_eq(vmci_qpair_consume_free_space(hq), 0);
        char buf[32] = {0};
        ck_assert_int_eq(vmci_qpair_peek(hq, buf, 4, qp_copy_plain), 4);
        ck_assert_str_eq(buf, "0123");
        ck_assert_int_eq(vmci_qpair_dequeue(hq, buf, sizeof buf, qp_copy_plain), 9);
        ck_assert_int_eq(memcmp(buf, "012345678", 9), 0);
        ck_assert_int_eq(vmci_qpair_dequeue(hq, buf, 1, qp_copy_plain),
                         VMCI_ERROR_QUEUEPAIR_NODATA);
        ck_assert_int_eq(vmci_qpair_enqueue(gq, NULL, 1, qp_copy_plain),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_qpair_enqueue(NULL, "x", 1, qp_copy_plain),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_qpair_produce_free_space(NULL), VMCI_ERROR_INVALID_ARGS);
        ck_assert_uint_eq(vmci_qpair_produce_size(NULL), 0);
        ck_assert(vmci_handle_invalid(vmci_qpair_handle(NULL)));
        ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
        ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* Data-path calls are scheduling points and trace records (vmci_kapi.h). */
START_TEST(guest_qp_data_calls_are_trace_records)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_qp *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &q, &h, 64, 64, 2, 0, 0), 0);
    ck_assert_int_eq(vmci_qpair_enqueue(q, "abc", 3, qp_copy_plain), 3);
    ck_assert_int_eq(vmci_qpair_produce_buf_ready(q), 3);
    char b[4];
    ck_assert_int_eq(vmci_qpair_dequeue(q, b, 4, qp_copy_plain), VMCI_ERROR_QUEUEPAIR_NODATA);
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "qp-enqueue handle=3:1024 len=3 result=3"), 1);
    ck_assert_int_eq(count(t, "qp-produce-ready handle=3:1024 result=3"), 1);
    ck_assert_int_eq(count(t, "qp-dequeue handle=3:1024 len=4 result=VMCI_ERROR_QUEUEPAIR_NODATA"),
                     1);
    free(t);
}
END_TEST

/* ---- realtime: a host thread and a guest thread through the whole kernel API ------------ */

#define RT_BYTES (512u * 1024u)

struct rt {
    vmcisim *sim;
    vmcisim_vm *g;
    vmci_handle h;
    int phase;              /* 1: the guest created the pair */
    sim_waitq q;
    uint64_t sent_sum, recv_sum, received;
    int attach_events;
};

static uint8_t rt_byte(uint64_t i) { return (uint8_t)(i * 131 + (i >> 9)); }

static void rt_attach_cb(uint32_t sub, const struct vmci_event_data *ed, void *data)
{
    (void)sub;
    (void)ed;
    struct rt *r = data;
    r->attach_events++;
}

static void rt_guest(void *arg)
{
    struct rt *r = arg;
    sim_enter(r->sim);
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(r->g, VMCI_EVENT_QP_PEER_ATTACH, rt_attach_cb, r, &id),
                     0);
    struct vmci_qp *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(r->g, &q, &h, 4099, 4099, 2, 0, 0), 0);
    r->h = h;
    r->phase = 1;
    sim_wake_all(&r->q);
    uint64_t i = 0;
    uint8_t chunk[1000];
    while (i < RT_BYTES) {
        size_t n = sizeof chunk < RT_BYTES - i ? sizeof chunk : (size_t)(RT_BYTES - i);
        for (size_t k = 0; k < n; k++)
            chunk[k] = rt_byte(i + k);
        int64_t w = vmci_qpair_enqueue(q, chunk, n, qp_copy_plain);
        if (w == VMCI_ERROR_QUEUEPAIR_NOSPACE) {
            sim_leave(r->sim);
            sched_yield();
            sim_enter(r->sim);
            continue;
        }
        ck_assert_int_gt(w, 0);
        for (int64_t k = 0; k < w; k++)
            r->sent_sum = r->sent_sum * 31 + chunk[k];
        i += (uint64_t)w;
    }
    while (r->phase != 2)
        sim_wait(&r->q, SIM_NO_DEADLINE, "the host to finish reading");
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    sim_leave(r->sim);
}

static void rt_host(void *arg)
{
    struct rt *r = arg;
    sim_enter(r->sim);
    while (r->phase != 1)
        sim_wait(&r->q, SIM_NO_DEADLINE, "the guest's pair");
    struct vmci_qp *q;
    vmci_handle h = r->h;
    ck_assert_int_eq(vmci_qpair_alloc(vmcisim_host(r->sim), &q, &h, 4099, 4099, 3, 0, 0), 0);
    uint8_t chunk[1500];
    while (r->received < RT_BYTES) {
        int64_t n = vmci_qpair_dequeue(q, chunk, sizeof chunk, qp_copy_plain);
        if (n == VMCI_ERROR_QUEUEPAIR_NODATA) {
            sim_leave(r->sim);
            sched_yield();
            sim_enter(r->sim);
            continue;
        }
        ck_assert_int_gt(n, 0);
        for (int64_t k = 0; k < n; k++) {
            ck_assert_uint_eq(chunk[k], rt_byte(r->received + (uint64_t)k));
            r->recv_sum = r->recv_sum * 31 + chunk[k];
        }
        r->received += (uint64_t)n;
    }
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    r->phase = 2;
    sim_wake_all(&r->q);
    sim_leave(r->sim);
}

START_TEST(qp_host_guest_stream_realtime)
{
    vmcisim *sim = tu_world_rt();
    struct rt *r = calloc(1, sizeof *r);
    r->sim = sim;
    r->g = vmcisim_vm_create(sim, "g", 3);
    ck_assert_int_eq(vmcisim_spawn(r->g, "guest-writer", rt_guest, r), 0);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "host-reader", rt_host, r), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    ck_assert_uint_eq(r->received, RT_BYTES);
    ck_assert_uint_eq(r->sent_sum, r->recv_sum);
    vmcisim_destroy(sim);
    ck_assert_int_le(r->attach_events, 1);
    free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("guest_qp");
    TCase *tc = tcase_create("guest");
    tcase_add_test(tc, local_pair_attach_swapped_events_in_guest);
    tcase_add_test(tc, local_pair_checks);
    tcase_add_test(tc, guest_qp_alloc_and_detach_are_hypercalls);
    tcase_add_test(tc, guest_qp_failed_detach_keeps_endpoint);
    tcase_add_test(tc, guest_qp_data_path_and_sizes);
    tcase_add_test(tc, guest_qp_data_calls_are_trace_records);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, qp_host_guest_stream_realtime);
    tcase_set_timeout(rt, 300);
    suite_add_tcase(s, rt);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
