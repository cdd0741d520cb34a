#define _GNU_SOURCE
/*
 * test_dgram.c - datagram VMCI sockets (vmci-semantics.md §§2.2, 2.6, 2.9, 2.10, 2.14, 5), the
 * unmerged vsock_test SOCK_DGRAM cases D1-D5 and D7 (vsock-test-inventory.md §5.1), and a flood
 * whose losses are accounted for exactly from the trace.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include "sockutil.h"

static int dg_bound(unsigned cid, unsigned port)
{
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_vm a = su_addr(cid, port);
    ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static ssize_t dg_sendto(int fd, unsigned cid, unsigned port, const void *buf, size_t n)
{
    struct sockaddr_vm a = su_addr(cid, port);
    return vmci_sendto(fd, buf, n, 0, (struct sockaddr *)&a, sizeof a);
}

/* ---- D1 "SOCK_DGRAM client sendto" / D2 "SOCK_DGRAM client connect" ------------------------- */

struct d1 {
    int bound, done, use_connect;
    struct sockaddr_vm from;
};

static void d1_server(void *arg)
{
    struct d1 *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    su_set(&s->bound, 1);
    char c = 0;
    socklen_t len = sizeof s->from;
    ck_assert_int_eq(vmci_recvfrom(fd, &c, 1, 0, (struct sockaddr *)&s->from, &len), 1);
    ck_assert_int_eq(c, 'A');
    ck_assert_uint_eq(len, sizeof(struct sockaddr_vm));
    vmci_close(fd);
}

static void d1_client(void *arg)
{
    struct d1 *s = arg;
    su_wait(&s->bound, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    if (s->use_connect) {
        struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, TEST_PORT);
        ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        struct sockaddr_vm p;
        socklen_t len = sizeof p;
        ck_assert_int_eq(vmci_getpeername(fd, (struct sockaddr *)&p, &len), 0);
        ck_assert_uint_eq(p.svm_port, TEST_PORT);
        ck_assert_int_eq(vmci_send(fd, "A", 1, 0), 1);
    } else {
        ck_assert_int_eq(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, "A", 1), 1); /* auto-binds */
    }
    struct sockaddr_vm me;
    socklen_t len = sizeof me;
    ck_assert_int_eq(vmci_getsockname(fd, (struct sockaddr *)&me, &len), 0);
    ck_assert_uint_ge(me.svm_port, 1024);
    vmci_close(fd);
}

START_TEST(dgram_client_sendto)
{
    FOR_SEEDS(seed)
    {
        struct d1 s = {0};
        su_run2(seed, 0, 1, d1_server, d1_client, &s);
        ck_assert_uint_eq(s.from.svm_cid, GUEST_CID);
        ck_assert_uint_ge(s.from.svm_port, 1024);
    }
}
END_TEST

START_TEST(dgram_client_connect)
{
    FOR_SEEDS(seed)
    {
        struct d1 s = {.use_connect = 1};
        su_run2(seed, 0, 1, d1_server, d1_client, &s);
        ck_assert_uint_eq(s.from.svm_cid, GUEST_CID);
    }
}
END_TEST

/* ---- D3/D4 "multiple connections using sendto / send": 100 sockets --------------------------- */

struct d3 {
    int bound, step, use_connect;
};

static void d3_server(void *arg)
{
    struct d3 *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    su_set(&s->bound, 1);
    for (int i = 0; i < 100; i++) {
        char c;
        ck_assert_int_eq(vmci_recv(fd, &c, 1, 0), 1);
        ck_assert_int_eq((unsigned char)c, (unsigned char)i);
        su_set(&s->step, i + 1); /* lock-step, so a loss would show */
    }
    vmci_close(fd);
}

static void d3_client(void *arg)
{
    struct d3 *s = arg;
    su_wait(&s->bound, 1);
    for (int i = 0; i < 100; i++) {
        int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
        char c = (char)i;
        if (s->use_connect) {
            struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, TEST_PORT);
            ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
            ck_assert_int_eq(vmci_send(fd, &c, 1, 0), 1);
        } else {
            ck_assert_int_eq(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, &c, 1), 1);
        }
        su_wait(&s->step, i + 1);
        vmci_close(fd);
    }
}

START_TEST(dgram_multiple_connections_using_sendto)
{
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct d3 s = {0};
        su_run2(seed, 0, 1, d3_server, d3_client, &s);
    }
}
END_TEST

