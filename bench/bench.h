/*
 * bench.h - `vmcisim bench`: benchmark cases, the registry that lists them, and what a run
 * reports.
 *
 * A case is one row of the output: a transport moving data one way at one message size
 * (throughput), a 1-byte round trip (latency), or a count of events per second (rate). Its run
 * function does `work` units of it once (bytes, round trips or events) and reports what it
 * measured; the runner (cli_bench.c) calibrates `work`, repeats the run and summarises.
 *
 * Adding a transport is one line per case in registry.c; a byte-stream transport that
 * implements struct bench_chan_ops (chan.h) gets its throughput and latency rows from the shared
 * harness (BENCH_CHAN_TPUT_ROWS / BENCH_RTT_ROW), anything else brings its own run function.
 */
#ifndef VMCISIM_BENCH_H
#define VMCISIM_BENCH_H

#include <stddef.h>
#include <stdint.h>

enum bench_kind {
    BENCH_THROUGHPUT, /* work = bytes moved one way; metric GB/s (10^9 bytes/s) */
    BENCH_LATENCY,    /* work = round trips; metrics p50 and p99 of the round-trip time, ns */
    BENCH_RATE,       /* work = events (e.g. yields); metric events/s */
};

struct bench_case;

/* What one run measured. The run function fills every field its kind defines. */
struct bench_sample {
    double seconds;     /* wall time of the measured part (calibration uses it) */
    double value;       /* throughput: bytes/s; latency: p50 ns; rate: events/s */
    double value_p99;   /* latency only: p99 ns */
    size_t queue_size;  /* the capacity actually in effect, bytes (0: not applicable/auto) */
};

/* Do `work` units once. 0 on success; -1 with a reason in err (NUL-terminated). */
typedef int (*bench_run_fn)(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                            char *err, size_t errlen);

struct bench_case {
    const char *name;       /* unique, e.g. "pipe/tput/4096"; --filter matches it */
    const char *transport;  /* "pipe", "unix-socketpair", ..., later "vmci-stream" */
    const char *direction;  /* "one-way", "copy", "round-trip", "1-thread", ... */
    enum bench_kind kind;
    size_t msg_size;        /* bytes per write / per message; 0: not applicable */
    size_t queue_size;      /* capacity requested per direction; 0: the system default */
    const char *unit;       /* rate rows: what is counted per second ("points/s") */
    int cpus;               /* two-sided cases: 2 = each side pinned to its own CPU, 1 = both
                               sides pinned to one CPU; 0 = not pinned (the kernel places) */
    bench_run_fn run;
    const void *impl;       /* the transport's own description, e.g. a bench_chan_ops */
};

/* The registry: every case, in the order they run and print. */
size_t bench_case_count(void);
const struct bench_case *bench_case_at(size_t i);
/* Whether the case is selected by --filter WORD (NULL or "" selects all): substring of the
 * name or of the transport. */
int bench_case_matches(const struct bench_case *bc, const char *word);

const char *bench_kind_name(enum bench_kind k);

/* The summary of one case over its runs: median and range of each metric. */
struct bench_result {
    const struct bench_case *bc;
    int ok;                 /* 0: the case failed, the fields below are unset */
    int runs;
    uint64_t work;          /* per run: bytes (throughput) or iterations */
    size_t queue_size;
    double median, min, max;  /* throughput: GB/s; latency: p50 ns; rate: per second */
    double p99_median;        /* latency only */
    double spread;            /* relative IQR of the main metric: (Q3 - Q1) / median */
    double ratio;             /* this row's figure over its baseline's (ratio_to); < 0: none.
                                 Throughput: GB/s over GB/s (above 1 is faster); latency: p50
                                 over p50 (below 1 is faster) */
    const char *ratio_to;     /* the baseline row's name: the 2-CPU unix-socketpair of the same
                                 kind and msg_size; NULL: none */
    double ring_ratio;        /* vmci-stream throughput: over the bare vmci-ring's at the same
                                 msg_size; < 0: none */
    double others_cpu;        /* share of the machine (0..1) other processes used while the
                                 case ran; < 0: unknown (load.h) */
};

#endif
