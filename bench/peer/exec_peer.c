/*
 * exec_peer.c - the two ends of the `vmci-exec` bench rows (bench/exec_bench.c): ordinary
 * programs (no vmcisim code) that `vmcisim bench` runs under exec in a realtime world.
 *   recv PORT BYTES           accept one connection, read BYTES, answer one byte, print the
 *                             CLOCK_MONOTONIC time (ns) after the last byte
 *   send CID PORT BYTES SIZE  connect, print the time before the first byte, write BYTES in
 *                             SIZE-byte writes, wait for the answer (a host reader loses what
 *                             it has not read when a guest writer closes: vmci-semantics.md 2.12)
 * Exit status 0 on success, 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static int do_recv(unsigned port, long long bytes)
{
    int l = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm me = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    if (l < 0 || bind(l, (struct sockaddr *)&me, sizeof me) != 0 || listen(l, 1) != 0)
        return 1;
    int fd = accept(l, NULL, NULL);
    if (fd < 0)
        return 1;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    long long got = 0;
    while (buf && got < bytes) {
        ssize_t n = read(fd, buf, cap);
        if (n <= 0)
            return 1;
        got += n;
    }
    long long end = now_ns();
    char ack = 1;
    if (write(fd, &ack, 1) != 1)
        return 1;
    printf("end %lld\n", end);
    close(fd);
    close(l);
    return 0;
}

static int do_send(unsigned cid, unsigned port, long long bytes, size_t size)
{
    int fd = -1;
    for (int i = 0; i < 5000; i++) {
        fd = socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm to = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
        if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0)
            break;
        close(fd);
        fd = -1;
        if (errno != ECONNRESET)
            return 1;
        usleep(1000); /* the receiver is not listening yet */
    }
    char *buf = calloc(1, size);
    if (fd < 0 || !buf)
        return 1;
    printf("start %lld\n", now_ns());
    long long sent = 0;
    while (sent < bytes) {
        size_t n = (size_t)(bytes - sent < (long long)size ? bytes - sent : (long long)size);
        ssize_t w = write(fd, buf, n);
        if (w <= 0)
            return 1;
        sent += w;
    }
    char ack;
    if (read(fd, &ack, 1) != 1)
        return 1;
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "recv"))
        return do_recv((unsigned)atoi(argv[2]), atoll(argv[3]));
    if (argc == 6 && !strcmp(argv[1], "send"))
        return do_send((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), atoll(argv[4]),
                       (size_t)atol(argv[5]));
    fprintf(stderr, "usage: vmcisim-exec-peer recv PORT BYTES | send CID PORT BYTES SIZE\n");
    return 1;
}
