/*
 * builtin.c - the built-in programs, written with the vmci_* API as a user would write them,
 * so that scenarios can make traffic without spelling it byte by byte.
 *
 * Servers (echo-server, sink, rr-server, dgram-pong) are one process each that multiplexes its
 * listener and connections with poll(); with no `conns`/`count` to reach they are daemons and
 * end once every other process is done (they poll with a timeout to notice). Clients (source,
 * rr-client, dgram-ping) make their connections one after the other. Socket errors are counted,
 * not failures: scenarios judge them with final checks. Only a server that cannot set itself up
 * fails the run, at its `program` line.
 *
 * Wire formats (all little-endian):
 *   source -> sink:        u64 length N, N bytes of the fill pattern, u64 CRC-32C of those bytes
 *                          (checksum.c; a word at a time, where FNV-1a cost a multiply a byte);
 *                          the sink answers one byte, 1 if the checksum matched, else 0. The
 *                          source waits for it before closing: a host end loses what it has not
 *                          read yet when a guest end closes (vmci-semantics.md §2.12).
 *   rr-client <-> server:  each way a u32 length L and L bytes
 *   dgram-ping <-> pong:   a datagram starting with the u64 sequence number (pong keeps it)
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/checksum.h"
#include "scenario/interp.h"
#include "sim/alloc.h"
#include "scenario/interp.h"

#define IDLE_POLL_MS 20          /* how soon an idle daemon notices that the others are done */
#define IO_CHUNK 65536
#define DGRAM_MAX 69632

struct bconn {
    int fd;
    int phase;                   /* sink / rr-server: what the next bytes are */
    unsigned char hdr[8];
    size_t have;                 /* bytes of hdr collected */
    uint64_t need;               /* bytes of the body still to come */
    uint64_t len;                /* body length */
    uint32_t sum;                /* sink: CRC-32C so far */
};

struct bstate {
    size_t n, cap;
    struct bconn c[];
};

static uint64_t get_le(const unsigned char *p, int n)
{
    assert(n > 0 && n <= 8);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    assert(n > 0 && n <= 8);
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int sockfail(struct scen_inst *in, const char *what, int err)
{
    char got[64];
    scen_describe_rc(-1, err, got, sizeof got);
    return scen_fail(in->run, in->proc->line, what, got, in->name);
}

/* send all of buf (a blocking send may stop early on an error); the bytes sent, or -1. */
static long send_all(struct scen_inst *in, int fd, const unsigned char *buf, size_t n)
{
    size_t off = 0;
    int flags = in->proc->bp.nosignal ? MSG_NOSIGNAL : 0;
    while (off < n) {
        ssize_t r = vmci_send(fd, buf + off, n - off, flags);
        if (r < 0) {
            scen_count(in, errno == EPIPE ? C_EPIPE : C_ERRORS, 1);
            return -1;
        }
        off += (size_t)r;
    }
    return (long)off;
}

/* read exactly n bytes; n, or 0 at end of file, or -1 */
static long recv_all(struct scen_inst *in, int fd, unsigned char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = vmci_recv(fd, buf + off, n - off, 0);
        if (r == 0) {
            scen_count(in, C_EOF, 1);
            return 0;
        }
        if (r < 0) {
            scen_count(in, C_ERRORS, 1);
            return -1;
        }
        off += (size_t)r;
    }
    return (long)n;
}

static void set_buffer(struct scen_inst *in, int fd)
{
    uint64_t v = (uint64_t)in->proc->bp.buffer;
    if (v && vmci_setsockopt(fd, VMCISock_GetAFValue(), SO_VMCI_BUFFER_SIZE, &v, sizeof v) != 0)
        scen_count(in, C_ERRORS, 1);
}

/* ---- clients --------------------------------------------------------------------------------- */

static int client_connect(struct scen_inst *in)
{
    int fd = vmci_socket(VMCISock_GetAFValue(), SOCK_STREAM, 0);
    if (fd < 0) {
        scen_count(in, C_CONNECT_ERRORS, 1);
        return -1;
    }
    set_buffer(in, fd);
    struct sockaddr_vm sa;
    scen_resolve_addr(in->run, in, &in->proc->bp.to, &sa);
    if (vmci_connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        scen_count(in, errno == ECONNRESET ? C_REFUSED : C_CONNECT_ERRORS, 1);
        vmci_close(fd);
        return -1;
    }
    scen_count(in, C_CONNECTED, 1);
    return fd;
}

