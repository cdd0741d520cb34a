/*
 * event_subs.h - one context's event subscribers (vmci-semantics.md §4.6): per event type,
 * small sequential subscription IDs (a per-context counter; 10 tries for an unused one, then
 * NO_RESOURCES), and delivery of an event datagram to every subscriber of its type, in
 * subscription order.
 */
#ifndef VMCISIM_EVENT_SUBS_H
#define VMCISIM_EVENT_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "guest/vmci_kapi.h"

struct event_sub {
    uint32_t id;
    uint32_t event;
    vmci_event_cb cb;
    void *client_data;
};

struct event_subs {
    struct event_sub *a;         /* subscription order */
    size_t n, cap;
    uint32_t counter;            /* last ID handed out */
};

/* Add / remove a subscriber. Results: VMCI_SUCCESS, INVALID_ARGS (event not subscribable:
 * >= VMCI_EVENT_MAX or MEM_ACCESS_ON/OFF; no callback; no sub_id), NO_RESOURCES, NO_MEM;
 * remove: NOT_FOUND. */
int event_subs_add(struct event_subs *s, uint32_t event, vmci_event_cb cb, void *client_data,
                   uint32_t *sub_id);
int event_subs_remove(struct event_subs *s, uint32_t sub_id);
void event_subs_free(struct event_subs *s);

/* Parse an event datagram (payload {u32 event, u32 pad} + data) into *ed. VMCI_SUCCESS or
 * INVALID_ARGS (too short for its event, unknown event). */
int event_parse(const struct vmci_datagram *dg, struct vmci_event_data *ed);

/* Call every subscriber of ed->event (those present when the call starts, still subscribed
 * when their turn comes: a callback may subscribe or unsubscribe). Returns how many ran.
 * `vm` attributes the trace record. */
size_t event_subs_dispatch(struct event_subs *s, vmcisim *sim, vmcisim_vm *vm,
                           const struct vmci_event_data *ed);

const char *event_type_name(uint32_t event);

#endif
