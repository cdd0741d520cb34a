#define _GNU_SOURCE
/*
 * test_proc.c - simulated processes that behave like real ones (api-contract.md, last section
 * "Simulated processes that behave like real ones"; issue 11): main(argc, argv) with
 * pthread_create, exit(), mutex/condition-variable/semaphore waits, sleeps and clocks on
 * simulated time, seeded rand/getrandom, SIGPIPE (vmci-semantics.md §2.7) and VM power-off.
 * Every case runs in deterministic mode over 20 seeds and in realtime mode (TSan in CI).
 *
 * Programs report through their exit status and through the shared `res` (atomics), never with
 * ck_assert on a simulated thread: exit/_exit there end only the simulated process.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sockutil.h"

#define SEEDS 20
#define NCLIENTS 8
#define PORT_ECHO 5000u
#define PORT_EXIT 5001u
#define PORT_HAND 5002u
#define PORT_PIPE 5003u
#define EPOCH_BASE 1767225600 /* posix_internal.h: simulated CLOCK_REALTIME origin */

static int realtime_mode;

static struct {
    int listening;
    int after_exit;         /* a line of the exited process ran after exit(): must stay 0 */
    int peer_eof;           /* the exited process's peer read end of file */
    int others_done;
    int handler_runs;       /* SIGPIPE handler */
    int after_send;         /* code after the fatal send ran */
    int client_done;
    int echo_bytes;
} res;

static void reset(void) { memset(&res, 0, sizeof res); }
static void set(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_SEQ_CST); }
static int get(int *f) { return __atomic_load_n(f, __ATOMIC_SEQ_CST); }
static void add(int *f, int v) { __atomic_add_fetch(f, v, __ATOMIC_SEQ_CST); }
static void wait_flag(int *f, int v)
{
    while (get(f) < v)
        usleep(100); /* interposed: a simulated sleep */
}

static vmcisim *mk(uint64_t seed, vmcisim_vm **guest)
{
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime_mode};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    *guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(*guest);
    return sim;
}

static void run_ok(vmcisim *sim, uint64_t seed)
{
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "run failed (seed %llu): %s", (unsigned long long)seed,
                  vmcisim_error(sim));
}

static int status_of(vmcisim_proc *p)
{
    ck_assert_ptr_nonnull(p);
    int st = -1;
    ck_assert_int_eq(vmcisim_proc_status(p, &st), 0);
    return st;
}

/* socket + connect, retried while the server is not listening yet; -1 on failure */
static int connect_retry(unsigned cid, unsigned port)
{
    for (int i = 0; i < 100000; i++) {
        int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_vm a = su_addr(cid, port);
        if (vmci_connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        vmci_close(fd);
        usleep(1000);
    }
    return -1;
}

static int listen_on(unsigned port, int backlog)
{
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, port);
    if (fd < 0 || vmci_bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        vmci_listen(fd, backlog) != 0)
        return -1;
    return fd;
}

static int send_all(int fd, const void *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t r = vmci_send(fd, (const char *)buf + off, n - off, 0);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static int recv_exact(int fd, void *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t r = vmci_recv(fd, (char *)buf + off, n - off, 0);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

/* ---- thread-per-connection echo server, 8 guest clients (contract: pthread_create) -------- */

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        ssize_t n = vmci_recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (send_all(fd, buf, (size_t)n) != 0)
            break;
        add(&res.echo_bytes, (int)n);
    }
    vmci_close(fd);
    return (void *)(intptr_t)(fd + 1);
}

static int echo_server_main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "echod") != 0)
        return 90;
    int n = atoi(argv[1]);
    int l = listen_on(PORT_ECHO, n);
    if (l < 0)
        return 91;
    set(&res.listening, 1);
    pthread_t th[NCLIENTS];
    int fds[NCLIENTS];
    for (int i = 0; i < n; i++) {
        fds[i] = vmci_accept(l, NULL, NULL);
        if (fds[i] < 0)
            return 92;
        if (pthread_create(&th[i], NULL, echo_conn, (void *)(intptr_t)fds[i]) != 0)
            return 93;
    }
    for (int i = 0; i < n; i++) {
        void *ret = NULL;
        if (pthread_join(th[i], &ret) != 0 || ret != (void *)(intptr_t)(fds[i] + 1))
            return 94;
    }
    /* joined twice: ESRCH, as the C library says for a reaped thread */
    if (pthread_join(th[0], NULL) != ESRCH)
        return 95;
    vmci_close(l);
    return 0;
}

