/*
 * ctl_pair.c - a plain Linux program that blocks on REAL descriptors while other simulated
 * threads must run (tests/exec/realwait.sh): in deterministic mode such a call gives up the
 * world's turn (src/preload/realwait.c) instead of holding it in the kernel.
 *
 * `server PATH` / `client PATH CID`: the structure of Linux's tools/testing/vsock/vsock_test: a
 * control connection outside the world (here a Unix stream socket at PATH.<parent pid>, so
 * parallel runs do not meet) on which the two sides agree, line by line with blocking calls,
 * when the server listens on vsock; then a vsock connection carries a known payload and a
 * reply, for 3 rounds. The server's accept and recv on the control socket, and the client's
 * byte-by-byte read, block until the other program (another process of the world) writes.
 *
 * `pipe`: a pthread that sleeps (simulated) and writes into a pipe while the main thread
 * blocks in read() on it; then the main thread writes into a second pipe that the other
 * thread blocks reading (each thread waits on its own channel). An ended, unreaped child (a
 * zombie) is there all along: it is no writer, so these waits are still the world's.
 *
 * `child`: a child process the program forks (outside the world) writes into a pipe after 20 ms
 * of wall time while the program blocks reading it: that call holds the turn (the world stands
 * still, so simulated time does not move) instead of waiting in the world.
 *
 * `bulk`: calls that need more than one readiness: one write(2) of 1 MiB into a pipe (it holds
 * 64 KiB) read by another thread 64 KiB at a time with a simulated 1 ms sleep before each read,
 * then one send(2) of 1 MiB on a Unix stream socket pair received with one recv(MSG_WAITALL)
 * of 1 MiB, and one writev(2) of 3 x 100 000 bytes into the pipe. Each must return the whole
 * count (a blocking call's result) while the other thread runs.
 *
 * Exit status 0 only when every byte matched; otherwise which step failed:
 *   server 20-29 control, 30-39 vsock, 40 payload differs; client 50-59 control, 60-69
 *   vsock, 70 reply differs; pipe 80-89; child 90-99; bulk 100-119.
 * Stdout lines carry the simulated time, so two runs with one seed print the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3
#define PORT0 7000u

static unsigned long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000ull + (unsigned long long)t.tv_nsec / 1000;
}

static unsigned char pattern(int round, size_t i)
{
    return (unsigned char)(i * 31u + (size_t)round * 7u + 1u);
}

static size_t payload_len(int round) { return 1000u * (size_t)(round + 1) + 7u; }

static int ctl_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path, sizeof a->sun_path, "%s.%ld", path, (long)getppid());
    return n > 0 && (size_t)n < sizeof a->sun_path ? 0 : -1;
}

/* vsock_test's control_writeln: the whole line, blocking */
static int ctl_write(int fd, const char *line, int use_send)
{
    size_t n = strlen(line), done = 0;
    while (done < n) {
        ssize_t r = use_send ? send(fd, line + done, n - done, MSG_NOSIGNAL)
                             : write(fd, line + done, n - done);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* vsock_test's control_readln: one byte per call, so every call after the first finds data
 * ready and the first one blocks until the other side writes */
static int ctl_expect(int fd, const char *want, int use_recv)
{
    char buf[64];
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = use_recv ? recv(fd, &ch, 1, 0) : read(fd, &ch, 1);
        if (r != 1 || n + 1 >= sizeof buf)
            return -1;
        buf[n++] = ch;
        if (ch == '\n')
            break;
    }
    buf[n] = 0;
    return strcmp(buf, want) == 0 ? 0 : -1;
}

static int recv_full(int fd, unsigned char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = recv(fd, buf + done, n - done, 0);
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int server(const char *path)
{
    struct sockaddr_un ca;
    if (ctl_addr(path, &ca) < 0)
        return 20;
    unlink(ca.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&ca, sizeof ca) != 0 || listen(l, 1) != 0)
        return 21;
    int ctl = accept(l, NULL, NULL); /* blocks until the client (another VM's process) connects */
    if (ctl < 0)
        return 22;
    printf("control accepted t_us=%llu\n", now_us());
    static unsigned char buf[8192];
    for (int r = 0; r < ROUNDS; r++) {
        if (ctl_expect(ctl, "NEXT\n", 1) < 0)
            return 23;
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm a = {.svm_family = AF_VSOCK,
                                .svm_port = PORT0 + (unsigned)r,
                                .svm_cid = VMADDR_CID_ANY};
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0)
            return 30;
        if (ctl_write(ctl, "LISTENING\n", 1) < 0)
            return 24;
        int c = accept(s, NULL, NULL);
        if (c < 0)
            return 31;
        size_t n = payload_len(r);
        if (recv_full(c, buf, n) < 0)
            return 32;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern(r, i))
                return 40;
        char reply[32];
        int m = snprintf(reply, sizeof reply, "GOT %d %zu", r, n);
        if (send(c, reply, (size_t)m, 0) != m)
            return 33;
        close(c);
        close(s);
        printf("round %d: %zu bytes ok t_us=%llu\n", r, n, now_us());
    }
    char ch;
    if (read(ctl, &ch, 1) != 0) /* the client's close: end of file, after a blocking wait */
        return 25;
    printf("control eof t_us=%llu\n", now_us());
    close(ctl);
    close(l);
    unlink(ca.sun_path);
    return 0;
}

