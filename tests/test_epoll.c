#define _GNU_SOURCE
/*
 * test_epoll.c - the plain-named epoll family on simulated sockets (issue 11): level- and
 * edge-triggered echo servers with 16 connections, EPOLLRDHUP on a half-close, EPOLLONESHOT
 * re-arming, epoll_ctl's errors as Linux gives them, and timeouts on the simulated clock.
 *
 * Readiness masks are Linux's vsock_poll (net/vmw_vsock/af_vsock.c; vmci-semantics.md §2.14);
 * epoll's rules are Linux's fs/eventpoll.c (epoll_ctl(2), epoll(7)).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockutil.h"

#define NCONN 16
#define MSG_LEN 100

static void idle_fn(void *arg) { (void)arg; }

/* ---- echo servers with 16 connections (epoll(7): level- and edge-triggered) ------------------ */

struct echo {
    int et;              /* 1: EPOLLET server */
    int listening;
    int accepted, eofs;  /* server's counts */
    long echoed;
    int clients_ok;
};

static void fill(unsigned char *b, int id)
{
    for (int i = 0; i < MSG_LEN; i++)
        b[i] = (unsigned char)(id * 31 + i);
}

static void set_nonblock(int fd)
{
    int fl = vmci_fcntl(fd, F_GETFL, 0);
    ck_assert_int_ge(fl, 0);
    ck_assert_int_eq(vmci_fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void echo_server(void *arg)
{
    struct echo *s = arg;
    int l = su_listen(TEST_PORT, NCONN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(ep, 0);
    struct epoll_event ev = {.events = EPOLLIN | (s->et ? EPOLLET : 0), .data.fd = l};
    if (s->et)
        set_nonblock(l);
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
    su_set(&s->listening, 1);
    while (s->eofs < NCONN) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, -1);
        ck_assert_int_ge(n, 1);
        for (int i = 0; i < n; i++) {
            int fd = out[i].data.fd;
            if (fd == l) {
                ck_assert_uint_eq(out[i].events, EPOLLIN);
                /* ET: take every queued connection, the edge comes only once */
                for (;;) {
                    int c = vmci_accept(l, NULL, NULL);
                    if (c < 0) {
                        ck_assert_int_eq(errno, EAGAIN);
                        break;
                    }
                    s->accepted++;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP |
                                                        (s->et ? EPOLLET : 0),
                                              .data.fd = c};
                    if (s->et)
                        set_nonblock(c);
                    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev), 0);
                    if (!s->et)
                        break; /* LT: the listener is reported again while one is queued */
                }
                continue;
            }
            ck_assert(out[i].events & EPOLLIN);
            /* ET: read until EAGAIN; LT: one read, the rest is reported again */
            for (;;) {
                unsigned char buf[64];
                ssize_t r = vmci_recv(fd, buf, sizeof buf, s->et ? MSG_DONTWAIT : 0);
                if (r > 0) {
                    su_send_all(fd, buf, (size_t)r);
                    s->echoed += r;
                    if (!s->et)
                        break;
                    continue;
                }
                if (r == 0) {
                    /* a closed member leaves the interest list by itself (epoll(7) Q6) */
                    ck_assert_int_eq(vmci_close(fd), 0);
                    s->eofs++;
                } else {
                    ck_assert_int_eq(errno, EAGAIN);
                }
                break;
            }
        }
    }
    /* every member was closed: nothing is left to report */
    struct epoll_event none;
    ck_assert_int_eq(epoll_wait(ep, &none, 1, 0), 0);
    ck_assert_int_eq(close(ep), 0);
    vmci_close(l);
}

struct echo_client {
    struct echo *s;
    int id;
};