START_TEST(dgram_multiple_connections_using_send)
{
    for (uint64_t seed = 1; seed <= 2; seed++) {
        struct d3 s = {.use_connect = 1};
        su_run2(seed, 0, 1, d3_server, d3_client, &s);
    }
}
END_TEST

/* ---- D5 "msg bounds": each receive returns exactly one whole datagram, sizes up to the limit -- */

static const size_t bound_sizes[] = {1, 2, 7, 64, 100, 1000, 4095, 4096, 4097, 10000, 32768,
                                     65536, 69607, 69608};
#define NSIZES (sizeof bound_sizes / sizeof bound_sizes[0])

struct d5 {
    int bound, step;
};

static unsigned char byte_at(size_t msg, size_t i) { return (unsigned char)(msg * 37 + i * 11); }

static void d5_server(void *arg)
{
    struct d5 *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    int rcvbuf = 1 << 20;
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    su_set(&s->bound, 1);
    static unsigned char buf[80000];
    for (size_t m = 0; m < NSIZES; m++) {
        ssize_t n = vmci_recv(fd, buf, sizeof buf, 0);
        ck_assert_int_eq(n, (ssize_t)bound_sizes[m]);
        for (size_t i = 0; i < (size_t)n; i++)
            ck_assert_int_eq(buf[i], byte_at(m, i));
        su_set(&s->step, (int)m + 1);
    }
    vmci_close(fd);
}

static void d5_client(void *arg)
{
    struct d5 *s = arg;
    su_wait(&s->bound, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    static unsigned char buf[80000];
    for (size_t m = 0; m < NSIZES; m++) {
        for (size_t i = 0; i < bound_sizes[m]; i++)
            buf[i] = byte_at(m, i);
        ck_assert_int_eq(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, buf, bound_sizes[m]),
                         (ssize_t)bound_sizes[m]);
        su_wait(&s->step, (int)m + 1);
    }
    /* one byte over the limit: EMSGSIZE (§2.9) */
    EXPECT_ERR(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, buf, 69609), EMSGSIZE);
    vmci_close(fd);
}

START_TEST(dgram_msg_bounds_up_to_the_limit)
{
    FOR_SEEDS(seed)
    {
        struct d5 s = {0};
        su_run2(seed, 0, 1, d5_server, d5_client, &s);
    }
}
END_TEST

/* ---- D7 "SOCK_STREAM and SOCK_DGRAM address collision": separate port spaces ----------------- */

static void d7(void *arg)
{
    (void)arg;
    int st = su_listen(TEST_PORT, 1);
    int dg = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    int dg2 = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    EXPECT_ERR(vmci_bind(dg2, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    vmci_close(st);
    vmci_close(dg);
    vmci_close(dg2);
}

START_TEST(dgram_stream_and_dgram_address_collision)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "p", d7, NULL), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- the rows of §2.9/§2.10 and calls datagram sockets do not have ----------------------------- */

static void rows(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    char buf[8];
    /* no address and not connected: EINVAL (not EDESTADDRREQ) */
    EXPECT_ERR(vmci_send(fd, "x", 1, 0), EINVAL);
    EXPECT_ERR(vmci_send(fd, "x", 1, MSG_OOB), EOPNOTSUPP);
    EXPECT_ERR(vmci_recv(fd, buf, 1, MSG_OOB), EOPNOTSUPP);
    EXPECT_ERR(vmci_recv(fd, buf, 1, MSG_ERRQUEUE), EOPNOTSUPP);
    EXPECT_ERR(vmci_listen(fd, 1), EOPNOTSUPP);
    EXPECT_ERR(vmci_accept(fd, NULL, NULL), EOPNOTSUPP);
    /* port ANY as a destination */
    EXPECT_ERR(dg_sendto(fd, VMADDR_CID_HOST, VMADDR_PORT_ANY, "x", 1), EINVAL);
    /* CID 0 only to port 14 */
    EXPECT_ERR(dg_sendto(fd, VMADDR_CID_HYPERVISOR, 15, "x", 1), EINVAL);
    struct sockaddr_vm h15 = su_addr(VMADDR_CID_HYPERVISOR, 15);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h15, sizeof h15), EINVAL);
    /* the host has no socket on that port: EHOSTUNREACH */
    EXPECT_ERR(dg_sendto(fd, VMADDR_CID_HOST, 4999, "x", 1), EHOSTUNREACH);
    /* VM to VM: refused (DST_UNREACHABLE -> EINVAL) */
    EXPECT_ERR(dg_sendto(fd, 4, TEST_PORT, "x", 1), EINVAL);
    /* non-blocking and timed receives */
    EXPECT_ERR(vmci_recv(fd, buf, 1, MSG_DONTWAIT), EAGAIN);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    uint64_t t0 = vmcisim_now(vmcisim_self_world());
    EXPECT_ERR(vmci_recv(fd, buf, 1, 0), EAGAIN);
    ck_assert_uint_eq(vmcisim_now(vmcisim_self_world()) - t0, 200000000ull);
    /* poll: writable, not readable */
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 1);
    ck_assert_int_eq(p.revents, POLLOUT);
    /* shutdown on an unconnected datagram socket: bits applied, still ENOTCONN */
    EXPECT_ERR(vmci_shutdown(fd, SHUT_RD), ENOTCONN);
    ck_assert_int_eq(vmci_recv(fd, buf, 1, 0), 0);
    p.events = POLLIN;
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 1);
    ck_assert_int_eq(p.revents & (POLLIN | POLLRDHUP), POLLIN);
    /* bad pointers */
    EXPECT_ERR(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, NULL, 5), EFAULT);
    EXPECT_ERR(vmci_sendto(fd, "x", 1, 0, (struct sockaddr *)(uintptr_t)32, 16), EFAULT);
    vmci_close(fd);
    /* binding: privileged ports, a foreign CID, explicit port conflicts */
    int a = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm priv = su_addr(VMADDR_CID_ANY, 100);
    EXPECT_ERR(vmci_bind(a, (struct sockaddr *)&priv, sizeof priv), EACCES);
    struct sockaddr_vm foreign = su_addr(VMADDR_CID_HOST, 6000);
    EXPECT_ERR(vmci_bind(a, (struct sockaddr *)&foreign, sizeof foreign), EADDRNOTAVAIL);
    vmci_close(a);
}

