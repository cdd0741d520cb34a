/*
 * sock.c - the socket calls of an exec'd program: on AF_VSOCK sockets they are requests to the
 * world, where the program's proxy thread makes the same vmci_* call as an in-process program
 * would (so results and errno are the in-process ones by construction); on anything else they
 * are the C library's.
 *
 * Payload: when the world may read and write the program's memory (the usual case, see
 * pl_direct), a send or receive passes the program's own pointers (the direct calls of
 * exec_proto.h) and the world copies between them and the queue pair itself, once, as a kernel
 * copies from the calling process's memory; everything the call reads or writes (message
 * header, iovec array, addresses, lengths) is then the in-process call's, EFAULT included.
 * Otherwise payload goes through the thread's shared area in chunks of at most XP_DATA_MAX
 * bytes. A blocking stream send larger than that is several world sends; it stops early, as a
 * Linux send interrupted by a signal does, when one of them sends less than its chunk or fails
 * after some bytes went.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

/* A vsock descriptor of a process that is ours: its world fd and the channel, else -1. */
static int vs(int fd, struct pl_chan **c)
{
    int w = pl_world_fd(fd);
    if (w < 0)
        return -1;
    *c = pl_chan();
    return *c ? w : -1;
}

static int efault(void)
{
    errno = EFAULT;
    return -1;
}

/* 0, or -1/EFAULT when addr[0..len) cannot be read. A length the world refuses (EINVAL, which
 * Linux checks before the copy) is not a fault here: what can be read goes, the world says
 * EINVAL. */
static int put_addr(struct xp_area *a, const void *addr, socklen_t len)
{
    a->addrlen = len > XP_ADDR_MAX ? XP_ADDR_MAX : len;
    if (addr && a->addrlen && pl_copy_in(a->addr, addr, a->addrlen) != a->addrlen &&
        (int)len >= 0 && len <= XP_ADDR_MAX)
        return efault();
    return 0;
}

/* Reads *len (-1/EFAULT if it cannot be), or 0 when there is nothing to read. */
static int get_len(const socklen_t *len, socklen_t *out)
{
    *out = 0;
    if (len && pl_copy_in(out, len, sizeof *out) != sizeof *out)
        return efault();
    return 0;
}

/* The area's address out to addr/len (Linux move_addr_to_user): 0 or -1/EFAULT. */
static int get_addr(struct xp_area *a, void *addr, socklen_t *len)
{
    socklen_t have;
    if (!addr || !len)
        return 0;
    if (get_len(len, &have) < 0)
        return -1;
    size_t n = a->addrlen < have ? a->addrlen : have;
    socklen_t full = a->addrlen;
    if (pl_copy_out(addr, a->addr, n) != n ||
        pl_copy_out(len, &full, sizeof full) != sizeof full)
        return efault();
    return 0;
}

int socket(int domain, int type, int protocol)
{
    struct pl_chan *c;
    if (domain != AF_VSOCK || !(c = pl_chan()))
        return PL_REAL(int (*)(int, int, int), socket)(domain, type, protocol);
    c->a->op = XP_SOCKET;
    c->a->a[0] = domain;
    c->a->a[1] = type & ~SOCK_CLOEXEC;
    c->a->a[2] = protocol;
    int64_t w = pl_call(c, NULL, 0, NULL);
    if (w < 0)
        return -1;
    return pl_new_placeholder(c, (int)w, type & SOCK_CLOEXEC);
}

static int addr_call(int op, int fd, const struct sockaddr *addr, socklen_t len,
                     int (*real)(int, const struct sockaddr *, socklen_t))
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return real(fd, addr, len);
    c->a->op = (uint32_t)op;
    c->a->fd = w;
    c->a->a[0] = addr == NULL;
    if (put_addr(c->a, addr, len) < 0)
        return -1;
    c->a->a[1] = len;
    return (int)pl_call(c, NULL, 0, NULL);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    return addr_call(XP_BIND, fd, addr, len,
                     PL_REAL(int (*)(int, const struct sockaddr *, socklen_t), bind));
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return addr_call(XP_CONNECT, fd, addr, len,
                     PL_REAL(int (*)(int, const struct sockaddr *, socklen_t), connect));
}

