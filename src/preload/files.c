/*
 * files.c - /dev/vsock for an exec'd program. Programs ask their CID with
 * ioctl(open("/dev/vsock"), IOCTL_VM_SOCKETS_GET_LOCAL_CID) (sock.c answers the ioctl); a
 * machine without the vsock module has no such file, so the open gets a stand-in (/dev/null
 * with the same flags) instead of ENOENT, as the simulation's /dev/vsock does in-process
 * (src/posix/fd_calls.c). /dev/urandom and /dev/random open as usual, and in deterministic mode
 * the descriptor is marked so that its reads draw from the world (urandom.c). Every other path
 * is the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#include "preload/preload.h"

bool pl_random_path(const char *path)
{
    return path && (strcmp(path, "/dev/urandom") == 0 || strcmp(path, "/dev/random") == 0);
}

static int stand_in(const char *path, int flags, int fd)
{
    if (fd >= 0) {
        /* every new descriptor sets its mark: the number may be one the C library closed
         * behind our back (fclose, close_range) while it was marked */
        struct pl_chan *c = pl_random_path(path) && (flags & O_ACCMODE) != O_WRONLY
                                ? pl_chan() : NULL;
        pl_random_fd_set(fd, c && !c->a->realtime);
    }
    if (fd >= 0 || errno != ENOENT || !path || strcmp(path, "/dev/vsock") != 0 || !pl_chan())
        return fd;
    return PL_REAL(int (*)(const char *, int, ...), open)("/dev/null", flags & ~O_CREAT);
}

#define MODE(flags)                                                                          \
    mode_t mode = 0;                                                                         \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                                                 \
        va_list ap;                                                                          \
        va_start(ap, flags);                                                                 \
        mode = (mode_t)va_arg(ap, int);                                                      \
        va_end(ap);                                                                          \
    }

int open(const char *path, int flags, ...)
{
    MODE(flags);
    return stand_in(path, flags,
                    PL_REAL(int (*)(const char *, int, ...), open)(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
    MODE(flags);
    return stand_in(path, flags,
                    PL_REAL(int (*)(const char *, int, ...), open64)(path, flags, mode));
}

int openat(int dir, const char *path, int flags, ...)
{
    MODE(flags);
    return stand_in(path, flags,
                    PL_REAL(int (*)(int, const char *, int, ...), openat)(dir, path, flags, mode));
}

int openat64(int dir, const char *path, int flags, ...)
{
    MODE(flags);
    return stand_in(path, flags, PL_REAL(int (*)(int, const char *, int, ...), openat64)(
                                     dir, path, flags, mode));
}
