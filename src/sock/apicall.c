/*
 * apicall.c - the calling context of user calls on the simulation (apicall.h).
 */
#define _GNU_SOURCE
#include "sock/apicall.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sock/usercopy.h"
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
    c->data = NULL;
    c->data_len = 0;
    sim_enter(c->sim);
    c->sw = sock_of(c->sim);
    return 0;
}

static const char *errname(long rc)
{
    const char *n = strerrorname_np((int)-rc);
    return n ? n : "E?";
}

/* " data[LEN]=HEX.. \"TEXT\"" as presentation (never hashed): the first bytes a send or
 * receive moved, read back from the caller's buffer, ".." when there were more; "" when the
 * readable trace does not ask for payloads. */
static void call_data_shown(const struct call *c, long rc, char out[CALL_DATA_SHOWN_MAX])
{
    out[0] = 0;
    size_t max = c->data && rc > 0 ? sim_trace_payload_max(c->sim) : 0;
    if (max == 0)
        return;
    assert(max <= SIM_TRACE_PAYLOAD_MAX);
    size_t n = (size_t)rc < c->data_len ? (size_t)rc : c->data_len;
    if (n > max)
        n = max;
    unsigned char b[SIM_TRACE_PAYLOAD_MAX];
    if (uc_copy_from_user(b, c->data, n) != 0)
        return;
    static const char hex[] = "0123456789abcdef";
    size_t o = (size_t)snprintf(out, CALL_DATA_SHOWN_MAX, SIM_TR_SHOW " data[%ld]=", rc);
    for (size_t i = 0; i < n; i++) {
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    if ((size_t)rc > n) {
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o++] = ' ';
    out[o++] = '"';
    for (size_t i = 0; i < n; i++)
        out[o++] = b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' ? (char)b[i] : '.';
    out[o++] = '"';
    memcpy(out + o, SIM_TR_END, 2);
    assert(o + 2 <= CALL_DATA_SHOWN_MAX);
}

long call_end(struct call *c, const char *op, int fd, long rc)
{
    if (!sim_trace_formats(c->sim)) {
        /* counted, never formatted (realtime without a trace): keep the data path lean */
        sim_trace(c->sim, "call", "%s", "");
    } else {
        long shown = rc < 0 ? -1 : c->rc_is_fd ? fdtab_trace_id(c->proc, (int)rc) : rc;
        char fdb[FDTAB_TRACE_FD_MAX], rcb[FDTAB_TRACE_FD_MAX], data[CALL_DATA_SHOWN_MAX];
        int fdid = c->fdid >= 0 ? c->fdid : fdtab_trace_id(c->proc, fd);
        if (rc >= 0 && c->rc_is_fd)
            fdtab_trace_fd(c->proc, (int)shown, rcb);
        else
            snprintf(rcb, sizeof rcb, "%ld", shown);
        call_data_shown(c, rc, data);
        sim_trace_rich(c->sim, "call", "op=%s fd=%s rc=%s%s%s%s", op,
                       fdtab_trace_fd(c->proc, fdid, fdb), rcb, rc < 0 ? " errno=" : "",
                       rc < 0 ? errname(rc) : "", data);
    }
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
