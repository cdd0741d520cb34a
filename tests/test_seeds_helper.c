/*
 * test_seeds_helper.c - the C test helper (vmcisim_test.h): vmcisim_test_seeds over N seeds,
 * its environment (VMCISIM_SEED, VMCISIM_TEST_NUM, VMCISIM_TEST_CHECK, VMCISIM_TRACE), the
 * report of the first failing seed, VMCISIM_ASSERT naming the seed, and named events
 * (vmcisim_mark / vmcisim_wait_mark, the C form of the scenario language's mark and wait,
 * docs/scenarios.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vmcisim/vmcisim_test.h"

/* ---- named events -------------------------------------------------------------------------- */

struct order {
    char log[64];
    uint64_t woke_at;
};

static void waiter(void *arg)
{
    struct order *o = arg;
    strcat(o->log, "w0 ");
    ck_assert_int_eq(vmcisim_wait_mark("ready"), 0);
    o->woke_at = vmcisim_now(vmcisim_self_world());
    strcat(o->log, "w1 ");
}

static void marker(void *arg)
{
    struct order *o = arg;
    vmcisim_sleep(1000000);   /* 1 ms */
    strcat(o->log, "m ");
    ck_assert_int_eq(vmcisim_mark(NULL, "ready"), 0);
}

START_TEST(wait_mark_blocks_until_marked)
{
    vmcisim *sim = tu_world((uint64_t)_i + 1);
    struct order o = {{0}, 0};
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "waiter", waiter, &o), 0);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "marker", marker, &o), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    ck_assert_str_eq(o.log, "w0 m w1 ");
    ck_assert_uint_eq(o.woke_at, 1000000);
    vmcisim_destroy(sim);
}
END_TEST

static void late_waiter(void *arg)
{
    struct order *o = arg;
    ck_assert_int_eq(vmcisim_wait_mark("early"), 0);   /* already set: returns at once */
    o->woke_at = vmcisim_now(vmcisim_self_world());
}

START_TEST(a_mark_set_before_the_run_stays_set)
{
    vmcisim *sim = tu_world(1);
    struct order o = {{0}, 99};
    ck_assert_int_eq(vmcisim_mark(sim, "early"), 0);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "late", late_waiter, &o), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    ck_assert_uint_eq(o.woke_at, 0);
    vmcisim_destroy(sim);
}
END_TEST

static void forever(void *arg)
{
    (void)arg;
    vmcisim_wait_mark("never");
}

START_TEST(a_wait_that_cannot_end_is_a_deadlock_naming_the_event)
{
    vmcisim *sim = tu_world(3);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "stuck", forever, NULL), 0);
    ck_assert_int_eq(vmcisim_run(sim), -1);
    ck_assert_ptr_nonnull(strstr(vmcisim_error(sim), "thread 'stuck' of VM 'host' (cid 2) waits for mark 'never'"));
    vmcisim_destroy(sim);
}
END_TEST

