/*
 * test_scenario_pcap.c - the LINKTYPE_VSOCK capture writer (issue 6, formats.md §1.5-1.8), fed
 * with synthetic packets as the transports will report them through the packet observer.
 *
 * Run with "--write FILE" this program writes a small synthetic capture (a connection's
 * control packets, stream payload, a datagram and the disconnect) for tests/scenario_pcap.sh,
 * which reads it back with tshark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/pcap.h"
#include "testutil.h"

/* A 56-byte VMCI stream control packet (formats.md §1.3) of the given type. */
static void control_packet(unsigned char out[56], uint32_t dst_cid, uint32_t sport, uint32_t dport,
                           unsigned type, uint64_t u)
{
    memset(out, 0, 56);
    uint32_t w[] = {dst_cid, 1, 0xFFFFFFFFu, 1};
    memcpy(out, w, sizeof w);
    uint64_t payload = 32;
    memcpy(out + 16, &payload, 8);
    out[24] = 1;
    out[25] = (unsigned char)type;
    memcpy(out + 28, &sport, 4);
    memcpy(out + 32, &dport, 4);
    memcpy(out + 40, &u, 8);
}

static struct vmcisim_packet pkt(uint64_t t, uint32_t sc, uint32_t sp, uint32_t dc, uint32_t dp,
                                 int op, int type)
{
    struct vmcisim_packet p = {.time_ns = t, .src_cid = sc, .src_port = sp, .dst_cid = dc,
                               .dst_port = dp, .op = op, .sock_type = type};
    return p;
}

START_TEST(global_header_bytes)
{
    unsigned char gh[24];
    scen_pcap_global_header(gh);
    const unsigned char want[24] = {0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 4, 0, 0x0f, 1, 0, 0};
    ck_assert_mem_eq(gh, want, 24);
}
END_TEST

