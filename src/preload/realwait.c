/*
 * realwait.c - deterministic mode: a call that would block on a real descriptor (a pipe, a TCP
 * or Unix socket, a terminal) first waits for it in the world, then makes the real call.
 *
 * Why: in deterministic mode the thread of the program that runs holds the world's only turn.
 * A read blocked in the kernel would keep it, so no other simulated thread, of this program or
 * any other, could run, and the writer it waits for (another thread of the program, or another
 * exec'd program: two processes that coordinate over a control socket, as Linux's vsock_test
 * does) would never get its turn: a deadlock. Instead the thread gives up the turn in a world
 * poll of that one descriptor (XP_POLL, timeout -1, the same request poll.c makes), which
 * src/sim/fdwait.c answers at the world's idle points, as for an in-process thread.
 *
 * Why it is deterministic: a writer inside the world finished its write(2) before it gave up
 * the turn (a pipe or a loopback TCP/Unix socket delivers within the sender's system call), so
 * whether the descriptor is ready at the world's idle check is the same on every run with the
 * seed. Data from outside the world (a child the program forked, a real network) arrives on
 * the wall clock, so the simulated instant it is seen at is not fixed (docs/exec-protocol.md,
 * limits).
 *
 * So the wait is the world's only when no child process of the program is running: a child
 * (bash's `$(...)`, a subprocess) runs outside the world, and when it is the writer the call
 * blocks in the kernel and holds the turn as before (the world stands still, which is
 * deterministic); a child that has ended wrote everything before it did, so the descriptor is
 * checked once more after that look.
 *
 * Cheap first: a zero-timeout poll of the descriptor in the kernel; when it is ready (stdout to
 * a file, a pipe with data) the real call follows with no round trip. Skipped in realtime mode
 * (the program runs freely there and blocking in the kernel is right), without a channel, with
 * MSG_DONTWAIT, on a non-blocking descriptor, and on regular files and block devices (they
 * never block).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/preload.h"

/* Ready for ev in the kernel now (or in a state the real call reports itself: hang-up, error,
 * a bad descriptor, a poll that failed). */
static bool ready_now(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int r = PL_REAL(int (*)(struct pollfd *, nfds_t, int), poll)(&p, 1, 0);
    return r != 0;
}

static bool may_block(int fd)
{
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return false;
    struct stat st;
    return !(fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)));
}

