/*
 * test_hv_events.c - VMCI events (vmci-semantics.md §4.6): subscriptions, delivery to every
 * subscriber of the type, the event datagram format, CTX_REMOVED (§§5.4, 6) and the extra
 * queue room for event datagrams (§1.6).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/vmci_device.h"
#include "guest/event_subs.h"
#include "guest/vmci_kapi.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "stackutil.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* settle, world_traced, finish_traced, count, log_cb, H, nop_cb, mkdg, send_dg */

struct evrec {
    uint32_t event, sub;
    vmci_handle handle;
    uint32_t peer, ctx_cid;
    uint32_t vm_cid;
    int who;
};
struct evlog {
    int n;
    struct evrec r[128];
};
struct subarg {
    struct evlog *log;
    int who;
    vmcisim_vm *ctx;
    uint32_t unsubscribe_id;   /* unsubscribe this one when called (0: none) */
};

static void ev_cb(uint32_t sub_id, const struct vmci_event_data *ed, void *data)
{
    struct subarg *a = data;
    struct evlog *l = a->log;
    if (l->n < 128) {
        struct evrec *r = &l->r[l->n];
        r->event = ed->event;
        r->sub = sub_id;
        r->handle = ed->u.qp.handle;
        r->peer = ed->u.qp.peer_id;
        r->ctx_cid = ed->u.ctx.context_id;
        sim_thread *t = sim_self();
        r->vm_cid = t ? t->vm->cid : ~0u;
        r->who = a->who;
    }
    l->n++;
    if (a->unsubscribe_id)
        ck_assert_int_eq(vmci_event_unsubscribe(a->ctx, a->unsubscribe_id), VMCI_SUCCESS);
}

/* §4.6: subscription IDs are small sequential integers (per context); unknown events and
 * MEM_ACCESS_* (VMX only) are not subscribable; unsubscribing twice is NOT_FOUND. */
START_TEST(ev_subscription_ids_and_checks)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *host = vmcisim_host(sim);
    struct evlog l = {0};
    struct subarg a = {&l, 0, g, 0};
    uint32_t id;
    for (uint32_t i = 1; i <= 3; i++) {
        ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_PEER_ATTACH, ev_cb, &a, &id),
                         VMCI_SUCCESS);
        ck_assert_uint_eq(id, i);
    }
    ck_assert_int_eq(vmci_event_subscribe(host, VMCI_EVENT_CTX_REMOVED, ev_cb, &a, &id),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(id, 1); /* the host has its own sequence */
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_MEM_ACCESS_ON, ev_cb, &a, &id),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_MEM_ACCESS_OFF, ev_cb, &a, &id),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_MAX, ev_cb, &a, &id),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, NULL, &a, &id),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, ev_cb, &a, NULL),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_event_unsubscribe(g, 2), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_event_unsubscribe(g, 2), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, ev_cb, &a, &id),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(id, 4); /* IDs are not reused */
    ck_assert_int_eq(vmci_event_unsubscribe(NULL, 1), VMCI_ERROR_DEVICE_NOT_FOUND);
    vmcisim_destroy(sim);
}
END_TEST

/* §4.6: every subscriber of the event type is called, in subscription order, with the event's
 * payload {handle, peer_id}; subscribers of other types are not; guest callbacks run on the
 * guest's kernel worker, host callbacks on the host's. */
START_TEST(ev_every_subscriber_of_the_type_called)
{
    vmcisim *sim = tu_world_stack(2);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *host = vmcisim_host(sim);
    struct evlog l = {0};
    struct subarg ga[3] = {{&l, 1, g, 0}, {&l, 2, g, 0}, {&l, 3, g, 0}};
    struct subarg gd = {&l, 4, g, 0}, ha[2] = {{&l, 11, host, 0}, {&l, 12, host, 0}};
    uint32_t id;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_PEER_ATTACH, ev_cb, &ga[i], &id),
                         VMCI_SUCCESS);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_PEER_DETACH, ev_cb, &gd, &id),
                     VMCI_SUCCESS);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(vmci_event_subscribe(host, VMCI_EVENT_QP_PEER_DETACH, ev_cb, &ha[i],
                                              &id), VMCI_SUCCESS);
    struct vmci_qp *gq, *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(vmci_qpair_alloc(host, &hq, &hh, 64, 64, 3, 0, 0), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(l.r[i].who, i + 1);
        ck_assert_uint_eq(l.r[i].sub, (uint32_t)i + 1);
        ck_assert_uint_eq(l.r[i].event, VMCI_EVENT_QP_PEER_ATTACH);
        ck_assert(vmci_handle_eq(l.r[i].handle, h));
        ck_assert_uint_eq(l.r[i].peer, 2);
        ck_assert_uint_eq(l.r[i].vm_cid, 3);
    }
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 5);
    ck_assert_int_eq(l.r[3].who, 11);
    ck_assert_int_eq(l.r[4].who, 12);
    ck_assert_uint_eq(l.r[3].event, VMCI_EVENT_QP_PEER_DETACH);
    ck_assert_uint_eq(l.r[3].peer, 3);
    ck_assert_uint_eq(l.r[3].vm_cid, 2);
    ck_assert_int_eq(vmci_qpair_detach(&hq), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 5); /* the last one out tells nobody */
    vmcisim_destroy(sim);
}
END_TEST

