/*
 * chan.c - the child's end of the channels to the world: finding the main thread's channel
 * from the environment, one request/reply on a channel, and the map from placeholder
 * descriptors to the world's simulated sockets.
 *
 * Why a placeholder: a vsock socket of the program is a real descriptor of the child (an
 * unconnected AF_UNIX socket), so descriptor numbers, FD_SET, close of other descriptors and
 * the numbers the C library hands out stay exactly what the program expects; the world's
 * descriptor of the simulated socket sits in the map beside it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/preload.h"
#include "preload/xp_doorbell.h"

#define PL_FD_MAX 65536

static struct pl_chan main_chan;
/* The world copies payload from and to the program's memory itself (its hello said so): calls
 * pass pointers, not bytes (exec_proto.h, the direct calls). Cleared for good if the kernel
 * stops allowing it (XP_ERR_STAGE). */
static bool direct_copies;
static int state;                      /* 0 not looked yet, 1 ours, -1 not ours */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static __thread struct pl_chan *self_chan;
static __thread int self_off;          /* this thread has left the world (its end) */
static int map[PL_FD_MAX];             /* world fd + 1, or 0 */
static int nmapped;

void *pl_real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "libvmcisim-preload: a C library function is missing\n";
        ssize_t w = syscall(SYS_write, 2, msg, sizeof msg - 1); /* not our write */
        (void)w;
        abort();
    }
    return f;
}

/* Every channel descriptor of this process, so that a forked child can let go of them. */
#define PL_CHAN_FDS 4096
static int chan_fds[PL_CHAN_FDS];
static int nchan_fds;

void pl_note_chan_fd(int fd)
{
    int i = __atomic_fetch_add(&nchan_fds, 1, __ATOMIC_RELAXED);
    if (i < PL_CHAN_FDS)
        chan_fds[i] = fd;
}

bool pl_is_chan_fd(int fd)
{
    int n = __atomic_load_n(&nchan_fds, __ATOMIC_RELAXED);
    for (int i = 0; i < n && i < PL_CHAN_FDS; i++)
        if (chan_fds[i] == fd)
            return true;
    return false;
}

static void forked_child(void)
{
    /* A process the program forks is not a process of the world (docs/exec-protocol.md): it
     * runs on the C library alone, and must not hold the channels open (the world learns of
     * the program's death from their end of file). */
    state = -1;
    int (*rclose)(int) = PL_REAL(int (*)(int), close);
    int n = nchan_fds < PL_CHAN_FDS ? nchan_fds : PL_CHAN_FDS;
    for (int i = 0; i < n; i++)
        rclose(chan_fds[i]);
    nchan_fds = 0;
}

