/*
 * sockepoll.c - epoll instances that hold simulated sockets (sockpoll.h).
 *
 * The epoll descriptor a program gets is a real one from the C library: real members (pipes,
 * TCP, other epolls) are registered in it unchanged, and it is what select/poll see. The
 * simulated sockets of its interest list live here, in the world, keyed by the descriptor
 * number given to EPOLL_CTL_ADD, each holding a reference to its socket (Linux's epitem holds
 * the file). Readiness is vsock_op_poll's, as Linux's ep_item_poll calls vsock_poll.
 *
 * Linux removes an epitem when the file's last descriptor is closed (eventpoll_release in
 * __fput), not at each close(): an item here goes when its socket is released (every
 * descriptor of it closed), found at the next epoll_ctl or epoll_wait on the instance. With
 * dup'ed descriptors it therefore stays, reported under the number it was added with, as on
 * Linux.
 *
 * Edge-triggered items (EPOLLET): Linux queues an item when its socket's wait queue is woken
 * and reports it once per queueing. Every socket event here goes through vsock_wake, which
 * counts in sk->poll_seq; an EPOLLET item is reported when the count moved since it was last
 * looked at (or it was ready when added or modified) and the socket's mask then matches.
 * Known difference: Linux filters a wake-up by its key (a data wake-up does not queue an item
 * that asked for EPOLLOUT only); here any event of the socket counts.
 *
 * Level-triggered items that were reported move to the end of the list, as Linux puts them
 * back at the tail of its ready list, so a maxevents smaller than the ready set rotates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "posix/real.h"
#include "sock/fdtable.h"
#include "sock/sockpoll.h"
#include "sock/usercopy.h"
#include "sock/vsock.h"

#define EP_MAX_EVENTS (INT32_MAX / (int)sizeof(struct epoll_event))
/* what EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS) */
#define EP_EXCLUSIVE_OK                                                                     \
    (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
/* the bits that are not events (Linux's EP_PRIVATE_BITS) */
#define EP_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

struct ep_item {
    int fd;
    struct vsock *sk;             /* held */
    uint32_t events;              /* as given, with EPOLLERR | EPOLLHUP added */
    epoll_data_t data;
    uint64_t seen_seq;            /* EPOLLET: sk->poll_seq when last looked at */
    bool pending;                 /* EPOLLET: ready when added or modified */
    bool disarmed;                /* EPOLLONESHOT fired: nothing until EPOLL_CTL_MOD */
    struct ep_item *next, *prev;
};

struct sockepoll {
    int epfd;
    struct ep_item *first, *last;
    struct sockepoll *next;
};

/* ---- calling context ------------------------------------------------------------------------ */

struct ep_call {
    sim_thread *self;
    vmcisim *sim;
    struct sock_world *sw;
};

static int enter(struct ep_call *c)
{
    c->self = sim_self();
    if (!c->self || !c->self->proc)
        return -EPERM;
    c->sim = c->self->sim;
    sim_enter(c->sim);
    c->sw = sock_of(c->sim);
    return 0;
}

/* Leave the world after recording the call. fd is a simulated socket's number, or -1: the
 * numbers of real descriptors (the epoll descriptor) depend on what else the real process has
 * open, so they stay out of the trace to keep it equal across processes. */
static int leave(struct ep_call *c, const char *op, int fd, int rc)
{
    if (rc < 0)
        sim_trace(c->sim, "call", "op=%s fd=%d rc=-1 errno=%s", op, fd,
                  strerrorname_np(-rc) ? strerrorname_np(-rc) : "E?");
    else
        sim_trace(c->sim, "call", "op=%s fd=%d rc=%d", op, fd, rc);
    sim_leave(c->sim);
    return rc;
}

/* ---- instances and items ---------------------------------------------------------------------- */

static void item_unlink(struct sockepoll *ep, struct ep_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        ep->first = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        ep->last = it->prev;
    it->next = it->prev = NULL;
}

static void item_append(struct sockepoll *ep, struct ep_item *it)
{
    it->next = NULL;
    it->prev = ep->last;
    if (ep->last)
        ep->last->next = it;
    else
        ep->first = it;
    ep->last = it;
}

static void item_free(struct sockepoll *ep, struct ep_item *it)
{
    item_unlink(ep, it);
    vsock_put(it->sk);
    free(it);
}

/* Drop the items whose socket's last descriptor was closed (Linux's eventpoll_release). */
static void purge_released(struct sockepoll *ep)
{
    for (struct ep_item *it = ep->first, *nx; it; it = nx) {
        nx = it->next;
        if (it->sk->released)
            item_free(ep, it);
    }
}

static struct sockepoll *find(struct sock_world *sw, int epfd)
{
    for (struct sockepoll *ep = sw->epolls; ep; ep = ep->next)
        if (ep->epfd == epfd)
            return ep;
    return NULL;
}

static void instance_free(struct sock_world *sw, struct sockepoll *ep, bool put_refs)
{
    for (struct sockepoll **pp = &sw->epolls; *pp; pp = &(*pp)->next)
        if (*pp == ep) {
            *pp = ep->next;
            break;
        }
    while (ep->first) {
        struct ep_item *it = ep->first;
        item_unlink(ep, it);
        if (put_refs)
            vsock_put(it->sk);
        free(it);
    }
    free(ep);
}

/* Is epfd (still) a real epoll descriptor? 0, -EBADF or -EINVAL, as Linux's checks of epfd. */
static int check_epfd(int epfd)
{
    if (epfd < 0 || REAL(fcntl)(epfd, F_GETFD) < 0)
        return -EBADF;
    char path[64], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", epfd);
    ssize_t n = REAL(readlink)(path, target, sizeof target - 1);
    if (n < 0)
        return -EBADF;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventpoll]") == 0 ? 0 : -EINVAL;
}

