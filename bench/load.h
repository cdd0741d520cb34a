/*
 * load.h - how busy the machine was while a case ran, so that a figure taken on a shared machine
 * says so instead of passing for a quiet-machine one.
 *
 * The load average cannot tell: after a run it counts the bench's own threads. What is measured
 * instead is the CPU time everything else took: the machine's busy time (/proc/stat) minus this
 * process's and its children's (/proc/self/stat, and each child's: the programs the exec rows
 * start are part of the measurement), as a share of all CPUs over the wall time. Linux only; elsewhere
 * the figures are unknown (-1).
 */
#ifndef VMCISIM_BENCH_LOAD_H
#define VMCISIM_BENCH_LOAD_H

struct bench_load_mark {
    double busy_s, self_s, wall_s;  /* seconds; busy_s < 0: unknown */
    int cpus;
};

void bench_load_mark(struct bench_load_mark *m);
/* Share of the machine's CPU capacity (0..1) used by other processes between a and b; -1 if
 * unknown. */
double bench_load_others(const struct bench_load_mark *a, const struct bench_load_mark *b);
/* The 1-minute load average, -1 if unknown. */
double bench_loadavg1(void);

/* Above this share of the machine taken by others, a row is flagged as loaded. */
#define BENCH_LOADED_SHARE 0.10

#endif
