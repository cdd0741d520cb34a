/*
 * proc.c - the process model: a simulated process with many threads, its end and exit status,
 * and the public vmcisim_spawn_main / vmcisim_proc_status / vmcisim_random.
 *
 * A process is a set of simulated threads of one VM. Its main thread is the one
 * vmcisim_spawn* started; pthread_create (src/posix/threads.c) adds threads through
 * sim_proc_thread_create. Every thread is a real pthread scheduled by the world like any other,
 * so each keeps its own errno and thread-local variables.
 *
 * How a process ends (as a Linux process does, seen from the program and from its peers):
 *  - its main thread returns (main_fn's result is the status; a plain vmcisim_spawn function
 *    gives none, i.e. 0), or a thread calls exit(): the other threads are ended where they
 *    stand (sim_kill_thread) and the caller unwinds;
 *  - a signal (SIGPIPE by default): the same with status 128+N;
 *  - VM power-off: every thread is killed, status 128+9.
 * When its last thread has ended, world_proc_ended tells the layers (the sockets layer closes
 * its descriptors as at process exit) and the status is kept for vmcisim_proc_status.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/world_internal.h"

sim_thread *sim_self_proc_thread(void)
{
    sim_thread *t = sim_self();
    return t && t->proc ? t : NULL;
}

/* ---- ending ------------------------------------------------------------------------------- */

/* End every live thread of p but the caller, in creation order (so the order is the seed's). */
static void kill_others(vmcisim *sim, sim_proc *p, sim_thread *self)
{
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (t->proc == p && t != self && t->state != T_DONE && !t->killed)
            sim_kill_thread(t);
    }
}

static void pthread_main(void *arg);

/* Called (inside the world) once for each thread of a process when it stops counting as alive:
 * it returned, unwound, or was killed. */
void sim_proc_thread_ended(vmcisim *sim, sim_thread *t)
{
    sim_proc *p = t->proc;
    assert(p && p->nlive > 0);
    p->nlive--;
    if (t->killed && !p->exiting)
        p->killed = true; /* by the world: power off */
    if (t->fn == pthread_main) {
        struct sim_pthread *r = t->arg;
        r->done = true;
        sim_wake_all(&r->joinq);
    }
    if (t == p->thread && !t->killed && !p->main_left && !p->exiting && p->nlive > 0) {
        /* main returned: the process exits, its other threads end with it */
        p->exiting = true;
        kill_others(sim, p, t);
    }
    if (p->nlive == 0)
        world_proc_ended(sim, p);
}

static void set_status(sim_proc *p, int status)
{
    if (!p->status_set) {
        p->status_set = true;
        p->status = status;
    }
}

static __attribute__((noreturn)) void exit_self(int status, const char *why)
{
    sim_thread *self = sim_self_proc_thread();
    assert(self);
    vmcisim *sim = self->sim;
    sim_enter(sim);
    sim_proc *p = self->proc;
    set_status(p, status);
    sim_trace(sim, "proc-exit", "pid=%u status=%d by=%s", p->pid, p->status, why);
    p->exiting = true;
    kill_others(sim, p, self);
    sim_unwind_self(); /* counts this thread; the last one ends the process */
}

void sim_proc_exit(int status) { exit_self(status & 0xff, "exit"); }

void sim_proc_exit_signal(int sig) { exit_self(128 + sig, "signal"); }

void sim_proc_free(sim_proc *p)
{
    for (size_t i = 0; i < p->npthreads; i++)
        free(p->pthreads[i]);
    free(p->pthreads);
    free(p->argv);
    free(p);
}

/* ---- threads of a process ------------------------------------------------------------------- */

static void pthread_main(void *arg)
{
    struct sim_pthread *r = arg;
    r->ret = r->start(r->arg);
}

int sim_proc_thread_create(pthread_t *out, bool detached, void *(*start)(void *), void *arg)
{
    sim_thread *self = sim_self_proc_thread();
    assert(self);
    vmcisim *sim = self->sim;
    sim_proc *p = self->proc;
    struct sim_pthread *r = vmcisim_calloc(1, sizeof *r);
    if (!r)
        return EAGAIN;
    r->start = start;
    r->arg = arg;
    r->detached = detached;
    int rc = 0;
    sim_enter(sim);
    if (p->exiting || sim->destroying) {
        rc = EAGAIN;
    } else if (p->npthreads == p->pthreads_cap) {
        size_t cap = p->pthreads_cap ? p->pthreads_cap * 2 : 8;
        struct sim_pthread **a = vmcisim_realloc(p->pthreads, cap * sizeof *a);
        if (!a)
            rc = EAGAIN;
        else {
            p->pthreads = a;
            p->pthreads_cap = cap;
        }
    }
    if (rc == 0) {
        char name[SIM_NAME_MAX];
        snprintf(name, sizeof name, "%.*s.%zu", SIM_NAME_MAX - 12, p->name, p->npthreads + 1);
        r->t = sim_thread_new(sim, self->vm, p, name, false, pthread_main, r);
        if (!r->t) {
            rc = EAGAIN;
        } else {
            p->pthreads[p->npthreads++] = r;
            p->nlive++;
            sim_trace(sim, "thread-create", "pid=%u thread=%s#%u", p->pid, r->t->name, r->t->id);
            if (sim_thread_start(r->t) != 0) {
                /* sim_thread_start already marked it dead and uncounted the world's count */
                p->nlive--;
                r->done = true;
                rc = EAGAIN;
            } else {
                *out = r->t->pt;
            }
        }
    }
    sim_leave(sim);
    if (rc != 0 && (!r->t))
        free(r);
    return rc;
}

