/*
 * report.c - a run's result as one line of text or one JSON Lines record. The seed and trace
 * hash are on every line, pass or fail, so any line can be replayed and checked.
 */
#include <stdio.h>
#include <string.h>

#include "scenario.h"

static void scen_json_string(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    if (n < 3) {
        if (n)
            buf[0] = 0;
        return;
    }
    buf[k++] = '"';
    for (; *s && k + 8 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c == '\n') {
            buf[k++] = '\\';
            buf[k++] = 'n';
        } else if (c == '\t') {
            buf[k++] = '\\';
            buf[k++] = 't';
        } else if (c < 0x20 || c >= 0x7f) {
            k += (size_t)snprintf(buf + k, n - k, "\\u%04x", c);
        } else {
            buf[k++] = (char)c;
        }
    }
    buf[k++] = '"';
    buf[k] = 0;
}

void scen_format_line(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n)
{
    if (r->status == SCEN_PASS)
        snprintf(buf, n, "PASS %s seed=%llu hash=%016llx records=%llu time=%.9fs", path,
                 (unsigned long long)r->seed, (unsigned long long)r->trace_hash,
                 (unsigned long long)r->trace_records, (double)r->sim_ns / 1e9);
    else
        snprintf(buf, n, "FAIL %s seed=%llu hash=%016llx %s | replay: %s", path,
                 (unsigned long long)r->seed, (unsigned long long)r->trace_hash, r->message,
                 replay ? replay : "");
}

void scen_format_json(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n)
{
    char jpath[700], jwhere[700], jexp[560], jgot[560], jmsg[4200], jdet[4200], jrep[1400];
    scen_json_string(path, jpath, sizeof jpath);
    scen_json_string(r->where, jwhere, sizeof jwhere);
    scen_json_string(r->expected, jexp, sizeof jexp);
    scen_json_string(r->got, jgot, sizeof jgot);
    scen_json_string(r->message, jmsg, sizeof jmsg);
    scen_json_string(r->detail, jdet, sizeof jdet);
    scen_json_string(replay ? replay : "", jrep, sizeof jrep);
    snprintf(buf, n,
             "{\"result\":\"%s\",\"file\":%s,\"seed\":%llu,\"hash\":\"%016llx\","
             "\"records\":%llu,\"sim_ns\":%llu,\"line\":%d,\"where\":%s,\"expected\":%s,"
             "\"got\":%s,\"message\":%s,\"detail\":%s,\"replay\":%s}",
             r->status == SCEN_PASS ? "pass" : "fail", jpath, (unsigned long long)r->seed,
             (unsigned long long)r->trace_hash, (unsigned long long)r->trace_records,
             (unsigned long long)r->sim_ns, r->line, jwhere, jexp, jgot, jmsg, jdet, jrep);
}
