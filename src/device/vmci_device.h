/*
 * vmci_device.h - one VM's VMCI device, as its guest driver and the hypervisor see it.
 *
 * Guest side (the driver, src/guest): read the capability and status registers, make a
 * hypercall (send a datagram to the hypervisor), take the datagrams the hypervisor queued for
 * the VM and the doorbell notification bits it set, and install an interrupt handler.
 * Hypervisor side (src/hypervisor): queue a datagram for the VM (bounded by the pending
 * datagram limit of §5.3), set a doorbell bit, quiesce / unquiesce the device around a
 * suspend, power it off.
 *
 * The interrupt: when something is queued, the device posts its handler to the VM's kernel
 * worker (vm->kworker), unless the device is quiesced (VM suspended), powered off, or
 * interrupts are off. While quiesced, datagrams wait in the queue; unquiescing raises the
 * interrupt for them. The handler reads the interrupt cause register and drains the queue.
 *
 * All calls run inside the world.
 */
#ifndef VMCISIM_VMCI_DEVICE_H
#define VMCISIM_VMCI_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"
#include "vmci/vmci_defs.h"
#include "vmci/vmci_hypercall.h"

struct hv;
struct vmci_device;

/* Create the device of guest `vm`, connected to hypervisor `hv`. NULL when out of memory. */
struct vmci_device *vmci_device_create(vmcisim_vm *vm, struct hv *hv);
/* Plug it into the hypervisor's context for the VM (hv_context_attach_device with the device's
 * port): from then on the hypervisor delivers to it. VMCI_SUCCESS or NOT_FOUND (no context). */
int vmci_device_attach(struct vmci_device *dev);
/* Free it (world teardown or after power off): its queue and timer go with it. */
void vmci_device_free(struct vmci_device *dev);

/* ---- guest side -------------------------------------------------------------------------- */
uint32_t vmci_device_caps(const struct vmci_device *dev);
uint32_t vmci_device_status(const struct vmci_device *dev);
/* Interrupt handler, run on vm->kworker. NULL uninstalls it. */
void vmci_device_set_isr(struct vmci_device *dev, void (*isr)(void *arg), void *arg);
/* Read and clear the interrupt cause register (VMCI_ICR_*). */
uint32_t vmci_device_read_icr(struct vmci_device *dev);
/* The hypercall: send dg (header + payload) to the hypervisor. Returns the hypervisor's result:
 * for routed datagrams the bytes sent or a VMCI error, for services their result.
 * DEVICE_NOT_FOUND once powered off; PAYLOAD_TOO_LARGE beyond VMCI_MAX_HYPERCALL_SIZE. */
int vmci_device_hypercall(struct vmci_device *dev, struct vmci_datagram *dg);
/* Take the oldest queued datagram (the caller frees it with free()); NULL when none. */
struct vmci_datagram *vmci_device_rx_pop(struct vmci_device *dev);
/* Take the lowest set doorbell notification bit; false when none is set. */
bool vmci_device_notify_pop(struct vmci_device *dev, uint32_t *idx);

/* ---- hypervisor side --------------------------------------------------------------------- */
/* Would a datagram of `size` bytes fit in the pending queue? (§5.3: queued + size must stay
 * below 139264 bytes, or 188416 for event datagrams from the hypervisor.) Returns
 * VMCI_SUCCESS or VMCI_ERROR_NO_RESOURCES. Bytes reserved for held datagrams count as queued. */
int vmci_device_rx_room(const struct vmci_device *dev, uint64_t size, bool is_event);
/* Reserve room for a datagram the hypervisor holds back (fault delays); same result codes. */
int vmci_device_rx_reserve(struct vmci_device *dev, uint64_t size, bool is_event);
void vmci_device_rx_unreserve(struct vmci_device *dev, uint64_t size);
/* Queue a copy of dg for the guest and raise the interrupt. `reserved`: room was reserved
 * with vmci_device_rx_reserve (no new check). Returns VMCI_SUCCESS, NO_RESOURCES (queue full:
 * dropped), NO_MEM, or DEVICE_NOT_FOUND once powered off. */
int vmci_device_rx_push(struct vmci_device *dev, const struct vmci_datagram *dg, bool reserved);
/* Set doorbell notification bit idx and raise the interrupt. */
int vmci_device_ring(struct vmci_device *dev, uint32_t idx);
void vmci_device_quiesce(struct vmci_device *dev);
void vmci_device_unquiesce(struct vmci_device *dev);
void vmci_device_set_ft(struct vmci_device *dev, bool on);
/* The VM is gone: drop the queue (each datagram a trace record), stop interrupts. */
void vmci_device_power_off(struct vmci_device *dev);

/* Introspection (tests, traces). */
uint64_t vmci_device_rx_bytes(const struct vmci_device *dev);    /* queued + reserved */
uint64_t vmci_device_rx_count(const struct vmci_device *dev);
uint64_t vmci_device_irq_count(const struct vmci_device *dev);   /* interrupts delivered */
vmcisim_vm *vmci_device_vm(const struct vmci_device *dev);

#endif
