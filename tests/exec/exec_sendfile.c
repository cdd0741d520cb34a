/*
 * exec_sendfile.c - a plain Linux program (no vmcisim header or library) that checks sendfile(2)
 * and splice(2) from a pipe onto a vsock descriptor under `exec` (docs/exec-protocol.md;
 * src/preload/sendfile.c, splice.c):
 *   `server PORT`: accepts four connections in turn. It reads the first, second and fourth to
 *     end of file and checks the count and that every byte is the file's byte at that point of
 *     the stream (byte i of the stream is pat(i mod FILE_SIZE)); it starts reading the second
 *     and the fourth only after 50 ms, so that the client's non-blocking calls find the queue
 *     full. The third it closes after 10 ms. Prints "conn N: B bytes, all as sent" (or where
 *     the first byte differs).
 *   `check PORT N`: accepts N connections in turn and checks that each brings the file once
 *     (for tests/exec/py_sendfile.py).
 *   `client CID PORT DIR`: writes a 1 MiB file of known bytes in DIR and sends it, in whole and
 *     in part, with and without an offset, blocking and not, then through pipes; and the error
 *     cases. Each check prints "ok|FAIL N what: r=.. errno=.."; exit status 0, or the first
 *     failed check's number.
 * Both sides ask for 100000-byte queues (SO_VM_SOCKETS_BUFFER_SIZE), so a full queue cuts the
 * transfer inside one of sendfile's 64 KiB steps: such a queue holds 99999 bytes (a VMCI queue
 * keeps one byte free to tell full from empty).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exec/expect.h"

#define FILE_SIZE (1024 * 1024)
#define QSIZE 100000
#define QHOLDS (QSIZE - 1)

static unsigned char pat(size_t i)
{
    return (unsigned char)(i * 7 + i / 251 + 3);
}



static void set_qsize(int s)
{
    unsigned long long q = QSIZE;
    setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &q, sizeof q);
}

/* Reads c to end of file: 0 when every byte was pat(i mod FILE_SIZE). */
static int check_stream(int n, int c, size_t want)
{
    static unsigned char buf[65536];
    size_t at = 0;
    ssize_t k;
    long bad = -1;
    while ((k = read(c, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < k && bad < 0; i++)
            if (buf[i] != pat((at + (size_t)i) % FILE_SIZE))
                bad = (long)(at + (size_t)i);
        at += (size_t)k;
    }
    if (k < 0) {
        printf("conn %d: read: %s\n", n, strerror(errno));
        return 1;
    }
    if (bad >= 0)
        printf("conn %d: %zu bytes, first difference at %ld\n", n, at, bad);
    else
        printf("conn %d: %zu bytes, all as sent\n", n, at);
    return bad >= 0 || at != want;
}

static int listener(unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    set_qsize(s);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0)
        exit(10);
    return s;
}

/* `check PORT N`: N connections in turn, each the file once. */
static int check_only(unsigned port, int conns)
{
    int s = listener(port), bad = 0;
    for (int n = 1; n <= conns; n++) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            return 11;
        bad |= check_stream(n, c, FILE_SIZE);
        close(c);
    }
    close(s);
    return bad ? 3 : 0;
}

/* The byte count of each connection's stream (the client's order, below). */
static const size_t want_bytes[] = {0, FILE_SIZE + 300000 + 60000, FILE_SIZE, 0, 120000};

static int server(unsigned port)
{
    int s = listener(port), bad = 0;
    for (int n = 1; n <= 4; n++) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            return 11;
        if (n >= 2) {
            /* 2, 4: let the client find the queue full; 3: let its connect see the connection
             * established before the close (a close first would reset the connect) */
            struct timespec t = {0, (n == 3 ? 10 : 50) * 1000 * 1000};
            nanosleep(&t, NULL);
        }
        if (n != 3)
            bad |= check_stream(n, c, want_bytes[n]);
        close(c);
    }
    close(s);
    return bad ? 3 : 0;
}

static int connect_to(unsigned cid, unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    set_qsize(s);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("connect: %s\n", strerror(errno));
        exit(20);
    }
    return s;
}

static off_t pos(int fd)
{
    return lseek(fd, 0, SEEK_CUR);
}

/* The end of a connection whose bytes the server must all read: a guest's close would take
 * what the host has not read yet with it (vmci-semantics.md 2.12: the guest's memory goes), so
 * the client shuts its side and waits for the server's close after its end of file. */
