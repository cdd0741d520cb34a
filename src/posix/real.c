/*
 * real.c - finds the C library's definitions of the names libvmcisim interposes (real.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "posix/real.h"

void *vmcisim_real_lookup(const char *name, void **slot)
{
    void *fn = dlsym(RTLD_NEXT, name);
    /* glibc keeps the pre-2.3.2 condition variables under the same names; should the lookup
     * land on glibc itself, ask for today's ABI by version. (A sanitizer's interceptor found
     * first is kept: it must see every wait to know the mutex is released meanwhile.) */
    Dl_info info;
    if (fn && strncmp(name, "pthread_cond_", 13) == 0 && dladdr(fn, &info) &&
        info.dli_fname && strstr(info.dli_fname, "libc.so")) {
        void *v = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
        if (v)
            fn = v;
    }
    if (!fn) {
        /* Statically linked programs have no dynamic symbol table to search; the interposer
         * cannot work there, so say so rather than call through a NULL pointer. */
        static const char msg[] = "vmcisim: cannot find the C library's definition of a "
                                  "function it interposes (is the program static?)\n";
        /* the system call itself: write() may be one of the names being looked up */
        long unused = syscall(SYS_write, 2, msg, sizeof msg - 1);
        (void)unused;
        abort();
    }
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    return fn;
}
