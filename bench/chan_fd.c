/*
 * chan_fd.c - the kernel's byte streams as bench channels: a pipe pair, an AF_UNIX
 * SOCK_STREAM socketpair, and a TCP connection over 127.0.0.1.
 *
 * All three are plain read()/write() on file descriptors, so the only difference the harness
 * sees is the kernel path behind them. Each end reads rfd[end] and writes wfd[end].
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "chan.h"

static void fds_init(struct bench_chan *ch)
{
    ch->rfd[0] = ch->rfd[1] = ch->wfd[0] = ch->wfd[1] = -1;
    ch->impl = NULL;
    ch->queue_size = 0;
}

static ssize_t fd_send(struct bench_chan *ch, int end, const void *buf, size_t n)
{
    for (;;) {
        ssize_t r = write(ch->wfd[end], buf, n);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

static ssize_t fd_recv(struct bench_chan *ch, int end, void *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(ch->rfd[end], buf, n);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

/* Close every distinct descriptor once (a socket is both rfd and wfd of its end). */
static void fds_close(struct bench_chan *ch)
{
    int all[4] = {ch->rfd[0], ch->rfd[1], ch->wfd[0], ch->wfd[1]};
    for (int i = 0; i < 4; i++) {
        if (all[i] < 0)
            continue;
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= all[j] == all[i];
        if (!seen)
            close(all[i]);
    }
    fds_init(ch);
}

/* ---- pipe pair: pipe A carries 0 -> 1, pipe B carries 1 -> 0 ------------------------------ */

static int pipe_open(struct bench_chan *ch, size_t queue_size)
{
    int a[2], b[2];
    fds_init(ch);
    if (pipe2(a, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(b, O_CLOEXEC) != 0) {
        close(a[0]);
        close(a[1]);
        return -1;
    }
    ch->wfd[0] = a[1];
    ch->rfd[1] = a[0];
    ch->wfd[1] = b[1];
    ch->rfd[0] = b[0];
    if (queue_size && (fcntl(a[1], F_SETPIPE_SZ, (int)queue_size) < 0 ||
                       fcntl(b[1], F_SETPIPE_SZ, (int)queue_size) < 0)) {
        int e = errno;
        fds_close(ch);
        errno = e;
        return -1;
    }
    int sz = fcntl(a[1], F_GETPIPE_SZ);
    ch->queue_size = sz > 0 ? (size_t)sz : 0;
    return 0;
}

/* Closing the write end is what a pipe's reader sees as end of file. */
static void pipe_hangup(struct bench_chan *ch, int end)
{
    if (ch->wfd[end] >= 0) {
        close(ch->wfd[end]);
        ch->wfd[end] = -1;
    }
}

const struct bench_chan_ops bench_chan_pipe = {
    .open = pipe_open,
    .send = fd_send,
    .recv = fd_recv,
    .hangup = pipe_hangup,
    .close = fds_close,
};

/* ---- sockets: one descriptor per end, both directions -------------------------------------- */

static void sock_hangup(struct bench_chan *ch, int end)
{
    if (ch->wfd[end] >= 0)
        shutdown(ch->wfd[end], SHUT_WR);
}

/* A receive/send timeout makes a lost peer an error instead of a hang: every loop of the
 * harness ends even if the kernel path misbehaves. */
static int sock_setup(int fd, size_t queue_size)
{
    struct timeval tv = {.tv_sec = 10};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return -1;
    if (queue_size) {
        int q = (int)queue_size;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &q, sizeof q) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &q, sizeof q) != 0)
            return -1;
    }
    return 0;
}

static size_t sock_sndbuf(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v > 0 ? (size_t)v : 0;
}

static int socketpair_open(struct bench_chan *ch, size_t queue_size)
{
    int sv[2];
    fds_init(ch);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    ch->rfd[0] = ch->wfd[0] = sv[0];
    ch->rfd[1] = ch->wfd[1] = sv[1];
    if (sock_setup(sv[0], queue_size) != 0 || sock_setup(sv[1], queue_size) != 0) {
        int e = errno;
        fds_close(ch);
        errno = e;
        return -1;
    }
    /* A Unix stream's sender is limited by its send buffer (SO_SNDBUF, skb overhead
     * included); the receiver has no separate queue limit. */
    ch->queue_size = sock_sndbuf(sv[0]);
    return 0;
}

const struct bench_chan_ops bench_chan_socketpair = {
    .open = socketpair_open,
    .send = fd_send,
    .recv = fd_recv,
    .hangup = sock_hangup,
    .close = fds_close,
};

/* ---- TCP over 127.0.0.1 only -------------------------------------------------------------- */

static int tcp_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A listener on 127.0.0.1 with a kernel-chosen port, a connect to it, an accept; the listener
 * is closed at once. The address is fixed: this benchmark never touches another one. */
static int tcp_open(struct bench_chan *ch, size_t queue_size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof sa;
    int lfd = -1, cfd = -1, afd = -1, e;
    fds_init(ch);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        return -1;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
        goto fail;
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cfd < 0 || sock_setup(cfd, queue_size) != 0)
        goto fail;
    /* Loopback connect completes in the kernel without the peer calling accept first. */
    if (connect(cfd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (afd < 0 || sock_setup(afd, queue_size) != 0 || tcp_nodelay(cfd) != 0 ||
        tcp_nodelay(afd) != 0)
        goto fail;
    close(lfd);
    ch->rfd[0] = ch->wfd[0] = cfd;
    ch->rfd[1] = ch->wfd[1] = afd;
    /* TCP autotunes its buffers while data flows: there is no one capacity to report. */
    ch->queue_size = queue_size;
    return 0;
fail:
    e = errno;
    if (afd >= 0)
        close(afd);
    if (cfd >= 0)
        close(cfd);
    close(lfd);
    errno = e;
    return -1;
}

const struct bench_chan_ops bench_chan_tcp = {
    .open = tcp_open,
    .send = fd_send,
    .recv = fd_recv,
    .hangup = sock_hangup,
    .close = fds_close,
};
