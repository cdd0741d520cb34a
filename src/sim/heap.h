/*
 * heap.h - the one min-heap of src/sim: deadlines of waiting threads (sched.c) and of event-loop
 * timers (loop.c). Nodes are embedded in what they order and know their own position, so removal
 * from the middle is O(log n). Order: (key, tie), and every user makes tie unique (thread id,
 * arming sequence), so the minimum never depends on the heap's shape: pops come in one order.
 */
#ifndef VMCISIM_SIM_HEAP_H
#define VMCISIM_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_HEAP_NONE SIZE_MAX

struct sim_heap_node {
    uint64_t key;              /* the deadline */
    uint64_t tie;              /* unique among the heap's nodes */
    size_t idx;                /* position, or SIM_HEAP_NONE when not in a heap */
};

struct sim_heap {
    struct sim_heap_node **a;
    size_t len, cap;
};

static inline bool sim_heap_node_in(const struct sim_heap_node *n) { return n->idx != SIM_HEAP_NONE; }
static inline struct sim_heap_node *sim_heap_min(const struct sim_heap *h)
{
    return h->len ? h->a[0] : NULL;
}
int sim_heap_push(struct sim_heap *h, struct sim_heap_node *n);   /* 0, or -1: no memory */
void sim_heap_remove(struct sim_heap *h, struct sim_heap_node *n); /* no-op if not in */
void sim_heap_free(struct sim_heap *h);

#endif
