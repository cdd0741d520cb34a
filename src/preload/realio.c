/*
 * realio.c - reads and writes of an exec'd program on real descriptors (pipes, TCP and Unix
 * sockets, terminals): the C library's calls, with the deterministic-mode waits of realwait.c
 * in front, so that a call that would block gives up the world's turn instead of holding it in
 * the kernel.
 *
 * A read needs one readiness (it returns what is there). A write of at most PIPE_BUF bytes
 * too: a pipe or socket that polls writable takes that much. A longer write, a send, and a
 * receive with MSG_WAITALL on a stream socket may need many, so they are made as non-blocking
 * attempts on what is left with waits between (pl_real_all); the program still sees the
 * blocking call's result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

/* ---- write, send, sendto ----------------------------------------------------------------- */

struct flat {
    int fd;
    const char *buf;
    size_t len;
    int flags;
    const struct sockaddr *to;
    socklen_t tolen;
    bool plain_write; /* write(2) on something that is not a socket */
};

static ssize_t flat_send(void *ctx, size_t done, int dontwait)
{
    struct flat *f = ctx;
    if (!dontwait && f->plain_write)
        return PL_REAL(ssize_t(*)(int, const void *, size_t), write)(f->fd, f->buf + done,
                                                                     f->len - done);
    return PL_REAL(ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
                              socklen_t),
                   sendto)(f->fd, f->buf + done, f->len - done, f->flags | dontwait, f->to,
                           f->tolen);
}

ssize_t pl_real_sendto(int fd, const void *buf, size_t len, int flags,
                       const struct sockaddr *to, socklen_t tolen)
{
    struct flat f = {fd, buf, len, flags, to, tolen, false};
    ssize_t r;
    if (!(len > PIPE_BUF && pl_real_all(fd, POLLOUT, flags, len, flat_send, &f, &r))) {
        if (pl_real_wait(fd, POLLOUT, flags) < 0)
            return -1;
        r = PL_REAL(ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
                               socklen_t),
                    sendto)(fd, buf, len, flags, to, tolen);
    }
    pl_real_push(fd, flags, r);
    return r;
}

ssize_t pl_real_write(int fd, const void *buf, size_t len)
{
    /* on a socket an attempt is send(MSG_DONTWAIT): what write(2) is there, without waiting */
    struct flat f = {fd, buf, len, 0, NULL, 0, true};
    ssize_t r;
    if (!(len > PIPE_BUF && pl_real_all(fd, POLLOUT, 0, len, flat_send, &f, &r))) {
        if (pl_real_wait(fd, POLLOUT, 0) < 0)
            return -1;
        r = PL_REAL(ssize_t(*)(int, const void *, size_t), write)(fd, buf, len);
    }
    pl_real_push(fd, 0, r);
    return r;
}

/* ---- writev, sendmsg ------------------------------------------------------------------------ */

struct vec {
    int fd;
    struct msghdr msg;     /* the program's header, read once */
    struct iovec iov[64];  /* its iovec array (up to 64 buffers: more take the plain path) */
    int flags;
    bool plain_write;      /* writev(2) on something that is not a socket */
};

/* The buffers after the first `done` bytes, into out (n entries); the count of them. */
static int skip(const struct iovec *in, int n, size_t done, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (done >= in[i].iov_len) {
            done -= in[i].iov_len;
            continue;
        }
        out[k].iov_base = (char *)in[i].iov_base + done;
        out[k].iov_len = in[i].iov_len - done;
        done = 0;
        k++;
    }
    return k;
}

static ssize_t vec_send(void *ctx, size_t done, int dontwait)
{
    struct vec *v = ctx;
    struct iovec left[64];
    int n = skip(v->iov, (int)v->msg.msg_iovlen, done, left);
    if (!dontwait && v->plain_write)
        return PL_REAL(ssize_t(*)(int, const struct iovec *, int), writev)(v->fd, left, n);
    struct msghdr m = v->msg;
    m.msg_iov = left;
    m.msg_iovlen = (size_t)n;
    if (done) { /* ancillary data (descriptors) goes with the first bytes only */
        m.msg_control = NULL;
        m.msg_controllen = 0;
    }
    return PL_REAL(ssize_t(*)(int, const struct msghdr *, int), sendmsg)(v->fd, &m,
                                                                         v->flags | dontwait);
}

/* Reads the header and the iovec array (false: bad pointers or too many buffers, which the
 * plain call answers itself), and sums the lengths. */
static bool vec_load(struct vec *v, const struct msghdr *msg, const struct iovec *iov, int n,
                     size_t *total)
{
    if (msg) {
        if (pl_copy_in(&v->msg, msg, sizeof v->msg) != sizeof v->msg)
            return false;
        iov = v->msg.msg_iov;
        if (v->msg.msg_iovlen > 64)
            return false;
        n = (int)v->msg.msg_iovlen;
    } else {
        if (n < 0 || n > 64)
            return false;
        memset(&v->msg, 0, sizeof v->msg);
        v->msg.msg_iovlen = (size_t)n;
    }
    if (n && pl_copy_in(v->iov, iov, (size_t)n * sizeof *iov) != (size_t)n * sizeof *iov)
        return false;
    *total = 0;
    for (int i = 0; i < n; i++) {
        if (v->iov[i].iov_len > SSIZE_MAX - *total)
            return false;
        *total += v->iov[i].iov_len;
    }
    return true;
}

ssize_t pl_real_writev(int fd, const struct iovec *iov, int n)
{
    struct vec v = {.fd = fd, .plain_write = true};
    size_t total;
    ssize_t r;
    if (!(vec_load(&v, NULL, iov, n, &total) && total > PIPE_BUF &&
          pl_real_all(fd, POLLOUT, 0, total, vec_send, &v, &r))) {
        if (pl_real_wait(fd, POLLOUT, 0) < 0)
            return -1;
        r = PL_REAL(ssize_t(*)(int, const struct iovec *, int), writev)(fd, iov, n);
    }
    pl_real_push(fd, 0, r);
    return r;
}

ssize_t pl_real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct vec v = {.fd = fd, .flags = flags};
    size_t total;
    ssize_t r;
    if (!(vec_load(&v, msg, NULL, 0, &total) && total > PIPE_BUF &&
          pl_real_all(fd, POLLOUT, flags, total, vec_send, &v, &r))) {
        if (pl_real_wait(fd, POLLOUT, flags) < 0)
            return -1;
        r = PL_REAL(ssize_t(*)(int, const struct msghdr *, int), sendmsg)(fd, msg, flags);
    }
    pl_real_push(fd, flags, r);
    return r;
}

/* ---- recv, recvfrom ------------------------------------------------------------------------- */

struct rflat {
    int fd;
    char *buf;
    size_t len;
    int flags;
    struct sockaddr *from;
    socklen_t *fromlen;
};

static ssize_t rflat_recv(void *ctx, size_t done, int dontwait)
{
    struct rflat *f = ctx;
    return PL_REAL(ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *),
                   recvfrom)(f->fd, f->buf + done, f->len - done,
                             (f->flags & ~MSG_WAITALL) | dontwait, f->from, f->fromlen);
}

ssize_t pl_real_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                         socklen_t *fromlen)
{
    struct rflat f = {fd, buf, len, flags, from, fromlen};
    ssize_t r;
    if ((flags & MSG_WAITALL) && len > 0 && pl_real_all(fd, POLLIN, flags, len, rflat_recv, &f, &r))
        return r;
    if (pl_real_wait(fd, POLLIN, flags) < 0)
        return -1;
    return PL_REAL(ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *),
                   recvfrom)(fd, buf, len, flags, from, fromlen);
}
