/*
 * world_internal.h - the layout of a world, shared only by the files of src/sim.
 */
#ifndef VMCISIM_WORLD_INTERNAL_H
#define VMCISIM_WORLD_INTERNAL_H

#include <time.h>

#include "sim/sim.h"

#define SIM_MAX_LAYERS 8
#define SIM_PCT_MAX_DEPTH 16

/* The deterministic scheduler's policy (sched_policy.c). */
enum sim_sched_policy { SIM_SCHED_RANDOM, SIM_SCHED_PCT };
struct sim_sched {
    enum sim_sched_policy policy;
    unsigned depth;                  /* PCT: bug depth d; d-1 priority-change points */
    uint64_t horizon;                /* PCT: change points are drawn in [1, horizon] */
    bool horizon_given;              /* else a scale is drawn per change point */
    uint64_t change[SIM_PCT_MAX_DEPTH];
    unsigned nchange, next_change;
    uint64_t steps;                  /* scheduling points so far */
    uint64_t rng[4];                 /* PCT's own stream, so fault draws stay put */
    uint64_t low;                    /* PCT: the next demoted priority (decreasing) */
    sim_thread *last;                /* the thread picked last */
    uint64_t run_len;                /* points it took in a row */
    char name[40];                   /* "random", "pct:3", as printed */
};

/* Threads that may run now (runq.c). */
struct sim_runq {
    uint32_t *fen;                   /* Fenwick tree of queued flags by slot, 1-based */
    size_t fen_cap;
    size_t count;
    sim_thread **heap;               /* PCT: max-heap by priority */
    size_t len, heap_cap;
};

struct sim_layer {
    const struct sim_layer_ops *ops;
    void *self;
};

struct vmcisim {
    struct vmcisim_config cfg;
    bool realtime;
    bool shared_queues;   /* sim_share_queues (atomic) */
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
    struct sim_heap deadlines;       /* threads waiting with a deadline (heap.c) */
    uint64_t idle_epoch;             /* bumped by sim_idle_invalidate */
    struct vmcisim_stats stats;
    struct sim_sched sched;
    struct sim_runq runq;
    int cpu;                         /* the CPU this world's threads are pinned to, or -1 */

    /* processes */
    sim_proc **procs;
    size_t nprocs, procs_cap;

    /* VMs (host first) */
    vmcisim_vm **vms;
    size_t nvms, vms_cap;

    /* layers */
    struct sim_layer layers[SIM_MAX_LAYERS];
    size_t nlayers;
    sim_loop **loops;
    size_t nloops, loops_cap;

    /* trace */
    FILE *trace_fp;
    bool trace_fp_owned;
    struct trace_filter *trace_filter;   /* what of the text is written (NULL: all) */
    sim_trace_tap_fn trace_tap;          /* sees every record's text (sim_set_trace_tap) */
    void *trace_tap_ctx;
    uint64_t trace_hash;
    uint64_t trace_count;
    size_t trace_payload;                /* payload bytes data records show (presentation) */
    bool destroying;

    /* process model: wait queues of program mutexes/conds/semaphores (proc.c, addrwait.c) */
    struct addr_table *addrs;
    unsigned addr_waiters;           /* atomic */
    /* the cost model (cost.c) */
    struct vmcisim_cost cost;

    /* coverage assertions (coverage.c), allocated on first use */
    struct sim_cov *cov;

    /* packet observer (pcap) */
    vmcisim_packet_fn pkt_fn;
    void *pkt_ctx;
    vmcisim_packet_fn dlv_fn;        /* sees packets arrive (sim_set_delivery_observer) */
    void *dlv_ctx;
};

/* sched.c */
int sched_run_det(vmcisim *sim);
int sched_run_rt(vmcisim *sim);
void sched_vm_state_changed(vmcisim *sim, vmcisim_vm *vm);
void sched_thread_free(sim_thread *t);

void sched_kill_all(vmcisim *sim);
void sched_join_all(vmcisim *sim);
void sched_self_check(vmcisim *sim);
void sched_waitq_push(sim_waitq *q, sim_thread *t);
void sched_waitq_remove(sim_thread *t);
void sched_wake_thread(sim_thread *t);              /* if blocked: wake it as sim_wake_one */

/* fdwait.c */
bool fdwait_idle(vmcisim *sim, bool nothing_else);  /* wake threads whose real fds are ready */
void fdwait_rt_kick(sim_thread *t);                 /* realtime: t is woken or killed */
void fdwait_thread_free(sim_thread *t);

/* runq.c */
int runq_reserve(vmcisim *sim, sim_thread *t);
void runq_refresh(vmcisim *sim, sim_thread *t);
void runq_reprioritize(vmcisim *sim, sim_thread *t, uint64_t prio);
size_t runq_count(const vmcisim *sim);
sim_thread *runq_nth(vmcisim *sim, size_t r);
sim_thread *runq_top(vmcisim *sim);
void runq_free(vmcisim *sim);

/* sched_policy.c */
int sched_policy_init(vmcisim *sim, const char *spec);   /* 0, or -1 (bad spec, error set) */
void sched_policy_new_thread(vmcisim *sim, sim_thread *t);
void sched_policy_step(vmcisim *sim, sim_thread *self);
sim_thread *sched_policy_pick(vmcisim *sim);
int sched_pin_init(vmcisim *sim);

/* world.c */
void world_proc_ended(vmcisim *sim, sim_proc *p);

/* proc.c, addrwait.c */
void sim_proc_thread_ended(vmcisim *sim, sim_thread *t);   /* replaces world_proc_ended calls */
void sim_proc_free(sim_proc *p);
void sim_addrs_free(vmcisim *sim);
sim_proc *world_spawn(vmcisim_vm *vm, const char *name, void (*fn)(void *), void *arg,
                      bool root, int (*main_fn)(int, char **), int argc, char **argv);

/* trace.c, rng.c */
void trace_init(vmcisim *sim);
void rng_seed(vmcisim *sim, uint64_t seed);
void rng_seed_state(uint64_t s[4], uint64_t seed);
uint64_t rng_next(uint64_t s[4]);
uint64_t rng_below(uint64_t s[4], uint64_t n);

/* loop.c */
void sim_loop_kill(sim_loop *l);
void sim_loops_stop_rt(vmcisim *sim);


#endif
