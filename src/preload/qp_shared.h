/*
 * qp_shared.h - the layout of a queue's memory when it is shared with exec'd programs, as both
 * the world (src/vmci/qp_queue.c, which allocates it) and a program (src/preload/fast.c, which
 * maps it) see it. Header only: the preload library links nothing of the simulator.
 *
 * A shared queue is one memfd: a header page, then the ring. The header page holds the queue
 * header of vmci-semantics.md §4.1 (handle, producer tail, consumer head) at offset 0, and then
 * two parts, 128 bytes apart so that each end writes a cache line of its own: part PROD is the
 * producer's (its gate, the world's sleepers waiting for its data, its program's counts), part
 * CONS the consumer's. The world keeps everything it dereferences (pins, the sleepers
 * themselves) in its own memory: what a program writes here is only ever read as numbers.
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
#define QP_SHM_PART_GATE 0u         /* uint32_t, QP_GATE_*: written by the world */
#define QP_SHM_PART_SLEEPERS 4u     /* uint32_t: threads of the world asleep on this end's next
                                       move (data for PROD, room for CONS), written by the
                                       world: a program's move tells it while it is not 0 */
#define QP_SHM_PART_PROGRAM 8u      /* uint32_t: 1 when this end is a program's that moves
                                       bytes itself and keeps PART_AWAY (set by the program) */
#define QP_SHM_PART_AWAY 12u        /* uint32_t: the program's threads in calls to the world
                                       that may wait (a send or receive, any poll/select/epoll
                                       wait). While it is 0, nobody of that end can be waiting
                                       in the world for a WROTE or a READ: the other end's
                                       program skips telling the world of a move that would only
                                       send one (fast.c) */

#define QP_GATE_OPEN 1u             /* the end may enqueue (PROD) / dequeue (CONS) itself */
#define QP_GATE_NOTIFY 2u           /* ...but must tell the world after each move: the peer
                                       waits for a notification (vmci-semantics.md §4.7) */
#define QP_GATE_NONBLOCK 4u         /* the socket is non-blocking (O_NONBLOCK): a move that
                                       finds nothing to do goes to the world at once */

#endif