/* formats.md §1.8, frame 1: the byte-exact example a writer is checked against. */
START_TEST(payload_frame_matches_the_reference)
{
    struct vmcisim_packet p = pkt(0, 3, 1025, 2, 1234, VMCISIM_PKT_PAYLOAD, 1);
    p.payload = "hello";
    p.payload_len = 5;
    unsigned char out[128];
    size_t n = scen_pcap_frame(&p, p.payload, p.payload_len, out, sizeof out);
    const unsigned char want[] = {0x03, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
                                  0x01, 0x04, 0, 0, 0xd2, 0x04, 0, 0, 0x04, 0, 0x01, 0,
                                  0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(out, want, sizeof want);
}
END_TEST

START_TEST(control_frame_carries_the_56_byte_packet)
{
    unsigned char cp[56];
    control_packet(cp, 2, 1025, 1234, 11 /* REQUEST2 */, 262144);
    struct vmcisim_packet p = pkt(0, 3, 1025, 2, 1234, VMCISIM_PKT_CONNECT, 1);
    p.hdr = cp;
    p.hdr_len = 56;
    p.payload = "ignored"; /* control records carry no payload */
    p.payload_len = 7;
    unsigned char out[256];
    size_t n = scen_pcap_frame(&p, p.payload, p.payload_len, out, sizeof out);
    ck_assert_uint_eq(n, 32 + 56);
    ck_assert_uint_eq(out[24], 1);  /* op CONNECT */
    ck_assert_uint_eq(out[26], 1);  /* transport NO_INFO */
    ck_assert_uint_eq(out[28], 56); /* transport header length */
    ck_assert_uint_eq(out[29], 0);
    ck_assert_uint_eq(out[32 + 25], 11); /* the type byte where a Lua dissector finds it */
    ck_assert_mem_eq(out + 32, cp, 56);
    ck_assert_uint_eq(scen_pcap_frame(&p, NULL, 0, out, 50), 0); /* too small: nothing */
}
END_TEST

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4 << 20;
    unsigned char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    *n = fread(b, 1, cap, f);
    ck_assert_uint_lt(*n, cap);
    fclose(f);
    return b;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(file_records_timestamps_and_splitting)
{
    char path[] = "/tmp/vmcisim-pcap-XXXXXX";
    close(mkstemp(path));
    struct scen_pcap *pc = scen_pcap_open(path);
    ck_assert_ptr_nonnull(pc);
    /* 150000 bytes of stream data: three records (64 KiB, 64 KiB, the rest) */
    static unsigned char data[150000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)i;
    struct vmcisim_packet p = pkt(1500000123ull, 3, 1025, 2, 1234, VMCISIM_PKT_PAYLOAD, 1);
    p.payload = data;
    p.payload_len = sizeof data;
    ck_assert_int_eq(scen_pcap_write(pc, &p), 0);
    /* a 69608-byte datagram stays one record */
    struct vmcisim_packet d = pkt(2000000000ull, 4, 1100, 2, 2049, VMCISIM_PKT_PAYLOAD, 2);
    d.payload = data;
    d.payload_len = 69608;
    ck_assert_int_eq(scen_pcap_write(pc, &d), 0);
    ck_assert_int_eq(scen_pcap_close(pc), 0);

    size_t n;
    unsigned char *b = read_all(path, &n);
    size_t off = 24, recs = 0, total = 0;
    uint32_t lens[8];
    while (off + 16 <= n && recs < 8) {
        uint32_t sec = le32(b + off), nsec = le32(b + off + 4);
        uint32_t incl = le32(b + off + 8), orig = le32(b + off + 12);
        ck_assert_uint_eq(incl, orig);
        if (recs < 3) {
            ck_assert_uint_eq(sec, 1);
            ck_assert_uint_eq(nsec, 500000123);
        } else {
            ck_assert_uint_eq(sec, 2);
            ck_assert_uint_eq(nsec, 0);
        }
        lens[recs++] = incl;
        /* the payload continues where the previous record stopped */
        if (recs <= 3) {
            ck_assert_uint_eq(b[off + 16 + 32], (unsigned char)total);
            total += incl - 32;
        }
        off += 16 + incl;
    }
    ck_assert_uint_eq(off, n);
    ck_assert_uint_eq(recs, 4);
    ck_assert_uint_eq(lens[0], 32 + 65536);
    ck_assert_uint_eq(lens[1], 32 + 65536);
    ck_assert_uint_eq(lens[2], 32 + 150000 - 2 * 65536);
    ck_assert_uint_eq(lens[3], 32 + 69608);
    free(b);
    unlink(path);
    ck_assert_ptr_null(scen_pcap_open("/nonexistent/dir/x.pcap"));
}
END_TEST

/* The comments of a pcapng file's packet blocks, in order, each "<send ns> <text>" with the
 * text's padding removed; returns how many. */
static size_t ng_comments(const unsigned char *b, size_t n, char out[][96], size_t max)
{
    size_t off = 0, k = 0;
    while (off + 12 <= n && k < max) {
        uint32_t type = le32(b + off), len = le32(b + off + 4);
        ck_assert_uint_ge(len, 12);
        ck_assert_uint_le(off + len, n);
        if (type == 6) {
            uint64_t t = (uint64_t)le32(b + off + 12) << 32 | le32(b + off + 16);
            uint32_t cap = le32(b + off + 20);
            size_t o = off + 28 + ((cap + 3) & ~3u);
            char text[80] = "";
            while (o + 4 <= off + len - 4) {
                uint32_t code = b[o] | b[o + 1] << 8, ol = b[o + 2] | b[o + 3] << 8;
                if (code == 0)
                    break;
                if (code == 1) {
                    ck_assert_uint_lt(ol, sizeof text);
                    memcpy(text, b + o + 4, ol);
                    text[ol] = 0;
                    while (ol > 0 && text[ol - 1] == ' ')
                        text[--ol] = 0;
                }
                o += 4 + ((ol + 3) & ~3u);
            }
            snprintf(out[k++], 96, "%llu %s", (unsigned long long)t, text);
        }
        off += len;
    }
    ck_assert_uint_eq(off, n);
    return k;
}

START_TEST(pcapng_frames_say_when_they_arrived)
{
    /* docs/scenarios.md §10: a frame's timestamp is its send, its comment its arrival */
    char path[] = "/tmp/vmcisim-pcap-XXXXXX.pcapng";
    close(mkstemps(path, 7));
    struct scen_pcap *pc = scen_pcap_open(path);
    ck_assert_ptr_nonnull(pc);
    unsigned char wrote[56], rst[56];
    control_packet(wrote, 2, 1025, 1234, 5 /* WROTE */, 0);
    control_packet(rst, 3, 1234, 1025, 7 /* RST */, 0);
    /* a WROTE sent at 1 us, in flight */
    struct vmcisim_packet a = pkt(1000, 3, 1025, 2, 1234, VMCISIM_PKT_CONTROL, 1);
    a.hdr = wrote;
    a.hdr_len = 56;
    ck_assert_int_eq(scen_pcap_write(pc, &a), 0);
    /* a RST that arrives (at 2 us) before its send is observed: handled in the sending call */
    struct vmcisim_packet r = pkt(2000, 2, 1234, 3, 1025, VMCISIM_PKT_DISCONNECT, 1);
    r.hdr = rst;
    r.hdr_len = 56;
    scen_pcap_delivered(pc, &r);
    r.time_ns = 2500;
    ck_assert_int_eq(scen_pcap_write(pc, &r), 0);
    /* a datagram that never arrives */
    struct vmcisim_packet d = pkt(3000, 4, 1100, 2, 2049, VMCISIM_PKT_PAYLOAD, 2);
    d.payload = "ping";
    d.payload_len = 4;
    ck_assert_int_eq(scen_pcap_write(pc, &d), 0);
    /* 2 MiB of stream data (32 frames, in the peer's queue as sent): the WROTE's frame is in
     * the file, no longer in the writer's buffer, when it arrives */
    static unsigned char data[2 << 20];
    struct vmcisim_packet s = pkt(4000, 3, 1025, 2, 1234, VMCISIM_PKT_PAYLOAD, 1);
    s.payload = data;
    s.payload_len = sizeof data;
    ck_assert_int_eq(scen_pcap_write(pc, &s), 0);
    /* the same datagram's content from another port is another packet: no pairing */
    struct vmcisim_packet other = d;
    other.src_port = 1101;
    other.time_ns = 40000;
    scen_pcap_delivered(pc, &other);
    a.time_ns = 51000;
    scen_pcap_delivered(pc, &a);
    ck_assert_int_eq(scen_pcap_close(pc), 0);

    size_t n;
    unsigned char *b = read_all(path, &n);
    char c[40][96];
    size_t k = ng_comments(b, n, c, 40);
    ck_assert_uint_eq(k, 3 + 32);
    ck_assert_str_eq(c[0], "1000 delivered at 0.000051000 (+0.000050000)");
    ck_assert_str_eq(c[1], "2500 delivered at 0.000002000 (+0.000000000)");
    ck_assert_str_eq(c[2], "3000 not delivered by the end of the run");
    for (size_t i = 3; i < k; i++)
        ck_assert_str_eq(c[i], "4000 delivered at 0.000004000 (+0.000000000)");
    free(b);
    unlink(path);
}
END_TEST

/* The capture tests/scenario_pcap.sh reads with tshark: guest 3 connects from port 1025 to host
 * port 1234, sends "hello", the host answers "world!", a datagram from guest 4, then a
 * shutdown. */
static int write_synthetic(const char *path)
{
    struct scen_pcap *pc = scen_pcap_open(path);
    if (!pc)
        return 1;
    unsigned char cp[56];
    struct {
        uint32_t sc, sp, dc, dp;
        int op;
        unsigned type;
    } ctl[] = {
        {3, 1025, 2, 1234, VMCISIM_PKT_CONNECT, 11},   /* REQUEST2 */
        {2, 1234, 3, 1025, VMCISIM_PKT_CONNECT, 12},   /* NEGOTIATE2 */
        {3, 1025, 2, 1234, VMCISIM_PKT_CONNECT, 3},    /* OFFER */
        {2, 1234, 3, 1025, VMCISIM_PKT_CONNECT, 4},    /* ATTACH */
        {3, 1025, 2, 1234, VMCISIM_PKT_CONTROL, 5},    /* WROTE */
    };
    uint64_t t = 1000;
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        control_packet(cp, ctl[i].dc, ctl[i].sp, ctl[i].dp, ctl[i].type, 262144);
        struct vmcisim_packet p = pkt(t += 1000, ctl[i].sc, ctl[i].sp, ctl[i].dc, ctl[i].dp,
                                      ctl[i].op, 1);
        p.hdr = cp;
        p.hdr_len = 56;
        scen_pcap_write(pc, &p);
    }
    struct vmcisim_packet p = pkt(t += 1000, 3, 1025, 2, 1234, VMCISIM_PKT_PAYLOAD, 1);
    p.payload = "hello";
    p.payload_len = 5;
    scen_pcap_write(pc, &p);
    p = pkt(t += 1000, 2, 1234, 3, 1025, VMCISIM_PKT_PAYLOAD, 1);
    p.payload = "world!";
    p.payload_len = 6;
    scen_pcap_write(pc, &p);
    p = pkt(t += 1000, 4, 1100, 2, 2049, VMCISIM_PKT_PAYLOAD, 2);
    p.payload = "ping";
    p.payload_len = 4;
    scen_pcap_write(pc, &p);
    control_packet(cp, 2, 1025, 1234, 8 /* SHUTDOWN */, 3);
    p = pkt(t += 1000, 3, 1025, 2, 1234, VMCISIM_PKT_DISCONNECT, 1);
    p.hdr = cp;
    p.hdr_len = 56;
    scen_pcap_write(pc, &p);
    /* A datagram with its VMCI datagram header (guest 4 port 1100 to host port 2049), then a
     * WAITING_READ notice: what tools/wireshark/vmci.lua decodes. */
    unsigned char dg[24 + 4];
    uint32_t handles[] = {2, 2049, 4, 1100};
    uint64_t psize = 4;
    memcpy(dg, handles, sizeof handles);
    memcpy(dg + 16, &psize, 8);
    memcpy(dg + 24, "pong", 4);
    p = pkt(t += 1000, 4, 1100, 2, 2049, VMCISIM_PKT_PAYLOAD, 2);
    p.hdr = dg;
    p.hdr_len = 24;
    p.payload = dg + 24;
    p.payload_len = 4;
    scen_pcap_write(pc, &p);
    control_packet(cp, 2, 1025, 1234, 10 /* WAITING_READ */, 7);
    uint64_t offset = 4096;
    memcpy(cp + 48, &offset, 8);
    p = pkt(t += 1000, 3, 1025, 2, 1234, VMCISIM_PKT_CONTROL, 1);
    p.hdr = cp;
    p.hdr_len = 56;
    scen_pcap_write(pc, &p);
    return scen_pcap_close(pc) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_synthetic(argv[2]);
    Suite *s = suite_create("scenario_pcap");
    TCase *tc = tcase_create("pcap");
    tcase_add_test(tc, global_header_bytes);
    tcase_add_test(tc, payload_frame_matches_the_reference);
    tcase_add_test(tc, control_frame_carries_the_56_byte_packet);
    tcase_add_test(tc, file_records_timestamps_and_splitting);
    tcase_add_test(tc, pcapng_frames_say_when_they_arrived);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
