/*
 * test_hv_route.c - VMCI datagrams through the stack: routing (vmci-semantics.md §5.2),
 * delivery (§5.3), size limits (§1.6), privileges and isolation (§§5.4-5.5), source stamping
 * (a guest cannot spoof its CID), the pending-datagram limit and the host's deferred queue.
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

struct fixture {
    vmcisim *sim;
    vmcisim_vm *host, *g, *g2;
    vmci_handle gh, g2h, hh, hh_untrusted;
    struct log glog, g2log, hlog, hulog;
};

static void fixture_init(struct fixture *f, vmcisim *sim, unsigned gflags)
{
    memset(f, 0, sizeof *f);
    f->sim = sim;
    f->host = vmcisim_host(sim);
    f->g = vmcisim_vm_create_ex(sim, "g", 3, gflags);
    f->g2 = vmcisim_vm_create(sim, "g2", 4);
    ck_assert_ptr_nonnull(f->g);
    ck_assert_ptr_nonnull(f->g2);
    ck_assert_int_eq(vmci_datagram_create_handle(f->g, VMCI_INVALID_ID, 0, 0, log_cb, &f->glog,
                                                 &f->gh), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(f->g2, VMCI_INVALID_ID, 0, 0, log_cb, &f->g2log,
                                                 &f->g2h), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(f->host, 1500, 0, VMCI_PRIVILEGE_FLAG_TRUSTED,
                                                 log_cb, &f->hlog, &f->hh), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_create_handle(f->host, 1501, 0, 0, log_cb, &f->hulog,
                                                 &f->hh_untrusted), VMCI_SUCCESS);
}

/* ---- §5.2 routing ------------------------------------------------------------------------ */

/* §5.2: a destination CID of 0xFFFFFFFF is INVALID_ARGS, from a guest and from the host. */
START_TEST(route_dst_any_cid_is_invalid_args)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, H(VMCI_INVALID_ID, 1500), f.gh, 8, 1),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(send_dg(f.host, H(VMCI_INVALID_ID, 1024), f.hh, 8, 1),
                     VMCI_ERROR_INVALID_ARGS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2: the hypervisor (CID 0) is reached from a client acting as a guest: the service answers
 * (GET_CONTEXT_ID returns the CID); the host has no guest device: DEVICE_NOT_FOUND. */
START_TEST(route_to_hypervisor_guest_served_host_device_not_found)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, H(0, VMCI_GET_CONTEXT_ID), f.gh, 0, 0), 3);
    ck_assert_int_eq(send_dg(f.g2, H(0, VMCI_GET_CONTEXT_ID), f.g2h, 0, 0), 4);
    ck_assert_int_eq(send_dg(f.host, H(0, VMCI_GET_CONTEXT_ID), f.hh, 0, 0),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    /* An unserved hypervisor resource is like a missing handle. */
    ck_assert_int_eq(send_dg(f.g, H(0, VMCI_HGFS_TRANSPORT), f.gh, 4, 0),
                     VMCI_ERROR_INVALID_RESOURCE);
    ck_assert_int_eq(send_dg(f.g, H(0, 99), f.gh, 4, 0), VMCI_ERROR_INVALID_RESOURCE);
    /* A guest client naming the host as its source cannot reach the hypervisor. */
    ck_assert_int_eq(send_dg(f.g, H(0, VMCI_GET_CONTEXT_ID), H(2, f.gh.resource), 0, 0),
                     VMCI_ERROR_INVALID_ARGS);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2: to the host (CID 2) a guest's datagram goes down to the hypervisor and is delivered to
 * the host handle with the guest's CID as source; returns the datagram's size (§5.3). */
START_TEST(route_guest_to_host_delivered_with_guest_cid)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, f.hh, H(VMCI_INVALID_ID, f.gh.resource), 100, 0xab), 124);
    ck_assert_int_eq(f.hlog.n, 1);
    ck_assert_uint_eq(f.hlog.r[0].src.context, 3);
    ck_assert_uint_eq(f.hlog.r[0].src.resource, f.gh.resource);
    ck_assert_uint_eq(f.hlog.r[0].dst.context, 2);
    ck_assert_uint_eq(f.hlog.r[0].dst.resource, 1500);
    ck_assert_uint_eq(f.hlog.r[0].size, 100);
    ck_assert_uint_eq(f.hlog.r[0].b0, 0xab);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2: host to host: an unset source CID is filled in as 2; §5.3: the host sending to itself
 * always runs deferred, on the host's kernel worker. */
