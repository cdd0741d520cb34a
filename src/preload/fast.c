/*
 * fast.c - stream bytes an exec'd program moves itself, through the socket's queue pair mapped
 * into its memory (realtime mode only), as a guest's own driver moves them through the queue
 * memory the VM shares with the host: no call into the world while the ring has room (send)
 * or data (receive).
 *
 * The world hands a connected stream's two queues over once (XP_MAP: two memfds; layout in
 * qp_shared.h) and keeps a gate per direction in them: open while an in-process call would do
 * nothing but copy, closed before any change of the socket's state is acted on (the socket
 * layer's vsock_wake), and before the memory goes. A move here:
 *   1. the gate is open, and no other thread of the program is moving bytes the same way
 *      (a try-lock) or is in a call to the world that may (a count of such calls);
 *   2. the bytes are copied between the program's buffer and the ring by a copy that survives
 *      a bad buffer (fault.c): then nothing is published and the call is made by the world
 *      instead, which answers EFAULT as in-process;
 *   3. the tail (send) or head (receive) is published;
 *   4. the world is told (XP_MOVED, one round trip) when an in-process move would have done
 *      more than copy: the queue was empty (send: the peer gets WROTE, vmci-semantics.md §4.7)
 *      or full (receive: READ), a thread of the world sleeps on the doorbell, or the gate asks
 *      for it (the peer waits for a notification only the world sends).
 * Anything else (no room, no data, a closed gate, flags other than MSG_DONTWAIT/MSG_NOSIGNAL,
 * a peek) is the world's call, exactly as without this file. What a move does not leave is a
 * trace record: the gates open only when no readable trace is written and nothing observes
 * the payload (docs/exec-protocol.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/preload.h"
#include "preload/qp_shared.h"
#include "preload/xp_doorbell.h"

/* One socket's mapped queues, shared by all of its world descriptors. */
struct qmap {
    uint32_t id;              /* the world's socket id */
    int refs;                 /* world descriptors naming it (under tab_lock) */
    int users;                /* moves in progress (atomic); the last one out of a dead map unmaps */
    bool dead;                /* every descriptor closed (atomic) */
    unsigned char *prod, *cons; /* header pages; the rings follow at QP_SHM_HDR_BYTES */
    size_t prod_len, cons_len;
    uint64_t prod_size, cons_size;
    int tx_lock, rx_lock;     /* one mover per direction (atomic try-locks) */
    int tx_world, rx_world;   /* the program's calls in the world that may move bytes (atomic) */
    struct qmap *next;        /* the list of live maps (under tab_lock) */
};

/* World descriptor -> map, open addressing; a descriptor's state: */
#define SLOT_FREE 0
#define SLOT_MAPPED 1
#define SLOT_NEVER 2     /* not a stream the world shares (a listener, a datagram socket) */
#define SLOT_LATER 3     /* not connected yet: asked again at a later call, a few times */
#define TAB_SIZE 4096u
#define LATER_TRIES 8

struct slot {
    int w;               /* world descriptor + 1 (0: empty) */
    int state;
    int tries;
    struct qmap *m;
};

static struct slot tab[TAB_SIZE];
static int tab_lock;
static int nslots;
static struct qmap *maps; /* every map with a descriptor (under tab_lock) */
static int waiters;       /* threads in calls to the world that may wait (under tab_lock) */

/* What the program moved itself, for VMCISIM_FAST_STATS=1 (printed on its stderr at exit): is
 * the fast path taken at all, and how often does it still need the world? */
static unsigned long long st_sent, st_sent_bytes, st_recvd, st_recvd_bytes, st_told, st_maps;

