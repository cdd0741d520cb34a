/*
 * api.c - the public vmci_* and VMCISock_* functions (include/vmci_sockets.h).
 *
 * Each call: passes descriptors and families that are not the simulator's to the C library;
 * refuses (EPERM) a VMCI call from a thread the simulator did not spawn; copies user arguments
 * in with fault-safe copies (EFAULT); enters the world as the calling process; runs the core's
 * operation; records the call and its result in the trace; sets errno.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/vmci_kapi.h"
#include "posix/real.h"
#include "sock/apicall.h"
#include "sock/fdcalls.h"
#include "sock/fdtable.h"
#include "sock/sockpoll.h"
#include "sock/usercopy.h"
#include "vmcisim/vmci_sockets.h"
#include "sock/vsock.h"
#include "sim/alloc.h"
#include "sock/fdtable.h"
#include "sock/usercopy.h"
#include "vmcisim/vmci_sockets.h"
#include "sock/vsock.h"

#define ADDR_MAX 128 /* sizeof(struct sockaddr_storage) */

/* ---- addresses (§1.2) ------------------------------------------------------------------------ */

/* Copy a user sockaddr in: 0, -EFAULT, or -EINVAL for a length out of range. */
static int addr_copy_in(const struct sockaddr *uaddr, socklen_t len, unsigned char *buf)
{
    if ((int)len < 0 || len > ADDR_MAX)
        return -EINVAL;
    memset(buf, 0, ADDR_MAX);
    if (len && uc_copy_from_user(buf, uaddr, len) != 0)
        return -EFAULT;
    return 0;
}

/* vsock_addr_cast: length, family and flags. -EAFNOSUPPORT for another family. */
static int addr_cast(const unsigned char *buf, socklen_t len, struct sockaddr_vm *out)
{
    if (len < sizeof(struct sockaddr_vm))
        return -EFAULT;
    memcpy(out, buf, sizeof *out);
    if (out->svm_family != AF_VSOCK)
        return -EAFNOSUPPORT;
    if (out->svm_flags & ~VMADDR_FLAG_TO_HOST)
        return -EINVAL;
    return 0;
}

/* Copy an address out to (uaddr, ulen) as getsockname does. */
static int addr_copy_out(const struct sockaddr_vm *a, struct sockaddr *uaddr, socklen_t *ulen)
{
    socklen_t len;
    if (uc_copy_from_user(&len, ulen, sizeof len) != 0)
        return -EFAULT;
    if ((int)len < 0)
        return -EINVAL;
    socklen_t n = len < sizeof *a ? len : (socklen_t)sizeof *a;
    if (n && uc_copy_to_user(uaddr, a, n) != 0)
        return -EFAULT;
    len = sizeof *a;
    if (uc_copy_to_user(ulen, &len, sizeof len) != 0)
        return -EFAULT;
    return 0;
}

/* ---- VMware helpers -------------------------------------------------------------------------- */

int VMCISock_GetAFValue(void) { return AF_VSOCK; }

int VMCISock_GetAFValueFd(int *outFd)
{
    /* The 2019 header on Linux: the family is registered, so no device fd is kept open. */
    if (outFd)
        *outFd = -1;
    return AF_VSOCK;
}

void VMCISock_ReleaseAFValueFd(int fd)
{
    if (fd >= 0)
        REAL(close)(fd);
}

unsigned int VMCISock_GetLocalCID(void)
{
    struct call c;
    if (call_begin(&c) != 0)
        return VMADDR_CID_ANY;
    unsigned int cid = vsock_local_cid(c.sw, c.proc->vm);
    sim_trace(c.sim, "call", "op=get-local-cid rc=%u", cid);
    sim_leave(c.sim);
    return cid;
}

/* ---- socket, close -------------------------------------------------------------------------------- */

