/*
 * apicall.h - the calling context every user call on the simulation goes through (api.c,
 * fdcalls.c): who calls (EPERM for a thread outside the simulation), entering and leaving the
 * world, holding the open file of the descriptor a call works on, and the trace record of the
 * call with its result.
 */
#ifndef VMCISIM_APICALL_H
#define VMCISIM_APICALL_H

#include <errno.h>
#include <stdbool.h>

#include "sim/sim.h"
#include "sock/fdtable.h"

struct call {
    sim_thread *self;
    vmcisim *sim;
    sim_proc *proc;
    struct sock_world *sw;
    struct vfile *file; /* the open file a lookup took a reference to (dropped by call_end) */
    int fdid;           /* its descriptor's id for the trace, -1 before a lookup */
    bool rc_is_fd;      /* the result is a new descriptor: the trace shows its id */
    const void *data;   /* a data call's buffer (the caller's memory), data_len bytes: the
                           readable trace may show the first bytes moved (--trace-payload) */
    size_t data_len;
};

/* The presentation of a data call's payload: at most SIM_TRACE_PAYLOAD_MAX bytes as hex and as
 * text. */
#define CALL_DATA_SHOWN_MAX (3 * SIM_TRACE_PAYLOAD_MAX + 64)

/* Who is calling: 0 (inside the world from then on), or -EPERM for a thread the simulator did
 * not spawn (a simulated descriptor means nothing to it: handing the placeholder to the C
 * library would act on an eventfd). */
int call_begin(struct call *c);
/* Trace the call, drop the file reference, leave the world; a negative errno result becomes
 * -1 + errno. fd: the descriptor to name in the trace (its deterministic id). */
long call_end(struct call *c, const char *op, int fd, long rc);
/* The open file behind fd, held by the call until call_end (Linux's fdget), or NULL. */
struct vfile *call_file(struct call *c, int fd);
/* The socket behind fd (held the same way), or NULL: then lookup_err says why. */
struct vsock *lookup(struct call *c, int fd);
/* -EBADF for a number that is not open here, -ENOTSOCK for a file that is not a socket. */
int lookup_err(const struct call *c);

static inline long fail(int err)
{
    errno = err;
    return -1;
}

#endif
