/*
 * test_fds.c - simulated descriptors are real numbers, and the plain-named calls act on them
 * (issue 11, api-contract "Simulated processes that behave like real ones").
 *
 * Every call here is the plain libc name (socket, dup2, ioctl, ...): libvmcisim defines them.
 * Sources: vmci-semantics.md §; Linux fs/file.c (dup family), fs/fcntl.c, fs/ioctl.c,
 * net/socket.c, net/core/sock.c (SOL_SOCKET), net/vmw_vsock/af_vsock.c (vsock_*).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds_prog.h"
#include "sim/sim.h"
#include "sock/fdtable.h"
#include "sockutil.h"

static int cget(int fd, int name)
{
    int v = -12345;
    socklen_t l = sizeof v;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, name, &v, &l), 0);
    ck_assert_int_eq(l, sizeof v);
    return v;
}

static int cset(int fd, int name, int v)
{
    return setsockopt(fd, SOL_SOCKET, name, &v, sizeof v);
}

/* ---- descriptor numbers -------------------------------------------------------------------- */

/* Contract: real numbers below FD_SETSIZE that the C library hands to nothing else. */
static void numbers_proc(void *arg)
{
    (void)arg;
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    ck_assert_int_lt(s, FD_SETSIZE);
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    ck_assert(FD_ISSET(s, &set));
    int r = open("/dev/null", O_RDONLY); /* the C library's: a number of its own */
    ck_assert_int_ge(r, 0);
    ck_assert_int_ne(r, s);
    ck_assert(!fd_is_vsock_range(r));
    ck_assert(fd_is_vsock_range(s));
    /* SOCK_CLOEXEC / SOCK_NONBLOCK (net/socket.c: the new file's flags) */
    int t = socket(AF_VSOCK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(t, 0);
    ck_assert_int_eq(fcntl(t, F_GETFD), FD_CLOEXEC);
    ck_assert_int_eq(fcntl(t, F_GETFL), O_RDWR | O_NONBLOCK);
    ck_assert_int_eq(fcntl(s, F_GETFD), 0);
    ck_assert_int_eq(fcntl(s, F_GETFL), O_RDWR);
    char b;
    EXPECT_ERR(recv(t, &b, 1, 0), EAGAIN);
    ck_assert_int_eq(close(t), 0);
    ck_assert(!fd_is_vsock_range(t));
    EXPECT_ERR(close(t), EBADF); /* now the C library's, and not open */
    /* read(2) of nothing answers 0 before the socket is asked (sock_read_iter) */
    ck_assert_int_eq(read(s, &b, 0), 0);
    EXPECT_ERR(recv(s, &b, 0, 0), ENOTCONN); /* §2.8: recv asks it */
    /* socket(2) flags: net/socket.c checks them before the family */
    EXPECT_ERR(socket(AF_VSOCK, SOCK_STREAM | 0x100000, 0), EINVAL);
    EXPECT_ERR(socket(AF_VSOCK, 11, 0), EINVAL);
    int sv[2];
    EXPECT_ERR(socketpair(AF_VSOCK, SOCK_STREAM, 0, sv), EOPNOTSUPP); /* sock_no_socketpair */
    EXPECT_ERR(socketpair(AF_VSOCK, SOCK_RAW, 0, sv), ESOCKTNOSUPPORT); /* vsock_create first */
    ck_assert_int_eq(close(r), 0);
    ck_assert_int_eq(close(s), 0);
}

START_TEST(descriptors_are_real_numbers_below_fd_setsize)
{
    vmcisim *sim = tu_world(1);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "numbers", numbers_proc, NULL), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
}
END_TEST

/* ---- dup family (fs/file.c) --------------------------------------------------------------------- */

struct duptest {
    int stage;
    char got[8];
    int eof;
};

static void dup_server(void *arg)
{
    struct duptest *d = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&d->stage, 1);
    int c = su_accept(l);
    su_recv_exact(c, d->got, 2); /* "A" through the original, "B" through the copy */
    su_set(&d->stage, 2);
    su_wait(&d->stage, 3);       /* the client closed the original: the copy still holds it */
    su_recv_exact(c, d->got + 2, 1);
    su_set(&d->stage, 4); /* read before the close: a host peer loses unread data (§2.12) */
    char b;
    d->eof = (int)recv(c, &b, 1, 0); /* the last descriptor closed: end of file (§2.12) */
    close(c);
    close(l);
}

