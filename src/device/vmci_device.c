/*
 * vmci_device.c - the VMCI device model of one VM: registers, the hypercall, the receive queue
 * with its pending limit (§5.3), doorbell bits, the interrupt, quiesce and power off (§6).
 */
#include "device/vmci_device.h"
#include "sim/alloc.h"
#include "device/vmci_device.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/hv.h"

struct rx_item {
    struct rx_item *next;
    uint64_t size;                /* header + payload */
    struct vmci_datagram dg;      /* payload follows */
};

struct vmci_device {
    sim_timer irq;                /* first: the timer's callback finds the device from it */
    vmcisim_vm *vm;
    struct hv *hv;
    uint32_t caps, status, icr;
    struct rx_item *head, *tail;
    uint64_t rx_count;
    uint64_t rx_bytes;            /* queued */
    uint64_t rx_reserved;         /* promised to datagrams the hypervisor holds back */
    uint8_t *bits;                /* doorbell notification bits, one byte each */
    size_t nbits;
    size_t bits_set;
    void (*isr)(void *arg);
    void *isr_arg;
    uint64_t irqs;
};

static void irq_fire(sim_timer *t);

struct vmci_device *vmci_device_create(vmcisim_vm *vm, struct hv *hv)
{
    struct vmci_device *dev = vmcisim_calloc(1, sizeof *dev);
    if (!dev)
        return NULL;
    sim_timer_init(&dev->irq, irq_fire);
    dev->vm = vm;
    dev->hv = hv;
    dev->caps = VMCI_CAPS_HYPERCALL | VMCI_CAPS_GUESTCALL | VMCI_CAPS_DATAGRAM |
                VMCI_CAPS_NOTIFICATIONS;
    dev->status = VMCI_STATUS_INT_ON;
    return dev;
}

static void drop_queue(struct vmci_device *dev, const char *why)
{
    while (dev->head) {
        struct rx_item *it = dev->head;
        dev->head = it->next;
        if (why)
            sim_trace_vm(dev->vm->sim, dev->vm, "dg-drop",
                         "src=%u:%u dst=%u:%u size=%llu reason=%s", it->dg.src.context,
                         it->dg.src.resource, it->dg.dst.context, it->dg.dst.resource,
                         (unsigned long long)it->size, why);
        free(it);
    }
    dev->tail = NULL;
    dev->rx_count = 0;
    dev->rx_bytes = 0;
}

void vmci_device_free(struct vmci_device *dev)
{
    if (!dev)
        return;
    sim_timer_cancel(&dev->irq);
    drop_queue(dev, NULL);
    free(dev->bits);
    free(dev);
}

/* ---- the interrupt ------------------------------------------------------------------------ */

static bool irq_allowed(const struct vmci_device *dev)
{
    return (dev->status & VMCI_STATUS_INT_ON) &&
           !(dev->status & (VMCI_STATUS_QUIESCED | VMCI_STATUS_OFF)) && dev->isr;
}

static void raise_irq(struct vmci_device *dev, uint32_t cause)
{
    dev->icr |= cause;
    if (irq_allowed(dev) && !sim_timer_armed(&dev->irq))
        sim_timer_arm(dev->vm->kworker, &dev->irq, sim_now(dev->vm->sim));
}

static void irq_fire(sim_timer *t)
{
    struct vmci_device *dev = (struct vmci_device *)t;
    if (!irq_allowed(dev) || dev->icr == 0)
        return;
    dev->irqs++;
    dev->isr(dev->isr_arg);
}

void vmci_device_set_isr(struct vmci_device *dev, void (*isr)(void *arg), void *arg)
{
    dev->isr = isr;
    dev->isr_arg = arg;
    if (!isr)
        sim_timer_cancel(&dev->irq);
    else if (dev->icr)
        raise_irq(dev, 0);
}

uint32_t vmci_device_read_icr(struct vmci_device *dev)
{
    uint32_t v = dev->icr;
    dev->icr = 0;
    return v;
}

uint32_t vmci_device_caps(const struct vmci_device *dev) { return dev->caps; }
uint32_t vmci_device_status(const struct vmci_device *dev) { return dev->status; }

/* ---- guest side -------------------------------------------------------------------------- */