static void count(unsigned long long *c, unsigned long long by)
{
    __atomic_add_fetch(c, by, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void print_stats(void)
{
    const char *e = getenv("VMCISIM_FAST_STATS");
    if (!e || strcmp(e, "1") != 0 || !st_maps)
        return;
    char b[256];
    int n = snprintf(b, sizeof b,
                     "vmcisim fast path: %llu sockets mapped, %llu sends (%llu bytes), %llu "
                     "receives (%llu bytes) moved by the program, %llu told to the world\n",
                     st_maps, st_sent, st_sent_bytes, st_recvd, st_recvd_bytes, st_told);
    if (n > 0)
        PL_REAL(ssize_t(*)(int, const void *, size_t), write)(2, b, (size_t)n);
}


static void lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        syscall(SYS_sched_yield); /* not the program's sched_yield: that one asks the world */
}

static void unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static struct slot *find(int w, bool add)
{
    unsigned h = ((unsigned)w * 2654435761u) % TAB_SIZE;
    struct slot *free_slot = NULL;
    for (unsigned i = 0; i < TAB_SIZE; i++) {
        struct slot *s = &tab[(h + i) % TAB_SIZE];
        if (s->w == w + 1)
            return s;
        if (s->w == 0) {
            if (!add)
                return NULL;
            if (!free_slot)
                free_slot = s;
            break;
        }
        if (s->w == -1 && !free_slot)
            free_slot = s; /* a tombstone */
    }
    if (!add || !free_slot)
        return NULL;
    if (free_slot->w == 0)
        nslots++;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->w = w + 1;
    return free_slot;
}

/* Drop the tombstones (under tab_lock) once live slots and tombstones fill 3/4 of the table, so
 * that a program that opens and closes sockets for ever keeps finding room. */
static void compact(void)
{
    if (nslots < (int)(TAB_SIZE * 3 / 4))
        return;
    static struct slot old[TAB_SIZE];
    memcpy(old, tab, sizeof tab);
    memset(tab, 0, sizeof tab);
    nslots = 0;
    for (unsigned i = 0; i < TAB_SIZE; i++)
        if (old[i].w > 0) {
            struct slot *s = find(old[i].w - 1, true);
            *s = old[i];
        }
}

static uint32_t *part_word(unsigned char *h, int cons, unsigned off)
{
    return (uint32_t *)(void *)(h + QP_SHM_OFF_PART + (cons ? QP_SHM_PART_BYTES : 0) + off);
}

/* This program's own parts: PROD of its produce queue, CONS of its consume queue. */
static void mark_program(struct qmap *m, uint32_t on)
{
    __atomic_store_n(part_word(m->prod, 0, QP_SHM_PART_PROGRAM), on, __ATOMIC_SEQ_CST);
    __atomic_store_n(part_word(m->cons, 1, QP_SHM_PART_PROGRAM), on, __ATOMIC_SEQ_CST);
}

static void away(struct qmap *m, bool tx, bool rx, int by)
{
    if (tx)
        __atomic_add_fetch(part_word(m->prod, 0, QP_SHM_PART_AWAY), (uint32_t)by, __ATOMIC_SEQ_CST);
    if (rx)
        __atomic_add_fetch(part_word(m->cons, 1, QP_SHM_PART_AWAY), (uint32_t)by, __ATOMIC_SEQ_CST);
}

/* Whether the other end may be waiting, in the world, for what a move of ours tells it: the
 * consumer of our produce queue (cons = 1: CONS part of m->prod) or the producer of our
 * consume queue (PROD part of m->cons). Unknown (not a program that keeps the count): yes. */
static bool peer_may_wait(unsigned char *h, int cons)
{
    return __atomic_load_n(part_word(h, cons, QP_SHM_PART_PROGRAM), __ATOMIC_SEQ_CST) != 1 ||
           __atomic_load_n(part_word(h, cons, QP_SHM_PART_AWAY), __ATOMIC_SEQ_CST) != 0;
}

static void unmap(struct qmap *m)
{
    munmap(m->prod, m->prod_len);
    munmap(m->cons, m->cons_len);
    free(m);
}

static void put_user(struct qmap *m)
{
    if (__atomic_sub_fetch(&m->users, 1, __ATOMIC_ACQ_REL) == 0 &&
        __atomic_load_n(&m->dead, __ATOMIC_ACQUIRE))
        unmap(m);
}

static void *map_fd(int fd, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Ask the world for w's queues (outside tab_lock: a round trip). */
static void ask(struct pl_chan *c, int w)
{
    c->a->op = XP_MAP;
    c->a->fd = w;
    int fds[2] = {-1, -1};
    int e = errno;
    int64_t r = pl_call(c, NULL, 0, fds);
    int err = errno;
    errno = e;
    struct qmap *m = NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (r == 0 && fds[0] >= 0 && fds[1] >= 0 && (m = calloc(1, sizeof *m)) != NULL) {
        m->id = (uint32_t)c->a->a[0];
        m->prod_size = (uint64_t)c->a->a[1];
        m->cons_size = (uint64_t)c->a->a[2];
        m->prod_len = QP_SHM_HDR_BYTES + ((m->prod_size + page - 1) / page) * page;
        m->cons_len = QP_SHM_HDR_BYTES + ((m->cons_size + page - 1) / page) * page;
        m->prod = map_fd(fds[0], m->prod_len);
        m->cons = map_fd(fds[1], m->cons_len);
        if (!m->prod || !m->cons) {
            if (m->prod)
                munmap(m->prod, m->prod_len);
            if (m->cons)
                munmap(m->cons, m->cons_len);
            free(m);
            m = NULL;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            PL_REAL(int (*)(int), close)(fds[i]);
    lock(&tab_lock);
    compact();
    struct slot *s = find(w, true);
    if (s && s->state != SLOT_MAPPED) {
        if (m) {
            /* another descriptor of the same socket may be mapped already: share its map */
            for (unsigned i = 0; i < TAB_SIZE; i++)
                if (tab[i].w > 0 && tab[i].state == SLOT_MAPPED && tab[i].m->id == m->id) {
                    unmap(m);
                    m = tab[i].m;
                    break;
                }
            if (m->refs++ == 0) {
                count(&st_maps, 1);
                away(m, true, true, waiters);
                mark_program(m, 1);
                m->next = maps;
                maps = m;
            }
            s->m = m;
            s->state = SLOT_MAPPED;
            m = NULL;
        } else {
            s->state = r != 0 && err == ENOTCONN && ++s->tries < LATER_TRIES ? SLOT_LATER
                                                                            : SLOT_NEVER;
        }
    }
    unlock(&tab_lock);
    if (m)
        unmap(m); /* raced with another thread's mapping of the same descriptor */
}

/* w's map with a user reference, or NULL (asking the world first when it was never asked). */
static struct qmap *get(struct pl_chan *c, int w)
{
    if (!c->a->realtime)
        return NULL;
    for (int round = 0; round < 2; round++) {
        lock(&tab_lock);
        struct slot *s = find(w, false);
        struct qmap *m = NULL;
        int st = s ? s->state : SLOT_FREE;
        if (st == SLOT_MAPPED) {
            m = s->m;
            __atomic_add_fetch(&m->users, 1, __ATOMIC_ACQ_REL);
        }
        unlock(&tab_lock);
        if (m)
            return m;
        if (st == SLOT_NEVER || round == 1)
            return NULL;
        ask(c, w);
    }
    return NULL;
}

void pl_fast_forget(int w)
{
    lock(&tab_lock);
    struct slot *s = find(w, false);
    struct qmap *m = NULL;
    if (s) {
        if (s->state == SLOT_MAPPED && --s->m->refs == 0) {
            m = s->m;
            for (struct qmap **pp = &maps; *pp; pp = &(*pp)->next)
                if (*pp == m) {
                    *pp = m->next;
                    break;
                }
        }
        s->w = -1; /* a tombstone keeps later probes going */
        s->m = NULL;
        s->state = SLOT_FREE;
    }
    unlock(&tab_lock);
    if (m) {
        mark_program(m, 0); /* the world may read this end's notifications from now on */
        __atomic_store_n(&m->dead, true, __ATOMIC_RELEASE);
        __atomic_add_fetch(&m->users, 1, __ATOMIC_ACQ_REL);
        put_user(m);
    }
}

/* ---- the shared header (qp_shared.h) ---------------------------------------------------------- */

static uint64_t *tail_of(unsigned char *h) { return (uint64_t *)(void *)(h + QP_SHM_OFF_TAIL); }
static uint64_t *head_of(unsigned char *h) { return (uint64_t *)(void *)(h + QP_SHM_OFF_HEAD); }
static unsigned char *part(unsigned char *h, int cons)
{
    return h + QP_SHM_OFF_PART + (cons ? QP_SHM_PART_BYTES : 0);
}
static uint32_t gate_of(unsigned char *h, int cons)
{
    return __atomic_load_n((uint32_t *)(void *)(part(h, cons) + QP_SHM_PART_GATE),
                           __ATOMIC_SEQ_CST);
}
static bool sleeper_on(unsigned char *h, int cons)
{
    return __atomic_load_n((uint32_t *)(void *)(part(h, cons) + QP_SHM_PART_SLEEPERS),
                           __ATOMIC_SEQ_CST) != 0;
}

/* Tell the world of a move (w's socket, n bytes, sent or received), without waiting for it
 * (exec_proto.h, mv_*): the thread's proxy takes it before the thread's next request. Only the
 * previous move must have been taken; it almost always was. */
static void moved(struct pl_chan *c, int w, bool sent, bool edge, size_t n)
{
    struct xp_area *a = c->a;
    uint32_t seq = a->mv_seq; /* only this thread writes it */
    uint32_t ack;
    while ((ack = __atomic_load_n(&a->mv_ack, __ATOMIC_ACQUIRE)) != seq)
        if (!xp_await(&a->mv_ack, &a->mv_sleeping, ack, 50))
            pl_world_check(c);
    a->mv_fd = w;
    a->mv_sent = (sent ? XP_MV_SENT : 0) | (edge ? XP_MV_EDGE : 0);
    a->mv_n = n;
    __atomic_store_n(&a->mv_seq, seq + 1, __ATOMIC_RELEASE);
    xp_ring_by(&a->req_seq, &a->req_sleeping, XP_RING_MOVED);
}

/* ---- moves --------------------------------------------------------------------------------- */

/* Spin-then-sleep, as the in-process path does before it sleeps (vmci_qpair_spin, RT_SPIN_NS):
 * a blocking move that finds no room (no data) looks at the ring for this long before it goes
 * to the world to sleep, so that a peer that keeps up is seen without a sleep and a wake-up. */
#define SPIN_NS 50000ll

static long long mono_ns(void)
{
    struct timespec t; /* the kernel's clock: the program's clock_gettime is the world's */
    PL_REAL(int (*)(clockid_t, struct timespec *), clock_gettime)(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Bytes ready in a ring of `size` from head to tail, or -1 for a corrupt header. */
static int64_t ring_used(uint64_t tail, uint64_t head, uint64_t size)
{
    if (tail >= size || head >= size)
        return -1;
    return (int64_t)(tail >= head ? tail - head : size - (head - tail));
}

/* Until the ring holds something for us (room: !data; bytes: data) or a spin ends: the bytes
 * ready in it (-1 corrupt). Stops at once when we may not wait, or the gate closes. */
static int64_t settle(unsigned char *gate_hdr, int cons, uint64_t *tailp, uint64_t *headp,
                      uint64_t size, bool data, bool may_wait)
{
    long long until = 0;
    for (unsigned i = 0;; i++) {
        int64_t used = ring_used(__atomic_load_n(tailp, __ATOMIC_ACQUIRE),
                                 __atomic_load_n(headp, __ATOMIC_ACQUIRE), size);
        if (used < 0 || (data ? used > 0 : (uint64_t)used < size - 1) || !may_wait)
            return used;
        if ((i & 63) == 0) {
            if (!(gate_of(gate_hdr, cons) & QP_GATE_OPEN))
                return used;
            long long now = mono_ns();
            if (!until)
                until = now + SPIN_NS;
            else if (now >= until)
                return used;
        }
        relax();
    }
}

/* Whether a move of n bytes that left our pointer at `mine` and found the other at `other` (read
 * after the publication and its fence) took the queue out of the empty state (send: the peer
 * gets WROTE) or the full one (receive: READ), as Linux judges it after the copy
 * (vmci_transport_notify_qstate.c: the bytes ready are exactly the bytes written). Judged from
 * what the move saw before its copy instead, a peer that emptied the queue during the copy and
 * then waited in a poll (which sleeps on the notification, not on the doorbell) never heard of
 * these bytes: socat stalled mid-transfer. Judged after, either the peer's wait saw the bytes
 * (its AWAY count went up before it looked at the ring; our fence comes before we read both)
 * or we see the queue holding at most our bytes. Only ours or fewer: the peer may have taken
 * some of them already, which it only does awake. A corrupt header: an edge, to be safe. */
static bool at_edge(bool send, size_t n, uint64_t mine, uint64_t other, uint64_t size)
{
    int64_t used = send ? ring_used(mine, other, size) : ring_used(other, mine, size);
    if (used < 0)
        return true;
    uint64_t left = send ? (uint64_t)used : size - 1 - (uint64_t)used;
    return left <= n;
}

/* One move through w's mapped queue: a send into the produce queue, or a receive out of the
 * consume queue. Our side of the queue is PROD to send and CONS to receive; the pointer we move
 * is the produce queue's tail (send) or its head, which lives in our produce queue's header
 * (receive; §4.1: each end writes only its produce queue's header). */
static size_t move(struct pl_chan *c, int w, void *buf, size_t len, int flags, bool send)
{
    if (len == 0 || (flags & ~(send ? MSG_DONTWAIT | MSG_NOSIGNAL : MSG_DONTWAIT)))
        return 0;
    struct qmap *m = get(c, w);
    if (!m)
        return 0;
    int side = send ? 0 : 1;
    unsigned char *q = send ? m->prod : m->cons;
    uint64_t size = send ? m->prod_size : m->cons_size;
    uint64_t *tailp = tail_of(q), *headp = head_of(send ? m->cons : m->prod);
    uint64_t *mine = send ? tailp : headp;
    int *lk = send ? &m->tx_lock : &m->rx_lock, *in_world = send ? &m->tx_world : &m->rx_world;
    size_t n = 0;
    bool notify = false, edge = false;
    if (!__atomic_exchange_n(lk, 1, __ATOMIC_SEQ_CST)) {
        uint32_t gate = gate_of(q, side);
        if ((gate & QP_GATE_OPEN) && __atomic_load_n(in_world, __ATOMIC_SEQ_CST) == 0) {
            bool may_wait = !(flags & MSG_DONTWAIT) && !(gate & QP_GATE_NONBLOCK);
            int64_t used = settle(q, side, tailp, headp, size, !send, may_wait);
            /* only we move our pointer, and the other one only moves on: what we saw only grows */
            uint64_t can = used < 0 ? 0 : send ? size - 1 - (uint64_t)used : (uint64_t)used;
            if (can > 0) {
                uint64_t at = __atomic_load_n(mine, __ATOMIC_RELAXED);
                n = can < len ? (size_t)can : len;
                size_t first = size - at < n ? (size_t)(size - at) : n;
                unsigned char *ring = q + QP_SHM_HDR_BYTES;
                char *b = buf;
                int bad = send ? pl_copy_fast(ring + at, b, first, false) ||
                                     pl_copy_fast(ring, b + first, n - first, false)
                               : pl_copy_fast(b, ring + at, first, true) ||
                                     pl_copy_fast(b + first, ring, n - first, true);
                if (bad)
                    n = 0; /* nothing published: the world makes the call and says EFAULT */
                if (n) {
                    uint64_t to = at + n;
                    __atomic_store_n(mine, to >= size ? to - size : to, __ATOMIC_RELEASE);
                    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* against a sleeper's arm */
                    edge = at_edge(send, n, to >= size ? to - size : to,
                                   __atomic_load_n(send ? headp : tailp, __ATOMIC_ACQUIRE), size);
                    notify = (edge && peer_may_wait(q, !side)) || (gate & QP_GATE_NOTIFY) ||
                             sleeper_on(q, side);
                }
            }
        }
        __atomic_store_n(lk, 0, __ATOMIC_RELEASE);
    }
    put_user(m);
    if (n) {
        count(send ? &st_sent : &st_recvd, 1);
        count(send ? &st_sent_bytes : &st_recvd_bytes, n);
    }
    if (notify) {
        count(&st_told, 1);
        moved(c, w, send, edge, n);
    }
    return n;
}

size_t pl_fast_send(struct pl_chan *c, int w, const void *buf, size_t len, int flags)
{
    return move(c, w, (void *)buf, len, flags, true);
}

size_t pl_fast_recv(struct pl_chan *c, int w, void *buf, size_t len, int flags)
{
    return move(c, w, buf, len, flags, false);
}

/* ---- the program's calls in the world on a mapped socket ---------------------------------------- */

static void waiting(int by);

/* The token: the map held off with bit 0 set for a send, or `waiters`'s address when the
 * socket is not mapped (the call is still counted as a waiter). No allocation: a call that
 * could not be counted would let the other end skip a notification it waits for. */
void *pl_fast_world_begin(struct pl_chan *c, int w, bool tx)
{
    if (!c->a->realtime)
        return NULL;
    waiting(1); /* the call may wait in the world: the other ends' moves must tell it */
    lock(&tab_lock);
    struct slot *s = find(w, false);
    struct qmap *m = s && s->state == SLOT_MAPPED ? s->m : NULL;
    if (m)
        __atomic_add_fetch(&m->users, 1, __ATOMIC_ACQ_REL);
    unlock(&tab_lock);
    if (!m)
        return &waiters;
    /* from now on no move of ours starts; one under way ends with its copy */
    __atomic_add_fetch(tx ? &m->tx_world : &m->rx_world, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(tx ? &m->tx_lock : &m->rx_lock, __ATOMIC_SEQ_CST))
        syscall(SYS_sched_yield);
    return (void *)((uintptr_t)m | (tx ? 1u : 0u));
}

void pl_fast_world_end(void *token)
{
    if (!token)
        return;
    if (token != (void *)&waiters) {
        bool tx = (uintptr_t)token & 1;
        struct qmap *m = (struct qmap *)((uintptr_t)token & ~(uintptr_t)1);
        __atomic_sub_fetch(tx ? &m->tx_world : &m->rx_world, 1, __ATOMIC_SEQ_CST);
        put_user(m);
    }
    waiting(-1);
}

/* ---- waits in the world ------------------------------------------------------------------------ */

/* Threads of the program in a call to the world that may wait on one of its sockets (a send or
 * receive, or a poll/select/epoll wait): every live map's AWAY counts them all, in both
 * directions, and a map made meanwhile starts with them (ask). Coarse (a wait on one socket
 * makes the other ends of all of them tell the world of their moves), and so it covers a
 * socket another thread maps while the wait is on. */
static void waiting(int by)
{
    lock(&tab_lock);
    waiters += by;
    for (struct qmap *m = maps; m; m = m->next)
        away(m, true, true, by);
    unlock(&tab_lock);
}

void *pl_fast_away_begin(struct pl_chan *c)
{
    if (!c->a->realtime)
        return NULL; /* nothing is ever mapped in deterministic mode */
    waiting(1);
    return &waiters;
}

void pl_fast_away_end(void *token)
{
    if (token)
        waiting(-1);
}

/* Once for the program's life: one waiter that never leaves. In Linux an epoll set hears of an
 * arrival by the socket's wake-up whether or not a thread sleeps in epoll_wait, and an
 * edge-triggered member reports only what it heard: a notification skipped because nobody
 * was waiting at that moment (AWAY 0) left such a member silent for good, and a later
 * epoll_wait slept past the echo it was waiting for (exec_epoll, realtime). Coarse, as
 * `waiting` is: a program that puts a vsock in an epoll set has every edge told. */
void pl_fast_epoll_member(struct pl_chan *c)
{
    static int once;
    if (c->a->realtime && !__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
        waiting(1);
}