static void dup_client(void *arg)
{
    struct duptest *d = arg;
    su_wait(&d->stage, 1);
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    /* dup2 onto an open real descriptor closes it first, atomically */
    ck_assert_int_eq(dup2(s, p[0]), p[0]);
    ck_assert(fd_is_vsock_range(p[0]));
    EXPECT_ERR(write(p[1], "x", 1), EPIPE); /* the pipe's read end is gone */
    ck_assert_int_eq(fcntl(p[0], F_GETFD), 0); /* dup2 clears close-on-exec */
    ck_assert_int_eq(send(s, "A", 1, 0), 1);
    ck_assert_int_eq(send(p[0], "B", 1, 0), 1);
    /* dup2(fd, fd) is fd; dup3(fd, fd) is EINVAL; flags other than O_CLOEXEC are EINVAL */
    ck_assert_int_eq(dup2(s, s), s);
    EXPECT_ERR(dup3(s, s, 0), EINVAL);
    EXPECT_ERR(dup3(s, p[0], O_NONBLOCK), EINVAL);
    int c3 = dup3(s, 200, O_CLOEXEC);
    ck_assert_int_eq(c3, 200);
    ck_assert_int_eq(fcntl(c3, F_GETFD), FD_CLOEXEC);
    /* F_DUPFD: the lowest free number at or above the argument */
    int c4 = fcntl(s, F_DUPFD, 150);
    ck_assert_int_ge(c4, 150);
    ck_assert_int_lt(c4, FD_SETSIZE);
    /* the copies share one open file: O_NONBLOCK set through one shows through another */
    ck_assert_int_eq(fcntl(c4, F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(fcntl(s, F_GETFL), O_RDWR | O_NONBLOCK);
    ck_assert_int_eq(fcntl(c4, F_SETFL, 0), 0);
    /* dup2 onto another simulated descriptor: that one is closed, its number now the file's */
    int other = socket(AF_VSOCK, SOCK_DGRAM, 0);
    ck_assert_int_eq(dup2(s, other), other);
    int type = cget(other, SO_TYPE);
    ck_assert_int_eq(type, SOCK_STREAM);
    /* dup2 of a real descriptor onto a simulated one puts the real file there */
    int q[2];
    ck_assert_int_eq(pipe(q), 0);
    ck_assert_int_eq(dup2(q[1], other), other);
    ck_assert(!fd_is_vsock_range(other));
    ck_assert_int_eq(write(other, "z", 1), 1);
    char z;
    ck_assert_int_eq(read(q[0], &z, 1), 1);
    ck_assert_int_eq(z, 'z');
    close(other);
    close(q[0]);
    close(q[1]);
    EXPECT_ERR(dup2(9999, 201), EBADF);
    EXPECT_ERR(dup2(p[0], -1), EBADF);
    EXPECT_ERR(dup2(p[0], 70000), EBADF); /* beyond the simulated table's RLIMIT stand-in */
    su_wait(&d->stage, 2);
    ck_assert_int_eq(close(s), 0);
    ck_assert_int_eq(close(c3), 0);
    ck_assert_int_eq(close(c4), 0);
    ck_assert_int_eq(send(p[0], "C", 1, 0), 1); /* still connected through the last copy */
    su_set(&d->stage, 3);
    su_wait(&d->stage, 4);
    ck_assert_int_eq(close(p[0]), 0);
    close(p[1]);
}

START_TEST(dup2_shares_the_open_file)
{
    FOR_SEEDS(seed)
    {
        struct duptest d = {0};
        su_run2(seed, 0, 1, dup_server, dup_client, &d);
        ck_assert_int_eq(memcmp(d.got, "ABC", 3), 0);
        ck_assert_int_eq(d.eof, 0);
    }
}
END_TEST

/* ---- /dev/vsock and the local CID ioctl (af_vsock.c vsock_dev_do_ioctl) ------------------------- */

struct cidtest {
    unsigned cid;
};

static void cid_proc(void *arg)
{
    struct cidtest *t = arg;
    int dev = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(dev, 0);
    ck_assert_int_lt(dev, FD_SETSIZE);
    ck_assert_int_eq(fcntl(dev, F_GETFD), FD_CLOEXEC);
    unsigned int cid = 0;
    ck_assert_int_eq(ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid), 0);
    t->cid = cid;
    int n;
    EXPECT_ERR(ioctl(dev, FIONREAD, &n), ENOTTY); /* the misc device knows one request */
    char b;
    EXPECT_ERR(read(dev, &b, 1), EINVAL);          /* and has no read or write */
    EXPECT_ERR(write(dev, "x", 1), EBADF);         /* vfs_write: not opened for writing */
    int rw = open("/dev/vsock", O_RDWR);
    EXPECT_ERR(write(rw, "x", 1), EINVAL);
    ck_assert_int_eq(close(rw), 0);
    EXPECT_ERR(ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, (void *)8), EFAULT);
    EXPECT_ERR(send(dev, "x", 1, 0), ENOTSOCK);
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    EXPECT_ERR(ioctl(s, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid), ENOTTY); /* not a socket ioctl */
    ck_assert_int_eq(ioctl(s, FIONBIO, &(int){1}), 0);
    ck_assert_int_eq(fcntl(s, F_GETFL), O_RDWR | O_NONBLOCK);
    ck_assert_int_eq(ioctl(s, FIOCLEX), 0);
    ck_assert_int_eq(fcntl(s, F_GETFD), FD_CLOEXEC);
    ck_assert_int_eq(close(s), 0);
    ck_assert_int_eq(close(dev), 0);
}

