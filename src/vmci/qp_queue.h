/*
 * qp_queue.h - the memory of a queue pair and the ring arithmetic on it (vmci-semantics.md
 * §§4.1-4.2).
 *
 * A queue pair is two queues; each is a header page plus `size` bytes of ring. An endpoint
 * produces into one queue and consumes from the other; its produce queue is the peer's consume
 * queue. Each endpoint writes only the header of its own produce queue:
 *   produce.hdr->producer_tail  next write offset in my produce queue
 *   produce.hdr->consumer_head  next read offset in my consume queue
 * so the head of my produce queue is in the peer's produce header (= my consume header):
 *   free_space(P) uses P.tail = produce.hdr->producer_tail, P.head = consume.hdr->consumer_head
 *   ready(C)      uses C.tail = consume.hdr->producer_tail, C.head = produce.hdr->consumer_head
 * Capacity is size - 1 (one byte kept free so that tail == head means empty).
 *
 * The header fields are published with C11-style atomics (release on store after the data
 * copy, acquire on load before the data copy), so the two endpoints may run on different
 * threads at once (realtime mode) with no lock on the data path.
 */
#ifndef VMCISIM_QP_QUEUE_H
#define VMCISIM_QP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmci/vmci_defs.h"

struct qp_header {
    vmci_handle handle;
    uint64_t producer_tail;   /* accessed only through __atomic builtins */
    uint64_t consumer_head;
};

/* One queue's memory: header + data, `size` bytes of ring. */
struct qp_header_mem;
struct qp_queue {
    struct qp_header_mem *mem; /* the world's own part (qp_queue.c) */
    struct qp_header *hdr;
    uint8_t *data;
    uint64_t size;
    int shm_fd;          /* shared queue (qp_shared.h): its memfd; else -1 */
    size_t shm_len;      /* shared queue: the mapping's length */
};

/* An endpoint's view of a pair. */
struct qp_view {
    struct qp_queue produce;
    struct qp_queue consume;
};

/* Copies n bytes; returns 0, or -1 if a user buffer was bad (nothing is published then). */
typedef int (*qp_copy_fn)(void *dst, const void *src, size_t n);

/* Allocate one queue (header + size bytes, zeroed) / free it. NULL on allocation failure.
 * shared: in a memfd that exec'd programs can map (src/preload/qp_shared.h). */
struct qp_queue *qp_queue_alloc(uint64_t size, vmci_handle handle, bool shared);
void qp_queue_free(struct qp_queue *q);

/* Arithmetic (§4.2). Each returns a byte count >= 0 or VMCI_ERROR_INVALID_SIZE when a header
 * pointer is out of range (a corrupt header never leads to an out-of-bounds copy). */
int64_t qp_produce_free_space(const struct qp_view *v);
int64_t qp_produce_buf_ready(const struct qp_view *v);
int64_t qp_consume_free_space(const struct qp_view *v);
int64_t qp_consume_buf_ready(const struct qp_view *v);

/* Enqueue up to len bytes into the produce queue: copies min(free, len), then publishes the
 * new tail. Returns bytes written, VMCI_ERROR_QUEUEPAIR_NOSPACE when full, VMCI_ERROR_INVALID_SIZE
 * for a corrupt header, VMCI_ERROR_INVALID_ARGS when copy failed (nothing published). */
int64_t qp_enqueue(struct qp_view *v, const void *buf, size_t len, qp_copy_fn copy);
/* Dequeue (or peek, which does not move the head) up to len bytes from the consume queue.
 * Returns bytes read or VMCI_ERROR_QUEUEPAIR_NODATA when empty (and the errors above). */
int64_t qp_dequeue(struct qp_view *v, void *buf, size_t len, qp_copy_fn copy);
int64_t qp_peek(struct qp_view *v, void *buf, size_t len, qp_copy_fn copy);

/* Pins (realtime data path). A copy into or out of a queue may run outside the world lock;
 * while it does, the memory must stay: the copier pins both queues of its view (under the lock,
 * where the view was found valid), copies, unpins, and only then takes the lock again.
 * qp_queue_free waits until no pin is left, so a detach or power-off that frees the memory meanwhile
 * (holding the world lock) waits at most one copy, and the copier never needs the lock to finish. */
void qp_view_pin(const struct qp_view *v);
void qp_view_unpin(const struct qp_view *v);

/* Doorbells (realtime direct wake-ups). A thread about to sleep until a queue has data (its
 * consumer: QP_WAIT_DATA) or room (its producer: QP_WAIT_ROOM) registers in the queue's shared
 * header with qp_waiter_arm, holding a pin; the other end, right after it publishes a new tail
 * (qp_enqueue) or head (qp_dequeue), takes the registered thread and wakes it
 * (sim_wake_direct), without the world lock, before it sends WROTE/READ: the notification
 * packets stay the protocol, the doorbell is only how the sleeper learns of the change first.
 * One sleeper per queue and direction; a second one finds the slot taken and sleeps the old way.
 * The arm/publish pair is a Dekker handshake (a seq_cst fence on each side), so a change made
 * while the sleeper arms is either seen by its re-check or wakes it. qp_queue_free wakes any
 * registered sleeper before it waits for the pins to go. */
enum qp_wait_kind { QP_WAIT_DATA, QP_WAIT_ROOM };
struct sim_thread;
/* Registers t on the queue it waits on (v's consume queue for DATA, its produce queue for ROOM),
 * pins that queue, and re-checks: returns 1 when t is registered (and holds the pin), 0 when the
 * condition already holds, -1 when another thread holds the slot (neither: nothing held). Under
 * the world lock. */
int qp_waiter_arm(const struct qp_view *v, enum qp_wait_kind k, struct sim_thread *t);
/* After an arm that returned 1: unregisters t if no waker took it meanwhile, drops the pin.
 * Needs no lock. */
void qp_waiter_disarm(const struct qp_view *v, enum qp_wait_kind k, struct sim_thread *t);

/* Shared queues: this end's gates (QP_GATE_*, for its produce and its consume queue; unshared
 * queues are left alone), and a doorbell rung from outside an enqueue or dequeue (after a move an
 * exec'd program made itself: data for the peer's reader, room for its writer). */
void qp_gate_set(const struct qp_view *v, uint32_t produce_gate, uint32_t consume_gate);
void qp_ring_bell(const struct qp_view *v, enum qp_wait_kind k);

/* memcpy with the qp_copy_fn signature, for kernel-side callers. */
int qp_copy_plain(void *dst, const void *src, size_t n);

#endif
