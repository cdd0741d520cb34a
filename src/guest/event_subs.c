/*
 * event_subs.c - event subscribers of one context and their dispatch (§4.6).
 */
#include "guest/event_subs.h"
#include "sim/alloc.h"
#include "guest/event_subs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX_ATTEMPTS 10

const char *event_type_name(uint32_t event)
{
    static const char *const names[] = {"ctx-id-update", "ctx-removed",   "qp-resumed",
                                        "qp-peer-attach", "qp-peer-detach", "mem-access-on",
                                        "mem-access-off"};
    return event < sizeof names / sizeof names[0] ? names[event] : "?";
}

static bool subscribable(uint32_t event)
{
    return event < VMCI_EVENT_MAX && event != VMCI_EVENT_MEM_ACCESS_ON &&
           event != VMCI_EVENT_MEM_ACCESS_OFF;
}

static struct event_sub *find(struct event_subs *s, uint32_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->a[i].id == id)
            return &s->a[i];
    return NULL;
}

int event_subs_add(struct event_subs *s, uint32_t event, vmci_event_cb cb, void *client_data,
                   uint32_t *sub_id)
{
    if (!sub_id || !cb || !subscribable(event))
        return VMCI_ERROR_INVALID_ARGS;
    uint32_t id = 0;
    bool found = false;
    for (int attempt = 0; attempt < EVENT_MAX_ATTEMPTS && !found; attempt++) {
        id = ++s->counter;
        found = !find(s, id);
    }
    if (!found)
        return VMCI_ERROR_NO_RESOURCES;
    struct event_sub *a = vmcisim_grow(s->a, &s->cap, s->n, 8);
    if (!a)
        return VMCI_ERROR_NO_MEM;
    s->a = a;
    assert(!find(s, id) && id != 0); /* sub_ids are unique while subscribed, never 0 */
    s->a[s->n++] = (struct event_sub){id, event, cb, client_data};
    *sub_id = id;
    return VMCI_SUCCESS;
}

int event_subs_remove(struct event_subs *s, uint32_t sub_id)
{
    struct event_sub *e = find(s, sub_id);
    if (!e)
        return VMCI_ERROR_NOT_FOUND;
    size_t i = (size_t)(e - s->a);
    assert(i < s->n && s->a[i].id == sub_id);
    memmove(&s->a[i], &s->a[i + 1], (s->n - i - 1) * sizeof *s->a);
    s->n--;
    return VMCI_SUCCESS;
}

void event_subs_free(struct event_subs *s)
{
    free(s->a);
    memset(s, 0, sizeof *s);
}

int event_parse(const struct vmci_datagram *dg, struct vmci_event_data *ed)
{
    struct vmci_event_msg_hdr h;
    memset(ed, 0, sizeof *ed);
    if (dg->payload_size < sizeof h)
        return VMCI_ERROR_INVALID_ARGS;
    const uint8_t *p = VMCI_DG_PAYLOAD(dg);
    memcpy(&h, p, sizeof h);
    uint64_t left = dg->payload_size - sizeof h;
    ed->event = h.event;
    switch (h.event) {
    case VMCI_EVENT_CTX_ID_UPDATE:
    case VMCI_EVENT_CTX_REMOVED:
        if (left < sizeof ed->u.ctx)
            return VMCI_ERROR_INVALID_ARGS;
        memcpy(&ed->u.ctx, p + sizeof h, sizeof ed->u.ctx);
        return VMCI_SUCCESS;
    case VMCI_EVENT_QP_PEER_ATTACH:
    case VMCI_EVENT_QP_PEER_DETACH:
        if (left < sizeof ed->u.qp)
            return VMCI_ERROR_INVALID_ARGS;
        memcpy(&ed->u.qp, p + sizeof h, sizeof ed->u.qp);
        return VMCI_SUCCESS;
    case VMCI_EVENT_QP_RESUMED:
        return VMCI_SUCCESS;
    default:
        return VMCI_ERROR_INVALID_ARGS;
    }
}

size_t event_subs_dispatch(struct event_subs *s, vmcisim *sim, vmcisim_vm *vm,
                           const struct vmci_event_data *ed)
{
    /* Snapshot the IDs first: callbacks may change the list, and may be scheduling points. */
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->a[i].event == ed->event;
    sim_trace_vm(sim, vm, "event-dispatch", "type=%s subscribers=%zu", event_type_name(ed->event),
                 n);
    if (n == 0)
        return 0;
    uint32_t stack_ids[16];
    uint32_t *ids = n <= 16 ? stack_ids : vmcisim_malloc(n * sizeof *ids);
    if (!ids)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->a[i].event == ed->event)
            ids[k++] = s->a[i].id;
    size_t ran = 0;
    for (size_t i = 0; i < k; i++) {
        struct event_sub *e = find(s, ids[i]);
        if (!e)
            continue;
        vmci_event_cb cb = e->cb;
        void *data = e->client_data;
        ran++;
        cb(ids[i], ed, data);
    }
    if (ids != stack_ids)
        free(ids);
    return ran;
}
