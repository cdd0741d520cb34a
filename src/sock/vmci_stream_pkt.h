/*
 * vmci_stream_pkt.h - the VMCI stream transport's control packet (vmci-semantics.md §3.2,
 * §3.3): a 24-byte VMCI datagram header and a 32-byte body, 56 bytes in all.
 */
#ifndef VMCISIM_VMCI_STREAM_PKT_H
#define VMCISIM_VMCI_STREAM_PKT_H

#include <stdint.h>

#include "vmci/vmci_defs.h"

#define VST_PACKET_RID 1u              /* VMCI_TRANSPORT_PACKET_RID */
#define VST_HYPERVISOR_PACKET_RID 15u  /* when the peer is CID 0 */
#define VST_PACKET_VERSION 1u
#define VST_PROTO_INVALID 0u
#define VST_PROTO_PKT_ON_NOTIFY 1u     /* the queue-state notify protocol */
#define VST_PROTO_SUPPORTED VST_PROTO_PKT_ON_NOTIFY

enum vst_pkt_type {
    VST_PKT_INVALID = 0,
    VST_PKT_REQUEST = 1,
    VST_PKT_NEGOTIATE = 2,
    VST_PKT_OFFER = 3,
    VST_PKT_ATTACH = 4,
    VST_PKT_WROTE = 5,
    VST_PKT_READ = 6,
    VST_PKT_RST = 7,
    VST_PKT_SHUTDOWN = 8,
    VST_PKT_WAITING_WRITE = 9,
    VST_PKT_WAITING_READ = 10,
    VST_PKT_REQUEST2 = 11,
    VST_PKT_NEGOTIATE2 = 12,
    VST_PKT_MAX = 13,
};

struct vst_packet {
    struct vmci_datagram dg;   /* 0: dst, 8: src, 16: payload_size = 32 */
    uint8_t version;           /* 24 */
    uint8_t type;              /* 25 */
    uint16_t proto;            /* 26 */
    uint32_t src_port;         /* 28 */
    uint32_t dst_port;         /* 32 */
    uint32_t reserved2;        /* 36 */
    union {                    /* 40 */
        uint64_t size;
        uint64_t mode;
        vmci_handle handle;
        struct {
            uint64_t generation;
            uint64_t offset;
        } wait;
    } u;
};
_Static_assert(sizeof(struct vst_packet) == 56, "control packet is 56 bytes");
_Static_assert(__builtin_offsetof(struct vst_packet, u) == 40, "control packet body layout");

#endif
