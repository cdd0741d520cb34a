/*
 * shrink.c - `vmcisim shrink --seed N [--swarm] FILE [-o OUT]` (issue 15 item 3,
 * docs/finding-bugs.md): reduce a failing run to the few faults that matter.
 *
 *   1. faults: the file's top-level `faults`, `at` and `on` lines, and with --swarm the drawn
 *      profile written out as such lines, are cut down with delta debugging (Zeller and
 *      Hildebrandt's ddmin, TSE 2002) to a 1-minimal set that still fails the same expectation
 *      (same line, same "expected ..."), with the same seed;
 *   2. workload: every `repeat N` is halved while the run still fails the same way.
 * A line taken out is commented out ("#shrunk: ..."), not deleted, so line numbers - and with
 * them the failure message - stay the same. The result is a scenario file that fails when run
 * with the replay line printed beside it. The schedule is not shrunk here: this branch has only
 * the seeded random scheduler (see docs/finding-bugs.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "scenario/scenario.h"

struct shrink {
    const char *path;
    uint64_t seed;
    int swarm;
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
    struct scen_run_opts o = {.seed = s->seed, .swarm = s->swarm};
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
    fprintf(f, "usage: vmcisim shrink --seed N [--swarm] FILE [-o OUT]\n"
               "Reduces a failing run's faults (faults/at/on lines, a swarm profile), then its\n"
               "repeat counts, to a scenario that fails the same way (docs/finding-bugs.md).\n"
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
    struct scen_run_opts o = {.seed = s.seed, .swarm = s.swarm};
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
    unsigned long halvings = shrink_repeats(&s);
    /* the final run, for the counts and the replay line */
    if (!fails_same(&s, s.off)) {
        fprintf(stderr, "vmcisim shrink: internal error: the shrunk scenario no longer fails\n");
        return 2;
    }
    char *final = join(&s, s.off);
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
    fprintf(rep, "shrunk %s seed=%llu: faults %zu -> %zu, repeat halvings %lu, trace records "
                 "%llu -> %llu, %lu runs\n",
            s.path, (unsigned long long)s.seed, faults_before, count_faults(&s, s.off), halvings,
            (unsigned long long)records_before, (unsigned long long)s.res.trace_records, s.runs);
    fprintf(rep, "fails: %s\n", s.res.message);
    fprintf(rep, "replay: %s run --seed %llu%s --expect-hash %016llx %s\n",
            prog && *prog ? prog : "vmcisim", (unsigned long long)s.seed,
            s.swarm ? " --swarm" : "", (unsigned long long)s.res.trace_hash, out ? out : "OUT");
    for (size_t i = 0; i < s.nlines; i++)
        free(s.lines[i]);
    free(s.lines);
    free(s.off);
    return 0;
}
