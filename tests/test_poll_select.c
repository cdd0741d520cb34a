#define _GNU_SOURCE
/*
 * test_poll_select.c - the plain-named poll, ppoll, select and pselect inside simulated
 * processes (issue 11): a select server and clients with FD_SET on the returned descriptors,
 * sets mixing a pipe with simulated sockets (deterministic and realtime), a pipe written from
 * outside the simulation while every simulated thread waits, and timeouts on the simulated
 * clock. Readiness bits are Linux's vsock_poll (vmci-semantics.md §2.14); the mapping to select
 * sets and the errors are Linux's fs/select.c (select(2), poll(2)).
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "sockutil.h"

static void idle_fn(void *arg) { (void)arg; }

/* ---- descriptor sets ---------------------------------------------------------------------------
 * fd_set holds FD_SETSIZE bits. Simulated sockets are numbered below it once the descriptor
 * table hands out real numbers; until then they may lie above it, and select (like Linux's)
 * reads as many longs as nfds needs, so a larger bitmap stands in for fd_set. */

#define LBITS (8 * (int)sizeof(unsigned long))

static fd_set *set_new(int maxfd)
{
    int bits = maxfd + 1 > FD_SETSIZE ? maxfd + 1 : FD_SETSIZE;
    fd_set *s = calloc((size_t)(bits + LBITS - 1) / LBITS, sizeof(unsigned long));
    ck_assert_ptr_nonnull(s);
    return s;
}

static void set_add(fd_set *s, int fd)
{
    if (fd < FD_SETSIZE)
        FD_SET(fd, s);
    else
        ((unsigned long *)s)[fd / LBITS] |= 1ul << (fd % LBITS);
}

static int set_has(fd_set *s, int fd)
{
    if (fd < FD_SETSIZE)
        return FD_ISSET(fd, s) != 0;
    return (((unsigned long *)s)[fd / LBITS] >> (fd % LBITS)) & 1;
}

/* ---- a select server and select clients ------------------------------------------------------ */

#define NCL 4
#define SEL_LEN 10

struct sel {
    int realtime;
    int listening;
    int served, eofs, clients_ok;
};

static void sel_server(void *arg)
{
    struct sel *s = arg;
    int l = su_listen(TEST_PORT, NCL);
    su_set(&s->listening, 1);
    int conns[NCL];
    int nconn = 0;
    while (s->eofs < NCL) {
        int maxfd = l;
        for (int i = 0; i < nconn; i++)
            if (conns[i] > maxfd)
                maxfd = conns[i];
        fd_set *r = set_new(maxfd);
        set_add(r, l);
        for (int i = 0; i < nconn; i++)
            if (conns[i] >= 0)
                set_add(r, conns[i]);
        int n = select(maxfd + 1, r, NULL, NULL, NULL);
        ck_assert_int_ge(n, 1);
        int seen = set_has(r, l);
        for (int i = 0; i < nconn; i++)
            seen += conns[i] >= 0 && set_has(r, conns[i]);
        ck_assert_int_eq(seen, n); /* the count is the number of bits left set */
        if (set_has(r, l)) {
            ck_assert_int_lt(nconn, NCL);
            conns[nconn++] = su_accept(l);
        }
        for (int i = 0; i < nconn; i++) {
            if (conns[i] < 0 || !set_has(r, conns[i]))
                continue;
            char buf[SEL_LEN];
            ssize_t got = vmci_recv(conns[i], buf, sizeof buf, 0);
            ck_assert_int_ge(got, 0);
            if (got == 0) {
                vmci_close(conns[i]);
                conns[i] = -1;
                s->eofs++;
            } else {
                su_send_all(conns[i], buf, (size_t)got);
                s->served += (int)got;
            }
        }
        free(r);
    }
    vmci_close(l);
}

