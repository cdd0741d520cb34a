/*
 * summary.c - a sweep's closing lines (summary.h).
 */
#include "cli/summary.h"

#include <stdlib.h>
#include <string.h>

void summary_init(struct sweep_summary *s) { memset(s, 0, sizeof *s); }

static struct summary_file *file_entry(struct sweep_summary *s, const char *file)
{
    /* Sweeps name a handful of files: a linear search in first-seen order keeps the output
     * order fixed. */
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].file, file) == 0)
            return &s->files[i];
    struct summary_file *nf = realloc(s->files, (s->nfiles + 1) * sizeof *nf);
    if (!nf)
        return NULL;
    s->files = nf;
    char *copy = strdup(file);
    if (!copy)
        return NULL;
    s->files[s->nfiles] = (struct summary_file){.file = copy};
    return &s->files[s->nfiles++];
}

int summary_add(struct sweep_summary *s, const char *file, uint64_t seed, int passed,
                const char *message, const char *replay)
{
    s->runs++;
    if (passed)
        s->passed++;
    else
        s->failed++;
    struct summary_file *f = file_entry(s, file ? file : "?");
    if (!f)
        return -1;
    f->runs++;
    if (passed)
        return 0;
    f->failed++;
    if (s->nfail >= SUMMARY_SHOW_FAILED)
        return 0;
    struct summary_failure *nf = realloc(s->fail, (s->nfail + 1) * sizeof *nf);
    if (!nf)
        return -1;
    s->fail = nf;
    struct summary_failure *x = &s->fail[s->nfail];
    x->file = strdup(file ? file : "?");
    x->seed = seed;
    x->message = strdup(message ? message : "");
    x->replay = strdup(replay ? replay : "");
    if (!x->file || !x->message || !x->replay) {
        free(x->file);
        free(x->message);
        free(x->replay);
        return -1;
    }
    s->nfail++;
    return 0;
}

void summary_print(const struct sweep_summary *s, FILE *out, double seconds, size_t total)
{
    fprintf(out, "== %zu run%s: %zu passed, %zu failed", s->runs, s->runs == 1 ? "" : "s",
            s->passed, s->failed);
    if (seconds >= 0)
        fprintf(out, " in %.1f s (%.1f runs/s)", seconds,
                seconds > 0 ? (double)s->runs / seconds : 0.0);
    if (total > s->runs)
        fprintf(out, "; interrupted, %zu of %zu not run", total - s->runs, total);
    fputc('\n', out);
    if (s->nfiles > 1)
        for (size_t i = 0; i < s->nfiles; i++)
            fprintf(out, "   %s: %zu runs, %zu failed\n", s->files[i].file, s->files[i].runs,
                    s->files[i].failed);
    if (s->failed == 0)
        return;
    fprintf(out, "== failing seeds:\n");
    for (size_t i = 0; i < s->nfail; i++) {
        fprintf(out, "   %s seed=%llu: %s\n", s->fail[i].file,
                (unsigned long long)s->fail[i].seed, s->fail[i].message);
        if (s->fail[i].replay[0])
            fprintf(out, "     replay: %s\n", s->fail[i].replay);
    }
    if (s->failed > s->nfail)
        fprintf(out, "   ... and %zu more\n", s->failed - s->nfail);
}

void summary_free(struct sweep_summary *s)
{
    for (size_t i = 0; i < s->nfail; i++) {
        free(s->fail[i].file);
        free(s->fail[i].message);
        free(s->fail[i].replay);
    }
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i].file);
    free(s->fail);
    free(s->files);
    memset(s, 0, sizeof *s);
}
