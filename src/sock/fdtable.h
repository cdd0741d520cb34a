/*
 * fdtable.h - per-process descriptor tables of VMCI sockets.
 *
 * VMCI descriptors are numbered from VSOCK_FD_BASE up, lowest free first, per process. The base
 * lies above any descriptor the C library can hand out (the kernel's nr_open limit), so a
 * descriptor below it is always the C library's and is passed through untouched.
 */
#ifndef VMCISIM_FDTABLE_H
#define VMCISIM_FDTABLE_H

#include "sim/sim.h"

#define VSOCK_FD_BASE (1 << 26)
#define VSOCK_FD_MAX 65536 /* descriptors per process */

struct vsock;

static inline int fd_is_vsock_range(int fd) { return fd >= VSOCK_FD_BASE; }

int fdtab_install(sim_proc *p, struct vsock *sk);        /* the fd, or -EMFILE / -ENOMEM */
struct vsock *fdtab_get(sim_proc *p, int fd);            /* NULL if not open */
struct vsock *fdtab_remove(sim_proc *p, int fd);         /* the socket, still referenced */
void fdtab_close_all(sim_proc *p);                        /* process exit */

#endif
