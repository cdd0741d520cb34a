/*
 * proxy.c - the world's side of an exec'd program: for each of its threads a proxy simulated
 * thread reads requests from the thread's channel (src/preload/exec_proto.h), makes the call as
 * that simulated thread through the same code an in-process program reaches (vmci_* calls,
 * sockpoll, vmcisim_sleep, the world's random stream, address waits), and replies.
 *
 * The baton (deterministic mode): a proxy waits for its thread's next request on the channel's
 * futex doorbell (src/preload/xp_doorbell.h) while it holds the turn, so while any thread of
 * any exec'd program runs, no other simulated thread does; who runs next is decided, as for
 * every thread, at the proxy's next scheduling point (inside the call it makes). Realtime
 * mode: the proxy waits on the doorbell outside the world, so programs run freely. The layer's
 * state and the children's ends are in world.c.
 *
 * The end: when the child dies every channel's socket reads end of file (the proxy looks each
 * time its sleep on the doorbell times out); the proxy that sees it reaps
 * the child and ends the simulated process with the child's status (exit code, or 128+N for
 * signal N). A power-off kills the proxies where they stand; the child is then killed with
 * SIGKILL and reaped (exec_status), status 128+9 as in-process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/exec_internal.h"
#include "posix/posix_internal.h"
#include "posix/real.h"
#include "preload/xp_doorbell.h"
#include "sim/alloc.h"
#include "sock/fdcalls.h"
#include "sock/api_share.h"
#include "sock/sockpoll.h"
#include "sock/usercopy.h"
#include "vmcisim/vmci_sockets.h"

/* sched_yield's cost in-process (src/posix/threads.c): lets a spin loop end. */
#define YIELD_NS 1000u

/* The child died (its channel read end of file): the simulated process ends with its status. */
static __attribute__((noreturn)) void child_died(struct exec_proc *p)
{
    exec_reap(p, false);
    exec_epolls_drop(p, true); /* as the kernel releases a dead process's epoll files */
    sim_lock(p->sim);
    sim_trace(p->sim, "exec-end", "pid=%u status=%d requests=%llu", p->sp->pid, p->status,
              (unsigned long long)__atomic_load_n(&p->requests, __ATOMIC_RELAXED));
    sim_unlock(p->sim);
    if (p->status > 128 && p->status < 128 + 65)
        sim_proc_exit_signal(p->status - 128);
    sim_proc_exit(p->status);
}

/* ---- one request ------------------------------------------------------------------------------ */

static uint64_t key_of(struct exec_proc *p, int64_t addr)
{
    /* Child addresses are below 2^47; the process's number above them keeps two programs'
     * mutexes apart in the world's address table (looked up only, never dereferenced). */
    return (uint64_t)addr | ((uint64_t)p->sp->pid << 48);
}

struct reply_fds {
    int fds[2];
    int n;
};

static void *thread_proxy(void *arg);

static int64_t thread_new(struct exec_chan *c, struct reply_fds *rf)
{
    struct exec_proc *p = c->proc;
    int cf[2];
    struct exec_chan *nc = exec_chan_new(p->sim, cf);
    if (!nc) {
        errno = EAGAIN;
        return -1;
    }
    nc->proc = p;
    pthread_t pt;
    int e = sim_proc_thread_create(&pt, false, thread_proxy, nc);
    if (e != 0) {
        REAL(close)(cf[0]);
        REAL(close)(cf[1]);
        errno = e;
        return -1;
    }
    rf->fds[0] = cf[0];
    rf->fds[1] = cf[1];
    rf->n = 2;
    return (int64_t)(uint64_t)pt;
}

