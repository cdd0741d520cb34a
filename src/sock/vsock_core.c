/*
 * vsock_core.c - socket objects, the per-context tables, listener bookkeeping and the trace of
 * socket events. The socket calls themselves are in vsock_ops.c.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sock/vsock.h"
#include "sim/alloc.h"
#include "sock/vsock.h"

void vsock_addr_init(struct sockaddr_vm *a, uint32_t cid, uint32_t port)
{
    memset(a, 0, sizeof *a);
    a->svm_family = AF_VSOCK;
    a->svm_cid = cid;
    a->svm_port = port;
}

bool vsock_addr_bound(const struct sockaddr_vm *a) { return a->svm_port != VMADDR_PORT_ANY; }

bool vsock_is_host(const struct vsock *sk) { return sk->ctx->vm->is_host; }

/* Records about a socket name it by its id, shown with the script's name when it has one;
 * fmt may carry presentation (sim_trace_rich). */
void vsock_trace(struct vsock *sk, const char *event, const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    if (sk->trace_name[0])
        sim_trace_rich(sk->sw->sim, event,
                       "sock=" SIM_TR_SHOW "%s(" SIM_TR_END "%u" SIM_TR_SHOW ")" SIM_TR_END " %s",
                       sk->trace_name, sk->id, args);
    else
        sim_trace_rich(sk->sw->sim, event, "sock=%u %s", sk->id, args);
}

const char *vsock_state_name(int state)
{
    switch (state) {
    case 0: return "NEW"; /* never set: a socket not yet connecting or listening */
    case VS_ESTABLISHED: return "ESTABLISHED";
    case VS_SYN_SENT: return "SYN_SENT";
    case VS_CLOSE: return "CLOSE";
    case VS_LISTEN: return "LISTEN";
    case VS_CLOSING: return "CLOSING";
    default: return NULL;
    }
}

/* ---- lifetime ------------------------------------------------------------------------------ */

