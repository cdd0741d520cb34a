/*
 * vmci_bench.c - the simulator's own transports, measured the same way as the baselines:
 *  - vmci-ring: a bare queue-pair ring (src/device/qp_queue.c) between two plain threads, through
 *    the shared channel harness: the floor of every VMCI stream (one copy in, one copy out);
 *  - vmci-stream: the full sockets shim (vmci_send/vmci_recv over a queue pair, WROTE/READ
 *    notifications through the hypervisor) between a guest and the host, in a realtime world;
 *    throughput per direction, write size and queue size, a 1-byte ping-pong, and 1-8 parallel
 *    connections;
 *  - vmci-dgram: datagrams delivered per second from a guest to a host socket.
 * Times are taken inside the simulated processes around the data phase only (world creation and
 * the handshake are not measured).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "posix/real.h"
#include "bench.h"
#include "cases.h"
#include "chan.h"
#include "pair.h"
#include "vmci/qp_queue.h"
#include "vmcisim/vmci_sockets.h"
#include "vmcisim/vmcisim.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- vmci-ring: the bare queue-pair ring between two threads ----------------------------------- */

struct ring_impl {
    struct qp_queue *q[2];
    struct qp_view view[2];
    int hung[2];
};

static int ring_open(struct bench_chan *ch, size_t queue_size)
{
    size_t size = queue_size ? queue_size : 262144;
    struct ring_impl *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->q[0] = qp_queue_alloc(size, VMCI_INVALID_HANDLE, false);
    r->q[1] = qp_queue_alloc(size, VMCI_INVALID_HANDLE, false);
    if (!r->q[0] || !r->q[1]) {
        qp_queue_free(r->q[0]);
        qp_queue_free(r->q[1]);
        free(r);
        errno = ENOMEM;
        return -1;
    }
    /* end 0 produces into q0 and consumes q1; end 1 the other way round (§4.1) */
    r->view[0] = (struct qp_view){*r->q[0], *r->q[1]};
    r->view[1] = (struct qp_view){*r->q[1], *r->q[0]};
    ch->impl = r;
    ch->queue_size = size - 1;
    return 0;
}

static void ring_wait(int *spins)
{
    if (++*spins < 200)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static ssize_t ring_send(struct bench_chan *ch, int end, const void *buf, size_t n)
{
    struct ring_impl *r = ch->impl;
    int spins = 0;
    for (;;) {
        int64_t w = qp_enqueue(&r->view[end], buf, n, qp_copy_plain);
        if (w > 0)
            return (ssize_t)w;
        if (__atomic_load_n(&r->hung[!end], __ATOMIC_ACQUIRE)) {
            errno = EPIPE;
            return -1;
        }
        ring_wait(&spins);
    }
}

static ssize_t ring_recv(struct bench_chan *ch, int end, void *buf, size_t n)
{
    struct ring_impl *r = ch->impl;
    int spins = 0;
    for (;;) {
        int64_t got = qp_dequeue(&r->view[end], buf, n, qp_copy_plain);
        if (got > 0)
            return (ssize_t)got;
        if (__atomic_load_n(&r->hung[!end], __ATOMIC_ACQUIRE) &&
            qp_consume_buf_ready(&r->view[end]) == 0)
            return 0;
        ring_wait(&spins);
    }
}

static void ring_hangup(struct bench_chan *ch, int end)
{
    struct ring_impl *r = ch->impl;
    __atomic_store_n(&r->hung[end], 1, __ATOMIC_RELEASE);
}

static void ring_close(struct bench_chan *ch)
{
    struct ring_impl *r = ch->impl;
    qp_queue_free(r->q[0]);
    qp_queue_free(r->q[1]);
    free(r);
    ch->impl = NULL;
}

const struct bench_chan_ops bench_chan_vmci_ring = {ring_open, ring_send, ring_recv, ring_hangup,
                                                    ring_close};

/* ---- vmci-stream: the sockets shim in a realtime world ----------------------------------------- */

const struct bench_vmci_spec bench_vmci_g2h = {.guest_writes = 1, .conns = 1};
const struct bench_vmci_spec bench_vmci_h2g = {.guest_writes = 0, .conns = 1};
const struct bench_vmci_spec bench_vmci_g2h_x2 = {.guest_writes = 1, .conns = 2};
const struct bench_vmci_spec bench_vmci_g2h_x4 = {.guest_writes = 1, .conns = 4};
const struct bench_vmci_spec bench_vmci_g2h_x8 = {.guest_writes = 1, .conns = 8};

#define GUEST_CID 3u
#define PORT_BASE 9000u
#define MAX_CONNS 8

struct vs_run {
    const struct bench_case *bc;
    const struct bench_vmci_spec *spec;
    uint64_t bytes_per_conn;
    size_t queue;
    int listening[MAX_CONNS];
    int connected;                /* connections ready (atomic) */
    int read_all[MAX_CONNS];
    uint64_t start_ns, end_ns;    /* earliest writer start, latest reader end (atomic) */
    int failed;
    char err[160];
    /* ping-pong */
    uint64_t *rtt;
    uint64_t rounds;
};

struct vs_arg {
    struct vs_run *r;
    int idx;
};

static void fail(struct vs_run *r, const char *what)
{
    if (!__atomic_exchange_n(&r->failed, 1, __ATOMIC_ACQ_REL))
        snprintf(r->err, sizeof r->err, "%s: %s", what, strerror(errno));
}

static void set_queue(int fd, size_t q)
{
    if (!q)
        return;
    uint64_t v = q;
    vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_MAX_SIZE, &v, sizeof v);
    vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &v, sizeof v);
}

