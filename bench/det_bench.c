/*
 * det_bench.c - deterministic mode at the scale of a switch and of whole runs (issue 13).
 *
 *  futex-handoff/switch  the floor: two plain threads pinned to one CPU hand a turn back and
 *                        forth through a futex word each (wake the other, sleep on your own).
 *                        ns per handoff.
 *  vmcisim-det/switch    the same handoff between two simulated threads of a deterministic
 *                        world (pinned to one CPU by the library), through the scheduler: ns
 *                        per switch, including the bookkeeping of the point that switched.
 *  det-suite/rate        runs per minute of the shipped scenarios (scenarios/ *.vmcis except the
 *                        big_* worlds), one process, one CPU: each file on its seeds from 1 up.
 *  det-big/run           one run of scenarios/big_64x100.vmcis (64 VMs, 100 connections,
 *                        1 MiB each): ns per run.
 * All in the same `vmcisim bench` run, so that ratios between rows hold while the machine's load
 * drifts. The scheduler rows use the default policy (random), which switches at about half of
 * the points of two yielding threads.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cases.h"
#include "clock.h"
#include "scenario/scenario.h"
#include "vmcisim/vmcisim.h"

#ifndef VMCISIM_SCENARIO_DIR
#define VMCISIM_SCENARIO_DIR "scenarios"
#endif

/* ---- the futex floor ----------------------------------------------------------------------- */

struct ping {
    uint32_t turn;             /* 0: thread A's turn, 1: B's */
    uint64_t rounds;
    int cpu;
};

static void fwait(uint32_t *w, uint32_t v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void fwake(uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

static void play(struct ping *p, uint32_t me)
{
    for (uint64_t i = 0; i < p->rounds; i++) {
        while (__atomic_load_n(&p->turn, __ATOMIC_ACQUIRE) != me)
            fwait(&p->turn, !me);
        __atomic_store_n(&p->turn, !me, __ATOMIC_RELEASE);
        fwake(&p->turn);
    }
}

static void *player_b(void *arg)
{
    struct ping *p = arg;
    pin_self(p->cpu);
    play(p, 1);
    return NULL;
}

int bench_futex_handoff_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                            char *err, size_t errlen)
{
    (void)bc;
    struct ping p = {.turn = 0, .rounds = work / 2 ? work / 2 : 1, .cpu = sched_getcpu()};
    pthread_t b;
    pin_self(p.cpu);
    uint64_t t0 = bench_now_ns();
    if (pthread_create(&b, NULL, player_b, &p) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        return -1;
    }
    play(&p, 0);
    pthread_join(b, NULL);
    uint64_t t1 = bench_now_ns();
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE && c < 1024; c++)
        CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all); /* unpin the bench's own thread */
    out->seconds = (double)(t1 - t0) / 1e9;
    out->value = (double)(t1 - t0) / (double)(2 * p.rounds);
    out->value_p99 = out->value;
    out->queue_size = 0;
    return 0;
}

/* ---- a switch between simulated threads ------------------------------------------------- */

struct sw {
    vmcisim *sim;
    uint64_t per_thread;
    int ready;
    uint64_t t0, t1;
    struct vmcisim_stats s0, s1;
};

static void yielder(void *arg)
{
    struct sw *s = arg;
    for (int i = 0; i < 32; i++)
        vmcisim_yield();
    if (++s->ready == 2) {
        vmcisim_get_stats(s->sim, &s->s0);
        s->t0 = bench_now_ns();
    }
    for (uint64_t i = 0; i < s->per_thread; i++)
        vmcisim_yield();
    if (s->ready++ == 2) {
        s->t1 = bench_now_ns();
        vmcisim_get_stats(s->sim, &s->s1);
    }
}

