#define _GNU_SOURCE
/*
 * test_stream_realtime.c - the realtime stream data path (copies outside the world lock, spin
 * before sleep) under load, run under ThreadSanitizer in CI (label realtime):
 *  - 64 connections at once, half guest->host and half host->guest, random write and read sizes,
 *    random queue sizes, every byte checked (position-dependent pattern) and checksummed. A
 *    host->guest writer closes as soon as it has sent everything: a guest end keeps the queue
 *    pair's memory and reads every byte before end of file (§3.6, §8.2). A host reader loses
 *    unread bytes at the guest's close (§8.2), so guest->host writers wait for their reader.
 *  - a guest powered off while the host streams into it (the host copies into the guest's queue
 *    memory outside the lock while the power-off frees it): the host's send ends with EPIPE
 *    (§6: power off detaches the VM's pairs; §2.7: a send after the peer detached is EPIPE), and
 *    every byte the guest read before it ended was the right byte.
 *  - the queue pair's doorbell: with every notification of the guest held in the hypervisor
 *    (vmcisim_vm_hold), a host reader asleep in recv is still woken by the guest's write, and a
 *    guest writer asleep on a full queue by the host's reads (§4.7 says what WROTE/READ are for;
 *    the doorbell is the simulator's interrupt path, which does not wait for them).
 *  - READ follows the write-notify window of §4.7 (Q_STATE) in realtime mode, and the shortcut
 *    of §4.7 (READ at every full -> not-full transition) in deterministic mode.
 */
#include <stdlib.h>
#include <sys/time.h>

#include "sockutil.h"

#define NCONN 64
#define BYTES_PER_CONN (192 * 1024)
#define PORT0 5000u

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned char pat(uint64_t conn, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (conn << 40);
    x ^= x >> 29;
    return (unsigned char)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

struct conn {
    int idx;
    int guest_writes;
    size_t queue;
    uint64_t seed;
    int listening, read_all;
    uint64_t sum_out, sum_in, received, bad_bytes;
    int eof_after_all;   /* host->guest: recv gave 0 exactly after the last byte */
    int connect_errno;   /* the last failed connect attempt's errno (0: none failed) */
};

static void set_queue(int fd, size_t q)
{
    uint64_t v = q;
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, sizeof v), 0);
}

static void reader(void *arg)
{
    struct conn *c = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    set_queue(l, c->queue);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, PORT0 + (unsigned)c->idx);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&c->listening, 1);
    int fd = su_accept(l);
    uint64_t rs = c->seed ^ 0x5555;
    unsigned char *buf = malloc(70000);
    uint64_t h = 0xcbf29ce484222325ull, got = 0, bad = 0;
    while (got < BYTES_PER_CONN) {
        size_t want = 1 + (size_t)(xs(&rs) % 70000);
        ssize_t n = vmci_recv(fd, buf, want, 0);
        ck_assert_msg(n > 0, "conn %d: recv %zd (%s) after %llu bytes", c->idx, n,
                      strerror(errno), (unsigned long long)got);
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != pat((uint64_t)c->idx, got + (uint64_t)i);
        h = fnv(h, buf, (size_t)n);
        got += (uint64_t)n;
    }
    if (!c->guest_writes) /* the host closed after its last byte: end of file comes next */
        c->eof_after_all = vmci_recv(fd, buf, 1, 0) == 0;
    c->sum_in = h;
    c->received = got;
    c->bad_bytes = bad;
    su_set(&c->read_all, 1);
    free(buf);
    vmci_close(fd);
    vmci_close(l);
}

