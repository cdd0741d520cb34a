/*
 * test_qp_ring.c - the queue-pair ring of src/device/qp_queue.c (vmci-semantics.md §§4.1-4.2):
 * arithmetic at every wrap offset, corrupt headers, failed copies, 10^6 random operations
 * against a trivial model ring, and a realtime stress of one ring between two threads with a
 * checksum of every byte; a queue shared with a program (its memfd mapped a second time).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/qp_shared.h"
#include "vmci/qp_queue.h"
#include "sim/sim.h"
#include "testutil.h"

/* Check's assertions cost a system call each (fork mode): the hot loops below count failures
 * with CHECK instead and assert once at the end. */
static int bad;
static char first_bad[256];
#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c) && bad++ == 0)                                                               \
            snprintf(first_bad, sizeof first_bad, "line %d: %s", __LINE__, #c);               \
    } while (0)
#define EQ(a, b) ((a) == (b))
#define CHECK_DONE() ck_assert_msg(bad == 0, "%d failed checks, first %s", bad, first_bad)

/* A pair as two endpoints see it: A produces into q1 and consumes q2; B the other way. */
struct pair {
    struct qp_queue *q1, *q2;
    struct qp_view a, b;
};

static void pair_init(struct pair *p, uint64_t size)
{
    p->q1 = qp_queue_alloc(size, vmci_make_handle(3, 1024), false);
    p->q2 = qp_queue_alloc(size, vmci_make_handle(3, 1024), false);
    ck_assert_ptr_nonnull(p->q1);
    ck_assert_ptr_nonnull(p->q2);
    p->a.produce = *p->q1;
    p->a.consume = *p->q2;
    p->b.produce = *p->q2;
    p->b.consume = *p->q1;
}

static void pair_free(struct pair *p)
{
    qp_queue_free(p->q1);
    qp_queue_free(p->q2);
}

/* Put q1 (A -> B) at offset o, empty: its tail in q1's header, its head in B's produce header. */
static void pair_at(struct pair *p, uint64_t o)
{
    p->q1->hdr->producer_tail = o;
    p->q2->hdr->consumer_head = o;
}

static uint64_t q1_tail(const struct pair *p) { return p->q1->hdr->producer_tail; }
static uint64_t q1_head(const struct pair *p) { return p->q2->hdr->consumer_head; }

/* §4.2: capacity is size-1; enqueue, peek and dequeue of every length from every offset. */
START_TEST(ring_every_wrap_offset_every_length)
{
    const uint64_t sizes[] = {2, 3, 7, 16, 61};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        uint64_t size = sizes[si];
        struct pair p;
        pair_init(&p, size);
        uint8_t in[64], out[64], pk[64];
        for (uint64_t o = 0; o < size; o++) {
            for (uint64_t len = 0; len <= size + 1; len++) {
                pair_at(&p, o);
                for (uint64_t i = 0; i < len; i++)
                    in[i] = (uint8_t)(o * 31 + i * 7 + 1);
                CHECK(EQ(qp_produce_free_space(&p.a), (int64_t)(size - 1)));
                CHECK(EQ(qp_consume_buf_ready(&p.b), 0));
                int64_t want = (int64_t)(len < size - 1 ? len : size - 1);
                int64_t n = qp_enqueue(&p.a, in, (size_t)len, qp_copy_plain);
                CHECK(EQ(n, want));
                CHECK(EQ(q1_tail(&p), (o + (uint64_t)want) % size));
                CHECK(EQ(qp_produce_buf_ready(&p.a), want));
                CHECK(EQ(qp_consume_buf_ready(&p.b), want));
                CHECK(EQ(qp_produce_free_space(&p.a), (int64_t)size - 1 - want));
                CHECK(EQ(qp_consume_free_space(&p.b), (int64_t)size - 1 - want));
                if (want == 0) {
                    CHECK(EQ(qp_dequeue(&p.b, out, 1, qp_copy_plain),
                                     VMCI_ERROR_QUEUEPAIR_NODATA));
                    CHECK(EQ(qp_peek(&p.b, out, 1, qp_copy_plain),
                                     VMCI_ERROR_QUEUEPAIR_NODATA));
                    continue;
                }
                memset(pk, 0, sizeof pk);
                CHECK(EQ(qp_peek(&p.b, pk, (size_t)len + 3, qp_copy_plain), want));
                CHECK(EQ(memcmp(pk, in, (size_t)want), 0));
                CHECK(EQ(q1_head(&p), o)); /* peek does not move the head */
                memset(out, 0, sizeof out);
                CHECK(EQ(qp_dequeue(&p.b, out, (size_t)want, qp_copy_plain), want));
                CHECK(EQ(memcmp(out, in, (size_t)want), 0));
                CHECK(EQ(q1_head(&p), (o + (uint64_t)want) % size));
                CHECK(EQ(qp_consume_buf_ready(&p.b), 0));
            }
        }
        pair_free(&p);
    }
    CHECK_DONE();
}
END_TEST

