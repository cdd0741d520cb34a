/*
 * usercopy.h - copies between the simulator and a simulated process's memory that never crash:
 * a NULL, unmapped, unreadable or unwritable user buffer gives -1 (the caller returns EFAULT),
 * like the kernel's copy_from_user/copy_to_user. They go through process_vm_readv/writev on
 * our own process, so the kernel checks every page of the range.
 */
#ifndef VMCISIM_USERCOPY_H
#define VMCISIM_USERCOPY_H

#include <stddef.h>

int uc_copy_from_user(void *dst, const void *usrc, size_t n);   /* 0 or -1 */
int uc_copy_to_user(void *udst, const void *src, size_t n);     /* 0 or -1 */

#endif