START_TEST(local_cid_ioctl_on_dev_vsock)
{
    vmcisim *sim = tu_world(3);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", 42);
    struct cidtest host = {0}, guest = {0};
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "h", cid_proc, &host), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "g", cid_proc, &guest), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_uint_eq(host.cid, VMADDR_CID_HOST);
    ck_assert_uint_eq(guest.cid, 42);
}
END_TEST

/* ---- generic SOL_SOCKET options (net/core/sock.c sk_setsockopt / sk_getsockopt) ------------------ */

static void solsock_proc(void *arg)
{
    int root = *(int *)arg;
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    int d = socket(AF_VSOCK, SOCK_DGRAM, 0);
    int q = socket(AF_VSOCK, SOCK_SEQPACKET, 0);
    ck_assert_int_eq(cget(s, SO_TYPE), SOCK_STREAM);
    ck_assert_int_eq(cget(d, SO_TYPE), SOCK_DGRAM);
    ck_assert_int_eq(cget(q, SO_TYPE), SOCK_SEQPACKET);
    ck_assert_int_eq(cget(s, SO_DOMAIN), AF_VSOCK);
    ck_assert_int_eq(cget(s, SO_PROTOCOL), 0); /* vsock_create never sets sk_protocol */
    ck_assert_int_eq(cget(s, SO_ERROR), 0);
    ck_assert_int_eq(cget(s, SO_ACCEPTCONN), 0);
    /* buffers: defaults rmem/wmem_default; set: min(val, max) * 2, at least the minimum */
    ck_assert_int_eq(cget(s, SO_RCVBUF), 212992);
    ck_assert_int_eq(cget(s, SO_SNDBUF), 212992);
    ck_assert_int_eq(cset(s, SO_RCVBUF, 4096), 0);
    ck_assert_int_eq(cget(s, SO_RCVBUF), 8192);
    ck_assert_int_eq(cset(s, SO_RCVBUF, 1000), 0);
    ck_assert_int_eq(cget(s, SO_RCVBUF), 2304);
    ck_assert_int_eq(cset(s, SO_RCVBUF, -1), 0); /* min_t(u32, ...): negative is huge */
    ck_assert_int_eq(cget(s, SO_RCVBUF), 425984);
    ck_assert_int_eq(cset(s, SO_SNDBUF, 1000), 0);
    ck_assert_int_eq(cget(s, SO_SNDBUF), 4608);
    ck_assert_int_eq(cset(s, SO_SNDBUF, 300000), 0);
    ck_assert_int_eq(cget(s, SO_SNDBUF), 425984);
    /* flags read back as 0/1 */
    ck_assert_int_eq(cget(s, SO_REUSEADDR), 0);
    ck_assert_int_eq(cset(s, SO_REUSEADDR, 5), 0);
    ck_assert_int_eq(cget(s, SO_REUSEADDR), 1);
    ck_assert_int_eq(cset(s, SO_KEEPALIVE, 1), 0);
    ck_assert_int_eq(cget(s, SO_KEEPALIVE), 1);
    ck_assert_int_eq(cset(s, SO_KEEPALIVE, 0), 0);
    ck_assert_int_eq(cget(s, SO_KEEPALIVE), 0);
    ck_assert_int_eq(cset(s, SO_BROADCAST, 1), 0);
    ck_assert_int_eq(cget(s, SO_BROADCAST), 1);
    ck_assert_int_eq(cget(s, SO_SNDLOWAT), 1);
    ck_assert_int_eq(cget(s, SO_RCVLOWAT), 1);
    /* priority: 0..6 for anyone, more with CAP_NET_ADMIN (a root process) */
    ck_assert_int_eq(cset(s, SO_PRIORITY, 6), 0);
    ck_assert_int_eq(cget(s, SO_PRIORITY), 6);
    if (root) {
        ck_assert_int_eq(cset(s, SO_PRIORITY, 7), 0);
        ck_assert_int_eq(cget(s, SO_PRIORITY), 7);
        ck_assert_int_eq(cset(s, SO_DEBUG, 1), 0);
        ck_assert_int_eq(cget(s, SO_DEBUG), 1);
    } else {
        EXPECT_ERR(cset(s, SO_PRIORITY, 7), EPERM);
        ck_assert_int_eq(cget(s, SO_PRIORITY), 6);
        EXPECT_ERR(cset(s, SO_DEBUG, 1), EACCES);
        EXPECT_ERR(cset(s, SO_MARK, 1), EPERM);
    }
    /* linger: stored and read back (VMCI's close never waits, §2.12) */
    struct linger lg = {1, 5}, out = {0, 0};
    socklen_t ll = sizeof out;
    ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ck_assert_int_eq(getsockopt(s, SOL_SOCKET, SO_LINGER, &out, &ll), 0);
    ck_assert_int_eq(ll, sizeof out);
    ck_assert_int_eq(out.l_onoff, 1);
    ck_assert_int_eq(out.l_linger, 5);
    EXPECT_ERR(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(int)), EINVAL);
    /* read-only and unknown options; short values */
    EXPECT_ERR(cset(s, SO_TYPE, 1), ENOPROTOOPT);
    EXPECT_ERR(cset(s, SO_SNDLOWAT, 1), ENOPROTOOPT);
    EXPECT_ERR(cset(s, 9999, 1), ENOPROTOOPT);
    short sh = 1;
    EXPECT_ERR(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &sh, sizeof sh), EINVAL);
    unsigned char one = 0xAA;
    socklen_t l1 = 1;
    ck_assert_int_eq(getsockopt(d, SOL_SOCKET, SO_TYPE, &one, &l1), 0);
    ck_assert_int_eq(l1, 1);
    ck_assert_int_eq(one, SOCK_DGRAM); /* the first byte of the int (x86-64) */
    int big[4] = {7, 7, 7, 7};
    socklen_t lb = sizeof big;
    ck_assert_int_eq(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &lb), 0);
    ck_assert_int_eq(lb, sizeof(int));
    socklen_t neg = (socklen_t)-1;
    EXPECT_ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &neg), EINVAL);
    /* no peer credentials on vsock: pid 0, uid and gid -1 */
    struct ucred cr;
    socklen_t lc = sizeof cr;
    ck_assert_int_eq(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &lc), 0);
    ck_assert_int_eq(lc, sizeof cr);
    ck_assert_int_eq(cr.pid, 0);
    ck_assert_int_eq((int)cr.uid, -1);
    ck_assert_int_eq((int)cr.gid, -1);
    /* SO_ACCEPTCONN on a listener */
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, 5000);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s, 1), 0);
    ck_assert_int_eq(cget(s, SO_ACCEPTCONN), 1);
    close(s);
    close(d);
    close(q);
}

