#define _GNU_SOURCE
/*
 * test_stream_semantics.c - the stream rows of vmci-semantics.md §2 (one test per row or group
 * of rows, named after it), the handshake and teardown of §3, and bad input: each call's errno
 * in each state, in deterministic mode over several seeds.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include <signal.h>

#include "posix/real.h"
#include "sockutil.h"

/* Run one function as a root or plain process in the guest (and nothing else). */
static void run1(uint64_t seed, int in_host, int root, void (*fn)(void *), void *arg)
{
    vmcisim *sim = tu_world(seed);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    vmcisim_vm *where = in_host ? vmcisim_host(sim) : g;
    if (root)
        ck_assert_int_eq(vmcisim_spawn_root(where, "p", fn, arg), 0);
    else
        ck_assert_int_eq(vmcisim_spawn(where, "p", fn, arg), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
}

/* ---- §2.1 socket() ---------------------------------------------------------------------------- */

static void socket_rows(void *arg)
{
    (void)arg;
    EXPECT_ERR(vmci_socket(AF_VSOCK, SOCK_STREAM, 6), EPROTONOSUPPORT);
    EXPECT_ERR(vmci_socket(AF_VSOCK, SOCK_RAW, 0), ESOCKTNOSUPPORT);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, PF_VSOCK);
    ck_assert_int_ge(fd, 0);
    int type = 0;
    socklen_t len = sizeof type;
    ck_assert_int_eq(vmci_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    ck_assert_int_eq(type, SOCK_STREAM);
    /* a fresh socket: unbound, unconnected */
    struct sockaddr_vm a;
    len = sizeof a;
    ck_assert_int_eq(vmci_getsockname(fd, (struct sockaddr *)&a, &len), 0);
    ck_assert_uint_eq(len, sizeof a);
    ck_assert_uint_eq(a.svm_cid, VMADDR_CID_ANY);
    ck_assert_uint_eq(a.svm_port, VMADDR_PORT_ANY);
    EXPECT_ERR(vmci_getpeername(fd, (struct sockaddr *)&a, &len), ENOTCONN);
    /* §2.14: a fresh stream socket polls writable */
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 1);
    ck_assert_int_eq(p.revents, POLLOUT);
    ck_assert_int_eq(vmci_close(fd), 0);
    EXPECT_ERR(vmci_close(fd), EBADF);
    /* SOCK_NONBLOCK at creation */
    fd = vmci_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(vmci_fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    vmci_close(fd);
    ck_assert_uint_eq(VMCISock_GetLocalCID(), GUEST_CID);
    ck_assert_int_eq(VMCISock_GetAFValue(), AF_VSOCK);
    int devfd = 12345;
    ck_assert_int_eq(VMCISock_GetAFValueFd(&devfd), AF_VSOCK);
    ck_assert_int_eq(devfd, -1);
}

START_TEST(socket_errno_rows)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, socket_rows, NULL);
}
END_TEST

/* ---- §2.2 bind() --------------------------------------------------------------------------------- */

static void bind_rows(void *arg)
{
    int root = *(int *)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, 5000);
    EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a - 1), EINVAL);   /* short */
    a.svm_family = AF_INET;
    EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL);       /* family */
    a = su_addr(VMADDR_CID_ANY, 5000);
    a.svm_flags = 0x80;
    EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL);       /* flags */
    a = su_addr(VMADDR_CID_HOST, 5000);
    EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), EADDRNOTAVAIL);  /* foreign cid */
    a = su_addr(VMADDR_CID_ANY, 80);
    if (root) {
        ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    } else {
        EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), EACCES);
        a = su_addr(GUEST_CID, 5000);  /* own cid is fine */
        ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a = su_addr(VMADDR_CID_ANY, 6000);
    EXPECT_ERR(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), EINVAL);       /* already bound */
    /* EADDRINUSE: same port with ANY on either side conflicts */
    int fd2 = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm b = su_addr(VMADDR_CID_ANY, root ? 80 : 5000);
    EXPECT_ERR(vmci_bind(fd2, (struct sockaddr *)&b, sizeof b), EADDRINUSE);
    /* ephemeral: above the reserved ports */
    b = su_addr(VMADDR_CID_ANY, VMADDR_PORT_ANY);
    ck_assert_int_eq(vmci_bind(fd2, (struct sockaddr *)&b, sizeof b), 0);
    socklen_t len = sizeof b;
    ck_assert_int_eq(vmci_getsockname(fd2, (struct sockaddr *)&b, &len), 0);
    ck_assert_uint_gt(b.svm_port, 1023);
    ck_assert_uint_ne(b.svm_port, VMADDR_PORT_ANY);
    /* a datagram socket has its own port space (§1.4) */
    int d = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm c = su_addr(VMADDR_CID_ANY, 5001);
    ck_assert_int_eq(vmci_bind(d, (struct sockaddr *)&c, sizeof c), 0);
    int s3 = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_eq(vmci_bind(s3, (struct sockaddr *)&c, sizeof c), 0);
    /* bad descriptors and pointers */
    EXPECT_ERR(vmci_bind((1 << 26) + 999, (struct sockaddr *)&c, sizeof c), EBADF);
    int f4 = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    EXPECT_ERR(vmci_bind(f4, NULL, sizeof c), EFAULT);
    EXPECT_ERR(vmci_bind(f4, (struct sockaddr *)(uintptr_t)16, sizeof c), EFAULT);
    EXPECT_ERR(vmci_bind(f4, (struct sockaddr *)&c, 4096), EINVAL);
    vmci_close(fd);
    vmci_close(fd2);
    vmci_close(d);
    vmci_close(s3);
    vmci_close(f4);
}

