/*
 * vsock_ops.c - the socket calls of the core, transport-agnostic, with Linux's checks in
 * Linux's order (vmci-semantics.md §2). Arguments arrive already copied from user memory by
 * api.c, except data buffers, which transports copy with the fault-safe usercopy functions.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sock/usercopy.h"
#include "sock/vsock.h"

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

static uint64_t deadline_from(struct vsock *sk, uint64_t timeo_ns, bool nonblock)
{
    if (nonblock)
        return 0;
    return timeo_ns ? sim_deadline_after(sk->sw->sim, timeo_ns) : SIM_NO_DEADLINE;
}

static bool timed_out(struct vsock *sk, uint64_t deadline)
{
    return deadline != SIM_NO_DEADLINE && sim_now(sk->sw->sim) >= deadline;
}

/* ---- bind (§2.2) ----------------------------------------------------------------------------- */

int vsock_op_bind(struct vsock *sk, const struct sockaddr_vm *addr)
{
    if (vsock_addr_bound(&sk->local))
        return -EINVAL;
    uint32_t own = sk->transport->get_local_cid(sk->ctx);
    if (addr->svm_cid != VMADDR_CID_ANY && addr->svm_cid != own)
        return -EADDRNOTAVAIL;
    int rc;
    if (vsock_type_connectible(sk->type)) {
        rc = vsock_bind_stream(sk, addr);
    } else {
        struct sockaddr_vm a = *addr;
        if (a.svm_port != VMADDR_PORT_ANY && a.svm_port <= VS_LAST_RESERVED_PORT &&
            !(sk->owner && sk->owner->root))
            return -EACCES;
        rc = sk->transport->dgram_bind(sk, &a);
    }
    return rc;
}

/* ---- listen / accept (§2.3, §2.4) -------------------------------------------------------------- */

int vsock_op_listen(struct vsock *sk, int backlog)
{
    if (!vsock_type_connectible(sk->type))
        return -EOPNOTSUPP;
    if (sk->ss != SS_UNCONNECTED)
        return -EINVAL;
    if (!vsock_addr_bound(&sk->local))
        return -EINVAL; /* no auto-bind */
    assert(sk->state != VS_ESTABLISHED && sk->state != VS_SYN_SENT); /* SS_UNCONNECTED */
    sk->max_backlog = backlog < 0 ? 0 : backlog;
    sk->state = VS_LISTEN;
    return 0;
}

int vsock_op_accept(struct vsock *sk, struct vsock **out, bool nonblock)
{
    if (!vsock_type_connectible(sk->type))
        return -EOPNOTSUPP;
    if (sk->state != VS_LISTEN)
        return -EINVAL;
    uint64_t deadline = deadline_from(sk, sk->rcvtimeo_ns, nonblock || sk->nonblock);
    while (!sk->accept_q.first) {
        if (sk->err)
            break;
        if (deadline == 0 || timed_out(sk, deadline))
            return -EAGAIN;
        sim_wait(&sk->wq, deadline, "accept");
        if (sk->state != VS_LISTEN)
            return -EINVAL;
    }
    struct vsock *child = sk->accept_q.first;
    if (!child)
        return -sk->err;
    /* a queued child belongs to this listener and holds a backlog slot (it may have been
     * reset since it was queued: accept still returns it, as Linux does) */
    assert(child->listener == sk);
    assert(sk->ack_backlog > 0 && child->lprev == NULL);
    /* dequeue: the backlog slot is given back */
    vsock_hold(child);
    if (child->lprev)
        child->lprev->lnext = child->lnext;
    else
        sk->accept_q.first = child->lnext;
    if (child->lnext)
        child->lnext->lprev = child->lprev;
    else
        sk->accept_q.last = child->lprev;
    child->lnext = child->lprev = NULL;
    child->listener = NULL;
    sk->ack_backlog--;
    vsock_put(sk);
    vsock_put(child); /* the accept queue's reference */
    if (sk->err) {
        int err = sk->err;
        child->rejected = true;
        vsock_release(child);
        vsock_put(child);
        return -err;
    }
    vsock_cancel_timer(child, &child->pending_timer);
    assert(child->ss == SS_UNCONNECTED && child->listener == NULL);
    child->ss = SS_CONNECTED;
    *out = child; /* the caller's reference */
    return 0;
}

