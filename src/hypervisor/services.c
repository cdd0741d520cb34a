/*
 * services.c - the hypervisor's services on CID 0 (§1.3), reached by a guest's hypercall: a
 * datagram to (0, resource). Served here: RESOURCES_QUERY (0), GET_CONTEXT_ID (1),
 * DOORBELL_LINK/UNLINK/NOTIFY (3/4/5), QUEUEPAIR_ALLOC (10), QUEUEPAIR_DETACH (11). Every
 * other resource ID (SET_NOTIFY_BITMAP, the obsolete datagram maps, event (un)subscribe -
 * guests keep their subscriptions and receive every event of their context -, HGFS, Unity,
 * the RPC services, and anything >= 17) answers INVALID_RESOURCE, as a missing handle does.
 */
#include <string.h>

#include "hypervisor/hv_internal.h"

static const char *svc_name(uint32_t rid)
{
    static const char *const n[] = {"resources-query", "get-context-id",    "set-notify-bitmap",
                                    "doorbell-link",   "doorbell-unlink",   "doorbell-notify",
                                    "dg-request-map",  "dg-remove-map",     "event-subscribe",
                                    "event-unsubscribe", "qp-alloc",        "qp-detach",
                                    "12",              "hgfs-transport",    "unity-pbrpc",
                                    "rpc-privileged",  "rpc-unprivileged"};
    return rid < sizeof n / sizeof n[0] ? n[rid] : "unknown";
}

static bool served(uint32_t rid)
{
    return rid == VMCI_RESOURCES_QUERY || rid == VMCI_GET_CONTEXT_ID ||
           rid == VMCI_DOORBELL_LINK || rid == VMCI_DOORBELL_UNLINK ||
           rid == VMCI_DOORBELL_NOTIFY || rid == VMCI_QUEUEPAIR_ALLOC ||
           rid == VMCI_QUEUEPAIR_DETACH;
}

static int resources_query(struct vmci_datagram *dg)
{
    struct vmci_resources_query_msg m;
    if (dg->payload_size < sizeof m)
        return VMCI_ERROR_INVALID_ARGS;
    memcpy(&m, VMCI_DG_PAYLOAD(dg), sizeof m);
    if (m.num_resources > 32 || dg->payload_size < sizeof m + 4ull * m.num_resources)
        return VMCI_ERROR_INVALID_ARGS;
    const uint8_t *ids = (const uint8_t *)VMCI_DG_PAYLOAD(dg) + sizeof m;
    int mask = 0;
    for (uint32_t i = 0; i < m.num_resources; i++) {
        uint32_t rid;
        memcpy(&rid, ids + 4 * i, 4);
        if (served(rid))
            mask |= (int)(1u << i);
    }
    return mask;
}

static int qp_alloc(struct hv *hv, struct hv_context *ctx, struct vmci_datagram *dg)
{
    struct vmci_qp_alloc_msg m;
    if (dg->payload_size != sizeof m)
        return VMCI_ERROR_INVALID_ARGS;
    memcpy(&m, VMCI_DG_PAYLOAD(dg), sizeof m);
    /* The page count must describe both queues (a header page each). */
    if (m.num_ppns != vmci_qp_queue_pages(m.produce_size) + vmci_qp_queue_pages(m.consume_size))
        return VMCI_ERROR_INVALID_ARGS;
    /* Guests allocate with no privilege flags (§4.5). */
    return hv_qp_alloc(hv, ctx, m.handle, m.peer, m.flags, VMCI_NO_PRIVILEGE_FLAGS,
                       m.produce_size, m.consume_size, m.produce_q, m.consume_q, NULL);
}

int hv_service(struct hv *hv, struct hv_context *ctx, struct vmci_datagram *dg)
{
    uint32_t rid = dg->dst.resource;
    int rc;
    switch (rid) {
    case VMCI_RESOURCES_QUERY:
        rc = resources_query(dg);
        break;
    case VMCI_GET_CONTEXT_ID:
        rc = (int)ctx->cid;
        break;
    case VMCI_DOORBELL_LINK: {
        struct vmci_doorbell_link_msg m;
        if (dg->payload_size != sizeof m) {
            rc = VMCI_ERROR_INVALID_ARGS;
            break;
        }
        memcpy(&m, VMCI_DG_PAYLOAD(dg), sizeof m);
        rc = hv_db_link(hv, ctx, m.handle, m.notify_idx);
        break;
    }
    case VMCI_DOORBELL_UNLINK:
    case VMCI_DOORBELL_NOTIFY: {
        struct vmci_doorbell_msg m;
        if (dg->payload_size != sizeof m) {
            rc = VMCI_ERROR_INVALID_ARGS;
            break;
        }
        memcpy(&m, VMCI_DG_PAYLOAD(dg), sizeof m);
        rc = rid == VMCI_DOORBELL_UNLINK ? hv_db_unlink(hv, ctx, m.handle)
                                         : hv_db_notify(hv, ctx->cid, m.handle,
                                                        VMCI_NO_PRIVILEGE_FLAGS);
        break;
    }
    case VMCI_QUEUEPAIR_ALLOC:
        rc = qp_alloc(hv, ctx, dg);
        break;
    case VMCI_QUEUEPAIR_DETACH: {
        struct vmci_qp_detach_msg m;
        if (dg->payload_size != sizeof m) {
            rc = VMCI_ERROR_INVALID_ARGS;
            break;
        }
        memcpy(&m, VMCI_DG_PAYLOAD(dg), sizeof m);
        rc = hv_qp_detach(hv, ctx, m.handle);
        break;
    }
    default:
        rc = VMCI_ERROR_INVALID_RESOURCE;
        break;
    }
    sim_trace_vm(hv->sim, ctx->vm, "hypercall", "ctx=%u svc=%s rid=%u size=%llu result=%d%s%s",
                 ctx->cid, svc_name(rid), rid, (unsigned long long)dg->payload_size, rc,
                 rc < 0 ? " error=" : "", rc < 0 ? vmci_strerror(rc) : "");
    return rc;
}