/* §4.2: a full queue refuses with QUEUEPAIR_NOSPACE; one byte is always kept free. */
START_TEST(ring_full_is_nospace_from_every_offset)
{
    const uint64_t size = 9;
    struct pair p;
    pair_init(&p, size);
    uint8_t buf[16] = {0};
    for (uint64_t o = 0; o < size; o++) {
        pair_at(&p, o);
        ck_assert_int_eq(qp_enqueue(&p.a, buf, 16, qp_copy_plain), 8);
        ck_assert_int_eq(qp_produce_free_space(&p.a), 0);
        ck_assert_int_eq(qp_enqueue(&p.a, buf, 1, qp_copy_plain), VMCI_ERROR_QUEUEPAIR_NOSPACE);
        ck_assert_int_eq(qp_dequeue(&p.b, buf, 3, qp_copy_plain), 3);
        ck_assert_int_eq(qp_produce_free_space(&p.a), 3);
        ck_assert_int_eq(qp_enqueue(&p.a, buf, 5, qp_copy_plain), 3);
        ck_assert_int_eq(qp_consume_buf_ready(&p.b), 8);
    }
    pair_free(&p);
}
END_TEST

/* §4.2: a header pointer >= size is INVALID_SIZE for every call, and nothing is copied. */
START_TEST(ring_corrupt_header_is_invalid_size)
{
    struct pair p;
    pair_init(&p, 8);
    uint8_t buf[8];
    p.q1->hdr->producer_tail = 8;
    ck_assert_int_eq(qp_produce_free_space(&p.a), VMCI_ERROR_INVALID_SIZE);
    ck_assert_int_eq(qp_produce_buf_ready(&p.a), VMCI_ERROR_INVALID_SIZE);
    ck_assert_int_eq(qp_consume_buf_ready(&p.b), VMCI_ERROR_INVALID_SIZE);
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 1, qp_copy_plain), VMCI_ERROR_INVALID_SIZE);
    ck_assert_int_eq(qp_dequeue(&p.b, buf, 1, qp_copy_plain), VMCI_ERROR_INVALID_SIZE);
    p.q1->hdr->producer_tail = 0;
    p.q2->hdr->consumer_head = UINT64_MAX;
    ck_assert_int_eq(qp_consume_free_space(&p.b), VMCI_ERROR_INVALID_SIZE);
    ck_assert_int_eq(qp_peek(&p.b, buf, 1, qp_copy_plain), VMCI_ERROR_INVALID_SIZE);
    pair_free(&p);
}
END_TEST

static int copy_fails(void *dst, const void *src, size_t n)
{
    (void)dst;
    (void)src;
    (void)n;
    return -1;
}

static int second_copy_fails_calls;
static int copy_fails_second(void *dst, const void *src, size_t n)
{
    if (++second_copy_fails_calls == 2)
        return -1;
    memcpy(dst, src, n);
    return 0;
}

/* A failed copy (bad user buffer) is INVALID_ARGS and publishes nothing, also when it is the
 * second half of a wrapping copy. */