/* ---- connect (§2.5, §2.6) ---------------------------------------------------------------------- */

static void connect_timeout_cb(sim_timer *t)
{
    struct vsock *sk = container_of(t, struct vsock, connect_timer);
    if (sk->state == VS_SYN_SENT && sk->ss == SS_CONNECTING) {
        sk->state = VS_CLOSE;
        sk->ss = SS_UNCONNECTED;
        sk->err = ETIMEDOUT;
        sk->connect_timed_out = true;
        vsock_trace(sk, "connect-timeout", "remote=%u:%u", sk->remote.svm_cid,
                    sk->remote.svm_port);
        vsock_wake(sk);
    }
    vsock_put(sk);
}

static int dgram_connect(struct vsock *sk, const struct sockaddr_vm *addr, int family)
{
    if (family == AF_UNSPEC) {
        vsock_addr_init(&sk->remote, VMADDR_CID_ANY, VMADDR_PORT_ANY);
        sk->ss = SS_UNCONNECTED;
        return 0;
    }
    if (!addr)
        return -EINVAL;
    if (!vsock_addr_bound(&sk->local)) {
        struct sockaddr_vm any;
        vsock_addr_init(&any, VMADDR_CID_ANY, VMADDR_PORT_ANY);
        int rc = sk->transport->dgram_bind(sk, &any);
        if (rc)
            return rc;
    }
    if (!sk->transport->dgram_allow(addr->svm_cid, addr->svm_port))
        return -EINVAL;
    vsock_addr_init(&sk->remote, addr->svm_cid, addr->svm_port);
    sk->ss = SS_CONNECTED;
    sk->state = VS_ESTABLISHED;
    return 0;
}

int vsock_op_connect(struct vsock *sk, const struct sockaddr_vm *addr, int family)
{
    if (sk->type == SOCK_DGRAM)
        return dgram_connect(sk, addr, family);
    switch (sk->ss) {
    case SS_CONNECTED:
        return -EISCONN;
    case SS_DISCONNECTING:
        return -EINVAL;
    case SS_CONNECTING:
        /* a second call for the same attempt: non-blocking says so, blocking waits on */
        if (sk->nonblock)
            return -EALREADY;
        break;
    default:
        if (sk->state == VS_LISTEN)
            return -EINVAL;
        if (!addr)
            return -EINVAL;
        if (sk->type == SOCK_SEQPACKET) {
            /* vsock_connect stores the remote address, then vsock_assign_transport refuses:
             * the VMCI transport has no seqpacket_allow */
            vsock_addr_init(&sk->remote, addr->svm_cid, addr->svm_port);
            return -ESOCKTNOSUPPORT;
        }
        if (addr->svm_cid == VMADDR_CID_LOCAL)
            return -ENETUNREACH; /* VMCI refuses the obsolete well-known context */
        if (!vsock_addr_bound(&sk->local)) {
            struct sockaddr_vm any;
            vsock_addr_init(&any, VMADDR_CID_ANY, VMADDR_PORT_ANY);
            int rc = vsock_bind_stream(sk, &any);
            if (rc)
                return rc;
        }
        vsock_addr_init(&sk->remote, addr->svm_cid, addr->svm_port);
        assert(vsock_addr_bound(&sk->local) && sk->state != VS_ESTABLISHED);
        sk->err = 0;
        sk->connect_timed_out = false;
        sk->state = VS_SYN_SENT;
        int rc = sk->transport->connect(sk);
        if (rc) {
            sk->state = VS_CLOSE;
            return rc;
        }
        sk->ss = SS_CONNECTING;
        sk->connect_timer.cb = connect_timeout_cb;
        if (!sim_timer_armed(&sk->connect_timer)) {
            vsock_hold(sk);
            sim_timer_arm(sk->ctx->vm->kworker, &sk->connect_timer,
                          sim_deadline_after(sk->sw->sim, sk->connect_timeout_ns));
        }
        if (sk->nonblock)
            return -EINPROGRESS;
        break;
    }
    while (sk->state != VS_ESTABLISHED && sk->err == 0) {
        if (sk->state != VS_SYN_SENT)
            break;
        sim_wait(&sk->wq, SIM_NO_DEADLINE, "connect");
    }
    if (sk->err) {
        int err = sk->err;
        sk->err = 0; /* reported here, as SO_ERROR would */
        sk->state = VS_CLOSE;
        sk->ss = SS_UNCONNECTED;
        return -err;
    }
    if (sk->state != VS_ESTABLISHED) {
        sk->ss = SS_UNCONNECTED;
        return -ECONNRESET;
    }
    /* established through the handshake: the transport holds its queue pair */
    assert(sk->transport->stream_is_active(sk));
    return 0;
}