static void client_end(struct scen_inst *in, int fd)
{
    if (in->proc->bp.hold_ns)
        vmcisim_sleep(in->proc->bp.hold_ns);
    vmci_close(fd);
}

static void source_stream(struct scen_inst *in, int fd)
{
    const struct scen_bparams *bp = &in->proc->bp;
    unsigned char *buf = scen_buf(in, (size_t)bp->chunk + 8);
    if (!buf)
        return;
    put_le(buf, (uint64_t)bp->bytes, 8);
    if (send_all(in, fd, buf, 8) < 0)
        return;
    for (int64_t off = 0; off < bp->bytes;) {
        if (scen_winding_down(in->run))
            return;
        size_t n = (size_t)(bp->bytes - off < bp->chunk ? bp->bytes - off : bp->chunk);
        scen_fill(buf, (uint64_t)off, n);
        if (send_all(in, fd, buf, n) < 0)
            return;
        scen_count(in, C_BYTES_SENT, (int64_t)n);
        off += (int64_t)n;
    }
    /* what was sent is the pattern's first `bytes`: its checksum is looked up, not recomputed */
    put_le(buf, scen_pattern_crc((uint64_t)bp->bytes), 8);
    if (send_all(in, fd, buf, 8) < 0)
        return;
    if (recv_all(in, fd, buf, 1) == 1 && buf[0] == 1)
        scen_count(in, C_RESPONSES, 1);
}

static void rr_exchange(struct scen_inst *in, int fd)
{
    const struct scen_bparams *bp = &in->proc->bp;
    size_t size = (size_t)bp->size;
    for (int64_t r = 0; r < bp->requests; r++) {
        if (scen_winding_down(in->run))
            return;
        unsigned char *buf = scen_buf(in, size + 4 > 8 ? size + 4 : 8);
        if (!buf)
            return;
        put_le(buf, size, 4);
        for (size_t i = 0; i < size; i++)
            buf[4 + i] = scen_fill_byte(i + (uint64_t)r);
        if (send_all(in, fd, buf, size + 4) < 0)
            return;
        scen_count(in, C_REQUESTS, 1);
        scen_count(in, C_BYTES_SENT, (int64_t)size);
        if (recv_all(in, fd, buf, 4) <= 0)
            return;
        size_t len = (size_t)get_le(buf, 4);
        buf = scen_buf(in, len ? len : 1);
        if (!buf || (len && recv_all(in, fd, buf, len) <= 0))
            return;
        scen_count(in, C_BYTES_RECEIVED, (int64_t)len);
        scen_count(in, C_RESPONSES, 1);
    }
}

static void stream_client(struct scen_inst *in)
{
    const struct scen_bparams *bp = &in->proc->bp;
    for (int64_t c = 0; c < bp->connections; c++) {
        if (scen_winding_down(in->run))
            return;
        if (c && bp->interval_ns)
            vmcisim_sleep(bp->interval_ns);
        int fd = client_connect(in);
        if (fd < 0)
            continue;
        if (in->proc->builtin == B_SOURCE)
            source_stream(in, fd);
        else
            rr_exchange(in, fd);
        client_end(in, fd);
    }
}

/* ---- dgram-ping ------------------------------------------------------------------------------ */

static int poll_in(int fd, uint64_t ns)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ms = (int)((ns + 999999) / 1000000);
    return vmci_poll(&p, 1, ms);
}

/* Takes every reply now waiting; returns 1 if seq `want` was among them. */
static int ping_drain(struct scen_inst *in, int fd, unsigned char *seen, uint64_t sent,
                      uint64_t want)
{
    int got_want = 0;
    unsigned char *buf = scen_buf(in, DGRAM_MAX);
    if (!buf)
        return 0;
    for (;;) {
        ssize_t r = vmci_recvfrom(fd, buf, DGRAM_MAX, MSG_DONTWAIT, NULL, NULL);
        if (r < 0)
            return got_want;
        scen_count(in, C_DGRAMS_RECEIVED, 1);
        scen_count(in, C_BYTES_RECEIVED, r);
        if (r < 8)
            continue;
        uint64_t seq = get_le(buf, 8);
        if (seq >= sent)
            continue; /* not a reply to anything this ping sent */
        if (seen[seq / 8] & (1u << (seq % 8))) {
            scen_count(in, C_DUPLICATES, 1);
            continue;
        }
        seen[seq / 8] |= (unsigned char)(1u << (seq % 8));
        scen_count(in, C_REPLIES, 1);
        if (seq < want)
            scen_count(in, C_LATE, 1);
        if (seq == want)
            got_want = 1;
    }
}

