/*
 * pcap.c - the LINKTYPE_VSOCK capture writer (pcap.h). Every field is written byte by byte in
 * little-endian order, so the file is the same on any host. A name ending in ".pcapng" gets
 * pcapng (formats.md §1.5): the same frames as Enhanced Packet Blocks with nanosecond
 * timestamps, plus comments for what is not a packet (lifecycle events, a failed expectation).
 */
#include "scenario/pcap.h"
#include "sim/alloc.h"
#include "scenario/pcap.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

struct scen_pcap {
    FILE *f;
    int bad;
    int ng;                        /* pcapng rather than classic pcap */
    unsigned char *buf;            /* one frame */
    pthread_mutex_t mu;            /* realtime mode: notes come from other threads */
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

static void put(struct scen_pcap *pc, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, pc->f) != n)
        pc->bad = 1;
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

/* An Enhanced Packet Block: len bytes of pc->buf (may be 0) and an optional comment. */
static void ng_packet(struct scen_pcap *pc, uint64_t t_ns, size_t len, const char *comment)
{
    size_t clen = comment ? strlen(comment) : 0;
    if (clen > 0xFFFF)
        clen = 0xFFFF;
    size_t total = 32 + pad4(len) + (comment ? opt_size(clen) + 4 : 0);
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
    if (comment) {
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
    pc->f = pc->buf ? fopen(path, "wb") : NULL;
    size_t pl = strlen(path);
    pc->ng = pl >= 7 && strcmp(path + pl - 7, ".pcapng") == 0;
    if (!pc->f) {
        int e = errno;
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
    if (fwrite(gh, 1, sizeof gh, pc->f) != sizeof gh)
        pc->bad = 1;
    return pc;
}

static void write_record(struct scen_pcap *pc, uint64_t t_ns, size_t len)
{
    if (pc->ng) {
        ng_packet(pc, t_ns, len, NULL);
        return;
    }
    unsigned char rh[16];
    assert(len <= SCEN_PCAP_SNAPLEN); /* a record never exceeds the snaplen in the header */
    le32(rh, (uint32_t)(t_ns / 1000000000ull));
    le32(rh + 4, (uint32_t)(t_ns % 1000000000ull));
    le32(rh + 8, (uint32_t)len);
    le32(rh + 12, (uint32_t)len);
    if (fwrite(rh, 1, sizeof rh, pc->f) != sizeof rh || fwrite(pc->buf, 1, len, pc->f) != len)
        pc->bad = 1;
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
        write_record(pc, pkt->time_ns, len);
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
    ng_packet(pc, t_ns, 0, text);
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
    int bad = pc->bad;
    if (fclose(pc->f) != 0)
        bad = 1;
    free(pc->buf);
    pthread_mutex_destroy(&pc->mu);
    free(pc);
    return bad ? -1 : 0;
}
