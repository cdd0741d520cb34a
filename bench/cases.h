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

/* det_bench.c: deterministic mode, a switch (next to a futex handoff on one CPU) and whole
 * runs (the shipped suite; the 64-VM world). impl: &bench_det_suite or &bench_det_big. */
extern const int bench_det_suite, bench_det_big;
int bench_futex_handoff_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                            char *err, size_t errlen);
int bench_det_switch_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen);
int bench_det_suite_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                        char *err, size_t errlen);

/* vmci_bench.c: the simulator's transports in a realtime world (see there). */
struct bench_vmci_spec {
    int guest_writes;     /* 1: guest -> host; 0: host -> guest */
    int conns;            /* parallel connections, 1..8 */
};
extern const struct bench_vmci_spec bench_vmci_g2h, bench_vmci_h2g, bench_vmci_g2h_x2,
    bench_vmci_g2h_x4, bench_vmci_g2h_x8;
int bench_vmci_stream_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen);
/* vmci-exec: two exec'd programs (bench/peer/exec_peer.c) in a realtime world (exec_bench.c) */
int bench_exec_stream_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen);
int bench_vmci_rtt_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                       char *err, size_t errlen);
int bench_vmci_dgram_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen);

#endif
