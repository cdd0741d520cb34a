/*
 * world.c - the public face of a world (include/vmcisim.h): creation and teardown, VMs and
 * their lifecycle, processes, running, time and the trace hash.
 *
 * The layers above are stacked by src/assemble.c, which registers them here; the world knows
 * them only as registered layer operations. VM lifecycle changes are announced to the layers
 * (see sim_register_layer for the order) after the world has applied their effect on threads.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/world_internal.h"
#include "sim/alloc.h"
#include "sim/world_internal.h"

#define CID_FIRST_VM 3u

/* ---- errors ---------------------------------------------------------------------------------- */

void sim_set_error(vmcisim *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sim->err, sizeof sim->err, fmt, ap);
    va_end(ap);
}

const char *vmcisim_error(const vmcisim *sim)
{
    if (!sim)
        return "no world (vmcisim_create failed or was not called)";
    return sim->err;
}

/* ---- small accessors --------------------------------------------------------------------------- */

bool sim_is_realtime(const vmcisim *sim) { return sim->realtime; }
void sim_share_queues(vmcisim *sim) { __atomic_store_n(&sim->shared_queues, true, __ATOMIC_RELAXED); }
bool sim_queues_shared(const vmcisim *sim)
{
    return __atomic_load_n(&sim->shared_queues, __ATOMIC_RELAXED);
}
vmcisim_vm *sim_host(vmcisim *sim) { return sim->vms[0]; }

vmcisim_vm *sim_vm_by_cid(vmcisim *sim, uint32_t cid)
{
    for (size_t i = 0; i < sim->nvms; i++)
        if (sim->vms[i]->cid == cid && sim->vms[i]->state != VMCISIM_VM_POWERED_OFF)
            return sim->vms[i];
    return NULL;
}

int sim_register_layer(vmcisim *sim, const struct sim_layer_ops *ops, void *self)
{
    if (sim->nlayers == SIM_MAX_LAYERS)
        return -1;
    sim->layers[sim->nlayers].ops = ops;
    sim->layers[sim->nlayers].self = self;
    sim->nlayers++;
    return 0;
}

void *sim_layer_find(vmcisim *sim, const struct sim_layer_ops *ops)
{
    for (size_t i = 0; i < sim->nlayers; i++)
        if (sim->layers[i].ops == ops)
            return sim->layers[i].self;
    return NULL;
}

static void announce(vmcisim *sim, vmcisim_vm *vm, enum sim_vm_event ev)
{
    bool upward = ev == SIM_VM_CREATED || ev == SIM_VM_RESUME || ev == SIM_VM_FT_OFF;
    for (size_t k = 0; k < sim->nlayers; k++) {
        size_t i = upward ? k : sim->nlayers - 1 - k;
        if (sim->layers[i].ops->vm_event)
            sim->layers[i].ops->vm_event(sim->layers[i].self, vm, ev);
    }
}

void world_proc_ended(vmcisim *sim, sim_proc *p)
{
    p->ended = true;
    /* Processes that never gave a status keep the record they always had (trace hashes of
     * existing seeds do not move); exit(), main's return and signals add it. */
    if (p->status_set)
        sim_trace_vm(sim, p->vm, "exit", "pid=%u name=%s status=%d", p->pid, p->name,
                     p->status);
    else
        sim_trace_vm(sim, p->vm, "exit", "pid=%u name=%s%s", p->pid, p->name,
                     p->thread && p->thread->killed ? " killed=1" : "");
    for (size_t k = sim->nlayers; k-- > 0;)
        if (sim->layers[k].ops->proc_end)
            sim->layers[k].ops->proc_end(sim->layers[k].self, p);
}

/* ---- creation and teardown ------------------------------------------------------------------ */

static vmcisim_vm *vm_new(vmcisim *sim, const char *name, uint32_t cid, unsigned flags)
{
    vmcisim_vm **a = vmcisim_grow(sim->vms, &sim->vms_cap, sim->nvms, 8);
    if (!a)
        return NULL;
    sim->vms = a;
    vmcisim_vm *vm = vmcisim_calloc(1, sizeof *vm);
    if (!vm)
        return NULL;
    vm->sim = sim;
    snprintf(vm->name, sizeof vm->name, "%s", name);
    vm->cid = cid;
    vm->flags = flags;
    vm->state = VMCISIM_VM_RUNNING;
    vm->is_host = cid == VMCISIM_HOST_CID;
    vm->index = (uint32_t)sim->nvms;
    vm->kworker = sim_loop_create(sim, vm, "kworker");
    if (!vm->kworker) {
        free(vm);
        return NULL;
    }
    sim->vms[sim->nvms++] = vm;
    return vm;
}

