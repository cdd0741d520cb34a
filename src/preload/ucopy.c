/*
 * ucopy.c - fault-safe copies between the program's buffers and the shared area, so that a
 * bad pointer passed to an interposed call gives -1/EFAULT, as the same call gives in-process
 * (src/sock/usercopy.c) and on Linux, instead of a SIGSEGV in the program.
 *
 * Why process_vm_readv/writev on ourselves rather than a SIGSEGV handler with a recovery
 * point: the handler would have to be swapped in around each copy with sigaction (process-wide,
 * racing with the program's other threads and its own sigaction calls); the system call is one
 * per copy, touches no signal state, and the kernel itself does the copy (so it replaces the
 * memcpy rather than adding to it). The target is our own process, which ptrace's access check
 * always allows.
 *
 * The program's side is split at page boundaries so that a fault stops the copy exactly at the
 * first bad page (the kernel never splits one iovec element), which is where Linux's own copy
 * stops too: the count of bytes before it is what a partial copy reports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/preload.h"

#define PL_PAGE 4096u
#define PL_BATCH 256u /* program-side pieces per system call (IOV_MAX is 1024) */

/* Addresses below one page are never valid (NULL and small offsets from it): no system call. */
static int below_first_page(const void *p) { return (uintptr_t)p < PL_PAGE; }

static pid_t self_pid;
static int no_syscall; /* process_vm_* refused (ENOSYS, EPERM under a filter): plain copies */

static void forget_pid(void) { __atomic_store_n(&self_pid, 0, __ATOMIC_RELAXED); }

static pid_t me(void)
{
    pid_t p = __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
    if (!p) {
        static int once;
        if (!__atomic_exchange_n(&once, 1, __ATOMIC_RELAXED))
            pthread_atfork(NULL, NULL, forget_pid);
        p = getpid();
        __atomic_store_n(&self_pid, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* Copy n bytes between ours (always valid) and user (the program's); out: ours -> user.
 * Returns the bytes copied before the first page that faulted (n when none did). */
static size_t copy(void *ours, void *user, size_t n, int out)
{
    if (n == 0)
        return 0;
    if (below_first_page(user) || (uintptr_t)user + n < (uintptr_t)user)
        return 0;
    if (__atomic_load_n(&no_syscall, __ATOMIC_RELAXED)) {
        if (out)
            memcpy(user, ours, n);
        else
            memcpy(ours, user, n);
        return n;
    }
    size_t done = 0;
    while (done < n) {
        struct iovec r[PL_BATCH];
        unsigned k = 0;
        size_t batch = 0;
        while (k < PL_BATCH && done + batch < n) {
            uintptr_t at = (uintptr_t)user + done + batch;
            size_t m = PL_PAGE - (at % PL_PAGE);
            if (m > n - done - batch)
                m = n - done - batch;
            r[k].iov_base = (void *)at;
            r[k].iov_len = m;
            k++;
            batch += m;
        }
        struct iovec l = {(char *)ours + done, batch};
        ssize_t got = out ? process_vm_writev(me(), &l, 1, r, k, 0)
                          : process_vm_readv(me(), &l, 1, r, k, 0);
        if (got < 0 && (errno == ENOSYS || errno == EPERM) && done == 0) {
            /* no such call here: say so once, and copy as before this file existed */
            __atomic_store_n(&no_syscall, 1, __ATOMIC_RELAXED);
            return copy(ours, user, n, out);
        }
        if (got < 0)
            return done;
        done += (size_t)got;
        if ((size_t)got < batch)
            return done;
    }
    return done;
}

size_t pl_copy_in(void *dst, const void *usrc, size_t n)
{
    int e = errno;
    size_t r = copy(dst, (void *)usrc, n, 0);
    errno = e;
    return r;
}

size_t pl_copy_out(void *udst, const void *src, size_t n)
{
    int e = errno;
    size_t r = copy((void *)src, udst, n, 1);
    errno = e;
    return r;
}

/* One byte of each page of [p, p+n) read into a scratch: true when all are mapped readable.
 * Asked before a receive, so that a bad buffer fails before the world dequeues bytes it
 * could not hand over (in-process, a failed copy leaves them queued). */
bool pl_user_mapped(const void *p, size_t n)
{
    if (n == 0)
        return true;
    if (below_first_page(p) || (uintptr_t)p + n < (uintptr_t)p)
        return false;
    if (__atomic_load_n(&no_syscall, __ATOMIC_RELAXED))
        return true;
    uintptr_t at = (uintptr_t)p, end = at + n;
    while (at < end) {
        unsigned char scratch[PL_BATCH];
        struct iovec r[PL_BATCH];
        unsigned k = 0;
        for (; k < PL_BATCH && at < end; k++) {
            r[k].iov_base = (void *)at;
            r[k].iov_len = 1;
            at = (at & ~(uintptr_t)(PL_PAGE - 1)) + PL_PAGE;
        }
        struct iovec l = {scratch, k};
        int e = errno;
        ssize_t got = process_vm_readv(me(), &l, 1, r, k, 0);
        if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
            __atomic_store_n(&no_syscall, 1, __ATOMIC_RELAXED);
            errno = e;
            return true;
        }
        errno = e;
        if (got != (ssize_t)k)
            return false;
    }
    return true;
}
