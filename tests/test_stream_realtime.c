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
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    set_queue(fd, c->queue);
    struct sockaddr_vm a = su_addr(c->guest_writes ? VMADDR_CID_HOST : GUEST_CID,
                                   PORT0 + (unsigned)c->idx);
    /* realtime timeouts are wall-clock: 128 threads under a sanitizer on a busy machine may
     * take longer than the default 2 s for a handshake (§2.5), which is not what this tests */
    struct timeval tv = {.tv_sec = 120};
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv), 0);
    ck_assert_msg(vmci_connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "conn %d: connect: %s",
                  c->idx, strerror(errno));
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

static Suite *suite(void)
{
    Suite *s = suite_create("stream realtime");
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, realtime_64_connections_random_sizes_checksums);
    tcase_add_test(rt, realtime_power_off_under_a_stream);
    suite_add_tcase(s, rt);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
