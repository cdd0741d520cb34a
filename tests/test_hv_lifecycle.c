/*
 * test_hv_lifecycle.c - what VM lifecycle events do below the sockets (vmci-semantics.md §6,
 * docs/vmci-stack.md): suspend/resume (quiesce, *_NO_MEM, QP_RESUMED), migrate and fault
 * tolerance as a checkpoint+restore, fault tolerance refusing new pairs, power off removing
 * the context.
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

/* ---- helpers ----------------------------------------------------------------------------- */

/* settle, world_traced, finish_traced, count, log_cb, H, nop_cb, mkdg, send_dg */

/* One sequence of what a context's callbacks saw, datagrams and events alike. */
struct seq {
    int n;
    char what[64][32];
};

static void seq_add(struct seq *s, const char *fmt, unsigned a)
{
    if (s->n < 64)
        snprintf(s->what[s->n], sizeof s->what[0], fmt, a);
    s->n++;
}

static int seq_dg_cb(void *cd, struct vmci_datagram *dg)
{
    seq_add(cd, "dg:%u", dg->payload_size ? *(uint8_t *)VMCI_DG_PAYLOAD(dg) : 0);
    return 0;
}

static void seq_ev_cb(uint32_t sub, const struct vmci_event_data *ed, void *data)
{
    (void)sub;
    static const char *const names[] = {"id-update", "removed", "resumed", "peer-attach",
                                        "peer-detach"};
    seq_add(data, ed->event < 5 ? names[ed->event] : "?", 0);
    if (ed->event == VMCI_EVENT_QP_PEER_ATTACH || ed->event == VMCI_EVENT_QP_PEER_DETACH ||
        ed->event == VMCI_EVENT_CTX_REMOVED) {
        struct seq *s = data;
        if (s->n <= 64)
            snprintf(s->what[s->n - 1] + strlen(s->what[s->n - 1]), 12, ":%u",
                     ed->event == VMCI_EVENT_CTX_REMOVED ? ed->u.ctx.context_id
                                                         : ed->u.qp.peer_id);
    }
}

static void sub_all(vmcisim_vm *ctx, struct seq *s)
{
    uint32_t id;
    for (uint32_t ev = 0; ev <= VMCI_EVENT_QP_PEER_DETACH; ev++)
        ck_assert_int_eq(vmci_event_subscribe(ctx, ev, seq_ev_cb, s, &id), VMCI_SUCCESS);
}

struct lf {
    vmcisim *sim;
    vmcisim_vm *host, *g;
    vmci_handle gh, hh;
    struct seq gs, hs;
};

static void lf_init(struct lf *f, vmcisim *sim)
{
    memset(f, 0, sizeof *f);
    f->sim = sim;
    f->host = vmcisim_host(sim);
    f->g = vmcisim_vm_create(sim, "g", 3);
    ck_assert_int_eq(vmci_datagram_create_handle(f->g, VMCI_INVALID_ID, 0, 0, seq_dg_cb, &f->gs,
                                                 &f->gh), 0);
    ck_assert_int_eq(vmci_datagram_create_handle(f->host, 1500, 0, VMCI_PRIVILEGE_FLAG_TRUSTED,
                                                 seq_dg_cb, &f->hs, &f->hh), 0);
    sub_all(f->g, &f->gs);
    sub_all(f->host, &f->hs);
}

/* A guest-created pair the host attached to. */
static void pair(struct lf *f, struct vmci_qp **gq, struct vmci_qp **hq, vmci_handle *h)
{
    *h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f->g, gq, h, 64, 64, 2, 0, 0), 0);
    vmci_handle hh = *h;
    ck_assert_int_eq(vmci_qpair_alloc(f->host, hq, &hh, 64, 64, 3, 0, 0), 0);
}

/* §6/§4.2: suspend quiesces the device (datagrams for the VM wait, no interrupt) and moves the
 * VM's pairs to *_NO_MEM (host data calls NOT_READY, space 0). Resume maps them again and
 * delivers what waited, in order, then CTX_ID_UPDATE and QP_RESUMED (guest only). */