static int client(const char *path, unsigned cid)
{
    struct sockaddr_un ca;
    if (ctl_addr(path, &ca) < 0)
        return 50;
    int ctl = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ctl < 0)
        return 51;
    int tries = 0;
    while (connect(ctl, (struct sockaddr *)&ca, sizeof ca) != 0) {
        if ((errno != ENOENT && errno != ECONNREFUSED) || ++tries > 100)
            return 52;
        usleep(1000); /* simulated: the server's turn to bind */
    }
    printf("control connected after %d retries t_us=%llu\n", tries, now_us());
    static unsigned char buf[8192];
    for (int r = 0; r < ROUNDS; r++) {
        if (ctl_write(ctl, "NEXT\n", 0) < 0)
            return 53;
        if (ctl_expect(ctl, "LISTENING\n", 0) < 0)
            return 54;
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = PORT0 + (unsigned)r,
                                .svm_cid = cid};
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
            return 60;
        size_t n = payload_len(r);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(r, i);
        if (send(s, buf, n, 0) != (ssize_t)n)
            return 61;
        char want[32], got[32];
        int m = snprintf(want, sizeof want, "GOT %d %zu", r, n);
        if (recv_full(s, (unsigned char *)got, (size_t)m) < 0)
            return 62;
        if (memcmp(got, want, (size_t)m) != 0)
            return 70;
        close(s);
        printf("round %d: reply ok t_us=%llu\n", r, now_us());
    }
    close(ctl);
    return 0;
}

/* ---- pipe: two threads of one program -------------------------------------------------------- */

static int p1[2], p2[2];
static int thread_status;

static void *writer(void *arg)
{
    (void)arg;
    char chunk[100];
    for (int r = 0; r < 3; r++) {
        usleep(1000);
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)pattern(r, i);
        if (write(p1[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
            thread_status = 81;
            return NULL;
        }
    }
    close(p1[1]);
    /* now this thread blocks on a real read; the main thread writes after a simulated sleep */
    char back[8];
    struct iovec iov = {.iov_base = back, .iov_len = sizeof back};
    ssize_t n = readv(p2[0], &iov, 1);
    if (n != 4 || memcmp(back, "done", 4) != 0) {
        thread_status = 82;
        return NULL;
    }
    printf("thread read back t_us=%llu\n", now_us());
    return NULL;
}

static int pipe_case(void)
{
    if (pipe(p1) != 0 || pipe(p2) != 0)
        return 80;
    /* a child that has ended but is not reaped (a zombie) is no writer: the waits below are
     * still the world's (the library looks in /proc for a child that runs) */
    pid_t z = fork();
    if (z == 0)
        _exit(0);
    siginfo_t si;
    if (z < 0 || waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT) != 0)
        return 87;
    unsigned long long t0 = now_us();
    pthread_t t;
    if (pthread_create(&t, NULL, writer, NULL) != 0)
        return 80;
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(p1[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pattern((int)((total + (size_t)i) / 100),
                                                 (total + (size_t)i) % 100))
                return 83;
        total += (size_t)n;
        printf("read %zd at t_us=%llu\n", n, now_us() - t0);
    }
    if (n < 0 || total != 300)
        return 84;
    usleep(500);
    if (write(p2[1], "done", 4) != 4)
        return 85;
    if (pthread_join(t, NULL) != 0)
        return 86;
    if (waitpid(z, NULL, 0) != z)
        return 88;
    printf("pipe ok total=%zu t_us=%llu\n", total, now_us() - t0);
    return thread_status;
}