/* The contents of a small /proc file into buf (NUL-terminated), or -1. */
static ssize_t proc_read(const char *path, char *buf, size_t size)
{
    int fd = PL_REAL(int (*)(const char *, int, ...), open)(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = PL_REAL(ssize_t(*)(int, void *, size_t), read)(fd, buf, size - 1);
    PL_REAL(int (*)(int), close)(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

/* pid is a process that has not ended (not a zombie), or cannot be told. */
static bool running(long pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (proc_read(path, st, sizeof st) < 0)
        return false; /* gone (reaped meanwhile) */
    const char *e = strrchr(st, ')');
    return !e || (e[1] == ' ' && e[2] != 'Z' && e[2] != 'X');
}

/* Some child of the program (of any of its threads) may still be running. The children
 * lists of /proc/self/task/TID/children; where they cannot be read, yes. The directory is
 * read with getdents64 rather than opendir: no allocation, so a read or write in a signal
 * handler may come here too. */
static bool child_running_proc(void)
{
    int d = PL_REAL(int (*)(const char *, int, ...), open)("/proc/self/task",
                                                           O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return true;
    bool any = false;
    char ents[4096];
    long got;
    while (!any && (got = syscall(SYS_getdents64, d, ents, sizeof ents)) > 0) {
        for (long off = 0; off < got && !any;) {
            struct dirent64 *de = (struct dirent64 *)(ents + off);
            off += de->d_reclen;
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            char path[300], list[4096];
            snprintf(path, sizeof path, "/proc/self/task/%s/children", de->d_name);
            if (proc_read(path, list, sizeof list) < 0) {
                any = true;
                break;
            }
            for (char *p = list, *end; !any; p = end) {
                long pid = strtol(p, &end, 10);
                if (end == p)
                    break;
                any = running(pid);
            }
        }
    }
    PL_REAL(int (*)(int), close)(d);
    return any;
}

static bool child_running(void)
{
    siginfo_t si;
    si.si_pid = 0;
    /* one system call for the usual answers: no child at all, or children none of which ended */
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno != ECHILD;
    return si.si_pid == 0 || child_running_proc();
}

/* A world wait ended by a signal of the world's (an alarm), whose handler has run: does the
 * interrupted call resume (the handler was installed with SA_RESTART, or the signal had no
 * handler that ran), as Linux restarts a read, write or accept? */
static bool restarts(void)
{
    int sig = pl_take_delivered();
    struct sigaction sa;
    if (!sig || sigaction(sig, NULL, &sa) != 0)
        return true;
    bool handler = (sa.sa_flags & SA_SIGINFO) ||
                   (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL);
    return !handler || (sa.sa_flags & SA_RESTART);
}

/* One wait in the world until fd is ready for ev (XP_POLL of that descriptor, sent along): 1
 * when it may be, 0 when the world could not wait (it is ending), -1 when a signal interrupted
 * it and the call does not resume (the caller fails with EINTR, or returns what it did). */
static int world_wait(struct pl_chan *c, int fd, short ev)
{
    for (;;) {
        struct pollfd *k = (struct pollfd *)c->a->data;
        k[0] = (struct pollfd){.fd = -2, .events = ev}; /* -2: the first descriptor sent along */
        c->a->op = XP_POLL;
        c->a->a[0] = 1;
        c->a->a[1] = -1;
        c->a->a[2] = XP_WAIT_REAL; /* traced as op=real-wait */
        if (pl_call(c, &fd, 1, NULL) >= 0)
            return 1;
        if (errno != EINTR)
            return 0;
        if (!restarts())
            return -1;
    }
}

/* The wait itself: 0, or -1 when a signal interrupted it (EINTR for the program). */
static int wait_ready(struct pl_chan *c, int fd, short ev)
{
    if (ready_now(fd, ev) || !may_block(fd) || child_running() || ready_now(fd, ev))
        return 0;
    /* Wait again when the descriptor is not ready once the world answers: another thread of
     * the world woken at the same idle point may have taken the data before this one got the
     * turn. From the last check to the real call no thread of the world runs (this one holds
     * the turn), so only a reader outside the world can still take it (docs, limits). */
    for (;;) {
        int w = world_wait(c, fd, ev);
        if (w < 0)
            return -1;
        if (w == 0 || ready_now(fd, ev))
            return 0; /* w == 0: the world is ending: the real call blocks as before */
    }
}

int pl_real_wait(int fd, short ev, int msg_flags)
{
    if (msg_flags & MSG_DONTWAIT)
        return 0;
    struct pl_chan *c = pl_chan(); /* the calling thread's own channel: any thread may wait */
    if (!c || __atomic_load_n(&c->a->realtime, __ATOMIC_RELAXED))
        return 0;
    /* The order keeps the usual case cheap: one zero-timeout poll when the descriptor is ready
     * (a write to a file or stdout, data already there); the flags, the file type and the
     * children only when it is not; the child check before the second look, because a child
     * that ended wrote before it did. */
    int e = errno;
    if (wait_ready(c, fd, ev) < 0) {
        errno = EINTR; /* a signal came before anything was read or written */
        return -1;
    }
    errno = e; /* the program sees only the real call's errno */
    return 0;
}

/*
 * Calls that must do all of their work before they return (a blocking write or send of more
 * than one readiness covers, a receive with MSG_WAITALL, sendfile): one readiness is not enough,
 * the real call would block in the kernel again while holding the turn. So in deterministic
 * mode they are made as non-blocking attempts on what is left (MSG_DONTWAIT on a socket; on a
 * pipe or terminal the descriptor's O_NONBLOCK for the attempt only: no other thread of the
 * world runs meanwhile), with a world wait between attempts that could do nothing. The program
 * sees the blocking call's result: everything, or the count done before an error or end of
 * file, or -1 with the error when nothing was done.
 */
bool pl_real_all(int fd, short ev, int msg_flags, size_t total, pl_attempt_fn call, void *ctx,
                 ssize_t *ret)
{
    if (msg_flags & MSG_DONTWAIT)
        return false;
    struct pl_chan *c = pl_chan();
    if (!c || __atomic_load_n(&c->a->realtime, __ATOMIC_RELAXED))
        return false;
    int e = errno;
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_GETFL);
    struct stat st;
    if (fl < 0 || (fl & O_NONBLOCK) || fstat(fd, &st) != 0 || S_ISREG(st.st_mode) ||
        S_ISBLK(st.st_mode)) {
        errno = e;
        return false;
    }
    bool sock = S_ISSOCK(st.st_mode);
    if (ev == POLLIN) {
        /* MSG_WAITALL means something only on a stream socket */
        int type = 0;
        socklen_t tl = sizeof type;
        if (!sock || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
            errno = e;
            return false;
        }
    }
    if (child_running()) { /* its writer may be outside the world: hold the turn, as before */
        errno = e;
        return false;
    }
    size_t done = 0;
    for (;;) {
        ssize_t r;
        if (sock) {
            r = call(ctx, done, MSG_DONTWAIT);
        } else {
            PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
            r = call(ctx, done, 0);
            int ce = errno;
            PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_SETFL, fl);
            errno = ce;
        }
        if (r > 0) {
            done += (size_t)r;
            if (done >= total)
                break;
            continue;
        }
        if (r == 0)
            break; /* end of file (a receive, sendfile's input) */
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (done)
                break; /* the count so far, as a blocking call that fails part way */
            *ret = -1;
            return true;
        }
        int w = world_wait(c, fd, ev);
        if (w < 0) { /* a signal: what was done so far, as Linux's interrupted call */
            if (done)
                break;
            *ret = -1;
            errno = EINTR;
            return true;
        }
        if (w == 0) {
            /* the world is ending: the rest as the plain blocking call */
            r = call(ctx, done, 0);
            if (r > 0)
                done += (size_t)r;
            else if (!done) {
                *ret = r;
                return true;
            }
            break;
        }
    }
    *ret = (ssize_t)done;
    errno = e;
    return true;
}
