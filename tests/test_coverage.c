/*
 * test_coverage.c - coverage assertions (issue 15 item 4, docs/finding-bugs.md): the program
 * API (vmcisim_always/sometimes/reachable), the stack's own hard-path points, `check always` /
 * `check sometimes` in scenarios, and the sweep report that flags points never hit.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"
#include "testutil.h"

#ifndef VMCISIM_SOURCE_DIR
#define VMCISIM_SOURCE_DIR "."
#endif

/* The stack's points, in the order coverage.c declares them. */
static const char *const stack_names[] = {
    "vsock.connect.fallback-to-request", "vsock.listen.pending-timeout",
    "vsock.listen.backlog-full",         "vsock.stream.rst-on-half-open",
    "vsock.stream.peer-reset",           "vsock.stream.queue-full",
    "hv.dgram.queue-full",               "vsock.stream.dequeue-within-request",
};
#define NSTACK (sizeof stack_names / sizeof stack_names[0])

static const struct vmcisim_cov_point *find_point(const struct vmcisim_cov_point *v, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static void asserting_proc(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++)
        vmcisim_sometimes(i == 3, "user.fourth-round");
    ck_assert_int_eq(vmcisim_sometimes(0, "user.never"), 0);
    vmcisim_reachable("user.reached");
    vmcisim_reachable("user.reached");
    ck_assert_int_eq(vmcisim_always(1, "user.invariant"), 1);
    vmcisim_sleep(1000);
    ck_assert_int_eq(vmcisim_always(0, "user.invariant"), 0);
    vmcisim_always(0, "user.second-failure");
}

START_TEST(program_assertions_count_exactly)
{
    vmcisim *sim = tu_world(7);
    struct vmcisim_cov_point pts[32];
    /* before anything ran: the stack's points only, none hit */
    ck_assert_uint_eq(vmcisim_coverage(sim, pts, 32), NSTACK);
    for (size_t i = 0; i < NSTACK; i++) {
        ck_assert_str_eq(pts[i].name, stack_names[i]);
        ck_assert_uint_eq(pts[i].evals, 0);
        ck_assert_uint_eq(pts[i].hits, 0);
    }
    ck_assert_ptr_null(vmcisim_always_failed(sim, NULL));
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "asserter", asserting_proc, NULL), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    size_t n = vmcisim_coverage(sim, pts, 32);
    ck_assert_uint_eq(n, NSTACK + 5);
    const struct vmcisim_cov_point *p = find_point(pts, n, "user.fourth-round");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->kind, VMCISIM_COV_SOMETIMES);
    ck_assert_uint_eq(p->evals, 5);
    ck_assert_uint_eq(p->hits, 1);
    p = find_point(pts, n, "user.never");
    ck_assert_uint_eq(p->evals, 1);
    ck_assert_uint_eq(p->hits, 0);
    p = find_point(pts, n, "user.reached");
    ck_assert_int_eq(p->kind, VMCISIM_COV_REACHABLE);
    ck_assert_uint_eq(p->hits, 2);
    p = find_point(pts, n, "user.invariant");
    ck_assert_int_eq(p->kind, VMCISIM_COV_ALWAYS);
    ck_assert_uint_eq(p->evals, 2);
    ck_assert_uint_eq(p->hits, 1);
    ck_assert_uint_eq(p->fails, 1);
    /* the first failure is kept, with its simulated time */
    uint64_t when = 0;
    ck_assert_str_eq(vmcisim_always_failed(sim, &when), "user.invariant");
    ck_assert_uint_eq(when, 1000);
    vmcisim_destroy(sim);
}
END_TEST

static void quiet_proc(void *arg)
{
    vmcisim_sometimes(arg != NULL, "user.flag");
    vmcisim_sleep(10);
}