START_TEST(ring_failed_copy_publishes_nothing)
{
    struct pair p;
    pair_init(&p, 8);
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7};
    pair_at(&p, 5);
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 4, copy_fails), VMCI_ERROR_INVALID_ARGS);
    ck_assert_uint_eq(q1_tail(&p), 5);
    second_copy_fails_calls = 0;
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 4, copy_fails_second), VMCI_ERROR_INVALID_ARGS);
    ck_assert_uint_eq(q1_tail(&p), 5);
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 4, qp_copy_plain), 4);
    second_copy_fails_calls = 0;
    ck_assert_int_eq(qp_dequeue(&p.b, buf, 4, copy_fails_second), VMCI_ERROR_INVALID_ARGS);
    ck_assert_uint_eq(q1_head(&p), 5);
    ck_assert_int_eq(qp_dequeue(&p.b, buf, 4, copy_fails), VMCI_ERROR_INVALID_ARGS);
    ck_assert_int_eq(qp_consume_buf_ready(&p.b), 4);
    pair_free(&p);
}
END_TEST

START_TEST(ring_alloc_limits)
{
    ck_assert_ptr_null(qp_queue_alloc(0, VMCI_INVALID_HANDLE, false));
    ck_assert_ptr_null(qp_queue_alloc(VMCI_MAX_GUEST_QP_MEMORY + 1ull, VMCI_INVALID_HANDLE, false));
    struct qp_queue *q = qp_queue_alloc(100, vmci_make_handle(7, 2000), false);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(q->size, 100);
    ck_assert_uint_eq(q->hdr->handle.context, 7);
    ck_assert_uint_eq(q->hdr->handle.resource, 2000);
    ck_assert_uint_eq(q->hdr->producer_tail, 0);
    ck_assert_uint_eq(q->hdr->consumer_head, 0);
    qp_queue_free(q);
    qp_queue_free(NULL);
}
END_TEST

/* ---- 10^6 random operations against a model ring ------------------------------------------- */

struct model {
    uint8_t *buf;
    uint64_t cap, head, len;   /* a plain FIFO of at most cap bytes */
};

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

START_TEST(ring_random_ops_match_model)
{
    const uint64_t sizes[] = {1, 2, 5, 64, 4099};
    const int total_ops = 1000000;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint8_t in[8192], out[8192];
    int ops_done = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        uint64_t size = sizes[si];
        struct pair p;
        pair_init(&p, size);
        struct model m = {calloc(1, size), size - 1, 0, 0};
        uint8_t next_byte = 0;
        int ops = total_ops / (int)(sizeof sizes / sizeof sizes[0]);
        for (int i = 0; i < ops; i++, ops_done++) {
            uint64_t r = xs(&seed);
            size_t len = (size_t)(xs(&seed) % (size + 4 < 8192 ? size + 4 : 8192));
            switch (r % 4) {
            case 0: { /* enqueue */
                for (size_t k = 0; k < len; k++)
                    in[k] = next_byte++;
                int64_t n = qp_enqueue(&p.a, in, len, qp_copy_plain);
                uint64_t room = m.cap - m.len;
                if (room == 0) {
                    CHECK(EQ(n, VMCI_ERROR_QUEUEPAIR_NOSPACE));
                    next_byte = (uint8_t)(next_byte - len);
                    break;
                }
                uint64_t want = len < room ? len : room;
                CHECK(EQ(n, (int64_t)want));
                for (uint64_t k = 0; k < want; k++)
                    m.buf[(m.head + m.len + k) % (m.cap ? m.cap : 1)] = in[k];
                m.len += want;
                next_byte = (uint8_t)(next_byte - (len - want));
                break;
            }
            case 1:   /* dequeue */
            case 2: { /* peek */
                bool peek = r % 4 == 2;
                int64_t n = peek ? qp_peek(&p.b, out, len, qp_copy_plain)
                                 : qp_dequeue(&p.b, out, len, qp_copy_plain);
                if (m.len == 0) {
                    CHECK(EQ(n, VMCI_ERROR_QUEUEPAIR_NODATA));
                    break;
                }
                uint64_t want = len < m.len ? len : m.len;
                CHECK(EQ(n, (int64_t)want));
                for (uint64_t k = 0; k < want; k++)
                    CHECK(EQ(out[k], m.buf[(m.head + k) % m.cap]));
                if (!peek) {
                    m.head = (m.head + want) % m.cap;
                    m.len -= want;
                }
                break;
            }
            default:
                CHECK(EQ(qp_produce_free_space(&p.a), (int64_t)(m.cap - m.len)));
                CHECK(EQ(qp_produce_buf_ready(&p.a), (int64_t)m.len));
                CHECK(EQ(qp_consume_buf_ready(&p.b), (int64_t)m.len));
                CHECK(EQ(qp_consume_free_space(&p.b), (int64_t)(m.cap - m.len)));
                break;
            }
        }
        free(m.buf);
        pair_free(&p);
    }
    CHECK(EQ(ops_done, total_ops));
    CHECK_DONE();
}
END_TEST

