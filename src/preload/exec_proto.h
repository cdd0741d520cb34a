/*
 * exec_proto.h - the protocol between an exec'd program (libvmcisim-preload.so, in the child)
 * and the world (src/exec, in `vmcisim run`). docs/exec-protocol.md says it in prose.
 *
 * One channel per child thread: a shared memory area (memfd, mapped in both processes) that
 * holds the request, the reply, the payload and the doorbell (two futex sequence words,
 * xp_doorbell.h), and a Unix stream socket pair. A request is: the child fills the area and
 * rings (req_seq); the world's proxy thread wakes, executes the call as that simulated thread,
 * fills the reply and rings back (rep_seq). The socket carries only descriptors (a poll set's
 * real descriptors, a new thread's channel: one byte with SCM_RIGHTS, flagged by req_sock /
 * rep_sock before the ring) and tells each side of the other's death (end of file). Payload is
 * copied once on each side and never through the kernel's socket buffers.
 *
 * This header is plain C with no dependency on the simulator: the preload library includes it.
 */
#ifndef VMCISIM_EXEC_PROTO_H
#define VMCISIM_EXEC_PROTO_H

#include <stdint.h>

#define XP_MAGIC 0x76736d78u          /* "xmsv": the area is a channel of this version */
#define XP_VERSION 7u /* 2: futex doorbell; 3: direct copies; 4: waits in ns; 5: epoll sets
                         are the world's (XP_EPOLL_*); 6: signals (sig, XP_ITIMER);
                         7: a move says whether it was an edge (XP_MV_EDGE) */
#define XP_ENV_FD "VMCISIM_EXEC_FD"   /* "SOCKFD,MEMFD" of the main thread's channel */
#define XP_ENV_PID "VMCISIM_EXEC_PID" /* the pid the world forked: a grandchild is not ours */
#define XP_DATA_MAX (1u << 20)        /* payload staging per thread */
#define XP_ADDR_MAX 128u              /* sockaddr / option value / small structs */
#define XP_POLL_MAX 1024u             /* pollfds per poll request */