static void writer(void *arg)
{
    struct conn *c = arg;
    su_wait(&c->listening, 1);
    struct sockaddr_vm a = su_addr(c->guest_writes ? VMADDR_CID_HOST : GUEST_CID,
                                   PORT0 + (unsigned)c->idx);
    /* realtime timeouts are wall-clock: 128 threads under a sanitizer on a busy machine may
     * take longer than the default 2 s for a handshake (§2.5), which is not what this tests.
     * For the same reason the listener's pending child (1 s, §3.5) may expire before the OFFER
     * comes, and the connect is reset: a new connect then, as a client would. (A failed
     * ck_assert in a simulated thread ends only that simulated process - the simulator
     * interposes _exit - so the test would hang, its reader waiting in accept, not fail.) */
    int fd = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        set_queue(fd, c->queue);
        struct timeval tv = {.tv_sec = 120};
        ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv),
                         0);
        if (vmci_connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        c->connect_errno = errno;
        vmci_close(fd);
        fd = -1;
        if (c->connect_errno != ECONNRESET)
            break;
    }
    if (fd < 0) {
        /* not ck_assert (see above): end the test process, with the reason on stderr */
        fprintf(stderr, "conn %d: connect: %s\n", c->idx, strerror(c->connect_errno));
        abort();
    }
    unsigned char *out = malloc(BYTES_PER_CONN);
    for (uint64_t i = 0; i < BYTES_PER_CONN; i++)
        out[i] = pat((uint64_t)c->idx, i);
    c->sum_out = fnv(0xcbf29ce484222325ull, out, BYTES_PER_CONN);
    uint64_t ws = c->seed;
    size_t off = 0;
    while (off < BYTES_PER_CONN) {
        size_t n = 1 + (size_t)(xs(&ws) % 70000);
        if (n > BYTES_PER_CONN - off)
            n = BYTES_PER_CONN - off;
        ssize_t w = vmci_send(fd, out + off, n, 0);
        ck_assert_msg(w > 0, "conn %d: send %zd (%s)", c->idx, w, strerror(errno));
        off += (size_t)w;
    }
    free(out);
    if (c->guest_writes)
        su_wait(&c->read_all, 1); /* a host reader would lose what it has not read (§8.2) */
    vmci_close(fd);
}

