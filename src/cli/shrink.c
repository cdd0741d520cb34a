/*
 * shrink.c - `vmcisim shrink --seed N [--swarm] FILE [-o OUT]` (issue 15 item 3,
 * docs/finding-bugs.md): reduce a failing run to the few faults that matter.
 *
 *   1. faults: the file's top-level `faults`, `at` and `on` lines, and with --swarm the drawn
 *      profile written out as such lines, are cut down with delta debugging (Zeller and
 *      Hildebrandt's ddmin, TSE 2002) to a 1-minimal set that still fails the same expectation
 *      (same line, same "expected ..."), with the same seed;
 *   2. knob values: each number of a fault knob left in the file (dgram-drop 50%, dgram-delay
 *      1ms..2ms, hv-latency, clog durations) is set to its minimum, or else halved toward it,
 *      while the run still fails the same way;
 *   3. schedule: with --sched pct:D, the smallest scheduler that still fails the same way, in
 *      the order random, pct:1, ..., pct:D-1 (random first: it needs no --sched to replay);
 *   4. workload: the built-in programs' sizes, counts and durations (bytes, count, interval,
 *      ...) the same way as the knobs, then every `repeat N` halved.
 * A line taken out is commented out ("#shrunk: ..."), not deleted, so line numbers - and with
 * them the failure message - stay the same. The result is a scenario file that fails when run
 * with the replay line printed beside it.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "scenario/scenario.h"
#include "vmcisim/vmcisim.h"

struct shrink {
    const char *path;
    uint64_t seed;
    int swarm;
    const char *sched;      /* --sched as given (NULL: the default), then as shrunk */
    char sched_buf[40];
    char **lines;           /* the file's lines (without '\n'), then the swarm's */
    size_t nlines;
    int *off;               /* 1: commented out */
    char where[320], expected[256];
    unsigned long runs;
    struct scen_result res; /* of the last run */
};

static char *join(const struct shrink *s, const int *off)
{
    size_t n = 1;
    for (size_t i = 0; i < s->nlines; i++)
        n += strlen(s->lines[i]) + 10;
    char *t = malloc(n), *p = t;
    if (!t)
        return NULL;
    for (size_t i = 0; i < s->nlines; i++)
        p += sprintf(p, "%s%s\n", off[i] ? "#shrunk: " : "", s->lines[i]);
    return t;
}

/* 1 if the text fails the same expectation with the seed. */
static int fails_same(struct shrink *s, const int *off)
{
    char *text = join(s, off);
    if (!text)
        return 0;
    char err[1024];
    struct scen_script *sc = scen_parse(s->path, text, strlen(text), err, sizeof err);
    free(text);
    if (!sc)
        return 0; /* e.g. an event only a removed line marked */
    struct scen_run_opts o = {.seed = s->seed, .swarm = s->swarm, .sched = s->sched};
    s->runs++;
    int rc = scen_run(sc, &o, &s->res);
    scen_script_free(sc);
    return rc == SCEN_FAIL && strcmp(s->res.where, s->where) == 0 &&
           strcmp(s->res.expected, s->expected) == 0;
}

static const char *first_word(const char *l, size_t *len)
{
    while (*l == ' ' || *l == '\t')
        l++;
    size_t n = 0;
    while (l[n] && l[n] != ' ' && l[n] != '\t' && l[n] != '#')
        n++;
    *len = n;
    return l;
}

static int is_word(const char *l, const char *w)
{
    size_t n;
    const char *f = first_word(l, &n);
    return n == strlen(w) && strncmp(f, w, n) == 0;
}

