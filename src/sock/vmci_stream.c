/*
 * vmci_stream.c - the VMCI stream transport (like Linux's vmci_transport.c): control packets as
 * 56-byte VMCI datagrams on resource 1, the REQUEST2 -> NEGOTIATE2 -> OFFER -> ATTACH handshake
 * (§3.4), queue pairs for the data (the client creates, the listener's child attaches), the
 * queue-state notifications WROTE/READ (§4.7), and peer detach (§3.6).
 *
 * Packet arrival: the context's datagram callback checks and routes each packet; notification
 * packets for established sockets are handled at once, everything else is deferred to the
 * context's kernel worker, as Linux defers to a work item.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vmci_kapi.h"
#include "sock/usercopy.h"
#include "sock/vmci_stream_pkt.h"
#include "sock/vmci_transport.h"
#include "sock/vsock.h"
#include "preload/qp_shared.h"
#include "sim/alloc.h"
#include "sock/usercopy.h"
#include "sock/vmci_stream_pkt.h"
#include "sock/vsock.h"

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))
#define PENDING_TIMEOUT_NS 1000000000ull /* §3.5: a pending child lives 1 s */

struct vst_ctx {
    struct vsock_ctx *ctx;
    vmci_handle ctl;            /* (cid, 1), any-cid */
    bool have_ctl;
    uint32_t resumed_sub;
    bool have_resumed_sub;
};

struct vst_sock {
    struct vmci_qp *qp;
    vmci_handle qp_handle;
    uint64_t queue_size;        /* negotiated */
    uint32_t detach_sub;
    bool have_detach_sub;
    bool sent_request2;
    bool old_proto;             /* peer answered INVALID: we fell back to REQUEST */
    bool ignore_connecting_rst;
    uint64_t peer_waiting_for;  /* the peer's reader wants this many bytes queued (WAITING_READ) */
    bool sent_waiting_read;     /* we asked the peer for a WROTE at our target */
    /* realtime: a copy of this socket's is running outside the world lock (one per direction:
     * the ring is single-producer/single-consumer) */
    bool tx_busy, rx_busy;
    /* realtime: the write-notify window of the Q_STATE protocol (§4.7), which batches READ */
    bool peer_waiting_write;          /* a dequeue found the queue full: the writer may wait */
    bool peer_waiting_write_detected; /* the window already shrank for this wait */
    uint64_t write_notify_window;     /* 0: not set up yet (set to the queue size at first use) */
    uint64_t write_notify_min_window;
    /* an exec'd program maps this end's queues and moves bytes itself while the gates are open
     * (src/preload/qp_shared.h, st_share) */
    bool shared;
};

#define NOTIFY_PAGE 4096ull /* the window moves by a page (PAGE_SIZE in the reference) */

/* Realtime spin before sleeping (vmci_qpair_spin): about what a sleep plus a wake-up on another
 * CPU costs here, the classic spin-then-block bound (docs/benchmarks.md). */
#define RT_SPIN_NS 50000ull

static struct vst_sock *T(struct vsock *sk) { return sk->trans; }

static uint32_t local_cid(struct vsock_ctx *ctx) { return vmci_get_context_id(ctx->vm); }

static const char *pkt_type_name(unsigned t)
{
    static const char *const n[] = {"INVALID", "REQUEST", "NEGOTIATE", "OFFER",  "ATTACH",
                                    "WROTE",   "READ",    "RST",       "SHUTDOWN",
                                    "WAITING_WRITE", "WAITING_READ", "REQUEST2", "NEGOTIATE2"};
    return t < sizeof n / sizeof n[0] ? n[t] : "UNKNOWN";
}

static int pkt_capture_op(unsigned t)
{
    switch (t) {
    case VST_PKT_REQUEST:
    case VST_PKT_REQUEST2:
    case VST_PKT_NEGOTIATE:
    case VST_PKT_NEGOTIATE2:
    case VST_PKT_OFFER:
    case VST_PKT_ATTACH:
        return VMCISIM_PKT_CONNECT;
    case VST_PKT_RST:
    case VST_PKT_SHUTDOWN:
        return VMCISIM_PKT_DISCONNECT;
    case VST_PKT_WROTE:
    case VST_PKT_READ:
    case VST_PKT_WAITING_WRITE:
    case VST_PKT_WAITING_READ:
        return VMCISIM_PKT_CONTROL;
    default:
        return VMCISIM_PKT_UNKNOWN;
    }
}

/* ---- sending control packets ------------------------------------------------------------------ */

struct pkt_args {
    uint64_t u64;        /* size or mode */
    vmci_handle handle;  /* OFFER/ATTACH */
    uint16_t proto;
    uint64_t wait_offset; /* WAITING_READ / WAITING_WRITE */
};
struct vst_packet_wait {
    uint64_t offset;
};

