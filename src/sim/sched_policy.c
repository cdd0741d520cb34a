/*
 * sched_policy.c - which runnable thread the deterministic scheduler runs next, and on which CPU
 * a world's threads run.
 *
 * Policies (vmcisim_config.sched, else the environment variable VMCISIM_SCHED):
 *  random     at every scheduling point, a thread drawn uniformly from the runnable ones (the
 *             world's random source). A switch at most points.
 *  pct:D[:K]  PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 *             ASPLOS 2010). Every thread gets a random priority when it is made; the runnable
 *             thread of highest priority runs, so the running thread goes on until it blocks or
 *             a change point comes. D-1 change points are drawn uniformly from the first K
 *             scheduling points; without K, each from the first 2^j points with j drawn
 *             uniformly from 4..20 (the run's length is not known in advance, and this loses
 *             only a constant factor against the right K at any length); at the i-th, the thread that
 *             takes it drops below every priority given so far. A bug that needs d ordering
 *             constraints between n threads over k points is then hit with probability at least
 *             1/(n k^(d-1)) per run, instead of shrinking exponentially with the run's length as
 *             it does under random choice, and a run switches only where a thread blocks or at
 *             the D-1 change points. Liveness: a thread that takes SCHED_PCT_STARVE points in a
 *             row without anyone else running (a polling loop waiting for another thread) is
 *             dropped to the bottom the same way, so no run spins forever.
 *             Draws come from a stream of their own (derived from the seed), so the fault knobs'
 *             draws do not move when the policy changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sim/world_internal.h"

#define SCHED_PCT_HORIZON 0u          /* none given: change points on a log scale */
#define PCT_SCALE_MIN 4
#define PCT_SCALE_MAX 20
#define SCHED_PCT_STARVE 4096u
#define PCT_STREAM 0x5043545f73636864ull   /* "PCT_schd": keeps PCT's draws apart */
#define PRIO_INITIAL_BASE (1ull << 62)     /* initial priorities are above every demotion */

/* ---- policy ----------------------------------------------------------------------------------- */

