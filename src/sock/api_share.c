/*
 * api_share.c - the socket layer's side of streams whose bytes an exec'd program moves itself
 * (realtime mode; src/exec/proxy.c calls these as the program's simulated thread): hand it the
 * queue memory, hear of its moves, and look at the gates again after its other calls.
 * What the gates mean and when they open: src/preload/qp_shared.h and the VMCI stream's
 * st_gate.
 */
#define _GNU_SOURCE
#include "sock/api_share.h"

#include <sys/socket.h>

#include "sock/apicall.h"
#include "sock/vsock.h"

int vmcisim_sock_share(int fd, int fds[2], uint64_t sizes[2], uint32_t *id)
{
    struct call c;
    long rc = call_begin(&c);
    if (rc)
        return (int)fail((int)-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk) {
        rc = lookup_err(&c);
    } else if (sk->type != SOCK_STREAM || !sk->transport || !sk->transport->stream_share) {
        rc = -EOPNOTSUPP;
    } else {
        rc = sk->transport->stream_share(sk, fds, sizes);
        *id = sk->id;
    }
    return (int)call_end(&c, "share", fd, rc);
}

int vmcisim_sock_moved(int fd, bool sent, bool edge, size_t n)
{
    struct call c;
    long rc = call_begin(&c);
    if (rc)
        return (int)fail((int)-rc);
    struct vsock *sk = lookup(&c, fd);
    if (!sk)
        rc = lookup_err(&c);
    else if (sk->type == SOCK_STREAM && sk->transport && sk->transport->stream_moved)
        sk->transport->stream_moved(sk, sent, edge, n);
    return (int)call_end(&c, sent ? "sent" : "received", fd, rc);
}

void vmcisim_sock_gate(int fd)
{
    struct call c;
    if (call_begin(&c) != 0)
        return;
    struct vsock *sk = lookup(&c, fd);
    if (sk && sk->transport && sk->transport->stream_gate)
        sk->transport->stream_gate(sk);
    int e = errno;
    call_end(&c, "gate", fd, 0);
    errno = e;
}