struct sim_pthread *sim_proc_find_pthread(pthread_t pt)
{
    sim_thread *self = sim_self_proc_thread();
    if (!self)
        return NULL;
    sim_proc *p = self->proc;
    struct sim_pthread *found = NULL;
    sim_lock(self->sim);
    for (size_t i = 0; i < p->npthreads && !found; i++) {
        struct sim_pthread *r = p->pthreads[i];
        if (r->t->pt_started && !r->t->joined && pthread_equal(r->t->pt, pt))
            found = r;
    }
    sim_unlock(self->sim);
    return found;
}

int sim_proc_join(struct sim_pthread *r, void **ret)
{
    sim_thread *self = sim_self_proc_thread();
    assert(self);
    vmcisim *sim = self->sim;
    if (r->t == self)
        return EDEADLK;
    sim_enter(sim);
    if (r->detached || r->join_claimed) {
        sim_leave(sim);
        return EINVAL;
    }
    r->join_claimed = true;
    while (!r->done)
        sim_wait(&r->joinq, SIM_NO_DEADLINE, "pthread_join");
    /* It has ended in the world; its pthread is leaving the trampoline. Reap it here so the
     * world's teardown does not join it a second time. */
    pthread_t pt = r->t->pt;
    r->t->joined = true;
    void *v = r->t->killed ? PTHREAD_CANCELED : r->ret;
    sim_leave(sim);
    pthread_join(pt, NULL);
    if (ret)
        *ret = v;
    return 0;
}

int sim_proc_detach(struct sim_pthread *r)
{
    sim_thread *self = sim_self_proc_thread();
    assert(self);
    int rc = 0;
    sim_lock(self->sim);
    /* The pthread stays joinable underneath: the world reaps it at teardown. */
    if (r->detached || r->join_claimed)
        rc = EINVAL;
    else
        r->detached = true;
    sim_unlock(self->sim);
    return rc;
}

void sim_proc_thread_exit(void *ret)
{
    sim_thread *self = sim_self_proc_thread();
    assert(self);
    vmcisim *sim = self->sim;
    sim_enter(sim);
    if (self == self->proc->thread)
        self->proc->main_left = true; /* as in Linux: the process lives on in its threads */
    else
        ((struct sim_pthread *)self->arg)->ret = ret;
    sim_unwind_self();
}

/* ---- public API ------------------------------------------------------------------------------ */

static void main_trampoline(void *arg)
{
    (void)arg;
    sim_thread *self = sim_self_proc_thread();
    sim_proc *p = self->proc;
    int status = p->main_fn(p->argc, p->argv);
    vmcisim *sim = self->sim;
    sim_lock(sim);
    set_status(p, status & 0xff);
    sim_unlock(sim);
    /* returning ends the process: sim_proc_thread_ended ends the other threads */
}

static vmcisim_proc *spawn_main(vmcisim_vm *vm, const char *name, int (*main_fn)(int, char **),
                                int argc, char **argv, bool root)
{
    if (!vm || !main_fn || argc < 0 || (argc > 0 && !argv)) {
        if (vm)
            sim_set_error(vm->sim, "spawn_main: %s", !main_fn ? "no main function"
                                                               : "argc/argv do not match");
        errno = EINVAL;
        return NULL;
    }
    /* One block: argc+1 pointers, then the strings. */
    size_t bytes = ((size_t)argc + 1) * sizeof(char *);
    for (int i = 0; i < argc; i++) {
        if (!argv[i]) {
            sim_set_error(vm->sim, "spawn_main: argv[%d] is NULL", i);
            errno = EINVAL;
            return NULL;
        }
        bytes += strlen(argv[i]) + 1;
    }
    char **copy = vmcisim_malloc(bytes);
    if (!copy) {
        sim_set_error(vm->sim, "spawn_main: out of memory");
        errno = ENOMEM;
        return NULL;
    }
    char *s = (char *)(copy + argc + 1);
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(s, argv[i], n);
        copy[i] = s;
        s += n;
    }
    copy[argc] = NULL;
    sim_proc *p = world_spawn(vm, name, main_trampoline, NULL, root, main_fn, argc, copy);
    return (vmcisim_proc *)p;
}

vmcisim_proc *vmcisim_spawn_main(vmcisim_vm *vm, const char *name,
                                 int (*main_fn)(int argc, char **argv), int argc, char **argv)
{
    return spawn_main(vm, name, main_fn, argc, argv, false);
}

vmcisim_proc *vmcisim_spawn_main_root(vmcisim_vm *vm, const char *name,
                                      int (*main_fn)(int argc, char **argv), int argc,
                                      char **argv)
{
    return spawn_main(vm, name, main_fn, argc, argv, true);
}

int vmcisim_proc_status(const vmcisim_proc *vp, int *status)
{
    const sim_proc *p = (const sim_proc *)vp;
    if (!p) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = p->vm->sim;
    sim_lock(sim);
    bool ended = p->ended;
    int st = p->status_set ? p->status : p->killed ? 128 + SIGKILL : 0;
    sim_unlock(sim);
    if (!ended) {
        errno = EAGAIN;
        return -1;
    }
    if (status)
        *status = st;
    return 0;
}

uint64_t vmcisim_random(void)
{
    sim_thread *self = sim_self();
    if (!self) {
        errno = EPERM;
        return 0;
    }
    sim_lock(self->sim);
    uint64_t v = sim_rand(self->sim);
    sim_unlock(self->sim);
    return v;
}
