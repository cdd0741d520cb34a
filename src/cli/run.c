/*
 * run.c - `vmcisim run`: run scenario files over seeds and report one line per (file, seed).
 * Its command line is read by run_args.c.
 *
 *   vmcisim run [--seed N | --seeds A..B] [--check-determinism] [--trace FILE] [--pcap FILE]
 *               [--json] [--realtime] [-j N] [--shard K/N] [--expect-hash H]
 *               [--sched random|pct:D] FILE...
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
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_opts.h"
#include "cli/summary.h"
#include "scenario/diag.h"
#include "scenario/scenario.h"
#include "sim/sim.h"
#include "vmcisim/vmcisim.h"

struct job {
    size_t file;
    uint64_t seed;
    struct scen_result *res;  /* from the run until its line is printed (a sweep of 10^5 seeds
                                 must not hold 10^5 results) */
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
    struct sweep_summary sum;
    struct scen_covreport *cov;   /* --coverage: hits gathered as results are printed */
};

/* Ctrl-C ends a sweep early and still prints the summary of what ran. */
static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) { (void)sig; interrupted = 1; }
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
    if (j->res->trace_records && !j->res->realtime)   /* realtime runs are not replayable */
        snprintf(hash, sizeof hash, " --expect-hash %016llx", (unsigned long long)j->res->trace_hash);
    char sched[64] = "";
    if (!c->o.realtime && j->res->sched[0])
        snprintf(sched, sizeof sched, " --sched %s", j->res->sched);
    snprintf(out, n, "%s run --seed %llu%s%s%s%s%s %s", prog, (unsigned long long)j->seed,
             c->o.realtime ? " --realtime" : "", sched,
             c->o.check_det ? " --check-determinism" : "", c->o.swarm ? " --swarm" : "", hash,
             file);
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

/* The job's result record, allocated on first use; running out of memory here ends the
 * sweep (there is nothing to report a result into). */
static struct scen_result *job_result(struct job *j)
{
    if (!j->res && !(j->res = calloc(1, sizeof *j->res))) {
        fprintf(stderr, "vmcisim run: out of memory\n");
        exit(2);
    }
    return j->res;
}

/* Where a run's exec'd programs write stdout/stderr: under --artifacts DIR (kept), else a
 * temporary directory that is removed when the run passes. */
static void artifacts_dir(const struct cli_run *c, const struct job *j, char *out, size_t n)
{
    const char *base = scen_path(c->scripts[j->file]);
    const char *slash = strrchr(base, '/');
    base = slash ? slash + 1 : base;
    if (c->o.artifacts) {
        snprintf(out, n, "%s/%s.seed%llu", c->o.artifacts, base, (unsigned long long)j->seed);
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(out, n, "%s/vmcisim-exec-%ld-%s.seed%llu", t && *t ? t : "/tmp", (long)getpid(),
                 base, (unsigned long long)j->seed);
    }
}

/* After the run: name the output in a FAIL line; remove a temporary one of a run that passed. */
static void artifacts_done(const struct cli_run *c, const char *dir, struct scen_result *r)
{
    DIR *d = opendir(dir);
    if (!d)
        return; /* no exec'd program ran */
    if (r->status != SCEN_PASS) {
        size_t k = strlen(r->message);
        snprintf(r->message + k, sizeof r->message - k, " [programs' stdout/stderr: %s/]", dir);
    } else if (!c->o.artifacts) {
        struct dirent *e;
        char f[1400];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
                unlink(f);
            }
        rmdir(dir);
    }
    closedir(d);
}

