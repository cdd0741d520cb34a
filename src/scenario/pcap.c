/*
 * pcap.c - the LINKTYPE_VSOCK capture writer (pcap.h). Every field is written byte by byte in
 * little-endian order, so the file is the same on any host. A name ending in ".pcapng" gets
 * pcapng (formats.md §1.5): the same frames as Enhanced Packet Blocks with nanosecond
 * timestamps, plus comments for what is not a packet (lifecycle events, a failed expectation).
 *
 * Delivery times (pcapng): a frame's timestamp is when it was sent; its comment says when it
 * reached the other end ("delivered at 0.000150000 (+0.000050000)"). That is known only later
 * (a datagram held by a fault, a packet queued for a suspended VM), so the frame is written at
 * once with room for the comment (the comment option, then zeros: end-of-options markers to
 * any reader), and the comment is rewritten where the frame lies when the packet arrives (in
 * the output buffer, or in the file with pwrite). Arrivals are paired with
 * sends by addresses, op and content, oldest first: control packets between two sockets are
 * never reordered, and datagrams with equal content are interchangeable. A packet can arrive
 * before its send is observed (a guest's packet to the host is handled inside the sending
 * call); such an early arrival waits for the send of the same thread.
 */
#include "scenario/pcap.h"
#include "sim/alloc.h"
#include "scenario/pcap.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim.h"

#define PCAP_MAGIC_NS 0xA1B23C4Du  /* nanosecond timestamps: simulated time keeps its precision */

#define NG_SHB 0x0A0D0D0Au
#define NG_IDB 0x00000001u
#define NG_EPB 0x00000006u
#define NG_BYTE_ORDER 0x1A2B3C4Du
#define NG_OPT_END 0
#define NG_OPT_COMMENT 1
#define NG_OPT_SHB_USERAPPL 4
#define NG_OPT_IF_NAME 2
#define NG_OPT_IF_TSRESOL 9

#define DLV_TEXT 52u        /* the delivery comment's room (a multiple of 4) */
#define DLV_REGION (4u + DLV_TEXT) /* its option: code, length, text, zeros */
#define EARLY_MAX 64u       /* arrivals waiting for their send's observation */
#define OUT_BUF (1u << 20)  /* written frames kept in memory, where comments are cheap to fill */

/* A packet in flight (sent, arrival not seen), or an arrival not yet paired with its send. */
struct flight {
    uint32_t src_cid, src_port, dst_cid, dst_port;
    int op, sock_type;
    uint64_t sig;           /* the content: a control packet's body, a datagram's payload */
    uint64_t t_ns;          /* in flight: sent at; early arrival: arrived at */
    uint64_t off;           /* in flight: where its comment's option is in the file */
    const void *who;        /* early arrival: the thread it arrived in */
};

struct scen_pcap {
    FILE *f;
    int bad;
    int ng;                        /* pcapng rather than classic pcap */
    unsigned char *buf;            /* one frame */
    pthread_mutex_t mu;            /* realtime mode: notes come from other threads */
    unsigned char *out;            /* the last bytes written, not yet in the file */
    size_t out_len;
    uint64_t out_base;             /* file offset of out[0] */
    struct flight *fly;            /* in flight, in sending order */
    size_t nfly, fly_cap;
    struct flight early[EARLY_MAX];
    size_t nearly;
};

static void le16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static void out_flush(struct scen_pcap *pc)
{
    if (pc->out_len && fwrite(pc->out, 1, pc->out_len, pc->f) != pc->out_len)
        pc->bad = 1;
    pc->out_base += pc->out_len;
    pc->out_len = 0;
}

static void put(struct scen_pcap *pc, const void *p, size_t n)
{
    if (n == 0)
        return; /* an empty option value: p may be NULL */
    if (pc->out_len + n > OUT_BUF)
        out_flush(pc);
    if (n > OUT_BUF) {
        if (fwrite(p, 1, n, pc->f) != n)
            pc->bad = 1;
        pc->out_base += n;
        return;
    }
    memcpy(pc->out + pc->out_len, p, n);
    pc->out_len += n;
    assert(pc->out_len <= OUT_BUF);
}

static uint64_t put_offset(const struct scen_pcap *pc) { return pc->out_base + pc->out_len; }

/* Overwrite n bytes at file offset off, written earlier. A capture written to a pipe cannot be
 * reached again once flushed: the comment keeps what it said then. */
