/*
 * test_hv_doorbell.c - doorbells: create/destroy/notify on the host and in guests, callbacks on
 * the owner's kernel worker, coalescing, isolation (§5.5) and privileges (§5.4).
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

struct ring_log {
    int n;
    uint32_t vm_cid[16];
    char thread[16][SIM_NAME_MAX];
};

static void ring_cb(void *data)
{
    struct ring_log *l = data;
    if (l->n < 16) {
        sim_thread *t = sim_self();
        l->vm_cid[l->n] = t ? t->vm->cid : ~0u;
        snprintf(l->thread[l->n], SIM_NAME_MAX, "%s", t ? t->name : "main");
    }
    l->n++;
}

/* A host doorbell rung by a guest (through its device): the callback runs on the host's kernel
 * worker; rings before it ran coalesce into one call. */
START_TEST(db_host_doorbell_rung_by_guest)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim), *g = vmcisim_vm_create(sim, "g", 3);
    struct ring_log l = {0};
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_doorbell_create(host, &h, 0, 0, ring_cb, &l), VMCI_SUCCESS);
    ck_assert_uint_eq(h.context, 2);
    ck_assert_uint_eq(h.resource, 1024);
    ck_assert_int_eq(vmci_doorbell_notify(g, h, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(g, h, 0), VMCI_SUCCESS);
    ck_assert_int_eq(l.n, 0);
    settle(sim);
    ck_assert_int_eq(l.n, 1);
    ck_assert_uint_eq(l.vm_cid[0], 2);
    ck_assert_str_eq(l.thread[0], "kworker");
    ck_assert_int_eq(vmci_doorbell_notify(g, h, 0), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(vmci_doorbell_destroy(host, h), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_destroy(host, h), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_doorbell_notify(g, h, 0), VMCI_ERROR_NOT_FOUND);
    vmcisim_destroy(sim);
}
END_TEST

/* A guest doorbell (linked to a notification bit of its device) rung by the host: the
 * callback runs on the guest's kernel worker after the device's interrupt; rings coalesce. */
START_TEST(db_guest_doorbell_rung_by_host)
{
    char path[64];
    vmcisim *sim = world_traced(1, path);
    vmcisim_vm *host = vmcisim_host(sim), *g = vmcisim_vm_create(sim, "g", 3);
    struct ring_log l = {0}, l2 = {0};
    vmci_handle h = VMCI_INVALID_HANDLE, h2 = H(3, 3000);
    ck_assert_int_eq(vmci_doorbell_create(g, &h, 0, 0, ring_cb, &l), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_create(g, &h2, 0, 0, ring_cb, &l2), VMCI_SUCCESS);
    ck_assert_uint_eq(h.context, 3);
    ck_assert_uint_eq(h.resource, 1024);
    ck_assert_uint_eq(h2.resource, 3000);
    ck_assert_int_eq(vmci_doorbell_notify(host, h2, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(host, h, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(host, h, 0), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l2.n, 1);
    ck_assert_uint_eq(l.vm_cid[0], 3);
    ck_assert_str_eq(l.thread[0], "kworker");
    /* the guest may ring its own doorbell */
    ck_assert_int_eq(vmci_doorbell_notify(g, h, 0), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    /* rung, then destroyed before the interrupt ran: nothing runs */
    ck_assert_int_eq(vmci_doorbell_notify(host, h2, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_destroy(g, h2), VMCI_SUCCESS);
    settle(sim);
    ck_assert_int_eq(l2.n, 1);
    ck_assert_int_eq(vmci_doorbell_notify(host, h2, 0), VMCI_ERROR_NOT_FOUND);
    char *t = finish_traced(sim, path);
    ck_assert_int_eq(count(t, "db-link ctx=3 handle=3:1024 idx=0 result=VMCI_SUCCESS"), 1);
    ck_assert_int_eq(count(t, "db-link ctx=3 handle=3:3000 idx=1 result=VMCI_SUCCESS"), 1);
    ck_assert_int_eq(count(t, "db-callback idx=1 handle=4294967295:4294967295 ran=0"), 1);
    free(t);
}
END_TEST

/* §5.5: doorbells VM to VM are DST_UNREACHABLE; an unknown context or doorbell NOT_FOUND. */
START_TEST(db_isolation_and_missing)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim), *g = vmcisim_vm_create(sim, "g", 3);
    vmcisim_vm *g2 = vmcisim_vm_create(sim, "g2", 4);
    struct ring_log l = {0};
    vmci_handle h = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_doorbell_create(g, &h, 0, 0, ring_cb, &l), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(g2, h, 0), VMCI_ERROR_DST_UNREACHABLE);
    ck_assert_int_eq(vmci_doorbell_notify(host, H(3, 9999), 0), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_doorbell_notify(host, H(9, 1024), 0), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_doorbell_notify(host, H(2, 1024), 0), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_doorbell_notify(host, VMCI_INVALID_HANDLE, 0), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_doorbell_notify(g, VMCI_INVALID_HANDLE, 0), VMCI_ERROR_INVALID_ARGS);
    settle(sim);
    ck_assert_int_eq(l.n, 0);
    vmcisim_destroy(sim);
}
END_TEST

/* §5.4: a restricted VM may ring only trusted host doorbells; the host rings a restricted VM's
 * doorbell with its own (trusted) flags, or with the flags it names. */
START_TEST(db_privileges)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim);
    vmcisim_vm *r = vmcisim_vm_create_ex(sim, "r", 3, VMCISIM_VM_RESTRICTED);
    struct ring_log l = {0};
    vmci_handle ht = VMCI_INVALID_HANDLE, hu = VMCI_INVALID_HANDLE, gd = VMCI_INVALID_HANDLE;
    ck_assert_int_eq(vmci_doorbell_create(host, &ht, 0, VMCI_PRIVILEGE_FLAG_TRUSTED, ring_cb, &l),
                     0);
    ck_assert_int_eq(vmci_doorbell_create(host, &hu, 0, 0, ring_cb, &l), 0);
    ck_assert_int_eq(vmci_doorbell_create(r, &gd, 0, 0, ring_cb, &l), 0);
    ck_assert_int_eq(vmci_doorbell_notify(r, hu, 0), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(vmci_doorbell_notify(r, ht, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(host, gd, 0), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_notify(host, gd, VMCI_PRIVILEGE_FLAG_RESTRICTED),
                     VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(vmci_doorbell_notify(host, gd, 0x10), VMCI_ERROR_INVALID_ARGS);
    settle(sim);
    ck_assert_int_eq(l.n, 2);
    vmcisim_destroy(sim);
}
END_TEST

/* Doorbell creation: the handle must be the creator's (NO_ACCESS), a callback is needed and
 * flags are checked (INVALID_ARGS), an ID in use is ALREADY_EXISTS. */
START_TEST(db_create_checks)
{
    vmcisim *sim = tu_world_stack(1);
    vmcisim_vm *host = vmcisim_host(sim), *g = vmcisim_vm_create(sim, "g", 3);
    struct ring_log l = {0};
    vmci_handle h = H(2, 5000);
    ck_assert_int_eq(vmci_doorbell_create(g, &h, 0, 0, ring_cb, &l), VMCI_ERROR_NO_ACCESS);
    h = H(3, 5000);
    ck_assert_int_eq(vmci_doorbell_create(host, &h, 0, 0, ring_cb, &l), VMCI_ERROR_NO_ACCESS);
    ck_assert_int_eq(vmci_doorbell_create(g, &h, 0, 0, NULL, &l), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_doorbell_create(g, &h, 0x2, 0, ring_cb, &l), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_doorbell_create(g, NULL, 0, 0, ring_cb, &l), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_doorbell_create(g, &h, VMCI_FLAG_DG_DELAYED_CB, 0, ring_cb, &l), 0);
    vmci_handle again = H(3, 5000);
    ck_assert_int_eq(vmci_doorbell_create(g, &again, 0, 0, ring_cb, &l),
                     VMCI_ERROR_ALREADY_EXISTS);
    ck_assert_int_eq(vmci_doorbell_destroy(g, H(3, 5001)), VMCI_ERROR_NOT_FOUND);
    ck_assert_int_eq(vmci_doorbell_destroy(g, h), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_doorbell_create(NULL, &h, 0, 0, ring_cb, &l),
                     VMCI_ERROR_DEVICE_NOT_FOUND);
    vmcisim_destroy(sim);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hv_doorbell");
    TCase *tc = tcase_create("doorbell");
    tcase_add_test(tc, db_host_doorbell_rung_by_guest);
    tcase_add_test(tc, db_guest_doorbell_rung_by_host);
    tcase_add_test(tc, db_isolation_and_missing);
    tcase_add_test(tc, db_privileges);
    tcase_add_test(tc, db_create_checks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