/* ---- send (§2.7, §2.9) ------------------------------------------------------------------------- */

static int64_t epipe(struct vsock *sk, int flags)
{
    if (sk->err) {
        int e = sk->err;
        sk->err = 0;
        return -e;
    }
    if (!(flags & MSG_NOSIGNAL))
        vsock_trace(sk, "sigpipe", "signal=SIGPIPE");
    return -EPIPE;
}

/* The sleep of a stream send (room) or recv (data) once spinning did not help. */
static void stream_block(struct vsock *sk, bool want_data, uint64_t deadline, const char *what)
{
    if (sk->transport->stream_wait)
        sk->transport->stream_wait(sk, want_data, deadline, what);
    else
        sim_wait(&sk->wq, deadline, what);
}

int64_t vsock_op_send(struct vsock *sk, const void *ubuf, size_t len, int flags,
                      const struct sockaddr_vm *to, bool to_given, bool to_valid)
{
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (sk->type == SOCK_DGRAM) {
        struct sockaddr_vm remote;
        if (!vsock_addr_bound(&sk->local)) {
            struct sockaddr_vm any;
            vsock_addr_init(&any, VMADDR_CID_ANY, VMADDR_PORT_ANY);
            int rc = sk->transport->dgram_bind(sk, &any);
            if (rc)
                return rc;
        }
        if (to_given && to_valid) {
            remote = *to;
            if (remote.svm_cid == VMADDR_CID_ANY)
                remote.svm_cid = sk->transport->get_local_cid(sk->ctx);
            if (!vsock_addr_bound(&remote))
                return -EINVAL;
        } else if (sk->ss == SS_CONNECTED) {
            remote = sk->remote; /* an invalid msg_name is silently replaced (§8.7) */
        } else {
            return -EINVAL;
        }
        if (!sk->transport->dgram_allow(remote.svm_cid, remote.svm_port))
            return -EINVAL;
        return sk->transport->dgram_enqueue(sk, &remote, ubuf, len);
    }

    if (to_given)
        return sk->state == VS_ESTABLISHED ? -EISCONN : -EOPNOTSUPP;
    if ((sk->shutdown & VS_SEND_SHUTDOWN) || (sk->peer_shutdown & VS_RCV_SHUTDOWN))
        return epipe(sk, flags);
    if (sk->state != VS_ESTABLISHED || !sk->transport->stream_is_active(sk) ||
        !vsock_addr_bound(&sk->local))
        return -ENOTCONN;
    bool nonblock = sk->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = deadline_from(sk, sk->sndtimeo_ns, nonblock);
    size_t total = 0;
    size_t paid = 0; /* cost model: bytes past `total` whose copy time has been spent */
    int64_t err = 0;
    bool spun = false;
    while (total < len) {
        /* every ring operation is a scheduling point; state is re-read after it */
        sim_point(sk->sw->sim);
        int64_t space = sk->transport->stream_has_space(sk);
        if (space < 0) {
            err = space;
            break;
        }
        if (SIM_SOMETIMES(sk->sw->sim, space == 0, "vsock.stream.queue-full")) {
            if (sk->err) {
                err = -sk->err;
                sk->err = 0;
                break;
            }
            if ((sk->shutdown & VS_SEND_SHUTDOWN) || (sk->peer_shutdown & VS_RCV_SHUTDOWN)) {
                err = epipe(sk, flags);
                break;
            }
            if (sk->state != VS_ESTABLISHED) {
                err = -ENOTCONN;
                break;
            }
            if (deadline == 0 || timed_out(sk, deadline)) {
                err = -EAGAIN;
                break;
            }
            /* realtime: look again without the lock before sleeping; wake-ups sent meanwhile
             * found nobody waiting, so every condition is re-checked after it */
            if (!spun && sk->transport->stream_spin && sk->transport->stream_spin(sk, false)) {
                spun = true;
                continue;
            }
            spun = false;
            stream_block(sk, false, deadline, "send (queue full)");
            continue;
        }
        size_t chunk = len - total;
        if (sim_cost(sk->sw->sim)->qp_byte_ps) {
            /* The copy into the queue pair takes time before the reader can see the bytes
             * (src/sim/cost.c); then the state is checked again, as after any wait. */
            size_t fits = (size_t)space < chunk ? (size_t)space : chunk;
            if (paid < fits) {
                /* over the socket's whole life, so the total rounds down only once */
                uint64_t ns = sim_copy_cost_ns(sk->sw->sim, sk->cost_bytes, fits - paid);
                sk->cost_bytes += fits - paid;
                sim_spend(sk->sw->sim, ns, "copy into the queue pair");
                paid = fits;
                continue;
            }
            chunk = paid;
        }
        int64_t n = sk->transport->stream_enqueue(sk, (const char *)ubuf + total, chunk);
        if (n < 0) {
            err = n;
            break;
        }
        /* never more than asked; in realtime mode the copy runs outside the world lock and the
         * reader may free room meanwhile, so the room seen before is no bound there */
        assert((size_t)n <= len - total && (sim_is_realtime(sk->sw->sim) || n <= space));
        total += (size_t)n;
        spun = false;
        paid = paid > (size_t)n ? paid - (size_t)n : 0;
    }
    if (total > 0)
        return (int64_t)total;
    return err;
}

