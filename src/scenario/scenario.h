/*
 * scenario.h - the scenario engine as the `vmcisim run` command and the tests use it: parse a
 * scenario file (docs/scenarios.md), run it in one world with one seed, and report the result.
 */
#ifndef VMCISIM_SCENARIO_H
#define VMCISIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct scen_script;

/* Parse text (path is only used in messages). NULL on error, with err holding
 * "path:line:col: expected ..., got ...". */
struct scen_script *scen_parse(const char *path, const char *text, size_t len, char *err,
                               size_t errn);
/* Read and parse a file; an unreadable file gives "path: cannot read: <reason>". */
struct scen_script *scen_load(const char *path, char *err, size_t errn);
void scen_script_free(struct scen_script *s);

/* The `seeds A..B` line of a script (1..1 if it has none). */
void scen_default_seeds(const struct scen_script *s, uint64_t *lo, uint64_t *hi);
const char *scen_path(const struct scen_script *s);

struct scen_run_opts {
    uint64_t seed;
    int realtime;
    const char *trace_path;   /* readable trace file, or NULL */
    const char *pcap_path;    /* LINKTYPE_VSOCK capture file, or NULL */
};

enum scen_status { SCEN_PASS = 0, SCEN_FAIL = 1 };

/* Plain data (no pointers), so a forked worker can send it to its parent as bytes. */
struct scen_result {
    int status;               /* enum scen_status */
    uint64_t seed;
    uint64_t trace_hash;
    uint64_t trace_records;
    uint64_t sim_ns;          /* simulated time at the end */
    int line;                 /* line of the first failed expectation (0: none / not a line) */
    char where[320];          /* "path:line" of the failure, or the path */
    char expected[256];
    char got[256];
    char message[2048];       /* one line: "path:line: expected X, got Y" (more for deadlocks) */
    char detail[2048];        /* extra lines (e.g. a determinism divergence), may be empty */
};

/* Run the script once. Always fills res; returns res->status. */
int scen_run(const struct scen_script *s, const struct scen_run_opts *opts,
             struct scen_result *res);

/* Results as text: the one-line report and a JSON Lines record (both end without '\n'). */
void scen_format_line(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n);
void scen_format_json(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n);
/* JSON string escaping into buf (quotes included). */

#endif
