/*
 * bridge_conn.c - one bridged connection, in its own thread of the bridge process: for an
 * outside program's connection, the command line and the host-side connect to the guest
 * (formats.md §2.1); then, both directions, the relay between the outside Unix stream and the
 * simulated vsock stream.
 *
 * How the ends map (docs/bridge.md, "Half-close, reset and faults"):
 *   outside EOF (read gives 0)       -> shutdown(SHUT_WR) of the vsock end, once what was read
 *                                       is sent: the guest reads end of file and may still write
 *   guest SHUT_WR (recv gives 0, the  -> shutdown(SHUT_WR) of the Unix end: the outside reads EOF
 *     peer still reads)
 *   guest gone: close, reset, power   -> what the guest sent is written out, then the Unix end is
 *     off, resume, vMotion (recv 0      closed: the outside reads EOF, then its writes fail
 *     and a send gives EPIPE, or an     (EPIPE; ECONNRESET if it had sent bytes nobody read)
 *     error)
 *   outside gone (a write gives      -> the vsock end is closed: the guest reads EOF, then EPIPE
 *     EPIPE/ECONNRESET)
 * Suspend needs nothing: the guest's threads stop, its queue pair fills, the relay stops reading
 * from the outside until the guest runs again.
 *
 * Every wait is a vmci_poll over both ends and the bridge's stop descriptor, so a world that
 * ends, or a bridge that stops, ends the thread at once; descriptors are non-blocking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bridge/bridge_internal.h"
#include "posix/real.h"
#include "sim/alloc.h"
#include "sim/sim.h"
#include "vmcisim/vmci_sockets.h"

#define RELAY_BUF (64u * 1024u)   /* per direction, Firecracker's per-connection TX buffer */

void bconn_finish(struct bconn *c)
{
    struct bridge *b = c->b;
    if (c->vfd >= 0) {
        vmci_close(c->vfd);
        c->vfd = -1;
    }
    pthread_mutex_lock(&b->mu);
    if (c->ufd >= 0) {
        REAL(close)(c->ufd);
        c->ufd = -1;
    }
    if (c->state != BC_CLOSED) {
        c->state = BC_CLOSED;
        b->nlive--;
    }
    pthread_mutex_unlock(&b->mu);
}

static void set_state(struct bconn *c, int state)
{
    pthread_mutex_lock(&c->b->mu);
    c->state = state;
    pthread_mutex_unlock(&c->b->mu);
}

/* Waits on p[0..n) plus the stop descriptor; -1 once the bridge stops or poll fails. */
static int wait_ready(struct bconn *c, struct pollfd *p, nfds_t n, int timeout_ms)
{
    p[n] = (struct pollfd){.fd = c->b->stopfd, .events = POLLIN};
    int r;
    do
        r = vmci_poll(p, n + 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0 || p[n].revents)
        return -1;
    return r;
}

/* The command line, one byte at a time as Firecracker reads it, so that whatever follows the
 * '\n' stays in the stream as data. 0 and *port, or -1 (EOF, bad line, no '\n' in 32 bytes). */
static int read_command(struct bconn *c, uint32_t *port)
{
    char line[BRIDGE_CMD_MAX];
    size_t len = 0;
    while (len < sizeof line) {
        ssize_t r = REAL(read)(c->ufd, line + len, 1);
        if (r == 1) {
            if (line[len++] == '\n')
                return bridge_parse_connect(line, len, port);
            continue;
        }
        if (r == 0 || errno != EAGAIN)
            return -1;
        struct pollfd p[2] = {{.fd = c->ufd, .events = POLLIN}};
        if (wait_ready(c, p, 1, -1) < 0)
            return -1;
    }
    return -1;
}

/* The next host-side port, round-robin in [2^30, 2^31) (formats.md §2.1). */
static uint32_t next_host_port(struct bridge *b)
{
    pthread_mutex_lock(&b->mu);
    uint32_t p = BRIDGE_FIRST_HOST_PORT + (b->next_port++ & (BRIDGE_FIRST_HOST_PORT - 1));
    pthread_mutex_unlock(&b->mu);
    return p;
}

