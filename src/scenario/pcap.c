/*
 * pcap.c - the LINKTYPE_VSOCK capture writer (pcap.h). Every field is written byte by byte in
 * little-endian order, so the file is the same on any host.
 */
#include "../sim/alloc.h"
#include "pcap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_NS 0xA1B23C4Du  /* nanosecond timestamps: simulated time keeps its precision */

struct scen_pcap {
    FILE *f;
    int bad;
    unsigned char *buf;            /* one frame */
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
    if (!pc->f) {
        int e = errno;
        free(pc->buf);
        free(pc);
        errno = e;
        return NULL;
    }
    unsigned char gh[24];
    scen_pcap_global_header(gh);
    if (fwrite(gh, 1, sizeof gh, pc->f) != sizeof gh)
        pc->bad = 1;
    return pc;
}

static void write_record(struct scen_pcap *pc, uint64_t t_ns, size_t len)
{
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
    uint32_t step = pkt->sock_type == 2 ? left : SCEN_PCAP_MAX_PAYLOAD;
    if (step == 0 || step > SCEN_PCAP_SNAPLEN - SCEN_VSOCKMON_HDR)
        step = SCEN_PCAP_MAX_PAYLOAD;
    do {
        uint32_t n = left < step ? left : step;
        assert(n <= left);
        size_t len = scen_pcap_frame(pkt, p, n, pc->buf, SCEN_PCAP_SNAPLEN);
        if (len == 0) {
            pc->bad = 1;
            return -1;
        }
        write_record(pc, pkt->time_ns, len);
        p += n;
        left -= n;
    } while (left > 0);
    return pc->bad ? -1 : 0;
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
    free(pc);
    return bad ? -1 : 0;
}
