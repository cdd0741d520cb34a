/*
 * cases.h - run functions of the cases that are not byte channels (those use chan.h's
 * harness): the memcpy floor and the simulator's scheduler.
 */
#ifndef VMCISIM_BENCH_CASES_H
#define VMCISIM_BENCH_CASES_H

#include "bench.h"

/* memcpy_bench.c: `work` bytes copied in msg_size pieces over a fixed working set. */
int bench_memcpy_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                     char *err, size_t errlen);

/* sched_bench.c: simulated threads of a deterministic world calling vmcisim_yield(). */
struct bench_sched_spec {
    unsigned threads;     /* simulated threads yielding */
    int count_switches;   /* 1: report switches/s; 0: scheduling points/s */
};
extern const struct bench_sched_spec bench_sched_points_1;
extern const struct bench_sched_spec bench_sched_switch_2;
extern const struct bench_sched_spec bench_sched_switch_4;
int bench_sched_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                    char *err, size_t errlen);

#endif
