/*
 * run_opts.h - the options of `vmcisim run`, as run_args.c reads them from the command line
 * and run.c uses them (internal to src/cli).
 */
#ifndef VMCISIM_CLI_RUN_OPTS_H
#define VMCISIM_CLI_RUN_OPTS_H

#include <stdint.h>

#include "scenario/scenario.h"

#define MAX_JOBS_PARALLEL 256 /* -j N: at most this many runs at once */

struct run_opts {
    int have_seeds;
    uint64_t seed_lo, seed_hi;
    int check_det;
    const char *trace;
    const char *pcap;
    const char *html;
    const char *trace_filter;
    int trace_payload;
    int json;
    int realtime;
    long jobs;
    long shard_k, shard_n;
    int have_expect_hash;
    uint64_t expect_hash;
    const char *sched;
    const char *argv0;
    int progress;
    int failures_only;
    int coverage;           /* --coverage: the coverage report after the results */
    int swarm;              /* --swarm: a fault profile per seed (docs/finding-bugs.md) */
    const char *artifacts;  /* --artifacts DIR: exec'd programs' output, kept */
};

/* Reads argv into o and the scenario files; 0, or the exit status (2 bad input, 0 after
 * --help) with the message already printed. */
int run_parse_args(int argc, char **argv, struct run_opts *o, char ***files, int *nfiles);
/* A file that does not parse: its error, whole, as text or a JSON line (--json). */
void run_report_parse_error(const struct run_opts *o, const char *file,
                            const struct scen_diag *d);

#endif
