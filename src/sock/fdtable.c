/*
 * fdtable.c - per-process descriptor tables (one per simulated process, as each process has
 * its own in a real kernel).
 */
#include "../sim/alloc.h"
#include "fdtable.h"

#include <errno.h>
#include <stdlib.h>

#include "vsock.h"

struct fdtab {
    struct vsock **slot;
    int cap;
};

static struct fdtab *tab(sim_proc *p, bool create)
{
    if (!p->fdtab && create)
        p->fdtab = vmcisim_calloc(1, sizeof(struct fdtab));
    return p->fdtab;
}

int fdtab_install(sim_proc *p, struct vsock *sk)
{
    struct fdtab *t = tab(p, true);
    if (!t)
        return -ENOMEM;
    int i = 0;
    while (i < t->cap && t->slot[i])
        i++;
    if (i == t->cap) {
        if (t->cap >= VSOCK_FD_MAX)
            return -EMFILE;
        int cap = t->cap ? t->cap * 2 : 16;
        struct vsock **s = vmcisim_realloc(t->slot, (size_t)cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        for (int k = t->cap; k < cap; k++)
            s[k] = NULL;
        t->slot = s;
        t->cap = cap;
    }
    t->slot[i] = sk;
    return VSOCK_FD_BASE + i;
}

struct vsock *fdtab_get(sim_proc *p, int fd)
{
    struct fdtab *t = tab(p, false);
    if (!t || fd < VSOCK_FD_BASE || fd - VSOCK_FD_BASE >= t->cap)
        return NULL;
    return t->slot[fd - VSOCK_FD_BASE];
}

struct vsock *fdtab_remove(sim_proc *p, int fd)
{
    struct vsock *sk = fdtab_get(p, fd);
    if (sk)
        ((struct fdtab *)p->fdtab)->slot[fd - VSOCK_FD_BASE] = NULL;
    return sk;
}

void fdtab_close_all(sim_proc *p)
{
    struct fdtab *t = tab(p, false);
    if (!t)
        return;
    for (int i = 0; i < t->cap; i++) {
        struct vsock *sk = t->slot[i];
        if (!sk)
            continue;
        t->slot[i] = NULL;
        vsock_trace(sk, "exit-close", "fd=%d", VSOCK_FD_BASE + i);
        vsock_release(sk);
        vsock_put(sk);
    }
    free(t->slot);
    free(t);
    p->fdtab = NULL;
}