int listen(int fd, int backlog)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return PL_REAL(int (*)(int, int), listen)(fd, backlog);
    c->a->op = XP_LISTEN;
    c->a->fd = w;
    c->a->a[0] = backlog;
    return (int)pl_call(c, NULL, 0, NULL);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        if (pl_real_wait(fd, POLLIN, 0) < 0)
            return -1;
        return PL_REAL(int (*)(int, struct sockaddr *, socklen_t *, int), accept4)(fd, addr, len,
                                                                                 flags);
    }
    socklen_t have;
    if (addr && get_len(len, &have) < 0)
        return -1; /* before the accept, as in-process (src/sock/api.c) */
    c->a->op = XP_ACCEPT;
    c->a->fd = w;
    c->a->a[0] = flags & ~SOCK_CLOEXEC;
    int64_t nw = pl_call(c, NULL, 0, NULL);
    if (nw < 0)
        return -1;
    if (get_addr(c->a, addr, len) < 0) {
        /* Linux: the new socket is released when its address cannot be handed over */
        pl_world_close(c, (int)nw);
        return efault();
    }
    return pl_new_placeholder(c, (int)nw, flags & SOCK_CLOEXEC);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (pl_world_fd(fd) < 0) {
        if (pl_real_wait(fd, POLLIN, 0) < 0)
            return -1;
        return PL_REAL(int (*)(int, struct sockaddr *, socklen_t *), accept)(fd, addr, len);
    }
    return accept4(fd, addr, len, 0);
}

static void sigpipe_if(ssize_t r, int flags)
{
    /* The world sends with MSG_NOSIGNAL; the signal is the child's own, so its real disposition
     * decides: a handler runs here, SIG_IGN ignores it, the default ends the process (the world
     * sees it as signal 13, status 141). */
    if (r < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL)) {
        int e = errno;
        struct pl_chan *c = pl_chan();
        if (c) {
            /* recorded in the trace as for an in-process program (src/posix/signal.c) */
            sigset_t cur;
            struct sigaction act;
            pthread_sigmask(SIG_BLOCK, NULL, &cur);
            sigaction(SIGPIPE, NULL, &act);
            void *h = (act.sa_flags & SA_SIGINFO) ? (void *)act.sa_sigaction
                                                  : (void *)act.sa_handler;
            c->a->op = XP_SIGNAL;
            c->a->a[0] = SIGPIPE;
            c->a->a[1] = sigismember(&cur, SIGPIPE) == 1 ? 3
                         : h == (void *)SIG_IGN          ? 1
                         : h == (void *)SIG_DFL          ? 2
                                                         : 0;
            pl_call(c, NULL, 0, NULL);
        }
        raise(SIGPIPE);
        errno = e;
    }
}

/* A direct call on world fd w with arguments a0..a5 (exec_proto.h): true and *r when the world
 * made it; false when the payload must go through the area instead (no direct copies, or the
 * kernel just stopped allowing them: nothing was done then). */
static bool direct_call(struct pl_chan *c, int w, uint32_t op, int64_t a0, const void *a1,
                        int64_t a2, int64_t a3, const void *a4, int64_t a5, ssize_t *r)
{
    if (!pl_direct())
        return false;
    int e = errno;
    struct xp_area *a = c->a;
    a->op = op;
    a->fd = w;
    a->a[0] = a0;
    a->a[1] = (int64_t)(uintptr_t)a1;
    a->a[2] = a2;
    a->a[3] = a3;
    a->a[4] = (int64_t)(uintptr_t)a4;
    a->a[5] = a5;
    *r = (ssize_t)pl_call(c, NULL, 0, NULL);
    if (*r == -1 && errno == XP_ERR_STAGE) {
        pl_direct_refused();
        errno = e;
        return false;
    }
    return true;
}

static bool direct_send(struct pl_chan *c, int w, int call, const void *buf, size_t len,
                        int flags, const struct sockaddr *to, socklen_t tolen, ssize_t *r)
{
    if (!direct_call(c, w, XP_SEND_D, call, buf, (int64_t)len, flags, to, tolen, r))
        return false;
    sigpipe_if(*r, flags);
    return true;
}

