/*
 * xp_doorbell.h - the wake-up of a channel (exec_proto.h): a futex on a sequence word in the
 * shared area, one word per direction, used by both ends (the preload library in the child and
 * src/exec in the world).
 *
 * Why a futex and not a byte on the socket: a socket wake-up costs two socket operations and
 * the socket layer's wake-up path per direction; a futex handoff is one atomic add, and a
 * FUTEX_WAKE only when the other side has said it sleeps (its `sleeping` word). The area is a
 * MAP_SHARED memfd mapped in both processes, so the futex calls are the shared (not
 * FUTEX_PRIVATE_FLAG) ones: the kernel keys them on the page, not on the address space.
 *
 * The waiting side sleeps with a timeout so that it can look for the other side's death (the
 * socket, which stays for descriptor passing, reads end of file then); see the callers.
 *
 * Plain C, no dependency on the simulator.
 */
#ifndef VMCISIM_XP_DOORBELL_H
#define VMCISIM_XP_DOORBELL_H

#include <linux/futex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Advances *seq (the request or the reply is complete in the area: release) and wakes the
 * other side if it sleeps. The add and the load of *sleeping are sequentially consistent, as
 * are the waiter's store of *sleeping and its load of *seq: one of the two sides sees the
 * other's write, so a sleep never misses its wake-up. */
static inline void xp_ring_by(uint32_t *seq, uint32_t *sleeping, uint32_t by)
{
    __atomic_add_fetch(seq, by, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(sleeping, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline void xp_ring(uint32_t *seq, uint32_t *sleeping)
{
    __atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(sleeping, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Waits until *seq differs from seen, at most about ms milliseconds (then false: the caller
 * looks for the other side's death and waits again). Acquire: the area's contents written
 * before the ring are visible once this returns true. */
static inline bool xp_await(uint32_t *seq, uint32_t *sleeping, uint32_t seen, long ms)
{
    if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) != seen)
        return true;
    __atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(seq, __ATOMIC_SEQ_CST) == seen) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        /* returns at a wake, at the timeout, on a signal, or at once if *seq moved (EAGAIN) */
        syscall(SYS_futex, seq, FUTEX_WAIT, seen, &ts, NULL, 0);
    }
    __atomic_store_n(sleeping, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(seq, __ATOMIC_ACQUIRE) != seen;
}

#endif
