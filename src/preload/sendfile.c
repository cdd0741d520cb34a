/*
 * sendfile.c - sendfile(2) to a vsock descriptor of an exec'd program. The C library's sendfile
 * would run on the placeholder (an unconnected AF_UNIX socket) and the bytes would never reach
 * the world, yet Python's socket.sendfile() and asyncio's loop.sock_sendfile() use it on stream
 * sockets. So the file is read here, in chunks, and each chunk is sent as write() sends it
 * (pl_sock_write): the world sees the writes an in-process program's bytes would make.
 *
 * What follows Linux (sendfile(2); fs/read_write.c and fs/splice.c of 6.x, checked against this
 * machine's kernel): a bad offset pointer is EFAULT before anything else; then in_fd must be open
 * for reading (EBADF), pread-able when an offset is given (ESPIPE: pipes, sockets), the count
 * and position sane (EINVAL), and seekable (EINVAL: pipes, sockets - a vsock in_fd included,
 * since its placeholder is a socket too); count 0 is then 0. The transfer moves at most one
 * pipe's worth (64 KiB) per step, as Linux's internal pipe does, and stops at end of file, at a
 * short send (a non-blocking socket that filled: the bytes sent so far), or at an error (-1 when
 * nothing went: EAGAIN, EPIPE with SIGPIPE as write raises it). The input is read with pread at
 * the position, and only what was sent counts: *offset, or the file position when offset is
 * NULL, ends advanced by exactly the result, as in Linux (which also reads the position at the
 * start and stores it at the end). The offset is written back whatever the result, so an offset
 * that can be read but not written is EFAULT, as Linux's put_user makes it.
 *
 * Any other out_fd is the C library's sendfile (an in_fd that is a vsock placeholder then gets
 * the kernel's EINVAL/ESPIPE, as a vsock socket would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/preload.h"

#define SF_STEP (64 * 1024)          /* Linux's default pipe: 16 pages */
#define SF_MAX_RW 0x7ffff000UL       /* MAX_RW_COUNT on 4 KiB pages: a larger count is cut */

static ssize_t fail(int e)
{
    errno = e;
    return -1;
}

/* The first checks Linux makes on in_fd, in its order: 0, or -1 with errno. *pos: the file
 * position when offset is NULL; *seekable: false for what Linux will not send from (pipes,
 * sockets, nonseekable devices), which is EINVAL only after the count and position checks. */