struct vsock *vsock_create(struct sock_world *sw, struct vsock_ctx *ctx, int type,
                           struct vsock *parent, sim_proc *owner)
{
    struct vsock **a = vmcisim_grow(sw->all, &sw->all_cap, sw->nall, 64);
    if (!a)
        return NULL;
    sw->all = a;
    struct vsock *sk = vmcisim_calloc(1, sizeof *sk);
    if (!sk)
        return NULL;
    sk->id = sw->next_sock_id++;
    sk->refs = 1;
    sk->sw = sw;
    sk->ctx = ctx;
    sk->owner = owner;
    sk->type = type;
    sk->ss = SS_UNCONNECTED;
    sk->state = VS_CLOSE;
    vsock_addr_init(&sk->local, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    vsock_addr_init(&sk->remote, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    sim_timer_init(&sk->connect_timer, NULL);
    sim_timer_init(&sk->pending_timer, NULL);
    if (parent) {
        /* §1.5: children inherit trust, owner, connect timeout and the buffer values. */
        sk->trusted = parent->trusted;
        sk->buffer_size = parent->buffer_size;
        sk->buffer_min_size = parent->buffer_min_size;
        sk->buffer_max_size = parent->buffer_max_size;
        sk->connect_timeout_ns = parent->connect_timeout_ns;
        sk->rcvbuf = parent->rcvbuf;
        sk->rcvlowat = parent->rcvlowat;
        sk->rcvtimeo_ns = parent->rcvtimeo_ns;
        sk->sndtimeo_ns = parent->sndtimeo_ns;
    } else {
        /* trusted = CAP_NET_ADMIN: processes spawned as root (§2.1, api-contract) */
        sk->trusted = owner && owner->root;
        sk->buffer_size = VS_DEFAULT_BUFFER_SIZE;
        sk->buffer_min_size = VS_DEFAULT_BUFFER_MIN_SIZE;
        sk->buffer_max_size = VS_DEFAULT_BUFFER_MAX_SIZE;
        sk->connect_timeout_ns = VS_DEFAULT_CONNECT_TIMEOUT_NS;
        sk->rcvbuf = VS_DEFAULT_RCVBUF;
        sk->rcvlowat = 1;
    }
    sk->sndbuf = VS_DEFAULT_SNDBUF; /* sock_init_data: every new socket, children too */
    sk->transport = type == SOCK_DGRAM ? sw->dgram : sw->stream;
    if (!sk->transport || (sk->transport->init && sk->transport->init(sk, parent) != 0)) {
        free(sk);
        return NULL;
    }
    sw->all[sw->nall++] = sk;
    return sk;
}

void vsock_hold(struct vsock *sk)
{
    assert(sk->refs > 0);
    sk->refs++;
}

static void vsock_free(struct vsock *sk)
{
    struct sock_world *sw = sk->sw;
    assert(!sk->in_bound && !sk->in_connected && !sk->listener);
    assert(!sim_timer_armed(&sk->connect_timer) && !sim_timer_armed(&sk->pending_timer));
    for (size_t i = 0; i < sw->nall; i++)
        if (sw->all[i] == sk) {
            memmove(&sw->all[i], &sw->all[i + 1], (sw->nall - i - 1) * sizeof sw->all[0]);
            sw->nall--;
            break;
        }
    while (sk->rq_first) {
        struct vsock_dgram *d = sk->rq_first;
        sk->rq_first = d->next;
        free(d);
    }
    if (sk->transport->destruct)
        sk->transport->destruct(sk);
    free(sk);
}

void vsock_put(struct vsock *sk)
{
    assert(sk->refs > 0);
    if (--sk->refs == 0)
        vsock_free(sk);
}

void vsock_cancel_timer(struct vsock *sk, sim_timer *t)
{
    if (!sim_timer_armed(t))
        return;
    sim_timer_cancel(t);
    vsock_put(sk);
}

void vsock_wake(struct vsock *sk)
{
    if (sk->transport && sk->transport->stream_gate)
        sk->transport->stream_gate(sk); /* a program moving bytes itself stops first */
    sk->poll_seq++;
    sim_wake_all(&sk->wq);
    sim_wake_all(&sk->sw->poll_wq);
}

/* ---- tables -------------------------------------------------------------------------------- */

#define LIST_PUSH(list, sk, next, prev)                                                         \
    do {                                                                                        \
        (sk)->next = NULL;                                                                      \
        (sk)->prev = (list)->last;                                                              \
        if ((list)->last)                                                                       \
            (list)->last->next = (sk);                                                          \
        else                                                                                    \
            (list)->first = (sk);                                                               \
        (list)->last = (sk);                                                                    \
    } while (0)
#define LIST_DEL(list, sk, next, prev)                                                          \
    do {                                                                                        \
        if ((sk)->prev)                                                                         \
            (sk)->prev->next = (sk)->next;                                                      \
        else                                                                                    \
            (list)->first = (sk)->next;                                                         \
        if ((sk)->next)                                                                         \
            (sk)->next->prev = (sk)->prev;                                                      \
        else                                                                                    \
            (list)->last = (sk)->prev;                                                          \
        (sk)->next = (sk)->prev = NULL;                                                         \
    } while (0)

static void vsock_insert_bound(struct vsock *sk)
{
    assert(!sk->in_bound);
    vsock_hold(sk);
    LIST_PUSH(&sk->ctx->bound, sk, bnext, bprev);
    sk->in_bound = true;
}

static void vsock_remove_bound(struct vsock *sk)
{
    if (!sk->in_bound)
        return;
    LIST_DEL(&sk->ctx->bound, sk, bnext, bprev);
    sk->in_bound = false;
    vsock_put(sk);
}

void vsock_insert_connected(struct vsock *sk)
{
    assert(!sk->in_connected);
    vsock_hold(sk);
    LIST_PUSH(&sk->ctx->connected, sk, cnext, cprev);
    sk->in_connected = true;
}

void vsock_remove_connected(struct vsock *sk)
{
    if (!sk->in_connected)
        return;
    LIST_DEL(&sk->ctx->connected, sk, cnext, cprev);
    sk->in_connected = false;
    vsock_put(sk);
}

/* §1.4: a bound socket matches if (cid, port) are equal, or the ports are equal and either
 * side's cid is ANY. Stream and datagram sockets live in separate port spaces. */
struct vsock *vsock_find_bound(struct vsock_ctx *ctx, const struct sockaddr_vm *addr, int type)
{
    for (struct vsock *sk = ctx->bound.first; sk; sk = sk->bnext) {
        if (sk->type != type && !(vsock_type_connectible(sk->type) && vsock_type_connectible(type)))
            continue;
        if (sk->local.svm_port != addr->svm_port)
            continue;
        if (sk->local.svm_cid == addr->svm_cid || sk->local.svm_cid == VMADDR_CID_ANY ||
            addr->svm_cid == VMADDR_CID_ANY)
            return sk;
    }
    return NULL;
}

struct vsock *vsock_find_connected(struct vsock_ctx *ctx, const struct sockaddr_vm *src,
                                   const struct sockaddr_vm *dst)
{
    for (struct vsock *sk = ctx->connected.first; sk; sk = sk->cnext)
        if (sk->remote.svm_cid == src->svm_cid && sk->remote.svm_port == src->svm_port &&
            sk->local.svm_port == dst->svm_port)
            return sk;
    return NULL;
}

/* §1.4, §2.2: stream bind, explicit or ephemeral. */
int vsock_bind_stream(struct vsock *sk, const struct sockaddr_vm *addr)
{
    struct vsock_ctx *ctx = sk->ctx;
    struct sockaddr_vm want = *addr;
    if (want.svm_port == VMADDR_PORT_ANY) {
        if (!ctx->port_seeded) {
            /* one counter per kernel, seeded once with a random value above the reserved
             * ports (from the world's seed) */
            ctx->next_port = VS_LAST_RESERVED_PORT + 1 +
                             (uint32_t)sim_rand_below(sk->sw->sim,
                                                      0xFFFFFFFFull - VS_LAST_RESERVED_PORT - 1);
            ctx->port_seeded = true;
        }
        bool found = false;
        for (int i = 0; i < VS_MAX_PORT_RETRIES; i++) {
            if (ctx->next_port <= VS_LAST_RESERVED_PORT || ctx->next_port == VMADDR_PORT_ANY)
                ctx->next_port = VS_LAST_RESERVED_PORT + 1;
            want.svm_port = ctx->next_port++;
            if (!vsock_find_bound(ctx, &want, sk->type)) {
                found = true;
                break;
            }
        }
        if (!found)
            return -EADDRNOTAVAIL;
    } else {
        if (want.svm_port <= VS_LAST_RESERVED_PORT && !(sk->owner && sk->owner->root))
            return -EACCES;
        if (vsock_find_bound(ctx, &want, sk->type))
            return -EADDRINUSE;
    }
    vsock_addr_init(&sk->local, want.svm_cid, want.svm_port);
    vsock_insert_bound(sk);
    return 0;
}

/* ---- listener bookkeeping (§3.5) --------------------------------------------------------------- */

void vsock_add_pending(struct vsock *listener, struct vsock *child)
{
    vsock_hold(child);
    vsock_hold(listener);
    child->listener = listener;
    LIST_PUSH(&listener->pending, child, lnext, lprev);
    listener->ack_backlog++;
}

void vsock_remove_pending(struct vsock *listener, struct vsock *child)
{
    assert(child->listener == listener);
    LIST_DEL(&listener->pending, child, lnext, lprev);
    child->listener = NULL;
    listener->ack_backlog--;
    assert(listener->ack_backlog >= 0);
    vsock_put(listener);
    vsock_put(child);
}

/* A pending child became established: move it to the accept queue (the backlog count stays
 * until accept()). */
void vsock_enqueue_accept(struct vsock *listener, struct vsock *child)
{
    assert(child->listener == listener);
    LIST_DEL(&listener->pending, child, lnext, lprev);
    LIST_PUSH(&listener->accept_q, child, lnext, lprev);
    vsock_wake(listener);
}

static void release_children(struct vsock *sk)
{
    while (sk->pending.first) {
        struct vsock *c = sk->pending.first;
        vsock_hold(c);
        vsock_cancel_timer(c, &c->pending_timer);
        vsock_remove_pending(sk, c);
        vsock_release(c);
        vsock_put(c);
    }
    while (sk->accept_q.first) {
        struct vsock *c = sk->accept_q.first;
        vsock_hold(c);
        LIST_DEL(&sk->accept_q, c, lnext, lprev);
        c->listener = NULL;
        sk->ack_backlog--;
        vsock_put(sk);
        vsock_put(c);
        vsock_cancel_timer(c, &c->pending_timer);
        vsock_release(c);
        vsock_put(c);
    }
}

/* §2.12: close. No packet is sent; the transport drops its state (a stream's queue pair is
 * detached, and the peer learns from QP_PEER_DETACH). */
void vsock_release(struct vsock *sk)
{
    if (sk->released)
        return;
    sk->released = true;
    char st[SIM_TR_NUM_MAX];
    vsock_trace(sk, "sock-release", "state=%s", sim_tr_num(st, sk->state, vsock_state_name(sk->state)));
    vsock_remove_bound(sk);
    vsock_remove_connected(sk);
    vsock_cancel_timer(sk, &sk->connect_timer);
    if (sk->transport->release)
        sk->transport->release(sk);
    sk->shutdown = VS_SHUTDOWN_MASK;
    if (sk->state == VS_LISTEN)
        release_children(sk);
    sk->state = VS_CLOSE;
    vsock_wake(sk);
    while (sk->rq_first) {
        struct vsock_dgram *d = sk->rq_first;
        sk->rq_first = d->next;
        free(d);
    }
    sk->rq_last = NULL;
    sk->rq_bytes = 0;
}