static void init(void)
{
    const char *e = getenv(XP_ENV_FD), *p = getenv(XP_ENV_PID);
    int sfd, mfd;
    if (!e || !p || sscanf(e, "%d,%d", &sfd, &mfd) != 2) {
        state = -1;
        return;
    }
    if (atol(p) != (long)getpid()) {
        /* A program started by the exec'd one (fork + execve): not a process of the world. It
         * inherited the main channel: let go of it, and keep it from its own children. */
        PL_REAL(int (*)(int), close)(sfd);
        PL_REAL(int (*)(int), close)(mfd);
        unsetenv(XP_ENV_FD);
        unsetenv(XP_ENV_PID);
        state = -1;
        return;
    }
    void *a = mmap(NULL, sizeof(struct xp_area), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (a == MAP_FAILED || ((struct xp_area *)a)->magic != XP_MAGIC ||
        ((struct xp_area *)a)->version != XP_VERSION) {
        static const char msg[] = "libvmcisim-preload: the world's channel is not usable\n";
        ssize_t w = syscall(SYS_write, 2, msg, sizeof msg - 1); /* not our write */
        (void)w;
        _exit(127);
    }
    /* Both stay open across execve (the same process then goes on in a new image, which says
     * hello again on the same channel); a forked child closes them (forked_child). */
    pl_note_chan_fd(sfd);
    pl_note_chan_fd(mfd);
    main_chan.sock = sfd;
    main_chan.a = a;
    self_chan = &main_chan;
    state = 1;
    pthread_atfork(NULL, NULL, forked_child);
    static const uint32_t probe = XP_MAGIC; /* the world reads it here if it can */
    main_chan.a->op = XP_HELLO;
    main_chan.a->a[0] = (int64_t)(uintptr_t)&probe;
    main_chan.a->a[1] = probe;
    pl_call(&main_chan, NULL, 0, NULL);
    __atomic_store_n(&direct_copies, main_chan.a->a[0] == 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void pl_ctor(void) { pthread_once(&once, init); }

struct pl_chan *pl_chan(void)
{
    if (state == 0)
        pthread_once(&once, init);
    if (state != 1 || self_off)
        return NULL;
    if (self_chan)
        return self_chan;
    return NULL; /* a thread the program made before we were loaded, or not through us */
}

bool pl_direct(void) { return __atomic_load_n(&direct_copies, __ATOMIC_RELAXED); }

void pl_direct_refused(void) { __atomic_store_n(&direct_copies, false, __ATOMIC_RELAXED); }

struct xp_area *pl_main_area(void) { return main_chan.a; }

void pl_set_thread_chan(struct pl_chan *c)
{
    self_chan = c;
    self_off = c == NULL;
}

static void world_gone(void)
{
    /* The world ended (it was killed, or it killed us a moment ago): nothing of the program may
     * run on outside the simulation. */
    _exit(128 + 9);
}

/* How long the child sleeps on the reply before it looks whether the world is still there. */
#define PL_WORLD_CHECK_MS 50

/* The world's end of the socket closed (a hang up: the world died, or let go of the channel). */
static bool world_closed(struct pl_chan *c)
{
    struct pollfd pf = {.fd = c->sock, .events = POLLIN};
    int r = PL_REAL(int (*)(struct pollfd *, nfds_t, int), poll)(&pf, 1, 0);
    return r > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void pl_world_check(struct pl_chan *c)
{
    if (world_closed(c))
        world_gone();
}

/* Posts the request in c's area (descriptors, if any, go ahead of it on the socket). */
static void post(struct pl_chan *c, const int *fds, int nfds)
{
    c->a->req_sock = nfds > 0;
    if (nfds > 0) {
        char b = 1;
        struct iovec iov = {.iov_base = &b, .iov_len = 1};
        union {
            char buf[CMSG_SPACE(sizeof(int) * XP_POLL_MAX)];
            struct cmsghdr align;
        } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
        ssize_t r;
        do
            r = PL_REAL(ssize_t(*)(int, const struct msghdr *, int), sendmsg)(c->sock, &mh,
                                                                             MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r != 1)
            world_gone();
    }
    xp_ring(&c->a->req_seq, &c->a->req_sleeping);
}

/* The reply carries a signal of the world's (an alarm in simulated time, src/exec/itimer.c):
 * the thread raises it on itself now, before the call returns, so the program's handler runs
 * at the same point on every run, as Linux runs it on the way out of the interrupted call. A
 * handler that makes calls of its own uses this same area: the reply is kept aside and put
 * back (header and payload) so that the interrupted call still returns what the world said. */
static __thread unsigned calls; /* pl_calls this thread made: did the handler make one? */
static __thread int delivered;  /* the signal the last delivery raised (pl_take_delivered) */

int pl_take_delivered(void)
{
    int sig = delivered;
    delivered = 0;
    return sig;
}

static void deliver(struct pl_chan *c)
{
    int sig = (int)c->a->sig;
    c->a->sig = 0;
    delivered = sig;
    size_t head = offsetof(struct xp_area, realtime);
    unsigned char saved[offsetof(struct xp_area, realtime)];
    memcpy(saved, c->a, head);
    void *data = malloc(XP_DATA_MAX);
    if (data)
        memcpy(data, c->a->data, XP_DATA_MAX);
    unsigned before = calls;
    int e = errno;
    raise(sig);
    errno = e;
    if (calls != before) {
        memcpy((void *)c->a, saved, head);
        if (data)
            memcpy(c->a->data, data, XP_DATA_MAX);
    }
    free(data);
}

int64_t pl_call(struct pl_chan *c, const int *fds, int nfds, int *rfds)
{
    calls++;
    int e = errno;
    uint32_t seen = __atomic_load_n(&c->a->rep_seq, __ATOMIC_ACQUIRE);
    post(c, fds, nfds);
    while (!xp_await(&c->a->rep_seq, &c->a->rep_sleeping, seen, PL_WORLD_CHECK_MS))
        if (world_closed(c))
            world_gone();
    if (rfds)
        rfds[0] = rfds[1] = -1;
    if (c->a->rep_sock) {
        char b;
        struct iovec iov = {.iov_base = &b, .iov_len = 1};
        union {
            char buf[CMSG_SPACE(sizeof(int) * 2)];
            struct cmsghdr align;
        } u;
        struct msghdr rh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof u.buf};
        ssize_t r;
        do
            r = PL_REAL(ssize_t(*)(int, struct msghdr *, int), recvmsg)(c->sock, &rh,
                                                                       MSG_CMSG_CLOEXEC);
        while (r < 0 && errno == EINTR);
        if (r != 1)
            world_gone();
        struct cmsghdr *cm = CMSG_FIRSTHDR(&rh);
        if (rfds && cm && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
            memcpy(rfds, CMSG_DATA(cm), 2 * sizeof(int));
    }
    errno = e;
    if (c->a->sig)
        deliver(c);
    if (c->a->ret == -1)
        errno = c->a->err;
    return c->a->ret;
}

void pl_send_only(struct pl_chan *c) { post(c, NULL, 0); }

int pl_world_fd(int fd)
{
    if (fd < 0 || fd >= PL_FD_MAX || state != 1)
        return -1;
    return __atomic_load_n(&map[fd], __ATOMIC_ACQUIRE) - 1;
}

bool pl_any_mapped(void) { return __atomic_load_n(&nmapped, __ATOMIC_RELAXED) > 0; }

int pl_new_placeholder(struct pl_chan *c, int wfd, bool cloexec)
{
    int fd = PL_REAL(int (*)(int, int, int), socket)(AF_UNIX,
                                                     SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0), 0);
    if (fd >= 0 && fd < PL_FD_MAX) {
        __atomic_store_n(&map[fd], wfd + 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&nmapped, 1, __ATOMIC_RELAXED);
        return fd;
    }
    int err = fd < 0 ? errno : EMFILE;
    if (fd >= 0)
        PL_REAL(int (*)(int), close)(fd);
    c->a->op = XP_CLOSE;
    c->a->fd = wfd;
    pl_call(c, NULL, 0, NULL);
    errno = err;
    return -1;
}

void pl_map(int fd, int wfd)
{
    if (fd < 0 || fd >= PL_FD_MAX)
        return;
    if (!__atomic_exchange_n(&map[fd], wfd + 1, __ATOMIC_ACQ_REL))
        __atomic_add_fetch(&nmapped, 1, __ATOMIC_RELAXED);
}

void pl_world_close(struct pl_chan *c, int wfd)
{
    int e = errno;
    pl_fast_forget(wfd);
    c->a->op = XP_CLOSE;
    c->a->fd = wfd;
    pl_call(c, NULL, 0, NULL);
    errno = e;
}

void pl_forget(int fd)
{
    if (fd >= 0 && fd < PL_FD_MAX && __atomic_exchange_n(&map[fd], 0, __ATOMIC_ACQ_REL))
        __atomic_sub_fetch(&nmapped, 1, __ATOMIC_RELAXED);
}