static bool direct_recv(struct pl_chan *c, int w, int call, void *buf, size_t len, int flags,
                        struct sockaddr *from, socklen_t *fromlen, ssize_t *r)
{
    return direct_call(c, w, XP_RECV_D, call, buf, (int64_t)len, flags, from,
                       (int64_t)(uintptr_t)fromlen, r);
}

/* sendmsg/recvmsg, and writev/readv as the messages they are on a socket (a message with no
 * name and no flags, as Linux's sock_write_iter/sock_read_iter make; built here, in the
 * program's memory, so that the world reads it as it reads the program's own). */
static bool direct_msg(struct pl_chan *c, int w, bool send, const struct msghdr *msg, int flags,
                       ssize_t *r)
{
    /* the flags go in a1, where the world reads them (exec_proto.h): they once went in a2 and
     * every direct sendmsg/recvmsg ran with flags 0 (MSG_PEEK, MSG_DONTWAIT, MSG_ERRQUEUE lost) */
    if (!direct_call(c, w, send ? XP_SENDMSG_D : XP_RECVMSG_D, (int64_t)(uintptr_t)msg,
                     (const void *)(uintptr_t)(unsigned)flags, 0, 0, NULL, 0, r))
        return false;
    /* the flags of the call, not the header's (it is not ours to read) */
    if (send)
        sigpipe_if(*r, flags);
    return true;
}

/* Gather-send of iov[0..n) on world fd w. */
static ssize_t send_vec(struct pl_chan *c, int w, const struct iovec *iov, size_t n, int flags,
                        const struct sockaddr *to, socklen_t tolen, int call)
{
    size_t total = 0, i = 0, off = 0;
    for (;;) {
        size_t k = 0;
        while (i < n && k < XP_DATA_MAX) {
            size_t m = iov[i].iov_len - off;
            if (m > XP_DATA_MAX - k)
                m = XP_DATA_MAX - k;
            if (pl_copy_in(c->a->data + k, (const char *)iov[i].iov_base + off, m) != m) {
                /* In-process a chunk goes into the queue whole or not at all (the copy
                 * fails and nothing of it is queued): what went before is the result. */
                if (total)
                    return (ssize_t)total;
                return efault();
            }
            k += m;
            off += m;
            if (off == iov[i].iov_len) {
                i++;
                off = 0;
            }
        }
        c->a->op = XP_SEND;
        c->a->fd = w;
        c->a->a[0] = (int64_t)k;
        c->a->a[1] = flags;
        c->a->a[2] = to != NULL;
        c->a->a[3] = call;
        if (to && put_addr(c->a, to, tolen) < 0)
            return total ? (ssize_t)total : -1;
        int64_t r = pl_call(c, NULL, 0, NULL);
        if (r < 0) {
            if (total)
                return (ssize_t)total;
            sigpipe_if(-1, flags);
            return -1;
        }
        total += (size_t)r;
        if ((size_t)r < k || i >= n)
            return (ssize_t)total;
    }
}

static ssize_t recv_vec(struct pl_chan *c, int w, const struct iovec *iov, size_t n, int flags,
                        struct sockaddr *from, socklen_t *fromlen, int call, int *msg_flags)
{
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        /* Bad buffers fail before the world dequeues bytes it could not hand over (in-process
         * a failed copy leaves them queued). Pages past what the area can take are not
         * looked at: the kernel would not touch them in this call either. */
        size_t room = want < XP_DATA_MAX ? XP_DATA_MAX - want : 0;
        if (!pl_user_mapped(iov[i].iov_base, iov[i].iov_len < room ? iov[i].iov_len : room))
            return efault();
        want += iov[i].iov_len;
    }
    socklen_t fromhave;
    if (from && get_len(fromlen, &fromhave) < 0)
        return -1;
    c->a->op = XP_RECV;
    c->a->fd = w;
    c->a->a[0] = (int64_t)(want > XP_DATA_MAX ? XP_DATA_MAX : want);
    c->a->a[1] = flags;
    c->a->a[2] = from != NULL;
    c->a->a[3] = call;
    int64_t r = pl_call(c, NULL, 0, NULL);
    if (r < 0)
        return -1;
    if (msg_flags)
        *msg_flags = (int)c->a->a[3];
    size_t got = c->a->datalen, done = 0;
    for (size_t i = 0; i < n && done < got; i++) {
        size_t m = iov[i].iov_len < got - done ? iov[i].iov_len : got - done;
        if (pl_copy_out(iov[i].iov_base, c->a->data + done, m) != m)
            return efault(); /* mapped but read-only: these bytes are lost (docs) */
        done += m;
    }
    if (from && get_addr(c->a, from, fromlen) < 0)
        return -1;
    return (ssize_t)r;
}

