/*
 * fdtable.h - per-process descriptor tables of the simulation's open files (VMCI sockets, the
 * /dev/vsock device, /dev/urandom in deterministic mode).
 *
 * A simulated descriptor is a real descriptor number: each one holds a placeholder descriptor
 * of the C library (an eventfd) open for as long as the simulated descriptor is, so the C
 * library hands that number to nothing else and programs can FD_SET it (numbers stay below
 * FD_SETSIZE while the process has room, as the C library's own do). The number alone means
 * nothing to the kernel; every call on it is the simulation's.
 *
 * Descriptors refer to open files (struct vfile, Linux's struct file): dup'd descriptors share
 * one, and a call in progress holds a reference to it, so close() while another thread is
 * blocked in recv()/accept() only frees the number; the socket lives on until that call
 * returns (Linux: fdget in the system call, the last fput releases the socket).
 *
 * The trace never shows a real number (it depends on what else the process has open): each
 * descriptor also has a deterministic id, VSOCK_FD_BASE + the lowest id free in its process
 * when it was opened (the numbers the simulator handed out before descriptors were real, so
 * traces of programs that do not dup are unchanged).
 *
 * Everything here runs inside the world, except fd_is_vsock_range (any thread, lock-free).
 */
#ifndef VMCISIM_FDTABLE_H
#define VMCISIM_FDTABLE_H

#include <stdbool.h>

#include "sim/sim.h"

#define VSOCK_FD_BASE (1 << 26) /* the first descriptor id in the trace */
#define VSOCK_FD_MAX 65536      /* simulated descriptors per process; real numbers above this
                                   are refused (EMFILE) */

struct vsock;

enum vfile_kind {
    VF_SOCKET,    /* an AF_VSOCK socket */
    VF_VSOCK_DEV, /* /dev/vsock: only IOCTL_VM_SOCKETS_GET_LOCAL_CID */
    VF_URANDOM,   /* /dev/urandom (or /dev/random) in deterministic mode: the world's stream */
};

struct vfile {
    int refs;               /* descriptors + calls in progress */
    enum vfile_kind kind;
    struct vsock *sk;       /* VF_SOCKET: the descriptor's reference to the socket */
    int flags;              /* open flags (O_ACCMODE, O_NONBLOCK) of non-socket files */
    sim_proc *proc;         /* the process whose table made it */
    struct vfile *next, *prev; /* in the process's list of files */
};

/* fd is a simulated descriptor of some process (of any world). Safe from any thread. */
bool fd_is_vsock_range(int fd);
/* Its kind (enum vfile_kind) when fd is a simulated descriptor, else -1. Lock-free, any thread;
 * the descriptor may belong to another simulated process (its calls then give EBADF). */
int fd_sim_kind(int fd);

/* Open a new descriptor for socket sk (the table takes the caller's reference): the fd, or
 * -EMFILE / -ENOMEM (the reference is then still the caller's). */
int fdtab_install(sim_proc *p, struct vsock *sk);
int fdtab_install_cloexec(sim_proc *p, struct vsock *sk, bool cloexec);
/* Open a new descriptor for a new non-socket file: the fd or a negative errno. */
int fdtab_install_dev(sim_proc *p, enum vfile_kind kind, int flags, bool cloexec);
struct vsock *fdtab_get(sim_proc *p, int fd);            /* NULL if not an open socket */
/* The open file behind fd with a reference for the caller (vfile_put), or NULL. */
struct vfile *fdtab_fget(sim_proc *p, int fd);
void vfile_put(struct vfile *f);
/* close(fd): 0 or -EBADF. The file goes when its last reference does. */
int fdtab_close(sim_proc *p, int fd);
/* The simulated descriptor fd stops being one, but its number stays open: the caller has just
 * put a real file there (dup2 of a real descriptor onto it). 0 or -EBADF. */
int fdtab_forget(sim_proc *p, int fd);
/* dup family. newfd < 0: the lowest free number >= minfd (dup, F_DUPFD); else exactly newfd
 * (dup2/dup3; a real descriptor there is closed as the kernel would). The new fd or -errno. */
int fdtab_dup(sim_proc *p, int oldfd, int newfd, int minfd, bool cloexec);
int fdtab_get_cloexec(sim_proc *p, int fd);              /* 0/1, or -EBADF */
int fdtab_set_cloexec(sim_proc *p, int fd, bool on);     /* 0 or -EBADF */
/* The deterministic id of fd for the trace (fd itself when it is not a simulated one). */
int fdtab_trace_id(sim_proc *p, int fd);
void fdtab_close_all(sim_proc *p);                        /* process exit */
/* The name the script gave descriptor trace_id of p (sim_trace_name_next_fd), or NULL. */
const char *fdtab_trace_name(sim_proc *p, int trace_id);
/* trace_id for a sim_trace_rich record: "67108864", or shown as "s(67108864)" when named. */
#define FDTAB_TRACE_FD_MAX (SIM_NAME_MAX + 32)
const char *fdtab_trace_fd(sim_proc *p, int trace_id, char buf[FDTAB_TRACE_FD_MAX]);

#endif
