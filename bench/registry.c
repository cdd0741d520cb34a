/*
 * registry.c - every benchmark case, one line each, in the order they run and print.
 *
 * To add a transport:
 *  - a byte stream: implement struct bench_chan_ops (chan.h), then one line each for
 *        BENCH_CHAN_TPUT_ROWS("vmci-stream", "host->guest", 262144, &ops),
 *        BENCH_RTT_ROW("vmci-stream", 262144, &ops),
 *    (a _ROWS macro expands to one row per standard write size; _1CPU_ variants pin both
 *    sides to one CPU);
 *  - anything else: a bench_run_fn and BENCH_SIZES(...) or BENCH_ROW(...) lines, e.g. one per
 *    datagram size with its own run function.
 * Every throughput row is reported as a ratio to the two-CPU unix-socketpair row of the same
 * write size (runner.c).
 */
#include <string.h>

#include "bench.h"
#include "cases.h"
#include "chan.h"

/* Name scheme: transport/label/size-or-variant, so that --filter can pick a transport, a kind
 * ("tput", "rtt", "rate"), a placement ("1cpu") or a size. */
#define BENCH_ROW(name_, tr, dir, kind_, msg, queue, unit_, cpus_, run_, impl_)                  \
    {.name = name_, .transport = tr, .direction = dir, .kind = kind_, .msg_size = msg,         \
     .queue_size = queue, .unit = unit_, .cpus = cpus_, .run = run_, .impl = impl_}

#define BENCH_TPUT_ROW(tr, label, dir, size, queue, cpus, run, impl)                          \
    BENCH_ROW(tr "/" label "/" #size, tr, dir, BENCH_THROUGHPUT, size, queue, NULL, cpus, run, \
              impl)

/* One throughput row per standard write size: 64 B, 1 KiB, 4 KiB, 64 KiB, 1 MiB. */
#define BENCH_SIZES(tr, label, dir, queue, cpus, run, impl)             \
    BENCH_TPUT_ROW(tr, label, dir, 64, queue, cpus, run, impl),         \
        BENCH_TPUT_ROW(tr, label, dir, 1024, queue, cpus, run, impl),   \
        BENCH_TPUT_ROW(tr, label, dir, 4096, queue, cpus, run, impl),   \
        BENCH_TPUT_ROW(tr, label, dir, 65536, queue, cpus, run, impl),  \
        BENCH_TPUT_ROW(tr, label, dir, 1048576, queue, cpus, run, impl)

/* A byte channel's throughput, writer and reader each on its own CPU (the reference
 * placement), and with both on one CPU (no cross-CPU wake-up, but no parallel copies). */
#define BENCH_CHAN_TPUT_ROWS(tr, dir, queue, ops) \
    BENCH_SIZES(tr, "tput", dir, queue, 2, bench_chan_throughput, ops)
#define BENCH_CHAN_TPUT_1CPU_ROWS(tr, dir, queue, ops) \
    BENCH_SIZES(tr, "tput-1cpu", dir, queue, 1, bench_chan_throughput, ops)

/* 1-byte ping-pong with the two sides on two CPUs, and on one CPU. */
#define BENCH_RTT_ROW(tr, queue, impl)                                              \
    BENCH_ROW(tr "/rtt/1", tr, "round-trip", BENCH_LATENCY, 1, queue, NULL, 2,      \
              bench_chan_roundtrip, impl)
#define BENCH_RTT_1CPU_ROW(tr, queue, impl)                                         \
    BENCH_ROW(tr "/rtt-1cpu/1", tr, "round-trip", BENCH_LATENCY, 1, queue, NULL, 1, \
              bench_chan_roundtrip, impl)

/* Simulated threads are the simulator's own pthreads: the kernel places them. */
#define BENCH_RATE_ROW(tr, variant, dir, unit, run, impl) \
    BENCH_ROW(tr "/rate/" variant, tr, dir, BENCH_RATE, 0, 0, unit, 0, run, impl)