static int send_pkt(struct vsock_ctx *ctx, uint32_t dst_cid, uint32_t dst_port, uint32_t src_port,
                    uint8_t type, const struct pkt_args *a)
{
    struct vst_packet p;
    memset(&p, 0, sizeof p);
    p.dg.dst = vmci_make_handle(dst_cid, dst_cid == VMCI_HYPERVISOR_CONTEXT_ID
                                             ? VST_HYPERVISOR_PACKET_RID
                                             : VST_PACKET_RID);
    p.dg.src = vmci_make_handle(VMCI_INVALID_ID, VST_PACKET_RID); /* routing stamps our cid */
    p.dg.payload_size = sizeof p - sizeof p.dg;
    p.version = VST_PACKET_VERSION;
    p.type = type;
    p.src_port = src_port;
    p.dst_port = dst_port;
    if (a) {
        p.proto = a->proto;
        if (type == VST_PKT_OFFER || type == VST_PKT_ATTACH) {
            p.u.handle = a->handle;
        } else if (type == VST_PKT_WAITING_READ || type == VST_PKT_WAITING_WRITE) {
            p.u.wait.generation = 0;
            p.u.wait.offset = a->wait_offset;
        } else {
            p.u.size = a->u64;
        }
    }
    int rc = vmci_datagram_send(ctx->vm, &p.dg);
    sim_trace(ctx->sw->sim, "pkt-send",
              "type=%s src=%u:%u dst=%u:%u u=%llu rc=%s", pkt_type_name(type),
              local_cid(ctx), src_port, dst_cid, dst_port,
              (unsigned long long)(a ? a->u64 : 0), rc < 0 ? vmci_strerror(rc) : "ok");
    if (rc >= 0) {
        struct vmcisim_packet obs = {
            .src_cid = local_cid(ctx), .src_port = src_port, .dst_cid = dst_cid,
            .dst_port = dst_port, .op = pkt_capture_op(type), .sock_type = SOCK_STREAM,
            .hdr = &p, .hdr_len = sizeof p};
        sim_observe_packet(ctx->sw->sim, &obs);
    }
    return rc < 0 ? -vmci_error_to_errno(rc) : 0;
}

static int sk_send(struct vsock *sk, uint8_t type, const struct pkt_args *a)
{
    return send_pkt(sk->ctx, sk->remote.svm_cid, sk->remote.svm_port, sk->local.svm_port, type, a);
}

static void send_pkt_wait(struct vsock *sk, const struct vst_packet_wait *w)
{
    struct pkt_args a = {.wait_offset = w->offset};
    sk_send(sk, VST_PKT_WAITING_READ, &a);
}

/* Answer a packet with RST; RST itself is never answered (§3.3). */
static void send_reset_reply(struct vsock_ctx *ctx, const struct vst_packet *pkt)
{
    if (pkt->type == VST_PKT_RST)
        return;
    send_pkt(ctx, pkt->dg.src.context, pkt->src_port, pkt->dst_port, VST_PKT_RST, NULL);
}

/* ---- queue pair and detach subscription ---------------------------------------------------------- */

static void handle_detach(struct vsock *sk, const char *why)
{
    struct vst_sock *t = T(sk);
    if (!t->qp && sk->state != VS_SYN_SENT)
        return;
    sk->done = true;
    sk->peer_shutdown = VS_SHUTDOWN_MASK;
    int64_t data = t->qp ? vmci_qpair_consume_buf_ready(t->qp) : 0;
    if (data <= 0 || vsock_is_host(sk)) {
        if (sk->state == VS_SYN_SENT) {
            sk->state = VS_CLOSE;
            sk->err = ECONNRESET;
            sk->ss = SS_UNCONNECTED;
        } else {
            sk->state = VS_CLOSE;
        }
    }
    char st[SIM_TR_NUM_MAX];
    vsock_trace(sk, "peer-detach", "why=%s state=%s unread=%lld", why,
                sim_tr_num(st, sk->state, vsock_state_name(sk->state)),
                (long long)(data > 0 ? data : 0));
    vsock_wake(sk);
}

static void peer_detach_cb(uint32_t sub_id, const struct vmci_event_data *ed, void *client_data)
{
    (void)sub_id;
    struct vsock *sk = client_data;
    struct vst_sock *t = T(sk);
    if (!t->qp || !vmci_handle_eq(ed->u.qp.handle, t->qp_handle))
        return;
    handle_detach(sk, "QP_PEER_DETACH");
}

static int subscribe_detach(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    if (t->have_detach_sub)
        return 0;
    int rc = vmci_event_subscribe(sk->ctx->vm, VMCI_EVENT_QP_PEER_DETACH, peer_detach_cb, sk,
                                  &t->detach_sub);
    if (rc < 0)
        return -vmci_error_to_errno(rc);
    vsock_hold(sk);
    t->have_detach_sub = true;
    return 0;
}

static void free_resources(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    if (t->qp) {
        vmci_qpair_gate(t->qp, 0, 0); /* the program stops before the memory goes */
        vsock_trace(sk, "qp-detach", "handle=%u:%u", t->qp_handle.context, t->qp_handle.resource);
        vmci_qpair_detach(&t->qp);
        t->qp = NULL;
    }
    if (t->have_detach_sub) {
        t->have_detach_sub = false;
        vmci_event_unsubscribe(sk->ctx->vm, t->detach_sub);
        vsock_put(sk);
    }
}

/* Create (client) or attach (server child) the pair. §3.4 steps 4 and 5; §4.5 retry. */
static int qp_setup(struct vsock *sk, vmci_handle *handle, uint64_t size, bool attach)
{
    struct vst_sock *t = T(sk);
    uint32_t peer = sk->remote.svm_cid;
    uint32_t flags = attach ? VMCI_QPFLAG_ATTACH_ONLY : 0;
    if (peer == local_cid(sk->ctx))
        flags |= VMCI_QPFLAG_LOCAL;
    uint32_t priv = sk->trusted ? VMCI_PRIVILEGE_FLAG_TRUSTED : VMCI_NO_PRIVILEGE_FLAGS;
    int rc = subscribe_detach(sk);
    if (rc)
        return rc;
    rc = vmci_qpair_alloc(sk->ctx->vm, &t->qp, handle, size, size, peer, flags, priv);
    if (rc == VMCI_ERROR_NO_ACCESS && priv != VMCI_NO_PRIVILEGE_FLAGS)
        rc = vmci_qpair_alloc(sk->ctx->vm, &t->qp, handle, size, size, peer, flags,
                              VMCI_NO_PRIVILEGE_FLAGS);
    vsock_trace(sk, attach ? "qp-attach" : "qp-create", "handle=%u:%u size=%llu peer=%u rc=%s",
                handle->context, handle->resource, (unsigned long long)size, peer,
                rc < 0 ? vmci_strerror(rc) : "ok");
    if (rc < 0) {
        t->qp = NULL;
        /* fault tolerance refuses new pairs: the connection is refused like any other */
        return rc == VMCI_ERROR_UNAVAILABLE ? -ECONNRESET : -vmci_error_to_errno(rc);
    }
    t->qp_handle = *handle;
    t->queue_size = size;
    return 0;
}