START_TEST(sol_socket_options_as_linux)
{
    for (int root = 0; root < 2; root++) {
        vmcisim *sim = tu_world(4);
        if (root)
            ck_assert_int_eq(vmcisim_spawn_root(vmcisim_host(sim), "r", solsock_proc, &root), 0);
        else
            ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "u", solsock_proc, &root), 0);
        ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- close while another thread is blocked (fs/file.c: the blocked call holds the file) ---------- */

struct blocked {
    int mode;      /* 0: close, 1: shutdown(SHUT_RD) */
    int stage;
    int fd;
    sim_thread *b;
    sim_proc *bproc;
    ssize_t b_rc;
    int b_errno;
    char b_byte;
    ssize_t b_after;
    int b_after_errno;
    int server_eof;
};

/* The second thread of the client process. Until the process model gives pthread_create, the
 * test makes it with the scheduler's own call, sharing the process's descriptor table. */
static void blocked_reader(void *arg)
{
    struct blocked *t = arg;
    errno = 0;
    t->b_rc = recv(t->fd, &t->b_byte, 1, 0);
    t->b_errno = errno;
    errno = 0;
    t->b_after = recv(t->fd, &t->b_byte + 0, 0, MSG_DONTWAIT);
    t->b_after_errno = errno;
    t->bproc->fdtab = NULL; /* the table is the main thread's to close at its exit */
    su_set(&t->stage, 3);
}