START_TEST(life_suspend_quiesces_resume_delivers_then_resumed)
{
    for (uint64_t seed = 0; seed < (uint64_t)tu_seed_count(); seed++) {
        struct lf f;
        lf_init(&f, tu_world_stack(seed));
        struct vmci_qp *gq, *hq;
        vmci_handle h;
        pair(&f, &gq, &hq, &h);
        settle(f.sim);
        ck_assert_int_eq(f.gs.n, 1); /* peer-attach */
        ck_assert_int_eq(vmcisim_vm_suspend(f.g), 0);
        ck_assert_uint_eq(vmci_device_status(f.g->dev) & VMCI_STATUS_QUIESCED,
                          VMCI_STATUS_QUIESCED);
        ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), VMCIQPB_ATTACHED_NO_MEM);
        ck_assert_int_eq(vmci_qpair_enqueue(hq, "x", 1, qp_copy_plain),
                         VMCI_ERROR_QUEUEPAIR_NOT_READY);
        ck_assert_int_eq(vmci_qpair_produce_free_space(hq), 0);
        ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq), 0);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, (uint8_t)(10 + i)), 25);
        uint64_t irqs = vmci_device_irq_count(f.g->dev);
        settle_ns(f.sim, 1000000);
        ck_assert_int_eq(f.gs.n, 1);
        ck_assert_uint_eq(vmci_device_rx_count(f.g->dev), 3);
        ck_assert_uint_eq(vmci_device_irq_count(f.g->dev), irqs);
        ck_assert_int_eq(vmcisim_vm_resume(f.g), 0);
        ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), VMCIQPB_ATTACHED_MEM);
        settle(f.sim);
        ck_assert_int_eq(f.gs.n, 6);
        ck_assert_str_eq(f.gs.what[1], "dg:10");
        ck_assert_str_eq(f.gs.what[2], "dg:11");
        ck_assert_str_eq(f.gs.what[3], "dg:12");
        ck_assert_str_eq(f.gs.what[4], "id-update");
        ck_assert_str_eq(f.gs.what[5], "resumed");
        ck_assert_int_eq(f.hs.n, 0); /* QP_RESUMED is for the guest only */
        ck_assert_int_eq(vmci_qpair_enqueue(hq, "x", 1, qp_copy_plain), 1);
        ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
        ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
        vmcisim_destroy(f.sim);
    }
}
END_TEST

struct resumer {
    struct vmci_qp **qp;
    vmcisim_vm *g;
};

static void detach_on_resumed(uint32_t sub, const struct vmci_event_data *ed, void *data)
{
    (void)sub;
    (void)ed;
    struct resumer *r = data;
    if (*r->qp)
        ck_assert_int_eq(vmci_qpair_detach(r->qp), 0);
}

/* §6: after a resume the sockets layer treats its pairs as peer-detached and detaches them: the
 * host peer then gets QP_PEER_DETACH. (Here a subscriber plays the sockets layer.) */
START_TEST(life_resume_guest_detach_reaches_host_peer)
{
    struct lf f;
    lf_init(&f, tu_world_stack(4));
    struct vmci_qp *gq, *hq;
    vmci_handle h;
    pair(&f, &gq, &hq, &h);
    struct resumer r = {&gq, f.g};
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(f.g, VMCI_EVENT_QP_RESUMED, detach_on_resumed, &r, &id),
                     0);
    ck_assert_int_eq(vmcisim_vm_suspend(f.g), 0);
    ck_assert_int_eq(vmcisim_vm_resume(f.g), 0);
    settle(f.sim);
    ck_assert_ptr_null(gq);
    ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), VMCIQPB_SHUTDOWN_NO_MEM);
    ck_assert_int_eq(f.hs.n, 1);
    ck_assert_str_eq(f.hs.what[0], "peer-detach:3");
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §6 vMotion, modeled as a checkpoint and restore of the running VM: its pairs are unmapped
 * and mapped again and the guest gets CTX_ID_UPDATE then QP_RESUMED, so its streams drop. */
START_TEST(life_migrate_is_checkpoint_restore)
{
    char path[64];
    struct lf f;
    lf_init(&f, world_traced(1, path));
    struct vmci_qp *gq, *hq;
    vmci_handle h;
    pair(&f, &gq, &hq, &h);
    settle(f.sim);
    ck_assert_int_eq(vmcisim_vm_migrate(f.g), 0);
    ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), VMCIQPB_ATTACHED_MEM);
    settle(f.sim);
    ck_assert_int_eq(f.gs.n, 3);
    ck_assert_str_eq(f.gs.what[1], "id-update");
    ck_assert_str_eq(f.gs.what[2], "resumed");
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "ctx-checkpoint-restore cid=3 why=migrate"), 1);
    ck_assert_int_eq(count(t, "qp-state handle=3:1025 from=ATTACHED_MEM to=ATTACHED_NO_MEM "
                              "why=unmap"), 1);
    ck_assert_int_eq(count(t, "qp-state handle=3:1025 from=ATTACHED_NO_MEM to=ATTACHED_MEM "
                              "why=map"), 1);
    free(t);
}
END_TEST

/* §6 fault tolerance: turning it on drops the VM's streams (QP_RESUMED, as for migrate) and,
 * while on, every queue-pair create or attach involving the VM is UNAVAILABLE (LOCAL ones
 * too); other VMs are not affected; turning it off allows them again. */