/* The staging path's copy of a program's iovec array (n entries, n <= IOV_MAX): malloc'd, or
 * NULL with errno set (EFAULT when it cannot be read). */
static struct iovec *iov_in(const struct iovec *uiov, size_t n)
{
    struct iovec *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    if (pl_copy_in(v, uiov, n * sizeof *v) != n * sizeof *v) {
        free(v);
        errno = EFAULT;
        return NULL;
    }
    return v;
}

/* The staging path's copy of a program's message header and its iovec array, checked as
 * Linux's copy_msghdr_from_user checks them: 0, or -1 with errno. */
static int msg_in(const struct msghdr *umsg, struct msghdr *m, struct iovec **iov)
{
    if (pl_copy_in(m, umsg, sizeof *m) != sizeof *m)
        return efault();
    if (m->msg_iovlen > IOV_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    *iov = iov_in(m->msg_iov, m->msg_iovlen);
    return *iov ? 0 : -1;
}

static ssize_t send_staged(struct pl_chan *c, int w, const struct iovec *uiov, size_t n,
                           int flags, const struct sockaddr *to, socklen_t tolen)
{
    struct iovec *iov = iov_in(uiov, n);
    if (!iov)
        return -1;
    ssize_t r = send_vec(c, w, iov, n, flags, to, tolen, XP_CALL_MSG);
    int e = errno;
    free(iov);
    errno = e;
    return r;
}

static ssize_t recv_staged(struct pl_chan *c, int w, const struct iovec *uiov, size_t n,
                           int flags, struct sockaddr *from, socklen_t *fromlen)
{
    struct iovec *iov = iov_in(uiov, n);
    if (!iov)
        return -1;
    ssize_t r = recv_vec(c, w, iov, n, flags, from, fromlen, XP_CALL_MSG, NULL);
    int e = errno;
    free(iov);
    errno = e;
    return r;
}

static ssize_t recv_all(struct pl_chan *c, int w, void *buf, size_t len, int flags,
                        struct sockaddr *from, socklen_t *fromlen, int call);

/* A send the world makes (its direct call, else staged), with the program's own moves on w held
 * off meanwhile (fast.c). */
static ssize_t world_send(struct pl_chan *c, int w, int call, const void *buf, size_t len,
                          int flags, const struct sockaddr *to, socklen_t tolen)
{
    void *tok = pl_fast_world_begin(c, w, true);
    ssize_t r;
    if (!direct_send(c, w, call, buf, len, flags, to, tolen, &r)) {
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        r = send_vec(c, w, &iov, 1, flags, to, tolen, call);
    }
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

/* send/write with no address: the program's own move through the mapped queue first (fast.c);
 * what did not fit goes to the world, which blocks or says EAGAIN as the socket says. Bytes
 * already moved are the result whatever the rest gives, without SIGPIPE (as in-process: a
 * send that moved bytes returns their count). */
static ssize_t plain_send(struct pl_chan *c, int w, int call, const void *buf, size_t len,
                          int flags)
{
    size_t f = pl_fast_send(c, w, buf, len, flags);
    if (f == 0)
        return world_send(c, w, call, buf, len, flags, NULL, 0);
    if (f == len)
        return (ssize_t)f;
    int e = errno;
    ssize_t r = world_send(c, w, call, (const char *)buf + f, len - f, flags | MSG_NOSIGNAL,
                           NULL, 0);
    errno = e;
    return (ssize_t)f + (r > 0 ? r : 0);
}

/* write(2) of buf on world fd w, by the very path write() takes (sendfile.c sends with it, one
 * write per chunk, as Linux's sendfile makes one socket send per chunk it read). */
ssize_t pl_sock_write(struct pl_chan *c, int w, const void *buf, size_t len)
{
    return plain_send(c, w, XP_CALL_WRITE, buf, len, 0);
}

static ssize_t world_recv(struct pl_chan *c, int w, int call, void *buf, size_t len, int flags,
                          struct sockaddr *from, socklen_t *fromlen)
{
    void *tok = pl_fast_world_begin(c, w, false);
    ssize_t r;
    if (!direct_recv(c, w, call, buf, len, flags, from, fromlen, &r))
        r = recv_all(c, w, buf, len, flags, from, fromlen, call);
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

/* recv/read with no address: what the mapped queue holds, else the world's call (which blocks,
 * or gives end of file, an error or EAGAIN). */
static ssize_t plain_recv(struct pl_chan *c, int w, int call, void *buf, size_t len, int flags)
{
    size_t f = pl_fast_recv(c, w, buf, len, flags);
    if (f > 0)
        return (ssize_t)f;
    return world_recv(c, w, call, buf, len, flags, NULL, NULL);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_sendto(fd, buf, len, flags, to, tolen);
    }
    if (!to)
        return plain_send(c, w, XP_CALL_SENDTO, buf, len, flags);
    return world_send(c, w, XP_CALL_SENDTO, buf, len, flags, to, tolen);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_sendto(fd, buf, len, flags, NULL, 0);
    }
    return plain_send(c, w, XP_CALL_SEND, buf, len, flags);
}

static ssize_t sendmsg_world(struct pl_chan *c, int w, const struct msghdr *msg, int flags)
{
    ssize_t r;
    if (direct_msg(c, w, true, msg, flags, &r))
        return r;
    struct msghdr m;
    struct iovec *iov;
    if (msg_in(msg, &m, &iov) < 0)
        return -1;
    r = send_vec(c, w, iov, m.msg_iovlen, flags, m.msg_name, m.msg_namelen, XP_CALL_MSG);
    int e = errno;
    free(iov);
    errno = e;
    return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_sendmsg(fd, msg, flags);
    }
    void *tok = pl_fast_world_begin(c, w, true);
    ssize_t r = sendmsg_world(c, w, msg, flags);
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_write(fd, buf, len);
    }
    return plain_send(c, w, XP_CALL_WRITE, buf, len, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_writev(fd, iov, n);
    }
    if (n < 0 || n > IOV_MAX) {
        errno = EINVAL; /* import_iovec, before the socket is looked at */
        return -1;
    }
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    void *tok = pl_fast_world_begin(c, w, true);
    ssize_t r;
    if (!direct_msg(c, w, true, &m, 0, &r))
        r = send_staged(c, w, iov, (size_t)n, 0, NULL, 0);
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

