/*
 * sim.h - the runtime kernel of a world: simulated threads, the scheduler, waits, time, the
 * seeded random source, the trace, and event-loop threads. Every other layer (hypervisor,
 * device, guest driver, sockets) is written against this interface only.
 *
 * Execution rules (both modes):
 *  - Simulator code runs "inside" the world: between sim_enter() and sim_leave() on a simulated
 *    thread, or on the main thread while no simulated thread runs (deterministic mode), or with
 *    the world lock held (realtime mode, where sim_enter/sim_leave take and drop it).
 *  - Blocking is only ever done with sim_wait() on a sim_waitq, from inside the world. A waiter
 *    re-checks its condition after sim_wait returns (wake-ups are hints, not guarantees).
 *  - A thread that is killed (power off, destroy) never returns from sim_enter or sim_wait:
 *    it unwinds straight to its trampoline. Callers therefore keep their state consistent before
 *    every wait (nothing half-done may be left on the stack).
 *
 * Deterministic mode: exactly one simulated thread holds the baton; sim_point() (called by every
 * simulator call) lets the seeded random source choose who runs next. Time only moves when no
 * thread can run: it jumps to the earliest deadline of a waiting thread.
 */
#ifndef VMCISIM_SIM_H
#define VMCISIM_SIM_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmcisim.h"

#define SIM_NO_DEADLINE UINT64_MAX
#define VMCISIM_CID_ANY 0xFFFFFFFFu
#define VMCISIM_HYPERVISOR_CID 0u
#define VMCISIM_HOST_CID 2u
#define SIM_NAME_MAX 48

typedef struct sim_thread sim_thread;
typedef struct sim_proc sim_proc;
typedef struct sim_loop sim_loop;

/* A queue of threads waiting for one condition. Zero-initialised is empty and valid. */
typedef struct sim_waitq {
    sim_thread *first, *last;
} sim_waitq;

/* ---- VMs and processes ---------------------------------------------------------------- */

enum sim_vm_event {
    SIM_VM_CREATED,
    SIM_VM_SUSPEND,
    SIM_VM_RESUME,
    SIM_VM_MIGRATE,
    SIM_VM_FT_ON,
    SIM_VM_FT_OFF,
    SIM_VM_POWER_OFF,
};

struct hv_context;   /* the hypervisor's record of a context (src/hypervisor) */
struct vmci_device;  /* the VM's VMCI device (src/device) */
struct guest_drv;    /* the guest's VMCI driver (src/guest) */

struct vmcisim_vm {
    vmcisim *sim;
    char name[SIM_NAME_MAX];
    uint32_t cid;
    unsigned flags;        /* VMCISIM_VM_RESTRICTED | VMCISIM_VM_TRUSTED */
    int state;             /* enum vmcisim_vm_state */
    int fault_tolerance;   /* 1 while FT is on */
    bool is_host;
    uint32_t index;        /* creation order; the host is 0 */
    sim_waitq resume_q;    /* realtime: threads of a suspended VM wait here */
    sim_loop *kworker;     /* the VM's kernel worker: interrupts and deferred work */
    struct hv_context *hvctx;
    struct vmci_device *dev;
    struct guest_drv *drv;
};

struct sim_proc {
    uint32_t pid;          /* sequential per world, from 1 */
    char name[SIM_NAME_MAX];
    vmcisim_vm *vm;
    bool root;             /* spawned with vmcisim_spawn_root */
    bool ended;
    sim_thread *thread;
    void *fdtab;           /* owned by the sockets layer */
};

/* ---- threads ---------------------------------------------------------------------------- */

enum sim_thread_state { T_NEW, T_RUNNABLE, T_BLOCKED, T_DONE };

/* What a call that may block holds on the heap. A thread ended while blocked (power off,
 * vmcisim_destroy) unwinds with longjmp past the call's frames, so the call's own free() never
 * runs: sim_unwind_self runs fn(arg) for each entry, newest first, before it jumps. Entries live
 * on the caller's stack and are pushed and popped in LIFO order by the thread itself. */
struct sim_cleanup {
    void (*fn)(void *arg);
    void *arg;
    struct sim_cleanup *next;
    struct sim_thread *owner; /* NULL: pushed on a thread the simulator did not spawn (no-op) */
};

struct sim_thread {
    vmcisim *sim;
    uint32_t id;                 /* creation order */
    char name[SIM_NAME_MAX];
    vmcisim_vm *vm;
    sim_proc *proc;              /* NULL for kernel threads (event loops) */
    bool daemon;                 /* does not keep vmcisim_run going */
    void (*fn)(void *arg);
    void *arg;
    pthread_t pt;
    bool pt_started, joined;
    enum sim_thread_state state;
    bool killed;                 /* must unwind at the next chance */
    bool counted_dead;           /* live counters already updated */
    /* deterministic mode */
    uint32_t baton;              /* futex word: 0 none, 1 given, 2 sleeping */
    size_t heap_idx;             /* position in the deadline heap, or SIZE_MAX */
    /* realtime mode */
    pthread_cond_t cv;
    /* waiting */
    sim_waitq *waitq;
    sim_thread *wnext, *wprev;
    const char *waiting_for;
    uint64_t deadline;
    bool woken;
    jmp_buf unwind;
    struct sim_cleanup *cleanups; /* newest first; only the thread itself touches it */
    /* idle wait (sim_idle_begin): valid while idle_epoch equals the world's */
    const char *idle_what;
    uint64_t idle_epoch;
};

/* The calling simulated thread, or NULL on a thread the simulator did not spawn. */
sim_thread *sim_self(void);

/* ---- the world ---------------------------------------------------------------------------- */