/* ---- realtime: one ring between two threads --------------------------------------------- */

#define STRESS_BYTES (4u * 1024u * 1024u)

struct stress {
    struct pair p;
    uint64_t sent_sum, recv_sum;
    uint64_t received;
    int mismatches;
};

static uint8_t stream_byte(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

static void stress_producer(void *arg)
{
    struct stress *s = arg;
    uint8_t chunk[1500];
    uint64_t i = 0, rng = 12345;
    while (i < STRESS_BYTES) {
        size_t want = 1 + (size_t)(xs(&rng) % sizeof chunk);
        if (want > STRESS_BYTES - i)
            want = (size_t)(STRESS_BYTES - i);
        for (size_t k = 0; k < want; k++)
            chunk[k] = stream_byte(i + k);
        int64_t n = qp_enqueue(&s->p.a, chunk, want, qp_copy_plain);
        if (n == VMCI_ERROR_QUEUEPAIR_NOSPACE) {
            sched_yield();
            continue;
        }
        if (n <= 0)
            abort();
        for (int64_t k = 0; k < n; k++)
            s->sent_sum = s->sent_sum * 31 + chunk[k];
        i += (uint64_t)n;
    }
}

static void stress_consumer(void *arg)
{
    struct stress *s = arg;
    uint8_t chunk[2048];
    uint64_t rng = 777;
    while (s->received < STRESS_BYTES) {
        size_t want = 1 + (size_t)(xs(&rng) % sizeof chunk);
        bool peek = (xs(&rng) & 7) == 0;
        int64_t n = peek ? qp_peek(&s->p.b, chunk, want, qp_copy_plain)
                         : qp_dequeue(&s->p.b, chunk, want, qp_copy_plain);
        if (n == VMCI_ERROR_QUEUEPAIR_NODATA) {
            sched_yield();
            continue;
        }
        if (n <= 0)
            abort();
        for (int64_t k = 0; k < n; k++)
            if (chunk[k] != stream_byte(s->received + (uint64_t)k))
                s->mismatches++;
        if (peek)
            continue; /* the same bytes come again with the next dequeue */
        for (int64_t k = 0; k < n; k++)
            s->recv_sum = s->recv_sum * 31 + chunk[k];
        s->received += (uint64_t)n;
    }
}

START_TEST(ring_two_threads_checksum_every_byte)
{
    vmcisim *sim = tu_world_rt();
    struct stress *s = calloc(1, sizeof *s);
    pair_init(&s->p, 4096 + 13);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "producer", stress_producer, s), 0);
    vmcisim_vm *g = vmcisim_vm_create(sim, "g", 3);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(vmcisim_spawn(g, "consumer", stress_consumer, s), 0);
    ck_assert_int_eq(vmcisim_run(sim), 0);
    ck_assert_uint_eq(s->received, STRESS_BYTES);
    ck_assert_int_eq(s->mismatches, 0);
    ck_assert_uint_eq(s->sent_sum, s->recv_sum);
    ck_assert_int_eq(qp_consume_buf_ready(&s->p.b), 0);
    pair_free(&s->p);
    free(s);
    vmcisim_destroy(sim);
}
END_TEST

/* ---- doorbells (realtime direct wake-ups, qp_queue.h) ----------------------------------------
 * The sleeper side is the socket layer's; here only the ring's half: who is registered, who is
 * woken by which publication, and that a slot holds one sleeper. sim_wake_direct only sets the
 * thread's futex word (and wakes a futex sleeper on it, of which there is none here). */

static uint32_t word(const sim_thread *t) { return __atomic_load_n(&t->rt_word, __ATOMIC_ACQUIRE); }

static int copy_ok(void *d, const void *s, size_t n)
{
    memcpy(d, s, n);
    return 0;
}