static void dgram_ping(struct scen_inst *in)
{
    const struct scen_bparams *bp = &in->proc->bp;
    uint64_t count = (uint64_t)bp->count;
    unsigned char *seen = vmcisim_calloc(count / 8 + 1, 1);
    if (!seen) {
        scen_fail(in->run, in->proc->line, "memory for the ping", "none", in->name);
        return;
    }
    in->bstate = seen;
    int fd = vmci_socket(VMCISock_GetAFValue(), SOCK_DGRAM, 0);
    if (fd < 0) {
        sockfail(in, "socket() to succeed for the ping", errno);
        return;
    }
    struct sockaddr_vm to;
    scen_resolve_addr(in->run, in, &bp->to, &to);
    uint64_t sent = 0;
    for (uint64_t i = 0; i < count && !scen_winding_down(in->run); i++) {
        if (i && bp->interval_ns)
            vmcisim_sleep(bp->interval_ns);
        unsigned char *buf = scen_buf(in, DGRAM_MAX);
        if (!buf)
            break;
        put_le(buf, i, 8);
        for (size_t k = 8; k < (size_t)bp->size; k++)
            buf[k] = scen_fill_byte(k);
        ssize_t r = vmci_sendto(fd, buf, (size_t)bp->size, 0, (struct sockaddr *)&to, sizeof to);
        sent = i + 1;
        if (r < 0) {
            scen_count(in, C_ERRORS, 1);
            continue;
        }
        scen_count(in, C_DGRAMS_SENT, 1);
        scen_count(in, C_BYTES_SENT, r);
        uint64_t deadline = scen_now(in->run) + bp->timeout_ns;
        while (!ping_drain(in, fd, seen, sent, i)) {
            uint64_t now = scen_now(in->run);
            if (now >= deadline || poll_in(fd, deadline - now) <= 0)
                break;
        }
    }
    /* the stragglers: one more timeout for late replies */
    uint64_t deadline = scen_now(in->run) + bp->timeout_ns;
    for (;;) {
        ping_drain(in, fd, seen, sent, UINT64_MAX);
        uint64_t now = scen_now(in->run);
        if (now >= deadline || poll_in(fd, deadline - now) <= 0)
            break;
    }
    ping_drain(in, fd, seen, sent, UINT64_MAX);
    scen_count(in, C_LOST, (int64_t)count - in->counters[C_REPLIES]);
    vmci_close(fd);
}

/* ---- servers --------------------------------------------------------------------------------- */

static struct bconn *conn_add(struct scen_inst *in, int fd)
{
    struct bstate *s = in->bstate;
    if (!s || s->n == s->cap) {
        size_t cap = s ? s->cap * 2 : 8;
        struct bstate *ns = vmcisim_realloc(s, sizeof *ns + cap * sizeof ns->c[0]);
        if (!ns)
            return NULL;
        if (!s)
            ns->n = 0;
        ns->cap = cap;
        in->bstate = s = ns;
    }
    assert(s->n < s->cap);
    struct bconn *c = &s->c[s->n++];
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->sum = 0;
    return c;
}

static void conn_drop(struct scen_inst *in, size_t i)
{
    struct bstate *s = in->bstate;
    assert(s && i < s->n);
    struct bconn *c = &s->c[i];
    if (in->proc->builtin == B_SINK && (c->phase != 0 || c->have != 0))
        scen_count(in, C_TRUNCATED, 1);
    vmci_close(c->fd);
    s->c[i] = s->c[--s->n]; /* order of the rest does not matter: poll order is rebuilt */
}