/* Only a failed `always` is a trace record: counting never changes a run's trace. */
START_TEST(only_always_failures_are_trace_records)
{
    uint64_t count[2], hash[2];
    for (int k = 0; k < 2; k++) {
        vmcisim *sim = tu_world(3);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "p", quiet_proc, k ? (void *)1 : NULL),
                         0);
        ck_assert_int_eq(vmcisim_run(sim), 0);
        count[k] = vmcisim_trace_count(sim);
        hash[k] = vmcisim_trace_hash(sim);
        vmcisim_destroy(sim);
    }
    ck_assert_uint_eq(count[0], count[1]);
    ck_assert_uint_eq(hash[0], hash[1]);
    vmcisim *sim = tu_world(3);
    uint64_t before = vmcisim_trace_count(sim);
    ck_assert_int_eq(vmcisim_cov_record(sim, VMCISIM_COV_ALWAYS, 0, "main.check"), 0);
    ck_assert_uint_eq(vmcisim_trace_count(sim), before + 1);
    ck_assert_int_eq(vmcisim_cov_record(sim, VMCISIM_COV_SOMETIMES, 0, "main.some"), 0);
    ck_assert_uint_eq(vmcisim_trace_count(sim), before + 1);
    /* an unknown kind or no name counts nothing */
    ck_assert_int_eq(vmcisim_cov_record(sim, 9, 1, "x"), 1);
    ck_assert_int_eq(vmcisim_cov_record(sim, VMCISIM_COV_ALWAYS, 0, NULL), 0);
    struct vmcisim_cov_point pts[16];
    ck_assert_uint_eq(vmcisim_coverage(sim, pts, 16), NSTACK + 2);
    vmcisim_destroy(sim);
}
END_TEST

static struct scen_script *parse(const char *text)
{
    char err[1024];
    struct scen_script *s = scen_parse("cov.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* A full queue (vmci-semantics.md §2.8: a queue of 64 KiB holds 65535 bytes) is the stack's
 * "vsock.stream.queue-full": a non-blocking send of 65536 bytes looks at the queue twice, finds
 * room for 65535, then none (EAGAIN for the last byte, so the call returns 65535). */
static const char queue_full_text[] =
    "vm g cid 5\n"
    "process r on host root\n"
    "  l = socket stream\n"
    "  setsockopt l buffer-size 64KiB\n"
    "  bind l any:700\n"
    "  listen l 1\n"
    "  mark up\n"
    "  c = accept l\n"
    "  wait sent\n"
    "  recv c 65535 waitall -> 65535\n"
    "  mark drained\n"
    "  recv c 1 -> eof\n"
    "end\n"
    "process w on g after up\n"
    "  s = socket stream\n"
    "  setsockopt s buffer-size 64KiB\n"
    "  connect s host:700\n"
    "  send s 64KiB bytes dontwait -> 65535\n"
    "  mark sent\n"
    "  wait drained\n" /* a guest closing first takes unread bytes away (§2.12) */
    "  close s\n"
    "end\n"
    "check sometimes w.bytes_sent == 65535\n"
    "check sometimes w.bytes_sent > 65535\n"
    "check always r.bytes_received == 65535\n";

START_TEST(stack_queue_full_and_scenario_checks_are_counted)
{
    struct scen_script *s = parse(queue_full_text);
    struct scen_result r;
    struct scen_run_opts o = {.seed = 1};
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_PASS);
    const struct vmcisim_cov_point *p = find_point(r.cov, r.ncov, "vsock.stream.queue-full");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->evals, 2);
    ck_assert_uint_eq(p->hits, 1);
    p = find_point(r.cov, r.ncov, "cov.vmcis:23: w.bytes_sent == 65535");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->kind, VMCISIM_COV_SOMETIMES);
    ck_assert_uint_eq(p->hits, 1);
    p = find_point(r.cov, r.ncov, "cov.vmcis:24: w.bytes_sent > 65535");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->evals, 1);
    ck_assert_uint_eq(p->hits, 0); /* a false `sometimes` does not fail the run */
    p = find_point(r.cov, r.ncov, "cov.vmcis:25: r.bytes_received == 65535");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->kind, VMCISIM_COV_ALWAYS);
    ck_assert_uint_eq(p->hits, 1);
    scen_script_free(s);
}
END_TEST