static int echo_client_main(int argc, char **argv)
{
    if (argc != 2)
        return 80;
    char msg[64];
    int len = snprintf(msg, sizeof msg, "hello from client %s", argv[1]);
    int fd = connect_retry(VMADDR_CID_HOST, PORT_ECHO);
    if (fd < 0)
        return 81;
    char back[64];
    if (send_all(fd, msg, (size_t)len) != 0 || recv_exact(fd, back, (size_t)len) != 0)
        return 82;
    if (memcmp(msg, back, (size_t)len) != 0)
        return 83;
    vmci_close(fd);
    return 0;
}

static void echo_case(uint64_t seed)
{
    reset();
    vmcisim_vm *g;
    vmcisim *sim = mk(seed, &g);
    char *sargv[] = {"echod", "8", NULL};
    vmcisim_proc *srv = vmcisim_spawn_main(vmcisim_host(sim), "echod", echo_server_main, 2, sargv);
    ck_assert_ptr_nonnull(srv);
    vmcisim_proc *cl[NCLIENTS];
    int expect_bytes = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        char id[8], name[16];
        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "client%d", i);
        char *cargv[] = {name, id, NULL};
        cl[i] = vmcisim_spawn_main(g, name, echo_client_main, 2, cargv);
        ck_assert_ptr_nonnull(cl[i]);
        expect_bytes += (int)strlen("hello from client ") + 1;
    }
    int st;
    /* before the run nothing has ended */
    errno = 0;
    ck_assert_int_eq(vmcisim_proc_status(srv, &st), -1);
    ck_assert_int_eq(errno, EAGAIN);
    run_ok(sim, seed);
    ck_assert_int_eq(status_of(srv), 0);
    for (int i = 0; i < NCLIENTS; i++)
        ck_assert_int_eq(status_of(cl[i]), 0);
    ck_assert_int_eq(get(&res.echo_bytes), expect_bytes);
    vmcisim_destroy(sim);
}

START_TEST(thread_per_connection_echo_server_8_clients)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++)
        echo_case(seed);
}
END_TEST

/* ---- exit(3) ends that process only (contract: exit ends that simulated process) ---------- */

static pthread_mutex_t exit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exit_cv = PTHREAD_COND_INITIALIZER;

static void *exit_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&exit_mu);
    pthread_cond_wait(&exit_cv, &exit_mu); /* nobody signals: ended by exit() */
    set(&res.after_exit, 1);
    pthread_mutex_unlock(&exit_mu);
    return NULL;
}

static int exiter_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int fd = connect_retry(VMADDR_CID_HOST, PORT_EXIT);
    if (fd < 0)
        return 70;
    pthread_t t;
    if (pthread_create(&t, NULL, exit_waiter, NULL) != 0)
        return 71;
    if (send_all(fd, "x", 1) != 0)
        return 72;
    usleep(10000);
    exit(3);
    set(&res.after_exit, 2); /* never */
    return 0;
}

static int exit_peer_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int l = listen_on(PORT_EXIT, 1);
    if (l < 0)
        return 60;
    int fd = vmci_accept(l, NULL, NULL);
    char c;
    if (fd < 0 || recv_exact(fd, &c, 1) != 0 || c != 'x')
        return 61;
    /* §2.12/§3.6: the exited process's socket closed as at exit: end of file here */
    if (vmci_recv(fd, &c, 1, 0) != 0)
        return 62;
    set(&res.peer_eof, 1);
    vmci_close(fd);
    vmci_close(l);
    return 0;
}

static int bystander_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    wait_flag(&res.peer_eof, 1);
    sleep(1);
    set(&res.others_done, 1);
    return 7;
}