int vmci_socket(int domain, int type, int protocol)
{
    if (domain != AF_VSOCK)
        return REAL(socket)(domain, type, protocol);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base < 0 || base > 15 || base >= 11 /* SOCK_MAX: __sock_create */) {
        rc = -EINVAL;
    } else if (protocol != 0 && protocol != PF_VSOCK) {
        rc = -EPROTONOSUPPORT;
    } else if (base != SOCK_STREAM && base != SOCK_DGRAM && base != SOCK_SEQPACKET) {
        rc = -ESOCKTNOSUPPORT;
    } else {
        struct vsock_ctx *ctx = vsock_ctx_of(c.sw, c.proc->vm);
        /* no context: its allocation failed when the VM was created (sock_world.c) */
        struct vsock *sk = ctx ? vsock_create(c.sw, ctx, base, NULL, c.proc) : NULL;
        if (!sk) {
            rc = -ENOMEM;
        } else {
            sk->nonblock = (type & SOCK_NONBLOCK) != 0;
            rc = fdtab_install_cloexec(c.proc, sk, (type & SOCK_CLOEXEC) != 0);
            if (rc < 0) {
                vsock_release(sk);
                vsock_put(sk);
            } else {
                char ty[SIM_TR_NUM_MAX], fdb[FDTAB_TRACE_FD_MAX];
                vsock_trace(sk, "sock-create", "type=%s fd=%s",
                            sim_tr_num(ty, base, base == SOCK_STREAM  ? "STREAM"
                                                 : base == SOCK_DGRAM ? "DGRAM"
                                                                      : "SEQPACKET"),
                            fdtab_trace_fd(c.proc, fdtab_trace_id(c.proc, rc), fdb));
            }
        }
    }
    c.rc_is_fd = true;
    return (int)call_end(&c, "socket", -1, rc);
}

int vmci_close(int fd)
{
    if (!fd_is_vsock_range(fd))
        return REAL(close)(fd);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    /* Only the number goes: a call blocked on the socket in another thread keeps its file,
     * and the socket is released when that call returns (§2.12; Linux's fput) */
    c.fdid = fdtab_trace_id(c.proc, fd);
    rc = fdtab_close(c.proc, fd);
    return (int)call_end(&c, "close", fd, rc);
}

/* ---- bind, listen, accept, connect ------------------------------------------------------------- */

int vmci_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(bind)(fd, addr, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    unsigned char buf[ADDR_MAX];
    struct sockaddr_vm a;
    struct vsock *sk = lookup(&c, fd);
    if (!sk)
        rc = lookup_err(&c);
    else if ((rc = addr_copy_in(addr, len, buf)) == 0)
        rc = addr_cast(buf, len, &a) ? -EINVAL : vsock_op_bind(sk, &a);
    return (int)call_end(&c, "bind", fd, rc);
}

int vmci_listen(int fd, int backlog)
{
    if (!fd_is_vsock_range(fd))
        return REAL(listen)(fd, backlog);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk)
        rc = lookup_err(&c);
    else
        rc = vsock_op_listen(sk, backlog);
    return (int)call_end(&c, "listen", fd, rc);
}

int vmci_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(accept)(fd, addr, len);
    return vmci_accept4(fd, addr, len, 0);
}

int vmci_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!fd_is_vsock_range(fd))
        return REAL(accept4)(fd, addr, len, flags);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vsock *sk = NULL;
    if (!(flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)))
        sk = lookup(&c, fd);
    socklen_t ulen = 0;
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) {
        rc = -EINVAL; /* __sys_accept4 checks the flags before the descriptor */
    } else if (!sk) {
        rc = lookup_err(&c);
    } else if (addr && uc_copy_from_user(&ulen, len, sizeof ulen) != 0) {
        rc = -EFAULT;
    } else if (addr && (int)ulen < 0) {
        rc = -EINVAL;
    } else {
        struct vsock *child = NULL;
        rc = vsock_op_accept(sk, &child, false);
        if (rc == 0) {
            child->owner = c.proc;
            if (addr && addr_copy_out(&child->remote, addr, len) != 0) {
                vsock_release(child);
                vsock_put(child);
                rc = -EFAULT;
            } else {
                child->nonblock = (flags & SOCK_NONBLOCK) != 0;
                rc = fdtab_install_cloexec(c.proc, child, (flags & SOCK_CLOEXEC) != 0);
                if (rc < 0) {
                    vsock_release(child);
                    vsock_put(child);
                } else {
                    char fdb[FDTAB_TRACE_FD_MAX];
                    vsock_trace(child, "accepted", "fd=%s remote=%u:%u",
                                fdtab_trace_fd(c.proc, fdtab_trace_id(c.proc, rc), fdb),
                                child->remote.svm_cid,
                                child->remote.svm_port);
                }
            }
        }
    }
    c.rc_is_fd = true;
    return (int)call_end(&c, "accept", fd, rc);
}

