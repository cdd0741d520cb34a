/*
 * run.c - `vmcisim run`: run scenario files over seeds and report one line per (file, seed).
 *
 *   vmcisim run [--seed N | --seeds A..B] [--check-determinism] [--trace FILE] [--pcap FILE]
 *               [--json] [--realtime] [-j N] [--shard K/N] [--expect-hash H] FILE...
 *
 * Every line carries the seed and the trace hash; a FAIL line also carries the first failed
 * expectation and a command that replays exactly that run. Exit status: 0 all passed, 1 some
 * failed, 2 bad input (unreadable file, parse error, bad flag).
 *
 * With -j N, each run is a forked child that sends its result back through a pipe; results are
 * printed in (file, seed) order whatever order the children finish in, so the output of a sweep
 * does not depend on -j. The wall clock is read here only for the progress line, never inside a
 * run.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "scenario/scenario.h"

#define MAX_JOBS_PARALLEL 256

struct run_opts {
    int have_seeds;
    uint64_t seed_lo, seed_hi;
    int check_det;
    const char *trace;
    const char *pcap;
    int json;
    int realtime;
    long jobs;
    long shard_k, shard_n;
    int have_expect_hash;
    uint64_t expect_hash;
    const char *argv0;
    int progress;
    int coverage;           /* --coverage: the coverage report after the results */
    int swarm;              /* --swarm: a fault profile per seed (docs/finding-bugs.md) */
};

struct job {
    size_t file;
    uint64_t seed;
    struct scen_result res;
    int done;
};

struct cli_run {
    struct run_opts o;
    struct scen_script **scripts;
    size_t nscripts;
    struct job *jobs;
    size_t njobs;
    size_t printed;
    size_t failed;
    struct timespec t0;
    int progress_shown;
};

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: vmcisim run [--seed N | --seeds A..B] [--check-determinism] [--trace FILE]\n"
            "                   [--pcap FILE] [--json] [--realtime] [-j N] [--shard K/N]\n"
            "                   [--expect-hash HEX] [--coverage] [--swarm] FILE...\n"
            "Runs scenario files (docs/scenarios.md); one line per file and seed.\n"
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

static int parse_args(int argc, char **argv, struct run_opts *o, char ***files, int *nfiles)
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
        } else if (strcmp(a, "--trace") == 0 || strcmp(a, "--pcap") == 0) {
            if (!val || !*val)
                return bad_flag("%s expects a file name", a);
            if (a[2] == 't')
                o->trace = val;
            else
                o->pcap = val;
            i++;
        } else if (strcmp(a, "--coverage") == 0) {
            o->coverage = 1;
        } else if (strcmp(a, "--swarm") == 0) {
            o->swarm = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--realtime") == 0) {
            o->realtime = 1;
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
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            return -1;
        } else {
            return bad_flag("unknown option '%s'", a);
        }
    }
    if (*nfiles == 0)
        return bad_flag("%s", "no scenario file given");
    if (o->check_det && o->realtime)
        return bad_flag("%s", "--check-determinism needs deterministic mode (not --realtime)");
    return 0;
}

/* ---- naming per-run output files ------------------------------------------------------------- */

/* With one run, FILE itself; with several, FILE with ".<scenario>.<seed>" before its extension. */
static void per_run_path(const struct cli_run *c, const char *base, const struct job *j, char *out,
                         size_t n)
{
    if (c->njobs == 1 || strcmp(base, "-") == 0) {
        snprintf(out, n, "%s", base);
        return;
    }
    const char *sp = scen_path(c->scripts[j->file]);
    const char *slash = strrchr(sp, '/');
    char name[128];
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : sp);
    char *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = 0;
    const char *bslash = strrchr(base, '/');
    const char *ext = strrchr(bslash ? bslash + 1 : base, '.');
    if (ext && ext != (bslash ? bslash + 1 : base))
        snprintf(out, n, "%.*s.%s.%llu%s", (int)(ext - base), base, name,
                 (unsigned long long)j->seed, ext);
    else
        snprintf(out, n, "%s.%s.%llu", base, name, (unsigned long long)j->seed);
}