/* A callback may unsubscribe another subscriber of the same event: that one is not called for
 * the event being dispatched; one added meanwhile waits for the next event. */
START_TEST(ev_unsubscribe_during_dispatch)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct evlog l = {0};
    struct subarg a1 = {&l, 1, g, 2}, a2 = {&l, 2, g, 0}, a3 = {&l, 3, g, 0};
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, ev_cb, &a1, &id), 0);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, ev_cb, &a2, &id), 0);
    ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_QP_RESUMED, ev_cb, &a3, &id), 0);
    ck_assert_int_eq(vmcisim_vm_migrate(g), 0);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(l.r[0].who, 1);
    ck_assert_int_eq(l.r[1].who, 3);
    vmcisim_destroy(sim);
}
END_TEST

/* §6/§5.4: when a VM is powered off, CTX_REMOVED(cid) goes to the contexts allowed to see it:
 * the host's subscribers get it; no VM gets another VM's (no VM<->VM notifications). */
START_TEST(ev_ctx_removed_to_host_not_to_vms)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *g2 = vmcisim_vm_create_ex(sim, "g2", 4, VMCISIM_VM_TRUSTED);
    vmcisim_vm *host = vmcisim_host(sim);
    struct evlog l = {0};
    struct subarg ha = {&l, 1, host, 0}, g2a = {&l, 2, g2, 0};
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(host, VMCI_EVENT_CTX_REMOVED, ev_cb, &ha, &id), 0);
    ck_assert_int_eq(vmci_event_subscribe(g2, VMCI_EVENT_CTX_REMOVED, ev_cb, &g2a, &id), 0);
    ck_assert_int_eq(vmcisim_vm_power_off(g), 0);
    settle(sim);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.r[0].who, 1);
    ck_assert_uint_eq(l.r[0].event, VMCI_EVENT_CTX_REMOVED);
    ck_assert_uint_eq(l.r[0].ctx_cid, 3);
    ck_assert_uint_eq(l.r[0].vm_cid, 2);
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "event type=ctx-removed to=2 cid=3 result=VMCI_SUCCESS"), 1);
    ck_assert_int_eq(count(t, "event type=ctx-removed to=4"), 0);
    free(t);
}
END_TEST

/* §4.6/§1.6: event datagrams may overshoot the pending-datagram limit of a VM (139264) up to
 * 188416 bytes; other datagrams may not. */
START_TEST(ev_event_datagrams_use_extra_room)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *host = vmcisim_host(sim);
    vmci_handle hh, gh = H(3, 1024);
    ck_assert_int_eq(vmci_datagram_create_handle(host, 1500, 0, 0, nop_cb, NULL, &hh), 0);
    /* 33 x 4096 = 135168 queued: the next 4096 would reach the limit. */
    for (int i = 0; i < 33; i++)
        ck_assert_int_eq(send_dg(host, gh, hh, 4072, 0), 4096);
    ck_assert_int_eq(send_dg(host, gh, hh, 4072, 0), VMCI_ERROR_NO_RESOURCES);
    /* Each migrate queues CTX_ID_UPDATE (40 bytes) and QP_RESUMED (32 bytes). */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(vmcisim_vm_migrate(g), 0);
    ck_assert_uint_eq(vmci_device_rx_bytes(g->dev), 135168 + 10 * 72);
    /* Fill the event room: (188416 - 135888) / 72 = 729.5 more migrates fit, the rest drop. */
    for (int i = 0; i < 740; i++)
        ck_assert_int_eq(vmcisim_vm_migrate(g), 0);
    uint64_t bytes = vmci_device_rx_bytes(g->dev);
    ck_assert_uint_lt(bytes, 188416);
    ck_assert_uint_ge(bytes, 188416 - 40);
    ck_assert_int_eq(send_dg(host, gh, hh, 1, 0), VMCI_ERROR_NO_RESOURCES);
    char *t = finish_traced(sim, path);
    ck_assert_int_gt(count(t, "event type=qp-resumed to=3 result=VMCI_ERROR_NO_RESOURCES"), 0);
    free(t);
}
END_TEST

/* §4.6 payload: a QP event datagram is {u32 event, u32 pad} + {handle, u32 peer_id, pad} from
 * (0, 0) to (cid, 0); a context event carries {u32 cid, pad}. Checked on the wire (the guest's
 * device queue) before the driver takes it. */