static void echo_client_fn(void *arg)
{
    struct echo_client *c = arg;
    su_wait(&c->s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    unsigned char msg[MSG_LEN], back[MSG_LEN];
    fill(msg, c->id);
    /* two pieces, the second after a pause, so edge-triggered reads see two edges */
    su_send_all(fd, msg, MSG_LEN / 2);
    vmcisim_sleep(1000000);
    su_send_all(fd, msg + MSG_LEN / 2, MSG_LEN - MSG_LEN / 2);
    su_recv_exact(fd, back, MSG_LEN);
    ck_assert_mem_eq(back, msg, MSG_LEN);
    ck_assert_int_eq(vmci_close(fd), 0);
    __atomic_add_fetch(&c->s->clients_ok, 1, __ATOMIC_RELAXED);
}

static uint64_t run_echo(uint64_t seed, int realtime, int et)
{
    struct echo s = {.et = et};
    struct echo_client cl[NCONN];
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(guest);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", echo_server, &s), 0);
    for (int i = 0; i < NCONN; i++) {
        cl[i] = (struct echo_client){.s = &s, .id = i};
        char name[16];
        snprintf(name, sizeof name, "client%d", i);
        ck_assert_int_eq(vmcisim_spawn(guest, name, echo_client_fn, &cl[i]), 0);
    }
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "run failed (seed %llu): %s", (unsigned long long)seed,
                  vmcisim_error(sim));
    ck_assert_int_eq(s.accepted, NCONN);
    ck_assert_int_eq(s.eofs, NCONN);
    ck_assert_int_eq(s.echoed, (long)NCONN * MSG_LEN);
    ck_assert_int_eq(s.clients_ok, NCONN);
    uint64_t h = vmcisim_trace_hash(sim);
    vmcisim_destroy(sim);
    return h;
}

START_TEST(epoll_level_triggered_echo_16)
{
    FOR_SEEDS(seed)
    {
        uint64_t h = run_echo(seed, 0, 0);
        ck_assert_uint_eq(run_echo(seed, 0, 0), h); /* the same seed, the same trace */
    }
}
END_TEST

START_TEST(epoll_edge_triggered_echo_16)
{
    FOR_SEEDS(seed)
    {
        uint64_t h = run_echo(seed, 0, 1);
        ck_assert_uint_eq(run_echo(seed, 0, 1), h);
    }
}
END_TEST

START_TEST(epoll_echo_16_realtime)
{
    run_echo(1, 1, 0);
    run_echo(2, 1, 1);
}
END_TEST

/* ---- EPOLLRDHUP on a half-close, EPOLLHUP once both are shut (vsock_poll) ------------------ */

struct half {
    int listening, replied;
};

static void half_server(void *arg)
{
    struct half *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int c = su_accept(l);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = 77};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev), 0);
    /* read "abc" up to EOF: the peer's SHUT_WR gives EPOLLRDHUP, level-triggered */
    char buf[8];
    size_t got = 0;
    for (;;) {
        struct epoll_event out;
        ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
        ck_assert_uint_eq(out.data.u64, 77);
        ck_assert(out.events & EPOLLIN);
        ssize_t r = vmci_recv(c, buf + got, sizeof buf - got, 0);
        ck_assert_int_ge(r, 0);
        if (r == 0) {
            ck_assert_uint_eq(out.events, EPOLLIN | EPOLLRDHUP);
            break;
        }
        got += (size_t)r;
    }
    ck_assert_uint_eq(got, 3);
    ck_assert_mem_eq(buf, "abc", 3);
    struct epoll_event out;
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 1);
    ck_assert_uint_eq(out.events, EPOLLIN | EPOLLRDHUP); /* still: level-triggered */
    /* still writable to the half-closed peer */
    su_send_all(c, "ok", 2);
    /* both directions shut: EPOLLHUP too (shutdown(SHUT_WR) here + the peer's SHUT_WR) */
    ck_assert_int_eq(vmci_shutdown(c, SHUT_WR), 0);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 1);
    ck_assert_uint_eq(out.events, EPOLLIN | EPOLLRDHUP | EPOLLHUP);
    su_set(&s->replied, 1);
    close(ep);
    vmci_close(c);
    vmci_close(l);
}

static void half_client(void *arg)
{
    struct half *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_send_all(fd, "abc", 3);
    ck_assert_int_eq(vmci_shutdown(fd, SHUT_WR), 0);
    char buf[2];
    su_recv_exact(fd, buf, 2);
    ck_assert_mem_eq(buf, "ok", 2);
    su_wait(&s->replied, 1);
    vmci_close(fd);
}

START_TEST(epoll_rdhup_half_close)
{
    FOR_SEEDS(seed)
    {
        struct half s = {0};
        su_run2(seed, 0, 1, half_server, half_client, &s);
    }
    struct half s = {0};
    su_run2(1, 1, 1, half_server, half_client, &s);
}
END_TEST

/* ---- EPOLLONESHOT: reported once, re-armed by EPOLL_CTL_MOD (epoll_ctl(2)) ----------------- */

struct oneshot {
    int listening, step;
};

