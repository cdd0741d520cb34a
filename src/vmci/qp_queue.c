/*
 * qp_queue.c - queue-pair ring memory and arithmetic (vmci-semantics.md §§4.1-4.2).
 */
#include "vmci/qp_queue.h"
#include "sim/alloc.h"
#include "sim/sim.h"
#include "posix/real.h"
#include "preload/qp_shared.h"

#include <assert.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/* The world's own part of a queue: the simulator's pin counts and doorbell slots, kept outside
 * struct qp_header so that the header keeps the device's layout, and for a queue not shared
 * with a program the header itself (for a shared one it is in the shared page, and nothing a
 * program can write is ever dereferenced by the world: a program that scribbles over its
 * mapping harms only itself). The parts are split by who writes them on every operation, each
 * on a cache line of its own (parts 128 bytes apart: calloc aligns to 16 only), so that the two
 * ends' copies do not pass lines back and forth: part PROD holds the pins of the queue's producer
 * (a copy into it) and the slot it looks at after each enqueue (a consumer asleep until there
 * is data); part CONS the consumer's pins and the slot it looks at after each dequeue (a
 * producer asleep until there is room). */
enum qp_side { SIDE_PROD, SIDE_CONS };
struct qp_side_mem {
    uint32_t pins;                /* copies in flight outside the world lock (atomic) */
    struct sim_thread *waiter;    /* doorbell (atomic): the sleeper this side wakes, or NULL */
    char pad[128 - sizeof(uint32_t) - sizeof(void *) - 4];
};
struct qp_header_mem {
    struct qp_header hdr;         /* a queue not shared: its header */
    char pad[128 - sizeof(struct qp_header)];
    struct qp_side_mem side[2];
};
_Static_assert(sizeof(struct qp_header) <= 128 && sizeof(struct qp_side_mem) == 128,
               "header parts 128 bytes apart");

/* A shared queue's header page, as programs map it (qp_shared.h). */
struct qp_shm_part {
    uint32_t gate, sleepers, program, away;
    char pad[QP_SHM_PART_BYTES - 4 * sizeof(uint32_t)];
};
struct qp_shm_page {
    struct qp_header hdr;
    char pad[QP_SHM_OFF_PART - sizeof(struct qp_header)];
    struct qp_shm_part part[2];
};
_Static_assert(offsetof(struct qp_shm_page, hdr.producer_tail) == QP_SHM_OFF_TAIL &&
                   offsetof(struct qp_shm_page, hdr.consumer_head) == QP_SHM_OFF_HEAD &&
                   offsetof(struct qp_shm_page, part) == QP_SHM_OFF_PART &&
                   sizeof(struct qp_shm_part) == QP_SHM_PART_BYTES &&
                   offsetof(struct qp_shm_part, gate) == QP_SHM_PART_GATE &&
                   offsetof(struct qp_shm_part, sleepers) == QP_SHM_PART_SLEEPERS &&
                   offsetof(struct qp_shm_part, program) == QP_SHM_PART_PROGRAM &&
                   offsetof(struct qp_shm_part, away) == QP_SHM_PART_AWAY &&
                   sizeof(struct qp_shm_page) <= QP_SHM_HDR_BYTES,
               "the shared header page's layout");

static struct qp_shm_page *shm_of(const struct qp_queue *q)
{
    return q->shm_fd >= 0 ? (struct qp_shm_page *)(void *)q->hdr : NULL;
}

static uint32_t *pins_of(const struct qp_queue *q, enum qp_side side)
{
    return &q->mem->side[side].pins;
}

/* Data is awaited by the consumer and announced by the producer: its slot is the producer's. */
static enum qp_side slot_side(enum qp_wait_kind k) { return k == QP_WAIT_DATA ? SIDE_PROD : SIDE_CONS; }

static struct sim_thread **slot_of(const struct qp_queue *q, enum qp_wait_kind k)
{
    return &q->mem->side[slot_side(k)].waiter;
}

/* A shared queue tells its programs how many sleepers its slots hold (qp_shared.h): one more
 * by whoever registered one, one fewer by whoever took it out (a waker or the sleeper itself),
 * so the count never misses a sleeper that a later one replaced. */