START_TEST(route_host_to_host_src_filled_and_deferred)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.host, f.hh, H(VMCI_INVALID_ID, 1501), 10, 7), 34);
    ck_assert_int_eq(f.hlog.n, 0); /* not in the sender's context */
    ck_assert_uint_eq(hv_host_deferred_count(hv_of(f.sim)), 1);
    settle(f.sim);
    ck_assert_int_eq(f.hlog.n, 1);
    ck_assert_uint_eq(f.hlog.r[0].src.context, 2);
    ck_assert_uint_eq(f.hlog.r[0].src.resource, 1501);
    ck_assert_uint_eq(f.hlog.r[0].vm_cid, 2);
    ck_assert_str_eq(f.hlog.r[0].thread, "kworker");
    ck_assert_uint_eq(hv_host_deferred_count(hv_of(f.sim)), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2: another CID that exists: the host reaches it (delivered to the VM's device, the guest
 * driver calls the handle on the VM's kernel worker). */
START_TEST(route_host_to_vm_delivered_on_guest_kworker)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 5, 0x11), 29);
    ck_assert_int_eq(f.glog.n, 0);
    ck_assert_uint_eq(vmci_device_rx_count(f.g->dev), 1);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 1);
    ck_assert_uint_eq(f.glog.r[0].src.context, 2);
    ck_assert_uint_eq(f.glog.r[0].src.resource, 1500);
    ck_assert_uint_eq(f.glog.r[0].b0, 0x11);
    ck_assert_uint_eq(f.glog.r[0].vm_cid, 3);
    ck_assert_str_eq(f.glog.r[0].thread, "kworker");
    ck_assert_uint_eq(vmci_device_rx_count(f.g->dev), 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2/§5.5: VM to VM is refused with DST_UNREACHABLE (the ESXi 5.1 / WS 9 isolation); the
 * guest does not filter it itself - the refusal comes from the hypervisor. */
START_TEST(route_vm_to_vm_is_dst_unreachable)
{
    char path[64];
    struct fixture f;
    fixture_init(&f, world_traced(1, path), 0);
    ck_assert_int_eq(send_dg(f.g, f.g2h, f.gh, 8, 1), VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_int_eq(send_dg(f.g2, f.gh, f.g2h, 8, 1), VMCI_ERROR_DST_UNREACHABLE);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 0);
    ck_assert_int_eq(f.g2log.n, 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "dg-send from=guest src=3:1024 dst=4:1024 size=32 "
                              "result=VMCI_ERROR_DST_UNREACHABLE"), 1);
    ck_assert_int_eq(count(t, "stage=guest"), 0);
    free(t);
}
END_TEST

/* §5.2: a CID with no context: DST_UNREACHABLE from the host and from a guest. */
START_TEST(route_unknown_cid_is_dst_unreachable)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.host, H(77, 1024), f.hh, 8, 1), VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_int_eq(send_dg(f.g, H(77, 1024), f.gh, 8, 1), VMCI_ERROR_DST_UNREACHABLE);
    /* CID 1 (the obsolete well-known context) has no context either. */
    ck_assert_int_eq(send_dg(f.g, H(1, 1024), f.gh, 8, 1), VMCI_ERROR_DST_UNREACHABLE);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §2.9/§5.2: a guest may send to its own CID (loopback through the hypervisor). */
START_TEST(route_guest_loopback_to_own_cid)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, f.gh, H(VMCI_INVALID_ID, f.gh.resource), 3, 0x42), 27);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 1);
    ck_assert_uint_eq(f.glog.r[0].src.context, 3);
    ck_assert_uint_eq(f.glog.r[0].b0, 0x42);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.2: an invalid source CID is replaced by the local CID (guest) or 2 (host). */
