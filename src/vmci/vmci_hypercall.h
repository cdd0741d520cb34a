/*
 * vmci_hypercall.h - what a guest driver sends through its VMCI device to the hypervisor's
 * services on CID 0 (vmci-semantics.md §§1.3, 4.3), and the device's registers.
 *
 * A hypercall is a datagram to (VMCI_HYPERVISOR_CONTEXT_ID, service resource); its result code
 * (>= 0 success) is the hypercall's return value, as on the real device.
 *
 * Simulator liberty: a queue-pair alloc carries pointers to the guest's queue memory in place of
 * the PPN list of the real message ({handle, peer, flags, produce_size, consume_size, num_ppns,
 * PPNs}). num_ppns is still filled in (header page + data pages of each queue) and checked.
 */
#ifndef VMCISIM_VMCI_HYPERCALL_H
#define VMCISIM_VMCI_HYPERCALL_H

#include <stdint.h>

#include "vmci/qp_queue.h"
#include "vmci/vmci_defs.h"

/* ---- device registers ------------------------------------------------------------------- */
#define VMCI_CAPS_HYPERCALL 0x1u      /* datagrams to the hypervisor */
#define VMCI_CAPS_GUESTCALL 0x2u      /* datagrams from it (the receive queue) */
#define VMCI_CAPS_DATAGRAM 0x4u
#define VMCI_CAPS_NOTIFICATIONS 0x8u  /* doorbell notification bits */

#define VMCI_STATUS_INT_ON 0x1u       /* interrupts enabled */
#define VMCI_STATUS_QUIESCED 0x2u     /* VM suspended: the device holds its queue, raises nothing */
#define VMCI_STATUS_FT 0x4u           /* simulator: the VM runs in fault tolerance (§6) */
#define VMCI_STATUS_OFF 0x8u          /* the VM is powered off */

#define VMCI_ICR_DATAGRAM 0x1u        /* interrupt cause: datagrams are waiting */
#define VMCI_ICR_NOTIFICATION 0x2u    /* interrupt cause: doorbell bits are set */

/* Largest hypercall datagram the device accepts (header included): hypervisor services may
 * take more than the routable maximum (§1.6 "datagrams to the hypervisor"). */
#define VMCI_MAX_HYPERCALL_SIZE (1024u * 1024u)

/* ---- service payloads ------------------------------------------------------------------- */

/* VMCI_RESOURCES_QUERY: which of these services exist? Result: bit i set when resources[i]
 * is served (i < 32). */
struct vmci_resources_query_msg {
    uint32_t num_resources;
    uint32_t pad;
    /* uint32_t resources[num_resources] follows */
};

/* VMCI_QUEUEPAIR_ALLOC */
struct vmci_qp_alloc_msg {
    vmci_handle handle;
    uint32_t peer;
    uint32_t flags;
    uint64_t produce_size;        /* the guest's point of view */
    uint64_t consume_size;
    uint64_t num_ppns;            /* pages backing both queues, 2 header pages included */
    struct qp_queue *produce_q;   /* in place of the PPN list (see above) */
    struct qp_queue *consume_q;
};

/* VMCI_QUEUEPAIR_DETACH */
struct vmci_qp_detach_msg {
    vmci_handle handle;
};

/* VMCI_DOORBELL_LINK: the guest's doorbell `handle` rings notification bit `notify_idx`. */
struct vmci_doorbell_link_msg {
    vmci_handle handle;
    uint32_t notify_idx;
    uint32_t pad;
};

/* VMCI_DOORBELL_UNLINK, VMCI_DOORBELL_NOTIFY */
struct vmci_doorbell_msg {
    vmci_handle handle;
};

/* Pages one queue of `size` bytes takes: one header page plus the data pages (§1.6). */
static inline uint64_t vmci_qp_queue_pages(uint64_t size)
{
    return (size + VMCI_PAGE_SIZE - 1) / VMCI_PAGE_SIZE + 1;
}

#endif
