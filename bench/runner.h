/*
 * runner.h - run one case: calibrate how much work a run does, repeat it, summarise.
 */
#ifndef VMCISIM_BENCH_RUNNER_H
#define VMCISIM_BENCH_RUNNER_H

#include "bench.h"

struct bench_opts {
    int runs;            /* measured runs per case (>= 1) */
    double run_seconds;  /* how long one measured run should take */
    /* Called before every run (run 0 is the calibration run), e.g. to show progress. */
    void (*progress)(void *ctx, const struct bench_case *bc, int run, int runs);
    void *ctx;
};

/* Fills res (res->ok says whether the case ran). 0, or -1 with the reason in err. */
int bench_run_case(const struct bench_case *bc, const struct bench_opts *o,
                   struct bench_result *res, char *err, size_t errlen);

/* Fill every result's ratio to its baseline: the unix-socketpair result of the same kind and
 * msg_size with its two sides on two CPUs (throughput: GB/s over GB/s; latency: p50 over p50;
 * none for rates). One reference for all rows, so that a one-CPU row shows what placement alone
 * does. vmci-stream throughput rows also get their ratio to the bare vmci-ring's. */
void bench_fill_ratios(struct bench_result *res, size_t n);

#endif