START_TEST(route_invalid_src_cid_replaced)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_ge(send_dg(f.g, f.hh, H(VMCI_INVALID_ID, f.gh.resource), 1, 1), 0);
    ck_assert_int_ge(send_dg(f.host, f.gh, H(VMCI_INVALID_ID, 1500), 1, 1), 0);
    settle(f.sim);
    ck_assert_uint_eq(f.hlog.r[0].src.context, 3);
    ck_assert_uint_eq(f.glog.r[0].src.context, 2);
    vmcisim_destroy(f.sim);
}
END_TEST

/* Isolation: a guest cannot spoof its source CID. A foreign CID on one of its own handles is
 * refused in the guest (NO_HANDLE, no such source handle); through an ANYCID handle it gets
 * down to the hypervisor, which stamps the real CID (a trace record says so). */
START_TEST(route_guest_cannot_spoof_source_cid)
{
    char path[64];
    struct fixture f;
    fixture_init(&f, world_traced(1, path), 0);
    ck_assert_int_eq(send_dg(f.g, f.hh, H(2, f.gh.resource), 4, 1), VMCI_ERROR_NO_HANDLE);
    ck_assert_int_eq(send_dg(f.g, f.hh, H(4, f.gh.resource), 4, 1), VMCI_ERROR_NO_HANDLE);
    vmci_handle any;
    struct log alog = {0};
    ck_assert_int_eq(vmci_datagram_create_handle(f.g, 2000, VMCI_FLAG_ANYCID_DG_HND, 0, log_cb,
                                                 &alog, &any), VMCI_SUCCESS);
    ck_assert_uint_eq(any.context, VMCI_INVALID_ID);
    ck_assert_int_eq(send_dg(f.g, f.hh, H(4, 2000), 4, 9), 28);
    ck_assert_int_eq(send_dg(f.g, f.hh, H(2, 2000), 4, 9), 28);
    ck_assert_int_eq(f.hlog.n, 2);
    ck_assert_uint_eq(f.hlog.r[0].src.context, 3);
    ck_assert_uint_eq(f.hlog.r[1].src.context, 3);
    ck_assert_uint_eq(f.hlog.r[0].src.resource, 2000);
    /* A spoofed source on a datagram to another VM does not open VM<->VM either. */
    ck_assert_int_eq(send_dg(f.g, f.g2h, H(2, 2000), 4, 9), VMCI_ERROR_DST_UNREACHABLE);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "dg-src-stamp claimed=4 real=3"), 1);
    ck_assert_int_eq(count(t, "dg-src-stamp claimed=2 real=3"), 2);
    free(t);
}
END_TEST

/* The host's source must be its own registered handle: another CID is NO_ACCESS, an unknown
 * resource INVALID_ARGS (the reference's dispatch-as-host checks). */
START_TEST(route_host_source_must_be_own_handle)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.host, f.gh, H(3, 1500), 4, 1), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(send_dg(f.host, f.gh, H(2, 4242), 4, 1), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(send_dg(f.host, f.gh, VMCI_INVALID_HANDLE, 4, 1), VMCI_ERROR_INVALID_ARGS);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 0);
    vmcisim_destroy(f.sim);
}
END_TEST

/* ---- §5.3 delivery ------------------------------------------------------------------------ */

/* §5.3: host destination without that handle: INVALID_RESOURCE. */
START_TEST(deliver_missing_host_handle_is_invalid_resource)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, H(2, 9999), f.gh, 4, 1), VMCI_ERROR_INVALID_RESOURCE);
    ck_assert_int_eq(send_dg(f.host, H(2, 9999), f.hh, 4, 1), VMCI_ERROR_INVALID_RESOURCE);
    ck_assert_int_eq(vmci_datagram_destroy_handle(f.host, f.hh), VMCI_SUCCESS);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 4, 1), VMCI_ERROR_INVALID_RESOURCE);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.3/§5.4: a restricted VM reaches only trusted host handles (NO_ACCESS otherwise), and an
 * untrusted host handle cannot send to a restricted VM. An unrestricted VM reaches both. */