int vmci_device_hypercall(struct vmci_device *dev, struct vmci_datagram *dg)
{
    if (!dev || (dev->status & VMCI_STATUS_OFF))
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (!dg)
        return VMCI_ERROR_INVALID_ARGS;
    if (dg->payload_size > VMCI_MAX_HYPERCALL_SIZE ||
        VMCI_DG_SIZE(dg) > VMCI_MAX_HYPERCALL_SIZE) {
        sim_trace(dev->vm->sim, "hypercall", "dst=%u:%u size=%llu result=%s", dg->dst.context,
                  dg->dst.resource, (unsigned long long)dg->payload_size,
                  vmci_strerror(VMCI_ERROR_PAYLOAD_TOO_LARGE));
        return VMCI_ERROR_PAYLOAD_TOO_LARGE;
    }
    sim_owe(dev->vm->sim, sim_cost(dev->vm->sim)->hypercall_ns); /* cost model */
    return hv_hypercall(dev->hv, dev->vm, dg);
}

struct vmci_datagram *vmci_device_rx_pop(struct vmci_device *dev)
{
    struct rx_item *it = dev->head;
    if (!it)
        return NULL;
    dev->head = it->next;
    if (!dev->head)
        dev->tail = NULL;
    assert(dev->rx_count > 0 && dev->rx_bytes >= it->size);
    dev->rx_count--;
    dev->rx_bytes -= it->size;
    /* Hand the datagram itself over: move it to the start of the allocation. */
    memmove(it, &it->dg, (size_t)it->size);
    return (struct vmci_datagram *)it;
}

bool vmci_device_notify_pop(struct vmci_device *dev, uint32_t *idx)
{
    if (dev->bits_set == 0)
        return false;
    for (size_t i = 0; i < dev->nbits; i++) {
        if (dev->bits[i]) {
            dev->bits[i] = 0;
            dev->bits_set--;
            *idx = (uint32_t)i;
            return true;
        }
    }
    assert(!"bits_set out of step with the bitmap");
    return false;
}

/* ---- hypervisor side --------------------------------------------------------------------- */

int vmci_device_rx_room(const struct vmci_device *dev, uint64_t size, bool is_event)
{
    uint64_t used = dev->rx_bytes + dev->rx_reserved;
    /* §5.3: the datagram is refused when queued + size reaches the limit; event datagrams
     * from the hypervisor may use the extra room up to the larger limit. */
    if (used + size >= VMCI_MAX_DATAGRAM_QUEUE_SIZE &&
        (!is_event || used + size >= VMCI_MAX_DATAGRAM_AND_EVENT_QUEUE_SIZE))
        return VMCI_ERROR_NO_RESOURCES;
    return VMCI_SUCCESS;
}

int vmci_device_rx_reserve(struct vmci_device *dev, uint64_t size, bool is_event)
{
    if (dev->status & VMCI_STATUS_OFF)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    int rc = vmci_device_rx_room(dev, size, is_event);
    if (rc == VMCI_SUCCESS)
        dev->rx_reserved += size;
    return rc;
}

void vmci_device_rx_unreserve(struct vmci_device *dev, uint64_t size)
{
    if (dev->status & VMCI_STATUS_OFF)
        return; /* power off already dropped every reservation */
    assert(dev->rx_reserved >= size);
    dev->rx_reserved -= size;
}

int vmci_device_rx_push(struct vmci_device *dev, const struct vmci_datagram *dg, bool reserved)
{
    uint64_t size = VMCI_DG_SIZE(dg);
    if (dev->status & VMCI_STATUS_OFF)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (reserved)
        vmci_device_rx_unreserve(dev, size);
    if (!reserved) {
        bool is_event = dg->src.context == VMCI_HYPERVISOR_CONTEXT_ID &&
                        dg->src.resource == VMCI_EVENT_HANDLER;
        int rc = vmci_device_rx_room(dev, size, is_event);
        if (rc != VMCI_SUCCESS)
            return rc;
    }
    struct rx_item *it = vmcisim_malloc(offsetof(struct rx_item, dg) + (size_t)size);
    if (!it)
        return VMCI_ERROR_NO_MEM;
    it->next = NULL;
    it->size = size;
    memcpy(&it->dg, dg, (size_t)size);
    if (dev->tail)
        dev->tail->next = it;
    else
        dev->head = it;
    dev->tail = it;
    dev->rx_count++;
    dev->rx_bytes += size;
    raise_irq(dev, VMCI_ICR_DATAGRAM);
    return VMCI_SUCCESS;
}

