#define _GNU_SOURCE
/*
 * test_stream_lifecycle.c - VM lifecycle faults on stream connections (vmci-semantics.md §6,
 * GUIDE-V 3.2 "Persistence of Sockets"): suspend/resume, vMotion and fault tolerance drop the
 * VM's connections (end of file, then EPIPE, on both ends); new connections work after resume,
 * right away after vMotion, and only once fault tolerance is off; power off ends the peer's
 * connections.
 */
#include "sockutil.h"

enum fault { F_SUSPEND_RESUME, F_MIGRATE, F_FT, F_POWER_OFF };

struct lc {
    enum fault fault;
    vmcisim_vm *guest;
    int listening, connected, faulted, checked_host, checked_guest, reconnected, done;
    int refused_while_ft;
};

/* Both ends of a dropped connection: reads give end of file, then writes give EPIPE. */
static void expect_dropped(int fd)
{
    char c;
    ck_assert_int_eq(vmci_recv(fd, &c, 1, 0), 0);
    ck_assert_int_eq(vmci_send(fd, "x", 1, MSG_NOSIGNAL), -1);
    ck_assert_int_eq(errno, EPIPE);
}

static void lc_host(void *arg)
{
    struct lc *s = arg;
    int l = su_listen(TEST_PORT, 4);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    char buf[4];
    su_recv_exact(fd, buf, 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    su_set(&s->connected, 1);
    /* the operator */
    vmcisim_sleep(1000000);
    switch (s->fault) {
    case F_SUSPEND_RESUME:
        ck_assert_int_eq(vmcisim_vm_suspend(s->guest), 0);
        vmcisim_sleep(1000000000ull);
        ck_assert_int_eq(vmcisim_vm_resume(s->guest), 0);
        break;
    case F_MIGRATE:
        ck_assert_int_eq(vmcisim_vm_migrate(s->guest), 0);
        break;
    case F_FT:
        ck_assert_int_eq(vmcisim_vm_fault_tolerance(s->guest, 1), 0);
        break;
    case F_POWER_OFF:
        ck_assert_int_eq(vmcisim_vm_power_off(s->guest), 0);
        break;
    }
    su_set(&s->faulted, 1);
    expect_dropped(fd);
    vmci_close(fd);
    su_set(&s->checked_host, 1);
    if (s->fault == F_POWER_OFF) {
        vmci_close(l);
        return;
    }
    if (s->fault == F_FT) {
        su_wait(&s->refused_while_ft, 1);
        ck_assert_int_eq(vmcisim_vm_fault_tolerance(s->guest, 0), 0);
        su_set(&s->refused_while_ft, 2);
    }
    int fd2 = su_accept(l);
    su_recv_exact(fd2, buf, 4);
    ck_assert_int_eq(memcmp(buf, "back", 4), 0);
    su_set(&s->done, 1); /* the guest may close now: a host end loses unread data (§8.2) */
    vmci_close(fd2);
    vmci_close(l);
}

static void lc_guest(void *arg)
{
    struct lc *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_send_all(fd, "ping", 4);
    su_wait(&s->faulted, 1);
    /* (a powered-off guest never gets here: its threads ended where they stood) */
    expect_dropped(fd);
    vmci_close(fd);
    su_set(&s->checked_guest, 1);
    if (s->fault == F_FT) {
        ck_assert_int_eq(su_connect(VMADDR_CID_HOST, TEST_PORT), -ECONNRESET);
        su_set(&s->refused_while_ft, 1);
        su_wait(&s->refused_while_ft, 2);
    }
    int fd2 = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd2, 0);
    su_send_all(fd2, "back", 4);
    su_wait(&s->done, 1);
    vmci_close(fd2);
}

static void run_lc(uint64_t seed, enum fault f)
{
    vmcisim *sim = tu_world(seed);
    struct lc s = {.fault = f};
    s.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "host", lc_host, &s), 0);
    ck_assert_int_eq(vmcisim_spawn(s.guest, "guest", lc_guest, &s), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    ck_assert_int_eq(s.checked_host, 1);
    if (f == F_POWER_OFF) {
        ck_assert_int_eq(s.checked_guest, 0);
    } else {
        ck_assert_int_eq(s.checked_guest, 1);
        ck_assert_int_eq(s.done, 1);
    }
    vmcisim_destroy(sim);
}

START_TEST(suspend_resume_drops_connections_then_new_ones_work)
{
    FOR_SEEDS(seed) run_lc(seed, F_SUSPEND_RESUME);
}
END_TEST

START_TEST(vmotion_drops_connections_vm_keeps_running)
{
    FOR_SEEDS(seed) run_lc(seed, F_MIGRATE);
}
END_TEST

START_TEST(fault_tolerance_drops_and_refuses_until_off)
{
    FOR_SEEDS(seed) run_lc(seed, F_FT);
}
END_TEST

START_TEST(power_off_ends_the_peers_connections)
{
    FOR_SEEDS(seed) run_lc(seed, F_POWER_OFF);
}
END_TEST

/* A suspended guest's threads do not run: a host send into a full queue blocks until the
 * resume drops the connection, then fails with EPIPE. */
struct blocked {
    vmcisim_vm *guest;
    int listening, connected;
    ssize_t send_result;
    int send_errno;
};

static void bl_host(void *arg)
{
    struct blocked *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    su_wait(&s->connected, 1);
    ck_assert_int_eq(vmcisim_vm_suspend(s->guest), 0);
    static char big[300000];
    errno = 0;
    s->send_result = vmci_send(fd, big, sizeof big, MSG_NOSIGNAL);
    s->send_errno = errno;
    vmci_close(fd);
    vmci_close(l);
}

static void bl_resumer(void *arg)
{
    struct blocked *s = arg;
    su_wait(&s->connected, 1);
    vmcisim_sleep(2000000000ull);
    ck_assert_int_eq(vmcisim_vm_resume(s->guest), 0);
}

static void bl_guest(void *arg)
{
    struct blocked *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    su_set(&s->connected, 1);
    char c;
    /* nothing could reach the suspended guest; after the resume the connection is gone */
    ck_assert_int_eq(vmci_recv(fd, &c, 1, 0), 0);
    vmci_close(fd);
}

START_TEST(host_send_to_suspended_guest_blocks_until_resume_drops_it)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        struct blocked s = {0};
        s.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "host", bl_host, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "resumer", bl_resumer, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(s.guest, "guest", bl_guest, &s), 0);
        ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
        /* while the guest is suspended its queue memory is not mapped (§4.2): nothing goes in,
         * the send waits, and the resume drops the connection */
        ck_assert_int_eq(s.send_result, -1);
        ck_assert_int_eq(s.send_errno, EPIPE);
        vmcisim_destroy(sim);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stream lifecycle");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, suspend_resume_drops_connections_then_new_ones_work);
    tcase_add_test(tc, vmotion_drops_connections_vm_keeps_running);
    tcase_add_test(tc, fault_tolerance_drops_and_refuses_until_off);
    tcase_add_test(tc, power_off_ends_the_peers_connections);
    tcase_add_test(tc, host_send_to_suspended_guest_blocks_until_resume_drops_it);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