START_TEST(realtime_64_connections_random_sizes_checksums)
{
    static const size_t queues[] = {4096, 65536, 262144, 1048576};
    struct vmcisim_config cfg = {.seed = 11, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    vmcisim_vm *guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(guest);
    vmcisim_vm *host = vmcisim_host(sim);
    struct conn *c = calloc(NCONN, sizeof *c);
    uint64_t qs = 99;
    for (int i = 0; i < NCONN; i++) {
        c[i] = (struct conn){.idx = i, .guest_writes = i % 2 == 0, .seed = 1000 + (uint64_t)i,
                             .queue = queues[xs(&qs) % 4]};
        ck_assert_int_eq(vmcisim_spawn(c[i].guest_writes ? host : guest, "reader", reader, &c[i]),
                         0);
        ck_assert_int_eq(vmcisim_spawn(c[i].guest_writes ? guest : host, "writer", writer, &c[i]),
                         0);
    }
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    for (int i = 0; i < NCONN; i++) {
        ck_assert_uint_eq(c[i].received, BYTES_PER_CONN);
        ck_assert_uint_eq(c[i].bad_bytes, 0);
        ck_assert_uint_eq(c[i].sum_in, c[i].sum_out);
        if (!c[i].guest_writes)
            ck_assert_int_eq(c[i].eof_after_all, 1);
    }
    free(c);
}
END_TEST

/* ---- power off under a running host->guest stream -------------------------------------------- */

struct po {
    vmcisim_vm *guest;
    int listening;
    uint64_t received, bad;  /* written by the guest reader (atomic) */
    int send_errno;
    uint64_t sent;
    unsigned char buf[65536];  /* the guest reader's: it ends where it stands, never frees */
};

static void po_guest_reader(void *arg)
{
    struct po *s = arg;
    int l = su_listen(TEST_PORT, 1);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    unsigned char *buf = s->buf;
    uint64_t got = 0;
    for (;;) { /* until the power off ends this thread where it stands */
        ssize_t n = vmci_recv(fd, buf, 65536, 0);
        ck_assert_int_gt(n, 0);
        uint64_t bad = 0;
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != pat(7, got + (uint64_t)i);
        got += (uint64_t)n;
        __atomic_add_fetch(&s->bad, bad, __ATOMIC_RELAXED);
        __atomic_store_n(&s->received, got, __ATOMIC_RELEASE);
    }
}

static void po_host_writer(void *arg)
{
    struct po *s = arg;
    su_wait(&s->listening, 1);
    int fd = su_connect(GUEST_CID, TEST_PORT);
    ck_assert_int_ge(fd, 0);
    enum { CHUNK = 65536 };
    unsigned char *out = malloc(CHUNK);
    uint64_t off = 0;
    for (;;) {
        for (size_t i = 0; i < CHUNK; i++)
            out[i] = pat(7, off + i);
        ssize_t w = vmci_send(fd, out, CHUNK, MSG_NOSIGNAL);
        if (w < 0) {
            s->send_errno = errno;
            break;
        }
        off += (uint64_t)w;
    }
    s->sent = off;
    free(out);
    vmci_close(fd);
}

static void po_operator(void *arg)
{
    struct po *s = arg;
    while (__atomic_load_n(&s->received, __ATOMIC_ACQUIRE) < (4u << 20))
        vmcisim_sleep(100000);
    ck_assert_int_eq(vmcisim_vm_power_off(s->guest), 0);
}

START_TEST(realtime_power_off_under_a_stream)
{
    for (int round = 0; round < 3; round++) {
        struct vmcisim_config cfg = {.seed = 5, .realtime = 1};
        vmcisim *sim = vmcisim_create(&cfg);
        ck_assert_ptr_nonnull(sim);
        static struct po s;
        memset(&s, 0, sizeof s);
        s.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
        ck_assert_ptr_nonnull(s.guest);
        ck_assert_int_eq(vmcisim_spawn(s.guest, "reader", po_guest_reader, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "writer", po_host_writer, &s), 0);
        ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "operator", po_operator, &s), 0);
        int rc = vmcisim_run(sim);
        ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
        vmcisim_destroy(sim);
        ck_assert_int_eq(s.send_errno, EPIPE);
        ck_assert_uint_ge(s.received, 4u << 20);
        ck_assert_uint_le(s.received, s.sent);
        ck_assert_uint_eq(s.bad, 0);
    }
}
END_TEST

/* ---- the doorbell, notifications held -------------------------------------------------------- */

#define HELD_QUEUE 65536u
#define HELD_BULK (3u * HELD_QUEUE)

struct held {
    vmcisim_vm *guest;
    int listening, connected, held, got_first, bulk, done;
    ssize_t first;            /* the reader's first recv */
    uint64_t bulk_read, bad;
    int done_while_held;      /* the operator found every byte read before it released */
    int release_rc;
};

#define HELD_PATIENCE_MS 20000 /* how long the operator waits before it releases anyway */

static void held_host_reader(void *arg)
{
    struct held *h = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    set_queue(l, HELD_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, PORT0);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&h->listening, 1);
    int fd = su_accept(l);
    su_set(&h->connected, 1);
    unsigned char *buf = malloc(HELD_BULK);
    /* asleep in recv (the writer waits 100 ms before it writes); its WROTE stays held. No
     * receive timeout: a timed-out wait would look at the queue again and find the bytes. */
    h->first = vmci_recv(fd, buf, 4096, 0);
    for (ssize_t i = 0; i < h->first; i++)
        h->bad += buf[i] != pat(1, (uint64_t)i);
    su_set(&h->got_first, 1);
    /* the writer fills the queue and sleeps on it; every READ it would wait for stays held */
    su_wait(&h->bulk, 1);
    vmcisim_sleep(100000000);
    while (h->bulk_read < HELD_BULK) {
        ssize_t n = vmci_recv(fd, buf, HELD_BULK - h->bulk_read, 0);
        ck_assert_msg(n > 0, "bulk recv %zd (%s) after %llu bytes", n, strerror(errno),
                      (unsigned long long)h->bulk_read);
        for (ssize_t i = 0; i < n; i++)
            h->bad += buf[i] != pat(2, h->bulk_read + (uint64_t)i);
        h->bulk_read += (uint64_t)n;
    }
    su_set(&h->done, 1);
    free(buf);
    vmci_close(fd);
    vmci_close(l);
}

