/*
 * test_hv_faults.c - the hypervisor's fault knobs (include/vmcisim.h): validation, what each
 * knob does to which datagrams, held datagrams on the hypervisor loop, and determinism per
 * seed.
 */
#include <errno.h>
#include <math.h>
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

struct tlog {
    int n;
    struct {
        uint8_t b0;
        uint64_t t;
        uint32_t vm_cid;
        char thread[SIM_NAME_MAX];
    } r[256];
};

static int tlog_cb(void *cd, struct vmci_datagram *dg)
{
    struct tlog *l = cd;
    if (l->n < 256) {
        l->r[l->n].b0 = dg->payload_size ? *(uint8_t *)VMCI_DG_PAYLOAD(dg) : 0;
        sim_thread *t = sim_self();
        l->r[l->n].t = t ? sim_now(t->sim) : 0;
        l->r[l->n].vm_cid = t ? t->vm->cid : ~0u;
        snprintf(l->r[l->n].thread, sizeof l->r[0].thread, "%s", t ? t->name : "main");
    }
    l->n++;
    return 0;
}

struct ff {
    vmcisim *sim;
    vmcisim_vm *host, *g;
    vmci_handle gh, hh, gctl, hctl;
    struct tlog gl, hl, gcl, hcl;
};

static void ff_init(struct ff *f, vmcisim *sim)
{
    memset(f, 0, sizeof *f);
    f->sim = sim;
    f->host = vmcisim_host(sim);
    f->g = vmcisim_vm_create(sim, "g", 3);
    ck_assert_int_eq(vmci_datagram_create_handle(f->g, VMCI_INVALID_ID, 0, 0, tlog_cb, &f->gl,
                                                 &f->gh), 0);
    ck_assert_int_eq(vmci_datagram_create_handle(f->host, 1500, 0, 0, tlog_cb, &f->hl, &f->hh), 0);
    /* stream-control endpoints: resource 1 (vsock's VMCI_TRANSPORT_PACKET_RID) */
    ck_assert_int_eq(vmci_datagram_create_handle(f->g, 1, VMCI_FLAG_ANYCID_DG_HND, 0, tlog_cb,
                                                 &f->gcl, &f->gctl), 0);
    ck_assert_int_eq(vmci_datagram_create_handle(f->host, 1, VMCI_FLAG_ANYCID_DG_HND, 0, tlog_cb,
                                                 &f->hcl, &f->hctl), 0);
}

static void set_faults(vmcisim *sim, struct vmcisim_faults fl)
{
    ck_assert_int_eq(vmcisim_set_faults(sim, &fl), 0);
}