START_TEST(life_fault_tolerance_refuses_new_pairs)
{
    struct lf f;
    lf_init(&f, tu_world_stack(1));
    vmcisim_vm *g2 = vmcisim_vm_create(f.sim, "g2", 4);
    struct vmci_qp *gq, *hq, *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &gq, &h, 64, 64, 2, 0, 0), 0);
    vmci_handle hc = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &hq, &hc, 64, 64, VMCI_INVALID_ID, 0, 0), 0);
    ck_assert_int_eq(vmcisim_vm_fault_tolerance(f.g, 1), 0);
    ck_assert_uint_eq(vmci_device_status(f.g->dev) & VMCI_STATUS_FT, VMCI_STATUS_FT);
    settle(f.sim);
    ck_assert_str_eq(f.gs.what[f.gs.n - 1], "resumed");
    vmci_handle x = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &x, 64, 64, 2, 0, 0), VMCI_ERROR_UNAVAILABLE);
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &x, 64, 64, 3, VMCI_QPFLAG_LOCAL, 0),
                     VMCI_ERROR_UNAVAILABLE);
    x = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &q, &x, 64, 64, 3, 0, 0), VMCI_ERROR_UNAVAILABLE);
    vmci_handle hh = h;
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &q, &hh, 64, 64, 3, 0, 0), VMCI_ERROR_UNAVAILABLE);
    vmci_handle gh = hc;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &gh, 64, 64, 2, 0, 0), VMCI_ERROR_UNAVAILABLE);
    /* another VM may attach to the host's pair */
    struct vmci_qp *g2q;
    ck_assert_int_eq(vmci_qpair_alloc(g2, &g2q, &gh, 64, 64, 2, 0, 0), 0);
    ck_assert_int_eq(vmcisim_vm_fault_tolerance(f.g, 0), 0);
    ck_assert_uint_eq(vmci_device_status(f.g->dev) & VMCI_STATUS_FT, 0);
    hh = h;
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &q, &hh, 64, 64, 3, 0, 0), 0);
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    ck_assert_int_eq(vmci_qpair_detach(&g2q), 0);
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §6 power off: every pair of the VM is detached (host peers get QP_PEER_DETACH and see no
 * memory), contexts allowed to see it get CTX_REMOVED, its pending datagrams are freed (each a
 * trace record), its handles and subscriptions go; the VM's kernel API then answers
 * DEVICE_NOT_FOUND, and its CID can be given to a new VM. */
START_TEST(life_power_off_removes_the_context)
{
    char path[64];
    struct lf f;
    lf_init(&f, world_traced(1, path));
    struct vmci_qp *gq, *hq, *gq2, *hq2;
    vmci_handle h, h2 = VMCI_INVALID_HANDLE;
    pair(&f, &gq, &hq, &h);
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &hq2, &h2, 100, 200, 3, 0, 0), 0);
    vmci_handle gh2 = h2;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &gq2, &gh2, 200, 100, 2, 0, 0), 0);
    settle(f.sim);
    f.hs.n = f.gs.n = 0;
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4, 1), 28);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4, 2), 28);
    ck_assert_int_eq(vmcisim_vm_power_off(f.g), 0);
    ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), VMCIQPB_SHUTDOWN_NO_MEM);
    ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h2), VMCIQPB_SHUTDOWN_NO_MEM);
    ck_assert_int_eq(vmci_qpair_enqueue(hq, "x", 1, qp_copy_plain),
                     VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    ck_assert_int_eq(vmci_qpair_consume_buf_ready(hq2), 0);
    settle(f.sim);
    ck_assert_int_eq(f.hs.n, 3);
    ck_assert_str_eq(f.hs.what[0], "removed:3");
    ck_assert_str_eq(f.hs.what[1], "peer-detach:3");
    ck_assert_str_eq(f.hs.what[2], "peer-detach:3");
    ck_assert_int_eq(f.gs.n, 0);
    /* the powered-off VM's kernel API */
    ck_assert_uint_eq(vmci_get_context_id(f.g), VMCI_INVALID_ID);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 1, 0), VMCI_ERROR_DEVICE_NOT_FOUND);
    vmci_handle x;
    ck_assert_int_eq(vmci_datagram_create_handle(f.g, VMCI_INVALID_ID, 0, 0, seq_dg_cb, NULL, &x),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    uint32_t id;
    ck_assert_int_eq(vmci_event_subscribe(f.g, VMCI_EVENT_QP_RESUMED, seq_ev_cb, &f.gs, &id),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    struct vmci_qp *q;
    vmci_handle nh = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &nh, 64, 64, 2, 0, 0), VMCI_ERROR_DEVICE_NOT_FOUND);
    /* the client's structs outlive the VM, dead */
    ck_assert_int_eq(vmci_qpair_enqueue(gq, "x", 1, qp_copy_plain),
                     VMCI_ERROR_QUEUEPAIR_NOTATTACHED);
    ck_assert_int_eq(vmci_qpair_produce_free_space(gq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), VMCI_ERROR_NOT_FOUND);
    ck_assert_ptr_null(gq);
    /* the host is sending to nobody now */
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4, 3), VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&hq2), 0);
    ck_assert_int_eq(hv_qp_state(hv_of(f.sim), h), -1);
    /* a new VM gets the CID and a fresh context */
    vmcisim_vm *n = vmcisim_vm_create(f.sim, "n", 3);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(vmci_get_context_id(n), 3);
    ck_assert_int_eq(vmci_datagram_create_handle(n, VMCI_INVALID_ID, 0, 0, seq_dg_cb, &f.gs, &x),
                     0);
    ck_assert_uint_eq(x.resource, 1024);
    ck_assert_int_eq(send_dg(f.host, x, f.hh, 4, 4), 28);
    settle(f.sim);
    ck_assert_int_eq(f.gs.n, 1);
    ck_assert_str_eq(f.gs.what[0], "dg:4");
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "dg-drop src=2:1500 dst=3:1024 size=28 reason=power-off"), 2);
    ck_assert_int_eq(count(t, "ctx-remove cid=3 qps=2 doorbells=0"), 1);
    free(t);
}
END_TEST

