/*
 * test_scenario_world.c - the scenario interpreter without sockets (issue 6): world building,
 * lifecycle actions and their errno, sleep, marks/waits/on, daemons, the time limit, stuck
 * processes, final checks, the exact failure it reports, determinism, trace and capture files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/scenario.h"
#include "testutil.h"

#ifndef VMCISIM_SOURCE_DIR
#define VMCISIM_SOURCE_DIR "."
#endif

static struct scen_script *parse(const char *text)
{
    char err[1024];
    struct scen_script *s = scen_parse("w.vmcis", text, strlen(text), err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

static int run_text(const char *text, uint64_t seed, struct scen_result *r)
{
    struct scen_script *s = parse(text);
    struct scen_run_opts o = {.seed = seed};
    int rc = scen_run(s, &o, r);
    scen_script_free(s);
    return rc;
}

START_TEST(shipped_world_scenario_passes_over_seeds)
{
    char err[1024];
    struct scen_script *s =
        scen_load(VMCISIM_SOURCE_DIR "/scenarios/world_lifecycle.vmcis", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    for (uint64_t seed = 1; seed <= (uint64_t)tu_seed_count() + 5; seed++) {
        struct scen_result a, b;
        struct scen_run_opts o = {.seed = seed};
        ck_assert_int_eq(scen_run(s, &o, &a), SCEN_PASS);
        ck_assert_msg(a.status == SCEN_PASS, "seed %llu: %s", (unsigned long long)seed, a.message);
        scen_run(s, &o, &b);
        ck_assert_uint_eq(a.trace_hash, b.trace_hash);
        ck_assert_uint_eq(a.trace_records, b.trace_records);
        ck_assert_uint_eq(a.seed, seed);
        ck_assert_uint_eq(a.sim_ns, 1100000000ull);
    }
    scen_script_free(s);
}
END_TEST

START_TEST(different_seeds_give_different_traces)
{
    char err[1024];
    struct scen_script *s =
        scen_load(VMCISIM_SOURCE_DIR "/scenarios/world_lifecycle.vmcis", err, sizeof err);
    ck_assert_ptr_nonnull(s);
    uint64_t h[10];
    int distinct = 0;
    for (int i = 0; i < 10; i++) {
        struct scen_result r;
        struct scen_run_opts o = {.seed = (uint64_t)i + 100};
        scen_run(s, &o, &r);
        h[i] = r.trace_hash;
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= h[j] == h[i];
        distinct += !seen;
    }
    ck_assert_int_ge(distinct, 8);
    scen_script_free(s);
}
END_TEST

START_TEST(failed_expectation_names_line_expected_got)
{
    struct scen_result r;
    ck_assert_int_eq(run_text("vm g\n"
                              "process op on host root\n"
                              "  sleep 1ms\n"
                              "  resume g\n"
                              "  sleep 1ms\n"
                              "end\n",
                              1, &r),
                     SCEN_FAIL);
    ck_assert_int_eq(r.line, 4);
    ck_assert_str_eq(r.where, "w.vmcis:4");
    ck_assert_str_eq(r.expected, "success");
    ck_assert_str_eq(r.got, "EINVAL");
    ck_assert_str_eq(r.message, "w.vmcis:4: expected success, got EINVAL (resume in op)");
    /* the process stopped at its failure: the second sleep never ran */
    ck_assert_uint_eq(r.sim_ns, 1000000);
}
END_TEST