START_TEST(bind_errno_rows_unprivileged)
{
    int root = 0;
    FOR_SEEDS(seed) run1(seed, 0, 0, bind_rows, &root);
}
END_TEST

START_TEST(bind_errno_rows_root_may_bind_privileged_ports)
{
    int root = 1;
    FOR_SEEDS(seed) run1(seed, 0, 1, bind_rows, &root);
}
END_TEST

/* ---- §2.3 listen() / §2.4 accept() --------------------------------------------------------------- */

static void listen_accept_rows(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    EXPECT_ERR(vmci_listen(fd, 5), EINVAL); /* not bound: no auto-bind */
    EXPECT_ERR(vmci_accept(fd, NULL, NULL), EINVAL); /* not listening */
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, 7000);
    ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(fd, 5), 0);
    ck_assert_int_eq(vmci_listen(fd, 10), 0); /* listen again changes the backlog */
    /* a listener: connect is EINVAL */
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, 1);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EINVAL);
    /* empty accept queue, non-blocking */
    ck_assert_int_eq(vmci_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    EXPECT_ERR(vmci_accept(fd, NULL, NULL), EAGAIN);
    ck_assert_int_eq(vmci_fcntl(fd, F_SETFL, 0), 0);
    /* SO_RCVTIMEO on accept: EAGAIN after exactly the timeout, in simulated time */
    struct timeval tv = {.tv_sec = 1, .tv_usec = 500000};
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    uint64_t t0 = vmcisim_now(vmcisim_self_world());
    EXPECT_ERR(vmci_accept(fd, NULL, NULL), EAGAIN);
    ck_assert_uint_eq(vmcisim_now(vmcisim_self_world()) - t0, 1500000000ull);
    /* a poll on a listener with nothing queued shows nothing */
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 0);
    vmci_close(fd);
    /* datagram sockets have no listen/accept */
    int d = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    EXPECT_ERR(vmci_listen(d, 1), EOPNOTSUPP);
    EXPECT_ERR(vmci_accept(d, NULL, NULL), EOPNOTSUPP);
    vmci_close(d);
}

START_TEST(listen_accept_errno_rows)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, listen_accept_rows, NULL);
}
END_TEST

/* listen(fd, 0) refuses every connection (§2.3, §8.1) and a full backlog answers RST. */
struct backlog {
    int listening, done;
};

static void backlog_server(void *arg)
{
    struct backlog *s = arg;
    int z = su_listen(TEST_PORT, 0);
    int one = su_listen(TEST_PORT + 1, 1);
    su_set(&s->listening, 1);
    su_wait(&s->done, 1);
    vmci_close(z);
    vmci_close(one);
}

static void backlog_client(void *arg)
{
    struct backlog *s = arg;
    su_wait(&s->listening, 1);
    ck_assert_int_eq(su_connect(VMADDR_CID_HOST, TEST_PORT), -ECONNRESET);
    int first = su_connect(VMADDR_CID_HOST, TEST_PORT + 1);
    ck_assert_int_ge(first, 0); /* fills the backlog of 1 (not accepted) */
    ck_assert_int_eq(su_connect(VMADDR_CID_HOST, TEST_PORT + 1), -ECONNRESET);
    su_set(&s->done, 1);
    vmci_close(first);
}

START_TEST(listen_backlog_zero_and_full_refuse_with_econnreset)
{
    FOR_SEEDS(seed)
    {
        struct backlog s = {0};
        su_run2(seed, 0, 1, backlog_server, backlog_client, &s);
    }
}
END_TEST

/* ---- §2.5 connect() ------------------------------------------------------------------------------ */

struct conn {
    int listening, done;
    int saw_einprogress;
};

static void conn_server(void *arg)
{
    struct conn *s = arg;
    int l = su_listen(TEST_PORT, 5);
    su_set(&s->listening, 1);
    int a = su_accept(l);
    su_wait(&s->done, 1);
    vmci_close(a);
    vmci_close(l);
}

