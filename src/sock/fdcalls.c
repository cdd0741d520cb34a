/*
 * fdcalls.c - descriptor-level calls on simulated files (fdcalls.h) and vmci_fcntl/vmci_ioctl,
 * which act on every kind of simulated file: sockets, /dev/vsock, /dev/urandom.
 *
 * Linux's generic code decides most of these before any socket code runs (fs/fcntl.c,
 * fs/ioctl.c, fs/file.c), so the rules here are those of the VFS, cited per call.
 */
#define _GNU_SOURCE
#include "sock/fdcalls.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/vmci_kapi.h"
#include "posix/real.h"
#include "sock/apicall.h"
#include "sock/usercopy.h"
#include "vmcisim/vmci_sockets.h"
#include "sock/vsock.h"

/* ---- dup family (fs/file.c) ------------------------------------------------------------------ */

int vmcisim_fd_dup(int oldfd, int newfd, int minfd, bool cloexec, const char *op)
{
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    c.fdid = fdtab_trace_id(c.proc, oldfd);
    if (newfd < 0 && (minfd < 0 || minfd >= VSOCK_FD_MAX))
        rc = -EINVAL; /* F_DUPFD: arg beyond RLIMIT_NOFILE (VSOCK_FD_MAX stands in for it) */
    else
        rc = fdtab_dup(c.proc, oldfd, newfd, minfd, cloexec);
    if (rc >= 0) {
        char ob[FDTAB_TRACE_FD_MAX], nb[FDTAB_TRACE_FD_MAX];
        sim_trace_rich(c.sim, "fd-dup", "op=%s old=%s new=%s", op,
                       fdtab_trace_fd(c.proc, c.fdid, ob),
                       fdtab_trace_fd(c.proc, fdtab_trace_id(c.proc, rc), nb));
    }
    c.rc_is_fd = true;
    return (int)call_end(&c, op, oldfd, rc);
}

int vmcisim_fd_dup_real_onto(int oldfd, int newfd, int flags, const char *op)
{
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    c.fdid = fdtab_trace_id(c.proc, newfd);
    if (fdtab_trace_id(c.proc, newfd) == newfd) {
        rc = -EBADF; /* another simulated process's number */
    } else if (REAL(dup3)(oldfd, newfd, flags) < 0) {
        rc = -errno;
    } else {
        fdtab_forget(c.proc, newfd);
        rc = newfd;
    }
    return (int)call_end(&c, op, newfd, rc);
}

/* ---- devices ---------------------------------------------------------------------------------- */

int vmcisim_fd_open_dev(const char *path, int flags, bool *handled)
{
    *handled = false;
    sim_thread *self = sim_self();
    if (!self || !self->proc || !path)
        return -1;
    enum vfile_kind kind;
    if (strcmp(path, "/dev/vsock") == 0)
        kind = VF_VSOCK_DEV;
    else if ((strcmp(path, "/dev/urandom") == 0 || strcmp(path, "/dev/random") == 0) &&
             !sim_is_realtime(self->sim))
        kind = VF_URANDOM;
    else
        return -1;
    *handled = true;
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    if ((flags & O_ACCMODE) == O_ACCMODE)
        rc = -EINVAL;
    else if (flags & (O_DIRECTORY | O_TMPFILE))
        rc = -ENOTDIR;
    else
        rc = fdtab_install_dev(c.proc, kind, flags & (O_ACCMODE | O_NONBLOCK | O_APPEND),
                               (flags & O_CLOEXEC) != 0);
    if (rc >= 0) {
        c.fdid = fdtab_trace_id(c.proc, rc);
        sim_trace(c.sim, "fd-open", "path=%s fd=%d", path, c.fdid);
    }
    c.rc_is_fd = true;
    return (int)call_end(&c, "open", -1, rc);
}

ssize_t vmcisim_fd_dev_rw(int fd, void *buf, size_t len, bool write)
{
    struct call c;
    long rc = call_begin(&c);
    if (rc)
        return fail((int)-rc);
    struct vfile *f = call_file(&c, fd);
    int acc = f ? (f->flags & O_ACCMODE) : 0;
    if (!f)
        rc = -EBADF;
    else if (write ? acc == O_RDONLY : acc == O_WRONLY)
        rc = -EBADF; /* vfs_read/vfs_write: the file was not opened for it */
    else if (f->kind == VF_VSOCK_DEV)
        rc = -EINVAL; /* the vsock misc device has no read or write */
    else if (f->kind == VF_URANDOM && write)
        rc = len > SSIZE_MAX ? SSIZE_MAX : (long)len; /* mixed into nothing: deterministic */
    else
        rc = -EINVAL;
    (void)buf;
    return call_end(&c, write ? "write" : "read", fd, rc);
}