/* Host -> guest port `port`: 0 once established, -1 when refused, timed out or stopped. */
static int connect_guest(struct bconn *c, uint32_t port)
{
    struct bridge *b = c->b;
    c->vfd = vmci_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (c->vfd < 0)
        return -1;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
    int bound = -1;
    for (int tries = 0; tries < 64 && bound != 0; tries++) {
        a.svm_port = next_host_port(b);
        bound = vmci_bind(c->vfd, (struct sockaddr *)&a, sizeof a);
        if (bound != 0 && errno != EADDRINUSE)
            return -1;
    }
    if (bound != 0)
        return -1;
    struct timeval tv = {.tv_sec = BRIDGE_CONNECT_TIMEOUT_MS / 1000,
                         .tv_usec = (BRIDGE_CONNECT_TIMEOUT_MS % 1000) * 1000};
    if (vmci_setsockopt(c->vfd, AF_VSOCK, SO_VMCI_CONNECT_TIMEOUT, &tv, sizeof tv) != 0 ||
        vmci_fcntl(c->vfd, F_SETFL, O_NONBLOCK) != 0)
        return -1;
    pthread_mutex_lock(&b->mu);
    c->host_port = a.svm_port;
    c->guest_cid = vmcisim_vm_cid(b->vm);
    c->guest_port = port;
    c->state = BC_CONNECTING;
    pthread_mutex_unlock(&b->mu);
    struct sockaddr_vm to = {.svm_family = AF_VSOCK, .svm_cid = c->guest_cid, .svm_port = port};
    if (vmci_connect(c->vfd, (struct sockaddr *)&to, sizeof to) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    struct pollfd p[2] = {{.fd = c->vfd, .events = POLLOUT}};
    if (wait_ready(c, p, 1, -1) < 0)
        return -1;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (vmci_getsockopt(c->vfd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)
        return -1;
    return 0;
}

struct relay {
    unsigned char *buf;
    size_t len;
    int eof;            /* the source said end of file */
    int shut;           /* the destination's write side was shut down */
};

/* Moves bytes until both directions ended, an end went away, or the bridge stops. */
static void relay(struct bconn *c)
{
    struct relay in = {0}, out = {0};   /* in: outside -> guest, out: guest -> outside */
    in.buf = vmcisim_malloc(RELAY_BUF);
    out.buf = vmcisim_malloc(RELAY_BUF);
    struct sim_cleanup h1, h2;   /* a world that ends may end this thread inside vmci_poll */
    sim_cleanup_push(&h1, free, in.buf);
    sim_cleanup_push(&h2, free, out.buf);
    while (in.buf && out.buf) {
        if (in.eof && in.len == 0 && !in.shut) {
            vmci_shutdown(c->vfd, SHUT_WR);
            in.shut = 1;
        }
        if (out.eof && out.len == 0 && !out.shut) {
            /* a guest that only shut its write side still reads; one that is gone fails a
             * zero-length send with EPIPE: then the outside end closes altogether */
            if (vmci_send(c->vfd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                break;
            REAL(shutdown)(c->ufd, SHUT_WR);
            out.shut = 1;
        }
        if (in.shut && out.shut)
            break;
        short ue = (short)((!in.eof && in.len < RELAY_BUF ? POLLIN : 0) | (out.len ? POLLOUT : 0));
        short ve = (short)((!out.eof && out.len < RELAY_BUF ? POLLIN : 0) | (in.len ? POLLOUT : 0));
        struct pollfd p[3] = {{.fd = ue ? c->ufd : -1, .events = ue},
                              {.fd = ve ? c->vfd : -1, .events = ve}};
        if (wait_ready(c, p, 2, -1) < 0)
            break;
        int gone = 0;
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR) && (ue & POLLIN)) {
            ssize_t r = REAL(read)(c->ufd, in.buf + in.len, RELAY_BUF - in.len);
            if (r > 0)
                in.len += (size_t)r;
            else if (r == 0)
                in.eof = 1;
            else if (errno != EAGAIN)
                gone = 1;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP) && (ve & POLLIN)) {
            ssize_t r = vmci_recv(c->vfd, out.buf + out.len, RELAY_BUF - out.len, MSG_DONTWAIT);
            if (r > 0) {
                out.len += (size_t)r;
                __atomic_add_fetch(&c->to_outside, (uint64_t)r, __ATOMIC_RELAXED);
            } else if (r == 0) {
                out.eof = 1;
            } else if (errno != EAGAIN) {
                gone = 1;   /* reset: close the outside end */
            }
        }
        if (in.len && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = vmci_send(c->vfd, in.buf, in.len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                memmove(in.buf, in.buf + w, in.len - (size_t)w);
                in.len -= (size_t)w;
                __atomic_add_fetch(&c->to_guest, (uint64_t)w, __ATOMIC_RELAXED);
            } else if (w < 0 && errno != EAGAIN) {
                gone = 1;
            }
        }
        if (out.len && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = REAL(send)(c->ufd, out.buf, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                memmove(out.buf, out.buf + w, out.len - (size_t)w);
                out.len -= (size_t)w;
            } else if (w < 0 && errno != EAGAIN) {
                gone = 1;
            }
        }
        if (gone)
            break;
    }
    sim_cleanup_pop(&h2);
    sim_cleanup_pop(&h1);
    free(in.buf);
    free(out.buf);
}

void *bconn_main(void *arg)
{
    struct bconn *c = arg;
    if (c->dir == BC_TO_GUEST) {
        uint32_t port;
        if (read_command(c, &port) != 0 || connect_guest(c, port) != 0) {
            bconn_finish(c);   /* refused, bad command, timeout: closed with no text */
            return NULL;
        }
        char ok[32];
        int n = snprintf(ok, sizeof ok, "OK %u\n", c->host_port);
        if (REAL(send)(c->ufd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
            bconn_finish(c);
            return NULL;
        }
        set_state(c, BC_OPEN);
    }
    relay(c);
    bconn_finish(c);
    return NULL;
}
