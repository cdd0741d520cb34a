/*
 * vsock_sol.c - the generic SOL_SOCKET options of a vsock socket, as Linux's net/core/sock.c
 * (sk_setsockopt / sk_getsockopt) answers them for AF_VSOCK, which has no SOL_SOCKET handling
 * of its own. The receive timeout and send timeout are in vsock_ops.c with the code that waits.
 *
 * Most of these are only stored and read back: VMCI sizes its queues with the vsock-level
 * buffer options (§1.5), has no keep-alive probes, routes nothing and lingers on nothing
 * (§2.12). What a program can notice is what Linux answers: the doubled and clamped buffer
 * sizes, 0/1 flags, privilege checks (root stands for CAP_NET_ADMIN / CAP_NET_RAW), errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "sock/vsock.h"

enum {
    VS_SOL_REUSEADDR = 1u << 0,
    VS_SOL_REUSEPORT = 1u << 1,
    VS_SOL_KEEPALIVE = 1u << 2,
    VS_SOL_DONTROUTE = 1u << 3,
    VS_SOL_BROADCAST = 1u << 4,
    VS_SOL_OOBINLINE = 1u << 5,
    VS_SOL_DEBUG = 1u << 6,
    VS_SOL_PASSCRED = 1u << 7,
    VS_SOL_PASSSEC = 1u << 8,
    VS_SOL_NO_CHECK = 1u << 9,
    VS_SOL_LINGER = 1u << 10,
    VS_SOL_TIMESTAMP = 1u << 11,
};

/* sysctl defaults of a Linux guest (net.core.{r,w}mem_max) and the socket minimums
 * (SOCK_MIN_RCVBUF = 2048 + the aligned size of an sk_buff, 256 on x86-64; twice that for
 * send). */
#define RMEM_MAX 212992u
#define WMEM_MAX 212992u
#define SOCK_MIN_RCVBUF 2304
#define SOCK_MIN_SNDBUF 4608

static bool privileged(const struct vsock *sk)
{
    return sk->owner && sk->owner->root;
}

static unsigned flag_of(int name)
{
    switch (name) {
    case SO_REUSEADDR: return VS_SOL_REUSEADDR;
    case SO_REUSEPORT: return VS_SOL_REUSEPORT;
    case SO_KEEPALIVE: return VS_SOL_KEEPALIVE;
    case SO_DONTROUTE: return VS_SOL_DONTROUTE;
    case SO_BROADCAST: return VS_SOL_BROADCAST;
    case SO_OOBINLINE: return VS_SOL_OOBINLINE;
    case SO_DEBUG: return VS_SOL_DEBUG;
    case SO_PASSCRED: return VS_SOL_PASSCRED;
    case SO_PASSSEC: return VS_SOL_PASSSEC;
    case SO_NO_CHECK: return VS_SOL_NO_CHECK;
    case SO_TIMESTAMP: return VS_SOL_TIMESTAMP;
    default: return 0;
    }
}

/* min_t(u32, val, max): a negative value is a huge unsigned one, so it becomes the maximum */
static int clamp_u32(int val, unsigned max)
{
    return (unsigned)val > max ? (int)max : val;
}