/* Callbacks are atomic: kapi calls inside them are no scheduling points (vmci_kapi.h), so a
 * power off can never land in the middle of one; it comes between callbacks, nothing leaks and
 * nothing is touched after it. */
struct busy {
    vmcisim_vm *g;
    struct vmci_qp *qp;
    int calls, done;
};

static int busy_cb(void *cd, struct vmci_datagram *dg)
{
    (void)dg;
    struct busy *b = cd;
    b->calls++;
    for (int i = 0; i < 5; i++)
        vmci_qpair_produce_free_space(b->qp); /* none of these lets another thread run */
    b->done++;
    return 0;
}

struct killer {
    vmcisim_vm *g;
    vmci_handle gh, hh;
};

static void sender_then_power_off(void *arg)
{
    struct killer *k = arg;
    vmcisim *sim = vmcisim_self_world();
    for (int i = 0; i < 6; i++) {
        sim_enter(sim);
        send_dg(vmcisim_host(sim), k->gh, k->hh, 8, (uint8_t)i);
        sim_leave(sim);
        vmcisim_yield();
    }
    vmcisim_vm_power_off(k->g);
}

START_TEST(life_power_off_never_cuts_a_guest_callback_short)
{
    int cut_off = 0;
    for (uint64_t seed = 0; seed < 4 * (uint64_t)tu_seed_count(); seed++) {
        vmcisim *sim = tu_world_stack(seed);
        struct busy b = {0};
        b.g = vmcisim_vm_create(sim, "g", 3);
        vmci_handle h = VMCI_INVALID_HANDLE;
        ck_assert_int_eq(vmci_qpair_alloc(b.g, &b.qp, &h, 64, 64, 2, 0, 0), 0);
        struct killer k = {b.g, VMCI_INVALID_HANDLE, VMCI_INVALID_HANDLE};
        ck_assert_int_eq(vmci_datagram_create_handle(b.g, VMCI_INVALID_ID, 0, 0, busy_cb, &b,
                                                     &k.gh), 0);
        ck_assert_int_eq(vmci_datagram_create_handle(vmcisim_host(sim), 1500, 0, 0, busy_cb, &b,
                                                     &k.hh), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "killer", sender_then_power_off, &k), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        ck_assert_int_le(b.calls, 6);
        ck_assert_int_eq(b.calls, b.done); /* never cut short */
        cut_off += b.calls < 6;
        ck_assert_int_eq(vmcisim_vm_state(b.g), VMCISIM_VM_POWERED_OFF);
        ck_assert_int_eq(vmci_qpair_detach(&b.qp), VMCI_ERROR_NOT_FOUND);
        vmcisim_destroy(sim);
    }
    ck_assert_int_gt(cut_off, 0); /* for some seed the power off came before all six arrived */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_test(tc, life_suspend_quiesces_resume_delivers_then_resumed);
    tcase_add_test(tc, life_resume_guest_detach_reaches_host_peer);
    tcase_add_test(tc, life_migrate_is_checkpoint_restore);
    tcase_add_test(tc, life_fault_tolerance_refuses_new_pairs);
    tcase_add_test(tc, life_power_off_removes_the_context);
    tcase_add_test(tc, life_power_off_never_cuts_a_guest_callback_short);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