static void sleepers_add(const struct qp_queue *q, enum qp_wait_kind k, int by)
{
    struct qp_shm_page *p = shm_of(q);
    if (p)
        __atomic_add_fetch(&p->part[slot_side(k)].sleepers, (uint32_t)by, __ATOMIC_SEQ_CST);
}

/* ThreadSanitizer does not model fences (and GCC refuses them under it). */
#if defined(__SANITIZE_THREAD__)
#define QP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QP_TSAN 1
#endif
#endif

/* Wake the sleeper registered on q for k, if any (see qp_queue.h). The caller has just
 * published (a release store of tail or head); the sleeper stored itself into the slot before it
 * re-checked the ring: a Dekker pair. A seq_cst fence on each side orders each store before the
 * other load, so the slot is looked at with a plain load, and written only when someone is
 * there. Under TSan an exchange on the slot does the same job (the sleeper's arm reads from it,
 * acquire after release, so it sees the publication). */
static void ring_bell(const struct qp_queue *q, enum qp_wait_kind k)
{
    struct sim_thread **slot = slot_of(q, k);
#ifndef QP_TSAN
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!__atomic_load_n(slot, __ATOMIC_RELAXED))
        return;
#endif
    struct sim_thread *t = __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
    if (t) {
        sleepers_add(q, k, -1);
        sim_wake_direct(t);
    }
}

