/*
 * urandom.c - /dev/urandom and /dev/random in an exec'd program. In deterministic mode their
 * reads draw from the world's seeded stream (XP_RANDOM_BYTES), as they do in-process
 * (src/posix/fd_calls.c), so the same seed gives the same bytes and the same trace. The
 * descriptor itself is the kernel's (open, fstat, write, poll, close are the C library's);
 * files.c marks it at the open, dup.c carries the mark to duplicates, close clears it, and
 * read/readv (sock.c) and pread here serve marked descriptors from the world.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

#define PL_RANDOM_FDS 4096 /* descriptors above this stay the kernel's (noted in the docs) */

static unsigned char marked[PL_RANDOM_FDS];

bool pl_is_random_fd(int fd)
{
    return fd >= 0 && fd < PL_RANDOM_FDS && __atomic_load_n(&marked[fd], __ATOMIC_RELAXED);
}

void pl_random_fd_set(int fd, bool on)
{
    if (fd >= 0 && fd < PL_RANDOM_FDS)
        __atomic_store_n(&marked[fd], on, __ATOMIC_RELAXED);
}

/* A read of n bytes: whole, as Linux's urandom read gives them; a bad buffer stops it at the
 * bytes copied so far, or -1/EFAULT when none were (src/posix/fd_calls.c, urandom_read). */
ssize_t pl_random_read(struct pl_chan *c, void *buf, size_t n)
{
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < XP_DATA_MAX ? n - done : XP_DATA_MAX;
        if (!pl_user_mapped((char *)buf + done, k))
            break; /* before drawing: a failed read takes nothing from the stream */
        c->a->op = XP_RANDOM_BYTES;
        c->a->a[0] = (int64_t)k;
        if (pl_call(c, NULL, 0, NULL) < 0)
            return done ? (ssize_t)done : -1;
        size_t got = pl_copy_out((char *)buf + done, c->a->data, k);
        done += got;
        if (got < k)
            break;
    }
    if (done == 0 && n > 0) {
        errno = EFAULT;
        return -1;
    }
    return (ssize_t)done;
}

static ssize_t pread_common(int fd, void *buf, size_t n, const char *real, off_t off)
{
    struct pl_chan *c;
    if (!pl_is_random_fd(fd) || !(c = pl_chan()))
        return ((ssize_t(*)(int, void *, size_t, off_t))pl_real(real))(fd, buf, n, off);
    return pl_random_read(c, buf, n); /* a character device: the offset means nothing */
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return pread_common(fd, buf, n, "pread", off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    return pread_common(fd, buf, n, "pread64", off);
}
