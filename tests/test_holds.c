/*
 * test_holds.c - hold VM / release VM / clog VM D (issue 15 item 6, docs/finding-bugs.md
 * "Holds"): a held VM's datagrams wait in the hypervisor and are delivered at the release, in
 * sending order, none lost; misuse gives EINVAL; the shipped clog scenario passes.
 */
#include <stdlib.h>

#include "scenario/scenario.h"
#include "sockutil.h"

#ifndef VMCISIM_SOURCE_DIR
#define VMCISIM_SOURCE_DIR "."
#endif

struct held {
    vmcisim_vm *g;
    int bound, sent;
    uint64_t t_release, t_got[3];
    char got[3][8];
};

static void receiver(void *arg)
{
    struct held *h = arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    h->bound = 1;
    for (int i = 0; i < 3; i++) {
        memset(h->got[i], 0, sizeof h->got[i]);
        ck_assert_int_eq(vmci_recv(fd, h->got[i], sizeof h->got[i] - 1, 0), 1);
        h->t_got[i] = vmcisim_now(vmcisim_self_world());
    }
    vmci_close(fd);
}

static void sender(void *arg)
{
    struct held *h = arg;
    while (!h->bound)
        vmcisim_yield();
    ck_assert_int_eq(vmcisim_vm_hold(h->g), 0);
    ck_assert_int_eq(vmcisim_vm_hold(h->g), -1); /* already held */
    ck_assert_int_eq(errno, EINVAL);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(2, TEST_PORT);
    for (int i = 0; i < 3; i++) /* the sender sees success at once */
        ck_assert_int_eq(vmci_sendto(fd, &"abc"[i], 1, 0, (struct sockaddr *)&a, sizeof a), 1);
    vmcisim_sleep(7000000);
    h->t_release = vmcisim_now(vmcisim_self_world());
    ck_assert_int_eq(vmcisim_vm_release(h->g), 0);
    ck_assert_int_eq(vmcisim_vm_release(h->g), -1); /* not held */
    ck_assert_int_eq(errno, EINVAL);
    vmci_close(fd);
}

START_TEST(held_datagrams_arrive_at_the_release_in_order)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct held h = {0};
        vmcisim *sim = tu_world(seed);
        h.g = vmcisim_vm_create(sim, "g", GUEST_CID);
        ck_assert_int_eq(vmcisim_spawn_root(vmcisim_host(sim), "rx", receiver, &h), 0);
        ck_assert_int_eq(vmcisim_spawn(h.g, "tx", sender, &h), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
        ck_assert_uint_eq(h.t_release, 7000000);
        for (int i = 0; i < 3; i++) {
            ck_assert_uint_eq(h.t_got[i], 7000000); /* none before the release, none lost */
            ck_assert_int_eq(h.got[i][0], "abc"[i]); /* in sending order */
        }
    }
}
END_TEST

START_TEST(hold_misuse_is_einval)
{
    errno = 0;
    ck_assert_int_eq(vmcisim_vm_hold(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", GUEST_CID);
    ck_assert_int_eq(vmcisim_vm_release(g), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(vmcisim_error(sim), "g is not held");
    ck_assert_int_eq(vmcisim_vm_hold(g), 0);
    ck_assert_int_eq(vmcisim_vm_power_off(g), 0);
    ck_assert_int_eq(vmcisim_vm_release(g), -1); /* powered off: its held datagrams are gone */
    ck_assert_int_eq(errno, EINVAL);
    vmcisim_destroy(sim);
}
END_TEST

START_TEST(clog_needs_a_duration)
{
    char err[512];
    const char *t = "vm g cid 5\nat 1ms clog g\n";
    ck_assert_ptr_null(scen_parse("c.vmcis", t, strlen(t), err, sizeof err));
    ck_assert_str_eq(err, "c.vmcis:2:14: expected how long to clog the VM, got end of line");
    t = "vm g cid 5\nat 1ms hold g\nat 2ms release g\nat 3ms release g -> EINVAL\n";
    struct scen_script *s = scen_parse("c.vmcis", t, strlen(t), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct scen_result *r = malloc(sizeof *r);
    struct scen_run_opts o = {.seed = 1};
    ck_assert_msg(scen_run(s, &o, r) == SCEN_PASS, "%s", r->message);
    ck_assert_uint_eq(r->sim_ns, 3000000);
    free(r);
    scen_script_free(s);
}
END_TEST

START_TEST(shipped_clog_scenario_passes)
{
    char err[1024];
    struct scen_script *s = scen_load(VMCISIM_SOURCE_DIR "/scenarios/clog.vmcis", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct scen_result *r = malloc(sizeof *r);
        struct scen_run_opts o = {.seed = seed};
        ck_assert_msg(scen_run(s, &o, r) == SCEN_PASS, "%s", r->message);
        free(r);
    }
    scen_script_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("holds");
    TCase *tc = tcase_create("deterministic");
    tcase_add_test(tc, held_datagrams_arrive_at_the_release_in_order);
    tcase_add_test(tc, hold_misuse_is_einval);
    tcase_add_test(tc, clog_needs_a_duration);
    tcase_add_test(tc, shipped_clog_scenario_passes);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
