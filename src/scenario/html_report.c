/*
 * html_report.c - a run as a sequence diagram in one HTML file (html_report.h).
 *
 * Rows are events in the order they happened (simulated time on the left), so that thousands
 * of packets in the same nanosecond stay readable; a long run keeps its first and last rows and
 * says how many were left out between them.
 */
#include "sim/alloc.h"
#include "scenario/html_report.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 3000       /* rows drawn: the first MAX_ROWS - TAIL_ROWS and the last TAIL_ROWS */
#define TAIL_ROWS 500
#define ROW_H 18
#define LANE_W 170
#define LEFT 120            /* the time column */
#define TOP 70

enum row_kind { ROW_CONTROL, ROW_DATA, ROW_DGRAM, ROW_EVENT, ROW_FAIL, ROW_PASS };

struct row {
    uint64_t t;
    enum row_kind kind;
    uint32_t from, to;       /* CIDs */
    uint32_t sport, dport;
    char label[600];     /* a failure message is long; packets use a few words */
};

struct lane {
    uint32_t cid;
    char name[64];
    char procs[256];
};

struct scen_html {
    struct lane *lanes;
    size_t nlanes;
    struct row *rows;       /* the first rows, then a ring of the last TAIL_ROWS */
    size_t nrows, total;
    struct row tail[TAIL_ROWS];
    size_t ntail;
    int oom;
    pthread_mutex_t mu;     /* realtime mode: packets and lifecycle actions come from several
                               threads */
};

static const char *const control_names[] = {
    "INVALID", "REQUEST", "NEGOTIATE", "OFFER", "ATTACH", "WROTE", "READ", "RST", "SHUTDOWN",
    "WAITING_WRITE", "WAITING_READ", "REQUEST2", "NEGOTIATE2",
};

struct scen_html *scen_html_new(void)
{
    struct scen_html *h = vmcisim_calloc(1, sizeof *h);
    if (h)
        pthread_mutex_init(&h->mu, NULL);
    return h;
}

int scen_html_lane(struct scen_html *h, uint32_t cid, const char *name, const char *procs)
{
    struct lane *nl = vmcisim_realloc(h->lanes, (h->nlanes + 1) * sizeof *nl);
    if (!nl) {
        h->oom = 1;
        return -1;
    }
    h->lanes = nl;
    struct lane *l = &h->lanes[h->nlanes++];
    l->cid = cid;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "?");
    snprintf(l->procs, sizeof l->procs, "%s", procs ? procs : "");
    return 0;
}

static void add_row_locked(struct scen_html *h, const struct row *r)
{
    h->total++;
    assert(h->nrows <= MAX_ROWS - TAIL_ROWS);
    if (h->nrows < MAX_ROWS - TAIL_ROWS) {
        if (!h->rows && !(h->rows = vmcisim_malloc((MAX_ROWS - TAIL_ROWS) * sizeof *h->rows))) {
            h->oom = 1;
            return;
        }
        h->rows[h->nrows++] = *r;
        return;
    }
    h->tail[h->ntail % TAIL_ROWS] = *r;   /* the last TAIL_ROWS rows, as a ring */
    h->ntail++;
    assert(h->nrows + h->ntail == h->total);   /* the ring only fills once the head is full */
}

static void add_row(struct scen_html *h, const struct row *r)
{
    pthread_mutex_lock(&h->mu);
    add_row_locked(h, r);
    pthread_mutex_unlock(&h->mu);
}

void scen_html_packet(void *ctx, const struct vmcisim_packet *pkt)
{
    struct scen_html *h = ctx;
    struct row r = {.t = pkt->time_ns, .from = pkt->src_cid, .to = pkt->dst_cid,
                    .sport = pkt->src_port, .dport = pkt->dst_port};
    if (pkt->op == VMCISIM_PKT_PAYLOAD) {
        r.kind = pkt->sock_type == 2 ? ROW_DGRAM : ROW_DATA;
        snprintf(r.label, sizeof r.label, "%s %u B", r.kind == ROW_DGRAM ? "datagram" : "data",
                 pkt->payload_len);
    } else {
        r.kind = ROW_CONTROL;
        const unsigned char *hdr = pkt->hdr;
        unsigned type = hdr && pkt->hdr_len >= 26 ? hdr[25] : 0;
        snprintf(r.label, sizeof r.label, "%s",
                 type < sizeof control_names / sizeof control_names[0] ? control_names[type]
                                                                         : "control");
    }
    add_row(h, &r);
}

