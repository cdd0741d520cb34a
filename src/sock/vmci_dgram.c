/*
 * vmci_dgram.c - the VMCI datagram transport (vmci-semantics.md §§2.2, 2.6, 2.9, 2.10, 5): a
 * datagram socket is a VMCI datagram handle whose resource ID is its port; sending is one VMCI
 * datagram; arrivals are queued on the socket, bounded by SO_RCVBUF (silently dropped beyond).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vmci_kapi.h"
#include "sock/usercopy.h"
#include "sock/vmci_transport.h"
#include "sock/vsock.h"
#include "sim/alloc.h"
#include "sock/usercopy.h"
#include "sock/vmci_stream_pkt.h"
#include "sock/vsock.h"

struct vdg_sock {
    vmci_handle handle;
    bool have_handle;
};

static struct vdg_sock *D(struct vsock *sk) { return sk->trans; }

static uint32_t dg_local_cid(struct vsock_ctx *ctx) { return vmci_get_context_id(ctx->vm); }

static bool allow_peer(struct vsock *sk, uint32_t peer_cid)
{
    if (peer_cid == VMCI_HYPERVISOR_CONTEXT_ID)
        return true;
    uint32_t mine = sk->trusted ? VMCI_PRIVILEGE_FLAG_TRUSTED : VMCI_NO_PRIVILEGE_FLAGS;
    return !vmci_deny_interaction(mine, vmci_context_get_priv_flags(sk->ctx->vm, peer_cid));
}

/* §5.3: arrival on the socket. */
static int dgram_recv_cb(void *client_data, struct vmci_datagram *dg)
{
    struct vsock *sk = client_data;
    if (sim_observe_delivery_wanted(sk->sw->sim)) {
        /* it reached the socket (whatever the socket then does with it): the fields the
         * send's observation had, so a capture can pair them */
        struct vmcisim_packet obs = {
            .src_cid = dg->src.context, .src_port = dg->src.resource,
            .dst_cid = dg->dst.context, .dst_port = dg->dst.resource,
            .op = VMCISIM_PKT_PAYLOAD, .sock_type = SOCK_DGRAM, .hdr = dg,
            .hdr_len = (uint32_t)sizeof *dg, .payload = VMCI_DG_PAYLOAD(dg),
            .payload_len = (uint32_t)dg->payload_size};
        sim_observe_delivery(sk->sw->sim, &obs);
    }
    if (!allow_peer(sk, dg->src.context)) {
        vsock_trace(sk, "dgram-drop", "why=restricted-peer src=%u:%u", dg->src.context,
                    dg->src.resource);
        return VMCI_ERROR_NO_ACCESS;
    }
    uint64_t len = dg->payload_size;
    if ((uint64_t)sk->rq_bytes + len > (uint64_t)sk->rcvbuf) {
        vsock_trace(sk, "dgram-drop", "why=rcvbuf-full src=%u:%u len=%llu queued=%llu rcvbuf=%d",
                    dg->src.context, dg->src.resource, (unsigned long long)len,
                    (unsigned long long)sk->rq_bytes, sk->rcvbuf);
        return 0; /* VMCI still reports success to the sender */
    }
    struct vsock_dgram *d = vmcisim_malloc(sizeof *d + len);
    if (!d) {
        vsock_trace(sk, "dgram-drop", "why=no-memory len=%llu", (unsigned long long)len);
        return 0;
    }
    d->next = NULL;
    d->src_cid = dg->src.context;
    d->src_port = dg->src.resource;
    d->len = (uint32_t)len;
    memcpy(d->data, VMCI_DG_PAYLOAD(dg), len);
    if (sk->rq_last)
        sk->rq_last->next = d;
    else
        sk->rq_first = d;
    sk->rq_last = d;
    sk->rq_bytes += len;
    vsock_trace(sk, "dgram-queue", "src=%u:%u len=%llu", d->src_cid, d->src_port,
                (unsigned long long)len);
    vsock_wake(sk);
    return 0;
}