static void finish(int id, int s)
{
    shutdown(s, SHUT_WR);
    char c;
    expect(id, "the server read everything and closed", recv(s, &c, 1, 0), 0, 0);
    close(s);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static int client(unsigned cid, unsigned port, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sendfile.%d.data", dir, (int)getpid()); /* runs may overlap */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char *data = malloc(FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        data[i] = pat(i);
    expect(1, "write the 1 MiB file", write(fd, data, FILE_SIZE), FILE_SIZE, 0);
    lseek(fd, 0, SEEK_SET);

    /* 1: blocking. The whole file, then part of it again from an offset: the server reads the
     * file and then its first 300000 bytes. */
    int s = connect_to(cid, port);
    expect(2, "sendfile the whole file, offset NULL", sendfile(s, fd, NULL, FILE_SIZE), FILE_SIZE, 0);
    expect(3, "the file position advanced to its end", pos(fd), FILE_SIZE, 0);
    expect(4, "sendfile at end of file", sendfile(s, fd, NULL, 10), 0, 0);
    expect(5, "count 0", sendfile(s, fd, NULL, 0), 0, 0);
    off_t off = 0;
    expect(6, "sendfile 300000 from offset 0", sendfile(s, fd, &off, 300000), 300000, 0);
    expect(7, "*offset advanced to 300000", off, 300000, 0);
    expect(8, "the file position unchanged", pos(fd), FILE_SIZE, 0);
    off = FILE_SIZE - 5;
    off_t *offp = &off;
    expect(9, "count 0 with an offset", sendfile(s, fd, offp, 0), 0, 0);
    expect(10, "*offset unchanged", off, FILE_SIZE - 5, 0);
    /* errors: nothing is sent */
    expect(11, "bad in_fd", sendfile(s, 999, NULL, 10), -1, EBADF);
    void *badp = (void *)1;
    __asm__("" : "+r"(badp));
    expect(12, "bad offset pointer", sendfile(s, fd, badp, 10), -1, EFAULT);
    expect(13, "bad offset pointer before a bad in_fd", sendfile(s, 999, badp, 10), -1, EFAULT);
    int wo = open(path, O_WRONLY);
    expect(14, "in_fd open only for writing", sendfile(s, wo, NULL, 10), -1, EBADF);
    close(wo);
    int p[2];
    expect(15, "pipe", pipe(p), 0, 0);
    expect(16, "in_fd a pipe", sendfile(s, p[0], NULL, 10), -1, EINVAL);
    expect(17, "in_fd a pipe, with an offset", sendfile(s, p[0], &off, 10), -1, ESPIPE);
    close(p[0]);
    close(p[1]);
    int other = socket(AF_VSOCK, SOCK_STREAM, 0);
    expect(18, "in_fd a vsock socket", sendfile(s, other, NULL, 10), -1, EINVAL);
    expect(19, "in_fd a vsock socket, with an offset", sendfile(s, other, &off, 10), -1, ESPIPE);
    expect(20, "in_fd a vsock socket, count 0", sendfile(s, other, NULL, 0), -1, EINVAL);
    close(other);
    off = -1;
    expect(21, "negative offset", sendfile(s, fd, &off, 10), -1, EINVAL);
    expect(22, "count (size_t)-1", sendfile(s, fd, NULL, (size_t)-1), -1, EINVAL);
    expect(23, "the file position still at the end", pos(fd), FILE_SIZE, 0);
    /* splice from a pipe (src/preload/splice.c): the stream goes on with the file from 300000 */
    int sp[2];
    expect(50, "60000 bytes into a pipe", pipe(sp) == 0 && write(sp[1], data + 300000, 60000) == 60000,
           1, 0);
    expect(51, "splice len 0", splice(sp[0], NULL, s, NULL, 0, 0), 0, 0);
    loff_t lo = 0;
    expect(52, "splice with an offset for the pipe", splice(sp[0], &lo, s, NULL, 10, 0), -1, ESPIPE);
    expect(53, "splice with an offset for the socket", splice(sp[0], NULL, s, &lo, 10, 0), -1,
           EINVAL);
    expect(54, "splice from a file to a socket", splice(fd, NULL, s, NULL, 10, 0), -1, EINVAL);
    expect(55, "splice from a bad descriptor", splice(999, NULL, s, NULL, 10, 0), -1, EBADF);
    expect(56, "splice with an unknown flag", splice(sp[0], NULL, s, NULL, 10, 0x100), -1, EINVAL);
    expect(57, "splice of 100000 from a pipe that holds 60000: the 60000",
           splice(sp[0], NULL, s, NULL, 100000, 0), 60000, 0);
    expect(58, "an empty pipe with SPLICE_F_NONBLOCK: EAGAIN",
           splice(sp[0], NULL, s, NULL, 10, SPLICE_F_NONBLOCK), -1, EAGAIN);
    close(sp[1]);
    expect(59, "an empty pipe without a writer: 0", splice(sp[0], NULL, s, NULL, 10, 0), 0, 0);
    close(sp[0]);
    finish(24, s);

    /* 2: non-blocking, the server not reading yet: the queue takes QSIZE bytes, the rest waits */
    s = connect_to(cid, port);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    off = 0;
    expect(30, "non-blocking sendfile of 1 MiB: what the queue takes",
           sendfile(s, fd, &off, FILE_SIZE), QHOLDS, 0);
    expect(31, "*offset advanced by exactly that", off, QHOLDS, 0);
    expect(32, "the queue is full: EAGAIN", sendfile(s, fd, &off, FILE_SIZE), -1, EAGAIN);
    expect(33, "*offset unchanged", off, QHOLDS, 0);
    lseek(fd, off, SEEK_SET);
    expect(34, "offset NULL: EAGAIN", sendfile(s, fd, NULL, 10), -1, EAGAIN);
    expect(35, "the file position unchanged", pos(fd), QHOLDS, 0);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
    expect(36, "blocking again: the rest once the server reads", sendfile(s, fd, NULL, FILE_SIZE),
           FILE_SIZE - QHOLDS, 0);
    expect(37, "the file position at the end", pos(fd), FILE_SIZE, 0);
    finish(38, s);

    /* 3: the server closes: EPIPE, and SIGPIPE as write raises it */
    s = connect_to(cid, port);
    char c;
    int q = 0;
    expect(40, "the server's close seen as end of file", recv(s, &c, 1, 0), 0, 0);
    signal(SIGPIPE, on_sigpipe);
    lseek(fd, 0, SEEK_SET);
    expect(41, "sendfile after the peer closed", sendfile(s, fd, NULL, 10), -1, EPIPE);
    expect(42, "one SIGPIPE", sigpipes, 1, 0);
    expect(43, "the file position unchanged", pos(fd), 0, 0);
    off = 7;
    expect(44, "with an offset too", sendfile64(s, fd, &off, 10), -1, EPIPE);
    expect(45, "*offset unchanged", off, 7, 0);
    expect(46, "two SIGPIPEs", sigpipes, 2, 0);
    expect(47, "10 bytes into a pipe", pipe(sp) == 0 && write(sp[1], data, 10) == 10, 1, 0);
    expect(48, "splice after the peer closed", splice(sp[0], NULL, s, NULL, 10, 0), -1, EPIPE);
    expect(49, "three SIGPIPEs, and the pipe still holds the 10 bytes",
           sigpipes == 3 && ioctl(sp[0], FIONREAD, &q) == 0 && q == 10, 1, 0);
    close(sp[0]);
    close(sp[1]);
    close(s);

    /* 4: splice onto a non-blocking socket whose queue fills, the server not reading yet: the
     * pipe keeps exactly what did not go */
    s = connect_to(cid, port);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    int sa[2], sb[2];
    expect(60, "two pipes of 60000 bytes (the file from 0, from 60000)",
           pipe(sa) == 0 && pipe(sb) == 0 && write(sa[1], data, 60000) == 60000 &&
               write(sb[1], data + 60000, 60000) == 60000,
           1, 0);
    expect(61, "splice the first: all of it", splice(sa[0], NULL, s, NULL, 60000, 0), 60000, 0);
    expect(62, "splice the second: what the queue still takes",
           splice(sb[0], NULL, s, NULL, 60000, 0), QHOLDS - 60000, 0);
    expect(63, "the pipe keeps the rest", ioctl(sb[0], FIONREAD, &q) == 0 ? q : -1,
           120000 - QHOLDS, 0);
    expect(64, "the queue is full: EAGAIN", splice(sb[0], NULL, s, NULL, 60000, 0), -1, EAGAIN);
    expect(65, "the pipe still keeps it", ioctl(sb[0], FIONREAD, &q) == 0 ? q : -1,
           120000 - QHOLDS, 0);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
    expect(66, "blocking again: the rest once the server reads",
           splice(sb[0], NULL, s, NULL, 60000, 0), 120000 - QHOLDS, 0);
    close(sa[0]);
    close(sa[1]);
    close(sb[0]);
    close(sb[1]);
    finish(67, s);
    close(fd);
    unlink(path);
    free(data);
    return first_fail;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "server"))
        return server((unsigned)atoi(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "check"))
        return check_only((unsigned)atoi(argv[2]), atoi(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "client"))
        return client((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argv[4]);
    fprintf(stderr, "usage: exec_sendfile server PORT | check PORT N | client CID PORT DIR\n");
    return 2;
}
