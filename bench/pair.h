/*
 * pair.h - run two functions on two fresh threads that start together, and join both.
 *
 * Every two-sided measurement (writer/reader, ping/pong) goes through here so that all
 * transports get the same thread layout: two new threads, pinned as the case says, released by
 * one gate once both exist.
 */
#ifndef VMCISIM_BENCH_PAIR_H
#define VMCISIM_BENCH_PAIR_H

/* Runs a(arg_a) and b(arg_b) concurrently; returns once both returned. cpus: 2 pins a and b
 * to two different CPUs, 1 pins both to the same one, 0 leaves placement to the kernel
 * (pinning is skipped where the process may use only one CPU). 0, or -1 with errno when a
 * thread could not be started (neither function then runs). */
int bench_run_pair(void (*a)(void *), void *arg_a, void (*b)(void *), void *arg_b, int cpus);

/* Pin the calling thread to the slot-th CPU it may use (0 or 1), as bench_run_pair pins its
 * sides; nothing if fewer than two CPUs are allowed or slot < 0. For cases whose two sides are
 * threads someone else starts (the simulator's processes). */
void bench_pin_to_slot(int slot);

#endif
