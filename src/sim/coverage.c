/*
 * coverage.c - coverage assertions (issue 15 item 4): named `always`, `sometimes` and
 * `reachable` points, counted per world.
 *
 * A point is known by its name and kind. The stack's own hard paths are declared up front (the
 * table below), so a world that never reaches one still lists it with zero hits: that is the
 * point of the report, which tells users which paths their scenarios never exercise.
 *
 * Determinism: points are kept in first-use order (the table first), which follows the seeded
 * schedule; nothing here reads a clock or an address. Only an `always` that fails writes a trace
 * record, so adding points to the stack does not change any existing trace hash.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/world_internal.h"

/* The stack's hard paths, in layer order. Each name is used by exactly one call site. */
static const struct {
    const char *name;
    int kind;
} stack_points[] = {
    {"vsock.connect.fallback-to-request", VMCISIM_COV_REACHABLE},   /* §3.4 old peer */
    {"vsock.listen.pending-timeout", VMCISIM_COV_REACHABLE},        /* §3.5 1 s pending child */
    {"vsock.listen.backlog-full", VMCISIM_COV_REACHABLE},           /* §3.4 refused: RST */
    {"vsock.stream.rst-on-half-open", VMCISIM_COV_REACHABLE},       /* §3.3 no socket: RST */
    {"vsock.stream.peer-reset", VMCISIM_COV_REACHABLE},             /* §3.6 RST while open */
    {"vsock.stream.queue-full", VMCISIM_COV_SOMETIMES},             /* §4.7 writer finds no room */
    {"hv.dgram.queue-full", VMCISIM_COV_REACHABLE},                 /* §5.3 NO_RESOURCES */
    {"vsock.stream.dequeue-within-request", VMCISIM_COV_ALWAYS},    /* never more than asked */
};

struct sim_cov {
    struct vmcisim_cov_point *v;
    size_t n, cap;
    char first_failed[VMCISIM_COV_NAME_MAX];
    uint64_t first_failed_ns;
};

static struct vmcisim_cov_point *find_or_add(struct sim_cov *c, int kind, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind == kind && strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct vmcisim_cov_point *a = vmcisim_realloc(c->v, cap * sizeof *a);
        if (!a)
            return NULL;
        c->v = a;
        c->cap = cap;
    }
    struct vmcisim_cov_point *p = &c->v[c->n++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

static struct sim_cov *cov_of(vmcisim *sim)
{
    if (!sim->cov) {
        sim->cov = vmcisim_calloc(1, sizeof *sim->cov);
        if (!sim->cov)
            return NULL;
        for (size_t i = 0; i < sizeof stack_points / sizeof stack_points[0]; i++)
            find_or_add(sim->cov, stack_points[i].kind, stack_points[i].name);
    }
    return sim->cov;
}

void sim_cov_init(vmcisim *sim) { (void)cov_of(sim); }

void sim_cov_free(vmcisim *sim)
{
    if (!sim->cov)
        return;
    free(sim->cov->v);
    free(sim->cov);
    sim->cov = NULL;
}

bool sim_cov(vmcisim *sim, int kind, bool cond, const char *name)
{
    struct sim_cov *c = cov_of(sim);
    struct vmcisim_cov_point *p = c && name ? find_or_add(c, kind, name) : NULL;
    if (!p)
        return cond;
    p->evals++;
    if (cond)
        p->hits++;
    if (kind == VMCISIM_COV_ALWAYS && !cond) {
        p->fails++;
        if (!c->first_failed[0]) {
            snprintf(c->first_failed, sizeof c->first_failed, "%s", p->name);
            c->first_failed_ns = sim_now(sim);
        }
        sim_trace(sim, "always-failed", "name=%s", p->name);
    }
    return cond;
}

/* ---- the public face ------------------------------------------------------------------------- */

/* Called by user code from a simulated thread: inside the world without a scheduling point, so
 * an assertion never changes the schedule (one thread runs at a time in deterministic mode; the
 * world lock guards the table in realtime mode). */
static int public_cov(int kind, int cond, const char *name)
{
    vmcisim *sim = vmcisim_self_world();
    if (!sim || !name)
        return cond;
    sim_lock(sim);
    sim_cov(sim, kind, cond != 0, name);
    sim_unlock(sim);
    return cond;
}

int vmcisim_always(int cond, const char *name) { return public_cov(VMCISIM_COV_ALWAYS, cond, name); }
int vmcisim_sometimes(int cond, const char *name)
{
    return public_cov(VMCISIM_COV_SOMETIMES, cond, name);
}
void vmcisim_reachable(const char *name) { public_cov(VMCISIM_COV_REACHABLE, 1, name); }

int vmcisim_cov_record(vmcisim *sim, int kind, int cond, const char *name)
{
    if (!sim || !name || kind < VMCISIM_COV_ALWAYS || kind > VMCISIM_COV_REACHABLE)
        return cond;
    sim_lock(sim);
    sim_cov(sim, kind, cond != 0, name);
    sim_unlock(sim);
    return cond;
}

size_t vmcisim_coverage(const vmcisim *sim, struct vmcisim_cov_point *out, size_t max)
{
    if (!sim)
        return 0;
    struct sim_cov *c = cov_of((vmcisim *)sim);
    if (!c)
        return 0;
    for (size_t i = 0; i < c->n && i < max; i++)
        out[i] = c->v[i];
    return c->n;
}

const char *vmcisim_always_failed(const vmcisim *sim, uint64_t *when_ns)
{
    if (!sim || !sim->cov || !sim->cov->first_failed[0])
        return NULL;
    if (when_ns)
        *when_ns = sim->cov->first_failed_ns;
    return sim->cov->first_failed;
}