/* MSG_WAITALL on a request larger than the area: several receives. */
static ssize_t recv_all(struct pl_chan *c, int w, void *buf, size_t len, int flags,
                        struct sockaddr *from, socklen_t *fromlen, int call)
{
    size_t done = 0;
    do {
        struct iovec iov = {.iov_base = (char *)buf + done, .iov_len = len - done};
        ssize_t r = recv_vec(c, w, &iov, 1, flags, from, fromlen, call, NULL);
        if (r < 0)
            return done ? (ssize_t)done : -1;
        if (r == 0)
            return (ssize_t)done;
        done += (size_t)r;
    } while ((flags & MSG_WAITALL) && done < len && !(flags & MSG_PEEK));
    return (ssize_t)done;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_recvfrom(fd, buf, len, flags, from, fromlen);
    }
    if (!from)
        return plain_recv(c, w, XP_CALL_RECVFROM, buf, len, flags);
    return world_recv(c, w, XP_CALL_RECVFROM, buf, len, flags, from, fromlen);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        return pl_real_recvfrom(fd, buf, len, flags, NULL, NULL);
    }
    return plain_recv(c, w, XP_CALL_RECV, buf, len, flags);
}

ssize_t read(int fd, void *buf, size_t len)
{
    struct pl_chan *c;
    if (pl_is_random_fd(fd) && (c = pl_chan()))
        return pl_random_read(c, buf, len);
    int w = vs(fd, &c);
    if (w < 0) {
        if (pl_real_wait(fd, POLLIN, 0) < 0)
            return -1;
        return PL_REAL(ssize_t(*)(int, void *, size_t), read)(fd, buf, len);
    }
    return plain_recv(c, w, XP_CALL_READ, buf, len, 0);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    struct pl_chan *c;
    if (pl_is_random_fd(fd) && (c = pl_chan()) && n >= 0) {
        /* one read per buffer, as a character device's readv is */
        ssize_t total = 0;
        for (int i = 0; i < n; i++) {
            ssize_t r = pl_random_read(c, iov[i].iov_base, iov[i].iov_len);
            if (r < 0)
                return total ? total : -1;
            total += r;
            if ((size_t)r < iov[i].iov_len)
                break;
        }
        return total;
    }
    int w = vs(fd, &c);
    if (w < 0) {
        if (pl_real_wait(fd, POLLIN, 0) < 0)
            return -1;
        return PL_REAL(ssize_t(*)(int, const struct iovec *, int), readv)(fd, iov, n);
    }
    if (n < 0 || n > IOV_MAX) {
        errno = EINVAL; /* import_iovec, before the socket is looked at */
        return -1;
    }
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    void *tok = pl_fast_world_begin(c, w, false);
    ssize_t r;
    if (!direct_msg(c, w, false, &m, 0, &r))
        r = recv_staged(c, w, iov, (size_t)n, 0, NULL, NULL);
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

static ssize_t recvmsg_world(struct pl_chan *c, int w, struct msghdr *msg, int flags)
{
    ssize_t dr;
    if (direct_msg(c, w, false, msg, flags, &dr))
        return dr;
    struct msghdr m;
    struct iovec *iov;
    if (msg_in(msg, &m, &iov) < 0)
        return -1;
    socklen_t nl = m.msg_namelen;
    int mflags = 0;
    ssize_t r = recv_vec(c, w, iov, m.msg_iovlen, flags, m.msg_name, m.msg_name ? &nl : NULL,
                         XP_CALL_MSG, &mflags);
    free(iov);
    if (r >= 0) {
        m.msg_namelen = m.msg_name ? nl : 0;
        m.msg_controllen = 0;
        m.msg_flags = mflags;
        if (pl_copy_out(&msg->msg_namelen, &m.msg_namelen, sizeof m.msg_namelen) !=
                sizeof m.msg_namelen ||
            pl_copy_out(&msg->msg_controllen, &m.msg_controllen, sizeof m.msg_controllen) !=
                sizeof m.msg_controllen ||
            pl_copy_out(&msg->msg_flags, &m.msg_flags, sizeof m.msg_flags) !=
                sizeof m.msg_flags)
            return efault();
    }
    return r;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0) {
        if (pl_real_wait(fd, POLLIN, flags) < 0)
            return -1;
        return PL_REAL(ssize_t(*)(int, struct msghdr *, int), recvmsg)(fd, msg, flags);
    }
    void *tok = pl_fast_world_begin(c, w, false);
    ssize_t r = recvmsg_world(c, w, msg, flags);
    int e = errno;
    pl_fast_world_end(tok);
    errno = e;
    return r;
}