static const struct bench_case cases[] = {
    /* Throughput. Queue 0 keeps each kernel transport's default; the ring gets VMCI's default
     * queue-pair size. memcpy is one thread, unpinned. The spinning ring has no one-CPU rows:
     * there its spin only burns the time slice its peer needs. */
    BENCH_CHAN_TPUT_ROWS("unix-socketpair", "one-way", 0, &bench_chan_socketpair),
    BENCH_CHAN_TPUT_ROWS("pipe", "one-way", 0, &bench_chan_pipe),
    BENCH_CHAN_TPUT_ROWS("tcp-loopback", "one-way", 0, &bench_chan_tcp),
    BENCH_CHAN_TPUT_ROWS("spsc-ring", "one-way", 262144, &bench_chan_spsc),
    BENCH_SIZES("memcpy", "tput", "copy", 0, 0, bench_memcpy_run, NULL),
    /* The simulator: the bare queue-pair ring, then the full sockets shim both ways, other queue
     * sizes, and 2/4/8 parallel connections (x1 is the 64 KiB guest->host row). */
    BENCH_CHAN_TPUT_ROWS("vmci-ring", "one-way", 262144, &bench_chan_vmci_ring),
    BENCH_SIZES("vmci-stream", "tput-g2h", "guest->host", 262144, 2, bench_vmci_stream_run,
                &bench_vmci_g2h),
    BENCH_SIZES("vmci-stream", "tput-h2g", "host->guest", 262144, 2, bench_vmci_stream_run,
                &bench_vmci_h2g),
    /* The same stream between two exec'd programs (issue 12): compare with the 64 KiB
     * vmci-stream/tput-g2h row; the programs are processes, placed by the kernel. */
    BENCH_TPUT_ROW("vmci-exec", "tput-g2h", "guest->host", 65536, 262144, 0,
                   bench_exec_stream_run, NULL),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-q64k", "guest->host", 4096, 65536, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-q64k", "guest->host", 65536, 65536, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-q1m", "guest->host", 4096, 1048576, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-q1m", "guest->host", 65536, 1048576, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-x2", "guest->host x2", 65536, 262144, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h_x2),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-x4", "guest->host x4", 65536, 262144, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h_x4),
    BENCH_TPUT_ROW("vmci-stream", "tput-g2h-x8", "guest->host x8", 65536, 262144, 2,
                   bench_vmci_stream_run, &bench_vmci_g2h_x8),
    BENCH_CHAN_TPUT_1CPU_ROWS("unix-socketpair", "one-way", 0, &bench_chan_socketpair),
    BENCH_CHAN_TPUT_1CPU_ROWS("pipe", "one-way", 0, &bench_chan_pipe),
    BENCH_CHAN_TPUT_1CPU_ROWS("tcp-loopback", "one-way", 0, &bench_chan_tcp),

    /* Latency: 1-byte ping-pong between two threads. */
    BENCH_RTT_ROW("unix-socketpair", 0, &bench_chan_socketpair),
    BENCH_RTT_ROW("pipe", 0, &bench_chan_pipe),
    BENCH_RTT_ROW("tcp-loopback", 0, &bench_chan_tcp),
    BENCH_RTT_ROW("spsc-ring", 262144, &bench_chan_spsc),
    BENCH_RTT_ROW("vmci-ring", 262144, &bench_chan_vmci_ring),
    BENCH_ROW("vmci-stream/rtt/1", "vmci-stream", "round-trip", BENCH_LATENCY, 1, 262144, NULL, 2,
              bench_vmci_rtt_run, NULL),
    BENCH_RTT_1CPU_ROW("unix-socketpair", 0, &bench_chan_socketpair),
    BENCH_RTT_1CPU_ROW("pipe", 0, &bench_chan_pipe),
    BENCH_RTT_1CPU_ROW("tcp-loopback", 0, &bench_chan_tcp),

    /* Datagrams delivered per second, guest -> host. */
    BENCH_ROW("vmci-dgram/rate/64", "vmci-dgram", "guest->host", BENCH_RATE, 64, 0, "msgs/s", 2,
              bench_vmci_dgram_run, NULL),
    BENCH_ROW("vmci-dgram/rate/4096", "vmci-dgram", "guest->host", BENCH_RATE, 4096, 0, "msgs/s",
              2, bench_vmci_dgram_run, NULL),

    /* The simulator's deterministic scheduler. */
    BENCH_RATE_ROW("vmcisim-sched", "points-1thread", "1-thread", "points/s", bench_sched_run,
                   &bench_sched_points_1),
    BENCH_RATE_ROW("vmcisim-sched", "switches-2threads", "2-threads", "switches/s",
                   bench_sched_run, &bench_sched_switch_2),
    BENCH_RATE_ROW("vmcisim-sched", "switches-4threads", "4-threads", "switches/s",
                   bench_sched_run, &bench_sched_switch_4),
    /* Deterministic mode (issue 13): a switch next to the futex floor on one CPU, then whole
     * runs of the shipped suite and of the 64-VM x 100-connection x 1 MiB world. */
    BENCH_ROW("futex-handoff/switch-1cpu", "futex-handoff", "1-cpu", BENCH_LATENCY, 0, 0, NULL,
              1, bench_futex_handoff_run, NULL),
    BENCH_ROW("vmcisim-det/switch-1cpu", "vmcisim-det", "1-cpu", BENCH_LATENCY, 0, 0, NULL, 1,
              bench_det_switch_run, NULL),
    BENCH_RATE_ROW("vmcisim-det", "suite", "suite", "runs/min", bench_det_suite_run,
                   &bench_det_suite),
    BENCH_ROW("vmcisim-det/run/big_64x100", "vmcisim-det", "64x100x1MiB", BENCH_LATENCY, 0, 0,
              NULL, 1, bench_det_suite_run, &bench_det_big),
};

size_t bench_case_count(void) { return sizeof cases / sizeof cases[0]; }

const struct bench_case *bench_case_at(size_t i)
{
    return i < bench_case_count() ? &cases[i] : NULL;
}

int bench_case_matches(const struct bench_case *bc, const char *word)
{
    return !word || !*word || strstr(bc->name, word) || strstr(bc->transport, word);
}

const char *bench_kind_name(enum bench_kind k)
{
    switch (k) {
    case BENCH_THROUGHPUT:
        return "throughput";
    case BENCH_LATENCY:
        return "latency";
    case BENCH_RATE:
        return "rate";
    }
    return "?";
}
