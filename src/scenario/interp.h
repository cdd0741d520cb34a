/*
 * interp.h - what the parts of the interpreter share: one run of a script in one world
 * (interp.c), the statements of scripted processes (exec.c), expectations (expect.c) and the
 * built-in programs (builtin.c).
 *
 * Everything a simulated process uses lives in its struct scen_inst, owned by the run and freed
 * only after the world is destroyed: a process ended by a power off never returns from the
 * simulator call it is in, so nothing may live on its stack that must be freed.
 */
#ifndef VMCISIM_SCEN_INTERP_H
#define VMCISIM_SCEN_INTERP_H

#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"
#include "scenario/ast.h"
#include "scenario/scenario.h"
#include "vmcisim/vmci_sockets.h"
#include "vmcisim/vmcisim.h"

struct scen_run;
struct scen_clog;

/* ---- swarm.c --------------------------------------------------------------------------------- */
#define SCEN_SWARM_MAX_EVENTS 6
struct scen_swarm_event {
    uint64_t at_ns;
    int action;                  /* enum scen_action */
    int vm;                      /* index into scen_script.vms */
};
struct scen_swarm {
    struct scen_faults faults;   /* the knobs drawn on (mask) and their values */
    size_t nevents;
    struct scen_swarm_event ev[SCEN_SWARM_MAX_EVENTS];   /* in time order */
};
/* The profile of one seed: a function of the script and the seed alone. */
void scen_swarm_draw(const struct scen_script *sc, uint64_t seed, struct scen_swarm *sw);
/* As scenario text: "faults dgram-drop 0.05 hv-latency 1000us; at 1.5s suspend g1; ..." */
void scen_swarm_describe(const struct scen_script *sc, const struct scen_swarm *sw, char *buf,
                         size_t n);

/* One running instance of a process or program. */
struct scen_inst {
    struct scen_run *run;
    const struct scen_proc *proc;
    int instance;                /* 1-based */
    char name[SCEN_NAME_MAX + 24];
    vmcisim_vm *vm;
    int ended;                   /* atomic: returned, failed or killed */
    int cur_line;                /* the statement being run, for stuck-process reports */
    int *fds;                    /* per variable */
    struct sockaddr_vm *addrs;   /* per variable */
    unsigned char *buf;          /* scratch for reads and fills */
    size_t bufcap;
    int64_t counters[SCEN_NCOUNTERS];
    void *bstate;                /* a built-in's state (freed with the instance) */
    struct pollfd *pfds;         /* a server's poll array */
    unsigned char *obuf;         /* a server's replies */
    size_t obufcap;
    char wait_what[SCEN_NAME_MAX * 2 + 16]; /* what a `wait` waits for, for deadlock reports */
};

/* An `on EVENT` line, once it has fired. */
struct scen_on {
    struct scen_run *run;
    const struct scen_timed *tm;
    int fired;                   /* atomic */
};

struct scen_run {
    const struct scen_script *sc;
    vmcisim *sim;
    vmcisim_vm **vms;            /* per scen_script.vms */
    struct scen_inst *inst;
    size_t ninst;
    int *proc_done;              /* per process: instances that returned (atomic) */
    int *marks;                  /* per event: times marked (atomic) */
    struct scen_on *on;          /* per timed entry */
    int fg_left;                 /* atomic: foreground activities not yet ended */
    int stop;                    /* atomic: set once fg_left reaches 0; daemons then end */
    struct scen_clog *clogs;     /* `clog` helpers' state (interp.c) */
    int swarm;                   /* --swarm: the drawn profile below is in force */
    struct scen_swarm sw;
    sim_waitq swarm_q;           /* the swarm helper waits here for its next event */
    pthread_mutex_t mu;          /* the first failure */
    int failed;
    struct scen_result *res;
    struct scen_html *html;      /* --html: the run as a sequence diagram, or NULL */
    struct scen_pcap *pcap;      /* --pcap: the capture (a pcapng one takes notes), or NULL */
    /* `bridge` lines and `vmcisim serve` (serve.c) */
    const struct scen_run_opts *opts;
    struct bridge **bridges;     /* per scen_script.bridges */
    size_t nbridges;
    int ctl_fd;                  /* the control socket's listener, or -1 */
    int interrupted;             /* atomic: serve ended by its stop descriptor (a signal) */
    sim_timer limit_timer;       /* realtime: at the limit, ends the processes still running */
    int limit_stuck;             /* realtime: the first process it ended (instance + 1), or 0 */
    const char *artifacts;       /* exec: where programs' stdout/stderr go, or NULL */
};