int shutdown(int fd, int how)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return PL_REAL(int (*)(int, int), shutdown)(fd, how);
    c->a->op = XP_SHUTDOWN;
    c->a->fd = w;
    c->a->a[0] = how;
    return (int)pl_call(c, NULL, 0, NULL);
}

int close(int fd)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0 && pl_chan() && pl_is_chan_fd(fd))
        return 0; /* the world's channel stays (docs/exec-protocol.md) */
    if (w < 0) {
        pl_epoll_closed(fd);
        pl_random_fd_set(fd, false);
        return PL_REAL(int (*)(int), close)(fd);
    }
    pl_forget(fd);
    pl_fast_forget(w);
    PL_REAL(int (*)(int), close)(fd);
    c->a->op = XP_CLOSE;
    c->a->fd = w;
    return (int)pl_call(c, NULL, 0, NULL);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return PL_REAL(int (*)(int, int, int, const void *, socklen_t), setsockopt)(fd, level,
                                                                                  name, val, len);
    c->a->op = XP_SETSOCKOPT;
    c->a->fd = w;
    c->a->a[0] = level;
    c->a->a[1] = name;
    c->a->a[2] = val == NULL;
    c->a->a[3] = len;
    if (put_addr(c->a, val, len) < 0)
        return -1;
    return (int)pl_call(c, NULL, 0, NULL);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return PL_REAL(int (*)(int, int, int, void *, socklen_t *), getsockopt)(fd, level, name,
                                                                              val, len);
    c->a->op = XP_GETSOCKOPT;
    c->a->fd = w;
    c->a->a[0] = level;
    c->a->a[1] = name;
    socklen_t have;
    if (get_len(len, &have) < 0)
        return -1;
    c->a->a[2] = len ? (int64_t)have : -1;
    int r = (int)pl_call(c, NULL, 0, NULL);
    if (r == 0 && val && len && get_addr(c->a, val, len) < 0)
        return -1;
    return r;
}

