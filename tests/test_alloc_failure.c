#define _GNU_SOURCE
/*
 * test_alloc_failure.c - allocation failure tested on purpose (issue 10 item 7, as SQLite's
 * test_malloc.c does). Every allocation of the library goes through src/sim/alloc.c. A
 * representative workload (a scenario: parse, world, VMs, a stream connection both ways, a
 * datagram echo, suspend/resume) runs once to list the allocation sites it reaches, then once per
 * site with the first allocation at that site failing. Each run must end cleanly: a parse error
 * with a message, or a scenario run that reports its result (a failure names a line, what was
 * expected and what happened). A crash ends the test; the ASan build's LeakSanitizer checks that
 * no run leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"
#include "sim/alloc.h"
#include "testutil.h"

static const char WORKLOAD[] =
    "scenario \"alloc sweep\"\n"
    "limit 10s\n"
    "vm guest cid 3\n"
    "program echo dgram-pong on host root port 3000\n"
    "process server on host root\n"
    "  l = socket stream\n"
    "  bind l any:9000\n"
    "  listen l 1\n"
    "  mark listening\n"
    "  c = accept l\n"
    "  recv c 5 waitall -> \"hello\"\n"
    "  send c \"world\" -> 5\n"
    "  close c\n"
    "  close l\n"
    "end\n"
    "process client on guest after listening\n"
    "  s = socket stream\n"
    "  connect s host:9000\n"
    "  send s \"hello\" -> 5\n"
    "  recv s 5 waitall -> \"world\"\n"
    "  close s\n"
    "  d = socket dgram\n"
    "  sendto d \"ping\" host:3000 -> 4\n"
    "  recvfrom d 64 -> \"ping\"\n"
    "  close d\n"
    "  mark exchanged\n"
    "end\n"
    "on exchanged after 1ms suspend guest\n"
    "on exchanged after 2ms resume guest\n";

#define MAX_SITES 512

struct site {
    const char *file;
    int line;
    const char *func;
};

/* Sites whose failure the library cannot report yet, each with its reason (listed in the
 * closing note of issue 10): they are counted but not failed. */
static const char *const NOT_YET[] = {
    /* a timer that cannot be queued would be lost silently: loop.c aborts; the single timer
     * heap that replaces loop.c's and sched.c's (issue 10 item 5) is to reserve room at init */
    "sim_timer_arm",
};

static int not_yet(const char *func)
{
    for (size_t i = 0; i < sizeof NOT_YET / sizeof NOT_YET[0]; i++)
        if (strcmp(func, NOT_YET[i]) == 0)
            return 1;
    return 0;
}

static struct {
    int recording;
    struct site sites[MAX_SITES];
    size_t nsites;
    struct site fail; /* the site to fail (recording off) */
    int failed;       /* the first allocation there has failed */
} sweep;

static int hook(const char *file, int line, const char *func, void *ctx)
{
    (void)ctx;
    if (sweep.recording) {
        for (size_t i = 0; i < sweep.nsites; i++)
            if (sweep.sites[i].line == line && strcmp(sweep.sites[i].file, file) == 0)
                return 0;
        ck_assert_uint_lt(sweep.nsites, MAX_SITES);
        sweep.sites[sweep.nsites++] = (struct site){file, line, func};
        return 0;
    }
    if (sweep.failed || line != sweep.fail.line || strcmp(file, sweep.fail.file) != 0)
        return 0;
    sweep.failed = 1;
    return 1;
}

/* Parse and run the workload once: 0 passed, 1 failed cleanly (parse error or FAIL result). */
static int run_workload(char *why, size_t cap)
{
    char err[1024] = "";
    struct scen_script *s = scen_parse("sweep.vmcis", WORKLOAD, strlen(WORKLOAD), err, sizeof err);
    if (!s) {
        ck_assert_msg(err[0] != 0, "a failed parse gave no message");
        snprintf(why, cap, "%s", err);
        return 1;
    }
    struct scen_run_opts o = {.seed = 7};
    struct scen_result r;
    int st = scen_run(s, &o, &r);
    scen_script_free(s);
    if (st == SCEN_PASS)
        return 0;
    ck_assert_int_eq(st, SCEN_FAIL);
    ck_assert_msg(r.line > 0 && r.expected[0] && r.got[0], "a failed run without a line: %s",
                  r.message);
    snprintf(why, cap, "%s", r.message);
    return 1;
}

START_TEST(every_allocation_site_fails_cleanly)
{
    char why[2048];
    sweep.recording = 1;
    vmcisim_alloc_set_hook(hook, NULL);
    ck_assert_msg(run_workload(why, sizeof why) == 0, "the workload must pass: %s", why);
    sweep.recording = 0;
    size_t nsites = sweep.nsites;
    ck_assert_uint_ge(nsites, 40); /* the workload reaches most of the library */
    size_t nfail = 0, npass = 0, nskip = 0;
    for (size_t i = 0; i < nsites; i++) {
        if (not_yet(sweep.sites[i].func)) {
            nskip++;
            continue;
        }
        sweep.fail = sweep.sites[i];
        sweep.failed = 0;
        int rc = run_workload(why, sizeof why);
        ck_assert_msg(sweep.failed, "%s:%d not reached again", sweep.fail.file, sweep.fail.line);
        if (rc) {
            nfail++;
        } else {
            npass++;
            /* tolerated: the failure was absorbed and the run still passed */
        }
        fprintf(stderr, "site %s:%d -> %s%s\n", sweep.fail.file, sweep.fail.line,
               rc ? "clean failure: " : "absorbed, run passed", rc ? why : "");
    }
    vmcisim_alloc_set_hook(NULL, NULL);
    printf("allocation sites reached: %zu; failed on purpose: %zu (%zu clean failures, %zu "
           "absorbed); not yet: %zu\n",
           nsites, nfail + npass, nfail, npass, nskip);
    ck_assert_uint_eq(nfail + npass + nskip, nsites);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc_failure");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_allocation_site_fails_cleanly);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
