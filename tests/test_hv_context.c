/*
 * test_hv_context.c - the hypervisor's contexts and resources: resource IDs (vmci-semantics.md
 * §§1.4, 5.1), CIDs and GET_CONTEXT_ID (§§1.3, 6), privilege flags (§5.4), a CID change and
 * CTX_ID_UPDATE (§6), the services on CID 0 (§1.3).
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

struct idlog {
    int n;
    uint32_t cid[16];
    uint32_t cached_at_call[16];
    vmcisim_vm *vm;
};

static void id_cb(uint32_t sub, const struct vmci_event_data *ed, void *data)
{
    (void)sub;
    struct idlog *l = data;
    if (l->n < 16) {
        l->cid[l->n] = ed->u.ctx.context_id;
        l->cached_at_call[l->n] = vmci_get_context_id(l->vm);
    }
    l->n++;
}

/* §1.4/§5.1: new resource IDs come from a sequential counter from 1024 that skips IDs in use;
 * an explicit ID in use is ALREADY_EXISTS. */
START_TEST(res_ids_sequential_from_1024_skipping_used)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim);
    vmci_handle a, b, c, d;
    ck_assert_int_eq(vmci_datagram_create_handle(host, 1025, 0, 0, nop_cb, NULL, &a), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &b),
                     VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &c),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(a.resource, 1025);
    ck_assert_uint_eq(b.resource, 1024);
    ck_assert_uint_eq(c.resource, 1026); /* 1025 was taken */
    ck_assert_uint_eq(b.context, 2);
    ck_assert_int_eq(vmci_datagram_create_handle(host, 1026, 0, 0, nop_cb, NULL, &d),
                     VMCI_ERROR_ALREADY_EXISTS);
    /* IDs are never reused right away: the counter moves on */
    ck_assert_int_eq(vmci_datagram_destroy_handle(host, b), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &d),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(d.resource, 1027);
    /* reserved IDs (< 1024) may be named explicitly: vsock's control packets use 1 */
    ck_assert_int_eq(vmci_datagram_create_handle(host, 1, VMCI_FLAG_ANYCID_DG_HND, 0, nop_cb, NULL,
                                                 &d), VMCI_SUCCESS);
    ck_assert_uint_eq(d.context, VMCI_INVALID_ID);
    ck_assert_uint_eq(d.resource, 1);
    vmcisim_destroy(sim);
}
END_TEST

/* §2.2/§5.1: an ANY-cid handle conflicts with every handle of that resource ID, both ways. */
START_TEST(res_anycid_conflicts_both_ways)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmci_handle a, b;
    ck_assert_int_eq(vmci_datagram_create_handle(g, 2000, 0, 0, nop_cb, NULL, &a), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(g, 2000, VMCI_FLAG_ANYCID_DG_HND, 0, nop_cb, NULL,
                                                 &b), VMCI_ERROR_ALREADY_EXISTS);
    ck_assert_int_eq(vmci_datagram_create_handle(g, 2001, VMCI_FLAG_ANYCID_DG_HND, 0, nop_cb, NULL,
                                                 &b), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(g, 2001, 0, 0, nop_cb, NULL, &a),
                     VMCI_ERROR_ALREADY_EXISTS);
    /* destroy by the ANY handle or by a concrete one of the same ID */
    ck_assert_int_eq(vmci_datagram_destroy_handle(g, H(3, 2001)), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_destroy_handle(g, H(3, 2001)), VMCI_ERROR_NOT_FOUND);
    /* the ephemeral counter skips an ID taken by ANY */
    ck_assert_int_eq(vmci_datagram_create_handle(g, 1024, VMCI_FLAG_ANYCID_DG_HND, 0, nop_cb, NULL,
                                                 &b), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(g, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &a),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(a.resource, 1025);
    vmcisim_destroy(sim);
}
END_TEST

/* Every VMCI kernel has its own counter: a guest's first ephemeral ID is 1024 whatever the host
 * or other guests took; queue pairs and doorbells draw from the same counter as datagrams. */
