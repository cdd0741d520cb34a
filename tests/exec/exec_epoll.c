/*
 * exec_epoll.c - a plain Linux program (no vmcisim header or library) for the epoll semantics
 * an exec'd program gets on vsock descriptors: the world's sockepoll instance, as in-process
 * (edge triggering, one-shot re-arming, the rotation of level-triggered members, the checks of
 * epoll_ctl, a set mixing a pipe and a vsock socket, a member that goes with its last close).
 * Two connections, to two echo servers (vsock_echo server PORT and PORT+1, which send back what
 * they read, upper-cased).
 *
 * `epoll CID PORT [rt]`: every check prints "ok N what" or "FAIL N what" with what came back;
 * exit status 0 when all held, else the number of the first failed one. Outcomes only, never
 * times: the same checks hold in realtime mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exec/expect.h"




/* A connection to the echo server on port. In realtime mode the server may not listen yet
 * (its program starts on the wall clock): a refused attempt is tried again a little later. */
static int conn(unsigned cid, unsigned port)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    for (int i = 0; i < 400; i++) {
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
            return s;
        close(s);
        struct timespec t = {0, 5000000};
        nanosleep(&t, NULL);
    }
    return -1;
}

static int add(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, op, fd, &ev);
}

/* One wait: the data of its one event (events in *ev), 0 for none, -1 for an error, -10-n
 * for n events. */
static long one(int ep, int timeout, uint32_t *ev)
{
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, timeout);
    if (n <= 0)
        return n;
    if (n > 1)
        return -10 - n;
    if (ev)
        *ev = out[0].events;
    return (long)out[0].data.u64;
}

static int pipe_w;

static void *late_writer(void *arg)
{
    (void)arg;
    struct timespec t = {0, 2000000}; /* a simulated sleep: the main thread waits meanwhile */
    nanosleep(&t, NULL);
    (void)!write(pipe_w, "p", 1);
    return NULL;
}