int vmci_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(connect)(fd, addr, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    unsigned char buf[ADDR_MAX];
    struct sockaddr_vm a;
    struct vsock *sk = lookup(&c, fd);
    if (!sk) {
        rc = lookup_err(&c);
    } else if ((rc = addr_copy_in(addr, len, buf)) == 0) {
        int cast = addr_cast(buf, len, &a);
        sa_family_t fam = len >= sizeof(sa_family_t) ? ((struct sockaddr *)buf)->sa_family : 0;
        if (sk->type == SOCK_DGRAM && cast == -EAFNOSUPPORT && fam == AF_UNSPEC)
            rc = vsock_op_connect(sk, NULL, AF_UNSPEC);
        else if (cast)
            rc = vsock_type_connectible(sk->type) ? vsock_op_connect(sk, NULL, AF_VSOCK)
                                                  : -EINVAL;
        else
            rc = vsock_op_connect(sk, &a, AF_VSOCK);
    }
    return (int)call_end(&c, "connect", fd, rc);
}

/* ---- data ----------------------------------------------------------------------------------- */

static long do_send(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                    socklen_t tolen, const char *op)
{
    struct call c;
    long rc = call_begin(&c);
    if (rc)
        return fail((int)-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk) {
        rc = lookup_err(&c);
    } else if (len > SSIZE_MAX) {
        rc = -EINVAL;
    } else {
        unsigned char abuf[ADDR_MAX];
        struct sockaddr_vm a;
        bool given = to != NULL;
        bool valid = false;
        rc = 0;
        if (given) {
            rc = addr_copy_in(to, tolen, abuf);
            valid = rc == 0 && addr_cast(abuf, tolen, &a) == 0;
        }
        if (rc == 0)
            rc = vsock_op_send(sk, buf, len, flags, valid ? &a : NULL, given, valid);
    }
    c.data = buf;
    c.data_len = len;
    rc = call_end(&c, op, fd, rc);
    if (rc < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL)) {
        /* §2.7: Linux sends SIGPIPE to the sender, then the call fails with EPIPE */
        if (vsock_sigpipe_hook)
            vsock_sigpipe_hook();
        errno = EPIPE;
    }
    return rc;
}

void (*vsock_sigpipe_hook)(void);

static long do_recv(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                    socklen_t *fromlen, int *msg_flags, const char *op)
{
    struct call c;
    long rc = call_begin(&c);
    if (rc)
        return fail((int)-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk) {
        rc = lookup_err(&c);
    } else if (len > SSIZE_MAX) {
        rc = -EINVAL;
    } else if (len == 0 && op[0] == 'r' && op[1] == 'e' && op[2] == 'a') {
        rc = 0; /* read(2) of nothing: sock_read_iter answers 0 before the protocol is asked */
    } else {
        struct sockaddr_vm src;
        vsock_addr_init(&src, VMADDR_CID_ANY, VMADDR_PORT_ANY);
        rc = vsock_op_recv(sk, buf, len, flags, &src, msg_flags);
        if (rc >= 0 && from && fromlen) {
            if (sk->type == SOCK_STREAM)
                src = sk->remote;
            if (addr_copy_out(&src, from, fromlen) != 0)
                rc = -EFAULT;
        }
    }
    c.data = buf;
    c.data_len = len;
    return call_end(&c, op, fd, rc);
}

