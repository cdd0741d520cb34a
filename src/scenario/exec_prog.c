/*
 * exec_prog.c - an `exec` process of a scenario: starts the program (src/exec) as the
 * instance's simulated process, keeps its stdout and stderr in the run's artifacts directory,
 * and gives its end to the counters NAME.status and NAME.signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/exec.h"
#include "sim/alloc.h"
#include "scenario/interp.h"

struct exec_inst {
    struct scen_inst *in;
    struct exec_proc *ep;
};

/* Runs however the process ends: the child's own end (the proxy ends the process with its
 * status), or a power-off (the proxies are killed where they stand; the child is killed). */
static void ended(void *arg)
{
    struct exec_inst *x = arg;
    int st = 128 + 9; /* killed before the program started */
    if (x->ep)
        exec_status(x->ep, &st);
    x->in->counters[C_STATUS] = st;
    x->in->counters[C_SIGNAL] = st > 128 ? st - 128 : 0;
    scen_inst_end(x->in);
}

void scen_exec_program(struct scen_inst *in)
{
    struct scen_run *run = in->run;
    const struct scen_proc *p = in->proc;
    char why[320], path[4096], preload[4096];
    char out[4096], err[4096];
    char **argv = NULL;
    if (exec_split_words(p->cmdline, &argv, why, sizeof why) != 0 ||
        exec_resolve(argv[0], path, sizeof path) != 0) {
        exec_free_words(argv);
        scen_fail(run, p->line, "the program to be found", p->cmdline, in->name);
        return;
    }
    if (exec_find_preload(preload, sizeof preload, why, sizeof why) != 0) {
        exec_free_words(argv);
        scen_fail(run, p->line, why, "none", in->name);
        return;
    }
    const char *dir = run->artifacts;
    if (dir) {
        mkdir(dir, 0755);
        snprintf(out, sizeof out, "%s/%s.stdout", dir, in->name);
        snprintf(err, sizeof err, "%s/%s.stderr", dir, in->name);
    }
    struct exec_opts o = {.path = path, .argv = argv, .preload = preload,
                          .stdout_path = dir ? out : NULL, .stderr_path = dir ? err : NULL};
    /* Lives as long as the run: this thread never returns from exec_serve_main. */
    struct exec_inst *x = vmcisim_calloc(1, sizeof *x);
    if (!x) {
        exec_free_words(argv);
        scen_fail(run, p->line, "memory", "none", in->name);
        return;
    }
    x->in = in;
    in->bstate = x; /* freed with the instance */
    /* The end must be seen however it comes, so the cleanup is in place before the child
     * exists. Realtime: a power-off may already have ended this thread (it then unwinds at its
     * next entry into the world); under the world's lock that cannot change meanwhile. */
    struct sim_cleanup c;
    sim_thread *self = sim_self_proc_thread();
    sim_lock(run->sim);
    bool dead = self->counted_dead;
    if (!dead)
        sim_cleanup_push(&c, ended, x);
    sim_unlock(run->sim);
    if (dead) {
        exec_free_words(argv);
        return;
    }
    x->ep = exec_start(&o, why, sizeof why);
    exec_free_words(argv);
    if (!x->ep) {
        sim_cleanup_pop(&c);
        scen_fail(run, p->line, "the program to start", why, in->name);
        return;
    }
    exec_serve_main(x->ep);
}