START_TEST(exit_3_ends_that_process_only)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        reset();
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        vmcisim_proc *peer = vmcisim_spawn_main(vmcisim_host(sim), "peer", exit_peer_main, 0, NULL);
        vmcisim_proc *ex = vmcisim_spawn_main(g, "exiter", exiter_main, 0, NULL);
        vmcisim_proc *by = vmcisim_spawn_main(g, "bystander", bystander_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(ex), 3);
        ck_assert_int_eq(status_of(peer), 0);
        ck_assert_int_eq(status_of(by), 7);
        ck_assert_int_eq(get(&res.after_exit), 0);
        ck_assert_int_eq(get(&res.peer_eof), 1);
        ck_assert_int_eq(get(&res.others_done), 1);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- mutex/condvar handoff across a blocking recv ---------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sem_t sem;
    int fd;
    char got[8];
    int ready;
} ho;

static void *handoff_reader(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ho.mu); /* held by main until its cond_wait releases it */
    pthread_mutex_unlock(&ho.mu);
    char buf[5];
    if (recv_exact(ho.fd, buf, 5) != 0) /* blocks until the peer sends, 1 s later */
        return (void *)1;
    pthread_mutex_lock(&ho.mu);
    memcpy(ho.got, buf, 5);
    ho.ready = 1;
    pthread_cond_signal(&ho.cv);
    pthread_mutex_unlock(&ho.mu);
    sem_post(&ho.sem);
    return NULL;
}

static int handoff_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pthread_mutex_init(&ho.mu, NULL);
    pthread_cond_init(&ho.cv, NULL);
    sem_init(&ho.sem, 0, 0);
    ho.fd = connect_retry(VMADDR_CID_HOST, PORT_HAND);
    if (ho.fd < 0)
        return 50;
    pthread_mutex_lock(&ho.mu);
    pthread_t t;
    if (pthread_create(&t, NULL, handoff_reader, NULL) != 0)
        return 51;
    while (!ho.ready)
        pthread_cond_wait(&ho.cv, &ho.mu);
    int ok = memcmp(ho.got, "hello", 5) == 0;
    pthread_mutex_unlock(&ho.mu);
    if (sem_wait(&ho.sem) != 0)
        return 52;
    void *ret;
    if (pthread_join(t, &ret) != 0 || ret != NULL)
        return 53;
    vmci_close(ho.fd);
    sem_destroy(&ho.sem);
    return ok ? 0 : 54;
}

static int handoff_peer_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int l = listen_on(PORT_HAND, 1);
    int fd = vmci_accept(l, NULL, NULL);
    if (fd < 0)
        return 40;
    sleep(1);
    if (send_all(fd, "hello", 5) != 0)
        return 41;
    char c;
    if (vmci_recv(fd, &c, 1, 0) != 0)
        return 42;
    vmci_close(fd);
    vmci_close(l);
    return 0;
}

START_TEST(mutex_condvar_handoff_across_blocking_recv)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        reset();
        memset(&ho, 0, sizeof ho);
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        vmcisim_proc *peer =
            vmcisim_spawn_main(vmcisim_host(sim), "peer", handoff_peer_main, 0, NULL);
        vmcisim_proc *p = vmcisim_spawn_main(g, "handoff", handoff_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(p), 0);
        ck_assert_int_eq(status_of(peer), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- simulated time: sleep(5), a 2 s pthread_cond_timedwait, time() ----------------------- */

static struct {
    time_t t0, t1;
    int64_t mono_ns, timed_rc, cond_ns;
    int64_t tv_sec;
    int64_t past_deadline_ns; /* CLOCK_REALTIME after the timed wait, minus its deadline */
} tm_res;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int time_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned secs = realtime_mode ? 0 : 5;
    tm_res.t0 = time(NULL);
    int64_t m0 = mono_ns();
    if (sleep(secs) != 0)
        return 30;
    tm_res.t1 = time(NULL);
    tm_res.mono_ns = mono_ns() - m0;

    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += realtime_mode ? 0 : 2;
    abs.tv_nsec += realtime_mode ? 20000000 : 0;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    int64_t c0 = mono_ns();
    int rc;
    do
        rc = pthread_cond_timedwait(&cv, &mu, &abs);
    while (rc == 0);
    tm_res.cond_ns = mono_ns() - c0;
    struct timespec after;
    clock_gettime(CLOCK_REALTIME, &after);
    tm_res.past_deadline_ns = ((int64_t)after.tv_sec - (int64_t)abs.tv_sec) * 1000000000 +
                              (after.tv_nsec - abs.tv_nsec);
    tm_res.timed_rc = rc;
    pthread_mutex_unlock(&mu);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    tm_res.tv_sec = tv.tv_sec;
    return 0;
}

