/*
 * chan.h - a two-ended byte channel, and the shared harness that measures any of them.
 *
 * Every byte-stream transport (pipe pair, socketpair, TCP loopback, the bare SPSC ring, later
 * the VMCI streams) is opened as one channel with two ends, 0 and 1, each driven by its own
 * thread. Bytes sent on one end are received on the other. The harness then measures all of
 * them the same way: same buffers, same thread layout, same clock.
 */
#ifndef VMCISIM_BENCH_CHAN_H
#define VMCISIM_BENCH_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

struct bench_chan;

struct bench_chan_ops {
    /* Open both ends; queue_size 0 keeps the transport's default. Fills ch->queue_size with
     * the capacity in effect per direction (0 when unknown, e.g. autotuned). 0 or -1 + errno. */
    int (*open)(struct bench_chan *ch, size_t queue_size);
    /* Send up to n bytes from `end`, blocking until at least one byte is accepted.
     * Returns bytes accepted (> 0) or -1 with errno. */
    ssize_t (*send)(struct bench_chan *ch, int end, const void *buf, size_t n);
    /* Receive up to n bytes on `end`, blocking until at least one is there. Returns bytes
     * (> 0), 0 once the peer hung up and everything was read, or -1 with errno. */
    ssize_t (*recv)(struct bench_chan *ch, int end, void *buf, size_t n);
    /* `end` will send nothing more: its peer's recv returns 0 once drained. The harness calls
     * it when a thread stops early (an error), so that its peer never waits forever. */
    void (*hangup)(struct bench_chan *ch, int end);
    void (*close)(struct bench_chan *ch);
};

struct bench_chan {
    const struct bench_chan_ops *ops;
    size_t queue_size;
    int rfd[2], wfd[2];   /* file-descriptor transports: what each end reads and writes */
    void *impl;           /* other transports' state */
};

/* The transports of the machine (chan_fd.c, spsc_ring.c). */
extern const struct bench_chan_ops bench_chan_pipe;
extern const struct bench_chan_ops bench_chan_socketpair;
extern const struct bench_chan_ops bench_chan_tcp;
extern const struct bench_chan_ops bench_chan_spsc;
extern const struct bench_chan_ops bench_chan_vmci_ring; /* vmci_bench.c */

/* The harness (harness.c). bc->impl is the channel's ops. */
int bench_chan_throughput(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen);
int bench_chan_roundtrip(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen);

#endif