static void shell_quote(const char *s, char *out, size_t n)
{
    int plain = *s != 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:+,%@", *p))
            plain = 0;
    if (plain) {
        snprintf(out, n, "%s", s);
        return;
    }
    size_t k = 0;
    if (n < 3)
        return;
    out[k++] = '\'';
    for (; *s && k + 6 < n; s++) {
        if (*s == '\'') {
            memcpy(out + k, "'\\''", 4);
            k += 4;
        } else {
            out[k++] = *s;
        }
    }
    out[k++] = '\'';
    out[k] = 0;
}

static void replay_command(const struct cli_run *c, const struct job *j, char *out, size_t n)
{
    char prog[600], file[600];
    shell_quote(c->o.argv0, prog, sizeof prog);
    shell_quote(scen_path(c->scripts[j->file]), file, sizeof file);
    char hash[48] = "";
    /* a run whose worker died has no trace hash to pin */
    if (j->res.trace_records)
        snprintf(hash, sizeof hash, " --expect-hash %016llx", (unsigned long long)j->res.trace_hash);
    snprintf(out, n, "%s run --seed %llu%s%s%s%s %s", prog, (unsigned long long)j->seed,
             c->o.realtime ? " --realtime" : "", c->o.check_det ? " --check-determinism" : "",
             c->o.swarm ? " --swarm" : "", hash, file);
}

/* ---- determinism check ----------------------------------------------------------------------- */

static int temp_file(char *path, size_t n)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, n, "%s/vmcisim-trace-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Reads one line (without '\n') into buf; 0 at end of file. */
static int read_line(FILE *f, char *buf, size_t n)
{
    if (!fgets(buf, (int)n, f))
        return 0;
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '\n')
        buf[l - 1] = 0;
    else
        for (int ch; (ch = fgetc(f)) != EOF && ch != '\n';)
            ; /* an over-long record: the rest of it is not shown */
    return 1;
}

static void first_divergence(const char *p1, const char *p2, struct scen_result *r)
{
    FILE *a = fopen(p1, "r"), *b = fopen(p2, "r");
    char la[900], lb[900];
    unsigned long long rec = 0;
    if (!a || !b) {
        snprintf(r->detail, sizeof r->detail, "  (the traces could not be read back)");
    } else {
        for (;;) {
            rec++;
            int ga = read_line(a, la, sizeof la), gb = read_line(b, lb, sizeof lb);
            if (!ga && !gb) {
                snprintf(r->detail, sizeof r->detail,
                         "  the readable traces are equal; the results differ");
                break;
            }
            if (!ga || !gb || strcmp(la, lb) != 0) {
                snprintf(r->detail, sizeof r->detail, "  first divergence at trace record %llu:\n"
                                                      "  run 1: %s\n  run 2: %s",
                         rec, ga ? la : "(end of trace)", gb ? lb : "(end of trace)");
                break;
            }
        }
    }
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb");
    FILE *b = strcmp(to, "-") == 0 ? stderr : fopen(to, "wb");
    int rc = a && b ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n)
            rc = -1;
    if (a)
        fclose(a);
    if (b && b != stderr)
        fclose(b);
    return rc;
}

/* ---- one job --------------------------------------------------------------------------------- */