int bench_det_switch_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen)
{
    (void)bc;
    struct vmcisim_config cfg = {.seed = 1, .trace_path = "", .sched = "random"};
    struct sw s = {.per_thread = work ? work : 1};
    s.sim = vmcisim_create(&cfg);
    if (!s.sim) {
        snprintf(err, errlen, "vmcisim_create failed");
        return -1;
    }
    vmcisim_vm *host = vmcisim_host(s.sim);
    if (vmcisim_spawn(host, "a", yielder, &s) != 0 || vmcisim_spawn(host, "b", yielder, &s) != 0 ||
        vmcisim_run(s.sim) != 0) {
        snprintf(err, errlen, "world: %s", vmcisim_error(s.sim));
        vmcisim_destroy(s.sim);
        return -1;
    }
    vmcisim_destroy(s.sim);
    uint64_t sw = s.s1.switches - s.s0.switches;
    if (sw == 0 || s.t1 <= s.t0) {
        snprintf(err, errlen, "no switch was timed");
        return -1;
    }
    out->seconds = (double)(s.t1 - s.t0) / 1e9;
    out->value = (double)(s.t1 - s.t0) / (double)sw;
    out->value_p99 = out->value;
    out->queue_size = 0;
    return 0;
}

/* ---- whole runs ------------------------------------------------------------------------------ */

static int load_suite(struct scen_script **sc, int max, int big, char *err, size_t errlen)
{
    DIR *d = opendir(VMCISIM_SCENARIO_DIR);
    if (!d) {
        snprintf(err, errlen, "no scenario folder %s", VMCISIM_SCENARIO_DIR);
        return -1;
    }
    char *names[64];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 64;) {
        size_t l = strlen(e->d_name);
        if (l < 7 || strcmp(e->d_name + l - 6, ".vmcis") != 0)
            continue;
        if ((strncmp(e->d_name, "big_", 4) == 0) != big)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    /* a fixed order, whatever readdir gives */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    int k = 0;
    for (int i = 0; i < n; i++) {
        char path[1024], e2[512];
        snprintf(path, sizeof path, "%s/%s", VMCISIM_SCENARIO_DIR, names[i]);
        if (k < max && (sc[k] = scen_load(path, e2, sizeof e2)) != NULL)
            k++;
        free(names[i]);
    }
    if (k == 0)
        snprintf(err, errlen, "no scenario loaded from %s", VMCISIM_SCENARIO_DIR);
    return k ? k : -1;
}

static int run_many(struct scen_script **sc, int nsc, uint64_t runs, struct bench_sample *out,
                    char *err, size_t errlen)
{
    static struct scen_result res;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < runs; i++) {
        struct scen_run_opts ro = {.seed = 1 + i / (uint64_t)nsc, .trace_path = ""};
        scen_run(sc[i % (uint64_t)nsc], &ro, &res);
        if (res.status != SCEN_PASS) {
            snprintf(err, errlen, "%s", res.message);
            return -1;
        }
    }
    out->seconds = (double)(bench_now_ns() - t0) / 1e9;
    out->queue_size = 0;
    return 0;
}

const int bench_det_suite = 0, bench_det_big = 1;

int bench_det_suite_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                        char *err, size_t errlen)
{
    struct scen_script *sc[64];
    int big = bc->impl && *(const int *)bc->impl;
    int n = load_suite(sc, 64, big, err, errlen);
    if (n < 0)
        return -1;
    /* `work` is scaled for rates of 10^4..10^9 events: a run is one event per 20000. */
    uint64_t runs = 1 + work / 20000;
    uint64_t cap = big ? 3 : (uint64_t)n * 8;
    if (runs > cap)
        runs = cap;
    int rc = run_many(sc, n, runs, out, err, errlen);
    for (int i = 0; i < n; i++)
        scen_script_free(sc[i]);
    if (rc == 0) {
        if (big) {
            out->value = out->seconds * 1e9 / (double)runs; /* ns per run */
            out->value_p99 = out->value;
        } else {
            out->value = (double)runs / out->seconds * 60.0; /* runs per minute */
        }
    }
    return rc;
}