static void conn_client(void *arg)
{
    struct conn *s = arg;
    su_wait(&s->listening, 1);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    /* cid 1 is refused by VMCI */
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm one = su_addr(VMADDR_CID_LOCAL, TEST_PORT);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&one, sizeof one), ENETUNREACH);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, 3), EINVAL);
    EXPECT_ERR(vmci_connect(fd, NULL, sizeof h), EFAULT);
    /* non-blocking connect: EINPROGRESS, EALREADY, then SO_ERROR 0 and writable */
    ck_assert_int_eq(vmci_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EINPROGRESS);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EALREADY);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    ck_assert_int_eq(vmci_poll(&p, 1, 5000), 1);
    ck_assert_int_eq(p.revents & POLLOUT, POLLOUT);
    int err = -1;
    socklen_t len = sizeof err;
    ck_assert_int_eq(vmci_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    ck_assert_int_eq(err, 0);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EISCONN);
    struct sockaddr_vm peer;
    len = sizeof peer;
    ck_assert_int_eq(vmci_getpeername(fd, (struct sockaddr *)&peer, &len), 0);
    ck_assert_uint_eq(peer.svm_cid, VMADDR_CID_HOST);
    ck_assert_uint_eq(peer.svm_port, TEST_PORT);
    /* §2.13 after shutdown: SS_DISCONNECTING */
    ck_assert_int_eq(vmci_shutdown(fd, SHUT_RDWR), 0);
    EXPECT_ERR(vmci_getpeername(fd, (struct sockaddr *)&peer, &len), ENOTCONN);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EINVAL);
    EXPECT_ERR(vmci_listen(fd, 1), EINVAL);
    p.events = POLLIN | POLLOUT;
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 1);
    ck_assert_int_eq(p.revents & POLLHUP, POLLHUP);
    su_set(&s->done, 1);
    vmci_close(fd);
}

START_TEST(connect_errno_rows_and_nonblocking_connect)
{
    FOR_SEEDS(seed)
    {
        struct conn s = {0};
        su_run2(seed, 0, 1, conn_server, conn_client, &s);
    }
}
END_TEST

/* Non-blocking connect to nothing: POLLERR|POLLOUT, SO_ERROR = ECONNRESET. */
static void nb_refused(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EINPROGRESS);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    ck_assert_int_eq(vmci_poll(&p, 1, 5000), 1);
    ck_assert_int_eq(p.revents, POLLERR | POLLOUT);
    int err = 0;
    socklen_t len = sizeof err;
    ck_assert_int_eq(vmci_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    ck_assert_int_eq(err, ECONNRESET);
    ck_assert_int_eq(vmci_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    ck_assert_int_eq(err, 0); /* read and cleared */
    vmci_close(fd);
}

START_TEST(connect_nonblocking_refused_sets_so_error)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, nb_refused, NULL);
}
END_TEST

/* §2.5 + §5.4: a REQUEST from a restricted VM to an untrusted socket is dropped; the client
 * times out after SO_VMCI_CONNECT_TIMEOUT (default 2 s) of simulated time. */
struct restricted {
    int listening, done;
    uint64_t elapsed;
    int err;
};

static void r_server(void *arg)
{
    struct restricted *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    su_wait(&s->done, 1);
    vmci_close(l);
}

static void r_client(void *arg)
{
    struct restricted *s = arg;
    su_wait(&s->listening, 1);
    uint64_t t0 = vmcisim_now(vmcisim_self_world());
    s->err = su_connect(VMADDR_CID_HOST, TEST_PORT);
    s->elapsed = vmcisim_now(vmcisim_self_world()) - t0;
    su_set(&s->done, 1);
}

START_TEST(connect_times_out_when_restricted_vm_meets_untrusted_listener)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create_ex(sim, "restricted", GUEST_CID, VMCISIM_VM_RESTRICTED);
        struct restricted s = {0};
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", r_server, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(g, "client", r_client, &s), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        ck_assert_int_eq(s.err, -ETIMEDOUT);
        ck_assert_uint_eq(s.elapsed, 2000000000ull);
        vmcisim_destroy(sim);
    }
}
END_TEST

static void r_server_root(void *arg) { r_server(arg); }

START_TEST(connect_from_restricted_vm_to_trusted_listener_works)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create_ex(sim, "restricted", GUEST_CID, VMCISIM_VM_RESTRICTED);
        struct restricted s = {0};
        ck_assert_int_eq(vmcisim_spawn_root(vmcisim_host(sim), "server", r_server_root, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(g, "client", r_client, &s), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        ck_assert_int_ge(s.err, 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* SO_VMCI_CONNECT_TIMEOUT: set, read back, range errors, 0 means the default. */
static void timeout_opt(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct timeval tv;
    socklen_t len = sizeof tv;
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, &len), 0);
    ck_assert_int_eq(tv.tv_sec, 2);
    ck_assert_int_eq(tv.tv_usec, 0);
    tv.tv_sec = 0;
    tv.tv_usec = 250000;
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, &len), 0);
    ck_assert_int_eq(tv.tv_usec, 250000);
    tv.tv_sec = -1;
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv), ERANGE);
    tv.tv_sec = 0;
    tv.tv_usec = 1000000;
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv), ERANGE);
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, 4), EINVAL);
    tv.tv_usec = 0;
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, &len), 0);
    ck_assert_int_eq(tv.tv_sec, 2); /* 0 means the default */
    vmci_close(fd);
}

