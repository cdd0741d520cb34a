/*
 * spsc_ring.h - a bare single-producer single-consumer byte ring between two threads.
 *
 * It is the floor under any shared-memory queue: no system call while both sides keep up, one
 * copy in and one copy out, like a VMCI queue pair without the hypervisor. Capacity semantics
 * are a VMCI queue's: indices run in [0, size), the queue is full at size - 1 bytes (one byte
 * stays free so that equal indices mean empty).
 *
 * Waiting is spin-then-futex: a blocked side first polls the peer's index for up to 50 us (a
 * peer on the other core usually moves within that), then sleeps on a futex word that the peer
 * wakes after publishing. Both sides pair a seq_cst fence after "I publish" / "I will
 * sleep" so a wake-up can never be lost.
 */
#ifndef VMCISIM_BENCH_SPSC_RING_H
#define VMCISIM_BENCH_SPSC_RING_H

#include <stddef.h>
#include <sys/types.h>

struct spsc_ring;

struct spsc_ring *spsc_ring_create(size_t size);   /* NULL + errno; size >= 2 */
void spsc_ring_destroy(struct spsc_ring *r);
size_t spsc_ring_size(const struct spsc_ring *r);

/* Producer: copy in up to n bytes (as many as fit), waiting until at least one fits. */
ssize_t spsc_ring_write(struct spsc_ring *r, const void *buf, size_t n);
/* Consumer: copy out up to n bytes, waiting until at least one is there; 0 once the producer
 * hung up and the ring is empty. */
ssize_t spsc_ring_read(struct spsc_ring *r, void *buf, size_t n);
/* Producer: no more data will come. */
void spsc_ring_hangup(struct spsc_ring *r);

#endif