vmcisim *sim_world_new(const struct vmcisim_config *cfg)
{
    vmcisim *sim = vmcisim_calloc(1, sizeof *sim);
    if (!sim)
        return NULL;
    if (cfg)
        sim->cfg = *cfg;
    sim->realtime = sim->cfg.realtime != 0;
    /* Adaptive: in realtime mode the world lock is held for short stretches by threads on
     * other CPUs; a taker that finds it held spins a little before it sleeps, since a sleep
     * costs a wake-up of its CPU (tens of us on a virtual machine) - the data path's two
     * takings per call were its main cost (docs/benchmarks.md). */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&sim->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sim->main_cv, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &sim->t0);
    rng_seed(sim, sim->cfg.seed);
    trace_init(sim);
    const char *filter =
        sim->cfg.trace_filter ? sim->cfg.trace_filter : getenv("VMCISIM_TRACE_FILTER");
    if (sim_trace_filter_parse(filter, &sim->trace_filter) != 0) {
        pthread_cond_destroy(&sim->main_cv);
        pthread_mutex_destroy(&sim->lock);
        free(sim);
        errno = EINVAL;   /* a filter that does not parse is refused, not ignored */
        return NULL;
    }
    sim->cfg.trace_filter = NULL;   /* parsed: the caller's string need not outlive the call */
    long payload = sim->cfg.trace_payload;
    if (payload == 0 && getenv("VMCISIM_TRACE_PAYLOAD"))
        payload = strtol(getenv("VMCISIM_TRACE_PAYLOAD"), NULL, 10);
    sim->trace_payload = payload <= 0                   ? 0
                         : payload > SIM_TRACE_PAYLOAD_MAX ? SIM_TRACE_PAYLOAD_MAX
                                                           : (size_t)payload;
    if (sched_policy_init(sim, sim->cfg.sched) != 0 || sched_pin_init(sim) != 0) {
        sim_trace_filter_free(sim->trace_filter);
        pthread_cond_destroy(&sim->main_cv);
        pthread_mutex_destroy(&sim->lock);
        free(sim);
        errno = EINVAL;
        return NULL;
    }
    sim->next_pid = 1;
    sim_cov_init(sim);

    const char *path = sim->cfg.trace_path ? sim->cfg.trace_path : getenv("VMCISIM_TRACE");
    if (path && *path) {
        if (strcmp(path, "-") == 0) {
            sim->trace_fp = stderr;
        } else {
            sim->trace_fp = fopen(path, "w");
            sim->trace_fp_owned = sim->trace_fp != NULL;
        }
    }
    /* The policy is named only when it is not the historical one, so that `random` runs keep
     * the trace hashes they always had. */
    bool named = !sim->realtime && sim->sched.policy != SIM_SCHED_RANDOM;
    sim_trace(sim, "world", "seed=%llu mode=%s%s%s", (unsigned long long)sim->cfg.seed,
              sim->realtime ? "realtime" : "deterministic", named ? " sched=" : "",
              named ? sim->sched.name : "");

    return sim;
}

vmcisim_vm *sim_world_add_host(vmcisim *sim)
{
    assert(sim->nvms == 0);
    return vm_new(sim, "host", VMCISIM_HOST_CID, VMCISIM_VM_TRUSTED);
}

void sim_world_ready(vmcisim *sim)
{
    assert(sim->nvms == 1 && sim->vms[0]->is_host);
    announce(sim, sim->vms[0], SIM_VM_CREATED);
    if (sim->cfg.cost)
        vmcisim_set_cost(sim, sim->cfg.cost);
    sim->cfg.cost = NULL; /* copied: the caller's struct need not outlive the call */
}

