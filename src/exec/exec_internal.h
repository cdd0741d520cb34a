/*
 * exec_internal.h - what the files of src/exec share: an exec'd program and its channels.
 */
#ifndef VMCISIM_EXEC_INTERNAL_H
#define VMCISIM_EXEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "preload/exec_proto.h"
#include "sim/sim.h"

struct exec_chan {
    struct exec_proc *proc;
    int sock;                   /* the world's end of the socket (descriptors, the child's death) */
    struct xp_area *a;          /* the shared area (request, reply, futex doorbell) */
    uint32_t seen_req;          /* the area's req_seq at the last request taken */
    sim_thread *thread;         /* the proxy's simulated thread, once it serves */
    struct exec_chan *next;     /* the world's list (freed at teardown) */
};

struct exec_proc {
    vmcisim *sim;
    sim_proc *sp;
    pid_t pid;
    struct exec_chan *main;     /* the main thread's channel */
    uint32_t wake_seq;          /* address waits: bumped by every wake (under sim_lock) */
    int reaping, reaped;        /* atomic */
    int status;                 /* valid once reaped */
    uint64_t requests;          /* calls served (each is a switch into the world and back) */
    bool direct;                /* the world copies from and to the program's memory itself */
    /* alarm/setitimer(ITIMER_REAL) in deterministic mode (itimer.c), under the world lock */
    sim_timer itimer;
    bool itimer_ready;
    uint64_t it_deadline, it_interval;
    struct exec_epoll *epolls;  /* the world's copies of its epoll descriptors (epolls.c) */
    size_t n_epolls, cap_epolls;
    int ep_lock;                /* atomic: guards epolls */
    struct exec_proc *next;
};

/* The world's exec state, made (and registered as a layer) on first use; NULL if no room. */
struct exec_world *exec_world_of(vmcisim *sim);
void exec_world_add(vmcisim *sim, struct exec_proc *p, struct exec_chan *c);
/* A new channel; child_fds = the child's ends (socket, memfd), both close-on-exec. */
struct exec_chan *exec_chan_new(vmcisim *sim, int child_fds[2]);
/* The program's ITIMER_REAL (itimer.c): old value and interval out; set: the new ones (value 0
 * disarms). exec_itimer_stop: disarmed for good (the process ended, the world ends). */
int64_t exec_itimer(struct exec_proc *p, bool set, uint64_t value_ns, uint64_t interval_ns,
                    uint64_t *old_value, uint64_t *old_interval);
void exec_itimer_stop(struct exec_proc *p);
/* Wait for the child (killing it first if asked) and keep its status; once. */
void exec_reap(struct exec_proc *p, bool kill_first);

/* epolls.c: the world's copy of the program's epoll descriptor pfd, for sockepoll. *sent: a
 * copy that came with this request, or -1; set to -1 when kept (else the caller closes it).
 * -1 with errno EBADF when the world has none. */
int exec_epoll_get(struct exec_proc *p, int pfd, int *sent);
/* The program closed pfd: its instance and the world's copy go. */
void exec_epoll_close(struct exec_proc *p, int pfd);
/* Every copy of the program closed (in_world: on a proxy thread, the instances go too). */
void exec_epolls_drop(struct exec_proc *p, bool in_world);
void exec_epolls_free(struct exec_proc *p);

#endif