/* ---- child: the writer is a process the program forked (outside the world) ------------------- */

static int child_case(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 90;
    unsigned long long t0 = now_us();
    pid_t pid = fork();
    if (pid < 0)
        return 91;
    if (pid == 0) {
        /* outside the world: the C library's sleep, on the wall clock */
        struct timespec d = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
        nanosleep(&d, NULL);
        _exit(write(p[1], "from child", 10) == 10 ? 0 : 1);
    }
    close(p[1]);
    char buf[32];
    ssize_t n = read(p[0], buf, sizeof buf);
    unsigned long long t = now_us() - t0;
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 92;
    if (n != 10 || memcmp(buf, "from child", 10) != 0)
        return 93;
    printf("child data read at t_us=%llu\n", t);
    return 0;
}

/* ---- bulk: calls that need many readinesses ------------------------------------------------- */

#define BULK (1024u * 1024u)
static int bq[2], bs[2];
static unsigned char *big;
static int bulk_status;

static void *bulk_reader(void *arg)
{
    (void)arg;
    unsigned char *buf = malloc(65536);
    size_t total = 0;
    ssize_t n;
    usleep(1000);
    while (buf && total < BULK && (n = read(bq[0], buf, 65536)) > 0) {
        if (memcmp(buf, big + total, (size_t)n) != 0) {
            bulk_status = 101;
            break;
        }
        total += (size_t)n;
        usleep(1000);
    }
    if (!bulk_status && total != BULK)
        bulk_status = 102;
    /* then this thread sends 1 MiB in one call on the socket pair */
    if (!bulk_status && send(bs[1], big, BULK, 0) != (ssize_t)BULK)
        bulk_status = 103;
    /* and reads the writev's 300 000 bytes */
    total = 0;
    while (!bulk_status && total < 300000 && (n = read(bq[0], buf, 65536)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (unsigned char)((total + (size_t)i) % 100000 * 7u + (total + (size_t)i) / 100000))
                bulk_status = 104;
        total += (size_t)n;
    }
    if (!bulk_status && total != 300000)
        bulk_status = 105;
    free(buf);
    return NULL;
}

static int bulk_case(void)
{
    big = malloc(BULK);
    unsigned char *in = malloc(BULK);
    unsigned char *v[3];
    for (int k = 0; k < 3; k++)
        v[k] = malloc(100000);
    if (!big || !in || !v[0] || !v[1] || !v[2] || pipe(bq) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, bs) != 0)
        return 100;
    for (size_t i = 0; i < BULK; i++)
        big[i] = pattern(5, i);
    unsigned long long t0 = now_us();
    pthread_t t;
    if (pthread_create(&t, NULL, bulk_reader, NULL) != 0)
        return 100;
    ssize_t n = write(bq[1], big, BULK);
    printf("write %zd into the pipe, done at t_us=%llu\n", n, now_us() - t0);
    if (n != (ssize_t)BULK)
        return 110;
    memset(in, 0, BULK);
    n = recv(bs[0], in, BULK, MSG_WAITALL);
    printf("recv MSG_WAITALL %zd at t_us=%llu\n", n, now_us() - t0);
    if (n != (ssize_t)BULK || memcmp(in, big, BULK) != 0)
        return 111;
    struct iovec iov[3];
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < 100000; i++)
            v[k][i] = (unsigned char)(i * 7u + (size_t)k);
        iov[k] = (struct iovec){v[k], 100000};
    }
    n = writev(bq[1], iov, 3);
    printf("writev %zd into the pipe at t_us=%llu\n", n, now_us() - t0);
    if (n != 300000)
        return 112;
    if (pthread_join(t, NULL) != 0)
        return 113;
    printf("bulk ok t_us=%llu\n", now_us() - t0);
    return bulk_status;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        return server(argv[2]);
    if (argc == 4 && strcmp(argv[1], "client") == 0)
        return client(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    if (argc == 2 && strcmp(argv[1], "pipe") == 0)
        return pipe_case();
    if (argc == 2 && strcmp(argv[1], "child") == 0)
        return child_case();
    if (argc == 2 && strcmp(argv[1], "bulk") == 0)
        return bulk_case();
    fprintf(stderr, "usage: ctl_pair server PATH | client PATH CID | pipe | child | bulk\n");
    return 2;
}