static void held_guest_writer(void *arg)
{
    struct held *h = arg;
    su_wait(&h->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    set_queue(fd, HELD_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, PORT0);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    su_wait(&h->connected, 1);
    unsigned char *out = malloc(HELD_BULK);
    for (uint64_t i = 0; i < 4096; i++)
        out[i] = pat(1, i);
    vmcisim_sleep(100000000); /* the reader is asleep by now, past its spin */
    ck_assert_int_eq(vmcisim_vm_hold(h->guest), 0);
    su_set(&h->held, 1);
    ck_assert_int_eq(vmci_send(fd, out, 4096, 0), 4096);
    su_wait(&h->got_first, 1);
    for (uint64_t i = 0; i < HELD_BULK; i++)
        out[i] = pat(2, i);
    su_set(&h->bulk, 1);
    su_send_all(fd, out, HELD_BULK); /* blocks on the full queue: only reads wake it */
    su_wait(&h->done, 1);
    free(out);
    vmci_close(fd);
}

/* Releases the guest once every byte was read, or after HELD_PATIENCE_MS, so that a missing
 * direct wake-up fails the test (done_while_held == 0) instead of hanging it: the release
 * delivers the held WROTE/READ, which wake the sleepers the old way. */
static void held_operator(void *arg)
{
    struct held *h = arg;
    su_wait(&h->held, 1);
    for (int ms = 0; ms < HELD_PATIENCE_MS && !__atomic_load_n(&h->done, __ATOMIC_ACQUIRE); ms++)
        vmcisim_sleep(1000000);
    h->done_while_held = __atomic_load_n(&h->done, __ATOMIC_ACQUIRE);
    h->release_rc = vmcisim_vm_release(h->guest);
}

START_TEST(realtime_doorbell_wakes_while_notifications_are_held)
{
    struct vmcisim_config cfg = {.seed = 3, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    static struct held h;
    memset(&h, 0, sizeof h);
    h.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(h.guest);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "reader", held_host_reader, &h), 0);
    ck_assert_int_eq(vmcisim_spawn(h.guest, "writer", held_guest_writer, &h), 0);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "operator", held_operator, &h), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_int_eq(h.first, 4096);
    ck_assert_uint_eq(h.bulk_read, HELD_BULK);
    ck_assert_uint_eq(h.bad, 0);
    ck_assert_msg(h.done_while_held, "the reader or the writer waited for a held notification");
    ck_assert_int_eq(h.release_rc, 0);
}
END_TEST

/* ---- READ and the write-notify window ---------------------------------------------------------- */

#define WIN_QUEUE 65536u
#define CTL_TYPE_OFFSET 25 /* §3.2: the control packet's type byte follows the 24-byte header */
#define PKT_READ 6         /* §3.3 */

struct win {
    int listening, filled, done;
    int reads_sent;           /* READ packets from the host's reader (atomic) */
    int after[16];            /* reads_sent after each of the reader's 16 recvs */
    ssize_t got[16];
    int64_t queued;           /* what the writer got in before EAGAIN */
};