static void patch(struct scen_pcap *pc, uint64_t off, const void *p, size_t n)
{
    assert(off + n <= put_offset(pc));
    if (off >= pc->out_base) {
        memcpy(pc->out + (off - pc->out_base), p, n);
        return;
    }
    if (fflush(pc->f) != 0 || pwrite(fileno(pc->f), p, n, (off_t)off) != (ssize_t)n) {
        if (errno != ESPIPE)
            pc->bad = 1;
    }
}

static void put32(struct scen_pcap *pc, uint32_t v)
{
    unsigned char b[4];
    le32(b, v);
    put(pc, b, 4);
}

/* One option: code, length, value padded to 4 bytes. */
static void put_opt(struct scen_pcap *pc, uint16_t code, const void *v, size_t n)
{
    unsigned char h[4], zero[4] = {0};
    le16(h, code);
    le16(h + 2, (uint32_t)n);
    put(pc, h, 4);
    put(pc, v, n);
    put(pc, zero, pad4(n) - n);
}

static size_t opt_size(size_t n) { return 4 + pad4(n); }

static void ng_headers(struct scen_pcap *pc)
{
    static const char appl[] = "vmcisim";
    static const char ifname[] = "vmci";
    size_t shb = 28 + opt_size(sizeof appl - 1) + 4;
    assert(shb % 4 == 0);
    put32(pc, NG_SHB);
    put32(pc, (uint32_t)shb);
    put32(pc, NG_BYTE_ORDER);
    unsigned char ver[4];
    le16(ver, 1);
    le16(ver + 2, 0);
    put(pc, ver, 4);
    unsigned char len[8];
    le64(len, UINT64_MAX);   /* section length not given */
    put(pc, len, 8);
    put_opt(pc, NG_OPT_SHB_USERAPPL, appl, sizeof appl - 1);
    put_opt(pc, NG_OPT_END, NULL, 0);
    put32(pc, (uint32_t)shb);
    unsigned char tsresol = 9;   /* 10^-9 s */
    size_t idb = 20 + opt_size(sizeof ifname - 1) + opt_size(1) + 4;
    put32(pc, NG_IDB);
    put32(pc, (uint32_t)idb);
    unsigned char lt[8];
    le16(lt, SCEN_PCAP_LINKTYPE_VSOCK);
    le16(lt + 2, 0);
    le32(lt + 4, SCEN_PCAP_SNAPLEN);
    put(pc, lt, 8);
    put_opt(pc, NG_OPT_IF_NAME, ifname, sizeof ifname - 1);
    put_opt(pc, NG_OPT_IF_TSRESOL, &tsresol, 1);
    put_opt(pc, NG_OPT_END, NULL, 0);
    put32(pc, (uint32_t)idb);
}

/* A delivery comment as DLV_REGION bytes of options: the comment option with text (at most
 * DLV_TEXT bytes), then zeros, which read as end-of-options markers. Rewritten in place when
 * the packet arrives, the text may be longer or shorter; the block keeps its size. */
static void dlv_region(unsigned char out[DLV_REGION], const char *text)
{
    size_t n = strlen(text);
    assert(n <= DLV_TEXT);
    memset(out, 0, DLV_REGION);
    le16(out, NG_OPT_COMMENT);
    le16(out + 2, (uint32_t)n);
    memcpy(out + 4, text, n);
}

/* An Enhanced Packet Block: len bytes of pc->buf (may be 0) and an optional comment. With
 * region_off, the comment is a delivery comment (dlv_region) and *region_off is where its
 * region starts, to be rewritten later. */
static void ng_packet(struct scen_pcap *pc, uint64_t t_ns, size_t len, const char *comment,
                      uint64_t *region_off)
{
    size_t clen = comment ? strlen(comment) : 0;
    if (clen > 0xFFFF)
        clen = 0xFFFF;
    assert(!region_off || (comment && clen <= DLV_TEXT));
    size_t total = 32 + pad4(len) + (comment ? (region_off ? DLV_REGION : opt_size(clen)) + 4 : 0);
    assert(total % 4 == 0 && len <= SCEN_PCAP_SNAPLEN);   /* pcapng blocks are 32-bit aligned */
    unsigned char h[20], zero[4] = {0};
    put32(pc, NG_EPB);
    put32(pc, (uint32_t)total);
    le32(h, 0);                                  /* interface 0 */
    le32(h + 4, (uint32_t)(t_ns >> 32));
    le32(h + 8, (uint32_t)t_ns);
    le32(h + 12, (uint32_t)len);
    le32(h + 16, (uint32_t)len);
    put(pc, h, 20);
    put(pc, pc->buf, len);
    put(pc, zero, pad4(len) - len);
    if (comment && region_off) {
        unsigned char region[DLV_REGION];
        dlv_region(region, comment);
        *region_off = put_offset(pc);
        put(pc, region, sizeof region);
        put_opt(pc, NG_OPT_END, NULL, 0);
    } else if (comment) {
        put_opt(pc, NG_OPT_COMMENT, comment, clen);
        put_opt(pc, NG_OPT_END, NULL, 0);
    }
    put32(pc, (uint32_t)total);
}

