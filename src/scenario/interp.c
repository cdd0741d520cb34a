/*
 * interp.c - one run of a scenario: build the world it describes, spawn its processes, the
 * fault timeline and event helpers, run the world, then judge it: the first failed
 * expectation, a stuck process, or a failed final check makes the run FAIL.
 *
 * Determinism: everything here happens either on the main thread before and after
 * vmcisim_run, or inside simulated threads in the order the world's seed chooses. Nothing reads
 * the wall clock or depends on heap addresses; shared counters are atomics only because realtime
 * mode runs processes in parallel.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/interp.h"
#include "scenario/names.h"
#include "scenario/html_report.h"
#include "scenario/pcap.h"
#include "sim/alloc.h"
#include "sim/sim.h"
#include "scenario/interp.h"
#include "scenario/names.h"
#include "scenario/pcap.h"

#define WAIT_STEP_MIN_NS 100000ull      /* `wait` polls every 0.1 ms at first ... */
#define WAIT_STEP_MAX_NS 1000000ull     /* ... backing off to every 1 ms */

/* ---- shared state ---------------------------------------------------------------------------- */

int scen_fail(struct scen_run *run, int line, const char *expected, const char *got,
              const char *context)
{
    pthread_mutex_lock(&run->mu);
    int first = !run->failed;
    if (!run->failed) {
        run->failed = 1;
        if (run->sim) /* waiters in `wait` must see the failure and end */
            sim_idle_invalidate(run->sim);
        struct scen_result *r = run->res;
        r->status = SCEN_FAIL;
        r->line = line;
        snprintf(r->where, sizeof r->where, "%s:%d", run->sc->path, line);
        snprintf(r->expected, sizeof r->expected, "%s", expected);
        snprintf(r->got, sizeof r->got, "%s", got);
        snprintf(r->message, sizeof r->message, "%s:%d: expected %s, got %s%s%s%s", run->sc->path,
                 line, expected, got, context && *context ? " (" : "", context ? context : "",
                 context && *context ? ")" : "");
    }
    pthread_mutex_unlock(&run->mu);
    if (first && run->sim) {   /* the failed expectation is a record of the trace it ends */
        char note[sizeof run->res->message + 32];
        snprintf(note, sizeof note, "expectation failed: %s", run->res->message);
        vmcisim_trace_note(run->sim, note);
        if (run->pcap)
            scen_pcap_note(run->pcap, scen_now(run), note);
    }
    return -1;
}

int scen_failed(struct scen_run *run)
{
    pthread_mutex_lock(&run->mu);
    int f = run->failed;
    pthread_mutex_unlock(&run->mu);
    return f;
}

uint64_t scen_now(struct scen_run *run) { return vmcisim_now(run->sim); }

int scen_past_limit(struct scen_run *run) { return scen_now(run) > run->sc->limit_ns; }

int scen_winding_down(struct scen_run *run) { return scen_failed(run) || scen_past_limit(run); }

void scen_count(struct scen_inst *in, int counter, int64_t n)
{
    assert(counter >= 0 && counter < SCEN_NCOUNTERS);
    in->counters[counter] += n;
}

unsigned char *scen_buf(struct scen_inst *in, size_t n)
{
    if (n == 0)
        n = 1;
    if (in->bufcap < n) {
        unsigned char *b = vmcisim_realloc(in->buf, n);
        if (!b)
            return NULL;
        in->buf = b;
        in->bufcap = n;
    }
    return in->buf;
}

static void fg_done(struct scen_run *run)
{
    int left = __atomic_sub_fetch(&run->fg_left, 1, __ATOMIC_SEQ_CST);
    assert(left >= 0); /* each foreground instance, timeline and helper ends once */
    if (left == 0) {
        __atomic_store_n(&run->stop, 1, __ATOMIC_SEQ_CST);
        sim_idle_invalidate(run->sim);
        scen_serve_stop(run);   /* bridges are daemons: they end with the work */
        if (run->swarm && run->sim) {
            /* the swarm's events past the end of the work are not waited for */
            sim_enter(run->sim);
            sim_wake_all(&run->swarm_q);
            sim_leave(run->sim);
        }
    }
}

void scen_fg_done(struct scen_run *run) { fg_done(run); }

int scen_should_stop(struct scen_inst *in)
{
    if (scen_winding_down(in->run))
        return 1;
    return in->proc->daemon && __atomic_load_n(&in->run->stop, __ATOMIC_SEQ_CST);
}

/* ---- events ---------------------------------------------------------------------------------- */