static void oneshot_server(void *arg)
{
    struct oneshot *s = arg;
    vmcisim *sim = vmcisim_self_world();
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int c = su_accept(l);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = 5};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev), 0);
    struct epoll_event out;
    ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
    ck_assert_uint_eq(out.events, EPOLLIN);
    ck_assert_uint_eq(out.data.u32, 5);
    /* disarmed although the byte is still unread: a 1 s wait times out, on simulated time */
    uint64_t t0 = vmcisim_now(sim);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 1000), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 1000000000ull);
    /* EPOLL_CTL_MOD re-arms and looks at the socket at once */
    ev.data.u32 = 6;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev), 0);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 1);
    ck_assert_uint_eq(out.events, EPOLLIN);
    ck_assert_uint_eq(out.data.u32, 6);
    char b;
    ck_assert_int_eq(vmci_recv(c, &b, 1, 0), 1);
    ck_assert_int_eq(b, 'a');
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 0); /* fired again: disarmed */
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev), 0);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 0); /* armed, nothing to read */
    su_set(&s->step, 1);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1); /* the second byte */
    ck_assert_uint_eq(out.events, EPOLLIN);
    ck_assert_int_eq(vmci_recv(c, &b, 1, 0), 1);
    ck_assert_int_eq(b, 'b');
    su_set(&s->step, 2);
    close(ep);
    vmci_close(c);
    vmci_close(l);
}

static void oneshot_client(void *arg)
{
    struct oneshot *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_send_all(fd, "a", 1);
    su_wait(&s->step, 1);
    su_send_all(fd, "b", 1);
    su_wait(&s->step, 2);
    vmci_close(fd);
}

START_TEST(epoll_oneshot_rearm)
{
    FOR_SEEDS(seed)
    {
        struct oneshot s = {0};
        su_run2(seed, 0, 1, oneshot_server, oneshot_client, &s);
    }
}
END_TEST

/* ---- EPOLLET: reported once per wake-up of the socket (epoll(7)) ---------------------------
 * Over VMCI a reader's socket is woken by the peer's WROTE, which the Q_STATE protocol sends
 * only when the queue turns non-empty (§4.7): bytes added to a queue that still holds unread
 * bytes make no new edge, bytes into an emptied queue do. */

static void et_server(void *arg)
{
    struct oneshot *s = arg;
    vmcisim *sim = vmcisim_self_world();
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int c = su_accept(l);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 9};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev), 0);
    struct epoll_event out;
    ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
    ck_assert_uint_eq(out.events, EPOLLIN);
    ck_assert_uint_eq(out.data.u32, 9);
    /* "a" is left unread: no new edge, so a 2 s wait times out (level-triggered would not) */
    uint64_t t0 = vmcisim_now(sim);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 2000), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 2000000000ull);
    su_set(&s->step, 1);
    su_wait(&s->step, 2); /* the client sent "b" behind the unread "a": still no edge */
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 0);
    char b[2];
    su_recv_exact(c, b, 2);
    ck_assert_mem_eq(b, "ab", 2);
    su_set(&s->step, 3);
    /* "c" into the emptied queue: a new edge */
    ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
    ck_assert_uint_eq(out.events, EPOLLIN);
    ck_assert_int_eq(vmci_recv(c, b, 1, 0), 1);
    ck_assert_int_eq(b[0], 'c');
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 0);
    su_set(&s->step, 4);
    close(ep);
    vmci_close(c);
    vmci_close(l);
}

static void et_client(void *arg)
{
    struct oneshot *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    su_send_all(fd, "a", 1);
    su_wait(&s->step, 1);
    su_send_all(fd, "b", 1);
    su_set(&s->step, 2);
    su_wait(&s->step, 3);
    su_send_all(fd, "c", 1);
    su_wait(&s->step, 4);
    vmci_close(fd);
}

START_TEST(epoll_edge_triggered_once_per_arrival)
{
    FOR_SEEDS(seed)
    {
        struct oneshot s = {0};
        su_run2(seed, 0, 1, et_server, et_client, &s);
    }
}
END_TEST

/* ---- epoll_ctl and epoll_wait errors (epoll_ctl(2), epoll_wait(2)) --------------------------
 * Each check runs twice: with a simulated socket as the target, and with a real AF_UNIX
 * socket, whose answers come from the kernel itself: both must agree. */

static int sim_sock(void) { return vmci_socket(AF_VSOCK, SOCK_STREAM, 0); }
static int real_sock(void) { return socket(AF_UNIX, SOCK_STREAM, 0); }
static int close_any(int fd) { return vmci_close(fd); }