int vsock_sol_setsockopt(struct vsock *sk, int name, const void *val, socklen_t len)
{
    if (len < (socklen_t)sizeof(int))
        return -EINVAL; /* before anything else, for every option here */
    int v;
    memcpy(&v, val, sizeof v);
    bool vb = v != 0;
    switch (name) {
    case SO_PRIORITY:
        if ((v >= 0 && v <= 6) || privileged(sk)) {
            sk->priority = v;
            return 0;
        }
        return -EPERM;
    case SO_TYPE:
    case SO_PROTOCOL:
    case SO_DOMAIN:
    case SO_ERROR:
        return -ENOPROTOOPT; /* read-only */
    case SO_DEBUG:
        if (v && !privileged(sk))
            return -EACCES;
        break;
    case SO_SNDBUF: {
        int x = clamp_u32(v, WMEM_MAX);
        if (x > INT_MAX / 2)
            x = INT_MAX / 2;
        sk->sndbuf = x * 2 > SOCK_MIN_SNDBUF ? x * 2 : SOCK_MIN_SNDBUF;
        return 0;
    }
    case SO_RCVBUF: {
        int x = clamp_u32(v, RMEM_MAX);
        if (x > INT_MAX / 2)
            x = INT_MAX / 2;
        sk->rcvbuf = x * 2 > SOCK_MIN_RCVBUF ? x * 2 : SOCK_MIN_RCVBUF;
        return 0;
    }
    case SO_SNDBUFFORCE:
    case SO_RCVBUFFORCE: {
        if (!privileged(sk))
            return -EPERM;
        int x = v < 0 ? 0 : v > INT_MAX / 2 ? INT_MAX / 2 : v;
        if (name == SO_SNDBUFFORCE)
            sk->sndbuf = x * 2 > SOCK_MIN_SNDBUF ? x * 2 : SOCK_MIN_SNDBUF;
        else
            sk->rcvbuf = x * 2 > SOCK_MIN_RCVBUF ? x * 2 : SOCK_MIN_RCVBUF;
        return 0;
    }
    case SO_LINGER: {
        struct linger l;
        if (len < (socklen_t)sizeof l)
            return -EINVAL;
        memcpy(&l, val, sizeof l);
        if (!l.l_onoff) {
            sk->sol_flags &= ~VS_SOL_LINGER;
        } else {
            sk->sol_flags |= VS_SOL_LINGER;
            sk->linger_s = l.l_linger;
        }
        return 0; /* VMCI's close never waits for unsent data (§2.12) */
    }
    case SO_RCVLOWAT:
        if (v < 0)
            v = INT_MAX;
        /* vsock_set_rcvlowat on connection-oriented sockets; datagram sockets use the generic
         * store */
        if (vsock_type_connectible(sk->type) && (uint64_t)v > sk->buffer_size)
            return -EINVAL;
        sk->rcvlowat = v ? v : 1;
        return 0;
    case SO_MARK:
        if (!privileged(sk))
            return -EPERM;
        sk->mark = (uint32_t)v;
        return 0;
    case SO_BSDCOMPAT:
        return 0;
    default:
        break;
    }
    unsigned f = flag_of(name);
    if (!f)
        return -ENOPROTOOPT;
    if (vb)
        sk->sol_flags |= f;
    else
        sk->sol_flags &= ~f;
    return 0;
}

int vsock_sol_getsockopt(struct vsock *sk, int name, void *val, socklen_t *len)
{
    union {
        int i;
        struct linger l;
        struct ucred cred;
    } u;
    memset(&u, 0, sizeof u);
    socklen_t lv = sizeof(int);
    switch (name) {
    case SO_ERROR:
        u.i = sk->err;
        sk->err = 0;
        break;
    case SO_TYPE:
        u.i = sk->type;
        break;
    case SO_PROTOCOL:
        u.i = 0; /* vsock_create never sets sk_protocol, even for protocol PF_VSOCK */
        break;
    case SO_DOMAIN:
        u.i = AF_VSOCK;
        break;
    case SO_ACCEPTCONN:
        u.i = sk->state == VS_LISTEN;
        break;
    case SO_RCVLOWAT:
        u.i = sk->rcvlowat;
        break;
    case SO_SNDLOWAT:
        u.i = 1;
        break;
    case SO_RCVBUF:
        u.i = sk->rcvbuf;
        break;
    case SO_SNDBUF:
        u.i = sk->sndbuf;
        break;
    case SO_PRIORITY:
        u.i = sk->priority;
        break;
    case SO_MARK:
        u.i = (int)sk->mark;
        break;
    case SO_BSDCOMPAT:
        u.i = 0;
        break;
    case SO_LINGER:
        lv = sizeof u.l;
        u.l.l_onoff = (sk->sol_flags & VS_SOL_LINGER) != 0;
        u.l.l_linger = sk->linger_s;
        break;
    case SO_PEERCRED:
        /* a vsock socket records no peer credentials: no pid, uid and gid -1 */
        lv = sizeof u.cred;
        u.cred.pid = 0;
        u.cred.uid = (uid_t)-1;
        u.cred.gid = (gid_t)-1;
        break;
    default: {
        unsigned f = flag_of(name);
        if (!f)
            return -ENOPROTOOPT;
        u.i = (sk->sol_flags & f) != 0;
        break;
    }
    }
    socklen_t n = *len < lv ? *len : lv; /* a shorter buffer gets the first bytes */
    memcpy(val, &u, (size_t)n);
    *len = n;
    return 0;
}