static void blocked_server(void *arg)
{
    struct blocked *t = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&t->stage, 1);
    int c = su_accept(l);
    su_wait(&t->stage, 2); /* the client closed (or shut down) while its reader waits */
    if (t->mode == 0)
        ck_assert_int_eq(send(c, "X", 1, 0), 1);
    su_wait(&t->stage, 3);
    char b;
    t->server_eof = (int)recv(c, &b, 1, 0);
    close(c);
    close(l);
}

static bool thread_blocked(vmcisim *sim, sim_thread *b)
{
    sim_enter(sim);
    bool blocked = b->state == T_BLOCKED;
    sim_leave(sim);
    return blocked;
}

static void blocked_client(void *arg)
{
    struct blocked *t = arg;
    su_wait(&t->stage, 1);
    t->fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(t->fd, 0);
    sim_thread *self = sim_self();
    vmcisim *sim = self->sim;
    sim_enter(sim);
    t->bproc = calloc(1, sizeof *t->bproc);
    *t->bproc = *self->proc; /* same VM, privileges and descriptor table */
    t->b = sim_thread_new(sim, self->vm, t->bproc, "reader", false, blocked_reader, t);
    ck_assert_ptr_nonnull(t->b);
    ck_assert_int_eq(sim_thread_start(t->b), 0);
    sim_leave(sim);
    while (!thread_blocked(sim, t->b))
        vmcisim_sleep(1000000);
    if (t->mode == 0) {
        /* close does not wake the reader; only the number goes */
        ck_assert_int_eq(close(t->fd), 0);
        EXPECT_ERR(send(t->fd, "Y", 1, 0), EBADF);
        vmcisim_sleep(50000000);
        ck_assert(thread_blocked(sim, t->b));
    } else {
        ck_assert_int_eq(shutdown(t->fd, SHUT_RD), 0); /* wakes it: recv returns 0 */
    }
    su_set(&t->stage, 2);
    su_wait(&t->stage, 3);
    if (t->mode == 1)
        close(t->fd);
}

START_TEST(close_during_a_blocked_recv)
{
    for (int mode = 0; mode < 2; mode++) {
        FOR_SEEDS(seed)
        {
            struct blocked t = {.mode = mode};
            su_run2(seed, 0, 1, blocked_server, blocked_client, &t);
            free(t.bproc);
            if (mode == 0) {
                /* the blocked recv got the data sent after the close, then the socket was
                 * released: the descriptor is gone for the next call, the peer reads EOF */
                ck_assert_int_eq(t.b_rc, 1);
                ck_assert_int_eq(t.b_byte, 'X');
                ck_assert_int_eq(t.b_after, -1);
                ck_assert_int_eq(t.b_after_errno, EBADF);
            } else {
                ck_assert_int_eq(t.b_rc, 0); /* §2.11: local RCV shutdown: reads return 0 */
                ck_assert_int_eq(t.b_after, 0);
            }
            ck_assert_int_eq(t.server_eof, 0);
        }
    }
}
END_TEST

/* The same for accept: the guest's listener is closed while its second thread waits in
 * accept; the connection that comes afterwards is still accepted (the blocked call holds the
 * listener), and only then is the listener released. */
struct blocked_accept {
    int stage;
    int lfd;
    sim_proc *bproc;
    sim_thread *b;
    int accepted;
    int accept_errno;
    char byte;
    int connect2_err;
};