static void on_main(void *arg)
{
    struct scen_on *on = arg;
    if (on->tm->at_ns)
        vmcisim_sleep(on->tm->at_ns);
    char who[SCEN_NAME_MAX * 2 + 8];
    snprintf(who, sizeof who, "on %s", on->run->sc->events[on->tm->on_event]);
    scen_exec_world(on->run, &on->tm->stmt, who);
    fg_done(on->run);
}

void scen_mark(struct scen_run *run, int event)
{
    assert(event >= 0 && (size_t)event < run->sc->nevents);
    __atomic_add_fetch(&run->marks[event], 1, __ATOMIC_SEQ_CST);
    sim_idle_invalidate(run->sim); /* a waiter for it polls again before any deadlock verdict */
    vmcisim_trace_note(run->sim, run->sc->events[event]);
    /* Each `on` line fires once, the first time its event is marked, in a helper process of its
     * own so that the marking process goes on (it may be in the VM the action suspends). */
    for (size_t i = 0; i < run->sc->ntimed; i++) {
        struct scen_on *on = &run->on[i];
        if (on->tm->on_event != event || __atomic_exchange_n(&on->fired, 1, __ATOMIC_SEQ_CST))
            continue;
        __atomic_add_fetch(&run->fg_left, 1, __ATOMIC_SEQ_CST);
        char name[SCEN_NAME_MAX * 2 + 8];
        snprintf(name, sizeof name, "on:%s", run->sc->events[event]);
        if (vmcisim_spawn_root(run->vms[SCEN_HOST_VM], name, on_main, on) != 0) {
            scen_fail(run, on->tm->line, "the 'on' helper process to start",
                      vmcisim_error(run->sim), NULL);
            fg_done(run);
        }
    }
}

int scen_wait_event(struct scen_inst *in, int event, int line)
{
    struct scen_run *run = in->run;
    assert(event >= 0 && (size_t)event < run->sc->nevents);
    uint64_t step = WAIT_STEP_MIN_NS;
    snprintf(in->wait_what, sizeof in->wait_what, "mark '%s' (%s, line %d)",
             run->sc->events[event], in->name, line);
    while (__atomic_load_n(&run->marks[event], __ATOMIC_SEQ_CST) == 0) {
        if (scen_failed(run) || (in->proc->daemon && __atomic_load_n(&run->stop, __ATOMIC_SEQ_CST)))
            return -1;
        if (scen_past_limit(run)) {
            char exp[160], got[64];
            snprintf(exp, sizeof exp, "event '%s' within the limit of %.3fs",
                     run->sc->events[event], (double)run->sc->limit_ns / 1e9);
            snprintf(got, sizeof got, "no mark by %.9fs", (double)scen_now(run) / 1e9);
            return scen_fail(run, line, exp, got, in->name);
        }
        /* Only a mark, a failure or the limit ends this wait, and each of those but the limit
         * comes from another thread: a foreground wait is idle, so that when every other thread
         * is blocked for good the scheduler reports the deadlock now instead of polling on to
         * the limit. (A daemon's wait also ends when the foreground is done: not idle.) The
         * polling itself stays, so runs that pass keep their traces. */
        if (!in->proc->daemon)
            sim_idle_begin(in->wait_what);
        vmcisim_sleep(step);
        sim_idle_end();
        step = step * 2 < WAIT_STEP_MAX_NS ? step * 2 : WAIT_STEP_MAX_NS;
    }
    return 0;
}

/* ---- world actions --------------------------------------------------------------------------- */

/* The accounting of a power off happens before the call: the caller may be in that VM and then
 * never returns from it. */
static void power_off_accounting(struct scen_run *run, vmcisim_vm *vm)
{
    if (vm == run->vms[SCEN_HOST_VM] || vmcisim_vm_state(vm) == VMCISIM_VM_POWERED_OFF)
        return;
    for (size_t i = 0; i < run->ninst; i++) {
        struct scen_inst *in = &run->inst[i];
        if (in->vm != vm || __atomic_exchange_n(&in->ended, 1, __ATOMIC_SEQ_CST))
            continue;
        in->counters[C_KILLED]++;
        if (in->proc->builtin == B_EXEC) { /* its cleanup confirms it (exec_prog.c) */
            in->counters[C_STATUS] = 128 + 9;
            in->counters[C_SIGNAL] = 9;
        }
        if (!in->proc->daemon)
            fg_done(run);
    }
}

