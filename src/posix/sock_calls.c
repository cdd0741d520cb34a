/*
 * sock_calls.c - the plain-named socket calls (socket, bind, connect, ...) of a program linked
 * with libvmcisim: an unchanged Linux vsock program (<sys/socket.h>, <linux/vm_sockets.h>)
 * runs its calls on the simulation.
 *
 * socket(AF_VSOCK, ...) from a thread of a simulated process makes a simulated socket; any
 * other family, or any thread outside the simulation, gets the C library's socket. Calls on a
 * descriptor go to the vmci_* functions, which hand every descriptor that is not simulated to
 * the C library unchanged (REAL), act on the simulation for a simulated one, and refuse a
 * simulated descriptor to a thread outside the simulation with EPERM: its number is only a
 * placeholder in the real kernel, so passing the call on would act on the wrong object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>

#include "posix/posix_internal.h"
#include "sock/fdcalls.h"
#include "sock/fdtable.h"
#include "posix/real.h"
#include "vmcisim/vmci_sockets.h"

static bool simulated_thread(void)
{
    sim_thread *t = sim_self();
    return t && t->proc;
}

int socket(int domain, int type, int protocol)
{
    if (domain == AF_VSOCK && simulated_thread())
        return vmci_socket(domain, type, protocol);
    return REAL(socket)(domain, type, protocol);
}

/* AF_VSOCK has no socketpair (sock_no_socketpair: EOPNOTSUPP), after the checks socket(2)
 * makes of the type and protocol. */
int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (domain != AF_VSOCK || !simulated_thread())
        return REAL(socketpair)(domain, type, protocol, sv);
    int fd = vmci_socket(domain, type, protocol);
    if (fd < 0)
        return -1;
    vmci_close(fd);
    errno = EOPNOTSUPP;
    return -1;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    return vmci_bind(fd, addr, len);
}

int listen(int fd, int backlog)
{
    return vmci_listen(fd, backlog);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return vmci_accept(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return vmci_accept4(fd, addr, len, flags);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return vmci_connect(fd, addr, len);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return vmci_send(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    return vmci_sendto(fd, buf, len, flags, to, tolen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return vmci_sendmsg(fd, msg, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return vmci_recv(fd, buf, len, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    return vmci_recvfrom(fd, buf, len, flags, from, fromlen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    return vmci_recvmsg(fd, msg, flags);
}

int shutdown(int fd, int how)
{
    return vmci_shutdown(fd, how);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return vmci_getsockname(fd, addr, len);
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return vmci_getpeername(fd, addr, len);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    return vmci_setsockopt(fd, level, name, val, len);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    return vmci_getsockopt(fd, level, name, val, len);
}

/* _FORTIFY_SOURCE builds call these instead when they know the buffer's size. */
extern void __chk_fail(void) __attribute__((noreturn));

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, from, fromlen);
}

/* Pulled in by link_all.c, so the wrappers above are linked even behind a sanitizer runtime. */
VMCISIM_POSIX_ANCHOR(sock_calls);
