/*
 * html_report.h - one run drawn as a sequence diagram (`vmcisim run --html FILE`): a lane for
 * the host and for each VM (with its processes named under it), each connection's control
 * packets, stream data and datagrams as arrows at their simulated times, lifecycle faults as
 * marks across a lane, and the failed expectation, if any, at the end. One self-contained HTML
 * file with inline SVG: no script, no network.
 */
#ifndef VMCISIM_SCEN_HTML_REPORT_H
#define VMCISIM_SCEN_HTML_REPORT_H

#include <stdint.h>

#include "vmcisim/vmcisim.h"

struct scen_html;

struct scen_html *scen_html_new(void);
/* A lane: the VM's CID and name, and the names of its processes (space-separated). */
int scen_html_lane(struct scen_html *h, uint32_t cid, const char *name, const char *procs);
/* A vmcisim_packet_fn whose ctx is a struct scen_html. */
void scen_html_packet(void *ctx, const struct vmcisim_packet *pkt);
/* A lifecycle action or fault on a VM's lane ("suspend", "migrate", ...). */
void scen_html_event(struct scen_html *h, uint64_t t_ns, uint32_t cid, const char *what);
/* The run's verdict: NULL for a pass, else the failure message. */
void scen_html_verdict(struct scen_html *h, uint64_t t_ns, const char *failure);
/* Writes the page (title: the scenario name and seed); 0, or -1 with errno. Frees h. */
int scen_html_write(struct scen_html *h, const char *path, const char *title);
void scen_html_free(struct scen_html *h);

#endif
