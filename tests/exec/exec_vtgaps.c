/*
 * exec_vtgaps.c - the two behaviours Linux's vsock_test (tools/testing/vsock) needed from the
 * exec layer and the socket layer, checked exactly by a program of ours (docs/exec.md,
 * "Running Linux's vsock_test").
 *
 *   exec_vtgaps server PORT VPORT      (host)   exec_vtgaps client PORT VPORT   (guest)
 *
 * 1. Control lines over a loopback TCP connection written as vsock_test writes them: the text
 *    with send(MSG_MORE), then "\n" alone; the reader waits with a 10 s alarm (SIGALRM on the
 *    simulated clock in deterministic mode). With Nagle's algorithm a line written while the
 *    one before is unacknowledged can wait in the sender's kernel for that ACK (delayed by the
 *    peer up to 40 ms); the world must not jump to the alarm meanwhile
 *    (src/preload/realpush.c). 50 rounds of two lines and a reply, each line checked.
 * 2. recvmsg(MSG_ERRQUEUE) on a vsock stream socket reads the (always empty) error queue
 *    before any state check: -1/EAGAIN connected, listening and unconnected (Linux >= 6.7,
 *    vsock_connectible_recvmsg -> sock_recv_errqueue); on a datagram socket VMCI answers
 *    EOPNOTSUPP (vmci_transport_dgram_dequeue, vmci-semantics.md 2.9).
 *
 * 3. recvmsg's flags reach the socket (MSG_PEEK leaves the bytes, MSG_DONTWAIT does not wait),
 *    and recvmsg and sendmsg with data work: in direct mode they failed with EFAULT and the
 *    flags went where the world does not read them (src/preload/sock.c).
 *
 * Prints "ok N what" per check, "FAIL ..." and exit status 1 on the first mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/vm_sockets.h>

static int n_ok;
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

static void ok(const char *what)
{
    printf("ok %d %s\n", ++n_ok, what);
    fflush(stdout);
}

static void fail(const char *what)
{
    printf("FAIL %s (errno %d %s)\n", what, errno, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void put_line(int fd, const char *s)
{
    size_t n = strlen(s);
    if (send(fd, s, n, MSG_MORE) != (ssize_t)n || send(fd, "\n", 1, 0) != 1)
        fail("send a control line");
}

/* One line, a byte at a time under a 10 s alarm, as vsock_test's control_readln. */
static void get_line(int fd, const char *want)
{
    char buf[64];
    size_t i = 0;
    alarmed = 0;
    alarm(10);
    for (;;) {
        ssize_t r = recv(fd, &buf[i], 1, 0);
        if (alarmed)
            fail("a control line did not come within 10 s");
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 1)
            fail("recv a control line");
        if (buf[i] == '\n')
            break;
        if (++i == sizeof buf - 1)
            fail("control line too long");
    }
    alarm(0);
    buf[i] = 0;
    if (strcmp(buf, want) != 0) {
        printf("FAIL got line \"%s\", expected \"%s\"\n", buf, want);
        exit(1);
    }
}

static void errq(int fd, int want_errno, const char *what)
{
    char cbuf[128];
    struct msghdr m = {.msg_control = cbuf, .msg_controllen = sizeof cbuf};
    errno = 0;
    ssize_t r = recvmsg(fd, &m, MSG_ERRQUEUE);
    if (r != -1 || errno != want_errno) {
        printf("FAIL %s: recvmsg(MSG_ERRQUEUE) = %zd errno %d, expected -1 errno %d\n", what, r,
               errno, want_errno);
        exit(1);
    }
    ok(what);
}