static void run_job(const struct cli_run *c, struct job *j)
{
    const struct scen_script *sc = c->scripts[j->file];
    char trace[1024], pcap[1024];
    struct scen_run_opts ro = {.seed = j->seed, .realtime = c->o.realtime, .swarm = c->o.swarm};
    if (c->o.trace) {
        per_run_path(c, c->o.trace, j, trace, sizeof trace);
        ro.trace_path = trace;
    }
    if (c->o.pcap) {
        per_run_path(c, c->o.pcap, j, pcap, sizeof pcap);
        ro.pcap_path = pcap;
    }
    if (!c->o.check_det) {
        scen_run(sc, &ro, &j->res);
    } else {
        /* Twice, each with its readable trace in a file of its own, to show where they part. */
        char t1[512], t2[512];
        struct scen_result *second = malloc(sizeof *second);
        if (!second || temp_file(t1, sizeof t1) != 0 || temp_file(t2, sizeof t2) != 0) {
            free(second);
            scen_run(sc, &ro, &j->res);
            snprintf(j->res.detail, sizeof j->res.detail,
                     "  (no temporary files: determinism not checked)");
            j->res.status = SCEN_FAIL;
            return;
        }
        struct scen_run_opts r1 = ro, r2 = ro;
        r1.trace_path = t1;
        r2.trace_path = t2;
        r2.pcap_path = NULL;
        scen_run(sc, &r1, &j->res);
        scen_run(sc, &r2, second);
        if (j->res.trace_hash != second->trace_hash || j->res.status != second->status) {
            char msg[sizeof j->res.message];
            snprintf(msg, sizeof msg,
                     "%s: expected the same run twice with seed %llu, got trace hashes %016llx "
                     "and %016llx",
                     scen_path(sc), (unsigned long long)j->seed,
                     (unsigned long long)j->res.trace_hash,
                     (unsigned long long)second->trace_hash);
            memcpy(j->res.message, msg, sizeof msg);
            snprintf(j->res.where, sizeof j->res.where, "%s", scen_path(sc));
            snprintf(j->res.expected, sizeof j->res.expected, "the same trace twice");
            snprintf(j->res.got, sizeof j->res.got, "%016llx then %016llx",
                     (unsigned long long)j->res.trace_hash, (unsigned long long)second->trace_hash);
            j->res.line = 0;
            j->res.status = SCEN_FAIL;
            first_divergence(t1, t2, &j->res);
        }
        if (ro.trace_path && copy_file(t1, ro.trace_path) != 0)
            fprintf(stderr, "vmcisim run: cannot write the trace to %s\n", ro.trace_path);
        unlink(t1);
        unlink(t2);
        free(second);
    }
    if (c->o.have_expect_hash && j->res.trace_hash != c->o.expect_hash) {
        char note[200];
        snprintf(note, sizeof note,
                 "expected trace hash %016llx, got %016llx (another build or scenario file, or "
                 "nondeterminism)",
                 (unsigned long long)c->o.expect_hash, (unsigned long long)j->res.trace_hash);
        if (j->res.status == SCEN_PASS) {
            j->res.status = SCEN_FAIL;
            snprintf(j->res.message, sizeof j->res.message, "%s: %s", scen_path(sc), note);
            snprintf(j->res.expected, sizeof j->res.expected, "trace hash %016llx",
                     (unsigned long long)c->o.expect_hash);
            snprintf(j->res.got, sizeof j->res.got, "%016llx",
                     (unsigned long long)j->res.trace_hash);
        } else {
            size_t l = strlen(j->res.detail);
            snprintf(j->res.detail + l, sizeof j->res.detail - l, "%s  %s", l ? "\n" : "", note);
        }
    }
}

/* ---- output ---------------------------------------------------------------------------------- */

static double elapsed(const struct cli_run *c)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - c->t0.tv_sec) + (double)(t.tv_nsec - c->t0.tv_nsec) / 1e9;
}

static void clear_progress(struct cli_run *c)
{
    if (c->progress_shown) {
        fputs("\r\033[K", stdout);
        c->progress_shown = 0;
    }
}

static void show_progress(struct cli_run *c)
{
    if (!c->o.progress || c->printed == c->njobs)
        return;
    double t = elapsed(c);
    if (t < 1.0)
        return;
    size_t done = 0;
    for (size_t i = 0; i < c->njobs; i++)
        done += c->jobs[i].done;
    clear_progress(c);
    printf("[%zu/%zu] %zu failed, %.1fs", done, c->njobs, c->failed, t);
    fflush(stdout);
    c->progress_shown = 1;
}