static void acceptor(void *arg)
{
    struct blocked_accept *t = arg;
    errno = 0;
    int c = accept(t->lfd, NULL, NULL);
    t->accept_errno = errno;
    t->accepted = c >= 0;
    if (c >= 0) {
        ck_assert_int_eq(recv(c, &t->byte, 1, 0), 1);
        ck_assert_int_eq(close(c), 0);
    }
    t->bproc->fdtab = NULL; /* the table is the main thread's to close at its exit */
    su_set(&t->stage, 3);
}

static void accept_guest(void *arg)
{
    struct blocked_accept *t = arg;
    t->lfd = su_listen(TEST_PORT, 4);
    sim_thread *self = sim_self();
    vmcisim *sim = self->sim;
    sim_enter(sim);
    t->bproc = calloc(1, sizeof *t->bproc);
    *t->bproc = *self->proc;
    t->b = sim_thread_new(sim, self->vm, t->bproc, "acceptor", false, acceptor, t);
    ck_assert_int_eq(sim_thread_start(t->b), 0);
    sim_leave(sim);
    while (!thread_blocked(sim, t->b))
        vmcisim_sleep(1000000);
    ck_assert_int_eq(close(t->lfd), 0);
    vmcisim_sleep(50000000);
    ck_assert(thread_blocked(sim, t->b)); /* close woke nothing */
    su_set(&t->stage, 1);
    su_wait(&t->stage, 3);
}

static void accept_host(void *arg)
{
    struct blocked_accept *t = arg;
    su_wait(&t->stage, 1);
    int fd = su_connect(GUEST_CID, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send(fd, "Q", 1, 0), 1);
    su_wait(&t->stage, 3);
    close(fd);
    /* now the listener is gone: a new connection is refused (§3.4: no socket, reset) */
    t->connect2_err = -su_connect(GUEST_CID, TEST_PORT);
}

START_TEST(close_during_a_blocked_accept)
{
    FOR_SEEDS(seed)
    {
        struct blocked_accept t = {0};
        su_run2(seed, 0, 0, accept_guest, accept_host, &t);
        free(t.bproc);
        ck_assert_int_eq(t.accepted, 1);
        ck_assert_int_eq(t.byte, 'Q');
        ck_assert_int_eq(t.connect2_err, ECONNRESET);
    }
}
END_TEST

/* ---- SOCK_SEQPACKET call by call (af_vsock.c; VMCI has no seqpacket_allow) ------------------------ */

struct seqtest {
    int stage;
    int stream_connect_err;
};

static void seq_host(void *arg)
{
    struct seqtest *t = arg;
    int q = socket(AF_VSOCK, SOCK_SEQPACKET, 0);         /* vsock_create accepts the type */
    ck_assert_int_ge(q, 0);
    char b;
    EXPECT_ERR(send(q, "x", 1, 0), ENOTCONN);           /* connectible sendmsg, not connected */
    EXPECT_ERR(recv(q, &b, 1, 0), ENOTCONN);
    EXPECT_ERR(listen(q, 1), EINVAL);                   /* vsock_listen: not bound */
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(bind(q, (struct sockaddr *)&a, sizeof a), 0); /* __vsock_bind_connectible */
    struct sockaddr_vm got;
    socklen_t gl = sizeof got;
    ck_assert_int_eq(getsockname(q, (struct sockaddr *)&got, &gl), 0);
    ck_assert_uint_eq(got.svm_port, TEST_PORT);
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);          /* one port space with streams */
    EXPECT_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    close(s);
    ck_assert_int_eq(listen(q, 1), 0);                  /* af_vsock's own: no transport asked */
    ck_assert_int_eq(cget(q, SO_ACCEPTCONN), 1);
    ck_assert_int_eq(fcntl(q, F_SETFL, O_NONBLOCK), 0);
    EXPECT_ERR(accept(q, NULL, NULL), EAGAIN);
    struct sockaddr_vm g = su_addr(GUEST_CID, TEST_PORT);
    EXPECT_ERR(connect(q, (struct sockaddr *)&g, sizeof g), EINVAL); /* listening */
    EXPECT_ERR(shutdown(q, SHUT_RDWR), ENOTCONN);
    EXPECT_ERR(getpeername(q, (struct sockaddr *)&got, &gl), ENOTCONN);
    uint64_t bs = 4096;
    ck_assert_int_eq(setsockopt(q, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &bs, sizeof bs), 0);
    su_set(&t->stage, 1);
    su_wait(&t->stage, 2);
    EXPECT_ERR(accept(q, NULL, NULL), EAGAIN);          /* the stream request was reset */
    ck_assert_int_eq(close(q), 0);
}