static int dg_bind(struct vsock *sk, struct sockaddr_vm *addr)
{
    struct vdg_sock *d = D(sk);
    uint32_t flags = addr->svm_cid == VMADDR_CID_ANY ? VMCI_FLAG_ANYCID_DG_HND : 0;
    uint32_t rid = addr->svm_port == VMADDR_PORT_ANY ? VMCI_INVALID_ID : addr->svm_port;
    uint32_t priv = sk->trusted ? VMCI_PRIVILEGE_FLAG_TRUSTED : VMCI_NO_PRIVILEGE_FLAGS;
    vmci_handle h;
    int rc = vmci_datagram_create_handle(sk->ctx->vm, rid, flags, priv, dgram_recv_cb, sk, &h);
    vsock_trace(sk, "dgram-bind", "cid=%u port=%u rc=%s", addr->svm_cid,
                rc < 0 ? rid : h.resource, rc < 0 ? vmci_strerror(rc) : "ok");
    if (rc < 0)
        return -vmci_error_to_errno(rc);
    d->handle = h;
    d->have_handle = true;
    vsock_addr_init(&sk->local, addr->svm_cid, h.resource);
    return 0;
}

static int64_t dg_enqueue(struct vsock *sk, const struct sockaddr_vm *remote, const void *ubuf,
                          size_t len)
{
    if (len > VMCI_MAX_DG_PAYLOAD_SIZE)
        return -EMSGSIZE;
    if (!allow_peer(sk, remote->svm_cid))
        return -EPERM;
    struct vmci_datagram *dg = vmcisim_malloc(sizeof *dg + len);
    if (!dg)
        return -ENOMEM;
    if (uc_copy_from_user(VMCI_DG_PAYLOAD(dg), ubuf, len) != 0) {
        free(dg);
        return -EFAULT;
    }
    dg->dst = vmci_make_handle(remote->svm_cid, remote->svm_port);
    dg->src = vmci_make_handle(sk->local.svm_cid, sk->local.svm_port);
    dg->payload_size = len;
    int rc = vmci_datagram_send(sk->ctx->vm, dg);
    vsock_trace(sk, "dgram-send", "dst=%u:%u len=%zu rc=%s", remote->svm_cid, remote->svm_port,
                len, rc < 0 ? vmci_strerror(rc) : "ok");
    if (rc >= 0 && sim_observe_packet_wanted(sk->sw->sim)) {
        struct vmcisim_packet obs = {
            .src_cid = dg_local_cid(sk->ctx), .src_port = sk->local.svm_port,
            .dst_cid = remote->svm_cid, .dst_port = remote->svm_port, .op = VMCISIM_PKT_PAYLOAD,
            .sock_type = SOCK_DGRAM, .hdr = dg, .hdr_len = (uint32_t)sizeof *dg,
            .payload = VMCI_DG_PAYLOAD(dg), .payload_len = (uint32_t)len};
        sim_observe_packet(sk->sw->sim, &obs);
    }
    free(dg);
    if (rc < 0)
        return -vmci_error_to_errno(rc);
    return (int64_t)len;
}

/* §2.6: datagrams to the hypervisor go only to the PBRPC register service. */
static bool dg_allow(uint32_t cid, uint32_t port)
{
    if (cid == VMCI_HYPERVISOR_CONTEXT_ID)
        return port == VMCI_UNITY_PBRPC_REGISTER;
    return true;
}

static int dg_init(struct vsock *sk, struct vsock *parent)
{
    (void)parent;
    sk->trans = vmcisim_calloc(1, sizeof(struct vdg_sock));
    return sk->trans ? 0 : -1;
}

static void dg_release(struct vsock *sk)
{
    struct vdg_sock *d = D(sk);
    if (d && d->have_handle) {
        d->have_handle = false;
        if (sk->ctx->vm->state != VMCISIM_VM_POWERED_OFF)
            vmci_datagram_destroy_handle(sk->ctx->vm, d->handle);
    }
}

static void dg_destruct(struct vsock *sk)
{
    free(sk->trans);
    sk->trans = NULL;
}

static bool dg_not_stream(struct vsock *sk)
{
    (void)sk;
    return false;
}

const struct vsock_transport vmci_dgram_transport = {
    .name = "vmci-dgram",
    .init = dg_init,
    .release = dg_release,
    .destruct = dg_destruct,
    .stream_is_active = dg_not_stream,
    .dgram_bind = dg_bind,
    .dgram_enqueue = dg_enqueue,
    .dgram_allow = dg_allow,
    .get_local_cid = dg_local_cid,
};