ssize_t vmci_send(int fd, const void *buf, size_t len, int flags)
{
    if (!fd_is_vsock_range(fd))
        return REAL(send)(fd, buf, len, flags);
    return do_send(fd, buf, len, flags, NULL, 0, "send");
}

ssize_t vmci_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                    socklen_t tolen)
{
    if (!fd_is_vsock_range(fd))
        return REAL(sendto)(fd, buf, len, flags, to, tolen);
    return do_send(fd, buf, len, flags, to, tolen, "sendto");
}

ssize_t vmci_write(int fd, const void *buf, size_t len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(write)(fd, buf, len);
    return do_send(fd, buf, len, 0, NULL, 0, "write");
}

ssize_t vmci_recv(int fd, void *buf, size_t len, int flags)
{
    if (!fd_is_vsock_range(fd))
        return REAL(recv)(fd, buf, len, flags);
    return do_recv(fd, buf, len, flags, NULL, NULL, NULL, "recv");
}

ssize_t vmci_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                      socklen_t *fromlen)
{
    if (!fd_is_vsock_range(fd))
        return REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
    return do_recv(fd, buf, len, flags, from, fromlen, NULL, "recvfrom");
}

ssize_t vmci_read(int fd, void *buf, size_t len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(read)(fd, buf, len);
    return do_recv(fd, buf, len, 0, NULL, NULL, NULL, "read");
}

/* Linux's cap on one read or write (MAX_RW_COUNT: INT_MAX rounded down to a page): import_iovec
 * truncates a longer message to it. */
#define MSG_RW_MAX ((size_t)0x7ffff000)

/* Sum a message's iovec lengths as Linux's import_iovec does: a length that is negative as a
 * ssize_t gives EINVAL, and the sum is truncated to MSG_RW_MAX, so it never overflows. */
static long iov_total(const struct msghdr *m, const struct iovec *iov, size_t *total)
{
    size_t n = 0;
    for (size_t i = 0; i < m->msg_iovlen; i++) {
        if (iov[i].iov_len > SSIZE_MAX)
            return -EINVAL;
        n += iov[i].iov_len < MSG_RW_MAX - n ? iov[i].iov_len : MSG_RW_MAX - n;
    }
    assert(n <= MSG_RW_MAX);
    *total = n;
    return 0;
}

/* EFAULT unless the first and the last byte of every iovec (up to the truncated total) can be
 * read: a length far past the caller's buffer fails here, before a kernel buffer of that size is
 * allocated (an iov_len of 2^36 over 256 bytes must not allocate 64 GiB). */
static long iov_probe(const struct msghdr *m, const struct iovec *iov, size_t total)
{
    size_t left = total;
    for (size_t i = 0; i < m->msg_iovlen && left > 0; i++) {
        size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
        char b;
        if (n && (uc_copy_from_user(&b, iov[i].iov_base, 1) != 0 ||
                  uc_copy_from_user(&b, (const char *)iov[i].iov_base + n - 1, 1) != 0))
            return -EFAULT;
        left -= n;
    }
    return 0;
}

/* Gather a message's iovecs into one kernel buffer (EFAULT on a bad one). */
static long gather(const struct msghdr *m, struct iovec *iov, char **out, size_t *total)
{
    size_t n = 0;
    long rc = iov_total(m, iov, &n);
    if (rc == 0)
        rc = iov_probe(m, iov, n);
    if (rc)
        return rc;
    char *buf = vmcisim_malloc(n ? n : 1);
    if (!buf)
        return -ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < m->msg_iovlen && off < n; i++) {
        size_t len = iov[i].iov_len < n - off ? iov[i].iov_len : n - off;
        if (uc_copy_from_user(buf + off, iov[i].iov_base, len) != 0) {
            free(buf);
            return -EFAULT;
        }
        off += len;
    }
    assert(off == n);
    *out = buf;
    *total = n;
    return 0;
}