int scen_do_action(struct scen_run *run, int action, int vmi)
{
    vmcisim_vm *vm = run->vms[vmi];
    if (run->html)
        scen_html_event(run->html, scen_now(run), vmcisim_vm_cid(vm), scen_action_name(action));
    if (run->pcap) {
        char note[160];
        snprintf(note, sizeof note, "vmcisim: %s %s (cid %u)", scen_action_name(action),
                 vmcisim_vm_name(vm), vmcisim_vm_cid(vm));
        scen_pcap_note(run->pcap, scen_now(run), note);
    }
    switch (action) {
    case ACT_SUSPEND: return vmcisim_vm_suspend(vm);
    case ACT_RESUME: return vmcisim_vm_resume(vm);
    case ACT_MIGRATE: return vmcisim_vm_migrate(vm);
    case ACT_FT_ON: return vmcisim_vm_fault_tolerance(vm, 1);
    case ACT_FT_OFF: return vmcisim_vm_fault_tolerance(vm, 0);
    case ACT_HOLD:
    case ACT_CLOG: return vmcisim_vm_hold(vm);
    case ACT_RELEASE: return vmcisim_vm_release(vm);
    case ACT_POWER_OFF:
        power_off_accounting(run, vm);
        return vmcisim_vm_power_off(vm);
    default:
        errno = EINVAL;
        return -1;
    }
}

struct scen_clog {
    struct scen_run *run;
    int vm;
    uint64_t ns;
    struct scen_clog *next;      /* run->clogs: freed with the run (a helper may be killed) */
};

static void clog_main(void *arg)
{
    struct scen_clog *c = arg;
    vmcisim_sleep(c->ns);
    vmcisim_vm_release(c->run->vms[c->vm]);
    fg_done(c->run);
}

int scen_do_stmt_action(struct scen_run *run, const struct scen_stmt *st)
{
    if (st->action != ACT_CLOG)
        return scen_do_action(run, st->action, st->vm);
    /* clog VM D: hold now, and a helper releases it D later (the run waits for it: what the
     * VM's peers sent is delivered before the run ends) */
    struct scen_clog *c = vmcisim_malloc(sizeof *c);
    if (!c) {
        errno = ENOMEM;
        return -1;
    }
    pthread_mutex_lock(&run->mu);
    *c = (struct scen_clog){.run = run, .vm = st->vm, .ns = (uint64_t)st->num, .next = run->clogs};
    run->clogs = c;
    pthread_mutex_unlock(&run->mu);
    if (vmcisim_vm_hold(run->vms[st->vm]) != 0)
        return -1;
    __atomic_add_fetch(&run->fg_left, 1, __ATOMIC_SEQ_CST);
    if (vmcisim_spawn_root(run->vms[SCEN_HOST_VM], "clog", clog_main, c) != 0) {
        fg_done(run);
        vmcisim_vm_release(run->vms[st->vm]);
        errno = EAGAIN;
        return -1;
    }
    return 0;
}

int scen_do_faults(struct scen_run *run, const struct scen_faults *f)
{
    struct vmcisim_faults cur;
    vmcisim_get_faults(run->sim, &cur);
    if (f->mask & FK_DELAY) {
        cur.dg_delay_min_ns = f->v.dg_delay_min_ns;
        cur.dg_delay_max_ns = f->v.dg_delay_max_ns;
    }
    if (f->mask & FK_DROP)
        cur.dg_drop = f->v.dg_drop;
    if (f->mask & FK_DUP)
        cur.dg_duplicate = f->v.dg_duplicate;
    if (f->mask & FK_REORDER)
        cur.dg_reorder = f->v.dg_reorder;
    if (f->mask & FK_QPFAIL)
        cur.qp_alloc_fail = f->v.qp_alloc_fail;
    if (f->mask & FK_LATENCY)
        cur.hv_latency_ns = f->v.hv_latency_ns;
    return vmcisim_set_faults(run->sim, &cur);
}

/* ---- processes ------------------------------------------------------------------------------- */

static void inst_end(struct scen_inst *in)
{
    struct scen_run *run = in->run;
    if (__atomic_exchange_n(&in->ended, 1, __ATOMIC_SEQ_CST))
        return;
    const struct scen_proc *p = in->proc;
    size_t pi = (size_t)(p - run->sc->procs);
    assert(pi < run->sc->nprocs);
    int done = __atomic_add_fetch(&run->proc_done[pi], 1, __ATOMIC_SEQ_CST);
    assert(done <= p->instances); /* `ended` makes each instance count once */
    if (done == p->instances)
        scen_mark(run, p->done_event);
    if (!p->daemon)
        fg_done(run);
}

void scen_inst_end(struct scen_inst *in) { inst_end(in); }

static void inst_main(void *arg)
{
    struct scen_inst *in = arg;
    const struct scen_proc *p = in->proc;
    in->cur_line = p->line;
    if (in->run->nbridges) /* realtime only: a guest's first connect finds the bridge */
        scen_serve_wait_bridges(in->run);
    if (p->start_ns)
        vmcisim_sleep(p->start_ns);
    if (p->after_event < 0 || scen_wait_event(in, p->after_event, p->line) == 0) {
        if (p->builtin == B_EXEC)
            scen_exec_program(in); /* returns only if the program did not start */
        else if (p->builtin != B_NONE)
            scen_builtin_run(in);
        else
            scen_exec_block(in, p->body, p->nbody);
    }
    inst_end(in);
}