static void seq_guest(void *arg)
{
    struct seqtest *t = arg;
    su_wait(&t->stage, 1);
    int q = socket(AF_VSOCK, SOCK_SEQPACKET, 0);
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    /* vsock_assign_transport: the VMCI transport has no seqpacket_allow */
    EXPECT_ERR(connect(q, (struct sockaddr *)&h, sizeof h), ESOCKTNOSUPPORT);
    EXPECT_ERR(connect(q, (struct sockaddr *)&h, sizeof h), ESOCKTNOSUPPORT);
    struct sockaddr_vm got;
    socklen_t gl = sizeof got;
    EXPECT_ERR(getpeername(q, (struct sockaddr *)&got, &gl), ENOTCONN);
    ck_assert_int_eq(close(q), 0);
    /* a stream request to the seqpacket listener's port finds no transport for the child:
     * the requester is reset */
    t->stream_connect_err = -su_connect(VMADDR_CID_HOST, TEST_PORT);
    su_set(&t->stage, 2);
}

START_TEST(seqpacket_call_by_call)
{
    FOR_SEEDS(seed)
    {
        struct seqtest t = {0};
        su_run2(seed, 0, 1, seq_host, seq_guest, &t);
        ck_assert_int_eq(t.stream_connect_err, ECONNRESET);
    }
}
END_TEST

/* ---- a program with only the system headers, host <-> guest -------------------------------------- */

struct progrun {
    struct fdsprog_result srv, cli;
    int srv_rc, cli_rc;
};

static void prog_server(void *arg)
{
    struct progrun *p = arg;
    p->srv_rc = fdsprog_server(4321, &p->srv);
}

static void prog_client(void *arg)
{
    struct progrun *p = arg;
    while (!__atomic_load_n(&p->srv.ready, __ATOMIC_ACQUIRE))
        vmcisim_sleep(1000000);
    p->cli_rc = fdsprog_client(4321, "hello over vsock", &p->cli);
}

static uint64_t prog_run(uint64_t seed, int realtime, struct progrun *p)
{
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", prog_server, p), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "client", prog_client, p), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    uint64_t h = vmcisim_trace_hash(sim);
    vmcisim_destroy(sim);
    ck_assert_int_eq(p->srv_rc, 0);
    ck_assert_int_eq(p->cli_rc, 0);
    ck_assert_str_eq(p->cli.echo, "hello over vsock");
    ck_assert_uint_eq(p->srv.bytes, strlen("hello over vsock"));
    ck_assert_uint_eq(p->srv.peer_cid, GUEST_CID);
    ck_assert_uint_eq(p->cli.local_cid, GUEST_CID);
    ck_assert_int_eq(p->cli.fd_isset, 1);
    ck_assert_int_lt(p->cli.fd_client, FD_SETSIZE);
    ck_assert_int_lt(p->srv.fd_listen, FD_SETSIZE);
    return h;
}

START_TEST(system_header_program_host_guest_deterministic)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct progrun a = {0}, b = {0};
        uint64_t h1 = prog_run(seed, 0, &a);
        uint64_t h2 = prog_run(seed, 0, &b);
        ck_assert_msg(h1 == h2, "seed %llu: trace hashes differ", (unsigned long long)seed);
    }
}
END_TEST

START_TEST(system_header_program_host_guest_realtime)
{
    struct progrun a = {0};
    prog_run(1, 1, &a);
}
END_TEST