START_TEST(connect_timeout_option)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, timeout_opt, NULL);
}
END_TEST

/* ---- §1.5 buffer options: clamping, errors, inheritance, negotiation -------------------------- */

static void buffer_opts(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t v;
    socklen_t len = sizeof v;
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 262144);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MIN_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 128);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MAX_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 262144);
    v = 1 << 20; /* above max: clamped */
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, sizeof v), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 262144);
    v = 16; /* below min: clamped */
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, sizeof v), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 128);
    v = 4096; /* raising the min re-clamps the size */
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MIN_SIZE, &v, sizeof v), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), 0);
    ck_assert_uint_eq(v, 4096);
    uint32_t small = 1;
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &small, sizeof small), EINVAL);
    len = 4;
    EXPECT_ERR(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), EINVAL);
    int i = 1;
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_TRUSTED, &i, sizeof i), ENOPROTOOPT);
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, 99, &i, sizeof i), ENOPROTOOPT);
    EXPECT_ERR(vmci_setsockopt(fd, 1234, 0, &i, sizeof i), ENOPROTOOPT);
    EXPECT_ERR(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, (void *)(uintptr_t)8, 8), EFAULT);
    len = sizeof v;
    EXPECT_ERR(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, NULL), EFAULT);
    /* SO_RCVLOWAT above the buffer size is refused */
    i = 8192;
    EXPECT_ERR(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &i, sizeof i), EINVAL);
    vmci_close(fd);
    /* datagram sockets have no vsock-level options (§1.5) */
    int d = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    v = 4096;
    EXPECT_ERR(vmci_setsockopt(d, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, sizeof v), EOPNOTSUPP);
    len = sizeof v;
    EXPECT_ERR(vmci_getsockopt(d, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, &len), EOPNOTSUPP);
    vmci_close(d);
}

START_TEST(buffer_size_options_clamp_and_errors)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, buffer_opts, NULL);
}
END_TEST

struct inherit {
    int listening, done;
    uint64_t child_size, child_min, child_max;
    uint64_t negotiated_client;
};

static void inherit_server(void *arg)
{
    struct inherit *s = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t max = 65536, size = 32768, min = 1024;
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_MAX_SIZE, &max, sizeof max), 0);
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_MIN_SIZE, &min, sizeof min), 0);
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &size, sizeof size), 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    socklen_t len = sizeof size;
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &s->child_size, &len), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MIN_SIZE, &s->child_min, &len), 0);
    ck_assert_int_eq(vmci_getsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MAX_SIZE, &s->child_max, &len), 0);
    su_wait(&s->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void inherit_client(void *arg)
{
    struct inherit *s = arg;
    su_wait(&s->listening, 1);
    /* the client proposes 262144 (outside the listener's max): the listener answers with its
     * own size 32768, which is inside the client's [128, 262144] */
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    /* the negotiated queue holds size - 1 bytes: WAITALL of 32768 is ENOMEM, 32767 is not */
    char c;
    EXPECT_ERR(vmci_recv(fd, &c, 32768, MSG_WAITALL), ENOMEM);
    EXPECT_ERR(vmci_recv(fd, &c, 32767, MSG_WAITALL | MSG_DONTWAIT), EAGAIN);
    su_set(&s->done, 1);
    vmci_close(fd);
}

START_TEST(buffer_sizes_inherited_by_accepted_sockets_and_negotiated)
{
    FOR_SEEDS(seed)
    {
        struct inherit s = {0};
        su_run2(seed, 0, 1, inherit_server, inherit_client, &s);
        ck_assert_uint_eq(s.child_size, 32768);
        ck_assert_uint_eq(s.child_min, 1024);
        ck_assert_uint_eq(s.child_max, 65536);
    }
}
END_TEST

/* The counter-proposal outside the client's [min, max] fails the connect with EINVAL (§8.9). */
struct negfail {
    int listening, done;
};

static void negfail_server(void *arg)
{
    struct negfail *s = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t max = 4096, size = 4096;
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_MAX_SIZE, &max, sizeof max), 0);
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &size, sizeof size), 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&s->listening, 1);
    su_wait(&s->done, 1);
    vmci_close(l);
}

static void negfail_client(void *arg)
{
    struct negfail *s = arg;
    su_wait(&s->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t min = 8192;
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MIN_SIZE, &min, sizeof min), 0);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    EXPECT_ERR(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), EINVAL);
    su_set(&s->done, 1);
    vmci_close(fd);
}

START_TEST(negotiated_size_outside_client_range_is_einval)
{
    FOR_SEEDS(seed)
    {
        struct negfail s = {0};
        su_run2(seed, 0, 1, negfail_server, negfail_client, &s);
    }
}
END_TEST