START_TEST(sleep_5_and_cond_timedwait_2s_on_simulated_time)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        memset(&tm_res, 0, sizeof tm_res);
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        vmcisim_proc *p = vmcisim_spawn_main(g, "clock", time_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(p), 0);
        ck_assert_int_eq(tm_res.timed_rc, ETIMEDOUT);
        if (!realtime_mode) {
            /* contract: time() moves by 5 across sleep(5), on the simulated clock from its
             * fixed base; the timed wait lasts exactly its 2 simulated seconds */
            ck_assert_int_eq(tm_res.t0, EPOCH_BASE);
            ck_assert_int_eq(tm_res.t1 - tm_res.t0, 5);
            ck_assert_int_eq(tm_res.mono_ns, 5000000000ll);
            ck_assert_int_eq(tm_res.cond_ns, 2000000000ll);
            ck_assert_int_eq(tm_res.tv_sec, EPOCH_BASE + 7);
            ck_assert_uint_eq(vmcisim_now(sim), 7000000000ull);
        } else {
            /* realtime: the simulated clock is the wall clock; a timed wait never ends before
             * its deadline (POSIX pthread_cond_timedwait). Measured against the deadline
             * itself: a span started after the deadline was computed is shorter than 20 ms
             * by whatever ran in between (30 us under TSan once). */
            ck_assert_int_ge(tm_res.past_deadline_ns, 0);
        }
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- rand()/getrandom(): the seed decides (contract: same seed, same trace) --------------- */

static int random_main(int argc, char **argv)
{
    (void)argc;
    vmcisim *sim = vmcisim_self_world();
    char line[160];
    unsigned char b[300];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return 20;
    snprintf(line, sizeof line,
             "%s rand=%d random=%ld bytes=%02x%02x%02x%02x%02x%02x%02x%02x world=%llu", argv[0],
             rand(), random(), b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
             (unsigned long long)vmcisim_random());
    vmcisim_trace_note(sim, line);
    if (rand() > RAND_MAX)
        return 21;
    usleep((useconds_t)(rand() % 1000));
    if (getentropy(b, 257) != -1 || errno != EIO)
        return 22;
    return 0;
}

static uint64_t random_hash(uint64_t seed)
{
    vmcisim_vm *g;
    vmcisim *sim = mk(seed, &g);
    char *a1[] = {"r1", NULL}, *a2[] = {"r2", NULL};
    vmcisim_proc *p1 = vmcisim_spawn_main(g, "r1", random_main, 1, a1);
    vmcisim_proc *p2 = vmcisim_spawn_main(vmcisim_host(sim), "r2", random_main, 1, a2);
    run_ok(sim, seed);
    ck_assert_int_eq(status_of(p1), 0);
    ck_assert_int_eq(status_of(p2), 0);
    uint64_t h = vmcisim_trace_hash(sim);
    vmcisim_destroy(sim);
    return h;
}

START_TEST(rand_and_getrandom_follow_the_seed)
{
    uint64_t prev = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        uint64_t h = random_hash(seed);
        ck_assert_uint_eq(random_hash(seed), h);
        ck_assert_uint_ne(h, prev);
        prev = h;
    }
}
END_TEST