static int cmp_timed(const void *a, const void *b)
{
    const struct scen_timed *x = *(const struct scen_timed *const *)a;
    const struct scen_timed *y = *(const struct scen_timed *const *)b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line; /* file order at equal times */
}

struct timeline {
    struct scen_run *run;
    const struct scen_timed **v;
    size_t n;
};

static void timeline_main(void *arg)
{
    struct timeline *tl = arg;
    for (size_t i = 0; i < tl->n; i++) {
        assert(i == 0 || tl->v[i - 1]->at_ns <= tl->v[i]->at_ns); /* sorted by cmp_timed */
        uint64_t now = scen_now(tl->run);
        if (tl->v[i]->at_ns > now)
            vmcisim_sleep(tl->v[i]->at_ns - now);
        if (scen_exec_world(tl->run, &tl->v[i]->stmt, "at") != 0)
            break;
    }
    fg_done(tl->run);
}

/* The swarm's lifecycle events (swarm.c), in a host process of their own that holds no run
 * open: it waits for each event's time unless the work is done first. An action the world
 * refuses (resume of a VM the file powered off) is no failure: the draw did not know. */
static void swarm_main(void *arg)
{
    struct scen_run *run = arg;
    for (size_t i = 0; i < run->sw.nevents; i++) {
        const struct scen_swarm_event *e = &run->sw.ev[i];
        sim_enter(run->sim);
        while (!__atomic_load_n(&run->stop, __ATOMIC_SEQ_CST) && !scen_winding_down(run) &&
               sim_now(run->sim) < e->at_ns)
            sim_wait(&run->swarm_q, e->at_ns, "the swarm's next event");
        sim_leave(run->sim);
        if (__atomic_load_n(&run->stop, __ATOMIC_SEQ_CST) || scen_winding_down(run))
            return;
        char note[96];
        snprintf(note, sizeof note, "swarm %s %s", scen_action_name(e->action),
                 run->sc->vms[e->vm].name);
        vmcisim_trace_note(run->sim, note);
        scen_do_action(run, e->action, e->vm);
    }
}

/* ---- judging --------------------------------------------------------------------------------- */

static int64_t counter_total(struct scen_run *run, int proc, int counter)
{
    int64_t sum = 0;
    for (size_t i = 0; i < run->ninst; i++)
        if (proc < 0 || run->inst[i].proc == &run->sc->procs[proc])
            sum += run->inst[i].counters[counter];
    return sum;
}

static int cmp_holds(int cmp, int64_t a, int64_t b, int64_t hi)
{
    switch (cmp) {
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
    default: return a >= b && a <= hi; /* in lo..hi */
    }
}

static const char *cmp_text(int cmp)
{
    static const char *const t[] = {"==", "!=", "<", "<=", ">", ">="};
    return cmp >= 0 && cmp <= CMP_GE ? t[cmp] : "in";
}

static void check_value_text(const struct scen_check *c, int64_t v, char *buf, size_t n)
{
    if (c->lhs == LHS_TIME)
        snprintf(buf, n, "%.9fs", (double)v / 1e9);
    else if (c->lhs == LHS_VM_STATE)
        snprintf(buf, n, "%s", scen_vm_state_name((int)v));
    else if (c->lhs == LHS_VM_FT)
        snprintf(buf, n, "%s", v ? "on" : "off");
    else
        snprintf(buf, n, "%lld", (long long)v);
}

/* The coverage name of a `check always/sometimes`: where it is and what it says. */
static void check_cov_name(const struct scen_script *sc, const struct scen_check *c,
                           const char *what, char *buf, size_t n)
{
    const char *slash = strrchr(sc->path, '/');
    int k = snprintf(buf, n, "%.40s:%d: ", slash ? slash + 1 : sc->path, c->line);
    if (k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "%.*s", (int)(n - (size_t)k - 1), what);
}

/* An `always` anywhere (the stack, a program, a check) that did not hold fails the run. */
static void judge_always(struct scen_run *run)
{
    uint64_t when = 0;
    const char *name = vmcisim_always_failed(run->sim, &when);
    if (!name)
        return;
    if (run->failed)
        return; /* the first failure is the one reported */
    /* no line of the script to blame: the assertion is in the stack or a program */
    struct scen_result *r = run->res;
    run->failed = 1;
    r->status = SCEN_FAIL;
    r->line = 0;
    snprintf(r->where, sizeof r->where, "%s", run->sc->path);
    snprintf(r->expected, sizeof r->expected, "always '%s' to hold", name);
    snprintf(r->got, sizeof r->got, "false at %.9fs", (double)when / 1e9);
    snprintf(r->message, sizeof r->message, "%s: expected %s, got %s", run->sc->path, r->expected,
             r->got);
}

