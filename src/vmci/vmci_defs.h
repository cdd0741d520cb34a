/*
 * vmci_defs.h - the VMCI device ABI shared by hypervisor, device, guest driver and host
 * endpoint: handles, the datagram header, error codes, flags, well-known IDs, events and size
 * limits. Names and values are those of vmci-semantics.md §§1.3, 1.6, 1.7, 4.5, 4.6, 5.1.
 */
#ifndef VMCISIM_VMCI_DEFS_H
#define VMCISIM_VMCI_DEFS_H

#include <stdint.h>

/* ---- IDs (§1.3) ---------------------------------------------------------------------------- */
#define VMCI_INVALID_ID 0xFFFFFFFFu
#define VMCI_HYPERVISOR_CONTEXT_ID 0u
#define VMCI_WELL_KNOWN_CONTEXT_ID 1u
#define VMCI_HOST_CONTEXT_ID 2u
#define VMCI_RESERVED_CID_LIMIT 16u
#define VMCI_RESERVED_RESOURCE_ID_MAX 1023u
#define VMCI_EVENT_HANDLER 0u               /* resource receiving event datagrams */

/* hypervisor resource IDs on CID 0 */
#define VMCI_RESOURCES_QUERY 0u
#define VMCI_GET_CONTEXT_ID 1u
#define VMCI_SET_NOTIFY_BITMAP 2u
#define VMCI_DOORBELL_LINK 3u
#define VMCI_DOORBELL_UNLINK 4u
#define VMCI_DOORBELL_NOTIFY 5u
#define VMCI_DATAGRAM_REQUEST_MAP 6u
#define VMCI_DATAGRAM_REMOVE_MAP 7u
#define VMCI_EVENT_SUBSCRIBE 8u
#define VMCI_EVENT_UNSUBSCRIBE 9u
#define VMCI_QUEUEPAIR_ALLOC 10u
#define VMCI_QUEUEPAIR_DETACH 11u
#define VMCI_HGFS_TRANSPORT 13u
#define VMCI_UNITY_PBRPC_REGISTER 14u
#define VMCI_RPC_PRIVILEGED 15u
#define VMCI_RPC_UNPRIVILEGED 16u
#define VMCI_RESOURCE_MAX 17u

typedef struct vmci_handle {
    uint32_t context;
    uint32_t resource;
} vmci_handle;

#define VMCI_INVALID_HANDLE ((vmci_handle){VMCI_INVALID_ID, VMCI_INVALID_ID})
static inline vmci_handle vmci_make_handle(uint32_t cid, uint32_t rid)
{
    return (vmci_handle){cid, rid};
}
static inline int vmci_handle_eq(vmci_handle a, vmci_handle b)
{
    return a.context == b.context && a.resource == b.resource;
}
static inline int vmci_handle_invalid(vmci_handle h)
{
    return h.context == VMCI_INVALID_ID && h.resource == VMCI_INVALID_ID;
}

/* ---- datagrams (§5.1, §1.6) ------------------------------------------------------------------- */
struct vmci_datagram {
    vmci_handle dst;
    vmci_handle src;
    uint64_t payload_size;
    /* payload follows */
};
_Static_assert(sizeof(struct vmci_datagram) == 24, "VMCI datagram header is 24 bytes");

#define VMCI_DG_HEADERSIZE ((uint64_t)sizeof(struct vmci_datagram))
#define VMCI_MAX_DG_SIZE (17u * 4096u)                                   /* 69632 */
#define VMCI_MAX_DG_PAYLOAD_SIZE (VMCI_MAX_DG_SIZE - VMCI_DG_HEADERSIZE)  /* 69608 */
#define VMCI_DG_PAYLOAD(dg) ((void *)((char *)(dg) + sizeof(struct vmci_datagram)))
#define VMCI_DG_SIZE(dg) (VMCI_DG_HEADERSIZE + (dg)->payload_size)
#define VMCI_MAX_DATAGRAM_QUEUE_SIZE (VMCI_MAX_DG_SIZE * 2u)              /* 139264 */
#define VMCI_MAX_DATAGRAM_AND_EVENT_QUEUE_SIZE \
    (VMCI_MAX_DATAGRAM_QUEUE_SIZE + 1024u * (24u + 24u))                /* 188416 */
