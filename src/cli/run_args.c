/*
 * run_args.c - the command line of `vmcisim run`: flags and their values checked whole (a
 * near-miss flag gets "did you mean" and the list of valid flags; an output path that cannot be
 * written is bad input, exit 2, found before any run), and parse errors reported as text or
 * JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run_opts.h"
#include "scenario/diag.h"
#include "scenario/scenario.h"
#include "sim/sim.h"
#include "vmcisim/vmcisim.h"

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: vmcisim run [--seed N | --seeds A..B] [--check-determinism] [--trace FILE]\n"
            "                   [--trace-filter vm=NAME,proc=NAME,event=KIND,-event=KIND]\n"
            "                   [--trace-payload[=N]]\n"
            "                   [--pcap FILE] [--html FILE] [--json] [--realtime] [-j N] [--shard K/N]\n"
            "                   [--expect-hash HEX] [--failures-only] [--sched random|pct:D]\n"
            "                   [--coverage] [--swarm] [--artifacts DIR] FILE...\n"
            "Runs scenario files (docs/scenarios.md); one line per file and seed on stdout\n"
            "(--failures-only: FAIL lines only), and a summary on stderr after a sweep.\n"
            "Exit status: 0 all passed, 1 some failed, 2 bad input.\n");
}

static int parse_u64(const char *s, uint64_t *out, int base)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int bad_flag(const char *fmt, const char *arg)
{
    fprintf(stderr, "vmcisim run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    run_usage(stderr);
    return 2;
}

/* Every flag of `vmcisim run`, for "did you mean" and the list shown with an unknown one. */
static const char *const run_flags[] = {
    "--seed", "--seeds", "--check-determinism", "--trace", "--trace-filter", "--trace-payload", "--pcap", "--html", "--json",
    "--failures-only", "--realtime", "--artifacts", "--jobs", "--shard", "--expect-hash", "--sched", "--help",
};

static int unknown_flag(const char *a)
{
    struct scen_suggest sg;
    scen_suggest_init(&sg, a, strlen(a));
    for (size_t i = 0; i < sizeof run_flags / sizeof run_flags[0]; i++)
        scen_suggest_offer(&sg, run_flags[i], strlen(run_flags[i]));
    fprintf(stderr, "vmcisim run: unknown option '%s'", a);
    if (sg.best)
        fprintf(stderr, "; did you mean '%.*s'?", (int)sg.best_len, sg.best);
    fprintf(stderr, "\nvalid options:");
    for (size_t i = 0; i < sizeof run_flags / sizeof run_flags[0]; i++)
        fprintf(stderr, " %s", run_flags[i]);
    fprintf(stderr, " -j\n");
    run_usage(stderr);
    return 2;
}

/* An output file that cannot be written is bad input, found before any run: its folder must
 * exist and be writable, and the name must not be a folder. */
static int check_output_path(const char *flag, const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "vmcisim run: %s '%s' is a folder, expected a file name\n", flag, path);
        return 2;
    }
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "vmcisim run: %s '%s' cannot be written: %s: %s\n", flag, path, dir,
                strerror(errno));
        return 2;
    }
    return 0;
}