START_TEST(res_each_kernel_has_its_own_counter)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *g2 = vmcisim_vm_create(sim, "g2", 4);
    vmci_handle a;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vmci_datagram_create_handle(vmcisim_host(sim), VMCI_INVALID_ID, 0, 0,
                                                     nop_cb, NULL, &a), VMCI_SUCCESS);
    ck_assert_uint_eq(a.resource, 1026);
    ck_assert_int_eq(vmci_datagram_create_handle(g, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &a),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(a.resource, 1024);
    ck_assert_uint_eq(a.context, 3);
    struct vmci_qp *qp;
    vmci_handle qh = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_qpair_alloc(g, &qp, &qh, 64, 64, 2, 0, 0), VMCI_SUCCESS);
    ck_assert_uint_eq(qh.resource, 1025);
    ck_assert_int_eq(vmci_datagram_create_handle(g2, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &a),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(a.resource, 1024);
    ck_assert_int_eq(vmci_qpair_detach(&qp), VMCI_SUCCESS);
    vmcisim_destroy(sim);
}
END_TEST

/* §1.4: when no ID is free the create is NO_HANDLE; the counter wraps inside its range. */
START_TEST(res_exhausted_ids_no_handle)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim);
    hv_host_set_rid_range(hv_of(sim), 5000, 5002);
    vmci_handle h[3], x;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL,
                                                     &h[i]), VMCI_SUCCESS);
        ck_assert_uint_eq(h[i].resource, 5000u + (uint32_t)i);
    }
    ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &x),
                     VMCI_ERROR_NO_HANDLE);
    ck_assert_int_eq(vmci_datagram_destroy_handle(host, h[1]), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(host, VMCI_INVALID_ID, 0, 0, nop_cb, NULL, &x),
                     VMCI_SUCCESS);
    ck_assert_uint_eq(x.resource, 5001);
    vmcisim_destroy(sim);
}
END_TEST

/* §5.1: handle flags: WELLKNOWN is refused (INVALID_ARGS), as are a missing callback or out
 * pointer and unknown privilege bits. */
START_TEST(res_handle_argument_checks)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *ctxs[] = {vmcisim_host(sim), g};
    for (int i = 0; i < 2; i++) {
        vmci_handle h;
        ck_assert_int_eq(vmci_datagram_create_handle(ctxs[i], 1500, VMCI_FLAG_WELLKNOWN_DG_HND, 0,
                                                     nop_cb, NULL, &h), VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_datagram_create_handle(ctxs[i], 1500, 0, 0, NULL, NULL, &h),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_datagram_create_handle(ctxs[i], 1500, 0, 0, nop_cb, NULL, NULL),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_datagram_create_handle(ctxs[i], 1500, 0, 0x8, nop_cb, NULL, &h),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_datagram_create_handle(ctxs[i], 1500, 0x40, 0, nop_cb, NULL, &h),
                         VMCI_ERROR_INVALID_ARGS);
        ck_assert_int_eq(vmci_datagram_destroy_handle(ctxs[i], H(2, 1500)),
                         VMCI_ERROR_NOT_FOUND);
    }
    ck_assert_int_eq(vmci_datagram_destroy_handle(NULL, H(2, 1500)),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    vmcisim_destroy(sim);
}
END_TEST

/* §1.3/§6: the host is CID 2; a guest asks its CID of the hypervisor (0, GET_CONTEXT_ID) when
 * its driver starts and caches it. */
START_TEST(ctx_cids_and_get_context_id_at_driver_start)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 7);
    vmcisim_vm *g2 = vmcisim_vm_create(sim, "g2", VMCISIM_CID_ANY);
    ck_assert_uint_eq(vmci_get_context_id(vmcisim_host(sim)), 2);
    ck_assert_uint_eq(vmci_get_context_id(g), 7);
    ck_assert_uint_eq(vmci_get_context_id(g2), 3);
    ck_assert_uint_eq(vmci_get_context_id(NULL), VMCI_INVALID_ID);
    ck_assert(hv_context_exists(hv_of(sim), 2));
    ck_assert(hv_context_exists(hv_of(sim), 7));
    ck_assert(!hv_context_exists(hv_of(sim), 0));
    ck_assert(!hv_context_exists(hv_of(sim), 8));
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "g/7 main hypercall ctx=7 svc=get-context-id rid=1 size=0 result=7"),
                     1);
    ck_assert_int_eq(count(t, "drv-start cid=7"), 1);
    free(t);
}
END_TEST

/* §5.4: privilege flags come from the VM's flags; the host is trusted; seen from the host the
 * hypervisor is trusted and an unknown context restricted; a guest knows no one's flags. */
