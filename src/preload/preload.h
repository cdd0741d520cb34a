/*
 * preload.h - what the files of libvmcisim-preload.so share: the channel of the calling thread,
 * the map from the child's placeholder descriptors to the world's simulated sockets, and the C
 * library's own definitions of the names the library interposes.
 *
 * The library is loaded with LD_PRELOAD into a program that `vmcisim run` starts with `exec`.
 * It links only the C library (and libdl/libpthread): nothing of the simulator runs in the
 * child. Each interposed call either goes to the C library unchanged (not a vsock descriptor,
 * not a simulated service, or a process that is not ours) or becomes one request on the calling
 * thread's channel (exec_proto.h).
 */
#ifndef VMCISIM_PRELOAD_H
#define VMCISIM_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "preload/exec_proto.h"

struct pl_chan {
    int sock;                 /* descriptors passed along, and the world's death (EOF) */
    struct xp_area *a;        /* the shared area */
};

/* The calling thread's channel, or NULL: the call goes to the C library (no world, a
 * grandchild, a thread that has ended its part, or a thread the program made before we ran). */
struct pl_chan *pl_chan(void);
/* The main thread's area (process-wide fields: wake_seq, waiters), valid once pl_chan() was
 * non-NULL. */
struct xp_area *pl_main_area(void);
void pl_set_thread_chan(struct pl_chan *c);
/* Channel descriptors: noted so that a forked child closes them, and so that the program's
 * own close() of one (a "close every descriptor" loop) leaves them open. */
void pl_note_chan_fd(int fd);
bool pl_is_chan_fd(int fd);
/* One request on c: the area is filled by the caller; rings the futex doorbell and sleeps on
 * the reply's (xp_doorbell.h); returns a->ret (errno set when -1, kept otherwise).
 * fds/nfds: descriptors sent along (SCM_RIGHTS); rfds: room for 2 received ones (or NULL). */
int64_t pl_call(struct pl_chan *c, const int *fds, int nfds, int *rfds);
/* The world makes the socket calls' copies itself (the direct calls of exec_proto.h); and the
 * answer XP_ERR_STAGE, after which it does not any more. */
bool pl_direct(void);
void pl_direct_refused(void);
/* Ends the program (as pl_call does) if the world is gone. */
void pl_world_check(struct pl_chan *c);
/* Send a request that has no reply (the thread's end). */
void pl_send_only(struct pl_chan *c);

/* Descriptor map: the world's descriptor of child descriptor fd, or -1 if it is not a vsock
 * placeholder. */
int pl_world_fd(int fd);
/* A new placeholder for world descriptor wfd: the child descriptor, or -1 (errno set; the world
 * descriptor is then closed). */
int pl_new_placeholder(struct pl_chan *c, int wfd, bool cloexec);
void pl_forget(int fd);
/* Child descriptor fd (a real one the C library just made) now stands for world fd wfd. */
void pl_map(int fd, int wfd);
/* Tell the world to close wfd (a descriptor the program no longer has). */
void pl_world_close(struct pl_chan *c, int wfd);
/* A descriptor that may be an epoll one was closed (close, dup2/dup3 over it): epoll.c tells
 * the world if it has a copy. */
void pl_epoll_closed(int epfd);
int pl_fcntl_dup(int fd, int cmd, int minfd);
bool pl_any_mapped(void);

/* Waits (poll.c): one poll in the world of fds (the program's array), ns the timeout (-1:
 * none), kind the call (enum xp_wait), mask the signal mask during the wait (or NULL); the C
 * library's ppoll when no world is needed. */
#include <poll.h>
#include <signal.h>
#include <time.h>
int pl_poll_world(struct pollfd *fds, nfds_t n, int64_t ns, int kind, const sigset_t *mask);
/* A timeout the program gave: ns, -1 for NULL, or -2-errno (EFAULT, EINVAL). */
int64_t pl_timespec_ns(const struct timespec *ts);
/* The program's mask for a wait: 0 (no mask), 1 (set; old holds the thread's), or -1 with
 * errno (EFAULT; EINTR: a pending signal it lets through had its handler run). */
int pl_mask_begin(const sigset_t *mask, sigset_t *old);
void pl_mask_end(int begun, const sigset_t *old);
/* write() of a program's vsock descriptor (world fd w): bytes sent, or -1 with errno (SIGPIPE
 * raised as write raises it) (sock.c). */
ssize_t pl_sock_write(struct pl_chan *c, int w, const void *buf, size_t len);
/* /dev/urandom or /dev/random, the paths whose reads draw from the world (files.c). */
bool pl_random_path(const char *path);

