/*
 * vmcisim.h - the simulated world: hypervisor, VMCI devices, the host and guest VMs.
 *
 * One `vmcisim` is one world. Nothing is shared between two worlds; every handle is opaque and
 * has an explicit create/destroy. Errors are returned as values (NULL or -1) and the reason is
 * kept as text for vmcisim_error().
 *
 * The names, types and meanings of the first part of this header are fixed by the public API
 * contract; the "extensions" part below it adds what users of a simulator need beyond it.
 */
#ifndef VMCISIM_H
#define VMCISIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmcisim    vmcisim;      /* one world: hypervisor, VMCI devices, host, guests */
typedef struct vmcisim_vm vmcisim_vm;   /* one VM, or the host */

struct vmcisim_config {
    uint64_t seed;      /* every random choice of a run derives from it */
    int      realtime;  /* 0: deterministic; 1: free-running threads on the wall clock */
    /* --- extensions (a zeroed value keeps the default) --- */
    const char *trace_path; /* readable trace written here ("-": stderr). NULL: the environment
                               variable VMCISIM_TRACE names the file, if set; else no text. */
    const char *sched;      /* deterministic scheduler: "random" or "pct:D" (also "pct:D:K").
                               NULL: the environment variable VMCISIM_SCHED, else "random". */
    const struct vmcisim_cost *cost; /* what moving data costs in simulated time (NULL: none) */
    const char *trace_filter; /* which records the readable trace shows: comma-separated
                               vm=NAME, proc=NAME, event=KIND, -event=KIND (e.g.
                               "vm=guest,-event=sched"). Every record is still hashed. NULL:
                               VMCISIM_TRACE_FILTER, else all. A filter that does not parse makes
                               vmcisim_create fail (EINVAL). */
    int trace_payload;      /* data records of the readable trace show their first N payload
                               bytes as hex and text, with the total length (at most 256;
                               presentation only, never hashed). 0: the environment variable
                               VMCISIM_TRACE_PAYLOAD, else none; negative: none. */
};                      /* a zeroed struct is valid; more fields may be added after these */

vmcisim    *vmcisim_create(const struct vmcisim_config *cfg);   /* NULL: all defaults */
void        vmcisim_destroy(vmcisim *sim);
const char *vmcisim_error(const vmcisim *sim);                 /* why the last call failed */

vmcisim_vm *vmcisim_host(vmcisim *sim);                        /* the host, CID 2 */
vmcisim_vm *vmcisim_vm_create(vmcisim *sim, const char *name, uint32_t cid);
uint32_t    vmcisim_vm_cid(const vmcisim_vm *vm);

int vmcisim_spawn(vmcisim_vm *vm, const char *name, void (*fn)(void *arg), void *arg);
int vmcisim_spawn_root(vmcisim_vm *vm, const char *name, void (*fn)(void *arg), void *arg);
int vmcisim_run(vmcisim *sim);

void     vmcisim_sleep(uint64_t ns);           /* called from a spawned thread */
uint64_t vmcisim_now(const vmcisim *sim);      /* nanoseconds of simulated time */
uint64_t vmcisim_trace_hash(const vmcisim *sim);

int vmcisim_vm_suspend(vmcisim_vm *vm);
int vmcisim_vm_resume(vmcisim_vm *vm);
int vmcisim_vm_migrate(vmcisim_vm *vm);
int vmcisim_vm_power_off(vmcisim_vm *vm);
int vmcisim_vm_fault_tolerance(vmcisim_vm *vm, int on);

/* ------------------------------------------------------------------------------------------
 * Extensions
 * ---------------------------------------------------------------------------------------- */

/* VM privilege flags (vmci-semantics.md §5.4): a restricted VM may talk only to the hypervisor
 * and to trusted endpoints. */
#define VMCISIM_VM_RESTRICTED 0x1u
#define VMCISIM_VM_TRUSTED    0x2u
vmcisim_vm *vmcisim_vm_create_ex(vmcisim *sim, const char *name, uint32_t cid, unsigned flags);

enum vmcisim_vm_state {
    VMCISIM_VM_RUNNING = 0,
    VMCISIM_VM_SUSPENDED = 1,
    VMCISIM_VM_POWERED_OFF = 2,
};
int         vmcisim_vm_state(const vmcisim_vm *vm);         /* enum vmcisim_vm_state */
int         vmcisim_vm_in_fault_tolerance(const vmcisim_vm *vm);
const char *vmcisim_vm_name(const vmcisim_vm *vm);
vmcisim_vm *vmcisim_vm_find(vmcisim *sim, const char *name); /* NULL if no such VM */
vmcisim    *vmcisim_vm_world(const vmcisim_vm *vm);