static uint64_t load_acq(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_rel(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

int qp_copy_plain(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    return 0;
}

/* A shared queue: one memfd, the header page then the ring (qp_shared.h), mapped here; the
 * descriptor stays open so that an exec'd program can be handed it. Sealed at its size: a
 * program cannot shrink it under the world's mapping (which would fault here). */
static bool alloc_shared(struct qp_queue *q, uint64_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = QP_SHM_HDR_BYTES + (((size_t)size + page - 1) / page) * page;
    int fd = memfd_create("vmcisim-queue", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    void *m = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)len) == 0 &&
        REAL(fcntl)(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        if (fd >= 0)
            REAL(close)(fd); /* the library's own close() is the simulated processes' */
        return false;
    }
    q->hdr = &((struct qp_shm_page *)m)->hdr; /* a new memfd reads as zeros */
    q->data = (uint8_t *)m + QP_SHM_HDR_BYTES;
    q->shm_fd = fd;
    q->shm_len = len;
    return true;
}

struct qp_queue *qp_queue_alloc(uint64_t size, vmci_handle handle, bool shared)
{
    if (size == 0 || size > VMCI_MAX_GUEST_QP_MEMORY)
        return NULL;
    struct qp_queue *q = vmcisim_calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->shm_fd = -1;
    q->mem = vmcisim_calloc(1, sizeof *q->mem);
    bool ok = q->mem != NULL;
    if (ok && shared) {
        ok = alloc_shared(q, size);
    } else if (ok) {
        q->hdr = &q->mem->hdr;
        q->data = vmcisim_calloc(1, (size_t)size);
        ok = q->data != NULL;
    }
    if (!ok) {
        free(q->mem);
        free(q);
        return NULL;
    }
    q->hdr->handle = handle;
    q->size = size;
    return q;
}

void qp_queue_free(struct qp_queue *q)
{
    if (!q)
        return;
    /* A copier outside the world lock finishes without the lock: wait for it (see qp_queue.h).
     * A sleeper registered on a doorbell holds a pin too: wake it so that it lets go. */
    ring_bell(q, QP_WAIT_DATA);
    ring_bell(q, QP_WAIT_ROOM);
    while (__atomic_load_n(pins_of(q, SIDE_PROD), __ATOMIC_ACQUIRE) != 0 ||
           __atomic_load_n(pins_of(q, SIDE_CONS), __ATOMIC_ACQUIRE) != 0)
        sched_yield();
    struct qp_shm_page *p = shm_of(q);
    if (p) {
        /* a program mapping it keeps the pages: it must stop moving bytes through them first */
        __atomic_store_n(&p->part[SIDE_PROD].gate, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&p->part[SIDE_CONS].gate, 0, __ATOMIC_SEQ_CST);
        munmap(p, q->shm_len);
        REAL(close)(q->shm_fd);
    } else {
        free(q->data);
    }
    free(q->mem);
    free(q);
}

void qp_view_pin(const struct qp_view *v)
{
    __atomic_add_fetch(pins_of(&v->produce, SIDE_PROD), 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(pins_of(&v->consume, SIDE_CONS), 1, __ATOMIC_ACQ_REL);
}

void qp_view_unpin(const struct qp_view *v)
{
    uint32_t a = __atomic_sub_fetch(pins_of(&v->produce, SIDE_PROD), 1, __ATOMIC_RELEASE);
    uint32_t b = __atomic_sub_fetch(pins_of(&v->consume, SIDE_CONS), 1, __ATOMIC_RELEASE);
    assert(a != UINT32_MAX && b != UINT32_MAX);
    (void)a;
    (void)b;
}

int64_t qp_free_space(const struct qp_header *prod_hdr, const struct qp_header *cons_hdr,
                      uint64_t size)
{
    uint64_t tail = load_acq(&prod_hdr->producer_tail);
    uint64_t head = load_acq(&cons_hdr->consumer_head);
    if (tail >= size || head >= size)
        return VMCI_ERROR_INVALID_SIZE;
    /* tail >= head: used = tail - head; else the used bytes wrap. One byte is kept free. */
    int64_t free_space = tail >= head ? (int64_t)(size - (tail - head) - 1)
                                      : (int64_t)(head - tail - 1);
    assert(free_space >= 0 && (uint64_t)free_space <= size - 1);
    return free_space;
}

int64_t qp_produce_free_space(const struct qp_view *v)
{
    return qp_free_space(v->produce.hdr, v->consume.hdr, v->produce.size);
}

int64_t qp_produce_buf_ready(const struct qp_view *v)
{
    int64_t f = qp_produce_free_space(v);
    return f < 0 ? f : (int64_t)v->produce.size - f - 1;
}

int64_t qp_consume_free_space(const struct qp_view *v)
{
    /* The consume queue's tail is in the peer's (= consume) header, its head in mine. */
    return qp_free_space(v->consume.hdr, v->produce.hdr, v->consume.size);
}

int64_t qp_consume_buf_ready(const struct qp_view *v)
{
    int64_t f = qp_consume_free_space(v);
    return f < 0 ? f : (int64_t)v->consume.size - f - 1;
}

/* advance(ptr, n) of §4.2: wrap at size. */
static uint64_t advance(uint64_t ptr, uint64_t n, uint64_t size)
{
    assert(ptr < size && n <= size);
    ptr += n;
    return ptr >= size ? ptr - size : ptr;
}

int64_t qp_enqueue(struct qp_view *v, const void *buf, size_t len, qp_copy_fn copy)
{
    int64_t free_space = qp_produce_free_space(v);
    if (free_space < 0)
        return free_space;
    if (free_space == 0)
        return VMCI_ERROR_QUEUEPAIR_NOSPACE;
    uint64_t n = (uint64_t)free_space < len ? (uint64_t)free_space : len;
    uint64_t size = v->produce.size;
    /* Only this endpoint moves its own tail: a relaxed read of it is exact. */
    uint64_t tail = __atomic_load_n(&v->produce.hdr->producer_tail, __ATOMIC_RELAXED);
    uint64_t first = size - tail < n ? size - tail : n;
    if (copy(v->produce.data + tail, buf, (size_t)first) != 0)
        return VMCI_ERROR_INVALID_ARGS;
    if (n > first && copy(v->produce.data, (const uint8_t *)buf + first, (size_t)(n - first)) != 0)
        return VMCI_ERROR_INVALID_ARGS;
    store_rel(&v->produce.hdr->producer_tail, advance(tail, n, size));
    ring_bell(&v->produce, QP_WAIT_DATA);
    return (int64_t)n;
}

static int64_t consume(struct qp_view *v, void *buf, size_t len, qp_copy_fn copy, int peek)
{
    int64_t ready = qp_consume_buf_ready(v);
    if (ready < 0)
        return ready;
    if (ready == 0)
        return VMCI_ERROR_QUEUEPAIR_NODATA;
    uint64_t n = (uint64_t)ready < len ? (uint64_t)ready : len;
    uint64_t size = v->consume.size;
    uint64_t head = __atomic_load_n(&v->produce.hdr->consumer_head, __ATOMIC_RELAXED);
    uint64_t first = size - head < n ? size - head : n;
    if (copy(buf, v->consume.data + head, (size_t)first) != 0)
        return VMCI_ERROR_INVALID_ARGS;
    if (n > first && copy((uint8_t *)buf + first, v->consume.data, (size_t)(n - first)) != 0)
        return VMCI_ERROR_INVALID_ARGS;
    if (!peek) {
        store_rel(&v->produce.hdr->consumer_head, advance(head, n, size));
        ring_bell(&v->consume, QP_WAIT_ROOM);
    }
    return (int64_t)n;
}

int64_t qp_dequeue(struct qp_view *v, void *buf, size_t len, qp_copy_fn copy)
{
    return consume(v, buf, len, copy, 0);
}

int64_t qp_peek(struct qp_view *v, void *buf, size_t len, qp_copy_fn copy)
{
    return consume(v, buf, len, copy, 1);
}

/* ---- doorbells ----------------------------------------------------------------------------- */

static const struct qp_queue *watched(const struct qp_view *v, enum qp_wait_kind k)
{
    return k == QP_WAIT_DATA ? &v->consume : &v->produce;
}

/* The sleeper's own side of the queue it watches: it consumes what it waits data in. */
static enum qp_side sleeper_side(enum qp_wait_kind k)
{
    return k == QP_WAIT_DATA ? SIDE_CONS : SIDE_PROD;
}

int qp_waiter_arm(const struct qp_view *v, enum qp_wait_kind k, struct sim_thread *t)
{
    /* Called under the world lock, so both headers are valid for the re-check; from then on
     * only the watched queue is touched (its slot, by disarm), and only it is pinned: a detach
     * frees the two queues one after the other and must not wait on a pin of the other. */
    const struct qp_queue *q = watched(v, k);
    struct sim_thread **slot = slot_of(q, k);
    uint32_t *pins = pins_of(q, sleeper_side(k));
    struct sim_thread *none = NULL;
    __atomic_add_fetch(pins, 1, __ATOMIC_ACQ_REL);
    if (!__atomic_compare_exchange_n(slot, &none, t, false, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE)) {
        __atomic_sub_fetch(pins, 1, __ATOMIC_RELEASE);
        return -1;
    }
    sleepers_add(q, k, 1); /* before the re-check: a program's move after it tells the world */
#ifndef QP_TSAN
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the other half of ring_bell's fence */
#endif
    /* the re-check: anything but "still nothing" (data, room, a corrupt header) ends the wait */
    int64_t n = k == QP_WAIT_DATA ? qp_consume_buf_ready(v) : qp_produce_free_space(v);
    if (n == 0)
        return 1;
    qp_waiter_disarm(v, k, t);
    return 0;
}

void qp_waiter_disarm(const struct qp_view *v, enum qp_wait_kind k, struct sim_thread *t)
{
    const struct qp_queue *q = watched(v, k);
    struct sim_thread *mine = t;
    if (__atomic_compare_exchange_n(slot_of(q, k), &mine, NULL, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        sleepers_add(q, k, -1);
    uint32_t left = __atomic_sub_fetch(pins_of(q, sleeper_side(k)), 1, __ATOMIC_RELEASE);
    assert(left != UINT32_MAX);
    (void)left;
}

/* ---- gates (shared queues: qp_shared.h) ------------------------------------------------------ */

void qp_gate_set(const struct qp_view *v, uint32_t produce_gate, uint32_t consume_gate)
{
    /* my produce queue's PROD part and my consume queue's CONS part are this end's */
    struct qp_shm_page *p = shm_of(&v->produce), *c = shm_of(&v->consume);
    if (p)
        __atomic_store_n(&p->part[SIDE_PROD].gate, produce_gate, __ATOMIC_SEQ_CST);
    if (c)
        __atomic_store_n(&c->part[SIDE_CONS].gate, consume_gate, __ATOMIC_SEQ_CST);
}

void qp_ring_bell(const struct qp_view *v, enum qp_wait_kind k)
{
    /* the sleeper on data waits in my produce queue's slot; on room, in my consume queue's */
    ring_bell(k == QP_WAIT_DATA ? &v->produce : &v->consume, k);
}
