/*
 * fd_calls.c - the plain-named descriptor calls (read, write, readv, writev, close, fcntl,
 * ioctl, dup, dup2, dup3, open, openat) of a program linked with libvmcisim.
 *
 * A simulated descriptor (fd_is_vsock_range) is the simulation's: its calls act on the
 * simulated socket or device, from a thread of the process that owns it; a thread outside the
 * simulation gets EPERM (the number is only a placeholder in the real kernel). Every other
 * descriptor is the C library's (REAL). open/openat give a simulated process the devices the
 * simulation provides (/dev/vsock; /dev/urandom and /dev/random in deterministic mode, whose
 * reads draw from the world's seeded stream); other paths are the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix/posix_internal.h"
#include "sock/fdcalls.h"
#include "sock/fdtable.h"
#include "posix/real.h"
#include "vmcisim/vmci_sockets.h"

/* Declared identically in posix_internal.h (the process model's header), which defines it;
 * random_fallback.c has a weak stand-in. */
size_t vmcisim_posix_random_bytes(void *buf, size_t n);

/* epoll interest lists kept under a real descriptor number (the poll helper's sockepoll.c);
 * weak, so this file links without it. */
extern void sockepoll_fd_closed(int fd) __attribute__((weak));

static bool simulated_thread(void)
{
    sim_thread *t = sim_self();
    return t && t->proc;
}

static long fail_with(int err)
{
    errno = err;
    return -1;
}

/* ---- read, write ------------------------------------------------------------------------------ */

static ssize_t urandom_read(int fd, void *buf, size_t n)
{
    int fl = vmci_fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    if ((fl & O_ACCMODE) == O_WRONLY)
        return fail_with(EBADF);
    if (n == 0)
        return 0;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    size_t got = vmcisim_posix_random_bytes(buf, n);
    return got ? (ssize_t)got : fail_with(EFAULT);
}

ssize_t read(int fd, void *buf, size_t n)
{
    if (!fd_is_vsock_range(fd))
        return REAL(read)(fd, buf, n);
    if (!simulated_thread())
        return fail_with(EPERM);
    switch (fd_sim_kind(fd)) {
    case VF_URANDOM:
        return urandom_read(fd, buf, n);
    case VF_VSOCK_DEV:
        return vmcisim_fd_dev_rw(fd, buf, n, false);
    default:
        return vmci_read(fd, buf, n);
    }
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (!fd_is_vsock_range(fd))
        return REAL(write)(fd, buf, n);
    if (!simulated_thread())
        return fail_with(EPERM);
    int kind = fd_sim_kind(fd);
    if (kind == VF_URANDOM || kind == VF_VSOCK_DEV)
        return vmcisim_fd_dev_rw(fd, (void *)buf, n, true);
    return vmci_write(fd, buf, n);
}

/* readv/writev on a socket are recvmsg/sendmsg with no flags (sock_read_iter/sock_write_iter);
 * on a device, one read or write per buffer. */
static ssize_t rw_vec(int fd, const struct iovec *iov, int iovcnt, bool wr)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX)
        return fail_with(EINVAL); /* import_iovec, before the file is looked at */
    if (!simulated_thread())
        return fail_with(EPERM);
    int kind = fd_sim_kind(fd);
    if (kind == VF_SOCKET || kind < 0) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
        return wr ? vmci_sendmsg(fd, &m, 0) : vmci_recvmsg(fd, &m, 0);
    }
    ssize_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        ssize_t k = wr ? write(fd, iov[i].iov_base, iov[i].iov_len)
                       : read(fd, iov[i].iov_base, iov[i].iov_len);
        if (k < 0)
            return total ? total : -1;
        total += k;
        if ((size_t)k < iov[i].iov_len)
            break;
    }
    return total;
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (!fd_is_vsock_range(fd))
        return REAL(readv)(fd, iov, iovcnt);
    return rw_vec(fd, iov, iovcnt, false);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (!fd_is_vsock_range(fd))
        return REAL(writev)(fd, iov, iovcnt);
    return rw_vec(fd, iov, iovcnt, true);
}

/* ---- close, dup -------------------------------------------------------------------------------- */