/* srand(): from then on rand() is the C library's sequence for that seed */
static int seeded[3];
static int srand_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    srand(42);
    for (int i = 0; i < 3; i++)
        seeded[i] = rand();
    return 0;
}

START_TEST(srand_gives_the_libc_sequence)
{
    vmcisim_vm *g;
    vmcisim *sim = mk(9, &g);
    vmcisim_proc *p = vmcisim_spawn_main(g, "seeded", srand_main, 0, NULL);
    run_ok(sim, 9);
    ck_assert_int_eq(status_of(p), 0);
    vmcisim_destroy(sim);
    srand(42); /* this thread is outside the simulation: the C library itself */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(seeded[i], rand());
}
END_TEST

/* ---- SIGPIPE, §2.7: EPIPE + SIGPIPE unless MSG_NOSIGNAL ---------------------------------- */

enum pipe_case { PIPE_DEFAULT, PIPE_HANDLER, PIPE_NOSIGNAL, PIPE_IGNORE };

static void on_sigpipe(int sig)
{
    if (sig == SIGPIPE)
        add(&res.handler_runs, 1);
}

static int pipe_client_main(int argc, char **argv)
{
    enum pipe_case c = (enum pipe_case)atoi(argv[1]);
    (void)argc;
    if (c == PIPE_HANDLER) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigpipe;
        if (sigaction(SIGPIPE, &sa, NULL) != 0)
            return 10;
    } else if (c == PIPE_IGNORE) {
        if (signal(SIGPIPE, SIG_IGN) != SIG_DFL)
            return 11;
    }
    int fd = connect_retry(VMADDR_CID_HOST, PORT_PIPE);
    if (fd < 0 || vmci_shutdown(fd, SHUT_WR) != 0)
        return 12;
    errno = 0;
    ssize_t r = vmci_send(fd, "a", 1, c == PIPE_NOSIGNAL ? MSG_NOSIGNAL : 0);
    set(&res.after_send, 1);
    set(&res.client_done, 1);
    if (r != -1 || errno != EPIPE)
        return 13;
    vmci_close(fd);
    return 0;
}

static int pipe_server_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int l = listen_on(PORT_PIPE, 1);
    int fd = vmci_accept(l, NULL, NULL);
    if (fd < 0)
        return 1;
    char c;
    /* the client's end: EOF once it shut down writing (and, if it died, closed) */
    if (vmci_recv(fd, &c, 1, 0) != 0)
        return 2;
    vmci_close(fd);
    vmci_close(l);
    return 0;
}

static void pipe_case(enum pipe_case c, uint64_t seed)
{
    reset();
    vmcisim_vm *g;
    vmcisim *sim = mk(seed, &g);
    char cs[4];
    snprintf(cs, sizeof cs, "%d", (int)c);
    char *argv[] = {"pipe", cs, NULL};
    vmcisim_proc *srv = vmcisim_spawn_main(vmcisim_host(sim), "server", pipe_server_main, 0, NULL);
    vmcisim_proc *cl = vmcisim_spawn_main(g, "client", pipe_client_main, 2, argv);
    run_ok(sim, seed);
    ck_assert_int_eq(status_of(srv), 0);
    if (c == PIPE_DEFAULT) {
        ck_assert_int_eq(status_of(cl), 128 + SIGPIPE); /* 141 */
        ck_assert_int_eq(get(&res.after_send), 0);
    } else {
        ck_assert_int_eq(status_of(cl), 0);
        ck_assert_int_eq(get(&res.after_send), 1);
    }
    ck_assert_int_eq(get(&res.handler_runs), c == PIPE_HANDLER ? 1 : 0);
    vmcisim_destroy(sim);
}

START_TEST(sigpipe_default_ends_the_process_with_141)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++)
        pipe_case(PIPE_DEFAULT, seed);
}
END_TEST

START_TEST(sigpipe_handler_runs_then_epipe)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++)
        pipe_case(PIPE_HANDLER, seed);
}
END_TEST

START_TEST(sigpipe_msg_nosignal_gives_epipe_only)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++)
        pipe_case(PIPE_NOSIGNAL, seed);
}
END_TEST