void scen_pcap_global_header(unsigned char out[24])
{
    le32(out, PCAP_MAGIC_NS);
    le16(out + 4, 2);
    le16(out + 6, 4);
    le32(out + 8, 0);
    le32(out + 12, 0);
    le32(out + 16, SCEN_PCAP_SNAPLEN);
    le32(out + 20, SCEN_PCAP_LINKTYPE_VSOCK);
}

static uint16_t vsockmon_op(int op)
{
    return op >= VMCISIM_PKT_UNKNOWN && op <= VMCISIM_PKT_PAYLOAD ? (uint16_t)op : 0;
}

size_t scen_pcap_frame(const struct vmcisim_packet *pkt, const void *payload, uint32_t plen,
                       unsigned char *out, size_t cap)
{
    /* Control records carry the control packet as transport header and no payload; PAYLOAD
     * records carry no transport header (tcpdump ignores the length field: formats.md §1.6). */
    int is_payload = pkt->op == VMCISIM_PKT_PAYLOAD;
    uint32_t hlen = !is_payload && pkt->hdr && pkt->hdr_len <= 0xFFFFu ? pkt->hdr_len : 0;
    /* A datagram socket's record carries its 24-byte VMCI datagram header when the transport
     * reports one: Wireshark (and tools/wireshark/vmci.lua) read it; tcpdump shows it as
     * payload bytes (formats.md §1.7 weighs the two). */
    if (is_payload && pkt->sock_type == 2 && pkt->hdr && pkt->hdr_len == SCEN_VMCI_DG_HDR)
        hlen = SCEN_VMCI_DG_HDR;
    if (!is_payload)
        plen = 0;
    size_t total = SCEN_VSOCKMON_HDR + hlen + plen;
    if (total > cap)
        return 0;
    le64(out, pkt->src_cid);
    le64(out + 8, pkt->dst_cid);
    le32(out + 16, pkt->src_port);
    le32(out + 20, pkt->dst_port);
    le16(out + 24, vsockmon_op(pkt->op));
    le16(out + 26, SCEN_VSOCKMON_NO_INFO);
    le16(out + 28, hlen);
    out[30] = out[31] = 0;
    assert(total <= cap && SCEN_VSOCKMON_HDR == 32); /* the header written above is 32 bytes */
    if (hlen)
        memcpy(out + SCEN_VSOCKMON_HDR, pkt->hdr, hlen);
    if (plen)
        memcpy(out + SCEN_VSOCKMON_HDR + hlen, payload, plen);
    return total;
}

struct scen_pcap *scen_pcap_open(const char *path)
{
    struct scen_pcap *pc = vmcisim_calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->buf = vmcisim_malloc(SCEN_PCAP_SNAPLEN);
    pc->out = pc->buf ? vmcisim_malloc(OUT_BUF) : NULL;
    pc->f = pc->out ? fopen(path, "wb") : NULL;
    size_t pl = strlen(path);
    pc->ng = pl >= 7 && strcmp(path + pl - 7, ".pcapng") == 0;
    if (!pc->f) {
        int e = pc->out ? errno : ENOMEM;
        free(pc->out);
        free(pc->buf);
        free(pc);
        errno = e;
        return NULL;
    }
    pthread_mutex_init(&pc->mu, NULL);
    if (pc->ng) {
        ng_headers(pc);
        return pc;
    }
    unsigned char gh[24];
    scen_pcap_global_header(gh);
    put(pc, gh, sizeof gh);
    return pc;
}

/* ---- delivery times (pcapng) ------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* What pairs an arrival with its send: addresses, op, and the content (a control packet's body
 * after its datagram header, whose source the hypervisor stamps; a datagram's payload). */