START_TEST(deliver_privilege_check_restricted_vm)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), VMCISIM_VM_RESTRICTED);
    ck_assert_int_eq(send_dg(f.g, f.hh_untrusted, f.gh, 4, 1), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, 4, 1), 28);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh_untrusted, 4, 1), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4, 1), 28);
    /* g2 is not restricted. */
    ck_assert_int_eq(send_dg(f.g2, f.hh_untrusted, f.g2h, 4, 1), 28);
    ck_assert_int_eq(send_dg(f.host, f.g2h, f.hh_untrusted, 4, 1), 28);
    settle(f.sim);
    ck_assert_int_eq(f.hlog.n, 1);
    ck_assert_int_eq(f.hulog.n, 1);
    ck_assert_int_eq(f.glog.n, 1);
    ck_assert_int_eq(f.g2log.n, 1);
    vmcisim_destroy(f.sim);
}
END_TEST

struct sender {
    vmcisim_vm *from;
    vmci_handle dst, src;
    int rc;
    struct log *log;
    int seen_inside;
};

static void send_from_thread(void *arg)
{
    struct sender *s = arg;
    vmcisim *sim = vmcisim_self_world();
    sim_enter(sim);
    s->rc = send_dg(s->from, s->dst, s->src, 16, 3);
    s->seen_inside = s->log->n;
    sim_leave(sim);
}

/* §5.3: a guest's datagram to a host handle runs the callback at once, in the sender's
 * context (inside its send call, on its thread). */
START_TEST(deliver_host_callback_in_sender_context)
{
    struct fixture f;
    fixture_init(&f, tu_world(3), 0);
    struct sender s = {f.g, f.hh, f.gh, 0, &f.hlog, 0};
    ck_assert_int_eq(vmcisim_spawn(f.g, "app", send_from_thread, &s), 0);
    ck_assert_int_eq(vmcisim_run(f.sim), 0);
    ck_assert_int_eq(s.rc, 40);
    ck_assert_int_eq(s.seen_inside, 1);
    ck_assert_uint_eq(f.hlog.r[0].vm_cid, 3);
    ck_assert_str_eq(f.hlog.r[0].thread, "app");
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.3: a DELAYED_CB handle's callback runs deferred, on the host's kernel worker. */
START_TEST(deliver_delayed_cb_on_host_kworker)
{
    struct fixture f;
    fixture_init(&f, tu_world(3), 0);
    vmci_handle dh;
    struct log dlog = {0};
    ck_assert_int_eq(vmci_datagram_create_handle(f.host, 1600, VMCI_FLAG_DG_DELAYED_CB,
                                                 VMCI_PRIVILEGE_FLAG_TRUSTED, log_cb, &dlog, &dh),
                     VMCI_SUCCESS);
    struct sender s = {f.g, dh, f.gh, 0, &dlog, 0};
    ck_assert_int_eq(vmcisim_spawn(f.g, "app", send_from_thread, &s), 0);
    ck_assert_int_eq(vmcisim_run(f.sim), 0);
    settle(f.sim);
    ck_assert_int_eq(s.rc, 40);
    ck_assert_int_eq(s.seen_inside, 0);
    ck_assert_int_eq(dlog.n, 1);
    ck_assert_uint_eq(dlog.r[0].vm_cid, 2);
    ck_assert_str_eq(dlog.r[0].thread, "kworker");
    ck_assert_uint_eq(dlog.r[0].src.context, 3);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.3/§1.6: deferred host datagrams are bounded: with 255 waiting, the next is NO_MEM (the
 * reference refuses the one that would make 256). Running them frees room again. */
START_TEST(deliver_deferred_host_queue_limit_no_mem)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    for (int i = 0; i < 255; i++)
        ck_assert_int_eq(send_dg(f.host, f.hh, f.hh_untrusted, 1, (uint8_t)i), 25);
    ck_assert_uint_eq(hv_host_deferred_count(hv_of(f.sim)), 255);
    ck_assert_int_eq(send_dg(f.host, f.hh, f.hh_untrusted, 1, 0), VMCI_ERROR_NO_MEM);
    /* a guest's datagram to a DELAYED_CB handle counts the same */
    vmci_handle dh;
    struct log dlog = {0};
    ck_assert_int_eq(vmci_datagram_create_handle(f.host, 1600, VMCI_FLAG_DG_DELAYED_CB, 0, log_cb,
                                                 &dlog, &dh), VMCI_SUCCESS);
    ck_assert_int_eq(send_dg(f.g, dh, f.gh, 1, 0), VMCI_ERROR_NO_MEM);
    settle(f.sim);
    ck_assert_int_eq(f.hlog.n, 255);
    for (int i = 0; i < 255; i++)
        ck_assert_uint_eq(f.hlog.r[i].b0, (uint8_t)i); /* in order */
    ck_assert_int_eq(send_dg(f.host, f.hh, f.hh_untrusted, 1, 0), 25);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.3/§1.6: a VM's pending queue holds less than 139264 bytes: with 4096-byte datagrams, 33
 * fit (135168 bytes) and the 34th is NO_RESOURCES (dropped, traced); after the guest drained
 * its queue, sends succeed again. */
START_TEST(deliver_vm_pending_limit_no_resources)
{
    char path[64];
    struct fixture f;
    fixture_init(&f, world_traced(1, path), 0);
    for (int i = 0; i < 33; i++)
        ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4096 - 24, (uint8_t)i), 4096);
    ck_assert_uint_eq(vmci_device_rx_bytes(f.g->dev), 33 * 4096);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4096 - 24, 0xee), VMCI_ERROR_NO_RESOURCES);
    /* a smaller one still fits below the limit */
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4000, 0xef), 4024);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 100, 0xf0), VMCI_ERROR_NO_RESOURCES);
    /* the guest's loopback counts against the same queue */
    ck_assert_int_eq(send_dg(f.g, f.gh, f.gh, 100, 0xf1), VMCI_ERROR_NO_RESOURCES);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 34);
    for (int i = 0; i < 33; i++)
        ck_assert_uint_eq(f.glog.r[i].b0, (uint8_t)i);
    ck_assert_uint_eq(f.glog.r[33].b0, 0xef);
    ck_assert_uint_eq(vmci_device_rx_bytes(f.g->dev), 0);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 4096 - 24, 0), 4096);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "reason=queue-full"), 3);
    free(t);
}
END_TEST