static void ctl_errors_with(int (*mk)(void))
{
    int ep = epoll_create1(0);
    ck_assert_int_ge(ep, 0);
    int s = mk(), s2 = mk(), s3 = mk();
    ck_assert_int_ge(s, 0);
    ck_assert_int_ge(s2, 0);
    ck_assert_int_ge(s3, 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};

    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), EEXIST);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, s2, &ev), ENOENT);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, s2, NULL), ENOENT);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, s2, NULL), EFAULT);
    EXPECT_ERR(epoll_ctl(ep, 99, s, &ev), EINVAL);
    EXPECT_ERR(epoll_ctl(-1, EPOLL_CTL_ADD, s2, &ev), EBADF);
    EXPECT_ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, s2, &ev), EINVAL);  /* not an epoll */
    EXPECT_ERR(epoll_ctl(s3, EPOLL_CTL_ADD, s2, &ev), EINVAL);    /* a socket is no epoll */
    /* EPOLLEXCLUSIVE: ADD only, with IN/OUT/ERR/HUP/WAKEUP/ET only, and never modified */
    struct epoll_event ex = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s2, &ex), 0);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, s2, &ev), EINVAL);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ex), EINVAL);
    ex.events = EPOLLIN | EPOLLRDHUP | EPOLLEXCLUSIVE;
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, s3, &ex), EINVAL);
    ex.events = EPOLLIN | EPOLLONESHOT | EPOLLEXCLUSIVE;
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, s3, &ex), EINVAL);
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, s2, NULL), 0);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, s2, NULL), ENOENT);
    /* epoll_wait */
    struct epoll_event out[2];
    EXPECT_ERR(epoll_wait(ep, out, 0, 0), EINVAL);
    EXPECT_ERR(epoll_wait(-1, out, 2, 0), EBADF);
    EXPECT_ERR(epoll_wait(p[0], out, 2, 0), EINVAL);
    EXPECT_ERR(epoll_wait(s3, out, 2, 0), EINVAL);
    ck_assert_int_eq(close_any(s), 0);
    ck_assert_int_eq(close_any(s2), 0);
    ck_assert_int_eq(close_any(s3), 0);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void ctl_errors(void *arg)
{
    (void)arg;
    ctl_errors_with(real_sock);
    ctl_errors_with(sim_sock);
    /* the rest concern real targets only and come from the kernel unchanged */
    int ep = epoll_create1(0), ep2 = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    EXPECT_ERR(epoll_create1(12345), EINVAL);
    EXPECT_ERR(epoll_create(0), EINVAL);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    int f = open("/proc/self/exe", O_RDONLY);   /* a regular file cannot be polled */
    ck_assert_int_ge(f, 0);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
    close(f);
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), 0);
    EXPECT_ERR(epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev), ELOOP);
    close(ep2);
    close(ep);
}

START_TEST(epoll_ctl_errors_as_linux)
{
    su_run2(1, 0, 1, ctl_errors, idle_fn, NULL);
}
END_TEST

/* ---- a real pipe and a simulated socket in one epoll ------------------------------------------
 * The pipe is registered in the real epoll descriptor by the kernel; the socket in the world's
 * interest list of that descriptor. */

struct epmix {
    int pipefd[2];
    int bound, realtime;
    uint64_t written_at;
};

static void epmix_reader(void *arg)
{
    struct epmix *m = arg;
    vmcisim *sim = vmcisim_self_world();
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 100};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, m->pipefd[0], &ev), 0);
    ev.data.u64 = 200;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    su_set(&m->bound, 1);
    struct epoll_event out[2];
    ck_assert_int_eq(epoll_wait(ep, out, 2, -1), 1);
    ck_assert_uint_eq(out[0].events, EPOLLIN);
    ck_assert_uint_eq(out[0].data.u64, 100);
    if (!m->realtime)
        ck_assert_uint_eq(vmcisim_now(sim), m->written_at); /* woken at the write's instant */
    char c;
    ck_assert_int_eq(read(m->pipefd[0], &c, 1), 1);
    ck_assert_int_eq(epoll_wait(ep, out, 2, -1), 1);
    ck_assert_uint_eq(out[0].events, EPOLLIN);
    ck_assert_uint_eq(out[0].data.u64, 200);
    char buf[8];
    ck_assert_int_eq(vmci_recv(s, buf, sizeof buf, 0), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(epoll_wait(ep, out, 2, 0), 0);
    close(ep);
    vmci_close(s);
}