static int check_in(int in_fd, bool have_off, off64_t *pos, bool *seekable)
{
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(in_fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
        return (int)fail(EBADF); /* not open, or not for reading */
    struct stat st;
    if (fstat(in_fd, &st) < 0)
        return (int)fail(EBADF);
    off64_t cur = -1;
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
        cur = lseek64(in_fd, 0, SEEK_CUR); /* -1/ESPIPE: no_llseek, a nonseekable device */
    *seekable = cur >= 0;
    if (have_off && !*seekable)
        return (int)fail(ESPIPE); /* no pread either */
    if (!have_off)
        *pos = *seekable ? cur : 0;
    return 0;
}

/* The transfer from in_fd at pos: bytes sent, or -1 with errno when none were. */
static ssize_t move(struct pl_chan *c, int w, int in_fd, off64_t pos, size_t count)
{
    char *buf = malloc(SF_STEP);
    if (!buf)
        return fail(ENOMEM);
    bool rnd = pl_is_random_fd(in_fd); /* deterministic /dev/urandom: the world's bytes */
    size_t total = 0;
    ssize_t r = 0;
    int e = 0;
    while (total < count) {
        size_t k = count - total < SF_STEP ? count - total : SF_STEP;
        ssize_t n = rnd ? pl_random_read(c, buf, k)
                        : PL_REAL(ssize_t(*)(int, void *, size_t, off64_t), pread64)(
                              in_fd, buf, k, pos + (off64_t)total);
        if (n <= 0) {
            /* a directory has no splice_read in Linux: EINVAL, not read's EISDIR */
            e = n < 0 ? (errno == EISDIR ? EINVAL : errno) : 0;
            r = n;
            break;
        }
        ssize_t s = pl_sock_write(c, w, buf, (size_t)n);
        if (s < 0) {
            e = errno;
            r = -1;
            break;
        }
        total += (size_t)s;
        if (s < n)
            break; /* the socket took no more (non-blocking, or a timeout) */
    }
    free(buf);
    if (total > 0)
        return (ssize_t)total;
    if (r < 0)
        return fail(e);
    return 0;
}

/* Onto a real descriptor: the C library's. In deterministic mode a socket or pipe that cannot
 * take everything at once would block in the kernel holding the world's turn, so the call is
 * made as non-blocking attempts with world waits between (realwait.c, pl_real_all); the kernel
 * moves *offset or the file position itself at each attempt. */
struct real_sf {
    int out_fd, in_fd;
    off64_t *offset;
    size_t count;
    ssize_t (*fn)(int, int, off64_t *, size_t);
};

static ssize_t real_attempt(void *ctx, size_t done, int dontwait)
{
    struct real_sf *r = ctx;
    if (!dontwait) /* a pipe: already non-blocking for the attempt (or the world's last call) */
        return r->fn(r->out_fd, r->in_fd, r->offset, r->count - done);
    /* a socket: sendfile takes no MSG_DONTWAIT, so the descriptor is made non-blocking for the
     * attempt (no other thread of the world runs meanwhile) */
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(r->out_fd, F_GETFL);
    PL_REAL(int (*)(int, int, ...), fcntl)(r->out_fd, F_SETFL, fl | O_NONBLOCK);
    ssize_t n = r->fn(r->out_fd, r->in_fd, r->offset, r->count - done);
    int e = errno;
    PL_REAL(int (*)(int, int, ...), fcntl)(r->out_fd, F_SETFL, fl);
    errno = e;
    return n;
}

static ssize_t real_sendfile(int out_fd, int in_fd, off64_t *offset, size_t count,
                             const char *real)
{
    struct real_sf r = {out_fd, in_fd, offset, count,
                        (ssize_t(*)(int, int, off64_t *, size_t))pl_real(real)};
    ssize_t n;
    if (count > PIPE_BUF && (ssize_t)count > 0 &&
        pl_real_all(out_fd, POLLOUT, 0, count, real_attempt, &r, &n))
        return n;
    if (pl_real_wait(out_fd, POLLOUT, 0) < 0)
        return -1;
    return r.fn(out_fd, in_fd, offset, count);
}

static ssize_t sendfile_common(int out_fd, int in_fd, off64_t *offset, size_t count,
                               const char *real)
{
    struct pl_chan *c;
    int w = pl_world_fd(out_fd);
    if (w < 0 || !(c = pl_chan()))
        return real_sendfile(out_fd, in_fd, offset, count, real);
    off64_t pos = 0;
    if (offset && pl_copy_in(&pos, offset, sizeof pos) != sizeof pos)
        return fail(EFAULT);
    int e0 = errno;
    ssize_t r;
    bool seekable;
    if (check_in(in_fd, offset != NULL, &pos, &seekable) < 0) {
        r = -1;
    } else if ((ssize_t)count < 0 || pos < 0 || (off64_t)((uint64_t)pos + count) < 0) {
        r = fail(EINVAL); /* rw_verify_area */
    } else if (!seekable) {
        r = fail(EINVAL); /* splice_direct_to_actor: the input must be seekable */
    } else {
        r = move(c, w, in_fd, pos, count > SF_MAX_RW ? SF_MAX_RW : count);
        if (r > 0)
            pos += r;
        if (r > 0 && !offset)
            lseek64(in_fd, pos, SEEK_SET);
    }
    int e = r < 0 ? errno : e0;
    if (offset && pl_copy_out(offset, &pos, sizeof pos) != sizeof pos)
        return fail(EFAULT);
    errno = e;
    return r;
}

_Static_assert(sizeof(off_t) == sizeof(off64_t), "sendfile and sendfile64 are one call here");

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    return sendfile_common(out_fd, in_fd, (off64_t *)offset, count, "sendfile");
}

ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    return sendfile_common(out_fd, in_fd, offset, count, "sendfile64");
}