/* sink: header, body (checksummed), trailer; returns -1 if the connection must go */
static int sink_bytes(struct scen_inst *in, struct bconn *c, const unsigned char *d, size_t n)
{
    while (n > 0) {
        if (c->phase == 1) {
            size_t k = n < c->need ? n : (size_t)c->need;
            c->sum = scen_crc32c(c->sum, d, k);
            scen_count(in, C_BYTES_RECEIVED, (int64_t)k);
            c->need -= k;
            d += k;
            n -= k;
            if (c->need == 0)
                c->phase = 2;
            continue;
        }
        size_t k = 8 - c->have < n ? 8 - c->have : n;
        memcpy(c->hdr + c->have, d, k);
        c->have += k;
        d += k;
        n -= k;
        if (c->have < 8)
            continue;
        c->have = 0;
        if (c->phase == 0) {
            c->len = c->need = get_le(c->hdr, 8);
            c->sum = 0;
            c->phase = c->need ? 1 : 2;
        } else {
            unsigned char ok = get_le(c->hdr, 8) == c->sum;
            scen_count(in, ok ? C_STREAMS_OK : C_CHECKSUM_BAD, 1);
            c->phase = 0;
            if (send_all(in, c->fd, &ok, 1) < 0)
                return -1;
        }
    }
    return 0;
}

static int rr_bytes(struct scen_inst *in, struct bconn *c, const unsigned char *d, size_t n)
{
    while (n > 0) {
        if (c->phase == 1) {
            size_t k = n < c->need ? n : (size_t)c->need;
            scen_count(in, C_BYTES_RECEIVED, (int64_t)k);
            c->need -= k;
            d += k;
            n -= k;
            if (c->need)
                continue;
        } else {
            size_t k = 4 - c->have < n ? 4 - c->have : n;
            memcpy(c->hdr + c->have, d, k);
            c->have += k;
            d += k;
            n -= k;
            if (c->have < 4)
                continue;
            c->have = 0;
            c->len = c->need = get_le(c->hdr, 4);
            c->phase = 1;
            if (c->need)
                continue;
        }
        /* a whole request: answer it */
        c->phase = 0;
        size_t rlen = in->proc->bp.reply ? (size_t)in->proc->bp.reply : (size_t)c->len;
        if (in->obufcap < rlen + 4) {
            unsigned char *o = vmcisim_realloc(in->obuf, rlen + 4);
            if (!o)
                return -1;
            in->obuf = o;
            in->obufcap = rlen + 4;
        }
        unsigned char *out = in->obuf;
        put_le(out, rlen, 4);
        for (size_t i = 0; i < rlen; i++)
            out[4 + i] = scen_fill_byte(i);
        if (send_all(in, c->fd, out, rlen + 4) < 0)
            return -1;
        scen_count(in, C_REQUESTS, 1);
        scen_count(in, C_BYTES_SENT, (int64_t)rlen);
    }
    return 0;
}

static int serve_bytes(struct scen_inst *in, struct bconn *c, const unsigned char *d, size_t n)
{
    switch (in->proc->builtin) {
    case B_SINK:
        return sink_bytes(in, c, d, n);
    case B_RR_SERVER:
        return rr_bytes(in, c, d, n);
    default: /* echo */
        scen_count(in, C_BYTES_RECEIVED, (int64_t)n);
        if (send_all(in, c->fd, d, n) < 0)
            return -1;
        scen_count(in, C_BYTES_SENT, (int64_t)n);
        return 0;
    }
}

static int listen_on(struct scen_inst *in, int type)
{
    const struct scen_bparams *bp = &in->proc->bp;
    int fd = vmci_socket(VMCISock_GetAFValue(), type, 0);
    if (fd < 0) {
        sockfail(in, "socket() to succeed for the server", errno);
        return -1;
    }
    if (type == SOCK_STREAM)
        set_buffer(in, fd);
    struct sockaddr_vm sa;
    memset(&sa, 0, sizeof sa);
    sa.svm_family = (sa_family_t)VMCISock_GetAFValue();
    sa.svm_cid = VMADDR_CID_ANY;
    sa.svm_port = bp->port;
    if (vmci_bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        sockfail(in, "the server's bind to succeed", errno);
        return -1;
    }
    if (type == SOCK_STREAM && vmci_listen(fd, (int)bp->backlog) != 0) {
        sockfail(in, "the server's listen to succeed", errno);
        return -1;
    }
    scen_mark(in->run, in->proc->ready_event);
    return fd;
}

