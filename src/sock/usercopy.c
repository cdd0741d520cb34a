/*
 * usercopy.c - fault-safe copies from and to simulated processes' buffers.
 */
#define _GNU_SOURCE
#include "sock/usercopy.h"

#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

/* Addresses below one page are never valid user memory (NULL and small offsets from it). */
#define UC_MIN_ADDR 4096u

static int bad_range(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    return a < UC_MIN_ADDR || a + n < a;
}

int uc_copy_from_user(void *dst, const void *usrc, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(usrc, n))
        return -1;
    struct iovec local = {dst, n}, remote = {(void *)usrc, n};
    ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    return r == (ssize_t)n ? 0 : -1;
}

int uc_copy_to_user(void *udst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (bad_range(udst, n))
        return -1;
    struct iovec local = {(void *)src, n}, remote = {udst, n};
    ssize_t r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
    return r == (ssize_t)n ? 0 : -1;
}