START_TEST(sigpipe_sig_ign_gives_epipe_only)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++)
        pipe_case(PIPE_IGNORE, seed);
}
END_TEST

/* ---- VM power-off ends its processes with 128+9 (contract) ------------------------------- */

static pthread_mutex_t off_mu = PTHREAD_MUTEX_INITIALIZER;

static void *off_blocked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&off_mu); /* held by main forever: a waiting simulated thread */
    set(&res.after_exit, 1);
    return NULL;
}

static int doomed_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pthread_mutex_lock(&off_mu);
    pthread_t t;
    if (pthread_create(&t, NULL, off_blocked, NULL) != 0)
        return 1;
    set(&res.listening, 1);
    sleep(1000);
    set(&res.after_exit, 2);
    return 0;
}

struct power {
    vmcisim_vm *g;
};

static int power_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    wait_flag(&res.listening, 1);
    usleep(5000);
    extern struct power power_arg;
    return vmcisim_vm_power_off(power_arg.g) == 0 ? 0 : 1;
}
struct power power_arg;

START_TEST(power_off_ends_processes_with_137)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        reset();
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        power_arg.g = g;
        vmcisim_proc *d = vmcisim_spawn_main(g, "doomed", doomed_main, 0, NULL);
        vmcisim_proc *p = vmcisim_spawn_main(vmcisim_host(sim), "operator", power_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(d), 128 + SIGKILL);
        ck_assert_int_eq(status_of(p), 0);
        ck_assert_int_eq(get(&res.after_exit), 0);
        vmcisim_destroy(sim);
        /* the killed main held off_mu; a fresh one for the next seed */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        memcpy(&off_mu, &fresh, sizeof fresh);
    }
}
END_TEST

/* ---- a mutex deadlock is reported, naming the waiting threads (contract) ------------------ */

static pthread_mutex_t dl_a = PTHREAD_MUTEX_INITIALIZER, dl_b = PTHREAD_MUTEX_INITIALIZER;
static int dl_step;
static void *dl_other(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl_b);
    set(&dl_step, 1);
    pthread_mutex_lock(&dl_a);
    return NULL;
}

static int deadlock_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pthread_mutex_lock(&dl_a);
    pthread_t t;
    pthread_create(&t, NULL, dl_other, NULL);
    wait_flag(&dl_step, 1);
    pthread_mutex_lock(&dl_b);
    return 0;
}

START_TEST(mutex_deadlock_is_reported)
{
    vmcisim_vm *g;
    vmcisim *sim = mk(4, &g);
    ck_assert_ptr_nonnull(vmcisim_spawn_main(g, "dl", deadlock_main, 0, NULL));
    ck_assert_int_eq(vmcisim_run(sim), -1);
    const char *e = vmcisim_error(sim);
    ck_assert_msg(strstr(e, "thread 'dl' of VM 'guest' (cid 3) waits for pthread_mutex_lock") &&
                      strstr(e, "thread 'dl.1' of VM 'guest' (cid 3) waits for "
                                "pthread_mutex_lock"),
                  "%s", e);
    vmcisim_destroy(sim);
}
END_TEST

/* ---- main's pthread_exit leaves the process to its threads; errno is per thread ---------- */

static __thread int tls_mark;

static void *detached_worker(void *arg)
{
    (void)arg;
    errno = EIO;
    tls_mark = 2;
    sleep(1); /* the main thread runs and ends meanwhile */
    if (errno == EIO && tls_mark == 2)
        set(&res.others_done, 1);
    return NULL;
}

static int leaving_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &a, detached_worker, NULL) != 0)
        return 1;
    pthread_attr_destroy(&a);
    errno = ENOENT;
    tls_mark = 1;
    usleep(1000);
    if (errno != ENOENT || tls_mark != 1)
        return 2;
    if (pthread_join(t, NULL) != EINVAL) /* detached: not joinable (POSIX, glibc) */
        return 3;
    pthread_exit(NULL);
}

