/*
 * covreport.c - the coverage report of a sweep: every `always`, `sometimes` and `reachable`
 * point of its runs (the stack's own hard paths, a program's, a scenario's `check always` /
 * `check sometimes`) with how often it held across the runs, flagging those never hit.
 *
 * Points are merged by (kind, name) in order of first appearance over the results as given,
 * and `vmcisim run` gives them in (file, seed) order, so the report does not depend on -j.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "scenario/scenario.h"

struct cov_row {
    struct vmcisim_cov_point p;    /* evals, hits, fails summed over the runs */
    uint64_t runs_hit;             /* runs in which it held at least once */
    uint64_t runs_failed;          /* always: runs in which it failed */
};

struct scen_covreport {
    struct cov_row *v;
    size_t n, cap;
    uint64_t runs;
};

struct scen_covreport *scen_covreport_new(void) { return vmcisim_calloc(1, sizeof(struct scen_covreport)); }

void scen_covreport_free(struct scen_covreport *r)
{
    if (r)
        free(r->v);
    free(r);
}

int scen_covreport_add(struct scen_covreport *r, const struct scen_result *res)
{
    r->runs++;
    for (size_t i = 0; i < res->ncov && i < SCEN_COV_MAX; i++) {
        const struct vmcisim_cov_point *p = &res->cov[i];
        struct cov_row *row = NULL;
        for (size_t k = 0; k < r->n && !row; k++)
            if (r->v[k].p.kind == p->kind && strcmp(r->v[k].p.name, p->name) == 0)
                row = &r->v[k];
        if (!row) {
            if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 32;
                struct cov_row *a = vmcisim_realloc(r->v, cap * sizeof *a);
                if (!a)
                    return -1;
                r->v = a;
                r->cap = cap;
            }
            row = &r->v[r->n++];
            memset(row, 0, sizeof *row);
            row->p.kind = p->kind;
            memcpy(row->p.name, p->name, sizeof row->p.name);
            row->p.name[sizeof row->p.name - 1] = 0;
        }
        row->p.evals += p->evals;
        row->p.hits += p->hits;
        row->p.fails += p->fails;
        row->runs_hit += p->hits > 0;
        row->runs_failed += p->fails > 0;
    }
    return 0;
}

size_t scen_covreport_never_hit(const struct scen_covreport *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].p.kind != VMCISIM_COV_ALWAYS && r->v[i].p.hits == 0;
    return n;
}

static const char *kind_name(int k)
{
    return k == VMCISIM_COV_ALWAYS ? "always" : k == VMCISIM_COV_SOMETIMES ? "sometimes"
                                                                           : "reachable";
}

void scen_covreport_print(const struct scen_covreport *r, FILE *f)
{
    fprintf(f, "coverage over %llu run%s: %zu point%s, %zu never hit\n",
            (unsigned long long)r->runs, r->runs == 1 ? "" : "s", r->n, r->n == 1 ? "" : "s",
            scen_covreport_never_hit(r));
    for (size_t i = 0; i < r->n; i++) {
        const struct cov_row *w = &r->v[i];
        if (w->p.kind == VMCISIM_COV_ALWAYS)
            fprintf(f, "  always     %-44s held %llu of %llu, failed in %llu run%s%s\n", w->p.name,
                    (unsigned long long)w->p.hits, (unsigned long long)w->p.evals,
                    (unsigned long long)w->runs_failed, w->runs_failed == 1 ? "" : "s",
                    w->runs_failed ? "  FAILED" : "");
        else
            fprintf(f, "  %-10s %-44s hit in %llu/%llu runs, %llu time%s%s\n",
                    kind_name(w->p.kind), w->p.name, (unsigned long long)w->runs_hit,
                    (unsigned long long)r->runs, (unsigned long long)w->p.hits,
                    w->p.hits == 1 ? "" : "s", w->p.hits ? "" : "  NEVER HIT");
    }
}