void vmcisim_destroy(vmcisim *sim)
{
    if (!sim)
        return;
    if (sim_self()) {
        /* A simulated thread cannot tear down the world it runs in. */
        sim_set_error(sim, "vmcisim_destroy called from a simulated thread");
        return;
    }
    sim->destroying = true;
    sched_kill_all(sim);
    if (sim->realtime)
        sim_loops_stop_rt(sim);
    sched_join_all(sim);
    for (size_t k = sim->nlayers; k-- > 0;)
        if (sim->layers[k].ops->destroy)
            sim->layers[k].ops->destroy(sim->layers[k].self);
    for (size_t i = 0; i < sim->nloops; i++)
        sim_loop_free(sim->loops[i]);
    free(sim->loops);
    for (size_t i = 0; i < sim->nvms; i++)
        free(sim->vms[i]);
    free(sim->vms);
    for (size_t i = 0; i < sim->nprocs; i++)
        sim_proc_free(sim->procs[i]);
    sim_addrs_free(sim);
    free(sim->procs);
    for (size_t i = 0; i < sim->nthreads; i++)
        sched_thread_free(sim->threads[i]);
    free(sim->threads);
    runq_free(sim);
    sim_heap_free(&sim->deadlines);
    sim_cov_free(sim);
    sim_trace_filter_free(sim->trace_filter);
    if (sim->trace_fp) {
        if (sim->trace_fp_owned)
            fclose(sim->trace_fp);
        else
            fflush(sim->trace_fp);
    }
    pthread_cond_destroy(&sim->main_cv);
    pthread_mutex_destroy(&sim->lock);
    free(sim);
}

/* ---- VMs ------------------------------------------------------------------------------------ */

vmcisim_vm *vmcisim_host(vmcisim *sim) { return sim && sim->nvms ? sim->vms[0] : NULL; }

uint32_t vmcisim_vm_cid(const vmcisim_vm *vm) { return vm ? vm->cid : VMCISIM_CID_ANY; }

static bool cid_used(vmcisim *sim, uint32_t cid)
{
    for (size_t i = 0; i < sim->nvms; i++)
        if (sim->vms[i]->cid == cid && sim->vms[i]->state != VMCISIM_VM_POWERED_OFF)
            return true;
    return false;
}

vmcisim_vm *vmcisim_vm_find(vmcisim *sim, const char *name)
{
    if (!sim || !name)
        return NULL;
    for (size_t i = 0; i < sim->nvms; i++)
        if (strcmp(sim->vms[i]->name, name) == 0)
            return sim->vms[i];
    return NULL;
}

vmcisim_vm *vmcisim_vm_create_ex(vmcisim *sim, const char *name, uint32_t cid, unsigned flags)
{
    if (!sim)
        return NULL;
    vmcisim_vm *vm = NULL;
    sim_enter(sim);
    if (!name || !*name || strlen(name) >= SIM_NAME_MAX) {
        sim_set_error(sim, "vm name must be 1..%d characters", SIM_NAME_MAX - 1);
    } else if (flags & ~(unsigned)(VMCISIM_VM_RESTRICTED | VMCISIM_VM_TRUSTED)) {
        sim_set_error(sim, "unknown VM flags 0x%x", flags);
    } else if (vmcisim_vm_find(sim, name)) {
        sim_set_error(sim, "a VM named '%s' already exists", name);
    } else if (cid != VMCISIM_CID_ANY && cid < CID_FIRST_VM) {
        sim_set_error(sim, "CID %u is reserved (0 hypervisor, 1 local, 2 host)", cid);
    } else if (cid != VMCISIM_CID_ANY && cid_used(sim, cid)) {
        sim_set_error(sim, "CID %u is already in use", cid);
    } else {
        if (cid == VMCISIM_CID_ANY) {
            cid = CID_FIRST_VM;
            while (cid_used(sim, cid) && cid != VMCISIM_CID_ANY)
                cid++;
        }
        if (cid == VMCISIM_CID_ANY) {
            sim_set_error(sim, "no free CID");
        } else {
            vm = vm_new(sim, name, cid, flags);
            if (!vm) {
                sim_set_error(sim, "out of memory creating VM '%s'", name);
            } else {
                sim_trace_vm(sim, vm, "vm-create", "name=%s cid=%u flags=%u", vm->name, cid,
                             flags);
                announce(sim, vm, SIM_VM_CREATED);
            }
        }
    }
    if (!vm)
        errno = EINVAL;
    sim_leave(sim);
    return vm;
}

vmcisim_vm *vmcisim_vm_create(vmcisim *sim, const char *name, uint32_t cid)
{
    return vmcisim_vm_create_ex(sim, name, cid, 0);
}