static void sel_client(void *arg)
{
    struct sel *s = arg;
    vmcisim *sim = vmcisim_self_world();
    su_wait(&s->listening, 1);
    int fd = su_connect(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    /* connected with queue space: writable at once (§2.14), the read set stays empty */
    fd_set *r = set_new(fd), *w = set_new(fd);
    set_add(w, fd);
    struct timeval tv = {.tv_sec = 120};
    ck_assert_int_eq(select(fd + 1, NULL, w, NULL, &tv), 1);
    ck_assert(set_has(w, fd));
    char msg[SEL_LEN], back[SEL_LEN];
    for (int i = 0; i < SEL_LEN; i++)
        msg[i] = (char)('a' + (fd + i) % 26);
    su_send_all(fd, msg, SEL_LEN);
    size_t got = 0;
    while (got < SEL_LEN) {
        set_add(r, fd);
        /* realtime: long enough for a loaded machine under ThreadSanitizer */
        tv = (struct timeval){.tv_sec = s->realtime ? 120 : 5};
        uint64_t t0 = vmcisim_now(sim);
        ck_assert_int_eq(select(fd + 1, r, NULL, NULL, &tv), 1);
        uint64_t slept = vmcisim_now(sim) - t0;
        ck_assert(set_has(r, fd));
        /* Linux writes the time not slept back, in whole microseconds */
        if (!s->realtime) {
            uint64_t left = (5000000000ull - slept) / 1000;
            ck_assert_int_eq(tv.tv_sec, (time_t)(left / 1000000));
            ck_assert_int_eq(tv.tv_usec, (suseconds_t)(left % 1000000));
        } else {
            ck_assert(tv.tv_sec < 120 || (tv.tv_sec == 120 && tv.tv_usec == 0));
        }
        ssize_t n = vmci_recv(fd, back + got, SEL_LEN - got, 0);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_mem_eq(back, msg, SEL_LEN);
    free(r);
    free(w);
    vmci_close(fd);
    __atomic_add_fetch(&s->clients_ok, 1, __ATOMIC_RELAXED);
}

static void run_select(uint64_t seed, int realtime)
{
    struct sel s = {.realtime = realtime};
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "server", sel_server, &s), 0);
    for (int i = 0; i < NCL; i++)
        ck_assert_int_eq(vmcisim_spawn(guest, "client", sel_client, &s), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "run failed (seed %llu): %s", (unsigned long long)seed,
                  vmcisim_error(sim));
    ck_assert_int_eq(s.served, NCL * SEL_LEN);
    ck_assert_int_eq(s.eofs, NCL);
    ck_assert_int_eq(s.clients_ok, NCL);
    vmcisim_destroy(sim);
}

START_TEST(select_client_and_server)
{
    FOR_SEEDS(seed) run_select(seed, 0);
}
END_TEST

START_TEST(select_client_and_server_realtime)
{
    run_select(1, 1);
}
END_TEST

/* ---- poll over a pipe and a simulated socket ------------------------------------------------- */

struct mix {
    int pipefd[2];
    int bound;
    int realtime;
    uint64_t written_at;
};