static void copy_coverage(struct scen_run *run)
{
    size_t n = vmcisim_coverage(run->sim, run->res->cov, SCEN_COV_MAX);
    run->res->ncov = n < SCEN_COV_MAX ? n : SCEN_COV_MAX;
}

static void run_checks(struct scen_run *run)
{
    const struct scen_script *sc = run->sc;
    for (size_t i = 0; i < sc->nchecks; i++) {
        const struct scen_check *c = &sc->checks[i];
        /* after a failure only `sometimes` checks are still counted (for the report) */
        if (run->failed && c->cov != VMCISIM_COV_SOMETIMES)
            continue;
        int64_t v = 0;
        char lhs[SCEN_NAME_MAX * 2 + 16];
        switch (c->lhs) {
        case LHS_TIME:
            v = (int64_t)scen_now(run);
            snprintf(lhs, sizeof lhs, "time");
            break;
        case LHS_VM_STATE:
            v = vmcisim_vm_state(run->vms[c->vm]);
            snprintf(lhs, sizeof lhs, "%s.state", sc->vms[c->vm].name);
            break;
        case LHS_VM_FT:
            v = vmcisim_vm_in_fault_tolerance(run->vms[c->vm]) != 0;
            snprintf(lhs, sizeof lhs, "%s.ft", sc->vms[c->vm].name);
            break;
        default:
            v = counter_total(run, c->proc, c->counter);
            snprintf(lhs, sizeof lhs, "%s.%s", c->proc < 0 ? "*" : sc->procs[c->proc].name,
                     scen_counter_name(c->counter));
            break;
        }
        int holds = cmp_holds(c->cmp, v, c->value, c->hi);
        if (holds && !c->cov)
            continue;
        char a[64], b[64], exp[320], got[96];
        check_value_text(c, c->value, a, sizeof a);
        if (c->cmp < 0) {
            check_value_text(c, c->hi, b, sizeof b);
            snprintf(exp, sizeof exp, "%s in %s..%s", lhs, a, b);
        } else {
            snprintf(exp, sizeof exp, "%s %s %s", lhs, cmp_text(c->cmp), a);
        }
        if (c->cov) {
            char name[VMCISIM_COV_NAME_MAX];
            check_cov_name(sc, c, exp, name, sizeof name);
            vmcisim_cov_record(run->sim, c->cov, holds, name);
            if (holds || c->cov == VMCISIM_COV_SOMETIMES)
                continue;
        }
        check_value_text(c, v, got, sizeof got);
        scen_fail(run, c->line, exp, got, "check");
    }
}

/* A run that could not finish: the first foreground instance still going is to blame. */
static void judge_stuck(struct scen_run *run, int rc)
{
    struct scen_inst *stuck = NULL;
    int only_daemons = 1;
    for (size_t i = 0; i < run->ninst; i++) {
        struct scen_inst *in = &run->inst[i];
        if (__atomic_load_n(&in->ended, __ATOMIC_SEQ_CST))
            continue;
        if (!in->proc->daemon) {
            only_daemons = 0;
            if (!stuck)
                stuck = in;
        }
    }
    if (__atomic_load_n(&run->fg_left, __ATOMIC_SEQ_CST) > 0)
        only_daemons = 0;
    /* Daemons blocked for good once the rest is done is the normal end of a scenario. */
    if (rc == 0 || only_daemons)
        return;
    char exp[160], got[1200];
    snprintf(exp, sizeof exp, "every process to finish (limit %.3fs)",
             (double)run->sc->limit_ns / 1e9);
    snprintf(got, sizeof got, "%s at %.9fs: %s",
             scen_past_limit(run) ? "the time limit" : "a deadlock", (double)scen_now(run) / 1e9,
             vmcisim_error(run->sim));
    scen_fail(run, stuck ? stuck->cur_line : 1, exp, got, stuck ? stuck->name : "timeline");
}

/* Realtime: the wall clock does not wait for a stuck process, so at the limit the processes
 * still running are ended where they stand (as serve's interruption does) and vmcisim_run
 * returns; the run then fails on its limit instead of running until an outside timeout. On
 * the host's kernel worker, a daemon: a run that ends first never fires it. Deterministic mode
 * needs none: time there moves only when every thread waits, and the limit is judged at the
 * end. */
