/*
 * realpush.c - deterministic mode: a write of an exec'd program on a real TCP socket leaves
 * the sender's kernel before the call returns.
 *
 * Why: realwait.c makes a thread that waits on a real descriptor give up the world's turn, and
 * src/sim/fdwait.c looks at that descriptor (zero-timeout poll) when no simulated thread can
 * run, before the clock jumps to the next deadline. That is deterministic only if a writer
 * inside the world has delivered its bytes by the time it gives up the turn. A loopback TCP
 * socket does so within send(2) - except when TCP holds a small segment back: Nagle's
 * algorithm waits for the ACK of earlier data (the peer may delay it by 40 ms), and MSG_MORE
 * corks until the next send. Linux's vsock_test writes each control line as send(MSG_MORE)
 * then send("\n"): the line could reach the peer tens of wall-clock milliseconds late, after
 * the world had already jumped to the peer's 10 s alarm, and the test timed out.
 *
 * So after a successful write without MSG_MORE, when the socket is TCP, not corked (TCP_CORK)
 * and still holds unsent bytes (SIOCOUTQNSD), the interposer sets TCP_NODELAY, which makes
 * the kernel send what is pending at once (tcp(7)), and puts the program's own setting back.
 * The program sees no difference in its calls' results or options; only when its segments
 * leave changes, as it would on a quiet network. Skipped in realtime mode (the wall clock
 * rules there, and the peer simply waits).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "preload/preload.h"

void pl_real_push(int fd, int msg_flags, ssize_t written)
{
    if (written <= 0 || (msg_flags & MSG_MORE))
        return;
    struct pl_chan *c = pl_chan();
    if (!c || __atomic_load_n(&c->a->realtime, __ATOMIC_RELAXED))
        return;
    int e = errno;
    int proto = 0, unsent = 0, cork = 0, nodelay = 0;
    socklen_t l = sizeof proto;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0 || proto != IPPROTO_TCP)
        goto out; /* not a socket (a file, a pipe, a terminal), or not TCP */
    if (ioctl(fd, SIOCOUTQNSD, &unsent) != 0 || unsent == 0)
        goto out; /* everything has left: the usual case */
    l = sizeof cork;
    if (getsockopt(fd, IPPROTO_TCP, TCP_CORK, &cork, &l) != 0 || cork)
        goto out; /* the program corked the socket itself: its data waits, as it asked */
    l = sizeof nodelay;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &l) != 0)
        goto out;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* flushes what is pending */
    if (!nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
out:
    errno = e;
}