static void epmix_writer(void *arg)
{
    struct epmix *m = arg;
    su_wait(&m->bound, 1);
    vmcisim_sleep(2000000000ull);
    m->written_at = vmcisim_now(vmcisim_self_world());
    ck_assert_int_eq(write(m->pipefd[1], "x", 1), 1);
    vmcisim_sleep(1000000000ull);
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm to = su_addr(GUEST_CID, TEST_PORT);
    ck_assert_int_eq(vmci_sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof to), 5);
    vmci_close(s);
}

static void run_epmix(uint64_t seed, int realtime)
{
    struct epmix m = {.realtime = realtime};
    ck_assert_int_eq(pipe(m.pipefd), 0);
    su_run2(seed, realtime, 0, epmix_reader, epmix_writer, &m);
    close(m.pipefd[0]);
    close(m.pipefd[1]);
}

START_TEST(epoll_pipe_and_socket)
{
    FOR_SEEDS(seed) run_epmix(seed, 0);
}
END_TEST

START_TEST(epoll_pipe_and_socket_realtime)
{
    run_epmix(1, 1);
}
END_TEST

/* ---- close() of a member removes it (epoll(7) Q6: when its last descriptor closes) ---------- */

static void close_removes(void *arg)
{
    (void)arg;
    int ep = epoll_create1(0);
    int s = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    /* an unconnected stream socket is writable (vsock_poll: TCP_CLOSE without SEND_SHUTDOWN) */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = 1};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    struct epoll_event out[2];
    ck_assert_int_eq(epoll_wait(ep, out, 2, 0), 1);
    ck_assert_uint_eq(out[0].events, EPOLLOUT);
    ck_assert_uint_eq(out[0].data.u64, 1);
    ck_assert_int_eq(vmci_close(s), 0);
    ck_assert_int_eq(epoll_wait(ep, out, 2, 0), 0);
    /* the number is free again: a new socket under it is a new member */
    int s2 = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_eq(s2, s);
    EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, s2, NULL), ENOENT);
    ev.data.u64 = 2;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s2, &ev), 0);
    ck_assert_int_eq(epoll_wait(ep, out, 2, 0), 1);
    ck_assert_uint_eq(out[0].data.u64, 2);
    vmci_close(s2);
    close(ep);
}

START_TEST(epoll_close_removes_member)
{
    su_run2(1, 0, 1, close_removes, idle_fn, NULL);
}
END_TEST

/* ---- timeouts run on the simulated clock and cost no wall time ------------------------------ */

static void timeouts(void *arg)
{
    (void)arg;
    vmcisim *sim = vmcisim_self_world();
    int ep = epoll_create1(0);
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(s, (struct sockaddr *)&a, sizeof a), 0);
    struct epoll_event ev = {.events = EPOLLIN};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
    struct epoll_event out;
    uint64_t t0 = vmcisim_now(sim);
    ck_assert_int_eq(epoll_wait(ep, &out, 1, 30000), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 30000000000ull);
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(epoll_pwait(ep, &out, 1, 20000, NULL), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 20000000000ull);
    struct timespec ts = {.tv_sec = 10, .tv_nsec = 5};
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(epoll_pwait2(ep, &out, 1, &ts, NULL), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 10000000005ull);
    ts.tv_nsec = 1000000000;
    EXPECT_ERR(epoll_pwait2(ep, &out, 1, &ts, NULL), EINVAL);
    vmci_close(s);
    close(ep);
}

START_TEST(epoll_timeouts_on_simulated_clock)
{
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    su_run2(1, 0, 1, timeouts, idle_fn, NULL);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    /* 60 s of timeouts; the run takes a small part of one wall-clock second */
    ck_assert_int_lt(w1.tv_sec - w0.tv_sec, 30);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("epoll");
    TCase *tc = tcase_create("deterministic");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, epoll_level_triggered_echo_16);
    tcase_add_test(tc, epoll_edge_triggered_echo_16);
    tcase_add_test(tc, epoll_rdhup_half_close);
    tcase_add_test(tc, epoll_oneshot_rearm);
    tcase_add_test(tc, epoll_edge_triggered_once_per_arrival);
    tcase_add_test(tc, epoll_ctl_errors_as_linux);
    tcase_add_test(tc, epoll_close_removes_member);
    tcase_add_test(tc, epoll_pipe_and_socket);
    tcase_add_test(tc, epoll_timeouts_on_simulated_clock);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, epoll_echo_16_realtime);
    tcase_add_test(rt, epoll_pipe_and_socket_realtime);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
