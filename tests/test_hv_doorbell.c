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
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

__attribute__((unused)) static void idle(void *arg) { vmcisim_sleep((uint64_t)(uintptr_t)arg); }

/* Let the kernel workers and the hypervisor loop run for ns of simulated time. */
__attribute__((unused)) static void settle_ns(vmcisim *sim, uint64_t ns)
{
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "settle", idle, (void *)(uintptr_t)ns), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
}
__attribute__((unused)) static void settle(vmcisim *sim) { settle_ns(sim, 1000); }

__attribute__((unused)) static vmcisim *world_traced(uint64_t seed, char path[64])
{
    snprintf(path, 64, "/tmp/vmcisim-route-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct vmcisim_config cfg = {.seed = seed, .trace_path = path};
    vmcisim *sim = sim_create_without_sockets(&cfg); /* the stack alone */
    ck_assert_ptr_nonnull(sim);
    return sim;
}

/* Destroy the world, return its trace (caller frees) and remove the file. */
__attribute__((unused)) static char *finish_traced(vmcisim *sim, const char *path)
{
    vmcisim_destroy(sim);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return buf;
}

__attribute__((unused)) static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

struct rec {
    vmci_handle src, dst;
    uint64_t size;
    uint8_t b0;
    uint32_t vm_cid;        /* VM of the thread the callback ran on (~0: main thread) */
    char thread[SIM_NAME_MAX];
    uint64_t t;
};
struct log {
    int n;
    struct rec r[400];
};

__attribute__((unused)) static int log_cb(void *cd, struct vmci_datagram *dg)
{
    struct log *l = cd;
    if (l->n < (int)(sizeof l->r / sizeof l->r[0])) {
        struct rec *r = &l->r[l->n];
        r->src = dg->src;
        r->dst = dg->dst;
        r->size = dg->payload_size;
        r->b0 = dg->payload_size ? *(uint8_t *)VMCI_DG_PAYLOAD(dg) : 0;
        sim_thread *t = sim_self();
        r->vm_cid = t ? t->vm->cid : ~0u;
        snprintf(r->thread, sizeof r->thread, "%s", t ? t->name : "main");
        r->t = t ? sim_now(t->sim) : 0;
    }
    l->n++;
    return 0;
}

__attribute__((unused)) static vmci_handle H(uint32_t c, uint32_t r)
{
    return vmci_make_handle(c, r);
}

__attribute__((unused)) static int nop_cb(void *cd, struct vmci_datagram *dg)
{
    (void)cd;
    (void)dg;
    return 0;
}

__attribute__((unused)) static struct vmci_datagram *mkdg(vmci_handle dst, vmci_handle src,
                                                          size_t len, uint8_t fill)
{
    struct vmci_datagram *dg = malloc(sizeof *dg + len + 1);
    dg->dst = dst;
    dg->src = src;
    dg->payload_size = len;
    memset(VMCI_DG_PAYLOAD(dg), fill, len + 1);
    return dg;
}

/* Send a datagram of len bytes; returns the result. */
__attribute__((unused)) static int send_dg(vmcisim_vm *from, vmci_handle dst, vmci_handle src,
                                           size_t len, uint8_t fill)
{
    struct vmci_datagram *dg = mkdg(dst, src, len, fill);
    int rc = vmci_datagram_send(from, dg);
    free(dg);
    return rc;
}

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