/* The calling simulated process: its VM (NULL outside a spawned thread), its world, whether it
 * was spawned as root. */
vmcisim_vm *vmcisim_self_vm(void);
vmcisim    *vmcisim_self_world(void);
int         vmcisim_self_is_root(void);

/* Trace: number of records so far, and a user annotation recorded as one record ("note"). */
uint64_t vmcisim_trace_count(const vmcisim *sim);
void     vmcisim_trace_note(vmcisim *sim, const char *text);

/* Deterministic-mode statistics (0 in realtime mode). */
struct vmcisim_stats {
    uint64_t sched_points;   /* scheduling points taken */
    uint64_t switches;       /* thread switches among them */
    uint64_t timer_jumps;    /* times the clock jumped to the next timer */
};
void vmcisim_get_stats(const vmcisim *sim, struct vmcisim_stats *out);
/* The deterministic scheduler in use, as given to vmcisim_config.sched ("random", "pct:3"). */
const char *vmcisim_sched_name(const vmcisim *sim);

/* Packet observer: called inside the world for every vsock packet as a capture would see it
 * (stream control packets, stream data moved through a queue pair, datagrams). Used by
 * `vmcisim run --pcap`. One observer per world; NULL removes it. */
enum vmcisim_packet_op {           /* as the vsockmon header's op (formats.md §1.1) */
    VMCISIM_PKT_UNKNOWN = 0,
    VMCISIM_PKT_CONNECT = 1,
    VMCISIM_PKT_DISCONNECT = 2,
    VMCISIM_PKT_CONTROL = 3,
    VMCISIM_PKT_PAYLOAD = 4,
};
struct vmcisim_packet {
    uint64_t time_ns;              /* simulated time */
    uint32_t src_cid, src_port, dst_cid, dst_port;
    int op;                        /* enum vmcisim_packet_op */
    int sock_type;                 /* 1 SOCK_STREAM, 2 SOCK_DGRAM */
    const void *hdr;               /* transport header (the 56-byte control packet, or a
                                      datagram's 24-byte VMCI datagram header) or NULL */
    uint32_t hdr_len;
    const void *payload;
    uint32_t payload_len;
};
typedef void (*vmcisim_packet_fn)(void *ctx, const struct vmcisim_packet *pkt);
void vmcisim_set_packet_observer(vmcisim *sim, vmcisim_packet_fn fn, void *ctx);

/* Fault knobs of the hypervisor (all zero: none). Every draw comes from the world's seed.
 * The datagram knobs apply to application datagrams (datagram sockets and other VMCI datagram
 * handles); stream control packets (resources 1 and 15), hypervisor services and event
 * datagrams are never touched, as on a real host, where only queues that are full lose them. */
struct vmcisim_faults {
    uint64_t dg_delay_min_ns;      /* each datagram is delivered after a delay drawn uniformly */
    uint64_t dg_delay_max_ns;      /*   from [min, max] (0, 0: at once) */
    double   dg_drop;              /* probability a datagram is lost (the sender sees success) */
    double   dg_duplicate;         /* probability a datagram is delivered twice */
    double   dg_reorder;           /* probability a datagram is held back behind the next ones */
    double   qp_alloc_fail;        /* probability a queue-pair create/attach fails (NO_MEM) */
    uint64_t hv_latency_ns;        /* simulated time added to every hypercall */
};
int vmcisim_set_faults(vmcisim *sim, const struct vmcisim_faults *faults); /* 0, or -1 EINVAL */
void vmcisim_get_faults(const vmcisim *sim, struct vmcisim_faults *out);

/* Holds (docs/finding-bugs.md): while a VM is held, the datagrams it sends and those sent to it
 * (stream notifications and handshakes included) wait in the hypervisor; the release delivers
 * them in sending order, delayed, never lost. 0, or -1 EINVAL (already held / not held / no
 * such VM). */
int vmcisim_vm_hold(vmcisim_vm *vm);
int vmcisim_vm_release(vmcisim_vm *vm);

/* The cost model (docs/finding-bugs.md): what moving data costs in simulated time. All zero (the
 * default) is a world where data moves in no time. VMCISIM_COST_PUBLISHED is a preset from
 * published VMCI figures. */
struct vmcisim_cost {
    uint64_t qp_byte_ps;     /* picoseconds per byte copied into a queue pair, spent by the
                                sender before the bytes become readable */
    uint64_t dgram_ns;       /* added to the delivery of each datagram crossing a VM boundary */
    uint64_t notify_ns;      /* added on top for stream control packets (notifications) */
    uint64_t hypercall_ns;   /* time a process spends in each hypercall */
};
/* 276 ps/byte: the 29 Gbit/s VM-to-VM VMCI stream throughput of VMware's "VMCI Socket
 * Performance" (2009); the three latencies are estimates (docs/finding-bugs.md). */
