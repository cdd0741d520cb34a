/*
 * scenario.h - the scenario engine as the `vmcisim run` command and the tests use it: parse a
 * scenario file (docs/scenarios.md), run it in one world with one seed, and report the result.
 */
#ifndef VMCISIM_SCENARIO_H
#define VMCISIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmcisim/vmcisim.h"

struct scen_script;

/* Parse text (path is only used in messages). NULL on error, with err holding
 * "path:line:col: expected ..., got ...". */
struct scen_script *scen_parse(const char *path, const char *text, size_t len, char *err,
                               size_t errn);
/* Read and parse a file; an unreadable file gives "path: cannot read: <reason>". */
struct scen_script *scen_load(const char *path, char *err, size_t errn);
void scen_script_free(struct scen_script *s);

/* A parse error whole: the message ("path:line:col: expected ..., got ...", with "did you
 * mean" for a near miss; never cut), and the source line with a caret under the column
 * (NULL when the error has no position, e.g. an unreadable file). */
struct scen_diag {
    char *message;
    char *excerpt;
    int line, col;
};
/* scen_load that reports into d (free it with scen_diag_free, also after success). */
struct scen_script *scen_load_diag(const char *path, struct scen_diag *d);
void scen_diag_free(struct scen_diag *d);

/* The `seeds A..B` line of a script (1..1 if it has none). */
void scen_default_seeds(const struct scen_script *s, uint64_t *lo, uint64_t *hi);
/* 1 if the file asks for realtime mode (a `realtime` line). */
int scen_wants_realtime(const struct scen_script *s);
const char *scen_path(const struct scen_script *s);

struct scen_run_opts {
    uint64_t seed;
    int realtime;
    const char *trace_path;   /* readable trace file, or NULL */
    const char *pcap_path;    /* LINKTYPE_VSOCK capture file, or NULL */
    const char *html_path;    /* the run as a sequence diagram (self-contained HTML), or NULL */
    const char *trace_filter; /* what the readable trace shows (vmcisim_config.trace_filter) */
    int trace_payload;        /* payload bytes data records show (vmcisim_config.trace_payload) */
    const char *sched;        /* deterministic scheduler ("random", "pct:3"); NULL: default */
    int swarm;                /* draw a fault profile from the seed (docs/finding-bugs.md) */
    /* vmcisim serve (docs/bridge.md): runs until serve_stop_fd is readable, or with
     * serve_until_done also once the file's processes have ended */
    int serve;
    int serve_until_done;
    int serve_stop_fd;
    const char *control_path; /* the control socket (vmcisim ctl), or NULL */
    FILE *announce;           /* once listening: "bridge VM PATH" and "control PATH" lines */
    const char *artifacts;    /* exec: directory for programs' stdout/stderr, or NULL */
};

/* A script that can only run in realtime mode (a `bridge` line): 1 and why, as
 * "path:line:col: ..."; 0 otherwise. */
int scen_needs_realtime(const struct scen_script *s, char *why, size_t n);

enum scen_status { SCEN_PASS = 0, SCEN_FAIL = 1 };

#define SCEN_COV_MAX 64

/* Plain data (no pointers), so a forked worker can send it to its parent as bytes. */
struct scen_result {
    int status;               /* enum scen_status */
    uint64_t seed;
    uint64_t trace_hash;
    uint64_t trace_records;
    uint64_t sim_ns;          /* simulated time at the end */
    int realtime;             /* a realtime run: its trace is counted, not hashed */
    int interrupted;          /* vmcisim serve stopped by a signal: no checks were judged */
    char sched[40];           /* the scheduler the run used, as vmcisim_sched_name gives it */
    int line;                 /* line of the first failed expectation (0: none / not a line) */
    char where[320];          /* "path:line" of the failure, or the path */
    char expected[256];
    char got[256];
    char message[2048];       /* one line: "path:line: expected X, got Y" (more for deadlocks) */
    char detail[2048];        /* extra lines (e.g. a determinism divergence), may be empty */
    char swarm[512];          /* --swarm: the profile drawn, as scenario text ("" without) */
    /* coverage points of the run (the stack's, the program's, `check always/sometimes`) */
    size_t ncov;
    struct vmcisim_cov_point cov[SCEN_COV_MAX];
};

/* Run the script once. Always fills res; returns res->status. */
int scen_run(const struct scen_script *s, const struct scen_run_opts *opts,
             struct scen_result *res);

/* Results as text: the one-line report and a JSON Lines record (both end without '\n'). */
void scen_format_line(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n);
/* JSON string escaping into buf (quotes included). */
void scen_json_string(const char *s, char *buf, size_t n);
void scen_format_json(const struct scen_result *r, const char *path, const char *replay,
                      char *buf, size_t n);
/* The coverage report of a sweep (covreport.c): add each run's result in order, then print. */
struct scen_covreport;
struct scen_covreport *scen_covreport_new(void);
int scen_covreport_add(struct scen_covreport *r, const struct scen_result *res);
size_t scen_covreport_never_hit(const struct scen_covreport *r);   /* sometimes + reachable */
void scen_covreport_print(const struct scen_covreport *r, FILE *f);
void scen_covreport_free(struct scen_covreport *r);

/* JSON string escaping into buf (quotes included). */

#endif
