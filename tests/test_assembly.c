/*
 * test_assembly.c - how a world is stacked (issue 10): layers find their own state through the
 * runtime's registration (sim_layer_find), the sockets layer serves a socket type only through
 * a transport registered for it (as Linux's vsock_core_register: one transport per type), and
 * a world without the sockets layer has none.
 */
#include <errno.h>

#include "assemble.h"
#include "hypervisor/hv.h"
#include "sim/sim.h"
#include "sock/vmci_transport.h"
#include "sock/vsock.h"
#include "testutil.h"

START_TEST(layers_are_found_by_their_registration)
{
    vmcisim *sim = tu_world(1);
    struct hv *hv = hv_of(sim);
    struct sock_world *sw = sock_of(sim);
    ck_assert_ptr_nonnull(hv);
    ck_assert_ptr_nonnull(sw);
    ck_assert_ptr_eq(sw->sim, sim);
    /* the hypervisor owns CID 0 and knows the host (CID 2) it was stacked under */
    ck_assert(hv_context_exists(hv, VMCISIM_HOST_CID));
    vmcisim_destroy(sim);

    sim = tu_world_stack(1);
    ck_assert_ptr_nonnull(hv_of(sim));
    ck_assert_ptr_null(sock_of(sim));   /* the stack alone: no sockets layer */
    vmcisim_destroy(sim);
}
END_TEST

/* Linux vsock_core_register: a second transport for a type that has one is refused with
 * EBUSY; a registration that offers nothing is EINVAL. */
START_TEST(one_transport_per_socket_type)
{
    vmcisim *sim = tu_world(2);
    struct sock_world *sw = sock_of(sim);
    ck_assert_ptr_eq(sw->stream, &vmci_stream_transport);
    ck_assert_ptr_eq(sw->dgram, &vmci_dgram_transport);
    ck_assert_uint_eq(sw->ntransports, 2);
    ck_assert_int_eq(vsock_core_register(sw, &vmci_stream_transport, VSOCK_TRANSPORT_F_STREAM),
                     -EBUSY);
    ck_assert_int_eq(vsock_core_register(sw, &vmci_dgram_transport, VSOCK_TRANSPORT_F_DGRAM),
                     -EBUSY);
    ck_assert_int_eq(vsock_core_register(sw, &vmci_dgram_transport, 0), -EINVAL);
    ck_assert_int_eq(vsock_core_register(sw, NULL, VSOCK_TRANSPORT_F_DGRAM), -EINVAL);
    ck_assert_uint_eq(sw->ntransports, 2);
    /* the host's context got the stream transport's per-context state (its control handle) */
    struct vsock_ctx *host = vsock_ctx_of(sw, vmcisim_host(sim));
    ck_assert_ptr_nonnull(host);
    ck_assert_ptr_nonnull(host->trans_state[0]);
    ck_assert_ptr_null(host->trans_state[1]);   /* datagrams keep no per-context state */
    /* the local CID comes from the transport: the host is CID 2 (§1.1) */
    ck_assert_uint_eq(vsock_local_cid(sw, vmcisim_host(sim)), VMCISIM_HOST_CID);
    vmcisim_destroy(sim);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("assembly");
    TCase *tc = tcase_create("assembly");
    tcase_add_test(tc, layers_are_found_by_their_registration);
    tcase_add_test(tc, one_transport_per_socket_type);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