/* Fault-safe copies with the program's buffers (ucopy.c): the bytes copied before the first
 * bad page (n when all were good; errno untouched). */
size_t pl_copy_in(void *dst, const void *usrc, size_t n);
size_t pl_copy_out(void *udst, const void *src, size_t n);
/* n bytes at memory speed, where one side is the program's (fault.c): 0, or -1 when the
 * program's side faulted (part of dst may be written). */
int pl_copy_fast(void *dst, const void *src, size_t n, bool to_program);
/* Every page of [p, p+n) is mapped and readable (true for n == 0). */
bool pl_user_mapped(const void *p, size_t n);
/* Descriptors of /dev/urandom and /dev/random whose reads draw from the world (urandom.c). */
bool pl_is_random_fd(int fd);
void pl_random_fd_set(int fd, bool on);
ssize_t pl_random_read(struct pl_chan *c, void *buf, size_t n);

/* Mapped queues (fast.c, realtime): bytes sent or received by the program itself through the
 * socket's queue pair, 0 when the call is the world's (for all of it, or for the rest: a send
 * that moved fewer than len bytes continues in the world). */
size_t pl_fast_send(struct pl_chan *c, int w, const void *buf, size_t len, int flags);
size_t pl_fast_recv(struct pl_chan *c, int w, void *buf, size_t len, int flags);
/* Around a call in the world that may send (tx) or receive on w: no move of the program's
 * own runs meanwhile. Returns a token for the end (NULL: w is not mapped). */
void *pl_fast_world_begin(struct pl_chan *c, int w, bool tx);
void pl_fast_world_end(void *token);
/* Around a poll/select/epoll wait in the world: every mapped socket of the program may be
 * waited on, so the other ends tell the world of their moves meanwhile. Token for the end. */
void *pl_fast_away_begin(struct pl_chan *c);
void pl_fast_away_end(void *token);
/* A vsock descriptor joined one of the program's epoll sets: from then on the other ends tell
 * the world of every edge, waiting or not (an edge-triggered member hears of an arrival only
 * by its notification, even when no thread was in epoll_wait as it came). */
void pl_fast_epoll_member(struct pl_chan *c);
/* World descriptor w is closed: its map goes with its last descriptor. */
void pl_fast_forget(int w);

/* Deterministic mode: before a real (not vsock) call on fd that may block until ev (POLLIN or
 * POLLOUT), wait for it in the world, giving up the turn (realwait.c). msg_flags: the call's
 * MSG_* flags (MSG_DONTWAIT: no wait), 0 for read/write. */
int pl_real_wait(int fd, short ev, int msg_flags); /* -1: EINTR, make no call */
/* The signal the last reply of this thread delivered (chan.c), then 0. */
int pl_take_delivered(void);
/* The C library's calls on a real descriptor, with those waits in front (realio.c). */
ssize_t pl_real_sendto(int fd, const void *buf, size_t len, int flags,
                       const struct sockaddr *to, socklen_t tolen);
ssize_t pl_real_write(int fd, const void *buf, size_t len);
ssize_t pl_real_writev(int fd, const struct iovec *iov, int n);
ssize_t pl_real_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t pl_real_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                         socklen_t *fromlen);
/* Deterministic mode: after `written` > 0 bytes went into a real TCP socket without MSG_MORE,
 * make the kernel send what Nagle's algorithm holds back, so the peer has it before the writer
 * gives up the turn (realpush.c). */
void pl_real_push(int fd, int msg_flags, ssize_t written);
/* One non-blocking attempt at what is left of a call after `done` units: dontwait is
 * MSG_DONTWAIT for a socket (else 0: the descriptor is non-blocking for the attempt). */
typedef ssize_t (*pl_attempt_fn)(void *ctx, size_t done, int dontwait);
/* Deterministic mode: a call that must do all of `total` on a blocking real descriptor (a long
 * write or send, MSG_WAITALL, sendfile) made as attempts with world waits between (realwait.c).
 * false: not needed here (realtime, non-blocking, a regular file...); make the plain call. */
bool pl_real_all(int fd, short ev, int msg_flags, size_t total, pl_attempt_fn call, void *ctx,
                 ssize_t *ret);

/* The C library's definition of a name (dlsym RTLD_NEXT, looked up once). */
void *pl_real(const char *name);
#define PL_REAL(type, name)                                                                  \
    ({                                                                                       \
        static __typeof__(type) pl_f_;                                                                 \
        if (!pl_f_)                                                                          \
            pl_f_ = (type)pl_real(#name);                                                    \
        pl_f_;                                                                               \
    })


#endif