/* ---- packet processing (deferred, on the context's kernel worker) -------------------------------- */

static void child_destroy(struct vsock *listener, struct vsock *child)
{
    vsock_cancel_timer(child, &child->pending_timer);
    vsock_hold(child);
    vsock_remove_pending(listener, child);
    vsock_release(child);
    vsock_put(child);
}

static void pending_timeout_cb(sim_timer *tm)
{
    struct vsock *child = container_of(tm, struct vsock, pending_timer);
    struct vsock *l = child->listener;
    if (l && child->state == VS_SYN_SENT) {
        SIM_REACHABLE(child->sw->sim, "vsock.listen.pending-timeout");
        vsock_trace(child, "pending-timeout", "remote=%u:%u", child->remote.svm_cid,
                    child->remote.svm_port);
        child_destroy(l, child);
    }
    vsock_put(child);
}

static void recv_connecting_server(struct vsock *listener, struct vsock *child,
                                   const struct vst_packet *pkt)
{
    if (pkt->type == VST_PKT_RST) {
        child_destroy(listener, child);
        return;
    }
    vmci_handle h = pkt->u.handle;
    if (pkt->type != VST_PKT_OFFER || vmci_handle_invalid(h)) {
        send_reset_reply(child->ctx, pkt);
        child_destroy(listener, child);
        return;
    }
    int rc = qp_setup(child, &h, T(child)->queue_size, true);
    if (rc) {
        send_reset_reply(child->ctx, pkt);
        child_destroy(listener, child);
        return;
    }
    /* the server side of the handshake: a pending child of this listener gets its queue pair */
    assert(child->state == VS_SYN_SENT && child->listener == listener);
    assert(T(child)->qp != NULL);
    child->state = VS_ESTABLISHED;
    vsock_insert_connected(child);
    struct pkt_args a = {.handle = h};
    if (sk_send(child, VST_PKT_ATTACH, &a) != 0) {
        vsock_remove_connected(child);
        child_destroy(listener, child);
        return;
    }
    vsock_trace(child, "established", "local=%u:%u remote=%u:%u", child->local.svm_cid,
                child->local.svm_port, child->remote.svm_cid, child->remote.svm_port);
    vsock_enqueue_accept(listener, child);
}

static void recv_listen(struct vsock *l, const struct vst_packet *pkt)
{
    for (struct vsock *c = l->pending.first; c; c = c->lnext)
        if (c->remote.svm_cid == pkt->dg.src.context && c->remote.svm_port == pkt->src_port) {
            vsock_hold(c);
            recv_connecting_server(l, c, pkt);
            vsock_put(c);
            return;
        }
    if ((pkt->type != VST_PKT_REQUEST && pkt->type != VST_PKT_REQUEST2) || pkt->u.size == 0) {
        send_reset_reply(l->ctx, pkt);
        return;
    }
    if (l->ack_backlog >= l->max_backlog) {
        SIM_REACHABLE(l->sw->sim, "vsock.listen.backlog-full");
        vsock_trace(l, "refuse", "why=backlog-full backlog=%d remote=%u:%u", l->max_backlog,
                    pkt->dg.src.context, pkt->src_port);
        send_reset_reply(l->ctx, pkt);
        return;
    }
    struct vsock *child = vsock_create(l->sw, l->ctx, SOCK_STREAM, l, NULL);
    if (!child) {
        send_reset_reply(l->ctx, pkt);
        return;
    }
    vsock_addr_init(&child->local, pkt->dg.dst.context, pkt->dst_port);
    vsock_addr_init(&child->remote, pkt->dg.src.context, pkt->src_port);
    uint64_t size = pkt->u.size;
    if (size < child->buffer_min_size || size > child->buffer_max_size)
        size = child->buffer_size;
    T(child)->queue_size = size;
    struct pkt_args a = {.u64 = size};
    int rc;
    if (pkt->type == VST_PKT_REQUEST2) {
        uint16_t proto = pkt->proto & VST_PROTO_SUPPORTED;
        if (!proto) {
            send_reset_reply(l->ctx, pkt);
            vsock_release(child);
            vsock_put(child);
            return;
        }
        a.proto = VST_PROTO_PKT_ON_NOTIFY;
        rc = sk_send(child, VST_PKT_NEGOTIATE2, &a);
    } else {
        rc = sk_send(child, VST_PKT_NEGOTIATE, &a);
    }
    if (rc) {
        send_reset_reply(l->ctx, pkt);
        vsock_release(child);
        vsock_put(child);
        return;
    }
    child->state = VS_SYN_SENT;
    vsock_add_pending(l, child);
    child->pending_timer.cb = pending_timeout_cb;
    vsock_hold(child);
    sim_timer_arm(child->ctx->vm->kworker, &child->pending_timer,
                  sim_deadline_after(l->sw->sim, PENDING_TIMEOUT_NS));
    vsock_put(child); /* the pending list holds it now */
}

