/*
 * real.c - finds the C library's definitions of the names libvmcisim interposes (real.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "posix/real.h"

void *vmcisim_real_lookup(const char *name, void **slot)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        /* Statically linked programs have no dynamic symbol table to search; the interposer
         * cannot work there, so say so rather than call through a NULL pointer. */
        static const char msg[] = "vmcisim: cannot find the C library's definition of a "
                                  "function it interposes (is the program static?)\n";
        ssize_t unused = write(2, msg, sizeof msg - 1);
        (void)unused;
        abort();
    }
    __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    return fn;
}