/* Copy a user msghdr and its iovec array in. */
static long msg_copy_in(const struct msghdr *umsg, struct msghdr *m, struct iovec **iov)
{
    if (uc_copy_from_user(m, umsg, sizeof *m) != 0)
        return -EFAULT;
    if (m->msg_iovlen > IOV_MAX)
        return -EMSGSIZE;
    *iov = vmcisim_calloc(m->msg_iovlen ? m->msg_iovlen : 1, sizeof **iov);
    if (!*iov)
        return -ENOMEM;
    if (m->msg_iovlen &&
        uc_copy_from_user(*iov, m->msg_iov, m->msg_iovlen * sizeof **iov) != 0) {
        free(*iov);
        return -EFAULT;
    }
    return 0;
}

ssize_t vmci_sendmsg(int fd, const struct msghdr *umsg, int flags)
{
    if (!fd_is_vsock_range(fd))
        return REAL(sendmsg)(fd, umsg, flags);
    struct msghdr m;
    struct iovec *iov;
    long rc = msg_copy_in(umsg, &m, &iov);
    if (rc)
        return fail((int)-rc);
    char *buf = NULL;
    size_t total = 0;
    rc = gather(&m, iov, &buf, &total);
    free(iov);
    if (rc)
        return fail((int)-rc);
    struct sim_cleanup held; /* the send may block: a thread ended there must not leak buf */
    sim_cleanup_push(&held, free, buf);
    uc_local_range(buf, total); /* buf is ours; msg_name is still the caller's */
    rc = do_send(fd, buf, total, flags, m.msg_name, m.msg_name ? m.msg_namelen : 0, "sendmsg");
    int e = errno;
    uc_local_range(NULL, 0);
    sim_cleanup_pop(&held);
    free(buf);
    errno = e;
    return rc;
}

ssize_t vmci_recvmsg(int fd, struct msghdr *umsg, int flags)
{
    if (!fd_is_vsock_range(fd))
        return REAL(recvmsg)(fd, umsg, flags);
    struct msghdr m;
    struct iovec *iov;
    long rc = msg_copy_in(umsg, &m, &iov);
    if (rc)
        return fail((int)-rc);
    size_t total = 0;
    rc = iov_total(&m, iov, &total);
    if (rc) {
        free(iov);
        return fail((int)-rc);
    }
    /* one block of ours: the data, then the name length the receive reads and writes back
     * (both are "user" memory to the receive: uc_local_range makes them local in a remote
     * session, where the caller's pointers are another process's) */
    size_t lenoff = (total + 7) & ~(size_t)7;
    char *buf = vmcisim_malloc(lenoff + sizeof(socklen_t));
    if (!buf) {
        free(iov);
        return fail(ENOMEM);
    }
    /* the receive may block: a thread ended there must not leak iov and buf */
    struct sim_cleanup held_iov, held_buf;
    sim_cleanup_push(&held_iov, free, iov);
    sim_cleanup_push(&held_buf, free, buf);
    int mflags = 0;
    socklen_t *namelenp = (socklen_t *)(void *)(buf + lenoff);
    *namelenp = m.msg_namelen;
    uc_local_range(buf, lenoff + sizeof(socklen_t)); /* msg_name is still the caller's */
    rc = do_recv(fd, buf, total, flags, m.msg_name, m.msg_name ? namelenp : NULL, &mflags,
                 "recvmsg");
    int e = errno;
    uc_local_range(NULL, 0);
    socklen_t namelen = *namelenp;
    sim_cleanup_pop(&held_buf);
    sim_cleanup_pop(&held_iov);
    if (rc > 0) {
        size_t off = 0;
        for (size_t i = 0; i < m.msg_iovlen && off < (size_t)rc; i++) {
            size_t n = iov[i].iov_len < (size_t)rc - off ? iov[i].iov_len : (size_t)rc - off;
            if (uc_copy_to_user(iov[i].iov_base, buf + off, n) != 0) {
                rc = -1;
                e = EFAULT;
                break;
            }
            off += n;
        }
    }
    if (rc >= 0) {
        m.msg_flags = mflags;
        m.msg_namelen = m.msg_name ? namelen : 0;
        m.msg_controllen = 0;
        if (uc_copy_to_user(&umsg->msg_flags, &m.msg_flags, sizeof m.msg_flags) != 0 ||
            uc_copy_to_user(&umsg->msg_namelen, &m.msg_namelen, sizeof m.msg_namelen) != 0 ||
            uc_copy_to_user(&umsg->msg_controllen, &m.msg_controllen,
                            sizeof m.msg_controllen) != 0) {
            rc = -1;
            e = EFAULT;
        }
    }
    free(buf);
    free(iov);
    errno = e;
    return rc;
}

