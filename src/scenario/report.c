/*
 * report.c - a run's result as one line of text or one JSON Lines record. The seed and trace
 * hash are on every line, pass or fail, so any line can be replayed and checked.
 */
#include <stdio.h>
#include <string.h>

#include "scenario/scenario.h"

void scen_json_string(const char *s, char *buf, size_t n)
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
    /* A realtime run's trace is only counted: its hash would be that of an empty trace. */
    char hash[32];
    if (r->realtime)
        snprintf(hash, sizeof hash, "mode=realtime");
    else
        snprintf(hash, sizeof hash, "hash=%016llx", (unsigned long long)r->trace_hash);
    int k;
    if (r->status == SCEN_PASS)
        k = snprintf(buf, n, "PASS %s seed=%llu %s records=%llu time=%.9fs sched=%s", path,
                     (unsigned long long)r->seed, hash, (unsigned long long)r->trace_records,
                     (double)r->sim_ns / 1e9, r->sched[0] ? r->sched : "-");
    else
        k = snprintf(buf, n, "FAIL %s seed=%llu %s sched=%s %s | replay: %s", path,
                     (unsigned long long)r->seed, hash, r->sched[0] ? r->sched : "-", r->message,
                     replay ? replay : "");
    /* the swarm profile of the run, drawn from its seed */
    if (r->swarm[0] && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " | swarm: %s", r->swarm);
}

void scen_format_json(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n)
{
    char jsched[100], jpath[700], jwhere[700], jexp[560], jgot[560], jmsg[4200], jdet[4200], jrep[1400];
    char jswarm[1100];
    scen_json_string(path, jpath, sizeof jpath);
    scen_json_string(r->sched, jsched, sizeof jsched);
    scen_json_string(r->where, jwhere, sizeof jwhere);
    scen_json_string(r->expected, jexp, sizeof jexp);
    scen_json_string(r->got, jgot, sizeof jgot);
    scen_json_string(r->message, jmsg, sizeof jmsg);
    scen_json_string(r->detail, jdet, sizeof jdet);
    scen_json_string(replay ? replay : "", jrep, sizeof jrep);
    char jhash[24] = "null";   /* realtime: no hash (the trace is only counted) */
    if (!r->realtime)
        snprintf(jhash, sizeof jhash, "\"%016llx\"", (unsigned long long)r->trace_hash);
    snprintf(buf, n,
             "{\"result\":\"%s\",\"file\":%s,\"seed\":%llu,\"hash\":%s,"
             "\"sched\":%s,\"records\":%llu,\"sim_ns\":%llu,\"line\":%d,\"where\":%s,\"expected\":%s,"
             "\"got\":%s,\"message\":%s,\"detail\":%s,\"replay\":%s}",
             r->status == SCEN_PASS ? "pass" : "fail", jpath, (unsigned long long)r->seed,
             jhash, jsched, (unsigned long long)r->trace_records,
             (unsigned long long)r->sim_ns, r->line, jwhere, jexp, jgot, jmsg, jdet, jrep);
    /* the swarm profile only when there is one, so other records keep their shape */
    size_t k = strlen(buf);
    if (r->swarm[0] && k > 0 && k < n && buf[k - 1] == '}') {
        scen_json_string(r->swarm, jswarm, sizeof jswarm);
        snprintf(buf + k - 1, n - (k - 1), ",\"swarm\":%s}", jswarm);
    }
}
