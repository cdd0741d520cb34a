/*
 * stackutil.h - helpers shared by the tests of the VMCI stack (hypervisor, device, guest driver):
 * settling a world, traced worlds of the stack alone, datagram logs and senders.
 */
#ifndef VMCISIM_STACKUTIL_H
#define VMCISIM_STACKUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/vmci_kapi.h"
#include "assemble.h"
#include "sim/sim.h"
#include "testutil.h"

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

#endif