static struct flight flight_of(const struct vmcisim_packet *pkt)
{
    struct flight f = {.src_cid = pkt->src_cid, .src_port = pkt->src_port,
                       .dst_cid = pkt->dst_cid, .dst_port = pkt->dst_port, .op = pkt->op,
                       .sock_type = pkt->sock_type, .sig = 0xcbf29ce484222325ull,
                       .t_ns = pkt->time_ns};
    if (pkt->op != VMCISIM_PKT_PAYLOAD && pkt->hdr && pkt->hdr_len > SCEN_VMCI_DG_HDR)
        f.sig = fnv(f.sig, (const unsigned char *)pkt->hdr + SCEN_VMCI_DG_HDR,
                    pkt->hdr_len - SCEN_VMCI_DG_HDR);
    else if (pkt->payload)
        f.sig = fnv(f.sig, pkt->payload, pkt->payload_len);
    uint64_t len = pkt->payload_len;
    f.sig = fnv(f.sig, &len, sizeof len);
    return f;
}

static bool same_packet(const struct flight *a, const struct flight *b)
{
    return a->src_cid == b->src_cid && a->src_port == b->src_port && a->dst_cid == b->dst_cid &&
           a->dst_port == b->dst_port && a->op == b->op && a->sock_type == b->sock_type &&
           a->sig == b->sig;
}

/* The delivery comment's text (at most DLV_TEXT bytes and a NUL). */
static void dlv_text(char out[DLV_TEXT + 1], uint64_t sent, uint64_t at)
{
    char t[DLV_TEXT + 1];
    uint64_t d = at >= sent ? at - sent : 0;
    int n = snprintf(t, sizeof t, "delivered at %llu.%09llu (+%llu.%09llu)",
                     (unsigned long long)(at / 1000000000ull), (unsigned long long)(at % 1000000000ull),
                     (unsigned long long)(d / 1000000000ull), (unsigned long long)(d % 1000000000ull));
    if (n < 0 || (size_t)n > DLV_TEXT) /* more than 11 days in: the delay alone */
        n = snprintf(t, sizeof t, "delivered (+%llu.%09llu)", (unsigned long long)(d / 1000000000ull),
                     (unsigned long long)(d % 1000000000ull));
    if (n < 0 || (size_t)n > DLV_TEXT)
        n = snprintf(t, sizeof t, "delivered");
    assert(n > 0 && (size_t)n <= DLV_TEXT);
    memcpy(out, t, (size_t)n + 1);
}

/* Writes a frame of len bytes of pc->buf sent at t_ns with its delivery comment: known now
 * (arrived: the time), or to be filled in when the packet arrives (f, added in flight). */
static void ng_frame(struct scen_pcap *pc, uint64_t t_ns, size_t len, const struct flight *f,
                     bool arrived, uint64_t arrived_ns)
{
    char text[DLV_TEXT + 1];
    if (arrived)
        dlv_text(text, t_ns, arrived_ns);
    else
        snprintf(text, sizeof text, "delivery pending");
    uint64_t off;
    ng_packet(pc, t_ns, len, text, &off);
    if (arrived)
        return;
    struct flight *a = vmcisim_grow(pc->fly, &pc->fly_cap, pc->nfly, 64);
    if (!a)
        return; /* no room to remember it: it keeps "delivery pending" */
    pc->fly = a;
    pc->fly[pc->nfly] = *f;
    pc->fly[pc->nfly].t_ns = t_ns;
    pc->fly[pc->nfly].off = off;
    pc->nfly++;
}

/* An arrival observed before its send: taken by the send of the same thread. */
static bool take_early(struct scen_pcap *pc, const struct flight *f, uint64_t *at)
{
    const void *me = sim_self();
    for (size_t i = 0; i < pc->nearly; i++)
        if (pc->early[i].who == me && same_packet(&pc->early[i], f)) {
            *at = pc->early[i].t_ns;
            memmove(pc->early + i, pc->early + i + 1, (pc->nearly - i - 1) * sizeof *pc->early);
            pc->nearly--;
            return true;
        }
    return false;
}

void scen_pcap_delivered(void *ctx, const struct vmcisim_packet *pkt)
{
    struct scen_pcap *pc = ctx;
    if (!pc || !pkt || !pc->ng)
        return;
    struct flight f = flight_of(pkt);
    pthread_mutex_lock(&pc->mu);
    size_t i = 0;
    while (i < pc->nfly && !same_packet(&pc->fly[i], &f))
        i++;
    if (i < pc->nfly) {
        char text[DLV_TEXT + 1];
        unsigned char region[DLV_REGION];
        dlv_text(text, pc->fly[i].t_ns, pkt->time_ns);
        dlv_region(region, text);
        patch(pc, pc->fly[i].off, region, sizeof region);
        memmove(pc->fly + i, pc->fly + i + 1, (pc->nfly - i - 1) * sizeof *pc->fly);
        pc->nfly--;
    } else {
        /* not sent yet as far as the capture knows; the oldest early arrival gives way */
        if (pc->nearly == EARLY_MAX) {
            memmove(pc->early, pc->early + 1, (EARLY_MAX - 1) * sizeof *pc->early);
            pc->nearly--;
        }
        f.who = sim_self();
        pc->early[pc->nearly++] = f;
    }
    assert(pc->nearly <= EARLY_MAX);
    pthread_mutex_unlock(&pc->mu);
}

