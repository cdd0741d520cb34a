/*
 * world_internal.h - the layout of a world, shared only by the files of src/sim.
 */
#ifndef VMCISIM_WORLD_INTERNAL_H
#define VMCISIM_WORLD_INTERNAL_H

#include <time.h>

#include "sim.h"

#define SIM_MAX_LAYERS 8

struct sim_layer {
    const struct sim_layer_ops *ops;
    void *self;
};

struct vmcisim {
    struct vmcisim_config cfg;
    bool realtime;
    char err[512];

    /* realtime: the world lock; every simulator call holds it */
    pthread_mutex_t lock;
    pthread_cond_t main_cv;          /* vmcisim_run waits here */
    bool rt_started;                 /* realtime threads may start */
    struct timespec t0;              /* realtime clock origin */

    /* randomness */
    uint64_t rng[4];

    /* simulated time (deterministic) */
    uint64_t now;

    /* threads, in creation order (ids ascending); finished ones stay until destroy */
    sim_thread **threads;
    size_t nthreads, threads_cap;
    uint32_t next_tid, next_pid;
    size_t live_procs;               /* process threads not yet ended */

    /* deterministic scheduler */
    sim_thread *running;             /* holder of the baton; NULL: the main thread */
    uint32_t main_baton;
    bool in_run;
    int run_result;
    sim_thread *reaper;              /* a killed thread gives the baton back to it (NULL: main) */
    bool reaping;
    sim_thread **heap;               /* threads waiting with a deadline, min-heap */
    uint64_t idle_epoch;             /* bumped by sim_idle_invalidate */
    size_t heap_len, heap_cap;
    struct vmcisim_stats stats;

    /* processes */
    sim_proc **procs;
    size_t nprocs, procs_cap;

    /* VMs (host first) */
    vmcisim_vm **vms;
    size_t nvms, vms_cap;

    /* layers */
    struct sim_layer layers[SIM_MAX_LAYERS];
    size_t nlayers;
    struct hv *hv;
    struct sock_world *sock;
    sim_loop **loops;
    size_t nloops, loops_cap;

    /* trace */
    FILE *trace_fp;
    bool trace_fp_owned;
    uint64_t trace_hash;
    uint64_t trace_count;
    bool destroying;

    /* packet observer (pcap) */
    vmcisim_packet_fn pkt_fn;
    void *pkt_ctx;
};

/* sched.c */
int sched_run_det(vmcisim *sim);
int sched_run_rt(vmcisim *sim);
void sched_vm_state_changed(vmcisim *sim, vmcisim_vm *vm);
void sched_thread_free(sim_thread *t);

void sched_kill_all(vmcisim *sim);
void sched_join_all(vmcisim *sim);
void sched_self_check(vmcisim *sim);

/* world.c */
void world_proc_ended(vmcisim *sim, sim_proc *p);

/* trace.c, rng.c */
void trace_init(vmcisim *sim);
void rng_seed(vmcisim *sim, uint64_t seed);

/* loop.c */
void sim_loop_kill(sim_loop *l);
void sim_loops_stop_rt(vmcisim *sim);

#endif
