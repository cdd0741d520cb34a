/*
 * test_cost.c - the cost model (issue 15 item 5, docs/finding-bugs.md, src/sim/cost.c): a
 * transfer takes exactly the simulated time the model gives, in the trace's times and in the
 * packet observer's (pcap) timestamps; datagram and notification latency; zero is the old world.
 */
#include <stdlib.h>

#include "scenario/scenario.h"
#include "sockutil.h"

#ifndef VMCISIM_SOURCE_DIR
#define VMCISIM_SOURCE_DIR "."
#endif

#define XFER (64u << 20)        /* 64 MiB */
#define CHUNK (1u << 20)

struct xfer {
    int listening;
    uint64_t t_first_send, t_last_byte, received;
    uint64_t last_payload_ns, payload_bytes;
};

static void observer(void *ctx, const struct vmcisim_packet *pkt)
{
    struct xfer *x = ctx;
    if (pkt->op == VMCISIM_PKT_PAYLOAD && pkt->sock_type == 1) {
        x->last_payload_ns = pkt->time_ns;
        x->payload_bytes += pkt->payload_len;
    }
}

static void writer(void *arg)
{
    struct xfer *x = arg;
    int l = su_listen(TEST_PORT, 1);
    x->listening = 1;
    int c = su_accept(l);
    char *buf = calloc(1, CHUNK);
    x->t_first_send = vmcisim_now(vmcisim_self_world());
    for (unsigned i = 0; i < XFER / CHUNK; i++)
        ck_assert_int_eq(vmci_send(c, buf, CHUNK, 0), (long)CHUNK);
    free(buf);
    vmci_close(c);
    vmci_close(l);
}

static void reader(void *arg)
{
    struct xfer *x = arg;
    while (!x->listening)
        vmcisim_yield();
    int s = su_connect(2u, TEST_PORT);
    ck_assert_int_ge(s, 0);
    char *buf = malloc(65536);
    long n;
    while ((n = vmci_recv(s, buf, 65536, 0)) > 0) {
        x->received += (uint64_t)n;
        if (x->received == XFER)
            x->t_last_byte = vmcisim_now(vmcisim_self_world());
    }
    ck_assert_int_eq(n, 0);
    free(buf);
    vmci_close(s);
}

static void transfer(uint64_t seed, const struct vmcisim_cost *cost, struct xfer *x)
{
    memset(x, 0, sizeof *x);
    struct vmcisim_config cfg = {.seed = seed, .cost = cost};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_set_packet_observer(sim, observer, x);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", GUEST_CID);
    ck_assert_int_eq(vmcisim_spawn_root(vmcisim_host(sim), "writer", writer, x), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "reader", reader, x), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    vmcisim_destroy(sim);
    ck_assert_uint_eq(x->received, XFER);
}

/* 64 MiB at 276 ps per byte (the 29 Gbit/s of VMware's "VMCI Socket Performance"):
 * floor(67108864 * 276 / 1000) = 18522046 ns from the first send to the last byte, whatever
 * the seed; the last payload packet the capture sees carries that time too. */
START_TEST(transfer_of_64_mib_takes_the_modelled_time)
{
    const struct vmcisim_cost cost = {.qp_byte_ps = 276};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct xfer x;
        transfer(seed, &cost, &x);
        ck_assert_uint_eq(x.t_last_byte - x.t_first_send, 18522046ull);
        ck_assert_uint_eq(x.last_payload_ns, x.t_last_byte);
        ck_assert_uint_eq(x.payload_bytes, XFER);
    }
}
END_TEST