static void limit_reached(sim_timer *t)
{
    struct scen_run *run = (struct scen_run *)((char *)t - offsetof(struct scen_run, limit_timer));
    for (size_t i = 0; i < run->ninst && !run->limit_stuck; i++)
        if (!__atomic_load_n(&run->inst[i].ended, __ATOMIC_SEQ_CST) && !run->inst[i].proc->daemon)
            run->limit_stuck = (int)i + 1;
    /* a loop's timer runs inside the world: the _locked calls */
    sim_trace(run->sim, "limit", "reached: ending the processes still running");
    sim_kill_other_procs_locked(run->sim);
}

static void arm_limit(struct scen_run *run)
{
    if (!sim_is_realtime(run->sim) || (run->opts->serve && !run->opts->serve_until_done))
        return; /* a serve session runs until it is stopped (docs/bridge.md) */
    sim_enter(run->sim);
    sim_timer_init(&run->limit_timer, limit_reached);
    sim_timer_arm(run->vms[SCEN_HOST_VM]->kworker, &run->limit_timer, run->sc->limit_ns + 1000000);
    sim_leave(run->sim);
}

/* A run that ended past its limit fails even when every process finished (docs/scenarios.md,
 * `limit`): e.g. a process that slept through it. */
static void judge_limit(struct scen_run *run)
{
    char exp[96], got[64];
    snprintf(exp, sizeof exp, "the run to end within the limit of %.3fs",
             (double)run->sc->limit_ns / 1e9);
    snprintf(got, sizeof got, "simulated time %.9fs", (double)scen_now(run) / 1e9);
    if (run->limit_stuck) { /* realtime: name the process the limit ended, where it stood */
        struct scen_inst *in = &run->inst[run->limit_stuck - 1];
        char got2[64 + sizeof in->name + 40];
        snprintf(got2, sizeof got2, "%s, with %s still running (ended there)", got, in->name);
        scen_fail(run, in->cur_line ? in->cur_line : 1, exp, got2, in->name);
        return;
    }
    scen_fail(run, run->sc->limit_line ? run->sc->limit_line : 1, exp, got, "limit");
}

/* ---- one run --------------------------------------------------------------------------------- */

static int setup_world(struct scen_run *run, const struct scen_run_opts *o)
{
    const struct scen_script *sc = run->sc;
    run->vms[SCEN_HOST_VM] = vmcisim_host(run->sim);
    for (size_t i = 1; i < sc->nvms; i++) {
        run->vms[i] = vmcisim_vm_create_ex(run->sim, sc->vms[i].name, sc->vms[i].cid,
                                           sc->vms[i].flags);
        if (!run->vms[i])
            return scen_fail(run, sc->vms[i].line, "the VM to be created",
                             vmcisim_error(run->sim), NULL);
    }
    if (sc->faults.mask && scen_do_faults(run, &sc->faults) != 0) {
        char got[96];
        scen_describe_rc(-1, errno, got, sizeof got);
        return scen_fail(run, sc->faults_line, "the fault knobs to be accepted", got, NULL);
    }
    /* the swarm's knobs on top: the file's own knobs were left out of the draw */
    if (run->swarm && run->sw.faults.mask && scen_do_faults(run, &run->sw.faults) != 0)
        return scen_fail(run, 1, "the swarm's fault knobs to be accepted", "EINVAL", NULL);
    (void)o;
    return 0;
}

static int spawn_all(struct scen_run *run, struct timeline *tl)
{
    const struct scen_script *sc = run->sc;
    size_t k = 0;
    for (size_t pi = 0; pi < sc->nprocs; pi++) {
        const struct scen_proc *p = &sc->procs[pi];
        for (int64_t j = 1; j <= p->instances; j++, k++) {
            struct scen_inst *in = &run->inst[k];
            in->run = run;
            in->proc = p;
            in->instance = (int)j;
            in->vm = run->vms[p->vm];
            if (p->instances > 1)
                snprintf(in->name, sizeof in->name, "%s#%lld", p->name, (long long)j);
            else
                snprintf(in->name, sizeof in->name, "%s", p->name);
            in->fds = vmcisim_calloc((size_t)p->nvars + 1, sizeof *in->fds);
            in->addrs = vmcisim_calloc((size_t)p->nvars + 1, sizeof *in->addrs);
            if (!in->fds || !in->addrs)
                return scen_fail(run, p->line, "memory for the process", "none", in->name);
            for (int v = 0; v < p->nvars; v++)
                in->fds[v] = -1;
            if (!p->daemon)
                run->fg_left++;
            int rc = p->root ? vmcisim_spawn_root(in->vm, in->name, inst_main, in)
                             : vmcisim_spawn(in->vm, in->name, inst_main, in);
            if (rc != 0)
                return scen_fail(run, p->line, "the process to start", vmcisim_error(run->sim),
                                 in->name);
        }
    }
    tl->run = run;
    tl->n = 0;
    for (size_t i = 0; i < sc->ntimed; i++)
        if (sc->timed[i].on_event < 0)
            tl->v[tl->n++] = &sc->timed[i];
    if (tl->n) {
        qsort(tl->v, tl->n, sizeof tl->v[0], cmp_timed);
        run->fg_left++;
        if (vmcisim_spawn_root(run->vms[SCEN_HOST_VM], "timeline", timeline_main, tl) != 0)
            return scen_fail(run, tl->v[0]->line, "the timeline process to start",
                             vmcisim_error(run->sim), NULL);
    }
    if (run->fg_left == 0) {
        run->stop = 1;
        scen_serve_stop(run);
    }
    if (run->swarm && run->sw.nevents &&
        vmcisim_spawn_root(run->vms[SCEN_HOST_VM], "swarm", swarm_main, run) != 0)
        return scen_fail(run, 1, "the swarm process to start", vmcisim_error(run->sim), NULL);
    return 0;
}