static void atomic_min(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_ACQ_REL,
                                                   __ATOMIC_RELAXED))
        ;
}

static void atomic_max(uint64_t *p, uint64_t v)
{
    uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_ACQ_REL,
                                                   __ATOMIC_RELAXED))
        ;
}

static void wait_flag(int *f)
{
    while (!__atomic_load_n(f, __ATOMIC_ACQUIRE))
        vmcisim_sleep(20000);
}

/* Placement, as every two-sided baseline (pair.c): the writing process on the first CPU, the
 * reading one on the second (bc->cpus == 2). The simulator's own threads (the hypervisor's and
 * the guest's event loops) are left to the kernel. */
static void place(const struct bench_case *bc, int slot)
{
    if (bc->cpus == 2)
        bench_pin_to_slot(slot);
    else if (bc->cpus == 1)
        bench_pin_to_slot(0);
}

static void vs_reader(void *arg)
{
    struct vs_arg *a = arg;
    struct vs_run *r = a->r;
    place(r->bc, 1);
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    set_queue(l, r->queue);
    struct sockaddr_vm me = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                             .svm_port = PORT_BASE + (unsigned)a->idx};
    if (vmci_bind(l, (struct sockaddr *)&me, sizeof me) || vmci_listen(l, 1)) {
        fail(r, "bind/listen");
        __atomic_store_n(&r->listening[a->idx], 1, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&r->listening[a->idx], 1, __ATOMIC_RELEASE);
    int fd = vmci_accept(l, NULL, NULL);
    if (fd < 0) {
        fail(r, "accept");
        vmci_close(l);
        return;
    }
    size_t bufsize = r->bc->msg_size < 65536 ? 65536 : r->bc->msg_size;
    char *buf = malloc(bufsize);
    uint64_t got = 0;
    while (buf && got < r->bytes_per_conn) {
        ssize_t n = vmci_recv(fd, buf, bufsize, 0);
        if (n <= 0) {
            fail(r, "recv");
            break;
        }
        got += (uint64_t)n;
    }
    atomic_max(&r->end_ns, now_ns());
    free(buf);
    __atomic_store_n(&r->read_all[a->idx], 1, __ATOMIC_RELEASE);
    vmci_close(fd);
    vmci_close(l);
}

static void vs_writer(void *arg)
{
    struct vs_arg *a = arg;
    struct vs_run *r = a->r;
    place(r->bc, 0);
    wait_flag(&r->listening[a->idx]);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    set_queue(fd, r->queue);
    struct sockaddr_vm peer = {.svm_family = AF_VSOCK,
                               .svm_cid = r->spec->guest_writes ? VMADDR_CID_HOST : GUEST_CID,
                               .svm_port = PORT_BASE + (unsigned)a->idx};
    if (vmci_connect(fd, (struct sockaddr *)&peer, sizeof peer) != 0) {
        fail(r, "connect");
        __atomic_add_fetch(&r->connected, 1, __ATOMIC_ACQ_REL);
        __atomic_store_n(&r->read_all[a->idx], 1, __ATOMIC_RELEASE);
        vmci_close(fd);
        return;
    }
    /* start together: every connection is up before the first byte moves */
    __atomic_add_fetch(&r->connected, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&r->connected, __ATOMIC_ACQUIRE) < r->spec->conns)
        vmcisim_sleep(20000);
    char *buf = calloc(1, r->bc->msg_size);
    atomic_min(&r->start_ns, now_ns());
    uint64_t sent = 0;
    while (buf && sent < r->bytes_per_conn) {
        size_t n = r->bc->msg_size;
        if (n > r->bytes_per_conn - sent)
            n = (size_t)(r->bytes_per_conn - sent);
        ssize_t w = vmci_send(fd, buf, n, 0);
        if (w <= 0) {
            fail(r, "send");
            break;
        }
        sent += (uint64_t)w;
    }
    free(buf);
    wait_flag(&r->read_all[a->idx]); /* a host reader loses what it has not read at a close */
    vmci_close(fd);
}