START_TEST(mark_and_wait_errors)
{
    errno = 0;
    ck_assert_int_eq(vmcisim_mark(NULL, "x"), -1);   /* no world: not a simulated thread */
    ck_assert_int_eq(errno, EINVAL);
    vmcisim *sim = tu_world(1);
    errno = 0;
    ck_assert_int_eq(vmcisim_mark(sim, ""), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(vmcisim_mark(sim, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    errno = 0;
    ck_assert_int_eq(vmcisim_mark(sim, longname), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(vmcisim_wait_mark("x"), -1);    /* the main thread cannot wait */
    ck_assert_int_eq(errno, EPERM);
    vmcisim_destroy(sim);
}
END_TEST

/* ---- vmcisim_test_seeds -------------------------------------------------------------------- */

struct sweep {
    int builds;
    uint64_t fail_seed;   /* 0: none fails */
};

static void client(void *arg)
{
    struct sweep *sw = arg;
    vmcisim_sleep(1000 * (vmcisim_test_current_seed() % 7));
    VMCISIM_ASSERT(vmcisim_test_current_seed() != sw->fail_seed);
}

static int build(vmcisim *sim, void *arg)
{
    struct sweep *sw = arg;
    sw->builds++;
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", 0xFFFFFFFF);
    return g && vmcisim_spawn(g, "client", client, sw) == 0 ? 0 : -1;
}

/* Runs fn with stderr sent to a file; returns what it wrote (static buffer). */
static const char *captured_stderr(int (*fn)(struct sweep *), struct sweep *sw, int *rc)
{
    static char buf[8192];
    char path[] = "/tmp/vmcisim_seeds_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    *rc = fn(sw);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return buf;
}

static int sweep10(struct sweep *sw) { return vmcisim_test_seeds(build, sw, 10); }

START_TEST(every_seed_passes)
{
    unsetenv("VMCISIM_SEED");
    unsetenv("VMCISIM_TEST_NUM");
    struct sweep sw = {0, 0};
    ck_assert_int_eq(vmcisim_test_seeds(build, &sw, 20), 0);
    ck_assert_int_eq(sw.builds, 20);
    setenv("VMCISIM_TEST_CHECK", "1", 1);   /* each seed twice, same hash */
    sw.builds = 0;
    ck_assert_int_eq(vmcisim_test_seeds(build, &sw, 5), 0);
    ck_assert_int_eq(sw.builds, 10);
    unsetenv("VMCISIM_TEST_CHECK");
    errno = 0;
    ck_assert_int_eq(vmcisim_test_seeds(NULL, &sw, 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(vmcisim_test_seeds(build, &sw, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(the_first_failing_seed_is_named_with_its_replay_line)
{
    unsetenv("VMCISIM_SEED");
    unsetenv("VMCISIM_TEST_NUM");
    struct sweep sw = {0, 7};
    int rc;
    const char *err = captured_stderr(sweep10, &sw, &rc);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(sw.builds, 7);   /* seeds 1..7: the sweep stops at the first failure */
    ck_assert_msg(strstr(err, "vmcisim: assertion failed at ") &&
                      strstr(err, ": vmcisim_test_current_seed() != sw->fail_seed (seed=7, "
                                  "thread 'client')\n"),
                  "got: %s", err);
    ck_assert_msg(strstr(err, "vmcisim: FAIL seed=7 hash=") &&
                      strstr(err, " assertion failed at "),
                  "got: %s", err);
    ck_assert_msg(strstr(err, "vmcisim: replay: VMCISIM_SEED=7 "), "got: %s", err);
}
END_TEST

START_TEST(the_environment_picks_seeds_and_files)
{
    struct sweep sw = {0, 7};
    int rc;
    setenv("VMCISIM_SEED", "7", 1);   /* the replay: seed 7 only */
    captured_stderr(sweep10, &sw, &rc);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(sw.builds, 1);
    setenv("VMCISIM_SEED", "8", 1);
    sw.builds = 0;
    captured_stderr(sweep10, &sw, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(sw.builds, 1);
    unsetenv("VMCISIM_SEED");
    setenv("VMCISIM_TEST_NUM", "3", 1);   /* fewer seeds than the call asks */
    sw.builds = 0;
    captured_stderr(sweep10, &sw, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(sw.builds, 3);
    unsetenv("VMCISIM_TEST_NUM");
    /* a trace file only for the failing seed */
    char trace[] = "/tmp/vmcisim_seed_trace_XXXXXX";
    int fd = mkstemp(trace);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("VMCISIM_TRACE", trace, 1);
    sw.builds = 0;
    captured_stderr(sweep10, &sw, &rc);
    unsetenv("VMCISIM_TRACE");
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(sw.builds, 8);   /* seeds 1..7, then seed 7 again with its trace */
    FILE *f = fopen(trace, "r");
    ck_assert_ptr_nonnull(f);
    char line[512], all[65536] = "";
    while (fgets(line, sizeof line, f) && strlen(all) + strlen(line) < sizeof all)
        strcat(all, line);
    fclose(f);
    unlink(trace);
    ck_assert_msg(strstr(all, "world seed=7 "), "trace: %.300s", all);
    ck_assert_msg(strstr(all, " assert-fail at="), "trace: %.300s", all);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seeds_helper");
    TCase *tc = tcase_create("marks");
    tcase_add_loop_test(tc, wait_mark_blocks_until_marked, 0, 5);
    tcase_add_test(tc, a_mark_set_before_the_run_stays_set);
    tcase_add_test(tc, a_wait_that_cannot_end_is_a_deadlock_naming_the_event);
    tcase_add_test(tc, mark_and_wait_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("seeds");
    tcase_add_test(tc, every_seed_passes);
    tcase_add_test(tc, the_first_failing_seed_is_named_with_its_replay_line);
    tcase_add_test(tc, the_environment_picks_seeds_and_files);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
