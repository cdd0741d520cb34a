/*
 * fdcalls.h - descriptor-level calls on simulated files, for the plain-named wrappers of
 * src/posix (and vmci_fcntl/vmci_ioctl): dup, open of the simulation's devices, the kind of a
 * descriptor, reads and writes of device files, accept4.
 *
 * Each returns as its libc namesake does (-1 and errno), acting as the calling simulated
 * process. Callers have checked that the descriptor is a simulated one (fd_is_vsock_range), or
 * for open, that the caller is a simulated thread.
 */
#ifndef VMCISIM_FDCALLS_H
#define VMCISIM_FDCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sock/fdtable.h"

/* dup (newfd < 0, minfd 0), F_DUPFD[_CLOEXEC] (newfd < 0, minfd), dup2 (newfd, flags 0),
 * dup3 (newfd, flags O_CLOEXEC or 0; oldfd == newfd is EINVAL). */
int vmcisim_fd_dup(int oldfd, int newfd, int minfd, bool cloexec, const char *op);
/* open(path, flags) when path names a device the simulation provides to the calling thread's
 * process: /dev/vsock always, /dev/urandom and /dev/random in deterministic mode. *handled is
 * false when it does not (the C library opens the path). */
int vmcisim_fd_open_dev(const char *path, int flags, bool *handled);
/* read/write on a non-socket simulated file (the caller checked the kind): /dev/vsock has
 * neither (EINVAL), a write to /dev/urandom is taken whole; reads of /dev/urandom draw from
 * the world's stream (src/posix). Checks the access mode (EBADF) first, as vfs_read does. */
ssize_t vmcisim_fd_dev_rw(int fd, void *buf, size_t len, bool write);
/* dup2/dup3 of a real descriptor onto newfd, a simulated one of the caller's process: the C
 * library puts oldfd's file there (closing the placeholder), then the simulated descriptor is
 * closed as dup2 closes what newfd was. */
int vmcisim_fd_dup_real_onto(int oldfd, int newfd, int flags, const char *op);
/* accept4 (vmci_accept is accept4 with no flags). */
int vmci_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

#endif