/* ---- recv (§2.8, §2.10) -------------------------------------------------------------------------- */

static int64_t dgram_recv(struct vsock *sk, void *ubuf, size_t len, int flags,
                          struct sockaddr_vm *from, int *msg_flags)
{
    if (flags & (MSG_OOB | MSG_ERRQUEUE))
        return -EOPNOTSUPP;
    bool nonblock = sk->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = deadline_from(sk, sk->rcvtimeo_ns, nonblock);
    while (!sk->rq_first) {
        if (sk->err) {
            int e = sk->err;
            sk->err = 0;
            return -e;
        }
        if (sk->shutdown & VS_RCV_SHUTDOWN)
            return 0;
        if (deadline == 0 || timed_out(sk, deadline))
            return -EAGAIN;
        sim_wait(&sk->wq, deadline, "recvfrom");
    }
    struct vsock_dgram *d = sk->rq_first;
    size_t n = d->len < len ? d->len : len;
    if (uc_copy_to_user(ubuf, d->data, n) != 0)
        return -EFAULT;
    if (n < d->len && msg_flags)
        *msg_flags |= MSG_TRUNC;
    if (from)
        vsock_addr_init(from, d->src_cid, d->src_port);
    if (!(flags & MSG_PEEK)) {
        sk->rq_first = d->next;
        if (!sk->rq_first)
            sk->rq_last = NULL;
        assert(sk->rq_bytes >= d->len);
        sk->rq_bytes -= d->len;
        free(d);
    }
    return (int64_t)n;
}