static void win_observe(void *ctx, const struct vmcisim_packet *pkt)
{
    struct win *w = ctx;
    if (pkt->op == VMCISIM_PKT_CONTROL && pkt->src_cid == VMADDR_CID_HOST && pkt->hdr &&
        pkt->hdr_len > CTL_TYPE_OFFSET &&
        ((const unsigned char *)pkt->hdr)[CTL_TYPE_OFFSET] == PKT_READ)
        __atomic_add_fetch(&w->reads_sent, 1, __ATOMIC_ACQ_REL);
}

static void win_host_reader(void *arg)
{
    struct win *w = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    set_queue(l, WIN_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, PORT0);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&w->listening, 1);
    int fd = su_accept(l);
    su_wait(&w->filled, 1);
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        w->got[i] = vmci_recv(fd, buf, sizeof buf, 0);
        w->after[i] = __atomic_load_n(&w->reads_sent, __ATOMIC_ACQUIRE);
    }
    su_set(&w->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void win_guest_writer(void *arg)
{
    struct win *w = arg;
    su_wait(&w->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    set_queue(fd, WIN_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, PORT0);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static char buf[4096];
    ssize_t n;
    while ((n = vmci_send(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        w->queued += n;
    ck_assert_int_eq(errno, EAGAIN);
    su_set(&w->filled, 1);
    su_wait(&w->done, 1);
    vmci_close(fd);
}

static void window_run(int realtime, struct win *w)
{
    struct vmcisim_config cfg = {.seed = 9, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    memset(w, 0, sizeof *w);
    vmcisim_set_packet_observer(sim, win_observe, w);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "reader", win_host_reader, w), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "writer", win_guest_writer, w), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    /* §4.2: a 64 KiB queue holds 65535 bytes; the reader takes them in 15 x 4096 + 4095 */
    ck_assert_int_eq(w->queued, WIN_QUEUE - 1);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(w->got[i], i < 15 ? 4096 : 4095);
}

START_TEST(realtime_read_follows_the_write_notify_window)
{
    static struct win w;
    window_run(1, &w);
    /* §4.7 Q_STATE: the first read finds the queue was full (free == 4096 == n): the writer may
     * wait. The window (the queue size) shrinks by a page to 61440 at this first detection, so
     * READ needs free > 65536 - 61440 = 4096: not yet. The second read leaves 8192 free: READ.
     * The writer waits no more, so no later read sends one. */
    ck_assert_int_eq(w.after[0], 0);
    for (int i = 1; i < 16; i++)
        ck_assert_int_eq(w.after[i], 1);
}
END_TEST

START_TEST(deterministic_read_at_every_full_to_not_full_transition)
{
    static struct win w;
    window_run(0, &w);
    /* §4.7 simulator shortcut: READ at the full -> not-full transition, i.e. the first read */
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(w.after[i], 1);
}
END_TEST

/* ---- a polling writer and a reader polling for more than is queued ------------------------------
 * The queue is full and the writer polls for POLLOUT: it hears of room only through a
 * notification. The reader takes one page, which in realtime mode is not yet worth a READ (the
 * window, see above), then polls for more bytes than are queued (SO_RCVLOWAT), which only the
 * writer can supply. Each must still hear of the other (§4.7: a reader waiting for a target
 * tells the writer before it waits; Linux's vsock_test "poll() + SO_RCVLOWAT"), or each waits
 * for the other until its poll times out. */

struct pw {
    int listening, filled, read_done;
    int writer_poll, reader_poll;    /* poll results: 1 expected on each side */
    short writer_revents, reader_revents;
    ssize_t reader_got;
};

static void pw_host_reader(void *arg)
{
    struct pw *w = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    set_queue(l, WIN_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, PORT0);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&w->listening, 1);
    int fd = su_accept(l);
    su_wait(&w->filled, 1);
    static char buf[WIN_QUEUE];
    ck_assert_int_eq(vmci_recv(fd, buf, 4096, 0), 4096);
    int lowat = WIN_QUEUE - 1; /* all the queue holds: more than the 61439 bytes queued now */
    ck_assert_int_eq(vmci_setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    w->reader_poll = vmci_poll(&p, 1, 20000);
    w->reader_revents = p.revents;
    w->reader_got = vmci_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    su_set(&w->read_done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void pw_guest_writer(void *arg)
{
    struct pw *w = arg;
    su_wait(&w->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    set_queue(fd, WIN_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, PORT0);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static char buf[4096];
    int64_t queued = 0;
    ssize_t n;
    while ((n = vmci_send(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        queued += n;
    ck_assert_int_eq(queued, WIN_QUEUE - 1);
    su_set(&w->filled, 1);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    w->writer_poll = vmci_poll(&p, 1, 20000);
    w->writer_revents = p.revents;
    if (w->writer_poll == 1)
        ck_assert_int_eq(vmci_send(fd, buf, sizeof buf, MSG_DONTWAIT), 4096);
    su_wait(&w->read_done, 1); /* a host reader loses what it has not read at a close (§8.2) */
    vmci_close(fd);
}

static void pw_run(int realtime)
{
    struct vmcisim_config cfg = {.seed = 4, .realtime = realtime};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    static struct pw w;
    memset(&w, 0, sizeof w);
    vmcisim_vm *g = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(vmcisim_spawn(vmcisim_host(sim), "reader", pw_host_reader, &w), 0);
    ck_assert_int_eq(vmcisim_spawn(g, "writer", pw_guest_writer, &w), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_int_eq(w.writer_poll, 1);
    ck_assert_int_eq(w.writer_revents, POLLOUT);
    ck_assert_int_eq(w.reader_poll, 1);
    ck_assert_int_eq(w.reader_revents, POLLIN);
    ck_assert_int_eq(w.reader_got, WIN_QUEUE - 1); /* 61439 left + the writer's 4096 */
}

START_TEST(realtime_polling_writer_and_reader_waiting_for_a_target_meet)
{
    pw_run(1);
}
END_TEST

START_TEST(deterministic_polling_writer_and_reader_waiting_for_a_target_meet)
{
    pw_run(0);
}
END_TEST

/* ---- power off while both guest ends sleep on doorbells -----------------------------------------
 * A guest writer asleep on a full queue and a guest reader asleep on an empty one, when their VM
 * is powered off: both are ended where they sleep (outside the world lock), and the power off
 * frees their queue memory, which waits for the sleepers' pins (qp_queue_free rings the slots).
 * The run ends; the host reader of the full queue reads end of file without the unread bytes
 * (a host end cannot keep a guest's memory, §6, §8.2) and the host writer to the empty one gets
 * EPIPE (§6, §2.7). */

#define POD_PORT_G2H 7100u
#define POD_PORT_H2G 7101u

struct pod {
    vmcisim_vm *guest;
    int listening_host, listening_guest, connected_host, writer_blocking, reader_blocking;
    int powered_off;
    ssize_t host_recv_after;  /* the host reader's recv after the power off */
    ssize_t host_send_after;  /* the host writer's send after the power off */
    int host_send_errno;
};

static void pod_guest_writer(void *arg)
{
    struct pod *p = arg;
    su_wait(&p->listening_host, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    set_queue(fd, HELD_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_HOST, POD_PORT_G2H);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static char out[2 * HELD_QUEUE];
    su_set(&p->writer_blocking, 1);
    vmci_send(fd, out, sizeof out, 0); /* fills the queue, sleeps: the power off ends it here */
    ck_abort_msg("the guest writer returned from a send its power off should have ended");
}

static void pod_guest_reader(void *arg)
{
    struct pod *p = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, POD_PORT_H2G);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&p->listening_guest, 1);
    int fd = su_accept(l);
    char buf[16];
    su_set(&p->reader_blocking, 1);
    vmci_recv(fd, buf, sizeof buf, 0); /* nothing comes: the power off ends it here */
    ck_abort_msg("the guest reader returned from a recv its power off should have ended");
}

static void pod_host_reader(void *arg)
{
    struct pod *p = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    set_queue(l, HELD_QUEUE);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, POD_PORT_G2H);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&p->listening_host, 1);
    int fd = su_accept(l);
    su_wait(&p->powered_off, 1);
    /* the detach reaches the host as an event after the power off returns: wait for it */
    struct pollfd pf = {.fd = fd, .events = POLLRDHUP};
    ck_assert_int_eq(vmci_poll(&pf, 1, 20000), 1);
    char buf[16];
    p->host_recv_after = vmci_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    vmci_close(fd);
    vmci_close(l);
}

static void pod_host_writer(void *arg)
{
    struct pod *p = arg;
    su_wait(&p->listening_guest, 1);
    int fd = su_connect(GUEST_CID, POD_PORT_H2G);
    ck_assert_int_ge(fd, 0);
    su_set(&p->connected_host, 1);
    su_wait(&p->powered_off, 1);
    struct pollfd pf = {.fd = fd, .events = POLLRDHUP};
    ck_assert_int_eq(vmci_poll(&pf, 1, 20000), 1);
    p->host_send_after = vmci_send(fd, "x", 1, MSG_NOSIGNAL);
    p->host_send_errno = errno;
    vmci_close(fd);
}

static void pod_operator(void *arg)
{
    struct pod *p = arg;
    su_wait(&p->writer_blocking, 1);
    su_wait(&p->reader_blocking, 1);
    su_wait(&p->connected_host, 1);
    vmcisim_sleep(200000000); /* both guest ends are past their spins, asleep on the doorbells */
    ck_assert_int_eq(vmcisim_vm_power_off(p->guest), 0);
    su_set(&p->powered_off, 1);
}

START_TEST(realtime_power_off_ends_doorbell_sleepers)
{
    struct vmcisim_config cfg = {.seed = 6, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    ck_assert_ptr_nonnull(sim);
    static struct pod p;
    memset(&p, 0, sizeof p);
    p.guest = vmcisim_vm_create(sim, "guest", GUEST_CID);
    ck_assert_ptr_nonnull(p.guest);
    vmcisim_vm *h = vmcisim_host(sim);
    ck_assert_int_eq(vmcisim_spawn(h, "reader", pod_host_reader, &p), 0);
    ck_assert_int_eq(vmcisim_spawn(h, "writer", pod_host_writer, &p), 0);
    ck_assert_int_eq(vmcisim_spawn(h, "operator", pod_operator, &p), 0);
    ck_assert_int_eq(vmcisim_spawn(p.guest, "writer", pod_guest_writer, &p), 0);
    ck_assert_int_eq(vmcisim_spawn(p.guest, "reader", pod_guest_reader, &p), 0);
    int rc = vmcisim_run(sim);
    ck_assert_msg(rc == 0, "%s", vmcisim_error(sim));
    vmcisim_destroy(sim);
    ck_assert_int_eq(p.host_recv_after, 0);
    ck_assert_int_eq(p.host_send_after, -1);
    ck_assert_int_eq(p.host_send_errno, EPIPE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stream realtime");
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, realtime_64_connections_random_sizes_checksums);
    tcase_add_test(rt, realtime_power_off_under_a_stream);
    tcase_add_test(rt, realtime_doorbell_wakes_while_notifications_are_held);
    tcase_add_test(rt, realtime_read_follows_the_write_notify_window);
    tcase_add_test(rt, realtime_polling_writer_and_reader_waiting_for_a_target_meet);
    tcase_add_test(rt, realtime_power_off_ends_doorbell_sleepers);
    suite_add_tcase(s, rt);
    TCase *det = tcase_create("deterministic");
    tcase_add_test(det, deterministic_read_at_every_full_to_not_full_transition);
    tcase_add_test(det, deterministic_polling_writer_and_reader_waiting_for_a_target_meet);
    suite_add_tcase(s, det);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