START_TEST(dgram_errno_rows)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
        vmcisim_vm_create(sim, "other", 4);
        ck_assert_int_eq(vmcisim_spawn(g, "p", rows, NULL), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* MSG_TRUNC, MSG_PEEK, recvmsg with the sender's address, AF_UNSPEC disconnect, no filtering. */
struct trunc {
    int bound, sent, done;
};

static void trunc_server(void *arg)
{
    struct trunc *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    su_set(&s->bound, 1);
    su_wait(&s->sent, 1);
    char small[4];
    ck_assert_int_eq(vmci_recv(fd, small, sizeof small, MSG_PEEK), 4);
    struct sockaddr_vm from;
    struct iovec iov = {.iov_base = small, .iov_len = sizeof small};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1};
    ck_assert_int_eq(vmci_recvmsg(fd, &m, 0), 4);
    ck_assert_int_eq(memcmp(small, "0123", 4), 0);
    ck_assert(m.msg_flags & MSG_TRUNC);
    ck_assert_uint_eq(m.msg_namelen, sizeof from);
    ck_assert_uint_eq(from.svm_cid, GUEST_CID);
    /* the rest of the truncated datagram is gone: the next one is whole */
    char buf[16];
    ck_assert_int_eq(vmci_recv(fd, buf, sizeof buf, 0), 5);
    ck_assert_int_eq(memcmp(buf, "other", 5), 0);
    su_set(&s->done, 1);
    vmci_close(fd);
}

static void trunc_client(void *arg)
{
    struct trunc *s = arg;
    su_wait(&s->bound, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    /* connected to one port, still sends with sendto elsewhere, and an invalid msg_name on a
     * connected socket is silently replaced by the connected address (§8.7) */
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), 0);
    ck_assert_int_eq(vmci_send(fd, "0123456789", 10, 0), 10);
    struct sockaddr_vm bogus = h;
    bogus.svm_family = AF_INET;
    ck_assert_int_eq(vmci_sendto(fd, "other", 5, 0, (struct sockaddr *)&bogus, sizeof bogus), 5);
    su_set(&s->sent, 1);
    su_wait(&s->done, 1);
    /* disconnect with AF_UNSPEC: then a plain send has no address */
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    ck_assert_int_eq(vmci_connect(fd, &un, sizeof un), 0);
    EXPECT_ERR(vmci_send(fd, "x", 1, 0), EINVAL);
    struct sockaddr_vm p;
    socklen_t len = sizeof p;
    EXPECT_ERR(vmci_getpeername(fd, (struct sockaddr *)&p, &len), ENOTCONN);
    vmci_close(fd);
}

START_TEST(dgram_trunc_peek_recvmsg_and_disconnect)
{
    FOR_SEEDS(seed)
    {
        struct trunc s = {0};
        su_run2(seed, 0, 1, trunc_server, trunc_client, &s);
    }
}
END_TEST