/* §5.3: in the guest, a datagram for a handle that does not exist is dropped with a trace
 * record; the sender already had its success. */
START_TEST(deliver_guest_missing_handle_dropped_with_trace)
{
    char path[64];
    struct fixture f;
    fixture_init(&f, world_traced(1, path), 0);
    ck_assert_int_eq(send_dg(f.host, H(3, 4444), f.hh, 8, 1), 32);
    ck_assert_int_eq(vmci_datagram_destroy_handle(f.g, f.gh), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_datagram_destroy_handle(f.g, f.gh), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, 8, 1), 32);
    settle(f.sim);
    ck_assert_int_eq(f.glog.n, 0);
    char *t = finish_traced(f.sim, path);
    ck_assert_int_eq(count(t, "dg-drop src=2:1500 dst=3:4444 size=32 reason=no-handle"), 1);
    ck_assert_int_eq(count(t, "dg-drop src=2:1500 dst=3:1024 size=32 reason=no-handle"), 1);
    free(t);
}
END_TEST

/* §2.2/§5.1: an ANYCID handle matches any destination CID of its context (also after the
 * context's CID changed); a handle with a CID matches only that one. */
START_TEST(deliver_anycid_handle_matches_any_cid)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    vmci_handle any;
    struct log alog = {0};
    ck_assert_int_eq(vmci_datagram_create_handle(f.g, 3000, VMCI_FLAG_ANYCID_DG_HND, 0, log_cb,
                                                 &alog, &any), VMCI_SUCCESS);
    ck_assert_int_eq(send_dg(f.host, H(3, 3000), f.hh, 1, 1), 25);
    settle(f.sim);
    ck_assert_int_eq(alog.n, 1);
    ck_assert_int_eq(hv_context_change_cid(f.g, 9), VMCI_SUCCESS);
    ck_assert_int_eq(send_dg(f.host, H(9, 3000), f.hh, 1, 2), 25);
    ck_assert_int_eq(send_dg(f.host, H(9, f.gh.resource), f.hh, 1, 3), 25);
    settle(f.sim);
    ck_assert_int_eq(alog.n, 2);
    ck_assert_uint_eq(alog.r[1].dst.context, 9);
    ck_assert_int_eq(f.glog.n, 0); /* (3, 1024) does not match (9, 1024) */
    vmcisim_destroy(f.sim);
}
END_TEST