START_TEST(ctx_privilege_flags)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim);
    vmcisim_vm *r = vmcisim_vm_create_ex(sim, "r", 3, VMCISIM_VM_RESTRICTED);
    vmcisim_vm *t = vmcisim_vm_create_ex(sim, "t", 4, VMCISIM_VM_TRUSTED);
    vmcisim_vm *n = vmcisim_vm_create(sim, "n", 5);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 2), VMCI_PRIVILEGE_FLAG_TRUSTED);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 3), VMCI_PRIVILEGE_FLAG_RESTRICTED);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 4), VMCI_PRIVILEGE_FLAG_TRUSTED);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 5), 0);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 0), VMCI_PRIVILEGE_FLAG_TRUSTED);
    ck_assert_uint_eq(vmci_context_get_priv_flags(host, 99), VMCI_PRIVILEGE_FLAG_RESTRICTED);
    ck_assert_uint_eq(vmci_context_get_priv_flags(n, 3), 0);
    ck_assert_uint_eq(vmci_context_get_priv_flags(n, 2), 0);
    ck_assert_uint_eq(vmci_context_get_priv_flags(r, 0), VMCI_PRIVILEGE_FLAG_TRUSTED);
    ck_assert(vmci_deny_interaction(VMCI_PRIVILEGE_FLAG_RESTRICTED, 0));
    ck_assert(!vmci_deny_interaction(VMCI_PRIVILEGE_FLAG_RESTRICTED, VMCI_PRIVILEGE_FLAG_TRUSTED));
    ck_assert(!vmci_deny_interaction(0, 0));
    (void)t;
    vmcisim_destroy(sim);
}
END_TEST

/* §6: a CID change raises CTX_ID_UPDATE in the guest; the cached CID follows when the event is
 * dispatched; datagrams reach the new CID, the old one is unreachable. */
START_TEST(ctx_cid_change_raises_ctx_id_update)
{
    for (uint64_t seed = 0; seed < (uint64_t)tu_seed_count(); seed++) {
        vmcisim *sim = tu_world_stack(seed);
        vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
        vmcisim_vm *host = vmcisim_host(sim);
        struct idlog l = {.vm = g};
        uint32_t sub;
        ck_assert_int_eq(vmci_event_subscribe(g, VMCI_EVENT_CTX_ID_UPDATE, id_cb, &l, &sub),
                         VMCI_SUCCESS);
        vmci_handle hh;
        ck_assert_int_eq(vmci_datagram_create_handle(host, 1500, 0, 0, nop_cb, NULL, &hh),
                         VMCI_SUCCESS);
        ck_assert_int_eq(hv_context_change_cid(g, 40), VMCI_SUCCESS);
        ck_assert_uint_eq(vmcisim_vm_cid(g), 40);
        ck_assert_uint_eq(vmci_get_context_id(g), 3); /* not dispatched yet */
        ck_assert(hv_context_exists(hv_of(sim), 40));
        ck_assert(!hv_context_exists(hv_of(sim), 3));
        struct vmci_datagram dg = {H(3, 1024), hh, 0};
        ck_assert_int_eq(vmci_datagram_send(host, &dg), VMCI_ERROR_DST_UNREACHABLE);
        settle(sim);
        ck_assert_int_eq(l.n, 1);
        ck_assert_uint_eq(l.cid[0], 40);
        ck_assert_uint_eq(l.cached_at_call[0], 40);
        ck_assert_uint_eq(vmci_get_context_id(g), 40);
        ck_assert_int_eq(send_dg(g, hh, H(VMCI_INVALID_ID, 77), 0, 0), VMCI_ERROR_NO_HANDLE);
        vmcisim_destroy(sim);
    }
}
END_TEST