/* A datagram for a guest port nobody holds is dropped in the guest; the sender saw success. */
struct noport {
    int bound, sent;
};

static void noport_host(void *arg)
{
    struct noport *s = arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    ck_assert_int_eq(dg_sendto(fd, GUEST_CID, 7777, "lost", 4), 4);
    su_wait(&s->bound, 1);
    ck_assert_int_eq(dg_sendto(fd, GUEST_CID, TEST_PORT, "kept", 4), 4);
    vmci_close(fd);
}

static void noport_guest(void *arg)
{
    struct noport *s = arg;
    vmcisim_sleep(1000000); /* the first datagram has long been dropped by then */
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    su_set(&s->bound, 1);
    char buf[8];
    ck_assert_int_eq(vmci_recv(fd, buf, sizeof buf, 0), 4);
    ck_assert_int_eq(memcmp(buf, "kept", 4), 0);
    vmci_close(fd);
}

START_TEST(dgram_for_nonexistent_guest_port_is_dropped)
{
    FOR_SEEDS(seed)
    {
        struct noport s = {0};
        su_run2(seed, 0, 1, noport_host, noport_guest, &s);
    }
}
END_TEST

/* The destination VM's pending-datagram queue (139264 bytes) gives the sender ENOBUFS: a
 * suspended guest drains nothing. */
struct full {
    vmcisim_vm *guest;
    int bound;
    int sent_ok, enobufs;
};

static void full_host(void *arg)
{
    struct full *s = arg;
    su_wait(&s->bound, 1);
    ck_assert_int_eq(vmcisim_vm_suspend(s->guest), 0);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    static char buf[10000];
    for (int i = 0; i < 20; i++) {
        ssize_t r = dg_sendto(fd, GUEST_CID, TEST_PORT, buf, sizeof buf);
        if (r == (ssize_t)sizeof buf) {
            s->sent_ok++;
        } else {
            ck_assert_int_eq(r, -1);
            ck_assert_int_eq(errno, ENOBUFS);
            s->enobufs++;
        }
    }
    ck_assert_int_eq(vmcisim_vm_resume(s->guest), 0);
    vmci_close(fd);
}

static void full_guest(void *arg)
{
    struct full *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    int rcvbuf = 1 << 20;
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    su_set(&s->bound, 1);
    char buf[10000];
    for (int i = 0; i < 13; i++)
        ck_assert_int_eq(vmci_recv(fd, buf, sizeof buf, 0), 10000);
    vmci_close(fd);
}

START_TEST(dgram_vm_pending_queue_limit_gives_enobufs)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        struct full s = {0};
        s.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "host", full_host, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(s.guest, "guest", full_guest, &s), 0);
        ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
        /* (10000 + 24) * 13 = 130312 < 139264 <= (10000 + 24) * 14 */
        ck_assert_int_eq(s.sent_ok, 13);
        ck_assert_int_eq(s.enobufs, 7);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- the flood: losses only where the reference loses, exactly accounted for from the trace --- */

#define FLOOD 400

struct flood {
    int bound, finished;
    int sent;
    int received;
    unsigned char seen[FLOOD];
};

static void flood_server(void *arg)
{
    struct flood *s = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    int rcvbuf = 8192; /* doubled to 16384: room for about 16 one-KiB datagrams */
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    su_set(&s->bound, 1);
    unsigned char buf[2048];
    for (;;) {
        ssize_t n = vmci_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            if (__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE))
                break;
            vmcisim_sleep(20000);
            continue;
        }
        ck_assert_int_eq(n, 1024);
        int seq = buf[0] | buf[1] << 8;
        ck_assert_int_lt(seq, FLOOD);
        ck_assert_msg(!s->seen[seq], "datagram %d delivered twice", seq);
        s->seen[seq] = 1;
        for (int i = 2; i < 1024; i++)
            ck_assert_int_eq(buf[i], (unsigned char)(seq + i));
        s->received++;
        vmcisim_sleep(30000); /* a slow reader */
    }
    vmci_close(fd);
}