#define VMCISIM_COST_PUBLISHED {276, 10000, 5000, 1000}
int  vmcisim_set_cost(vmcisim *sim, const struct vmcisim_cost *cost);   /* 0, or -1 EINVAL */
void vmcisim_get_cost(const vmcisim *sim, struct vmcisim_cost *out);

/* An explicit scheduling point for simulated threads (e.g. inside a user spin loop). */
void vmcisim_yield(void);

/* Named events, as `mark` and `wait` in scenario files, so that threads order themselves
 * without polling a flag. vmcisim_mark sets an event of sim (NULL: the calling simulated
 * thread's world), from a simulated thread or from the main thread before or after
 * vmcisim_run; it stays set. vmcisim_wait_mark blocks the calling simulated thread until the
 * event is set (at once if it is); a wait that can never end is a deadlock whose report names
 * "mark 'EVENT'". Both: 0, or -1 with errno EINVAL (no world, empty or >= 128-byte name),
 * EPERM (wait outside a simulated thread, or mark from a thread of another world), ENOMEM. */
int vmcisim_mark(vmcisim *sim, const char *event);
int vmcisim_wait_mark(const char *event);

/* ---- simulated processes that behave like real ones ------------------------------------------
 * Inside one (a thread started by vmcisim_spawn*, or by such a thread): pthread_create adds a
 * simulated thread to it; mutexes, condition variables, semaphores and sleeps block as
 * simulated waits; exit/_exit end that process only; SIGPIPE is delivered to it; in
 * deterministic mode time/clock_gettime/gettimeofday read the simulated clock and
 * rand/random/getrandom draw from the seed. See docs/bring-your-own-program.md. */
typedef struct vmcisim_proc vmcisim_proc;   /* one simulated process; valid until vmcisim_destroy */

/* Runs main_fn(argc, argv) as a new simulated process of vm (argv is copied). NULL on error,
 * with the reason in vmcisim_error. vmcisim_spawn_main_root: the same, privileged. */
vmcisim_proc *vmcisim_spawn_main(vmcisim_vm *vm, const char *name,
                                 int (*main_fn)(int argc, char **argv), int argc, char **argv);
vmcisim_proc *vmcisim_spawn_main_root(vmcisim_vm *vm, const char *name,
                                      int (*main_fn)(int argc, char **argv), int argc,
                                      char **argv);
/* 0 and *status = the exit status (0..255, or 128+N when signal N ended it) once the process
 * has ended; -1 with errno EAGAIN while it still runs. */
int vmcisim_proc_status(const vmcisim_proc *p, int *status);
/* From a simulated thread: the next number of the world's seeded random stream. */
uint64_t vmcisim_random(void);

/* Coverage assertions (docs/finding-bugs.md). Called from a simulated thread; each returns cond.
 * An `always` that is false writes an "always-failed" trace record and is kept as the world's
 * first failure (vmcisim_always_failed); `sometimes` and `reachable` only count, so a sweep can
 * report the ones that never held. Names are at most VMCISIM_COV_NAME_MAX-1 characters. */
int  vmcisim_always(int cond, const char *name);
int  vmcisim_sometimes(int cond, const char *name);
void vmcisim_reachable(const char *name);

#define VMCISIM_COV_NAME_MAX 96
enum vmcisim_cov_kind { VMCISIM_COV_ALWAYS = 1, VMCISIM_COV_SOMETIMES = 2, VMCISIM_COV_REACHABLE = 3 };
struct vmcisim_cov_point {
    char     name[VMCISIM_COV_NAME_MAX];
    int      kind;                 /* enum vmcisim_cov_kind */
    uint64_t evals;                /* times the assertion was evaluated */
    uint64_t hits;                 /* times its condition held (reachable: times reached) */
    uint64_t fails;                /* always: times it did not hold */
};
/* The same from any thread, for a given world (e.g. checks made after vmcisim_run). */
int vmcisim_cov_record(vmcisim *sim, int kind, int cond, const char *name);
/* Copies up to max points (the stack's own first, then in first-use order); returns how many
 * the world has. */
size_t vmcisim_coverage(const vmcisim *sim, struct vmcisim_cov_point *out, size_t max);
/* The name of the first `always` that failed (and when, if when_ns), or NULL. */
const char *vmcisim_always_failed(const vmcisim *sim, uint64_t *when_ns);

#ifdef __cplusplus
}
#endif
#endif /* VMCISIM_H */