enum xp_op {
    XP_HELLO = 1,   /* first call of a channel: the world answers cid/realtime/now; a0 the
                       address of a word of the program, a1 its value -> a0 1 when the world
                       read it there (direct copies work), else 0 */
    XP_SOCKET,      /* a0 domain, a1 type, a2 protocol -> world fd */
    XP_BIND,        /* fd, addr */
    XP_CONNECT,     /* fd, addr */
    XP_LISTEN,      /* fd, a0 backlog */
    XP_ACCEPT,      /* fd, a0 flags (SOCK_NONBLOCK only) -> world fd, addr */
    XP_SEND,        /* fd, data[0..a0), a1 flags, addr if a2, a3 call (XP_CALL_*) */
    XP_RECV,        /* fd, a0 max, a1 flags, a2: want the source address, a3 call -> data,
                       addr, a3 msg_flags (XP_CALL_MSG) */
    XP_SHUTDOWN,    /* fd, a0 how */
    XP_CLOSE,       /* fd */
    XP_SETSOCKOPT,  /* fd, a0 level, a1 name, addr = value */
    XP_GETSOCKOPT,  /* fd, a0 level, a1 name, a2 len -> addr = value */
    XP_GETSOCKNAME, /* fd -> addr */
    XP_GETPEERNAME, /* fd -> addr */
    XP_FCNTL,       /* fd, a0 cmd (F_GETFL/F_SETFL), a1 arg */
    XP_IOCTL,       /* fd, a0 request (FIONREAD) -> a0 value */
    XP_POLL,        /* data = struct pollfd[a0] (world fds; -2-k: the k-th descriptor sent along),
                       a1 timeout ns (< 0: none), a2 the call (enum xp_wait) -> revents in data */
    XP_SLEEP,       /* a0 ns -> 0, or -1/EINTR with a0 the time left (a signal came) */
    XP_RAND,        /* -> ret: 31 bits of the world's stream (rand/random) */
    XP_SRAND,       /* the process seeded rand: from now on libc's */
    XP_RANDOM_BYTES,/* a0 n -> data */
    XP_YIELD,       /* sched_yield */
    XP_THREAD_NEW,  /* -> ret: world thread id; the new channel's fds come with the reply */
    XP_THREAD_START,/* first call on a new thread's channel */
    XP_THREAD_EXIT, /* the thread ends (no reply) */
    XP_JOIN,        /* a0 world thread id -> ret errno */
    XP_DETACH,      /* a0 world thread id -> ret errno */
    XP_ADDR_WAIT,   /* a0 address, a1 wake sequence seen, a2 flags (1 timed, 2 wake the mutex
                       at data[0..8) first, 4 cond, 8 sem), a3 clock; data[8..24) abstime */
    XP_ADDR_WAKE,   /* a0 address, a1 all */
    XP_NOP,
    XP_DUP,         /* fd -> a new world descriptor of the same socket */
    XP_SIGNAL,      /* a0 signal, a1 action (0 handler, 1 ignored, 2 default, 3 blocked): the
                       program is about to get it; the world records it in the trace */
    /* Direct copies (when the hello's reply says the world can read and write the program's
     * memory): the pointers are the program's own, and the world copies from and to them
     * itself, as a kernel copies from the memory of the process in a system call. */
    XP_SEND_D,      /* fd, a0 call (XP_CALL_*), a1 buf, a2 len, a3 flags, a4 to, a5 tolen */
    XP_RECV_D,      /* fd, a0 call, a1 buf, a2 len, a3 flags, a4 from, a5 &fromlen */
    XP_SENDMSG_D,   /* fd, a0 msghdr, a1 flags */
    XP_RECVMSG_D,   /* fd, a0 msghdr, a1 flags */
    /* Mapped queues (realtime, src/preload/fast.c): the program moves stream bytes itself. */
    XP_MAP,         /* fd -> a0 socket id, a1 produce ring size, a2 consume ring size; the two
                       queues' memfds (produce, consume) come with the reply; the program's
                       moves are then posted through the area's mv_* fields (no reply) */
    /* Epoll sets with vsock members are the world's sockepoll instances (src/exec/epolls.c).
     * a0 is the program's epoll descriptor; the first request that needs it sends the
     * descriptor itself along (SCM_RIGHTS), and the world keeps that copy. Each reply's a5 is
     * 1 when the world holds a copy of a0 (else the next request sends it again). */
    XP_EPOLL_CTL,   /* fd (world fd of the vsock member), a0, a1 op, a2 1 if an event is in
                       data (struct epoll_event) */
    XP_EPOLL_WAIT,  /* a0, a1 maxevents (fits in data), a2 timeout ns (< 0: none), a3 the call
                       (enum xp_wait) -> ret events in data */
    XP_EPOLL_CLOSE, /* a0: the program closed it; the world's instance and copy go */
    XP_ITIMER,      /* ITIMER_REAL in simulated time: a0 value ns (0 disarms), a1 interval ns,
                       a2 1 to set (0: only read) -> a0 old value ns, a1 old interval ns */
};

/* Which call a wait is (XP_POLL's a2), so that the trace names the call the program made, as
 * in-process. */
enum xp_wait {
    XP_WAIT_POLL,
    XP_WAIT_PPOLL,
    XP_WAIT_SELECT,
    XP_WAIT_PSELECT,
    XP_WAIT_EPOLL_WAIT,
    XP_WAIT_EPOLL_PWAIT,
    XP_WAIT_EPOLL_PWAIT2,
    XP_WAIT_REAL, /* a blocking call on a real descriptor waits for it first (realwait.c) */
    XP_WAIT_COUNT
};