/* ddmin over the candidate lines: keeps a 1-minimal subset that still fails the same way. */
static void ddmin(struct shrink *s, size_t *cand, size_t nc)
{
    int *off = malloc(s->nlines * sizeof *off);
    int *keep = malloc(nc * sizeof *keep);
    if (!off || !keep)
        goto out;
    for (size_t i = 0; i < nc; i++)
        keep[i] = 1;
    size_t gran = 2;
    for (;;) {
        size_t live = 0;
        for (size_t i = 0; i < nc; i++)
            live += keep[i];
        if (live == 0)
            break;
        if (gran > live)
            gran = live;
        int reduced = 0;
        /* try removing each of `gran` chunks of the live candidates (complements first:
         * the common case is that few lines matter) */
        for (size_t c = 0; c < gran && !reduced; c++) {
            size_t lo = live * c / gran, hi = live * (c + 1) / gran, k = 0;
            memcpy(off, s->off, s->nlines * sizeof *off);
            for (size_t i = 0; i < nc; i++)
                if (keep[i]) {
                    if (k >= lo && k < hi)
                        off[cand[i]] = 1;
                    k++;
                }
            if (fails_same(s, off)) {
                memcpy(s->off, off, s->nlines * sizeof *off);
                k = 0;
                for (size_t i = 0; i < nc; i++)
                    if (keep[i]) {
                        if (k >= lo && k < hi)
                            keep[i] = 0;
                        k++;
                    }
                reduced = 1;
                gran = gran > 2 ? gran - 1 : 2;
            }
        }
        if (reduced)
            continue;
        if (gran >= live)
            break; /* every single line is needed: 1-minimal */
        gran = gran * 2 < live ? gran * 2 : live;
    }
out:
    free(off);
    free(keep);
}

/* ddmin's result is 1-minimal, but removing one fault also changes the seeded schedule, so the
 * first failing expectation can move to another process: a local minimum. Subsets of one and
 * two of the lines it kept often fail the same way too; the first such subset wins. */
static void try_small_subsets(struct shrink *s, const size_t *cand, size_t nc)
{
    size_t kept[64], nk = 0;
    for (size_t i = 0; i < nc && nk < 64; i++)
        if (!s->off[cand[i]])
            kept[nk++] = cand[i];
    if (nk <= 2)
        return;
    int *off = malloc(s->nlines * sizeof *off);
    if (!off)
        return;
    for (size_t size = 1; size <= 2; size++)
        for (size_t a = 0; a < nk; a++)
            for (size_t b = size == 1 ? a : a + 1; b < nk; b++) {
                memcpy(off, s->off, s->nlines * sizeof *off);
                for (size_t k = 0; k < nk; k++)
                    off[kept[k]] = !(k == a || k == b);
                if (fails_same(s, off)) {
                    memcpy(s->off, off, s->nlines * sizeof *off);
                    free(off);
                    return;
                }
                if (size == 1)
                    break;
            }
    free(off);
}

/* Halve each `repeat N` while the run still fails the same way. */
static unsigned long shrink_repeats(struct shrink *s)
{
    unsigned long cut = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        if (s->off[i] || !is_word(s->lines[i], "repeat"))
            continue;
        size_t n;
        const char *f = first_word(s->lines[i], &n);
        char *end;
        unsigned long long count = strtoull(f + n, &end, 10);
        size_t indent = (size_t)(f - s->lines[i]);
        while (count > 1) {
            unsigned long long half = count / 2;
            char *nl = malloc(indent + 64 + strlen(end));
            if (!nl)
                break;
            sprintf(nl, "%.*srepeat %llu%s", (int)indent, s->lines[i], half, end);
            char *old = s->lines[i];
            s->lines[i] = nl;
            if (!fails_same(s, s->off)) {
                s->lines[i] = old;
                free(nl);
                break;
            }
            free(old);
            f = first_word(s->lines[i], &n);
            strtoull(f + n, &end, 10);
            count = half;
            cut++;
        }
    }
    return cut;
}

/* ---- knob values ---------------------------------------------------------------------------- */

enum knob_kind { KNOB_DURATION, KNOB_PROB, KNOB_COUNT, KNOB_SIZE };

/* A numeric knob: the word before its value (`skip` words between, as `clog VM D`), and whether
 * it is a fault (pass 2) or the workload of a built-in program (pass 4). The grammar is in
 * docs/scenarios.md §2 (knobs, clog) and §5 (the built-in programs' parameters). */
