#define _GNU_SOURCE
/*
 * test_stream_data.c - the stream data path: a 1 MiB echo with random write sizes checked byte
 * for byte, flow control with a 64 KiB queue and a slow reader (§4.7: no lost wake-ups), in
 * deterministic mode over several seeds and in realtime mode (run under TSan in CI).
 */
#include <stdlib.h>

#include "sockutil.h"

#define ECHO_BYTES (1024 * 1024)

struct echo {
    int listening;
    uint64_t seed;
    unsigned char *out, *back;
    size_t queue;
};

static unsigned char pattern(size_t i, uint64_t seed)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
    x ^= x >> 29;
    return (unsigned char)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

static void echo_server(void *arg)
{
    struct echo *s = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s->queue) {
        uint64_t q = s->queue;
        ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &q, sizeof q), 0);
    }
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    unsigned char *buf = malloc(70000);
    for (;;) {
        ssize_t n = vmci_recv(fd, buf, 70000, 0);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        su_send_all(fd, buf, (size_t)n);
    }
    free(buf);
    vmci_close(fd);
    vmci_close(l);
}

struct echo_reader {
    int fd;
    struct echo *s;
};

static void echo_client(void *arg)
{
    struct echo *s = arg;
    su_wait(&s->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s->queue) {
        uint64_t q = s->queue;
        ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &q, sizeof q), 0);
    }
    struct sockaddr_vm h = su_addr(VMADDR_CID_HOST, TEST_PORT);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), 0);
    /* Interleave writes of random sizes with non-blocking reads of the echo, so neither side's
     * queue fills for good. Sizes come from the seed. */
    size_t sent = 0, got = 0;
    uint64_t r = s->seed * 6364136223846793005ull + 1442695040888963407ull;
    while (got < ECHO_BYTES) {
        if (sent < ECHO_BYTES) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t n = 1 + (size_t)((r >> 33) % 20000);
            if (n > ECHO_BYTES - sent)
                n = ECHO_BYTES - sent;
            ssize_t w = vmci_send(fd, s->out + sent, n, MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            else
                ck_assert_int_eq(errno, EAGAIN);
        }
        ssize_t m = vmci_recv(fd, s->back + got, ECHO_BYTES - got,
                              sent == ECHO_BYTES ? 0 : MSG_DONTWAIT);
        if (m > 0)
            got += (size_t)m;
        else if (m < 0)
            ck_assert_int_eq(errno, EAGAIN);
        else
            ck_abort_msg("unexpected EOF after %zu bytes", got);
    }
    ck_assert_int_eq(memcmp(s->out, s->back, ECHO_BYTES), 0);
    vmci_close(fd);
}

static void run_echo(uint64_t seed, int realtime, size_t queue)
{
    struct echo s = {.seed = seed, .queue = queue};
    s.out = malloc(ECHO_BYTES);
    s.back = calloc(1, ECHO_BYTES);
    for (size_t i = 0; i < ECHO_BYTES; i++)
        s.out[i] = pattern(i, seed);
    su_run2(seed, realtime, 1, echo_server, echo_client, &s);
    free(s.out);
    free(s.back);
}

START_TEST(echo_1mib_random_write_sizes)
{
    FOR_SEEDS(seed) run_echo(seed, 0, 0);
}
END_TEST

START_TEST(echo_1mib_random_write_sizes_64k_queue)
{
    FOR_SEEDS(seed) run_echo(seed, 0, 64 * 1024);
}
END_TEST

/* ---- flow control: 64 KiB queue, a writer far ahead of a slow reader ------------------------ */

#define FLOW_BYTES (1024 * 1024)

