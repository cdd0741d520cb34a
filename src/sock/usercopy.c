/*
 * usercopy.c - fault-safe copies from and to simulated processes' buffers (see usercopy.h).
 *
 * Why a recovery point and not a cache of validated ranges: a range checked once can be
 * unmapped or made read-only by the program a moment later (free() of a large block munmaps
 * it), so a cache would need every munmap/mprotect/mremap/brk to invalidate it, including the
 * ones the C library makes on its own. The fault itself is the only check that cannot go stale,
 * and it costs nothing until it happens.
 *
 * Details that matter:
 *  - The copy is inline assembly (rep movsb) on x86-64, a volatile byte loop elsewhere: the
 *    compiler may not turn it into a memcpy call, whose sanitizer interceptor would check or
 *    report the user range itself before the fault we want to take.
 *  - The handler is installed with SA_NODEFER, so jumping out of it with siglongjmp(…, 0)
 *    leaves the thread's signal mask as it was (no sigprocmask system call on either path).
 *  - The recovery point is per thread (TLS): realtime worlds copy on many threads at once.
 *  - A fault with no armed recovery point is handed to the previous handler; if that is the
 *    default action, it is restored and the faulting instruction re-runs, so the process dies
 *    of the same signal with the same core as without us.
 */
#define _GNU_SOURCE
#include "sock/usercopy.h"

#include "posix/real.h"

#include <pthread.h>
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Addresses below one page are never valid user memory (NULL and small offsets from it). */
#define UC_MIN_ADDR 4096u

static int bad_range(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    return a < UC_MIN_ADDR || a + n < a;
}

/* ---- the recovery point ---------------------------------------------------------------------- */

struct uc_recovery {
    sigjmp_buf env;
};

static __thread struct uc_recovery *volatile uc_armed;
static struct sigaction uc_old_segv, uc_old_bus;
static pthread_once_t uc_once = PTHREAD_ONCE_INIT;
static int uc_installed;     /* 1 once both handlers are in place */

static void uc_chain(int sig, siginfo_t *si, void *uctx)
{
    const struct sigaction *old = sig == SIGBUS ? &uc_old_bus : &uc_old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default (or ignored, which a hardware fault cannot honour): die of it as usual. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    REAL(sigaction)(sig, &dfl, NULL);
}

static void uc_fault(int sig, siginfo_t *si, void *uctx)
{
    struct uc_recovery *r = uc_armed;
    if (r) {
        uc_armed = NULL;
        siglongjmp(r->env, 1);
    }
    uc_chain(sig, si, uctx);
}

static void uc_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = uc_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (REAL(sigaction)(SIGSEGV, &sa, &uc_old_segv) != 0)
        return;
    if (REAL(sigaction)(SIGBUS, &sa, &uc_old_bus) != 0) {
        REAL(sigaction)(SIGSEGV, &uc_old_segv, NULL);
        return;
    }
    __atomic_store_n(&uc_installed, 1, __ATOMIC_RELEASE);
}

/* The copy the fault may interrupt. Not instrumented and never a libc call (see above). */
__attribute__((no_sanitize_address, no_sanitize_thread, noinline))
static void uc_raw_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
    volatile unsigned char *d = dst;
    const volatile unsigned char *s = src;
    while (n--)
        *d++ = *s++;
#endif
}

/* 0, or -1 if the copy faulted. dst or src (or both) may be user memory. */
static int uc_copy(void *dst, const void *src, size_t n)
{
    pthread_once(&uc_once, uc_install);
    if (!__atomic_load_n(&uc_installed, __ATOMIC_ACQUIRE))
        return -2; /* no handler: the caller takes the system-call path */
    struct uc_recovery rec;
    if (sigsetjmp(rec.env, 0))
        return -1; /* uc_fault disarmed before jumping */
    uc_armed = &rec;
    __asm__ volatile("" ::: "memory"); /* armed before the first access */
    uc_raw_copy(dst, src, n);
    __asm__ volatile("" ::: "memory");
    uc_armed = NULL;
    return 0;
}

/* ---- the system-call path ---------------------------------------------------------------------- */

int uc_copy_from_user_syscall(void *dst, const void *usrc, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(usrc, n))
        return -1;
    struct iovec local = {dst, n}, remote = {(void *)usrc, n};
    ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    return r == (ssize_t)n ? 0 : -1;
}

int uc_copy_to_user_syscall(void *udst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(udst, n))
        return -1;
    struct iovec local = {(void *)src, n}, remote = {udst, n};
    ssize_t r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
    return r == (ssize_t)n ? 0 : -1;
}

/* ---- another process's memory ------------------------------------------------------------------ */

static __thread pid_t uc_remote_pid;   /* 0: the caller's own memory */
/* A buffer of the world's own inside a remote session (uc_local_range): copies that fall in it
 * are local. */
static __thread const char *uc_local_lo, *uc_local_hi;

void uc_local_range(const void *p, size_t n)
{
    uc_local_lo = p;
    uc_local_hi = p ? (const char *)p + n : NULL;
}

static bool in_local(const void *p, size_t n)
{
    const char *c = p;
    return uc_local_lo && c >= uc_local_lo && c <= uc_local_hi && n <= (size_t)(uc_local_hi - c);
}
static __thread int uc_remote_refused; /* errno of a copy refused for another reason than a fault */

void uc_remote_begin(pid_t pid)
{
    uc_remote_pid = pid;
    uc_remote_refused = 0;
}

int uc_remote_end(void)
{
    uc_remote_pid = 0;
    return uc_remote_refused;
}

static int uc_remote(void *local, const void *remote, size_t n, bool write)
{
    struct iovec l = {local, n}, r = {(void *)remote, n};
    ssize_t got = write ? process_vm_writev(uc_remote_pid, &l, 1, &r, 1, 0)
                        : process_vm_readv(uc_remote_pid, &l, 1, &r, 1, 0);
    if (got == (ssize_t)n)
        return 0;
    if (got < 0 && errno != EFAULT && !uc_remote_refused)
        uc_remote_refused = errno;
    return -1;
}

/* ---- the entry points -------------------------------------------------------------------------- */

int uc_copy_from_user(void *dst, const void *usrc, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(usrc, n))
        return -1;
    if (uc_remote_pid && !in_local(usrc, n))
        return uc_remote(dst, usrc, n, false);
    int rc = uc_copy(dst, usrc, n);
    return rc == -2 ? uc_copy_from_user_syscall(dst, usrc, n) : rc;
}

int uc_copy_to_user(void *udst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(udst, n))
        return -1;
    if (uc_remote_pid && !in_local(udst, n))
        return uc_remote((void *)src, udst, n, true);
    int rc = uc_copy(udst, src, n);
    return rc == -2 ? uc_copy_to_user_syscall(udst, src, n) : rc;
}