static void mix_reader(void *arg)
{
    struct mix *m = arg;
    vmcisim *sim = vmcisim_self_world();
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(s, (struct sockaddr *)&a, sizeof a), 0);
    su_set(&m->bound, 1);
    struct pollfd p[2] = {{.fd = m->pipefd[0], .events = POLLIN},
                          {.fd = s, .events = POLLIN}};
    /* the pipe first: the writer puts a byte in it after 2 s of simulated time, and the
     * reader wakes at that simulated instant */
    ck_assert_int_eq(poll(p, 2, -1), 1);
    ck_assert_int_eq(p[0].revents, POLLIN);
    ck_assert_int_eq(p[1].revents, 0);
    if (!m->realtime)
        ck_assert_uint_eq(vmcisim_now(sim), m->written_at);
    char c;
    ck_assert_int_eq(read(m->pipefd[0], &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    /* then the socket: a datagram from the host */
    ck_assert_int_eq(poll(p, 2, -1), 1);
    ck_assert_int_eq(p[0].revents, 0);
    ck_assert_int_eq(p[1].revents, POLLIN);
    char buf[8];
    ck_assert_int_eq(vmci_recv(s, buf, sizeof buf, 0), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    /* nothing left: a 3 s timeout runs out on the simulated clock */
    uint64_t t0 = vmcisim_now(sim);
    ck_assert_int_eq(poll(p, 2, 3000), 0);
    if (!m->realtime)
        ck_assert_uint_eq(vmcisim_now(sim) - t0, 3000000000ull);
    /* the writer closed its end: POLLHUP on the pipe, asked for or not */
    p[0].events = 0;
    su_set(&m->bound, 2);
    ck_assert_int_eq(poll(p, 2, -1), 1);
    ck_assert_int_eq(p[0].revents, POLLHUP);
    vmci_close(s);
}

static void mix_writer(void *arg)
{
    struct mix *m = arg;
    su_wait(&m->bound, 1);
    vmcisim_sleep(2000000000ull);
    m->written_at = vmcisim_now(vmcisim_self_world());
    ck_assert_int_eq(write(m->pipefd[1], "x", 1), 1);
    vmcisim_sleep(1000000000ull);
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm to = su_addr(GUEST_CID, TEST_PORT);
    ck_assert_int_eq(vmci_sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof to), 5);
    vmci_close(s);
    su_wait(&m->bound, 2);
    close(m->pipefd[1]);
}

static void run_mix(uint64_t seed, int realtime)
{
    struct mix m = {.realtime = realtime};
    ck_assert_int_eq(pipe(m.pipefd), 0);
    su_run2(seed, realtime, 0, mix_reader, mix_writer, &m);
    close(m.pipefd[0]);
}

START_TEST(poll_pipe_and_socket)
{
    FOR_SEEDS(seed) run_mix(seed, 0);
}
END_TEST

START_TEST(poll_pipe_and_socket_realtime)
{
    run_mix(1, 1);
}
END_TEST

/* ---- a pipe written from outside while every simulated thread waits ---------------------------
 * The world waits for it on the wall clock; simulated time does not move. */

struct outside {
    int pipefd[2];
    ssize_t wrote; /* the outside thread's write result, checked after the join */
};

/* No Check call here: Check's assertions take Check's own mutex, and a simulated thread that
 * finds it held by a thread outside the world waits for it as a simulated thread, which in
 * deterministic mode nothing inside the world can end (reported as a deadlock; about 1 run in
 * 30 under load). The result is asserted by the test's main thread after the join. */
static void *outside_writer(void *arg)
{
    struct outside *o = arg;
    struct timespec d = {.tv_nsec = 100000000};
    nanosleep(&d, NULL);
    o->wrote = write(o->pipefd[1], "y", 1);
    return NULL;
}

static void outside_reader(void *arg)
{
    struct outside *o = arg;
    vmcisim *sim = vmcisim_self_world();
    uint64_t t0 = vmcisim_now(sim);
    fd_set *r = set_new(o->pipefd[0]);
    set_add(r, o->pipefd[0]);
    ck_assert_int_eq(select(o->pipefd[0] + 1, r, NULL, NULL, NULL), 1);
    ck_assert(set_has(r, o->pipefd[0]));
    ck_assert_uint_eq(vmcisim_now(sim), t0);
    char c;
    ck_assert_int_eq(read(o->pipefd[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    free(r);
}

START_TEST(select_real_pipe_written_from_outside)
{
    struct outside o;
    ck_assert_int_eq(pipe(o.pipefd), 0);
    vmcisim *sim = tu_world(1);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "reader", outside_reader, &o), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, outside_writer, &o), 0);
    int run = vmcisim_run(sim);
    ck_assert_msg(run == 0, "vmcisim_run: %d: %s", run, vmcisim_error(sim));
    pthread_join(t, NULL);
    ck_assert_int_eq(o.wrote, 1);
    vmcisim_destroy(sim);
    close(o.pipefd[0]);
    close(o.pipefd[1]);
}
END_TEST

/* ---- timeouts on the simulated clock, and the errors (poll(2), select(2)) ---------------------- */

static void timeouts(void *arg)
{
    (void)arg;
    vmcisim *sim = vmcisim_self_world();
    uint64_t t0 = vmcisim_now(sim);
    ck_assert_int_eq(poll(NULL, 0, 5000), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 5000000000ull);

    struct timespec ts = {.tv_sec = 1, .tv_nsec = 250000000};
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(ppoll(NULL, 0, &ts, NULL), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 1250000000ull);

    struct timeval tv = {.tv_sec = 2, .tv_usec = 500000};
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(select(0, NULL, NULL, NULL, &tv), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 2500000000ull);
    ck_assert_int_eq(tv.tv_sec, 0);
    ck_assert_int_eq(tv.tv_usec, 0);

    ts = (struct timespec){.tv_sec = 0, .tv_nsec = 7};
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(pselect(0, NULL, NULL, NULL, &ts, NULL), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 7);
    ck_assert_int_eq(ts.tv_nsec, 7); /* pselect leaves its timeout alone */

    /* a simulated socket with nothing to read, and an empty pipe, for 10 s */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    int s = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int maxfd = s > p[0] ? s : p[0];
    fd_set *r = set_new(maxfd);
    set_add(r, s);
    set_add(r, p[0]);
    tv = (struct timeval){.tv_sec = 10};
    t0 = vmcisim_now(sim);
    ck_assert_int_eq(select(maxfd + 1, r, NULL, NULL, &tv), 0);
    ck_assert_uint_eq(vmcisim_now(sim) - t0, 10000000000ull);
    ck_assert(!set_has(r, s) && !set_has(r, p[0])); /* cleared */

    /* a datagram socket is always writable (§2.14); the pipe's write end too */
    fd_set *w = set_new(maxfd > p[1] ? maxfd : p[1]);
    set_add(w, s);
    set_add(w, p[1]);
    ck_assert_int_eq(select((maxfd > p[1] ? maxfd : p[1]) + 1, NULL, w, NULL, NULL), 2);
    ck_assert(set_has(w, s) && set_has(w, p[1]));

    /* errors */
    EXPECT_ERR(select(-1, NULL, NULL, NULL, NULL), EINVAL);
    tv = (struct timeval){.tv_usec = 1000000};
    EXPECT_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL);
    ts = (struct timespec){.tv_nsec = -1};
    EXPECT_ERR(ppoll(NULL, 0, &ts, NULL), EINVAL);
    int dead[2];
    ck_assert_int_eq(pipe(dead), 0);
    close(dead[0]);
    close(dead[1]);
    fd_set *bad = set_new(dead[0]);
    set_add(bad, dead[0]);
    EXPECT_ERR(select(dead[0] + 1, bad, NULL, NULL, NULL), EBADF);
    struct pollfd pf[2] = {{.fd = dead[0], .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    ck_assert_int_eq(poll(pf, 2, 0), 1);
    ck_assert_int_eq(pf[0].revents, POLLNVAL);
    ck_assert_int_eq(pf[1].revents, 0); /* a negative fd is skipped */
    volatile nfds_t huge = (nfds_t)1 << 40; /* above RLIMIT_NOFILE */
    EXPECT_ERR(poll(pf, huge, 0), EINVAL);
    free(bad);
    free(r);
    free(w);
    vmci_close(s);
    close(p[0]);
    close(p[1]);
}

START_TEST(timeouts_on_simulated_clock)
{
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    su_run2(1, 0, 1, timeouts, idle_fn, NULL);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    /* about 29 s of timeouts in a small part of one wall-clock second */
    ck_assert_int_lt(w1.tv_sec - w0.tv_sec, 15);
}
END_TEST

/* Outside the simulation the calls are the C library's. */
START_TEST(outside_threads_reach_the_c_library)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "z", 1), 1);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    ck_assert_int_eq(poll(&pf, 1, 0), 1);
    ck_assert_int_eq(pf.revents, POLLIN);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {0};
    ck_assert_int_eq(select(p[0] + 1, &r, NULL, NULL, &tv), 1);
    close(p[0]);
    close(p[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("poll_select");
    TCase *tc = tcase_create("deterministic");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, select_client_and_server);
    tcase_add_test(tc, poll_pipe_and_socket);
    tcase_add_test(tc, select_real_pipe_written_from_outside);
    tcase_add_test(tc, timeouts_on_simulated_clock);
    tcase_add_test(tc, outside_threads_reach_the_c_library);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, select_client_and_server_realtime);
    tcase_add_test(rt, poll_pipe_and_socket_realtime);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
