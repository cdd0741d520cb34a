#define _GNU_SOURCE
/*
 * test_review_faults.c - the faults an outside review found (issue 10, item 8), each pinned by a
 * test that failed before its fix:
 *  - sendmsg with an iov_len far past the caller's buffer: EFAULT before any allocation, and
 *    recvmsg's iov_len sum checked (Linux import_iovec: a negative length is EINVAL);
 *  - a thread ended (power off, vmcisim_destroy) while blocked in vmci_sendmsg / vmci_recvmsg /
 *    vmci_poll frees what the call holds (checked by LeakSanitizer in the ASan build);
 *  - scenario processes waiting for a mark that never comes, or `after` cycles, are reported at
 *    once as a deadlock naming each waiter.
 */
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/uio.h>

#include "scenario/scenario.h"
#include "sockutil.h"

/* ---- sendmsg / recvmsg lengths ----------------------------------------------------------------- */

struct pair {
    int listening;
    int done;
};

static void idle_server(void *arg)
{
    struct pair *p = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&p->listening, 1);
    int fd = su_accept(l);
    su_wait(&p->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void huge_iov_client(void *arg)
{
    struct pair *p = arg;
    su_wait(&p->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    char buf[256];
    memset(buf, 'x', sizeof buf);
    /* 256 readable bytes, then a length of 2^36: the gathered copy would need 64 GiB. */
    struct iovec iov[2] = {{buf, sizeof buf}, {buf, (size_t)1 << 36}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    EXPECT_ERR(vmci_sendmsg(fd, &m, 0), EFAULT);
    struct iovec one = {buf, (size_t)1 << 36};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    EXPECT_ERR(vmci_sendmsg(fd, &m, 0), EFAULT);
    /* Linux import_iovec: a length that is negative as a ssize_t is EINVAL, for both calls; a
     * sum of two that would overflow is EINVAL through its first negative length too. */
    struct iovec neg[2] = {{buf, 16}, {buf, SIZE_MAX}};
    m.msg_iov = neg;
    m.msg_iovlen = 2;
    EXPECT_ERR(vmci_recvmsg(fd, &m, MSG_DONTWAIT), EINVAL);
    EXPECT_ERR(vmci_sendmsg(fd, &m, 0), EINVAL);
    /* Two lengths whose sum wraps to 16 bytes before the fix: the receive must not be sized
     * by the wrapped sum. (SSIZE_MAX each is valid; Linux truncates the total.) Nothing is
     * queued: EAGAIN. */
    struct iovec wrap[3] = {{buf, SSIZE_MAX}, {buf, SSIZE_MAX}, {buf, 18}};
    m.msg_iov = wrap;
    m.msg_iovlen = 3;
    EXPECT_ERR(vmci_recvmsg(fd, &m, MSG_DONTWAIT), EAGAIN);
    /* The connection still carries data: a valid sendmsg gives the full count. */
    m.msg_iov = iov;
    m.msg_iovlen = 1;
    ck_assert_int_eq(vmci_sendmsg(fd, &m, 0), 256);
    su_set(&p->done, 1);
    vmci_close(fd);
}

START_TEST(sendmsg_iov_len_past_buffer_is_efault)
{
    struct pair p = {0};
    su_run2(1, 0, 1, idle_server, huge_iov_client, &p);
}
END_TEST

/* ---- a thread ended while blocked in a call frees what the call holds -------------------------- */

#define BIG_MSG ((size_t)8 << 20) /* far above the 256 KiB queue: the sender blocks */

enum blocked_call { IN_SENDMSG, IN_RECVMSG, IN_POLL, IN_SELECT };

struct blocked {
    enum blocked_call call;
    vmcisim_vm *guest;
    int listening;
    int connected;
    int ended_by_destroy; /* no power off: the run deadlocks and vmcisim_destroy ends the thread */
    char *big;
};

static void blocking_server(void *arg)
{
    struct blocked *b = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&b->listening, 1);
    int fd = su_accept(l);
    su_wait(&b->connected, 1);
    if (b->ended_by_destroy) {
        /* never read nor write: the guest's call blocks for good */
        char c;
        ck_assert_int_eq(vmci_recv(fd, &c, 1, 0), 0);
        return;
    }
    vmcisim_sleep(50 * 1000 * 1000); /* 50 ms: the guest is blocked in its call by now */
    ck_assert_int_eq(vmcisim_vm_power_off(b->guest), 0);
    vmci_close(fd);
    vmci_close(l);
}

static void blocking_client(void *arg)
{
    struct blocked *b = arg;
    su_wait(&b->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_set(&b->connected, 1);
    struct iovec iov[2] = {{b->big, BIG_MSG / 2}, {b->big + BIG_MSG / 2, BIG_MSG / 2}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    struct pollfd p[64];
    for (size_t i = 0; i < 64; i++)
        p[i] = (struct pollfd){.fd = -1};
    p[63] = (struct pollfd){.fd = fd, .events = POLLIN};
    switch (b->call) {
    case IN_SENDMSG: vmci_sendmsg(fd, &m, 0); break;
    case IN_RECVMSG: vmci_recvmsg(fd, &m, 0); break;
    case IN_POLL: vmci_poll(p, 64, -1); break;
    case IN_SELECT: {   /* the plain-named select: its pollfd copy must go with the thread */
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        select(fd + 1, &rd, NULL, NULL, NULL);
        break;
    }
    }
    ck_abort_msg("the call returned: the thread was not ended while blocked in it");
}

/* Bytes the C library has handed out in mmapped chunks (the 8 MiB buffers of the calls). The
 * threshold is pinned so glibc does not raise it; under ASan this stays 0 and LeakSanitizer
 * checks instead. */
static size_t mmapped_bytes(void) { return mallinfo2().hblkhd; }

static void run_blocked(enum blocked_call call, int by_destroy)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    struct blocked b = {.call = call, .ended_by_destroy = by_destroy};
    b.big = malloc(BIG_MSG);
    ck_assert_ptr_nonnull(b.big);
    memset(b.big, 'b', BIG_MSG);
    size_t before = mmapped_bytes();
    struct vmcisim_config cfg = {.seed = 3};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    b.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(b.guest);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", blocking_server, &b), 0);
    ck_assert_int_eq(vmcisim_spawn(b.guest, "client", blocking_client, &b), 0);
    int rc = vmcisim_run(sim);
    /* power off: the run ends cleanly; destroy: nothing can ever run, the run reports a
     * deadlock (architecture.md, "Threads and determinism") and destroy ends the threads */
    ck_assert_int_eq(rc, by_destroy ? -1 : 0);
    vmcisim_destroy(sim);
    size_t after = mmapped_bytes();
    ck_assert_msg(after <= before + (1u << 20), "%zu bytes of mmapped chunks left after destroy",
                  after - before);
    free(b.big);
}

START_TEST(power_off_while_blocked_in_sendmsg_frees_its_buffer) { run_blocked(IN_SENDMSG, 0); }
END_TEST
START_TEST(power_off_while_blocked_in_recvmsg_frees_its_buffers) { run_blocked(IN_RECVMSG, 0); }
END_TEST
START_TEST(power_off_while_blocked_in_poll_frees_its_copy) { run_blocked(IN_POLL, 0); }
END_TEST
START_TEST(destroy_while_blocked_in_recvmsg_frees_its_buffers) { run_blocked(IN_RECVMSG, 1); }
END_TEST
START_TEST(destroy_while_blocked_in_poll_frees_its_copy) { run_blocked(IN_POLL, 1); }
END_TEST
/* (the copy is small: LeakSanitizer, in the ASan build, is what sees it) */
START_TEST(power_off_while_blocked_in_select_frees_its_copy) { run_blocked(IN_SELECT, 0); }
END_TEST

/* ---- scenario waits that can never end: a deadlock at once; `limit` enforced ------------------ */

static int run_scenario(const char *text, struct scen_result *r)
{
    char err[1024];
    struct scen_script *s = scen_parse("d.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct scen_run_opts o = {.seed = 1};
    int rc = scen_run(s, &o, r);
    scen_script_free(s);
    return rc;
}

/* docs/scenarios.md: a run that cannot finish fails with "a deadlock" naming each waiter. Two
 * `after` lines wait for each other, and `wait go` waits for a mark that only comes after its
 * own process is done. Before the fix the waits polled every 1 ms until the limit. */
START_TEST(after_cycle_and_missing_mark_are_a_deadlock_at_once)
{
    struct scen_result r;
    ck_assert_int_eq(run_scenario("scenario \"cycle\"\n"
                                  "limit 1s\n"
                                  "vm guest cid 3\n"
                                  "process a on guest after b.done\n  note \"a\"\nend\n"
                                  "process b on host after a.done\n  note \"b\"\nend\n"
                                  "process c on host\n  wait go\nend\n"
                                  "process d on guest\n  wait c.done\n  mark go\nend\n",
                                  &r),
                     SCEN_FAIL);
    ck_assert_str_eq(r.where, "d.vmcis:4");
    ck_assert_str_eq(r.expected, "every process to finish (limit 1.000s)");
    ck_assert_uint_eq(r.sim_ns, 0);
    ck_assert_msg(strstr(r.message, "got a deadlock at 0.000000000s") != NULL, "%s", r.message);
    ck_assert_msg(strstr(r.message, "thread 'a' of VM 'guest' (cid 3) waits for mark 'b.done' "
                                    "(a, line 4)") != NULL, "%s", r.message);
    ck_assert_msg(strstr(r.message, "thread 'b' of VM 'host' (cid 2) waits for mark 'a.done' "
                                    "(b, line 7)") != NULL, "%s", r.message);
    ck_assert_msg(strstr(r.message, "thread 'c' of VM 'host' (cid 2) waits for mark 'go' "
                                    "(c, line 11)") != NULL, "%s", r.message);
    ck_assert_msg(strstr(r.message, "thread 'd' of VM 'guest' (cid 3) waits for mark 'c.done' "
                                    "(d, line 14)") != NULL, "%s", r.message);
}
END_TEST

/* A wait that another process ends later is not a deadlock: the marking process sleeps (a timed
 * wait that is not idle), then marks. */
START_TEST(wait_for_a_late_mark_passes)
{
    struct scen_result r;
    ck_assert_int_eq(run_scenario("scenario \"late\"\n"
                                  "process w on host\n  wait go\nend\n"
                                  "process m on host\n  sleep 3ms\n  mark go\nend\n",
                                  &r),
                     SCEN_PASS);
}
END_TEST

/* docs/scenarios.md, `limit`: past it, the run fails, even if every process finished. */
START_TEST(a_run_past_its_limit_fails)
{
    struct scen_result r;
    ck_assert_int_eq(run_scenario("scenario \"limit\"\nlimit 2s\n"
                                  "process a on host\n  sleep 5s\nend\n",
                                  &r),
                     SCEN_FAIL);
    ck_assert_str_eq(r.where, "d.vmcis:2");
    ck_assert_str_eq(r.expected, "the run to end within the limit of 2.000s");
    ck_assert_str_eq(r.got, "simulated time 5.000000000s");
}
END_TEST

Suite *review_suite(void);
Suite *review_suite(void)
{
    Suite *s = suite_create("review_faults");
    TCase *tc = tcase_create("lengths");
    tcase_add_test(tc, sendmsg_iov_len_past_buffer_is_efault);
    suite_add_tcase(s, tc);
    tc = tcase_create("ended_while_blocked");
    tcase_add_test(tc, power_off_while_blocked_in_sendmsg_frees_its_buffer);
    tcase_add_test(tc, power_off_while_blocked_in_recvmsg_frees_its_buffers);
    tcase_add_test(tc, power_off_while_blocked_in_poll_frees_its_copy);
    tcase_add_test(tc, destroy_while_blocked_in_recvmsg_frees_its_buffers);
    tcase_add_test(tc, destroy_while_blocked_in_poll_frees_its_copy);
    tcase_add_test(tc, power_off_while_blocked_in_select_frees_its_copy);
    suite_add_tcase(s, tc);
    tc = tcase_create("scenario_waits");
    tcase_add_test(tc, after_cycle_and_missing_mark_are_a_deadlock_at_once);
    tcase_add_test(tc, wait_for_a_late_mark_passes);
    tcase_add_test(tc, a_run_past_its_limit_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(review_suite()); }