START_TEST(main_pthread_exit_leaves_threads_running_with_their_own_errno)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        reset();
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        vmcisim_proc *p = vmcisim_spawn_main(g, "leaver", leaving_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(p), 0);
        ck_assert_int_eq(get(&res.others_done), 1);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- a sched_yield spin loop lets the others run; sem_timedwait times out on sim time ---- */

static int spin_flag;
static sem_t spin_sem;

static void *spin_setter(void *arg)
{
    (void)arg;
    usleep(500);
    set(&spin_flag, 1);
    return NULL;
}

static int spin_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pthread_t t;
    if (pthread_create(&t, NULL, spin_setter, NULL) != 0)
        return 1;
    while (!get(&spin_flag))
        sched_yield(); /* deterministic mode: one thread runs at a time, so this must yield */
    pthread_join(t, NULL);
    sem_init(&spin_sem, 0, 0);
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 1000000; /* 1 ms */
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    errno = 0;
    if (sem_timedwait(&spin_sem, &abs) != -1 || errno != ETIMEDOUT)
        return 2;
    sem_post(&spin_sem);
    if (sem_timedwait(&spin_sem, &abs) != 0) /* a token: no wait, even past the deadline */
        return 3;
    sem_destroy(&spin_sem);
    return 0;
}

START_TEST(sched_yield_spin_and_sem_timedwait)
{
    for (uint64_t seed = 1; seed <= (realtime_mode ? 1 : SEEDS); seed++) {
        spin_flag = 0;
        vmcisim_vm *g;
        vmcisim *sim = mk(seed, &g);
        vmcisim_proc *p = vmcisim_spawn_main(g, "spin", spin_main, 0, NULL);
        run_ok(sim, seed);
        ck_assert_int_eq(status_of(p), 0);
        vmcisim_destroy(sim);
    }
}
END_TEST

/* ---- argument checks ------------------------------------------------------------------------ */

START_TEST(spawn_main_rejects_bad_arguments)
{
    vmcisim_vm *g;
    vmcisim *sim = mk(1, &g);
    errno = 0;
    ck_assert_ptr_null(vmcisim_spawn_main(g, "x", NULL, 0, NULL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(vmcisim_spawn_main(g, "x", srand_main, 2, NULL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(vmcisim_proc_status(NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    vmcisim_destroy(sim);
}
END_TEST

static void add_cases(TCase *tc)
{
    tcase_add_test(tc, thread_per_connection_echo_server_8_clients);
    tcase_add_test(tc, exit_3_ends_that_process_only);
    tcase_add_test(tc, mutex_condvar_handoff_across_blocking_recv);
    tcase_add_test(tc, sleep_5_and_cond_timedwait_2s_on_simulated_time);
    tcase_add_test(tc, sigpipe_default_ends_the_process_with_141);
    tcase_add_test(tc, sigpipe_handler_runs_then_epipe);
    tcase_add_test(tc, sigpipe_msg_nosignal_gives_epipe_only);
    tcase_add_test(tc, sigpipe_sig_ign_gives_epipe_only);
    tcase_add_test(tc, power_off_ends_processes_with_137);
    tcase_add_test(tc, main_pthread_exit_leaves_threads_running_with_their_own_errno);
    tcase_add_test(tc, sched_yield_spin_and_sem_timedwait);
}

static void set_det(void) { realtime_mode = 0; }
static void set_rt(void) { realtime_mode = 1; }

int main(void)
{
    Suite *s = suite_create("proc");
    TCase *det = tcase_create("deterministic");
    tcase_add_unchecked_fixture(det, set_det, NULL);
    add_cases(det);
    tcase_add_test(det, rand_and_getrandom_follow_the_seed);
    tcase_add_test(det, srand_gives_the_libc_sequence);
    tcase_add_test(det, mutex_deadlock_is_reported);
    tcase_add_test(det, spawn_main_rejects_bad_arguments);
    tcase_set_timeout(det, 300);
    suite_add_tcase(s, det);
    TCase *rt = tcase_create("realtime");
    tcase_add_unchecked_fixture(rt, set_rt, NULL);
    add_cases(rt);
    tcase_set_timeout(rt, 300);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