START_TEST(ev_datagram_format_on_the_wire)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_qp *gq, *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &gq, &h, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    vmci_handle hh = h;
    ck_assert_int_eq(vmci_qpair_alloc(vmcisim_host(sim), &hq, &hh, 64, 64, 3, 0, 0), 0);
    ck_assert_uint_eq(vmci_device_rx_count(g->dev), 1);
    struct vmci_datagram *dg = vmci_device_rx_pop(g->dev);
    ck_assert_ptr_nonnull(dg);
    ck_assert_uint_eq(dg->src.context, 0);
    ck_assert_uint_eq(dg->src.resource, 0);
    ck_assert_uint_eq(dg->dst.context, 3);
    ck_assert_uint_eq(dg->dst.resource, VMCI_EVENT_HANDLER);
    ck_assert_uint_eq(dg->payload_size, 24);
    uint32_t w[6];
    memcpy(w, VMCI_DG_PAYLOAD(dg), sizeof w);
    ck_assert_uint_eq(w[0], VMCI_EVENT_QP_PEER_ATTACH);
    ck_assert_uint_eq(w[1], 0);
    ck_assert_uint_eq(w[2], h.context);
    ck_assert_uint_eq(w[3], h.resource);
    ck_assert_uint_eq(w[4], 2);
    ck_assert_uint_eq(w[5], 0);
    free(dg);
    ck_assert_int_eq(hv_context_change_cid(g, 12), VMCI_SUCCESS);
    dg = vmci_device_rx_pop(g->dev);
    ck_assert_uint_eq(dg->dst.context, 12);
    ck_assert_uint_eq(dg->payload_size, 16);
    memcpy(w, VMCI_DG_PAYLOAD(dg), 16);
    ck_assert_uint_eq(w[0], VMCI_EVENT_CTX_ID_UPDATE);
    ck_assert_uint_eq(w[2], 12);
    free(dg);
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
    vmcisim_destroy(sim);
}
END_TEST

/* An event datagram for a guest with no subscriber of its type is consumed quietly; a
 * malformed one (an application datagram can not pose as one: only (0,0) sources are events)
 * is dropped with a trace record. */
START_TEST(ev_malformed_event_dropped)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *host = vmcisim_host(sim);
    vmci_handle hh;
    ck_assert_int_eq(vmci_datagram_create_handle(host, 1500, 0, 0, nop_cb, NULL, &hh), 0);
    /* the host sending to (3, 0) is an ordinary datagram, for a handle the guest lacks */
    ck_assert_int_eq(send_dg(host, H(3, VMCI_EVENT_HANDLER), hh, 8, 0), 32);
    /* a short event datagram straight into the device, as a buggy hypervisor might */
    struct vmci_datagram bad = {H(3, 0), H(0, 0), 0};
    ck_assert_int_eq(vmci_device_rx_push(g->dev, &bad, false), VMCI_SUCCESS);
    settle(sim);
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "dg-drop src=2:1500 dst=3:0 size=32 reason=no-handle"), 1);
    ck_assert_int_eq(count(t, "dg-drop src=0:0 dst=3:0 size=24 reason=bad-event"), 1);
    free(t);
}
END_TEST

/* §4.6: a new subscription ID is the counter's next value not in use; after 10 tries that all
 * hit IDs in use the subscribe is NO_RESOURCES. (The counter only collides after wrapping:
 * forced here on the subscriber list itself.) */
START_TEST(ev_ten_tries_then_no_resources)
{
    struct event_subs s = {0};
    struct evlog l = {0};
    struct subarg a = {&l, 0, NULL, 0};
    uint32_t id;
    for (uint32_t i = 1; i <= 10; i++) {
        ck_assert_int_eq(event_subs_add(&s, VMCI_EVENT_QP_RESUMED, ev_cb, &a, &id), 0);
        ck_assert_uint_eq(id, i);
    }
    s.counter = 0; /* as if it had wrapped */
    ck_assert_int_eq(event_subs_add(&s, VMCI_EVENT_QP_RESUMED, ev_cb, &a, &id),
                     VMCI_ERROR_NO_RESOURCES);
    ck_assert_uint_eq(s.counter, 10);
    ck_assert_int_eq(event_subs_add(&s, VMCI_EVENT_QP_RESUMED, ev_cb, &a, &id), 0);
    ck_assert_uint_eq(id, 11);
    s.counter = 1;
    ck_assert_int_eq(event_subs_remove(&s, 5), 0);
    ck_assert_int_eq(event_subs_add(&s, VMCI_EVENT_QP_RESUMED, ev_cb, &a, &id), 0);
    ck_assert_uint_eq(id, 5); /* the 4th try */
    event_subs_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_events");
    TCase *tc = tcase_create("events");
    tcase_add_test(tc, ev_subscription_ids_and_checks);
    tcase_add_test(tc, ev_ten_tries_then_no_resources);
    tcase_add_test(tc, ev_every_subscriber_of_the_type_called);
    tcase_add_test(tc, ev_unsubscribe_during_dispatch);
    tcase_add_test(tc, ev_ctx_removed_to_host_not_to_vms);
    tcase_add_test(tc, ev_event_datagrams_use_extra_room);
    tcase_add_test(tc, ev_datagram_format_on_the_wire);
    tcase_add_test(tc, ev_malformed_event_dropped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
