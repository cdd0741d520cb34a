/*
 * test_byop.c - bring your own program (docs/bring-your-own-program.md, api-contract "Simulated
 * processes that behave like real ones"): tests/byop/vecho.c, an ordinary Linux vsock program
 * compiled unmodified with -Dmain=vecho_main, runs as a server process on the host and as four
 * client processes in two guests, started with vmcisim_spawn_main; every exit status is 0, and
 * the same seed gives the same trace, over 20 seeds; also in realtime mode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

int vecho_main(int argc, char **argv);

#define PORT "5151"

static uint64_t run_world(uint64_t seed, int realtime)
{
    struct vmcisim_config cfg = {.seed = seed, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *g1 = vmcisim_vm_create(sim, "g1", 0xFFFFFFFF);
    vmcisim_vm *g2 = vmcisim_vm_create(sim, "g2", 0xFFFFFFFF);
    ck_assert_ptr_nonnull(g1);
    ck_assert_ptr_nonnull(g2);
    char *srv[] = {"vecho", "-l", PORT, "4", NULL};
    vmcisim_proc *ps = vmcisim_spawn_main(vmcisim_host(sim), "server", vecho_main, 4, srv);
    ck_assert_ptr_nonnull(ps);
    vmcisim_proc *pc[4];
    const char *texts[4] = {"one", "two two", "three three three", "four"};
    for (int i = 0; i < 4; i++) {
        char *cli[] = {"vecho", "2", PORT, (char *)texts[i], NULL};
        pc[i] = vmcisim_spawn_main(i % 2 ? g2 : g1, "client", vecho_main, 4, cli);
        ck_assert_ptr_nonnull(pc[i]);
    }
    ck_assert_msg(vmcisim_run(sim) == 0, "seed %llu: %s", (unsigned long long)seed,
                  vmcisim_error(sim));
    int st = -1;
    ck_assert_int_eq(vmcisim_proc_status(ps, &st), 0);
    ck_assert_msg(st == 0, "seed %llu: server exited %d", (unsigned long long)seed, st);
    for (int i = 0; i < 4; i++) {
        st = -1;
        ck_assert_int_eq(vmcisim_proc_status(pc[i], &st), 0);
        ck_assert_msg(st == 0, "seed %llu: client %d exited %d", (unsigned long long)seed, i, st);
    }
    uint64_t h = vmcisim_trace_hash(sim);
    vmcisim_destroy(sim);
    return h;
}

START_TEST(unmodified_program_host_and_guests_deterministic)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t a = run_world(seed, 0), b = run_world(seed, 0);
        ck_assert_msg(a == b, "seed %llu: the same seed gave two traces", (unsigned long long)seed);
    }
}
END_TEST

START_TEST(unmodified_program_host_and_guests_realtime)
{
    run_world(1, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("byop");
    TCase *tc = tcase_create("deterministic");
    tcase_add_test(tc, unmodified_program_host_and_guests_deterministic);
    suite_add_tcase(s, tc);
    tc = tcase_create("realtime");
    tcase_add_test(tc, unmodified_program_host_and_guests_realtime);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