/* A layer of the stack, told about VM lifecycle and process ends. Layers are called in
 * registration order for SIM_VM_CREATED/RESUME/FT_OFF and in reverse order otherwise. */
struct sim_layer_ops {
    const char *name;
    void (*vm_event)(void *self, vmcisim_vm *vm, enum sim_vm_event ev);
    void (*proc_end)(void *self, sim_proc *p);     /* returned or was killed */
    void (*destroy)(void *self);                   /* world teardown, threads already gone */
};
int sim_register_layer(vmcisim *sim, const struct sim_layer_ops *ops, void *self);

/* A world whose contexts have the VMCI stack but no vsock module above it: for tests of the
 * stack that claim vsock's resources (resource 1) or count event subscriptions from 1. */
vmcisim *sim_create_without_sockets(const struct vmcisim_config *cfg);

vmcisim_vm *sim_vm_by_cid(vmcisim *sim, uint32_t cid);
vmcisim_vm *sim_host(vmcisim *sim);
void sim_set_error(vmcisim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct hv;                                               /* the hypervisor (src/hypervisor) */
struct hv *sim_hv(vmcisim *sim);
void sim_set_hv(vmcisim *sim, struct hv *hv);
struct sock_world;                                       /* the sockets layer (src/sock) */
struct sock_world *sim_sock(vmcisim *sim);
void sim_set_sock(vmcisim *sim, struct sock_world *sw);

/* ---- entering the world, scheduling points, waiting -------------------------------------- */

void sim_enter(vmcisim *sim);     /* realtime: lock; deterministic: a scheduling point */
void sim_leave(vmcisim *sim);
void sim_point(vmcisim *sim);     /* deterministic: let the seed choose who runs next */

/* Block the calling simulated thread on q until woken or until simulated time reaches
 * deadline (absolute ns, SIM_NO_DEADLINE for none). `what` (static text) says what it waits
 * for, for deadlock reports. Returns 0 if woken, ETIMEDOUT if the deadline passed. */
int sim_wait(sim_waitq *q, uint64_t deadline, const char *what);
void sim_wake_all(sim_waitq *q);

uint64_t sim_now(const vmcisim *sim);
uint64_t sim_deadline_after(const vmcisim *sim, uint64_t ns);   /* saturating now + ns */

/* ---- randomness ----------------------------------------------------------------------------- */
uint64_t sim_rand_below(vmcisim *sim, uint64_t n);    /* uniform in [0, n), n > 0 */
bool sim_chance(vmcisim *sim, double p);              /* true with probability p */

/* ---- trace --------------------------------------------------------------------------------- */
/* One record: simulated time, VM/CID and thread of the caller, event name, arguments. */
void sim_trace(vmcisim *sim, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, attributed to a given VM instead of the caller (hypervisor-side events). */
void sim_trace_vm(vmcisim *sim, const vmcisim_vm *vm, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report a packet to the world's observer, if any (time_ns is filled in here). */
void sim_observe_packet(vmcisim *sim, struct vmcisim_packet *pkt);
bool sim_observe_packet_wanted(const vmcisim *sim);

/* ---- event-loop threads ----------------------------------------------------------------------
 * A kernel thread that runs callbacks: deferred work posted to it and timers. In realtime mode it
 * is a libev loop (ev_async for posts, ev_timer for the earliest deadline); in deterministic mode
 * it is a simulated thread waiting on its queue with the earliest deadline. Callbacks run inside
 * the world and must not block. */
typedef struct sim_timer sim_timer;
struct sim_timer {
    uint64_t deadline;
    uint64_t seq;
    size_t idx;                       /* SIZE_MAX when not armed */
    void (*cb)(sim_timer *t);
    sim_loop *loop;
};
sim_loop *sim_loop_create(vmcisim *sim, vmcisim_vm *vm, const char *name);
void sim_timer_init(sim_timer *t, void (*cb)(sim_timer *t));
void sim_timer_arm(sim_loop *l, sim_timer *t, uint64_t deadline);   /* re-arms if armed */
void sim_timer_cancel(sim_timer *t);
bool sim_timer_armed(const sim_timer *t);
/* Run fn(arg) soon on the loop's thread (one allocation; returns -1 if it failed). */
int sim_loop_post(sim_loop *l, void (*fn)(void *arg), void *arg);
/* Used by world teardown only. */
void sim_loop_free(sim_loop *l);

/* ---- internal to src/sim (shared between world.c, sched.c, loop.c, trace.c) ----------- */
sim_thread *sim_thread_new(vmcisim *sim, vmcisim_vm *vm, sim_proc *proc, const char *name,
                           bool daemon, void (*fn)(void *), void *arg);
int sim_thread_start(sim_thread *t);
void sim_kill_thread(sim_thread *t);    /* ends t where it stands; t != caller */
void sim_unwind_self(void) __attribute__((noreturn));
/* Idle waits (deterministic mode). A thread that polls in timed waits only to re-check state
 * that other threads change (a scenario `wait` for a mark) declares it between sim_idle_begin
 * and sim_idle_end. When nothing can run and every timed waiter is idle, no wake-up can ever
 * change anything: the scheduler reports a deadlock at once, naming `what` for each idle thread,
 * instead of jumping the clock from poll to poll. sim_idle_invalidate: what the idle waiters
 * re-check has changed in a way that lets them end (a failure, the end of the foreground). */
void sim_idle_begin(const char *what);
void sim_idle_end(void);
void sim_idle_invalidate(vmcisim *sim);
/* Register / drop what a blocking call must free if its thread is ended (struct sim_cleanup). */
void sim_cleanup_push(struct sim_cleanup *c, void (*fn)(void *arg), void *arg);
void sim_cleanup_pop(struct sim_cleanup *c);

#endif /* VMCISIM_SIM_H */