START_TEST(ctx_cid_change_errors)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *g2 = vmcisim_vm_create(sim, "g2", 4);
    ck_assert_int_eq(hv_context_change_cid(g, 4), VMCI_ERROR_ALREADY_EXISTS);
    ck_assert_int_eq(hv_context_change_cid(g, 2), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(hv_context_change_cid(g, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(hv_context_change_cid(g, VMCI_INVALID_ID), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(hv_context_change_cid(vmcisim_host(sim), 9), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(hv_context_change_cid(NULL, 9), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(hv_context_change_cid(g, 3), VMCI_SUCCESS);
    ck_assert_int_eq(vmcisim_vm_suspend(g2), 0);
    ck_assert_int_eq(hv_context_change_cid(g2, 9), VMCI_ERROR_INVALID_ARGS);
    vmcisim_destroy(sim);
}
END_TEST

/* §1.3: the hypervisor's services: RESOURCES_QUERY tells which exist (bit i for resources[i]);
 * bad payloads are INVALID_ARGS; a datagram to CID 0 through the kernel API needs a source
 * handle of the guest (an anonymous one is NO_HANDLE). */
START_TEST(svc_resources_query_and_payload_checks)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct {
        struct vmci_datagram hdr;
        struct vmci_resources_query_msg q;
        uint32_t ids[5];
    } m = {{H(0, VMCI_RESOURCES_QUERY), VMCI_INVALID_HANDLE, sizeof m.q + sizeof m.ids},
           {5, 0},
           {VMCI_GET_CONTEXT_ID, VMCI_EVENT_SUBSCRIBE, VMCI_QUEUEPAIR_ALLOC, 17,
            VMCI_DOORBELL_NOTIFY}};
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &m.hdr), 0x1 | 0x4 | 0x10);
    m.hdr.payload_size = 4;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &m.hdr), VMCI_ERROR_INVALID_ARGS);
    m.hdr.payload_size = sizeof m.q + 4;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &m.hdr), VMCI_ERROR_INVALID_ARGS);
    m.q.num_resources = 40;
    m.hdr.payload_size = sizeof m;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &m.hdr), VMCI_ERROR_INVALID_ARGS);
    struct vmci_datagram d = {H(0, VMCI_QUEUEPAIR_DETACH), VMCI_INVALID_HANDLE, 0};
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &d), VMCI_ERROR_INVALID_ARGS);
    d.dst = H(0, VMCI_DOORBELL_LINK);
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &d), VMCI_ERROR_INVALID_ARGS);
    d.dst = H(0, VMCI_EVENT_SUBSCRIBE);
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &d), VMCI_ERROR_INVALID_RESOURCE);
    d.dst = H(0, VMCI_GET_CONTEXT_ID);
    ck_assert_int_eq(vmci_datagram_send(g, &d), VMCI_ERROR_NO_HANDLE);
    vmcisim_destroy(sim);
}
END_TEST

/* §1.7: every VMCI result code has its name (traces, messages). */
START_TEST(strerror_names)
{
    ck_assert_str_eq(vmci_strerror(VMCI_SUCCESS), "VMCI_SUCCESS");
    ck_assert_str_eq(vmci_strerror(VMCI_SUCCESS_QUEUEPAIR_ATTACH), "VMCI_SUCCESS_QUEUEPAIR_ATTACH");
    ck_assert_str_eq(vmci_strerror(VMCI_SUCCESS_ENTRY_DEAD), "VMCI_SUCCESS_ENTRY_DEAD");
    ck_assert_str_eq(vmci_strerror(VMCI_ERROR_INVALID_RESOURCE), "VMCI_ERROR_INVALID_RESOURCE");
    ck_assert_str_eq(vmci_strerror(VMCI_ERROR_DST_UNREACHABLE), "VMCI_ERROR_DST_UNREACHABLE");
    ck_assert_str_eq(vmci_strerror(VMCI_ERROR_NO_RESOURCES), "VMCI_ERROR_NO_RESOURCES");
    ck_assert_str_eq(vmci_strerror(VMCI_ERROR_QUEUEPAIR_NOT_READY),
                     "VMCI_ERROR_QUEUEPAIR_NOT_READY");
    ck_assert_str_eq(vmci_strerror(VMCI_ERROR_WOULD_BLOCK), "VMCI_ERROR_WOULD_BLOCK");
    ck_assert_str_eq(vmci_strerror(-42), "VMCI_ERROR_UNKNOWN");
    ck_assert_str_eq(vmci_strerror(6), "VMCI_ERROR_UNKNOWN");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_context");
    TCase *tr = tcase_create("resources");
    tcase_add_test(tr, res_ids_sequential_from_1024_skipping_used);
    tcase_add_test(tr, res_anycid_conflicts_both_ways);
    tcase_add_test(tr, res_each_kernel_has_its_own_counter);
    tcase_add_test(tr, res_exhausted_ids_no_handle);
    tcase_add_test(tr, res_handle_argument_checks);
    suite_add_tcase(s, tr);
    TCase *tc = tcase_create("contexts");
    tcase_add_test(tc, ctx_cids_and_get_context_id_at_driver_start);
    tcase_add_test(tc, ctx_privilege_flags);
    tcase_add_test(tc, ctx_cid_change_raises_ctx_id_update);
    tcase_add_test(tc, ctx_cid_change_errors);
    tcase_add_test(tc, svc_resources_query_and_payload_checks);
    tcase_add_test(tc, strerror_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