int close(int fd)
{
    if (fd_is_vsock_range(fd))
        return vmci_close(fd);
    int rc = REAL(close)(fd);
    if (rc == 0 && sockepoll_fd_closed && simulated_thread()) {
        int e = errno;
        sockepoll_fd_closed(fd);
        errno = e;
    }
    return rc;
}

int dup(int fd)
{
    if (!fd_is_vsock_range(fd))
        return REAL(dup)(fd);
    return vmcisim_fd_dup(fd, -1, 0, false, "dup");
}

int dup2(int oldfd, int newfd)
{
    if (newfd < 0 && fd_is_vsock_range(oldfd))
        return (int)fail_with(EBADF); /* ksys_dup3: newfd beyond the table */
    if (fd_is_vsock_range(oldfd))
        return vmcisim_fd_dup(oldfd, newfd, 0, false, "dup2");
    if (fd_is_vsock_range(newfd) && oldfd != newfd)
        return vmcisim_fd_dup_real_onto(oldfd, newfd, 0, "dup2");
    return REAL(dup2)(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags)
{
    if (flags & ~O_CLOEXEC)
        return (int)fail_with(EINVAL); /* ksys_dup3's checks come first */
    if (oldfd == newfd)
        return (int)fail_with(EINVAL);
    if (newfd < 0 && fd_is_vsock_range(oldfd))
        return (int)fail_with(EBADF);
    if (fd_is_vsock_range(oldfd))
        return vmcisim_fd_dup(oldfd, newfd, 0, (flags & O_CLOEXEC) != 0, "dup3");
    if (fd_is_vsock_range(newfd))
        return vmcisim_fd_dup_real_onto(oldfd, newfd, flags, "dup3");
    return REAL(dup3)(oldfd, newfd, flags);
}

/* ---- fcntl, ioctl ------------------------------------------------------------------------------ */

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    if (!fd_is_vsock_range(fd))
        return REAL(fcntl)(fd, cmd, arg);
    return vmci_fcntl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    if (!fd_is_vsock_range(fd))
        return REAL(fcntl64)(fd, cmd, arg);
    return vmci_fcntl(fd, cmd, arg);
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!fd_is_vsock_range(fd))
        return REAL(ioctl)(fd, req, arg);
    return vmci_ioctl(fd, req, arg);
}

/* ---- open, openat -------------------------------------------------------------------------------- */

static int open_common(int dirfd, bool at, const char *path, int flags, mode_t mode, bool o64)
{
    if (simulated_thread() && path && path[0] == '/') {
        bool handled;
        int fd = vmcisim_fd_open_dev(path, flags, &handled);
        if (handled)
            return fd;
    }
    if (at)
        return o64 ? REAL(openat64)(dirfd, path, flags, mode) : REAL(openat)(dirfd, path, flags, mode);
    return o64 ? REAL(open64)(path, flags, mode) : REAL(open)(path, flags, mode);
}

#define MODE_ARG(flags, mode)                                                                \
    mode_t mode = 0;                                                                         \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                                                 \
        va_list ap;                                                                          \
        va_start(ap, flags);                                                                 \
        mode = (mode_t)va_arg(ap, int);                                                      \
        va_end(ap);                                                                          \
    }

int open(const char *path, int flags, ...)
{
    MODE_ARG(flags, mode);
    return open_common(AT_FDCWD, false, path, flags, mode, false);
}

int open64(const char *path, int flags, ...)
{
    MODE_ARG(flags, mode);
    return open_common(AT_FDCWD, false, path, flags, mode, true);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags, mode);
    return open_common(dirfd, true, path, flags, mode, false);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags, mode);
    return open_common(dirfd, true, path, flags, mode, true);
}

/* _FORTIFY_SOURCE builds call these for open/openat without a mode, and for read with a known
 * buffer size. */
extern void __chk_fail(void) __attribute__((noreturn));

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, false, path, flags, 0, false);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, false, path, flags, 0, true);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, true, path, flags, 0, false);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, true, path, flags, 0, true);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return read(fd, buf, n);
}

/* Pulled in by link_all.c, so the wrappers above are linked even behind a sanitizer runtime. */
VMCISIM_POSIX_ANCHOR(fd_calls);