static void connect_failed(struct vsock *sk, const struct vst_packet *pkt, int err)
{
    send_reset_reply(sk->ctx, pkt);
    free_resources(sk);
    sk->state = VS_CLOSE;
    sk->ss = SS_UNCONNECTED;
    sk->err = err;
    vsock_cancel_timer(sk, &sk->connect_timer);
    char en[SIM_TR_NUM_MAX];
    vsock_trace(sk, "connect-failed", "errno=%s", sim_tr_num(en, err, strerrorname_np(err)));
    vsock_wake(sk);
}

static void recv_connecting_client(struct vsock *sk, const struct vst_packet *pkt)
{
    struct vst_sock *t = T(sk);
    bool from_peer = pkt->dg.src.context == sk->remote.svm_cid && pkt->src_port == sk->remote.svm_port;
    switch (pkt->type) {
    case VST_PKT_ATTACH:
        if (!t->qp || !vmci_handle_eq(pkt->u.handle, t->qp_handle)) {
            connect_failed(sk, pkt, EPROTO);
            return;
        }
        assert(sk->state == VS_SYN_SENT); /* process_pkt dispatches only connecting sockets */
        sk->state = VS_ESTABLISHED;
        sk->ss = SS_CONNECTED;
        vsock_insert_connected(sk);
        vsock_cancel_timer(sk, &sk->connect_timer);
        vsock_trace(sk, "established", "local=%u:%u remote=%u:%u", sk->local.svm_cid,
                    sk->local.svm_port, sk->remote.svm_cid, sk->remote.svm_port);
        vsock_wake(sk);
        return;
    case VST_PKT_NEGOTIATE:
    case VST_PKT_NEGOTIATE2: {
        if (pkt->u.size == 0 || !from_peer || t->qp) {
            connect_failed(sk, pkt, EPROTO);
            return;
        }
        uint64_t size = pkt->u.size;
        if (size < sk->buffer_min_size || size > sk->buffer_max_size) {
            connect_failed(sk, pkt, EINVAL);
            return;
        }
        vmci_handle h = VMCI_INVALID_HANDLE;
        int rc = qp_setup(sk, &h, size, false);
        if (rc) {
            connect_failed(sk, pkt, -rc);
            return;
        }
        struct pkt_args a = {.handle = h};
        rc = sk_send(sk, VST_PKT_OFFER, &a);
        if (rc)
            connect_failed(sk, pkt, -rc);
        return;
    }
    case VST_PKT_INVALID:
        if (t->sent_request2 && !t->old_proto) {
            /* an old peer: fall back to REQUEST and ignore the RST it will also send */
            SIM_REACHABLE(sk->sw->sim, "vsock.connect.fallback-to-request");
            t->old_proto = true;
            t->ignore_connecting_rst = true;
            struct pkt_args a = {.u64 = sk->buffer_size};
            int rc = sk_send(sk, VST_PKT_REQUEST, &a);
            if (rc)
                connect_failed(sk, pkt, -rc);
            return;
        }
        connect_failed(sk, pkt, EPROTO);
        return;
    case VST_PKT_RST:
        if (t->ignore_connecting_rst) {
            t->ignore_connecting_rst = false;
            return;
        }
        connect_failed(sk, pkt, ECONNRESET);
        return;
    default:
        connect_failed(sk, pkt, EPROTO);
        return;
    }
}

static void recv_connected(struct vsock *sk, const struct vst_packet *pkt)
{
    switch (pkt->type) {
    case VST_PKT_SHUTDOWN:
        if (pkt->u.mode & VS_SHUTDOWN_MASK) {
            sk->peer_shutdown |= (int)(pkt->u.mode & VS_SHUTDOWN_MASK);
            static const char *const modes[] = {NULL, "RCV", "SEND", "RCV|SEND"};
            char md[SIM_TR_NUM_MAX];
            vsock_trace(sk, "peer-shutdown", "mode=%s",
                        sim_tr_num(md, (long long)pkt->u.mode,
                                   pkt->u.mode <= 3 ? modes[pkt->u.mode] : NULL));
            vsock_wake(sk);
        }
        return;
    case VST_PKT_RST: {
        /* like a clean shutdown (§3.6): end of file once the data is read */
        sk->done = true;
        sk->peer_shutdown = VS_SHUTDOWN_MASK;
        SIM_REACHABLE(sk->sw->sim, "vsock.stream.peer-reset");
        int64_t data = T(sk)->qp ? vmci_qpair_consume_buf_ready(T(sk)->qp) : 0;
        if (data <= 0)
            sk->state = VS_CLOSING;
        vsock_trace(sk, "peer-reset", "unread=%lld", (long long)(data > 0 ? data : 0));
        vsock_wake(sk);
        return;
    }
    default:
        vsock_wake(sk);
        return;
    }
}

struct pkt_work {
    struct vsock *sk;
    struct vst_packet pkt;
};

static void process_pkt(void *arg)
{
    struct pkt_work *w = arg;
    struct vsock *sk = w->sk;
    const struct vst_packet *pkt = &w->pkt;
    if (!sk->released)
        sk->local.svm_cid = pkt->dg.dst.context; /* the local CID may have changed (§2.2) */
    switch (sk->released && sk->state != VS_LISTEN ? VS_CLOSE : sk->state) {
    case VS_LISTEN:
        recv_listen(sk, pkt);
        break;
    case VS_SYN_SENT:
        recv_connecting_client(sk, pkt);
        break;
    case VS_ESTABLISHED:
        recv_connected(sk, pkt);
        break;
    default:
        send_reset_reply(sk->ctx, pkt);
        break;
    }
    vsock_put(sk);
    free(w);
}

/* The kernel worker died (power-off) before it ran process_pkt: the packet goes with it. */
static void drop_pkt(void *arg)
{
    struct pkt_work *w = arg;
    vsock_put(w->sk);
    free(w);
}