static const struct knob {
    const char *word;
    enum knob_kind kind;
    int skip;
    int fault;
} knobs[] = {
    {"dgram-delay", KNOB_DURATION, 0, 1}, {"hv-latency", KNOB_DURATION, 0, 1},
    {"dgram-drop", KNOB_PROB, 0, 1},      {"dgram-duplicate", KNOB_PROB, 0, 1},
    {"dgram-reorder", KNOB_PROB, 0, 1},   {"qp-alloc-fail", KNOB_PROB, 0, 1},
    {"clog", KNOB_DURATION, 1, 1},        {"bytes", KNOB_SIZE, 0, 0},
    {"chunk", KNOB_SIZE, 0, 0},           {"size", KNOB_SIZE, 0, 0},
    {"buffer", KNOB_SIZE, 0, 0},          {"reply", KNOB_SIZE, 0, 0},
    {"connections", KNOB_COUNT, 0, 0},    {"requests", KNOB_COUNT, 0, 0},
    {"count", KNOB_COUNT, 0, 0},          {"interval", KNOB_DURATION, 0, 0},
    {"hold", KNOB_DURATION, 0, 0},
};
/* Not `timeout`: a shorter timeout makes a run fail more, not more simply (a ping check would
 * then fail for late replies, not for the loss it found). */

/* The smallest value each kind may take: nothing for durations and probabilities, one for
 * counts and sizes (a source of 0 bytes or 0 pings tests nothing). */
static double knob_min(enum knob_kind k)
{
    return k == KNOB_COUNT || k == KNOB_SIZE ? 1 : 0;
}

/* A value word in one line: where it starts and how long it is. */
struct knob_at {
    size_t start, len;
    enum knob_kind kind;
};

/* The words of a line up to its comment: start offsets and lengths. */
static size_t split_words(const char *l, size_t *st, size_t *ln, size_t max)
{
    size_t n = 0, i = 0;
    while (l[i] && l[i] != '#' && n < max) {
        while (l[i] == ' ' || l[i] == '\t')
            i++;
        if (!l[i] || l[i] == '#')
            break;
        st[n] = i;
        while (l[i] && l[i] != ' ' && l[i] != '\t' && l[i] != '#')
            i++;
        ln[n] = i - st[n];
        n++;
    }
    return n;
}

/* The value words of knobs of the pass (fault or not) in line l, in order; a range `A..B` (one
 * word, or three) gives two. Returns how many, at most max. */
static size_t find_knob_values(const char *l, int fault, struct knob_at *out, size_t max)
{
    size_t st[64], ln[64];
    size_t nw = split_words(l, st, ln, 64), n = 0;
    for (size_t w = 0; w < nw && n < max; w++) {
        const struct knob *k = NULL;
        for (size_t j = 0; j < sizeof knobs / sizeof knobs[0]; j++)
            if (knobs[j].fault == fault && ln[w] == strlen(knobs[j].word) &&
                strncmp(l + st[w], knobs[j].word, ln[w]) == 0)
                k = &knobs[j];
        size_t v = w + 1 + (k ? (size_t)k->skip : 0);
        if (!k || v >= nw || !(l[st[v]] >= '0' && l[st[v]] <= '9'))
            continue;
        const char *dots = memmem(l + st[v], ln[v], "..", 2);
        if (dots) { /* A..B in one word */
            size_t a = (size_t)(dots - l) - st[v];
            out[n++] = (struct knob_at){st[v], a, k->kind};
            if (n < max && a + 2 < ln[v])
                out[n++] = (struct knob_at){st[v] + a + 2, ln[v] - a - 2, k->kind};
        } else {
            out[n++] = (struct knob_at){st[v], ln[v], k->kind};
            if (v + 2 < nw && ln[v + 1] == 2 && strncmp(l + st[v + 1], "..", 2) == 0 && n < max)
                out[n++] = (struct knob_at){st[v + 2], ln[v + 2], k->kind};
        }
        w = v;
    }
    return n;
}