int vmcisim_vm_state(const vmcisim_vm *vm) { return vm ? vm->state : -1; }
int vmcisim_vm_in_fault_tolerance(const vmcisim_vm *vm) { return vm ? vm->fault_tolerance : 0; }
const char *vmcisim_vm_name(const vmcisim_vm *vm) { return vm ? vm->name : NULL; }
vmcisim *vmcisim_vm_world(const vmcisim_vm *vm) { return vm ? vm->sim : NULL; }

/* ---- processes ------------------------------------------------------------------------------ */

/* A new process whose main thread runs fn(arg). Takes ownership of argv (a main_fn's copied
 * arguments, or NULL). The process, or NULL with errno EINVAL and vmcisim_error set. */
sim_proc *world_spawn(vmcisim_vm *vm, const char *name, void (*fn)(void *), void *arg,
                      bool root, int (*main_fn)(int, char **), int argc, char **argv)
{
    if (!vm) {
        free(argv);
        errno = EINVAL;
        return NULL;
    }
    vmcisim *sim = vm->sim;
    sim_proc *ret = NULL;
    sim_proc **procs;
    sim_enter(sim);
    if (!fn) {
        sim_set_error(sim, "spawn: no function");
    } else if (vm->state == VMCISIM_VM_POWERED_OFF) {
        sim_set_error(sim, "spawn: VM '%s' is powered off", vm->name);
    } else if (sim->destroying) {
        sim_set_error(sim, "spawn: the world is being destroyed");
    } else if (!(procs = vmcisim_grow(sim->procs, &sim->procs_cap, sim->nprocs, 16))) {
        sim_set_error(sim, "spawn: out of memory");
    } else {
        sim->procs = procs;
        sim_proc *p = vmcisim_calloc(1, sizeof *p);
        if (!p) {
            sim_set_error(sim, "spawn: out of memory");
        } else {
            p->pid = sim->next_pid++;
            snprintf(p->name, sizeof p->name, "%s", name && *name ? name : "proc");
            p->vm = vm;
            p->root = root;
            p->main_fn = main_fn;
            p->argc = argc;
            p->argv = argv;
            argv = NULL;
            p->thread = sim_thread_new(sim, vm, p, p->name, false, fn, arg);
            if (!p->thread) {
                free(p->argv);
                free(p);
                sim_set_error(sim, "spawn: out of memory");
            } else {
                p->nlive = 1;
                sim->procs[sim->nprocs++] = p;
                sim_trace_vm(sim, vm, "spawn", "pid=%u name=%s root=%d", p->pid, p->name,
                             root ? 1 : 0);
                if (sim_thread_start(p->thread) != 0) {
                    sim_set_error(sim, "spawn: cannot start a thread");
                    p->ended = true;
                    p->nlive = 0;
                } else {
                    ret = p;
                }
            }
        }
    }
    free(argv);
    if (!ret)
        errno = EINVAL;
    sim_leave(sim);
    return ret;
}

static int spawn(vmcisim_vm *vm, const char *name, void (*fn)(void *), void *arg, bool root)
{
    return world_spawn(vm, name, fn, arg, root, NULL, 0, NULL) ? 0 : -1;
}

int vmcisim_spawn(vmcisim_vm *vm, const char *name, void (*fn)(void *arg), void *arg)
{
    return spawn(vm, name, fn, arg, false);
}

int vmcisim_spawn_root(vmcisim_vm *vm, const char *name, void (*fn)(void *arg), void *arg)
{
    return spawn(vm, name, fn, arg, true);
}

vmcisim_vm *vmcisim_self_vm(void)
{
    sim_thread *t = sim_self();
    return t ? t->vm : NULL;
}

vmcisim *vmcisim_self_world(void)
{
    sim_thread *t = sim_self();
    return t ? t->sim : NULL;
}

int vmcisim_self_is_root(void)
{
    sim_thread *t = sim_self();
    return t && t->proc && t->proc->root;
}

/* ---- running, time, trace -------------------------------------------------------------------- */

int vmcisim_run(vmcisim *sim)
{
    if (!sim) {
        errno = EINVAL;
        return -1;
    }
    if (sim_self()) {
        sim_set_error(sim, "vmcisim_run called from a simulated thread");
        errno = EINVAL;
        return -1;
    }
    return sim->realtime ? sched_run_rt(sim) : sched_run_det(sim);
}

