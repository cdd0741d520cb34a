/*
 * exit.c - exit, _exit and _Exit from a simulated thread end its simulated process only: its
 * other threads end, its descriptors close as at process exit, its status is kept
 * (src/sim/proc.c). The real process goes on, so atexit handlers and stdio flushing (which
 * belong to the real process, shared by every simulated one) do not run. From any other
 * thread these are the C library's.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "posix/posix_internal.h"

VMCISIM_POSIX_ANCHOR(exit);

void exit(int status)
{
    if (posix_self())
        sim_proc_exit(status);
    REAL(exit)(status);
    __builtin_unreachable();
}

void _exit(int status)
{
    if (posix_self())
        sim_proc_exit(status);
    REAL(_exit)(status);
    __builtin_unreachable();
}

void _Exit(int status)
{
    if (posix_self())
        sim_proc_exit(status);
    REAL(_Exit)(status);
    __builtin_unreachable();
}