/* The instance kept under epfd, made on first use (an epoll made outside the simulation, or
 * before it). NULL with *err set when epfd is not an epoll descriptor. */
static struct sockepoll *instance(struct sock_world *sw, sim_proc *proc, int epfd, int *err)
{
    struct sockepoll *ep = find(sw, epfd);
    *err = fdtab_get(proc, epfd) ? -EINVAL : check_epfd(epfd);
    if (*err) {
        if (ep)
            instance_free(sw, ep, true); /* its descriptor was closed */
        return NULL;
    }
    if (!ep) {
        ep = vmcisim_calloc(1, sizeof *ep);
        if (!ep) {
            *err = -ENOMEM;
            return NULL;
        }
        ep->epfd = epfd;
        ep->next = sw->epolls;
        sw->epolls = ep;
    }
    purge_released(ep);
    return ep;
}

/* Linux keys an item by (file, descriptor number): here (socket, number). */
static struct ep_item *item_of(struct sockepoll *ep, int fd, const struct vsock *sk)
{
    for (struct ep_item *it = ep->first; it; it = it->next)
        if (it->fd == fd && it->sk == sk)
            return it;
    return NULL;
}

/* The events the item would report now (0 if none). */
static uint32_t item_mask(const struct ep_item *it)
{
    return (uint32_t)(unsigned short)vsock_op_poll(it->sk) & (it->events & ~EP_PRIVATE);
}

static void item_arm(struct ep_item *it, const struct epoll_event *ev)
{
    it->events = ev->events | EPOLLERR | EPOLLHUP;
    it->data = ev->data;
    it->disarmed = false;
    it->seen_seq = it->sk->poll_seq;
    it->pending = item_mask(it) != 0; /* ep_insert/ep_modify queue an item ready right away */
}

/* ---- the calls --------------------------------------------------------------------------------- */

int sockepoll_created(int epfd)
{
    struct ep_call c;
    int rc = enter(&c);
    if (rc)
        return rc;
    struct sockepoll *ep = find(c.sw, epfd);
    if (ep)
        instance_free(c.sw, ep, true);
    ep = vmcisim_calloc(1, sizeof *ep);
    if (ep) {
        ep->epfd = epfd;
        ep->next = c.sw->epolls;
        c.sw->epolls = ep;
    }
    return leave(&c, "epoll_create", -1, ep ? 0 : -ENOMEM) < 0 ? -ENOMEM : epfd;
}

void sockepoll_fd_closed(int fd)
{
    struct ep_call c;
    if (enter(&c))
        return;
    struct sockepoll *ep = find(c.sw, fd);
    if (ep)
        instance_free(c.sw, ep, true);
    sim_leave(c.sim);
}

static int ctl(struct ep_call *c, int epfd, int op, int fd, struct vsock *sk,
               struct epoll_event *uev)
{
    struct epoll_event ev = {0};
    bool has_event = op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD;
    /* Linux's order: the event is copied in, then epfd and fd are looked at, then the rest. */
    if (has_event && uc_copy_from_user(&ev, uev, sizeof ev) != 0)
        return -EFAULT;
    int err;
    struct sockepoll *ep = instance(c->sw, c->self->proc, epfd, &err);
    if (!ep)
        return err;
    if (fd == epfd)
        return -EINVAL;
    if (has_event && (ev.events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD || (ev.events & ~(uint32_t)EP_EXCLUSIVE_OK))
            return -EINVAL;
    }
    struct ep_item *it = item_of(ep, fd, sk);
    switch (op) {
    case EPOLL_CTL_ADD: {
        if (it)
            return -EEXIST;
        it = vmcisim_calloc(1, sizeof *it);
        if (!it)
            return -ENOMEM;
        it->fd = fd;
        it->sk = sk;
        vsock_hold(sk);
        item_arm(it, &ev);
        item_append(ep, it);
        return 0;
    }
    case EPOLL_CTL_MOD:
        if (!it)
            return -ENOENT;
        if (it->events & EPOLLEXCLUSIVE)
            return -EINVAL;
        item_arm(it, &ev);
        return 0;
    case EPOLL_CTL_DEL:
        if (!it)
            return -ENOENT;
        item_free(ep, it);
        return 0;
    default:
        return -EINVAL;
    }
}

