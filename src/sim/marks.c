/*
 * marks.c - named events for programs, as `mark` and `wait` are in scenario files: one thread
 * marks an event, others wait for it, so tests order their threads without polling a flag.
 * Events live in the world (a layer found by its ops table), never in globals, so two worlds do
 * not share them. A wait that can never end is a deadlock that names the event.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "vmcisim/vmcisim.h"
#include "sim/world_internal.h"

#define MARK_NAME_MAX 128

struct mark {
    char *name;
    char *waiting_for;   /* "mark 'NAME'": what a deadlock report says a waiter waits for */
    bool set;
    sim_waitq q;
};

struct marks {
    struct mark **v;     /* each event on its own: waiters point at its queue */
    size_t n, cap;
};

static void marks_destroy(void *self)
{
    struct marks *m = self;
    for (size_t i = 0; i < m->n; i++) {
        assert(m->v[i]->q.first == NULL);   /* threads are gone before layers are destroyed */
        free(m->v[i]->name);
        free(m->v[i]->waiting_for);
        free(m->v[i]);
    }
    free(m->v);
    free(m);
}

static const struct sim_layer_ops marks_ops = {.name = "marks", .destroy = marks_destroy};

/* The world's events, created on first use; NULL (errno ENOMEM) if they cannot be. */
static struct marks *world_marks(vmcisim *sim)
{
    struct marks *m = sim_layer_find(sim, &marks_ops);
    if (m)
        return m;
    m = vmcisim_calloc(1, sizeof *m);
    if (!m || sim_register_layer(sim, &marks_ops, m) != 0) {
        free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

/* The event called name, added unset if new; NULL (errno ENOMEM) if it cannot be. Events are
 * few: a linear search keeps the order of creation, which is all the trace sees. */
static struct mark *find_mark(struct marks *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i]->name, name) == 0)
            return m->v[i];
    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 8;
        struct mark **nv = vmcisim_realloc(m->v, nc * sizeof *nv);
        if (!nv) {
            errno = ENOMEM;
            return NULL;
        }
        m->v = nv;
        m->cap = nc;
    }
    struct mark *k = vmcisim_calloc(1, sizeof *k);
    size_t wl = strlen(name) + 16;
    if (k) {
        k->name = vmcisim_strdup(name);
        k->waiting_for = vmcisim_malloc(wl);
    }
    if (!k || !k->name || !k->waiting_for) {
        if (k) {
            free(k->name);
            free(k->waiting_for);
        }
        free(k);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(k->waiting_for, wl, "mark '%s'", name);
    m->v[m->n++] = k;
    return k;
}

static int bad_name(const char *name)
{
    return !name || !*name || strnlen(name, MARK_NAME_MAX) == MARK_NAME_MAX;
}

int vmcisim_mark(vmcisim *sim, const char *event)
{
    sim_thread *self = sim_self();
    if (!sim)
        sim = self ? self->sim : NULL;
    if (!sim || bad_name(event)) {
        errno = EINVAL;
        return -1;
    }
    if (self && self->sim != sim) {
        errno = EPERM;   /* a thread of another world */
        return -1;
    }
    sim_enter(sim);
    struct marks *m = world_marks(sim);
    struct mark *k = m ? find_mark(m, event) : NULL;
    int rc = -1;
    if (k) {
        sim_trace(sim, "mark", "event=%s", event);
        k->set = true;
        sim_wake_all(&k->q);
        rc = 0;
    }
    int e = errno;
    sim_leave(sim);
    errno = e;
    return rc;
}

int vmcisim_wait_mark(const char *event)
{
    sim_thread *self = sim_self();
    if (!self) {
        errno = EPERM;
        return -1;
    }
    if (bad_name(event)) {
        errno = EINVAL;
        return -1;
    }
    vmcisim *sim = self->sim;
    sim_enter(sim);
    struct marks *m = world_marks(sim);
    struct mark *k = m ? find_mark(m, event) : NULL;
    int rc = -1;
    if (k) {
        sim_trace(sim, "wait-mark", "event=%s set=%d", event, k->set ? 1 : 0);
        while (!k->set)
            sim_wait(&k->q, SIM_NO_DEADLINE, k->waiting_for);
        rc = 0;
    }
    int e = errno;
    sim_leave(sim);
    errno = e;
    return rc;
}