START_TEST(doorbell_enqueue_wakes_the_reader_dequeue_the_writer)
{
    struct pair p;
    pair_init(&p, 64);
    sim_thread *reader = calloc(1, sizeof *reader), *writer = calloc(1, sizeof *writer);
    sim_thread *other = calloc(1, sizeof *other);
    char buf[64] = "0123456789";
    /* B waits for data in q1 (A -> B), empty: registered */
    ck_assert_int_eq(qp_waiter_arm(&p.b, QP_WAIT_DATA, reader), 1);
    /* one sleeper per queue and direction: a second reader of B's end is turned away */
    ck_assert_int_eq(qp_waiter_arm(&p.b, QP_WAIT_DATA, other), -1);
    /* A's enqueue into q1 (§4.2: 10 bytes) takes the reader off the slot and wakes it */
    ck_assert_int_eq(word(reader), 0);
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 10, copy_ok), 10);
    ck_assert_int_eq(word(reader), 1);
    ck_assert_int_eq(word(other), 0);
    /* the slot is free again: the other thread gets it, but the data is there already, so it is
     * not registered (0) and nothing is held */
    ck_assert_int_eq(qp_waiter_arm(&p.b, QP_WAIT_DATA, other), 0);
    /* a disarm after the waker took the slot leaves the slot alone */
    qp_waiter_disarm(&p.b, QP_WAIT_DATA, reader);
    /* the pins went with the waits: the queues can be freed at once (qp_queue_free waits for
     * pins) - checked at pair_free below */

    /* A waits for room in q1: fill it (capacity 63, §4.2), then register */
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 53, copy_ok), 53);
    ck_assert_int_eq(qp_produce_free_space(&p.a), 0);
    ck_assert_int_eq(qp_waiter_arm(&p.a, QP_WAIT_ROOM, writer), 1);
    /* a peek moves no head: no wake-up */
    ck_assert_int_eq(qp_peek(&p.b, buf, 5, copy_ok), 5);
    ck_assert_int_eq(word(writer), 0);
    /* B's dequeue from q1 frees 5 bytes and wakes the writer */
    ck_assert_int_eq(qp_dequeue(&p.b, buf, 5, copy_ok), 5);
    ck_assert_int_eq(word(writer), 1);
    qp_waiter_disarm(&p.a, QP_WAIT_ROOM, writer); /* the woken writer lets go of its pin */

    /* a registered sleeper that gives up (timeout, other wake-up) unregisters: the next
     * enqueue wakes nobody */
    __atomic_store_n(&reader->rt_word, 0, __ATOMIC_RELAXED);
    ck_assert_int_eq(qp_dequeue(&p.b, buf, 58, copy_ok), 58);
    ck_assert_int_eq(qp_waiter_arm(&p.b, QP_WAIT_DATA, reader), 1);
    qp_waiter_disarm(&p.b, QP_WAIT_DATA, reader);
    ck_assert_int_eq(qp_enqueue(&p.a, buf, 1, copy_ok), 1);
    ck_assert_int_eq(word(reader), 0);
    /* a corrupt header is "not nothing": no sleep on it (§4.2 arithmetic refuses it) */
    p.q1->hdr->producer_tail = 64;
    ck_assert_int_eq(qp_waiter_arm(&p.b, QP_WAIT_DATA, reader), 0);
    pair_free(&p);
    free(reader);
    free(writer);
    free(other);
}
END_TEST

/* A shared queue (src/preload/qp_shared.h) as an exec'd program sees it: its memfd mapped a
 * second time, at the offsets the header file gives. */
static uint32_t part_word(const unsigned char *m, int cons, unsigned off)
{
    return __atomic_load_n((const uint32_t *)(const void *)(m + QP_SHM_OFF_PART +
                                                            (cons ? QP_SHM_PART_BYTES : 0) + off),
                           __ATOMIC_SEQ_CST);
}

