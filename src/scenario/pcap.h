/*
 * pcap.h - a LINKTYPE_VSOCK (271) capture writer fed by the world's packet observer
 * (formats.md §1.7): classic pcap with nanosecond timestamps taken from simulated time, the
 * 32-byte vsockmon header with transport NO_INFO (1), the 56-byte control packet as the
 * transport header of control records, stream data as PAYLOAD records whose transport header
 * is empty, and datagrams as PAYLOAD records whose transport header is the 24-byte VMCI
 * datagram header.
 */
#ifndef VMCISIM_SCEN_PCAP_H
#define VMCISIM_SCEN_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmcisim/vmcisim.h"

#define SCEN_PCAP_LINKTYPE_VSOCK 271u
#define SCEN_PCAP_SNAPLEN 262144u
#define SCEN_PCAP_MAX_PAYLOAD 65536u   /* longer stream payloads are cut into several records */
#define SCEN_VSOCKMON_HDR 32u
#define SCEN_VSOCKMON_NO_INFO 1u
#define SCEN_VMCI_DG_HDR 24u      /* struct vmci_datagram: dst, src handles and payload size */

struct scen_pcap;

struct scen_pcap *scen_pcap_open(const char *path);   /* NULL (errno set) if it cannot */
/* Writes one packet as one record (or several, for long stream payloads); 0 or -1. */
int scen_pcap_write(struct scen_pcap *pc, const struct vmcisim_packet *pkt);
/* A pcapng capture (a path ending in ".pcapng") records text as a comment on an empty frame
 * at t_ns: lifecycle events, a failed expectation. Classic pcap has no place for it: 0, nothing
 * written. */
int scen_pcap_note(struct scen_pcap *pc, uint64_t t_ns, const char *text);
/* Flushes and closes; returns -1 if any write failed. */
int scen_pcap_close(struct scen_pcap *pc);
/* A vmcisim_packet_fn whose ctx is a struct scen_pcap. */
void scen_pcap_observer(void *ctx, const struct vmcisim_packet *pkt);
/* The delivery observer (sim_set_delivery_observer) of a pcapng capture: the packet arrived
 * now; the comment of its frame says so ("delivered at S (+D)"). Classic pcap: nothing. */
void scen_pcap_delivered(void *ctx, const struct vmcisim_packet *pkt);

/* The 24-byte global header, and one frame (vsockmon header + transport header + payload)
 * built into out; returns the frame length (0 if cap is too small). */
void scen_pcap_global_header(unsigned char out[24]);
size_t scen_pcap_frame(const struct vmcisim_packet *pkt, const void *payload, uint32_t plen,
                       unsigned char *out, size_t cap);

#endif
