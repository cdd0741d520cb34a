/*
 * fds_prog.c - a vsock echo server and client written as a user would write them: only the
 * system's <sys/socket.h> and <linux/vm_sockets.h>, no vmcisim header, plain socket calls.
 * test_fds.c links this file with libvmcisim and runs it host<->guest; it must not include
 * vmci_sockets.h (its struct sockaddr_vm would clash with the system's, which is the point).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds_prog.h"

/* The system header's layout and option numbers, for the test to compare with the
 * simulator's (vmci_sockets.h). */
void fdsprog_abi(struct fdsprog_abi *a)
{
    a->size = sizeof(struct sockaddr_vm);
    a->off_family = offsetof(struct sockaddr_vm, svm_family);
    a->off_port = offsetof(struct sockaddr_vm, svm_port);
    a->off_cid = offsetof(struct sockaddr_vm, svm_cid);
    a->off_flags = offsetof(struct sockaddr_vm, svm_flags);
    a->af = AF_VSOCK;
    a->opt_buffer_size = SO_VM_SOCKETS_BUFFER_SIZE;
    a->opt_buffer_min = SO_VM_SOCKETS_BUFFER_MIN_SIZE;
    a->opt_buffer_max = SO_VM_SOCKETS_BUFFER_MAX_SIZE;
    a->opt_peer_host_vm_id = SO_VM_SOCKETS_PEER_HOST_VM_ID;
    a->opt_trusted = SO_VM_SOCKETS_TRUSTED;
    a->opt_connect_timeout = SO_VM_SOCKETS_CONNECT_TIMEOUT;
    a->opt_nonblock_txrx = SO_VM_SOCKETS_NONBLOCK_TXRX;
    a->ioctl_get_local_cid = IOCTL_VM_SOCKETS_GET_LOCAL_CID;
    a->cid_any = VMADDR_CID_ANY;
    a->cid_host = VMADDR_CID_HOST;
}

/* Accept one connection, echo until end of file. Returns 0 or the failing step's errno. */
int fdsprog_server(unsigned port, struct fdsprog_result *r)
{
    int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        return errno;
    r->fd_listen = l;
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_cid = VMADDR_CID_ANY;
    a.svm_port = port;
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0)
        return errno;
    __atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE); /* the test's client polls it from another thread */
    struct sockaddr_vm peer;
    socklen_t plen = sizeof peer;
    int c = accept(l, (struct sockaddr *)&peer, &plen);
    if (c < 0)
        return errno;
    r->peer_cid = peer.svm_cid;
    char buf[256];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        r->bytes += (size_t)n;
        if (write(c, buf, (size_t)n) != n)
            return errno;
    }
    if (n < 0)
        return errno;
    close(c);
    close(l);
    return 0;
}

/* Connect to the host, send msg, read the echo into r->echo; FD_SET the descriptor. */
int fdsprog_client(unsigned port, const char *msg, struct fdsprog_result *r)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    r->fd_client = fd;
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    r->fd_isset = FD_ISSET(fd, &set) != 0;
    int dev = open("/dev/vsock", O_RDONLY);
    if (dev < 0)
        return errno;
    unsigned int cid = 0;
    if (ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0)
        return errno;
    r->local_cid = cid;
    close(dev);
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_cid = VMADDR_CID_HOST;
    a.svm_port = port;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return errno;
    size_t len = strlen(msg);
    if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
        return errno;
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, r->echo + got, sizeof r->echo - 1 - got, 0);
        if (n <= 0)
            return n < 0 ? errno : EPIPE;
        got += (size_t)n;
    }
    r->echo[got] = '\0';
    if (shutdown(fd, SHUT_WR) != 0)
        return errno;
    char tail;
    if (recv(fd, &tail, 1, 0) != 0) /* the server closes after our end of file */
        return EPROTO;
    return close(fd) == 0 ? 0 : errno;
}