START_TEST(faults_set_get_and_validation)
{
    vmcisim *sim = tu_world_stack(1);
    struct vmcisim_faults f, got;
    vmcisim_get_faults(sim, &got);
    ck_assert_uint_eq(got.dg_delay_max_ns, 0);
    ck_assert(got.dg_drop == 0.0 && got.qp_alloc_fail == 0.0 && got.hv_latency_ns == 0);
    f = (struct vmcisim_faults){10, 20, 0.25, 0.5, 0.75, 1.0, 30};
    ck_assert_int_eq(vmcisim_set_faults(sim, &f), 0);
    vmcisim_get_faults(sim, &got);
    ck_assert_int_eq(memcmp(&f, &got, sizeof f), 0);
    struct vmcisim_faults bad[] = {
        {0, 0, -0.1, 0, 0, 0, 0}, {0, 0, 0, 1.5, 0, 0, 0}, {0, 0, 0, 0, NAN, 0, 0},
        {0, 0, 0, 0, 0, 2.0, 0},  {5, 4, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_int_eq(vmcisim_set_faults(sim, &bad[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_ptr_nonnull(strstr(vmcisim_error(sim), "dg_delay_min_ns"));
    vmcisim_get_faults(sim, &got);
    ck_assert_int_eq(memcmp(&f, &got, sizeof f), 0); /* unchanged by refused calls */
    ck_assert_int_eq(vmcisim_set_faults(sim, NULL), -1);
    ck_assert_int_eq(vmcisim_set_faults(NULL, &f), -1);
    vmcisim_get_faults(NULL, &got);
    ck_assert_uint_eq(got.hv_latency_ns, 0);
    vmcisim_destroy(sim);
}
END_TEST

/* dg_drop: an application datagram is lost (the sender sees success, a trace record says why);
 * stream control packets (resource 1) and events are never touched. */
START_TEST(faults_drop_touches_application_datagrams_only)
{
    char path[64];
    struct ff f;
    ff_init(&f, world_traced(1, path));
    set_faults(f.sim, (struct vmcisim_faults){.dg_drop = 1.0});
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 10, 1), 34);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 10, 2), 34);
    ck_assert_int_eq(send_dg(f.g, H(2, 1), H(3, 1), 32, 3), 56);
    ck_assert_int_eq(send_dg(f.host, H(3, 1), H(2, 1), 32, 4), 56);
    struct vmci_qp *gq, *hq;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &gq, &h, 64, 64, 2, 0, 0), 0);
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &hq, &h, 64, 64, 3, 0, 0), 0);
    ck_assert_uint_eq(vmci_device_rx_count(f.g->dev), 2); /* control packet + PEER_ATTACH */
    settle(f.sim);
    ck_assert_int_eq(f.hl.n, 0);
    ck_assert_int_eq(f.gl.n, 0);
    ck_assert_int_eq(f.hcl.n, 1);
    ck_assert_int_eq(f.gcl.n, 1);
    ck_assert_int_eq(vmci_qpair_detach(&hq), 0);
    ck_assert_int_eq(vmci_qpair_detach(&gq), 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "reason=fault-drop"), 2);
    free(t);
}
END_TEST

/* dg_duplicate: the datagram is delivered twice (the copy right after it). */
START_TEST(faults_duplicate_delivers_twice)
{
    struct ff f;
    ff_init(&f, tu_world_stack(1));
    set_faults(f.sim, (struct vmcisim_faults){.dg_duplicate = 1.0});
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4, 7), 28);
    ck_assert_uint_eq(vmci_device_rx_bytes(f.g->dev), 56); /* one queued, one room reserved */
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 4, 8), 28);
    ck_assert_int_eq(f.hl.n, 1); /* the original, in the sender's context */
    settle(f.sim);
    ck_assert_int_eq(f.gl.n, 2);
    ck_assert_uint_eq(f.gl.r[0].b0, 7);
    ck_assert_uint_eq(f.gl.r[1].b0, 7);
    ck_assert_int_eq(f.hl.n, 2);
    ck_assert_str_eq(f.hl.r[1].thread, "hypervisor");
    ck_assert_int_eq(send_dg(f.host, H(2, 1), f.hctl, 4, 9), 28); /* host to host control: once */
    settle(f.sim);
    ck_assert_int_eq(f.hcl.n, 1);
    vmcisim_destroy(f.sim);
}
END_TEST

/* dg_delay_*: each datagram is delivered after a delay drawn from [min, max] of simulated
 * time, held on the hypervisor loop. */
START_TEST(faults_delay_within_range)
{
    struct ff f;
    ff_init(&f, tu_world_stack(5));
    set_faults(f.sim,
               (struct vmcisim_faults){.dg_delay_min_ns = 1000000, .dg_delay_max_ns = 1000000});
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, 1), 25);
    settle_ns(f.sim, 999999);
    ck_assert_int_eq(f.gl.n, 0);
    settle_ns(f.sim, 1000);
    ck_assert_int_eq(f.gl.n, 1);
    ck_assert_uint_eq(f.gl.r[0].t, 1000000);
    set_faults(f.sim, (struct vmcisim_faults){.dg_delay_min_ns = 1000, .dg_delay_max_ns = 50000});
    uint64_t t0 = vmcisim_now(f.sim);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, (uint8_t)i), 25);
    settle_ns(f.sim, 100000);
    ck_assert_int_eq(f.gl.n, 51);
    int out_of_order = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 1; i < 51; i++) {
        uint64_t d = f.gl.r[i].t - t0;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        out_of_order += i > 1 && f.gl.r[i].b0 < f.gl.r[i - 1].b0;
    }
    ck_assert_uint_ge(lo, 1000);
    ck_assert_uint_le(hi, 50000);
    ck_assert_uint_lt(lo, hi);
    ck_assert_int_gt(out_of_order, 0); /* independent delays reorder */
    vmcisim_destroy(f.sim);
}
END_TEST