int64_t vsock_op_recv(struct vsock *sk, void *ubuf, size_t len, int flags,
                      struct sockaddr_vm *from, int *msg_flags)
{
    if (sk->type == SOCK_DGRAM)
        return dgram_recv(sk, ubuf, len, flags, from, msg_flags);
    /* The error queue is read before any state check (Linux >= 6.7, vsock_connectible_recvmsg
     * -> sock_recv_errqueue); nothing here ever queues an error (no MSG_ZEROCOPY), so it is
     * always empty: EAGAIN, whatever the socket's state. */
    if (flags & MSG_ERRQUEUE)
        return -EAGAIN;
    if (sk->state != VS_ESTABLISHED) {
        /* peer closed or reset and nothing is left: end of file; never connected: ENOTCONN */
        if (sk->done && sk->state != VS_LISTEN)
            return 0;
        return -ENOTCONN;
    }
    if (flags & MSG_OOB)
        return -EOPNOTSUPP;
    if (sk->shutdown & VS_RCV_SHUTDOWN)
        return 0;
    if (len == 0)
        return 0;
    size_t target = (flags & MSG_WAITALL) ? len
                    : (size_t)sk->rcvlowat < len ? (size_t)(sk->rcvlowat > 0 ? sk->rcvlowat : 1)
                                                 : len;
    if (target >= sk->transport->stream_rcvhiwat(sk))
        return -ENOMEM;
    bool nonblock = sk->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = deadline_from(sk, sk->rcvtimeo_ns, nonblock);
    size_t copied = 0;
    int64_t err = 0;
    bool spun = false;
    for (;;) {
        sim_point(sk->sw->sim);
        if (sk->state != VS_ESTABLISHED && !sk->done)
            return copied > 0 ? (int64_t)copied : -ENOTCONN;
        int64_t ready = sk->transport->stream_has_data(sk);
        if (ready < 0) {
            err = ready;
            break;
        }
        if (ready > 0) {
            int64_t n = sk->transport->stream_dequeue(sk, (char *)ubuf + copied, len - copied,
                                                      (flags & MSG_PEEK) != 0);
            if (n < 0) {
                err = n;
                break;
            }
            assert((size_t)n <= len - copied);
            copied += (size_t)n;
            spun = false;
            if (copied >= target || (flags & MSG_PEEK) || copied == len)
                break;
            continue;
        }
        if (sk->err) {
            err = -sk->err;
            sk->err = 0;
            break;
        }
        if ((sk->shutdown & VS_RCV_SHUTDOWN) || (sk->peer_shutdown & VS_SEND_SHUTDOWN) ||
            sk->done)
            break; /* end of file once drained */
        if (deadline == 0 || timed_out(sk, deadline)) {
            err = -EAGAIN;
            break;
        }
        if (!spun && sk->transport->stream_spin && sk->transport->stream_spin(sk, true)) {
            spun = true; /* as in send: re-check everything before sleeping */
            continue;
        }
        spun = false;
        stream_block(sk, true, deadline, "recv");
    }
    if (copied > 0)
        return (int64_t)copied;
    return err;
}

/* ---- shutdown (§2.11) ------------------------------------------------------------------------------ */

