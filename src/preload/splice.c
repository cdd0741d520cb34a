/*
 * splice.c - splice(2) from a pipe onto a vsock descriptor of an exec'd program. The C library's
 * splice would run on the placeholder (an unconnected AF_UNIX socket), so the bytes would never
 * reach the world. Here the pipe's bytes are looked at without taking them (tee(2) into a pipe
 * of our own, then read from that), sent as write() sends them (pl_sock_write), and then exactly
 * as many as were sent are taken from the pipe: on a short send the rest stays in the pipe, as
 * in Linux, where the pipe's buffers are consumed by what the socket accepted.
 *
 * What follows Linux (fs/splice.c, splice_to_socket of 6.x, checked against this machine's
 * kernel with a Unix socket): len 0 is 0 before anything is looked at; unknown flags EINVAL;
 * fd_in not open for reading EBADF; neither end a pipe EINVAL; an offset for the pipe ESPIPE,
 * for the socket EINVAL; a negative len EINVAL. It waits for the pipe to hold something unless
 * SPLICE_F_NONBLOCK or the pipe is non-blocking (EAGAIN), gives 0 for an empty pipe with no
 * writer, then sends what the pipe holds, up to len, and stops when the pipe is empty after
 * some bytes went, or the socket takes no more (the bytes sent; -1 when none: EAGAIN, EPIPE
 * with SIGPIPE as write raises it).
 *
 * Not here: splice from a vsock descriptor into a pipe (how much a pipe can take without blocking
 * is not visible to a program, so the read could not be sized as Linux sizes it), and vmsplice/
 * tee, which take pipes only. Those and every splice without a vsock out_fd are the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/preload.h"

#define SP_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT)

static ssize_t fail(int e)
{
    errno = e;
    return -1;
}

/* The checks of Linux's splice for a pipe fd_in and a socket out, in its order. */
static int check(int fd_in, const off64_t *off_in, const off64_t *off_out, size_t len,
                 unsigned flags, bool *nonblock)
{
    if (flags & ~SP_FLAGS)
        return (int)fail(EINVAL);
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(fd_in, F_GETFL);
    if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
        return (int)fail(EBADF);
    struct stat st;
    if (fstat(fd_in, &st) < 0 || !S_ISFIFO(st.st_mode))
        return (int)fail(EINVAL); /* neither end a pipe */
    if (off_in)
        return (int)fail(ESPIPE); /* a pipe has no offset */
    if (off_out)
        return (int)fail(EINVAL); /* a socket has no pwrite: EINVAL here (6.x) */
    if ((ssize_t)len < 0)
        return (int)fail(EINVAL); /* rw_verify_area */
    *nonblock = (flags & SPLICE_F_NONBLOCK) || (fl & O_NONBLOCK);
    return 0;
}

/* What the pipe holds, up to len, without taking it: bytes copied into buf (0: empty with no
 * writer), or -1 with errno (EAGAIN when empty and nonblock). */
static ssize_t peek(int pipe_in, int tmp[2], char *buf, size_t len, bool nonblock)
{
    ssize_t t = tee(pipe_in, tmp[1], len, nonblock ? SPLICE_F_NONBLOCK : 0);
    if (t <= 0)
        return t;
    size_t got = 0;
    while (got < (size_t)t) {
        ssize_t r = PL_REAL(ssize_t(*)(int, void *, size_t), read)(tmp[0], buf + got,
                                                                   (size_t)t - got);
        if (r <= 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)r;
    }
    return t;
}

/* Takes n bytes the pipe holds (they were seen by peek). */
static void take(int pipe_in, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = PL_REAL(ssize_t(*)(int, void *, size_t), read)(pipe_in, buf, n);
        if (r <= 0)
            return; /* another reader took them: nothing more to do */
        n -= (size_t)r;
    }
}

static ssize_t to_socket(struct pl_chan *c, int w, int fd_in, size_t len, bool nonblock)
{
    int tmp[2];
    if (pipe2(tmp, O_CLOEXEC) < 0)
        return -1;
    /* as large as the pipe it copies from, so that one tee can take all it holds */
    int sz = PL_REAL(int (*)(int, int, ...), fcntl)(fd_in, F_GETPIPE_SZ);
    if (sz > 0)
        PL_REAL(int (*)(int, int, ...), fcntl)(tmp[1], F_SETPIPE_SZ, sz);
    sz = PL_REAL(int (*)(int, int, ...), fcntl)(tmp[1], F_GETPIPE_SZ);
    size_t cap = sz > 0 ? (size_t)sz : 65536;
    char *buf = malloc(cap);
    size_t total = 0;
    ssize_t r = 0;
    int e = ENOMEM;
    while (buf && total < len) {
        size_t k = len - total < cap ? len - total : cap;
        /* once bytes went, an empty pipe ends the call instead of a wait */
        ssize_t n = peek(fd_in, tmp, buf, k, nonblock || total > 0);
        if (n <= 0) {
            e = errno;
            r = n;
            break;
        }
        ssize_t s = pl_sock_write(c, w, buf, (size_t)n);
        if (s <= 0) {
            e = errno;
            r = -1;
            break;
        }
        take(fd_in, buf, (size_t)s); /* the rest stays in the pipe for the next look */
        total += (size_t)s;
        /* a short send goes on, as Linux's loop does: the next send blocks, or says EAGAIN
         * on a non-blocking socket, which ends the call with what went */
    }
    free(buf);
    PL_REAL(int (*)(int), close)(tmp[0]);
    PL_REAL(int (*)(int), close)(tmp[1]);
    if (total > 0)
        return (ssize_t)total;
    if (r < 0 || !buf)
        return fail(e);
    return 0;
}

ssize_t splice(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out, size_t len,
               unsigned int flags)
{
    struct pl_chan *c;
    int w = pl_world_fd(fd_out);
    if (w < 0 || !(c = pl_chan()))
        return PL_REAL(ssize_t(*)(int, off64_t *, int, off64_t *, size_t, unsigned int),
                       splice)(fd_in, off_in, fd_out, off_out, len, flags);
    if (len == 0)
        return 0;
    int e0 = errno;
    bool nonblock;
    if (check(fd_in, off_in, off_out, len, flags, &nonblock) < 0)
        return -1;
    ssize_t r = to_socket(c, w, fd_in, len > 0x7ffff000UL ? 0x7ffff000UL : len, nonblock);
    if (r >= 0)
        errno = e0;
    return r;
}