static void stream_server(struct scen_inst *in)
{
    const struct scen_bparams *bp = &in->proc->bp;
    int lfd = listen_on(in, SOCK_STREAM);
    if (lfd < 0)
        return;
    int64_t closed = 0;
    for (;;) {
        struct bstate *s = in->bstate;
        size_t nconn = s ? s->n : 0;
        if (scen_should_stop(in))
            break;
        if (bp->conns && closed >= bp->conns)
            break;
        int accepting = !bp->conns || in->counters[C_ACCEPTED] < bp->conns;
        struct pollfd *pfd = vmcisim_realloc(in->pfds, (nconn + 1) * sizeof *pfd);
        if (!pfd)
            break;
        in->pfds = pfd; /* owned by the instance: this thread may be killed in poll */
        size_t k = 0;
        if (accepting)
            pfd[k++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (size_t i = 0; i < nconn; i++)
            pfd[k++] = (struct pollfd){.fd = s->c[i].fd, .events = POLLIN};
        int r = vmci_poll(pfd, (nfds_t)k, IDLE_POLL_MS);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            sockfail(in, "poll to work in the server", errno);
            break;
        }
        if (accepting && (pfd[0].revents & POLLIN)) {
            int c = vmci_accept(lfd, NULL, NULL);
            if (c >= 0) {
                scen_count(in, C_ACCEPTED, 1);
                if (!conn_add(in, c))
                    vmci_close(c);
            } else if (errno != EAGAIN) {
                scen_count(in, C_ERRORS, 1);
            }
        }
        /* connections in reverse, so dropping one (swap with the last) skips none */
        for (size_t j = k; j-- > (accepting ? 1u : 0u);) {
            if (!pfd[j].revents)
                continue;
            s = in->bstate;
            size_t ci = j - (accepting ? 1u : 0u);
            unsigned char *buf = scen_buf(in, IO_CHUNK);
            if (!buf)
                break;
            ssize_t n = vmci_recv(s->c[ci].fd, buf, IO_CHUNK, MSG_DONTWAIT);
            if (n > 0 && serve_bytes(in, &s->c[ci], buf, (size_t)n) == 0)
                continue;
            if (n < 0 && errno == EAGAIN)
                continue;
            if (n == 0)
                scen_count(in, C_EOF, 1);
            else if (n < 0)
                scen_count(in, C_ERRORS, 1);
            conn_drop(in, ci);
            closed++;
        }
    }
    struct bstate *s = in->bstate;
    while (s && s->n)
        conn_drop(in, s->n - 1);
    vmci_close(lfd);
}

static void dgram_pong(struct scen_inst *in)
{
    const struct scen_bparams *bp = &in->proc->bp;
    int fd = listen_on(in, SOCK_DGRAM);
    if (fd < 0)
        return;
    int64_t got = 0;
    while (!scen_should_stop(in) && (!bp->count || got < bp->count)) {
        int r = poll_in(fd, IDLE_POLL_MS * 1000000ull);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            sockfail(in, "poll to work in the server", errno);
            break;
        }
        for (;;) {
            unsigned char *buf = scen_buf(in, DGRAM_MAX);
            if (!buf)
                break;
            struct sockaddr_vm from;
            socklen_t flen = sizeof from;
            ssize_t n = vmci_recvfrom(fd, buf, DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&from,
                                      &flen);
            if (n < 0)
                break;
            got++;
            scen_count(in, C_DGRAMS_RECEIVED, 1);
            scen_count(in, C_BYTES_RECEIVED, n);
            size_t rlen = bp->reply ? (size_t)bp->reply : (size_t)n;
            if (rlen > (size_t)n) /* a longer reply: the request's first bytes, then pattern */
                for (size_t i = (size_t)n; i < rlen; i++)
                    buf[i] = scen_fill_byte(i);
            ssize_t w = vmci_sendto(fd, buf, rlen, 0, (struct sockaddr *)&from, flen);
            if (w < 0) {
                scen_count(in, C_ERRORS, 1);
            } else {
                scen_count(in, C_DGRAMS_SENT, 1);
                scen_count(in, C_BYTES_SENT, w);
            }
            if (bp->count && got >= bp->count)
                break;
        }
    }
    vmci_close(fd);
}

void scen_builtin_run(struct scen_inst *in)
{
    switch (in->proc->builtin) {
    case B_ECHO_SERVER:
    case B_SINK:
    case B_RR_SERVER:
        stream_server(in);
        return;
    case B_SOURCE:
    case B_RR_CLIENT:
        stream_client(in);
        return;
    case B_DGRAM_PONG:
        dgram_pong(in);
        return;
    case B_DGRAM_PING:
        dgram_ping(in);
        return;
    default:
        scen_fail(in->run, in->proc->line, "a known program", scen_builtin_name(in->proc->builtin),
                  in->name);
        return;
    }
}