/* The packet observer of a run: the capture and the HTML report, either or both. */
struct observers {
    struct scen_pcap *pc;
    struct scen_html *html;
};

static void observe_packet(void *ctx, const struct vmcisim_packet *pkt)
{
    struct observers *o = ctx;
    if (o->pc)
        scen_pcap_observer(o->pc, pkt);
    if (o->html)
        scen_html_packet(o->html, pkt);
}

/* A pcapng capture also says where the hypervisor dropped a datagram (a fault knob, a full
 * queue, no such handle): the trace's dg-drop records become comments at their times. */
static void pcap_trace_tap(void *ctx, uint64_t now_ns, const char *event, const char *line,
                           size_t len)
{
    if (strcmp(event, "dg-drop") != 0)
        return;
    const char *rec = memmem(line, len, "dg-drop", 7);
    char note[256];
    snprintf(note, sizeof note, "vmcisim: %.*s", rec ? (int)(len - (size_t)(rec - line)) : (int)len,
             rec ? rec : line);
    scen_pcap_note(ctx, now_ns, note);
}

/* The report's lanes: the host and every VM, in the script's order, with their processes. */
static void html_lanes(struct scen_run *run)
{
    const struct scen_script *sc = run->sc;
    for (size_t v = 0; v < sc->nvms; v++) {
        char procs[256] = "";
        size_t k = 0;
        for (size_t p = 0; p < sc->nprocs && k + 2 < sizeof procs; p++)
            if (sc->procs[p].vm == (int)v) {
                int n = snprintf(procs + k, sizeof procs - k, "%s%s", k ? " " : "",
                                 sc->procs[p].name);
                k = n > 0 && (size_t)n < sizeof procs - k ? k + (size_t)n : sizeof procs - 1;
            }
        scen_html_lane(run->html, vmcisim_vm_cid(run->vms[v]), sc->vms[v].name, procs);
    }
}

