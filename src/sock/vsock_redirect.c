/*
 * vsock_redirect.c - stream requests to a port where nothing listens, handed to a listener that
 * a registered hook names (sock_redirect.h). The hybrid-vsock bridge uses it so that a guest's
 * connect to the host's port P reaches an outside program at PATH_P (formats.md §2.1) while
 * the socket layer names no bridge.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "sock/sock_redirect.h"
#include "sock/vsock.h"

int vsock_redirect_add(vmcisim *sim, vmcisim_vm *vm, vsock_redirect_fn fn, void *arg)
{
    struct sock_world *sw = sim ? sock_of(sim) : NULL;
    if (!sw || !vm || !fn) {
        errno = EINVAL;
        return -1;
    }
    sim_enter(sim);
    int rc = 0;
    if (sw->nredirects == VSOCK_MAX_REDIRECTS) {
        rc = -1;
    } else {
        sw->redirects[sw->nredirects++] = (struct vsock_redirect){.vm = vm, .fn = fn, .arg = arg};
    }
    sim_leave(sim);
    if (rc)
        errno = ENOSPC;
    return rc;
}

void vsock_redirect_remove(vmcisim *sim, vsock_redirect_fn fn, void *arg)
{
    struct sock_world *sw = sim ? sock_of(sim) : NULL;
    if (!sw)
        return;
    sim_enter(sim);
    for (size_t i = 0; i < sw->nredirects; i++)
        if (sw->redirects[i].fn == fn && sw->redirects[i].arg == arg) {
            memmove(&sw->redirects[i], &sw->redirects[i + 1],
                    (sw->nredirects - i - 1) * sizeof sw->redirects[0]);
            sw->nredirects--;
            break;
        }
    sim_leave(sim);
}

/* The listener holding a pending child that a request from src to dst made: the packets after
 * the request (OFFER, RST) find it here, as they find an ordinary listener by its port. */
static struct vsock *pending_holder(struct vsock_ctx *ctx, const struct sockaddr_vm *src,
                                    const struct sockaddr_vm *dst)
{
    for (struct vsock *l = ctx->bound.first; l; l = l->bnext) {
        if (l->state != VS_LISTEN || l->local.svm_port == dst->svm_port)
            continue;
        for (struct vsock *c = l->pending.first; c; c = c->lnext)
            if (c->remote.svm_cid == src->svm_cid && c->remote.svm_port == src->svm_port &&
                c->local.svm_port == dst->svm_port)
                return l;
    }
    return NULL;
}

struct vsock *vsock_find_redirected(struct vsock_ctx *ctx, const struct sockaddr_vm *src,
                                    const struct sockaddr_vm *dst, bool request)
{
    struct sock_world *sw = ctx->sw;
    if (sw->nredirects == 0)
        return NULL;
    if (!request)
        return pending_holder(ctx, src, dst);
    for (size_t i = 0; i < sw->nredirects; i++) {
        const struct vsock_redirect *r = &sw->redirects[i];
        if (r->vm != ctx->vm)
            continue;
        uint32_t port = r->fn(r->arg, ctx->vm, dst->svm_port, src->svm_cid, src->svm_port);
        if (port == VMADDR_PORT_ANY || port == dst->svm_port)
            continue;
        struct sockaddr_vm at;
        vsock_addr_init(&at, dst->svm_cid, port);
        struct vsock *l = vsock_find_bound(ctx, &at, SOCK_STREAM);
        if (l && l->type == SOCK_STREAM && l->state == VS_LISTEN) {
            vsock_trace(l, "redirect", "from=%u:%u port=%u", src->svm_cid, src->svm_port,
                        dst->svm_port);
            return l;
        }
    }
    return NULL;
}
