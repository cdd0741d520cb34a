/*
 * sock_world.c - the sockets layer's place in a world: its per-context state, per-process
 * descriptor tables, and what it does when VMs come and go or processes end.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sock/fdtable.h"
#include "sock/sockpoll.h"
#include "sock/vsock.h"
#include "sim/alloc.h"
#include "sock/fdtable.h"
#include "sock/vsock.h"

struct vsock_ctx *vsock_ctx_of(struct sock_world *sw, vmcisim_vm *vm)
{
    return vm->index < sw->nctxs ? sw->ctxs[vm->index] : NULL;
}

static void ctx_create(struct sock_world *sw, vmcisim_vm *vm)
{
    if (vm->index >= sw->nctxs) {
        size_t n = vm->index + 1;
        struct vsock_ctx **a = vmcisim_realloc(sw->ctxs, n * sizeof *a);
        if (!a) {
            /* like a VM whose VMCI device failed: the VM runs, its socket() calls get ENOMEM */
            sim_trace_vm(sw->sim, vm, "sock-ctx", "result=failed");
            return;
        }
        for (size_t i = sw->nctxs; i < n; i++)
            a[i] = NULL;
        sw->ctxs = a;
        sw->nctxs = n;
    }
    struct vsock_ctx *ctx = vmcisim_calloc(1, sizeof *ctx);
    if (!ctx) {
        sim_trace_vm(sw->sim, vm, "sock-ctx", "result=failed");
        return;
    }
    ctx->sw = sw;
    ctx->vm = vm;
    sw->ctxs[vm->index] = ctx;
    for (size_t i = 0; i < sw->ntransports; i++) {
        const struct vsock_transport *t = sw->transports[i];
        if (t->ctx_init && t->ctx_init(ctx, &ctx->trans_state[i]) != 0)
            sim_trace_vm(sw->sim, vm, "sock-ctx", "%s transport unavailable", t->name);
    }
}

/* Power off: every socket of the VM goes away with its kernel; nothing is sent. The stack
 * below (still alive at this point) detaches their queue pairs, so peers see QP_PEER_DETACH. */
static void ctx_power_off(struct sock_world *sw, struct vsock_ctx *ctx)
{
    for (size_t i = 0; i < sw->nall;) {
        struct vsock *sk = sw->all[i];
        if (sk->ctx != ctx || sk->released) {
            i++;
            continue;
        }
        vsock_hold(sk);
        vsock_release(sk);
        size_t before = sw->nall;
        vsock_put(sk);
        if (sw->nall == before)
            i++;
    }
    for (size_t i = sw->ntransports; i-- > 0;) {
        const struct vsock_transport *t = sw->transports[i];
        if (t->ctx_fini && ctx->trans_state[i])
            t->ctx_fini(ctx, ctx->trans_state[i]);
        ctx->trans_state[i] = NULL;
    }
}

static void sock_vm_event(void *self, vmcisim_vm *vm, enum sim_vm_event ev)
{
    struct sock_world *sw = self;
    switch (ev) {
    case SIM_VM_CREATED:
        ctx_create(sw, vm);
        break;
    case SIM_VM_POWER_OFF: {
        struct vsock_ctx *ctx = vsock_ctx_of(sw, vm);
        if (ctx)
            ctx_power_off(sw, ctx);
        break;
    }
    default:
        /* suspend/resume, vMotion and fault tolerance reach the sockets as QP_RESUMED events
         * from the VMCI stack (to the stream transport); the refusal of new connections under fault
         * tolerance comes from the queue-pair broker. */
        break;
    }
}

static void sock_proc_end(void *self, sim_proc *p)
{
    (void)self;
    fdtab_close_all(p);
}

static void sock_destroy(void *self)
{
    struct sock_world *sw = self;
    sockepoll_destroy_all(sw);
    /* Threads are gone; free every object without talking to the stack below. */
    for (size_t i = 0; i < sw->nall; i++) {
        struct vsock *sk = sw->all[i];
        while (sk->rq_first) {
            struct vsock_dgram *d = sk->rq_first;
            sk->rq_first = d->next;
            free(d);
        }
        free(sk->trans);
        free(sk);
    }
    free(sw->all);
    for (size_t i = 0; i < sw->nctxs; i++) {
        if (!sw->ctxs[i])
            continue;
        for (size_t k = 0; k < VSOCK_MAX_TRANSPORTS; k++)
            free(sw->ctxs[i]->trans_state[k]);
        free(sw->ctxs[i]);
    }
    free(sw->ctxs);
    free(sw);
}

static const struct sim_layer_ops sock_layer_ops = {
    .name = "sockets",
    .vm_event = sock_vm_event,
    .proc_end = sock_proc_end,
    .destroy = sock_destroy,
};

int vsock_core_register(struct sock_world *sw, const struct vsock_transport *t, unsigned features)
{
    if (!t || !features || (features & ~(VSOCK_TRANSPORT_F_STREAM | VSOCK_TRANSPORT_F_DGRAM)) ||
        sw->ntransports == VSOCK_MAX_TRANSPORTS)
        return -EINVAL;
    if (((features & VSOCK_TRANSPORT_F_STREAM) && sw->stream) ||
        ((features & VSOCK_TRANSPORT_F_DGRAM) && sw->dgram))
        return -EBUSY;
    /* Contexts made from now on get the transport's per-context state; the assembly registers
     * every transport before the first context (the host) is announced. */
    assert(sw->nctxs == 0);
    sw->transports[sw->ntransports++] = t;
    if (features & VSOCK_TRANSPORT_F_STREAM)
        sw->stream = t;
    if (features & VSOCK_TRANSPORT_F_DGRAM)
        sw->dgram = t;
    return 0;
}

uint32_t vsock_local_cid(struct sock_world *sw, vmcisim_vm *vm)
{
    struct vsock_ctx *ctx = vsock_ctx_of(sw, vm);
    const struct vsock_transport *t = sw->stream ? sw->stream : sw->dgram;
    return ctx && t ? t->get_local_cid(ctx) : VMADDR_CID_ANY;
}

struct sock_world *sock_of(vmcisim *sim) { return sim_layer_find(sim, &sock_layer_ops); }

struct sock_world *sock_attach(vmcisim *sim)
{
    struct sock_world *sw = vmcisim_calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->sim = sim;
    sw->next_sock_id = 1;
    if (sim_register_layer(sim, &sock_layer_ops, sw) != 0) {
        free(sw);
        return NULL;
    }
    return sw;
}