/* ---- READ batching in realtime mode: the write-notify window (§4.7, Q_STATE) ------------------
 * A reader that found the queue full notes that the writer may be waiting; READ then goes out
 * only once the bytes still queued fall below the window. The window starts at the queue size,
 * shrinks by a page each time a waiting writer is detected (a writer faster than its reader is
 * told less often, down to the minimum window), and grows by a page each time the reader blocks.
 * Deterministic mode keeps the shortcut of §4.7 (READ on every full -> not-full transition), so
 * that every shipped scenario's trace stays as it was; in realtime mode a sleeping writer is woken
 * by the queue pair's doorbell anyway, and READ is the notification of the protocol. */
static void window_setup(struct vst_sock *t)
{
    if (t->write_notify_window)
        return;
    t->write_notify_window = t->queue_size;
    t->write_notify_min_window = t->queue_size < NOTIFY_PAGE ? t->queue_size : NOTIFY_PAGE;
}

static bool window_allows_read(struct vst_sock *t, int64_t free_space)
{
    if (!t->peer_waiting_write)
        return false;
    window_setup(t);
    if (!t->peer_waiting_write_detected) {
        t->peer_waiting_write_detected = true;
        uint64_t w = t->write_notify_window;
        w = w < NOTIFY_PAGE ? t->write_notify_min_window : w - NOTIFY_PAGE;
        t->write_notify_window = w < t->write_notify_min_window ? t->write_notify_min_window : w;
    }
    assert(t->write_notify_window >= t->write_notify_min_window &&
           t->write_notify_window <= t->queue_size);
    /* free > size - window, i.e. fewer than `window` bytes left unread */
    if (free_space < 0 || (uint64_t)free_space <= t->queue_size - t->write_notify_window)
        return false;
    t->peer_waiting_write_detected = false; /* the next wait shrinks the window again */
    return true;
}

static void send_read(struct vsock *sk)
{
    struct pkt_args a = {0};
    if (sk_send(sk, VST_PKT_READ, &a) == 0)
        T(sk)->peer_waiting_write = false;
}

/* Realtime: the reader is about to wait for data, in recv or in poll. §4.7: the window widens
 * by a page; and a writer that may be waiting is told before the reader sleeps. (The reader waits
 * for more than is queued; the reference raises its minimum window above the wait's target,
 * which makes the READ due whatever is still queued. Without it, a reader waiting for a target
 * and a writer waiting for READ would wait for each other.) */
static void reader_blocks(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    window_setup(t);
    t->write_notify_window += NOTIFY_PAGE;
    if (t->write_notify_window > t->queue_size)
        t->write_notify_window = t->queue_size;
    if (t->peer_waiting_write)
        send_read(sk);
}

/* ---- reader targets above one byte (§4.7) ------------------------------------------------------
 * WROTE goes out when a queue turns non-empty. A reader that waits for more than what is queued
 * (SO_RCVLOWAT in poll) would then never hear of the bytes that follow, so it tells the writer its
 * target with WAITING_READ, as the PKT notify protocol does, and the writer answers with WROTE
 * once that many bytes are queued. */
static void waiting_read(struct vsock *sk, uint64_t target)
{
    struct vst_sock *t = T(sk);
    t->peer_waiting_for = target;
    if (t->qp && (uint64_t)vmci_qpair_produce_buf_ready(t->qp) >= target) {
        t->peer_waiting_for = 0;
        struct pkt_args a = {0};
        sk_send(sk, VST_PKT_WROTE, &a);
    }
}

static void st_poll_wait(struct vsock *sk, uint64_t target)
{
    struct vst_sock *t = T(sk);
    if (sk->type == SOCK_STREAM && sk->state == VS_ESTABLISHED && t->qp &&
        sim_is_realtime(sk->sw->sim))
        reader_blocks(sk);
    if (sk->type != SOCK_STREAM || sk->state != VS_ESTABLISHED || !t->qp || target <= 1 ||
        t->sent_waiting_read)
        return;
    int64_t ready = vmci_qpair_consume_buf_ready(t->qp);
    if (ready <= 0 || (uint64_t)ready >= target)
        return; /* empty: the next write sends WROTE anyway */
    t->sent_waiting_read = true;
    struct vst_packet_wait w = {.offset = target};
    send_pkt_wait(sk, &w);
}

/* ---- the control-packet datagram handler (§3.2, §3.4 step 2) -------------------------------------- */

static bool allow_peer(struct vsock *sk, uint32_t peer_cid)
{
    if (peer_cid == VMCI_HYPERVISOR_CONTEXT_ID)
        return true;
    uint32_t mine = sk->trusted ? VMCI_PRIVILEGE_FLAG_TRUSTED : VMCI_NO_PRIVILEGE_FLAGS;
    return !vmci_deny_interaction(mine, vmci_context_get_priv_flags(sk->ctx->vm, peer_cid));
}

