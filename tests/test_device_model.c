/*
 * test_device_model.c - one VM's VMCI device: registers, the receive queue and its limits
 * (vmci-semantics.md §§1.6, 5.3), doorbell bits, interrupts on the VM's kernel worker,
 * quiesce while suspended (§6), the hypercall's size limits.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/vmci_device.h"
#include "guest/vmci_kapi.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "stackutil.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* settle, world_traced, finish_traced, count, log_cb, H, nop_cb, mkdg, send_dg */

static int count_cb(void *cd, struct vmci_datagram *dg)
{
    (void)dg;
    (*(int *)cd)++;
    return 0;
}

/* The device's registers as the driver reads them: capabilities, status (interrupts on; the
 * fault-tolerance bit follows the VM; quiesced while suspended). */
START_TEST(device_registers)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    ck_assert_ptr_nonnull(g->dev);
    ck_assert_ptr_eq(vmci_device_vm(g->dev), g);
    ck_assert_uint_eq(vmci_device_caps(g->dev), VMCI_CAPS_HYPERCALL | VMCI_CAPS_GUESTCALL |
                                                    VMCI_CAPS_DATAGRAM |
                                                    VMCI_CAPS_NOTIFICATIONS);
    ck_assert_uint_eq(vmci_device_status(g->dev), VMCI_STATUS_INT_ON);
    ck_assert_int_eq(vmcisim_vm_fault_tolerance(g, 1), 0);
    ck_assert_uint_eq(vmci_device_status(g->dev), VMCI_STATUS_INT_ON | VMCI_STATUS_FT);
    ck_assert_int_eq(vmcisim_vm_fault_tolerance(g, 0), 0);
    ck_assert_int_eq(vmcisim_vm_suspend(g), 0);
    ck_assert_uint_eq(vmci_device_status(g->dev), VMCI_STATUS_INT_ON | VMCI_STATUS_QUIESCED);
    ck_assert_int_eq(vmcisim_vm_resume(g), 0);
    ck_assert_uint_eq(vmci_device_status(g->dev), VMCI_STATUS_INT_ON);
    ck_assert_ptr_null(vmcisim_host(sim)->dev); /* the host endpoint has no device */
    ck_assert_int_eq(vmcisim_vm_power_off(g), 0);
    ck_assert_ptr_null(g->dev);
    vmcisim_destroy(sim);
}
END_TEST

/* §1.6/§5.3 at the device: a datagram is refused when queued + size reaches 139264; an event
 * datagram (from (0, 0)) only when it reaches 188416. Room reserved for held datagrams counts. */
START_TEST(device_pending_limit_boundaries)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_device *d = g->dev;
    ck_assert_int_eq(vmci_device_rx_reserve(d, 139240, false), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_device_rx_room(d, 23, false), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_device_rx_room(d, 24, false), VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(vmci_device_rx_room(d, 24, true), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_device_rx_room(d, 188416 - 139240 - 1, true), VMCI_SUCCESS);
    ck_assert_int_eq(vmci_device_rx_room(d, 188416 - 139240, true), VMCI_ERROR_NO_RESOURCES);
    struct vmci_datagram ev = {{3, 0}, {0, 0}, 0};
    struct vmci_datagram app = {{3, 1024}, {2, 1500}, 0};
    ck_assert_int_eq(vmci_device_rx_push(d, &app, false), VMCI_ERROR_NO_RESOURCES);
    ck_assert_int_eq(vmci_device_rx_push(d, &ev, false), VMCI_SUCCESS);
    ck_assert_uint_eq(vmci_device_rx_bytes(d), 139240 + 24);
    ck_assert_uint_eq(vmci_device_rx_count(d), 1);
    vmci_device_rx_unreserve(d, 139240);
    ck_assert_int_eq(vmci_device_rx_push(d, &app, false), VMCI_SUCCESS);
    ck_assert_uint_eq(vmci_device_rx_bytes(d), 48);
    vmcisim_destroy(sim);
}
END_TEST

