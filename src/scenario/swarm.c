/*
 * swarm.c - swarm testing (issue 15 item 2, docs/finding-bugs.md): `vmcisim run --swarm` draws,
 * per seed, which fault knobs are on and how strongly, and a few lifecycle events at random
 * times within the scenario's limit, on top of what the file itself says.
 *
 * Why: a sweep with fixed knobs explores one corner of the fault space over and over. Turning
 * a random subset of knobs on per run (Groce et al., "Swarm Testing", ISSTA 2012; FoundationDB
 * and TigerBeetle's VOPR do the same) reaches combinations, such as two knobs at their strong
 * settings together, that no single fixed profile does.
 *
 * The profile follows from the seed alone (its own generator, not the world's stream, so the
 * world's draws are untouched): `--swarm --seed N` replays it. Knobs the file's top-level
 * `faults` lines set are the file's and are never drawn; its `at`/`on` lines stay as written.
 * Power-off is never drawn: it ends the VM's processes, which most scenarios treat as failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scenario/interp.h"
#include "scenario/names.h"

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n) { return n ? splitmix(s) % n : 0; }

static const double probs[] = {0.01, 0.05, 0.1, 0.25, 0.5};
static const uint64_t delays_ns[] = {1000000, 5000000, 20000000};        /* 1, 5, 20 ms */
static const uint64_t latencies_ns[] = {100000, 1000000, 5000000};       /* 0.1, 1, 5 ms */
static const uint64_t pauses_ns[] = {1000000, 10000000, 100000000};      /* 1, 10, 100 ms */

#define N(a) (sizeof a / sizeof a[0])

static void add_event(struct scen_swarm *sw, uint64_t at, int action, int vm)
{
    if (sw->nevents < SCEN_SWARM_MAX_EVENTS)
        sw->ev[sw->nevents++] = (struct scen_swarm_event){.at_ns = at, .action = action, .vm = vm};
}

void scen_swarm_draw(const struct scen_script *sc, uint64_t seed, struct scen_swarm *sw)
{
    memset(sw, 0, sizeof *sw);
    uint64_t s = seed ^ 0x5357524d5357524dull; /* "SWRMSWRM": apart from the world's stream */
    unsigned mine = sc->faults.mask;
    struct vmcisim_faults *v = &sw->faults.v;
    /* every knob: a coin, then a strength; the draws happen whether or not the file owns the
     * knob, so one file's profile does not shift when another knob becomes the file's */
    for (unsigned k = FK_DELAY; k <= FK_LATENCY; k <<= 1) {
        int on = (int)below(&s, 2);
        uint64_t pick = splitmix(&s);
        if (!on || (mine & k))
            continue;
        sw->faults.mask |= k;
        switch (k) {
        case FK_DELAY: v->dg_delay_max_ns = delays_ns[pick % N(delays_ns)]; break;
        case FK_DROP: v->dg_drop = probs[pick % N(probs)]; break;
        case FK_DUP: v->dg_duplicate = probs[pick % N(probs)]; break;
        case FK_REORDER: v->dg_reorder = probs[pick % N(probs)]; break;
        case FK_QPFAIL: v->qp_alloc_fail = probs[pick % N(probs)]; break;
        default: v->hv_latency_ns = latencies_ns[pick % N(latencies_ns)]; break;
        }
    }
    /* 0..3 lifecycle episodes on guest VMs, at times within the limit */
    uint64_t episodes = below(&s, 4);
    for (uint64_t i = 0; i < episodes && sc->nvms > 1; i++) {
        int vm = 1 + (int)below(&s, sc->nvms - 1);
        uint64_t at = below(&s, sc->limit_ns);
        uint64_t pause = pauses_ns[below(&s, N(pauses_ns))];
        switch (below(&s, 3)) {
        case 0:
            add_event(sw, at, ACT_SUSPEND, vm);
            add_event(sw, at + pause, ACT_RESUME, vm);
            break;
        case 1:
            add_event(sw, at, ACT_MIGRATE, vm);
            break;
        default:
            add_event(sw, at, ACT_FT_ON, vm);
            add_event(sw, at + pause, ACT_FT_OFF, vm);
            break;
        }
    }
    /* in time order (file order of drawing at equal times): the helper runs them in order */
    for (size_t i = 1; i < sw->nevents; i++)
        for (size_t j = i; j > 0 && sw->ev[j].at_ns < sw->ev[j - 1].at_ns; j--) {
            struct scen_swarm_event t = sw->ev[j];
            sw->ev[j] = sw->ev[j - 1];
            sw->ev[j - 1] = t;
        }
}

static size_t put(char *buf, size_t n, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t n, size_t k, const char *fmt, ...)
{
    if (k >= n)
        return k;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + k, n - k, fmt, ap);
    va_end(ap);
    return w > 0 ? k + (size_t)w : k;
}

void scen_swarm_describe(const struct scen_script *sc, const struct scen_swarm *sw, char *buf,
                         size_t n)
{
    const struct vmcisim_faults *v = &sw->faults.v;
    size_t k = 0;
    if (!n)
        return;
    buf[0] = 0;
    k = put(buf, n, k, "faults");
    if (!sw->faults.mask)
        k = put(buf, n, k, " none");
    if (sw->faults.mask & FK_DELAY)
        k = put(buf, n, k, " dgram-delay 0..%gms", (double)v->dg_delay_max_ns / 1e6);
    if (sw->faults.mask & FK_DROP)
        k = put(buf, n, k, " dgram-drop %g", v->dg_drop);
    if (sw->faults.mask & FK_DUP)
        k = put(buf, n, k, " dgram-duplicate %g", v->dg_duplicate);
    if (sw->faults.mask & FK_REORDER)
        k = put(buf, n, k, " dgram-reorder %g", v->dg_reorder);
    if (sw->faults.mask & FK_QPFAIL)
        k = put(buf, n, k, " qp-alloc-fail %g", v->qp_alloc_fail);
    if (sw->faults.mask & FK_LATENCY)
        k = put(buf, n, k, " hv-latency %gus", (double)v->hv_latency_ns / 1e3);
    for (size_t i = 0; i < sw->nevents; i++) {
        const struct scen_swarm_event *e = &sw->ev[i];
        k = put(buf, n, k, "; at %lluns", (unsigned long long)e->at_ns); /* exact, parseable */
        k = put(buf, n, k, " %s %s", scen_action_name(e->action), sc->vms[e->vm].name);
    }
}