START_TEST(shared_queue_seen_through_a_second_mapping)
{
    struct qp_queue *q1 = qp_queue_alloc(100, vmci_make_handle(3, 1024), true);
    struct qp_queue *q2 = qp_queue_alloc(100, vmci_make_handle(3, 1024), true);
    ck_assert_ptr_nonnull(q1);
    ck_assert_ptr_nonnull(q2);
    ck_assert_int_ge(q1->shm_fd, 0);
    size_t len = QP_SHM_HDR_BYTES + 4096; /* 100 bytes of ring round up to a page */
    ck_assert_uint_eq(q1->shm_len, len);
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, q1->shm_fd, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
    /* the memfd is sealed at its size: a program cannot shrink it under the world */
    ck_assert_int_eq(ftruncate(q1->shm_fd, 4096), -1);
    ck_assert_int_eq(errno, EPERM);
    struct qp_view a = {.produce = *q1, .consume = *q2}, b = {.produce = *q2, .consume = *q1};
    /* §4.2: A enqueues 10 bytes into q1: the tail at QP_SHM_OFF_TAIL, the bytes after the page */
    ck_assert_int_eq(qp_enqueue(&a, "0123456789", 10, qp_copy_plain), 10);
    uint64_t tail;
    memcpy(&tail, m + QP_SHM_OFF_TAIL, sizeof tail);
    ck_assert_uint_eq(tail, 10);
    ck_assert_int_eq(memcmp(m + QP_SHM_HDR_BYTES, "0123456789", 10), 0);
    /* a program's move through its mapping is the world's too: it writes 5 bytes and the
     * tail, and B's view counts 15 ready */
    memcpy(m + QP_SHM_HDR_BYTES + 10, "abcde", 5);
    uint64_t t15 = 15;
    __atomic_store_n((uint64_t *)(void *)(m + QP_SHM_OFF_TAIL), t15, __ATOMIC_RELEASE);
    ck_assert_int_eq(qp_consume_buf_ready(&b), 15);
    /* gates: A's produce gate is q1's PROD part, B's consume gate is q1's CONS part */
    qp_gate_set(&a, QP_GATE_OPEN | QP_GATE_NOTIFY, 0);
    qp_gate_set(&b, 0, QP_GATE_OPEN | QP_GATE_NONBLOCK);
    ck_assert_uint_eq(part_word(m, 0, QP_SHM_PART_GATE), QP_GATE_OPEN | QP_GATE_NOTIFY);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_GATE), QP_GATE_OPEN | QP_GATE_NONBLOCK);
    /* a sleeper of the world is counted where a program's move looks (B waits for room in q1:
     * fill it to the 99-byte capacity first; the count is on q1's CONS part) */
    ck_assert_int_eq(qp_enqueue(&a, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 84, qp_copy_plain), 84);
    sim_thread *writer = calloc(1, sizeof *writer);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_SLEEPERS), 0);
    ck_assert_int_eq(qp_waiter_arm(&a, QP_WAIT_ROOM, writer), 1);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_SLEEPERS), 1);
    /* the doorbell rung from outside a dequeue (after a program's own move) takes it */
    qp_ring_bell(&b, QP_WAIT_ROOM);
    ck_assert_int_eq(word(writer), 1);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_SLEEPERS), 0);
    qp_waiter_disarm(&a, QP_WAIT_ROOM, writer);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_SLEEPERS), 0);
    /* whatever a program writes into the shared page is never followed by the world: garbage
     * in the sleepers count and the program's fields, then a free that wakes nobody */
    memset(m + QP_SHM_OFF_PART, 0xff, 2 * QP_SHM_PART_BYTES);
    qp_gate_set(&a, QP_GATE_OPEN, 0);
    /* the memory goes: both gates of q1 close first (the program keeps its mapping) */
    qp_queue_free(q1);
    ck_assert_uint_eq(part_word(m, 0, QP_SHM_PART_GATE), 0);
    ck_assert_uint_eq(part_word(m, 1, QP_SHM_PART_GATE), 0);
    munmap(m, len);
    qp_queue_free(q2);
    free(writer);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("qp_ring");
    TCase *tc = tcase_create("arith");
    tcase_add_test(tc, ring_every_wrap_offset_every_length);
    tcase_add_test(tc, ring_full_is_nospace_from_every_offset);
    tcase_add_test(tc, ring_corrupt_header_is_invalid_size);
    tcase_add_test(tc, ring_failed_copy_publishes_nothing);
    tcase_add_test(tc, ring_alloc_limits);
    tcase_add_test(tc, ring_random_ops_match_model);
    tcase_add_test(tc, doorbell_enqueue_wakes_the_reader_dequeue_the_writer);
    tcase_add_test(tc, shared_queue_seen_through_a_second_mapping);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_add_test(rt, ring_two_threads_checksum_every_byte);
    tcase_set_timeout(rt, 300);
    suite_add_tcase(s, rt);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