void scen_html_event(struct scen_html *h, uint64_t t_ns, uint32_t cid, const char *what)
{
    struct row r = {.t = t_ns, .kind = ROW_EVENT, .from = cid, .to = cid};
    snprintf(r.label, sizeof r.label, "%s", what);
    add_row(h, &r);
}

void scen_html_verdict(struct scen_html *h, uint64_t t_ns, const char *failure)
{
    struct row r = {.t = t_ns, .kind = failure ? ROW_FAIL : ROW_PASS};
    snprintf(r.label, sizeof r.label, "%s", failure ? failure : "PASS");
    add_row(h, &r);
}

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

static int lane_x(const struct scen_html *h, uint32_t cid)
{
    for (size_t i = 0; i < h->nlanes; i++)
        if (h->lanes[i].cid == cid)
            return LEFT + (int)i * LANE_W + LANE_W / 2;
    return -1;
}

static const char *row_class(enum row_kind k)
{
    switch (k) {
    case ROW_CONTROL: return "ctl";
    case ROW_DATA: return "data";
    case ROW_DGRAM: return "dgram";
    case ROW_EVENT: return "event";
    case ROW_FAIL: return "fail";
    default: return "pass";
    }
}

static void draw_row(FILE *f, const struct scen_html *h, const struct row *r, int y, int width)
{
    fprintf(f, "<g class=\"row %s\"><title>t=%llu.%09llu s</title>", row_class(r->kind),
            (unsigned long long)(r->t / 1000000000ull),
            (unsigned long long)(r->t % 1000000000ull));
    fprintf(f, "<text class=\"time\" x=\"4\" y=\"%d\">%llu.%09llu</text>", y + 4,
            (unsigned long long)(r->t / 1000000000ull),
            (unsigned long long)(r->t % 1000000000ull));
    if (r->kind == ROW_FAIL || r->kind == ROW_PASS) {
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", LEFT, y, width - 10, y);
        fprintf(f, "<text class=\"verdict\" x=\"%d\" y=\"%d\">", LEFT + 4, y - 3);
        esc(f, r->label);
        fputs("</text></g>\n", f);
        return;
    }
    int x1 = lane_x(h, r->from), x2 = lane_x(h, r->to);
    if (x1 < 0 || x2 < 0) {   /* a CID with no lane (e.g. the hypervisor): at the edge */
        x1 = x1 < 0 ? LEFT - 6 : x1;
        x2 = x2 < 0 ? LEFT - 6 : x2;
    }
    if (r->kind == ROW_EVENT) {
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\"/>",
                x1 - LANE_W / 2 + 6, y - ROW_H / 2 + 2, LANE_W - 12, ROW_H - 4);
        fprintf(f, "<text class=\"mid\" x=\"%d\" y=\"%d\">", x1, y + 4);
        esc(f, r->label);
        fputs("</text></g>\n", f);
        return;
    }
    if (x1 == x2) {   /* loopback: a small loop on the lane */
        fprintf(f, "<path d=\"M%d %d h24 v8 h-24\" marker-end=\"url(#arrow)\"/>", x1, y - 4);
    } else {
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" marker-end=\"url(#arrow)\"/>",
                x1, y, x2 + (x2 > x1 ? -4 : 4), y);
    }
    fprintf(f, "<text class=\"mid\" x=\"%d\" y=\"%d\">", (x1 + x2) / 2 + (x1 == x2 ? 30 : 0),
            y - 3);
    esc(f, r->label);
    fprintf(f, " %u&#8594;%u</text></g>\n", r->sport, r->dport);
}

