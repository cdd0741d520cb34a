/*
 * exec_gaps.c - a plain Linux program (no vmcisim header or library) for the two places where
 * an exec'd program once differed from an in-process one (docs/exec-protocol.md):
 *   `urandom`: 32 bytes read from /dev/urandom (open, read, dup, pread after close of the
 *     original) and 8 from /dev/random (openat, readv), printed in hex: in deterministic mode
 *     they come from the world's seeded stream, so the same seed prints the same bytes.
 *   `fopen`: the same through stdio (fopen + fread/fgets/getc, fileno and a read of it, fdopen
 *     of /dev/random): the bytes come from the world's stream too. `readfd`: the first 32 bytes
 *     of the stream by open + read, to compare with `fopen`'s first 32 in a run of its own.
 *   `efault CID PORT`: bad pointers given to interposed calls fail with -1/EFAULT, as the same
 *     calls do in-process (src/sock/api.c, usercopy.c) and on Linux, and the program goes on;
 *     the echo server (vsock_echo server PORT) then still echoes what the client sends.
 * Exit status 0 when every check held; otherwise the number of the first failed check
 * (each printed on stdout with what came back).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "exec/expect.h"




static void hex(const char *label, const unsigned char *b, size_t n)
{
    printf("%s=", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static int urandom(void)
{
    unsigned char b[32], r[8];
    int fd = open("/dev/urandom", O_RDONLY);
    expect(1, "open /dev/urandom", fd >= 0, 1, 0);
    expect(2, "read 16", read(fd, b, 16), 16, 0);
    int d = dup(fd);
    expect(3, "dup", d >= 0, 1, 0);
    close(fd);
    expect(4, "pread 16 on the dup after close of the original", pread(d, b + 16, 16, 0), 16, 0);
    expect(5, "read into a bad buffer", read(d, BAD, 8), -1, EFAULT);
    close(d);
    int rf = openat(AT_FDCWD, "/dev/random", O_RDONLY | O_CLOEXEC);
    struct iovec iov[2] = {{r, 3}, {r + 3, 5}};
    expect(6, "readv 3+5 from /dev/random", readv(rf, iov, 2), 8, 0);
    close(rf);
    hex("urandom", b, sizeof b);
    hex("random", r, sizeof r);
    return first_fail;
}

/* stdio over /dev/urandom and /dev/random (src/preload/urandom_stdio.c) */
static int stdio_random(void)
{
    unsigned char b[32], c[8], d[8];
    FILE *f = fopen("/dev/urandom", "rb");
    expect(50, "fopen /dev/urandom rb", f != NULL, 1, 0);
    if (!f)
        return first_fail;
    expect(51, "fread 32", (long)fread(b, 1, sizeof b, f), 32, 0);
    int fd = fileno(f);
    struct stat st;
    expect(52, "fileno is a character device",
           fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), 1, 0);
    expect(53, "read 8 from fileno", read(fd, c, sizeof c), 8, 0);
    char line[17];
    expect(54, "fgets", fgets(line, sizeof line, f) != NULL, 1, 0);
    expect(55, "getc", getc(f) != EOF, 1, 0);
    expect(56, "fwrite to a read-only stream writes nothing", (long)fwrite("x", 1, 1, f), 0, 0);
    expect(57, "fclose", fclose(f), 0, 0);
    expect(58, "fileno is closed with it", fcntl(fd, F_GETFD), -1, EBADF);
    int rfd = open("/dev/random", O_RDONLY);
    FILE *g = fdopen(rfd, "r");
    expect(59, "fdopen of /dev/random", g != NULL, 1, 0);
    if (!g)
        return first_fail;
    expect(60, "fread 8", (long)fread(d, 1, sizeof d, g), 8, 0);
    expect(61, "fclose", fclose(g), 0, 0);
    expect(62, "its descriptor is closed with it", fcntl(rfd, F_GETFD), -1, EBADF);
    hex("first32", b, sizeof b);
    hex("fileno_read", c, sizeof c);
    hex("fdopen", d, sizeof d);
    return first_fail;
}

static int read_first(void)
{
    unsigned char b[32];
    int fd = open("/dev/urandom", O_RDONLY);
    expect(70, "read 32", read(fd, b, sizeof b), 32, 0);
    close(fd);
    hex("first32", b, sizeof b);
    return first_fail;
}