static int recv_stream_cb(void *client_data, struct vmci_datagram *dg)
{
    struct vst_ctx *vc = client_data;
    struct vsock_ctx *ctx = vc->ctx;
    vmcisim *sim = ctx->sw->sim;
    if (VMCI_DG_SIZE(dg) < sizeof(struct vst_packet)) {
        sim_trace(sim, "pkt-drop", "why=short size=%llu", (unsigned long long)VMCI_DG_SIZE(dg));
        return 0;
    }
    const struct vst_packet *pkt = (const struct vst_packet *)dg;
    uint32_t want_rid = pkt->dg.src.context == VMCI_HYPERVISOR_CONTEXT_ID
                            ? VST_HYPERVISOR_PACKET_RID
                            : VST_PACKET_RID;
    if (pkt->dg.src.context == VMADDR_CID_LOCAL || pkt->dg.src.resource != want_rid) {
        sim_trace(sim, "pkt-drop", "why=bad-source src=%u:%u", pkt->dg.src.context,
                  pkt->dg.src.resource);
        return 0;
    }
    sim_trace(sim, "pkt-recv", "type=%s src=%u:%u dst=%u:%u u=%llu", pkt_type_name(pkt->type),
              pkt->dg.src.context, pkt->src_port, pkt->dg.dst.context, pkt->dst_port,
              (unsigned long long)pkt->u.size);
    if (sim_observe_delivery_wanted(sim)) {
        /* the fields the send's observation had, so a capture can pair them */
        struct vmcisim_packet obs = {
            .src_cid = pkt->dg.src.context, .src_port = pkt->src_port,
            .dst_cid = pkt->dg.dst.context, .dst_port = pkt->dst_port,
            .op = pkt_capture_op(pkt->type), .sock_type = SOCK_STREAM, .hdr = pkt,
            .hdr_len = sizeof *pkt};
        sim_observe_delivery(sim, &obs);
    }
    if (pkt->type >= VST_PKT_MAX) {
        send_pkt(ctx, pkt->dg.src.context, pkt->src_port, pkt->dst_port, VST_PKT_INVALID, NULL);
        return 0;
    }
    struct sockaddr_vm src, dst;
    vsock_addr_init(&src, pkt->dg.src.context, pkt->src_port);
    vsock_addr_init(&dst, pkt->dg.dst.context, pkt->dst_port);
    struct vsock *sk = vsock_find_connected(ctx, &src, &dst);
    if (!sk)
        sk = vsock_find_bound(ctx, &dst, SOCK_STREAM);
    if (!sk) /* nothing there: a registered hook may hand it on (sock_redirect.h) */
        sk = vsock_find_redirected(ctx, &src, &dst,
                                   pkt->type == VST_PKT_REQUEST || pkt->type == VST_PKT_REQUEST2);
    if (!sk || sk->type == SOCK_SEQPACKET) {
        /* a seqpacket socket shares the port space, but a request for it finds no transport
         * (vsock_assign_transport: ESOCKTNOSUPPORT), and the requester is reset; no socket
         * at all: the peer is half-open */
        if (!sk && pkt->type != VST_PKT_RST)
            SIM_REACHABLE(sim, "vsock.stream.rst-on-half-open");
        send_reset_reply(ctx, pkt);
        return 0;
    }
    if (!allow_peer(sk, src.svm_cid)) {
        /* §5.4: control packets from a restricted context to an untrusted socket vanish */
        vsock_trace(sk, "pkt-drop", "why=restricted-peer src=%u", src.svm_cid);
        return 0;
    }
    if (sk->state == VS_ESTABLISHED &&
        (pkt->type == VST_PKT_WROTE || pkt->type == VST_PKT_READ ||
         pkt->type == VST_PKT_WAITING_READ || pkt->type == VST_PKT_WAITING_WRITE)) {
        /* queue-state notifications wake readers (WROTE) or writers (READ) at once */
        sk->local.svm_cid = dst.svm_cid;
        if (pkt->type == VST_PKT_WAITING_READ)
            waiting_read(sk, pkt->u.wait.offset);
        if (pkt->type == VST_PKT_WROTE)
            T(sk)->sent_waiting_read = false;
        vsock_wake(sk);
        return 0;
    }
    struct pkt_work *w = vmcisim_malloc(sizeof *w);
    if (!w)
        return 0; /* like a lost datagram: the peer's timers recover */
    w->sk = sk;
    memcpy(&w->pkt, pkt, sizeof w->pkt);
    vsock_hold(sk);
    if (sim_loop_post(ctx->vm->kworker, process_pkt, drop_pkt, w) != 0) {
        vsock_put(sk);
        free(w);
    }
    return 0;
}

/* ---- per-context setup ------------------------------------------------------------------------ */

static void qp_resumed_cb(uint32_t sub_id, const struct vmci_event_data *ed, void *client_data)
{
    (void)sub_id;
    (void)ed;
    vmci_stream_drop_all(((struct vst_ctx *)client_data)->ctx, "QP_RESUMED");
}

void vmci_stream_drop_all(struct vsock_ctx *ctx, const char *why)
{
    /* §6: every connected socket of the context is treated as peer-detached, and its pair is
     * detached so the other end sees QP_PEER_DETACH too: both ends read EOF, then write EPIPE. */
    struct sock_world *sw = ctx->sw;
    for (size_t i = 0; i < sw->nall; i++) {
        struct vsock *sk = sw->all[i];
        if (sk->ctx != ctx || sk->type != SOCK_STREAM || !T(sk)->qp)
            continue;
        vsock_hold(sk);
        handle_detach(sk, why);
        free_resources(sk);
        if (sk->state == VS_ESTABLISHED)
            sk->state = VS_CLOSE;
        vsock_wake(sk);
        vsock_put(sk);
        /* sw->all may have shrunk if that was the last reference */
        if (i < sw->nall && sw->all[i] != sk)
            i--;
    }
}

static int st_ctx_init(struct vsock_ctx *ctx, void **state)
{
    struct vst_ctx *vc = vmcisim_calloc(1, sizeof *vc);
    if (!vc)
        return -1;
    vc->ctx = ctx;
    /* Trusted, as Linux creates it: VMCI lets every control packet through and the transport
     * decides per socket (allow_peer) whether a restricted peer may talk to it (§5.4). */
    int rc = vmci_datagram_create_handle(ctx->vm, VST_PACKET_RID, VMCI_FLAG_ANYCID_DG_HND,
                                         VMCI_PRIVILEGE_FLAG_TRUSTED, recv_stream_cb, vc, &vc->ctl);
    if (rc < 0) {
        free(vc);
        return -1;
    }
    vc->have_ctl = true;
    if (!ctx->vm->is_host &&
        vmci_event_subscribe(ctx->vm, VMCI_EVENT_QP_RESUMED, qp_resumed_cb, vc, &vc->resumed_sub) >= 0)
        vc->have_resumed_sub = true;
    *state = vc;
    return 0;
}