static int parse_u(const char *s, char **end, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, end, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

static void draw_change_points(struct sim_sched *sc)
{
    sc->nchange = sc->depth - 1;
    for (unsigned i = 0; i < sc->nchange; i++) {
        uint64_t c;
        bool dup;
        do { /* distinct points: D-1 demotions, as the algorithm counts them */
            uint64_t k = sc->horizon;
            if (!sc->horizon_given) {
                /* The run's length is not known in advance: draw the scale first, log-uniform
                 * from 2^4 to 2^20 points, so a window of w points at point p is hit with
                 * probability about 2w/(17p) whatever the run's length. */
                k = 1ull << (PCT_SCALE_MIN + rng_below(sc->rng, PCT_SCALE_MAX - PCT_SCALE_MIN + 1));
            }
            c = 1 + rng_below(sc->rng, k);
            dup = false;
            for (unsigned j = 0; j < i; j++)
                dup |= sc->change[j] == c;
        } while (dup);
        /* insertion sort: at most 15 points */
        unsigned j = i;
        while (j > 0 && sc->change[j - 1] > c) {
            sc->change[j] = sc->change[j - 1];
            j--;
        }
        sc->change[j] = c;
    }
}

int sched_policy_init(vmcisim *sim, const char *spec)
{
    struct sim_sched *sc = &sim->sched;
    memset(sc, 0, sizeof *sc);
    if (!spec || !*spec)
        spec = getenv("VMCISIM_SCHED");
    if (!spec || !*spec)
        spec = "random";
    if (strcmp(spec, "random") == 0) {
        sc->policy = SIM_SCHED_RANDOM;
        snprintf(sc->name, sizeof sc->name, "random");
        return 0;
    }
    uint64_t d = 0, k = SCHED_PCT_HORIZON;
    char *end = NULL;
    if (strncmp(spec, "pct:", 4) != 0 || parse_u(spec + 4, &end, &d) != 0 || d < 1 ||
        d > SIM_PCT_MAX_DEPTH || (*end && (*end != ':' || parse_u(end + 1, &end, &k) != 0 ||
                                           *end || k < 1 || k > (1ull << 40)))) {
        sim_set_error(sim,
                      "scheduler '%s': expected 'random' or 'pct:D' or 'pct:D:K' with D from 1 "
                      "to %d and K from 1 to 2^40",
                      spec, SIM_PCT_MAX_DEPTH);
        return -1;
    }
    sc->policy = SIM_SCHED_PCT;
    sc->depth = (unsigned)d;
    sc->horizon = k;
    sc->horizon_given = k != SCHED_PCT_HORIZON;
    if (!sc->horizon_given)
        snprintf(sc->name, sizeof sc->name, "pct:%u", sc->depth);
    else
        snprintf(sc->name, sizeof sc->name, "pct:%u:%llu", sc->depth, (unsigned long long)k);
    rng_seed_state(sc->rng, sim->cfg.seed ^ PCT_STREAM);
    draw_change_points(sc);
    sc->low = PRIO_INITIAL_BASE - 1;
    return 0;
}

void sched_policy_new_thread(vmcisim *sim, sim_thread *t)
{
    struct sim_sched *sc = &sim->sched;
    /* A random place among the priorities, as when PCT inserts a new thread. */
    t->prio = sc->policy == SIM_SCHED_PCT ? PRIO_INITIAL_BASE | (rng_next(sc->rng) >> 2) : 0;
}

static void demote(vmcisim *sim, sim_thread *t)
{
    runq_reprioritize(sim, t, sim->sched.low--);
}

/* One scheduling point taken by `self` (the thread at the point). */
void sched_policy_step(vmcisim *sim, sim_thread *self)
{
    struct sim_sched *sc = &sim->sched;
    sc->steps++;
    if (sc->policy != SIM_SCHED_PCT)
        return;
    while (sc->next_change < sc->nchange && sc->change[sc->next_change] <= sc->steps) {
        sc->next_change++;
        demote(sim, self);
    }
    if (self == sc->last && ++sc->run_len >= SCHED_PCT_STARVE) {
        sc->run_len = 0;
        demote(sim, self);
    }
}

sim_thread *sched_policy_pick(vmcisim *sim)
{
    struct sim_sched *sc = &sim->sched;
    size_t n = runq_count(sim);
    if (n == 0)
        return NULL;
    sim_thread *t;
    if (sc->policy == SIM_SCHED_PCT)
        t = runq_top(sim);
    else
        t = runq_nth(sim, n == 1 ? 0 : (size_t)sim_rand_below(sim, n));
    if (t != sc->last) {
        sc->last = t;
        sc->run_len = 0;
    }
    return t;
}

/* ---- placement -------------------------------------------------------------------------------
 * Only one thread of a deterministic world runs at a time, so its threads lose nothing by
 * sharing one CPU, and gain a lot: a futex wake-up of a thread on the waker's own CPU lets the
 * kernel switch straight to it when the waker sleeps, instead of waking another CPU from idle
 * (the cost of a handoff across CPUs is several times that of one on a CPU). VMCISIM_PIN=off
 * leaves placement to the kernel; VMCISIM_PIN=N names the CPU. By default the world takes the
 * CPU its creator runs on (a `vmcisim run -j` worker is already pinned to its own). */
int sched_pin_init(vmcisim *sim)
{
    sim->cpu = -1;
    if (sim->realtime)
        return 0;
    const char *env = getenv("VMCISIM_PIN");
    if (env && strcmp(env, "off") == 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    if (env && *env) {
        char *end;
        uint64_t c;
        if (parse_u(env, &end, &c) == 0 && !*end && c < CPU_SETSIZE && CPU_ISSET((int)c, &set))
            sim->cpu = (int)c;
        return 0;
    }
    if (CPU_COUNT(&set) == 1) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                sim->cpu = c;
                break;
            }
        return 0;
    }
    int c = sched_getcpu();
    if (c >= 0 && c < CPU_SETSIZE && CPU_ISSET(c, &set))
        sim->cpu = c;
    return 0;
}