START_TEST(zero_cost_moves_data_in_no_time)
{
    struct xfer x;
    const struct vmcisim_cost none = {0};
    transfer(1, &none, &x);
    ck_assert_uint_eq(x.t_last_byte, x.t_first_send);
    /* the same world with no cost given at all gives the same trace */
    struct vmcisim_config a = {.seed = 9}, b = {.seed = 9, .cost = &none};
    vmcisim *sa = vmcisim_create(&a), *sb = vmcisim_create(&b);
    ck_assert_uint_eq(vmcisim_trace_hash(sa), vmcisim_trace_hash(sb));
    ck_assert_uint_eq(vmcisim_trace_count(sa), vmcisim_trace_count(sb));
    vmcisim_destroy(sa);
    vmcisim_destroy(sb);
}
END_TEST

START_TEST(cost_is_copied_and_readable)
{
    struct vmcisim_cost c = VMCISIM_COST_PUBLISHED, got;
    struct vmcisim_config cfg = {.seed = 1, .cost = &c};
    vmcisim *sim = vmcisim_create(&cfg);
    c.qp_byte_ps = 1; /* the world kept its own copy */
    vmcisim_get_cost(sim, &got);
    ck_assert_uint_eq(got.qp_byte_ps, 276);
    ck_assert_uint_eq(got.dgram_ns, 10000);
    ck_assert_uint_eq(got.notify_ns, 5000);
    ck_assert_uint_eq(got.hypercall_ns, 1000);
    ck_assert_int_eq(vmcisim_set_cost(sim, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    vmcisim_destroy(sim);
}
END_TEST

/* A datagram from a guest to the host arrives dgram_ns after it was sent (plus nothing else:
 * the hypercall's own cost is the sender's, paid after the send). */
struct dg {
    int bound;
    uint64_t t_sent, t_recv;
};

static void dg_server(void *arg)
{
    struct dg *d = arg;
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    d->bound = 1;
    char b[8];
    ck_assert_int_eq(vmci_recv(fd, b, sizeof b, 0), 4);
    d->t_recv = vmcisim_now(vmcisim_self_world());
    vmci_close(fd);
}

static void dg_client(void *arg)
{
    struct dg *d = arg;
    while (!d->bound)
        vmcisim_yield();
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm a = su_addr(2u, TEST_PORT);
    d->t_sent = vmcisim_now(vmcisim_self_world());
    ck_assert_int_eq(vmci_sendto(fd, "ping", 4, 0, (struct sockaddr *)&a, sizeof a), 4);
    vmci_close(fd);
}

START_TEST(datagram_arrives_after_its_latency)
{
    const struct vmcisim_cost cost = {.dgram_ns = 7000, .notify_ns = 100000};
    struct dg d = {0};
    struct vmcisim_config cfg = {.seed = 4, .cost = &cost};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", GUEST_CID);
    ck_assert_int_eq(vmcisim_spawn_root(vmcisim_host(sim), "srv", dg_server, &d), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "cli", dg_client, &d), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    vmcisim_destroy(sim);
    /* an application datagram is no notification: dgram_ns only */
    ck_assert_uint_eq(d.t_recv - d.t_sent, 7000);
}
END_TEST

/* The shipped scenario: a 2 s SO_RCVTIMEO fires while the first queue's worth is still being
 * copied (vmci-semantics.md §2.8: a timed-out read gives EAGAIN). */
START_TEST(shipped_slow_transfer_scenario_shows_the_timeout)
{
    char err[1024];
    struct scen_script *s =
        scen_load(VMCISIM_SOURCE_DIR "/scenarios/slow_transfer.vmcis", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct scen_result *r = malloc(sizeof *r);
        struct scen_run_opts o = {.seed = seed};
        ck_assert_msg(scen_run(s, &o, r) == SCEN_PASS, "%s", r->message);
        free(r);
    }
    scen_script_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cost");
    TCase *tc = tcase_create("deterministic");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, transfer_of_64_mib_takes_the_modelled_time);
    tcase_add_test(tc, zero_cost_moves_data_in_no_time);
    tcase_add_test(tc, cost_is_copied_and_readable);
    tcase_add_test(tc, datagram_arrives_after_its_latency);
    tcase_add_test(tc, shipped_slow_transfer_scenario_shows_the_timeout);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