static void write_record(struct scen_pcap *pc, uint64_t t_ns, size_t len,
                         const struct flight *f, bool arrived, uint64_t arrived_ns)
{
    if (pc->ng) {
        ng_frame(pc, t_ns, len, f, arrived, arrived_ns);
        return;
    }
    unsigned char rh[16];
    assert(len <= SCEN_PCAP_SNAPLEN); /* a record never exceeds the snaplen in the header */
    le32(rh, (uint32_t)(t_ns / 1000000000ull));
    le32(rh + 4, (uint32_t)(t_ns % 1000000000ull));
    le32(rh + 8, (uint32_t)len);
    le32(rh + 12, (uint32_t)len);
    put(pc, rh, sizeof rh);
    put(pc, pc->buf, len);
}

int scen_pcap_write(struct scen_pcap *pc, const struct vmcisim_packet *pkt)
{
    if (!pc || !pkt)
        return -1;
    const unsigned char *p = pkt->payload;
    uint32_t left = pkt->payload && pkt->op == VMCISIM_PKT_PAYLOAD ? pkt->payload_len : 0;
    /* A datagram is one record whatever its size (it fits the snaplen); stream data is a byte
     * stream, so cutting it into records of at most 64 KiB (the vsockmon MTU) loses nothing. */
    pthread_mutex_lock(&pc->mu);
    /* Stream data is in the peer's queue when it is observed: delivered as it is sent. Control
     * packets and datagrams travel through the hypervisor and arrive later, or earlier. */
    struct flight f = {0};
    bool arrived = true;
    uint64_t arrived_ns = pkt->time_ns;
    if (pc->ng && (pkt->op != VMCISIM_PKT_PAYLOAD || pkt->sock_type == 2)) {
        f = flight_of(pkt);
        arrived = take_early(pc, &f, &arrived_ns);
    }
    uint32_t step = pkt->sock_type == 2 ? left : SCEN_PCAP_MAX_PAYLOAD;
    if (step == 0 || step > SCEN_PCAP_SNAPLEN - SCEN_VSOCKMON_HDR)
        step = SCEN_PCAP_MAX_PAYLOAD;
    do {
        uint32_t n = left < step ? left : step;
        assert(n <= left);
        size_t len = scen_pcap_frame(pkt, p, n, pc->buf, SCEN_PCAP_SNAPLEN);
        if (len == 0) {
            pc->bad = 1;
            break;
        }
        write_record(pc, pkt->time_ns, len, &f, arrived, arrived_ns);
        p += n;
        left -= n;
    } while (left > 0);
    int rc = pc->bad ? -1 : 0;
    pthread_mutex_unlock(&pc->mu);
    return rc;
}

int scen_pcap_note(struct scen_pcap *pc, uint64_t t_ns, const char *text)
{
    if (!pc || !text)
        return -1;
    if (!pc->ng)
        return 0;   /* classic pcap has nowhere to put it */
    pthread_mutex_lock(&pc->mu);
    ng_packet(pc, t_ns, 0, text, NULL);
    int rc = pc->bad ? -1 : 0;
    pthread_mutex_unlock(&pc->mu);
    return rc;
}

void scen_pcap_observer(void *ctx, const struct vmcisim_packet *pkt)
{
    scen_pcap_write(ctx, pkt);
}

int scen_pcap_close(struct scen_pcap *pc)
{
    if (!pc)
        return -1;
    /* what is still in flight never arrived within the run (lost, or the run ended first) */
    for (size_t i = 0; i < pc->nfly; i++) {
        unsigned char region[DLV_REGION];
        dlv_region(region, "not delivered by the end of the run");
        patch(pc, pc->fly[i].off, region, sizeof region);
    }
    out_flush(pc);
    int bad = pc->bad;
    if (fclose(pc->f) != 0)
        bad = 1;
    free(pc->fly);
    free(pc->out);
    free(pc->buf);
    pthread_mutex_destroy(&pc->mu);
    free(pc);
    return bad ? -1 : 0;
}