/* A value word as a number of the kind's base unit (ns, bytes, 1, probability); *pct set when
 * it is written as a percentage. -1 when it is not a value this pass can write back. */
static double knob_parse(const char *w, size_t len, enum knob_kind kind, int *pct)
{
    char buf[48];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, w, len);
    buf[len] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || v < 0)
        return -1;
    *pct = 0;
    static const struct {
        enum knob_kind kind;
        const char *unit;
        double mul;
    } units[] = {{KNOB_DURATION, "", 0},     {KNOB_DURATION, "ns", 1},
                 {KNOB_DURATION, "us", 1e3}, {KNOB_DURATION, "ms", 1e6},
                 {KNOB_DURATION, "s", 1e9},  {KNOB_PROB, "", 1},
                 {KNOB_PROB, "%", 0.01},     {KNOB_COUNT, "", 1},
                 {KNOB_SIZE, "", 1},         {KNOB_SIZE, "B", 1},
                 {KNOB_SIZE, "KiB", 1024.0}, {KNOB_SIZE, "MiB", 1048576.0},
                 {KNOB_SIZE, "GiB", 1073741824.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (units[i].kind == kind && strcmp(end, units[i].unit) == 0) {
            if (kind == KNOB_DURATION && !*end && v != 0)
                return -1; /* a bare duration must be 0 */
            *pct = strcmp(end, "%") == 0;
            return v * units[i].mul;
        }
    return -1;
}

/* A value written back exactly: whole nanoseconds and bytes in the largest unit that divides
 * them, probabilities as they were written (percent or fraction). */
static void knob_format(double v, enum knob_kind kind, int pct, char *out, size_t n)
{
    static const struct {
        const char *unit;
        unsigned long long mul;
    } dur[] = {{"s", 1000000000ull}, {"ms", 1000000ull}, {"us", 1000ull}, {"ns", 1}},
      size[] = {{"GiB", 1073741824ull}, {"MiB", 1048576ull}, {"KiB", 1024ull}, {"", 1}};
    unsigned long long u = (unsigned long long)v;
    if (kind == KNOB_PROB) {
        snprintf(out, n, pct ? "%.10g%%" : "%.10g", pct ? v * 100 : v);
    } else if (kind == KNOB_COUNT || u == 0) {
        snprintf(out, n, "%llu", u);
    } else {
        const __typeof__(dur[0]) *t = kind == KNOB_DURATION ? dur : size;
        size_t i = 0;
        while (u % t[i].mul != 0)
            i++;
        snprintf(out, n, "%llu%s", u / t[i].mul, t[i].unit);
    }
}

/* Replace the value word at `at` in line i by `word`; fails_same decides; the old line comes
 * back when the run no longer fails the same way. Returns 1 when the new value stays. */
static int try_knob_value(struct shrink *s, size_t i, const struct knob_at *at, const char *word)
{
    const char *l = s->lines[i];
    size_t wl = strlen(word), ll = strlen(l);
    char *nl = malloc(ll - at->len + wl + 1);
    if (!nl)
        return 0;
    memcpy(nl, l, at->start);
    memcpy(nl + at->start, word, wl);
    memcpy(nl + at->start + wl, l + at->start + at->len, ll - at->start - at->len + 1);
    char *old = s->lines[i];
    s->lines[i] = nl;
    if (!fails_same(s, s->off)) {
        s->lines[i] = old;
        free(nl);
        return 0;
    }
    free(old);
    return 1;
}

/* Pass 2 (fault knobs, in top-level faults/at/on lines) or pass 4 (workload: built-in program
 * lines): each value first to its minimum, else halved while the run still fails the same way
 * (at most 16 halvings a value, so that a value that matters costs a bounded number of runs;
 * durations stop at a microsecond and probabilities at 0.1%, short of their minimum 0, which was
 * tried first).
 * Returns the number of changes kept. */
static unsigned long shrink_knobs(struct shrink *s, int fault)
{
    unsigned long cut = 0;
    int depth = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        const char *l = s->lines[i];
        int top = depth == 0;
        if (s->off[i])
            continue;
        if (is_word(l, "process") || is_word(l, "repeat"))
            depth++;
        else if (is_word(l, "end") && depth > 0)
            depth--;
        if (!top || !(fault ? is_word(l, "faults") || is_word(l, "at") || is_word(l, "on")
                            : is_word(l, "program")))
            continue;
        struct knob_at at[32];
        size_t nv = find_knob_values(l, fault, at, 32);
        for (size_t k = 0; k < nv; k++) {
            /* a kept change moves the words after it: find the k-th value again */
            struct knob_at cur[32];
            if (find_knob_values(s->lines[i], fault, cur, 32) != nv)
                break;
            int pct;
            double v = knob_parse(s->lines[i] + cur[k].start, cur[k].len, cur[k].kind, &pct);
            double lo = knob_min(cur[k].kind);
            if (v < 0 || v <= lo)
                continue;
            char word[48];
            knob_format(lo, cur[k].kind, pct, word, sizeof word);
            if (try_knob_value(s, i, &cur[k], word)) {
                cut++;
                continue;
            }
            for (int h = 0; h < 16; h++) {
                double half = cur[k].kind == KNOB_PROB ? v / 2 : floor(v / 2);
                if (half <= lo || half == v || (cur[k].kind == KNOB_DURATION && half < 1000) ||
                    (cur[k].kind == KNOB_PROB && half < 0.001))
                    break; /* at the minimum, or below a microsecond or 0.1%: too fine to say more */
                find_knob_values(s->lines[i], fault, cur, 32);
                knob_format(half, cur[k].kind, pct, word, sizeof word);
                if (!try_knob_value(s, i, &cur[k], word))
                    break;
                v = half;
                cut++;
            }
        }
    }
    return cut;
}