int scen_html_write(struct scen_html *h, const char *path, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        scen_html_free(h);
        errno = e;
        return -1;
    }
    size_t tail = h->ntail < TAIL_ROWS ? h->ntail : TAIL_ROWS;
    size_t skipped = h->ntail > TAIL_ROWS ? h->ntail - TAIL_ROWS : 0;
    size_t shown = h->nrows + tail + (skipped ? 1 : 0);
    assert(shown <= MAX_ROWS + 1 && shown + skipped == h->total + (skipped ? 1 : 0));
    int width = LEFT + (int)h->nlanes * LANE_W + 20;
    int height = TOP + (int)shown * ROW_H + 30;
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    esc(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:16px;background:#fff;color:#222}\n"
          "h1{font-size:18px}\n"
          ".legend span{display:inline-block;margin-right:14px;font-size:13px}\n"
          "svg text{font-size:11px;font-family:monospace}\n"
          ".lane line{stroke:#bbb;stroke-dasharray:4 3}\n"
          ".lane text.name{font-weight:bold;font-size:13px;text-anchor:middle}\n"
          ".lane text.procs{text-anchor:middle;fill:#555}\n"
          ".time{fill:#777}\n"
          ".mid{text-anchor:middle}\n"
          ".ctl line,.ctl path{stroke:#1f5fbf;fill:none}\n"
          ".data line,.data path{stroke:#2a9d3a;fill:none;stroke-width:2}\n"
          ".dgram line,.dgram path{stroke:#c77c00;fill:none;stroke-dasharray:6 3}\n"
          ".event rect{fill:#f6e58d;stroke:#b59f00}\n"
          ".fail line{stroke:#d00;stroke-width:3}.fail text{fill:#d00;font-weight:bold}\n"
          ".pass line{stroke:#2a9d3a;stroke-width:2}.pass text{fill:#2a9d3a;font-weight:bold}\n"
          ".gap text{fill:#777;font-style:italic}\n"
          "</style></head><body>\n<h1>",
          f);
    esc(f, title);
    fprintf(f, "</h1>\n<p class=\"legend\"><span style=\"color:#1f5fbf\">&#9632; control "
               "packet</span><span style=\"color:#2a9d3a\">&#9632; stream data</span><span "
               "style=\"color:#c77c00\">&#9632; datagram</span><span style=\"color:#b59f00\">"
               "&#9632; lifecycle event</span><span style=\"color:#d00\">&#9632; failed "
               "expectation</span> &mdash; %zu events</p>\n",
            h->total);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", width,
            height);
    fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
          "markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\">"
          "<path d=\"M0 0L10 5L0 10z\" fill=\"#444\"/></marker></defs>\n",
          f);
    for (size_t i = 0; i < h->nlanes; i++) {
        int x = LEFT + (int)i * LANE_W + LANE_W / 2;
        fprintf(f, "<g class=\"lane\" data-cid=\"%u\"><text class=\"name\" x=\"%d\" y=\"20\">",
                h->lanes[i].cid, x);
        esc(f, h->lanes[i].name);
        fprintf(f, " (cid %u)</text><text class=\"procs\" x=\"%d\" y=\"38\">", h->lanes[i].cid,
                x);
        esc(f, h->lanes[i].procs);
        fprintf(f, "</text><line x1=\"%d\" y1=\"48\" x2=\"%d\" y2=\"%d\"/></g>\n", x, x,
                height - 10);
    }
    int y = TOP;
    for (size_t i = 0; i < h->nrows; i++, y += ROW_H)
        draw_row(f, h, &h->rows[i], y, width);
    if (skipped) {
        fprintf(f, "<g class=\"gap\"><text x=\"%d\" y=\"%d\">... %zu events not drawn ...</text>"
                   "</g>\n", LEFT + 4, y + 4, skipped);
        y += ROW_H;
    }
    for (size_t k = 0; k < tail; k++, y += ROW_H)
        draw_row(f, h, &h->tail[(h->ntail - tail + k) % TAIL_ROWS], y, width);
    fputs("</svg>\n</body></html>\n", f);
    int bad = ferror(f) | h->oom;
    if (fclose(f) != 0)
        bad = 1;
    scen_html_free(h);
    if (bad) {
        errno = EIO;
        return -1;
    }
    return 0;
}

void scen_html_free(struct scen_html *h)
{
    if (!h)
        return;
    free(h->lanes);
    free(h->rows);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