static int run(unsigned cid, unsigned port)
{
    int s1 = conn(cid, port), s2 = conn(cid, port + 1);
    expect(1, "two connections", s1 >= 0 && s2 >= 0, 1, 0);
    char buf[16];
    uint32_t ev = 0;

    /* EPOLLET: one report per edge */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    expect(2, "ADD s1 EPOLLIN|EPOLLET", add(ep, EPOLL_CTL_ADD, s1, EPOLLIN | EPOLLET, 1), 0, 0);
    expect(3, "send \"a\"", send(s1, "a", 1, 0), 1, 0);
    expect(4, "the echo: one event, data 1", one(ep, -1, &ev), 1, 0);
    expect(5, "EPOLLIN", ev, EPOLLIN, 0);
    expect(6, "unread, but the edge was reported: nothing in 1 ms", one(ep, 1, NULL), 0, 0);
    /* Read before the next echo: over VMCI bytes that arrive behind unread ones make no new
     * edge (the peer's WROTE goes only when the queue turns non-empty; a Linux guest too, see
     * docs/bring-your-own-program.md, "Edges over VMCI"). */
    memset(buf, 0, sizeof buf);
    expect(7, "recv \"A\"", recv(s1, buf, sizeof buf, 0) == 1 && !strcmp(buf, "A"), 1, 0);
    expect(8, "send \"b\"", send(s1, "b", 1, 0), 1, 0);
    expect(9, "the second echo is a new edge", one(ep, -1, &ev), 1, 0);
    expect(10, "EPOLLIN again", ev, EPOLLIN, 0);
    memset(buf, 0, sizeof buf);
    expect(11, "recv \"B\"", recv(s1, buf, sizeof buf, 0) == 1 && !strcmp(buf, "B"), 1, 0);

    /* EPOLLET|EPOLLONESHOT: one event, then none until EPOLL_CTL_MOD re-arms */
    expect(12, "MOD EPOLLIN|EPOLLET|EPOLLONESHOT",
           add(ep, EPOLL_CTL_MOD, s1, EPOLLIN | EPOLLET | EPOLLONESHOT, 2), 0, 0);
    expect(13, "nothing to read: nothing in 1 ms", one(ep, 1, NULL), 0, 0);
    expect(14, "send \"c\"", send(s1, "c", 1, 0), 1, 0);
    expect(15, "one-shot: the echo, data 2", one(ep, -1, NULL), 2, 0);
    memset(buf, 0, sizeof buf);
    expect(16, "recv \"C\"", recv(s1, buf, sizeof buf, 0) == 1 && !strcmp(buf, "C"), 1, 0);
    expect(17, "send \"d\"", send(s1, "d", 1, 0), 1, 0);
    expect(18, "disarmed: nothing in 20 ms", one(ep, 20, NULL), 0, 0);
    expect(19, "MOD re-arms (data 3)",
           add(ep, EPOLL_CTL_MOD, s1, EPOLLIN | EPOLLET | EPOLLONESHOT, 3), 0, 0);
    expect(20, "ready when re-armed: reported at once", one(ep, 0, &ev), 3, 0);
    expect(21, "EPOLLIN", ev, EPOLLIN, 0);
    expect(22, "and only once", one(ep, 0, NULL), 0, 0);
    memset(buf, 0, sizeof buf);
    expect(23, "recv \"D\"", recv(s1, buf, sizeof buf, 0) == 1 && !strcmp(buf, "D"), 1, 0);

    /* Level-triggered, maxevents 1, two ready sockets: they take turns */
    int ep2 = epoll_create1(0);
    expect(24, "ADD s1 (11), s2 (12) level-triggered",
           add(ep2, EPOLL_CTL_ADD, s1, EPOLLIN, 11) == 0 &&
               add(ep2, EPOLL_CTL_ADD, s2, EPOLLIN, 12) == 0,
           1, 0);
    expect(25, "send \"x\" on s1, \"y\" on s2",
           send(s1, "x", 1, 0) == 1 && send(s2, "y", 1, 0) == 1, 1, 0);
    struct epoll_event out[4];
    int n = 0;
    for (int i = 0; i < 200 && n != 2; i++)
        n = epoll_wait(ep2, out, 4, 10);
    expect(26, "both echoes: two events", n, 2, 0);
    long d[4];
    for (int i = 0; i < 4; i++)
        d[i] = epoll_wait(ep2, out, 1, 0) == 1 ? (long)out[0].data.u64 : -1;
    printf("rotation %ld %ld %ld %ld\n", d[0], d[1], d[2], d[3]);
    expect(27, "maxevents 1: s1 and s2 alternate",
           d[0] + d[1] == 23 && d[0] != d[1] && d[2] == d[0] && d[3] == d[1], 1, 0);
    expect(28, "recv \"X\" and \"Y\"",
           recv(s1, buf, sizeof buf, 0) == 1 && buf[0] == 'X' && recv(s2, buf, sizeof buf, 0) == 1 &&
               buf[0] == 'Y',
           1, 0);
    expect(29, "nothing ready: 0", epoll_wait(ep2, out, 4, 0), 0, 0);

    /* epoll_ctl's checks, the in-process errno */
    int ep3 = epoll_create1(0);
    expect(30, "EPOLLEXCLUSIVE|EPOLLONESHOT", add(ep3, EPOLL_CTL_ADD, s1,
                                                  EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0),
           -1, EINVAL);
    expect(31, "ADD EPOLLIN|EPOLLEXCLUSIVE", add(ep3, EPOLL_CTL_ADD, s1,
                                                 EPOLLIN | EPOLLEXCLUSIVE, 0), 0, 0);
    expect(32, "MOD of an EPOLLEXCLUSIVE member", add(ep3, EPOLL_CTL_MOD, s1, EPOLLIN, 0), -1,
           EINVAL);
    expect(33, "ADD twice", add(ep3, EPOLL_CTL_ADD, s1, EPOLLIN, 0), -1, EEXIST);
    expect(34, "DEL of a non-member", epoll_ctl(ep3, EPOLL_CTL_DEL, s2, NULL), -1, ENOENT);
    expect(35, "MOD of a non-member", add(ep3, EPOLL_CTL_MOD, s2, EPOLLIN, 0), -1, ENOENT);
    expect(36, "event at (void*)1", epoll_ctl(ep3, EPOLL_CTL_ADD, s2, BAD), -1, EFAULT);
    expect(37, "event NULL", epoll_ctl(ep3, EPOLL_CTL_ADD, s2, NULL), -1, EFAULT);
    expect(38, "epfd closed", add(999, EPOLL_CTL_ADD, s2, EPOLLIN, 0), -1, EBADF);
    expect(39, "DEL", epoll_ctl(ep3, EPOLL_CTL_DEL, s1, NULL), 0, 0);
    expect(40, "close ep3", close(ep3), 0, 0);
    expect(41, "epoll_wait on the closed ep3", epoll_wait(ep3, out, 4, 0), -1, EBADF);

    /* A pipe and a vsock socket in one set */
    int pfd[2];
    expect(42, "pipe", pipe(pfd), 0, 0);
    pipe_w = pfd[1];
    int ep4 = epoll_create1(0);
    expect(43, "ADD the pipe (21), s2 (22)",
           add(ep4, EPOLL_CTL_ADD, pfd[0], EPOLLIN, 21) == 0 &&
               add(ep4, EPOLL_CTL_ADD, s2, EPOLLIN, 22) == 0,
           1, 0);
    pthread_t th;
    pthread_create(&th, NULL, late_writer, NULL);
    expect(44, "a write into the pipe after a sleep wakes the wait", one(ep4, -1, &ev), 21, 0);
    expect(45, "EPOLLIN", ev, EPOLLIN, 0);
    pthread_join(th, NULL);
    expect(46, "read \"p\"", read(pfd[0], buf, sizeof buf) == 1 && buf[0] == 'p', 1, 0);
    expect(47, "send \"z\" on s2, write \"q\" into the pipe",
           send(s2, "z", 1, 0) == 1 && write(pfd[1], "q", 1) == 1, 1, 0);
    unsigned seen = 0;
    for (int i = 0; i < 200 && seen != 3; i++) {
        n = epoll_wait(ep4, out, 4, 10);
        for (int k = 0; k < n; k++)
            seen |= out[k].data.u64 == 21 ? 1 : out[k].data.u64 == 22 ? 2 : 4;
    }
    expect(48, "both reported (pipe and vsock)", seen, 3, 0);
    n = epoll_wait(ep4, out, 4, 0);
    expect(49, "level-triggered: both again, the vsock one first",
           n == 2 && out[0].data.u64 == 22 && out[1].data.u64 == 21, 1, 0);
    expect(50, "read \"q\", recv \"Z\"",
           read(pfd[0], buf, sizeof buf) == 1 && buf[0] == 'q' &&
               recv(s2, buf, sizeof buf, 0) == 1 && buf[0] == 'Z',
           1, 0);

    /* A member goes with its only descriptor */
    expect(51, "send \"w\" on s2", send(s2, "w", 1, 0), 1, 0);
    n = 0;
    for (int i = 0; i < 200 && n != 1; i++)
        n = epoll_wait(ep4, out, 4, 10);
    expect(52, "the echo is ready", n == 1 && out[0].data.u64 == 22, 1, 0);
    expect(53, "close s2 unread", close(s2), 0, 0);
    expect(54, "the member went with it: nothing in 5 ms", epoll_wait(ep4, out, 4, 5), 0, 0);
    expect(55, "nor in ep2", epoll_wait(ep2, out, 4, 0), 0, 0);

    close(ep4);
    close(ep2);
    close(pfd[0]);
    close(pfd[1]);
    expect(56, "close ep", close(ep), 0, 0);
    shutdown(s1, SHUT_WR);
    expect(57, "eof", recv(s1, buf, sizeof buf, 0), 0, 0);
    close(s1);
    return first_fail;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "epoll"))
        return run((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
    fprintf(stderr, "usage: exec_epoll epoll CID PORT [rt]\n");
    return 2;
}