static void run_job(const struct cli_run *c, struct job *j)
{
    job_result(j);
    const struct scen_script *sc = c->scripts[j->file];
    char trace[1024], pcap[1024];
    struct scen_run_opts ro = {.seed = j->seed,
                               .realtime = c->o.realtime || scen_wants_realtime(sc),
                               .sched = c->o.sched,
                               .swarm = c->o.swarm, .trace_filter = c->o.trace_filter,
                               .trace_payload = c->o.trace_payload};
    if (c->o.trace) {
        per_run_path(c, c->o.trace, j, trace, sizeof trace);
        ro.trace_path = trace;
    }
    if (c->o.pcap) {
        per_run_path(c, c->o.pcap, j, pcap, sizeof pcap);
        ro.pcap_path = pcap;
    }
    char html[1024];
    if (c->o.html) {
        per_run_path(c, c->o.html, j, html, sizeof html);
        ro.html_path = html;
    }
    char art[1024];
    artifacts_dir(c, j, art, sizeof art);
    ro.artifacts = art;
    if (!c->o.check_det) {
        scen_run(sc, &ro, j->res);
    } else {
        /* Twice, each with its readable trace in a file of its own, to show where they part. */
        char t1[512], t2[512];
        struct scen_result *second = malloc(sizeof *second);
        if (!second || temp_file(t1, sizeof t1) != 0 || temp_file(t2, sizeof t2) != 0) {
            free(second);
            scen_run(sc, &ro, j->res);
            snprintf(j->res->detail, sizeof j->res->detail,
                     "  (no temporary files: determinism not checked)");
            j->res->status = SCEN_FAIL;
            return;
        }
        struct scen_run_opts r1 = ro, r2 = ro;
        r1.trace_path = t1;
        r2.trace_path = t2;
        r2.pcap_path = NULL;
        r2.html_path = NULL;
        scen_run(sc, &r1, j->res);
        scen_run(sc, &r2, second);
        if (j->res->trace_hash != second->trace_hash || j->res->status != second->status) {
            char msg[sizeof j->res->message];
            snprintf(msg, sizeof msg,
                     "%s: expected the same run twice with seed %llu, got trace hashes %016llx "
                     "and %016llx",
                     scen_path(sc), (unsigned long long)j->seed,
                     (unsigned long long)j->res->trace_hash,
                     (unsigned long long)second->trace_hash);
            memcpy(j->res->message, msg, sizeof msg);
            snprintf(j->res->where, sizeof j->res->where, "%s", scen_path(sc));
            snprintf(j->res->expected, sizeof j->res->expected, "the same trace twice");
            snprintf(j->res->got, sizeof j->res->got, "%016llx then %016llx",
                     (unsigned long long)j->res->trace_hash, (unsigned long long)second->trace_hash);
            j->res->line = 0;
            j->res->status = SCEN_FAIL;
            first_divergence(t1, t2, j->res);
        }
        if (ro.trace_path && copy_file(t1, ro.trace_path) != 0)
            fprintf(stderr, "vmcisim run: cannot write the trace to %s\n", ro.trace_path);
        unlink(t1);
        unlink(t2);
        free(second);
    }
    artifacts_done(c, art, j->res);
    if (c->o.have_expect_hash && j->res->trace_hash != c->o.expect_hash) {
        char note[200];
        snprintf(note, sizeof note,
                 "expected trace hash %016llx, got %016llx (another build or scenario file, or "
                 "nondeterminism)",
                 (unsigned long long)c->o.expect_hash, (unsigned long long)j->res->trace_hash);
        if (j->res->status == SCEN_PASS) {
            j->res->status = SCEN_FAIL;
            snprintf(j->res->message, sizeof j->res->message, "%s: %s", scen_path(sc), note);
            snprintf(j->res->expected, sizeof j->res->expected, "trace hash %016llx",
                     (unsigned long long)c->o.expect_hash);
            snprintf(j->res->got, sizeof j->res->got, "%016llx",
                     (unsigned long long)j->res->trace_hash);
        } else {
            size_t l = strlen(j->res->detail);
            snprintf(j->res->detail + l, sizeof j->res->detail - l, "%s  %s", l ? "\n" : "", note);
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
    if (done > 0 && done < c->njobs) {
        double eta = t / (double)done * (double)(c->njobs - done);
        if (eta >= 3600)
            printf(", ETA %.0fh%02.0fm", eta / 3600, (eta - 3600 * (int)(eta / 3600)) / 60);
        else if (eta >= 60)
            printf(", ETA %.0fm%02.0fs", (double)(int)(eta / 60), eta - 60 * (int)(eta / 60));
        else
            printf(", ETA %.0fs", eta);
    }
    fflush(stdout);
    c->progress_shown = 1;
}

static void print_job(struct cli_run *c, struct job *j)
{
    char replay[1600];
    static char line[16384];
    const char *path = scen_path(c->scripts[j->file]);
    replay_command(c, j, replay, sizeof replay);
    clear_progress(c);
    int show = !(c->o.failures_only && j->res->status == SCEN_PASS);
    if (c->cov && scen_covreport_add(c->cov, j->res) != 0) {
        scen_covreport_free(c->cov);   /* out of memory: no report rather than a wrong one */
        c->cov = NULL;
    }
    summary_add(&c->sum, path, j->seed, j->res->status == SCEN_PASS, j->res->message, replay);
    if (!show) {
        /* only the summary counts it */
    } else if (c->o.json) {
        scen_format_json(j->res, path, j->res->status == SCEN_PASS ? NULL : replay, line,
                         sizeof line);
        puts(line);
    } else {
        scen_format_line(j->res, path, replay, line, sizeof line);
        puts(line);
        if (j->res->detail[0])
            puts(j->res->detail);
    }
    if (j->res->status != SCEN_PASS)
        c->failed++;
    fflush(stdout);
    free(j->res);
    j->res = NULL;
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
    if (w->got == sizeof *j->res && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    memset(j->res, 0, sizeof *j->res);
    j->res->status = SCEN_FAIL;
    j->res->seed = j->seed;
    const char *path = scen_path(c->scripts[j->file]);
    snprintf(j->res->where, sizeof j->res->where, "%s", path);
    snprintf(j->res->expected, sizeof j->res->expected, "the run to finish");
    if (WIFSIGNALED(status))
        snprintf(j->res->got, sizeof j->res->got, "its process killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(j->res->got, sizeof j->res->got, "its process exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    snprintf(j->res->message, sizeof j->res->message, "%s: expected %s, got %s", path,
             j->res->expected, j->res->got);
}

/* Worker i on the i-th CPU it may use (modulo their number): a deterministic world runs one
 * thread at a time, so one CPU per worker is all it needs, and workers that never share a CPU
 * never wait for each other (the library pins the world's threads to the worker's CPU). */
static void pin_worker(long i)
{
    cpu_set_t set, one;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2)
        return;
    long k = i % CPU_COUNT(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set) || k-- > 0)
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        sched_setaffinity(0, sizeof one, &one);
        return;
    }
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
        if (interrupted) {   /* Ctrl-C: the runs under way are dropped, not counted */
            for (long i = 0; i < n; i++)
                if (w[i].fd >= 0) {
                    kill(w[i].pid, SIGKILL);
                    close(w[i].fd);
                    while (waitpid(w[i].pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                    w[i].fd = -1;
                }
            break;
        }
        for (long i = 0; i < n && next_job < c->njobs; i++) {
            if (w[i].fd >= 0)
                continue;
            int p[2];
            job_result(&c->jobs[next_job]);   /* before fork: the parent reads into it */
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
                signal(SIGINT, SIG_DFL);
                pin_worker(i);
                struct job *j = &c->jobs[next_job];
                run_job(c, j);
                const char *b = (const char *)j->res;
                size_t left = sizeof *j->res;
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
            ssize_t k = read(w[i].fd, (char *)j->res + w[i].got, sizeof *j->res - w[i].got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k > 0) {
                w[i].got += (size_t)k;
                if (w[i].got < sizeof *j->res)
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
static void print_coverage(struct cli_run *c)
{
    if (c->cov)
        scen_covreport_print(c->cov, stdout);
    else
        fprintf(stderr, "vmcisim run: no memory for the coverage report\n");
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
    summary_init(&c.sum);
    c.o.jobs = 1;
    c.o.argv0 = prog && *prog ? prog : "vmcisim";
    char **files;
    int nfiles;
    int rc = run_parse_args(argc, argv, &c.o, &files, &nfiles);
    if (rc != 0) {
        free(files);
        return rc < 0 ? 0 : rc;
    }
    c.scripts = calloc((size_t)nfiles, sizeof *c.scripts);
    rc = c.scripts ? 0 : 2;
    /* Every file is read and parsed before anything runs: bad input costs no run time. */
    for (int i = 0; i < nfiles && c.scripts; i++) {
        struct scen_diag d;
        c.scripts[i] = scen_load_diag(files[i], &d);
        if (!c.scripts[i]) {
            run_report_parse_error(&c.o, files[i], &d);
            rc = 2;
        }
        char why[512];
        if (c.scripts[i] && !c.o.realtime && scen_needs_realtime(c.scripts[i], why, sizeof why)) {
            fprintf(stderr, "%s\n", why);   /* bad input: nothing runs */
            rc = 2;
        }
        scen_diag_free(&d);
        c.nscripts++;
    }
    if (rc == 0 && build_jobs(&c) != 0) {
        fprintf(stderr, "vmcisim run: too many runs\n");
        rc = 2;
    }
    if (rc == 0) {
        c.o.progress = isatty(STDOUT_FILENO) && !c.o.json;
        if (c.njobs > 1) {
            struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESTART};
            sigemptyset(&sa.sa_mask);
            interrupted = 0;
            sigaction(SIGINT, &sa, NULL);
        }
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
        if (c.o.coverage)
            c.cov = scen_covreport_new();
        if (c.njobs == 0)
            fprintf(stderr, "vmcisim run: no seeds in this shard\n");
        if (c.o.jobs > 1 && c.njobs > 1) {
            if (run_parallel(&c) != 0)
                c.o.jobs = 1;
        }
        for (size_t i = c.printed; i < c.njobs && !interrupted; i++) {
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
        /* The closing lines go to stderr: stdout stays one result per line for scripts. */
        if (c.njobs > 1 || interrupted)
            summary_print(&c.sum, stderr, elapsed(&c), c.njobs);
        if (interrupted)
            rc = 130;
    }
    summary_free(&c.sum);
    scen_covreport_free(c.cov);
    signal(SIGINT, SIG_DFL);
    for (size_t i = 0; i < c.nscripts; i++)
        scen_script_free(c.scripts[i]);
    free(c.scripts);
    for (size_t i = 0; i < c.njobs; i++)   /* results of runs an interrupt left unprinted */
        free(c.jobs[i].res);
    free(c.jobs);
    free(files);
    return rc;
}
