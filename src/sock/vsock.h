/*
 * vsock.h - the socket core (like Linux's af_vsock.c): socket objects, their states, the per-
 * context bound and connected tables, and the table of operations a transport implements. The
 * core knows nothing of queue pairs or VMCI datagrams and names no transport: transports
 * register with vsock_core_register, as Linux's do (vmci_transport.c registers the VMCI ones),
 * and know nothing of descriptors or user calls.
 *
 * Every function here runs inside the world.
 */
#ifndef VMCISIM_VSOCK_H
#define VMCISIM_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"
#include "sock/sock_redirect.h"
#include "vmcisim/vmci_sockets.h"

/* Linux's sock->state values (SS_*) and sk->sk_state values (TCP_*), §3.1. */
enum { SS_FREE = 0, SS_UNCONNECTED = 1, SS_CONNECTING = 2, SS_CONNECTED = 3, SS_DISCONNECTING = 4 };
enum {
    VS_ESTABLISHED = 1,
    VS_SYN_SENT = 2,
    VS_CLOSE = 7,
    VS_LISTEN = 10,
    VS_CLOSING = 11,
};
/* shutdown bits (kernel mode: SHUT_RD -> RCV, SHUT_WR -> SEND) */
#define VS_RCV_SHUTDOWN 1
#define VS_SEND_SHUTDOWN 2
#define VS_SHUTDOWN_MASK 3

/* Linux defaults (§1.5). */
#define VS_DEFAULT_BUFFER_SIZE (256u * 1024u)
#define VS_DEFAULT_BUFFER_MIN_SIZE 128u
#define VS_DEFAULT_BUFFER_MAX_SIZE (256u * 1024u)
#define VS_DEFAULT_CONNECT_TIMEOUT_NS (2ull * 1000000000ull)
#define VS_LAST_RESERVED_PORT 1023u
#define VS_MAX_PORT_RETRIES 24
#define VS_DEFAULT_RCVBUF (212992u)  /* net.core.rmem_default */

struct vsock;
struct vsock_ctx;

/* The name of a VS_* state for the readable trace, or NULL. */
const char *vsock_state_name(int state);

/* Linux's sock_type_connectible: stream and seqpacket share the bind table, listen and accept
 * (af_vsock.c); only a transport's seqpacket support differs, and VMCI has none. */
static inline bool vsock_type_connectible(int type)
{
    return type == SOCK_STREAM || type == SOCK_SEQPACKET;
}
struct sock_world;

/* A received datagram waiting on a datagram socket's receive queue. */
struct vsock_dgram {
    struct vsock_dgram *next;
    uint32_t src_cid, src_port;
    uint32_t len;
    unsigned char data[];
};

/* The operations a transport provides to the core (one table per transport). Return values:
 * >= 0 success, a negative errno value on failure. */
struct vsock_transport {
    const char *name;
    int (*init)(struct vsock *sk, struct vsock *parent);
    void (*release)(struct vsock *sk);                /* close: drop transport state */
    void (*destruct)(struct vsock *sk);               /* last reference gone: free it */
    /* stream */
    int (*connect)(struct vsock *sk);                 /* start the handshake */
    int (*shutdown)(struct vsock *sk, int mode);      /* tell the peer */
    int64_t (*stream_has_data)(struct vsock *sk);
    int64_t (*stream_has_space)(struct vsock *sk);
    int64_t (*stream_enqueue)(struct vsock *sk, const void *ubuf, size_t len);
    int64_t (*stream_dequeue)(struct vsock *sk, void *ubuf, size_t len, bool peek);
    uint64_t (*stream_rcvhiwat)(struct vsock *sk);    /* bytes the receive queue can hold */
    bool (*stream_is_active)(struct vsock *sk);
    void (*stream_poll_wait)(struct vsock *sk, uint64_t target); /* a poller will wait for
                                                                    target readable bytes */
    /* Optional, realtime only: before the core sleeps for data (want_data) or room, look again
     * for up to a short while without the world lock. True if it did (the lock was dropped: the
     * core re-checks everything before it sleeps). Deterministic mode: false, no side effect. */
    bool (*stream_spin)(struct vsock *sk, bool want_data);
    /* Optional: sleep until data (want_data) or room, in place of sim_wait(&sk->wq, deadline,
     * what); every wake-up of sk->wq still ends it. The VMCI stream rings in on the queue pair's
     * doorbell there, so that in realtime mode the peer's copy wakes it directly. */
    int (*stream_wait)(struct vsock *sk, bool want_data, uint64_t deadline, const char *what);
    /* Optional, realtime: a program outside the world (an exec'd one, src/exec/) maps the
     * stream's queue memory and moves bytes through it itself while the transport's gates say
     * so (src/preload/qp_shared.h). share: the memfds and ring sizes of the produce and consume
     * queues (0, -ENOTCONN, -EOPNOTSUPP when the memory is not shared); moved: the program
     * moved n bytes (sent, or received), do what follows a copy; gate: the socket's state may
     * have changed, open or close the gates (vsock_wake calls it before it wakes anyone). */
    int (*stream_share)(struct vsock *sk, int fds[2], uint64_t sizes[2]);
    void (*stream_moved)(struct vsock *sk, bool sent, bool edge, size_t n);
    void (*stream_gate)(struct vsock *sk);
    /* datagram */
    int (*dgram_bind)(struct vsock *sk, struct sockaddr_vm *addr);
    int64_t (*dgram_enqueue)(struct vsock *sk, const struct sockaddr_vm *remote, const void *ubuf,
                             size_t len);
    bool (*dgram_allow)(uint32_t cid, uint32_t port);
    /* the context's own CID as this transport knows it */
    uint32_t (*get_local_cid)(struct vsock_ctx *ctx);
    /* per context (VM or host) of the world: it came up (*state: the transport's own state for
     * it, NULL for none; < 0: the transport cannot serve the context), it is powered off (undo
     * ctx_init through the layers below). At world teardown the core frees *state with free(). */
    int (*ctx_init)(struct vsock_ctx *ctx, void **state);
    void (*ctx_fini)(struct vsock_ctx *ctx, void *state);
};