static void st_ctx_fini(struct vsock_ctx *ctx, void *state)
{
    struct vst_ctx *vc = state;
    if (vc->have_ctl)
        vmci_datagram_destroy_handle(ctx->vm, vc->ctl);
    if (vc->have_resumed_sub)
        vmci_event_unsubscribe(ctx->vm, vc->resumed_sub);
    free(vc);
}

/* ---- the transport operations ---------------------------------------------------------------- */

static int st_init(struct vsock *sk, struct vsock *parent)
{
    (void)parent;
    struct vst_sock *t = vmcisim_calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->qp_handle = VMCI_INVALID_HANDLE;
    sk->trans = t;
    return 0;
}

static void st_release(struct vsock *sk)
{
    if (!sk->trans)
        return;
    free_resources(sk);
    vsock_cancel_timer(sk, &sk->pending_timer);
    vsock_cancel_timer(sk, &sk->connect_timer);
}

static int st_connect(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    t->sent_request2 = true;
    t->old_proto = false;
    t->ignore_connecting_rst = false;
    struct pkt_args a = {.u64 = sk->buffer_size, .proto = VST_PROTO_SUPPORTED};
    return sk_send(sk, VST_PKT_REQUEST2, &a);
}

static int st_shutdown(struct vsock *sk, int mode)
{
    if (sk->state != VS_ESTABLISHED && sk->state != VS_CLOSING)
        return 0;
    struct pkt_args a = {.u64 = (uint64_t)mode};
    return sk_send(sk, VST_PKT_SHUTDOWN, &a);
}

static int64_t st_has_data(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    if (!t->qp)
        return 0;
    int64_t r = vmci_qpair_consume_buf_ready(t->qp);
    return r < 0 ? 0 : r;
}

static int64_t st_has_space(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    if (!t->qp)
        return 0;
    int64_t r = vmci_qpair_produce_free_space(t->qp);
    return r < 0 ? 0 : r;
}

static void st_gate(struct vsock *sk);

static int64_t st_enqueue(struct vsock *sk, const void *ubuf, size_t len)
{
    struct vst_sock *t = T(sk);
    if (t->tx_busy) {
        /* another thread of the process is copying into the ring right now */
        sim_wait(&sk->wq, SIM_NO_DEADLINE, "send (another send copying)");
        return 0; /* the core looks at the socket again */
    }
    struct vmci_qp *qp = t->qp;
    t->tx_busy = true;
    int64_t n = vmci_qpair_enqueue_unlocked(qp, ubuf, len, uc_copy_from_user);
    t->tx_busy = false;
    if (sim_is_realtime(sk->sw->sim))
        sim_wake_all(&sk->wq); /* a sender that found tx_busy */
    if (n == VMCI_ERROR_INVALID_ARGS)
        return -EFAULT;
    if (n < 0)
        return -ENOMEM; /* §1.7: queue-pair failures are reported as ENOMEM */
    assert((size_t)n <= len);
    if (t->qp != qp)
        return n; /* detached while the copy ran outside the lock: the bytes were queued */
    struct vmcisim_packet obs = {.src_cid = local_cid(sk->ctx), .src_port = sk->local.svm_port,
                                 .dst_cid = sk->remote.svm_cid, .dst_port = sk->remote.svm_port,
                                 .op = VMCISIM_PKT_PAYLOAD, .sock_type = SOCK_STREAM};
    if (sim_observe_packet_wanted(sk->sw->sim)) {
        /* the data now sits in the queue; copy it back out for the capture */
        void *copy = vmcisim_malloc((size_t)n);
        if (copy && uc_copy_from_user(copy, ubuf, (size_t)n) == 0) {
            obs.payload = copy;
            obs.payload_len = (uint32_t)n;
            sim_observe_packet(sk->sw->sim, &obs);
        }
        free(copy);
    }
    /* §4.7: WROTE when the queue went from empty to non-empty, or reached what a waiting
     * reader asked for */
    int64_t ready = vmci_qpair_produce_buf_ready(t->qp);
    if (ready == n || (t->peer_waiting_for && (uint64_t)ready >= t->peer_waiting_for)) {
        t->peer_waiting_for = 0;
        struct pkt_args a = {0};
        sk_send(sk, VST_PKT_WROTE, &a);
    }
    if (t->shared)
        st_gate(sk); /* the notify bit follows peer_waiting_for */
    return n;
}


static int64_t st_dequeue(struct vsock *sk, void *ubuf, size_t len, bool peek)
{
    struct vst_sock *t = T(sk);
    if (t->rx_busy) {
        sim_wait(&sk->wq, SIM_NO_DEADLINE, "recv (another recv copying)");
        return 0;
    }
    struct vmci_qp *qp = t->qp;
    int64_t n;
    if (peek) {
        n = vmci_qpair_peek(qp, ubuf, len, uc_copy_to_user);
    } else {
        t->rx_busy = true;
        n = vmci_qpair_dequeue_unlocked(qp, ubuf, len, uc_copy_to_user);
        t->rx_busy = false;
        if (sim_is_realtime(sk->sw->sim))
            sim_wake_all(&sk->wq);
    }
    if (n == VMCI_ERROR_INVALID_ARGS)
        return -EFAULT;
    if (n < 0)
        return -ENOMEM;
    assert((size_t)n <= len && (uint64_t)n <= t->queue_size);
    SIM_ALWAYS(sk->sw->sim, (uint64_t)n <= len, "vsock.stream.dequeue-within-request");
    if (t->qp != qp)
        return n;
    if (peek)
        return n;
    int64_t free_space = vmci_qpair_consume_free_space(t->qp);
    if (!sim_is_realtime(sk->sw->sim)) {
        /* §4.7 shortcut: READ when the queue left the full state */
        if (free_space == n)
            send_read(sk);
        return n;
    }
    if (free_space == n)
        t->peer_waiting_write = true;
    if (window_allows_read(t, free_space))
        send_read(sk);
    if (t->shared)
        st_gate(sk); /* the notify bit follows peer_waiting_write */
    return n;
}