START_TEST(first_failure_wins)
{
    struct scen_result r;
    run_text("vm g\n"
             "process a on host root\n  sleep 2ms\n  suspend host\nend\n"
             "process b on host root\n  sleep 1ms\n  ft-off g -> 0\n  ft-off g\nend\n"
             "check time == 5s\n",
             3, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    /* b's wrong expectation (line 8, at 1 ms) comes before a's failure (line 4, at 2 ms) */
    ck_assert_str_eq(r.message, "w.vmcis:8: expected 0, got EINVAL (ft-off in b)");
}
END_TEST

START_TEST(timeline_actions_and_their_errno)
{
    struct scen_result r;
    run_text("vm g\nvm h\n"
             "process w on g\n  sleep 100ms\nend\n"
             "at 10ms suspend g\n"
             "at 20ms suspend g -> EINVAL\n"
             "at 30ms resume g\n"
             "at 40ms migrate g\n"
             "at 50ms ft-on g\n"
             "at 60ms power-off h\n"
             "at 70ms resume h -> EINVAL\n"
             "check g.state == running\ncheck g.ft == on\ncheck h.state == powered-off\n"
             "check time == 100ms\n",
             1, &r);
    /* w's sleep has a deadline (100 ms); being suspended from 10 to 30 ms does not move it */
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);

    run_text("vm g\nat 5ms resume g\n", 1, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    ck_assert_str_eq(r.message, "w.vmcis:2: expected success, got EINVAL (resume in at)");
}
END_TEST

START_TEST(marks_waits_and_on)
{
    struct scen_result r;
    run_text("vm g\n"
             "process a on g\n  sleep 5ms\n  mark ready\n  sleep 10ms\nend\n"
             "process b on host after ready\n  wait a.done\n  mark finished\nend\n"
             "on ready after 2ms suspend g\n"
             "on finished resume g -> EINVAL\n"
             "at 50ms resume g\n"
             "check g.state == running\n"
             "check time == 51ms\n",
             1, &r);
    /* a marks ready at 5 ms; the `on ready` helper suspends g at 7 ms, the timeline resumes it
     * at 50 ms, when a's sleep (deadline 15 ms) ends and a is done; b polls for a.done every
     * 1 ms at most, so it marks finished at 51 ms, and that `on` line's resume fails with the
     * EINVAL it expects (g is running). */
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
}
END_TEST

START_TEST(daemon_ends_when_the_rest_is_done)
{
    struct scen_result r;
    run_text("process d on host daemon\n  wait never\nend\n"
             "process f on host\n  sleep 3ms\nend\n"
             "process m on host\n  sleep 1s\n  mark never\nend\n"
             "check time in 1s..1001ms\n",
             1, &r);
    /* d notices within its 1 ms polling step that everything else is done */
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
    run_text("process d on host daemon\n  wait never\nend\n"
             "process f on host daemon\n  sleep 3ms\n  mark never\nend\n",
             1, &r);
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
}
END_TEST

START_TEST(stuck_process_is_a_failure_at_its_line)
{
    struct scen_result r;
    run_text("vm g\n"
             "process w on g\n  sleep 1ms\n  sleep 1ms\nend\n"
             "at 500us suspend g\n",
             1, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    ck_assert_int_eq(r.line, 3);
    ck_assert_str_eq(r.expected, "every process to finish (limit 600.000s)");
    ck_assert_msg(strncmp(r.got, "a deadlock at 0.001000000s: ", 28) == 0, "%s", r.got);
}
END_TEST

START_TEST(time_limit)
{
    struct scen_result r;
    run_text("limit 50ms\nprocess w on host\n  sleep 100ms\n  sleep 1ms\nend\n", 1, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    ck_assert_str_eq(r.message, "w.vmcis:4: expected to reach this line within the limit of "
                                "0.050s, got simulated time 0.100000000s (w)");
    run_text("limit 50ms\nprocess w on host\n  wait e\nend\n"
             "process m on host\n  sleep 1s\n  mark e\nend\n",
             1, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    ck_assert_str_eq(r.message, "w.vmcis:3: expected event 'e' within the limit of 0.050s, got "
                                "no mark by 0.050500000s (w)");
}
END_TEST

START_TEST(final_checks)
{
    struct scen_result r;
    run_text("vm g\nprocess w on g instances 4\n  sleep 10ms\nend\n"
             "at 5ms power-off g\n"
             "check w.killed == 4\ncheck *.killed in 4..4\ncheck w.bytes_sent == 0\n"
             "check g.state == powered-off\ncheck time < 6ms\n",
             1, &r);
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
    run_text("vm g\nprocess w on g instances 2\n  sleep 10ms\nend\n"
             "check w.killed == 0\ncheck time >= 1s\n",
             1, &r);
    ck_assert_int_eq(r.status, SCEN_FAIL);
    ck_assert_str_eq(r.message,
                     "w.vmcis:6: expected time >= 1.000000000s, got 0.010000000s (check)");
    run_text("vm g\ncheck g.state != running\n", 1, &r);
    ck_assert_str_eq(r.message,
                     "w.vmcis:2: expected g.state != running, got running (check)");
    run_text("vm g\nprocess w on g\n  sleep 1ms\nend\ncheck w.eof in 1..3\n", 1, &r);
    ck_assert_str_eq(r.message, "w.vmcis:5: expected w.eof in 1..3, got 0 (check)");
}
END_TEST

START_TEST(power_off_own_vm_from_a_process)
{
    struct scen_result r;
    run_text("vm g\nprocess w on g root\n  sleep 1ms\n  power-off g\n  note \"never\"\nend\n"
             "check w.killed == 1\ncheck g.state == powered-off\n",
             1, &r);
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
}
END_TEST

START_TEST(vm_setup_errors)
{
    struct scen_result r;
    /* a CID the world refuses shows up at the vm line */
    run_text("vm a cid 5\nvm b cid 4294967294\n", 1, &r);
    ck_assert_msg(r.status == SCEN_PASS, "%s", r.message);
    run_text("faults dgram-drop 0.5\nvm a\n", 1, &r);
    /* the fault knobs exist in the hypervisor once integrated; without them this line fails */
    ck_assert(r.status == SCEN_PASS || r.line == 1);
}
END_TEST

START_TEST(trace_and_capture_files)
{
    char tpath[] = "/tmp/vmcisim-scen-trace-XXXXXX", ppath[] = "/tmp/vmcisim-scen-pcap-XXXXXX";
    close(mkstemp(tpath));
    close(mkstemp(ppath));
    struct scen_script *s = parse("scenario \"files\"\nvm g\nprocess w on g\n  sleep 1ms\n"
                                  "  note \"hello trace\"\nend\n");
    struct scen_run_opts o = {.seed = 9, .trace_path = tpath, .pcap_path = ppath};
    struct scen_result r;
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_PASS);
    FILE *f = fopen(tpath, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    unsigned long n = 0;
    int saw_note = 0, saw_name = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        saw_note |= strstr(line, "note hello trace") != NULL;
        saw_name |= strstr(line, "note scenario files") != NULL;
    }
    fclose(f);
    ck_assert_uint_eq(n, r.trace_records);
    ck_assert(saw_note && saw_name);
    f = fopen(ppath, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char gh[32];
    size_t got = fread(gh, 1, sizeof gh, f);
    fclose(f);
    ck_assert_uint_eq(got, 24); /* no packets in a world without sockets: the header alone */
    ck_assert_mem_eq(gh, "\x4d\x3c\xb2\xa1\x02\x00\x04\x00", 8);
    /* an unwritable capture is a failure of the run, not a crash */
    o.trace_path = NULL;
    o.pcap_path = "/nonexistent/dir/x.pcap";
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_FAIL);
    ck_assert_msg(strstr(r.message, "expected a writable capture file"), "%s", r.message);
    scen_script_free(s);
    unlink(tpath);
    unlink(ppath);
}
END_TEST

START_TEST(realtime_world_scenario)
{
    struct scen_script *s = parse("vm g\nprocess w on g\n  sleep 1ms\nend\nat 500us suspend g\n"
                                  "at 2ms resume g\ncheck g.state == running\n");
    struct scen_run_opts o = {.seed = 1, .realtime = 1};
    struct scen_result r;
    ck_assert_int_eq(scen_run(s, &o, &r), SCEN_PASS);
    scen_script_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scenario_world");
    TCase *tc = tcase_create("world");
    tcase_add_test(tc, shipped_world_scenario_passes_over_seeds);
    tcase_add_test(tc, different_seeds_give_different_traces);
    tcase_add_test(tc, failed_expectation_names_line_expected_got);
    tcase_add_test(tc, first_failure_wins);
    tcase_add_test(tc, timeline_actions_and_their_errno);
    tcase_add_test(tc, marks_waits_and_on);
    tcase_add_test(tc, daemon_ends_when_the_rest_is_done);
    tcase_add_test(tc, stuck_process_is_a_failure_at_its_line);
    tcase_add_test(tc, time_limit);
    tcase_add_test(tc, final_checks);
    tcase_add_test(tc, power_off_own_vm_from_a_process);
    tcase_add_test(tc, vm_setup_errors);
    tcase_add_test(tc, trace_and_capture_files);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, realtime_world_scenario);
    suite_add_tcase(s, rt);
    return tu_run_suite(s);
}