/* ---- the schedule ----------------------------------------------------------------------------- */

/* With --sched pct:D[:K]: random, then pct:1[:K] ... pct:D-1[:K], the first that still fails the
 * same way (a bug of depth d needs d-1 priority change points; random needs no flag to replay).
 * Returns 1 when the scheduler changed. */
static int shrink_sched(struct shrink *s)
{
    unsigned d;
    int used = 0;
    if (!s->sched || sscanf(s->sched, "pct:%u%n", &d, &used) != 1)
        return 0;
    const char *k = s->sched + used; /* "" or ":K" */
    const char *given = s->sched;
    char cand[sizeof s->sched_buf];
    for (unsigned c = 0; c < d; c++) {
        if (c == 0)
            snprintf(cand, sizeof cand, "random");
        else
            snprintf(cand, sizeof cand, "pct:%u%s", c, k);
        s->sched = cand;
        if (fails_same(s, s->off)) {
            snprintf(s->sched_buf, sizeof s->sched_buf, "%s", cand);
            s->sched = s->sched_buf;
            return 1;
        }
    }
    s->sched = given;
    return 0;
}

static int add_line(struct shrink *s, const char *l, size_t n)
{
    char **a = realloc(s->lines, (s->nlines + 1) * sizeof *a);
    if (!a)
        return -1;
    s->lines = a;
    s->lines[s->nlines] = strndup(l, n);
    return s->lines[s->nlines++] ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vmcisim shrink --seed N [--swarm] [--sched pct:D] FILE [-o OUT]\n"
               "Reduces a failing run's faults (faults/at/on lines, a swarm profile, knob\n"
               "values), then its scheduler (pct:D down to random), then its workload (built-in\n"
               "programs' sizes and counts, repeat counts), to a scenario that fails the same\n"
               "way (docs/finding-bugs.md).\n"
               "Exit status: 0 shrunk, 1 the run does not fail, 2 bad input.\n");
}