START_TEST(failed_check_always_fails_the_run)
{
    struct scen_script *s = parse("process p on host\n  sleep 1ms\nend\n"
                                  "check sometimes time > 5ms\n"
                                  "check always time < 1ms\n");
    struct scen_result r;
    struct scen_run_opts o = {.seed = 2};
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_FAIL);
    ck_assert_int_eq(r.line, 5);
    ck_assert_str_eq(r.message, "cov.vmcis:5: expected time < 0.001000000s, got 0.001000000s "
                                "(check)");
    const struct vmcisim_cov_point *p = find_point(r.cov, r.ncov, "cov.vmcis:5: time < 0.001000000s");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->fails, 1);
    scen_script_free(s);
}
END_TEST

START_TEST(process_named_sometimes_is_still_a_counter_check)
{
    struct scen_script *s = parse("process sometimes on host\n  sleep 1ms\nend\n"
                                  "check sometimes.eof == 0\n");
    struct scen_result r;
    struct scen_run_opts o = {.seed = 1};
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_PASS);
    ck_assert_uint_eq(r.ncov, NSTACK); /* a plain check is no coverage point */
    scen_script_free(s);
    char err[512];
    ck_assert_ptr_null(scen_parse("x.vmcis", "check sometimes\n", 16, err, sizeof err));
    ck_assert_str_eq(err, "x.vmcis:1:16: expected what to check: NAME.counter, *.counter, "
                          "VM.state, VM.ft or time, got end of line");
}
END_TEST

/* The report over a sweep of a shipped scenario names the `sometimes` that never held. */
START_TEST(report_names_never_hit_sometimes_in_shipped_scenario)
{
    char err[1024];
    struct scen_script *s =
        scen_load(VMCISIM_SOURCE_DIR "/scenarios/dgram_loss.vmcis", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct scen_covreport *rep = scen_covreport_new();
    struct scen_result *r = malloc(sizeof *r);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct scen_run_opts o = {.seed = seed};
        ck_assert_int_eq(scen_run(s, &o, r), SCEN_PASS);
        ck_assert_int_eq(scen_covreport_add(rep, r), 0);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    scen_covreport_print(rep, f);
    fclose(f);
    ck_assert_msg(strstr(text, "  sometimes  dgram_loss.vmcis:83: drop.lost >= 90         hit in "
                               "0/3 runs, 0 times  NEVER HIT\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "  sometimes  dgram_loss.vmcis:84: reorder.late > 0        hit in "
                               "3/3 runs, 3 times\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "  reachable  vsock.connect.fallback-to-request            hit in "
                               "0/3 runs, 0 times  NEVER HIT\n") != NULL, "%s", text);
    ck_assert_msg(strncmp(text, "coverage over 3 runs: 10 points, 8 never hit\n", 45) == 0, "%s",
                  text);
    ck_assert_uint_eq(scen_covreport_never_hit(rep), 8);
    free(text);
    free(r);
    scen_covreport_free(rep);
    scen_script_free(s);
}
END_TEST

static void rt_proc(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        vmcisim_sometimes(i % 2 == 0, "rt.even");
        vmcisim_always(1, "rt.always");
    }
}

/* Realtime mode: processes assert in parallel; the world lock keeps the counts exact. */
START_TEST(realtime_assertions_count_exactly)
{
    vmcisim *sim = tu_world_rt();
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "rt", rt_proc, NULL), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    struct vmcisim_cov_point pts[16];
    size_t n = vmcisim_coverage(sim, pts, 16);
    const struct vmcisim_cov_point *p = find_point(pts, n, "rt.even");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->evals, 400);
    ck_assert_uint_eq(p->hits, 200);
    p = find_point(pts, n, "rt.always");
    ck_assert_uint_eq(p->hits, 400);
    ck_assert_ptr_null(vmcisim_always_failed(sim, NULL));
    vmcisim_destroy(sim);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("coverage");
    TCase *tc = tcase_create("deterministic");
    tcase_add_test(tc, program_assertions_count_exactly);
    tcase_add_test(tc, only_always_failures_are_trace_records);
    tcase_add_test(tc, stack_queue_full_and_scenario_checks_are_counted);
    tcase_add_test(tc, failed_check_always_fails_the_run);
    tcase_add_test(tc, process_named_sometimes_is_still_a_counter_check);
    tcase_add_test(tc, report_names_never_hit_sometimes_in_shipped_scenario);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, realtime_assertions_count_exactly);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