static int64_t addr_wait(struct exec_chan *c, struct xp_area *a)
{
    struct exec_proc *p = c->proc;
    sim_thread *self = sim_self_proc_thread();
    uint64_t deadline = SIM_NO_DEADLINE;
    if (a->a[2] & 1) {
        struct timespec ts;
        memcpy(&ts, a->data + 8, sizeof ts);
        int e = posix_abs_deadline(self, (clockid_t)a->a[3], &ts, &deadline);
        if (e)
            return e;
    }
    sim_lock(p->sim);
    int64_t rc = 0;
    bool fresh = (uint32_t)a->a[1] == p->wake_seq;
    if (a->a[2] & 2) {
        /* pthread_cond_wait released its mutex just before: wake the mutex's waiters in the
         * same step as this thread starts to wait, so no scheduling point falls between. */
        int64_t m;
        memcpy(&m, a->data, sizeof m);
        p->wake_seq++;
        __atomic_store_n(&p->main->a->wake_seq, p->wake_seq, __ATOMIC_RELEASE);
        sim_addr_wake(p->sim, (const void *)(uintptr_t)key_of(p, m), true);
    }
    if (fresh)
        rc = sim_addr_wait(p->sim, (const void *)(uintptr_t)key_of(p, a->a[0]), deadline,
                           (a->a[2] & 4) ? "pthread_cond_wait" : (a->a[2] & 8) ? "sem_wait"
                                                                              : "pthread_mutex_lock");
    sim_unlock(p->sim);
    /* a timed wait ends by time only once its deadline has come (as src/posix/sync.c) */
    if (rc == ETIMEDOUT && (deadline == SIM_NO_DEADLINE || sim_now(p->sim) < deadline))
        rc = 0;
    return rc;
}

static int64_t addr_wake(struct exec_chan *c, struct xp_area *a)
{
    struct exec_proc *p = c->proc;
    sim_lock(p->sim);
    p->wake_seq++;
    __atomic_store_n(&p->main->a->wake_seq, p->wake_seq, __ATOMIC_RELEASE);
    sim_addr_wake(p->sim, (const void *)(uintptr_t)key_of(p, a->a[0]), a->a[1] != 0);
    sim_unlock(p->sim);
    return 0;
}