int scen_run(const struct scen_script *sc, const struct scen_run_opts *o, struct scen_result *res)
{
    memset(res, 0, sizeof *res);
    res->seed = o->seed;
    res->realtime = o->realtime != 0;
    res->status = SCEN_PASS;
    snprintf(res->where, sizeof res->where, "%s", sc->path);

    struct scen_run run;
    memset(&run, 0, sizeof run);
    run.sc = sc;
    run.res = res;
    run.opts = o;
    run.ctl_fd = -1;
    run.artifacts = o->artifacts;
    if (o->swarm) {
        run.swarm = 1;
        scen_swarm_draw(sc, o->seed, &run.sw);
        scen_swarm_describe(sc, &run.sw, res->swarm, sizeof res->swarm);
    }
    pthread_mutex_init(&run.mu, NULL);
    size_t ninst = 0;
    for (size_t i = 0; i < sc->nprocs; i++)
        ninst += (size_t)sc->procs[i].instances;
    run.ninst = ninst;
    run.inst = vmcisim_calloc(ninst + 1, sizeof *run.inst);
    run.vms = vmcisim_calloc(sc->nvms + 1, sizeof *run.vms);
    run.proc_done = vmcisim_calloc(sc->nprocs + 1, sizeof *run.proc_done);
    run.marks = vmcisim_calloc(sc->nevents + 1, sizeof *run.marks);
    run.on = vmcisim_calloc(sc->ntimed + 1, sizeof *run.on);
    struct timeline tl = {0};
    tl.v = vmcisim_calloc(sc->ntimed + 1, sizeof *tl.v);
    struct scen_pcap *pc = NULL;

    struct vmcisim_config cfg = {.seed = o->seed, .realtime = o->realtime,
                                 .trace_path = o->trace_path, .sched = o->sched,
                                 .trace_filter = o->trace_filter,
                                 .trace_payload = o->trace_payload,
                                 .cost = sc->has_cost ? &sc->cost : NULL};
    if (!run.inst || !run.vms || !run.proc_done || !run.marks || !run.on || !tl.v) {
        scen_fail(&run, 1, "memory for the run", "none", NULL);
        goto out;
    }
    for (size_t i = 0; i < sc->ntimed; i++) {
        run.on[i].run = &run;
        run.on[i].tm = &sc->timed[i];
    }
    run.sim = vmcisim_create(&cfg);
    if (!run.sim) {
        scen_fail(&run, 1, "a world to be created", "vmcisim_create failed", NULL);
        goto out;
    }
    snprintf(res->sched, sizeof res->sched, "%s", vmcisim_sched_name(run.sim));
    if (o->pcap_path) {
        pc = scen_pcap_open(o->pcap_path);
        if (!pc) {
            char got[300];
            snprintf(got, sizeof got, "%s: %s", o->pcap_path, strerror(errno));
            scen_fail(&run, 1, "a writable capture file", got, NULL);
            goto out;
        }
    }
    if (o->html_path && !(run.html = scen_html_new())) {
        scen_fail(&run, 1, "memory for the HTML report", "none", NULL);
        goto out;
    }
    run.pcap = pc;
    if (pc) {
        sim_set_trace_tap(run.sim, pcap_trace_tap, pc);
        sim_set_delivery_observer(run.sim, scen_pcap_delivered, pc);
    }
    struct observers obs = {pc, run.html};
    if (pc || run.html)
        vmcisim_set_packet_observer(run.sim, observe_packet, &obs);
    char note[128];
    snprintf(note, sizeof note, "scenario %s", sc->name);
    vmcisim_trace_note(run.sim, note);
    if (setup_world(&run, o) == 0 && run.html)
        html_lanes(&run);
    char why[400];
    if (!o->realtime && scen_needs_realtime(sc, why, sizeof why)) {
        const struct scen_bridge *br = &sc->bridges[0];
        scen_fail(&run, br->line, "a realtime run for 'bridge' (vmcisim run --realtime, or "
                                  "vmcisim serve)", "a deterministic run", NULL);
    }
    if (!run.failed && scen_serve_setup(&run) == 0 && spawn_all(&run, &tl) == 0) {
        arm_limit(&run);
        int rc = vmcisim_run(run.sim);
        scen_serve_stop(&run);
        res->interrupted = __atomic_load_n(&run.interrupted, __ATOMIC_SEQ_CST);
        if (res->interrupted)
            goto ended; /* stopped by hand: nothing to judge */
        if (!run.failed)
            judge_stuck(&run, rc);
        if (!run.failed && scen_past_limit(&run))
            judge_limit(&run);
        run_checks(&run);
        judge_always(&run);
        copy_coverage(&run);
    }
ended:
    res->trace_hash = vmcisim_trace_hash(run.sim);
    res->trace_records = vmcisim_trace_count(run.sim);
    res->sim_ns = vmcisim_now(run.sim);

out:
    if (run.sim)
        vmcisim_set_packet_observer(run.sim, NULL, NULL);
    if (run.html) {
        scen_html_verdict(run.html, res->sim_ns, run.failed ? res->message : NULL);
        char title[400];
        snprintf(title, sizeof title, "%s, seed %llu: %s", sc->name,
                 (unsigned long long)o->seed, run.failed ? "FAIL" : "PASS");
        struct scen_html *h = run.html;
        run.html = NULL;
        if (scen_html_write(h, o->html_path, title) != 0 && !run.failed)
            scen_fail(&run, 1, "the HTML report to be written", strerror(errno), NULL);
    }
    if (run.sim)
        vmcisim_destroy(run.sim);
    run.sim = NULL;
    scen_serve_free(&run);
    run.pcap = NULL;
    if (pc && scen_pcap_close(pc) != 0 && !run.failed)
        scen_fail(&run, 1, "the capture file to be written", strerror(errno), NULL);
    if (!res->trace_records && !run.failed)
        scen_fail(&run, 1, "a world", "none", NULL);
    for (size_t i = 0; run.inst && i < run.ninst; i++) {
        free(run.inst[i].fds);
        free(run.inst[i].addrs);
        free(run.inst[i].buf);
        free(run.inst[i].bstate);
        free(run.inst[i].pfds);
        free(run.inst[i].obuf);
    }
    while (run.clogs) {
        struct scen_clog *c = run.clogs;
        run.clogs = c->next;
        free(c);
    }
    free(run.inst);
    free(run.vms);
    free(run.proc_done);
    free(run.marks);
    free(run.on);
    free(tl.v);
    pthread_mutex_destroy(&run.mu);
    return res->status;
}
