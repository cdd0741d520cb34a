/*
 * spsc_ring.c - the bare two-thread byte ring (see spsc_ring.h), and the bench channel made of
 * two of them, one per direction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan.h"
#include "clock.h"
#include "spsc_ring.h"

/* How long a blocked side polls before it sleeps. Spinning for about what a sleep plus a
 * wake-up costs is the classic spin-then-block rule: never worse than twice the better of the
 * two. On this benchmark's reference machine (a KVM guest whose idle vCPUs halt at once) a
 * futex wake-up of a thread on the other, idle vCPU costs ~40 us; 50 us also covers a peer
 * copying a whole 256 KiB queue. Measured in time, not in PAUSE rounds: PAUSE takes 10 ns on
 * one CPU and 40 ns on the next. */
#define SPSC_SPIN_NS 50000u
#define SPSC_CLOCK_EVERY 32u   /* PAUSE rounds between two looks at the clock */

/* VMCI's default queue-pair size for a vSocket stream (each direction). */
#define SPSC_DEFAULT_SIZE 262144u

#define CACHELINE 64

struct spsc_ring {
    /* Each index on its own line: the producer writes tail, the consumer writes head, and
     * neither should invalidate the other's line more than the data itself requires. */
    alignas(CACHELINE) atomic_size_t tail;   /* next byte the producer writes */
    alignas(CACHELINE) atomic_size_t head;   /* next byte the consumer reads */
    alignas(CACHELINE) atomic_uint data_wait;  /* futex: 1 while the consumer sleeps */
    alignas(CACHELINE) atomic_uint space_wait; /* futex: 1 while the producer sleeps */
    atomic_int hung_up;
    size_t size;
    unsigned char *buf;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void futex_wait(atomic_uint *w, unsigned val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static size_t used_bytes(const struct spsc_ring *r, size_t tail, size_t head)
{
    return tail >= head ? tail - head : r->size - head + tail;
}

/* After publishing an index: wake the peer if it went to sleep. The fence pairs with the one in
 * sleep_until(): either the sleeper sees our index, or we see its flag. */
static void wake_peer(atomic_uint *flag)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(flag, memory_order_relaxed) &&
        atomic_exchange_explicit(flag, 0, memory_order_relaxed))
        futex_wake(flag);
}

/* ready(r) re-reads the peer's index (acquire). Spin, then sleep on `flag` until it holds. */
static void sleep_until(struct spsc_ring *r, atomic_uint *flag, int (*ready)(struct spsc_ring *))
{
    uint64_t until = 0;
    for (unsigned i = 1;; i++) {
        if (ready(r))
            return;
        cpu_relax();
        if (i % SPSC_CLOCK_EVERY == 0) {
            uint64_t now = bench_now_ns();
            if (!until)
                until = now + SPSC_SPIN_NS;
            else if (now >= until)
                break;
        }
    }
    for (;;) {
        atomic_store_explicit(flag, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (ready(r)) {
            atomic_store_explicit(flag, 0, memory_order_relaxed);
            return;
        }
        futex_wait(flag, 1); /* returns at once if the peer already cleared the flag */
    }
}

static int has_space(struct spsc_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return used_bytes(r, tail, head) < r->size - 1;
}

static int has_data(struct spsc_ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return tail != head || atomic_load_explicit(&r->hung_up, memory_order_acquire);
}

struct spsc_ring *spsc_ring_create(size_t size)
{
    if (size < 2) {
        errno = EINVAL;
        return NULL;
    }
    struct spsc_ring *r = aligned_alloc(CACHELINE, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->buf = malloc(size);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    memset(r->buf, 0, size); /* fault every page in now, not during a measurement */
    r->size = size;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->data_wait, 0);
    atomic_init(&r->space_wait, 0);
    atomic_init(&r->hung_up, 0);
    return r;
}

void spsc_ring_destroy(struct spsc_ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t spsc_ring_size(const struct spsc_ring *r) { return r->size; }

ssize_t spsc_ring_write(struct spsc_ring *r, const void *buf, size_t n)
{
    if (n == 0)
        return 0;
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t space = r->size - 1 - used_bytes(r, tail, head);
    if (space == 0) {
        sleep_until(r, &r->space_wait, has_space);
        head = atomic_load_explicit(&r->head, memory_order_acquire);
        space = r->size - 1 - used_bytes(r, tail, head);
    }
    if (n > space)
        n = space;
    /* The copy in: up to the end of the buffer, then the rest from its start. */
    size_t first = r->size - tail < n ? r->size - tail : n;
    memcpy(r->buf + tail, buf, first);
    memcpy(r->buf, (const unsigned char *)buf + first, n - first);
    size_t nt = tail + n;
    atomic_store_explicit(&r->tail, nt >= r->size ? nt - r->size : nt, memory_order_release);
    wake_peer(&r->data_wait);
    return (ssize_t)n;
}

ssize_t spsc_ring_read(struct spsc_ring *r, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (tail == head) {
        sleep_until(r, &r->data_wait, has_data);
        tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (tail == head)
            return 0; /* hung up and drained */
    }
    size_t avail = used_bytes(r, tail, head);
    if (n > avail)
        n = avail;
    size_t first = r->size - head < n ? r->size - head : n;
    memcpy(buf, r->buf + head, first);
    memcpy((unsigned char *)buf + first, r->buf, n - first);
    size_t nh = head + n;
    atomic_store_explicit(&r->head, nh >= r->size ? nh - r->size : nh, memory_order_release);
    wake_peer(&r->space_wait);
    return (ssize_t)n;
}

void spsc_ring_hangup(struct spsc_ring *r)
{
    atomic_store_explicit(&r->hung_up, 1, memory_order_release);
    wake_peer(&r->data_wait);
}

/* ---- the channel: ring[0] carries end 0 -> end 1, ring[1] carries end 1 -> end 0 ---------- */

static int spsc_open(struct bench_chan *ch, size_t queue_size)
{
    size_t size = queue_size ? queue_size : SPSC_DEFAULT_SIZE;
    struct spsc_ring **rings = calloc(2, sizeof *rings);
    if (!rings)
        return -1;
    rings[0] = spsc_ring_create(size);
    rings[1] = rings[0] ? spsc_ring_create(size) : NULL;
    if (!rings[1]) {
        int e = errno;
        spsc_ring_destroy(rings[0]);
        free(rings);
        errno = e;
        return -1;
    }
    ch->rfd[0] = ch->rfd[1] = ch->wfd[0] = ch->wfd[1] = -1;
    ch->impl = rings;
    ch->queue_size = size;
    return 0;
}

static ssize_t spsc_send(struct bench_chan *ch, int end, const void *buf, size_t n)
{
    struct spsc_ring **rings = ch->impl;
    return spsc_ring_write(rings[end], buf, n);
}

static ssize_t spsc_recv(struct bench_chan *ch, int end, void *buf, size_t n)
{
    struct spsc_ring **rings = ch->impl;
    return spsc_ring_read(rings[1 - end], buf, n);
}

static void spsc_hangup(struct bench_chan *ch, int end)
{
    struct spsc_ring **rings = ch->impl;
    spsc_ring_hangup(rings[end]);
}

static void spsc_close(struct bench_chan *ch)
{
    struct spsc_ring **rings = ch->impl;
    if (rings) {
        spsc_ring_destroy(rings[0]);
        spsc_ring_destroy(rings[1]);
        free(rings);
    }
    ch->impl = NULL;
}

const struct bench_chan_ops bench_chan_spsc = {
    .open = spsc_open,
    .send = spsc_send,
    .recv = spsc_recv,
    .hangup = spsc_hangup,
    .close = spsc_close,
};
