/*
 * sim.h - the runtime kernel of a world: simulated threads, the scheduler, waits, time, the
 * seeded random source, the trace, and event-loop threads. Every other layer (hypervisor,
 * device, guest driver, sockets) is written against this interface only, and this layer knows
 * none of them: they register with sim_register_layer, and src/assemble.c stacks them.
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
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/heap.h"
#include "vmcisim/vmcisim.h"

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
    /* Owned by the layers above, opaque here: the hypervisor's record of the context, the
     * VM's VMCI device, its VMCI driver (or the host's endpoint). */
    void *hvctx;
    void *dev;
    void *drv;
};

struct sim_proc {
    uint32_t pid;          /* sequential per world, from 1 */
    char name[SIM_NAME_MAX];
    vmcisim_vm *vm;
    bool root;             /* spawned with vmcisim_spawn_root */
    bool ended;
    sim_thread *thread;
    void *fdtab;           /* owned by the sockets layer */
    /* the process model (src/sim/proc.c) */
    size_t nlive;          /* its threads not yet ended */
    bool exiting;          /* exit() or main's return is ending it */
    bool main_left;        /* the main thread called pthread_exit: the others go on */
    bool killed;           /* the world ended it (VM power-off): status 128+9 */
    bool status_set;       /* exit status given by exit()/main/a signal */
    int status;            /* 0..255, or 128+N for signal N */
    struct sim_pthread **pthreads;   /* threads made by pthread_create, creation order */
    size_t npthreads, pthreads_cap;
    int (*main_fn)(int argc, char **argv);
    int argc;
    char **argv;           /* owned copy, NULL-terminated */
    bool rand_seeded;      /* srand/srandom called: rand/random follow libc */
    struct sigaction sigpipe_act;    /* SIGPIPE disposition (SIG_DFL when zero) */
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
    int sig_pending;             /* a signal for the program's thread (sim_thread_signal) */
    bool counted_dead;           /* live counters already updated */
    /* deterministic mode */
    uint32_t baton;              /* futex word: 0 none, 1 given, 2 sleeping */
    struct sim_heap_node hn;     /* in the deadline heap (key: deadline, tie: id) */
    size_t slot;                 /* index in the world's thread array */
    bool queued;                 /* in the run queue (runnable, VM running) */
    size_t rq_idx;               /* PCT: position in the priority heap */
    uint64_t prio;               /* PCT: priority, higher runs first */
    /* realtime mode */
    pthread_cond_t cv;
    /* waiting */
    sim_waitq *waitq;
    sim_thread *wnext, *wprev;
    const char *waiting_for;
    uint64_t deadline;
    bool woken;
    uint64_t owed_ns;            /* cost model: hypercall time to spend at the next point */
    jmp_buf unwind;
    /* waiting on real descriptors too (fdwait.c) */
    struct pollfd *fdw;          /* deterministic: the set, while blocked in sim_wait_fds */
    size_t nfdw;
    bool fdw_ready;              /* the idle check found one of them ready */
    int rt_wakefd;               /* realtime: eventfd a wake-up writes while rt_fdwait, or -1 */
    bool rt_fdwait;
    /* realtime: sleeping in sim_wait_direct on rt_word, outside the world lock */
    uint32_t rt_word;            /* futex word: 0 asleep (or about to be), 1 woken */
    bool rt_direct;
    struct sim_cleanup *cleanups; /* newest first; only the thread itself touches it */
    /* idle wait (sim_idle_begin): valid while idle_epoch equals the world's */
    const char *idle_what;
    uint64_t idle_epoch;
    char fd_name_next[SIM_NAME_MAX]; /* the script's name for the next descriptor (trace.c) */
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
/* The `self` of the layer registered with `ops` (how a layer finds its own state from the
 * world), or NULL if none is. */
void *sim_layer_find(vmcisim *sim, const struct sim_layer_ops *ops);
/* The first VMCISIM_ASSERT that failed in this world, or NULL (test_assert.c). */
const char *sim_test_failure(vmcisim *sim);

/* Building a world (src/assemble.c): the runtime alone, with no layer and no VM; then the host
 * VM (CID 2) once the layers below it are registered; then, all layers registered, the host's
 * creation is announced to them. The world is torn down with vmcisim_destroy on failure. */
vmcisim *sim_world_new(const struct vmcisim_config *cfg);
vmcisim_vm *sim_world_add_host(vmcisim *sim);
void sim_world_ready(vmcisim *sim);

vmcisim_vm *sim_vm_by_cid(vmcisim *sim, uint32_t cid);
bool sim_is_realtime(const vmcisim *sim);
/* Queue memory shared with exec'd programs (src/preload/qp_shared.h): once asked for (by the
 * exec layer, in a realtime world), every queue allocated from then on is a memfd. */
void sim_share_queues(vmcisim *sim);
bool sim_queues_shared(const vmcisim *sim);
vmcisim_vm *sim_host(vmcisim *sim);
void sim_set_error(vmcisim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- entering the world, scheduling points, waiting -------------------------------------- */

void sim_enter(vmcisim *sim);     /* realtime: lock; deterministic: a scheduling point */
void sim_leave(vmcisim *sim);
void sim_point(vmcisim *sim);     /* deterministic: let the seed choose who runs next */

/* Block the calling simulated thread on q until woken or until simulated time reaches
 * deadline (absolute ns, SIM_NO_DEADLINE for none). `what` (static text) says what it waits
 * for, for deadlock reports. Returns 0 if woken, ETIMEDOUT if the deadline passed. */
int sim_wait(sim_waitq *q, uint64_t deadline, const char *what);
void sim_wake_all(sim_waitq *q);
/* sim_wait that real descriptors can also end (fdwait.c): pfds[0..n) with events set. A real
 * descriptor is never waited on in the kernel while the world needs the thread: in
 * deterministic mode the scheduler checks them without blocking whenever no thread can run
 * (before the clock jumps), and blocks on them on the wall clock, simulated time standing
 * still, only when nothing else could ever wake a thread. In realtime mode the thread leaves
 * the world and waits in the C library's poll on them plus an eventfd that a wake-up writes.
 * Returns 0 (woken or spurious), ETIMEDOUT, or SIM_WAIT_FD_READY. revents are not kept. */
#define SIM_WAIT_FD_READY (-1)
struct pollfd;
int sim_wait_fds(sim_waitq *q, uint64_t deadline, const char *what, struct pollfd *pfds,
                 size_t n);
void sim_wake_one(sim_waitq *q);
bool sim_waitq_empty(const sim_waitq *q);

/* Direct wake-ups (realtime queue-pair doorbells). sim_wait_direct is sim_wait on q (every
 * sim_wake_* and a kill end it as usual), except that in realtime mode the thread sleeps outside
 * the world lock on a futex word of its own, which sim_wake_direct sets without the lock: a peer
 * that just published data into a shared ring wakes the reader at once, as an interrupt would,
 * instead of through the world lock and the event loops. arm(arg) runs once the thread is
 * queued, under the lock; it publishes the thread where the waker will find it and returns
 * false if the awaited condition already holds (then there is no sleep). disarm(arg) runs
 * exactly once, whatever happened (also when arm was not called: a deadline already past, a
 * thread already killed), before the lock is retaken (or under it, when there was no sleep); it
 * must not need the lock. Deterministic mode: sim_wait, arm and disarm are not called.
 * Returns 0 (woken, possibly spuriously) or ETIMEDOUT. */
int sim_wait_direct(sim_waitq *q, uint64_t deadline, const char *what, bool (*arm)(void *arg),
                    void (*disarm)(void *arg), void *arg);
/* Wake t if it sleeps in sim_wait_direct (a stale or spurious wake-up is harmless: waiters
 * re-check). Needs no lock; t must belong to a world that still exists. */
void sim_wake_direct(sim_thread *t);

uint64_t sim_now(const vmcisim *sim);

/* Signals for a simulated thread's program (exec'd processes' timers, docs/exec-protocol.md):
 * sim_thread_signal marks sig pending on t (the first one wins until taken) and wakes t if it
 * is blocked, so that an interruptible wait (poll, select, epoll, sleep) ends with EINTR, as
 * Linux ends it on a signal; other waits go on and the signal reaches the program when the
 * call returns. Inside the world only. */
void sim_thread_signal(sim_thread *t, int sig);
/* The calling thread has a signal pending: an interruptible wait must end (EINTR). */
bool sim_signal_pending(void);
/* Takes t's pending signal (0: none). */
int sim_signal_take(sim_thread *t);
/* vmcisim_sleep that a pending signal ends: 0 after ns, or EINTR with *left_ns the rest. */
int sim_sleep_interruptible(uint64_t ns, uint64_t *left_ns);
uint64_t sim_deadline_after(const vmcisim *sim, uint64_t ns);   /* saturating now + ns */

/* ---- randomness ----------------------------------------------------------------------------- */
uint64_t sim_rand(vmcisim *sim);                       /* from the world's seed */
uint64_t sim_rand_below(vmcisim *sim, uint64_t n);    /* uniform in [0, n), n > 0 */
bool sim_chance(vmcisim *sim, double p);              /* true with probability p */

/* ---- coverage assertions (coverage.c) -------------------------------------------------------
 * For the stack's own code, already inside the world: counts a point (kind: enum
 * vmcisim_cov_kind) and returns cond. No trace record unless an `always` fails. */
bool sim_cov(vmcisim *sim, int kind, bool cond, const char *name);
#define SIM_REACHABLE(sim, name) ((void)sim_cov((sim), VMCISIM_COV_REACHABLE, true, (name)))
#define SIM_SOMETIMES(sim, cond, name) sim_cov((sim), VMCISIM_COV_SOMETIMES, (cond), (name))
#define SIM_ALWAYS(sim, cond, name) sim_cov((sim), VMCISIM_COV_ALWAYS, (cond), (name))
void sim_cov_init(vmcisim *sim);
void sim_cov_free(vmcisim *sim);

/* ---- the cost model (cost.c) ----------------------------------------------------------------- */
const struct vmcisim_cost *sim_cost(const vmcisim *sim);
/* The calling process thread spends ns of simulated time now (no-op for other threads). */
void sim_spend(vmcisim *sim, uint64_t ns, const char *what);
/* ... or owes it, paid at its next scheduling point (sim_point). */
void sim_owe(vmcisim *sim, uint64_t ns);
void sim_pay_owed(vmcisim *sim);
/* Copy time of bytes [done, done + more) of a stream at qp_byte_ps. */
uint64_t sim_copy_cost_ns(const vmcisim *sim, uint64_t done_bytes, uint64_t more_bytes);

/* ---- trace --------------------------------------------------------------------------------- */
/* One record: simulated time, VM/CID and thread of the caller, event name, arguments. */
void sim_trace(vmcisim *sim, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, attributed to a given VM instead of the caller (hypervisor-side events). */
void sim_trace_vm(vmcisim *sim, const vmcisim_vm *vm, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Presentation in a record (trace.c): the readable trace shows what lies between SIM_TR_SHOW
 * and SIM_TR_END, which is never hashed; what lies between SIM_TR_HIDE and SIM_TR_END is hashed
 * (and given to taps) but not shown. Only sim_trace_rich reads the markers, so the hashed
 * record is the one plain formatting gives without the shown parts. E.g.
 * "state=" SIM_TR_HIDE "7" SIM_TR_END SIM_TR_SHOW "CLOSE" SIM_TR_END: hashed "state=7",
 * shown "state=CLOSE". */
#define SIM_TR_SHOW "\x01"
#define SIM_TR_HIDE "\x02"
#define SIM_TR_END "\x03"
void sim_trace_rich(vmcisim *sim, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records are formatted at all (false: a realtime run without a trace or tap only counts
 * them, so callers may skip preparing their arguments). */
bool sim_trace_formats(const vmcisim *sim);
/* How many payload bytes data records show (vmcisim_config.trace_payload; 0: none, or no
 * readable trace). At most SIM_TRACE_PAYLOAD_MAX: a record is formatted on the caller's stack,
 * which may be a program thread's small one. */
#define SIM_TRACE_PAYLOAD_MAX 256
size_t sim_trace_payload_max(const vmcisim *sim);
/* The script's names (presentation only): the next descriptor the calling thread opens is
 * called `name` in the readable trace (NULL or "": none). The descriptor table takes the name
 * with sim_trace_take_fd_name (false: none pending) when it opens the descriptor. */
void sim_trace_name_next_fd(const char *name);
bool sim_trace_take_fd_name(char out[SIM_NAME_MAX]);
/* A number the readable trace shows by its name (a state, a type): "7" hashed, "CLOSE" shown;
 * just the number when name is NULL. For a "%s" of a sim_trace_rich record. */
#define SIM_TR_NUM_MAX 64
const char *sim_tr_num(char buf[SIM_TR_NUM_MAX], long long v, const char *name);

/* Report a packet to the world's observer, if any (time_ns is filled in here). */
void sim_observe_packet(vmcisim *sim, struct vmcisim_packet *pkt);
bool sim_observe_packet_wanted(const vmcisim *sim);
/* The other end: a packet the observer saw sent reached its destination's transport (the same
 * fields as at the send; time_ns is filled in here). For captures that show when each packet
 * arrived. Nothing hashed changes. Set before vmcisim_run; NULL removes it. */
void sim_set_delivery_observer(vmcisim *sim, vmcisim_packet_fn fn, void *ctx);
bool sim_observe_delivery_wanted(const vmcisim *sim);
void sim_observe_delivery(vmcisim *sim, struct vmcisim_packet *pkt);

/* ---- event-loop threads ----------------------------------------------------------------------
 * A kernel thread that runs callbacks: deferred work posted to it and timers. In realtime mode it
 * is a libev loop (ev_async for posts, ev_timer for the earliest deadline); in deterministic mode
 * it is a simulated thread waiting on its queue with the earliest deadline. Callbacks run inside
 * the world and must not block. */
typedef struct sim_timer sim_timer;
struct sim_timer {
    struct sim_heap_node hn;          /* key: deadline, tie: arming sequence; armed if in */
    void (*cb)(sim_timer *t);
    sim_loop *loop;
};
sim_loop *sim_loop_create(vmcisim *sim, vmcisim_vm *vm, const char *name);
void sim_timer_init(sim_timer *t, void (*cb)(sim_timer *t));
void sim_timer_arm(sim_loop *l, sim_timer *t, uint64_t deadline);   /* re-arms if armed */
void sim_timer_cancel(sim_timer *t);
bool sim_timer_armed(const sim_timer *t);
/* Run fn(arg) soon on the loop's thread (one allocation; returns -1 if it failed). If the loop
 * is killed first (its VM powered off), drop(arg) runs instead, inside the world, to release
 * what arg holds. At world teardown the layers arg may point into are already gone, so the
 * loop then frees arg itself with free(): with a drop, arg must be one heap block. */
int sim_loop_post(sim_loop *l, void (*fn)(void *arg), void (*drop)(void *arg), void *arg);
/* Used by world teardown only. */
void sim_loop_free(sim_loop *l);

/* ---- internal to src/sim (shared between world.c, sched.c, loop.c, trace.c) ----------- */
sim_thread *sim_thread_new(vmcisim *sim, vmcisim_vm *vm, sim_proc *proc, const char *name,
                           bool daemon, void (*fn)(void *), void *arg);
int sim_thread_start(sim_thread *t);
void sim_kill_thread(sim_thread *t);    /* ends t where it stands; t != caller */
/* Realtime, from a simulated thread: ends every other process thread where it stands, so that
 * vmcisim_run returns (vmcisim serve, interrupted). */
void sim_kill_other_procs(vmcisim *sim);
/* The same from inside the world (a loop's timer callback, which runs with the world held). */
void sim_kill_other_procs_locked(vmcisim *sim);
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

/* ---- the process model (src/sim/proc.c) ---------------------------------------------------
 * A simulated process has a main thread and the threads its threads create; they share its VM,
 * privileges, descriptor table and SIGPIPE disposition. The process ends when its last thread
 * ends; returning from the main thread or exit() ends the others first. */

/* A thread made by pthread_create inside a process. */
struct sim_pthread {
    sim_thread *t;
    void *(*start)(void *arg);
    void *arg;
    void *ret;             /* start's result or pthread_exit's argument */
    sim_waitq joinq;       /* pthread_join waits here */
    bool done, detached, join_claimed;
};

/* The calling thread if it is a thread of a simulated process, else NULL. */
sim_thread *sim_self_proc_thread(void);
/* Realtime: take/drop the world lock without a scheduling point; deterministic: nothing (the
 * caller holds the baton). For short state changes and wake-ups by interposed calls. */
void sim_lock(vmcisim *sim);
void sim_unlock(vmcisim *sim);
/* New thread of the caller's process running start(arg): 0 and *out, or an errno. */
int sim_proc_thread_create(pthread_t *out, bool detached, void *(*start)(void *), void *arg);
/* The record of a thread of the caller's process made by pthread_create, or NULL. */
struct sim_pthread *sim_proc_find_pthread(pthread_t pt);
/* pthread_join/pthread_detach on such a record: 0 or an errno. */
int sim_proc_join(struct sim_pthread *r, void **ret);
int sim_proc_detach(struct sim_pthread *r);
/* pthread_exit from a process thread: never returns. */
void sim_proc_thread_exit(void *ret) __attribute__((noreturn));
/* exit(status) / death by signal sig: the caller's process ends; never returns. */
void sim_proc_exit(int status) __attribute__((noreturn));
void sim_proc_exit_signal(int sig) __attribute__((noreturn));
/* Waiting on an address (a mutex, condition variable or semaphore of the program), inside the
 * world. The queues live in a side table looked up by address, never iterated. */
int sim_addr_wait(vmcisim *sim, const void *addr, uint64_t deadline, const char *what);
void sim_addr_wake(vmcisim *sim, const void *addr, bool all);
/* Threads now waiting in sim_addr_wait in this world (read without the lock: a hint that lets
 * an unlock skip the world when nobody waits). */
unsigned sim_addr_waiters(const vmcisim *sim);
void sim_addr_waiters_add(vmcisim *sim, int delta);

/* A tap on the trace: fn sees each record (its event and its whole line, without the '\n')
 * as it is made, for a layer above that wants some of them elsewhere (a capture's comments).
 * It changes nothing the trace hashes. NULL removes it. Set before vmcisim_run. */
typedef void (*sim_trace_tap_fn)(void *ctx, uint64_t now_ns, const char *event,
                                 const char *line, size_t len);
void sim_set_trace_tap(vmcisim *sim, sim_trace_tap_fn fn, void *ctx);

/* trace_filter.c: the readable trace's filter; every record is hashed whatever it says. */
struct trace_filter;
int sim_trace_filter_parse(const char *text, struct trace_filter **out);   /* 0, -EINVAL, -ENOMEM */
bool sim_trace_filter_keeps(const struct trace_filter *f, const vmcisim_vm *vm,
                            const char *thread, const char *event);
void sim_trace_filter_free(struct trace_filter *f);

#endif /* VMCISIM_SIM_H */