static int run_world(struct vs_run *r, void (*host_fn)(void *), void (*guest_fn)(void *),
                     struct vs_arg *args, int n, char *err, size_t errlen)
{
    struct vmcisim_config cfg = {.seed = 1, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = sim ? vmcisim_vm_create(sim, "bench-guest", GUEST_CID) : NULL;
    if (!g) {
        snprintf(err, errlen, "cannot create the world");
        vmcisim_destroy(sim);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        args[i] = (struct vs_arg){r, i};
        if (vmcisim_spawn(vmcisim_host(sim), "host", host_fn, &args[i]) != 0 ||
            vmcisim_spawn(g, "guest", guest_fn, &args[i]) != 0) {
            snprintf(err, errlen, "spawn: %s", vmcisim_error(sim));
            vmcisim_destroy(sim);
            return -1;
        }
    }
    vmcisim_run(sim);
    vmcisim_destroy(sim);
    if (r->failed) {
        snprintf(err, errlen, "%s", r->err);
        return -1;
    }
    return 0;
}

int bench_vmci_stream_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen)
{
    const struct bench_vmci_spec *spec = bc->impl;
    struct vs_run r = {.bc = bc, .spec = spec, .queue = bc->queue_size, .start_ns = UINT64_MAX};
    r.bytes_per_conn = work / (uint64_t)spec->conns;
    if (r.bytes_per_conn < bc->msg_size)
        r.bytes_per_conn = bc->msg_size;
    struct vs_arg args[MAX_CONNS];
    void (*host_fn)(void *) = spec->guest_writes ? vs_reader : vs_writer;
    void (*guest_fn)(void *) = spec->guest_writes ? vs_writer : vs_reader;
    if (run_world(&r, host_fn, guest_fn, args, spec->conns, err, errlen) != 0)
        return -1;
    double secs = (double)(r.end_ns - r.start_ns) / 1e9;
    if (secs <= 0) {
        snprintf(err, errlen, "no time measured");
        return -1;
    }
    out->seconds = secs;
    out->value = (double)(r.bytes_per_conn * (uint64_t)spec->conns) / secs;
    out->value_p99 = 0;
    out->queue_size = (bc->queue_size ? bc->queue_size : 262144) - 1;
    return 0;
}

/* ---- 1-byte ping-pong -------------------------------------------------------------------------- */

static void pp_host(void *arg)
{
    struct vs_arg *a = arg;
    struct vs_run *r = a->r;
    place(r->bc, 1);
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm me = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                             .svm_port = PORT_BASE};
    if (vmci_bind(l, (struct sockaddr *)&me, sizeof me) || vmci_listen(l, 1)) {
        fail(r, "bind/listen");
        __atomic_store_n(&r->listening[0], 1, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&r->listening[0], 1, __ATOMIC_RELEASE);
    int fd = vmci_accept(l, NULL, NULL);
    char c;
    for (uint64_t i = 0; fd >= 0 && i < r->rounds; i++)
        if (vmci_recv(fd, &c, 1, 0) != 1 || vmci_send(fd, &c, 1, 0) != 1) {
            fail(r, "echo");
            break;
        }
    __atomic_store_n(&r->read_all[0], 1, __ATOMIC_RELEASE);
    vmci_close(fd);
    vmci_close(l);
}