struct flow {
    int listening, done;
    unsigned target_cid;
    uint64_t checksum_out, checksum_in;
    size_t received;
    uint64_t waits;
};

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void slow_reader(void *arg)
{
    struct flow *s = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t q = 64 * 1024;
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &q, sizeof q), 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    unsigned char buf[3000];
    uint64_t h = 0xcbf29ce484222325ull;
    while (s->received < FLOW_BYTES) {
        vmcisim_sleep(50000); /* 50 us per read: far slower than the writer */
        ssize_t n = vmci_recv(fd, buf, sizeof buf, 0);
        ck_assert_int_gt(n, 0);
        h = fnv(h, buf, (size_t)n);
        s->received += (size_t)n;
    }
    s->checksum_in = h;
    su_set(&s->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

static void fast_writer(void *arg)
{
    struct flow *s = arg;
    su_wait(&s->listening, 1);
    int fd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t q = 64 * 1024;
    ck_assert_int_eq(vmci_setsockopt(fd, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &q, sizeof q), 0);
    struct sockaddr_vm h = su_addr(s->target_cid, TEST_PORT);
    ck_assert_int_eq(vmci_connect(fd, (struct sockaddr *)&h, sizeof h), 0);
    unsigned char *buf = malloc(FLOW_BYTES);
    for (size_t i = 0; i < FLOW_BYTES; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    s->checksum_out = fnv(0xcbf29ce484222325ull, buf, FLOW_BYTES);
    /* one blocking send of 1 MiB through a 64 KiB queue: it must block and be woken many
     * times by READ notifications, never lose one */
    ck_assert_int_eq(vmci_send(fd, buf, FLOW_BYTES, 0), FLOW_BYTES);
    free(buf);
    su_wait(&s->done, 1);
    vmci_close(fd);
}

START_TEST(flow_control_64k_queue_slow_host_reader)
{
    FOR_SEEDS(seed)
    {
        struct flow s = {.target_cid = VMADDR_CID_HOST};
        su_run2(seed, 0, 1, slow_reader, fast_writer, &s);
        ck_assert_uint_eq(s.received, FLOW_BYTES);
        ck_assert_uint_eq(s.checksum_in, s.checksum_out);
    }
}
END_TEST

START_TEST(flow_control_64k_queue_slow_guest_reader)
{
    FOR_SEEDS(seed)
    {
        struct flow s = {.target_cid = GUEST_CID};
        su_run2(seed, 0, 0, slow_reader, fast_writer, &s);
        ck_assert_uint_eq(s.received, FLOW_BYTES);
        ck_assert_uint_eq(s.checksum_in, s.checksum_out);
    }
}
END_TEST

/* ---- realtime mode: the same data paths with threads in parallel ------------------------------- */

START_TEST(realtime_echo_1mib)
{
    run_echo(1, 1, 0);
    run_echo(2, 1, 64 * 1024);
}
END_TEST

static void rt_reader(void *arg)
{
    struct flow *s = arg;
    int l = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    uint64_t q = 64 * 1024;
    ck_assert_int_eq(vmci_setsockopt(l, AF_VSOCK, SO_VMCI_BUFFER_SIZE, &q, sizeof q), 0);
    struct sockaddr_vm a = su_addr(VMADDR_CID_ANY, TEST_PORT);
    ck_assert_int_eq(vmci_bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(vmci_listen(l, 1), 0);
    su_set(&s->listening, 1);
    int fd = su_accept(l);
    unsigned char buf[4096];
    uint64_t h = 0xcbf29ce484222325ull;
    while (s->received < FLOW_BYTES) {
        ssize_t n = vmci_recv(fd, buf, sizeof buf, 0);
        ck_assert_int_gt(n, 0);
        h = fnv(h, buf, (size_t)n);
        s->received += (size_t)n;
    }
    s->checksum_in = h;
    su_set(&s->done, 1);
    vmci_close(fd);
    vmci_close(l);
}

START_TEST(realtime_stream_guest_reader_checksum)
{
    struct flow s = {.target_cid = GUEST_CID};
    su_run2(7, 1, 0, rt_reader, fast_writer, &s);
    ck_assert_uint_eq(s.received, FLOW_BYTES);
    ck_assert_uint_eq(s.checksum_in, s.checksum_out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stream data path");
    TCase *tc = tcase_create("deterministic");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, echo_1mib_random_write_sizes);
    tcase_add_test(tc, echo_1mib_random_write_sizes_64k_queue);
    tcase_add_test(tc, flow_control_64k_queue_slow_host_reader);
    tcase_add_test(tc, flow_control_64k_queue_slow_guest_reader);
    suite_add_tcase(s, tc);
    TCase *rt = tcase_create("realtime");
    tcase_set_timeout(rt, 600);
    tcase_add_test(rt, realtime_echo_1mib);
    tcase_add_test(rt, realtime_stream_guest_reader_checksum);
    suite_add_tcase(s, rt);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
