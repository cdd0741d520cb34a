/*
 * world.c - the exec layer's state in a world: the programs and channels it made (freed at
 * teardown), their children's ends (reaped once, killed first when the world ends them), and
 * the VM events that reach the children directly (realtime suspend/resume).
 *
 * Registered as a layer of the world on first use (sim_register_layer), so that a process's
 * end and the world's teardown reach it like any layer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/exec_internal.h"
#include "posix/real.h"
#include "sim/alloc.h"

/* ---- the world's list of programs (freed at teardown) ---------------------------------------- */

struct exec_world {
    struct exec_proc *procs;
    struct exec_chan *chans;
};

static void world_destroy(void *self)
{
    struct exec_world *w = self;
    for (struct exec_proc *p = w->procs, *n; p; p = n) {
        n = p->next;
        exec_reap(p, true);
        exec_itimer_stop(p); /* before the loops go (they are freed after the layers) */
        exec_epolls_free(p);
        free(p);
    }
    for (struct exec_chan *c = w->chans, *n; c; c = n) {
        n = c->next;
        if (c->sock >= 0)
            REAL(close)(c->sock);
        if (c->a)
            munmap(c->a, sizeof *c->a);
        free(c);
    }
    free(w);
}

static void world_proc_end(void *self, sim_proc *sp)
{
    /* The simulated process ended (the last proxy returned or was killed): the child goes with
     * it, as every thread of an in-process program does. */
    struct exec_world *w = self;
    for (struct exec_proc *p = w->procs; p; p = p->next)
        if (p->sp == sp) {
            exec_itimer_stop(p);
            exec_reap(p, true);
            exec_epolls_drop(p, false); /* killed: its instances wait for the teardown */
        }
}

static void world_vm_event(void *self, vmcisim_vm *vm, enum sim_vm_event ev)
{
    /* Realtime: a suspended VM's programs stop computing too (deterministic mode needs
     * nothing: a program runs only while its proxy has the turn, which a suspended VM's
     * threads never get). */
    struct exec_world *w = self;
    if (!sim_is_realtime(vm->sim) || (ev != SIM_VM_SUSPEND && ev != SIM_VM_RESUME))
        return;
    for (struct exec_proc *p = w->procs; p; p = p->next)
        if (p->sp->vm == vm && !__atomic_load_n(&p->reaping, __ATOMIC_ACQUIRE))
            kill(p->pid, ev == SIM_VM_SUSPEND ? SIGSTOP : SIGCONT);
}

static const struct sim_layer_ops exec_layer = {.name = "exec",
                                                .vm_event = world_vm_event,
                                                .proc_end = world_proc_end,
                                                .destroy = world_destroy};

struct exec_world *exec_world_of(vmcisim *sim)
{
    sim_lock(sim);
    struct exec_world *w = sim_layer_find(sim, &exec_layer);
    if (!w) {
        w = vmcisim_calloc(1, sizeof *w);
        if (w && sim_register_layer(sim, &exec_layer, w) != 0) {
            free(w);
            w = NULL;
        }
    }
    sim_unlock(sim);
    return w;
}

void exec_world_add(vmcisim *sim, struct exec_proc *p, struct exec_chan *c)
{
    struct exec_world *w = sim_layer_find(sim, &exec_layer);
    sim_lock(sim);
    if (p) {
        p->next = w->procs;
        w->procs = p;
        /* realtime: queues from now on in memory the programs can map (src/preload/fast.c);
         * VMCISIM_EXEC_MAP=0 keeps them the world's own (every byte then goes by a call into
         * the world: to tell a fast-path problem from another one). */
        const char *map = getenv("VMCISIM_EXEC_MAP");
        if (sim_is_realtime(sim) && !(map && strcmp(map, "0") == 0))
            sim_share_queues(sim);
    }
    if (c) {
        c->next = w->chans;
        w->chans = c;
    }
    sim_unlock(sim);
}

/* A channel: a socket pair (the world keeps s[0]) and a shared area. */
struct exec_chan *exec_chan_new(vmcisim *sim, int child_fds[2])
{
    struct exec_chan *c = vmcisim_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sock = -1;
    int s[2];
    int m = memfd_create("vmcisim-exec", MFD_CLOEXEC);
    if (m < 0 || ftruncate(m, sizeof *c->a) != 0 ||
        REAL(socketpair)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0) {
        if (m >= 0)
            REAL(close)(m);
        free(c);
        return NULL;
    }
    c->a = mmap(NULL, sizeof *c->a, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    if (c->a == MAP_FAILED) {
        REAL(close)(m);
        REAL(close)(s[0]);
        REAL(close)(s[1]);
        free(c);
        return NULL;
    }
    c->a->magic = XP_MAGIC;
    c->a->version = XP_VERSION;
    c->sock = s[0];
    child_fds[0] = s[1];
    child_fds[1] = m;
    exec_world_add(sim, NULL, c);
    return c;
}

/* ---- the child's end -------------------------------------------------------------------------- */

void exec_reap(struct exec_proc *p, bool kill_first)
{
    if (__atomic_exchange_n(&p->reaping, 1, __ATOMIC_SEQ_CST)) {
        while (!__atomic_load_n(&p->reaped, __ATOMIC_ACQUIRE))
            REAL(sched_yield)();
        return;
    }
    if (kill_first)
        kill(p->pid, SIGKILL);
    int st = 0;
    pid_t r;
    do
        r = waitpid(p->pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r == p->pid && WIFEXITED(st))
        p->status = WEXITSTATUS(st);
    else if (r == p->pid && WIFSIGNALED(st))
        p->status = 128 + WTERMSIG(st);
    else
        p->status = 128 + SIGKILL;
    __atomic_store_n(&p->reaped, 1, __ATOMIC_RELEASE);
}

int exec_ended(const struct exec_proc *p) { return __atomic_load_n(&p->reaped, __ATOMIC_ACQUIRE); }

int exec_status(struct exec_proc *p, int *status)
{
    if (!__atomic_load_n(&p->reaped, __ATOMIC_ACQUIRE))
        exec_reap(p, true); /* asked before the child ended: the world ended it */
    *status = p->status;
    return 0;
}
