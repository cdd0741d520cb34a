/*
 * bridge_internal.h - what the bridge's files share: the bridge (bridge.c: the Unix listener,
 * the redirect hook, the accepting thread) and its connections (bridge_conn.c: the command
 * line, the host-side connect and the relay).
 *
 * Locking: b->mu (the C library's mutex) guards the connection list, the pending guest
 * connections, the port counter and every descriptor number stored here. It is never held
 * across a simulator call that may wait, so a thread ended where it stands never holds it; the
 * redirect hook takes it inside the world (world lock, then b->mu), and nothing takes the world
 * lock while holding b->mu.
 */
#ifndef VMCISIM_BRIDGE_INTERNAL_H
#define VMCISIM_BRIDGE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "bridge/bridge.h"

enum bconn_dir { BC_TO_GUEST, BC_FROM_GUEST };
enum bconn_state { BC_COMMAND, BC_CONNECTING, BC_OPEN, BC_CLOSED };

struct bconn {
    struct bridge *b;
    struct bconn *next;          /* b->conns, newest first; freed with the bridge */
    uint64_t id;                 /* 1, 2, ... per bridge */
    int dir;                     /* enum bconn_dir */
    int state;                   /* enum bconn_state (under b->mu) */
    int ufd;                     /* the outside Unix stream, -1 once closed (under b->mu) */
    int vfd;                     /* the simulated vsock stream of the bridge process, or -1 */
    uint32_t host_port;          /* the host end's vsock port */
    uint32_t guest_cid, guest_port;
    uint64_t to_guest, to_outside;   /* bytes relayed (atomic) */
};

/* A guest's connect the hook passed on: the outside stream it opened waits here for the
 * accepting thread, keyed by the guest's address and the port it asked for. */
struct bpending {
    uint32_t src_cid, src_port, port;
    int ufd;
    uint64_t since_ns;           /* CLOCK_MONOTONIC (realtime only): stale ones are closed */
};
/* A guest connect whose handshake died before the bridge accepted it (the guest was powered
 * off, its connect timed out) leaves its outside stream here; past this age it is closed. The
 * guest's own connect gives up after 2 s (SO_VMCI_CONNECT_TIMEOUT's default). */
#define BRIDGE_PENDING_MAX_NS (5ull * 1000000000ull)

struct bridge {
    vmcisim *sim;
    vmcisim_vm *vm, *host;
    char path[BRIDGE_PATH_MAX];
    char pname[64];              /* the host process, "bridge:VM" */
    int lfd;                     /* the Unix listener at path */
    int stopfd;                  /* eventfd: readable once bridge_stop was called */
    int stopped;                 /* atomic */
    int failed;                  /* atomic: the catch-all listener could not be made */
    int started;
    uint32_t vport;              /* the host port of the catch-all vsock listener (atomic) */
    pthread_mutex_t mu;
    struct bconn *conns;
    uint64_t nconns;             /* connections made so far (ids) */
    int nlive;                   /* not yet closed, both directions */
    uint32_t next_port;          /* round-robin offset from BRIDGE_FIRST_HOST_PORT */
    struct bpending *pend;
    size_t npend, pend_cap;
};

/* bridge_conn.c: a connection's thread (started detached in the bridge process). */
void *bconn_main(void *arg);
/* Close what the connection still holds and count it closed (its thread, on the way out). */
void bconn_finish(struct bconn *c);

#endif
