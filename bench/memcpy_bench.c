/*
 * memcpy_bench.c - the floor under every transport: one thread, one copy per byte, no sharing.
 *
 * Source and destination are two buffers of the same working set, cut into msg_size slots;
 * copy i goes from source slot i to destination slot i, cycling through the set. The working
 * set is VMCI's default queue-pair size (256 KiB, or the message when larger), the footprint a
 * queue pair copies through, so the data lives in the core's L2 as a queue's would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "clock.h"

#define WORKING_SET 262144u

int bench_memcpy_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                     char *err, size_t errlen)
{
    size_t msg = bc->msg_size;
    size_t slots = msg >= WORKING_SET ? 1 : WORKING_SET / msg;
    size_t set = slots * msg;
    unsigned char *src = malloc(set), *dst = malloc(set);
    if (!src || !dst) {
        free(src);
        free(dst);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(src, 0xa5, set);
    memset(dst, 0, set);

    uint64_t t0 = bench_now_ns();
    size_t slot = 0;
    for (uint64_t done = 0; done < work;) {
        size_t n = work - done < msg ? (size_t)(work - done) : msg;
        memcpy(dst + slot * msg, src + slot * msg, n);
        /* The copy must happen: tell the compiler dst is read behind its back. */
        __asm__ __volatile__("" : : "r"(dst) : "memory");
        done += n;
        if (++slot == slots)
            slot = 0;
    }
    uint64_t t1 = bench_now_ns();

    free(src);
    free(dst);
    out->seconds = t1 > t0 ? (double)(t1 - t0) / 1e9 : 1e-9;
    out->value = (double)work / out->seconds;
    out->queue_size = 0;
    return 0;
}
