/*
 * test_sock_redirect.c - the socket core's hook for stream requests that reach a port where
 * nothing listens (src/sock/sock_redirect.h), which the hybrid-vsock bridge uses for a guest's
 * connects to PATH_P (docs/bridge.md §3, formats.md §2.1). Without the bridge: a hook that names
 * a listener takes the connection, and the peer's view is unchanged (it is connected to the
 * port it asked for); a hook that declines leaves the reset of vmci-semantics.md §2.5
 * (ECONNRESET); a listener on the port always wins. Deterministic over seeds, with equal hashes
 * for equal seeds, and once in realtime mode.
 */
#include <stdlib.h>

#include "sock/sock_redirect.h"
#include "sockutil.h"

struct rd {
    int listening;
    int calls;                   /* hook calls (under the world lock) */
    uint32_t last_port, last_src_cid;
    uint32_t target;             /* the listener's port the hook names for port 77 */
    vmcisim_vm *host;
    int wrong_vm;
    uint64_t seed;
};

static uint32_t hook(void *arg, vmcisim_vm *vm, uint32_t port, uint32_t src_cid,
                     uint32_t src_port)
{
    struct rd *r = arg;
    (void)src_port;
    r->calls++;
    r->last_port = port;
    r->last_src_cid = src_cid;
    if (vm != r->host)
        r->wrong_vm = 1;
    return port == 77 ? r->target : VMADDR_PORT_ANY;
}

static void server(void *arg)
{
    struct rd *r = arg;
    int l = su_listen(5000, 8);
    int direct = su_listen(78, 8);   /* bound at 78 but never accepted from: no hook then */
    (void)direct;
    su_set(&r->listening, 1);
    int c = su_accept(l);
    struct sockaddr_vm a;
    socklen_t len = sizeof a;
    /* the accepted socket keeps the port the peer asked for */
    ck_assert_int_eq(vmci_getsockname(c, (struct sockaddr *)&a, &len), 0);
    ck_assert_uint_eq(a.svm_cid, VMADDR_CID_HOST);
    ck_assert_uint_eq(a.svm_port, 77);
    len = sizeof a;
    ck_assert_int_eq(vmci_getpeername(c, (struct sockaddr *)&a, &len), 0);
    ck_assert_uint_eq(a.svm_cid, GUEST_CID);
    char b[2];
    su_recv_exact(c, b, 2);
    ck_assert_int_eq(memcmp(b, "hi", 2), 0);
    su_send_all(c, "yo", 2);
    char e;
    ck_assert_int_eq(vmci_recv(c, &e, 1, 0), 0);   /* the guest's close: EOF */
    vmci_close(c);
    /* the listener at 78 took the guest's request itself: accept it, and close only after
     * the guest (a close during its handshake would reset its connect, §2.5) */
    c = su_accept(direct);
    ck_assert_int_eq(vmci_recv(c, &e, 1, 0), 0);
    vmci_close(c);
    vmci_close(l);
}

static void client(void *arg)
{
    struct rd *r = arg;
    su_wait(&r->listening, 1);
    int s = su_connect(VMADDR_CID_HOST, 77);
    ck_assert_int_ge(s, 0);
    struct sockaddr_vm a;
    socklen_t len = sizeof a;
    ck_assert_int_eq(vmci_getpeername(s, (struct sockaddr *)&a, &len), 0);
    ck_assert_uint_eq(a.svm_cid, VMADDR_CID_HOST);
    ck_assert_uint_eq(a.svm_port, 77);
    su_send_all(s, "hi", 2);
    char b[2];
    su_recv_exact(s, b, 2);
    ck_assert_int_eq(memcmp(b, "yo", 2), 0);
    vmci_close(s);
    ck_assert_int_eq(r->calls, 1);
    ck_assert_uint_eq(r->last_port, 77);
    ck_assert_uint_eq(r->last_src_cid, GUEST_CID);
    /* declined: the reset of §2.5 */
    ck_assert_int_eq(su_connect(VMADDR_CID_HOST, 79), -ECONNRESET);
    ck_assert_int_eq(r->calls, 2);
    ck_assert_uint_eq(r->last_port, 79);
    /* a socket bound at the port answers before any hook is asked */
    s = su_connect(VMADDR_CID_HOST, 78);
    ck_assert_msg(s >= 0, "seed %llu: connect to the listener at 78: %s",
                  (unsigned long long)r->seed, strerror(-s));
    vmci_close(s);
    ck_assert_int_eq(r->calls, 2);
}

static uint64_t run_world(uint64_t seed, int realtime)
{
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    struct rd *r = calloc(1, sizeof *r);
    r->host = vmcisim_host(sim);
    r->target = 5000;
    r->seed = seed;
    ck_assert_int_eq(vsock_redirect_add(sim, r->host, hook, r), 0);
    ck_assert_int_eq(vmcisim_spawn_root(r->host, "server", server, r), 0); /* port 78 < 1024 */
    ck_assert_int_eq(vmcisim_spawn(g, "client", client, r), 0);
    ck_assert_msg(vmcisim_run(sim) == 0, "seed %llu: %s", (unsigned long long)seed,
                  vmcisim_error(sim));
    ck_assert_int_eq(r->calls, 2);
    ck_assert_int_eq(r->wrong_vm, 0);
    uint64_t h = vmcisim_trace_hash(sim);
    vmcisim_destroy(sim);
    free(r);
    return h;
}

START_TEST(hook_takes_declines_and_yields_to_listeners)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t h1 = run_world(seed, 0);
        ck_assert_uint_eq(run_world(seed, 0), h1);
    }
}
END_TEST

START_TEST(hook_in_realtime)
{
    run_world(1, 1);
}
END_TEST

START_TEST(registration_limits)
{
    vmcisim *sim = tu_world(1);
    vmcisim_vm *host = vmcisim_host(sim);
    struct rd r = {0};
    for (int i = 0; i < VSOCK_MAX_REDIRECTS; i++)
        ck_assert_int_eq(vsock_redirect_add(sim, host, hook, &r), 0);
    EXPECT_ERR(vsock_redirect_add(sim, host, hook, &r), ENOSPC);
    vsock_redirect_remove(sim, hook, &r);
    ck_assert_int_eq(vsock_redirect_add(sim, host, hook, &r), 0);
    EXPECT_ERR(vsock_redirect_add(sim, NULL, hook, &r), EINVAL);
    EXPECT_ERR(vsock_redirect_add(NULL, host, hook, &r), EINVAL);
    vmcisim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sock_redirect");
    TCase *tc = tcase_create("deterministic");
    tcase_add_test(tc, hook_takes_declines_and_yields_to_listeners);
    tcase_add_test(tc, registration_limits);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, hook_in_realtime);
    suite_add_tcase(s, rt);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
