/*
 * qp_shared.h - the layout of a queue's memory when it is shared with exec'd programs, as both
 * the world (src/vmci/qp_queue.c, which allocates it) and a program (src/preload/fast.c, which
 * maps it) see it. Header only: the preload library links nothing of the simulator.
 *
 * A shared queue is one memfd: a header page, then the ring. The header page holds the queue
 * header of vmci-semantics.md §4.1 (handle, producer tail, consumer head) at offset 0, and then
 * two parts of the simulator's own, 128 bytes apart so that each end writes a cache line of its
 * own: part PROD is the producer's (its copies' pins, the consumer asleep until there is data,
 * the producer's gate), part CONS the consumer's (pins, the producer asleep until there is
 * room, the consumer's gate).
 *
 * A gate says whether the end's program may move bytes through the ring itself, without a call
 * into the world (realtime mode only): the world opens it while an in-process call would do
 * nothing but copy (the socket is connected, no error, no shutdown, nothing observes the
 * payload), and closes it, before anything else, on every change of the socket's state.
 */
#ifndef VMCISIM_QP_SHARED_H
#define VMCISIM_QP_SHARED_H

#include <stdint.h>

#define QP_SHM_HDR_BYTES 4096u      /* the header page; the ring follows it */

#define QP_SHM_OFF_TAIL 8u          /* uint64_t producer_tail */
#define QP_SHM_OFF_HEAD 16u         /* uint64_t consumer_head */
#define QP_SHM_OFF_PART 128u        /* part PROD; part CONS at + QP_SHM_PART_BYTES */
#define QP_SHM_PART_BYTES 128u
/* within a part */
#define QP_SHM_PART_PINS 0u         /* uint32_t */
#define QP_SHM_PART_GATE 4u         /* uint32_t, QP_GATE_* */
#define QP_SHM_PART_WAITER 8u       /* pointer-sized: a world thread asleep on this end's next
                                       move (data for PROD, room for CONS), or 0 */
#define QP_SHM_PART_PROGRAM 16u     /* uint32_t: 1 when this end is a program's that moves
                                       bytes itself and keeps PART_AWAY (set by the program) */
#define QP_SHM_PART_AWAY 20u        /* uint32_t: the program's threads in calls to the world
                                       that may wait on this end (a receive for CONS, a send
                                       for PROD, any poll/select/epoll wait for both). While it
                                       is 0, nobody of that end can be waiting for a WROTE or a
                                       READ: the other end's program skips telling the world of
                                       a move that would only send one (see fast.c) */

#define QP_GATE_OPEN 1u             /* the end may enqueue (PROD) / dequeue (CONS) itself */
#define QP_GATE_NOTIFY 2u           /* ...but must tell the world after each move: the peer
                                       waits for a notification (vmci-semantics.md §4.7) */
#define QP_GATE_NONBLOCK 4u         /* the socket is non-blocking (O_NONBLOCK): a move that
                                       finds nothing to do goes to the world at once */

#endif
