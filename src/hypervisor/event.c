/*
 * event.c - events the hypervisor raises (vmci-semantics.md §4.6): datagrams from (0, 0) to
 * (cid, VMCI_EVENT_HANDLER) with payload {u32 event, u32 pad} + the event data.
 *
 * To a guest, the datagram goes into its device's receive queue, where event datagrams may use
 * the extra room up to 188416 bytes (§1.6); the guest driver calls every subscriber of the type.
 * To the host, it goes to the host's kernel worker, where the host endpoint calls its
 * subscribers. Events are never touched by the fault knobs nor delayed by the latency knob.
 */
#include <string.h>

#include "hypervisor/hv_internal.h"

static const char *event_name(uint32_t ev)
{
    static const char *const names[] = {"ctx-id-update", "ctx-removed",   "qp-resumed",
                                        "qp-peer-attach", "qp-peer-detach", "mem-access-on",
                                        "mem-access-off"};
    return ev < sizeof names / sizeof names[0] ? names[ev] : "?";
}

/* An event datagram: header, event header, then at most the largest event payload. */
struct event_dg {
    struct vmci_datagram hdr;
    struct vmci_event_msg_hdr ev;
    union {
        struct vmci_event_payld_ctx ctx;
        struct vmci_event_payld_qp qp;
    } u;
};

static int send_event(struct hv *hv, uint32_t to_cid, struct event_dg *e, size_t data_len,
                      const char *detail)
{
    e->hdr.dst = vmci_make_handle(to_cid, VMCI_EVENT_HANDLER);
    e->hdr.src = vmci_make_handle(VMCI_HYPERVISOR_CONTEXT_ID, VMCI_EVENT_HANDLER);
    e->hdr.payload_size = sizeof e->ev + data_len;
    int rc;
    vmcisim_vm *to_vm;
    if (to_cid == VMCI_HOST_CONTEXT_ID) {
        to_vm = sim_host(hv->sim);
        rc = hv_work_event(hv, &e->hdr);
    } else {
        struct hv_context *c = hv_ctx_by_cid(hv, to_cid);
        to_vm = c ? c->vm : NULL;
        rc = c && c->dev ? c->port->rx_push(c->dev, &e->hdr, false)
                         : VMCI_ERROR_DST_UNREACHABLE;
    }
    if (to_vm)
        sim_trace_vm(hv->sim, to_vm, "event", "type=%s to=%u%s result=%s", event_name(e->ev.event),
                     to_cid, detail, vmci_strerror(rc));
    else
        sim_trace_vm(hv->sim, &hv->self_vm, "event", "type=%s to=%u%s result=%s",
                     event_name(e->ev.event), to_cid, detail, vmci_strerror(rc));
    return rc;
}

int hv_event_ctx(struct hv *hv, uint32_t to_cid, uint32_t event, uint32_t about_cid)
{
    struct event_dg e;
    memset(&e, 0, sizeof e);
    e.ev.event = event;
    e.u.ctx.context_id = about_cid;
    char detail[32];
    snprintf(detail, sizeof detail, " cid=%u", about_cid);
    return send_event(hv, to_cid, &e, sizeof e.u.ctx, detail);
}

int hv_event_qp(struct hv *hv, uint32_t to_cid, uint32_t event, vmci_handle qp, uint32_t peer)
{
    struct event_dg e;
    memset(&e, 0, sizeof e);
    e.ev.event = event;
    e.u.qp.handle = qp;
    e.u.qp.peer_id = peer;
    char detail[64];
    snprintf(detail, sizeof detail, " handle=%u:%u peer=%u", HV_H(qp), peer);
    return send_event(hv, to_cid, &e, sizeof e.u.qp, detail);
}

int hv_event_simple(struct hv *hv, uint32_t to_cid, uint32_t event)
{
    struct event_dg e;
    memset(&e, 0, sizeof e);
    e.ev.event = event;
    return send_event(hv, to_cid, &e, 0, "");
}

void hv_event_ctx_removed(struct hv *hv, uint32_t cid, uint32_t priv_flags)
{
    /* §5.4/§6: removal notifications are not given VM to VM, nor to restricted contexts (they
     * may not register for them), nor where the two contexts may not interact. In creation
     * order. */
    for (size_t i = 0; i < hv->nctxs; i++) {
        struct hv_context *c = hv->ctxs[i];
        if (hv_cid_is_vm(cid) && hv_cid_is_vm(c->cid))
            continue;
        if (c->priv_flags & VMCI_PRIVILEGE_FLAG_RESTRICTED)
            continue;
        if (vmci_priv_deny(priv_flags, c->priv_flags))
            continue;
        hv_event_ctx(hv, c->cid, VMCI_EVENT_CTX_REMOVED, cid);
    }
}
