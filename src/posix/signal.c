/*
 * signal.c - SIGPIPE inside a simulated process.
 *
 * A process's SIGPIPE disposition is its own (kept in its sim_proc), set by signal() and
 * sigaction() from its threads. When a send on a simulated socket fails with EPIPE without
 * MSG_NOSIGNAL (src/sock/api.c), vmcisim_posix_raise_sigpipe delivers SIGPIPE as Linux would
 * to the sending thread: its handler runs on that thread (with SIGPIPE and sa_mask blocked
 * meanwhile, unless SA_NODEFER), SIG_IGN ignores it, the default ends the process with status
 * 128+13, and a thread that blocks SIGPIPE (pthread_sigmask) does not get it. No real signal is
 * ever raised: one real process hosts every simulated one. Other signals are the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sock/usercopy.h"
#include "sock/vsock.h"
#include "posix/posix_internal.h"

VMCISIM_POSIX_ANCHOR(signal);

/* Set SIGPIPE's disposition for the caller's process: 0, or an errno. */
static int set_sigpipe(sim_thread *self, const struct sigaction *act, struct sigaction *old)
{
    sim_lock(self->sim);
    if (old)
        *old = self->proc->sigpipe_act;
    if (act)
        self->proc->sigpipe_act = *act;
    sim_unlock(self->sim);
    return 0;
}

static sighandler_t handler_of(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)a->sa_sigaction : a->sa_handler;
}

static sighandler_t signal_common(int sig, sighandler_t h, int flags,
                                  sighandler_t (*real)(int, sighandler_t))
{
    sim_thread *self = posix_self();
    if (!self || sig != SIGPIPE)
        return real(sig, h);
    if (h == SIG_ERR) {
        errno = EINVAL;
        return SIG_ERR;
    }
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = h;
    act.sa_flags = flags;
    set_sigpipe(self, &act, &old);
    return handler_of(&old);
}

sighandler_t signal(int sig, sighandler_t h)
{
    return signal_common(sig, h, SA_RESTART, REAL(signal));
}

sighandler_t bsd_signal(int sig, sighandler_t h)
{
    return signal_common(sig, h, SA_RESTART, REAL(bsd_signal));
}

/* What <signal.h> calls `signal` under strict ISO C (-std=c99): System V semantics. */
sighandler_t __sysv_signal(int sig, sighandler_t h)
{
    return signal_common(sig, h, SA_RESETHAND | SA_NODEFER, REAL(__sysv_signal));
}

sighandler_t sysv_signal(int sig, sighandler_t h)
{
    return signal_common(sig, h, SA_RESETHAND | SA_NODEFER, REAL(sysv_signal));
}

int sigaction(int sig, const struct sigaction *restrict act, struct sigaction *restrict old)
{
    sim_thread *self = posix_self();
    if (!self || sig != SIGPIPE)
        return REAL(sigaction)(sig, act, old);
    struct sigaction a, o;
    if (act && uc_copy_from_user(&a, act, sizeof a) != 0) {
        errno = EFAULT;
        return -1;
    }
    set_sigpipe(self, act ? &a : NULL, &o);
    if (old && uc_copy_to_user(old, &o, sizeof o) != 0) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

void vmcisim_posix_raise_sigpipe(void)
{
    sim_thread *self = posix_self();
    if (!self)
        return;
    vmcisim *sim = self->sim;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    bool blocked = sigismember(&cur, SIGPIPE) == 1;
    sim_lock(sim);
    struct sigaction act = self->proc->sigpipe_act;
    sighandler_t h = handler_of(&act);
    const char *what = blocked              ? "blocked"
                       : h == SIG_IGN       ? "ignored"
                       : h == SIG_DFL       ? "default"
                                            : "handler";
    if (!blocked && h != SIG_IGN && h != SIG_DFL && (act.sa_flags & SA_RESETHAND)) {
        memset(&self->proc->sigpipe_act, 0, sizeof self->proc->sigpipe_act);
        self->proc->sigpipe_act.sa_handler = SIG_DFL;
    }
    sim_trace(sim, "signal", "pid=%u sig=SIGPIPE action=%s", self->proc->pid, what);
    sim_unlock(sim);
    if (blocked || h == SIG_IGN)
        return; /* Linux would leave a blocked one pending; nothing here ever unblocks it */
    if (h == SIG_DFL)
        sim_proc_exit_signal(SIGPIPE);
    sigset_t mask = act.sa_mask, saved;
    if (!(act.sa_flags & SA_NODEFER))
        sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, &saved);
    if (act.sa_flags & SA_SIGINFO) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = SIGPIPE;
        info.si_code = SI_USER;
        act.sa_sigaction(SIGPIPE, &info, NULL);
    } else {
        act.sa_handler(SIGPIPE);
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/* The socket layer cannot call up into this one: it calls the hook this file gives it. */
__attribute__((constructor)) static void sigpipe_hook_install(void)
{
    vsock_sigpipe_hook = vmcisim_posix_raise_sigpipe;
}