void vmcisim_sleep(uint64_t ns)
{
    sim_thread *self = sim_self();
    if (!self)
        return;
    vmcisim *sim = self->sim;
    sim_waitq q = {0};
    sim_enter(sim);
    sim_trace(sim, "sleep", "ns=%llu", (unsigned long long)ns);
    uint64_t deadline = sim_deadline_after(sim, ns);
    while (sim_wait(&q, deadline, "sleep") == 0)
        ;
    sim_leave(sim);
}

int sim_sleep_interruptible(uint64_t ns, uint64_t *left_ns)
{
    sim_thread *self = sim_self();
    *left_ns = 0;
    if (!self)
        return 0;
    vmcisim *sim = self->sim;
    sim_waitq q = {0};
    sim_enter(sim);
    sim_trace(sim, "sleep", "ns=%llu", (unsigned long long)ns);
    uint64_t deadline = sim_deadline_after(sim, ns);
    int rc = 0;
    for (;;) { /* without a signal, the very waits of vmcisim_sleep */
        if (self->sig_pending) {
            uint64_t now = sim_now(sim);
            *left_ns = deadline > now ? deadline - now : 0;
            rc = EINTR;
            break;
        }
        if (sim_wait(&q, deadline, "sleep") != 0)
            break;
    }
    sim_leave(sim);
    return rc;
}

uint64_t vmcisim_now(const vmcisim *sim) { return sim ? sim_now(sim) : 0; }
uint64_t vmcisim_trace_hash(const vmcisim *sim) { return sim ? sim->trace_hash : 0; }
uint64_t vmcisim_trace_count(const vmcisim *sim) { return sim ? sim->trace_count : 0; }

void vmcisim_trace_note(vmcisim *sim, const char *text)
{
    if (!sim)
        return;
    sim_enter(sim);
    sim_trace(sim, "note", "%s", text ? text : "");
    sim_leave(sim);
}

void vmcisim_set_packet_observer(vmcisim *sim, vmcisim_packet_fn fn, void *ctx)
{
    if (!sim)
        return;
    sim_enter(sim);
    sim->pkt_fn = fn;
    sim->pkt_ctx = ctx;
    sim_leave(sim);
}

bool sim_observe_packet_wanted(const vmcisim *sim) { return sim->pkt_fn != NULL; }

void sim_observe_packet(vmcisim *sim, struct vmcisim_packet *pkt)
{
    if (!sim->pkt_fn)
        return;
    pkt->time_ns = sim_now(sim);
    sim->pkt_fn(sim->pkt_ctx, pkt);
}

void sim_set_delivery_observer(vmcisim *sim, vmcisim_packet_fn fn, void *ctx)
{
    sim->dlv_fn = fn;
    sim->dlv_ctx = ctx;
}

bool sim_observe_delivery_wanted(const vmcisim *sim) { return sim->dlv_fn != NULL; }

void sim_observe_delivery(vmcisim *sim, struct vmcisim_packet *pkt)
{
    if (!sim->dlv_fn)
        return;
    pkt->time_ns = sim_now(sim);
    sim->dlv_fn(sim->dlv_ctx, pkt);
}

void vmcisim_get_stats(const vmcisim *sim, struct vmcisim_stats *out)
{
    if (sim && out)
        *out = sim->stats;
}

const char *vmcisim_sched_name(const vmcisim *sim)
{
    return !sim ? "" : sim->realtime ? "realtime" : sim->sched.name;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

static int lifecycle_refuse(vmcisim *sim, vmcisim_vm *vm, const char *op, const char *why)
{
    sim_set_error(sim, "%s of VM '%s': %s", op, vm->name, why);
    sim_trace_vm(sim, vm, "lifecycle-refused", "op=%s why=%s", op, why);
    sim_leave(sim);
    errno = EINVAL;
    return -1;
}

int vmcisim_vm_suspend(vmcisim_vm *vm)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    sim_enter(sim);
    if (vm->is_host)
        return lifecycle_refuse(sim, vm, "suspend", "the host cannot be suspended");
    if (vm->state != VMCISIM_VM_RUNNING)
        return lifecycle_refuse(sim, vm, "suspend", "VM is not running");
    vm->state = VMCISIM_VM_SUSPENDED;
    sched_vm_state_changed(sim, vm);
    sim_trace_vm(sim, vm, "vm-suspend", "cid=%u", vm->cid);
    announce(sim, vm, SIM_VM_SUSPEND);
    sched_vm_state_changed(sim, vm);
    sched_self_check(sim);
    sim_leave(sim);
    return 0;
}