/* ---- fcntl (fs/fcntl.c do_fcntl) ------------------------------------------------------------- */

/* F_SETFL changes only these (SETFL_MASK); the access mode and creation flags stay. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME)

int vmci_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    if (!fd_is_vsock_range(fd))
        return REAL(fcntl)(fd, cmd, arg);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        return vmcisim_fd_dup(fd, -1, (int)arg, cmd == F_DUPFD_CLOEXEC, "fcntl");
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vfile *f = call_file(&c, fd);
    if (!f) {
        rc = -EBADF;
    } else {
        switch (cmd) {
        case F_GETFD:
            rc = fdtab_get_cloexec(c.proc, fd) ? FD_CLOEXEC : 0;
            break;
        case F_SETFD:
            rc = fdtab_set_cloexec(c.proc, fd, (arg & FD_CLOEXEC) != 0);
            break;
        case F_GETFL:
            if (f->kind == VF_SOCKET)
                rc = O_RDWR | (f->sk->nonblock ? O_NONBLOCK : 0);
            else
                rc = f->flags;
            break;
        case F_SETFL:
            if (f->kind == VF_SOCKET)
                f->sk->nonblock = (arg & O_NONBLOCK) != 0;
            else
                f->flags = (f->flags & ~SETFL_MASK) | ((int)arg & SETFL_MASK);
            rc = 0;
            break;
        default:
            rc = -EINVAL; /* locks, owners, leases, pipes' and seals' commands: not simulated */
            break;
        }
    }
    return (int)call_end(&c, "fcntl", fd, rc);
}

/* ---- ioctl (fs/ioctl.c, net/socket.c, af_vsock.c vsock_dev_ioctl) ----------------------------- */

int vmci_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!fd_is_vsock_range(fd))
        return REAL(ioctl)(fd, req, arg);
    struct call c;
    int rc = call_begin(&c);
    if (rc)
        return (int)fail(-rc);
    struct vfile *f = call_file(&c, fd);
    if (!f) {
        rc = -EBADF;
    } else if (req == FIOCLEX || req == FIONCLEX) {
        rc = fdtab_set_cloexec(c.proc, fd, req == FIOCLEX); /* do_vfs_ioctl, any file */
    } else if (req == FIONBIO) {
        int on;
        if (uc_copy_from_user(&on, arg, sizeof on) != 0) {
            rc = -EFAULT;
        } else {
            if (f->kind == VF_SOCKET)
                f->sk->nonblock = on != 0;
            else
                f->flags = on ? (f->flags | O_NONBLOCK) : (f->flags & ~O_NONBLOCK);
            rc = 0;
        }
    } else if (f->kind == VF_SOCKET) {
        if (req == FIONREAD) {
            int64_t n = vsock_op_fionread(f->sk);
            if (n < 0) {
                rc = (int)n;
            } else {
                int v = n > INT_MAX ? INT_MAX : (int)n;
                rc = uc_copy_to_user(arg, &v, sizeof v) != 0 ? -EFAULT : 0;
            }
        } else {
            rc = -ENOTTY; /* sock_do_ioctl: not a socket ioctl */
        }
    } else if (f->kind == VF_VSOCK_DEV) {
        if (req == IOCTL_VM_SOCKETS_GET_LOCAL_CID) {
            /* vsock_dev_do_ioctl: the CID this kernel answers to, as a 32-bit value */
            unsigned int cid = vmci_get_context_id(c.proc->vm);
            rc = uc_copy_to_user(arg, &cid, sizeof cid) != 0 ? -EFAULT : 0;
        } else {
            rc = -ENOTTY; /* -ENOIOCTLCMD from the misc device */
        }
    } else {
        rc = -EINVAL; /* random_ioctl: no such request (its own requests are not simulated) */
    }
    return (int)call_end(&c, "ioctl", fd, rc);
}