/* dg_reorder: a datagram is held back behind the next one to the same destination; with none
 * coming it is released after 1 ms. */
START_TEST(faults_reorder_behind_the_next)
{
    struct ff f;
    ff_init(&f, tu_world_stack(1));
    set_faults(f.sim, (struct vmcisim_faults){.dg_reorder = 1.0});
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, 1), 25);
    set_faults(f.sim, (struct vmcisim_faults){0});
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, 2), 25);
    settle(f.sim);
    ck_assert_int_eq(f.gl.n, 2);
    ck_assert_uint_eq(f.gl.r[0].b0, 2);
    ck_assert_uint_eq(f.gl.r[1].b0, 1);
    set_faults(f.sim, (struct vmcisim_faults){.dg_reorder = 1.0});
    uint64_t t0 = vmcisim_now(f.sim);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 1, 3), 25);
    ck_assert_int_eq(f.hl.n, 0);
    settle_ns(f.sim, 2000000);
    ck_assert_int_eq(f.hl.n, 1);
    ck_assert_uint_eq(f.hl.r[0].t - t0, 1000000);
    vmcisim_destroy(f.sim);
}
END_TEST

/* qp_alloc_fail: a non-local create or attach fails with NO_MEM; LOCAL pairs never reach the
 * hypervisor and are not touched. */
START_TEST(faults_qp_alloc_fail_no_mem)
{
    char path[64];
    struct ff f;
    ff_init(&f, world_traced(1, path));
    set_faults(f.sim, (struct vmcisim_faults){.qp_alloc_fail = 1.0});
    struct vmci_qp *q;
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &h, 64, 64, 2, 0, 0), VMCI_ERROR_NO_MEM);
    ck_assert_int_eq(vmci_qpair_alloc(f.host, &q, &h, 64, 64, 3, 0, 0), VMCI_ERROR_NO_MEM);
    ck_assert_uint_eq(hv_context_qp_memory(hv_of(f.sim), 3), 0);
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &h, 64, 64, 3, VMCI_QPFLAG_LOCAL, 0), 0);
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    set_faults(f.sim, (struct vmcisim_faults){0});
    h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(f.g, &q, &h, 64, 64, 2, 0, 0), 0);
    ck_assert_int_eq(vmci_qpair_detach(&q), 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "fault kind=qp-alloc-fail"), 2);
    free(t);
}
END_TEST

/* hv_latency_ns: every datagram crossing a VM boundary is delivered that much later (control
 * packets too, in order); hypervisor services stay synchronous; host to host is untouched. */
START_TEST(faults_latency_delays_vm_traffic)
{
    struct ff f;
    ff_init(&f, tu_world_stack(2));
    set_faults(f.sim, (struct vmcisim_faults){.hv_latency_ns = 2000});
    uint64_t t0 = vmcisim_now(f.sim);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 1, 1), 25);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(send_dg(f.g, H(2, 1), H(3, 1), 32, (uint8_t)(10 + i)), 56);
    ck_assert_int_eq(f.hl.n, 0);
    ck_assert_int_eq(send_dg(f.g, H(0, VMCI_GET_CONTEXT_ID), f.gh, 0, 0), 3);
    ck_assert_int_eq(send_dg(f.host, f.hh, f.hctl, 1, 2), 25);
    settle_ns(f.sim, 1999);
    ck_assert_int_eq(f.hl.n, 1);
    settle_ns(f.sim, 1000);
    ck_assert_int_eq(f.hl.n, 2);
    ck_assert_uint_eq(f.hl.r[0].b0, 2); /* host to host: no latency, deferred as always */
    ck_assert_uint_eq(f.hl.r[0].t - t0, 0);
    ck_assert_uint_eq(f.hl.r[1].b0, 1);
    ck_assert_uint_eq(f.hl.r[1].t - t0, 2000);
    ck_assert_str_eq(f.hl.r[1].thread, "hypervisor");
    ck_assert_int_eq(f.hcl.n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(f.hcl.r[i].b0, 10 + i);
        ck_assert_uint_eq(f.hcl.r[i].t - t0, 2000);
    }
    vmcisim_destroy(f.sim);
}
END_TEST