int vmci_device_ring(struct vmci_device *dev, uint32_t idx)
{
    if (dev->status & VMCI_STATUS_OFF)
        return VMCI_ERROR_DEVICE_NOT_FOUND;
    if (idx >= dev->nbits) {
        size_t n = dev->nbits ? dev->nbits : 32;
        while (n <= idx)
            n *= 2;
        uint8_t *b = vmcisim_realloc(dev->bits, n);
        if (!b)
            return VMCI_ERROR_NO_MEM;
        memset(b + dev->nbits, 0, n - dev->nbits);
        dev->bits = b;
        dev->nbits = n;
    }
    if (!dev->bits[idx]) {
        dev->bits[idx] = 1;
        dev->bits_set++;
    }
    raise_irq(dev, VMCI_ICR_NOTIFICATION);
    return VMCI_SUCCESS;
}

void vmci_device_quiesce(struct vmci_device *dev)
{
    dev->status |= VMCI_STATUS_QUIESCED;
    sim_timer_cancel(&dev->irq);
    sim_trace_vm(dev->vm->sim, dev->vm, "dev-quiesce", "queued=%llu bytes=%llu",
                 (unsigned long long)dev->rx_count, (unsigned long long)dev->rx_bytes);
}

void vmci_device_unquiesce(struct vmci_device *dev)
{
    dev->status &= ~VMCI_STATUS_QUIESCED;
    sim_trace_vm(dev->vm->sim, dev->vm, "dev-unquiesce", "queued=%llu bytes=%llu",
                 (unsigned long long)dev->rx_count, (unsigned long long)dev->rx_bytes);
    if (dev->icr || dev->rx_count || dev->bits_set)
        raise_irq(dev, (dev->rx_count ? VMCI_ICR_DATAGRAM : 0) |
                           (dev->bits_set ? VMCI_ICR_NOTIFICATION : 0));
}

void vmci_device_set_ft(struct vmci_device *dev, bool on)
{
    if (on)
        dev->status |= VMCI_STATUS_FT;
    else
        dev->status &= ~VMCI_STATUS_FT;
}

void vmci_device_power_off(struct vmci_device *dev)
{
    dev->status |= VMCI_STATUS_OFF;
    dev->status &= ~VMCI_STATUS_INT_ON;
    sim_timer_cancel(&dev->irq);
    drop_queue(dev, "power-off");
    dev->rx_reserved = 0;
    dev->icr = 0;
    if (dev->bits)
        memset(dev->bits, 0, dev->nbits);
    dev->bits_set = 0;
    /* The VMX is gone: the hypervisor forgets the context (its pairs, doorbells, ...). */
    hv_context_remove(dev->hv, dev->vm);
}

uint64_t vmci_device_rx_bytes(const struct vmci_device *dev)
{
    return dev->rx_bytes + dev->rx_reserved;
}
uint64_t vmci_device_rx_count(const struct vmci_device *dev) { return dev->rx_count; }
uint64_t vmci_device_irq_count(const struct vmci_device *dev) { return dev->irqs; }
vmcisim_vm *vmci_device_vm(const struct vmci_device *dev) { return dev->vm; }

/* ---- the hypervisor's port ------------------------------------------------------------------ */

/* The hypervisor holds the device as an opaque pointer and reaches it through these only. */
static int port_rx_room(const void *dev, uint64_t size, bool is_event)
{
    return vmci_device_rx_room(dev, size, is_event);
}
static int port_rx_reserve(void *dev, uint64_t size, bool is_event)
{
    return vmci_device_rx_reserve(dev, size, is_event);
}
static void port_rx_unreserve(void *dev, uint64_t size) { vmci_device_rx_unreserve(dev, size); }
static int port_rx_push(void *dev, const struct vmci_datagram *dg, bool reserved)
{
    return vmci_device_rx_push(dev, dg, reserved);
}
static uint64_t port_rx_bytes(const void *dev) { return vmci_device_rx_bytes(dev); }
static int port_ring(void *dev, uint32_t idx) { return vmci_device_ring(dev, idx); }
static void port_set_ft(void *dev, bool on) { vmci_device_set_ft(dev, on); }

static const struct hv_dev_port device_port = {
    .rx_room = port_rx_room,
    .rx_reserve = port_rx_reserve,
    .rx_unreserve = port_rx_unreserve,
    .rx_push = port_rx_push,
    .rx_bytes = port_rx_bytes,
    .ring = port_ring,
    .set_ft = port_set_ft,
};

int vmci_device_attach(struct vmci_device *dev)
{
    return hv_context_attach_device(dev->hv, dev->vm, &device_port, dev);
}