static int name_call(int op, int fd, struct sockaddr *addr, socklen_t *len,
                     int (*real)(int, struct sockaddr *, socklen_t *))
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w < 0)
        return real(fd, addr, len);
    c->a->op = (uint32_t)op;
    c->a->fd = w;
    socklen_t have;
    if (addr && get_len(len, &have) < 0)
        return -1;
    int r = (int)pl_call(c, NULL, 0, NULL);
    if (r == 0 && get_addr(c->a, addr, len) < 0)
        return -1;
    return r;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_call(XP_GETSOCKNAME, fd, addr, len,
                     PL_REAL(int (*)(int, struct sockaddr *, socklen_t *), getsockname));
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_call(XP_GETPEERNAME, fd, addr, len,
                     PL_REAL(int (*)(int, struct sockaddr *, socklen_t *), getpeername));
}

static int fcntl_common(int fd, int cmd, long arg, const char *real_name)
{
    struct pl_chan *c;
    int w = vs(fd, &c);
    if (w >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
        return pl_fcntl_dup(fd, cmd, (int)arg);
    if (w < 0 || (cmd != F_GETFL && cmd != F_SETFL)) {
        int r = ((int (*)(int, int, ...))pl_real(real_name))(fd, cmd, arg);
        if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
            pl_random_fd_set(r, pl_is_random_fd(fd)); /* urandom.c */
        return r;
    }
    c->a->op = XP_FCNTL;
    c->a->fd = w;
    c->a->a[0] = cmd;
    c->a->a[1] = arg;
    return (int)pl_call(c, NULL, 0, NULL);
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg, "fcntl");
}

int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg, "fcntl64");
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct pl_chan *c = pl_chan();
    if (c && req == IOCTL_VM_SOCKETS_GET_LOCAL_CID) {
        /* Asked of /dev/vsock (or any descriptor): the process's CID, as the world last said. */
        unsigned int cid = c->a->cid;
        return pl_copy_out(arg, &cid, sizeof cid) == sizeof cid ? 0 : efault();
    }
    int w = vs(fd, &c);
    if (w < 0 || req != FIONREAD)
        return PL_REAL(int (*)(int, unsigned long, ...), ioctl)(fd, req, arg);
    c->a->op = XP_IOCTL;
    c->a->fd = w;
    c->a->a[0] = (int64_t)req;
    int r = (int)pl_call(c, NULL, 0, NULL);
    if (r == 0) {
        int v = (int)c->a->a[0];
        if (pl_copy_out(arg, &v, sizeof v) != sizeof v)
            return efault();
    }
    return r;
}