/* What a transport provides, given when it registers (Linux's VSOCK_TRANSPORT_F_*, with one
 * transport serving guest-to-host and host-to-guest streams alike, as VMCI's does). */
#define VSOCK_TRANSPORT_F_STREAM 0x1u
#define VSOCK_TRANSPORT_F_DGRAM 0x2u
#define VSOCK_MAX_TRANSPORTS 4

/* Register t for the socket types in `features` (like vsock_core_register). 0, or -EBUSY if a
 * transport already serves one of them, -EINVAL for no feature or too many transports. */
int vsock_core_register(struct sock_world *sw, const struct vsock_transport *t, unsigned features);

struct vsock_list {
    struct vsock *first, *last;
};

struct vsock {
    uint32_t id;                 /* sequential per world, for the trace */
    char trace_name[2 * SIM_NAME_MAX]; /* "process.name" the script gave it, for the readable
                                          trace only, or "" */
    int refs;
    struct sock_world *sw;
    struct vsock_ctx *ctx;       /* the context (VM or host) the socket lives in */
    sim_proc *owner;             /* NULL for a not-yet-accepted child */
    const struct vsock_transport *transport;
    int type;                    /* SOCK_STREAM or SOCK_DGRAM */
    int ss;                      /* SS_* */
    int state;                   /* VS_* (sk_state) */
    int err;                     /* sk_err (positive errno) */
    bool done;                   /* SOCK_DONE: the peer is gone */
    int shutdown;                /* local shutdown bits */
    int peer_shutdown;
    bool trusted;
    bool nonblock;
    bool released;               /* the descriptor was closed */
    bool rejected;
    bool connect_timed_out;
    struct sockaddr_vm local, remote;
    uint64_t buffer_size, buffer_min_size, buffer_max_size;
    uint64_t connect_timeout_ns;
    uint64_t rcvtimeo_ns, sndtimeo_ns;   /* 0: none */
    int rcvlowat;
    int rcvbuf;
    /* the rest of the generic SOL_SOCKET state (vsock_sol.c): stored and answered as Linux's
     * net/core/sock.c does; nothing in VMCI acts on it */
    int sndbuf;
    int priority;
    uint32_t mark;
    unsigned sol_flags;          /* VS_SOL_* */
    int linger_s;

    uint64_t cost_bytes;                 /* cost model: bytes whose copy time was spent */
    /* listener */
    int max_backlog, ack_backlog;
    struct vsock_list pending;           /* children between REQUEST and OFFER */
    struct vsock_list accept_q;          /* established children not yet accepted */
    struct vsock *listener;              /* a child's listener while pending/queued */
    struct vsock *lnext, *lprev;         /* in pending or accept_q */
    /* table membership */
    bool in_bound, in_connected;
    struct vsock *bnext, *bprev, *cnext, *cprev;
    /* waiting */
    sim_waitq wq;
    uint64_t poll_seq;                   /* vsock_wake count: epoll's edges (sockepoll.c) */
    sim_timer connect_timer;
    sim_timer pending_timer;
    /* transport private state */
    void *trans;
    /* datagram receive queue */
    struct vsock_dgram *rq_first, *rq_last;
    uint64_t rq_bytes;
};

/* Per-context socket state: the context's own port tables (each kernel has its own). */
struct vsock_ctx {
    struct sock_world *sw;
    vmcisim_vm *vm;
    struct vsock_list bound, connected;
    uint32_t next_port;
    bool port_seeded;
    void *trans_state[VSOCK_MAX_TRANSPORTS];   /* each registered transport's (ctx_init) */
};

struct sock_world {
    vmcisim *sim;
    struct vsock_ctx **ctxs;      /* by vm->index */
    size_t nctxs;
    uint32_t next_sock_id;
    /* registered transports, in registration order; which serves streams, which datagrams */
    const struct vsock_transport *transports[VSOCK_MAX_TRANSPORTS];
    size_t ntransports;
    const struct vsock_transport *stream, *dgram;
    sim_waitq poll_wq;            /* every socket event wakes pollers */
    struct sockepoll *epolls;     /* epoll instances holding simulated sockets (sockepoll.c) */
    /* every socket alive, in creation order (for lifecycle sweeps) */
    struct vsock **all;
    size_t nall, all_cap;
    /* requests to ports where nothing listens may be handed on (sock_redirect.h), in
     * registration order */
    struct vsock_redirect {
        vmcisim_vm *vm;
        vsock_redirect_fn fn;
        void *arg;
    } redirects[VSOCK_MAX_REDIRECTS];
    size_t nredirects;
};

