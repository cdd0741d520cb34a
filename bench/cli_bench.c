/*
 * cli_bench.c - `vmcisim bench`: parse the options, run the selected cases one after another
 * (never two at once: they would share the two cores), print the results.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_bench.h"
#include "output.h"
#include "plot.h"
#include "load.h"
#include "runner.h"

#define DEFAULT_RUNS 5
#define QUICK_RUNS 3
/* Seconds per measured run: the full run's figures steadier, --quick's sooner. */
#define FULL_RUN_SECONDS 0.25
#define QUICK_RUN_SECONDS 0.04

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vmcisim bench [--quick] [--json | --csv] [--filter WORD] [--runs N] [--list]\n"
            "                     [--html FILE]\n"
            "  --quick        3 runs per figure, each about 40 ms (whole suite well under 20 s)\n"
            "  --json         JSON Lines: one result object per line\n"
            "  --csv          CSV with a header line\n"
            "  --filter WORD  only cases whose name or transport contains WORD\n"
            "  --runs N       measured runs per figure (default 5; --quick: 3)\n"
            "  --list         print the case names and exit\n"
            "  --html FILE    also draw the results: throughput against write size and against\n"
            "                 queue size, with the baselines (one self-contained page)\n");
}

struct progress {
    int on;       /* stderr is a terminal */
    size_t index, total;
};

/* One status line on a terminal, rewritten in place; nothing at all when stderr is a file or a
 * pipe, so that logs and captured output stay clean. */
static void show_progress(void *ctx, const struct bench_case *bc, int run, int runs)
{
    struct progress *p = ctx;
    if (!p->on)
        return;
    if (run == 0)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s: calibrating", p->index + 1, p->total, bc->name);
    else
        fprintf(stderr, "\r\033[K[%zu/%zu] %s: run %d/%d", p->index + 1, p->total, bc->name, run,
                runs);
    fflush(stderr);
}

static int parse_runs(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

int cli_bench(int argc, char **argv)
{
    int quick = 0, runs = 0, list = 0;
    enum bench_format fmt = BENCH_FMT_TABLE;
    const char *filter = NULL, *html = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *why = NULL;
        if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--json") == 0 || strcmp(a, "--csv") == 0) {
            enum bench_format f = a[2] == 'j' ? BENCH_FMT_JSON : BENCH_FMT_CSV;
            if (fmt != BENCH_FMT_TABLE && fmt != f)
                why = "--json and --csv exclude each other";
            fmt = f;
        } else if (strcmp(a, "--filter") == 0) {
            if (i + 1 < argc)
                filter = argv[++i];
            else
                why = "--filter needs a WORD";
        } else if (strcmp(a, "--runs") == 0) {
            if (i + 1 >= argc || parse_runs(argv[++i], &runs) != 0)
                why = "--runs needs a number from 1 to 1000";
        } else if (strcmp(a, "--html") == 0) {
            if (i + 1 < argc && argv[i + 1][0])
                html = argv[++i];
            else
                why = "--html needs a FILE";
        } else if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vmcisim bench: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (why) {
            fprintf(stderr, "vmcisim bench: %s\n", why);
            usage(stderr);
            return 2;
        }
    }

    size_t total = 0;
    for (size_t i = 0; i < bench_case_count(); i++)
        total += bench_case_matches(bench_case_at(i), filter) != 0;
    if (total == 0) {
        fprintf(stderr, "vmcisim bench: no case matches '%s' (see --list)\n", filter);
        return 2;
    }
    if (list) {
        for (size_t i = 0; i < bench_case_count(); i++)
            if (bench_case_matches(bench_case_at(i), filter))
                printf("%s\n", bench_case_at(i)->name);
        return 0;
    }

    /* A transport whose peer went away must fail with EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);

    struct bench_result *res = calloc(total, sizeof *res);
    if (!res) {
        fprintf(stderr, "vmcisim bench: out of memory\n");
        return 1;
    }
    struct progress prog = {.on = isatty(STDERR_FILENO), .total = total};
    struct bench_opts opts = {
        .runs = runs ? runs : quick ? QUICK_RUNS : DEFAULT_RUNS,
        .run_seconds = quick ? QUICK_RUN_SECONDS : FULL_RUN_SECONDS,
        .progress = show_progress,
        .ctx = &prog,
    };
    int failed = 0;
    size_t n = 0;
    double load_before = bench_loadavg1();
    for (size_t i = 0; i < bench_case_count(); i++) {
        const struct bench_case *bc = bench_case_at(i);
        if (!bench_case_matches(bc, filter))
            continue;
        char err[256] = "";
        prog.index = n;
        if (bench_run_case(bc, &opts, &res[n], err, sizeof err) != 0) {
            if (prog.on)
                fprintf(stderr, "\r\033[K");
            fprintf(stderr, "vmcisim bench: %s: %s\n", bc->name, err[0] ? err : "failed");
            failed++;
        }
        n++;
    }
    if (prog.on)
        fprintf(stderr, "\r\033[K");
    bench_fill_ratios(res, n);
    bench_print(stdout, fmt, res, n);
    fflush(stdout);
    /* The machine's load, before and after (the latter includes this run's own threads), and a
     * warning when other processes took a noticeable share while the figures were taken: on a
     * shared machine ratios move in either direction (docs/benchmarks.md). */
    double load_after = bench_loadavg1();
    int loaded = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].ok && res[i].others_cpu > BENCH_LOADED_SHARE) {
            loaded++;
            if (res[i].others_cpu > worst)
                worst = res[i].others_cpu;
        }
    /* (JSON and CSV rows carry others_cpu and loaded themselves; stderr stays quiet) */
    FILE *note = stdout;
    if (fmt == BENCH_FMT_TABLE)
        fprintf(note, "\nload average (1 min): %.2f before, %.2f after (after counts this run)\n",
                load_before, load_after);
    if (loaded && fmt == BENCH_FMT_TABLE)
        fprintf(note, "%svmcisim bench: WARNING: the machine was loaded: other processes took "
                      "more than %.0f%% of its CPUs during %d of %zu cases (up to %.0f%%); "
                      "figures and ratios cannot be trusted\n",
                fmt == BENCH_FMT_TABLE ? "" : "", BENCH_LOADED_SHARE * 100, loaded, n,
                worst * 100);
    if (html && bench_write_html(html, res, n, load_before, load_after) != 0) {
        fprintf(stderr, "vmcisim bench: cannot write %s: %s\n", html, strerror(errno));
        failed++;
    }
    free(res);
    return failed ? 1 : 0;
}