int vsock_op_shutdown(struct vsock *sk, int how)
{
    int mode;
    switch (how) {
    case SHUT_RD:
        mode = VS_RCV_SHUTDOWN;
        break;
    case SHUT_WR:
        mode = VS_SEND_SHUTDOWN;
        break;
    case SHUT_RDWR:
        mode = VS_SHUTDOWN_MASK;
        break;
    default:
        return -EINVAL;
    }
    if (sk->ss == SS_UNCONNECTED) {
        if (vsock_type_connectible(sk->type))
            return -ENOTCONN;
        /* datagram: the bits are applied and waiters woken, but the call still fails */
        sk->shutdown |= mode;
        vsock_wake(sk);
        return -ENOTCONN;
    }
    sk->ss = SS_DISCONNECTING;
    sk->shutdown |= mode;
    vsock_wake(sk);
    if (sk->type == SOCK_STREAM && sk->transport->shutdown) {
        int rc = sk->transport->shutdown(sk, mode);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- poll (§2.14) ---------------------------------------------------------------------------------- */

short vsock_op_poll(struct vsock *sk)
{
    short m = 0;
    if (sk->err)
        m |= POLLERR;
    if (sk->shutdown == VS_SHUTDOWN_MASK ||
        ((sk->shutdown & VS_SEND_SHUTDOWN) && (sk->peer_shutdown & VS_SEND_SHUTDOWN)))
        m |= POLLHUP;
    if ((sk->shutdown & VS_RCV_SHUTDOWN) || (sk->peer_shutdown & VS_SEND_SHUTDOWN))
        m |= POLLRDHUP;
    if (sk->type == SOCK_DGRAM) {
        if (sk->rq_first || (sk->shutdown & VS_RCV_SHUTDOWN))
            m |= POLLIN | POLLRDNORM;
        if (!(sk->shutdown & VS_SEND_SHUTDOWN))
            m |= POLLOUT | POLLWRNORM | POLLWRBAND;
        return m;
    }
    if (sk->state == VS_LISTEN) {
        if (sk->accept_q.first)
            m |= POLLIN | POLLRDNORM;
        return m;
    }
    if (sk->transport->stream_is_active(sk) && !(sk->shutdown & VS_RCV_SHUTDOWN)) {
        /* readable once SO_RCVLOWAT bytes are there (Linux's notify_poll_in uses the target,
         * vsock_test "poll() + SO_RCVLOWAT") */
        int64_t ready = sk->transport->stream_has_data(sk);
        if (ready > 0 && ready >= (int64_t)(sk->rcvlowat > 0 ? sk->rcvlowat : 1))
            m |= POLLIN | POLLRDNORM;
    }
    if ((sk->shutdown & VS_RCV_SHUTDOWN) || (sk->peer_shutdown & VS_SEND_SHUTDOWN))
        m |= POLLIN | POLLRDNORM;
    if (sk->state == VS_ESTABLISHED && !(sk->shutdown & VS_SEND_SHUTDOWN)) {
        int64_t space = sk->transport->stream_is_active(sk) ? sk->transport->stream_has_space(sk)
                                                            : 0;
        if (space > 0)
            m |= POLLOUT | POLLWRNORM;
    }
    if ((sk->state == VS_CLOSE || sk->state == VS_CLOSING) && !(sk->shutdown & VS_SEND_SHUTDOWN))
        m |= POLLOUT | POLLWRNORM;
    return m;
}

void vsock_op_poll_wait(struct vsock *sk, short events)
{
    if (sk->type == SOCK_STREAM && (events & (POLLIN | POLLRDNORM)) &&
        sk->transport->stream_poll_wait)
        sk->transport->stream_poll_wait(sk, (uint64_t)(sk->rcvlowat > 0 ? sk->rcvlowat : 1));
}

int64_t vsock_op_fionread(struct vsock *sk)
{
    if (sk->type == SOCK_DGRAM)
        return sk->rq_first ? (int64_t)sk->rq_first->len : 0;
    if (sk->state == VS_LISTEN)
        return -EINVAL;
    if (!sk->transport->stream_is_active(sk))
        return 0;
    int64_t r = sk->transport->stream_has_data(sk);
    return r < 0 ? 0 : r;
}

/* ---- options (§1.5) ------------------------------------------------------------------------------ */

static void update_buffer_size(struct vsock *sk, uint64_t val)
{
    if (val > sk->buffer_max_size)
        val = sk->buffer_max_size;
    if (val < sk->buffer_min_size)
        val = sk->buffer_min_size;
    sk->buffer_size = val;
}

static int timeval_to_ns(const void *val, socklen_t len, uint64_t *ns, int range_err)
{
    struct timeval tv;
    if (len < (socklen_t)sizeof tv)
        return -EINVAL;
    memcpy(&tv, val, sizeof tv);
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000 ||
        tv.tv_sec >= (time_t)(INT64_MAX / 1000000000ll - 1))
        return -range_err;
    *ns = (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
    return 0;
}

static void ns_to_timeval(uint64_t ns, struct timeval *tv)
{
    tv->tv_sec = (time_t)(ns / 1000000000ull);
    tv->tv_usec = (suseconds_t)((ns % 1000000000ull) / 1000ull);
}

int vsock_op_setsockopt(struct vsock *sk, int level, int name, const void *val, socklen_t len)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVTIMEO:
        case SO_SNDTIMEO: {
            uint64_t ns;
            int rc = timeval_to_ns(val, len, &ns, EDOM);
            if (rc)
                return rc;
            if (name == SO_RCVTIMEO)
                sk->rcvtimeo_ns = ns;
            else
                sk->sndtimeo_ns = ns;
            return 0;
        }
        default:
            return vsock_sol_setsockopt(sk, name, val, len);
        }
    }
    if (sk->type == SOCK_DGRAM)
        return -EOPNOTSUPP; /* no vsock-level options on datagram sockets (§1.5) */
    if (level != AF_VSOCK)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_VMCI_BUFFER_SIZE:
    case SO_VMCI_BUFFER_MIN_SIZE:
    case SO_VMCI_BUFFER_MAX_SIZE: {
        uint64_t v;
        if (len < (socklen_t)sizeof v)
            return -EINVAL;
        memcpy(&v, val, sizeof v);
        if (name == SO_VMCI_BUFFER_SIZE) {
            update_buffer_size(sk, v);
        } else {
            if (name == SO_VMCI_BUFFER_MIN_SIZE)
                sk->buffer_min_size = v;
            else
                sk->buffer_max_size = v;
            update_buffer_size(sk, sk->buffer_size);
        }
        return 0;
    }
    case SO_VMCI_CONNECT_TIMEOUT: {
        uint64_t ns;
        int rc = timeval_to_ns(val, len, &ns, ERANGE);
        if (rc)
            return rc;
        sk->connect_timeout_ns = ns ? ns : VS_DEFAULT_CONNECT_TIMEOUT_NS;
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}