/* ---- shutdown, names, options --------------------------------------------------------------- */

int vmci_shutdown(int fd, int how)
{
    if (!fd_is_vsock_range(fd))
        return REAL(shutdown)(fd, how);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vsock *sk = lookup(&c, fd);
    rc = sk ? vsock_op_shutdown(sk, how) : -EBADF;
    return (int)call_end(&c, "shutdown", fd, rc);
}

int vmci_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(getsockname)(fd, addr, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vsock *sk = lookup(&c, fd);
    rc = sk ? addr_copy_out(&sk->local, addr, len) : -EBADF;
    return (int)call_end(&c, "getsockname", fd, rc);
}

int vmci_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(getpeername)(fd, addr, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk)
        rc = lookup_err(&c);
    else if (sk->ss != SS_CONNECTED)
        rc = -ENOTCONN;
    else
        rc = addr_copy_out(&sk->remote, addr, len);
    return (int)call_end(&c, "getpeername", fd, rc);
}

int vmci_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(setsockopt)(fd, level, name, val, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    unsigned char buf[64];
    struct vsock *sk = lookup(&c, fd);
    socklen_t n = len > sizeof buf ? (socklen_t)sizeof buf : len;
    if (!sk)
        rc = lookup_err(&c);
    else if ((int)len < 0)
        rc = -EINVAL;
    else if (n && uc_copy_from_user(buf, val, n) != 0)
        rc = -EFAULT;
    else
        rc = vsock_op_setsockopt(sk, level, name, buf, n);
    return (int)call_end(&c, "setsockopt", fd, rc);
}

int vmci_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    if (!fd_is_vsock_range(fd))
        return REAL(getsockopt)(fd, level, name, val, len);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    unsigned char buf[64];
    socklen_t klen;
    struct vsock *sk = lookup(&c, fd);
    if (!sk) {
        rc = lookup_err(&c);
    } else if (uc_copy_from_user(&klen, len, sizeof klen) != 0) {
        rc = -EFAULT;
    } else if ((int)klen < 0) {
        rc = -EINVAL;
    } else {
        socklen_t want = klen > sizeof buf ? (socklen_t)sizeof buf : klen;
        rc = vsock_op_getsockopt(sk, level, name, buf, &want);
        if (rc == 0 && ((want && uc_copy_to_user(val, buf, want) != 0) ||
                        uc_copy_to_user(len, &want, sizeof want) != 0))
            rc = -EFAULT;
    }
    return (int)call_end(&c, "getsockopt", fd, rc);
}

/* fcntl and ioctl, which act on every kind of simulated file, are in fdcalls.c. */

/* ---- poll (§2.14) ----------------------------------------------------------------------------- */

int vmci_poll(struct pollfd *ufds, nfds_t nfds, int timeout_ms)
{
    /* one implementation for vmci_poll and the plain-named poll: sockpoll.c */
    if (!sockpoll_simulated())
        return REAL(poll)(ufds, nfds, timeout_ms);
    int64_t ns = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000;
    int rc = sockpoll_poll(ufds, nfds, ns, NULL, "poll");
    return rc < 0 ? (int)fail(-rc) : rc;
}