static int efault(unsigned cid, unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
    expect(10, "connect (void*)1", connect(s, BAD, sizeof a), -1, EFAULT);
    expect(11, "connect NULL", connect(s, NULL, sizeof a), -1, EFAULT);
    expect(12, "connect", connect(s, (struct sockaddr *)&a, sizeof a), 0, 0);
    expect(13, "send (void*)1", send(s, BAD, 10, 0), -1, EFAULT);
    expect(14, "send NULL", send(s, NULL, 10, 0), -1, EFAULT);
    /* a buffer whose second half is an inaccessible page: the chunk is refused whole, as the
     * in-process queue pair copy refuses it (nothing of it queued, EFAULT) */
    char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(15, "mmap + mprotect", pg != MAP_FAILED && mprotect(pg + 4096, 4096, PROT_NONE) == 0,
           1, 0);
    memset(pg, 'q', 4096);
    expect(16, "send across into a PROT_NONE page", send(s, pg + 4090, 12, 0), -1, EFAULT);
    expect(17, "write (void*)1", write(s, BAD, 3), -1, EFAULT);
    expect(18, "send \"ab\"", send(s, "ab", 2, 0), 2, 0);
    struct pollfd p = {.fd = s, .events = POLLIN};
    expect(19, "poll for the echo", poll(&p, 1, 1000), 1, 0);
    expect(20, "poll (void*)1", poll(BAD, 1, 0), -1, EFAULT);
    /* the echo is queued: a bad buffer fails and leaves it there (in-process: the failed copy
     * does not consume it) */
    expect(21, "recv NULL", recv(s, NULL, 10, 0), -1, EFAULT);
    expect(22, "recv (void*)1", recv(s, BAD, 10, 0), -1, EFAULT);
    expect(23, "read into a PROT_NONE page", read(s, pg + 4096, 10), -1, EFAULT);
    char buf[8] = {0};
    expect(24, "recv the echo", recv(s, buf, sizeof buf, 0), 2, 0);
    expect(25, "it is \"AB\"", !strcmp(buf, "AB"), 1, 0);
    unsigned long long v = 0;
    expect(26, "setsockopt (void*)1",
           setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, BAD, sizeof v), -1, EFAULT);
    expect(27, "getsockopt len (void*)1",
           getsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &v, BAD), -1, EFAULT);
    socklen_t vl = sizeof v;
    expect(28, "getsockopt value (void*)1",
           getsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, BAD, &vl), -1, EFAULT);
    socklen_t al = sizeof a;
    expect(29, "getsockname (void*)1", getsockname(s, BAD, &al), -1, EFAULT);
    expect(30, "ioctl FIONREAD (void*)1", ioctl(s, FIONREAD, BAD), -1, EFAULT);
    int b = socket(AF_VSOCK, SOCK_STREAM, 0);
    expect(31, "bind (void*)1", bind(b, BAD, sizeof a), -1, EFAULT);
    close(b);
    /* the structures of the message calls, read as Linux's copy_msghdr_from_user and
     * import_iovec read them (src/sock/api.c in-process): a bad header or iovec array is
     * EFAULT before anything is sent or received; an iovec count out of range is EINVAL */
    struct iovec bad_iov = {.iov_base = BAD, .iov_len = 4};
    volatile int neg = -1, many = IOV_MAX + 1; /* counts the compiler may not see through */
    struct msghdr mh = {.msg_iov = BAD, .msg_iovlen = 1};
    expect(36, "sendmsg (void*)1", sendmsg(s, BAD, 0), -1, EFAULT);
    expect(37, "sendmsg with its iovec array at (void*)1", sendmsg(s, &mh, 0), -1, EFAULT);
    expect(38, "writev (void*)1", writev(s, BAD, 1), -1, EFAULT);
    expect(39, "writev of a buffer at (void*)1", writev(s, &bad_iov, 1), -1, EFAULT);
    expect(40, "writev of -1 buffers", writev(s, &bad_iov, neg), -1, EINVAL);
    expect(41, "recvmsg (void*)1", recvmsg(s, BAD, 0), -1, EFAULT);
    expect(42, "recvmsg with its iovec array at (void*)1", recvmsg(s, &mh, 0), -1, EFAULT);
    expect(43, "readv (void*)1", readv(s, BAD, 1), -1, EFAULT);
    expect(44, "readv of IOV_MAX + 1 buffers", readv(s, &bad_iov, many), -1, EINVAL);
    mh.msg_iovlen = IOV_MAX + 1;
    expect(45, "sendmsg of IOV_MAX + 1 buffers", sendmsg(s, &mh, 0), -1, EMSGSIZE);
    expect(32, "send \"ok\"", send(s, "ok", 2, 0), 2, 0);
    memset(buf, 0, sizeof buf);
    expect(33, "recv its echo", recv(s, buf, 2, MSG_WAITALL), 2, 0);
    expect(34, "it is \"OK\"", !strcmp(buf, "OK"), 1, 0);
    shutdown(s, SHUT_WR);
    expect(35, "eof", recv(s, buf, sizeof buf, 0), 0, 0);
    close(s);
    return first_fail;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "urandom"))
        return urandom();
    if (argc == 2 && !strcmp(argv[1], "fopen"))
        return stdio_random();
    if (argc == 2 && !strcmp(argv[1], "readfd"))
        return read_first();
    if (argc == 4 && !strcmp(argv[1], "efault"))
        return efault((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
    fprintf(stderr, "usage: exec_gaps urandom | fopen | readfd | efault CID PORT\n");
    return 2;
}