static int vsock(int type)
{
    int fd = socket(AF_VSOCK, type, 0);
    if (fd < 0)
        fail("socket(AF_VSOCK)");
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int server = strcmp(argv[1], "server") == 0;
    int port = atoi(argv[2]);
    unsigned vport = (unsigned)atoi(argv[3]);
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);

    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ctl;
    if (server) {
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (l < 0 || bind(l, (struct sockaddr *)&in, sizeof in) || listen(l, 1))
            fail("control listen");
        ctl = accept(l, NULL, NULL);
        close(l);
    } else {
        ctl = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(ctl, (struct sockaddr *)&in, sizeof in))
            fail("control connect");
    }
    if (ctl < 0)
        fail("control socket");

    /* 1: ping-pong of two-segment lines */
    /* Two lines back to back, then the reply: the second line's small segments go out while
     * the first is not yet acknowledged, which is when Nagle's algorithm holds them back (the
     * server's "LISTENING" lines of vsock_test's 100-connection case). */
    char line[32], more[32];
    for (int i = 0; i < 50; i++) {
        snprintf(line, sizeof line, "LINE%d", i);
        snprintf(more, sizeof more, "MORE%d", i);
        if (server) {
            put_line(ctl, line);
            put_line(ctl, more);
            get_line(ctl, "ACK");
        } else {
            get_line(ctl, line);
            get_line(ctl, more);
            put_line(ctl, "ACK");
        }
    }
    ok("50 control lines sent as MSG_MORE + \"\\n\" arrived before the 10 s alarm");

    /* 2: the error queue of vsock sockets */
    struct sockaddr_vm va = {.svm_family = AF_VSOCK, .svm_port = vport};
    if (server) {
        int l = vsock(SOCK_STREAM);
        va.svm_cid = VMADDR_CID_ANY;
        if (bind(l, (struct sockaddr *)&va, sizeof va) || listen(l, 1))
            fail("vsock listen");
        errq(l, EAGAIN, "listening stream socket: EAGAIN");
        put_line(ctl, "LISTENING");
        int c = accept(l, NULL, NULL);
        if (c < 0)
            fail("vsock accept");
        errq(c, EAGAIN, "accepted stream socket: EAGAIN");
        if (send(c, "peekdata", 8, 0) != 8)
            fail("vsock send peekdata");
        get_line(ctl, "DONE");
        char sm[9];
        if (recv(c, sm, sizeof sm, MSG_WAITALL) != 9 || memcmp(sm, "xsendmsg!", 9))
            fail("recv the peer's \"x\" and its sendmsg's 8 bytes");
        ok("the peer's send and sendmsg arrived: 9 bytes");
        put_line(ctl, "GOT"); /* the peer closes only now: a host end loses unread data */
        close(c);
        close(l);
    } else {
        int u = vsock(SOCK_STREAM);
        errq(u, EAGAIN, "unconnected stream socket: EAGAIN");
        close(u);
        int d = vsock(SOCK_DGRAM);
        errq(d, EOPNOTSUPP, "datagram socket: EOPNOTSUPP");
        close(d);
        get_line(ctl, "LISTENING");
        int s = vsock(SOCK_STREAM);
        va.svm_cid = VMADDR_CID_HOST;
        if (connect(s, (struct sockaddr *)&va, sizeof va))
            fail("vsock connect");
        errq(s, EAGAIN, "connected stream socket: EAGAIN");
        if (send(s, "x", 1, 0) != 1)
            fail("vsock send");
        struct msghdr m = {0};
        if (recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT) != -1 || errno != EAGAIN)
            fail("MSG_ERRQUEUE|MSG_DONTWAIT");
        ok("the error queue stays empty after a send (no MSG_ZEROCOPY)");
        /* 3: the other flags of recvmsg reach the socket too (they were once dropped) */
        char b1[16] = {0}, b2[16] = {0};
        struct iovec v1 = {b1, sizeof b1}, v2 = {b2, sizeof b2};
        struct msghdr m1 = {.msg_iov = &v1, .msg_iovlen = 1};
        struct msghdr m2 = {.msg_iov = &v2, .msg_iovlen = 1};
        v1.iov_len = 8; /* the peer sends 8 bytes: a peek of 8 waits for all of them */
        ssize_t r1 = recvmsg(s, &m1, MSG_PEEK | MSG_WAITALL);
        ssize_t r2 = recvmsg(s, &m2, 0);
        if (r1 != 8 || r2 != 8 || memcmp(b1, "peekdata", 8) || memcmp(b2, "peekdata", 8))
            fail("recvmsg(MSG_PEEK) then recvmsg(0): the same 8 bytes");
        ok("recvmsg(MSG_PEEK) left the 8 bytes for the next recvmsg");
        errno = 0;
        if (recvmsg(s, &m2, MSG_DONTWAIT) != -1 || errno != EAGAIN)
            fail("recvmsg(MSG_DONTWAIT) on an empty socket");
        ok("recvmsg(MSG_DONTWAIT) on an empty socket: EAGAIN");
        struct iovec sv[2] = {{"send", 4}, {"msg!", 4}};
        struct msghdr sm = {.msg_iov = sv, .msg_iovlen = 2};
        if (sendmsg(s, &sm, 0) != 8)
            fail("sendmsg of 8 bytes in two buffers");
        ok("sendmsg of 8 bytes in two buffers");
        put_line(ctl, "DONE");
        get_line(ctl, "GOT");
        close(s);
    }
    close(ctl);
    printf("done %d\n", n_ok);
    return 0;
}
