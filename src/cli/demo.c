/*
 * demo.c - `vmcisim demo`: a small built-in world that shows what a run looks like: the host,
 * two guests, processes that sleep on simulated time, a suspend/resume and a power off, with
 * the readable trace and the trace hash that pins the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "vmcisim/vmcisim.h"

struct demo {
    vmcisim *sim;
    vmcisim_vm *g1, *g2;
};

static void worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        vmcisim_sleep(250000000ull);
}

static void operator_main(void *arg)
{
    struct demo *d = arg;
    vmcisim_sleep(100000000ull);
    vmcisim_vm_suspend(d->g1);
    vmcisim_sleep(500000000ull);
    vmcisim_vm_resume(d->g1);
    vmcisim_sleep(100000000ull);
    vmcisim_vm_power_off(d->g2);
}

int cli_demo(int argc, char **argv)
{
    struct vmcisim_config cfg = {.seed = 1, .trace_path = "-"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            cfg.seed = strtoull(argv[++i], &end, 0);
            if (*end) {
                fprintf(stderr, "vmcisim demo: --seed expects a number, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--realtime") == 0) {
            cfg.realtime = 1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            cfg.trace_path = NULL;
        } else {
            fprintf(stderr, "vmcisim demo: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    struct demo d = {0};
    d.sim = vmcisim_create(&cfg);
    if (!d.sim) {
        fprintf(stderr, "vmcisim demo: cannot create the world\n");
        return 1;
    }
    d.g1 = vmcisim_vm_create(d.sim, "linux-a", 0xFFFFFFFFu);
    d.g2 = vmcisim_vm_create(d.sim, "windows-b", 0xFFFFFFFFu);
    if (!d.g1 || !d.g2 || vmcisim_spawn(d.g1, "worker-a", worker, NULL) != 0 ||
        vmcisim_spawn(d.g2, "worker-b", worker, NULL) != 0 ||
        vmcisim_spawn_root(vmcisim_host(d.sim), "operator", operator_main, &d) != 0) {
        fprintf(stderr, "vmcisim demo: %s\n", vmcisim_error(d.sim));
        vmcisim_destroy(d.sim);
        return 1;
    }
    int rc = vmcisim_run(d.sim);
    struct vmcisim_stats st;
    vmcisim_get_stats(d.sim, &st);
    printf("demo: seed=%llu result=%s simulated=%.3fs trace_records=%llu trace_hash=%016llx "
           "points=%llu switches=%llu\n",
           (unsigned long long)cfg.seed, rc == 0 ? "PASS" : "FAIL",
           (double)vmcisim_now(d.sim) / 1e9, (unsigned long long)vmcisim_trace_count(d.sim),
           (unsigned long long)vmcisim_trace_hash(d.sim), (unsigned long long)st.sched_points,
           (unsigned long long)st.switches);
    if (rc != 0)
        printf("demo: %s\n", vmcisim_error(d.sim));
    vmcisim_destroy(d.sim);
    return rc == 0 ? 0 : 1;
}