/* ---- §2.7 send / §2.8 recv on unconnected and connected sockets --------------------------------- */

static void data_rows_unconnected(void *arg)
{
    (void)arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    char c = 0;
    EXPECT_ERR(vmci_send(fd, &c, 1, 0), ENOTCONN);
    EXPECT_ERR(vmci_send(fd, &c, 1, MSG_OOB), EOPNOTSUPP);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, 1);
    EXPECT_ERR(vmci_sendto(fd, &c, 1, 0, (struct sockaddr *)&h, sizeof h), EOPNOTSUPP);
    EXPECT_ERR(vmci_recv(fd, &c, 1, 0), ENOTCONN);
    EXPECT_ERR(vmci_shutdown(fd, SHUT_RDWR), ENOTCONN);
    EXPECT_ERR(vmci_shutdown(fd, 7), EINVAL);
    EXPECT_ERR(vmci_ioctl(fd, 0x1234, &c), ENOTTY);
    /* EBADF everywhere */
    int bad = (1 << 26) + 999;
    EXPECT_ERR(vmci_send(bad, &c, 1, 0), EBADF);
    EXPECT_ERR(vmci_recv(bad, &c, 1, 0), EBADF);
    EXPECT_ERR(vmci_listen(bad, 1), EBADF);
    EXPECT_ERR(vmci_accept(bad, NULL, NULL), EBADF);
    EXPECT_ERR(vmci_shutdown(bad, SHUT_RD), EBADF);
    EXPECT_ERR(vmci_getsockname(bad, NULL, NULL), EBADF);
    EXPECT_ERR(vmci_fcntl(bad, F_GETFL), EBADF);
    struct pollfd p = {.fd = bad, .events = POLLIN};
    ck_assert_int_eq(vmci_poll(&p, 1, 0), 1);
    ck_assert_int_eq(p.revents, POLLNVAL);
    /* EFAULT for names, lengths and poll arrays */
    EXPECT_ERR(vmci_getsockname(fd, (struct sockaddr *)&h, NULL), EFAULT);
    socklen_t len = sizeof h;
    EXPECT_ERR(vmci_getsockname(fd, (struct sockaddr *)(uintptr_t)8, &len), EFAULT);
    EXPECT_ERR(vmci_poll((struct pollfd *)(uintptr_t)8, 1, 0), EFAULT);
    vmci_close(fd);
}

START_TEST(send_recv_shutdown_errno_rows_unconnected)
{
    FOR_SEEDS(seed) run1(seed, 0, 0, data_rows_unconnected, NULL);
}
END_TEST

struct data {
    int listening, phase;
};

static void data_server(void *arg)
{
    struct data *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    su_wait(&s->phase, 1);
    ck_assert_int_eq(vmci_send(fd, "abcdef", 6, 0), 6);
    su_set(&s->phase, 2);
    su_wait(&s->phase, 3);
    vmci_close(fd);
    vmci_close(l);
}

static void data_client(void *arg)
{
    struct data *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    char buf[16];
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    EXPECT_ERR(vmci_sendto(fd, buf, 1, 0, (struct sockaddr *)&h, sizeof h), EISCONN);
    EXPECT_ERR(vmci_recv(fd, buf, 1, MSG_OOB), EOPNOTSUPP);
    EXPECT_ERR(vmci_recv(fd, buf, 1, MSG_DONTWAIT), EAGAIN);
    ck_assert_int_eq(vmci_recv(fd, buf, 0, 0), 0);
    /* SO_RCVTIMEO: EAGAIN after exactly the timeout */
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    uint64_t t0 = vmcisim_now(vmcisim_self_world());
    EXPECT_ERR(vmci_recv(fd, buf, 1, 0), EAGAIN);
    ck_assert_uint_eq(vmcisim_now(vmcisim_self_world()) - t0, 300000000ull);
    su_set(&s->phase, 1);
    su_wait(&s->phase, 2);
    /* MSG_WAITALL: all 6 bytes in one call; read() works like recv */
    ck_assert_int_eq(vmci_recv(fd, buf, 4, MSG_WAITALL), 4);
    ck_assert_int_eq(memcmp(buf, "abcd", 4), 0);
    ck_assert_int_eq(vmci_read(fd, buf, sizeof buf), 2);
    ck_assert_int_eq(memcmp(buf, "ef", 2), 0);
    /* EFAULT on a bad send buffer, nothing sent */
    EXPECT_ERR(vmci_send(fd, (void *)(uintptr_t)64, 10, 0), EFAULT);
    /* local SHUT_RD: reads return 0 at once */
    ck_assert_int_eq(vmci_shutdown(fd, SHUT_RD), 0);
    ck_assert_int_eq(vmci_recv(fd, buf, 1, 0), 0);
    su_set(&s->phase, 3);
    vmci_close(fd);
}

