/*
 * apicall.c - the calling context of user calls on the simulation (apicall.h).
 */
#define _GNU_SOURCE
#include "sock/apicall.h"

#include <string.h>

#include "sock/vsock.h"

int call_begin(struct call *c)
{
    c->self = sim_self();
    if (!c->self || !c->self->proc)
        return -EPERM;
    c->sim = c->self->sim;
    c->proc = c->self->proc;
    c->file = NULL;
    c->fdid = -1;
    c->rc_is_fd = false;
    sim_enter(c->sim);
    c->sw = sock_of(c->sim);
    return 0;
}

static const char *errname(long rc)
{
    const char *n = strerrorname_np((int)-rc);
    return n ? n : "E?";
}

long call_end(struct call *c, const char *op, int fd, long rc)
{
    long shown = rc < 0 ? -1 : c->rc_is_fd ? fdtab_trace_id(c->proc, (int)rc) : rc;
    sim_trace(c->sim, "call", "op=%s fd=%d rc=%ld%s%s", op,
              c->fdid >= 0 ? c->fdid : fdtab_trace_id(c->proc, fd), shown,
              rc < 0 ? " errno=" : "", rc < 0 ? errname(rc) : "");
    if (c->file)
        vfile_put(c->file); /* may release the socket if close() came meanwhile (§2.12) */
    c->file = NULL;
    sim_leave(c->sim);
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}

struct vfile *call_file(struct call *c, int fd)
{
    if (!c->file) {
        c->fdid = fdtab_trace_id(c->proc, fd);
        c->file = fdtab_fget(c->proc, fd);
    }
    return c->file;
}

struct vsock *lookup(struct call *c, int fd)
{
    struct vfile *f = call_file(c, fd);
    return f && f->kind == VF_SOCKET ? f->sk : NULL;
}

int lookup_err(const struct call *c)
{
    return c->file ? -ENOTSOCK : -EBADF;
}