/* ---- queues shared with an exec'd program (realtime) ------------------------------------------- */

/* The gates of a shared end (qp_shared.h): open while an in-process call would do nothing but
 * copy. Every state change reaches here through vsock_wake, before anyone is woken; the notify
 * bit asks the program to tell us of each move while the peer waits for a notification that
 * only we can send (its WAITING_READ target, or a writer waiting for READ). */
static void st_gate(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    if (!t || !t->shared || !t->qp)
        return;
    vmcisim *sim = sk->sw->sim;
    bool ok = sk->state == VS_ESTABLISHED && sim_is_realtime(sim) && !sim_trace_formats(sim) &&
              !sim_observe_packet_wanted(sim);
    bool send = ok && !sk->err && !(sk->shutdown & VS_SEND_SHUTDOWN) &&
                !(sk->peer_shutdown & VS_RCV_SHUTDOWN);
    bool recv = ok && sk->rcvlowat <= 1;
    uint32_t nb = sk->nonblock ? QP_GATE_NONBLOCK : 0;
    vmci_qpair_gate(t->qp,
                    send ? QP_GATE_OPEN | nb | (t->peer_waiting_for ? QP_GATE_NOTIFY : 0) : 0,
                    recv ? QP_GATE_OPEN | nb | (t->peer_waiting_write ? QP_GATE_NOTIFY : 0) : 0);
}

static int st_share(struct vsock *sk, int fds[2], uint64_t sizes[2])
{
    struct vst_sock *t = T(sk);
    if (!t->qp || sk->state != VS_ESTABLISHED)
        return -ENOTCONN;
    if (vmci_qpair_share(t->qp, fds, sizes) != 0)
        return -EOPNOTSUPP;
    t->shared = true;
    st_gate(sk);
    return 0;
}

/* The program moved n bytes itself (it enqueued: sent; else it dequeued): what st_enqueue and
 * st_dequeue do after their copy, the doorbell first. Edge: the program saw, right after its
 * copy, the queue hold only its bytes (free only its room); the queue as it is now may say
 * otherwise (the program moved more since), and the peer still waits for this WROTE (READ). */
static void st_moved(struct vsock *sk, bool sent, bool edge, size_t n)
{
    struct vst_sock *t = T(sk);
    if (!t->qp || n == 0)
        return;
    vmci_qpair_ring(t->qp, sent);
    if (sent) {
        int64_t ready = vmci_qpair_produce_buf_ready(t->qp);
        if (edge || ready == (int64_t)n ||
            (t->peer_waiting_for && (uint64_t)ready >= t->peer_waiting_for)) {
            t->peer_waiting_for = 0;
            struct pkt_args a = {0};
            sk_send(sk, VST_PKT_WROTE, &a);
        }
    } else {
        int64_t free_space = vmci_qpair_consume_free_space(t->qp);
        if (edge || free_space == (int64_t)n)
            t->peer_waiting_write = true;
        if (window_allows_read(t, free_space))
            send_read(sk);
    }
    st_gate(sk);
}

static bool st_spin(struct vsock *sk, bool want_data)
{
    struct vst_sock *t = T(sk);
    if (!t->qp || !sim_is_realtime(sk->sw->sim))
        return false;
    return vmci_qpair_spin(t->qp, want_data, RT_SPIN_NS);
}

static int st_wait(struct vsock *sk, bool want_data, uint64_t deadline, const char *what)
{
    struct vst_sock *t = T(sk);
    if (!t->qp)
        return sim_wait(&sk->wq, deadline, what);
    if (want_data && sim_is_realtime(sk->sw->sim)) {
        reader_blocks(sk);
        if (!t->qp)
            return 0; /* the send found the peer gone: the core re-checks */
    }
    return vmci_qpair_wait(t->qp, want_data, &sk->wq, deadline, what);
}

static uint64_t st_rcvhiwat(struct vsock *sk)
{
    struct vst_sock *t = T(sk);
    return t->qp ? t->queue_size : sk->buffer_size;
}

static bool st_is_active(struct vsock *sk) { return T(sk)->qp != NULL; }

static void st_destruct(struct vsock *sk)
{
    free(sk->trans);
    sk->trans = NULL;
}

const struct vsock_transport vmci_stream_transport = {
    .name = "vmci-stream",
    .init = st_init,
    .release = st_release,
    .destruct = st_destruct,
    .connect = st_connect,
    .shutdown = st_shutdown,
    .stream_has_data = st_has_data,
    .stream_has_space = st_has_space,
    .stream_enqueue = st_enqueue,
    .stream_dequeue = st_dequeue,
    .stream_rcvhiwat = st_rcvhiwat,
    .stream_is_active = st_is_active,
    .stream_poll_wait = st_poll_wait,
    .stream_spin = st_spin,
    .stream_wait = st_wait,
    .stream_share = st_share,
    .stream_moved = st_moved,
    .stream_gate = st_gate,
    .get_local_cid = local_cid,
    .ctx_init = st_ctx_init,
    .ctx_fini = st_ctx_fini,
};