/* Held datagrams reserve room in the destination's queue, so a full queue is still the
 * sender's NO_RESOURCES; a VM powered off meanwhile drops what was held for it. */
START_TEST(faults_held_datagrams_reserve_room_and_die_with_the_vm)
{
    char path[64];
    struct ff f;
    ff_init(&f, world_traced(1, path));
    set_faults(f.sim, (struct vmcisim_faults){.dg_delay_min_ns = 5000, .dg_delay_max_ns = 5000});
    for (int i = 0; i < 33; i++)
        ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4072, 0), 4096);
    ck_assert_uint_eq(vmci_device_rx_count(f.g->dev), 0);
    ck_assert_uint_eq(vmci_device_rx_bytes(f.g->dev), 33 * 4096);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4072, 0), VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(vmcisim_vm_power_off(f.g), 0);
    settle_ns(f.sim, 10000);
    ck_assert_int_eq(f.gl.n, 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "reason=context-removed"), 33);
    free(t);
}
END_TEST

/* Every draw comes from the world's seed: the same seed gives the same deliveries and trace,
 * different seeds differ. */
static uint64_t fault_run(uint64_t seed, struct tlog *out)
{
    struct ff f;
    ff_init(&f, tu_world_stack(seed));
    set_faults(f.sim, (struct vmcisim_faults){.dg_delay_min_ns = 0, .dg_delay_max_ns = 3000,
                                              .dg_drop = 0.2, .dg_duplicate = 0.2,
                                              .dg_reorder = 0.2});
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 1, (uint8_t)i), 25);
        if (i % 8 == 7)
            settle_ns(f.sim, 500);
    }
    settle_ns(f.sim, 3000000);
    *out = f.gl;
    uint64_t h = vmcisim_trace_hash(f.sim);
    vmcisim_destroy(f.sim);
    return h;
}

START_TEST(faults_deterministic_per_seed)
{
    static struct tlog a, b;
    uint64_t hashes[16];
    int seeds = tu_seed_count() < 16 ? tu_seed_count() : 16;
    int delivered_counts_differ = 0;
    for (int s = 0; s < seeds; s++) {
        hashes[s] = fault_run((uint64_t)s, &a);
        ck_assert_uint_eq(fault_run((uint64_t)s, &b), hashes[s]);
        ck_assert_int_eq(a.n, b.n);
        for (int i = 0; i < a.n && i < 256; i++) {
            ck_assert_uint_eq(a.r[i].b0, b.r[i].b0);
            ck_assert_uint_eq(a.r[i].t, b.r[i].t);
        }
        delivered_counts_differ += a.n != 40; /* some were dropped or duplicated */
        if (s > 0)
            ck_assert_uint_ne(hashes[s], hashes[s - 1]);
    }
    ck_assert_int_gt(delivered_counts_differ, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_test(tc, faults_set_get_and_validation);
    tcase_add_test(tc, faults_drop_touches_application_datagrams_only);
    tcase_add_test(tc, faults_duplicate_delivers_twice);
    tcase_add_test(tc, faults_delay_within_range);
    tcase_add_test(tc, faults_reorder_behind_the_next);
    tcase_add_test(tc, faults_qp_alloc_fail_no_mem);
    tcase_add_test(tc, faults_latency_delays_vm_traffic);
    tcase_add_test(tc, faults_held_datagrams_reserve_room_and_die_with_the_vm);
    tcase_add_test(tc, faults_deterministic_per_seed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
