/*
 * exec_waits.c - a plain Linux program (no vmcisim header or library) for the waits with a
 * signal mask or a nanosecond timeout: ppoll, pselect, epoll_pwait, epoll_pwait2, and the
 * argument checks of select and epoll_ctl, on a vsock connection to the echo server
 * (vsock_echo server PORT, which sends back what it reads, upper-cased).
 *
 * `alarm`: alarm and setitimer(ITIMER_REAL) in simulated time: the SIGALRM handler runs at the
 * instant the timer was set for, and the poll, sleep or select it interrupts fails with EINTR
 * (nanosleep's remainder exact), getitimer reads what is left, an interval fires again.
 *
 * `waits CID PORT`: every check prints "ok N what" or "FAIL N what" with what came back; exit
 * status 0 when all held, else the number of the first failed one. In deterministic mode the
 * time a wait took is the simulated time, exactly its timeout; in realtime mode (`rt` as a
 * fourth word) only "at least its timeout" is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "exec/expect.h"

static bool realtime;
static volatile sig_atomic_t usr1;



static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The wait that started at t0 took exactly want ns (simulated time), or at least that long on
 * the wall clock. */
static void took(int id, const char *what, int64_t t0, int64_t want)
{
    int64_t d = now_ns() - t0;
    bool ok = realtime ? d >= want : d == want;
    printf("%s %d %s: took %lld ns, timeout %lld\n", ok ? "ok" : "FAIL", id, what, (long long)d,
           (long long)want);
    if (!ok && !first_fail)
        first_fail = id;
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static int waits(unsigned cid, unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    /* in realtime mode the server may not listen yet: retry a refused connect for 2 s */
    int rc = -1;
    for (int i = 0; i < 200 && rc != 0; i++) {
        rc = connect(s, (struct sockaddr *)&a, sizeof a);
        if (rc != 0 && (errno == ECONNRESET || errno == ECONNREFUSED) && realtime) {
            close(s);
            s = socket(AF_VSOCK, SOCK_STREAM, 0);
            usleep(10000);
            continue;
        }
        break;
    }
    expect(1, "connect", rc, 0, 0);
    if (rc != 0)
        return first_fail;
    char buf[16];

    /* ppoll: nothing to read, a timeout of 2.5 ms in nanoseconds */
    struct pollfd p = {.fd = s, .events = POLLIN};
    struct timespec t = {0, 2500000};
    int64_t t0 = now_ns();
    expect(2, "ppoll, nothing to read", ppoll(&p, 1, &t, NULL), 0, 0);
    took(3, "ppoll's timeout", t0, 2500000);
    expect(4, "ppoll leaves its timeout alone", t.tv_nsec == 2500000, 1, 0);
    expect(5, "send \"ab\"", send(s, "ab", 2, 0), 2, 0);
    expect(6, "ppoll without a timeout sees the echo", ppoll(&p, 1, NULL, NULL), 1, 0);
    expect(7, "POLLIN", p.revents, POLLIN, 0);
    memset(buf, 0, sizeof buf);
    expect(8, "recv \"AB\"", recv(s, buf, sizeof buf, 0) == 2 && !strcmp(buf, "AB"), 1, 0);
    expect(9, "ppoll, timeout at (void*)1", ppoll(&p, 1, BAD, NULL), -1, EFAULT);
    struct timespec over = {0, 1000000000};
    expect(10, "ppoll, tv_nsec 10^9", ppoll(&p, 1, &over, NULL), -1, EINVAL);
    expect(11, "ppoll, mask at (void*)1", ppoll(&p, 1, &t, BAD), -1, EFAULT);

    /* pselect: the vsock descriptor in the read set, 1.5 ms */
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    t = (struct timespec){0, 1500000};
    t0 = now_ns();
    expect(12, "pselect, nothing to read", pselect(s + 1, &rd, NULL, NULL, &t, NULL), 0, 0);
    took(13, "pselect's timeout", t0, 1500000);
    expect(14, "pselect emptied the set", FD_ISSET(s, &rd), 0, 0);
    expect(15, "select, read set at (void*)1", select(s + 1, BAD, NULL, NULL, NULL), -1, EFAULT);
    struct timeval tv = {0, 1};
    expect(16, "select, timeout at (void*)1", select(s + 1, &rd, NULL, NULL, BAD), -1, EFAULT);
    expect(17, "send \"c\"", send(s, "c", 1, 0), 1, 0);
    FD_SET(s, &rd);
    tv = (struct timeval){5, 0};
    expect(18, "select sees the echo", select(s + 1, &rd, NULL, NULL, &tv), 1, 0);
    expect(19, "in the read set", FD_ISSET(s, &rd) != 0, 1, 0);
    expect(20, "recv \"C\"", recv(s, buf, sizeof buf, 0), 1, 0);

    /* epoll: a descriptor that is not an epoll set is EINVAL; pwait2 in nanoseconds */
    int pfd[2];
    expect(21, "pipe", pipe(pfd), 0, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    expect(22, "epoll_ctl on a pipe", epoll_ctl(pfd[0], EPOLL_CTL_ADD, s, &ev), -1, EINVAL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    expect(23, "epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0, 0);
    struct epoll_event out[4];
    t = (struct timespec){0, 700000};
    t0 = now_ns();
    expect(24, "epoll_pwait2, nothing to read", epoll_pwait2(ep, out, 4, &t, NULL), 0, 0);
    took(25, "epoll_pwait2's timeout", t0, 700000);
    expect(26, "epoll_pwait2, timeout at (void*)1", epoll_pwait2(ep, out, 4, BAD, NULL), -1,
           EFAULT);
    expect(27, "epoll_wait, maxevents 0", epoll_wait(ep, out, 0, 0), -1, EINVAL);
    expect(28, "send \"d\"", send(s, "d", 1, 0), 1, 0);
    sigset_t none;
    sigemptyset(&none);
    expect(29, "epoll_pwait with a mask sees the echo", epoll_pwait(ep, out, 4, -1, &none), 1, 0);
    expect(30, "its data", out[0].data.u64 == 77 && out[0].events == EPOLLIN, 1, 0);
    expect(31, "recv \"D\"", recv(s, buf, sizeof buf, 0), 1, 0);
    expect(32, "send \"e\"", send(s, "e", 1, 0), 1, 0);
    expect(33, "epoll_wait into (void*)1 with the echo ready", epoll_wait(ep, BAD, 4, -1), -1,
           EFAULT);
    expect(34, "recv \"E\"", recv(s, buf, sizeof buf, 0), 1, 0);

    /* The signal mask: SIGUSR1 blocked and pending; a wait whose mask lets it through runs the
     * handler and fails with EINTR, and the thread's own mask is back afterwards. */
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t blocked, cur;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    raise(SIGUSR1);
    expect(35, "the handler has not run while blocked", usr1, 0, 0);
    t = (struct timespec){1, 0};
    expect(36, "ppoll with a mask that blocks it: no EINTR, timeout", ppoll(&p, 1, &(struct timespec){0, 1000}, &blocked), 0, 0);
    expect(37, "ppoll with SIGUSR1 let through", ppoll(&p, 1, &t, &none), -1, EINTR);
    expect(38, "the handler ran once", usr1, 1, 0);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    expect(39, "SIGUSR1 is blocked again", sigismember(&cur, SIGUSR1), 1, 0);
    raise(SIGUSR1);
    FD_SET(s, &rd);
    expect(40, "pselect with SIGUSR1 let through", pselect(s + 1, &rd, NULL, NULL, &t, &none),
           -1, EINTR);
    raise(SIGUSR1);
    expect(41, "epoll_pwait2 with SIGUSR1 let through", epoll_pwait2(ep, out, 4, &t, &none), -1,
           EINTR);
    expect(42, "the handler ran three times", usr1, 3, 0);

    close(ep);
    close(pfd[0]);
    close(pfd[1]);
    shutdown(s, SHUT_WR);
    expect(43, "eof", recv(s, buf, sizeof buf, 0), 0, 0);
    close(s);
    return first_fail;
}

static volatile sig_atomic_t alrm;
static int64_t alrm_at;

static void on_alrm(int sig)
{
    (void)sig;
    alrm++;
    alrm_at = now_ns();
}

static int alarms(void)
{
    struct sigaction sa = {.sa_handler = on_alrm}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    int pfd[2];
    expect(50, "pipe", pipe(pfd), 0, 0);

    /* an alarm of 2 s bounds a poll of 10 s: EINTR at 2 s of simulated time */
    int64_t t0 = now_ns();
    expect(51, "alarm(2), none pending before", alarm(2), 0, 0);
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    expect(52, "poll of 10 s on an empty pipe, interrupted", poll(&p, 1, 10000), -1, EINTR);
    expect(53, "the handler ran once", alrm, 1, 0);
    expect(54, "at 2 s", alrm_at - t0, 2000000000, 0);
    expect(55, "and the poll returned then", now_ns() - t0, 2000000000, 0);

    /* setitimer 50 ms bounds a nanosleep of 1 s: EINTR, 950 ms left */
    struct itimerval it = {.it_value = {0, 50000}};
    struct itimerval old;
    expect(56, "setitimer 50 ms", setitimer(ITIMER_REAL, &it, &old), 0, 0);
    expect(57, "nothing was armed", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0, 1, 0);
    struct itimerval cur;
    expect(58, "getitimer: 50 ms left", getitimer(ITIMER_REAL, &cur) == 0 &&
                                             cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 50000,
           1, 0);
    struct timespec req = {1, 0}, rem = {0, 0};
    expect(59, "nanosleep 1 s, interrupted", nanosleep(&req, &rem), -1, EINTR);
    expect(60, "950 ms left", rem.tv_sec == 0 && rem.tv_nsec == 950000000, 1, 0);
    expect(61, "the handler ran twice", alrm, 2, 0);

    /* an interval: 3 firings 10 ms apart during select's 35 ms, each ending one select */
    it = (struct itimerval){.it_value = {0, 10000}, .it_interval = {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int intr = 0;
    t0 = now_ns();
    for (int i = 0; i < 3; i++) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(pfd[0], &rd);
        struct timeval tv = {1, 0};
        intr += select(pfd[0] + 1, &rd, NULL, NULL, &tv) == -1 && errno == EINTR;
    }
    expect(62, "three selects, each ended by the interval timer", intr, 3, 0);
    expect(63, "30 ms in all", now_ns() - t0, 30000000, 0);
    it = (struct itimerval){0};
    expect(64, "disarm: the interval was 10 ms",
           setitimer(ITIMER_REAL, &it, &old) == 0 && old.it_interval.tv_usec == 10000, 1, 0);
    expect(65, "alarm(5) then alarm(0) returns 5", (alarm(5), alarm(0)), 5, 0);
    expect(66, "usleep 1 ms, no timer: sleeps", usleep(1000), 0, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    expect(67, "epoll_ctl ADD the pipe", epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev), 0, 0);
    struct epoll_event out;
    t0 = now_ns();
    alarm(1);
    expect(68, "epoll_wait of 10 s, interrupted", epoll_wait(ep, &out, 1, 10000), -1, EINTR);
    expect(69, "at 1 s", now_ns() - t0, 1000000000, 0);
    close(ep);
    expect(70, "the handler ran six times", alrm, 6, 0);
    close(pfd[0]);
    close(pfd[1]);
    return first_fail;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "waits")) {
        realtime = argc == 5 && !strcmp(argv[4], "rt");
        return waits((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
    }
    if (argc == 2 && !strcmp(argv[1], "alarm"))
        return alarms();
    fprintf(stderr, "usage: exec_waits waits CID PORT [rt] | alarm\n");
    return 2;
}