static void flood_client(void *arg)
{
    struct flood *s = arg;
    su_wait(&s->bound, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    unsigned char buf[1024];
    for (int seq = 0; seq < FLOOD; seq++) {
        buf[0] = (unsigned char)seq;
        buf[1] = (unsigned char)(seq >> 8);
        for (int i = 2; i < 1024; i++)
            buf[i] = (unsigned char)(seq + i);
        ck_assert_int_eq(dg_sendto(fd, VMADDR_CID_HOST, TEST_PORT, buf, sizeof buf), 1024);
        s->sent++;
        if (seq % 10 == 0)
            vmcisim_sleep(10000);
    }
    vmcisim_sleep(100000000ull); /* let the reader drain what was kept */
    su_set(&s->finished, 1);
    vmci_close(fd);
}

START_TEST(dgram_flood_losses_accounted_exactly)
{
    FOR_SEEDS(seed)
    {
        char path[] = "/tmp/vmcisim-flood-XXXXXX";
        int tfd = mkstemp(path);
        ck_assert_int_ge(tfd, 0);
        close(tfd);
        struct vmcisim_config cfg = {.seed = seed, .trace_path = path};
        vmcisim *sim = vmcisim_create(&cfg);
        vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
        struct flood s = {0};
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", flood_server, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(g, "client", flood_client, &s), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
        int dropped = su_trace_count(path, "why=rcvbuf-full");
        unlink(path);
        ck_assert_int_eq(s.sent, FLOOD);
        ck_assert_int_gt(dropped, 0);           /* the slow reader did lose some */
        ck_assert_int_gt(s.received, 0);
        ck_assert_int_eq(s.received + dropped, s.sent); /* and nothing else was lost */
    }
}
END_TEST

/* §2.9/§5.4: a restricted peer and an untrusted socket: the sender gets EPERM; a root
 * (trusted) socket may talk to it. */
static void restricted_host(void *arg)
{
    int *bound = arg;
    su_wait(bound, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    int r = (int)dg_sendto(fd, GUEST_CID, TEST_PORT, "x", 1);
    if (vmcisim_self_is_root()) {
        ck_assert_int_eq(r, 1);
    } else {
        ck_assert_int_eq(r, -1);
        ck_assert_int_eq(errno, EPERM);
    }
    vmci_close(fd);
    su_set(bound, 2 + vmcisim_self_is_root());
}

static void restricted_guest(void *arg)
{
    int *bound = arg;
    int fd = dg_bound(VMADDR_CID_ANY, TEST_PORT);
    su_set(bound, 1);
    su_wait(bound, 3);
    char c;
    ck_assert_int_eq(vmci_recv(fd, &c, 1, MSG_DONTWAIT), 1); /* the trusted one arrived */
    vmci_close(fd);
}

static void restricted_host_both(void *arg)
{
    int *bound = arg;
    restricted_host(arg);
    ck_assert_int_eq(vmcisim_spawn_root(vmcisim_self_vm(), "root-sender", restricted_host,
                                        bound), 0);
}

START_TEST(dgram_restricted_peer_and_untrusted_socket_is_eperm)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create_ex(sim, "restricted", GUEST_CID, VMCISIM_VM_RESTRICTED);
        int bound = 0;
        ck_assert_int_eq(vmcisim_spawn(g, "guest", restricted_guest, &bound), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "host", restricted_host_both, &bound), 0);
        ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
        vmcisim_destroy(sim);
    }
}
END_TEST

/* The same sendto/recvfrom in realtime mode (threads in parallel; TSan in CI). */
START_TEST(realtime_dgram_client_sendto_and_bounds)
{
    struct d1 s = {0};
    su_run2(1, 1, 1, d1_server, d1_client, &s);
    ck_assert_uint_eq(s.from.svm_cid, GUEST_CID);
    struct d5 b = {0};
    su_run2(2, 1, 1, d5_server, d5_client, &b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("datagram sockets");
    TCase *tc = tcase_create("dgram");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, dgram_client_sendto);
    tcase_add_test(tc, dgram_client_connect);
    tcase_add_test(tc, dgram_multiple_connections_using_sendto);
    tcase_add_test(tc, dgram_multiple_connections_using_send);
    tcase_add_test(tc, dgram_msg_bounds_up_to_the_limit);
    tcase_add_test(tc, dgram_stream_and_dgram_address_collision);
    tcase_add_test(tc, dgram_errno_rows);
    tcase_add_test(tc, dgram_trunc_peek_recvmsg_and_disconnect);
    tcase_add_test(tc, dgram_for_nonexistent_guest_port_is_dropped);
    tcase_add_test(tc, dgram_vm_pending_queue_limit_gives_enobufs);
    tcase_add_test(tc, dgram_flood_losses_accounted_exactly);
    tcase_add_test(tc, dgram_restricted_peer_and_untrusted_socket_is_eperm);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 300);
    tcase_add_test(rt, realtime_dgram_client_sendto_and_bounds);
    suite_add_tcase(s, rt);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
