/*
 * bridge.c - a VM's hybrid-vsock socket (formats.md §2.1): the Unix listener at PATH, the
 * redirect hook that sends the VM's connects to unlistened host ports to PATH_P, and the
 * bridge process's main thread, which accepts on both sides and starts one thread per
 * connection (bridge_conn.c).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bridge/bridge_internal.h"
#include "posix/real.h"
#include "sim/alloc.h"
#include "sim/sim.h"
#include "sock/sock_redirect.h"
#include "vmcisim/vmci_sockets.h"

const char *bridge_path(const struct bridge *b) { return b->path; }

int bridge_ready(const struct bridge *b)
{
    if (__atomic_load_n(&b->failed, __ATOMIC_SEQ_CST) || __atomic_load_n(&b->stopped, __ATOMIC_SEQ_CST))
        return -1;
    return __atomic_load_n(&b->vport, __ATOMIC_SEQ_CST) != 0;
}

static int fill_sun(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* A socket file nobody listens on is left over from an earlier run: it may go. */
static int clear_stale(const char *path, char *err, size_t n)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (snprintf(err, n, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, n, "%s: exists and is not a socket", path);
        return -1;
    }
    struct sockaddr_un sa;
    fill_sun(&sa, path);
    int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, n, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = REAL(connect)(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    REAL(close)(fd);
    if (rc == 0 || e == EAGAIN) {
        snprintf(err, n, "%s: in use (a program listens there)", path);
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

struct bridge *bridge_new(vmcisim *sim, vmcisim_vm *vm, const char *path, char *err, size_t n)
{
    if (strlen(path) >= BRIDGE_PATH_MAX) {
        snprintf(err, n, "%s: a bridge path has at most %d bytes", path, BRIDGE_PATH_MAX - 1);
        return NULL;
    }
    if (clear_stale(path, err, n) != 0)
        return NULL;
    struct bridge *b = vmcisim_calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    b->sim = sim;
    b->vm = vm;
    b->host = vmcisim_host(sim);
    b->lfd = b->stopfd = -1;
    snprintf(b->path, sizeof b->path, "%s", path);
    snprintf(b->pname, sizeof b->pname, "bridge:%.50s", vmcisim_vm_name(vm));
    pthread_mutex_init(&b->mu, NULL);
    struct sockaddr_un sa;
    fill_sun(&sa, path);
    b->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    b->lfd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (b->stopfd < 0 || b->lfd < 0 || REAL(bind)(b->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        bridge_free(b);
        return NULL;
    }
    if (REAL(listen)(b->lfd, 128) != 0) {
        snprintf(err, n, "%s: listen: %s", path, strerror(errno));
        bridge_free(b);
        return NULL;
    }
    return b;
}

void bridge_stop(struct bridge *b)
{
    if (!b || __atomic_exchange_n(&b->stopped, 1, __ATOMIC_SEQ_CST))
        return;
    uint64_t one = 1;
    /* every poll of the bridge's threads has stopfd in its set; it stays readable */
    ssize_t w = REAL(write)(b->stopfd, &one, sizeof one);
    assert(w == (ssize_t)sizeof one);
    (void)w;
}

void bridge_free(struct bridge *b)
{
    if (!b)
        return;
    /* the world is gone: no thread of it runs any more */
    while (b->conns) {
        struct bconn *c = b->conns;
        b->conns = c->next;
        if (c->ufd >= 0)
            REAL(close)(c->ufd);
        free(c);
    }
    for (size_t i = 0; i < b->npend; i++)
        REAL(close)(b->pend[i].ufd);
    free(b->pend);
    if (b->lfd >= 0) {
        REAL(close)(b->lfd);
        unlink(b->path);
    }
    if (b->stopfd >= 0)
        REAL(close)(b->stopfd);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- guest -> outside: the redirect hook ------------------------------------------------------ */

/* Inside the world, on the host's packet path: a request from the bridged VM to host port
 * `port`, where nothing listens. Connects to PATH_port without blocking (an AF_UNIX connect
 * completes at once or fails); on success the request goes to the catch-all listener and the
 * stream waits in b->pend for the accepting thread. Otherwise the VM is reset, as Firecracker
 * resets it (formats.md §2.1; the guest's connect fails with ECONNRESET, vmci-semantics.md §2.5). */
static uint32_t redirect_hook(void *arg, vmcisim_vm *vm, uint32_t port, uint32_t src_cid,
                              uint32_t src_port)
{
    struct bridge *b = arg;
    (void)vm;
    uint32_t vport = __atomic_load_n(&b->vport, __ATOMIC_SEQ_CST);
    if (src_cid != vmcisim_vm_cid(b->vm) || !vport || __atomic_load_n(&b->stopped, __ATOMIC_SEQ_CST))
        return VMADDR_PORT_ANY;
    char path[BRIDGE_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s_%u", b->path, port);
    struct sockaddr_un sa;
    if (fill_sun(&sa, path) != 0)
        return VMADDR_PORT_ANY;
    int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return VMADDR_PORT_ANY;
    if (REAL(connect)(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        REAL(close)(fd);
        return VMADDR_PORT_ANY;
    }
    uint32_t rc = vport;
    pthread_mutex_lock(&b->mu);
    size_t i = 0;
    while (i < b->npend && !(b->pend[i].src_cid == src_cid && b->pend[i].src_port == src_port &&
                             b->pend[i].port == port))
        i++;
    if (b->nlive + (int)b->npend >= BRIDGE_MAX_CONNECTIONS && i == b->npend) {
        rc = VMADDR_PORT_ANY;
    } else if (i < b->npend) {
        /* the same guest socket asks again (an earlier attempt died before it was accepted) */
        REAL(close)(b->pend[i].ufd);
        b->pend[i].ufd = fd;
        b->pend[i].since_ns = mono_ns();
        fd = -1;
    } else {
        struct bpending *a = vmcisim_grow(b->pend, &b->pend_cap, b->npend, 8);
        if (!a) {
            rc = VMADDR_PORT_ANY;
        } else {
            b->pend = a;
            b->pend[b->npend++] = (struct bpending){src_cid, src_port, port, fd, mono_ns()};
            fd = -1;
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (fd >= 0)
        REAL(close)(fd);
    return rc;
}

static int take_pending(struct bridge *b, uint32_t cid, uint32_t sport, uint32_t port)
{
    int fd = -1;
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->npend; i++)
        if (b->pend[i].src_cid == cid && b->pend[i].src_port == sport && b->pend[i].port == port) {
            fd = b->pend[i].ufd;
            b->pend[i] = b->pend[--b->npend];
            break;
        }
    pthread_mutex_unlock(&b->mu);
    return fd;
}

/* Closes the outside streams of guest connects that were never accepted (BRIDGE_PENDING_MAX_NS). */
static void sweep_pending(struct bridge *b)
{
    uint64_t now = mono_ns();
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->npend;) {
        if (now - b->pend[i].since_ns > BRIDGE_PENDING_MAX_NS) {
            REAL(close)(b->pend[i].ufd);
            b->pend[i] = b->pend[--b->npend];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&b->mu);
}

/* ---- the bridge process ------------------------------------------------------------------------ */

static struct bconn *conn_new(struct bridge *b, int dir, int ufd, int vfd)
{
    struct bconn *c = vmcisim_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->b = b;
    c->dir = dir;
    c->ufd = ufd;
    c->vfd = vfd;
    c->state = dir == BC_TO_GUEST ? BC_COMMAND : BC_OPEN;
    pthread_mutex_lock(&b->mu);
    c->id = ++b->nconns;
    c->next = b->conns;
    b->conns = c;
    b->nlive++;
    pthread_mutex_unlock(&b->mu);
    return c;
}

static void conn_start(struct bconn *c)
{
    pthread_t pt;
    if (sim_proc_thread_create(&pt, true, bconn_main, c) != 0)
        bconn_finish(c);
}

static int live_count(struct bridge *b)
{
    pthread_mutex_lock(&b->mu);
    int n = b->nlive;
    pthread_mutex_unlock(&b->mu);
    return n;
}

static void accept_outside(struct bridge *b)
{
    int fd = REAL(accept4)(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (live_count(b) >= BRIDGE_MAX_CONNECTIONS) {
        REAL(close)(fd); /* Firecracker: accepted and dropped at once */
        return;
    }
    struct bconn *c = conn_new(b, BC_TO_GUEST, fd, -1);
    if (!c) {
        REAL(close)(fd);
        return;
    }
    conn_start(c);
}

static void accept_guest(struct bridge *b, int lv)
{
    int v = vmci_accept(lv, NULL, NULL);
    if (v < 0)
        return;
    struct sockaddr_vm me, peer;
    socklen_t ml = sizeof me, pl = sizeof peer;
    int ufd = -1;
    if (vmci_getsockname(v, (struct sockaddr *)&me, &ml) == 0 &&
        vmci_getpeername(v, (struct sockaddr *)&peer, &pl) == 0)
        ufd = take_pending(b, peer.svm_cid, peer.svm_port, me.svm_port);
    if (ufd < 0) { /* not one the hook passed on (cannot happen): the guest sees it end */
        vmci_close(v);
        return;
    }
    struct bconn *c = conn_new(b, BC_FROM_GUEST, ufd, v);
    if (!c) {
        REAL(close)(ufd);
        vmci_close(v);
        return;
    }
    pthread_mutex_lock(&b->mu); /* `status` reads them */
    c->host_port = me.svm_port;
    c->guest_cid = peer.svm_cid;
    c->guest_port = peer.svm_port;
    pthread_mutex_unlock(&b->mu);
    conn_start(c);
}

/* The catch-all listener the hook hands guest connects to: any free host port. */
static int open_catch_all(struct bridge *b)
{
    int lv = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (lv < 0)
        return -1;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                            .svm_port = VMADDR_PORT_ANY};
    socklen_t al = sizeof a;
    if (vmci_bind(lv, (struct sockaddr *)&a, sizeof a) != 0 ||
        vmci_listen(lv, BRIDGE_MAX_CONNECTIONS) != 0 ||
        vmci_getsockname(lv, (struct sockaddr *)&a, &al) != 0 ||
        vmci_fcntl(lv, F_SETFL, O_NONBLOCK) != 0) {
        vmci_close(lv);
        return -1;
    }
    __atomic_store_n(&b->vport, a.svm_port, __ATOMIC_SEQ_CST);
    return lv;
}

static void bridge_main(void *arg)
{
    struct bridge *b = arg;
    int lv = open_catch_all(b);
    if (lv < 0) {
        __atomic_store_n(&b->failed, 1, __ATOMIC_SEQ_CST);
        return;
    }
    for (;;) {
        struct pollfd p[3] = {{.fd = b->lfd, .events = POLLIN},
                              {.fd = lv, .events = POLLIN},
                              {.fd = b->stopfd, .events = POLLIN}};
        if (vmci_poll(p, 3, 1000) < 0 && errno != EINTR)
            break;
        sweep_pending(b);
        if (p[2].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_outside(b);
        if (p[1].revents & POLLIN)
            accept_guest(b, lv);
    }
    __atomic_store_n(&b->vport, 0, __ATOMIC_SEQ_CST);
    vmci_close(lv);
    /* Wait for the connection threads: the process ends with its last thread, and a thread
     * that is ended where it stands would leave its outside stream to bridge_free. */
    while (live_count(b) > 0)
        vmcisim_sleep(1000000);
}

int bridge_start(struct bridge *b, char *err, size_t n)
{
    if (vsock_redirect_add(b->sim, b->host, redirect_hook, b) != 0) {
        snprintf(err, n, "the redirect hook: %s", strerror(errno));
        return -1;
    }
    if (vmcisim_spawn_root(b->host, b->pname, bridge_main, b) != 0) {
        snprintf(err, n, "the bridge process: %s", vmcisim_error(b->sim));
        return -1;
    }
    b->started = 1;
    return 0;
}

static const char *state_name(int s)
{
    static const char *const t[] = {"command", "connecting", "open", "closed"};
    return s >= 0 && s <= BC_CLOSED ? t[s] : "?";
}

size_t bridge_describe(struct bridge *b, const char *vm_name, char *buf, size_t n)
{
    assert(n > 0);
    size_t k = 0;
    buf[0] = '\0';
    pthread_mutex_lock(&b->mu);
    for (struct bconn *c = b->conns; c; c = c->next) {
        if (c->state == BC_CLOSED)
            continue;
        int w;
        if (c->dir == BC_TO_GUEST)
            w = snprintf(buf + k, n - k,
                         "conn %s %llu outside->guest host:%u -> %s:%u %s to_guest=%llu "
                         "to_outside=%llu\n",
                         vm_name, (unsigned long long)c->id, c->host_port, vm_name, c->guest_port,
                         state_name(c->state),
                         (unsigned long long)__atomic_load_n(&c->to_guest, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&c->to_outside, __ATOMIC_RELAXED));
        else
            w = snprintf(buf + k, n - k,
                         "conn %s %llu guest->outside %s:%u -> host:%u %s to_guest=%llu "
                         "to_outside=%llu\n",
                         vm_name, (unsigned long long)c->id, vm_name, c->guest_port, c->host_port,
                         state_name(c->state),
                         (unsigned long long)__atomic_load_n(&c->to_guest, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&c->to_outside, __ATOMIC_RELAXED));
        if (w < 0 || (size_t)w >= n - k) {
            buf[k] = '\0';
            break;
        }
        k += (size_t)w;
    }
    pthread_mutex_unlock(&b->mu);
    return k;
}