int run_parse_args(int argc, char **argv, struct run_opts *o, char ***files, int *nfiles)
{
    *files = calloc((size_t)argc + 1, sizeof **files);
    *nfiles = 0;
    if (!*files)
        return 2;
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            (*files)[(*nfiles)++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(val, &u, 0) != 0)
                return bad_flag("--seed expects a number, got '%s'", val ? val : "nothing");
            o->have_seeds = 1;
            o->seed_lo = o->seed_hi = u;
            i++;
        } else if (strcmp(a, "--seeds") == 0) {
            const char *dots = val ? strstr(val, "..") : NULL;
            char lo[32];
            if (!dots || (size_t)(dots - val) >= sizeof lo)
                return bad_flag("--seeds expects A..B, got '%s'", val ? val : "nothing");
            memcpy(lo, val, (size_t)(dots - val));
            lo[dots - val] = 0;
            if (parse_u64(lo, &o->seed_lo, 0) != 0 || parse_u64(dots + 2, &o->seed_hi, 0) != 0 ||
                o->seed_hi < o->seed_lo)
                return bad_flag("--seeds expects A..B with A <= B, got '%s'", val);
            o->have_seeds = 1;
            i++;
        } else if (strcmp(a, "--check-determinism") == 0) {
            o->check_det = 1;
        } else if (strcmp(a, "--trace") == 0 || strcmp(a, "--pcap") == 0 ||
                   strcmp(a, "--html") == 0) {
            if (!val || !*val)
                return bad_flag("%s expects a file name", a);
            if (a[2] == 't')
                o->trace = val;
            else if (a[2] == 'p')
                o->pcap = val;
            else
                o->html = val;
            i++;
        } else if (strcmp(a, "--coverage") == 0) {
            o->coverage = 1;
        } else if (strcmp(a, "--swarm") == 0) {
            o->swarm = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--trace-filter") == 0) {
            if (!val || !*val)
                return bad_flag("%s expects terms such as vm=guest,-event=sched", a);
            struct trace_filter *tf;
            if (sim_trace_filter_parse(val, &tf) != 0)
                return bad_flag("--trace-filter expects comma-separated vm=NAME, proc=NAME, "
                                "event=KIND or -event=KIND, got '%s'", val);
            sim_trace_filter_free(tf);
            o->trace_filter = val;
            i++;
        } else if (strcmp(a, "--trace-payload") == 0) {
            o->trace_payload = 16;
        } else if (strncmp(a, "--trace-payload=", 16) == 0) {
            if (parse_u64(a + 16, &u, 10) != 0 || u < 1 || u > SIM_TRACE_PAYLOAD_MAX)
                return bad_flag("--trace-payload= expects a byte count in 1..256, got '%s'",
                                a + 16);
            o->trace_payload = (int)u;
        } else if (strcmp(a, "--failures-only") == 0) {
            o->failures_only = 1;
        } else if (strcmp(a, "--realtime") == 0) {
            o->realtime = 1;
        } else if (strcmp(a, "--artifacts") == 0) {
            if (!val || !*val)
                return bad_flag("%s", "--artifacts expects a directory");
            if (mkdir(val, 0755) != 0 && errno != EEXIST)
                return bad_flag("--artifacts: cannot make the directory '%s'", val);
            o->artifacts = val;
            i++;
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0 || strncmp(a, "-j", 2) == 0) {
            const char *v = a[1] == 'j' && a[2] ? a + 2 : val;
            if (parse_u64(v, &u, 10) != 0 || u < 1 || u > MAX_JOBS_PARALLEL)
                return bad_flag("-j expects a number of processes from 1 to 256, got '%s'",
                                v ? v : "nothing");
            o->jobs = (long)u;
            if (v == val)
                i++;
        } else if (strcmp(a, "--shard") == 0) {
            const char *slash = val ? strchr(val, '/') : NULL;
            char k[32];
            uint64_t kk, nn;
            if (!slash || (size_t)(slash - val) >= sizeof k)
                return bad_flag("--shard expects K/N, got '%s'", val ? val : "nothing");
            memcpy(k, val, (size_t)(slash - val));
            k[slash - val] = 0;
            if (parse_u64(k, &kk, 10) != 0 || parse_u64(slash + 1, &nn, 10) != 0 || nn < 1 ||
                kk < 1 || kk > nn || nn > 1000000)
                return bad_flag("--shard expects K/N with 1 <= K <= N, got '%s'", val);
            o->shard_k = (long)kk;
            o->shard_n = (long)nn;
            i++;
        } else if (strcmp(a, "--expect-hash") == 0) {
            if (parse_u64(val, &o->expect_hash, 16) != 0)
                return bad_flag("--expect-hash expects a hexadecimal hash, got '%s'",
                                val ? val : "nothing");
            o->have_expect_hash = 1;
            i++;
        } else if (strcmp(a, "--sched") == 0) {
            /* Checked by the library itself, so the CLI and VMCISIM_SCHED accept the same. */
            struct vmcisim_config cfg = {.trace_path = "", .sched = val ? val : "?"};
            vmcisim *w = val && *val ? vmcisim_create(&cfg) : NULL;
            if (!w)
                return bad_flag("--sched expects 'random' or 'pct:D' (D from 1 to 16), got '%s'",
                                val ? val : "nothing");
            vmcisim_destroy(w);
            o->sched = val;
            i++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            return -1;
        } else {
            return unknown_flag(a);
        }
    }
    if (*nfiles == 0)
        return bad_flag("%s", "no scenario file given");
    if (o->check_det && o->realtime)
        return bad_flag("%s", "--check-determinism needs deterministic mode (not --realtime)");
    if (check_output_path("--pcap", o->pcap) != 0 || check_output_path("--trace", o->trace) != 0 ||
        check_output_path("--html", o->html) != 0)
        return 2;
    return 0;
}

/* A parse error whole on stderr: the message, then the source line with a caret under the
 * column. With --json it is also a JSON line on stdout, so that a sweep's consumer sees it. */
void run_report_parse_error(const struct run_opts *o, const char *file,
                               const struct scen_diag *d)
{
    const char *msg = d->message ? d->message : "out of memory";
    fprintf(stderr, "%s\n", msg);
    if (d->excerpt)
        fprintf(stderr, "%s\n", d->excerpt);
    if (!o->json)
        return;
    size_t n = 6 * (strlen(msg) + strlen(file)) + 16;   /* \u00XX at worst */
    char *jm = malloc(n), *jf = malloc(n);
    if (jm && jf) {
        scen_json_string(msg, jm, n);
        scen_json_string(file, jf, n);
        printf("{\"status\":\"ERROR\",\"error\":\"parse\",\"file\":%s,\"line\":%d,"
               "\"col\":%d,\"message\":%s}\n", jf, d->line, d->col, jm);
        fflush(stdout);
    }
    free(jm);
    free(jf);
}