static int64_t do_poll(struct xp_area *a, const int *rfds, int nr)
{
    size_t n = (size_t)a->a[0];
    if (n > XP_POLL_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct pollfd *k = (struct pollfd *)a->data;
    for (size_t i = 0; i < n; i++)
        if (k[i].fd <= -2) {
            int idx = -(k[i].fd + 2);
            k[i].fd = idx < nr ? rfds[idx] : -1;
        }
    int64_t ns = a->a[1];
    int r = sockpoll_poll(k, n, ns < 0 ? -1 : ns, NULL, xp_wait_name(a->a[2]));
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

/* The hello: may the world read and write the program's memory (process_vm_readv/writev need
 * the right to trace it: the world is its parent, which Yama's default scope allows; a stricter
 * scope or a seccomp filter refuses)? The program names a word of its own and its value.
 * VMCISIM_EXEC_STAGING=1 in the world's environment keeps every payload in the areas (the
 * tests run both ways). */
static void hello(struct exec_chan *c, struct xp_area *a)
{
    struct exec_proc *p = c->proc;
    uint32_t v = 0;
    const char *st = getenv("VMCISIM_EXEC_STAGING");
    bool staging = st && strcmp(st, "1") == 0;
    uc_remote_begin(p->pid);
    bool ok = !staging && a->a[0] &&
              uc_copy_from_user(&v, (const void *)(uintptr_t)a->a[0], sizeof v) == 0 &&
              v == (uint32_t)a->a[1];
    uc_remote_end();
    __atomic_store_n(&p->direct, ok, __ATOMIC_RELAXED);
    a->a[0] = ok;
}

/* The direct calls (exec_proto.h): the program's own pointers, which the world's user copies
 * (src/sock/usercopy.c) read and write in its memory during the call, so the call is the
 * in-process one through and through: the message header, its iovec array, the buffers and
 * the addresses are each copied once, and a bad one is EFAULT where in-process it is. */
static int64_t direct(struct exec_chan *c, struct xp_area *a)
{
    struct exec_proc *p = c->proc;
    if (!__atomic_load_n(&p->direct, __ATOMIC_RELAXED)) {
        errno = XP_ERR_STAGE; /* another thread's call found the copies refused */
        return -1;
    }
    int fd = a->fd;
    void *buf = (void *)(uintptr_t)a->a[1];
    size_t len = (size_t)a->a[2];
    int fl = (int)a->a[3];
    void *addr = (void *)(uintptr_t)a->a[4];
    ssize_t r;
    uc_remote_begin(p->pid);
    switch (a->op) {
    case XP_SEND_D:
        /* SIGPIPE is the child's own: it raises it itself (src/preload/sock.c) */
        r = a->a[0] == XP_CALL_SENDTO
                ? vmci_sendto(fd, buf, len, fl | MSG_NOSIGNAL, addr, (socklen_t)a->a[5])
                : vmci_send(fd, buf, len, fl | MSG_NOSIGNAL);
        break;
    case XP_RECV_D:
        r = a->a[0] == XP_CALL_READ       ? vmci_read(fd, buf, len)
            : a->a[0] == XP_CALL_RECVFROM ? vmci_recvfrom(fd, buf, len, fl, addr,
                                                          (socklen_t *)(uintptr_t)a->a[5])
                                          : vmci_recv(fd, buf, len, fl);
        break;
    case XP_SENDMSG_D:
        r = vmci_sendmsg(fd, (const struct msghdr *)(uintptr_t)a->a[0],
                         (int)a->a[1] | MSG_NOSIGNAL);
        break;
    default:
        r = vmci_recvmsg(fd, (struct msghdr *)(uintptr_t)a->a[0], (int)a->a[1]);
        break;
    }
    int e = errno;
    int refused = uc_remote_end();
    if (refused == EPERM && r < 0 && e == EFAULT) {
        /* not the program's fault: from now on its payload goes through the areas */
        __atomic_store_n(&p->direct, false, __ATOMIC_RELAXED);
        e = XP_ERR_STAGE;
    }
    errno = e;
    return r;
}

/* XP_MAP (realtime): the socket's queue memory for the program to map (src/preload/fast.c);
 * the descriptors go with the reply. */
static int64_t map_queues(struct exec_chan *c, struct xp_area *a, struct reply_fds *rf)
{
    if (!sim_is_realtime(c->proc->sim)) {
        errno = EOPNOTSUPP;
        return -1;
    }
    int fds[2];
    uint64_t sizes[2];
    uint32_t id = 0;
    if (vmcisim_sock_share(a->fd, fds, sizes, &id) != 0)
        return -1;
    int d0 = REAL(fcntl)(fds[0], F_DUPFD_CLOEXEC, 0);
    int d1 = d0 < 0 ? -1 : REAL(fcntl)(fds[1], F_DUPFD_CLOEXEC, 0);
    if (d1 < 0) {
        if (d0 >= 0)
            REAL(close)(d0);
        errno = EMFILE;
        return -1;
    }
    rf->fds[0] = d0;
    rf->fds[1] = d1;
    rf->n = 2;
    a->a[0] = id;
    a->a[1] = (int64_t)sizes[0];
    a->a[2] = (int64_t)sizes[1];
    return 0;
}

/* A staged send or receive: the payload in the area, and the same vmci_* call as in-process
 * (a3: which one), so the trace is the one direct copies give, call for call. */
static int64_t staged(struct xp_area *a)
{
    if ((uint64_t)a->a[0] > XP_DATA_MAX) {
        errno = EINVAL;
        return -1;
    }
    int fd = a->fd;
    size_t len = (size_t)a->a[0];
    int fl = (int)a->a[1];
    bool addr = a->a[2] != 0;
    struct sockaddr *sa = (struct sockaddr *)a->addr;
    socklen_t l = XP_ADDR_MAX;
    struct iovec v = {.iov_base = a->data, .iov_len = len};
    struct msghdr m = {.msg_name = addr ? sa : NULL, .msg_iov = &v, .msg_iovlen = 1};
    ssize_t r;
    if (a->op == XP_SEND) {
        /* SIGPIPE is the child's own: it raises it itself (src/preload/sock.c) */
        fl |= MSG_NOSIGNAL;
        switch (a->a[3]) {
        case XP_CALL_SENDTO:
            return vmci_sendto(fd, a->data, len, fl, addr ? sa : NULL, addr ? a->addrlen : 0);
        case XP_CALL_MSG:
            m.msg_namelen = addr ? a->addrlen : 0;
            return vmci_sendmsg(fd, &m, fl);
        default:
            return vmci_send(fd, a->data, len, fl);
        }
    }
    switch (a->a[3]) {
    case XP_CALL_RECVFROM:
        r = vmci_recvfrom(fd, a->data, len, fl, addr ? sa : NULL, addr ? &l : NULL);
        break;
    case XP_CALL_READ:
        r = vmci_read(fd, a->data, len);
        break;
    case XP_CALL_MSG:
        m.msg_namelen = addr ? XP_ADDR_MAX : 0;
        r = vmci_recvmsg(fd, &m, fl);
        l = m.msg_namelen;
        a->a[3] = m.msg_flags;
        break;
    default:
        r = vmci_recv(fd, a->data, len, fl);
        break;
    }
    a->addrlen = l;
    a->datalen = r > 0 ? (uint32_t)((size_t)r < len ? (size_t)r : len) : 0;
    return r;
}

/* XP_EPOLL_CTL / XP_EPOLL_WAIT: the world's sockepoll instance of the program's epoll
 * descriptor, under the world's copy of it (epolls.c; rfds[0]: the copy, when it came along).
 * The event and the events array are the area's: sockepoll's user copies of them are local
 * ones (no direct-copy session is open here). */
static int64_t epoll_op(struct exec_chan *c, struct xp_area *a, int *rfds, int nr)
{
    struct exec_proc *p = c->proc;
    int sent = nr > 0 ? rfds[0] : -1;
    int ep = exec_epoll_get(p, (int)a->a[0], &sent);
    if (nr > 0)
        rfds[0] = sent; /* closed by the caller unless kept */
    a->a[5] = ep >= 0;
    if (ep < 0)
        return -1;
    int r;
    if (a->op == XP_EPOLL_CTL) {
        r = sockepoll_ctl(ep, (int)a->a[1], a->fd,
                          a->a[2] ? (struct epoll_event *)a->data : NULL);
        if (r == 1)
            r = -EBADF; /* the member's world descriptor is not a vsock one (any more) */
    } else {
        int64_t max = a->a[1];
        int64_t room = (int64_t)(XP_DATA_MAX / sizeof(struct epoll_event));
        r = sockepoll_wait(ep, (struct epoll_event *)a->data, (int)(max < room ? max : room),
                           a->a[2] < 0 ? -1 : a->a[2], xp_wait_name(a->a[3]));
    }
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

/* Executes the request in c's area as the calling (proxy) thread. */
static int64_t dispatch(struct exec_chan *c, int *rfds, int nr, struct reply_fds *rf,
                        bool *ends)
{
    struct xp_area *a = c->a;
    int fd = a->fd;
    struct sockaddr *sa = (struct sockaddr *)a->addr;
    socklen_t l = XP_ADDR_MAX;
    ssize_t r;
    switch (a->op) {
    case XP_HELLO:
        hello(c, a);
        return 0;
    case XP_SEND_D:
    case XP_RECV_D:
    case XP_SENDMSG_D:
    case XP_RECVMSG_D:
        return direct(c, a);
    case XP_MAP:
        return map_queues(c, a, rf);
    case XP_THREAD_START:
    case XP_NOP:
        return 0;
    case XP_SOCKET:
        return vmci_socket((int)a->a[0], (int)a->a[1], (int)a->a[2]);
    case XP_BIND:
        return vmci_bind(fd, a->a[0] ? NULL : sa, (socklen_t)a->a[1]);
    case XP_CONNECT:
        return vmci_connect(fd, a->a[0] ? NULL : sa, (socklen_t)a->a[1]);
    case XP_LISTEN:
        return vmci_listen(fd, (int)a->a[0]);
    case XP_ACCEPT:
        r = vmci_accept4(fd, sa, &l, (int)a->a[0]);
        a->addrlen = l;
        return r;
    case XP_SEND:
    case XP_RECV:
        return staged(a);
    case XP_SHUTDOWN:
        return vmci_shutdown(fd, (int)a->a[0]);
    case XP_CLOSE:
        return vmci_close(fd);
    case XP_SETSOCKOPT:
        r = vmci_setsockopt(fd, (int)a->a[0], (int)a->a[1], a->a[2] ? NULL : a->addr,
                            (socklen_t)a->a[3]);
        vmcisim_sock_gate(fd); /* SO_RCVLOWAT decides whether the program may receive itself */
        return r;
    case XP_GETSOCKOPT:
        if (a->a[2] < 0)
            return vmci_getsockopt(fd, (int)a->a[0], (int)a->a[1], a->addr, NULL);
        l = a->a[2] < XP_ADDR_MAX ? (socklen_t)a->a[2] : XP_ADDR_MAX;
        r = vmci_getsockopt(fd, (int)a->a[0], (int)a->a[1], a->addr, &l);
        a->addrlen = l;
        return r;
    case XP_GETSOCKNAME:
        r = vmci_getsockname(fd, sa, &l);
        a->addrlen = l;
        return r;
    case XP_GETPEERNAME:
        r = vmci_getpeername(fd, sa, &l);
        a->addrlen = l;
        return r;
    case XP_FCNTL:
        r = vmci_fcntl(fd, (int)a->a[0], (int)a->a[1]);
        vmcisim_sock_gate(fd); /* O_NONBLOCK: whether the program's own moves may wait */
        return r;
    case XP_IOCTL: {
        int v = 0;
        r = vmci_ioctl(fd, FIONREAD, &v);
        a->a[0] = v;
        return r;
    }
    case XP_POLL:
        return do_poll(a, rfds, nr);
    case XP_EPOLL_CTL:
    case XP_EPOLL_WAIT:
        return epoll_op(c, a, rfds, nr);
    case XP_EPOLL_CLOSE:
        exec_epoll_close(c->proc, (int)a->a[0]);
        return 0;
    case XP_SLEEP: {
        uint64_t left;
        if (sim_sleep_interruptible((uint64_t)a->a[0], &left) == EINTR) {
            a->a[0] = (int64_t)left;
            errno = EINTR;
            return -1;
        }
        return 0;
    }
    case XP_ITIMER: {
        uint64_t ov, oi;
        r = exec_itimer(c->proc, a->a[2] != 0, (uint64_t)a->a[0], (uint64_t)a->a[1], &ov, &oi);
        a->a[0] = (int64_t)ov;
        a->a[1] = (int64_t)oi;
        return r;
    }
    case XP_YIELD:
        vmcisim_sleep(YIELD_NS);
        return 0;
    case XP_RAND:
        return (int64_t)(vmcisim_random() >> 33); /* 31 bits, as src/posix/random.c */
    case XP_RANDOM_BYTES:
        if ((uint64_t)a->a[0] > XP_DATA_MAX) {
            errno = EINVAL;
            return -1;
        }
        return (int64_t)vmcisim_posix_random_bytes(a->data, (size_t)a->a[0]);
    case XP_THREAD_NEW:
        return thread_new(c, rf);
    case XP_THREAD_EXIT:
        *ends = true;
        return 0;
    case XP_JOIN: {
        struct sim_pthread *t = sim_proc_find_pthread((pthread_t)(uint64_t)a->a[0]);
        return t ? sim_proc_join(t, NULL) : ESRCH;
    }
    case XP_DETACH: {
        struct sim_pthread *t = sim_proc_find_pthread((pthread_t)(uint64_t)a->a[0]);
        return t ? sim_proc_detach(t) : ESRCH;
    }
    case XP_DUP:
        return vmcisim_fd_dup(fd, -1, 0, false, "dup");
    case XP_SIGNAL: {
        /* the record src/posix/signal.c makes for an in-process program */
        static const char *const what[] = {"handler", "ignored", "default", "blocked"};
        sim_thread *self = sim_self_proc_thread();
        sim_lock(self->sim);
        sim_trace(self->sim, "signal", "pid=%u sig=SIGPIPE action=%s", self->proc->pid,
                  what[(uint64_t)a->a[1] < 4 ? a->a[1] : 0]);
        sim_unlock(self->sim);
        return 0;
    }
    case XP_ADDR_WAIT:
        return addr_wait(c, a);
    case XP_ADDR_WAKE:
        return addr_wake(c, a);
    default:
        errno = ENOSYS;
        return -1;
    }
}

/* ---- the proxy loop ----------------------------------------------------------------------------- */

/* How long a proxy sleeps on the doorbell before it looks for the child's death (and, in
 * realtime mode, for a kill or a suspend of its own thread). A death is otherwise seen only
 * this late: it costs wall time, never simulated time. */
#define DET_CHECK_MS 10
#define RT_CHECK_MS 5

/* The child's end of the socket closed: every descriptor of the child is gone, it died. A hang
 * up, not an end of file: descriptors the child sent just before it died may still be unread. */
static bool child_closed(struct exec_chan *c)
{
    struct pollfd pf = {.fd = c->sock, .events = POLLIN};
    int r = REAL(poll)(&pf, 1, 0);
    return r > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* A move the program made itself through its mapped queues (src/preload/fast.c), posted in the
 * area without waiting: what follows a copy in-process (doorbell, WROTE/READ). */
static void take_moved(struct exec_chan *c)
{
    struct xp_area *a = c->a;
    uint32_t seq = __atomic_load_n(&a->mv_seq, __ATOMIC_ACQUIRE);
    if (seq == __atomic_load_n(&a->mv_ack, __ATOMIC_RELAXED))
        return;
    uint32_t how = a->mv_sent;
    vmcisim_sock_moved(a->mv_fd, (how & XP_MV_SENT) != 0, (how & XP_MV_EDGE) != 0, (size_t)a->mv_n);
    __atomic_store_n(&a->mv_ack, seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&a->mv_sleeping, __ATOMIC_SEQ_CST))
        syscall(SYS_futex, &a->mv_ack, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Waits for the next request on c: 1 and the descriptors sent along in rfds, or 0 when the
 * child died. Deterministic mode: the proxy sleeps on the futex while it holds the turn, so
 * no other simulated thread runs while the program does. Realtime mode: it sleeps outside the
 * world (no lock held), and between sleeps enters the world for a moment, where a kill
 * (power-off) unwinds it and a suspend parks it. */
static int next_request(struct exec_chan *c, int *rfds, int *nr)
{
    struct exec_proc *p = c->proc;
    struct xp_area *a = c->a;
    bool rt = sim_is_realtime(p->sim);
    for (;;) {
        while (!xp_await(&a->req_seq, &a->req_sleeping, c->seen_req,
                         rt ? RT_CHECK_MS : DET_CHECK_MS)) {
            if (child_closed(c))
                return 0;
            if (rt) {
                sim_enter(p->sim);
                sim_leave(p->sim);
            }
        }
        uint32_t seq = __atomic_load_n(&a->req_seq, __ATOMIC_ACQUIRE);
        bool request = ((seq - c->seen_req) & XP_RING_REQUESTS) != 0;
        c->seen_req = seq;
        take_moved(c); /* a move posted before the request came first */
        if (request)
            break;
    }
    *nr = 0;
    if (!a->req_sock)
        return 1;
    /* the descriptors were sent before the ring: they are on the socket already */
    char b;
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * XP_POLL_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t r;
    do
        r = REAL(recvmsg)(c->sock, &mh, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r != 1)
        return 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(rfds + *nr, CMSG_DATA(cm), sizeof(int) * (size_t)k);
            *nr += k;
        }
    return 1;
}

static void reply(struct exec_chan *c, const struct reply_fds *rf)
{
    struct exec_proc *p = c->proc;
    sim_thread *self = sim_self_proc_thread();
    c->a->now_ns = sim_now(p->sim);
    c->a->realtime = sim_is_realtime(p->sim);
    c->a->cid = self->vm->cid;
    c->a->sig = c->thread ? (uint32_t)sim_signal_take(c->thread) : 0;
    c->a->rep_sock = rf->n > 0;
    if (rf->n) {
        char b = 1;
        struct iovec iov = {.iov_base = &b, .iov_len = 1};
        union {
            char buf[CMSG_SPACE(sizeof(int) * 2)];
            struct cmsghdr align;
        } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = CMSG_SPACE(sizeof(int) * 2)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * 2);
        memcpy(CMSG_DATA(cm), rf->fds, sizeof(int) * 2);
        ssize_t r;
        do
            r = REAL(sendmsg)(c->sock, &mh, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        for (int i = 0; i < rf->n; i++)
            REAL(close)(rf->fds[i]);
    }
    xp_ring(&c->a->rep_seq, &c->a->rep_sleeping);
}

/* Serves c until its thread ends (returns) or the child dies (does not return). */
static void serve(struct exec_chan *c)
{
    int rfds[XP_POLL_MAX];
    c->thread = sim_self_proc_thread(); /* where the program's signals are posted */
    for (;;) {
        int nr = 0;
        if (!next_request(c, rfds, &nr))
            child_died(c->proc);
        __atomic_add_fetch(&c->proc->requests, 1, __ATOMIC_RELAXED);
        struct reply_fds rf = {.n = 0};
        bool ends = false;
        errno = 0;
        int64_t r = dispatch(c, rfds, nr, &rf, &ends);
        for (int i = 0; i < nr; i++)
            if (rfds[i] >= 0)
                REAL(close)(rfds[i]);
        if (ends)
            return;
        c->a->ret = r;
        c->a->err = r == -1 ? errno : 0;
        reply(c, &rf);
    }
}

static void *thread_proxy(void *arg)
{
    serve(arg);
    return NULL;
}

void exec_serve_main(struct exec_proc *p)
{
    serve(p->main);
    /* The main thread called pthread_exit: the others go on. This thread stays (it carries the
     * process for its starter) until the child's death ends it with the others. */
    sim_waitq q = {0};
    sim_enter(p->sim);
    for (;;)
        sim_wait(&q, SIM_NO_DEADLINE, "its program's other threads");
}