START_TEST(send_recv_errno_rows_connected)
{
    FOR_SEEDS(seed)
    {
        struct data s = {0};
        su_run2(seed, 0, 1, data_server, data_client, &s);
    }
}
END_TEST

/* ---- isolation and loopback -------------------------------------------------------------------- */

static void vm_to_vm(void *arg)
{
    (void)arg;
    /* §5.5: guest-to-guest is refused (DST_UNREACHABLE -> EINVAL) */
    ck_assert_int_eq(su_connect(4, TEST_PORT), -EINVAL);
}

static void vm4_listener(void *arg)
{
    int *done = arg;
    int l = su_listen(TEST_PORT, 1);
    su_wait(done, 1);
    vmci_close(l);
}

static void vm_to_vm_then_done(void *arg)
{
    vm_to_vm(NULL);
    su_set(arg, 1);
}

START_TEST(guest_to_guest_connect_is_refused)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g3 = vmcisim_vm_create(sim, "g3", 3);
        vmcisim_vm *g4 = vmcisim_vm_create(sim, "g4", 4);
        int done = 0;
        ck_assert_int_eq(vmcisim_spawn(g4, "listener", vm4_listener, &done), 0);
        ck_assert_int_eq(vmcisim_spawn(g3, "client", vm_to_vm_then_done, &done), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

struct loop {
    int listening, done;
};

static void loop_server(void *arg)
{
    struct loop *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    char buf[5];
    su_recv_exact(fd, buf, 5);
    ck_assert_int_eq(memcmp(buf, "local", 5), 0);
    su_send_all(fd, "reply", 5);
    su_wait(&s->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void loop_client(void *arg)
{
    struct loop *s = arg;
    su_wait(&s->listening, 1);
    /* a guest connecting to its own CID: a LOCAL queue pair that never leaves the guest */
    int fd = su_connect(GUEST_CID, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_send_all(fd, "local", 5);
    char buf[5];
    su_recv_exact(fd, buf, 5);
    ck_assert_int_eq(memcmp(buf, "reply", 5), 0);
    su_set(&s->done, 1);
    vmci_close(fd);
}

START_TEST(guest_loopback_through_local_queue_pair)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
        struct loop s = {0};
        ck_assert_int_eq(vmcisim_spawn(g, "server", loop_server, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(g, "client", loop_client, &s), 0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* getsockname: a listener bound to CID_ANY shows ANY until a control packet arrives; the
 * accepted child and the connected client show the real CIDs (§2.2 local CID refresh). */
struct names {
    int listening, done;
    struct sockaddr_vm before, after, child_local, client_local;
};

static void names_server(void *arg)
{
    struct names *s = arg;
    int l = su_listen(TEST_PORT, 1);
    socklen_t len = sizeof s->before;
    ck_assert_int_eq(vmci_getsockname(l, (struct sockaddr *)&s->before, &len), 0);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    ck_assert_int_eq(vmci_getsockname(l, (struct sockaddr *)&s->after, &len), 0);
    ck_assert_int_eq(vmci_getsockname(fd, (struct sockaddr *)&s->child_local, &len), 0);
    su_wait(&s->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void names_client(void *arg)
{
    struct names *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    socklen_t len = sizeof s->client_local;
    ck_assert_int_eq(vmci_getsockname(fd, (struct sockaddr *)&s->client_local, &len), 0);
    su_set(&s->done, 1);
    vmci_close(fd);
}

START_TEST(getsockname_local_cid_refresh)
{
    FOR_SEEDS(seed)
    {
        struct names s = {0};
        su_run2(seed, 0, 1, names_server, names_client, &s);
        ck_assert_uint_eq(s.before.svm_cid, VMADDR_CID_ANY);
        ck_assert_uint_eq(s.after.svm_cid, VMADDR_CID_HOST);
        ck_assert_uint_eq(s.child_local.svm_cid, VMADDR_CID_HOST);
        ck_assert_uint_eq(s.child_local.svm_port, TEST_PORT);
        ck_assert_uint_eq(s.client_local.svm_cid, GUEST_CID);
        ck_assert_uint_gt(s.client_local.svm_port, 1023);
    }
}
END_TEST

/* A host endpoint loses unread data when the VM side goes away (§2.8, §8.2). */
struct hostloss {
    int listening, sent_and_closed, done;
};

static void hostloss_server(void *arg)
{
    struct hostloss *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    su_wait(&s->sent_and_closed, 1);
    char c;
    ck_assert_int_eq(vmci_recv(fd, &c, 1, 0), 0); /* the 'A' is gone with the guest's memory */
    vmci_close(fd);
    vmci_close(l);
}

static void hostloss_client(void *arg)
{
    struct hostloss *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_eq(vmci_send(fd, "A", 1, 0), 1);
    vmci_close(fd);
    su_set(&s->sent_and_closed, 1);
}

START_TEST(host_endpoint_loses_unread_data_when_vm_side_closes)
{
    FOR_SEEDS(seed)
    {
        struct hostloss s = {0};
        su_run2(seed, 0, 1, hostloss_server, hostloss_client, &s);
    }
}
END_TEST

/* ---- threads the simulator did not spawn; pass-through ---------------------------------------- */

struct outsider {
    int fd; /* a simulated process's socket */
    int res[4];
};

static void *outsider(void *arg)
{
    struct outsider *o = arg;
    errno = 0;
    o->res[0] = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    o->res[1] = errno;
    errno = 0;
    o->res[2] = vmci_close(o->fd);
    o->res[3] = errno;
    return NULL;
}

/* A real thread (not a simulated one, whatever pthread_create does inside the simulation)
 * tries the simulated process's descriptor while the process still holds it. */
static void outsider_owner(void *arg)
{
    struct outsider *o = arg;
    o->fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(o->fd, 0);
    pthread_t t;
    ck_assert_int_eq(REAL(pthread_create)(&t, NULL, outsider, o), 0);
    ck_assert_int_eq(REAL(pthread_join)(t, NULL), 0);
    ck_assert_int_eq(vmci_close(o->fd), 0); /* the failed close left it open */
}

START_TEST(calls_from_a_foreign_thread_are_eperm)
{
    struct outsider o = {0};
    vmcisim *sim = tu_world(1);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "owner", outsider_owner, &o), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_int_eq(o.res[0], -1);
    ck_assert_int_eq(o.res[1], EPERM);
    ck_assert_int_eq(o.res[2], -1);
    ck_assert_int_eq(o.res[3], EPERM);
    ck_assert_uint_eq(VMCISock_GetLocalCID(), VMADDR_CID_ANY);
}
END_TEST

static void pass_through(void *arg)
{
    (void)arg;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(vmci_write(p[1], "hi", 2), 2);
    char buf[2];
    ck_assert_int_eq(vmci_read(p[0], buf, 2), 2);
    ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
    struct pollfd pf = {.fd = p[1], .events = POLLOUT};
    ck_assert_int_eq(vmci_poll(&pf, 1, 0), 1);
    ck_assert_int_eq(vmci_close(p[0]), 0);
    ck_assert_int_eq(vmci_close(p[1]), 0);
    int u = vmci_socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(u, 0);
    ck_assert_int_lt(u, 1 << 26);
    ck_assert_int_eq(vmci_close(u), 0);
}

START_TEST(non_vmci_descriptors_pass_through_to_libc)
{
    run1(1, 0, 0, pass_through, NULL);
}
END_TEST

/* §2.7: where Linux raises SIGPIPE the process gets it (here its handler runs once) and the
 * call returns EPIPE; with MSG_NOSIGNAL only EPIPE. The trace records the one signal. */
static int sigpipe_handled;
static void on_sigpipe(int sig) { __atomic_add_fetch(&sigpipe_handled, sig == SIGPIPE, __ATOMIC_SEQ_CST); }

static void sigpipe_client(void *arg)
{
    struct data *s = arg;
    signal(SIGPIPE, on_sigpipe);
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_eq(vmci_shutdown(fd, SHUT_WR), 0);
    EXPECT_ERR(vmci_send(fd, "a", 1, 0), EPIPE);          /* one sigpipe, handled */
    EXPECT_ERR(vmci_send(fd, "a", 1, MSG_NOSIGNAL), EPIPE); /* none */
    su_set(&s->phase, 3);
    vmci_close(fd);
}

static void sigpipe_server(void *arg)
{
    struct data *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    su_wait(&s->phase, 3);
    vmci_close(fd);
    vmci_close(l);
}

START_TEST(epipe_raises_sigpipe_unless_msg_nosignal)
{
    char path[] = "/tmp/vmcisim-sigpipe-XXXXXX";
    int tfd = mkstemp(path);
    ck_assert_int_ge(tfd, 0);
    close(tfd);
    struct vmcisim_config cfg = {.seed = 3, .trace_path = path};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    struct data s = {0};
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", sigpipe_server, &s), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "client", sigpipe_client, &s), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    vmcisim_destroy(sim);
    ck_assert_int_eq(su_trace_count(path, "sigpipe sock="), 1);
    ck_assert_int_eq(su_trace_count(path, "signal pid=2 sig=SIGPIPE action=handler"), 1);
    ck_assert_int_eq(sigpipe_handled, 1);
    unlink(path);
}
END_TEST

/* §3.5: a child that got REQUEST but never OFFER is dropped after 1 s. With 10 ms of hypervisor
 * latency the guest is suspended while NEGOTIATE is on its way: it waits in the guest's device,
 * the host's child stays pending and is dropped; the OFFER sent after the resume meets no child
 * and is answered with RST. */
struct pend {
    vmcisim_vm *guest;
    int listening;
    int backlog_before, accepted_after;
};

static void pend_server(void *arg)
{
    struct pend *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    vmcisim_sleep(15000000); /* REQUEST arrived at 10 ms, NEGOTIATE lands at 20 ms */
    ck_assert_int_eq(vmcisim_vm_suspend(s->guest), 0);
    vmcisim_sleep(1500000000ull); /* past the 1 s pending timeout */
    ck_assert_int_eq(vmcisim_vm_resume(s->guest), 0);
    /* the guest's OFFER finds no pending child: RST, and its connect fails */
    vmcisim_sleep(100000000ull);
    vmci_close(l);
}

static void pend_client(void *arg)
{
    struct pend *s = arg;
    su_wait(&s->listening, 1);
    ck_assert_int_eq(su_connect(VMADDR_CID_HOST, TEST_PORT), -ECONNRESET);
}

START_TEST(pending_child_dropped_after_one_second)
{
    char path[] = "/tmp/vmcisim-pending-XXXXXX";
    int tfd = mkstemp(path);
    ck_assert_int_ge(tfd, 0);
    close(tfd);
    struct vmcisim_config cfg = {.seed = 1, .trace_path = path};
    vmcisim *sim = vmcisim_create(&cfg);
    struct pend s = {0};
    s.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    struct vmcisim_faults f = {.hv_latency_ns = 10000000};
    ck_assert_int_eq(vmcisim_set_faults(sim, &f), 0);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", pend_server, &s), 0);
    ck_assert_int_eq(vmcisim_spawn(s.guest, "client", pend_client, &s), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_int_eq(su_trace_count(path, "pending-timeout sock="), 1);
    unlink(path);
}
END_TEST

/* §4.3: the broker refuses LOCAL pairs from a Linux host, so a host-to-host stream fails with
 * EINVAL; §2.1: VMCI has no SOCK_SEQPACKET (the socket exists, connect refuses with
 * ESOCKTNOSUPPORT; listen is af_vsock's own and, unbound, is EINVAL; test_fds.c goes call by
 * call). */
static void host_loop_server(void *arg)
{
    int *st = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(st, 1);
    su_wait(st, 2);
    vmci_close(l);
}

static void host_loop_client(void *arg)
{
    int *st = arg;
    su_wait(st, 1);
    ck_assert_int_eq(su_connect(VMADDR_CID_HOST, TEST_PORT), -EINVAL);
    int sp = vmci_socket(AF_VSOCK, SOCK_SEQPACKET, 0);
    ck_assert_int_ge(sp, 0);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    EXPECT_ERR(vmci_connect(sp, (struct sockaddr *)&h, sizeof h), ESOCKTNOSUPPORT);
    EXPECT_ERR(vmci_listen(sp, 1), EINVAL);
    vmci_close(sp);
    su_set(st, 2);
}

START_TEST(host_to_host_stream_is_einval_and_seqpacket_is_unsupported)
{
    FOR_SEEDS(seed)
    {
        vmcisim *sim = tu_world(seed);
        int st = 0;
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", host_loop_server, &st), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "client", host_loop_client, &st), 0);
        ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
        vmcisim_destroy(sim);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stream semantics");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, socket_errno_rows);
    tcase_add_test(tc, bind_errno_rows_unprivileged);
    tcase_add_test(tc, bind_errno_rows_root_may_bind_privileged_ports);
    tcase_add_test(tc, listen_accept_errno_rows);
    tcase_add_test(tc, listen_backlog_zero_and_full_refuse_with_econnreset);
    tcase_add_test(tc, connect_errno_rows_and_nonblocking_connect);
    tcase_add_test(tc, connect_nonblocking_refused_sets_so_error);
    tcase_add_test(tc, connect_times_out_when_restricted_vm_meets_untrusted_listener);
    tcase_add_test(tc, connect_from_restricted_vm_to_trusted_listener_works);
    tcase_add_test(tc, connect_timeout_option);
    tcase_add_test(tc, buffer_size_options_clamp_and_errors);
    tcase_add_test(tc, buffer_sizes_inherited_by_accepted_sockets_and_negotiated);
    tcase_add_test(tc, negotiated_size_outside_client_range_is_einval);
    tcase_add_test(tc, send_recv_shutdown_errno_rows_unconnected);
    tcase_add_test(tc, send_recv_errno_rows_connected);
    tcase_add_test(tc, guest_to_guest_connect_is_refused);
    tcase_add_test(tc, guest_loopback_through_local_queue_pair);
    tcase_add_test(tc, getsockname_local_cid_refresh);
    tcase_add_test(tc, host_endpoint_loses_unread_data_when_vm_side_closes);
    tcase_add_test(tc, calls_from_a_foreign_thread_are_eperm);
    tcase_add_test(tc, non_vmci_descriptors_pass_through_to_libc);
    tcase_add_test(tc, epipe_raises_sigpipe_unless_msg_nosignal);
    tcase_add_test(tc, pending_child_dropped_after_one_second);
    tcase_add_test(tc, host_to_host_stream_is_einval_and_seqpacket_is_unsupported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
