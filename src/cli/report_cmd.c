/*
 * report_cmd.c - `vmcisim report [FILE...]`: merge the JSON Lines that `vmcisim run --json`
 * wrote on many machines (one file per shard, or stdin) into one summary: runs, passes,
 * failures with their replay lines, per scenario file. A (file, seed) met twice with two
 * different trace hashes is nondeterminism (or two builds) and counts as a failure; met twice
 * with one hash, it is counted once.
 *
 * Exit status: 0 all passed, 1 some failed, 2 bad input (unreadable file, a line that is not a
 * result, or a parse error that a shard reported).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/summary.h"

struct seen {
    char *file;
    uint64_t seed, hash;
    int passed;
    char *message, *replay;
    size_t order;   /* input order, to list failures as they came */
};

struct report {
    struct seen *v;
    size_t n, cap;
    int bad;
};

/* The value of "key" in a flat JSON object: a string (unescaped into a malloc'd copy) or a bare
 * token such as a number. NULL if absent or malformed. */
static char *json_field(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = line;
    size_t pl = strlen(pat);
    for (;;) {
        p = strstr(p, pat);
        if (!p)
            return NULL;
        const char *q = p + pl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == ':') {
            p = q + 1;
            break;
        }
        p += pl;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '"') {
        size_t n = strcspn(p, ",} \t\r\n");
        return n ? strndup(p, n) : NULL;
    }
    p++;
    char *out = malloc(strlen(p) + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            out[k++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': out[k++] = '\n'; break;
        case 't': out[k++] = '\t'; break;
        case 'r': out[k++] = '\r'; break;
        case 'u': {
            unsigned v = 0;
            if (sscanf(p + 1, "%4x", &v) != 1) {
                free(out);
                return NULL;
            }
            out[k++] = v < 0x80 ? (char)v : '?';
            p += 4;
            break;
        }
        case 0: free(out); return NULL;
        default: out[k++] = *p; break;
        }
    }
    if (*p != '"') {
        free(out);
        return NULL;
    }
    out[k] = 0;
    return out;
}

static int add_line(struct report *r, const char *where, long lineno, const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line || *line == '\n' || *line == '\r')
        return 0;
    char *status = json_field(line, "status");
    if (status && strcmp(status, "ERROR") == 0) {
        char *msg = json_field(line, "message");
        fprintf(stderr, "%s:%ld: a shard reported bad input: %s\n", where, lineno,
                msg ? msg : "(no message)");
        free(msg);
        free(status);
        r->bad = 1;
        return 0;
    }
    free(status);
    char *result = json_field(line, "result"), *file = json_field(line, "file");
    char *seed = json_field(line, "seed"), *hash = json_field(line, "hash");
    int ok = result && file && seed && hash &&
             (strcmp(result, "pass") == 0 || strcmp(result, "fail") == 0);
    if (!ok) {
        fprintf(stderr, "%s:%ld:1: expected a result line of `vmcisim run --json`\n", where,
                lineno);
        r->bad = 1;
    } else if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 1024;
        struct seen *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv) {
            ok = 0;
            r->bad = 1;
        } else {
            r->v = nv;
            r->cap = nc;
        }
    }
    if (ok) {
        struct seen *s = &r->v[r->n];
        s->file = file;
        file = NULL;
        s->seed = strtoull(seed, NULL, 10);
        s->hash = strtoull(hash, NULL, 16);
        s->passed = strcmp(result, "pass") == 0;
        s->message = json_field(line, "message");
        s->replay = json_field(line, "replay");
        s->order = r->n++;
    }
    free(result);
    free(file);
    free(seed);
    free(hash);
    return 0;
}

static int read_stream(struct report *r, FILE *f, const char *where)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    while (getline(&line, &cap, f) > 0)
        add_line(r, where, ++lineno, line);
    free(line);
    return ferror(f) ? -1 : 0;
}

static int by_file_seed(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->seed != y->seed)
        return x->seed < y->seed ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int by_order(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

int cli_report(int argc, char **argv)
{
    struct report r = {0};
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: vmcisim report [FILE...]\n"
               "Merges the JSON Lines of `vmcisim run --json` (files, or stdin) into one "
               "summary.\nExit status: 0 all passed, 1 some failed, 2 bad input.\n");
        return 0;
    }
    if (argc < 2) {
        if (read_stream(&r, stdin, "<stdin>") != 0)
            r.bad = 1;
    }
    for (int i = 1; i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "vmcisim report: cannot read %s: %s\n", argv[i], strerror(errno));
            r.bad = 1;
            continue;
        }
        if (read_stream(&r, f, argv[i]) != 0) {
            fprintf(stderr, "vmcisim report: error reading %s\n", argv[i]);
            r.bad = 1;
        }
        if (f != stdin)
            fclose(f);
    }
    /* One entry per (file, seed): the same run in two shards is counted once, unless the two
     * disagree, which is reported. */
    if (r.n)   /* qsort wants a real array even for no elements */
        qsort(r.v, r.n, sizeof *r.v, by_file_seed);
    size_t kept = 0, dups = 0, diverged = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (kept && strcmp(r.v[kept - 1].file, r.v[i].file) == 0 &&
            r.v[kept - 1].seed == r.v[i].seed) {
            dups++;
            struct seen *k = &r.v[kept - 1];
            if (k->hash != r.v[i].hash || k->passed != r.v[i].passed) {
                diverged++;
                if (diverged <= SUMMARY_SHOW_FAILED)
                    fprintf(stderr, "vmcisim report: %s seed=%llu ran twice with trace hashes "
                                    "%016llx and %016llx (nondeterminism, or two builds)\n",
                            k->file, (unsigned long long)k->seed, (unsigned long long)k->hash,
                            (unsigned long long)r.v[i].hash);
                k->passed = 0;
                if (!k->message || !*k->message) {
                    free(k->message);
                    k->message = strdup("the same seed gave two different runs");
                }
            }
            free(r.v[i].file);
            free(r.v[i].message);
            free(r.v[i].replay);
            continue;
        }
        r.v[kept++] = r.v[i];
    }
    if (kept)
        qsort(r.v, kept, sizeof *r.v, by_order);
    struct sweep_summary sum;
    summary_init(&sum);
    for (size_t i = 0; i < kept; i++)
        summary_add(&sum, r.v[i].file, r.v[i].seed, r.v[i].passed, r.v[i].message,
                    r.v[i].replay);
    summary_print(&sum, stdout, -1, 0);
    if (dups)
        printf("== %zu duplicate result%s merged (%zu disagreeing)\n", dups, dups == 1 ? "" : "s",
               diverged);
    int rc = r.bad ? 2 : sum.failed ? 1 : 0;
    summary_free(&sum);
    for (size_t i = 0; i < kept; i++) {
        free(r.v[i].file);
        free(r.v[i].message);
        free(r.v[i].replay);
    }
    free(r.v);
    return rc;
}