#define VMCI_MAX_DELAYED_DG_HOST_QUEUE_SIZE 256u

/* datagram handle flags */
#define VMCI_FLAG_WELLKNOWN_DG_HND 0x1u
#define VMCI_FLAG_ANYCID_DG_HND 0x2u
#define VMCI_FLAG_DG_DELAYED_CB 0x4u

/* ---- errors (§1.7) ------------------------------------------------------------------------------ */
#define VMCI_SUCCESS_QUEUEPAIR_ATTACH 5
#define VMCI_SUCCESS_QUEUEPAIR_CREATE 4
#define VMCI_SUCCESS_LAST_DETACH 3
#define VMCI_SUCCESS_ACCESS_GRANTED 2
#define VMCI_SUCCESS_ENTRY_DEAD 1
#define VMCI_SUCCESS 0
#define VMCI_ERROR_INVALID_RESOURCE (-1)
#define VMCI_ERROR_INVALID_ARGS (-2)
#define VMCI_ERROR_NO_MEM (-3)
#define VMCI_ERROR_DATAGRAM_FAILED (-4)
#define VMCI_ERROR_MORE_DATA (-5)
#define VMCI_ERROR_NO_MORE_DATAGRAMS (-6)
#define VMCI_ERROR_NO_ACCESS (-7)
#define VMCI_ERROR_NO_HANDLE (-8)
#define VMCI_ERROR_DUPLICATE_ENTRY (-9)
#define VMCI_ERROR_DST_UNREACHABLE (-10)
#define VMCI_ERROR_PAYLOAD_TOO_LARGE (-11)
#define VMCI_ERROR_INVALID_PRIV (-12)
#define VMCI_ERROR_GENERIC (-13)
#define VMCI_ERROR_PAGE_ALREADY_SHARED (-14)
#define VMCI_ERROR_CANNOT_SHARE_PAGE (-15)
#define VMCI_ERROR_CANNOT_UNSHARE_PAGE (-16)
#define VMCI_ERROR_NO_PROCESS (-17)
#define VMCI_ERROR_NO_DATAGRAM (-18)
#define VMCI_ERROR_NO_RESOURCES (-19)
#define VMCI_ERROR_UNAVAILABLE (-20)
#define VMCI_ERROR_NOT_FOUND (-21)
#define VMCI_ERROR_ALREADY_EXISTS (-22)
#define VMCI_ERROR_NOT_PAGE_ALIGNED (-23)
#define VMCI_ERROR_INVALID_SIZE (-24)
#define VMCI_ERROR_REGION_ALREADY_SHARED (-25)
#define VMCI_ERROR_TIMEOUT (-26)
#define VMCI_ERROR_DATAGRAM_INCOMPLETE (-27)
#define VMCI_ERROR_INCORRECT_IRQL (-28)
#define VMCI_ERROR_EVENT_UNKNOWN (-29)
#define VMCI_ERROR_OBSOLETE (-30)
#define VMCI_ERROR_QUEUEPAIR_MISMATCH (-31)
#define VMCI_ERROR_QUEUEPAIR_NOTSET (-32)
#define VMCI_ERROR_QUEUEPAIR_NOTOWNER (-33)
#define VMCI_ERROR_QUEUEPAIR_NOTATTACHED (-34)
#define VMCI_ERROR_QUEUEPAIR_NOSPACE (-35)
#define VMCI_ERROR_QUEUEPAIR_NODATA (-36)
#define VMCI_ERROR_BUSMEM_INVALIDATION (-37)
#define VMCI_ERROR_MODULE_NOT_LOADED (-38)
#define VMCI_ERROR_DEVICE_NOT_FOUND (-39)
#define VMCI_ERROR_QUEUEPAIR_NOT_READY (-40)
#define VMCI_ERROR_WOULD_BLOCK (-41)

