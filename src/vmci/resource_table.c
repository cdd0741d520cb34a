/*
 * resource_table.c - a VMCI kernel's resources and its resource-ID counter (§§1.4, 5.1).
 */
#include "vmci/resource_table.h"
#include "sim/alloc.h"
#include "vmci/resource_table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void vmci_restab_init(struct vmci_resource_table *t)
{
    memset(t, 0, sizeof *t);
    t->rid_min = VMCI_RESOURCE_FIRST_ID;
    t->rid_max = VMCI_RESOURCE_LAST_ID;
    t->next_rid = t->rid_min;
}

void vmci_restab_free(struct vmci_resource_table *t)
{
    for (size_t i = 0; i < t->len; i++)
        free(t->items[i]);
    free(t->items);
    t->items = NULL;
    t->len = t->cap = 0;
}

void vmci_restab_set_range(struct vmci_resource_table *t, uint32_t lo, uint32_t hi)
{
    assert(lo <= hi && hi < VMCI_INVALID_ID);
    t->rid_min = lo;
    t->rid_max = hi;
    t->next_rid = lo;
}

static bool matches(const struct vmci_resource *r, vmci_handle h, int kind)
{
    if (kind != VMCI_RESOURCE_ANY && r->kind != kind)
        return false;
    if (r->handle.resource != h.resource)
        return false;
    return r->handle.context == h.context || r->handle.context == VMCI_INVALID_ID ||
           h.context == VMCI_INVALID_ID;
}

struct vmci_resource *vmci_restab_lookup(const struct vmci_resource_table *t, vmci_handle h,
                                         int kind)
{
    for (size_t i = 0; i < t->len; i++)
        if (matches(t->items[i], h, kind))
            return t->items[i];
    return NULL;
}

/* A free resource ID for context cid: the counter's next value not in use (by any kind) for
 * that cid; the counter wraps from rid_max to rid_min. VMCI_INVALID_ID if none is free. */
static uint32_t vmci_restab_new_id(struct vmci_resource_table *t, uint32_t cid)
{
    /* At most len IDs of the range are taken, so len + 1 tries find a free one if the range
     * is larger than that; the bound keeps a full table from spinning over 2^32 IDs. */
    uint64_t range = (uint64_t)t->rid_max - t->rid_min + 1;
    uint64_t tries = (uint64_t)t->len + 1 < range ? (uint64_t)t->len + 1 : range;
    for (uint64_t i = 0; i < tries; i++) {
        uint32_t rid = t->next_rid;
        t->next_rid = rid >= t->rid_max ? t->rid_min : rid + 1;
        if (rid < t->rid_min || rid > t->rid_max)
            continue;
        if (!vmci_restab_lookup(t, vmci_make_handle(cid, rid), VMCI_RESOURCE_ANY))
            return rid;
    }
    return VMCI_INVALID_ID;
}

int vmci_restab_add(struct vmci_resource_table *t, vmci_handle h, int kind,
                    struct vmci_resource **out)
{
    if (kind != VMCI_RESOURCE_DATAGRAM && kind != VMCI_RESOURCE_QUEUEPAIR &&
        kind != VMCI_RESOURCE_DOORBELL)
        return VMCI_ERROR_INVALID_ARGS;
    if (h.resource == VMCI_INVALID_ID) {
        h.resource = vmci_restab_new_id(t, h.context);
        if (h.resource == VMCI_INVALID_ID)
            return VMCI_ERROR_NO_HANDLE;
    } else if (vmci_restab_lookup(t, h, kind)) {
        return VMCI_ERROR_ALREADY_EXISTS;
    }
    struct vmci_resource **a = vmcisim_grow(t->items, &t->cap, t->len, 16);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    t->items = a;
    struct vmci_resource *r = vmcisim_calloc(1, sizeof *r);
    if (!r)
        return VMCI_ERROR_NO_MEM;
    r->handle = h;
    r->kind = kind;
    r->seq = t->seq++;
    t->items[t->len++] = r;
    if (out)
        *out = r;
    return VMCI_SUCCESS;
}

void vmci_restab_remove_entry(struct vmci_resource_table *t, struct vmci_resource *r)
{
    for (size_t i = 0; i < t->len; i++) {
        if (t->items[i] != r)
            continue;
        /* Keep creation order: shift the tail down. */
        memmove(&t->items[i], &t->items[i + 1], (t->len - i - 1) * sizeof *t->items);
        t->len--;
        free(r);
        return;
    }
    assert(!"resource not in its table");
}

int vmci_restab_remove(struct vmci_resource_table *t, vmci_handle h, int kind)
{
    struct vmci_resource *r = vmci_restab_lookup(t, h, kind);
    if (!r)
        return VMCI_ERROR_NOT_FOUND;
    vmci_restab_remove_entry(t, r);
    return VMCI_SUCCESS;
}
