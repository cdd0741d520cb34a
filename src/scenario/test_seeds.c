/*
 * test_seeds.c - vmcisim_test_seeds (vmcisim_test.h): a world builder run over many seeds, for C
 * tests. Only the first failing seed gets a trace and a capture: writing them for every seed
 * would cost more than the runs, and the replay line reproduces any seed exactly.
 */
#define _GNU_SOURCE /* program_invocation_name */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "scenario/pcap.h"
#include "vmcisim/vmcisim_test.h"

struct seed_run {
    uint64_t hash;
    int failed;
    char why[600];
};

static int env_u64(const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || *v == '-') {
        fprintf(stderr, "vmcisim: %s=%s is not a number; ignored\n", name, v);
        return 0;
    }
    *out = x;
    return 1;
}

/* One run of one seed; trace and pcap are file names or NULL. */
static void run_seed(vmcisim_setup_fn setup, void *arg, uint64_t seed, const char *trace,
                     const char *pcap, struct seed_run *r)
{
    memset(r, 0, sizeof *r);
    /* "" rather than NULL: the world would otherwise read VMCISIM_TRACE itself, and write a
     * trace for every seed of the sweep */
    struct vmcisim_config cfg = {.seed = seed, .trace_path = trace ? trace : ""};
    vmcisim *sim = vmcisim_create(&cfg);
    if (!sim) {
        r->failed = 1;
        snprintf(r->why, sizeof r->why, "vmcisim_create failed");
        return;
    }
    struct scen_pcap *pc = NULL;
    if (pcap) {
        pc = scen_pcap_open(pcap);
        if (pc)
            vmcisim_set_packet_observer(sim, scen_pcap_observer, pc);
        else
            fprintf(stderr, "vmcisim: cannot write the capture %s: %s\n", pcap, strerror(errno));
    }
    if (setup(sim, arg) != 0) {
        r->failed = 1;
        snprintf(r->why, sizeof r->why, "the world builder failed: %s", vmcisim_error(sim));
    } else if (vmcisim_run(sim) != 0) {
        r->failed = 1;
        snprintf(r->why, sizeof r->why, "%s", vmcisim_error(sim));
    } else if (sim_test_failure(sim)) {
        r->failed = 1;
        snprintf(r->why, sizeof r->why, "%s", sim_test_failure(sim));
    }
    r->hash = vmcisim_trace_hash(sim);
    vmcisim_set_packet_observer(sim, NULL, NULL);
    vmcisim_destroy(sim);
    if (pc && scen_pcap_close(pc) != 0)
        fprintf(stderr, "vmcisim: writing the capture %s failed\n", pcap);
}

int vmcisim_test_seeds(vmcisim_setup_fn setup, void *arg, uint64_t n)
{
    uint64_t first = 1, only = 0, check = 0;
    env_u64("VMCISIM_TEST_NUM", &n);
    int one = env_u64("VMCISIM_SEED", &only);
    env_u64("VMCISIM_TEST_CHECK", &check);
    if (!setup || (n == 0 && !one)) {
        errno = EINVAL;
        return -1;
    }
    if (one) {
        first = only;
        n = 1;
    }
    assert(n >= 1);
    const char *trace = getenv("VMCISIM_TRACE"), *pcap = getenv("VMCISIM_PCAP");
    if (trace && !*trace)
        trace = NULL;
    if (pcap && !*pcap)
        pcap = NULL;
    struct seed_run r, again;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t seed = first + i;
        /* A single seed (a replay) writes its files on the way; a sweep writes none. */
        run_seed(setup, arg, seed, one ? trace : NULL, one ? pcap : NULL, &r);
        if (!r.failed && check) {
            run_seed(setup, arg, seed, NULL, NULL, &again);
            if (again.hash != r.hash || again.failed) {
                r.failed = 1;
                snprintf(r.why, sizeof r.why,
                         "expected the same run twice, got trace hashes %016llx and %016llx",
                         (unsigned long long)r.hash, (unsigned long long)again.hash);
            }
        }
        assert(!r.failed || r.why[0]);   /* a failure always says why */
        if (!r.failed)
            continue;
        fprintf(stderr, "vmcisim: FAIL seed=%llu hash=%016llx %s\n", (unsigned long long)seed,
                (unsigned long long)r.hash, r.why);
        if (!one && (trace || pcap)) {
            run_seed(setup, arg, seed, trace, pcap, &again);
            fprintf(stderr, "vmcisim: seed %llu written to%s%s%s%s\n", (unsigned long long)seed,
                    trace ? " " : "", trace ? trace : "", pcap ? " " : "", pcap ? pcap : "");
        }
        fprintf(stderr, "vmcisim: replay: VMCISIM_SEED=%llu %s\n", (unsigned long long)seed,
                program_invocation_name);
        return -1;
    }
    return 0;
}
