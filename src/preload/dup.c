/*
 * dup.c - dup, dup2, dup3 and fcntl(F_DUPFD[_CLOEXEC]) of an exec'd program's vsock
 * descriptors: the C library duplicates the placeholder (so the number is the one Linux would
 * give), the world duplicates the simulated socket (vmcisim_fd_dup, as in-process), and the new
 * number stands for the new world descriptor. dup2/dup3 onto a vsock descriptor closes that one
 * in the world too, as dup2 closes what newfd was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "preload/preload.h"

enum { D_DUP, D_DUP2, D_DUP3, D_FCNTL };

static int real_dup(int how, int old, int newfd, int flags)
{
    switch (how) {
    case D_DUP: return PL_REAL(int (*)(int), dup)(old);
    case D_DUP2: return PL_REAL(int (*)(int, int), dup2)(old, newfd);
    case D_DUP3: return PL_REAL(int (*)(int, int, int), dup3)(old, newfd, flags);
    default: return PL_REAL(int (*)(int, int, ...), fcntl)(old, flags, newfd);
    }
}

/* D_FCNTL: flags is the command (F_DUPFD or F_DUPFD_CLOEXEC), newfd the minimum. */
static int dup_common(int how, int old, int newfd, int flags)
{
    struct pl_chan *c = pl_chan();
    int w = c ? pl_world_fd(old) : -1;
    int wnew = c && (how == D_DUP2 || how == D_DUP3) ? pl_world_fd(newfd) : -1;
    if (w < 0 && wnew < 0) {
        int r = real_dup(how, old, newfd, flags);
        if (r >= 0 && r != old) { /* a duplicate of /dev/urandom reads as the original does */
            pl_random_fd_set(r, pl_is_random_fd(old));
            if (c && (how == D_DUP2 || how == D_DUP3))
                pl_epoll_closed(r); /* what newfd was is closed: an epoll set, perhaps */
        }
        return r;
    }
    if (how == D_DUP2 && old == newfd)
        return newfd;
    int nw = -1;
    if (w >= 0) {
        c->a->op = XP_DUP;
        c->a->fd = w;
        nw = (int)pl_call(c, NULL, 0, NULL);
        if (nw < 0)
            return -1;
    }
    int r = real_dup(how, old, newfd, flags);
    if (r < 0) {
        if (nw >= 0)
            pl_world_close(c, nw);
        return -1;
    }
    if (how == D_DUP2 || how == D_DUP3)
        pl_epoll_closed(newfd); /* what newfd was is closed: an epoll set, perhaps */
    if (wnew >= 0) {
        /* what newfd was is closed, in the world as in the C library */
        pl_forget(newfd);
        pl_world_close(c, wnew);
    }
    if (nw >= 0)
        pl_map(r, nw);
    return r;
}

int dup(int fd) { return dup_common(D_DUP, fd, -1, 0); }
int dup2(int fd, int newfd) { return dup_common(D_DUP2, fd, newfd, 0); }
int dup3(int fd, int newfd, int flags) { return dup_common(D_DUP3, fd, newfd, flags); }

/* fcntl's F_DUPFD/F_DUPFD_CLOEXEC on a vsock descriptor (sock.c sends them here). */
int pl_fcntl_dup(int fd, int cmd, int minfd) { return dup_common(D_FCNTL, fd, minfd, cmd); }