/* vsock_sol.c: level SOL_SOCKET options other than the timeouts (net/core/sock.c) */
#define VS_DEFAULT_SNDBUF (212992u) /* net.core.wmem_default */
int vsock_sol_setsockopt(struct vsock *sk, int name, const void *val, socklen_t len);
int vsock_sol_getsockopt(struct vsock *sk, int name, void *val, socklen_t *len);

/* A send that fails with EPIPE without MSG_NOSIGNAL raises SIGPIPE in the calling simulated
 * process (§2.7). Signals are the posix layer's, above this one, so it gives the socket layer
 * the function to call when it is linked (src/posix/signal.c); NULL: only EPIPE. One per real
 * process, like the signal dispositions it serves. */
extern void (*vsock_sigpipe_hook)(void);

/* sock_world.c: register the sockets layer of a world (NULL when out of memory); find it. */
struct sock_world *sock_attach(vmcisim *sim);
struct sock_world *sock_of(vmcisim *sim);
struct vsock_ctx *vsock_ctx_of(struct sock_world *sw, vmcisim_vm *vm);
/* The CID of vm's context as the transports see it (IOCTL_VM_SOCKETS_GET_LOCAL_CID), or
 * VMADDR_CID_ANY when no transport is registered. */
uint32_t vsock_local_cid(struct sock_world *sw, vmcisim_vm *vm);

/* vsock_core.c: objects and tables */
struct vsock *vsock_create(struct sock_world *sw, struct vsock_ctx *ctx, int type,
                           struct vsock *parent, sim_proc *owner);
void vsock_hold(struct vsock *sk);
void vsock_put(struct vsock *sk);
void vsock_wake(struct vsock *sk);
/* Timers of a socket hold a reference while armed; this cancels one and drops it. */
void vsock_cancel_timer(struct vsock *sk, sim_timer *t);               /* state changed: wake its waiters and pollers */
void vsock_addr_init(struct sockaddr_vm *a, uint32_t cid, uint32_t port);
bool vsock_addr_bound(const struct sockaddr_vm *a);
void vsock_insert_connected(struct vsock *sk);
void vsock_remove_connected(struct vsock *sk);
struct vsock *vsock_find_bound(struct vsock_ctx *ctx, const struct sockaddr_vm *addr, int type);
struct vsock *vsock_find_connected(struct vsock_ctx *ctx, const struct sockaddr_vm *src,
                                   const struct sockaddr_vm *dst);
/* vsock_redirect.c: the listener of ctx that takes a stream packet from src to dst when no
 * socket is bound at dst: for a request, the one a registered hook names; for the later
 * packets of its handshake, the listener holding the pending child src -> dst. NULL: none. */
struct vsock *vsock_find_redirected(struct vsock_ctx *ctx, const struct sockaddr_vm *src,
                                    const struct sockaddr_vm *dst, bool request);
int vsock_bind_stream(struct vsock *sk, const struct sockaddr_vm *addr);
void vsock_add_pending(struct vsock *listener, struct vsock *child);
void vsock_remove_pending(struct vsock *listener, struct vsock *child);
void vsock_enqueue_accept(struct vsock *listener, struct vsock *child);
void vsock_release(struct vsock *sk);            /* close: the descriptor is gone */
bool vsock_is_host(const struct vsock *sk);
void vsock_trace(struct vsock *sk, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* the core's socket calls (called by api.c with validated kernel-side copies of arguments) */
int vsock_op_bind(struct vsock *sk, const struct sockaddr_vm *addr);
int vsock_op_listen(struct vsock *sk, int backlog);
int vsock_op_accept(struct vsock *sk, struct vsock **child, bool nonblock);
int vsock_op_connect(struct vsock *sk, const struct sockaddr_vm *addr, int family);
int64_t vsock_op_send(struct vsock *sk, const void *ubuf, size_t len, int flags,
                      const struct sockaddr_vm *to, bool to_given, bool to_valid);
int64_t vsock_op_recv(struct vsock *sk, void *ubuf, size_t len, int flags,
                      struct sockaddr_vm *from, int *msg_flags);
int vsock_op_shutdown(struct vsock *sk, int how);
short vsock_op_poll(struct vsock *sk);
/* The poller is about to wait on sk for `events`: let the transport arrange to be told. */
void vsock_op_poll_wait(struct vsock *sk, short events);
int vsock_op_setsockopt(struct vsock *sk, int level, int name, const void *val, socklen_t len);
int vsock_op_getsockopt(struct vsock *sk, int level, int name, void *val, socklen_t *len);
int64_t vsock_op_fionread(struct vsock *sk);

#endif
