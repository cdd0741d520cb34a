/*
 * addrwait.c - wait queues keyed by an address of the program: the mutexes, condition
 * variables and semaphores that simulated threads block on (src/posix/sync.c, sem.c).
 *
 * A program's pthread_mutex_t has no room for a simulated wait queue, so the queues live in a
 * side table of the world, looked up by the object's address. The table is only ever looked up,
 * never iterated, so the order of addresses (which differs from run to run) cannot reach the
 * schedule. An entry exists while a thread waits on it and is freed when its queue empties.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "sim/alloc.h"
#include "sim/world_internal.h"

#define ADDR_BUCKETS 1024u

struct addr_entry {
    const void *addr;
    sim_waitq q;
    struct addr_entry *next;
};

struct addr_table {
    struct addr_entry *bucket[ADDR_BUCKETS];
};

static size_t bucket_of(const void *addr)
{
    uint64_t x = (uint64_t)(uintptr_t)addr;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)(x % ADDR_BUCKETS);
}

static struct addr_entry **slot_of(struct addr_table *tb, const void *addr)
{
    struct addr_entry **pp = &tb->bucket[bucket_of(addr)];
    while (*pp && (*pp)->addr != addr)
        pp = &(*pp)->next;
    return pp;
}

/* Drop the entry at *pp if nobody waits on it any more. */
static void drop_if_empty(struct addr_entry **pp)
{
    struct addr_entry *e = *pp;
    if (e && sim_waitq_empty(&e->q)) {
        *pp = e->next;
        free(e);
    }
}

int sim_addr_wait(vmcisim *sim, const void *addr, uint64_t deadline, const char *what)
{
    if (!sim->addrs) {
        sim->addrs = vmcisim_calloc(1, sizeof *sim->addrs);
        if (!sim->addrs)
            return ETIMEDOUT; /* cannot queue: the caller retries as after a wake-up */
    }
    struct addr_entry **pp = slot_of(sim->addrs, addr);
    if (!*pp) {
        struct addr_entry *e = vmcisim_calloc(1, sizeof *e);
        if (!e)
            return ETIMEDOUT;
        e->addr = addr;
        *pp = e;
    }
    struct addr_entry *e = *pp;
    int rc = sim_wait(&e->q, deadline, what);
    /* The table may have changed while we slept; find the entry again. */
    drop_if_empty(slot_of(sim->addrs, addr));
    return rc;
}

void sim_addr_wake(vmcisim *sim, const void *addr, bool all)
{
    if (!sim->addrs)
        return;
    struct addr_entry **pp = slot_of(sim->addrs, addr);
    if (!*pp)
        return;
    if (all)
        sim_wake_all(&(*pp)->q);
    else
        sim_wake_one(&(*pp)->q);
    drop_if_empty(pp);
}

unsigned sim_addr_waiters(const vmcisim *sim)
{
    /* A read-modify-write, not a load: ordered after the caller's unlock like a full barrier
     * (and one ThreadSanitizer understands, unlike a fence). */
    return __atomic_fetch_add((unsigned *)&sim->addr_waiters, 0u, __ATOMIC_SEQ_CST);
}

void sim_addr_waiters_add(vmcisim *sim, int delta)
{
    __atomic_add_fetch(&sim->addr_waiters, (unsigned)delta, __ATOMIC_SEQ_CST);
}

void sim_addrs_free(vmcisim *sim)
{
    if (!sim->addrs)
        return;
    for (size_t i = 0; i < ADDR_BUCKETS; i++) {
        struct addr_entry *e = sim->addrs->bucket[i];
        while (e) {
            struct addr_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(sim->addrs);
    sim->addrs = NULL;
}