static inline const char *xp_wait_name(int64_t kind)
{
    static const char *const names[XP_WAIT_COUNT] = {
        "poll",       "ppoll",        "select",   "pselect",   "epoll_wait",
        "epoll_pwait", "epoll_pwait2", "real-wait",
    };
    return kind >= 0 && kind < XP_WAIT_COUNT ? names[kind] : "poll";
}

/* Which call a send or receive is (direct: a0; staged: a3), so that the world makes the same
 * call as in-process and the trace is the same whichever way the bytes travel. MSG: sendmsg/
 * recvmsg, and writev/readv, which are those on a socket. */
enum xp_call { XP_CALL_SEND, XP_CALL_SENDTO, XP_CALL_WRITE, XP_CALL_MSG };
#define XP_CALL_RECV XP_CALL_SEND
#define XP_CALL_RECVFROM XP_CALL_SENDTO
#define XP_CALL_READ XP_CALL_WRITE

/* Reply error of a direct call that the world could not make because it may not read or write
 * the program's memory any more (EPERM from the kernel: the program made itself non-dumpable).
 * Nothing was done; the program makes the call again through the area, and goes on so. */
#define XP_ERR_STAGE 0x7f00

/* req_seq's step for a posted move (see mv_seq): above the requests' 16 bits. */
#define XP_RING_MOVED 0x10000u
/* mv_sent's bits: the program enqueued (else it dequeued); and the move took the queue out of
 * the empty (full) state, judged after the copy: the world sends WROTE (READ's window) for it
 * even when the queue looks otherwise by the time the proxy takes the move. */
#define XP_MV_SENT 1u
#define XP_MV_EDGE 2u
#define XP_RING_REQUESTS 0xffffu

/* The area of one channel. The world writes `now_ns` with every reply so that the child reads
 * the simulated clock without a round trip (deterministic mode: time does not move while a
 * thread of the child runs, exactly as in-process, where clock reads are no scheduling point). */
struct xp_area {
    uint32_t magic, version;
    /* request */
    uint32_t op;
    int32_t fd;          /* the world's descriptor of a simulated socket */
    int64_t a[6];
    uint32_t addrlen;    /* in and out */
    uint32_t datalen;    /* in and out */
    /* reply */
    int64_t ret;
    int32_t err;         /* errno when ret == -1 */
    uint32_t realtime;
    uint64_t now_ns;     /* simulated time at the reply */
    uint32_t cid;        /* the process's CID */
    uint32_t sig;        /* a signal the thread raises on itself before the call returns (the
                            world's timers, src/exec/itimer.c), 0: none */
    /* process-wide (only in the main thread's area): see XP_ADDR_WAIT */
    uint32_t wake_seq;   /* bumped by every XP_ADDR_WAKE */
    uint32_t waiters;    /* child threads between "about to wait" and "done waiting" */
    /* the doorbell (xp_doorbell.h): each side rings by advancing its sequence word */
    uint32_t req_seq;      /* advanced by the child: a request is in the area */
    uint32_t req_sleeping; /* the world's proxy sleeps on req_seq */
    uint32_t rep_seq;      /* advanced by the world: the reply is in the area */
    uint32_t rep_sleeping; /* the child's thread sleeps on rep_seq */
    uint32_t req_sock;     /* the request's descriptors wait on the socket (one byte + SCM_RIGHTS) */
    /* A move the program made itself (fast.c), posted without waiting for the world: the
     * child fills mv_*, advances mv_seq, and rings req_seq by XP_RING_MOVED (a request rings it
     * by 1, so the low 16 bits count requests); the proxy takes it before any request and sets
     * mv_ack = mv_seq (waking the child if it waits to post the next one). */
    uint32_t mv_seq, mv_ack, mv_sleeping;
    int32_t mv_fd;
    uint32_t mv_sent;      /* XP_MV_*: */
    uint32_t mv_pad;
    uint64_t mv_n;
    uint32_t rep_sock;     /* the reply's descriptors wait on the socket */
    unsigned char addr[XP_ADDR_MAX];
    unsigned char data[XP_DATA_MAX];
};

#endif