static void pp_guest(void *arg)
{
    struct vs_arg *a = arg;
    struct vs_run *r = a->r;
    place(r->bc, 0);
    wait_flag(&r->listening[0]);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm peer = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
                               .svm_port = PORT_BASE};
    if (vmci_connect(fd, (struct sockaddr *)&peer, sizeof peer) != 0) {
        fail(r, "connect");
        vmci_close(fd);
        return;
    }
    char c = 'p';
    r->start_ns = now_ns();
    for (uint64_t i = 0; i < r->rounds; i++) {
        uint64_t t0 = now_ns();
        if (vmci_send(fd, &c, 1, 0) != 1 || vmci_recv(fd, &c, 1, 0) != 1) {
            fail(r, "ping");
            break;
        }
        r->rtt[i] = now_ns() - t0;
    }
    r->end_ns = now_ns();
    wait_flag(&r->read_all[0]);
    vmci_close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int bench_vmci_rtt_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                       char *err, size_t errlen)
{
    struct vs_run r = {.bc = bc, .spec = &bench_vmci_g2h, .rounds = work ? work : 1};
    r.rtt = calloc(r.rounds, sizeof *r.rtt);
    if (!r.rtt) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct vs_arg args[1];
    int rc = run_world(&r, pp_host, pp_guest, args, 1, err, errlen);
    if (rc == 0) {
        qsort(r.rtt, r.rounds, sizeof *r.rtt, cmp_u64);
        out->seconds = (double)(r.end_ns - r.start_ns) / 1e9;
        out->value = (double)r.rtt[r.rounds / 2];
        out->value_p99 = (double)r.rtt[(r.rounds * 99) / 100];
        out->queue_size = 262143;
    }
    free(r.rtt);
    return rc;
}

/* ---- datagrams: delivered per second, guest -> host ---------------------------------------------- */

struct dg_run {
    const struct bench_case *bc;
    uint64_t count, received;
    int bound, sent_all;
    uint64_t start_ns, end_ns;
    int failed;
    char err[160];
};

static void dg_host(void *arg)
{
    struct dg_run *r = arg;
    place(r->bc, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm me = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                             .svm_port = PORT_BASE};
    int rcvbuf = 1 << 22;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    vmci_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    vmci_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (vmci_bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
        r->failed = 1;
        snprintf(r->err, sizeof r->err, "bind: %s", strerror(errno));
    }
    __atomic_store_n(&r->bound, 1, __ATOMIC_RELEASE);
    char *buf = malloc(r->bc->msg_size + 1);
    while (buf && r->received < r->count) {
        ssize_t n = vmci_recv(fd, buf, r->bc->msg_size + 1, 0);
        if (n < 0) {
            if (__atomic_load_n(&r->sent_all, __ATOMIC_ACQUIRE))
                break; /* the rest was dropped (receive buffer full) */
            continue;
        }
        r->received++;
        r->end_ns = now_ns();
    }
    free(buf);
    vmci_close(fd);
}

static void dg_guest(void *arg)
{
    struct dg_run *r = arg;
    place(r->bc, 0);
    while (!__atomic_load_n(&r->bound, __ATOMIC_ACQUIRE))
        vmcisim_sleep(20000);
    int fd = vmci_socket(AF_VSOCK, SOCK_DGRAM, 0);
    struct sockaddr_vm peer = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
                               .svm_port = PORT_BASE};
    char *buf = calloc(1, r->bc->msg_size);
    r->start_ns = now_ns();
    for (uint64_t i = 0; buf && i < r->count; i++)
        if (vmci_sendto(fd, buf, r->bc->msg_size, 0, (struct sockaddr *)&peer, sizeof peer) < 0 &&
            errno != ENOBUFS) {
            r->failed = 1;
            snprintf(r->err, sizeof r->err, "sendto: %s", strerror(errno));
            break;
        }
    __atomic_store_n(&r->sent_all, 1, __ATOMIC_RELEASE);
    free(buf);
    vmci_close(fd);
}

int bench_vmci_dgram_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen)
{
    struct dg_run r = {.bc = bc, .count = work ? work : 1};
    struct vmcisim_config cfg = {.seed = 1, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = sim ? vmcisim_vm_create(sim, "bench-guest", GUEST_CID) : NULL;
    if (!g || vmcisim_spawn(vmcisim_host(sim), "host", dg_host, &r) != 0 ||
        vmcisim_spawn(g, "guest", dg_guest, &r) != 0) {
        snprintf(err, errlen, "cannot create the world");
        vmcisim_destroy(sim);
        return -1;
    }
    vmcisim_run(sim);
    vmcisim_destroy(sim);
    if (r.failed || r.received == 0) {
        snprintf(err, errlen, "%s", r.failed ? r.err : "nothing delivered");
        return -1;
    }
    double secs = (double)(r.end_ns - r.start_ns) / 1e9;
    out->seconds = secs;
    out->value = (double)r.received / secs;
    out->value_p99 = 0;
    out->queue_size = 0;
    return 0;
}
