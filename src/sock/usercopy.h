/*
 * usercopy.h - copies between the simulator and a simulated process's memory that never crash:
 * a NULL, unmapped, unreadable or unwritable user buffer gives -1 (the caller returns EFAULT),
 * like the kernel's copy_from_user/copy_to_user.
 *
 * How (usercopy.c): a plain copy with a recovery point, as the kernel's own user copies have an
 * exception-table entry. The calling thread arms a sigsetjmp buffer, copies, disarms; a SIGSEGV
 * or SIGBUS raised while it is armed jumps back and the copy returns -1. No system call in the
 * common case (the previous process_vm_readv/writev cost one per copy and pinned every page).
 * A fault outside a copy goes to whatever handler was installed before ours (the default one,
 * or a sanitizer's), so crashes elsewhere are reported as before.
 *
 * A failed copy may have written part of the destination (the kernel's do too); nothing else.
 */
#ifndef VMCISIM_USERCOPY_H
#define VMCISIM_USERCOPY_H

#include <stddef.h>
#include <sys/types.h>

int uc_copy_from_user(void *dst, const void *usrc, size_t n);   /* 0 or -1 */
int uc_copy_to_user(void *udst, const void *src, size_t n);     /* 0 or -1 */

/* The old way, one process_vm_readv/writev per copy: kept for the measurements of
 * docs/benchmarks.md and the tests that compare the two. 0 or -1 as above. */
int uc_copy_from_user_syscall(void *dst, const void *usrc, size_t n);
int uc_copy_to_user_syscall(void *udst, const void *src, size_t n);

/* Another process's memory (an exec'd program, src/exec/): between uc_remote_begin and
 * uc_remote_end, the calling thread's user pointers are addresses in process pid, and every
 * copy above is one process_vm_readv/writev on it, as the kernel copies from the memory of the
 * process that made the system call, whatever its address space. A bad address gives -1 as
 * usual. uc_remote_end returns 0, or the errno of a copy the kernel refused outright (EPERM:
 * the process may not be read any more, e.g. it made itself non-dumpable; ESRCH: it is gone),
 * which is not the program's fault: the caller can tell the two apart. */
void uc_remote_begin(pid_t pid);
int uc_remote_end(void);
/* The calling thread's own buffer [p, p+n) is the "user" buffer of a nested call (sendmsg and
 * recvmsg gather the iovecs into one and send or receive through it): copies that fall inside
 * it are local even in a remote session. (NULL, 0) ends it. */
void uc_local_range(const void *p, size_t n);

#endif
