/*
 * resource_table.h - one VMCI kernel's table of resources: handles (context id, resource id)
 * by kind (datagram, queue pair, doorbell), and the sequential resource-ID counter
 * (vmci-semantics.md §§1.4, 5.1).
 *
 * Every VMCI kernel has one: the host kernel's belongs to the hypervisor (host handles and
 * queue-pair broker entries), each guest's to its driver. Nothing in it is global: two worlds,
 * or two guests, never share a counter.
 *
 * Matching (§5.1): a handle whose context is VMCI_INVALID_ID ("any cid") matches every context,
 * and a lookup with context VMCI_INVALID_ID matches every entry of that resource id. So adding
 * (3, 1500) fails with ALREADY_EXISTS when (ANY, 1500) exists, and the other way round.
 *
 * Entries are kept in creation order (iteration is deterministic); the table is small (a
 * kernel's sockets and queue pairs), so lookups are linear.
 */
#ifndef VMCISIM_RESOURCE_TABLE_H
#define VMCISIM_RESOURCE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmci/vmci_defs.h"

enum vmci_resource_kind {
    VMCI_RESOURCE_ANY = 0,        /* lookups only: any kind */
    VMCI_RESOURCE_DATAGRAM = 1,
    VMCI_RESOURCE_QUEUEPAIR = 2,
    VMCI_RESOURCE_DOORBELL = 3,
};

/* Generic callback slot: the owner of the table casts it back to its own type. */
typedef void (*vmci_resource_fn)(void);

struct vmci_resource {
    vmci_handle handle;
    int kind;                     /* enum vmci_resource_kind */
    uint32_t flags;               /* datagram / doorbell handle flags */
    uint32_t priv_flags;          /* VMCI_PRIVILEGE_FLAG_* of the handle */
    vmci_resource_fn cb;          /* the client's callback */
    void *client_data;
    void *owner;                  /* the table owner's own record for this resource, if any */
    uint64_t seq;                 /* creation order */
};

struct vmci_resource_table {
    struct vmci_resource **items; /* creation order */
    size_t len, cap;
    uint32_t next_rid;            /* the sequential counter: next ID to try */
    uint32_t rid_min, rid_max;    /* new IDs come from [rid_min, rid_max] */
    uint64_t seq;
};

#define VMCI_RESOURCE_FIRST_ID (VMCI_RESERVED_RESOURCE_ID_MAX + 1u) /* 1024 */
#define VMCI_RESOURCE_LAST_ID (VMCI_INVALID_ID - 1u)               /* wraps before ANY */

void vmci_restab_init(struct vmci_resource_table *t);
/* Frees every entry (not what `owner` points to). */
void vmci_restab_free(struct vmci_resource_table *t);

/* Narrow the range new IDs come from (tests of exhaustion); the counter restarts at lo. */
void vmci_restab_set_range(struct vmci_resource_table *t, uint32_t lo, uint32_t hi);

/* The entry matching handle (ANY-cid rules above) of that kind (VMCI_RESOURCE_ANY: any). */
struct vmci_resource *vmci_restab_lookup(const struct vmci_resource_table *t, vmci_handle h,
                                         int kind);

/* Add a resource. h.resource == VMCI_INVALID_ID picks a new ID (NO_HANDLE if none is free).
 * Returns VMCI_SUCCESS and the entry (zeroed apart from handle/kind/seq), ALREADY_EXISTS,
 * NO_HANDLE, INVALID_ARGS (bad kind) or NO_MEM. */
int vmci_restab_add(struct vmci_resource_table *t, vmci_handle h, int kind,
                    struct vmci_resource **out);

/* Remove (and free) the entry; NOT_FOUND if there is none. */
int vmci_restab_remove(struct vmci_resource_table *t, vmci_handle h, int kind);
void vmci_restab_remove_entry(struct vmci_resource_table *t, struct vmci_resource *r);

#endif
