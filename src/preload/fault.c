/*
 * fault.c - copies at memory speed between the program's buffers and its mapped queues
 * (fast.c) that still give EFAULT for a bad buffer, as the kernel's copies do: a recovery point
 * (sigsetjmp) armed on the copying thread, and a SIGSEGV/SIGBUS handler of the library's that
 * jumps back to it.
 *
 * ucopy.c's process_vm_readv/writev copies are exact and touch no signal state, but pin every
 * page (most of the time of a 64 KiB move, measured: docs/exec-protocol.md); they stay for the
 * requests through the area. Here the handler is installed once, at the first fast copy, and
 * the program's own actions for the two signals are kept here from then on: its sigaction()
 * and signal() for them are answered from this table (interposed), and our handler carries
 * the action out for every fault that is not a copy's:
 *   - a handler of the program's is called as the kernel would call it (SA_SIGINFO or not,
 *     its sa_mask and, without SA_NODEFER, the signal blocked meanwhile; SA_RESETHAND);
 *   - the default action, or SIG_IGN (which the kernel does not honour for a fault either):
 *     the default is put back and the faulting instruction runs again, so the program dies of
 *     the same signal with the same core as without us.
 * Not covered: a program that installs its handler with a raw system call, and a handler
 * that looks at the previous action it was given (it gets the program's, not ours).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "preload/preload.h"

static struct sigaction program_act[2]; /* SIGSEGV, SIGBUS: what the program set */
static int installed;                   /* atomic: our handler is in place */
static int act_lock;
static __thread sigjmp_buf *volatile armed;

static int slot(int sig) { return sig == SIGBUS; }

static void take(void)
{
    while (__atomic_exchange_n(&act_lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void give(void) { __atomic_store_n(&act_lock, 0, __ATOMIC_RELEASE); }

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    sigjmp_buf *r = armed;
    if (r) {
        armed = NULL;
        siglongjmp(*r, 1);
    }
    struct sigaction p = program_act[slot(sig)]; /* a snapshot: a handler may change it */
    bool info = (p.sa_flags & SA_SIGINFO) != 0;
    if (!info && (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN)) {
        struct sigaction d;
        memset(&d, 0, sizeof d);
        d.sa_handler = SIG_DFL;
        sigemptyset(&d.sa_mask);
        PL_REAL(sigaction_fn, sigaction)(sig, &d, NULL);
        return; /* the instruction faults again, now with the default action */
    }
    if (p.sa_flags & SA_RESETHAND) {
        program_act[slot(sig)].sa_handler = SIG_DFL;
        program_act[slot(sig)].sa_flags &= ~SA_SIGINFO;
    }
    sigset_t block = p.sa_mask, old;
    if (!(p.sa_flags & SA_NODEFER))
        sigaddset(&block, sig);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (info)
        p.sa_sigaction(sig, si, uctx);
    else
        p.sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void install(void)
{
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_sigaction = on_fault;
    a.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
    sigemptyset(&a.sa_mask);
    take();
    sigaction_fn real = PL_REAL(sigaction_fn, sigaction);
    if (real(SIGSEGV, &a, &program_act[0]) == 0) {
        if (real(SIGBUS, &a, &program_act[1]) == 0)
            __atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
        else
            real(SIGSEGV, &program_act[0], NULL);
    }
    give();
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

int pl_copy_fast(void *dst, const void *src, size_t n, bool to_program)
{
    if (n == 0)
        return 0;
    pthread_once(&once, install);
    if (!__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
        return (to_program ? pl_copy_out(dst, src, n) : pl_copy_in(dst, src, n)) == n ? 0 : -1;
    sigjmp_buf env;
    if (sigsetjmp(env, 0))
        return -1; /* on_fault disarmed before it jumped */
    armed = &env;
    __asm__ volatile("" ::: "memory"); /* armed before the first access */
    memcpy(dst, src, n);
    __asm__ volatile("" ::: "memory");
    armed = NULL;
    return 0;
}

/* ---- the program's actions for SIGSEGV and SIGBUS ------------------------------------------- */

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if ((sig != SIGSEGV && sig != SIGBUS) || !__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
        return PL_REAL(sigaction_fn, sigaction)(sig, act, old);
    struct sigaction in;
    if (act && pl_copy_in(&in, act, sizeof in) != sizeof in) {
        errno = EFAULT;
        return -1;
    }
    take();
    struct sigaction prev = program_act[slot(sig)];
    if (act)
        program_act[slot(sig)] = in;
    give();
    if (old && pl_copy_out(old, &prev, sizeof prev) != sizeof prev) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

/* signal() and its relatives reach glibc's sigaction internally, past the interposition. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags)
{
    struct sigaction a, old;
    memset(&a, 0, sizeof a);
    a.sa_handler = h;
    a.sa_flags = flags;
    sigemptyset(&a.sa_mask);
    if (sigaction(sig, &a, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

typedef sighandler_t (*signal_fn)(int, sighandler_t);

sighandler_t signal(int sig, sighandler_t h)
{
    if ((sig != SIGSEGV && sig != SIGBUS) || !__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
        return PL_REAL(signal_fn, signal)(sig, h);
    return set_handler(sig, h, SA_RESTART); /* glibc's signal() is BSD's */
}

sighandler_t bsd_signal(int sig, sighandler_t h) { return signal(sig, h); }

sighandler_t sysv_signal(int sig, sighandler_t h)
{
    if ((sig != SIGSEGV && sig != SIGBUS) || !__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
        return PL_REAL(signal_fn, sysv_signal)(sig, h);
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}
