/*
 * sockpoll.h - poll and epoll over sets that mix simulated sockets with real descriptors
 * (pipes, files, TCP), for the plain-named poll/select/epoll wrappers (src/posix) and vmci_poll.
 *
 * A descriptor is a simulated socket when the calling process's descriptor table (fdtable.h)
 * holds it; every other descriptor is the C library's and is checked with the C library's poll
 * without blocking (sim_wait_fds in sim.h says how the thread then waits). Timeouts run on the
 * simulated clock. Readiness of a simulated socket is vsock_op_poll's (Linux's vsock_poll).
 *
 * Every function returns a count or a negative errno value; -EPERM when the caller is not a
 * thread of a simulated process (the wrappers check sockpoll_simulated() first and pass such
 * calls to the C library).
 */
#ifndef VMCISIM_SOCKPOLL_H
#define VMCISIM_SOCKPOLL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct sock_world;

/* The caller is a thread of a simulated process. */
bool sockpoll_simulated(void);

/* poll(2) over the user's array (copied in and out, EFAULT if it cannot be). timeout_ns < 0
 * waits without limit; *left_ns (if not NULL) gets the time left at return. `op` names the
 * call in the trace. */
int sockpoll_poll(struct pollfd *ufds, nfds_t nfds, int64_t timeout_ns, uint64_t *left_ns,
                  const char *op);
/* The same over an array the caller owns (select builds one). */
int sockpoll_poll_k(struct pollfd *kfds, size_t n, int64_t timeout_ns, uint64_t *left_ns,
                    const char *op);

/* ---- epoll (sockepoll.c) ---------------------------------------------------------------------
 * An epoll instance is a real epoll descriptor (its real members live in it) plus, in the
 * world, the interest list of its simulated sockets, keyed by descriptor number. */

/* epfd was just made by the C library's epoll_create1 for a simulated process: forget any
 * list left under that number (its old descriptor was closed). */
int sockepoll_created(int epfd);
/* epoll_ctl: 1 when fd is not a simulated socket (the caller hands the call to the C library
 * unchanged), else 0 or a negative errno value as Linux's epoll_ctl. */
int sockepoll_ctl(int epfd, int op, int fd, struct epoll_event *uev);
/* epoll_wait: simulated sockets first, then the real members. */
int sockepoll_wait(int epfd, struct epoll_event *uev, int maxevents, int64_t timeout_ns,
                   const char *op);
/* A real descriptor number was closed: an interest list kept under it goes (for the close
 * wrapper; epoll_create1 drops a stale one anyway). */
void sockepoll_fd_closed(int fd);
/* World teardown. */
void sockepoll_destroy_all(struct sock_world *sw);

#endif
