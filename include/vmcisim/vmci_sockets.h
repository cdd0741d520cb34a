/*
 * vmci_sockets.h - VMCI sockets inside a vmcisim world: VMware's API names and Linux's.
 *
 * Every vmci_* call returns as its POSIX namesake does and sets errno. It acts as the calling
 * simulated process (its VM's CID, its descriptor table, its privileges). Semantics follow Linux
 * AF_VSOCK over the VMCI transport: SOCK_STREAM over queue pairs, SOCK_DGRAM over VMCI datagrams.
 * A call on a descriptor or with an address family that is not the simulator's is passed to the
 * C library; a VMCI call from a thread the simulator did not spawn fails with EPERM.
 */
#ifndef VMCI_SOCKETS_H
#define VMCI_SOCKETS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr_vm {                 /* 16 bytes, Linux layout */
    sa_family_t    svm_family;       /* the value of VMCISock_GetAFValue() */
    unsigned short svm_reserved1;
    unsigned int   svm_port;
    unsigned int   svm_cid;
    unsigned char  svm_flags;
    unsigned char  svm_zero[3];
};

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef PF_VSOCK
#define PF_VSOCK AF_VSOCK
#endif

#define VMADDR_CID_ANY        ((unsigned int)-1)
#define VMADDR_PORT_ANY       ((unsigned int)-1)
#define VMADDR_CID_HYPERVISOR 0
#define VMADDR_CID_LOCAL      1
#define VMADDR_CID_RESERVED   1
#define VMADDR_CID_HOST       2
#define VMADDR_FLAG_TO_HOST   0x01

/* socket options, level = VMCISock_GetAFValue() */
#define SO_VMCI_BUFFER_SIZE       0
#define SO_VMCI_BUFFER_MIN_SIZE   1
#define SO_VMCI_BUFFER_MAX_SIZE   2
#define SO_VMCI_PEER_HOST_VM_ID   3
#define SO_VMCI_SERVICE_LABEL     4
#define SO_VMCI_TRUSTED           5
#define SO_VMCI_CONNECT_TIMEOUT   6     /* struct timeval */
#define SO_VMCI_NONBLOCK_TXRX     7
#define SO_VM_SOCKETS_BUFFER_SIZE        SO_VMCI_BUFFER_SIZE
#define SO_VM_SOCKETS_BUFFER_MIN_SIZE    SO_VMCI_BUFFER_MIN_SIZE
#define SO_VM_SOCKETS_BUFFER_MAX_SIZE    SO_VMCI_BUFFER_MAX_SIZE
#define SO_VM_SOCKETS_PEER_HOST_VM_ID    SO_VMCI_PEER_HOST_VM_ID
#define SO_VM_SOCKETS_TRUSTED            SO_VMCI_TRUSTED
#define SO_VM_SOCKETS_CONNECT_TIMEOUT    SO_VMCI_CONNECT_TIMEOUT
#define SO_VM_SOCKETS_NONBLOCK_TXRX      SO_VMCI_NONBLOCK_TXRX

#define IOCTL_VM_SOCKETS_GET_LOCAL_CID 0x7b9   /* _IO(7, 0xb9) = 1977 */

int          VMCISock_GetAFValue(void);
int          VMCISock_GetAFValueFd(int *outFd);
void         VMCISock_ReleaseAFValueFd(int fd);
unsigned int VMCISock_GetLocalCID(void);

int     vmci_socket(int domain, int type, int protocol);
int     vmci_bind(int fd, const struct sockaddr *addr, socklen_t len);
int     vmci_listen(int fd, int backlog);
int     vmci_accept(int fd, struct sockaddr *addr, socklen_t *len);
int     vmci_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t vmci_send(int fd, const void *buf, size_t len, int flags);
ssize_t vmci_recv(int fd, void *buf, size_t len, int flags);
ssize_t vmci_sendto(int fd, const void *buf, size_t len, int flags,
                    const struct sockaddr *to, socklen_t tolen);
ssize_t vmci_recvfrom(int fd, void *buf, size_t len, int flags,
                      struct sockaddr *from, socklen_t *fromlen);
ssize_t vmci_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t vmci_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t vmci_read(int fd, void *buf, size_t len);
ssize_t vmci_write(int fd, const void *buf, size_t len);
int     vmci_close(int fd);
int     vmci_shutdown(int fd, int how);
int     vmci_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int     vmci_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int     vmci_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int     vmci_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int     vmci_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);
int     vmci_fcntl(int fd, int cmd, ...);             /* F_GETFL, F_SETFL with O_NONBLOCK */
int     vmci_ioctl(int fd, unsigned long req, ...);   /* FIONREAD */

#ifdef __cplusplus
}
#endif
#endif /* VMCI_SOCKETS_H */
