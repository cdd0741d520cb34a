/*
 * vsock_echo.c - a plain Linux program (no vmcisim header, no vmcisim library) that the exec
 * tests run unmodified under `exec`: `server PORT` accepts one connection and echoes what it
 * reads, upper-cased, until end of file; `client CID PORT` sends a message, checks the echo,
 * and reports time and rand() draws. Exit codes say what went wrong (the scenario checks them):
 *   0 ok; 10+n a failed call (n: which); 3 an echo that differs.
 * `sleeper N` sleeps N rounds of 1 ms (for the lifecycle tests); `exit7` exits with 7;
 * `acceptclose PORT` / `sigpipe CID PORT` end the writer by SIGPIPE; `segv` crashes.
 * Stdout lines are compared by the test across two runs with the same seed (time and rand come
 * from the world, so they are the same).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int server(unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0)
        return 10;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
        return 11;
    if (listen(s, 4) != 0)
        return 12;
    struct sockaddr_vm peer;
    socklen_t pl = sizeof peer;
    int c = accept(s, (struct sockaddr *)&peer, &pl);
    if (c < 0)
        return 13;
    printf("accepted cid=%u len=%u\n", peer.svm_cid, (unsigned)pl);
    char buf[4096];
    ssize_t n;
    size_t total = 0;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (write(c, buf, (size_t)n) != n)
            return 14;
        total += (size_t)n;
    }
    if (n < 0)
        return 15;
    printf("echoed %zu bytes, eof\n", total);
    close(c);
    close(s);
    return 0;
}

static int client(unsigned cid, unsigned port)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 20;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("connect: %s\n", strerror(errno));
        return 21;
    }
    const char msg[] = "hello from an unmodified program";
    if (send(s, msg, sizeof msg - 1, 0) != (ssize_t)sizeof msg - 1)
        return 22;
    char buf[64] = {0};
    size_t got = 0;
    while (got < sizeof msg - 1) {
        ssize_t n = recv(s, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            return 23;
        got += (size_t)n;
    }
    for (size_t i = 0; i < got; i++)
        if (buf[i] != toupper((unsigned char)msg[i]))
            return 3;
    struct sockaddr_vm me;
    socklen_t ml = sizeof me;
    if (getsockname(s, (struct sockaddr *)&me, &ml) != 0)
        return 24;
    shutdown(s, SHUT_WR);
    if (recv(s, buf, sizeof buf, 0) != 0)
        return 25;
    close(s);
    usleep(2500);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return 26;
    printf("echo ok: %s\nmy cid=%u\nelapsed_ns=%lld\nrand=%d %d\nrandom=%02x%02x%02x%02x\n", buf,
           me.svm_cid,
           (long long)(t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec), rand(),
           rand(), r[0], r[1], r[2], r[3]);
    return 0;
}

/* N one-byte round trips with the echo server: the cross-process switch cost measurement
 * (docs/exec-protocol.md). */
static int pingpong(unsigned cid, unsigned port, long n)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        return 30;
    char b = 'x';
    for (long i = 0; i < n; i++)
        if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1)
            return 31;
    close(s);
    return 0;
}

/* Accept one connection and close it 2 ms later (the peer of `sigpipe`). */
static int acceptclose(unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0)
        return 40;
    int c = accept(s, NULL, NULL);
    if (c < 0)
        return 41;
    usleep(2000); /* the peer's connect has completed by now (accept may come first) */
    close(c);
    close(s);
    return 0;
}

/* Write to a connection the peer closed, with SIGPIPE's default disposition: Linux ends the
 * process with the signal (vmci-semantics.md 2.8: EPIPE + SIGPIPE without MSG_NOSIGNAL). */
static int sigpipe(unsigned cid, unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        return 50;
    char b[1] = {0};
    for (int i = 0; i < 100; i++) {
        usleep(1000);
        if (send(s, b, 1, 0) < 0)
            return 51; /* EPIPE returned: the signal did not end us */
    }
    return 52;
}

/* N rounds of a 1 ms sleep, each printing the simulated time it took: a suspend of the VM shows
 * as one long round; a power-off ends the program (the test checks its pid is gone). */
static int sleeper(int n)
{
    printf("pid %ld\n", (long)getpid());
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        usleep(1000);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("round %d took %lld us\n", i,
               ((long long)(b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec)) / 1000);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "server"))
        return server((unsigned)atoi(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "client"))
        return client((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "pingpong"))
        return pingpong((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), atol(argv[4]));
    if (argc == 3 && !strcmp(argv[1], "acceptclose"))
        return acceptclose((unsigned)atoi(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "sigpipe"))
        return sigpipe((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
    if (argc == 2 && !strcmp(argv[1], "segv")) {
        volatile int *p = NULL;
        __asm__("" : "+r"(p)); /* a crash the compiler cannot see coming: signal 11 */
        return *p;
    }
    if (argc == 3 && !strcmp(argv[1], "sleeper"))
        return sleeper(atoi(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "exit7"))
        return 7;
    fprintf(stderr, "usage: vsock_echo server PORT | client CID PORT | pingpong CID PORT N | sleeper N |\n"
                    "       acceptclose PORT | sigpipe CID PORT | segv | exit7\n");
    return 2;
}