/* ---- interp.c -------------------------------------------------------------------------------- */
/* Record a failure at line (the first one wins); returns -1. */
int scen_fail(struct scen_run *run, int line, const char *expected, const char *got,
              const char *context);
int scen_failed(struct scen_run *run);
void scen_mark(struct scen_run *run, int event);
/* Wait (polling simulated time) until event was marked; -1 if the run must end instead. */
int scen_wait_event(struct scen_inst *in, int event, int line);
/* 1 once this instance should stop: a daemon after the others are done, or the time limit. */
int scen_should_stop(struct scen_inst *in);
int scen_past_limit(struct scen_run *run);
/* 1 once the run has failed or passed its limit: every process then ends at its next step, so
 * a failed run ends soon instead of waiting out the limit. */
int scen_winding_down(struct scen_run *run);
int scen_do_action(struct scen_run *run, int action, int vm);   /* 0, or -1 with errno */
/* The action of a statement (clog needs its duration); 0, or -1 with errno. */
int scen_do_stmt_action(struct scen_run *run, const struct scen_stmt *st);
int scen_do_faults(struct scen_run *run, const struct scen_faults *f); /* 0, or -1 with errno */
uint64_t scen_now(struct scen_run *run);
void scen_count(struct scen_inst *in, int counter, int64_t n);
/* scratch buffer of at least n bytes (NULL if out of memory) */
unsigned char *scen_buf(struct scen_inst *in, size_t n);

/* ---- serve.c: bridges, the serve process and its control socket ---------------------------- */
/* Opens the file's bridges and the control socket, starts them and the serve process (before
 * vmcisim_run); prints the paths to opts->announce. 0, or a recorded failure (-1). */
int scen_serve_setup(struct scen_run *run);
void scen_serve_stop(struct scen_run *run);     /* stop the bridges (any thread) */
/* From a process of the run: returns once every bridge takes connections (or never will). */
void scen_serve_wait_bridges(struct scen_run *run);
void scen_serve_free(struct scen_run *run);     /* after vmcisim_destroy */
/* The foreground is done (interp.c's count). */
void scen_fg_done(struct scen_run *run);

/* ---- exec.c ---------------------------------------------------------------------------------- */
/* Runs statements; 0, or -1 once an expectation failed (the process then ends). */
int scen_exec_block(struct scen_inst *in, const struct scen_stmt *body, size_t n);
/* A world statement (action, faults, mark) run by the timeline or an `on` helper. */
int scen_exec_world(struct scen_run *run, const struct scen_stmt *st, const char *who);
/* The deterministic byte pattern `send s N bytes` sends: byte i of any stream. */
unsigned char scen_fill_byte(uint64_t i);
/* CRC-32C (scenario/checksum.h) of the pattern's first n bytes, as a source sends them. */
uint32_t scen_pattern_crc(uint64_t n);
void scen_fill(unsigned char *b, uint64_t off, size_t n);   /* n bytes of the pattern from off */
/* Resolves an address of the script for a process (in may be NULL for literals only). */
void scen_resolve_addr(struct scen_run *run, struct scen_inst *in, const struct scen_addr *a,
                       struct sockaddr_vm *out);

/* ---- expect.c -------------------------------------------------------------------------------- */
/* Compares a call's outcome with st->ex; 0 if it holds, else records the failure and -1.
 * rc/err: the return value and errno; data/n: the bytes read (reads); from: the source
 * address (recvfrom) or the address read (getsockname/getpeername). */
int scen_expect(struct scen_inst *in, const struct scen_stmt *st, long rc, int err,
                const void *data, size_t n, const struct sockaddr_vm *from);
void scen_describe_rc(long rc, int err, char *buf, size_t cap);

/* ---- exec_prog.c (an `exec` process; interp.c: its end) ----------------------------------- */
void scen_exec_program(struct scen_inst *in);
void scen_inst_end(struct scen_inst *in);

/* ---- builtin.c ------------------------------------------------------------------------------- */
void scen_builtin_run(struct scen_inst *in);

#endif