static void print_job(struct cli_run *c, const struct job *j)
{
    char replay[1600];
    static char line[16384];
    const char *path = scen_path(c->scripts[j->file]);
    replay_command(c, j, replay, sizeof replay);
    clear_progress(c);
    if (c->o.json) {
        scen_format_json(&j->res, path, j->res.status == SCEN_PASS ? NULL : replay, line,
                         sizeof line);
        puts(line);
    } else {
        scen_format_line(&j->res, path, replay, line, sizeof line);
        puts(line);
        if (j->res.detail[0])
            puts(j->res.detail);
    }
    if (j->res.status != SCEN_PASS)
        c->failed++;
    fflush(stdout);
}

/* Prints every finished job at the front of the queue, keeping (file, seed) order. */
static void print_ready(struct cli_run *c)
{
    while (c->printed < c->njobs && c->jobs[c->printed].done)
        print_job(c, &c->jobs[c->printed++]);
    show_progress(c);
}

/* ---- parallel runs --------------------------------------------------------------------------- */

struct worker {
    pid_t pid;
    int fd;
    size_t job;
    size_t got;
};

static void worker_died(struct cli_run *c, struct worker *w, int status)
{
    struct job *j = &c->jobs[w->job];
    if (w->got == sizeof j->res && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    memset(&j->res, 0, sizeof j->res);
    j->res.status = SCEN_FAIL;
    j->res.seed = j->seed;
    const char *path = scen_path(c->scripts[j->file]);
    snprintf(j->res.where, sizeof j->res.where, "%s", path);
    snprintf(j->res.expected, sizeof j->res.expected, "the run to finish");
    if (WIFSIGNALED(status))
        snprintf(j->res.got, sizeof j->res.got, "its process killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(j->res.got, sizeof j->res.got, "its process exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    snprintf(j->res.message, sizeof j->res.message, "%s: expected %s, got %s", path,
             j->res.expected, j->res.got);
}

static int run_parallel(struct cli_run *c)
{
    long n = c->o.jobs;
    struct worker *w = calloc((size_t)n, sizeof *w);
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    if (!w || !pfd) {
        free(w);
        free(pfd);
        return -1;
    }
    size_t next_job = 0, active = 0;
    for (long i = 0; i < n; i++)
        w[i].fd = -1;
    while (next_job < c->njobs || active > 0) {
        for (long i = 0; i < n && next_job < c->njobs; i++) {
            if (w[i].fd >= 0)
                continue;
            int p[2];
            if (pipe(p) != 0)
                break;
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid < 0) {
                close(p[0]);
                close(p[1]);
                break;
            }
            if (pid == 0) {
                close(p[0]);
                struct job *j = &c->jobs[next_job];
                run_job(c, j);
                const char *b = (const char *)&j->res;
                size_t left = sizeof j->res;
                while (left > 0) {
                    ssize_t k = write(p[1], b, left);
                    if (k < 0 && errno == EINTR)
                        continue;
                    if (k <= 0)
                        _exit(3);
                    b += k;
                    left -= (size_t)k;
                }
                _exit(0);
            }
            close(p[1]);
            w[i] = (struct worker){.pid = pid, .fd = p[0], .job = next_job++, .got = 0};
            active++;
        }
        if (active == 0) { /* could not start any worker: run the next job here */
            run_job(c, &c->jobs[next_job]);
            c->jobs[next_job++].done = 1;
            print_ready(c);
            continue;
        }
        for (long i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = w[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, c->o.progress ? 250 : -1) < 0 && errno != EINTR)
            break;
        for (long i = 0; i < n; i++) {
            if (w[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct job *j = &c->jobs[w[i].job];
            ssize_t k = read(w[i].fd, (char *)&j->res + w[i].got, sizeof j->res - w[i].got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k > 0) {
                w[i].got += (size_t)k;
                if (w[i].got < sizeof j->res)
                    continue;
            }
            int status = 0;
            close(w[i].fd);
            while (waitpid(w[i].pid, &status, 0) < 0 && errno == EINTR)
                ;
            worker_died(c, &w[i], status);
            j->done = 1;
            w[i].fd = -1;
            active--;
        }
        print_ready(c);
    }
    free(w);
    free(pfd);
    return 0;
}

/* Every coverage point of the sweep, with its hits across the runs (docs/finding-bugs.md). */
static void print_coverage(const struct cli_run *c)
{
    struct scen_covreport *r = scen_covreport_new();
    for (size_t i = 0; r && i < c->njobs; i++)
        if (scen_covreport_add(r, &c->jobs[i].res) != 0)
            break;
    if (r)
        scen_covreport_print(r, stdout);
    scen_covreport_free(r);
}

/* ---- the command ----------------------------------------------------------------------------- */

static int build_jobs(struct cli_run *c)
{
    size_t cap = 0;
    for (size_t f = 0; f < c->nscripts; f++) {
        uint64_t lo, hi;
        if (c->o.have_seeds) {
            lo = c->o.seed_lo;
            hi = c->o.seed_hi;
        } else {
            scen_default_seeds(c->scripts[f], &lo, &hi);
        }
        if (c->o.shard_n) {
            /* contiguous slices: slice K of N is [lo + cnt*(K-1)/N, lo + cnt*K/N) */
            unsigned __int128 cnt = (unsigned __int128)(hi - lo) + 1;
            uint64_t k = (uint64_t)c->o.shard_k, n = (uint64_t)c->o.shard_n;
            uint64_t a = lo + (uint64_t)(cnt * (k - 1) / n);
            uint64_t b = lo + (uint64_t)(cnt * k / n);
            if (a == b)
                continue;
            lo = a;
            hi = b - 1;
        }
        for (uint64_t s = lo;; s++) {
            if (c->njobs == cap) {
                cap = cap ? cap * 2 : 64;
                if (cap > (1u << 26))
                    return -1;
                struct job *nj = realloc(c->jobs, cap * sizeof *nj);
                if (!nj)
                    return -1;
                c->jobs = nj;
            }
            memset(&c->jobs[c->njobs], 0, sizeof c->jobs[0]);
            c->jobs[c->njobs].file = f;
            c->jobs[c->njobs].seed = s;
            c->njobs++;
            if (s == hi)
                break;
        }
    }
    return 0;
}

int cli_run(int argc, char **argv, const char *prog)
{
    struct cli_run c;
    memset(&c, 0, sizeof c);
    c.o.jobs = 1;
    c.o.argv0 = prog && *prog ? prog : "vmcisim";
    char **files;
    int nfiles;
    int rc = parse_args(argc, argv, &c.o, &files, &nfiles);
    if (rc != 0) {
        free(files);
        return rc < 0 ? 0 : rc;
    }
    c.scripts = calloc((size_t)nfiles, sizeof *c.scripts);
    rc = c.scripts ? 0 : 2;
    /* Every file is read and parsed before anything runs: bad input costs no run time. */
    for (int i = 0; i < nfiles && c.scripts; i++) {
        char err[1024];
        c.scripts[i] = scen_load(files[i], err, sizeof err);
        if (!c.scripts[i]) {
            fprintf(stderr, "%s\n", err);
            rc = 2;
        }
        c.nscripts++;
    }
    if (rc == 0 && build_jobs(&c) != 0) {
        fprintf(stderr, "vmcisim run: too many runs\n");
        rc = 2;
    }
    if (rc == 0) {
        c.o.progress = isatty(STDOUT_FILENO) && !c.o.json;
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
        if (c.njobs == 0)
            fprintf(stderr, "vmcisim run: no seeds in this shard\n");
        if (c.o.jobs > 1 && c.njobs > 1) {
            if (run_parallel(&c) != 0)
                c.o.jobs = 1;
        }
        for (size_t i = c.printed; i < c.njobs; i++) {
            if (!c.jobs[i].done) {
                run_job(&c, &c.jobs[i]);
                c.jobs[i].done = 1;
            }
            print_ready(&c);
        }
        clear_progress(&c);
        if (c.o.coverage)
            print_coverage(&c);
        fflush(stdout);
        rc = c.failed ? 1 : 0;
    }
    for (size_t i = 0; i < c.nscripts; i++)
        scen_script_free(c.scripts[i]);
    free(c.scripts);
    free(c.jobs);
    free(files);
    return rc;
}