/* The receive queue is FIFO; doorbell bits come lowest first and a bit rung twice is one. */
START_TEST(device_fifo_and_doorbell_bits)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_device *d = g->dev;
    vmci_device_set_isr(d, NULL, NULL); /* take the device from the driver for this test */
    for (uint32_t i = 0; i < 5; i++) {
        struct vmci_datagram dg = {{3, 2000 + i}, {2, 1}, 0};
        ck_assert_int_eq(vmci_device_rx_push(d, &dg, false), 0);
    }
    for (uint32_t i = 0; i < 5; i++) {
        struct vmci_datagram *dg = vmci_device_rx_pop(d);
        ck_assert_ptr_nonnull(dg);
        ck_assert_uint_eq(dg->dst.resource, 2000 + i);
        free(dg);
    }
    ck_assert_ptr_null(vmci_device_rx_pop(d));
    ck_assert_int_eq(vmci_device_ring(d, 40), 0);
    ck_assert_int_eq(vmci_device_ring(d, 3), 0);
    ck_assert_int_eq(vmci_device_ring(d, 40), 0);
    uint32_t idx;
    ck_assert(vmci_device_notify_pop(d, &idx));
    ck_assert_uint_eq(idx, 3);
    ck_assert(vmci_device_notify_pop(d, &idx));
    ck_assert_uint_eq(idx, 40);
    ck_assert(!vmci_device_notify_pop(d, &idx));
    ck_assert_uint_eq(vmci_device_read_icr(d), VMCI_ICR_DATAGRAM | VMCI_ICR_NOTIFICATION);
    ck_assert_uint_eq(vmci_device_read_icr(d), 0);
    vmcisim_destroy(sim);
}
END_TEST

/* The interrupt: datagrams queued before the VM's kernel worker runs are taken in one
 * interrupt; none is raised while quiesced; unquiescing raises one for what waited. */
START_TEST(device_interrupts_coalesce_and_wait_while_quiesced)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    int got = 0;
    vmci_handle gh, hh;
    ck_assert_int_eq(vmci_datagram_create_handle(g, VMCI_INVALID_ID, 0, 0, count_cb, &got, &gh), 0);
    ck_assert_int_eq(vmci_datagram_create_handle(vmcisim_host(sim), 1500, 0, 0, count_cb, NULL,
                                                 &hh), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(send_dg(vmcisim_host(sim), gh, hh, 1, 0), 25);
    settle(sim);
    ck_assert_int_eq(got, 4);
    ck_assert_uint_eq(vmci_device_irq_count(g->dev), 1);
    ck_assert_int_eq(vmcisim_vm_suspend(g), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(send_dg(vmcisim_host(sim), gh, hh, 1, 0), 25);
    settle(sim);
    ck_assert_int_eq(got, 4);
    ck_assert_uint_eq(vmci_device_irq_count(g->dev), 1);
    ck_assert_int_eq(vmcisim_vm_resume(g), 0);
    settle(sim);
    ck_assert_int_eq(got, 7);
    ck_assert_uint_eq(vmci_device_irq_count(g->dev), 2);
    vmcisim_destroy(sim);
}
END_TEST

/* The hypercall: beyond the device's buffer (1 MiB) PAYLOAD_TOO_LARGE; a routed datagram past
 * the routable maximum, sent straight to the device, is INVALID_ARGS from the hypervisor. */
START_TEST(device_hypercall_size_limits)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    struct vmci_datagram dg = {{0, VMCI_GET_CONTEXT_ID}, VMCI_INVALID_HANDLE, 0};
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &dg), 3);
    dg.payload_size = VMCI_MAX_HYPERCALL_SIZE;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &dg), VMCI_ERROR_PAYLOAD_TOO_LARGE);
    dg.payload_size = UINT64_MAX;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, &dg), VMCI_ERROR_PAYLOAD_TOO_LARGE);
    struct vmci_datagram *big = calloc(1, sizeof *big + VMCI_MAX_DG_SIZE);
    big->dst = vmci_make_handle(2, 1500);
    big->src = vmci_make_handle(3, 1024);
    big->payload_size = VMCI_MAX_DG_SIZE - 23;
    ck_assert_int_eq(vmci_device_hypercall(g->dev, big), VMCI_ERROR_INVALID_ARGS);
    free(big);
    ck_assert_int_eq(vmci_device_hypercall(g->dev, NULL), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(vmci_device_hypercall(NULL, &dg), VMCI_ERROR_DEVICE_NOT_FOUND);
    vmcisim_destroy(sim);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("device_model");
    TCase *tc = tcase_create("device");
    tcase_add_test(tc, device_registers);
    tcase_add_test(tc, device_pending_limit_boundaries);
    tcase_add_test(tc, device_fifo_and_doorbell_bits);
    tcase_add_test(tc, device_interrupts_coalesce_and_wait_while_quiesced);
    tcase_add_test(tc, device_hypercall_size_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