int sockepoll_ctl(int epfd, int op, int fd, struct epoll_event *uev)
{
    struct ep_call c;
    int rc = enter(&c);
    if (rc)
        return rc;
    struct vsock *sk = fd >= 0 ? fdtab_get(c.self->proc, fd) : NULL;
    if (!sk) {
        /* A real target: the C library's epoll_ctl on the real epoll descriptor does it all
         * (EBADF, EPERM for a regular file, ELOOP for a cycle, ...). */
        bool sim_epfd = epfd >= 0 && fdtab_get(c.self->proc, epfd) != NULL;
        sim_leave(c.sim);
        return sim_epfd ? -EINVAL : 1;
    }
    rc = ctl(&c, epfd, op, fd, sk, uev);
    return leave(&c, op == EPOLL_CTL_ADD ? "epoll_ctl_add"
                     : op == EPOLL_CTL_MOD ? "epoll_ctl_mod"
                     : op == EPOLL_CTL_DEL ? "epoll_ctl_del"
                                           : "epoll_ctl",
                 fd, rc);
}

/* The simulated items that are ready, up to max, into out[]. */
static int collect(struct sockepoll *ep, struct epoll_event *out, int max)
{
    int n = 0;
    struct ep_item *reported_lt[64];
    int nlt = 0;
    for (struct ep_item *it = ep->first, *nx; it && n < max; it = nx) {
        nx = it->next;
        if (it->disarmed)
            continue;
        uint32_t mask;
        if (it->events & EPOLLET) {
            if (!it->pending && it->seen_seq == it->sk->poll_seq)
                continue;
            it->pending = false;
            it->seen_seq = it->sk->poll_seq;
            if (!(mask = item_mask(it)))
                continue;
        } else if (!(mask = item_mask(it))) {
            continue;
        }
        out[n].events = mask;
        out[n].data = it->data;
        n++;
        if (it->events & EPOLLONESHOT)
            it->disarmed = true;
        else if (!(it->events & EPOLLET) && nlt < 64)
            reported_lt[nlt++] = it;
    }
    for (int i = 0; i < nlt; i++) {
        item_unlink(ep, reported_lt[i]);
        item_append(ep, reported_lt[i]);
    }
    return n;
}

int sockepoll_wait(int epfd, struct epoll_event *uev, int maxevents, int64_t timeout_ns,
                   const char *op)
{
    if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
        return -EINVAL;
    struct ep_call c;
    int rc = enter(&c);
    if (rc)
        return rc;
    size_t cap = (size_t)maxevents < 1024 ? (size_t)maxevents : 1024;
    struct epoll_event *out = vmcisim_calloc(cap, sizeof *out);
    if (!out)
        return leave(&c, op, -1, -ENOMEM);
    struct sim_cleanup held;   /* the wait may end this thread: the buffer goes with it */
    sim_cleanup_push(&held, free, out);
    int err;
    struct sockepoll *ep = instance(c.sw, c.self->proc, epfd, &err);
    if (!ep) {
        sim_cleanup_pop(&held);
        free(out);
        return leave(&c, op, -1, err);
    }
    uint64_t deadline =
        timeout_ns < 0 ? SIM_NO_DEADLINE : sim_deadline_after(c.sim, (uint64_t)timeout_ns);
    struct pollfd self_fd = {.fd = epfd, .events = POLLIN};
    int n;
    for (;;) {
        /* the instance may have gone if a simulated socket call closed it meanwhile */
        if (!(ep = find(c.sw, epfd))) {
            n = -EBADF;
            break;
        }
        purge_released(ep);
        n = collect(ep, out, (int)cap);
        if (n < (int)cap) {
            int r;
            do
                r = REAL(epoll_wait)(epfd, out + n, (int)cap - n, 0);
            while (r < 0 && errno == EINTR);
            if (r < 0 && n == 0) {
                n = -errno;
                break;
            }
            if (r > 0)
                n += r;
        }
        if (n || (deadline != SIM_NO_DEADLINE && sim_now(c.sim) >= deadline))
            break;
        if (sim_signal_pending()) { /* a signal for the program (exec timers): EINTR, as Linux */
            n = -EINTR;
            break;
        }
        for (struct ep_item *it = ep->first; it; it = it->next)
            if (!it->disarmed)
                vsock_op_poll_wait(it->sk, (short)it->events);
        /* the real members make the epoll descriptor itself readable */
        sim_wait_fds(&c.sw->poll_wq, deadline, op, &self_fd, 1);
    }
    if (n > 0 && uc_copy_to_user(uev, out, (size_t)n * sizeof *out) != 0)
        n = -EFAULT;
    sim_cleanup_pop(&held);
    free(out);
    return leave(&c, op, -1, n);
}

void sockepoll_destroy_all(struct sock_world *sw)
{
    /* teardown frees every socket itself: only the lists go */
    while (sw->epolls)
        instance_free(sw, sw->epolls, false);
}