int vsock_op_getsockopt(struct vsock *sk, int level, int name, void *val, socklen_t *len)
{
    if (level == SOL_SOCKET) {
        if (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
            struct timeval tv;
            ns_to_timeval(name == SO_RCVTIMEO ? sk->rcvtimeo_ns : sk->sndtimeo_ns, &tv);
            socklen_t n = *len < (socklen_t)sizeof tv ? *len : (socklen_t)sizeof tv;
            memcpy(val, &tv, (size_t)n);
            *len = n;
            return 0;
        }
        return vsock_sol_getsockopt(sk, name, val, len);
    }
    if (sk->type == SOCK_DGRAM)
        return -EOPNOTSUPP;
    if (level != AF_VSOCK)
        return -ENOPROTOOPT;
    switch (name) {
    case SO_VMCI_BUFFER_SIZE:
    case SO_VMCI_BUFFER_MIN_SIZE:
    case SO_VMCI_BUFFER_MAX_SIZE: {
        uint64_t v = name == SO_VMCI_BUFFER_SIZE       ? sk->buffer_size
                     : name == SO_VMCI_BUFFER_MIN_SIZE ? sk->buffer_min_size
                                                       : sk->buffer_max_size;
        if (*len < (socklen_t)sizeof v)
            return -EINVAL;
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    case SO_VMCI_CONNECT_TIMEOUT: {
        struct timeval tv;
        if (*len < (socklen_t)sizeof tv)
            return -EINVAL;
        ns_to_timeval(sk->connect_timeout_ns, &tv);
        memcpy(val, &tv, sizeof tv);
        *len = sizeof tv;
        return 0;
    }
    default:
        return -ENOPROTOOPT;
    }
}