static size_t count_faults(const struct shrink *s, const int *off)
{
    size_t n = 0;
    int depth = 0;
    for (size_t i = 0; i < s->nlines; i++) {
        if (off[i])
            continue;
        const char *l = s->lines[i];
        if (is_word(l, "process") || is_word(l, "repeat"))
            depth++;
        else if (is_word(l, "end") && depth > 0)
            depth--;
        else if (depth == 0 && (is_word(l, "at") || is_word(l, "on") || is_word(l, "faults")))
            n++;
    }
    return n;
}

int cli_shrink(int argc, char **argv, const char *prog)
{
    struct shrink s;
    memset(&s, 0, sizeof s);
    const char *out = NULL;
    int have_seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            s.seed = strtoull(argv[++i], &end, 0);
            if (errno || *end || argv[i][0] == '-') {
                fprintf(stderr, "vmcisim shrink: --seed expects a number, got '%s'\n", argv[i]);
                return 2;
            }
            have_seed = 1;
        } else if (strcmp(argv[i], "--swarm") == 0) {
            s.swarm = 1;
        } else if (strcmp(argv[i], "--sched") == 0 && i + 1 < argc) {
            /* checked by the library itself, as `vmcisim run --sched` does */
            const char *val = argv[++i];
            struct vmcisim_config cfg = {.trace_path = "", .sched = val};
            vmcisim *w = *val ? vmcisim_create(&cfg) : NULL;
            if (!w) {
                fprintf(stderr, "vmcisim shrink: --sched expects 'random' or 'pct:D' (D from 1 "
                                "to 16), got '%s'\n", val);
                return 2;
            }
            vmcisim_destroy(w);
            snprintf(s.sched_buf, sizeof s.sched_buf, "%s", val);
            s.sched = s.sched_buf;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && !s.path) {
            s.path = argv[i];
        } else {
            fprintf(stderr, "vmcisim shrink: unexpected '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!have_seed || !s.path) {
        usage(stderr);
        return 2;
    }
    char err[1024];
    struct scen_script *sc = scen_load(s.path, err, sizeof err);
    if (!sc) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct scen_run_opts o = {.seed = s.seed, .swarm = s.swarm, .sched = s.sched};
    scen_run(sc, &o, &s.res);
    scen_script_free(sc);
    if (s.res.status != SCEN_FAIL) {
        fprintf(stderr, "vmcisim shrink: %s passes with seed %llu: nothing to shrink\n", s.path,
                (unsigned long long)s.seed);
        return 1;
    }
    snprintf(s.where, sizeof s.where, "%s", s.res.where);
    snprintf(s.expected, sizeof s.expected, "%s", s.res.expected);
    uint64_t records_before = s.res.trace_records;
    char sched_before[sizeof s.res.sched];
    snprintf(sched_before, sizeof sched_before, "%s", s.res.sched);
    char swarm_profile[sizeof s.res.swarm];
    snprintf(swarm_profile, sizeof swarm_profile, "%s", s.res.swarm);

    FILE *f = fopen(s.path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read: %s\n", s.path, strerror(errno));
        return 2;
    }
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap * 2 + 65536;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return 2;
            }
            text = t;
        }
        size_t k = fread(text + len, 1, cap - len, f);
        if (k == 0)
            break;
        len += k;
    }
    fclose(f);
    for (size_t a = 0; a < len;) {
        size_t b = a;
        while (b < len && text[b] != '\n')
            b++;
        add_line(&s, text + a, b - a);
        a = b + 1;
    }
    free(text);
    size_t nfile = s.nlines;
    /* the swarm profile as lines of the file, so its draws can be cut like the file's own */
    if (s.swarm && swarm_profile[0]) {
        add_line(&s, "# the swarm profile of this seed (vmcisim shrink)", 50);
        for (char *p = swarm_profile; *p;) {
            char *semi = strchr(p, ';');
            size_t n = semi ? (size_t)(semi - p) : strlen(p);
            if (strncmp(p, "faults none", 11) != 0)
                add_line(&s, p, n);
            p += n;
            while (*p == ';' || *p == ' ')
                p++;
        }
    }
    s.off = calloc(s.nlines + 1, sizeof *s.off);
    if (!s.off)
        return 2;
    if (s.nlines > nfile) {
        s.swarm = 0; /* the profile is in the text now */
        if (!fails_same(&s, s.off)) {
            /* written out, the profile does not fail the same way (its events ran in another
             * process): keep the draw as it was and shrink the file's own lines only */
            for (size_t i = nfile; i < s.nlines; i++)
                free(s.lines[i]);
            s.nlines = nfile;
            s.swarm = 1;
        }
    }
    size_t faults_before = count_faults(&s, s.off);
    size_t *cand = malloc((s.nlines + 1) * sizeof *cand), nc = 0;
    int depth = 0;
    for (size_t i = 0; cand && i < s.nlines; i++) {
        const char *l = s.lines[i];
        if (is_word(l, "process") || is_word(l, "repeat"))
            depth++;
        else if (is_word(l, "end") && depth > 0)
            depth--;
        else if (depth == 0 && (is_word(l, "at") || is_word(l, "on") || is_word(l, "faults")))
            cand[nc++] = i;
    }
    ddmin(&s, cand, nc);
    try_small_subsets(&s, cand, nc);
    free(cand);
    unsigned long knob_cuts = shrink_knobs(&s, 1);
    shrink_sched(&s);
    knob_cuts += shrink_knobs(&s, 0);
    unsigned long halvings = shrink_repeats(&s);
    /* the final run, for the counts and the replay line */
    if (!fails_same(&s, s.off)) {
        fprintf(stderr, "vmcisim shrink: internal error: the shrunk scenario no longer fails\n");
        return 2;
    }
    char *final = join(&s, s.off);
    /* The trace names the scenario file, so the hash of the replay line is that of a run of
     * the text under the name it is written to (the runs above used the input's name). */
    if (final && out) {
        struct scen_script *fsc = scen_parse(out, final, strlen(final), err, sizeof err);
        struct scen_run_opts fo = {.seed = s.seed, .swarm = s.swarm, .sched = s.sched};
        if (!fsc || scen_run(fsc, &fo, &s.res) != SCEN_FAIL) {
            fprintf(stderr, "vmcisim shrink: internal error: the shrunk scenario does not fail "
                            "under the name %s\n", out);
            scen_script_free(fsc);
            free(final);
            return 2;
        }
        scen_script_free(fsc);
    }
    FILE *o2 = out ? fopen(out, "wb") : stdout;
    if (!final || !o2) {
        fprintf(stderr, "vmcisim shrink: cannot write %s: %s\n", out ? out : "stdout",
                strerror(errno));
        free(final);
        return 2;
    }
    fputs(final, o2);
    if (out)
        fclose(o2);
    free(final);
    FILE *rep = out ? stdout : stderr;
    char sched_change[128] = "";
    if (s.sched) /* only a scheduler the user chose is shrunk, and reported */
        snprintf(sched_change, sizeof sched_change, ", sched %s -> %s", sched_before,
                 s.res.sched);
    fprintf(rep, "shrunk %s seed=%llu: faults %zu -> %zu, knob cuts %lu%s, repeat halvings %lu, "
                 "trace records %llu -> %llu, %lu runs\n",
            s.path, (unsigned long long)s.seed, faults_before, count_faults(&s, s.off), knob_cuts,
            sched_change, halvings, (unsigned long long)records_before,
            (unsigned long long)s.res.trace_records, s.runs);
    fprintf(rep, "fails: %s\n", s.res.message);
    char sched_flag[64] = "";
    if (s.sched)
        snprintf(sched_flag, sizeof sched_flag, " --sched %s", s.res.sched);
    fprintf(rep, "replay: %s run --seed %llu%s%s --expect-hash %016llx %s\n",
            prog && *prog ? prog : "vmcisim", (unsigned long long)s.seed,
            s.swarm ? " --swarm" : "", sched_flag, (unsigned long long)s.res.trace_hash,
            out ? out : "OUT");
    for (size_t i = 0; i < s.nlines; i++)
        free(s.lines[i]);
    free(s.lines);
    free(s.off);
    return 0;
}
