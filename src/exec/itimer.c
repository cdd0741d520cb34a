/*
 * itimer.c - the real-time interval timer (alarm, setitimer/getitimer ITIMER_REAL) of an
 * exec'd program in deterministic mode, on the simulated clock.
 *
 * The C library's timer counts wall time and its SIGALRM arrives whenever the kernel says, so
 * a program that bounds a wait with alarm() would see it fire at a different point on every
 * run, and simulated time (which does not pass while the world computes) would never reach it
 * at all. Here the timer is a timer of the world on the program's VM's kernel worker: when
 * simulated time reaches it, the program's main thread gets SIGALRM (sim_thread_signal): a
 * poll, select, epoll or sleep it waits in ends with EINTR, as on Linux, and the reply of the
 * call it is in carries the signal, which the program raises on itself before the call returns
 * (src/preload/chan.c), so its handler runs at the same point of every run with the seed. The
 * trace records `signal pid=N sig=SIGALRM action=timer`. An interval re-arms it from its own
 * deadline, as setitimer's does. Realtime mode keeps the C library's (as in-process).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/exec_internal.h"

static void fire(sim_timer *t)
{
    struct exec_proc *p = (struct exec_proc *)((char *)t - offsetof(struct exec_proc, itimer));
    if (__atomic_load_n(&p->reaped, __ATOMIC_ACQUIRE) || !p->main || !p->main->thread)
        return;
    sim_trace(p->sim, "signal", "pid=%u sig=SIGALRM action=timer", p->sp->pid);
    sim_thread_signal(p->main->thread, SIGALRM);
    if (p->it_interval) {
        p->it_deadline += p->it_interval;
        sim_timer_arm(p->sp->vm->kworker, &p->itimer, p->it_deadline);
    } else {
        p->it_deadline = 0;
    }
}

int64_t exec_itimer(struct exec_proc *p, bool set, uint64_t value_ns, uint64_t interval_ns,
                    uint64_t *old_value, uint64_t *old_interval)
{
    sim_lock(p->sim);
    if (!p->itimer_ready) {
        sim_timer_init(&p->itimer, fire);
        p->itimer_ready = true;
    }
    uint64_t now = sim_now(p->sim);
    bool armed = sim_timer_armed(&p->itimer);
    *old_value = armed && p->it_deadline > now ? p->it_deadline - now : armed ? 1 : 0;
    *old_interval = armed ? p->it_interval : 0;
    if (set) {
        sim_timer_cancel(&p->itimer);
        p->it_interval = value_ns ? interval_ns : 0;
        p->it_deadline = 0;
        if (value_ns) {
            p->it_deadline = sim_deadline_after(p->sim, value_ns);
            sim_timer_arm(p->sp->vm->kworker, &p->itimer, p->it_deadline);
        }
    }
    sim_unlock(p->sim);
    return 0;
}

void exec_itimer_stop(struct exec_proc *p)
{
    if (p->itimer_ready)
        sim_timer_cancel(&p->itimer);
}
