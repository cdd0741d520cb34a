/*
 * api_share.h - streams whose queue memory an exec'd program maps and moves bytes through
 * itself (realtime mode). Called by the program's proxy thread (src/exec/proxy.c), as the
 * program's simulated thread, on the world's descriptor fd of the program's socket.
 */
#ifndef VMCISIM_API_SHARE_H
#define VMCISIM_API_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The memfds (not to be closed by the caller) and ring sizes of the socket's produce and
 * consume queues, and the socket's id (the same for every descriptor of it); opens its gates
 * as its state allows. 0, or -1 with errno: ENOTCONN (not connected yet), EOPNOTSUPP (not a
 * stream, or its memory is not shared), EBADF/ENOTSOCK. */
int vmcisim_sock_share(int fd, int fds[2], uint64_t sizes[2], uint32_t *id);
/* The program enqueued (sent) or dequeued n bytes itself: the doorbell, then the notification
 * an in-process call would send (vmci-semantics.md §4.7). 0 or -1 with errno. */
int vmcisim_sock_moved(int fd, bool sent, bool edge, size_t n);
/* Look at the socket's gates again (after a call that may have changed its state). */
void vmcisim_sock_gate(int fd);

#endif