/* §1.6: a routable datagram is at most 69632 bytes with its header: payload 69608 goes,
 * 69609 is INVALID_ARGS (guest and host alike), so is an absurd payload_size. */
START_TEST(deliver_size_limit_69632)
{
    struct fixture f;
    fixture_init(&f, tu_world(1), 0);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, VMCI_MAX_DG_PAYLOAD_SIZE, 1), 69632);
    ck_assert_int_eq(send_dg(f.g, f.hh, f.gh, VMCI_MAX_DG_PAYLOAD_SIZE + 1, 1),
                     VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, VMCI_MAX_DG_PAYLOAD_SIZE, 1), 69632);
    ck_assert_int_eq(send_dg(f.host, f.gh, f.hh, VMCI_MAX_DG_PAYLOAD_SIZE + 1, 1),
                     VMCI_ERROR_INVALID_ARGS);
    struct vmci_datagram big = {f.hh, f.gh, UINT64_MAX - 10};
    ck_assert_int_eq(vmci_datagram_send(f.g, &big), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_datagram_send(f.host, &big), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_datagram_send(f.g, NULL), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_datagram_send(NULL, &big), VMCI_ERROR_DEVICE_NOT_FOUND);
    ck_assert_int_eq(f.hlog.n, 1);
    ck_assert_uint_eq(f.hlog.r[0].size, VMCI_MAX_DG_PAYLOAD_SIZE);
    vmcisim_destroy(f.sim);
}
END_TEST

/* §5.3 "in the order the datagrams reached the device": host and loopback datagrams reach the
 * guest's callbacks in arrival order. */
START_TEST(deliver_guest_callbacks_in_arrival_order)
{
    for (uint64_t seed = 0; seed < (uint64_t)tu_seed_count(); seed++) {
        struct fixture f;
        fixture_init(&f, tu_world(seed), 0);
        for (int i = 0; i < 20; i++) {
            if (i % 3 == 0)
                ck_assert_int_gt(send_dg(f.g, f.gh, f.gh, 1, (uint8_t)i), 0);
            else
                ck_assert_int_gt(send_dg(f.host, f.gh, f.hh, 1, (uint8_t)i), 0);
        }
        settle(f.sim);
        ck_assert_int_eq(f.glog.n, 20);
        for (int i = 0; i < 20; i++)
            ck_assert_uint_eq(f.glog.r[i].b0, (uint8_t)i);
        vmcisim_destroy(f.sim);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, route_dst_any_cid_is_invalid_args);
    tcase_add_test(tc, route_to_hypervisor_guest_served_host_device_not_found);
    tcase_add_test(tc, route_guest_to_host_delivered_with_guest_cid);
    tcase_add_test(tc, route_host_to_host_src_filled_and_deferred);
    tcase_add_test(tc, route_host_to_vm_delivered_on_guest_kworker);
    tcase_add_test(tc, route_vm_to_vm_is_dst_unreachable);
    tcase_add_test(tc, route_unknown_cid_is_dst_unreachable);
    tcase_add_test(tc, route_guest_loopback_to_own_cid);
    tcase_add_test(tc, route_invalid_src_cid_replaced);
    tcase_add_test(tc, route_guest_cannot_spoof_source_cid);
    tcase_add_test(tc, route_host_source_must_be_own_handle);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("deliver");
    tcase_add_test(td, deliver_missing_host_handle_is_invalid_resource);
    tcase_add_test(td, deliver_privilege_check_restricted_vm);
    tcase_add_test(td, deliver_host_callback_in_sender_context);
    tcase_add_test(td, deliver_delayed_cb_on_host_kworker);
    tcase_add_test(td, deliver_deferred_host_queue_limit_no_mem);
    tcase_add_test(td, deliver_vm_pending_limit_no_resources);
    tcase_add_test(td, deliver_guest_missing_handle_dropped_with_trace);
    tcase_add_test(td, deliver_anycid_handle_matches_any_cid);
    tcase_add_test(td, deliver_size_limit_69632);
    tcase_add_test(td, deliver_guest_callbacks_in_arrival_order);
    suite_add_tcase(s, td);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
