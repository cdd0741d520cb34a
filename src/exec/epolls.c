/*
 * epolls.c - the world's copies of an exec'd program's epoll descriptors.
 *
 * An epoll set of the program that holds vsock descriptors is the world's sockepoll instance
 * (src/sock/sockepoll.c), exactly as an in-process program's: EPOLLET, EPOLLONESHOT,
 * EPOLLEXCLUSIVE and the rotation of level-triggered items are that file's. sockepoll keys an
 * instance by a descriptor number of the world process and waits on that descriptor (its real
 * members make it readable), so the program sends its epoll descriptor along (SCM_RIGHTS) the
 * first time the world needs it: the world keeps that second descriptor of the same kernel
 * epoll file here, per program, under the program's number, and hands its own number to
 * sockepoll. The program says when it closes its descriptor (XP_EPOLL_CLOSE); a program that
 * ends leaves its copies to be closed here.
 *
 * Proxies of one program may run at once in realtime mode: the map has its own small lock,
 * never held across a call into the world.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec/exec_internal.h"
#include "posix/real.h"
#include "sim/alloc.h"
#include "sock/sockpoll.h"

struct exec_epoll {
    int pfd; /* the program's number */
    int wfd; /* the world's copy */
};

static void lock(struct exec_proc *p)
{
    while (__atomic_exchange_n(&p->ep_lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void unlock(struct exec_proc *p) { __atomic_store_n(&p->ep_lock, 0, __ATOMIC_RELEASE); }

static struct exec_epoll *find(struct exec_proc *p, int pfd)
{
    for (size_t i = 0; i < p->n_epolls; i++)
        if (p->epolls[i].pfd == pfd)
            return &p->epolls[i];
    return NULL;
}

/* Two descriptors of the world are the same open file (two threads of the program that both
 * sent the descriptor the first time). Without kcmp the newer copy replaces the older. */
static bool same_file(int a, int b)
{
    long pid = syscall(SYS_getpid);
    return syscall(SYS_kcmp, pid, pid, 0 /* KCMP_FILE */, a, b) == 0;
}

int exec_epoll_get(struct exec_proc *p, int pfd, int *sent)
{
    int stale = -1, keep = -1;
    bool fresh = false;
    lock(p);
    struct exec_epoll *e = find(p, pfd);
    if (*sent >= 0) {
        if (e && same_file(e->wfd, *sent)) {
            keep = e->wfd; /* the caller closes the extra copy */
        } else if (e) {
            stale = e->wfd; /* the program's number is another epoll now */
            e->wfd = keep = *sent;
            *sent = -1;
            fresh = true;
        } else {
            if (p->n_epolls == p->cap_epolls) {
                size_t cap = p->cap_epolls ? p->cap_epolls * 2 : 8;
                struct exec_epoll *v = realloc(p->epolls, cap * sizeof *v);
                if (!v) {
                    unlock(p);
                    errno = ENOMEM;
                    return -1;
                }
                p->epolls = v;
                p->cap_epolls = cap;
            }
            p->epolls[p->n_epolls++] = (struct exec_epoll){.pfd = pfd, .wfd = *sent};
            keep = *sent;
            *sent = -1;
            fresh = true;
        }
    } else if (e) {
        keep = e->wfd;
    }
    unlock(p);
    if (stale >= 0) {
        sockepoll_fd_closed(stale);
        REAL(close)(stale);
    }
    if (keep < 0) {
        errno = EBADF; /* the program believed the world had it: it does not */
        return -1;
    }
    if (fresh)
        sockepoll_fd_closed(keep); /* an instance left under this number by a closed epoll */
    return keep;
}

void exec_epoll_close(struct exec_proc *p, int pfd)
{
    lock(p);
    struct exec_epoll *e = find(p, pfd);
    int wfd = e ? e->wfd : -1;
    if (e)
        *e = p->epolls[--p->n_epolls];
    unlock(p);
    if (wfd >= 0) {
        sockepoll_fd_closed(wfd);
        REAL(close)(wfd);
    }
}

void exec_epolls_drop(struct exec_proc *p, bool in_world)
{
    for (;;) {
        lock(p);
        int wfd = p->n_epolls ? p->epolls[--p->n_epolls].wfd : -1;
        unlock(p);
        if (wfd < 0)
            break;
        if (in_world)
            sockepoll_fd_closed(wfd);
        REAL(close)(wfd);
    }
}

void exec_epolls_free(struct exec_proc *p)
{
    exec_epolls_drop(p, false);
    free(p->epolls);
    p->epolls = NULL;
    p->cap_epolls = 0;
}