/* The name of a VMCI result code ("VMCI_ERROR_NO_RESOURCES"), for traces and messages. */
const char *vmci_strerror(int code);

/* ---- queue pairs (§4.5, §1.6) ---------------------------------------------------------------- */
#define VMCI_QPFLAG_ATTACH_ONLY 0x1u
#define VMCI_QPFLAG_LOCAL 0x2u
#define VMCI_QPFLAG_NONBLOCK 0x4u
#define VMCI_QPFLAG_PINNED 0x8u
#define VMCI_QP_ALL_FLAGS \
    (VMCI_QPFLAG_ATTACH_ONLY | VMCI_QPFLAG_LOCAL | VMCI_QPFLAG_NONBLOCK | VMCI_QPFLAG_PINNED)
#define VMCI_NO_PRIVILEGE_FLAGS 0u
#define VMCI_PRIVILEGE_FLAG_RESTRICTED 0x1u
#define VMCI_PRIVILEGE_FLAG_TRUSTED 0x2u
#define VMCI_PRIVILEGE_ALL_FLAGS (VMCI_PRIVILEGE_FLAG_RESTRICTED | VMCI_PRIVILEGE_FLAG_TRUSTED)
/* §5.4 deny_interaction: one side restricted and the other not trusted. Shared by the
 * hypervisor and vmci_kapi.h's vmci_deny_interaction. */
static inline int vmci_priv_deny(uint32_t part_one, uint32_t part_two)
{
    return ((part_one & VMCI_PRIVILEGE_FLAG_RESTRICTED) &&
            !(part_two & VMCI_PRIVILEGE_FLAG_TRUSTED)) ||
           ((part_two & VMCI_PRIVILEGE_FLAG_RESTRICTED) &&
            !(part_one & VMCI_PRIVILEGE_FLAG_TRUSTED));
}
#define VMCI_MAX_GUEST_QP_MEMORY (128u * 1024u * 1024u)
#define VMCI_PAGE_SIZE 4096u

/* broker entry states (§4.3) */
enum vmci_qp_broker_state {
    VMCIQPB_NEW = 0,
    VMCIQPB_CREATED_NO_MEM = 1,
    VMCIQPB_CREATED_MEM = 2,
    VMCIQPB_ATTACHED_NO_MEM = 3,
    VMCIQPB_ATTACHED_MEM = 4,
    VMCIQPB_SHUTDOWN_NO_MEM = 5,
    VMCIQPB_SHUTDOWN_MEM = 6,
    VMCIQPB_GONE = 7,
};

/* ---- events (§4.6) ---------------------------------------------------------------------------- */
#define VMCI_EVENT_CTX_ID_UPDATE 0u
#define VMCI_EVENT_CTX_REMOVED 1u
#define VMCI_EVENT_QP_RESUMED 2u
#define VMCI_EVENT_QP_PEER_ATTACH 3u
#define VMCI_EVENT_QP_PEER_DETACH 4u
#define VMCI_EVENT_MEM_ACCESS_ON 5u
#define VMCI_EVENT_MEM_ACCESS_OFF 6u
#define VMCI_EVENT_MAX 7u

/* payload of an event datagram: {u32 event, u32 pad} then the event data */
struct vmci_event_msg_hdr {
    uint32_t event;
    uint32_t pad;
};
struct vmci_event_payld_ctx {   /* CTX_ID_UPDATE, CTX_REMOVED */
    uint32_t context_id;
    uint32_t pad;
};
struct vmci_event_payld_qp {    /* QP_PEER_ATTACH, QP_PEER_DETACH */
    vmci_handle handle;
    uint32_t peer_id;           /* the attaching / detaching context */
    uint32_t pad;
};
/* What a subscriber's callback is given: the event and a pointer to its payload. */
struct vmci_event_data {
    uint32_t event;
    union {
        struct vmci_event_payld_ctx ctx;
        struct vmci_event_payld_qp qp;
    } u;
};

#endif