int vmcisim_vm_resume(vmcisim_vm *vm)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    sim_enter(sim);
    if (vm->state != VMCISIM_VM_SUSPENDED)
        return lifecycle_refuse(sim, vm, "resume", "VM is not suspended");
    vm->state = VMCISIM_VM_RUNNING;
    sched_vm_state_changed(sim, vm);
    sim_trace_vm(sim, vm, "vm-resume", "cid=%u", vm->cid);
    announce(sim, vm, SIM_VM_RESUME);
    sched_vm_state_changed(sim, vm);
    sim_leave(sim);
    return 0;
}

int vmcisim_vm_migrate(vmcisim_vm *vm)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    sim_enter(sim);
    if (vm->is_host)
        return lifecycle_refuse(sim, vm, "migrate", "the host cannot be migrated");
    if (vm->state != VMCISIM_VM_RUNNING)
        return lifecycle_refuse(sim, vm, "migrate", "VM is not running");
    sim_trace_vm(sim, vm, "vm-migrate", "cid=%u", vm->cid);
    announce(sim, vm, SIM_VM_MIGRATE);
    sim_leave(sim);
    return 0;
}

int vmcisim_vm_fault_tolerance(vmcisim_vm *vm, int on)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    on = on != 0;
    sim_enter(sim);
    if (vm->is_host)
        return lifecycle_refuse(sim, vm, "fault tolerance", "not for the host");
    if (vm->state == VMCISIM_VM_POWERED_OFF)
        return lifecycle_refuse(sim, vm, "fault tolerance", "VM is powered off");
    if (vm->fault_tolerance == on)
        return lifecycle_refuse(sim, vm, "fault tolerance",
                                on ? "already on" : "already off");
    vm->fault_tolerance = on;
    sim_trace_vm(sim, vm, on ? "vm-ft-on" : "vm-ft-off", "cid=%u", vm->cid);
    announce(sim, vm, on ? SIM_VM_FT_ON : SIM_VM_FT_OFF);
    sim_leave(sim);
    return 0;
}

void sim_kill_other_procs_locked(vmcisim *sim)
{
    sim_thread *self = sim_self();
    assert(sim->realtime && self && self->sim == sim);
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (t != self && t->proc && !t->daemon)
            sim_kill_thread(t);
    }
}

void sim_kill_other_procs(vmcisim *sim)
{
    sim_enter(sim);
    sim_kill_other_procs_locked(sim);
    sim_leave(sim);
}

int vmcisim_vm_power_off(vmcisim_vm *vm)
{
    if (!vm) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = vm->sim;
    sim_enter(sim);
    if (vm->is_host)
        return lifecycle_refuse(sim, vm, "power off", "the host cannot be powered off");
    if (vm->state == VMCISIM_VM_POWERED_OFF)
        return lifecycle_refuse(sim, vm, "power off", "VM is already powered off");
    sim_thread *self = sim_self();
    bool self_inside = self && self->sim == sim && self->vm == vm;
    vm->state = VMCISIM_VM_POWERED_OFF;
    sched_vm_state_changed(sim, vm);
    sim_trace_vm(sim, vm, "vm-power-off", "cid=%u", vm->cid);
    /* End the VM's threads where they stand (in creation order), then tear its state down. */
    for (size_t i = 0; i < sim->nthreads; i++) {
        sim_thread *t = sim->threads[i];
        if (t->vm == vm && t != self && !t->daemon)
            sim_kill_thread(t);
    }
    announce(sim, vm, SIM_VM_POWER_OFF);
    sim_loop_kill(vm->kworker);
    sched_vm_state_changed(sim, vm);
    if (self_inside) {
        self->killed = true;
        if (!self->counted_dead) {
            self->counted_dead = true;
            if (self->proc) {
                sim->live_procs--;
                sim_proc_thread_ended(sim, self);
            }
        }
        sim_unwind_self();
    }
    sim_leave(sim);
    return 0;
}