/* The system header and ours agree (api-contract: programs compile against the system's). */
START_TEST(system_header_abi_matches)
{
    struct fdsprog_abi a;
    fdsprog_abi(&a);
    ck_assert_uint_eq(a.size, sizeof(struct sockaddr_vm));
    ck_assert_uint_eq(a.off_family, offsetof(struct sockaddr_vm, svm_family));
    ck_assert_uint_eq(a.off_port, offsetof(struct sockaddr_vm, svm_port));
    ck_assert_uint_eq(a.off_cid, offsetof(struct sockaddr_vm, svm_cid));
    ck_assert_uint_eq(a.off_flags, offsetof(struct sockaddr_vm, svm_flags));
    ck_assert_int_eq(a.af, VMCISock_GetAFValue());
    ck_assert_int_eq(a.opt_buffer_size, SO_VM_SOCKETS_BUFFER_SIZE);
    ck_assert_int_eq(a.opt_buffer_min, SO_VM_SOCKETS_BUFFER_MIN_SIZE);
    ck_assert_int_eq(a.opt_buffer_max, SO_VM_SOCKETS_BUFFER_MAX_SIZE);
    ck_assert_int_eq(a.opt_peer_host_vm_id, SO_VM_SOCKETS_PEER_HOST_VM_ID);
    ck_assert_int_eq(a.opt_trusted, SO_VM_SOCKETS_TRUSTED);
    ck_assert_int_eq(a.opt_connect_timeout, SO_VM_SOCKETS_CONNECT_TIMEOUT);
    ck_assert_int_eq(a.opt_nonblock_txrx, SO_VM_SOCKETS_NONBLOCK_TXRX);
    ck_assert_uint_eq(a.ioctl_get_local_cid, IOCTL_VM_SOCKETS_GET_LOCAL_CID);
    ck_assert_uint_eq(a.cid_any, VMADDR_CID_ANY);
    ck_assert_uint_eq(a.cid_host, VMADDR_CID_HOST);
}
END_TEST

/* ---- /dev/urandom in deterministic mode: the world's stream ---------------------------------------- */

struct urnd {
    unsigned char b[16];
};

static void urandom_proc(void *arg)
{
    struct urnd *u = arg;
    int fd = open("/dev/urandom", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert(fd_is_vsock_range(fd));
    ck_assert_int_eq(read(fd, u->b, sizeof u->b), (ssize_t)sizeof u->b);
    void *volatile bad = (void *)8; /* unmapped: the copy faults */
    EXPECT_ERR(read(fd, bad, 4), EFAULT);
    ck_assert_int_eq(close(fd), 0);
    int w = open("/dev/urandom", O_WRONLY);
    char c;
    EXPECT_ERR(read(w, &c, 1), EBADF);
    ck_assert_int_eq(write(w, "abc", 3), 3);
    close(w);
}

static void urandom_run(uint64_t seed, struct urnd *u)
{
    vmcisim *sim = tu_world(seed);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "u", urandom_proc, u), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
}

START_TEST(dev_urandom_draws_from_the_seed)
{
    struct urnd a, b, c;
    urandom_run(7, &a);
    urandom_run(7, &b);
    urandom_run(8, &c);
    ck_assert_int_eq(memcmp(a.b, b.b, sizeof a.b), 0);
    ck_assert_int_ne(memcmp(a.b, c.b, sizeof a.b), 0);
}
END_TEST

/* ---- outside the simulation -------------------------------------------------------------------------- */

/* Contract: plain calls from threads outside the simulation reach the C library unchanged. */
START_TEST(outside_threads_reach_the_c_library)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "ok", 2), 2);
    char b[2];
    ck_assert_int_eq(read(p[0], b, 2), 2);
    int d = dup(p[0]);
    ck_assert_int_ge(d, 0);
    ck_assert_int_eq(close(d), 0);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(u, 0);
    ck_assert_int_eq(cget(u, SO_TYPE), SOCK_STREAM);
    close(u);
    close(p[0]);
    close(p[1]);
}
END_TEST

int main(void)
{
    /* a write to a pipe whose read end dup2 replaced must fail with EPIPE, not end the test */
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("fds");
    TCase *det = tcase_create("deterministic");
    tcase_set_timeout(det, 600);
    tcase_add_test(det, descriptors_are_real_numbers_below_fd_setsize);
    tcase_add_test(det, dup2_shares_the_open_file);
    tcase_add_test(det, local_cid_ioctl_on_dev_vsock);
    tcase_add_test(det, sol_socket_options_as_linux);
    tcase_add_test(det, close_during_a_blocked_recv);
    tcase_add_test(det, close_during_a_blocked_accept);
    tcase_add_test(det, seqpacket_call_by_call);
    tcase_add_test(det, system_header_abi_matches);
    tcase_add_test(det, system_header_program_host_guest_deterministic);
    tcase_add_test(det, dev_urandom_draws_from_the_seed);
    tcase_add_test(det, outside_threads_reach_the_c_library);
    suite_add_tcase(s, det);
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, system_header_program_host_guest_realtime);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
