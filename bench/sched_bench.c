/*
 * sched_bench.c - the cost of the simulator's deterministic scheduler, through the public API.
 *
 * Every vmcisim_* call of a simulated thread is a scheduling point, so the points per second
 * bound how many simulator calls per second any simulated workload can make:
 *
 *  points/s    one simulated thread calls vmcisim_yield() in a loop. It is the only runnable
 *              thread, so no point switches: this is the bare bookkeeping of a point (pick the
 *              next thread among the eligible ones, count it).
 *  switches/s  N threads yield in a loop; the seeded random pick hands the baton (a futex word
 *              per thread, spin-then-sleep) to another thread at about (N-1)/N of the points.
 *
 * Figures come from vmcisim_get_stats() deltas over the timed part; the clock starts once every
 * thread has finished its warm-up (the world's own event-loop threads have gone idle by then)
 * and stops as soon as the first thread has done its share, so only the steady state counts.
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "clock.h"
#include "vmcisim/vmcisim.h"

#define WARMUP_YIELDS 64
#define MAX_THREADS 16

const struct bench_sched_spec bench_sched_points_1 = {.threads = 1, .count_switches = 0};
const struct bench_sched_spec bench_sched_switch_2 = {.threads = 2, .count_switches = 1};
const struct bench_sched_spec bench_sched_switch_4 = {.threads = 4, .count_switches = 1};

/* Shared by the simulated threads. Only the baton holder runs in deterministic mode, and the
 * baton handoff orders memory, so plain fields are enough. */
struct sched_run {
    vmcisim *sim;
    unsigned threads, ready;
    uint64_t per_thread;
    int stop;
    uint64_t t0, t1;
    struct vmcisim_stats s0, s1;
};

static void yielder(void *arg)
{
    struct sched_run *r = arg;
    for (int i = 0; i < WARMUP_YIELDS; i++)
        vmcisim_yield();
    if (++r->ready == r->threads) {
        vmcisim_get_stats(r->sim, &r->s0);
        r->t0 = bench_now_ns();
    }
    for (uint64_t i = 0; i < r->per_thread && !r->stop; i++)
        vmcisim_yield();
    if (!r->stop) {
        r->t1 = bench_now_ns();
        vmcisim_get_stats(r->sim, &r->s1);
        r->stop = 1;
    }
}

int bench_sched_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                    char *err, size_t errlen)
{
    const struct bench_sched_spec *spec = bc->impl;
    /* No trace file whatever VMCISIM_TRACE says: "" names none. The in-memory trace hash is
     * still kept, as in every deterministic run. */
    struct vmcisim_config cfg = {.seed = 1, .realtime = 0, .trace_path = ""};
    struct sched_run r = {.threads = spec->threads};
    if (spec->threads < 1 || spec->threads > MAX_THREADS) {
        snprintf(err, errlen, "bad thread count %u", spec->threads);
        return -1;
    }
    r.per_thread = work / spec->threads ? work / spec->threads : 1;
    r.sim = vmcisim_create(&cfg);
    if (!r.sim) {
        snprintf(err, errlen, "vmcisim_create failed");
        return -1;
    }
    vmcisim_vm *host = vmcisim_host(r.sim);
    for (unsigned i = 0; i < spec->threads; i++) {
        char name[32];
        snprintf(name, sizeof name, "yielder-%u", i);
        if (vmcisim_spawn(host, name, yielder, &r) != 0) {
            snprintf(err, errlen, "vmcisim_spawn: %s", vmcisim_error(r.sim));
            vmcisim_destroy(r.sim);
            return -1;
        }
    }
    int rc = vmcisim_run(r.sim);
    if (rc != 0)
        snprintf(err, errlen, "vmcisim_run: %s", vmcisim_error(r.sim));
    vmcisim_destroy(r.sim);
    if (rc != 0)
        return -1;
    if (r.t1 <= r.t0) {
        snprintf(err, errlen, "the timed part did not run");
        return -1;
    }
    if (!spec->count_switches && r.s1.switches != r.s0.switches) {
        /* Then the figure would not be the cost of a point alone. */
        snprintf(err, errlen, "a lone thread's points switched %llu times",
                 (unsigned long long)(r.s1.switches - r.s0.switches));
        return -1;
    }
    uint64_t events = spec->count_switches ? r.s1.switches - r.s0.switches
                                           : r.s1.sched_points - r.s0.sched_points;
    out->seconds = (double)(r.t1 - r.t0) / 1e9;
    out->value = (double)events / out->seconds;
    out->queue_size = 0;
    return 0;
}
